package httpapi_test

import (
	"net/http"
	"slices"
	"testing"
	"time"

	"github.com/partnerloop/partnerloop/internal/apptest"
	"github.com/partnerloop/partnerloop/internal/domain"
	"github.com/partnerloop/partnerloop/internal/partners"
	"github.com/partnerloop/partnerloop/internal/pipeline"
)

func tierBody(name string) map[string]any {
	return map[string]any{"name": name, "commission": map[string]any{"type": "percentage", "rateBps": 1500}, "holdDays": 45}
}

func partnerBody(tierID, email string) map[string]any {
	return map[string]any{
		"companyName": "Acme Resellers", "contactName": "Ada Lovelace", "email": email, "tierId": tierID,
		"agreements": []map[string]any{
			{"name": "Reseller agreement", "signedAt": "2026-01-15T10:00:00Z", "url": "https://docs.example.com/reseller.pdf"},
			{"name": "NDA", "signedAt": "2026-01-10T10:00:00Z"},
		},
	}
}

func mustCreate(t *testing.T, e *apptest.Env, path, token string, body any) map[string]any {
	t.Helper()
	r := e.Do(t, "POST", path, token, body)
	wantStatus(t, r, http.StatusCreated)
	return r.JSON()
}

func partnerItemIDs(r *apptest.Response) []string {
	var ids []string
	for _, it := range r.Items() {
		ids = append(ids, it["id"].(string))
	}
	return ids
}

func wantFields(t *testing.T, p map[string]any, want ...string) {
	t.Helper()
	got := fieldErrors(p)
	for _, f := range want {
		if !slices.Contains(got, f) {
			t.Errorf("field errors %v lack %q", got, f)
		}
	}
}

func TestPartnerTiers(t *testing.T) {
	e := apptest.New(t)
	tok := e.AdminToken

	gold := mustCreate(t, e, "/v1/partner-tiers", tok, tierBody("Gold"))
	if gold["name"] != "Gold" || gold["holdDays"] != float64(45) || gold["organizationId"] != e.OrgID {
		t.Fatalf("tier = %v", gold)
	}
	if rv, _ := gold["ruleVersions"].([]any); len(rv) != 1 {
		t.Fatalf("ruleVersions = %v, want one version", gold["ruleVersions"])
	}
	silver := tierBody("Silver")
	delete(silver, "holdDays")
	s := mustCreate(t, e, "/v1/partner-tiers", tok, silver)
	if s["holdDays"] != nil {
		t.Fatalf("holdDays = %v, want null (the program's)", s["holdDays"])
	}

	r := e.Do(t, "GET", "/v1/partner-tiers", tok, nil)
	wantStatus(t, r, http.StatusOK)
	if got, want := partnerItemIDs(r), []string{s["id"].(string), gold["id"].(string)}; !slices.Equal(got, want) {
		t.Fatalf("tiers %v, want %v (newest first)", got, want)
	}
	r = e.Do(t, "GET", "/v1/partner-tiers?limit=1", tok, nil)
	wantStatus(t, r, http.StatusOK)
	if len(r.Items()) != 1 || r.String("nextCursor") == "" {
		t.Fatalf("first page of one: %s", r.Body)
	}

	// Validation: every problem at once.
	p := wantProblem(t, e.Do(t, "POST", "/v1/partner-tiers", tok, map[string]any{"holdDays": -1}), http.StatusUnprocessableEntity, "validation_failed")
	wantFields(t, p, "name", "commission", "holdDays")
	p = wantProblem(t, e.Do(t, "POST", "/v1/partner-tiers", tok, map[string]any{
		"name": "Bad", "commission": map[string]any{"type": "percentage", "rateBps": 20000}}), http.StatusUnprocessableEntity, "")
	wantFields(t, p, "commission.rateBps")
	wantProblem(t, e.Do(t, "POST", "/v1/partner-tiers", tok, `{"name":`), http.StatusBadRequest, "")

	// Admin only, and per organization.
	pm := e.NewUser(t, e.OrgID, domain.RoleProgramManager, "")
	wantProblem(t, e.Do(t, "GET", "/v1/partner-tiers", pm, nil), http.StatusForbidden, "")
	wantProblem(t, e.Do(t, "POST", "/v1/partner-tiers", pm, tierBody("PM")), http.StatusForbidden, "")
	other := e.NewUser(t, "org_other", domain.RoleAdmin, "")
	r = e.Do(t, "GET", "/v1/partner-tiers", other, nil)
	wantStatus(t, r, http.StatusOK)
	if len(r.Items()) != 0 {
		t.Fatalf("another organization lists %s", r.Body)
	}
}

