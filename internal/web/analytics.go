package web

import (
	"errors"
	"io"
	"maps"
	"net/http"
	"net/url"
	"slices"
	"strings"
	"time"

	"github.com/partnerloop/partnerloop/internal/analytics"
	"github.com/partnerloop/partnerloop/internal/domain"
	"github.com/partnerloop/partnerloop/internal/download"
	"github.com/partnerloop/partnerloop/internal/money"
	"github.com/partnerloop/partnerloop/internal/store"
)

// The analytics dashboards: Referrals → Analytics (/analytics) and
// Partners → Analytics (/partners/analytics), for admins and program
// managers, as the API's /v1/analytics/* routes are. Both read the same
// reports (internal/analytics) with the filters of a GET form, so every
// view is a link; each table and the series also download as CSV from the
// web routes below (the session cookie cannot call the API's bearer routes).

// Dashboard kinds.
const (
	dashReferrals = "referrals"
	dashPartners  = "partners"
)

// presetCustom is the range of the dates typed into the form.
const presetCustom = "custom"

var presetLabels = map[string]string{
	analytics.PresetLast7Days: "7 days", analytics.PresetLast30Days: "30 days", analytics.PresetLast90Days: "90 days",
	analytics.PresetMonthToDate: "Month to date", analytics.PresetQuarterToDate: "Quarter to date", analytics.PresetYearToDate: "Year to date",
}

// dashFilter is a dashboard's resolved filters.
type dashFilter struct {
	Preset   string // a preset, or presetCustom
	Range    analytics.Range
	Interval string // as chosen: "" is automatic (see interval)
	By       string
	analytics.Filter
}

// query is the report query of the filter: the range as its dates.
func (f dashFilter) query() analytics.Query {
	return analytics.Query{From: f.Range.From.String(), To: f.Range.To.String(), Filter: f.Filter}
}

// interval is the series' bucket: the one chosen, else days up to about a
// quarter, weeks up to a year, months beyond.
func (f dashFilter) interval() string {
	if f.Interval != "" {
		return f.Interval
	}
	switch n := f.Range.Days(); {
	case n <= 92:
		return analytics.IntervalDay
	case n <= 366:
		return analytics.IntervalWeek
	}
	return analytics.IntervalMonth
}

// values are the filter as query parameters (what links keep).
func (f dashFilter) values() url.Values {
	v := url.Values{}
	set := func(k, x string) {
		if x != "" {
			v.Set(k, x)
		}
	}
	if f.Preset != analytics.PresetLast30Days { // the default
		set("range", f.Preset)
	}
	if f.Preset == presetCustom {
		set("from", f.Range.From.String())
		set("to", f.Range.To.String())
	}
	set("programId", f.ProgramID)
	set("partnerTierId", f.PartnerTierID)
	set("partnerId", f.PartnerID)
	set("interval", f.Interval)
	if f.By != analytics.ByConversions {
		set("by", f.By)
	}
	return v
}

