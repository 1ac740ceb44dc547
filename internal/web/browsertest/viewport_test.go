package browsertest

import (
	"context"
	"fmt"
	"net/http"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/chromedp/cdproto/emulation"
	"github.com/chromedp/chromedp"

	"github.com/partnerloop/partnerloop/internal/apptest"
	"github.com/partnerloop/partnerloop/internal/deals"
	"github.com/partnerloop/partnerloop/internal/demo"
	"github.com/partnerloop/partnerloop/internal/domain"
	"github.com/partnerloop/partnerloop/internal/identity"
	"github.com/partnerloop/partnerloop/internal/programs"
	"github.com/partnerloop/partnerloop/internal/store"
	"github.com/partnerloop/partnerloop/internal/web"
	"github.com/partnerloop/partnerloop/internal/webhooks"
)

// who signs in to see a page.
type who int

const (
	anonymous who = iota
	asAdmin
	asManager
	asPartner
)

// visit is how the viewport test opens one GET page of the web page table.
type visit struct {
	who  who
	path string // with the pattern's {id}s filled in; "" when not a page (skip says why)
	skip string // a download or an asset, not a page
}

// fixtures are the records whose pages the test opens.
type fixtures struct {
	program, partner, deal, portalDeal, inviteToken, payoutRun, webhook, tier string
}

// pageVisits lists every GET pattern of the web page table. A pattern
// added to the table and not listed here fails TestEveryPageFitsPhonesAndDesktops,
// so every new page is checked at both widths.
func pageVisits(f fixtures) map[string]visit {
	download := visit{skip: "a download, not a page"}
	return map[string]visit{
		"/assets/{file}":                 {skip: "static assets"},
		"/theme.css":                     {skip: "the brand colour's stylesheet"},
		"/login":                         {anonymous, "/login", ""},
		"/accept-invitation":             {anonymous, "/accept-invitation?token=" + f.inviteToken, ""},
		"/forgot-password":               {anonymous, "/forgot-password", ""},
		"/reset-password":                {anonymous, "/reset-password?token=" + f.inviteToken, ""},
		"/{$}":                           {asAdmin, "/", ""},
		"/programs":                      {asAdmin, "/programs", ""},
		"/programs/new":                  {asAdmin, "/programs/new", ""},
		"/programs/{id}":                 {asAdmin, "/programs/" + f.program, ""},
		"/programs/{id}/edit":            {asAdmin, "/programs/" + f.program + "/edit", ""},
		"/referrals":                     {asAdmin, "/referrals", ""},
		"/referrals.csv":                 download,
		"/referrers":                     {asManager, "/referrers", ""},
		"/referrers.csv":                 download,
		"/conversions":                   {asAdmin, "/conversions", ""},
		"/conversions.csv":               download,
		"/analytics":                     {asManager, "/analytics", ""},
		"/partners/analytics":            {asAdmin, "/partners/analytics", ""},
		"/analytics/summary.csv":         download,
		"/analytics/timeseries.csv":      download,
		"/analytics/top-referrers.csv":   download,
		"/analytics/partners.csv":        download,
		"/partners":                      {asAdmin, "/partners", ""},
		"/partners.csv":                  download,
		"/partners/new":                  {asAdmin, "/partners/new", ""},
		"/partners/{id}":                 {asAdmin, "/partners/" + f.partner, ""},
		"/partner-tiers":                 {asAdmin, "/partner-tiers", ""},
		"/partner-tiers/{id}":            {asAdmin, "/partner-tiers/" + f.tier, ""},
		"/partners/{id}/revoke":          {asAdmin, "/partners/" + f.partner + "/revoke", ""},
		"/deals":                         {asAdmin, "/deals", ""},
		"/deals.csv":                     download,
		"/deals/{id}":                    {asAdmin, "/deals/" + f.deal, ""},
		"/settings/users":                {asAdmin, "/settings/users", ""},
		"/settings/webhooks":             {asAdmin, "/settings/webhooks", ""},
		"/settings/webhooks/{id}":        {asAdmin, "/settings/webhooks/" + f.webhook, ""},
		"/settings/organization":         {asAdmin, "/settings/organization", ""},
		"/settings/api-keys":             {asAdmin, "/settings/api-keys", ""},
		"/commissions":                   {asAdmin, "/commissions", ""},
		"/commissions.csv":               download,
		"/portal":                        {asPartner, "/portal", ""},
		"/portal/links":                  {asPartner, "/portal/links", ""},
		"/portal/referrals":              {asPartner, "/portal/referrals", ""},
		"/portal/deals":                  {asPartner, "/portal/deals", ""},
		"/portal/deals/{id}":             {asPartner, "/portal/deals/" + f.portalDeal, ""},
		"/portal/earnings":               {asPartner, "/portal/earnings", ""},
		"/portal/statements/{file}":      download,
		"/js/{file}":                     {skip: "the landing-page snippet, a script"},
		"/logo/{org}/{version}":          {skip: "an organization's logo, an image (logo_test.go)"},
		"/payouts":                       {asAdmin, "/payouts", ""},
		"/payouts/{id}":                  {asAdmin, "/payouts/" + f.payoutRun, ""},
		"/payouts/{id}/export":           download,
		"/portal/payouts":                {asPartner, "/portal/payouts", ""},
		"(error) page not found, staff":  {asAdmin, "/no-such-page", ""},
		"(error) page not found, portal": {asPartner, "/portal/no-such-page", ""},
	}
}

