package web_test

import (
	"context"
	"encoding/csv"
	"html"
	"net/http"
	"net/url"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/partnerloop/partnerloop/internal/apptest"
	"github.com/partnerloop/partnerloop/internal/domain"
)

// analyticsFixture is a small organization with hand-counted activity on
// the fake clock (15 Mar 2026 12:00 UTC):
//
//	Spring (direct referrer Jane): 5 clicks, 4 referrals, and 2 buyers —
//	  USD 100.00 an hour ago, USD 50.00 on 25 Feb (inside 30 days, not 7)
//	Partners (Ada, for Acme in Gold): 3 clicks, 2 referrals, 1 buyer of
//	  USD 200.00 on 14 Mar
//
// A buyer is a new contact whose referral is made when it buys, so it
// counts as a referral then: the last 30 days have 9 referrals, 3 of them
// converted, 3 conversions, USD 350.00; the last 7 days 8 referrals.
type analyticsFixture struct {
	e                *apptest.Env
	spring, partners domain.Program
	acme             domain.Partner
	gold             domain.PartnerTier
}

func newAnalyticsFixture(t *testing.T) analyticsFixture {
	t.Helper()
	e := apptest.New(t)
	a := &apptest.Activity{T: t, App: e.App, Org: e.OrgID}
	start := time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)
	f := analyticsFixture{e: e, gold: a.Tier("Gold")}
	f.acme = a.Partner("Acme Resellers", f.gold.ID)
	f.spring, f.partners = a.Program("Spring", start), a.Program("Partners", start)
	jane := a.Referrer(f.spring.ID, `=HYPERLINK("http://evil.example","Jane")`, "")
	ada := a.Referrer(f.partners.ID, "Ada", f.acme.ID)
	now := e.Clock.Now()
	a.Clicks(jane.Code, 5)
	a.Referrals(jane.Code, 4)
	a.Conversion(jane.Code, 10000, now.Add(-time.Hour))
	a.Conversion(jane.Code, 5000, time.Date(2026, 2, 25, 10, 0, 0, 0, time.UTC))
	a.Clicks(ada.Code, 3)
	a.Referrals(ada.Code, 2)
	a.Conversion(ada.Code, 20000, time.Date(2026, 3, 14, 10, 0, 0, 0, time.UTC))
	e.RollUp(t)
	return f
}

var tagRe = regexp.MustCompile(`<[^>]*>`)

// kpiOf is the text of a KPI card's first figure ("$350.00").
func kpiOf(t *testing.T, page, label string) string {
	t.Helper()
	re := regexp.MustCompile(`(?s)data-kpi="` + regexp.QuoteMeta(label) + `">.*?class="stat-value[^"]*">(.*?)</span>\s*<span class="kpi-change`)
	m := re.FindStringSubmatch(page)
	if m == nil {
		t.Fatalf("no KPI %q on the page", label)
	}
	return html.UnescapeString(tagRe.ReplaceAllString(m[1], ""))
}

