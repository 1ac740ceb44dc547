package web

import (
	"bytes"
	"math"
	"net/url"
	"strings"
	"testing"
	"time"

	"github.com/partnerloop/partnerloop/internal/analytics"
	"github.com/partnerloop/partnerloop/internal/domain"
	"github.com/partnerloop/partnerloop/internal/money"
)

// series builds a day series of zone from..to as the reports service
// does, with each point's start given in UTC (as after a JSON round trip):
// the charts must name buckets in the report's zone, not UTC's.
func series(t *testing.T, zone, from, to string, clicks map[string]int64) analytics.Series {
	t.Helper()
	loc, err := time.LoadLocation(zone)
	if err != nil {
		t.Fatal(err)
	}
	s := analytics.Series{Interval: analytics.IntervalDay, TimeZone: zone, From: analytics.MustDate(from), To: analytics.MustDate(to)}
	for d := s.From; !d.After(s.To); d = d.AddDays(1) {
		s.Points = append(s.Points, analytics.Point{Start: d.Start(loc).UTC(), Clicks: clicks[d.String()]})
	}
	return s
}

func TestChartOfAnEmptyRangeHasAPointForEveryBucketOnTheZeroLine(t *testing.T) {
	v := newSeriesView(money.For("en-US"), "c", series(t, "UTC", "2026-03-01", "2026-03-07", nil))
	if !v.Empty || len(v.Charts) != 3 {
		t.Fatalf("empty series: Empty %v, %d charts (want clicks, referrals, conversions)", v.Empty, len(v.Charts))
	}
	c := v.Charts[0]
	if len(c.Dots) != 7 {
		t.Fatalf("%d dots, want 7", len(c.Dots))
	}
	for _, d := range c.Dots {
		if d.Y != c.ZeroY {
			t.Errorf("dot %q at y %.1f, want the zero line %.1f", d.Title, d.Y, c.ZeroY)
		}
	}
	if got := len(strings.Fields(c.Line)); got != 7 {
		t.Errorf("the line has %d points, want 7", got)
	}
	if c.YTicks[0].Label != "1" || c.YTicks[len(c.YTicks)-1].Label != "0" {
		t.Errorf("y axis of nothing: %+v, want 0 to 1", c.YTicks)
	}
	if !strings.HasSuffix(c.Desc, ": none.") {
		t.Errorf("description %q", c.Desc)
	}
	if len(v.Table.Rows) != 7 || v.Table.Rows[0][0] != "Sun 1 Mar 2026" || v.Table.Rows[0][1] != "0" {
		t.Errorf("table %v", v.Table.Rows)
	}
}

func TestChartDaysAcrossClockChangesAreTheZonesDays(t *testing.T) {
	// Berlin's 29 March 2026 has 23 hours and 25 October 25: each is still
	// one bucket, named by its own date (a UTC reading of Berlin's
	// midnight is the day before), and evenly spaced.
	for _, c := range []struct{ from, to, short string }{
		{"2026-03-28", "2026-03-30", "29 Mar"},
		{"2026-10-24", "2026-10-26", "25 Oct"},
	} {
		s := series(t, "Europe/Berlin", c.from, c.to, map[string]int64{c.from: 1, analytics.MustDate(c.from).AddDays(1).String(): 25})
		v := newSeriesView(money.For("en-US"), "c", s)
		clicks := v.Charts[0]
		if len(clicks.Dots) != 3 {
			t.Fatalf("%s: %d dots, want 3", c.from, len(clicks.Dots))
		}
		if gap1, gap2 := clicks.Dots[1].X-clicks.Dots[0].X, clicks.Dots[2].X-clicks.Dots[1].X; math.Abs(gap1-gap2) > 1e-9 {
			t.Errorf("%s: the clock-change day is %.1f wide, the next %.1f", c.from, gap1, gap2)
		}
		var days []string
		for _, r := range v.Table.Rows {
			days = append(days, r[0]+"="+r[1])
		}
		if !strings.Contains(clicks.Dots[1].Title, c.short) || !strings.HasSuffix(clicks.Dots[1].Title, ": 25") {
			t.Errorf("%s: the middle dot is %q, want %s with 25 clicks; table %v", c.from, clicks.Dots[1].Title, c.short, days)
		}
		if !strings.Contains(clicks.Desc, "the most, 25, on Sun "+c.short+" 2026") {
			t.Errorf("%s: description %q", c.from, clicks.Desc)
		}
		if got := clicks.XTicks[0].Label; got != strings.TrimPrefix(c.from[8:], "0")+" "+c.short[len(c.short)-3:] {
			t.Errorf("%s: first x label %q", c.from, got)
		}
	}
}