var nonWord = regexp.MustCompile(`[^a-z0-9]+`)

// shotName is a page's screenshot name: "/programs/{id}/edit" → "programs-id-edit".
func shotName(pattern string) string {
	n := strings.Trim(nonWord.ReplaceAllString(strings.ToLower(pattern), "-"), "-")
	if n == "" {
		return "dashboard"
	}
	return n
}

// TestEveryPageFitsPhonesAndDesktops opens every page of the web page
// table — as the role that uses it, on a year of demo data — at 360 px
// and at 1280 px: the page never scrolls sideways, a table that is wider
// than a phone scrolls inside its card, and at 1280 px no table hides its
// last columns. It writes .artifacts/screenshots/<page>-<width>.png.
func TestEveryPageFitsPhonesAndDesktops(t *testing.T) {
	s := startSite(t)
	ctx := context.Background()
	res, err := demo.Load(ctx, s.App, s.Org, demo.Options{Clicks: 1500, Seed: 7})
	if err != nil {
		t.Fatal(err)
	}
	t.Logf("demo: %s", res)
	apptest.RollUp(t, s.App) // the analytics ticker's work
	f := loadFixtures(t, s, res)
	visits := pageVisits(f)

	// Every GET page of the table is listed (and nothing listed is stale).
	listed := map[string]bool{}
	for _, p := range s.App.Web.(*web.Server).Pages() {
		if p.Method != http.MethodGet {
			continue
		}
		listed[p.Pattern] = true
		if _, ok := visits[p.Pattern]; !ok {
			t.Errorf("page %s is not in pageVisits: add how to open it (who, with which record)", p.Pattern)
		}
	}
	for pattern := range visits {
		if !strings.HasPrefix(pattern, "(") && !listed[pattern] {
			t.Errorf("pageVisits lists %s, which the page table no longer has", pattern)
		}
	}

	tabs := map[who]*tab{}
	tabFor := func(w who) *tab {
		if tb, ok := tabs[w]; ok {
			return tb
		}
		tb := newTabWithin(t, s.URL, 6*time.Minute) // some 50 pages, each at two widths
		switch w {
		case asAdmin:
			tb.signIn(adminEmail, adminPassword)
		case asManager:
			tb.signIn(pmEmail, pmPassword)
		case asPartner:
			tb.signIn(res.PartnerEmail, res.PartnerPassword)
		}
		tabs[w] = tb
		return tb
	}
	for pattern, v := range visits {
		if v.skip != "" {
			continue
		}
		tb := tabFor(v.who)
		if strings.HasPrefix(pattern, "(error)") {
			tb.expectError(v.path)
		}
		for _, width := range []int64{360, 1280} {
			name := fmt.Sprintf("%s-%d", shotName(pattern), width)
			tb.do("viewport", chromedp.EmulateViewport(width, 800, chromedp.EmulateScale(1)))
			if st := tb.open(v.path); st >= 400 && !strings.HasPrefix(pattern, "(error)") {
				t.Errorf("%s: %d", v.path, st)
				continue
			}
			tb.shot(name)
			tb.checkFits(name, width)
		}
	}
	for _, tb := range tabs {
		tb.check()
	}
}

