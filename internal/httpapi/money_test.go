package httpapi_test

import (
	"fmt"
	"math"
	"net/http"
	"slices"
	"strings"
	"testing"

	"github.com/partnerloop/partnerloop/internal/apptest"
	"github.com/partnerloop/partnerloop/internal/domain"
	"github.com/partnerloop/partnerloop/internal/partners"
	"github.com/partnerloop/partnerloop/internal/pipeline"
	"github.com/partnerloop/partnerloop/internal/portal"
	"github.com/partnerloop/partnerloop/internal/portaltest"
)

// wantAmountRefused checks a 422 naming field, with the bound in its
// message.
func wantAmountRefused(t *testing.T, what string, r *apptest.Response, field string) {
	t.Helper()
	if r.Status != http.StatusUnprocessableEntity {
		t.Fatalf("%s: status %d, want 422: %s", what, r.Status, r.Body)
	}
	p := wantProblem(t, r, http.StatusUnprocessableEntity, "")
	if !slices.Contains(fieldErrors(p), field) {
		t.Fatalf("%s: field errors %v, want %s: %s", what, fieldErrors(p), field, r.Body)
	}
	if !strings.Contains(string(r.Body), fmt.Sprint(domain.MaxAmount)) && !strings.Contains(string(r.Body), "negative") {
		t.Errorf("%s: the message does not say the bound: %s", what, r.Body)
	}
}

// moneyWorld is a live program (10 %) with a partner (tier 15 %), one of
// its referrers, the partner's portal user and the commission calculator.
type moneyWorld struct {
	e                 *apptest.Env
	key, code         string
	partner, tokenPtr string
	calc              *pipeline.Calculator
}

func newMoneyWorld(t *testing.T) *moneyWorld {
	t.Helper()
	e := apptest.New(t)
	tok := e.AdminToken
	w := &moneyWorld{e: e, key: e.APIKey(t, tok)}
	programID, _ := e.LiveProgram(t, tok)
	tier := mustCreate(t, e, "/v1/partner-tiers", tok, tierBody("Gold"))["id"].(string)
	w.partner = mustCreate(t, e, "/v1/partners", tok, partnerBody(tier, "ada@resellers.example"))["id"].(string)
	w.code = mustCreate(t, e, "/v1/programs/"+programID+"/referrers", tok,
		map[string]any{"email": "rep@resellers.example", "name": "Rep", "partnerId": w.partner})["code"].(string)
	w.tokenPtr = e.NewUser(t, e.OrgID, domain.RolePartner, w.partner)
	ls, ok := e.App.Store.(pipeline.LedgerStore)
	if !ok {
		t.Fatal("the store has no ledger")
	}
	w.calc = pipeline.NewCalculator(ls, e.Clock.Now, partners.NewRuleSource(e.App.Store))
	return w
}

func (w *moneyWorld) convert(t *testing.T, externalID string, amount any) *apptest.Response {
	t.Helper()
	return w.e.Do(t, "POST", "/v1/conversions", w.key, map[string]any{
		"code": w.code, "email": "buyer@customer.example", "event": "purchase", "amount": amount, "externalId": externalID})
}

