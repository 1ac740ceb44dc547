package httpapi_test

import (
	"fmt"
	"net/http"
	"testing"
	"time"

	"github.com/partnerloop/partnerloop/internal/apptest"
	"github.com/partnerloop/partnerloop/internal/domain"
	"github.com/partnerloop/partnerloop/internal/partners"
	"github.com/partnerloop/partnerloop/internal/pipeline"
	"github.com/partnerloop/partnerloop/internal/store"
)

// dealEnv is an organization with a tier (15 %, hold 45 days) and three
// partners, and a fresh admin token.
type dealEnv struct {
	*apptest.Env
	tok     string
	a, b, c string // partner IDs
}

func newDealEnv(t *testing.T) *dealEnv {
	e := apptest.New(t)
	tier := mustCreate(t, e, "/v1/partner-tiers", e.AdminToken, tierBody("Gold"))["id"].(string)
	d := &dealEnv{Env: e, tok: e.AdminToken}
	for i, id := range []*string{&d.a, &d.b, &d.c} {
		*id = mustCreate(t, e, "/v1/partners", e.AdminToken, partnerBody(tier, fmt.Sprintf("p%d@example.com", i)))["id"].(string)
	}
	return d
}

// advance moves the clock and signs in again (sessions last 12 hours).
func (d *dealEnv) advance(t *testing.T, by time.Duration) {
	t.Helper()
	d.Clock.Advance(by)
	d.tok = d.Login(t, apptest.AdminEmail, apptest.AdminPassword)
}

func (d *dealEnv) register(t *testing.T, partnerID, host string) *apptest.Response {
	t.Helper()
	body := map[string]any{"customerName": "Acme Corp", "customerDomain": host, "value": 500000}
	if partnerID != "" {
		body["partnerId"] = partnerID
	}
	return d.Do(t, "POST", "/v1/deals", d.tok, body)
}

func (d *dealEnv) mustRegister(t *testing.T, partnerID, host, wantStatus string) map[string]any {
	t.Helper()
	r := d.register(t, partnerID, host)
	if r.Status != http.StatusCreated || r.String("status") != wantStatus {
		t.Fatalf("register %s for %q: %d %s, want 201 with status %s", host, partnerID, r.Status, r.Body, wantStatus)
	}
	return r.JSON()
}

func TestDealRegistrationConflicts(t *testing.T) {
	d := newDealEnv(t)
	first := d.mustRegister(t, d.a, "acme.example", "registered")
	until := apptest.Start.Add(90 * 24 * time.Hour).Format(time.RFC3339)
	if first["source"] != "partner" || first["partnerId"] != d.a || first["customerDomain"] != "acme.example" ||
		first["exclusiveUntil"] != until || first["value"].(map[string]any)["currency"] != "USD" || first["conflictsWith"] != "" {
		t.Fatalf("first registration = %v", first)
	}
	// Another partner, the same customer written another way: a conflict,
	// still registered for an admin to decide.
	second := d.mustRegister(t, d.b, "https://www.ACME.example/pricing", "conflict")
	if second["conflictsWith"] != first["id"] || second["customerDomain"] != "acme.example" {
		t.Fatalf("second registration = %v, want a conflict with %s", second, first["id"])
	}
	// The same partner twice: 409 naming its open deal.
	p := wantProblem(t, d.register(t, d.a, "acme.example"), http.StatusConflict, "duplicate_registration")
	if p["existingId"] != first["id"] {
		t.Fatalf("duplicate problem = %v, want existingId %s", p, first["id"])
	}
	// The organization's own deal on a partner's customer is flagged too,
	// with the earliest claim.
	direct := d.mustRegister(t, "", "acme.example", "conflict")
	if direct["source"] != "direct" || direct["partnerId"] != "" || direct["exclusiveUntil"] != nil || direct["conflictsWith"] != first["id"] {
		t.Fatalf("direct deal = %v", direct)
	}
	// A direct deal claims its customer for partners while open.
	d.mustRegister(t, "", "globex.example", "registered")
	if got := d.mustRegister(t, d.c, "globex.example", "conflict"); got["conflictsWith"] == nil {
		t.Fatalf("partner vs direct = %v", got)
	}
}

