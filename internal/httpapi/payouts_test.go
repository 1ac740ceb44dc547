package httpapi_test

import (
	"net/http"
	"strings"
	"testing"

	"github.com/partnerloop/partnerloop/internal/apptest"
	"github.com/partnerloop/partnerloop/internal/domain"
)

// TestPayoutRunThroughTheAPI walks a run from approval to paid as the admin
// and the partner see it: the partner's payout details are masked
// everywhere but the admin's CSV, and the portal shows the next payout,
// then the past one with its reference.
func TestPayoutRunThroughTheAPI(t *testing.T) {
	e := apptest.New(t)
	adm := e.AdminToken
	tier := mustCreate(t, e, "/v1/partner-tiers", adm, tierBody("Gold"))["id"].(string)
	partner := mustCreate(t, e, "/v1/partners", adm, partnerBody(tier, "ap@partners.example"))["id"].(string)
	ptok := e.NewUser(t, e.OrgID, domain.RolePartner, partner)
	cs := seed(t, e, earning{partner: partner, amount: 2500}, earning{partner: partner, amount: 1000}, earning{referrer: "ref_solo", amount: 700})
	ids := []string{cs[0].ID, cs[1].ID, cs[2].ID}

	// Payout details: validated, stored, answered masked.
	r := e.Do(t, "PUT", "/v1/portal/payout-details", ptok, map[string]any{"method": "iou"})
	wantStatus(t, r, http.StatusUnprocessableEntity)
	r = e.Do(t, "PUT", "/v1/portal/payout-details", ptok, map[string]any{
		"method": "bank_transfer", "accountReference": "DE89 3704 0044 0532 0130 00", "taxId": "DE123456789"})
	wantStatus(t, r, http.StatusOK)
	if got := r.String("accountReference"); got != "•••• 0 00" || strings.Contains(string(r.Body), "0532") {
		t.Errorf("PUT answered %s, want the account reference masked", r.Body)
	}
	r = e.Do(t, "GET", "/v1/portal/payout-details", ptok, nil)
	if strings.Contains(string(r.Body), "DE123456789") || r.JSON()["configured"] != true {
		t.Errorf("GET payout-details = %s, want configured and masked", r.Body)
	}

	wantStatus(t, e.Do(t, "POST", "/v1/payout-runs", adm, nil), http.StatusUnprocessableEntity) // nothing approved yet
	wantStatus(t, e.Do(t, "POST", "/v1/commissions/approve", adm, map[string]any{"ids": ids}), http.StatusOK)
	r = e.Do(t, "GET", "/v1/portal/payouts", ptok, nil)
	if next := r.JSON()["next"].([]any); len(next) != 1 || next[0].(map[string]any)["amount"].(float64) != 3500 {
		t.Errorf("portal payouts before the run: %s, want next 35.00 USD", r.Body)
	}

	r = e.Do(t, "POST", "/v1/payout-runs", adm, nil)
	wantStatus(t, r, http.StatusCreated)
	run := r.String("id")
	if n := r.JSON()["commissionCount"].(float64); n != 3 || len(r.JSON()["lines"].([]any)) != 2 {
		t.Errorf("run %s: want 3 commissions on 2 lines", r.Body)
	}
	wantStatus(t, e.Do(t, "POST", "/v1/payout-runs", adm, nil), http.StatusConflict) // one open run at a time

	r = e.Do(t, "GET", "/v1/payout-runs/"+run+".csv", adm, nil)
	wantStatus(t, r, http.StatusOK)
	if ct := r.Header.Get("Content-Type"); !strings.HasPrefix(ct, "text/csv") {
		t.Errorf("CSV content type %q", ct)
	}
	body := string(r.Body)
	for _, want := range []string{"ap@partners.example", "35.00", "DE89 3704 0044 0532 0130 00", "DE123456789", "bank_transfer", "Acme Resellers"} {
		if !strings.Contains(body, want) {
			t.Errorf("CSV lacks %q:\n%s", want, body)
		}
	}
	// JSON views never carry the details.
	for _, path := range []string{"/v1/payout-runs/" + run, "/v1/payout-runs"} {
		if r := e.Do(t, "GET", path, adm, nil); strings.Contains(string(r.Body), "DE123456789") {
			t.Errorf("%s leaks the tax ID: %s", path, r.Body)
		}
	}

	wantStatus(t, e.Do(t, "POST", "/v1/payout-runs/"+run+"/mark-paid", adm, map[string]any{}), http.StatusUnprocessableEntity)
	r = e.Do(t, "POST", "/v1/payout-runs/"+run+"/mark-paid", adm, map[string]any{"payoutReference": "ACH-2026-03"})
	wantStatus(t, r, http.StatusOK)
	if r.String("status") != "paid" {
		t.Errorf("mark-paid answered %s", r.Body)
	}
	wantStatus(t, e.Do(t, "POST", "/v1/payout-runs/"+run+"/mark-paid", adm, map[string]any{"payoutReference": "ACH-2026-03"}), http.StatusOK)
	wantStatus(t, e.Do(t, "POST", "/v1/payout-runs/"+run+"/mark-paid", adm, map[string]any{"payoutReference": "OTHER"}), http.StatusConflict)
	for _, id := range ids {
		r := e.Do(t, "GET", "/v1/commissions/"+id, adm, nil)
		if r.String("status") != "paid" || r.String("payoutReference") != "ACH-2026-03" {
			t.Errorf("commission %s after the run: %s", id, r.Body)
		}
	}
	r = e.Do(t, "GET", "/v1/portal/payouts", ptok, nil)
	past := r.JSON()["past"].([]any)
	if len(past) != 1 || past[0].(map[string]any)["payoutReference"] != "ACH-2026-03" || len(r.JSON()["next"].([]any)) != 0 {
		t.Errorf("portal payouts after paying: %s", r.Body)
	}
	wantStatus(t, e.Do(t, "GET", "/v1/payout-runs/pay_unknown", adm, nil), http.StatusNotFound)
}

