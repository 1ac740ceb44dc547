package commission_test

import (
	"testing"
	"time"

	"github.com/partnerloop/partnerloop/internal/commission"
	"github.com/partnerloop/partnerloop/internal/domain"
)

func TestPeriodKeyAndBounds(t *testing.T) {
	utc := func(y int, m time.Month, d, h int) time.Time { return time.Date(y, m, d, h, 0, 0, 0, time.UTC) }
	newYork := time.FixedZone("EST", -5*3600)
	tests := []struct {
		name       string
		period     string
		at         time.Time
		key        string
		start, end time.Time
	}{
		{"month", domain.PeriodMonth, utc(2026, 3, 14, 9), "2026-03", utc(2026, 3, 1, 0), utc(2026, 4, 1, 0)},
		{"month: first instant", domain.PeriodMonth, utc(2026, 3, 1, 0), "2026-03", utc(2026, 3, 1, 0), utc(2026, 4, 1, 0)},
		{"month: last ns", domain.PeriodMonth, utc(2026, 4, 1, 0).Add(-time.Nanosecond), "2026-03", utc(2026, 3, 1, 0), utc(2026, 4, 1, 0)},
		{"month: December", domain.PeriodMonth, utc(2026, 12, 31, 23), "2026-12", utc(2026, 12, 1, 0), utc(2027, 1, 1, 0)},
		{"month: local evening is the next UTC month", domain.PeriodMonth,
			time.Date(2026, 3, 31, 20, 0, 0, 0, newYork), "2026-04", utc(2026, 4, 1, 0), utc(2026, 5, 1, 0)},
		{"quarter 1", domain.PeriodQuarter, utc(2026, 3, 31, 23), "2026-Q1", utc(2026, 1, 1, 0), utc(2026, 4, 1, 0)},
		{"quarter 2", domain.PeriodQuarter, utc(2026, 4, 1, 0), "2026-Q2", utc(2026, 4, 1, 0), utc(2026, 7, 1, 0)},
		{"quarter 3", domain.PeriodQuarter, utc(2026, 8, 15, 0), "2026-Q3", utc(2026, 7, 1, 0), utc(2026, 10, 1, 0)},
		{"quarter 4", domain.PeriodQuarter, utc(2026, 12, 31, 23), "2026-Q4", utc(2026, 10, 1, 0), utc(2027, 1, 1, 0)},
		{"year", domain.PeriodYear, utc(2026, 7, 4, 0), "2026", utc(2026, 1, 1, 0), utc(2027, 1, 1, 0)},
		{"year: local New Year's Eve is next UTC year", domain.PeriodYear,
			time.Date(2026, 12, 31, 22, 0, 0, 0, newYork), "2027", utc(2027, 1, 1, 0), utc(2028, 1, 1, 0)},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := commission.PeriodKey(tt.period, tt.at); got != tt.key {
				t.Errorf("PeriodKey = %q, want %q", got, tt.key)
			}
			start, end, ok := commission.PeriodBounds(tt.period, tt.at)
			if !ok || !start.Equal(tt.start) || !end.Equal(tt.end) {
				t.Errorf("PeriodBounds = %v, %v, %v; want %v, %v", start, end, ok, tt.start, tt.end)
			}
			period, start, end, err := commission.ParsePeriodKey(tt.key)
			if err != nil || period != tt.period || !start.Equal(tt.start) || !end.Equal(tt.end) {
				t.Errorf("ParsePeriodKey(%q) = %q, %v, %v, %v", tt.key, period, start, end, err)
			}
		})
	}
}

func TestPeriodUnknown(t *testing.T) {
	if got := commission.PeriodKey("week", t0); got != "" {
		t.Errorf("PeriodKey(week) = %q", got)
	}
	if _, _, ok := commission.PeriodBounds("", t0); ok {
		t.Error("PeriodBounds(\"\") ok")
	}
	for _, key := range []string{"", "26", "2026-13", "2026-00", "2026-Q0", "2026-Q5", "2026-3", "2026-+3", "2026/03", "abcd", "2026-Q1x", "-026", "+026", "2026-Q+", " 2026"} {
		if _, _, _, err := commission.ParsePeriodKey(key); err == nil {
			t.Errorf("ParsePeriodKey(%q) accepted", key)
		} else {
			wantKind(t, err, domain.KindInvalid, "invalid_period")
		}
	}
}

func TestPeriodKeysSortChronologically(t *testing.T) {
	for _, period := range []string{domain.PeriodMonth, domain.PeriodQuarter, domain.PeriodYear} {
		prev := ""
		for at := time.Date(2025, 1, 1, 0, 0, 0, 0, time.UTC); at.Year() < 2028; at = at.Add(24 * time.Hour) {
			k := commission.PeriodKey(period, at)
			if k < prev {
				t.Fatalf("%s: %q sorts before %q", period, k, prev)
			}
			prev = k
		}
	}
}
