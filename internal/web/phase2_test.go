package web_test

import (
	"net/http"
	"net/url"
	"regexp"
	"strings"
	"testing"

	"github.com/partnerloop/partnerloop/internal/apptest"
	"github.com/partnerloop/partnerloop/internal/domain"
	"github.com/partnerloop/partnerloop/internal/partners"
	"github.com/partnerloop/partnerloop/internal/pipeline"
)

// newPartner creates a partner (and a tier for it) through the API.
func newPartner(t *testing.T, e *apptest.Env, email string) string {
	t.Helper()
	r := e.Do(t, "POST", "/v1/partner-tiers", e.AdminToken, map[string]any{
		"name": "Tier " + email, "commission": map[string]any{"type": "percentage", "rateBps": 1000}})
	if r.Status != http.StatusCreated {
		t.Fatalf("tier: %d %s", r.Status, r.Body)
	}
	r = e.Do(t, "POST", "/v1/partners", e.AdminToken, map[string]any{
		"companyName": "Co " + email, "contactName": "Pat Partner", "email": email, "tierId": r.String("id")})
	if r.Status != http.StatusCreated {
		t.Fatalf("partner: %d %s", r.Status, r.Body)
	}
	return r.String("id")
}

func body(r *apptest.Response) string { return string(r.Body) }

func TestPartnerPortalAccessCard(t *testing.T) {
	e := apptest.New(t)
	id := newPartner(t, e, "ada@acme.example")
	b := withSession(t, e, e.AdminToken)
	page := "/partners/" + id
	if r := b.do("GET", page, nil); r.Status != http.StatusOK || !strings.Contains(body(r), "Not invited") || !strings.Contains(body(r), "Invite to portal") {
		t.Fatalf("partner page before invite: %d\n%s", r.Status, r.Body)
	}
	// The form needs its CSRF token.
	if r := b.do("POST", page+"/invitation", url.Values{}); r.Status != http.StatusForbidden {
		t.Fatalf("invite without CSRF: %d", r.Status)
	}
	r := b.submit(page, page+"/invitation", url.Values{})
	if r.Status != http.StatusSeeOther || r.Header.Get("Location") != page {
		t.Fatalf("invite: %d %s\n%s", r.Status, r.Header.Get("Location"), r.Body)
	}
	r = b.do("GET", page, nil)
	for _, want := range []string{"Invitation sent to ada@acme.example.", "Invited, not accepted yet", "Resend invitation", "Revoke access"} {
		if !strings.Contains(body(r), want) {
			t.Errorf("after invite the partner page lacks %q", want)
		}
	}
	if e.LastInvitationToken(t, "ada@acme.example") == "" {
		t.Fatal("no invitation email")
	}
	// Revoking asks first, then ends the access.
	if r := b.do("GET", page+"/revoke", nil); r.Status != http.StatusOK || !strings.Contains(body(r), "Revoke portal access?") {
		t.Fatalf("revoke confirmation: %d", r.Status)
	}
	r = b.submit(page+"/revoke", page+"/revoke", url.Values{})
	if r.Status != http.StatusSeeOther {
		t.Fatalf("revoke: %d\n%s", r.Status, r.Body)
	}
	if r := b.do("GET", page, nil); !strings.Contains(body(r), "revoked") || !strings.Contains(body(r), "Resend invitation") {
		t.Errorf("after revoke:\n%s", r.Body)
	}
}