func TestPartnersCreateListGet(t *testing.T) {
	e := apptest.New(t)
	tok := e.AdminToken
	gold := mustCreate(t, e, "/v1/partner-tiers", tok, tierBody("Gold"))["id"].(string)
	silver := mustCreate(t, e, "/v1/partner-tiers", tok, tierBody("Silver"))["id"].(string)

	r := e.Do(t, "POST", "/v1/partners", tok, partnerBody(gold, " Ada@Example.COM "))
	wantStatus(t, r, http.StatusCreated)
	a := r.JSON()
	id := a["id"].(string)
	if loc := r.Header.Get("Location"); loc != "/v1/partners/"+id {
		t.Fatalf("Location = %q", loc)
	}
	if a["email"] != "ada@example.com" || a["status"] != "active" || a["tierId"] != gold || a["commission"] != nil {
		t.Fatalf("partner = %s", r.Body)
	}
	ags, _ := a["agreements"].([]any)
	if len(ags) != 2 || ags[0].(map[string]any)["url"] != "https://docs.example.com/reseller.pdf" {
		t.Fatalf("agreements = %v", a["agreements"])
	}
	if _, ok := ags[1].(map[string]any)["url"]; ok {
		t.Fatalf("an agreement without url shows one: %v", ags[1])
	}

	// The same address (in any case) is taken in the organization.
	p := wantProblem(t, e.Do(t, "POST", "/v1/partners", tok, partnerBody(silver, "ADA@example.com")), http.StatusConflict, "partner_exists")
	wantFields(t, p, "email")

	b := mustCreate(t, e, "/v1/partners", tok, partnerBody(silver, "bob@example.com"))["id"].(string)
	c := mustCreate(t, e, "/v1/partners", tok, partnerBody(gold, "cy@example.com"))["id"].(string)

	r = e.Do(t, "GET", "/v1/partners/"+id, tok, nil)
	wantStatus(t, r, http.StatusOK)
	if r.String("id") != id || r.String("companyName") != "Acme Resellers" {
		t.Fatalf("get = %s", r.Body)
	}

	r = e.Do(t, "GET", "/v1/partners", tok, nil)
	wantStatus(t, r, http.StatusOK)
	if got, want := partnerItemIDs(r), []string{c, b, id}; !slices.Equal(got, want) {
		t.Fatalf("partners %v, want %v", got, want)
	}
	r = e.Do(t, "GET", "/v1/partners?tierId="+gold, tok, nil)
	wantStatus(t, r, http.StatusOK)
	if got, want := partnerItemIDs(r), []string{c, id}; !slices.Equal(got, want) {
		t.Fatalf("gold partners %v, want %v", got, want)
	}
	// Pages of one, following the cursor, filtered.
	var paged []string
	path := "/v1/partners?tierId=" + gold + "&limit=1"
	for range 5 {
		r = e.Do(t, "GET", path, tok, nil)
		wantStatus(t, r, http.StatusOK)
		paged = append(paged, partnerItemIDs(r)...)
		next := r.String("nextCursor")
		if next == "" {
			break
		}
		path = "/v1/partners?tierId=" + gold + "&limit=1&cursor=" + next
	}
	if want := []string{c, id}; !slices.Equal(paged, want) {
		t.Fatalf("paged gold partners %v, want %v", paged, want)
	}
	wantProblem(t, e.Do(t, "GET", "/v1/partners?cursor=made-up", tok, nil), http.StatusBadRequest, "")

	pm := e.NewUser(t, e.OrgID, domain.RoleProgramManager, "")
	wantProblem(t, e.Do(t, "GET", "/v1/partners", pm, nil), http.StatusForbidden, "")
	wantProblem(t, e.Do(t, "POST", "/v1/partners", pm, partnerBody(gold, "pm@example.com")), http.StatusForbidden, "")
	wantProblem(t, e.Do(t, "GET", "/v1/partners", "", nil), http.StatusUnauthorized, "")
}