func TestChartScalesMoneyAndNegativeValues(t *testing.T) {
	s := series(t, "UTC", "2026-03-01", "2026-03-03", nil)
	s.Points[0].Commission = []domain.Money{{Amount: 12345, Currency: "USD"}}
	s.Points[1].Commission = []domain.Money{{Amount: -2000, Currency: "USD"}} // a clawback
	s.Points[2].Commission = []domain.Money{{Amount: 700, Currency: "JPY"}}
	v := newSeriesView(money.For("en-US"), "c", s, commissionFigure)
	if len(v.Charts) != 5 || v.Charts[3].Title != "Commission (JPY)" || v.Charts[4].Title != "Commission (USD)" {
		t.Fatalf("charts %v", titles(v.Charts))
	}
	usd := v.Charts[4]
	var labels []string
	for _, tk := range usd.YTicks {
		labels = append(labels, tk.Label)
	}
	if got := strings.Join(labels, " "); got != "$200 $100 $0 -$20" {
		t.Errorf("USD axis %q", got)
	}
	if usd.Dots[1].Y <= usd.ZeroY || usd.Dots[0].Y >= usd.ZeroY {
		t.Errorf("the clawback is not below the zero line: %+v, zero %.1f", usd.Dots, usd.ZeroY)
	}
	if got := v.Table.Head; strings.Join(got, "|") != "Period|Clicks|Referrals|Conversions|Commission (JPY)|Commission (USD)" {
		t.Errorf("table head %v", got)
	}
	if got := v.Table.Rows[0][5]; got != "$123.45" {
		t.Errorf("table USD cell %q", got)
	}
}

func titles(cs []chart) []string {
	var out []string
	for _, c := range cs {
		out = append(out, c.Title)
	}
	return out
}

func TestChartRendersAsAnAccessibleSVG(t *testing.T) {
	s := series(t, "UTC", "2026-03-01", "2026-03-02", map[string]int64{"2026-03-02": 3})
	s.Points[1].Revenue = []domain.Money{{Amount: 5000, Currency: `<b>`}}
	var buf bytes.Buffer
	if err := seriesC(newSeriesView(money.For("en-US"), "x", s, revenueFigure)).Render(t.Context(), &buf); err != nil {
		t.Fatal(err)
	}
	out := buf.String()
	for _, want := range []string{
		`role="img" aria-labelledby="x-0-t x-0-d"`, `<title id="x-0-t">Clicks</title>`,
		`<desc id="x-0-d">Clicks per day, 1 – 2 Mar 2026: 3 in total; the most, 3, on Mon 2 Mar 2026.</desc>`,
		`<polyline class="chart-line" points="`, `<title>Mon 2 Mar 2026: 3</title>`,
		`<details class="chart-data">`, `<th scope="row">Mon 2 Mar 2026</th><td class="num">3</td>`,
		`Revenue (&lt;b&gt;)`,
	} {
		if !strings.Contains(out, want) {
			t.Errorf("the chart lacks %s\n%s", want, out)
		}
	}
	if strings.Contains(out, "<b>") || strings.Contains(out, "style=") {
		t.Error("the chart has unescaped text or an inline style")
	}
}

