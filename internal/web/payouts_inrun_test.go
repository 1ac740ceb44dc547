package web_test

import (
	"net/http"
	"net/url"
	"strings"
	"testing"

	"github.com/partnerloop/partnerloop/internal/apptest"
	"github.com/partnerloop/partnerloop/internal/commission"
	"github.com/partnerloop/partnerloop/internal/store"
)

// TestMarkPaidOfCommissionInPayoutRunIsRefusedOnTheCommissionsPage: the
// commissions page's bulk "mark paid" of an entry that the open payout run
// holds answers 409 with a message naming the run, and changes nothing.
func TestMarkPaidOfCommissionInPayoutRunIsRefusedOnTheCommissionsPage(t *testing.T) {
	e := apptest.New(t)
	now := e.Clock.Now()
	c, a, err := commission.NewCommission(commission.Earning{OrgID: e.OrgID, ProgramID: "prg_a", ReferrerID: "ref_1",
		ConversionID: "cnv_web_1", Currency: "USD", Amount: 1500, RuleSource: "program", RuleVersion: 1, OccurredAt: now}, commission.ActorSystem, now)
	if err != nil {
		t.Fatal(err)
	}
	if err := e.App.Store.(store.Ledger).ApplyLedgerChange(t.Context(), store.LedgerChange{OrgID: e.OrgID,
		Created: []commission.Commission{c}, Audit: []commission.AuditEntry{a}}); err != nil {
		t.Fatal(err)
	}
	if r := e.Do(t, "POST", "/v1/commissions/approve", e.AdminToken, map[string]any{"ids": []string{c.ID}}); r.Status != http.StatusOK {
		t.Fatalf("approve: %d %s", r.Status, r.Body)
	}
	r := e.Do(t, "POST", "/v1/payout-runs", e.AdminToken, nil)
	if r.Status != http.StatusCreated {
		t.Fatalf("create run: %d %s", r.Status, r.Body)
	}
	run := r.String("id")

	b := withSession(t, e, e.AdminToken)
	r = b.submit("/commissions", "/commissions/bulk", url.Values{"action": {"mark-paid"}, "ids": {c.ID}, "payoutReference": {"CHK-1"}})
	// Said in words: the run is named as such, never by its ID.
	if r.Status != http.StatusConflict || strings.Contains(string(r.Body), run) || !strings.Contains(string(r.Body), "is in the payout run, which is open: mark the run paid") {
		t.Fatalf("bulk mark paid of a commission in run %s: %d\n%s", run, r.Status, r.Body)
	}
	if got := e.Do(t, "GET", "/v1/commissions/"+c.ID, e.AdminToken, nil).String("status"); got != "approved" {
		t.Errorf("after the refusal the commission is %s, want approved", got)
	}
}
