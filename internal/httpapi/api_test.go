package httpapi_test

import (
	"fmt"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/partnerloop/partnerloop/internal/apptest"
	"github.com/partnerloop/partnerloop/internal/domain"
)

func wantStatus(t *testing.T, r *apptest.Response, status int) {
	t.Helper()
	if r.Status != status {
		t.Fatalf("status %d, want %d: %s", r.Status, status, r.Body)
	}
}

// wantProblem checks an error answer is a problem document with the status
// and, when given, the code.
func wantProblem(t *testing.T, r *apptest.Response, status int, code string) map[string]any {
	t.Helper()
	wantStatus(t, r, status)
	if ct := r.Header.Get("Content-Type"); ct != "application/problem+json" {
		t.Fatalf("content type %q, want application/problem+json", ct)
	}
	p := r.JSON()
	if p["status"] != float64(status) || p["title"] == "" || p["type"] == "" {
		t.Fatalf("not a problem document: %s", r.Body)
	}
	if code != "" && p["code"] != code {
		t.Fatalf("code %v, want %s: %s", p["code"], code, r.Body)
	}
	return p
}

func fieldErrors(p map[string]any) []string {
	var fs []string
	errs, _ := p["errors"].([]any)
	for _, e := range errs {
		fs = append(fs, e.(map[string]any)["field"].(string))
	}
	return fs
}

func TestReferralFlow(t *testing.T) {
	e := apptest.New(t)
	tok := e.AdminToken
	programID, code := e.LiveProgram(t, tok)

	r := e.Do(t, "GET", "/r/"+code, "", nil)
	wantStatus(t, r, http.StatusFound)
	if loc := r.Header.Get("Location"); loc != "https://example.com/pricing?plan=pro&ref="+code {
		t.Fatalf("Location = %q", loc)
	}
	cookie := r.Header.Get("Set-Cookie")
	if !strings.Contains(cookie, "ref="+code) || !strings.Contains(cookie, "Max-Age=2592000") || !strings.Contains(cookie, "Secure") {
		t.Fatalf("Set-Cookie = %q", cookie)
	}

	r = e.Do(t, "POST", "/v1/referrals", tok, map[string]string{"code": code, "email": "Friend@Example.org", "name": "Friend"})
	wantStatus(t, r, http.StatusCreated)
	ref := r.JSON()
	if ref["status"] != "pending" || ref["programId"] != programID || ref["email"] != "friend@example.org" {
		t.Fatalf("referral = %s", r.Body)
	}
	refID := ref["id"].(string)

	conv := map[string]any{"referralId": refID, "event": "purchase", "amount": map[string]any{"amount": 4999, "currency": "USD"}, "externalId": "order-1"}
	first := e.Do(t, "POST", "/v1/conversions", tok, conv)
	wantStatus(t, first, http.StatusCreated)
	again := e.Do(t, "POST", "/v1/conversions", tok, conv)
	wantStatus(t, again, http.StatusOK)
	if first.String("id") != again.String("id") {
		t.Fatalf("retry recorded a new conversion: %s vs %s", first.Body, again.Body)
	}
	if n := len(e.Do(t, "GET", "/v1/conversions?referralId="+refID, tok, nil).Items()); n != 1 {
		t.Fatalf("%d conversions recorded, want 1", n)
	}
	r = e.Do(t, "GET", "/v1/referrals/"+refID, tok, nil)
	if r.String("status") != "converted" || r.String("convertedAt") == "" {
		t.Fatalf("referral after conversion: %s", r.Body)
	}
}