func TestDealExclusivityWindowEdges(t *testing.T) {
	d := newDealEnv(t)
	first := d.mustRegister(t, d.a, "acme.example", "registered")
	d.advance(t, 90*24*time.Hour-time.Second)
	probe := d.mustRegister(t, d.b, "acme.example", "conflict") // one second before the claim ends
	if probe["conflictsWith"] != first["id"] {
		t.Fatalf("probe = %v", probe)
	}
	// Rejected, the probe claims nothing (an open conflict would).
	wantStatus(t, d.Do(t, "POST", "/v1/deals/"+probe["id"].(string)+"/reject", d.tok, map[string]any{"reason": "taken"}), http.StatusOK)
	d.advance(t, time.Second)
	d.mustRegister(t, d.c, "acme.example", "registered") // at exclusiveUntil: the claim has ended

	// The partner may register its lapsed customer again (no longer a
	// duplicate: its old deal is expired on the way), in conflict with the
	// claims the others now hold.
	again := d.mustRegister(t, d.a, "acme.example", "conflict")
	if again["id"] == first["id"] {
		t.Fatal("the new registration reused the old deal")
	}
	if old := d.Do(t, "GET", "/v1/deals/"+first["id"].(string), d.tok, nil).JSON(); old["status"] != "expired" ||
		old["closedAt"] != apptest.Start.Add(90*24*time.Hour).Format(time.RFC3339) {
		t.Fatalf("old deal = %v, want expired at its exclusiveUntil", old)
	}
}

func TestDealExpirySweep(t *testing.T) {
	d := newDealEnv(t)
	reg := d.mustRegister(t, d.a, "acme.example", "registered")
	appr := d.mustRegister(t, d.b, "globex.example", "registered")
	wantStatus(t, d.Do(t, "POST", "/v1/deals/"+appr["id"].(string)+"/approve", d.tok, nil), http.StatusOK)
	conflict := d.mustRegister(t, d.c, "acme.example", "conflict")
	direct := d.mustRegister(t, "", "initech.example", "registered")

	sweep := func() int {
		n, err := d.App.Deals.ExpireAll(t.Context())
		if err != nil {
			t.Fatal(err)
		}
		return n
	}
	if n := sweep(); n != 0 {
		t.Fatalf("sweep inside the window expired %d deals", n)
	}
	d.advance(t, 90*24*time.Hour)
	if n := sweep(); n != 2 {
		t.Fatalf("sweep after the window expired %d deals, want 2 (registered and approved partner deals)", n)
	}
	if n := sweep(); n != 0 {
		t.Fatalf("second sweep expired %d deals, want none", n)
	}
	for id, want := range map[any]string{reg["id"]: "expired", appr["id"]: "expired", conflict["id"]: "conflict", direct["id"]: "registered"} {
		if got := d.Do(t, "GET", "/v1/deals/"+id.(string), d.tok, nil).String("status"); got != want {
			t.Errorf("deal %s: status %s, want %s", id, got, want)
		}
	}
}