// checkFits fails when the page scrolls sideways, and at desktop widths
// when a table is cut off inside its card.
func (tb *tab) checkFits(name string, width int64) {
	tb.t.Helper()
	fits, err := chromedp.Run(tb.ctx, chromedp.Evaluate[bool]("document.scrollingElement.scrollWidth <= window.innerWidth"))
	if err != nil {
		tb.t.Fatal(err)
	}
	if !fits {
		wide, _ := chromedp.Run(tb.ctx, chromedp.Evaluate[string](`[...document.querySelectorAll("body *")].filter(e => { if (e.getBoundingClientRect().right <= innerWidth + 1) return false; for (let a = e.parentElement; a; a = a.parentElement) { if (getComputedStyle(a).overflowX !== "visible") return false; } return true; }).slice(0, 6).map(e => e.tagName + "." + e.className + "#" + e.id + " " + Math.round(e.getBoundingClientRect().right) + "px").join(", ")`))
		tb.t.Errorf("%s scrolls sideways; too wide: %s", name, wide)
	}
	if width < 1000 {
		return
	}
	cut, err := chromedp.Run(tb.ctx, chromedp.Evaluate[string](`[...document.querySelectorAll(".table-wrap")].filter(e => e.checkVisibility() && e.scrollWidth > e.clientWidth + 1).map(e => (e.querySelector("caption, th") || e).textContent.trim().slice(0, 40) + " (" + e.scrollWidth + " > " + e.clientWidth + ")").join("; ")`))
	if err != nil {
		tb.t.Fatal(err)
	}
	if cut != "" {
		tb.t.Errorf("%s: tables cut off at %d px: %s", name, width, cut)
	}
}

func loadFixtures(t *testing.T, s *site, res demo.Result) fixtures {
	t.Helper()
	ctx := context.Background()
	var f fixtures
	progs, _, err := s.App.Programs.List(ctx, s.Org, store.Page{Limit: 1})
	if err != nil || len(progs) == 0 {
		t.Fatalf("programs: %v", err)
	}
	f.program = progs[0].ID
	portalUser, err := s.App.Store.GetUserByEmail(ctx, res.PartnerEmail)
	if err != nil {
		t.Fatal(err)
	}
	f.partner = portalUser.PartnerID
	pt, err := s.App.Partners.Get(ctx, s.Org, f.partner)
	if err != nil {
		t.Fatal(err)
	}
	f.tier = pt.TierID
	addLongNames(t, s, f.program, f.tier)
	ds, _, err := s.App.Deals.List(ctx, s.Org, deals.Filter{}, store.Page{Limit: 100})
	if err != nil || len(ds) == 0 {
		t.Fatalf("deals: %v", err)
	}
	f.deal = ds[0].ID
	for _, d := range ds {
		if d.PartnerID == f.partner {
			f.portalDeal = d.ID
			break
		}
	}
	if f.portalDeal == "" {
		t.Fatal("the demo partner has no deal")
	}
	admin, err := s.App.Store.GetUserByEmail(ctx, adminEmail)
	if err != nil {
		t.Fatal(err)
	}
	p := identity.Principal{OrgID: s.Org, Role: domain.RoleAdmin, UserID: admin.ID, Email: admin.Email}
	run, err := s.App.API.Payouts.Create(ctx, s.Org, admin.ID) // from the demo's approved commissions
	if err != nil {
		t.Fatalf("payout run: %v", err)
	}
	f.payoutRun = run.ID
	url, events, desc := "https://hooks.example.com/partnerloop", []string{"commission.*", "deal.*"}, "Accounts payable"
	hook, err := s.App.Webhooks.Create(ctx, s.Org, webhooks.EndpointInput{URL: &url, Events: &events, Description: &desc})
	if err != nil {
		t.Fatalf("webhook endpoint: %v", err)
	}
	f.webhook = hook.ID
	const invitee = "new.manager@example.com"
	if _, _, err := s.App.Identity.InviteUser(ctx, p, invitee, "New Manager", domain.RoleProgramManager); err != nil {
		t.Fatal(err)
	}
	deadline := time.Now().Add(5 * time.Second)
	for f.inviteToken == "" && time.Now().Before(deadline) {
		for _, m := range s.App.Mailbox.Messages() {
			if strings.Contains(m.To, invitee) {
				f.inviteToken, _ = identity.InvitationToken(m.Text)
			}
		}
		time.Sleep(50 * time.Millisecond)
	}
	if f.inviteToken == "" {
		t.Fatal("no invitation in the mailbox")
	}
	return f
}