func TestConversionByCodeAndEmail(t *testing.T) {
	e := apptest.New(t)
	_, code := e.LiveProgram(t, e.AdminToken)
	key := e.APIKey(t, e.AdminToken)
	// A coupon code used at checkout, no known contact yet: the referral is
	// created with the conversion.
	r := e.Do(t, "POST", "/v1/conversions", key, map[string]any{"code": code, "email": "new@example.net", "event": "purchase", "amount": 2500, "externalId": "o-1"})
	wantStatus(t, r, http.StatusCreated)
	if a := r.JSON()["amount"].(map[string]any); a["amount"] != 2500.0 || a["currency"] != "USD" {
		t.Fatalf("amount = %v", a)
	}
	refID := r.String("referralId")
	if got := e.Do(t, "GET", "/v1/referrals/"+refID, key, nil); got.String("status") != "converted" || got.String("email") != "new@example.net" {
		t.Fatalf("referral = %s", got.Body)
	}
	// Two anonymous purchases with the same code are two referrals.
	for _, id := range []string{"anon-1", "anon-2"} {
		r := e.Do(t, "POST", "/v1/conversions", key, map[string]any{"code": code, "event": "purchase", "amount": 1500, "externalId": id})
		wantStatus(t, r, http.StatusCreated)
		if r.String("referralId") == refID {
			t.Fatal("an anonymous conversion was credited to a known contact")
		}
	}
	// By email alone, the contact's referral gets the credit.
	r = e.Do(t, "POST", "/v1/conversions", key, map[string]any{"email": "NEW@example.net", "event": "signup", "externalId": "o-2"})
	wantStatus(t, r, http.StatusCreated)
	if r.String("referralId") != refID {
		t.Fatalf("by email credited %s, want %s", r.String("referralId"), refID)
	}
}

func TestConversionQualifyingChecks(t *testing.T) {
	e := apptest.New(t)
	tok := e.AdminToken
	_, code := e.LiveProgram(t, tok)
	ref := e.Do(t, "POST", "/v1/referrals", tok, map[string]string{"code": code, "email": "friend@example.org"}).String("id")
	self := e.Do(t, "POST", "/v1/referrals", tok, map[string]string{"code": code, "email": "JANE+alt@example.com"})
	wantStatus(t, self, http.StatusCreated)
	if self.String("status") != "ineligible" || self.String("reason") != "self_referral" {
		t.Fatalf("self referral = %s", self.Body)
	}
	now := apptest.Start
	cases := []struct {
		name string
		body map[string]any
		code string
	}{
		{"event not counted", map[string]any{"referralId": ref, "event": "trial", "externalId": "x1"}, "event_not_qualifying"},
		{"below minimum", map[string]any{"referralId": ref, "event": "purchase", "amount": 999, "externalId": "x2"}, "below_minimum_purchase"},
		{"purchase without amount under a minimum", map[string]any{"referralId": ref, "event": "purchase", "externalId": "x3"}, "below_minimum_purchase"},
		{"other currency", map[string]any{"referralId": ref, "event": "purchase", "amount": map[string]any{"amount": 5000, "currency": "EUR"}, "externalId": "x4"}, "currency_mismatch"},
		{"after the window", map[string]any{"referralId": ref, "event": "signup", "externalId": "x5", "occurredAt": now.AddDate(0, 0, 31).Format(time.RFC3339)}, "occurred_in_future"},
		{"ineligible referral", map[string]any{"referralId": self.String("id"), "event": "signup", "externalId": "x6"}, "referral_ineligible"},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			wantProblem(t, e.Do(t, "POST", "/v1/conversions", tok, c.body), http.StatusUnprocessableEntity, c.code)
		})
	}
	// Thirty-one days later the window of 30 days has passed.
	e.Clock.Advance(31 * 24 * time.Hour)
	tok = e.Login(t, apptest.AdminEmail, apptest.AdminPassword)
	wantProblem(t, e.Do(t, "POST", "/v1/conversions", tok, map[string]any{"referralId": ref, "event": "signup", "externalId": "x7"}),
		http.StatusUnprocessableEntity, "attribution_window_expired")
	// Nothing of the refused conversions was recorded.
	if n := len(e.Do(t, "GET", "/v1/conversions", tok, nil).Items()); n != 0 {
		t.Fatalf("%d conversions recorded, want 0", n)
	}
	if s := e.Do(t, "GET", "/v1/referrals/"+ref, tok, nil).String("status"); s != "pending" {
		t.Fatalf("referral status %s, want pending", s)
	}
}