// TestMaxInt64ConversionsAreRefused replays the security review's attack:
// eleven conversions of 9,223,372,036,854,775,807 used to make the
// partner's pending earnings, statement and portal pages negative. Each is
// now a 422 on "amount"; the largest accepted amount (10^15) prices and
// totals correctly.
func TestMaxInt64ConversionsAreRefused(t *testing.T) {
	w := newMoneyWorld(t)
	e := w.e
	for i := range 11 {
		wantAmountRefused(t, fmt.Sprintf("conversion %d of MaxInt64", i+1), w.convert(t, fmt.Sprintf("attack-%d", i), int64(math.MaxInt64)), "amount")
	}
	wantAmountRefused(t, "as a Money object", w.convert(t, "attack-obj", map[string]any{"amount": int64(math.MaxInt64), "currency": "USD"}), "amount")
	wantAmountRefused(t, "one over the bound", w.convert(t, "attack-over", domain.MaxAmount+1), "amount")
	wantAmountRefused(t, "negative", w.convert(t, "attack-neg", -1), "amount")
	if n := len(e.Do(t, "GET", "/v1/conversions", e.AdminToken, nil).Items()); n != 0 {
		t.Fatalf("%d conversions recorded by refused requests", n)
	}

	// The bound itself is accepted, priced at the tier's 15 %, and every
	// total stays exact and positive.
	var conversions []string
	for i := range 2 {
		r := w.convert(t, fmt.Sprintf("big-%d", i), domain.MaxAmount)
		wantStatus(t, r, http.StatusCreated)
		conversions = append(conversions, r.String("id"))
		if err := w.calc.ReconcileConversion(t.Context(), e.OrgID, r.String("id")); err != nil {
			t.Fatal(err)
		}
	}
	const each = domain.MaxAmount / 100 * 15
	sum := e.Do(t, "GET", "/v1/portal/summary", w.tokenPtr, nil)
	wantStatus(t, sum, http.StatusOK)
	pending := sum.JSON()["earnings"].(map[string]any)["pending"].([]any)
	if len(pending) != 1 || pending[0].(map[string]any)["amount"] != float64(2*each) {
		t.Fatalf("pending earnings = %v, want %d", pending, 2*each)
	}
	csv := e.Do(t, "GET", "/v1/portal/statements/2026-03.csv", w.tokenPtr, nil)
	wantStatus(t, csv, http.StatusOK)
	totals := portaltest.CSVTotals(t, csv.Body)
	if want := domain.FormatMajor(2*each, "USD"); totals["USD "+portal.RowClosing] != want || totals["USD "+portal.RowEarned] != want {
		t.Fatalf("statement totals = %v, want closing and earned %s", totals, want)
	}

	// A refund is bounded too (and by what is left to refund).
	wantAmountRefused(t, "refund of MaxInt64", e.Do(t, "POST", "/v1/conversions/"+conversions[0]+"/refund", e.AdminToken,
		map[string]any{"amount": int64(math.MaxInt64)}), "amount")
}