func TestSettingsUsersInvitesInternalUsers(t *testing.T) {
	e := apptest.New(t)
	b := withSession(t, e, e.AdminToken)
	r := b.submit("/settings/users", "/settings/users", url.Values{"name": {""}, "email": {"not-an-email"}, "role": {"partner"}})
	if r.Status != http.StatusUnprocessableEntity {
		t.Fatalf("bad invite: %d", r.Status)
	}
	for _, id := range []string{"f-name-error", "f-email-error", "f-role-error"} {
		if !strings.Contains(body(r), `id="`+id+`"`) {
			t.Errorf("no error next to %s", id)
		}
	}
	if !strings.Contains(body(r), `value="not-an-email"`) {
		t.Error("the typed email was not kept")
	}
	r = b.submit("/settings/users", "/settings/users", url.Values{"name": {"Mo Manager"}, "email": {"mo@example.com"}, "role": {"program_manager"}})
	if r.Status != http.StatusSeeOther {
		t.Fatalf("invite: %d\n%s", r.Status, r.Body)
	}
	r = b.do("GET", "/settings/users", nil)
	if !strings.Contains(body(r), "Invitation sent to mo@example.com.") || !strings.Contains(body(r), "Mo Manager") {
		t.Fatalf("users page after invite:\n%s", r.Body)
	}
	first := e.LastInvitationToken(t, "mo@example.com")
	var uid string
	if m := strings.Index(body(r), `/settings/users/usr_`); m >= 0 {
		rest := body(r)[m+len("/settings/users/"):]
		uid = rest[:strings.Index(rest, "/")]
	}
	if uid == "" {
		t.Fatal("no resend button")
	}
	if r := b.submit("/settings/users", "/settings/users/"+uid+"/invitation", url.Values{}); r.Status != http.StatusSeeOther {
		t.Fatalf("resend: %d\n%s", r.Status, r.Body)
	}
	if e.LastInvitationToken(t, "mo@example.com") == first {
		t.Error("resend sent no new link")
	}
	// The same email again is refused next to the field.
	r = b.submit("/settings/users", "/settings/users", url.Values{"name": {"Mo"}, "email": {"mo@example.com"}, "role": {"admin"}})
	if r.Status != http.StatusConflict || !strings.Contains(body(r), `id="f-email-error"`) {
		t.Fatalf("duplicate email: %d", r.Status)
	}
}

