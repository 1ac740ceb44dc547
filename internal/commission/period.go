package commission

import (
	"fmt"
	"strconv"
	"strings"
	"time"

	"github.com/partnerloop/partnerloop/internal/domain"
)

// PeriodKey names the calendar period (in UTC) of t for a tiered rule's
// period: "2026-03" for a month, "2026-Q1" for a quarter, "2026" for a year.
// An unknown period gives "". Keys of one period sort chronologically.
func PeriodKey(period string, t time.Time) string {
	t = t.UTC()
	switch period {
	case domain.PeriodMonth:
		return fmt.Sprintf("%04d-%02d", t.Year(), int(t.Month()))
	case domain.PeriodQuarter:
		return fmt.Sprintf("%04d-Q%d", t.Year(), (int(t.Month())+2)/3)
	case domain.PeriodYear:
		return fmt.Sprintf("%04d", t.Year())
	}
	return ""
}

// PeriodBounds returns the UTC period containing t as the half-open interval
// [start, end): start is the first instant of the period, end the first
// instant of the next one. ok is false for an unknown period.
func PeriodBounds(period string, t time.Time) (start, end time.Time, ok bool) {
	t = t.UTC()
	y, m := t.Year(), t.Month()
	switch period {
	case domain.PeriodMonth:
		start = time.Date(y, m, 1, 0, 0, 0, 0, time.UTC)
		return start, start.AddDate(0, 1, 0), true
	case domain.PeriodQuarter:
		start = time.Date(y, m-(m-1)%3, 1, 0, 0, 0, 0, time.UTC)
		return start, start.AddDate(0, 3, 0), true
	case domain.PeriodYear:
		start = time.Date(y, 1, 1, 0, 0, 0, 0, time.UTC)
		return start, start.AddDate(1, 0, 0), true
	}
	return time.Time{}, time.Time{}, false
}

// ParsePeriodKey is the inverse of PeriodKey: it returns the period a key
// names and its bounds [start, end). The period-close job uses it to know
// when a period has ended (now ≥ end) and to date its adjustment.
func ParsePeriodKey(key string) (period string, start, end time.Time, err error) {
	bad := func() (string, time.Time, time.Time, error) {
		return "", time.Time{}, time.Time{}, domain.Errorf(domain.KindInvalid, "invalid_period", "%q is not a period key (2026-03, 2026-Q1 or 2026)", key)
	}
	digits := func(s string) (int, bool) {
		if s == "" || strings.Trim(s, "0123456789") != "" {
			return 0, false
		}
		n, err := strconv.Atoi(s)
		return n, err == nil
	}
	var y, m int
	var ok bool
	switch {
	case len(key) == 4:
		period = domain.PeriodYear
		y, ok = digits(key)
		m = 1
	case len(key) == 7 && strings.HasPrefix(key[4:], "-Q"):
		period = domain.PeriodQuarter
		y, ok = digits(key[:4])
		q, qok := digits(key[6:])
		ok = ok && qok && q >= 1 && q <= 4
		m = 3*q - 2
	case len(key) == 7 && key[4] == '-':
		period = domain.PeriodMonth
		y, ok = digits(key[:4])
		n, mok := digits(key[5:])
		ok = ok && mok && n >= 1 && n <= 12
		m = n
	}
	if !ok {
		return bad()
	}
	start, end, _ = PeriodBounds(period, time.Date(y, time.Month(m), 1, 0, 0, 0, 0, time.UTC))
	return period, start, end, nil
}