func TestPartnerValidation(t *testing.T) {
	e := apptest.New(t)
	tok := e.AdminToken
	gold := mustCreate(t, e, "/v1/partner-tiers", tok, tierBody("Gold"))["id"].(string)

	p := wantProblem(t, e.Do(t, "POST", "/v1/partners", tok, map[string]any{}), http.StatusUnprocessableEntity, "validation_failed")
	wantFields(t, p, "companyName", "contactName", "email", "tierId")

	long := make([]byte, 201)
	for i := range long {
		long[i] = 'x'
	}
	bad := partnerBody(gold, "not-an-email")
	bad["companyName"] = string(long)
	bad["contactName"] = "  "
	bad["agreements"] = []map[string]any{{"name": "", "url": "ftp://example.com/a"}}
	bad["commission"] = map[string]any{"type": "flat"}
	p = wantProblem(t, e.Do(t, "POST", "/v1/partners", tok, bad), http.StatusUnprocessableEntity, "")
	wantFields(t, p, "companyName", "contactName", "email", "agreements[0].name", "agreements[0].signedAt", "agreements[0].url", "commission.amount")

	p = wantProblem(t, e.Do(t, "POST", "/v1/partners", tok, partnerBody("tir_unknown", "x@example.com")), http.StatusUnprocessableEntity, "")
	wantFields(t, p, "tierId")
	// Another organization's tier is just as unknown.
	other := e.NewUser(t, "org_other", domain.RoleAdmin, "")
	foreignTier := mustCreate(t, e, "/v1/partner-tiers", other, tierBody("Theirs"))["id"].(string)
	p = wantProblem(t, e.Do(t, "POST", "/v1/partners", tok, partnerBody(foreignTier, "x@example.com")), http.StatusUnprocessableEntity, "")
	wantFields(t, p, "tierId")

	wantProblem(t, e.Do(t, "POST", "/v1/partners", tok, `{"email": 5}`), http.StatusBadRequest, "")
}

func TestPartnerPatch(t *testing.T) {
	e := apptest.New(t)
	tok := e.AdminToken
	gold := mustCreate(t, e, "/v1/partner-tiers", tok, tierBody("Gold"))["id"].(string)
	silver := mustCreate(t, e, "/v1/partner-tiers", tok, tierBody("Silver"))["id"].(string)
	id := mustCreate(t, e, "/v1/partners", tok, partnerBody(gold, "ada@example.com"))["id"].(string)
	mustCreate(t, e, "/v1/partners", tok, partnerBody(gold, "bob@example.com"))

	e.Clock.Advance(time.Hour)
	r := e.Do(t, "PATCH", "/v1/partners/"+id, tok, map[string]any{
		"contactName": "Grace Hopper", "tierId": silver, "commission": map[string]any{"type": "flat", "amount": 5000},
	})
	wantStatus(t, r, http.StatusOK)
	got := r.JSON()
	if got["contactName"] != "Grace Hopper" || got["companyName"] != "Acme Resellers" || got["tierId"] != silver ||
		got["email"] != "ada@example.com" || got["revision"] != float64(1) {
		t.Fatalf("patched = %s", r.Body)
	}
	if rv, _ := got["ruleVersions"].([]any); len(rv) != 2 || rv[0].(map[string]any)["rule"] != nil || rv[1].(map[string]any)["rule"] == nil {
		t.Fatalf("ruleVersions = %v, want no rule then the flat rule", got["ruleVersions"])
	}
	if ags, _ := got["agreements"].([]any); len(ags) != 2 {
		t.Fatalf("agreements changed: %v", got["agreements"])
	}

	// Removing the rule is a version too; the same rule again is not.
	r = e.Do(t, "PATCH", "/v1/partners/"+id, tok, map[string]any{"commission": nil, "agreements": []any{}})
	wantStatus(t, r, http.StatusOK)
	got = r.JSON()
	if rv, _ := got["ruleVersions"].([]any); got["commission"] != nil || len(rv) != 3 {
		t.Fatalf("after removing the rule: %s", r.Body)
	}
	if ags, _ := got["agreements"].([]any); len(ags) != 0 {
		t.Fatalf("agreements = %v, want none", got["agreements"])
	}
	r = e.Do(t, "PATCH", "/v1/partners/"+id, tok, map[string]any{"companyName": "Acme Two"})
	wantStatus(t, r, http.StatusOK)
	if rv, _ := r.JSON()["ruleVersions"].([]any); len(rv) != 3 {
		t.Fatalf("an edit without a rule change added a version: %s", r.Body)
	}

	// The tier filter follows the move.
	r = e.Do(t, "GET", "/v1/partners?tierId="+silver, tok, nil)
	wantStatus(t, r, http.StatusOK)
	if got := partnerItemIDs(r); !slices.Equal(got, []string{id}) {
		t.Fatalf("silver partners %v", got)
	}

	// Email: another partner's is a conflict; a free one moves.
	p := wantProblem(t, e.Do(t, "PATCH", "/v1/partners/"+id, tok, map[string]any{"email": "BOB@example.com"}), http.StatusConflict, "partner_exists")
	wantFields(t, p, "email")
	r = e.Do(t, "PATCH", "/v1/partners/"+id, tok, map[string]any{"email": "ada.new@example.com"})
	wantStatus(t, r, http.StatusOK)
	mustCreate(t, e, "/v1/partners", tok, partnerBody(gold, "ada@example.com")) // the old address is free again

	// Validation.
	p = wantProblem(t, e.Do(t, "PATCH", "/v1/partners/"+id, tok, map[string]any{
		"companyName": nil, "email": "nope", "tierId": "tir_unknown",
		"agreements": []map[string]any{{"name": "x", "signedAt": "2026-01-01T00:00:00Z", "url": "javascript:alert(1)"}},
	}), http.StatusUnprocessableEntity, "")
	wantFields(t, p, "companyName", "email", "agreements[0].url")
	p = wantProblem(t, e.Do(t, "PATCH", "/v1/partners/"+id, tok, map[string]any{"tierId": "tir_unknown"}), http.StatusUnprocessableEntity, "")
	wantFields(t, p, "tierId")

	wantProblem(t, e.Do(t, "PATCH", "/v1/partners/prt_unknown", tok, map[string]any{"companyName": "X"}), http.StatusNotFound, "not_found")
}

