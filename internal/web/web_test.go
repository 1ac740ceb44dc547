package web_test

import (
	"context"
	"errors"
	"html"
	"net/http"
	"net/url"
	"regexp"
	"strings"
	"testing"

	"github.com/partnerloop/partnerloop/internal/apptest"
	"github.com/partnerloop/partnerloop/internal/domain"
	"github.com/partnerloop/partnerloop/internal/store"
	"github.com/partnerloop/partnerloop/internal/web"
)

// browser is a minimal cookie-keeping client of the whole app's handler
// (API paths to the API, the rest to the web UI), as a browser would be.
type browser struct {
	t       *testing.T
	h       http.Handler
	cookies map[string]*http.Cookie
	last    *apptest.Response
}

func newBrowser(t *testing.T, e *apptest.Env) *browser {
	return &browser{t: t, h: e.App.Handler(), cookies: map[string]*http.Cookie{}}
}

func (b *browser) do(method, path string, form url.Values) *apptest.Response {
	b.t.Helper()
	hdr := http.Header{}
	var parts []string
	for _, c := range b.cookies {
		parts = append(parts, c.Name+"="+c.Value)
	}
	if len(parts) > 0 {
		hdr.Set("Cookie", strings.Join(parts, "; "))
	}
	var body any
	if form != nil {
		body = form.Encode()
		hdr.Set("Content-Type", "application/x-www-form-urlencoded") // wins over apptest.Do's JSON
	}
	r := apptest.Do(b.t, b.h, method, path, "", body, hdr)
	for _, c := range (&http.Response{Header: r.Header}).Cookies() {
		if c.MaxAge < 0 {
			delete(b.cookies, c.Name)
		} else {
			b.cookies[c.Name] = c
		}
	}
	b.last = r
	return r
}

var csrfRe = regexp.MustCompile(`name="csrf" value="([^"]+)"`)

// csrf is the form token of the last page.
func (b *browser) csrf() string {
	b.t.Helper()
	m := csrfRe.FindSubmatch(b.last.Body)
	if m == nil {
		b.t.Fatalf("no CSRF token on the page:\n%s", b.last.Body)
	}
	return html.UnescapeString(string(m[1]))
}

// submit posts form from the page at page, with its CSRF token.
func (b *browser) submit(page, action string, form url.Values) *apptest.Response {
	b.t.Helper()
	b.do("GET", page, nil)
	form.Set("csrf", b.csrf())
	return b.do("POST", action, form)
}

func (b *browser) signIn(email, password string) {
	b.t.Helper()
	r := b.submit("/login", "/login", url.Values{"email": {email}, "password": {password}})
	if r.Status != http.StatusSeeOther {
		b.t.Fatalf("sign in: %d\n%s", r.Status, r.Body)
	}
}

// withSession is a browser already holding a session token.
func withSession(t *testing.T, e *apptest.Env, token string) *browser {
	b := newBrowser(t, e)
	b.cookies["pl_session"] = &http.Cookie{Name: "pl_session", Value: token}
	return b
}