func TestExistingCustomerIsIneligible(t *testing.T) {
	e := apptest.New(t)
	tok := e.AdminToken
	_, code := e.LiveProgram(t, tok)
	ref := e.Do(t, "POST", "/v1/referrals", tok, map[string]string{"code": code, "email": "buyer@example.org"}).String("id")
	wantStatus(t, e.Do(t, "POST", "/v1/conversions", tok, map[string]any{"referralId": ref, "event": "signup", "externalId": "s1"}), http.StatusCreated)
	// The same contact referred in a second program is an existing customer.
	p2 := e.Do(t, "POST", "/v1/programs", tok, apptest.ProgramBody()).String("id")
	wantStatus(t, e.Do(t, "POST", "/v1/programs/"+p2+"/activate", tok, nil), http.StatusOK)
	code2 := e.Do(t, "POST", "/v1/programs/"+p2+"/referrers", tok, map[string]string{"email": "bob@example.com"}).String("code")
	r := e.Do(t, "POST", "/v1/referrals", tok, map[string]string{"code": code2, "email": "buyer@example.org"})
	wantStatus(t, r, http.StatusCreated)
	if r.String("status") != "ineligible" || r.String("reason") != "existing_customer" {
		t.Fatalf("referral = %s", r.Body)
	}
	// Referring the same contact twice in one program is a conflict.
	p := wantProblem(t, e.Do(t, "POST", "/v1/referrals", tok, map[string]string{"code": code, "email": "buyer@example.org"}), http.StatusConflict, "referral_exists")
	if p["existingId"] != ref {
		t.Fatalf("existingId = %v, want %s", p["existingId"], ref)
	}
	// The same externalId returns the original referral.
	a := e.Do(t, "POST", "/v1/referrals", tok, map[string]string{"code": code, "email": "x@example.org", "externalId": "crm-1"})
	wantStatus(t, a, http.StatusCreated)
	b := e.Do(t, "POST", "/v1/referrals", tok, map[string]string{"code": code, "email": "y@example.org", "externalId": "crm-1"})
	wantStatus(t, b, http.StatusOK)
	if a.String("id") != b.String("id") {
		t.Fatal("same externalId made a second referral")
	}
}

func TestClicks(t *testing.T) {
	e := apptest.New(t)
	tok := e.AdminToken
	programID, code := e.LiveProgram(t, tok)
	referrerID := e.Do(t, "GET", "/v1/programs/"+programID+"/referrers", tok, nil).Items()[0]["id"].(string)
	clicks := func() float64 {
		return e.Do(t, "GET", "/v1/referrers/"+referrerID, tok, nil).JSON()["clicks"].(float64)
	}
	follow := func(ua string) {
		t.Helper()
		r := apptest.Do(t, e.Handler, "GET", "/r/"+strings.ToLower(code), "", nil, http.Header{"User-Agent": {ua}})
		wantStatus(t, r, http.StatusFound)
	}
	follow("Mozilla/5.0 (Macintosh)")
	follow("Mozilla/5.0 (Macintosh)")
	follow("Slackbot-LinkExpanding 1.0 (+https://api.slack.com/robots)")
	if c := clicks(); c != 1 {
		t.Fatalf("clicks = %v, want 1 (repeat and bot not counted)", c)
	}
	follow("Mozilla/5.0 (iPhone)")
	e.Clock.Advance(61 * time.Minute)
	follow("Mozilla/5.0 (Macintosh)")
	if c := clicks(); c != 3 {
		t.Fatalf("clicks = %v, want 3", c)
	}
	// Unknown and paused links show the not-active page, with no redirect.
	for _, path := range []string{"/r/NOSUCHCODE", "/r/..%2F..%2Fetc", "/r/" + strings.Repeat("A", 300)} {
		r := e.Do(t, "GET", path, "", nil)
		if r.Status != http.StatusNotFound || r.Header.Get("Location") != "" {
			t.Fatalf("%s: %d %v", path, r.Status, r.Header)
		}
	}
	wantStatus(t, e.Do(t, "POST", "/v1/programs/"+programID+"/pause", tok, nil), http.StatusOK)
	r := e.Do(t, "GET", "/r/"+code, "", nil)
	if r.Status != http.StatusNotFound || !strings.Contains(string(r.Body), "not active") {
		t.Fatalf("paused program link: %d %s", r.Status, r.Body)
	}
	if c := clicks(); c != 3 {
		t.Fatalf("clicks = %v after a paused visit, want 3", c)
	}
}