func TestPartnersTenancy(t *testing.T) {
	e := apptest.New(t)
	tok := e.AdminToken
	gold := mustCreate(t, e, "/v1/partner-tiers", tok, tierBody("Gold"))["id"].(string)
	id := mustCreate(t, e, "/v1/partners", tok, partnerBody(gold, "ada@example.com"))["id"].(string)

	other := e.NewUser(t, "org_other", domain.RoleAdmin, "")
	wantProblem(t, e.Do(t, "GET", "/v1/partners/"+id, other, nil), http.StatusNotFound, "not_found")
	wantProblem(t, e.Do(t, "PATCH", "/v1/partners/"+id, other, map[string]any{"companyName": "Hijacked"}), http.StatusNotFound, "not_found")
	r := e.Do(t, "GET", "/v1/partners", other, nil)
	wantStatus(t, r, http.StatusOK)
	if len(r.Items()) != 0 {
		t.Fatalf("another organization lists %s", r.Body)
	}
	r = e.Do(t, "GET", "/v1/partners?tierId="+gold, other, nil)
	wantStatus(t, r, http.StatusOK)
	if len(r.Items()) != 0 {
		t.Fatalf("another organization lists by our tier: %s", r.Body)
	}
	// The same address is free in another organization.
	theirs := mustCreate(t, e, "/v1/partner-tiers", other, tierBody("Theirs"))["id"].(string)
	mustCreate(t, e, "/v1/partners", other, partnerBody(theirs, "ada@example.com"))

	r = e.Do(t, "GET", "/v1/partners/"+id, tok, nil)
	wantStatus(t, r, http.StatusOK)
	if r.String("companyName") != "Acme Resellers" {
		t.Fatalf("changed by another organization: %s", r.Body)
	}
}