func TestDealsPipeline(t *testing.T) {
	e := apptest.New(t)
	a := newPartner(t, e, "a@example.com")
	b := withSession(t, e, e.AdminToken)
	// Validation errors are shown next to their fields.
	r := b.submit("/deals", "/deals", url.Values{"customerName": {""}, "customerDomain": {"globex.com"}, "value": {"12,0x"}, "partnerId": {a}})
	if r.Status != http.StatusUnprocessableEntity || !strings.Contains(body(r), `id="f-customerName-error"`) || !strings.Contains(body(r), `id="f-value-error"`) {
		t.Fatalf("invalid deal: %d\n%s", r.Status, r.Body)
	}
	// A partner's deal, then a direct deal on the same domain: a conflict.
	r = b.submit("/deals", "/deals", url.Values{"customerName": {"Globex"}, "customerDomain": {"globex.com"}, "value": {"12000"}, "partnerId": {a}})
	if r.Status != http.StatusSeeOther {
		t.Fatalf("partner deal: %d\n%s", r.Status, r.Body)
	}
	first := strings.TrimPrefix(r.Header.Get("Location"), "/deals/")
	r = b.submit("/deals", "/deals", url.Values{"customerName": {"Globex Corp"}, "customerDomain": {"www.globex.com"}, "value": {"9000.50"}})
	if r.Status != http.StatusSeeOther {
		t.Fatalf("direct deal: %d\n%s", r.Status, r.Body)
	}
	second := strings.TrimPrefix(r.Header.Get("Location"), "/deals/")
	r = b.do("GET", "/deals", nil)
	// The conflict names the other deal's customer and party, not its ID.
	for _, want := range []string{"Partner-sourced", "Direct", "Globex Corp", `href="/deals/` + first + `"`, "conflicts with", "Globex’s deal</a> registered by"} {
		if !strings.Contains(body(r), want) {
			t.Errorf("pipeline lacks %q", want)
		}
	}
	// Reject without a reason: the error is next to that deal's reason field.
	r = b.submit("/deals", "/deals/"+second+"/reject", url.Values{"reason": {""}, "return": {"/deals"}})
	if r.Status != http.StatusUnprocessableEntity || !strings.Contains(body(r), `id="reason-`+second+`-error"`) {
		t.Fatalf("reject without reason: %d\n%s", r.Status, r.Body)
	}
	if r := b.submit("/deals", "/deals/"+second+"/reject", url.Values{"reason": {"duplicate of the partner's"}}); r.Status != http.StatusSeeOther {
		t.Fatalf("reject: %d", r.Status)
	}
	if r := b.submit("/deals/"+first, "/deals/"+first+"/approve", url.Values{}); r.Status != http.StatusSeeOther {
		t.Fatalf("approve: %d", r.Status)
	}
	r = b.submit("/deals/"+first, "/deals/"+first+"/won", url.Values{"value": {"abc"}})
	if r.Status != http.StatusUnprocessableEntity || !strings.Contains(body(r), `id="value-`+first+`-error"`) {
		t.Fatalf("won with a bad value: %d\n%s", r.Status, r.Body)
	}
	if r := b.submit("/deals/"+first, "/deals/"+first+"/won", url.Values{"value": {"15000"}}); r.Status != http.StatusSeeOther {
		t.Fatalf("won: %d", r.Status)
	}
	if r := e.Do(t, "GET", "/v1/deals/"+first, e.AdminToken, nil); r.String("status") != "won" || !strings.Contains(body(r), `"amount":1500000`) {
		t.Fatalf("deal after won: %s", r.Body)
	}
	if r := b.do("POST", "/deals/"+first+"/lost", url.Values{}); r.Status != http.StatusForbidden {
		t.Errorf("action without CSRF: %d", r.Status)
	}

	// By stage: every stage with its count and value, linking to its list.
	page := body(b.do("GET", "/deals?source=partner", nil))
	for _, want := range []string{
		`<li data-stage="won"><a class="kpi" href="/deals?source=partner&amp;status=won">`,
		`<span class="stat-label">Won</span>
    <span class="stat-value">1</span>
    <span class="kpi-hint">$15,000.00</span>`,
		`<span class="stat-label">Rejected</span>
    <span class="stat-value">0</span>`, // the rejected deal is direct
	} {
		if !strings.Contains(squash(page), squash(want)) {
			t.Errorf("the partner deals by stage lack %q:\n%s", want, page)
		}
	}
	page = body(b.do("GET", "/deals?status=rejected", nil))
	if !strings.Contains(page, `<a class="kpi kpi-current" href="/deals" aria-current="true">`) || !strings.Contains(page, "$9,000.50") {
		t.Errorf("the rejected stage is not the current one, or lacks its value:\n%s", page)
	}

	// The won deal links to the commission it earned, and that list to the deal.
	if !strings.Contains(body(b.do("GET", "/deals/"+first, nil)), "No commission recorded yet") {
		t.Error("a won deal without its commission yet does not say so")
	}
	calc := pipeline.NewCalculator(e.App.Store.(pipeline.LedgerStore), e.Clock.Now, partners.NewRuleSource(e.App.Store))
	if err := calc.ReconcileDeal(t.Context(), e.OrgID, first); err != nil {
		t.Fatal(err)
	}
	page = body(b.do("GET", "/deals/"+first, nil))
	if !strings.Contains(page, `Commission: <a href="/commissions?dealId=`+first+`">$1,500.00 (pending)</a>`) {
		t.Fatalf("the won deal does not link to its commission:\n%s", page)
	}
	page = body(b.do("GET", "/commissions?dealId="+first, nil))
	for _, want := range []string{`The entries of the deal for <a href="/deals/` + first + `">Globex</a>`, "1 matching commission", `<a href="/deals/` + first + `">Deal: Globex</a>`,
		`href="/commissions.csv?dealId=` + first + `"`} {
		if !strings.Contains(page, want) {
			t.Errorf("the deal's commissions lack %q:\n%s", want, page)
		}
	}
	if strings.Contains(page, "Approve all matching") {
		t.Error("a deal's entries offer approve all matching, which has no deal filter")
	}
	r = b.do("GET", "/commissions.csv?dealId="+first, nil)
	if lines := strings.Split(strings.TrimSpace(body(r)), "\n"); r.Status != http.StatusOK || len(lines) != 2 || !strings.Contains(lines[1], "1500.00") {
		t.Errorf("the deal's CSV: %d\n%s", r.Status, r.Body)
	}
}