func TestProgramLifecycleAndValidation(t *testing.T) {
	e := apptest.New(t)
	tok := e.AdminToken
	r := e.Do(t, "POST", "/v1/programs", tok, apptest.ProgramBody())
	wantStatus(t, r, http.StatusCreated)
	id := r.String("id")
	if r.String("status") != "draft" {
		t.Fatalf("new program status %s", r.String("status"))
	}
	// Referrers join only live programs.
	wantProblem(t, e.Do(t, "POST", "/v1/programs/"+id+"/referrers", tok, map[string]string{"email": "a@example.com"}), 422, "program_not_active")
	wantStatus(t, e.Do(t, "POST", "/v1/programs/"+id+"/activate", tok, nil), http.StatusOK)
	wantProblem(t, e.Do(t, "POST", "/v1/programs/"+id+"/activate", tok, nil), http.StatusConflict, "invalid_transition")

	// Editing the rule adds a version; other fields change in place.
	r = e.Do(t, "PATCH", "/v1/programs/"+id, tok, map[string]any{"commission": map[string]any{"type": "flat", "amount": 2500}, "endsAt": apptest.Start.AddDate(1, 0, 0)})
	wantStatus(t, r, http.StatusOK)
	if vs := r.JSON()["ruleVersions"].([]any); len(vs) != 2 || r.JSON()["commission"].(map[string]any)["type"] != "flat" {
		t.Fatalf("after rule edit: %s", r.Body)
	}
	r = e.Do(t, "PATCH", "/v1/programs/"+id, tok, map[string]any{"endsAt": nil, "name": "Renamed"})
	wantStatus(t, r, http.StatusOK)
	if r.JSON()["endsAt"] != nil || r.String("name") != "Renamed" || len(r.JSON()["ruleVersions"].([]any)) != 2 {
		t.Fatalf("after clearing endsAt: %s", r.Body)
	}
	p := wantProblem(t, e.Do(t, "PATCH", "/v1/programs/"+id, tok, map[string]any{"currency": "EUR"}), 422, "validation_failed")
	if f := fieldErrors(p); len(f) != 1 || f[0] != "currency" {
		t.Fatalf("fields %v", f)
	}

	// Invalid programs list every bad field.
	bad := apptest.ProgramBody()
	bad["landingUrl"] = "javascript:alert(1)"
	bad["currency"] = "usd"
	bad["attributionWindowDays"] = 0
	bad["commission"] = map[string]any{"type": "tiered", "basis": "count", "period": "month",
		"tiers": []any{map[string]any{"upTo": 10, "rateBps": 1000}, map[string]any{"upTo": 5, "rateBps": 1500}}}
	delete(bad, "name")
	p = wantProblem(t, e.Do(t, "POST", "/v1/programs", tok, bad), 422, "validation_failed")
	got := strings.Join(fieldErrors(p), ",")
	for _, f := range []string{"name", "landingUrl", "currency", "attributionWindowDays", "commission.tiers[1].upTo"} {
		if !strings.Contains(got, f) {
			t.Errorf("no error for %s in %s", f, got)
		}
	}
	wantStatus(t, e.Do(t, "POST", "/v1/programs/"+id+"/archive", tok, nil), http.StatusOK)
	wantProblem(t, e.Do(t, "POST", "/v1/programs/"+id+"/activate", tok, nil), http.StatusConflict, "invalid_transition")
}

func TestReferrerCodes(t *testing.T) {
	e := apptest.New(t)
	tok := e.AdminToken
	programID, code := e.LiveProgram(t, tok)
	if len(code) != domain.GeneratedCodeLength {
		t.Fatalf("generated code %q", code)
	}
	r := e.Do(t, "POST", "/v1/programs/"+programID+"/referrers", tok, map[string]string{"email": "vip@example.com", "code": "Spring-VIP"})
	wantStatus(t, r, http.StatusCreated)
	if r.String("link") != "https://refer.example.com/r/Spring-VIP" {
		t.Fatalf("link = %s", r.String("link"))
	}
	// Codes are case-insensitive and unique across the installation.
	other := e.NewUser(t, "org_other", domain.RoleAdmin, "")
	otherProgram, _ := e.LiveProgram(t, other)
	wantProblem(t, e.Do(t, "POST", "/v1/programs/"+otherProgram+"/referrers", other, map[string]string{"email": "x@example.com", "code": "spring-vip"}), http.StatusConflict, "code_taken")
	p := wantProblem(t, e.Do(t, "POST", "/v1/programs/"+programID+"/referrers", tok, map[string]string{"email": "VIP@example.com"}), http.StatusConflict, "referrer_exists")
	if p["existingId"] != r.String("id") {
		t.Fatalf("existingId %v", p["existingId"])
	}
	wantProblem(t, e.Do(t, "POST", "/v1/programs/"+programID+"/referrers", tok, map[string]string{"email": "y@example.com", "code": "no spaces"}), 422, "validation_failed")
}