// addLongNames records a partner, its referrer and a deal with the long
// names and addresses real organizations have, so the pages show that they
// wrap such values (the deal is the newest: the deal page opened is its).
func addLongNames(t *testing.T, s *site, programID, tierID string) {
	t.Helper()
	ctx := context.Background()
	const (
		company = "Internationale Vertriebs- und Beratungsgesellschaft für Cloud-Software Rhein-Main GmbH & Co. KG"
		person  = "Maximilian-Alexander von Hohenberg-Schwarzenfels"
		email   = "maximilian-alexander.von-hohenberg-schwarzenfels@vertriebsgesellschaft-rhein-main.example"
	)
	p, err := s.App.Partners.Create(ctx, s.Org, domain.PartnerSpec{CompanyName: company, ContactName: person, Email: email, TierID: tierID})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := s.App.Programs.CreateReferrer(ctx, s.Org, programID, programs.ReferrerInput{Email: email, Name: person, PartnerID: p.ID}); err != nil {
		t.Fatal(err)
	}
	if _, err := s.App.Deals.Register(ctx, s.Org, "usr_pm", deals.NewDeal{PartnerID: p.ID,
		CustomerName:   "Bundesverband der mittelständischen Industrieunternehmen Nordrhein-Westfalen e.V.",
		CustomerDomain: "bundesverband-mittelstaendischer-industrieunternehmen-nrw.example",
		Value:          &domain.MoneyInput{Amount: 123456789, Currency: "EUR"}}); err != nil {
		t.Fatal(err)
	}
}