func TestSignInSetsASecureCookieAndSignOutEndsTheSession(t *testing.T) {
	e := apptest.New(t)
	b := newBrowser(t, e)
	if r := b.do("GET", "/programs", nil); r.Status != http.StatusSeeOther || r.Header.Get("Location") != "/login?next=%2Fprograms" {
		t.Fatalf("signed out GET /programs: %d %s", r.Status, r.Header.Get("Location"))
	}
	b.do("GET", "/login?next=/programs", nil)
	r := b.submit("/login?next=/programs", "/login", url.Values{"email": {apptest.AdminEmail}, "password": {"wrong password"}, "next": {"/programs"}})
	if r.Status != http.StatusUnauthorized || !strings.Contains(string(r.Body), "not correct") {
		t.Fatalf("wrong password: %d\n%s", r.Status, r.Body)
	}
	r = b.submit("/login", "/login", url.Values{"email": {apptest.AdminEmail}, "password": {apptest.AdminPassword}, "next": {"/programs"}})
	if r.Status != http.StatusSeeOther || r.Header.Get("Location") != "/programs" {
		t.Fatalf("sign in: %d %s", r.Status, r.Header.Get("Location"))
	}
	c := b.cookies["pl_session"]
	if c == nil || !c.HttpOnly || !c.Secure || c.SameSite != http.SameSiteLaxMode || c.Path != "/" {
		t.Fatalf("session cookie %+v: want HttpOnly, Secure (https base URL), SameSite=Lax, Path=/", c)
	}
	if r := b.do("GET", "/", nil); r.Status != http.StatusOK || !strings.Contains(string(r.Body), "Dashboard") {
		t.Fatalf("dashboard: %d", r.Status)
	}
	// The same token is an API session: signing out ends it there too.
	token := c.Value
	if r := b.submit("/", "/logout", url.Values{}); r.Status != http.StatusSeeOther {
		t.Fatalf("sign out: %d", r.Status)
	}
	if r := e.Do(t, "GET", "/v1/me", token, nil); r.Status != http.StatusUnauthorized {
		t.Fatalf("after sign-out the session still works: %d", r.Status)
	}
	if r := b.do("GET", "/", nil); r.Status != http.StatusSeeOther {
		t.Fatalf("after sign-out: %d", r.Status)
	}
}

func TestFormsWithoutTheCSRFTokenAreRefused(t *testing.T) {
	e := apptest.New(t)
	b := withSession(t, e, e.AdminToken)
	b.do("GET", "/programs/new", nil)
	for _, token := range []string{"", "forged", csrfOf(t, b)[:10]} {
		r := b.do("POST", "/programs", url.Values{"csrf": {token}, "name": {"X"}})
		if r.Status != http.StatusForbidden {
			t.Errorf("csrf %q: %d, want 403", token, r.Status)
		}
	}
	// Sign-in needs the token of the pre-session cookie as well.
	anon := newBrowser(t, e)
	if r := anon.do("POST", "/login", url.Values{"email": {apptest.AdminEmail}, "password": {apptest.AdminPassword}}); r.Status != http.StatusForbidden {
		t.Errorf("login without token: %d, want 403", r.Status)
	}
	if ps, _, _ := e.App.Programs.List(context.Background(), e.OrgID, storePage()); len(ps) != 0 {
		t.Fatalf("a refused form created %d programs", len(ps))
	}
}

func csrfOf(t *testing.T, b *browser) string { return b.csrf() }

func TestSignInRedirectsOnlyToLocalPaths(t *testing.T) {
	for next, want := range map[string]string{
		"/programs?x=1": "/programs?x=1", "//evil.example": "", `/\evil.example`: "", "https://evil.example/": "",
		"/\t/evil.example": "", "programs": "", "": "", "/%2F%2Fevil": "/%2F%2Fevil",
	} {
		if got := web.SafeNext(next); got != want {
			t.Errorf("SafeNext(%q) = %q, want %q", next, got, want)
		}
	}
	e := apptest.New(t)
	b := newBrowser(t, e)
	r := b.submit("/login", "/login", url.Values{"email": {apptest.AdminEmail}, "password": {apptest.AdminPassword}, "next": {"//evil.example/x"}})
	if loc := r.Header.Get("Location"); loc != "/" {
		t.Fatalf("next=//evil.example/x redirected to %q", loc)
	}
}