func TestAuth(t *testing.T) {
	e := apptest.New(t)
	wantProblem(t, e.Do(t, "POST", "/v1/auth/login", "", map[string]string{"email": apptest.AdminEmail, "password": "wrong"}), 401, "invalid_credentials")
	wantProblem(t, e.Do(t, "POST", "/v1/auth/login", "", map[string]string{"email": "nobody@example.com", "password": "wrong"}), 401, "invalid_credentials")
	me := e.Do(t, "GET", "/v1/me", e.AdminToken, nil)
	wantStatus(t, me, http.StatusOK)
	if m := me.JSON(); m["role"] != "admin" || m["email"] != apptest.AdminEmail || m["organizationId"] != e.OrgID {
		t.Fatalf("me = %s", me.Body)
	}
	wantStatus(t, e.Do(t, "POST", "/v1/auth/logout", e.AdminToken, nil), http.StatusNoContent)
	wantProblem(t, e.Do(t, "GET", "/v1/me", e.AdminToken, nil), 401, "invalid_token")

	tok := e.Login(t, apptest.AdminEmail, apptest.AdminPassword)
	e.Clock.Advance(13 * time.Hour)
	wantProblem(t, e.Do(t, "GET", "/v1/me", tok, nil), 401, "invalid_token")
}

func TestLoginIsRateLimited(t *testing.T) {
	e := apptest.New(t)
	var last *apptest.Response
	for i := 0; i < 11; i++ {
		last = e.Do(t, "POST", "/v1/auth/login", "", map[string]string{"email": "victim@example.com", "password": fmt.Sprint("guess", i)})
	}
	wantProblem(t, last, http.StatusTooManyRequests, "rate_limited")
	if last.Header.Get("Retry-After") == "" {
		t.Fatal("no Retry-After")
	}
	// Another account is not locked out by it.
	wantStatus(t, e.Do(t, "POST", "/v1/auth/login", "", map[string]string{"email": apptest.AdminEmail, "password": apptest.AdminPassword}), http.StatusOK)
}

func TestAPIKeys(t *testing.T) {
	e := apptest.New(t)
	r := e.Do(t, "POST", "/v1/api-keys", e.AdminToken, map[string]string{"name": "Checkout backend"})
	wantStatus(t, r, http.StatusCreated)
	key, id := r.String("key"), r.String("id")
	if !strings.HasPrefix(key, "plk_") || len(key) < 40 {
		t.Fatalf("key %q", key)
	}
	list := e.Do(t, "GET", "/v1/api-keys", e.AdminToken, nil)
	if strings.Contains(string(list.Body), key) || len(list.Items()) != 1 || list.Items()[0]["key"] != nil {
		t.Fatalf("list shows the secret: %s", list.Body)
	}
	if m := e.Do(t, "GET", "/v1/me", key, nil).JSON(); m["role"] != "api_key" || m["id"] != id {
		t.Fatalf("me as key: %v", m)
	}
	wantStatus(t, e.Do(t, "DELETE", "/v1/api-keys/"+id, e.AdminToken, nil), http.StatusNoContent)
	wantProblem(t, e.Do(t, "GET", "/v1/programs", key, nil), 401, "invalid_token")
	wantProblem(t, e.Do(t, "DELETE", "/v1/api-keys/"+id, e.AdminToken, nil), 404, "")
}

func TestRoles(t *testing.T) {
	e := apptest.New(t)
	pm := e.NewUser(t, e.OrgID, domain.RoleProgramManager, "")
	key := e.APIKey(t, e.AdminToken)
	programID, code := e.LiveProgram(t, pm)
	cases := []struct {
		who, token, method, path string
		body                     any
		status                   int
	}{
		{"program manager", pm, "GET", "/v1/referrals", nil, 200},
		{"program manager", pm, "POST", "/v1/referrals", map[string]string{"code": code, "email": "a@example.org"}, 403},
		{"program manager", pm, "POST", "/v1/conversions", map[string]string{"code": code, "event": "signup", "externalId": "1"}, 403},
		{"program manager", pm, "POST", "/v1/api-keys", map[string]string{"name": "k"}, 403},
		{"program manager", pm, "GET", "/v1/users", nil, 403},
		{"API key", key, "POST", "/v1/programs", apptest.ProgramBody(), 403},
		{"API key", key, "POST", "/v1/programs/" + programID + "/pause", nil, 403},
		{"API key", key, "GET", "/v1/api-keys", nil, 403},
		{"API key", key, "POST", "/v1/referrals", map[string]string{"code": code, "email": "b@example.org"}, 201},
		{"API key", key, "POST", "/v1/programs/" + programID + "/referrers", map[string]string{"email": "c@example.org"}, 201},
	}
	for _, c := range cases {
		t.Run(c.who+" "+c.method+" "+c.path, func(t *testing.T) {
			wantStatus(t, e.Do(t, c.method, c.path, c.token, c.body), c.status)
		})
	}
}

