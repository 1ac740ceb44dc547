package pipeline

import (
	"testing"

	"github.com/partnerloop/partnerloop/internal/commission"
	"github.com/partnerloop/partnerloop/internal/domain"
	"github.com/partnerloop/partnerloop/internal/store"
)

// recordLegacy writes the commission of 10 % of conv's amount under the ID
// commissions got before CommissionID put the source's time first, as a
// calculator of that time did.
func (f *fixture) recordLegacy(conv domain.Conversion) commission.Commission {
	f.t.Helper()
	c, audit, err := commission.NewCommission(commission.Earning{OrgID: f.org, ProgramID: conv.ProgramID, ReferrerID: conv.ReferrerID,
		ConversionID: conv.ID, Currency: conv.Amount.Currency, Amount: conv.Amount.Amount / 10, RuleSource: "program",
		OccurredAt: conv.OccurredAt, HoldDays: 30}, commission.ActorSystem, f.clock.Now())
	if err != nil {
		f.t.Fatal(err)
	}
	c.ID = commission.LegacyCommissionID(conv.ID, commission.Beneficiary(conv.ReferrerID, conv.PartnerID), string(commission.KindCommission))
	audit.CommissionID = c.ID
	if err := f.st.ApplyLedgerChange(f.ctx, store.LedgerChange{OrgID: f.org, Created: []commission.Commission{c},
		Audit: []commission.AuditEntry{audit}}); err != nil {
		f.t.Fatal(err)
	}
	return c
}

// A conversion priced before commission IDs put the source's time first
// (its entry has the legacy ID) is not priced again by any path: the
// embedded pipeline's batch, a delivery to Handle, ReconcileConversion —
// and its refund reverses that entry.
func TestConversionPricedUnderTheLegacyIDIsNotPricedAgain(t *testing.T) {
	f := newFixture(t, pct(1000))
	conv := f.record(i64(4999))
	legacy := f.recordLegacy(conv)
	if legacy.ID == commission.CommissionID(conv.ID, conv.ReferrerID, string(commission.KindCommission)) {
		t.Fatalf("the legacy ID %s is the new one", legacy.ID)
	}
	fresh := f.record(i64(4999))
	f.drain()
	if es := f.entries(conv.ID); len(es) != 1 || es[0].ID != legacy.ID {
		t.Fatalf("entries after the pipeline = %+v, want the legacy one only", es)
	}
	if es := f.entries(fresh.ID); len(es) != 1 || es[0].ID != commission.CommissionID(fresh.ID, fresh.ReferrerID, string(commission.KindCommission)) {
		t.Fatalf("entries of a conversion priced now = %+v", es)
	}
	m := Message{ID: "msg_again", Type: TypeConversionRecorded, OrgID: f.org, EntityID: conv.ID, At: conv.CreatedAt}
	if err := f.calc.Handle(f.ctx, m); err != nil {
		t.Fatal(err)
	}
	if err := f.calc.ReconcileConversion(f.ctx, f.org, conv.ID); err != nil {
		t.Fatal(err)
	}
	if es := f.entries(conv.ID); len(es) != 1 || es[0].ID != legacy.ID {
		t.Fatalf("entries after redeliveries = %+v, want the legacy one only", es)
	}
	f.refund(conv.ID, 4999)
	f.drain()
	es := f.entries(conv.ID)
	if len(es) != 1 || es[0].ID != legacy.ID || es[0].Status != commission.StatusReversed {
		t.Fatalf("entries after a full refund = %+v, want the legacy one reversed", es)
	}
}