func TestAnalyticsDashboardsShowTheRollups(t *testing.T) {
	f := newAnalyticsFixture(t)
	b := withSession(t, f.e, f.e.AdminToken)
	for _, c := range []struct {
		query                           string
		referrals, conversions, revenue string
		rate, clicks                    string
	}{
		{"", "9", "3", "$350.00", "33.3%", "8"},
		{"?range=7d", "8", "2", "$300.00", "25%", "8"},
		{"?programId=" + f.spring.ID, "6", "2", "$150.00", "33.3%", "5"},
		{"?partnerTierId=" + f.gold.ID, "3", "1", "$200.00", "33.3%", "3"},
		{"?range=custom&from=2026-02-25&to=2026-02-25", "1", "1", "$50.00", "100%", "0"},
		// The form's dates, changed, make the range custom.
		{"?range=30d&from=2026-03-14&to=2026-03-14", "1", "1", "$200.00", "100%", "0"},
	} {
		r := b.do("GET", "/analytics"+c.query, nil)
		if r.Status != http.StatusOK {
			t.Fatalf("GET /analytics%s: %d\n%s", c.query, r.Status, r.Body)
		}
		page := body(r)
		for label, want := range map[string]string{"Referrals": c.referrals, "Conversions": c.conversions, "Revenue": c.revenue,
			"Conversion rate": c.rate, "Clicks": c.clicks} {
			if got := kpiOf(t, page, label); got != want {
				t.Errorf("/analytics%s: %s = %q, want %q", c.query, label, got, want)
			}
		}
	}

	page := body(b.do("GET", "/analytics", nil))
	for _, want := range []string{
		"<span data-as-of>Data as of ", "14 Feb – 15 Mar 2026</strong>, compared with 15 Jan – 13 Feb 2026 · days in UTC",
		`<svg class="chart-svg" viewBox="0 0 320 172" role="img"`, `data-chart="Revenue (USD)"`,
		`<title>Sun 15 Mar 2026: $100.00</title>`, // the revenue chart's last day
		`>Ada<`, `Acme Resellers`, `href="/analytics/top-referrers.csv"`, `<a href="/analytics?range=7d">7 days</a>`,
		`<a href="/analytics" aria-current="true">30 days</a>`,
	} {
		if !strings.Contains(page, want) {
			t.Errorf("/analytics lacks %s", want)
		}
	}
	// Sorting by revenue puts Ada (USD 200.00) above Jane (USD 150.00).
	top := body(b.do("GET", "/analytics?by=revenue", nil))
	if i, j := strings.Index(top, ">Ada<"), strings.Index(top, "HYPERLINK"); i < 0 || j < 0 || i > j {
		t.Errorf("by=revenue: Ada at %d, Jane at %d", i, j)
	}
	if !strings.Contains(top, `aria-sort="descending"><a href="/analytics?by=revenue#referrals-table" aria-current="true">Revenue`) ||
		!strings.Contains(top, `<a href="/analytics?by=clicks#partners-table">Clicks</a>`) {
		t.Error("the revenue column is not marked as the sort order")
	}

	pr := b.do("GET", "/partners/analytics", nil)
	if pr.Status != http.StatusOK {
		t.Fatalf("GET /partners/analytics: %d", pr.Status)
	}
	pp := body(pr)
	if got := kpiOf(t, pp, "Partner conversions"); got != "1" {
		t.Errorf("partner conversions %q, want 1", got)
	}
	if got := kpiOf(t, pp, "Partner revenue"); got != "$200.00" {
		t.Errorf("partner revenue %q, want $200.00", got)
	}
	if !strings.Contains(pp, `<a href="/partners/`+f.acme.ID+`">Acme Resellers</a></th>`) || !strings.Contains(pp, "<td>Gold</td>") {
		t.Error("the partner table lacks Acme in Gold")
	}
}

func TestAnalyticsPagesAreForStaffOnly(t *testing.T) {
	e := apptest.New(t)
	e.RollUp(t)
	pm := withSession(t, e, e.NewUser(t, e.OrgID, domain.RoleProgramManager, ""))
	pt := withSession(t, e, e.NewUser(t, e.OrgID, domain.RolePartner, newPartner(t, e, "pt@example.com")))
	anon := newBrowser(t, e)
	paths := []string{"/analytics", "/partners/analytics", "/analytics/summary.csv", "/analytics/timeseries.csv",
		"/analytics/top-referrers.csv", "/analytics/partners.csv"}
	for _, p := range paths {
		if r := pm.do("GET", p, nil); r.Status != http.StatusOK {
			t.Errorf("program manager GET %s: %d, want 200", p, r.Status)
		}
		if r := pt.do("GET", p, nil); r.Status != http.StatusForbidden {
			t.Errorf("partner GET %s: %d, want 403", p, r.Status)
		}
		if r := anon.do("GET", p, nil); r.Status != http.StatusSeeOther || !strings.HasPrefix(r.Header.Get("Location"), "/login?next=") {
			t.Errorf("signed out GET %s: %d %s, want 303 to sign in", p, r.Status, r.Header.Get("Location"))
		}
	}
	nav := body(pm.do("GET", "/analytics", nil))
	for _, want := range []string{`href="/analytics" aria-current="page"`, `href="/partners/analytics"`} {
		if !strings.Contains(nav, want) {
			t.Errorf("a program manager's navigation lacks %s", want)
		}
	}
	for _, hidden := range []string{`href="/partners"`, `href="/settings/organization"`} {
		if strings.Contains(nav, hidden) {
			t.Errorf("a program manager's page shows %s", hidden)
		}
	}
	if r := pm.do("GET", "/settings/organization", nil); r.Status != http.StatusForbidden {
		t.Errorf("program manager GET /settings/organization: %d, want 403", r.Status)
	}
}