// readDashFilter reads the dashboard's GET form. The range is a preset
// (the preset links carry no dates) or the dates of the form: the form
// shows the current range's dates and sends the preset along in a hidden
// field, so dates that differ from the preset's were typed in, and make
// the range custom — no JavaScript needed. Problems go on f; ok is false
// when there were any.
func readDashFilter(q url.Values, loc *time.Location, now time.Time, f *Form) (dashFilter, bool) {
	d := dashFilter{Preset: q.Get("range"), Interval: q.Get("interval"), By: q.Get("by"), Filter: analytics.Filter{
		ProgramID: q.Get("programId"), PartnerTierID: q.Get("partnerTierId"), PartnerID: q.Get("partnerId"),
	}}
	from, to := q.Get("from"), q.Get("to")
	if d.Preset == "" {
		d.Preset = analytics.PresetLast30Days
		if from != "" || to != "" {
			d.Preset = presetCustom
		}
	}
	if d.Preset != presetCustom {
		r, ok := analytics.PresetRange(d.Preset, loc, now)
		switch {
		case !ok:
			f.add("range", "choose one of the ranges offered")
			d.Preset = analytics.PresetLast30Days
			d.Range, _ = analytics.PresetRange(d.Preset, loc, now)
		case (from != "" && from != r.From.String()) || (to != "" && to != r.To.String()):
			d.Preset = presetCustom
		default:
			d.Range = r
		}
	}
	if d.Preset == presetCustom {
		r, err := analytics.ParseRange(from, to, loc, now)
		if err != nil {
			if !f.fail(err, nil) {
				f.add("from", err.Error())
			}
			d.Range, _ = analytics.PresetRange(analytics.PresetLast30Days, loc, now)
		} else {
			d.Range = r
		}
	}
	switch d.Interval {
	case "", analytics.IntervalDay, analytics.IntervalWeek, analytics.IntervalMonth:
	default:
		f.add("interval", "choose day, week or month")
		d.Interval = ""
	}
	switch d.By {
	case "":
		d.By = analytics.ByConversions
	case analytics.ByClicks, analytics.ByReferrals, analytics.ByConversions, analytics.ByRevenue, analytics.ByCommission:
	default:
		f.add("by", "choose clicks, referrals, conversions, revenue or commission")
		d.By = analytics.ByConversions
	}
	if len(f.Errors) > 0 && f.Message == "" {
		f.Message = "Please correct the filters marked below."
	}
	// The form shows what is in effect.
	f.Values = d.values()
	if len(f.Errors) > 0 && from != "" {
		f.Values.Set("from", from)
	} else {
		f.Values.Set("from", d.Range.From.String())
	}
	if len(f.Errors) > 0 && to != "" {
		f.Values.Set("to", to)
	} else {
		f.Values.Set("to", d.Range.To.String())
	}
	f.Values.Set("range", d.Preset)
	return d, len(f.Errors) == 0
}

// orgZone is the organization's time zone: the dashboards' days and
// presets are its.
func (s *Server) orgZone(rq *request) (*time.Location, error) {
	o, err := s.cfg.Identity.Organization(rq.r.Context(), *rq.p)
	if err != nil {
		return nil, err
	}
	loc, err := time.LoadLocation(o.Zone())
	if err != nil {
		return time.UTC, nil
	}
	return loc, nil
}

type presetLink struct {
	Label, URL string
	Current    bool
}

type sortColumn struct {
	Label   string
	Num     bool
	URL     string // "" when the table cannot be sorted by it
	Current bool
}

type referrerView struct {
	Name, Detail, ProgramID, Program, Partner string
	Clicks, Referrals, Conversions            string
	Revenue, Commission                       []string
}

type partnerView struct {
	ID, Company, Tier                                    string
	Clicks, Referrals, Conversions, Registered, DealsWon string
	Revenue, DealValue, Commission, EPC                  []string
}

type analyticsData struct {
	Kind, Path     string
	Status         string // "": figures; "unavailable", "preparing", "invalid"
	Filter         *Form
	Programs       []Option
	Tiers          []Option
	Partners       []Option
	Intervals      []Option
	Presets        []presetLink
	Period         string
	PreviousPeriod string
	Zone, AsOf     string
	Interval       string
	KPIs           []kpi
	Series         seriesView
	NoData         bool
	RefColumns     []sortColumn
	Referrers      []referrerView
	PartnerColumns []sortColumn
	PartnerRows    []partnerView
	PartnerLimit   int
	CSV            map[string]string // report → download URL
	PartnersURL    string            // Partners → Analytics with the same filters
	Admin          bool
}

// The dashboards' table lengths; the CSV downloads list up to
// store.MaxLimit rows.
const (
	topReferrersShown   = 10
	partnersOnReferrals = 5
	partnersShown       = 50
)

func (s *Server) referralAnalytics(rq *request) error { return s.renderAnalytics(rq, dashReferrals) }
func (s *Server) partnerAnalytics(rq *request) error  { return s.renderAnalytics(rq, dashPartners) }