func TestRolesSeeOnlyTheirPages(t *testing.T) {
	e := apptest.New(t)
	pm := withSession(t, e, e.NewUser(t, e.OrgID, domain.RoleProgramManager, ""))
	r := pm.do("GET", "/programs", nil)
	if r.Status != http.StatusOK {
		t.Fatalf("program manager /programs: %d", r.Status)
	}
	for _, hidden := range []string{`href="/partners"`, `href="/commissions"`, `href="/deals"`} {
		if strings.Contains(string(r.Body), hidden) {
			t.Errorf("program manager's navigation shows %s", hidden)
		}
	}
	for _, path := range []string{"/partners", "/partners/new", "/partner-tiers", "/commissions", "/commissions.csv", "/deals", "/deals.csv", "/partners.csv", "/portal"} {
		if r := pm.do("GET", path, nil); r.Status != http.StatusForbidden {
			t.Errorf("program manager GET %s: %d, want 403", path, r.Status)
		}
	}
	if r := pm.submit("/programs", "/commissions/bulk", url.Values{"action": {"approve"}, "ids": {"com_x"}}); r.Status != http.StatusForbidden {
		t.Errorf("program manager POST /commissions/bulk: %d, want 403", r.Status)
	}

	pt := withSession(t, e, e.NewUser(t, e.OrgID, domain.RolePartner, newPartner(t, e, "pt@example.com")))
	if r := pt.do("GET", "/", nil); r.Status != http.StatusSeeOther || r.Header.Get("Location") != "/portal" {
		t.Errorf("partner GET /: %d %s, want 303 /portal", r.Status, r.Header.Get("Location"))
	}
	if r := pt.do("GET", "/portal", nil); r.Status != http.StatusOK {
		t.Errorf("partner GET /portal: %d", r.Status)
	}
	for _, path := range []string{"/programs", "/referrals", "/partners", "/commissions"} {
		if r := pt.do("GET", path, nil); r.Status != http.StatusForbidden {
			t.Errorf("partner GET %s: %d, want 403", path, r.Status)
		}
	}

	// Another organization's program is not found, not forbidden.
	programID, _ := e.LiveProgram(t, e.AdminToken)
	other := withSession(t, e, e.NewUser(t, "org_other", domain.RoleAdmin, ""))
	if r := other.do("GET", "/programs/"+programID, nil); r.Status != http.StatusNotFound {
		t.Errorf("another org's program: %d, want 404", r.Status)
	}
}

func TestProgramFormShowsEachErrorNextToItsField(t *testing.T) {
	e := apptest.New(t)
	b := withSession(t, e, e.AdminToken)
	form := url.Values{
		"name": {"Tiered spring"}, "landingUrl": {"https://example.com/p"}, "currency": {"usd"}, "startsAt": {"2026-03-01"},
		"attributionWindowDays": {"30"}, "holdDays": {"0"}, "qualifyingEvents": {"purchase"},
		"commission.type": {"tiered"}, "commission.basis": {"count"}, "commission.period": {"month"}, "commission.mode": {"marginal"},
		"commission.tiers[0].upTo": {"10"}, "commission.tiers[0].rateBps": {"5"},
		"commission.tiers[2].upTo": {"5"}, "commission.tiers[2].rateBps": {"10"}, // row 1 left blank: dropped
	}
	r := b.submit("/programs/new", "/programs", form)
	if r.Status != http.StatusUnprocessableEntity {
		t.Fatalf("invalid tiers: %d\n%s", r.Status, r.Body)
	}
	body := string(r.Body)
	for _, want := range []string{
		`id="f-commission-tiers-1-upTo" name="commission.tiers[1].upTo" value="5"`,
		`aria-invalid="true" aria-describedby="f-commission-tiers-1-upTo-error"`,
		`<p class="error" id="f-commission-tiers-1-upTo-error">the last tier must be unbounded (no limit)</p>`,
		`value="Tiered spring"`, `value="USD"`,
	} {
		if !strings.Contains(body, want) {
			t.Errorf("the re-rendered form lacks %s", want)
		}
	}
	form.Del("commission.tiers[2].upTo")
	r = b.submit("/programs/new", "/programs", form)
	if r.Status != http.StatusSeeOther {
		t.Fatalf("fixed form: %d\n%s", r.Status, r.Body)
	}
	p, err := e.App.Programs.Get(context.Background(), e.OrgID, strings.TrimPrefix(r.Header.Get("Location"), "/programs/"))
	if err != nil {
		t.Fatal(err)
	}
	c := p.Commission
	if c.Type != "tiered" || len(c.Tiers) != 2 || *c.Tiers[0].UpTo != 10 || *c.Tiers[0].RateBps != 500 || c.Tiers[1].UpTo != nil || *c.Tiers[1].RateBps != 1000 {
		t.Fatalf("stored rule %+v", c)
	}
}