func TestChangesArePercentagesWithoutDividingByZero(t *testing.T) {
	for _, c := range []struct {
		cur, prev int64
		text, dir string
	}{
		{110, 100, "+10%", "up"}, {90, 100, "−10%", "down"}, {1, 3, "−67%", "down"}, {1003, 1000, "+0.3%", "up"},
		{100, 100, "±0%", "flat"}, {100001, 100000, "±0%", "flat"}, {5, 0, "new", "new"}, {0, 0, "—", "none"},
		{0, 7, "−100%", "down"}, {50000, 100, "+49,900%", "up"}, {-50, 100, "−150%", "down"}, {50, -100, "+150%", "up"},
	} {
		ch := changeOf(c.cur, c.prev, "")
		if ch.Text != c.text || ch.Dir != c.dir {
			t.Errorf("%d against %d: %q %s, want %q %s", c.cur, c.prev, ch.Text, ch.Dir, c.text, c.dir)
		}
	}
	rate := func(conv, total int64) analytics.Summary {
		return analytics.Summary{ConvertedReferrals: conv, TotalReferrals: total, ConversionRate: analytics.Rate(conv, total)}
	}
	for _, c := range []struct {
		cur, prev analytics.Summary
		value     string
		change    string
	}{
		{rate(12, 100), rate(10, 100), "12%", "+2 pts"},
		{rate(1, 3), rate(1, 2), "33.3%", "−16.7 pts"},
		{rate(1, 4), rate(0, 0), "25%", "new"},
		{rate(0, 0), rate(0, 0), "0%", "—"},
		{rate(1, 2), rate(2, 4), "50%", "±0 pts"},
	} {
		prev := c.prev
		k := rateKPI(c.cur, &prev)
		if v := k.Values[0]; v.Value != c.value || v.Change.Text != c.change {
			t.Errorf("rate %v against %v: %q %q, want %q %q", c.cur.ConversionRate, c.prev.ConversionRate, v.Value, v.Change.Text, c.value, c.change)
		}
	}
	k := moneyKPI(money.For("en-US"), "Revenue", []domain.Money{{Amount: 150000, Currency: "USD"}}, []domain.Money{{Amount: 900, Currency: "EUR"}}, true)
	if len(k.Values) != 2 || k.Values[0].Value != "€0.00" || k.Values[0].Change.Text != "−100%" ||
		k.Values[1].Value != "$1,500.00" || k.Values[1].Change.Text != "new" || k.Values[0].Change.Prev != "€9.00" {
		t.Errorf("money in two currencies: %+v", k.Values)
	}
}