// filterOptions fills the filter form's choices, and returns the names
// of programs, tiers and partners for the tables.
func (s *Server) filterOptions(rq *request, d *analyticsData) (programs, tiers, partners map[string]string, err error) {
	ctx, org := rq.r.Context(), rq.p.OrgID
	programs, d.Programs, err = s.programNames(rq)
	if err != nil {
		return nil, nil, nil, err
	}
	ts, _, err := s.cfg.Partners.ListTiers(ctx, org, store.Page{Limit: store.MaxLimit})
	if err != nil {
		return nil, nil, nil, err
	}
	d.Tiers, tiers = choices("All tiers", ts, func(t domain.PartnerTier) (string, string) { return t.ID, t.Name })
	ps, _, err := s.cfg.Partners.List(ctx, org, "", store.Page{Limit: store.MaxLimit})
	if err != nil {
		return nil, nil, nil, err
	}
	d.Partners, partners = choices("All partners", ps, func(p domain.Partner) (string, string) { return p.ID, p.CompanyName })
	d.Intervals = []Option{{"", "Automatic"}, {analytics.IntervalDay, "Day"}, {analytics.IntervalWeek, "Week"}, {analytics.IntervalMonth, "Month"}}
	return programs, tiers, partners, nil
}

// reportFailed puts a report's refusal on the page: not ready yet (503),
// or a filter the service rejects (422; an unknown record 404). It reports
// whether err was one of those.
func reportFailed(d *analyticsData, err error) (int, bool) {
	if errors.Is(err, analytics.ErrNotReady) {
		d.Status = "preparing"
		return http.StatusServiceUnavailable, true
	}
	if d.Filter.fail(err, nil) {
		d.Status = "invalid"
		if e, _ := domain.AsError(err); e.Kind == domain.KindNotFound {
			d.Filter.Message = "No such " + strings.TrimSuffix(e.Message, " not found") + " in your organization."
			return http.StatusNotFound, true
		}
		return http.StatusUnprocessableEntity, true
	}
	return 0, false
}

func (s *Server) renderAnalytics(rq *request, kind string) error {
	title, section, path := "Referral analytics", "analytics", "/analytics"
	if kind == dashPartners {
		title, section, path = "Partner analytics", "partner-analytics", "/partners/analytics"
	}
	d := &analyticsData{Kind: kind, Path: path, Filter: newForm(nil), Admin: rq.admin()}
	if s.cfg.Analytics == nil {
		d.Status = "unavailable"
		return s.render(rq, http.StatusServiceUnavailable, "analytics", title, section, d)
	}
	ctx, org, fm := rq.r.Context(), rq.p.OrgID, rq.money()
	loc, err := s.orgZone(rq)
	if err != nil {
		return err
	}
	programs, tiers, partners, err := s.filterOptions(rq, d)
	if err != nil {
		return err
	}
	flt, ok := readDashFilter(rq.r.URL.Query(), loc, s.now(), d.Filter)
	s.dashLinks(d, flt)
	if !ok {
		d.Status = "invalid"
		return s.render(rq, http.StatusUnprocessableEntity, "analytics", title, section, d)
	}
	q := flt.query()
	fail := func(err error) error {
		if status, ok := reportFailed(d, err); ok {
			if status == http.StatusServiceUnavailable {
				rq.w.Header().Set("Retry-After", "5")
			}
			return s.render(rq, status, "analytics", title, section, d)
		}
		return err
	}
	sum, err := s.cfg.Analytics.Summary(ctx, org, q, true)
	if err != nil {
		return fail(err)
	}
	series, err := s.cfg.Analytics.Timeseries(ctx, org, q, flt.interval())
	if err != nil {
		return fail(err)
	}
	d.Interval = flt.interval()
	d.Zone = sum.TimeZone
	d.Period = periodText(sum.From, sum.To)
	if sum.Previous != nil {
		d.PreviousPeriod = periodText(sum.Previous.From, sum.Previous.To)
	}
	d.AsOf = asOfText(sum.AsOf, sum.TimeZone)
	if kind == dashPartners {
		d.KPIs = contributionKPIs(fm, sum)
	} else {
		d.KPIs = summaryKPIs(fm, sum)
	}
	d.Series = newSeriesView(rq.money(), "chart", series, revenueFigure, commissionFigure)
	d.NoData = d.Series.Empty && sum.TotalReferrals == 0 && sum.PartnerContribution.DealsRegistered == 0 &&
		sum.PartnerContribution.DealCount == 0 && len(sum.Commission) == 0
	if kind == dashReferrals {
		top, err := s.cfg.Analytics.TopReferrers(ctx, org, q, flt.By, "", topReferrersShown)
		if err != nil {
			return fail(err)
		}
		codes := s.referrerLinkCodes(rq, top.Items)
		for _, r := range top.Items {
			v := referrerView{Name: r.Name, Detail: codes[r.ReferrerID], ProgramID: r.ProgramID, Program: programs[r.ProgramID],
				Partner: partners[r.PartnerID], Clicks: formatInt(r.Clicks), Referrals: formatInt(r.Referrals),
				Conversions: formatInt(r.Conversions), Revenue: moneyLines(fm, r.Revenue), Commission: moneyLines(fm, r.Commission)}
			if v.Name == "" {
				v.Name = codes[r.ReferrerID]
				v.Detail = ""
			}
			d.Referrers = append(d.Referrers, v)
		}
	}
	d.PartnerLimit = partnersShown
	if kind == dashReferrals {
		d.PartnerLimit = partnersOnReferrals
	}
	pl, err := s.cfg.Analytics.Partners(ctx, org, q, flt.By, "", d.PartnerLimit)
	if err != nil {
		return fail(err)
	}
	for _, p := range pl.Items {
		d.PartnerRows = append(d.PartnerRows, partnerView{ID: p.PartnerID, Company: p.CompanyName, Tier: tiers[p.TierID],
			Clicks: formatInt(p.Clicks), Referrals: formatInt(p.Referrals), Conversions: formatInt(p.Conversions),
			Registered: formatInt(p.DealsRegistered), DealsWon: formatInt(p.DealCount),
			Revenue: moneyLines(fm, p.Revenue), DealValue: moneyLines(fm, p.DealValue), Commission: moneyLines(fm, p.Commission), EPC: moneyLines(fm, p.EPC)})
	}
	return s.render(rq, http.StatusOK, "analytics", title, section, d)
}