func TestDealListFiltersAndValidation(t *testing.T) {
	d := newDealEnv(t)
	a := d.mustRegister(t, d.a, "acme.example", "registered")
	b := d.mustRegister(t, d.b, "globex.example", "registered")
	x := d.mustRegister(t, "", "initech.example", "registered")
	wantStatus(t, d.Do(t, "POST", "/v1/deals/"+b["id"].(string)+"/approve", d.tok, nil), http.StatusOK)
	for q, want := range map[string][]any{
		"":                                  {x["id"], b["id"], a["id"]},
		"?source=partner":                   {b["id"], a["id"]},
		"?source=direct":                    {x["id"]},
		"?partnerId=" + d.a:                 {a["id"]},
		"?status=approved":                  {b["id"]},
		"?source=partner&status=registered": {a["id"]},
		"?limit=1&status=registered":        {x["id"]},
	} {
		r := d.Do(t, "GET", "/v1/deals"+q, d.tok, nil)
		wantStatus(t, r, http.StatusOK)
		var got []any
		for _, it := range r.Items() {
			got = append(got, it["id"])
		}
		if fmt.Sprint(got) != fmt.Sprint(want) {
			t.Errorf("GET /v1/deals%s = %v, want %v", q, got, want)
		}
	}
	p := wantProblem(t, d.Do(t, "GET", "/v1/deals?source=reseller&status=open", d.tok, nil), http.StatusUnprocessableEntity, "")
	wantFields(t, p, "source", "status")

	p = wantProblem(t, d.Do(t, "POST", "/v1/deals", d.tok, map[string]any{"customerDomain": "10.0.0.1", "partnerId": "prt_nobody"}),
		http.StatusUnprocessableEntity, "")
	wantFields(t, p, "customerName", "customerDomain", "value", "partnerId")
	p = wantProblem(t, d.Do(t, "POST", "/v1/deals", d.tok, map[string]any{"customerName": "A", "customerDomain": "a.example",
		"value": map[string]any{"amount": -5, "currency": "usd"}}), http.StatusUnprocessableEntity, "")
	wantFields(t, p, "value.amount", "value.currency")
	wantProblem(t, d.Do(t, "POST", "/v1/deals", d.tok, `{"customerName": "A", "customerDomain": "a.example", "value": "lots"}`),
		http.StatusBadRequest, "malformed_request")
	// A value in Money form, and an expected close date.
	r := d.Do(t, "POST", "/v1/deals", d.tok, map[string]any{"customerName": "Euro", "customerDomain": "euro.example",
		"value": map[string]any{"amount": 990, "currency": "EUR"}, "expectedCloseDate": "2026-06-30"})
	wantStatus(t, r, http.StatusCreated)
	if got := r.JSON(); got["value"].(map[string]any)["currency"] != "EUR" || got["expectedCloseDate"] != "2026-06-30T00:00:00Z" {
		t.Fatalf("deal = %v", got)
	}
}

func TestDealTransitions(t *testing.T) {
	d := newDealEnv(t)
	path := func(m map[string]any, action string) string { return "/v1/deals/" + m["id"].(string) + "/" + action }
	rej := d.mustRegister(t, d.a, "acme.example", "registered")
	wantFields(t, wantProblem(t, d.Do(t, "POST", path(rej, "reject"), d.tok, nil), http.StatusUnprocessableEntity, ""), "reason")
	wantFields(t, wantProblem(t, d.Do(t, "POST", path(rej, "reject"), d.tok, map[string]any{"reason": "  "}), http.StatusUnprocessableEntity, ""), "reason")
	r := d.Do(t, "POST", path(rej, "reject"), d.tok, map[string]any{"reason": "Already in our pipeline"})
	wantStatus(t, r, http.StatusOK)
	if r.String("status") != "rejected" || r.String("reason") != "Already in our pipeline" || r.String("closedAt") == "" {
		t.Fatalf("rejected deal = %s", r.Body)
	}
	wantProblem(t, d.Do(t, "POST", path(rej, "approve"), d.tok, nil), http.StatusConflict, "invalid_transition")
	wantProblem(t, d.Do(t, "POST", path(rej, "lost"), d.tok, nil), http.StatusConflict, "invalid_transition")

	deal := d.mustRegister(t, d.b, "globex.example", "registered")
	wantProblem(t, d.Do(t, "POST", path(deal, "won"), d.tok, nil), http.StatusConflict, "invalid_transition")
	wantStatus(t, d.Do(t, "POST", path(deal, "approve"), d.tok, nil), http.StatusOK)
	wantProblem(t, d.Do(t, "POST", path(deal, "reject"), d.tok, map[string]any{"reason": "late"}), http.StatusConflict, "invalid_transition")
	wantFields(t, wantProblem(t, d.Do(t, "POST", path(deal, "won"), d.tok, map[string]any{"value": map[string]any{"amount": 1, "currency": "EUR"}}),
		http.StatusUnprocessableEntity, ""), "value.currency")
	r = d.Do(t, "POST", path(deal, "won"), d.tok, map[string]any{"value": 450000})
	wantStatus(t, r, http.StatusOK)
	if won := r.JSON(); won["status"] != "won" || won["wonValue"].(map[string]any)["amount"] != 450000.0 {
		t.Fatalf("won deal = %v", won)
	}
	wantProblem(t, d.Do(t, "POST", path(deal, "lost"), d.tok, nil), http.StatusConflict, "invalid_transition")

	lost := d.mustRegister(t, d.c, "initech.example", "registered")
	r = d.Do(t, "POST", path(lost, "lost"), d.tok, nil)
	wantStatus(t, r, http.StatusOK)
	if r.String("status") != "lost" {
		t.Fatalf("lost deal = %s", r.Body)
	}
}

