package web

import (
	"fmt"
	"slices"
	"strconv"
	"strings"
	"time"
	"unicode/utf8"

	"github.com/partnerloop/partnerloop/internal/analytics"
	"github.com/partnerloop/partnerloop/internal/domain"
	"github.com/partnerloop/partnerloop/internal/money"
)

// Charts are laid out here and drawn by the chartC component (charts.templ) as inline
// SVG: readable without JavaScript, styled only by app.css (the CSP allows
// no inline styles), one small chart per figure so that clicks and
// conversions are not squeezed onto one scale. Each is an image with a
// title and a description for screen readers, and the page also offers
// the figures as a table (seriesTable).

// The chart's box, in SVG user units; the SVG scales to its container.
const (
	chartW      = 320
	chartH      = 172
	chartTop    = 14
	chartBottom = 144 // the plot's baseline; the x labels go below it
	chartRight  = 310
	// chartDotsMax: up to this many buckets each gets a dot with a
	// tooltip (its <title>); more would crowd the line.
	chartDotsMax = 62
)

// chart is one figure's time series, laid out.
type chart struct {
	ID, Title, Desc     string
	W, H                int
	Left, Right         float64
	Top, Bottom, ZeroY  float64
	Line, Area          string // the polyline's and the area polygon's points
	Dots                []chartDot
	YTicks, XTicks      []chartTick
	LabelY, TickLabelX  float64
	Total, Peak, PeakAt string // for the description and tests
}

type chartDot struct {
	X, Y  float64
	Title string
}

type chartTick struct {
	X, Y   float64
	Label  string
	Anchor string
}

// axis is the time axis the charts of one series share: each bucket's
// start in the report's zone, and how to name buckets.
type axis struct {
	Starts   []time.Time
	Interval string
	From, To analytics.Date
}

func newAxis(s analytics.Series) axis {
	loc, err := time.LoadLocation(s.TimeZone)
	if err != nil || s.TimeZone == "" {
		loc = time.UTC
	}
	a := axis{Interval: s.Interval, From: s.From, To: s.To}
	for _, p := range s.Points {
		a.Starts = append(a.Starts, p.Start.In(loc))
	}
	return a
}

// tick names a bucket under the chart: short, the year only when the range
// spans years.
func (a axis) tick(t time.Time) string {
	switch {
	case a.Interval == analytics.IntervalMonth:
		return t.Format("Jan 2006")
	case a.From.Year() != a.To.Year():
		return t.Format("2 Jan 2006")
	}
	return t.Format("2 Jan")
}

// bucket names a bucket in full (tooltips, the table, descriptions).
func (a axis) bucket(t time.Time) string {
	switch a.Interval {
	case analytics.IntervalMonth:
		return t.Format("January 2006")
	case analytics.IntervalWeek:
		return "Week of " + t.Format("2 Jan 2006")
	}
	return t.Format("Mon 2 Jan 2006")
}

// when says when a bucket was, in a sentence.
func (a axis) when(t time.Time) string {
	switch a.Interval {
	case analytics.IntervalMonth:
		return "in " + t.Format("January 2006")
	case analytics.IntervalWeek:
		return "in the week of " + t.Format("2 Jan 2006")
	}
	return "on " + t.Format("Mon 2 Jan 2006")
}

// per is how the description says the interval: "per day".
func (a axis) per() string {
	if a.Interval == "" {
		return "per day"
	}
	return "per " + a.Interval
}

// periodText is a range of dates for people: "2 – 8 Mar 2026",
// "28 Feb – 6 Mar 2026", "28 Dec 2025 – 3 Jan 2026".
func periodText(from, to analytics.Date) string {
	f, err1 := time.Parse(time.DateOnly, from.String())
	t, err2 := time.Parse(time.DateOnly, to.String())
	switch {
	case err1 != nil || err2 != nil:
		return from.String() + " – " + to.String()
	case from.Equal(to):
		return t.Format("2 Jan 2006")
	case f.Year() != t.Year():
		return f.Format("2 Jan 2006") + " – " + t.Format("2 Jan 2006")
	case f.Month() != t.Month():
		return f.Format("2 Jan") + " – " + t.Format("2 Jan 2006")
	}
	return f.Format("2") + " – " + t.Format("2 Jan 2006")
}