func TestAnalyticsCSVDownloads(t *testing.T) {
	f := newAnalyticsFixture(t)
	b := withSession(t, f.e, f.e.AdminToken)
	read := func(path string) [][]string {
		t.Helper()
		r := b.do("GET", path, nil)
		if r.Status != http.StatusOK || r.Header.Get("Content-Type") != "text/csv; charset=utf-8" ||
			!strings.HasPrefix(r.Header.Get("Content-Disposition"), `attachment; filename="analytics-`) {
			t.Fatalf("GET %s: %d %q %q\n%s", path, r.Status, r.Header.Get("Content-Type"), r.Header.Get("Content-Disposition"), r.Body)
		}
		rows, err := csv.NewReader(strings.NewReader(string(r.Body))).ReadAll()
		if err != nil {
			t.Fatalf("%s: %v", path, err)
		}
		return rows
	}
	find := func(rows [][]string, first string) []string {
		for _, row := range rows {
			if row[0] == first {
				return row
			}
		}
		t.Fatalf("no row %q in %v", first, rows)
		return nil
	}
	sum := read("/analytics/summary.csv?range=7d")
	if got := find(sum, "conversions"); strings.Join(got, ",") != "conversions,,2,0" {
		t.Errorf("summary conversions row %v, want the 7 days' 2 and the 7 before's none", got)
	}
	if got := find(sum, "from"); got[2] != "2026-03-09" {
		t.Errorf("summary from %v", got)
	}
	ser := read("/analytics/timeseries.csv?programId=" + f.spring.ID)
	if len(ser) != 31 || ser[0][0] != "start" || ser[30][0] != "2026-03-15T00:00:00Z" || ser[30][3] != "1" {
		t.Errorf("series: %d rows, last %v", len(ser), ser[len(ser)-1])
	}
	if got := read("/analytics/timeseries.csv?interval=week"); len(got) != 1+5 || got[1][0] != "2026-02-09T00:00:00Z" {
		t.Errorf("weekly series: %v, want the 5 weeks from Monday 9 Feb that 14 Feb–15 Mar touches", got)
	}
	top := read("/analytics/top-referrers.csv")
	if got := top[1]; !strings.HasPrefix(got[1], `'=HYPERLINK(`) {
		t.Errorf("the referrer's name is not neutralised: %q", got[1])
	}
	partners := read("/analytics/partners.csv")
	if got := find(partners, f.acme.ID); got[1] != "Acme Resellers" || got[5] != "1" {
		t.Errorf("partner row %v", got)
	}
	if r := b.do("GET", "/analytics/summary.csv?range=custom&from=2026-03-10&to=2026-03-01", nil); r.Status != http.StatusUnprocessableEntity {
		t.Errorf("a range ending before it starts: %d, want 422", r.Status)
	}
}

func TestAnalyticsFilterProblemsShowOnTheForm(t *testing.T) {
	f := newAnalyticsFixture(t)
	b := withSession(t, f.e, f.e.AdminToken)
	r := b.do("GET", "/analytics?range=custom&from=2026-03-10&to=2026-03-01", nil)
	if r.Status != http.StatusUnprocessableEntity || !strings.Contains(body(r), `id="f-from-error">must not be after to`) {
		t.Errorf("from after to: %d\n%s", r.Status, r.Body)
	}
	if !strings.Contains(body(r), `value="2026-03-10"`) {
		t.Error("the dates typed were not kept")
	}
	r = b.do("GET", "/analytics?interval=hour&by=name", nil)
	if r.Status != http.StatusUnprocessableEntity || !strings.Contains(body(r), `id="f-interval-error"`) || !strings.Contains(body(r), "Sort: choose") {
		t.Errorf("bad interval and sort: %d", r.Status)
	}
	other := withSession(t, f.e, f.e.NewUser(t, "org_other", domain.RoleAdmin, ""))
	f.e.RollUp(t)
	r = other.do("GET", "/analytics?programId="+f.spring.ID, nil)
	if r.Status != http.StatusNotFound || !strings.Contains(body(r), "No such program in your organization.") {
		t.Errorf("another organization's program: %d\n%s", r.Status, r.Body)
	}
}