func TestDealsOfAnotherOrganizationAreNotFound(t *testing.T) {
	d := newDealEnv(t)
	mine := d.mustRegister(t, d.a, "acme.example", "registered")["id"].(string)
	other := d.NewUser(t, "org_other", domain.RoleAdmin, "")
	for _, rq := range []struct{ method, path string }{
		{"GET", "/v1/deals/" + mine}, {"POST", "/v1/deals/" + mine + "/approve"}, {"POST", "/v1/deals/" + mine + "/lost"},
	} {
		wantProblem(t, d.Do(t, rq.method, rq.path, other, nil), http.StatusNotFound, "not_found")
	}
	if items := d.Do(t, "GET", "/v1/deals", other, nil).Items(); len(items) != 0 {
		t.Fatalf("the other organization lists %v", items)
	}
	// Registering for another organization's partner is refused like an
	// unknown one; the same customer is free in the other organization.
	p := wantProblem(t, d.Do(t, "POST", "/v1/deals", other, map[string]any{"customerName": "A", "customerDomain": "acme.example",
		"value": 100, "partnerId": d.a}), http.StatusUnprocessableEntity, "")
	wantFields(t, p, "partnerId")
	r := d.Do(t, "POST", "/v1/deals", other, map[string]any{"customerName": "A", "customerDomain": "acme.example", "value": 100})
	if r.Status != http.StatusCreated || r.String("status") != "registered" {
		t.Fatalf("the other organization's direct deal: %d %s", r.Status, r.Body)
	}
	// A program manager may not touch deals.
	pm := d.NewUser(t, d.OrgID, domain.RoleProgramManager, "")
	wantProblem(t, d.Do(t, "GET", "/v1/deals", pm, nil), http.StatusForbidden, "forbidden")
}

// TestWonDealCommissionEndToEnd: register → approve → won → the partner's
// commission in GET /v1/commissions, through the outbox, the router and the
// calculator.
func TestWonDealCommissionEndToEnd(t *testing.T) {
	d := newDealEnv(t)
	deal := d.mustRegister(t, d.a, "acme.example", "registered")
	id := deal["id"].(string)
	wantStatus(t, d.Do(t, "POST", "/v1/deals/"+id+"/approve", d.tok, nil), http.StatusOK)
	d.advance(t, time.Hour)
	wantStatus(t, d.Do(t, "POST", "/v1/deals/"+id+"/won", d.tok, map[string]any{"value": 200000}), http.StatusOK)

	out, ok := d.App.Store.(store.Outbox)
	ls, ok2 := d.App.Store.(pipeline.LedgerStore)
	if !ok || !ok2 {
		t.Fatal("the test store keeps no outbox or ledger")
	}
	calc := pipeline.NewCalculator(ls, d.Clock.Now, partners.NewRuleSource(ls))
	changes, err := out.Changes(t.Context(), 0, 10000)
	if err != nil {
		t.Fatal(err)
	}
	for range 2 { // delivered twice: one commission all the same
		for _, c := range changes {
			ms, err := pipeline.Route(c)
			if err != nil {
				t.Fatal(err)
			}
			for _, m := range ms {
				if err := calc.Handle(t.Context(), m); err != nil {
					t.Fatalf("Handle(%s): %v", m.Type, err)
				}
			}
		}
	}
	items := d.Do(t, "GET", "/v1/commissions?partnerId="+d.a, d.tok, nil).Items()
	if len(items) != 1 {
		t.Fatalf("commissions of the partner = %v, want one", items)
	}
	c := items[0]
	wonAt := apptest.Start.Add(time.Hour)
	if c["dealId"] != id || c["partnerId"] != d.a || c["amount"].(map[string]any)["amount"] != 30000.0 || c["status"] != "pending" ||
		c["availableAt"] != wonAt.AddDate(0, 0, 45).Format(time.RFC3339) {
		t.Fatalf("commission = %v, want 15 %% of 200000 for the deal, available 45 days after it was won", c)
	}
}