func TestDashboardFiltersAreReadFromTheQuery(t *testing.T) {
	now := time.Date(2026, 3, 15, 23, 30, 0, 0, time.UTC) // already 16 March in Berlin
	berlin, _ := time.LoadLocation("Europe/Berlin")
	for _, c := range []struct {
		query, preset, from, to, interval, by, errs string
	}{
		{"", "30d", "2026-02-15", "2026-03-16", "day", "conversions", ""},
		{"range=7d&by=revenue", "7d", "2026-03-10", "2026-03-16", "day", "revenue", ""},
		{"range=ytd", "ytd", "2026-01-01", "2026-03-16", "day", "conversions", ""},
		{"range=qtd&interval=month", "qtd", "2026-01-01", "2026-03-16", "month", "conversions", ""},
		{"range=mtd&from=2026-03-01&to=2026-03-16", "mtd", "2026-03-01", "2026-03-16", "day", "conversions", ""},
		{"range=mtd&from=2026-03-02&to=2026-03-16", "custom", "2026-03-02", "2026-03-16", "day", "conversions", ""},
		{"from=2025-01-01&to=2025-12-31", "custom", "2025-01-01", "2025-12-31", "week", "conversions", ""},
		{"from=2024-01-01&to=2025-12-31", "custom", "2024-01-01", "2025-12-31", "month", "conversions", ""},
		{"range=custom&from=2026-03-10&to=2026-03-01", "custom", "", "", "", "", "from"},
		{"range=custom&from=yesterday", "custom", "", "", "", "", "from"},
		{"range=custom&from=2020-01-01&to=2026-01-01", "custom", "", "", "", "", "to"},
		{"range=14d", "", "", "", "", "", "range"},
		{"interval=hour", "", "", "", "", "", "interval"},
		{"by=name", "", "", "", "", "", "by"},
	} {
		q, _ := url.ParseQuery(c.query)
		f := newForm(nil)
		d, ok := readDashFilter(q, berlin, now, f)
		if c.errs != "" {
			if ok || f.Err(c.errs) == "" {
				t.Errorf("%q: ok %v, errors %v; want a problem with %s", c.query, ok, f.Errors, c.errs)
			}
			continue
		}
		if !ok || d.Preset != c.preset || d.Range.From.String() != c.from || d.Range.To.String() != c.to || d.interval() != c.interval || d.By != c.by {
			t.Errorf("%q: %v %s %s..%s %s %s (%v), want %s %s..%s %s %s", c.query, ok, d.Preset, d.Range.From, d.Range.To, d.interval(), d.By, f.Errors,
				c.preset, c.from, c.to, c.interval, c.by)
		}
		if f.Get("from") != c.from || f.Get("to") != c.to || f.Get("range") != c.preset {
			t.Errorf("%q: the form shows %v", c.query, f.Values)
		}
	}
	q, _ := url.ParseQuery("programId=prg_1&partnerTierId=tier_1&partnerId=ptn_1&referrerId=ref_1")
	d, _ := readDashFilter(q, berlin, now, newForm(nil))
	if d.ProgramID != "prg_1" || d.PartnerTierID != "tier_1" || d.PartnerID != "ptn_1" || d.ReferrerID != "" {
		t.Errorf("filter %+v: want program, tier and partner (referrers are not a dashboard filter)", d.Filter)
	}
}

// TestChartAxesReadAsMoneyForPeople: money axes are short amounts with
// the currency in the organization's locale, never minor units; counts
// are grouped; dots and the table keep the exact amounts.
func TestChartAxesReadAsMoneyForPeople(t *testing.T) {
	s := series(t, "UTC", "2026-03-01", "2026-03-03", nil)
	s.Points[0].Revenue = []domain.Money{{Amount: 4_512_300, Currency: "EUR"}} // €45,123.00
	s.Points[1].Clicks = 12345
	for locale, want := range map[string][]string{
		"en-US": {"€50K", "€25K", "€0", "€45,123.00", "12,345"},
		"de-DE": {"50\u00a0Tsd.\u00a0€", "25\u00a0Tsd.\u00a0€", "0\u00a0€", "45.123,00\u00a0€", "12.345"},
	} {
		v := newSeriesView(money.For(locale), "c", s, revenueFigure)
		rev, clicks := v.Charts[3], v.Charts[0]
		var labels []string
		for _, tk := range rev.YTicks {
			labels = append(labels, tk.Label)
		}
		if got := strings.Join(labels, " | "); got != strings.Join(want[:3], " | ") {
			t.Errorf("%s: revenue axis %q, want %q", locale, got, strings.Join(want[:3], " | "))
		}
		if got := rev.Dots[0].Title; !strings.HasSuffix(got, ": "+want[3]) {
			t.Errorf("%s: revenue dot %q, want the exact amount %s", locale, got, want[3])
		}
		if got := clicks.YTicks[0].Label; !strings.Contains(clicks.Desc, want[4]) || strings.Contains(got, "00000") {
			t.Errorf("%s: clicks axis top %q, description %q: want %s grouped", locale, got, clicks.Desc, want[4])
		}
	}
}
