package analytics

import (
	"time"

	"github.com/partnerloop/partnerloop/internal/domain"
	"github.com/partnerloop/partnerloop/internal/store"
)

// A Date is a day of the calendar, kept as midnight UTC so that date
// arithmetic (AddDate) never meets a clock change. Where the day begins and
// ends as instants depends on the zone (Start).
type Date struct{ t time.Time }

// DateOf is the local date of instant t in loc.
func DateOf(t time.Time, loc *time.Location) Date {
	l := t.In(loc)
	return Date{time.Date(l.Year(), l.Month(), l.Day(), 0, 0, 0, 0, time.UTC)}
}

// ParseDate reads "2006-01-02".
func ParseDate(s string) (Date, error) {
	t, err := time.ParseInLocation(store.DateLayout, s, time.UTC)
	if err != nil {
		return Date{}, err
	}
	return Date{t}, nil
}

// MustDate is ParseDate for literals; it panics on a bad date.
func MustDate(s string) Date {
	d, err := ParseDate(s)
	if err != nil {
		panic(err)
	}
	return d
}

func (d Date) String() string       { return d.t.Format(store.DateLayout) }
func (d Date) AddDays(n int) Date   { return Date{d.t.AddDate(0, 0, n)} }
func (d Date) Before(e Date) bool   { return d.t.Before(e.t) }
func (d Date) After(e Date) bool    { return d.t.After(e.t) }
func (d Date) Equal(e Date) bool    { return d.t.Equal(e.t) }
func (d Date) DaysUntil(e Date) int { return int(e.t.Sub(d.t).Hours()/24 + 0.5) }
func (d Date) MonthStart() Date {
	return Date{time.Date(d.t.Year(), d.t.Month(), 1, 0, 0, 0, 0, time.UTC)}
}
func (d Date) NextMonth() Date       { return Date{d.MonthStart().t.AddDate(0, 1, 0)} }
func (d Date) MonthEnd() Date        { return d.NextMonth().AddDays(-1) }
func (d Date) Year() int             { return d.t.Year() }
func (d Date) Month() time.Month     { return d.t.Month() }
func (d Date) Weekday() time.Weekday { return d.t.Weekday() }
func (d Date) AddYears(n int) Date   { return Date{d.t.AddDate(n, 0, 0)} }
func (d Date) YearStart() Date       { return Date{time.Date(d.t.Year(), 1, 1, 0, 0, 0, 0, time.UTC)} }
func (d Date) QuarterStart() Date {
	return Date{time.Date(d.t.Year(), (d.t.Month()-1)/3*3+1, 1, 0, 0, 0, 0, time.UTC)}
}
func (d Date) IsZero() bool                 { return d.t.IsZero() }
func (d Date) MarshalText() ([]byte, error) { return []byte(d.String()), nil }

// WeekStart is the Monday of d's week.
func (d Date) WeekStart() Date {
	back := (int(d.t.Weekday()) + 6) % 7 // Monday 0 … Sunday 6
	return d.AddDays(-back)
}

// Start is the instant d begins in loc. On a day whose midnight does not
// exist (a clock change at midnight) it is the first instant that does.
func (d Date) Start(loc *time.Location) time.Time {
	return time.Date(d.t.Year(), d.t.Month(), d.t.Day(), 0, 0, 0, 0, loc)
}

// Range is whole local days From..To (inclusive) of a zone.
type Range struct {
	From, To Date
	Loc      *time.Location
}

// MaxRangeYears bounds a report's range.
const MaxRangeYears = 3

// DefaultRangeDays is the range of a report without from and to: the last
// 30 days including today.
const DefaultRangeDays = 30

// Days is the number of days in the range.
func (r Range) Days() int { return r.From.DaysUntil(r.To) + 1 }

// Previous is the range of the same length just before r.
func (r Range) Previous() Range {
	n := r.Days()
	return Range{From: r.From.AddDays(-n), To: r.From.AddDays(-1), Loc: r.Loc}
}

// Start and End are the range's first instant and the instant after it.
func (r Range) Start() time.Time { return r.From.Start(r.Loc) }
func (r Range) End() time.Time   { return r.To.AddDays(1).Start(r.Loc) }