func TestPortalPagesAreThePartnersOwn(t *testing.T) {
	e := apptest.New(t)
	a, other := newPartner(t, e, "a@example.com"), newPartner(t, e, "b@example.com")
	pa := withSession(t, e, e.NewUser(t, e.OrgID, domain.RolePartner, a))
	// Another partner's deal.
	r := e.Do(t, "POST", "/v1/deals", e.AdminToken, map[string]any{"partnerId": other, "customerName": "Initech", "customerDomain": "initech.com", "value": 100000})
	if r.Status != http.StatusCreated {
		t.Fatalf("deal: %d %s", r.Status, r.Body)
	}
	theirs := r.String("id")
	if r := pa.do("GET", "/portal/deals/"+theirs, nil); r.Status != http.StatusNotFound {
		t.Errorf("another partner's deal: %d, want 404", r.Status)
	}
	for _, path := range []string{"/portal", "/portal/links", "/portal/referrals", "/portal/deals", "/portal/earnings"} {
		if r := pa.do("GET", path, nil); r.Status != http.StatusOK {
			t.Errorf("partner GET %s: %d", path, r.Status)
		}
	}
	if strings.Contains(body(pa.do("GET", "/portal/deals", nil)), "Initech") {
		t.Error("the portal lists another partner's deal")
	}
	for _, path := range []string{"/deals", "/settings/users", "/partners/" + a, "/partners/" + a + "/revoke"} {
		if r := pa.do("GET", path, nil); r.Status != http.StatusForbidden {
			t.Errorf("partner GET %s: %d, want 403", path, r.Status)
		}
	}
	// Registering: errors next to the fields, then a conflict shows as under review.
	r = pa.submit("/portal/deals", "/portal/deals", url.Values{"customerName": {"Initech"}, "customerDomain": {""}, "value": {"x"}})
	if r.Status != http.StatusUnprocessableEntity || !strings.Contains(body(r), `id="f-customerDomain-error"`) || !strings.Contains(body(r), `id="f-value-error"`) {
		t.Fatalf("invalid registration: %d\n%s", r.Status, r.Body)
	}
	r = pa.submit("/portal/deals", "/portal/deals", url.Values{"customerName": {"Initech"}, "customerDomain": {"initech.com"}, "value": {"2500"}, "partnerId": {other}})
	if r.Status != http.StatusSeeOther {
		t.Fatalf("register: %d\n%s", r.Status, r.Body)
	}
	r = pa.do("GET", "/portal/deals", nil)
	if !strings.Contains(body(r), "Under review") || strings.Contains(body(r), theirs) {
		t.Errorf("portal deals after a conflicting registration:\n%s", r.Body)
	}
	// Its page does not name the other party, its customer's name or its deal
	// either (the staff's deal page does).
	mine := regexp.MustCompile(`href="/portal/deals/([^"]+)"`).FindStringSubmatch(body(r))
	if mine == nil {
		t.Fatalf("no link to the registered deal:\n%s", r.Body)
	}
	page := body(pa.do("GET", "/portal/deals/"+mine[1], nil))
	for _, secret := range []string{theirs, "Co b@example.com", "b@example.com", "/deals/"} {
		if !strings.Contains(page, "Under review") || strings.Contains(page, secret) {
			t.Errorf("the portal's deal page in conflict shows %q (or is not under review):\n%s", secret, page)
		}
	}
	for _, path := range []string{"/deals.csv", "/partners.csv", "/commissions.csv", "/commissions?dealId=" + theirs} {
		if r := pa.do("GET", path, nil); r.Status != http.StatusForbidden {
			t.Errorf("partner GET %s: %d, want 403", path, r.Status)
		}
	}
	if r := e.Do(t, "GET", "/v1/deals?partnerId="+a, e.AdminToken, nil); len(r.Items()) != 1 {
		t.Errorf("the registration is not the session partner's: %s", r.Body)
	}
	// Statements download with their file names.
	month := e.Clock.Now().UTC().Format("2006-01")
	for _, ext := range []string{"csv", "pdf"} {
		r := pa.do("GET", "/portal/statements/"+month+"."+ext, nil)
		if r.Status != http.StatusOK || !strings.Contains(r.Header.Get("Content-Disposition"), "attachment; filename=") {
			t.Errorf("statement %s: %d %q", ext, r.Status, r.Header.Get("Content-Disposition"))
		}
	}
	if r := pa.do("GET", "/portal/statements/"+month+".exe", nil); r.Status != http.StatusNotFound {
		t.Errorf("statement .exe: %d", r.Status)
	}
	// Staff do not use the portal.
	adm := withSession(t, e, e.AdminToken)
	if r := adm.do("GET", "/portal/earnings", nil); r.Status != http.StatusForbidden {
		t.Errorf("admin GET /portal/earnings: %d", r.Status)
	}
}