// TestMoneyInputsAreBounded: every money input refuses more than
// domain.MaxAmount with a 422 naming the field, and takes the bound itself.
func TestMoneyInputsAreBounded(t *testing.T) {
	e := apptest.New(t)
	tok := e.AdminToken
	over := domain.MaxAmount + 1
	program := func(eligibility, rule map[string]any) map[string]any {
		b := apptest.ProgramBody()
		if eligibility != nil {
			b["eligibility"] = eligibility
		}
		if rule != nil {
			b["commission"] = rule
		}
		return b
	}
	flat := func(n int64) map[string]any { return map[string]any{"type": "flat", "amount": n} }
	revenue := func(upTo int64) map[string]any {
		return map[string]any{"type": "tiered", "basis": "revenue", "period": "month",
			"tiers": []any{map[string]any{"upTo": upTo, "rateBps": 1000}, map[string]any{"upTo": nil, "rateBps": 1500}}}
	}
	countFlat := func(n int64) map[string]any {
		return map[string]any{"type": "tiered", "basis": "count", "period": "month",
			"tiers": []any{map[string]any{"upTo": 10, "amount": n}, map[string]any{"upTo": nil, "amount": 100}}}
	}
	tier := mustCreate(t, e, "/v1/partner-tiers", tok, tierBody("Gold"))["id"].(string)
	partner := func(rule map[string]any) map[string]any {
		b := partnerBody(tier, fmt.Sprintf("p%d@example.com", seq.Add(1)))
		b["commission"] = rule
		return b
	}
	cases := []struct {
		name, path, field string
		body              func(n int64) map[string]any
	}{
		{"program flat amount", "/v1/programs", "commission.amount", func(n int64) map[string]any { return program(nil, flat(n)) }},
		{"program minimum purchase", "/v1/programs", "eligibility.minPurchaseAmount", func(n int64) map[string]any {
			return program(map[string]any{"newCustomersOnly": true, "minPurchaseAmount": n}, nil)
		}},
		{"revenue tier bound", "/v1/programs", "commission.tiers[0].upTo", func(n int64) map[string]any { return program(nil, revenue(n)) }},
		{"tier flat amount", "/v1/programs", "commission.tiers[0].amount", func(n int64) map[string]any { return program(nil, countFlat(n)) }},
		{"partner tier flat amount", "/v1/partner-tiers", "commission.amount", func(n int64) map[string]any {
			return map[string]any{"name": fmt.Sprint("T", n), "commission": flat(n)}
		}},
		{"partner's own rule", "/v1/partners", "commission.amount", func(n int64) map[string]any { return partner(flat(n)) }},
		{"deal value", "/v1/deals", "value.amount", func(n int64) map[string]any {
			return map[string]any{"customerName": "Acme", "customerDomain": fmt.Sprintf("acme%d.example", seq.Add(1)), "value": n}
		}},
	}
	for _, tc := range cases {
		wantAmountRefused(t, tc.name+" over the bound", e.Do(t, "POST", tc.path, tok, tc.body(over)), tc.field)
		wantAmountRefused(t, tc.name+" of MaxInt64", e.Do(t, "POST", tc.path, tok, tc.body(math.MaxInt64)), tc.field)
		if r := e.Do(t, "POST", tc.path, tok, tc.body(domain.MaxAmount)); r.Status != http.StatusCreated {
			t.Errorf("%s at the bound: %d %s, want 201", tc.name, r.Status, r.Body)
		}
	}

	// A deal's won value.
	deal := mustCreate(t, e, "/v1/deals", tok, map[string]any{"customerName": "Initech", "customerDomain": "initech.example", "value": 1000})["id"].(string)
	wantStatus(t, e.Do(t, "POST", "/v1/deals/"+deal+"/approve", tok, nil), http.StatusOK)
	wantAmountRefused(t, "won value over the bound", e.Do(t, "POST", "/v1/deals/"+deal+"/won", tok, map[string]any{"value": over}), "value.amount")
	wantStatus(t, e.Do(t, "POST", "/v1/deals/"+deal+"/won", tok, map[string]any{"value": domain.MaxAmount}), http.StatusOK)

	// Editing a program is bounded the same way.
	programID := mustCreate(t, e, "/v1/programs", tok, apptest.ProgramBody())["id"].(string)
	wantAmountRefused(t, "PATCH flat amount", e.Do(t, "PATCH", "/v1/programs/"+programID, tok, map[string]any{"commission": flat(over)}), "commission.amount")
}

// TestTotalsThatOverflowFailLoudly: a ledger whose totals do not fit in an
// int64 (which bounded inputs cannot build, but an older installation's
// data can hold) gives a logged 500 on every page that totals it, never a
// wrapped, negative balance.
func TestTotalsThatOverflowFailLoudly(t *testing.T) {
	w := newMoneyWorld(t)
	e := w.e
	half := int64(math.MaxInt64/2 + 1)
	seed(t, e, earning{partner: w.partner, amount: half}, earning{partner: w.partner, amount: half})
	for _, path := range []string{"/v1/portal/summary", "/v1/portal/statements/2026-03.csv", "/v1/portal/statements/2026-03.pdf"} {
		r := e.Do(t, "GET", path, w.tokenPtr, nil)
		wantProblem(t, r, http.StatusInternalServerError, "internal_error")
		if strings.Contains(string(r.Body), "-9223372036854775808") {
			t.Errorf("%s shows a wrapped total: %s", path, r.Body)
		}
	}
}