// niceCeil is the smallest of 1, 2, 5 × 10^k (times unit) at least v.
func niceCeil(v, unit int64) int64 {
	if v <= 0 {
		return 0
	}
	for p := unit; ; p *= 10 {
		for _, m := range []int64{1, 2, 5} {
			if m*p >= v {
				return m * p
			}
		}
		if p > (1<<62)/10 {
			return v
		}
	}
}

// lineChart lays out values (one per bucket of ax) as a line chart.
// unit is the smallest step worth a tick (1 for counts, one major unit for
// money); format writes a value for people, tick an axis label (short:
// "$48K").
func lineChart(id, title string, ax axis, values []int64, unit int64, tick, format func(int64) string) chart {
	c := chart{ID: id, Title: title, W: chartW, H: chartH, Right: chartRight, Top: chartTop, Bottom: chartBottom}
	var hi, lo, total int64
	peakAt := -1
	for i, v := range values {
		if v > hi {
			hi = v
		}
		if v < lo {
			lo = v
		}
		total += v
		if v != 0 && (peakAt < 0 || v > values[peakAt]) {
			peakAt = i
		}
	}
	top, bottom := niceCeil(hi, unit), -niceCeil(-lo, unit)
	if top == bottom { // nothing but zeros: still a scale, with the line on 0
		top = unit
	}
	ticks := []int64{top}
	if mid := top / 2; top%2 == 0 && mid%unit == 0 && mid > 0 {
		ticks = append(ticks, mid)
	}
	ticks = append(ticks, 0)
	if bottom < 0 {
		ticks = append(ticks, bottom)
	}
	// The left margin fits the longest y label (12px digits are about 6.8
	// units wide).
	longest := 0
	for _, v := range ticks {
		longest = max(longest, utf8.RuneCountInString(tick(v)))
	}
	c.Left = 10 + float64(longest)*6.8
	c.TickLabelX = c.Left - 6
	c.LabelY = chartH - 6
	y := func(v int64) float64 {
		return chartTop + float64(top-v)/float64(top-bottom)*(chartBottom-chartTop)
	}
	x := func(i int) float64 {
		if len(values) <= 1 {
			return (c.Left + c.Right) / 2
		}
		return c.Left + float64(i)*(c.Right-c.Left)/float64(len(values)-1)
	}
	c.ZeroY = y(0)
	for _, v := range ticks {
		c.YTicks = append(c.YTicks, chartTick{Y: y(v), Label: tick(v)})
	}
	var pts []string
	for i, v := range values {
		pts = append(pts, coord(x(i))+","+coord(y(v)))
		if len(values) <= chartDotsMax {
			c.Dots = append(c.Dots, chartDot{X: x(i), Y: y(v), Title: ax.bucket(ax.Starts[i]) + ": " + format(v)})
		}
	}
	c.Line = strings.Join(pts, " ")
	if len(values) > 0 {
		c.Area = coord(x(0)) + "," + coord(c.ZeroY) + " " + c.Line + " " + coord(x(len(values)-1)) + "," + coord(c.ZeroY)
	}
	switch n := len(values); {
	case n == 1:
		c.XTicks = []chartTick{{X: x(0), Label: ax.tick(ax.Starts[0]), Anchor: "middle"}}
	case n > 1:
		c.XTicks = []chartTick{{X: x(0), Label: ax.tick(ax.Starts[0]), Anchor: "start"}}
		if n >= 5 {
			m := (n - 1) / 2
			c.XTicks = append(c.XTicks, chartTick{X: x(m), Label: ax.tick(ax.Starts[m]), Anchor: "middle"})
		}
		c.XTicks = append(c.XTicks, chartTick{X: x(n - 1), Label: ax.tick(ax.Starts[n-1]), Anchor: "end"})
	}
	c.Total = format(total)
	if peakAt < 0 {
		c.Desc = fmt.Sprintf("%s %s, %s: none.", title, ax.per(), periodText(ax.From, ax.To))
	} else {
		c.Peak, c.PeakAt = format(values[peakAt]), ax.bucket(ax.Starts[peakAt])
		c.Desc = fmt.Sprintf("%s %s, %s: %s in total; the most, %s, %s.", title, ax.per(), periodText(ax.From, ax.To),
			c.Total, c.Peak, ax.when(ax.Starts[peakAt]))
	}
	return c
}

func coord(v float64) string { return strconv.FormatFloat(v, 'f', 1, 64) }