// referrerLinkCodes maps the rows' referrers to their link codes (a
// referrer is known by its name and code; the ID where it is gone).
func (s *Server) referrerLinkCodes(rq *request, rows []analytics.ReferrerRow) map[string]string {
	codes := map[string]string{}
	for _, r := range rows {
		codes[r.ReferrerID] = r.ReferrerID
		if ref, err := s.cfg.Programs.GetReferrer(rq.r.Context(), rq.p.OrgID, r.ReferrerID); err == nil {
			codes[r.ReferrerID] = ref.Code
		}
	}
	return codes
}

// moneyLines is a money list as one line per currency ("—" for none).
func moneyLines(fm *money.Formatter, ms []domain.Money) []string {
	if len(ms) == 0 {
		return []string{"—"}
	}
	out := make([]string, len(ms))
	for i, m := range ms {
		out[i] = fm.Format(m)
	}
	return out
}

// asOfText is the data's freshness in the organization's zone.
func asOfText(t time.Time, zone string) string {
	loc, err := time.LoadLocation(zone)
	if err != nil || zone == "" {
		loc = time.UTC
	}
	if t.IsZero() {
		return "—"
	}
	return t.In(loc).Format("2 Jan 2006 15:04 MST")
}

// dashLinks fills the links that keep the filters: presets, sorting, the
// other dashboard and the CSV downloads.
func (s *Server) dashLinks(d *analyticsData, f dashFilter) {
	link := func(path string, v url.Values) string {
		if len(v) == 0 {
			return path
		}
		return path + "?" + v.Encode()
	}
	for _, p := range analytics.Presets {
		v := f.values()
		v.Del("from")
		v.Del("to")
		if p != analytics.PresetLast30Days {
			v.Set("range", p)
		}
		d.Presets = append(d.Presets, presetLink{Label: presetLabels[p], URL: link(d.Path, v), Current: f.Preset == p})
	}
	sortable := func(table, label, by string) sortColumn {
		v := f.values()
		if by == analytics.ByConversions {
			v.Del("by")
		} else {
			v.Set("by", by)
		}
		return sortColumn{Label: label, Num: true, URL: link(d.Path, v) + "#" + table, Current: f.By == by}
	}
	plain := func(label string, num bool) sortColumn { return sortColumn{Label: label, Num: num} }
	d.RefColumns = []sortColumn{plain("Referrer", false), plain("Program", false), plain("Partner", false),
		sortable("referrals-table", "Clicks", analytics.ByClicks), sortable("referrals-table", "Referrals", analytics.ByReferrals),
		sortable("referrals-table", "Conversions", analytics.ByConversions), sortable("referrals-table", "Revenue", analytics.ByRevenue),
		sortable("referrals-table", "Commission", analytics.ByCommission)}
	d.PartnerColumns = []sortColumn{plain("Partner", false), plain("Tier", false),
		sortable("partners-table", "Clicks", analytics.ByClicks), sortable("partners-table", "Referrals", analytics.ByReferrals),
		sortable("partners-table", "Conversions", analytics.ByConversions), sortable("partners-table", "Revenue", analytics.ByRevenue),
		plain("Deals registered", true), plain("Deals won", true), plain("Deal value", true),
		sortable("partners-table", "Commission", analytics.ByCommission), plain("EPC", true)}
	v := f.values()
	d.CSV = map[string]string{}
	for _, r := range []string{"summary", "timeseries", "top-referrers", "partners"} {
		d.CSV[r] = link("/analytics/"+r+".csv", v)
	}
	d.PartnersURL = link("/partners/analytics", v)
}

