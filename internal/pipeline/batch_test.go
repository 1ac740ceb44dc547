package pipeline

import (
	"context"
	"testing"
)

// A batch's new commissions are written as one ledger change; when one of
// them was recorded meanwhile (another delivery of its conversion), that
// change fails and each is recorded on its own: every conversion ends with
// exactly one commission and no message fails.
func TestPrepareBatchRecordsEachOnceWhenOneWasRecordedMeanwhile(t *testing.T) {
	f := newFixture(t, pct(1000))
	var msgs []Message
	for range 3 {
		c := f.record(i64(5000))
		msgs = append(msgs, Message{ID: "msg_" + c.ID, Type: TypeConversionRecorded, OrgID: f.org, EntityID: c.ID})
	}
	calc := NewCalculator(f.st, f.clock.Now, NoPartnerRules{})
	write := calc.PrepareBatch(f.ctx, msgs)
	if err := calc.Handle(f.ctx, msgs[1]); err != nil {
		t.Fatal(err)
	}
	for i, err := range write(f.ctx) {
		if err != nil {
			t.Fatalf("message %d: %v", i, err)
		}
	}
	for _, m := range msgs {
		if es := f.entries(m.EntityID); len(es) != 1 || es[0].Amount.Amount != 500 {
			t.Fatalf("conversion %s: entries %+v, want one of 500", m.EntityID, es)
		}
	}
	// Written again (a redelivered batch): nothing changes.
	for i, err := range calc.PrepareBatch(f.ctx, msgs)(f.ctx) {
		if err != nil {
			t.Fatalf("again, message %d: %v", i, err)
		}
	}
	for _, m := range msgs {
		if es := f.entries(m.EntityID); len(es) != 1 {
			t.Fatalf("conversion %s after a second batch: %d entries", m.EntityID, len(es))
		}
	}
}

// Pump.Wanted: an organization whose notifications nobody consumes gets
// none queued — its conversions are still priced — and one that has a
// consumer gets them as before.
func TestPumpSkipsNotificationsNobodyWants(t *testing.T) {
	f := newFixture(t, pct(1000))
	wanted := false
	f.emb.Pump.Wanted = func(_ context.Context, orgID string) (bool, error) {
		if orgID != f.org {
			t.Errorf("Wanted asked about %q", orgID)
		}
		return wanted, nil
	}
	first := f.record(i64(5000))
	f.drain()
	if es := f.entries(first.ID); len(es) != 1 {
		t.Fatalf("entries = %+v, want the commission", es)
	}
	// A refund is still the calculator's work: the commission is replaced.
	f.refund(first.ID, 2500)
	f.drain()
	if es := f.entries(first.ID); len(es) < 2 {
		t.Fatalf("entries after a refund = %+v, want the refund reconciled", es)
	}
	if got := f.notifications(func(string) bool { return true }); len(got) != 0 {
		t.Fatalf("notifications handled for an organization that wants none: %v", got)
	}
	wanted = true
	f.record(i64(5000))
	f.drain()
	if got := f.eventTypes(); len(got) != 1 || got[0] != TypeCommissionCreated {
		t.Fatalf("commission notifications = %v, want one commission.created", got)
	}
}