// TestPayoutRoutesWithoutStore: a store without payout runs answers 503 on
// every payout route instead of failing.
func TestPayoutRoutesWithoutStore(t *testing.T) {
	e := apptest.New(t)
	e.App.API.Payouts = nil
	tier := mustCreate(t, e, "/v1/partner-tiers", e.AdminToken, tierBody("Gold"))["id"].(string)
	partner := mustCreate(t, e, "/v1/partners", e.AdminToken, partnerBody(tier, "p@partners.example"))["id"].(string)
	ptok := e.NewUser(t, e.OrgID, domain.RolePartner, partner)
	n := 0
	for _, rt := range e.App.API.Routes() {
		if !strings.Contains(rt.Pattern, "payout") {
			continue
		}
		n++
		tok := e.AdminToken
		if strings.HasPrefix(rt.Pattern, "/v1/portal/") {
			tok = ptok
		}
		r := e.Do(t, rt.Method, strings.ReplaceAll(rt.Pattern, "{id}", "pay_1"), tok, "{}")
		wantProblem(t, r, http.StatusServiceUnavailable, "payouts_unavailable")
	}
	if n != 8 {
		t.Errorf("%d payout routes, want 8", n)
	}
}

// TestCommissionInPayoutRunIsPaidOnlyWithTheRun: a commission the open run
// holds cannot be marked paid on its own (409 in_payout_run naming the run,
// nothing written); one approved after the run was made can; the run is
// then marked paid as usual.
func TestCommissionInPayoutRunIsPaidOnlyWithTheRun(t *testing.T) {
	e := apptest.New(t)
	adm := e.AdminToken
	cs := seed(t, e, earning{amount: 2500}, earning{amount: 1000})
	wantStatus(t, e.Do(t, "POST", "/v1/commissions/approve", adm, map[string]any{"ids": []string{cs[0].ID}}), http.StatusOK)
	r := e.Do(t, "POST", "/v1/payout-runs", adm, nil)
	wantStatus(t, r, http.StatusCreated)
	run := r.String("id")

	p := wantProblem(t, e.Do(t, "POST", "/v1/commissions/mark-paid", adm, map[string]any{"ids": []string{cs[0].ID}, "payoutReference": "CHK-1"}),
		http.StatusConflict, "in_payout_run")
	if p["payoutRunId"] != run || !strings.Contains(p["detail"].(string), run) {
		t.Errorf("problem %v does not name the run %s", p, run)
	}
	if got := e.Do(t, "GET", "/v1/commissions/"+cs[0].ID, adm, nil).String("status"); got != "approved" {
		t.Errorf("after the refusal the commission is %s, want approved", got)
	}
	// Not in the run: paid on its own as before.
	wantStatus(t, e.Do(t, "POST", "/v1/commissions/approve", adm, map[string]any{"ids": []string{cs[1].ID}}), http.StatusOK)
	wantStatus(t, e.Do(t, "POST", "/v1/commissions/mark-paid", adm, map[string]any{"ids": []string{cs[1].ID}, "payoutReference": "CHK-2"}), http.StatusOK)
	// The run is paid whole.
	r = e.Do(t, "POST", "/v1/payout-runs/"+run+"/mark-paid", adm, map[string]any{"payoutReference": "ACH-1"})
	if r.Status != http.StatusOK || r.String("status") != "paid" {
		t.Fatalf("mark the run paid: %d %s", r.Status, r.Body)
	}
	// Once the run is settled, its (paid) commission is an ordinary one again.
	wantProblem(t, e.Do(t, "POST", "/v1/commissions/mark-paid", adm, map[string]any{"ids": []string{cs[0].ID}, "payoutReference": "CHK-1"}),
		http.StatusConflict, "invalid_transition")
}