// seriesCurrencies lists the currencies a series' money figures use.
func seriesCurrencies(s analytics.Series, pick func(analytics.Point) []domain.Money) []string {
	seen := map[string]bool{}
	var out []string
	for _, p := range s.Points {
		for _, m := range pick(p) {
			if !seen[m.Currency] {
				seen[m.Currency] = true
				out = append(out, m.Currency)
			}
		}
	}
	slices.Sort(out)
	return out
}

func amountOf(ms []domain.Money, currency string) int64 {
	for _, m := range ms {
		if m.Currency == currency {
			return m.Amount
		}
	}
	return 0
}

// seriesFigure is one figure of a series' points: a count, or a money
// figure in one currency.
type seriesFigure struct {
	Title    string
	Currency string // "" for counts
	Count    func(analytics.Point) int64
	Money    func(analytics.Point) []domain.Money
}

func (f seriesFigure) value(p analytics.Point) int64 {
	if f.Count != nil {
		return f.Count(p)
	}
	return amountOf(f.Money(p), f.Currency)
}

// format writes v for people in fm's locale: "12,345", "$48,000.00".
func (f seriesFigure) format(fm *money.Formatter, v int64) string {
	if f.Count != nil {
		return fm.Count(v)
	}
	return fm.Format(domain.Money{Amount: v, Currency: f.Currency})
}

// tick writes v as an axis label: counts grouped, money short ("$48K",
// "48 Tsd. €").
func (f seriesFigure) tick(fm *money.Formatter, v int64) string {
	if f.Count != nil {
		return fm.Count(v)
	}
	return fm.Compact(domain.Money{Amount: v, Currency: f.Currency})
}

// seriesFigures lists the figures a series is drawn as: the counts, then
// each money figure in each currency it has.
func seriesFigures(s analytics.Series, money []seriesFigure) []seriesFigure {
	out := []seriesFigure{
		{Title: "Clicks", Count: func(p analytics.Point) int64 { return p.Clicks }},
		{Title: "Referrals", Count: func(p analytics.Point) int64 { return p.Referrals }},
		{Title: "Conversions", Count: func(p analytics.Point) int64 { return p.Conversions }},
	}
	for _, m := range money {
		for _, cur := range seriesCurrencies(s, m.Money) {
			f := m
			f.Currency, f.Title = cur, m.Title+" ("+cur+")"
			out = append(out, f)
		}
	}
	return out
}

var (
	revenueFigure    = seriesFigure{Title: "Revenue", Money: func(p analytics.Point) []domain.Money { return p.Revenue }}
	commissionFigure = seriesFigure{Title: "Commission", Money: func(p analytics.Point) []domain.Money { return p.Commission }}
	earningsFigure   = seriesFigure{Title: "Earnings", Money: func(p analytics.Point) []domain.Money { return p.Commission }}
)

// seriesView is a series drawn as charts, with its figures as a table.
type seriesView struct {
	Charts []chart
	Table  dataTable
	Empty  bool // every figure is zero
}

// dataTable is a plain table of figures (the charts' text alternative).
type dataTable struct {
	Caption string
	Head    []string
	Rows    [][]string
}

// newSeriesView draws s's counts and its money figures, written for
// people in fm's locale.
func newSeriesView(fm *money.Formatter, idPrefix string, s analytics.Series, moneyFigures ...seriesFigure) seriesView {
	ax := newAxis(s)
	figs := seriesFigures(s, moneyFigures)
	v := seriesView{Empty: true, Table: dataTable{Caption: "Figures " + ax.per() + ", " + periodText(s.From, s.To), Head: []string{"Period"}}}
	for i, f := range figs {
		values := make([]int64, len(s.Points))
		for j, p := range s.Points {
			values[j] = f.value(p)
			if values[j] != 0 {
				v.Empty = false
			}
		}
		unit := int64(1)
		if f.Count == nil {
			unit = pow10(domain.CurrencyDecimals(f.Currency))
		}
		v.Charts = append(v.Charts, lineChart(fmt.Sprintf("%s-%d", idPrefix, i), f.Title, ax, values, unit,
			func(v int64) string { return f.tick(fm, v) }, func(v int64) string { return f.format(fm, v) }))
		v.Table.Head = append(v.Table.Head, f.Title)
	}
	for j, p := range s.Points {
		row := []string{ax.bucket(ax.Starts[j])}
		for _, f := range figs {
			row = append(row, f.format(fm, f.value(p)))
		}
		v.Table.Rows = append(v.Table.Rows, row)
	}
	return v
}

func pow10(n int) int64 {
	p := int64(1)
	for range n {
		p *= 10
	}
	return p
}