// analyticsCSV downloads one report of a dashboard as CSV, with the
// dashboard's filters, written by the same functions as the API's CSV.
func (s *Server) analyticsCSV(report string) func(*request) error {
	return func(rq *request) error {
		if s.cfg.Analytics == nil {
			return s.errorPage(rq, http.StatusServiceUnavailable, "Analytics are not available",
				"Analytics are not available on this installation's store.")
		}
		ctx, org := rq.r.Context(), rq.p.OrgID
		loc, err := s.orgZone(rq)
		if err != nil {
			return err
		}
		f := newForm(nil)
		flt, ok := readDashFilter(rq.r.URL.Query(), loc, s.now(), f)
		if !ok {
			return s.errorPage(rq, http.StatusUnprocessableEntity, "That did not work", filterProblems(f))
		}
		q := flt.query()
		var write func(io.Writer) error
		switch report {
		case "summary":
			sum, e := s.cfg.Analytics.Summary(ctx, org, q, true)
			err, write = e, func(w io.Writer) error { return analytics.WriteSummaryCSV(w, sum) }
		case "timeseries":
			ser, e := s.cfg.Analytics.Timeseries(ctx, org, q, flt.interval())
			err, write = e, func(w io.Writer) error { return analytics.WriteSeriesCSV(w, ser) }
		case "top-referrers":
			l, e := s.cfg.Analytics.TopReferrers(ctx, org, q, flt.By, "", store.MaxLimit)
			err, write = e, func(w io.Writer) error { return analytics.WriteReferrersCSV(w, l) }
		case "partners":
			l, e := s.cfg.Analytics.Partners(ctx, org, q, flt.By, "", store.MaxLimit)
			err, write = e, func(w io.Writer) error { return analytics.WritePartnersCSV(w, l) }
		default:
			return errNotFound
		}
		if errors.Is(err, analytics.ErrNotReady) {
			rq.w.Header().Set("Retry-After", "5")
			return s.errorPage(rq, http.StatusServiceUnavailable, "Analytics are being prepared",
				"This organization's analytics are being prepared. Try again in a few seconds.")
		}
		if err != nil {
			return err
		}
		return sendCSV(rq, "analytics-"+report+"-"+flt.Range.From.String()+"-to-"+flt.Range.To.String()+".csv", write)
	}
}

// sendCSV writes a CSV download (built in full first, so a failure is a
// clean error page).
func sendCSV(rq *request, filename string, write func(io.Writer) error) error {
	return download.CSV(rq.w, filename, write)
}

// filterProblems lists a filter form's problems in a sentence.
func filterProblems(f *Form) string {
	var out []string
	for _, k := range slices.Sorted(maps.Keys(f.Errors)) {
		out = append(out, k+" "+f.Errors[k])
	}
	return "The filters are not valid: " + strings.Join(out, "; ") + "."
}

// errAnalyticsOff stands for a store without analytics on the pages that
// show a few figures beside other things (the dashboard, the portal).
var errAnalyticsOff = errors.New("analytics are not available")

// analyticsNote is what such a page says instead of the figures when
// analytics are off or not ready yet; other errors are returned.
func analyticsNote(err error) (string, error) {
	switch {
	case errors.Is(err, errAnalyticsOff):
		return "Analytics are not available on this installation's store.", nil
	case errors.Is(err, analytics.ErrNotReady):
		return "Your analytics are being prepared; reload the page in a few seconds.", nil
	}
	return "", err
}
