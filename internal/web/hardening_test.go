package web_test

import (
	"math"
	"net/http"
	"strings"
	"testing"

	"github.com/partnerloop/partnerloop/internal/apptest"
	"github.com/partnerloop/partnerloop/internal/commission"
	"github.com/partnerloop/partnerloop/internal/domain"
	"github.com/partnerloop/partnerloop/internal/store"
)

// TestPortalTotalsThatOverflowFailLoudly: the partner's overview and
// earnings pages total its ledger; totals that do not fit in an int64 (data
// that bounded inputs cannot build but an older installation may hold) give
// the logged error page, never a wrapped, negative balance.
func TestPortalTotalsThatOverflowFailLoudly(t *testing.T) {
	e := apptest.New(t)
	partnerID := newPartner(t, e, "ada@acme.example")
	l, ok := e.App.Store.(store.Ledger)
	if !ok {
		t.Fatal("the store has no ledger")
	}
	ch := store.LedgerChange{OrgID: e.OrgID}
	for _, cnv := range []string{"cnv_1", "cnv_2"} {
		c, a, err := commission.NewCommission(commission.Earning{
			OrgID: e.OrgID, ProgramID: "prg_1", ReferrerID: "rfr_1", PartnerID: partnerID, ConversionID: cnv,
			Currency: "USD", Amount: math.MaxInt64/2 + 1, RuleSource: commission.SourceProgram, OccurredAt: e.Clock.Now(),
		}, commission.ActorSystem, e.Clock.Now())
		if err != nil {
			t.Fatal(err)
		}
		ch.Created, ch.Audit = append(ch.Created, c), append(ch.Audit, a)
	}
	if err := l.ApplyLedgerChange(t.Context(), ch); err != nil {
		t.Fatal(err)
	}
	b := withSession(t, e, e.NewUser(t, e.OrgID, domain.RolePartner, partnerID))
	for _, page := range []string{"/portal", "/portal/earnings"} {
		r := b.do("GET", page, nil)
		if r.Status != http.StatusInternalServerError || strings.Contains(body(r), "-92") {
			t.Errorf("%s: %d, want the 500 page without a wrapped total\n%s", page, r.Status, r.Body)
		}
	}
}