func TestProgramManagerCannotUseAdminPages(t *testing.T) {
	e := apptest.New(t)
	id := newPartner(t, e, "a@example.com")
	pm := withSession(t, e, e.NewUser(t, e.OrgID, domain.RoleProgramManager, ""))
	for _, path := range []string{"/deals", "/settings/users", "/partners/" + id, "/partners/" + id + "/revoke", "/portal/links"} {
		if r := pm.do("GET", path, nil); r.Status != http.StatusForbidden {
			t.Errorf("program manager GET %s: %d, want 403", path, r.Status)
		}
	}
	for _, path := range []string{"/deals", "/settings/users", "/partners/" + id + "/invitation", "/partners/" + id + "/revoke"} {
		if r := pm.submit("/programs", path, url.Values{}); r.Status != http.StatusForbidden {
			t.Errorf("program manager POST %s: %d, want 403", path, r.Status)
		}
	}
}

func TestRefundFromTheConversionsPage(t *testing.T) {
	e := apptest.New(t)
	_, code := e.LiveProgram(t, e.AdminToken)
	r := e.Do(t, "POST", "/v1/conversions", e.AdminToken, map[string]any{
		"code": code, "email": "buyer@example.org", "event": "purchase", "amount": 5000, "externalId": "order-77"})
	if r.Status != http.StatusCreated {
		t.Fatalf("conversion: %d %s", r.Status, r.Body)
	}
	id := r.String("id")
	b := withSession(t, e, e.AdminToken)
	if page := body(b.do("GET", "/conversions", nil)); !strings.Contains(page, `action="/conversions/`+id+`/refund"`) {
		t.Fatal("no refund form on the conversions page")
	}
	// A bad amount is shown next to the field; too much is refused by the ledger.
	if r := b.submit("/conversions", "/conversions/"+id+"/refund", url.Values{"amount": {"ten"}}); r.Status != http.StatusUnprocessableEntity ||
		!strings.Contains(body(r), `id="refund-`+id+`-error"`) {
		t.Fatalf("bad amount: %d", r.Status)
	}
	if r := b.submit("/conversions", "/conversions/"+id+"/refund", url.Values{"amount": {"60.00"}}); r.Status != http.StatusUnprocessableEntity {
		t.Fatalf("refund over the value: %d", r.Status)
	}
	if r := b.submit("/conversions", "/conversions/"+id+"/refund", url.Values{"amount": {"10.50"}, "return": {"/conversions"}}); r.Status != http.StatusSeeOther {
		t.Fatalf("refund: %d\n%s", r.Status, r.Body)
	}
	if got := e.Do(t, "GET", "/v1/conversions/"+id, e.AdminToken, nil).JSON()["refundedAmount"].(map[string]any)["amount"]; got != 1050.0 {
		t.Errorf("refunded %v, want 1050", got)
	}
	// Program managers see conversions but do not refund.
	pm := withSession(t, e, e.NewUser(t, e.OrgID, domain.RoleProgramManager, ""))
	if page := body(pm.do("GET", "/conversions", nil)); strings.Contains(page, "/refund") {
		t.Error("a program manager is offered refunds")
	}
	if r := pm.submit("/conversions", "/conversions/"+id+"/refund", url.Values{}); r.Status != http.StatusForbidden {
		t.Errorf("a program manager's refund: %d, want 403", r.Status)
	}
}
