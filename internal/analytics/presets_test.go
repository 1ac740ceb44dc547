package analytics_test

import (
	"testing"
	"time"

	"github.com/partnerloop/partnerloop/internal/analytics"
)

func TestPresetRangesEndTodayInTheOrganizationsZone(t *testing.T) {
	la, _ := time.LoadLocation("America/Los_Angeles")
	auckland, _ := time.LoadLocation("Pacific/Auckland")
	at := func(s string) time.Time {
		v, err := time.Parse(time.RFC3339, s)
		if err != nil {
			t.Fatal(err)
		}
		return v
	}
	for _, c := range []struct {
		preset   string
		loc      *time.Location
		now      string
		from, to string
	}{
		{analytics.PresetLast7Days, time.UTC, "2026-03-15T12:00:00Z", "2026-03-09", "2026-03-15"},
		{analytics.PresetLast30Days, time.UTC, "2026-03-15T12:00:00Z", "2026-02-14", "2026-03-15"},
		{analytics.PresetLast90Days, time.UTC, "2026-03-15T12:00:00Z", "2025-12-16", "2026-03-15"},
		{analytics.PresetMonthToDate, time.UTC, "2026-03-15T12:00:00Z", "2026-03-01", "2026-03-15"},
		{analytics.PresetQuarterToDate, time.UTC, "2026-03-15T12:00:00Z", "2026-01-01", "2026-03-15"},
		{analytics.PresetQuarterToDate, time.UTC, "2026-08-02T00:00:00Z", "2026-07-01", "2026-08-02"},
		{analytics.PresetYearToDate, time.UTC, "2026-03-15T12:00:00Z", "2026-01-01", "2026-03-15"},
		// 03:00 UTC on 1 April is still 31 March in Los Angeles: the month
		// and the quarter are March's and the first quarter's.
		{analytics.PresetMonthToDate, la, "2026-04-01T03:00:00Z", "2026-03-01", "2026-03-31"},
		{analytics.PresetQuarterToDate, la, "2026-04-01T03:00:00Z", "2026-01-01", "2026-03-31"},
		// Noon UTC on 31 December is already New Year's Day in Auckland.
		{analytics.PresetYearToDate, auckland, "2026-12-31T12:00:00Z", "2027-01-01", "2027-01-01"},
		// The week of the spring clock change (8 March 2026) in Los Angeles
		// is still seven days.
		{analytics.PresetLast7Days, la, "2026-03-10T20:00:00Z", "2026-03-04", "2026-03-10"},
	} {
		r, ok := analytics.PresetRange(c.preset, c.loc, at(c.now))
		if !ok || r.From.String() != c.from || r.To.String() != c.to || r.Loc != c.loc {
			t.Errorf("%s at %s in %s = %s..%s (%v), want %s..%s", c.preset, c.now, c.loc, r.From, r.To, ok, c.from, c.to)
		}
	}
	if _, ok := analytics.PresetRange("14d", time.UTC, time.Now()); ok {
		t.Error("an unknown preset was accepted")
	}
	for _, p := range analytics.Presets {
		if _, ok := analytics.PresetRange(p, time.UTC, time.Now()); !ok {
			t.Errorf("listed preset %q is not one", p)
		}
	}
}