func TestReferrerPartnerID(t *testing.T) {
	e := apptest.New(t)
	tok := e.AdminToken
	programID, _ := e.LiveProgram(t, tok)
	gold := mustCreate(t, e, "/v1/partner-tiers", tok, tierBody("Gold"))["id"].(string)
	partnerID := mustCreate(t, e, "/v1/partners", tok, partnerBody(gold, "ada@example.com"))["id"].(string)

	path := "/v1/programs/" + programID + "/referrers"
	p := wantProblem(t, e.Do(t, "POST", path, tok, map[string]any{"email": "x@example.com", "name": "X", "partnerId": "prt_unknown"}),
		http.StatusUnprocessableEntity, "")
	wantFields(t, p, "partnerId")

	other := e.NewUser(t, "org_other", domain.RoleAdmin, "")
	theirTier := mustCreate(t, e, "/v1/partner-tiers", other, tierBody("Theirs"))["id"].(string)
	theirs := mustCreate(t, e, "/v1/partners", other, partnerBody(theirTier, "z@example.com"))["id"].(string)
	p = wantProblem(t, e.Do(t, "POST", path, tok, map[string]any{"email": "y@example.com", "name": "Y", "partnerId": theirs}),
		http.StatusUnprocessableEntity, "")
	wantFields(t, p, "partnerId")

	r := e.Do(t, "POST", path, tok, map[string]any{"email": "rep@example.com", "name": "Rep", "partnerId": partnerID})
	wantStatus(t, r, http.StatusCreated)
	if r.String("partnerId") != partnerID {
		t.Fatalf("referrer = %s", r.Body)
	}
	r = e.Do(t, "GET", "/v1/referrers/"+r.String("id"), tok, nil)
	wantStatus(t, r, http.StatusOK)
	if r.String("partnerId") != partnerID {
		t.Fatalf("stored referrer = %s", r.Body)
	}
}

// TestPartnerRulesPriceConversions: a conversion credited to a partner's
// referrer is priced by the partner's own rule, else its tier's, with the
// tier's hold period (COMMISSIONS.md, "Which rule applies").
func TestPartnerRulesPriceConversions(t *testing.T) {
	e := apptest.New(t)
	tok := e.AdminToken
	key := e.APIKey(t, tok)
	programID, _ := e.LiveProgram(t, tok)                                               // 10 %, hold 30 days
	tier := mustCreate(t, e, "/v1/partner-tiers", tok, tierBody("Gold"))["id"].(string) // 15 %, hold 45 days
	plain := mustCreate(t, e, "/v1/partners", tok, partnerBody(tier, "plain@example.com"))["id"].(string)
	own := partnerBody(tier, "own@example.com")
	own["commission"] = map[string]any{"type": "flat", "amount": 5000}
	withRule := mustCreate(t, e, "/v1/partners", tok, own)["id"].(string)

	ls, ok := e.App.Store.(pipeline.LedgerStore)
	if !ok {
		t.Fatal("the store has no ledger")
	}
	calc := pipeline.NewCalculator(ls, e.Clock.Now, partners.NewRuleSource(e.App.Store))
	price := func(partnerID, email string) map[string]any {
		t.Helper()
		code := mustCreate(t, e, "/v1/programs/"+programID+"/referrers", tok,
			map[string]any{"email": email, "name": "Rep", "partnerId": partnerID})["code"].(string)
		r := e.Do(t, "POST", "/v1/conversions", key, map[string]any{
			"code": code, "email": "buyer-" + email, "event": "purchase", "amount": 10000, "externalId": "order-" + email})
		wantStatus(t, r, http.StatusCreated)
		if err := calc.ReconcileConversion(t.Context(), e.OrgID, r.String("id")); err != nil {
			t.Fatal(err)
		}
		for _, c := range e.Do(t, "GET", "/v1/commissions?partnerId="+partnerID, tok, nil).Items() {
			if c["conversionId"] == r.String("id") {
				return c
			}
		}
		t.Fatalf("no commission for the conversion of %s", email)
		return nil
	}
	holdEnd := func(days int) string { return apptest.Start.AddDate(0, 0, days).Format(time.RFC3339) }

	c := price(plain, "rep1@example.com")
	if c["amount"].(map[string]any)["amount"] != 1500.0 || c["ruleSource"] != "tier" || c["availableAt"] != holdEnd(45) {
		t.Fatalf("tier-priced commission = %v", c)
	}
	c = price(withRule, "rep2@example.com")
	if c["amount"].(map[string]any)["amount"] != 5000.0 || c["ruleSource"] != "partner" || c["availableAt"] != holdEnd(45) {
		t.Fatalf("partner-priced commission = %v", c)
	}
}
