package analytics

import "time"

// Presets name the ranges the dashboards offer, always ending today in the
// organization's zone: the last 7, 30 or 90 days (today included), and the
// month, quarter or year to date.
const (
	PresetLast7Days     = "7d"
	PresetLast30Days    = "30d"
	PresetLast90Days    = "90d"
	PresetMonthToDate   = "mtd"
	PresetQuarterToDate = "qtd"
	PresetYearToDate    = "ytd"
)

// Presets lists the presets in the order the dashboards show them.
var Presets = []string{PresetLast7Days, PresetLast30Days, PresetLast90Days, PresetMonthToDate, PresetQuarterToDate, PresetYearToDate}

// PresetRange is the range preset names on the local day of now in loc;
// ok is false for a name that is not a preset. The day is the zone's, so
// "month to date" begins on the 1st of the zone's month even while it is
// still the previous month in UTC.
func PresetRange(preset string, loc *time.Location, now time.Time) (r Range, ok bool) {
	today := DateOf(now, loc)
	r = Range{To: today, Loc: loc}
	switch preset {
	case PresetLast7Days:
		r.From = today.AddDays(-6)
	case PresetLast30Days:
		r.From = today.AddDays(-29)
	case PresetLast90Days:
		r.From = today.AddDays(-89)
	case PresetMonthToDate:
		r.From = today.MonthStart()
	case PresetQuarterToDate:
		r.From = today.QuarterStart()
	case PresetYearToDate:
		r.From = today.YearStart()
	default:
		return Range{}, false
	}
	return r, true
}