// ParseRange reads a report's from and to: dates (YYYY-MM-DD, in the zone)
// or RFC 3339 instants (the local day containing them). Both absent: the
// last DefaultRangeDays days including today; one absent: DefaultRangeDays
// days from from, or up to to. An unreadable value is a malformed query
// (400); from after to, or a range over MaxRangeYears, breaks a rule (422).
func ParseRange(from, to string, loc *time.Location, now time.Time) (Range, error) {
	parse := func(field, s string) (Date, error) {
		if d, err := ParseDate(s); err == nil {
			return d, nil
		}
		if t, err := time.Parse(time.RFC3339Nano, s); err == nil {
			return DateOf(t, loc), nil
		}
		return Date{}, &domain.Error{Kind: domain.KindMalformed, Code: "invalid_query", Message: "the query is not valid",
			Fields: []domain.FieldError{{Field: field, Message: "must be a date (2026-03-01) or an RFC 3339 instant (2026-03-01T00:00:00Z)"}}}
	}
	r := Range{Loc: loc}
	var err error
	switch {
	case from == "" && to == "":
		r.To = DateOf(now, loc)
		r.From = r.To.AddDays(-(DefaultRangeDays - 1))
	case to == "":
		if r.From, err = parse("from", from); err != nil {
			return r, err
		}
		r.To = r.From.AddDays(DefaultRangeDays - 1)
	case from == "":
		if r.To, err = parse("to", to); err != nil {
			return r, err
		}
		r.From = r.To.AddDays(-(DefaultRangeDays - 1))
	default:
		if r.From, err = parse("from", from); err != nil {
			return r, err
		}
		if r.To, err = parse("to", to); err != nil {
			return r, err
		}
	}
	var v domain.Validation
	v.Check(!r.From.After(r.To), "from", "must not be after to")
	v.Check(r.To.Before(r.From.AddYears(MaxRangeYears)), "to", "must be less than %d years after from", MaxRangeYears)
	if err := v.Err(); err != nil {
		return r, err
	}
	return r, nil
}

// Intervals of a time series.
const (
	IntervalDay   = "day"
	IntervalWeek  = "week"
	IntervalMonth = "month"
)

// bucketStart is the first date of the interval bucket holding d.
func bucketStart(d Date, interval string) Date {
	switch interval {
	case IntervalWeek:
		return d.WeekStart()
	case IntervalMonth:
		return d.MonthStart()
	}
	return d
}

// nextBucket is the first date of the bucket after the one starting at d.
func nextBucket(d Date, interval string) Date {
	switch interval {
	case IntervalWeek:
		return d.AddDays(7)
	case IntervalMonth:
		return d.NextMonth()
	}
	return d.AddDays(1)
}

// span is a run of days read at one grain: whole months (GrainMonth) or
// single days (GrainDay).
type span struct {
	grain    string
	from, to Date
}

// spans covers a range with as few cells as it can: the whole months
// inside it at month grain, the days at its ends at day grain.
func spans(r Range) []span {
	var out []span
	firstFull := r.From
	if !firstFull.Equal(firstFull.MonthStart()) {
		firstFull = firstFull.NextMonth()
	}
	// lastFullEnd is the last day of the last month wholly inside.
	lastFullEnd := r.To
	if !lastFullEnd.Equal(lastFullEnd.MonthEnd()) {
		lastFullEnd = lastFullEnd.MonthStart().AddDays(-1)
	}
	if firstFull.After(lastFullEnd) {
		return []span{{store.GrainDay, r.From, r.To}}
	}
	if r.From.Before(firstFull) {
		out = append(out, span{store.GrainDay, r.From, firstFull.AddDays(-1)})
	}
	out = append(out, span{store.GrainMonth, firstFull, lastFullEnd.MonthStart()})
	if lastFullEnd.Before(r.To) {
		out = append(out, span{store.GrainDay, lastFullEnd.AddDays(1), r.To})
	}
	return out
}

// zoneOf loads an IANA zone name ("" is UTC).
func zoneOf(name string) (*time.Location, error) {
	if name == "" {
		name = domain.DefaultTimeZone
	}
	return time.LoadLocation(name)
}