// TestEveryPrivateRouteNeedsCredentials walks the route table, so a new
// route cannot slip in unauthenticated.
func TestEveryPrivateRouteNeedsCredentials(t *testing.T) {
	e := apptest.New(t)
	for _, rt := range e.App.API.Routes() {
		if rt.Access.Public {
			continue
		}
		path := strings.NewReplacer("{id}", "x", "{code}", "x").Replace(rt.Pattern)
		for _, tok := range []string{"", "garbage", "plk_forged"} {
			r := e.Do(t, rt.Method, path, tok, "{}")
			if r.Status != http.StatusUnauthorized {
				t.Errorf("%s %s with token %q: %d, want 401", rt.Method, rt.Pattern, tok, r.Status)
			}
		}
	}
}

func TestTenantIsolation(t *testing.T) {
	e := apptest.New(t)
	tok := e.AdminToken
	programID, code := e.LiveProgram(t, tok)
	refID := e.Do(t, "POST", "/v1/referrals", tok, map[string]string{"code": code, "email": "f@example.org"}).String("id")
	convID := e.Do(t, "POST", "/v1/conversions", tok, map[string]any{"referralId": refID, "event": "signup", "externalId": "e1"}).String("id")
	referrerID := e.Do(t, "GET", "/v1/programs/"+programID+"/referrers", tok, nil).Items()[0]["id"].(string)
	keyID := e.Do(t, "GET", "/v1/api-keys", tok, nil).Items()
	_ = keyID
	keyResp := e.Do(t, "POST", "/v1/api-keys", tok, map[string]string{"name": "k"})

	other := e.NewUser(t, "org_other", domain.RoleAdmin, "")
	for _, c := range []struct {
		method, path string
		body         any
	}{
		{"GET", "/v1/programs/" + programID, nil},
		{"PATCH", "/v1/programs/" + programID, map[string]string{"name": "hijack"}},
		{"POST", "/v1/programs/" + programID + "/pause", nil},
		{"POST", "/v1/programs/" + programID + "/referrers", map[string]string{"email": "z@example.com"}},
		{"GET", "/v1/programs/" + programID + "/referrers", nil},
		{"GET", "/v1/referrers/" + referrerID, nil},
		{"GET", "/v1/referrals/" + refID, nil},
		{"GET", "/v1/conversions/" + convID, nil},
		{"DELETE", "/v1/api-keys/" + keyResp.String("id"), nil},
		{"POST", "/v1/conversions", map[string]any{"referralId": refID, "event": "signup", "externalId": "steal"}},
	} {
		wantProblem(t, e.Do(t, c.method, c.path, other, c.body), http.StatusNotFound, "")
	}
	// Another organization's code is unknown here.
	wantProblem(t, e.Do(t, "POST", "/v1/referrals", other, map[string]string{"code": code, "email": "g@example.org"}), 422, "unknown_code")
	for _, path := range []string{"/v1/programs", "/v1/referrals", "/v1/conversions", "/v1/api-keys", "/v1/users"} {
		r := e.Do(t, "GET", path, other, nil)
		wantStatus(t, r, http.StatusOK)
		for _, it := range r.Items() {
			if it["organizationId"] != nil && it["organizationId"] != "org_other" {
				t.Fatalf("%s lists another organization's record: %v", path, it)
			}
		}
	}
	if n := len(e.Do(t, "GET", "/v1/programs", other, nil).Items()); n != 0 {
		t.Fatalf("other org sees %d programs", n)
	}
	// The owner's program is untouched.
	if r := e.Do(t, "GET", "/v1/programs/"+programID, tok, nil); r.String("name") != "Spring referral" || r.String("status") != "active" {
		t.Fatalf("program changed: %s", r.Body)
	}
}