func TestAnalyticsBeingPreparedIsAFriendlyPage(t *testing.T) {
	e := apptest.New(t) // no rollup has run: the organization has no cells yet
	b := withSession(t, e, e.AdminToken)
	r := b.do("GET", "/analytics", nil)
	if r.Status != http.StatusServiceUnavailable || r.Header.Get("Retry-After") == "" || !strings.Contains(body(r), "being prepared") {
		t.Errorf("before the first rollup: %d %q", r.Status, r.Header.Get("Retry-After"))
	}
	if r := b.do("GET", "/", nil); r.Status != http.StatusOK || !strings.Contains(body(r), "being prepared") {
		t.Errorf("dashboard before the first rollup: %d", r.Status)
	}
	e.RollUp(t)
	r = b.do("GET", "/analytics", nil)
	if r.Status != http.StatusOK || !strings.Contains(body(r), "No activity in this period") {
		t.Errorf("an organization without activity: %d", r.Status)
	}
	// Every chart still has its 30 days, on the zero line.
	if n := strings.Count(body(r), `<circle class="chart-dot"`); n != 3*30 {
		t.Errorf("%d dots, want 30 for each of clicks, referrals and conversions", n)
	}
}

func TestDashboardCountsEveryRecordFromTheRollups(t *testing.T) {
	e := apptest.New(t)
	a := &apptest.Activity{T: t, App: e.App, Org: e.OrgID}
	p := a.Program("Big", time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC))
	r := a.Referrer(p.ID, "Busy", "")
	a.Referrals(r.Code, 120) // more than the 100 the dashboard used to count
	e.RollUp(t)
	page := body(withSession(t, e, e.AdminToken).do("GET", "/", nil))
	if got := kpiOf(t, page, "Referrals"); got != "120" {
		t.Errorf("dashboard referrals %q, want 120", got)
	}
	if !strings.Contains(page, `href="/analytics"`) || !strings.Contains(page, `href="/partners/analytics"`) {
		t.Error("the dashboard does not link to the analytics pages")
	}
	if !strings.Contains(page, `<span class="stat-value">1</span>`) {
		t.Error("the dashboard lacks the one active program")
	}
}

func TestPortalOverviewChartsThePartnersOwnLast30Days(t *testing.T) {
	f := newAnalyticsFixture(t)
	pt := withSession(t, f.e, f.e.NewUser(t, f.e.OrgID, domain.RolePartner, f.acme.ID))
	r := pt.do("GET", "/portal", nil)
	if r.Status != http.StatusOK {
		t.Fatalf("GET /portal: %d", r.Status)
	}
	page := body(r)
	for label, want := range map[string]string{"Clicks": "3", "Referrals": "3", "Conversions": "1"} {
		if got := kpiOf(t, page, label); got != want {
			t.Errorf("portal %s = %q, want %q (Acme's own)", label, got, want)
		}
	}
	if !strings.Contains(page, `data-chart="Clicks"`) || !strings.Contains(page, `<title>Sat 14 Mar 2026: 1</title>`) {
		t.Error("the portal lacks its chart")
	}
	if strings.Contains(page, "HYPERLINK") || strings.Contains(page, "Spring") {
		t.Error("the portal shows another referrer's activity")
	}
}

func TestOrganizationSettingsSetTheTimeZone(t *testing.T) {
	e := apptest.New(t)
	b := withSession(t, e, e.AdminToken)
	r := b.submit("/settings/organization", "/settings/organization", url.Values{"name": {"Test Org"}, "timeZone": {"Mars/Olympus"}})
	if r.Status != http.StatusUnprocessableEntity || !strings.Contains(body(r), `id="f-timeZone-error">must be an IANA time zone`) ||
		!strings.Contains(body(r), `value="Mars/Olympus"`) {
		t.Fatalf("unknown zone: %d\n%s", r.Status, r.Body)
	}
	r = b.submit("/settings/organization", "/settings/organization", url.Values{"name": {"Renamed Org"}, "timeZone": {"America/New_York"}})
	if r.Status != http.StatusSeeOther {
		t.Fatalf("save: %d\n%s", r.Status, r.Body)
	}
	o, err := e.App.Store.GetOrganization(context.Background(), e.OrgID)
	if err != nil || o.TimeZone != "America/New_York" || o.Name != "Renamed Org" {
		t.Fatalf("stored organization %+v %v", o, err)
	}
	// The dashboards' days are New York's now: 12:00 UTC is 08:00 there.
	e.RollUp(t)
	page := body(b.do("GET", "/analytics?range=7d", nil))
	if !strings.Contains(page, "days in America/New_York") || !regexp.MustCompile(`Data as of [^<]* E[SD]T<`).MatchString(page) {
		t.Errorf("the dashboard does not use the new zone")
	}
}