type fakeInvitations struct{ e *apptest.Env }

func (f fakeInvitations) AcceptInvitation(ctx context.Context, token, password, addr string) (string, domain.Session, domain.User, error) {
	switch {
	case token != "good":
		return "", domain.Session{}, domain.User{}, domain.Errorf(domain.KindGone, "invitation_gone", "the invitation is no longer valid")
	case len(password) < 12:
		return "", domain.Session{}, domain.User{}, &domain.Error{Kind: domain.KindInvalid, Code: "validation_failed",
			Message: "the request has invalid fields", Fields: []domain.FieldError{{Field: "password", Message: "must be at least 12 characters"}}}
	}
	return "", domain.Session{}, domain.User{}, errors.New("not reached in this test")
}

func TestAcceptInvitationPage(t *testing.T) {
	e := apptest.New(t)
	e.App.Web = web.New(web.Config{Identity: e.App.Identity}, web.AllGroups()...) // an installation that cannot send invitations
	b := newBrowser(t, e)
	if r := b.do("GET", "/accept-invitation?token=abc", nil); r.Status != http.StatusServiceUnavailable || !strings.Contains(string(r.Body), "not available") {
		t.Fatalf("without invitations: %d", r.Status)
	}
	e.App.Web = web.New(web.Config{Identity: e.App.Identity, Invitations: fakeInvitations{e}}, web.AllGroups()...)
	b = newBrowser(t, e)
	r := b.submit("/accept-invitation?token=good", "/accept-invitation", url.Values{"token": {"good"}, "password": {"short"}, "passwordConfirm": {"short"}})
	if r.Status != http.StatusUnprocessableEntity || !strings.Contains(string(r.Body), `id="f-password-error">must be at least 12 characters`) {
		t.Fatalf("weak password: %d\n%s", r.Status, r.Body)
	}
	r = b.submit("/accept-invitation?token=good", "/accept-invitation", url.Values{"token": {"good"}, "password": {"long enough password"}, "passwordConfirm": {"another one"}})
	if r.Status != http.StatusUnprocessableEntity || !strings.Contains(string(r.Body), "does not match") {
		t.Fatalf("mismatch: %d", r.Status)
	}
	r = b.submit("/accept-invitation?token=used", "/accept-invitation", url.Values{"token": {"used"}, "password": {"long enough password"}, "passwordConfirm": {"long enough password"}})
	if r.Status != http.StatusGone || !strings.Contains(string(r.Body), "expired or was already used") {
		t.Fatalf("used link: %d\n%s", r.Status, r.Body)
	}
}

func TestPagesForbidInlineScripts(t *testing.T) {
	e := apptest.New(t)
	e.RollUp(t)
	b := withSession(t, e, e.AdminToken)
	for _, path := range []string{"/", "/programs", "/programs/new", "/referrals", "/conversions", "/partners", "/partners/new", "/partner-tiers", "/commissions", "/login",
		"/analytics", "/partners/analytics", "/settings/organization"} {
		r := b.do("GET", path, nil)
		if r.Status != http.StatusOK && r.Status != http.StatusSeeOther {
			t.Errorf("GET %s: %d", path, r.Status)
			continue
		}
		if csp := r.Header.Get("Content-Security-Policy"); !strings.Contains(csp, "script-src 'self'") || strings.Contains(csp, "unsafe-inline") {
			t.Errorf("GET %s: CSP %q", path, csp)
		}
		if regexp.MustCompile(`<script(?:\s[^>]*)?>[^<]`).Match(r.Body) || strings.Contains(string(r.Body), " onclick=") {
			t.Errorf("GET %s has inline script", path)
		}
	}
}