// TestPhoneMenu: at 360 px the navigation is one "Menu" button beside
// Sign out; it opens the whole menu, also with JavaScript switched off;
// the same for the partner portal's menu.
func TestPhoneMenu(t *testing.T) {
	s := startSite(t)
	tb := newTab(t, s.URL)
	tb.signIn(adminEmail, adminPassword)
	if _, err := chromedp.Call(tb.ctx, emulation.SetScriptExecutionDisabled, emulation.SetScriptExecutionDisabledParams{Value: true}); err != nil {
		t.Fatal(err)
	}
	tb.do("phone", chromedp.EmulateViewport(360, 780, chromedp.EmulateScale(1)))
	tb.open("/programs")
	visible := func(sel string) bool {
		ok, err := chromedp.Run(tb.ctx, chromedp.Evaluate[bool](fmt.Sprintf(`(() => { const e = document.querySelector(%q); if (!e) return false; const r = e.getBoundingClientRect(); return r.width > 0 && r.height > 0 && r.right <= innerWidth; })()`, sel)))
		if err != nil {
			t.Fatal(err)
		}
		return ok
	}
	if visible(`#nav-main a[href="/commissions"]`) {
		t.Error("the menu is open before it is asked for")
	}
	// menu checks the closed menu's button and Sign out, opens it, finds
	// every entry of paths whole on screen and follows the last one to its
	// page, headed heading.
	menu := func(who string, paths []string, heading string) {
		t.Helper()
		for _, sel := range []string{`label[for="nav-toggle"]`, `form[action="/logout"] button`} {
			if !visible(sel) {
				t.Errorf("%s: %s is not on screen at 360 px", who, sel)
			}
		}
		tb.do("open the menu", chromedp.Click(chromedp.CSS(`label[for="nav-toggle"]`)))
		for _, path := range paths {
			if !visible(`#nav-main a[href="` + path + `"]`) {
				t.Errorf("%s: the opened menu does not show %s whole", who, path)
			}
		}
		tb.shot(who + "-menu-open-360")
		tb.checkFits(who+"-menu-open-360", 360)
		tb.do("go to "+heading, chromedp.Click(chromedp.CSS(`#nav-main a[href="`+paths[len(paths)-1]+`"]`)))
		tb.do("wait", chromedp.WaitVisible(chromedp.CSS("h1")))
		if h := tb.text("h1"); h != heading {
			t.Errorf("%s: after choosing %s: %q", who, heading, h)
		}
		tb.check()
	}
	menu("staff", []string{"/settings/organization", "/commissions"}, "Commissions")

	// The portal's menu: every entry whole (the issue saw "Earnings" cut
	// to "E").
	tb.submit(`form[action="/logout"] button`)
	const email, password = "menu@acme.example", "a-long-portal-password-42"
	portalUser(t, s, "prt_menu", "Acme Menu GmbH", "Mia Menu", email, password)
	tb.signIn(email, password)
	menu("portal", []string{"/portal", "/portal/links", "/portal/referrals", "/portal/deals", "/portal/payouts", "/portal/earnings"}, "Earnings")
}

// portalUser records an active partner with a portal account that signs
// in with email and password.
func portalUser(t *testing.T, s *site, id, company, contact, email, password string) domain.Partner {
	t.Helper()
	ctx, now := context.Background(), time.Now().UTC()
	p := domain.Partner{ID: id, OrgID: s.Org, CompanyName: company, ContactName: contact, Email: email,
		TierID: "tie_none", Status: domain.PartnerActive, CreatedAt: now, UpdatedAt: now}
	if err := s.App.Store.CreatePartner(ctx, p); err != nil {
		t.Fatal(err)
	}
	hash, err := identity.HashPassword(password)
	if err != nil {
		t.Fatal(err)
	}
	if err := s.App.Store.CreateUser(ctx, domain.User{ID: domain.PortalUserID(p.ID), OrgID: s.Org, Email: email, Name: contact,
		Role: domain.RolePartner, PartnerID: p.ID, Status: domain.UserActive, PasswordHash: hash, CreatedAt: now, UpdatedAt: now}); err != nil {
		t.Fatal(err)
	}
	return p
}

// TestDesktopSidebarFitsALaptopScreen: at 1280×800 (a laptop's browser
// window) the whole staff menu and Sign out are on screen without
// scrolling the sidebar.
func TestDesktopSidebarFitsALaptopScreen(t *testing.T) {
	s := startSite(t)
	tb := newTab(t, s.URL)
	tb.signIn(adminEmail, adminPassword)
	tb.do("laptop", chromedp.EmulateViewport(1280, 800, chromedp.EmulateScale(1)))
	tb.open("/")
	over, err := chromedp.Run(tb.ctx, chromedp.Evaluate[float64](
		`document.querySelector('form[action="/logout"] button').getBoundingClientRect().bottom - innerHeight`))
	if err != nil {
		t.Fatal(err)
	}
	if over > 0 {
		t.Errorf("Sign out ends %.0f px below the bottom of a 1280×800 window: the sidebar has to be scrolled to reach it", over)
	}
	tb.shot("sidebar-laptop-1280x800")
}
