package browsertest

import (
	"context"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/chromedp/chromedp"

	"github.com/partnerloop/partnerloop/internal/apptest"
	"github.com/partnerloop/partnerloop/internal/domain"
	"github.com/partnerloop/partnerloop/internal/identity"
)

// TestAnalyticsDashboards: an admin sets the organization's time zone,
// opens Referrals → Analytics with hand-counted activity, narrows it to 7
// days and then to one program and sees the figures change, sorts, and
// downloads CSVs; Partners → Analytics shows the partner; the partner's
// portal charts its own last 30 days. Each dashboard is captured at 1280
// and 390 px, and none scrolls sideways at 360 px.
func TestAnalyticsDashboards(t *testing.T) {
	s := startSite(t)
	now := time.Now()
	a := &apptest.Activity{T: t, App: s.App, Org: s.Org}
	gold := a.Tier("Gold")
	acme := a.Partner("Acme Resellers", gold.ID)
	spring, partnerProgram := a.Program("Spring referral", now.AddDate(0, 0, -60)), a.Program("Partner program", now.AddDate(0, 0, -60))
	jane := a.Referrer(spring.ID, "Jane Doe", "")
	ada := a.Referrer(partnerProgram.ID, "Ada Lovelace", acme.ID)
	// By hand: the last 30 days have 3 conversions worth USD 450.00; the
	// last 7 days 2 (USD 370.00); Spring within them 1 (USD 120.00).
	a.Clicks(jane.Code, 6)
	a.Referrals(jane.Code, 3)
	a.Conversion(jane.Code, 12000, now.Add(-time.Hour))
	a.Conversion(jane.Code, 8000, now.AddDate(0, 0, -20))
	a.Clicks(ada.Code, 4)
	a.Referrals(ada.Code, 2)
	a.Conversion(ada.Code, 25000, now.Add(-2*time.Hour))
	seedPartnerCommission(t, s, partnerProgram.ID, ada.ID, acme.ID, 2500)
	a.WonDeal(acme.ID, "Globex", 1200000)
	// The 30 days before: 2 conversions (USD 250.00) to compare with.
	a.Conversion(jane.Code, 10000, now.AddDate(0, 0, -40))
	a.Conversion(ada.Code, 15000, now.AddDate(0, 0, -35))

	tb := newTab(t, s.URL)
	t.Logf("screenshots: %s", tb.shots)
	tb.signIn(adminEmail, adminPassword)

	// Settings → Organization: the dashboards' days become Berlin's.
	tb.open("/settings/organization")
	tb.fill("f-timeZone", "Europe/Berlin")
	if st := tb.submit(`form[action="/settings/organization"] button[type=submit]`); st != http.StatusOK {
		t.Fatalf("save the organization: %d", st)
	}
	tb.shot("20-settings-organization")
	apptest.RollUp(t, s.App) // the ticker's work: rebuild in the new zone, then the changes

	// Referrals → Analytics.
	tb.open("/")
	tb.do("open Referrals → Analytics", chromedp.Click(chromedp.CSS(`nav a[href="/analytics"]`)), chromedp.WaitVisible(chromedp.CSS(".chart-svg")))
	kpis := func() (conv, revenue string) {
		return tb.text(`[data-kpi="Conversions"] .stat-value`), tb.text(`[data-kpi="Revenue"] .stat-value`)
	}
	if c, r := kpis(); c != "3" || r != "$450.00" {
		t.Errorf("the last 30 days: %s conversions, revenue %q; want 3, $450.00", c, r)
	}
	if got := tb.text(".dash-period"); !strings.Contains(got, "days in Europe/Berlin") || !strings.Contains(got, "Data as of") {
		t.Errorf("period line %q", got)
	}
	if n := tb.count(`svg.chart-svg[role="img"] circle.chart-dot`); n < 5*30 {
		t.Errorf("%d chart dots, want 30 days on each of 5 charts", n)
	}
	tb.shot("21-analytics")
	tb.phone("22-analytics-phone")

	if st := tb.submit(`.presets a[href="/analytics?range=7d"]`); st != http.StatusOK {
		t.Fatalf("7 days: %d", st)
	}
	if c, r := kpis(); c != "2" || r != "$370.00" {
		t.Errorf("the last 7 days: %s conversions, revenue %q; want 2, $370.00", c, r)
	}
	tb.do("choose Spring", chromedp.SetValue(chromedp.ID("f-programId"), spring.ID))
	if st := tb.submit(`form.filters button[type=submit]`); st != http.StatusOK {
		t.Fatalf("filter by program: %d", st)
	}
	if c, r := kpis(); c != "1" || r != "$120.00" {
		t.Errorf("Spring in the last 7 days: %s conversions, revenue %q; want 1, $120.00", c, r)
	}
	if cur := tb.text(`.presets a[aria-current="true"]`); cur != "7 days" {
		t.Errorf("after filtering by program the range is %q, want 7 days kept", cur)
	}
	tb.open("/analytics")
	tb.submit(`#referrals-table thead a[href*="by=clicks"]`)
	if first := tb.text(`#referrals-table tbody tr:first-child th`); !strings.HasPrefix(first, "Jane Doe") {
		t.Errorf("by clicks the first referrer is %q, want Jane Doe (6 clicks)", first)
	}
	refs := string(tb.download(`a[data-csv="top-referrers"]`))
	if !strings.HasPrefix(refs, "referrerId,name,programId,partnerId,clicks,") || !strings.Contains(refs, jane.ID+",Jane Doe,"+spring.ID+",,6,") {
		t.Errorf("top referrers CSV:\n%s", refs)
	}
	series := string(tb.download(`a[data-csv="timeseries"]`))
	if lines := strings.Split(strings.TrimSpace(series), "\r\n"); len(lines) != 31 || !strings.HasPrefix(lines[0], "start,clicks,referrals,conversions") {
		t.Errorf("series CSV: %d lines, want a header and 30 days:\n%s", len(lines), series)
	}
	tb.check()

	// Partners → Analytics.
	if st := tb.submit(`nav a[href="/partners/analytics"]`); st != http.StatusOK {
		t.Fatalf("Partners → Analytics: %d", st)
	}
	if got := tb.text(`[data-kpi="Partner conversions"] .stat-value`); got != "1" {
		t.Errorf("partner conversions %q, want 1", got)
	}
	if got := tb.text(`[data-kpi="Deal value won"] .stat-value`); got != "$12,000.00" {
		t.Errorf("deal value won %q, want $12,000.00", got)
	}
	if got := tb.text(`#partners-table tbody th`); got != "Acme Resellers" {
		t.Errorf("partner table's first row %q", got)
	}
	tb.shot("23-partner-analytics")
	tb.phone("24-partner-analytics-phone")
	partners := string(tb.download(`a[data-csv="partners"]`))
	if !strings.Contains(partners, acme.ID+",Acme Resellers,"+gold.ID+",4,3,1,1,1,250.00,12000.00,25.00,") {
		t.Errorf("partners CSV:\n%s", partners)
	}
	tb.open("/")
	tb.shot("25-dashboard")
	tb.phone("26-dashboard-phone")
	tb.check()
	tb.submit(`form[action="/logout"] button`)

	// The partner's portal: its own chart.
	const email, password = "ada@acme.example", "a-long-partner-password"
	hash, err := identity.HashPassword(password)
	if err != nil {
		t.Fatal(err)
	}
	if err := s.App.Store.CreateUser(context.Background(), domain.User{ID: "usr_ada", OrgID: s.Org, Email: email, Name: "Ada",
		Role: domain.RolePartner, PartnerID: acme.ID, Status: domain.UserActive, PasswordHash: hash, CreatedAt: now, UpdatedAt: now}); err != nil {
		t.Fatal(err)
	}
	tb.signIn(email, password)
	if got := tb.text(`[data-kpi="Clicks"] .stat-value`); got != "4" {
		t.Errorf("the partner's clicks %q, want its own 4", got)
	}
	if got := tb.text(`[data-kpi="Earnings"] .stat-value`); got != "$25.00" {
		t.Errorf("the partner's earnings %q, want $25.00", got)
	}
	if !tb.has(`svg.chart-svg[data-chart="Earnings (USD)"]`) {
		t.Error("the portal has no earnings chart")
	}
	tb.shot("27-portal-overview")
	tb.phone("28-portal-overview-phone")
	tb.check()
}

// phone captures the page at a phone's 390 px as name, checks that it does
// not scroll sideways even at 360 px, and goes back to the desktop size.
func (tb *tab) phone(name string) {
	tb.t.Helper()
	tb.do("phone width", chromedp.EmulateViewport(390, 844, chromedp.EmulateScale(1)))
	tb.shot(name)
	tb.do("narrow phone width", chromedp.EmulateViewport(360, 780, chromedp.EmulateScale(1)))
	fits, err := chromedp.Run(tb.ctx, chromedp.Evaluate[bool]("document.documentElement.scrollWidth <= window.innerWidth"))
	if err != nil {
		tb.t.Fatal(err)
	}
	if !fits {
		wide, _ := chromedp.Run(tb.ctx, chromedp.Evaluate[string](`[...document.querySelectorAll("body *")].filter(e => e.getBoundingClientRect().right > window.innerWidth).slice(0, 5).map(e => e.tagName + "." + e.className).join(", ")`))
		tb.t.Errorf("%s scrolls sideways at 360 px; too wide: %s", name, wide)
	}
	tb.do("desktop width", chromedp.EmulateViewport(1280, 900))
}