func TestBadInput(t *testing.T) {
	e := apptest.New(t)
	tok := e.AdminToken
	programID, _ := e.LiveProgram(t, tok)
	posts := []string{"/v1/auth/login", "/v1/api-keys", "/v1/programs", "/v1/programs/" + programID + "/referrers", "/v1/referrals", "/v1/conversions"}
	for _, path := range posts {
		t.Run(path, func(t *testing.T) {
			wantProblem(t, e.Do(t, "POST", path, tok, `{"name": `), 400, "malformed_request")
			wantProblem(t, e.Do(t, "POST", path, tok, `[1,2]`), 400, "malformed_request")
			wantProblem(t, e.Do(t, "POST", path, tok, ``), 400, "malformed_request")
			wantProblem(t, e.Do(t, "POST", path, tok, `{} {}`), 400, "malformed_request")
			p := wantProblem(t, e.Do(t, "POST", path, tok, `{"surprise": 1}`), 400, "malformed_request")
			if f := fieldErrors(p); len(f) != 1 || f[0] != "surprise" {
				t.Fatalf("unknown field reported as %v", f)
			}
			huge := `{"name": "` + strings.Repeat("x", 1<<20) + `"}`
			wantProblem(t, e.Do(t, "POST", path, tok, huge), 413, "body_too_large")
		})
	}
	p := wantProblem(t, e.Do(t, "POST", "/v1/programs", tok, `{"name": 42}`), 400, "malformed_request")
	if f := fieldErrors(p); len(f) != 1 || f[0] != "name" {
		t.Fatalf("wrong type reported as %v", f)
	}
	wantProblem(t, e.Do(t, "POST", "/v1/conversions", tok, `{"amount": "ten dollars"}`), 400, "malformed_request")
	wantProblem(t, e.Do(t, "POST", "/v1/programs", tok, `{"startsAt": "yesterday"}`), 400, "malformed_request")
	wantProblem(t, e.Do(t, "PATCH", "/v1/programs/"+programID, tok, `{"attributionWindowDays": "30"}`), 400, "malformed_request")
	wantProblem(t, e.Do(t, "POST", "/v1/conversions", tok, map[string]any{"event": "signup"}), 422, "validation_failed")
	wantProblem(t, e.Do(t, "GET", "/v1/programs?limit=abc", tok, nil), 400, "invalid_query")
	wantProblem(t, e.Do(t, "GET", "/v1/programs?cursor=not-a-cursor!", tok, nil), 400, "invalid_cursor")
	wantProblem(t, e.Do(t, "GET", "/v1/referrals?status=won", tok, nil), 422, "validation_failed")
	wantProblem(t, e.Do(t, "GET", "/v1/nothing-here", tok, nil), 404, "no_route")
	r := wantProblem(t, e.Do(t, "DELETE", "/v1/programs", tok, nil), 405, "method_not_allowed")
	_ = r
}

func TestPagination(t *testing.T) {
	e := apptest.New(t)
	tok := e.AdminToken
	want := map[string]bool{}
	for i := 0; i < 7; i++ {
		want[e.Do(t, "POST", "/v1/programs", tok, apptest.ProgramBody()).String("id")] = true
	}
	seen := map[string]bool{}
	cursor := ""
	for pages := 0; ; pages++ {
		if pages > 4 {
			t.Fatal("pagination does not end")
		}
		r := e.Do(t, "GET", "/v1/programs?limit=3&cursor="+cursor, tok, nil)
		wantStatus(t, r, http.StatusOK)
		items := r.Items()
		if len(items) > 3 {
			t.Fatalf("page of %d items, limit 3", len(items))
		}
		for _, it := range items {
			id := it["id"].(string)
			if seen[id] {
				t.Fatalf("%s listed twice", id)
			}
			seen[id] = true
		}
		next, _ := r.JSON()["nextCursor"].(string)
		if next == "" {
			break
		}
		cursor = next
	}
	if len(seen) != len(want) {
		t.Fatalf("listed %d programs, want %d", len(seen), len(want))
	}
	if n := len(e.Do(t, "GET", "/v1/programs?limit=1000", tok, nil).Items()); n != 7 {
		t.Fatalf("limit above the maximum listed %d", n)
	}
}