func TestParseDecimal(t *testing.T) {
	for in, want := range map[string]int64{"12.5": 1250, "0.01": 1, "25": 2500, ".5": 50, "1,000.00": 100000} {
		if got, err := web.ParseDecimal(in, 2); err != nil || got != want {
			t.Errorf("ParseDecimal(%q) = %d, %v; want %d", in, got, err, want)
		}
	}
	for _, in := range []string{"", "1.234", "-1", "1e3", "abc", "99999999999999999999"} {
		if _, err := web.ParseDecimal(in, 2); err == nil {
			t.Errorf("ParseDecimal(%q) accepted", in)
		}
	}
}

func storePage() store.Page { return store.Page{Limit: 10} }

// TestRecurringRuleInTheProgramForm: the rule editor sets, shows and keeps
// recurring; a blank number of months is an error on its field, never
// "lifetime"; an edit that does not touch it keeps it.
func TestRecurringRuleInTheProgramForm(t *testing.T) {
	e := apptest.New(t)
	b := withSession(t, e, e.AdminToken)
	form := url.Values{
		"name": {"Subscriptions"}, "landingUrl": {"https://example.com/p"}, "currency": {"USD"}, "startsAt": {"2026-03-01"},
		"attributionWindowDays": {"30"}, "holdDays": {"0"}, "qualifyingEvents": {"purchase"},
		"commission.type": {"percentage"}, "commission.rateBps": {"20"}, "commission.recurring": {"months"}, "commission.recurring.months": {""},
	}
	r := b.submit("/programs/new", "/programs", form)
	if r.Status != http.StatusUnprocessableEntity || !strings.Contains(string(r.Body), `id="f-commission-recurring-months-error"`) {
		t.Fatalf("blank months: %d\n%s", r.Status, r.Body)
	}
	form.Set("commission.recurring.months", "12")
	r = b.submit("/programs/new", "/programs", form)
	if r.Status != http.StatusSeeOther {
		t.Fatalf("12 months: %d\n%s", r.Status, r.Body)
	}
	id := strings.TrimPrefix(r.Header.Get("Location"), "/programs/")
	p, err := e.App.Programs.Get(context.Background(), e.OrgID, id)
	if err != nil || p.Commission.Recurring == nil || p.Commission.Recurring.Months == nil || *p.Commission.Recurring.Months != 12 {
		t.Fatalf("stored rule %+v, %v", p.Commission.Recurring, err)
	}
	show := string(b.do("GET", "/programs/"+id, nil).Body)
	for _, want := range []string{"20% of the value; renewals for 12 months",
		`&lt;script src="https://refer.example.com/js/ref.js" data-window-days="30" async&gt;`} {
		if !strings.Contains(show, want) {
			t.Errorf("the program page lacks %s", want)
		}
	}
	edit := b.do("GET", "/programs/"+id+"/edit", nil)
	for _, want := range []string{`<option value="months" selected>`, `name="commission.recurring.months" type="text" value="12"`} {
		if !strings.Contains(string(edit.Body), want) {
			t.Errorf("the edit form lacks %s", want)
		}
	}
	form.Set("commission.recurring", "lifetime")
	if r := b.submit("/programs/"+id+"/edit", "/programs/"+id, form); r.Status != http.StatusSeeOther {
		t.Fatalf("lifetime: %d\n%s", r.Status, r.Body)
	}
	if p, _ = e.App.Programs.Get(context.Background(), e.OrgID, id); p.Commission.Recurring == nil || !p.Commission.Recurring.Lifetime() {
		t.Fatalf("after choosing lifetime: %+v", p.Commission.Recurring)
	}
}
