package httpapi_test

import (
	"net/http"
	"slices"
	"testing"

	"github.com/partnerloop/partnerloop/internal/apptest"
)

// TestRecurringRuleValidation: programs, tiers and partners take a
// recurring rule; a bad months is 422 naming the field, nothing stored.
func TestRecurringRuleValidation(t *testing.T) {
	e := apptest.New(t)
	tok := e.AdminToken
	rule := func(months any) map[string]any {
		return map[string]any{"type": "percentage", "rateBps": 1000, "recurring": map[string]any{"months": months}}
	}
	body := apptest.ProgramBody()
	body["commission"] = rule(12)
	r := e.Do(t, "POST", "/v1/programs", tok, body)
	wantStatus(t, r, http.StatusCreated)
	if got := r.JSON()["commission"].(map[string]any)["recurring"]; got.(map[string]any)["months"] != float64(12) {
		t.Fatalf("recurring = %v", got)
	}
	body["commission"] = rule(nil)
	r = e.Do(t, "POST", "/v1/programs", tok, body)
	wantStatus(t, r, http.StatusCreated)
	if got := r.JSON()["commission"].(map[string]any)["recurring"].(map[string]any); len(got) != 1 || got["months"] != nil {
		t.Fatalf("lifetime recurring = %v", got)
	}

	before := len(e.Do(t, "GET", "/v1/programs", tok, nil).Items())
	for _, months := range []any{0, -1, 121, 1.5, "12"} {
		body["commission"] = rule(months)
		p := wantProblem(t, e.Do(t, "POST", "/v1/programs", tok, body), http.StatusUnprocessableEntity, "validation_failed")
		if f := fieldErrors(p); !slices.Equal(f, []string{"commission.recurring.months"}) {
			t.Errorf("months %v: fields %v", months, f)
		}
		p = wantProblem(t, e.Do(t, "POST", "/v1/partner-tiers", tok, map[string]any{"name": "Gold", "commission": rule(months)}),
			http.StatusUnprocessableEntity, "validation_failed")
		if f := fieldErrors(p); !slices.Equal(f, []string{"commission.recurring.months"}) {
			t.Errorf("tier, months %v: fields %v", months, f)
		}
	}
	body["commission"] = map[string]any{"type": "flat", "amount": 100, "recurring": map[string]any{}}
	wantProblem(t, e.Do(t, "POST", "/v1/programs", tok, body), http.StatusUnprocessableEntity, "validation_failed")
	if after := len(e.Do(t, "GET", "/v1/programs", tok, nil).Items()); after != before {
		t.Fatalf("refused programs were stored: %d → %d", before, after)
	}

	tier := e.Do(t, "POST", "/v1/partner-tiers", tok, map[string]any{"name": "Silver", "commission": map[string]any{"type": "flat", "amount": 100}})
	wantStatus(t, tier, http.StatusCreated)
	partner := e.Do(t, "POST", "/v1/partners", tok, map[string]any{"companyName": "Acme", "contactName": "Dana",
		"email": "dana@acme.example", "tierId": tier.String("id")})
	wantStatus(t, partner, http.StatusCreated)
	p := wantProblem(t, e.Do(t, "PATCH", "/v1/partners/"+partner.String("id"), tok, map[string]any{"commission": rule(0)}),
		http.StatusUnprocessableEntity, "validation_failed")
	if f := fieldErrors(p); !slices.Equal(f, []string{"commission.recurring.months"}) {
		t.Errorf("partner: fields %v", f)
	}
	wantStatus(t, e.Do(t, "PATCH", "/v1/partners/"+partner.String("id"), tok, map[string]any{"commission": rule(24)}), http.StatusOK)
}
