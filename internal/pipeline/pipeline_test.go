package pipeline

import (
	"context"
	"errors"
	"fmt"
	"math"
	"math/rand/v2"
	"slices"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/partnerloop/partnerloop/internal/commission"
	"github.com/partnerloop/partnerloop/internal/domain"
	"github.com/partnerloop/partnerloop/internal/ledger"
	"github.com/partnerloop/partnerloop/internal/payouts"
	"github.com/partnerloop/partnerloop/internal/store"
)

func TestConversionBecomesOnePendingCommission(t *testing.T) {
	f := newFixture(t, pct(1000))
	conv := f.record(i64(4999))
	f.drain()

	es := f.entries(conv.ID)
	if len(es) != 1 {
		t.Fatalf("%d entries, want 1: %+v", len(es), es)
	}
	c := es[0]
	want := commission.Commission{
		ID: commission.CommissionID(conv.ID, f.referrer.ID, "commission"), OrgID: f.org, Kind: commission.KindCommission,
		ProgramID: f.program.ID, ReferrerID: f.referrer.ID, ConversionID: conv.ID,
		Amount: domain.Money{Amount: 500, Currency: "USD"}, // 10 % of 4999 = 499.9 → 500
		Status: commission.StatusPending, AvailableAt: conv.OccurredAt.AddDate(0, 0, 30), OccurredAt: conv.OccurredAt,
		CreatedAt: start, UpdatedAt: start, RuleSource: commission.SourceProgram, RuleVersion: 1,
		OriginalAmount: 500,
	}
	if fmt.Sprintf("%+v", c) != fmt.Sprintf("%+v", want) {
		t.Fatalf("commission\n got %+v\nwant %+v", c, want)
	}
	if a := f.audit(c.ID); len(a) != 1 || a[0].From != "" || a[0].To != commission.StatusPending || a[0].Actor != commission.ActorSystem {
		t.Fatalf("audit = %+v", a)
	}
	if got := f.eventTypes(); !slices.Equal(got, []string{TypeCommissionCreated}) {
		t.Fatalf("events = %v, want [commission.created]", got)
	}
	// The records' own changes are public events too, each once, in order.
	wantPublic := []string{"event:referral.created", "event:conversion.created", "event:referral.converted"}
	if got := f.publicEventTypes(); !slices.Equal(got, wantPublic) {
		t.Fatalf("public events = %v, want %v", got, wantPublic)
	}
	if changes, _ := f.st.Changes(f.ctx, 0, 10); len(changes) != 0 {
		t.Fatalf("outbox not drained: %d changes left", len(changes))
	}

	// A signup has no value: 10 % of nothing is not recorded.
	signup := f.record(nil)
	f.drain()
	if es := f.entries(signup.ID); len(es) != 0 {
		t.Fatalf("a signup earned %+v under a percentage rule", es)
	}
	if es := f.entries(conv.ID); len(es) != 1 {
		t.Fatalf("draining again changed the ledger: %+v", es)
	}
}

func TestFlatRuleAndHold(t *testing.T) {
	amount := int64(2500)
	f := newFixture(t, domain.CommissionRule{Type: domain.RuleFlat, Amount: &amount})
	signup := f.record(nil)
	f.drain()
	es := f.entries(signup.ID)
	if len(es) != 1 || es[0].Amount.Amount != 2500 || !es[0].AvailableAt.Equal(signup.OccurredAt.Add(30*24*time.Hour)) {
		t.Fatalf("flat commission of a signup = %+v", es)
	}
}

// TestRefundOfConversionWithoutValue: a signup earns a flat commission; its
// refund (full, marked by refundedAt) reverses it once, and once paid it is
// clawed back in full instead.
func TestRefundOfConversionWithoutValue(t *testing.T) {
	amount := int64(2500)
	f := newFixture(t, domain.CommissionRule{Type: domain.RuleFlat, Amount: &amount})
	pending := f.record(nil)
	paid := f.record(nil)
	f.drain()
	c := f.entries(paid.ID)[0]
	f.clock.Advance(31 * 24 * time.Hour)
	c, a1, err := commission.Approve(c, "usr_admin", f.clock.Now())
	if err != nil {
		t.Fatal(err)
	}
	c.Revision++
	c2, a2, err := commission.MarkPaid(c, "payout-1", "usr_admin", f.clock.Now())
	if err != nil {
		t.Fatal(err)
	}
	c2.Revision = c.Revision - 1
	if err := f.st.ApplyLedgerChange(f.ctx, store.LedgerChange{OrgID: f.org, Updated: []commission.Commission{c2}, Audit: []commission.AuditEntry{a1, a2}}); err != nil {
		t.Fatal(err)
	}

	f.refund(pending.ID, 0)
	f.refund(paid.ID, 0)
	f.drain()
	if es := f.entries(pending.ID); len(es) != 1 || es[0].Status != commission.StatusReversed || net(es) != 0 {
		t.Fatalf("refunded signup (pending commission): %+v", es)
	}
	es := f.entries(paid.ID)
	if len(es) != 2 || es[0].Status != commission.StatusPaid || es[1].Kind != commission.KindClawback || es[1].Amount.Amount != -2500 || net(es) != 0 {
		t.Fatalf("refunded signup (paid commission): %+v", es)
	}
	// Redelivery and a second stamp change nothing.
	f.refund(paid.ID, 0)
	f.drain()
	if es := f.entries(paid.ID); len(es) != 2 || net(es) != 0 {
		t.Fatalf("after a second refund stamp: %+v", es)
	}
}

// A conversion without a value refunded before the pipeline priced it —
// its refund in the same batch as its insert, or handled first — ends
// with its commission reversed: its RefundedAt, not its refunded amount
// (still 0), is what says it was refunded.
func TestRefundOfConversionWithoutValueBeforePricing(t *testing.T) {
	amount := int64(2500)
	for _, how := range []string{"pump", "refund first"} {
		t.Run(how, func(t *testing.T) {
			f := newFixture(t, domain.CommissionRule{Type: domain.RuleFlat, Amount: &amount})
			refunded, kept := f.record(nil), f.record(nil)
			f.refund(refunded.ID, 0)
			if how == "refund first" {
				msgs := f.pendingMessages()
				slices.Reverse(msgs)
				for _, m := range msgs {
					if err := f.calc.Handle(f.ctx, m); err != nil {
						t.Fatal(err)
					}
				}
			}
			f.drain()
			if es := f.entries(refunded.ID); len(es) != 1 || es[0].Status != commission.StatusReversed || net(es) != 0 {
				t.Fatalf("refunded signup: %+v", es)
			}
			if es := f.entries(kept.ID); len(es) != 1 || es[0].Status != commission.StatusPending || net(es) != 2500 {
				t.Fatalf("other signup: %+v", es)
			}
		})
	}
}

func TestDuplicateDeliveriesRecordOneCommission(t *testing.T) {
	f := newFixture(t, pct(1000))
	conv := f.record(i64(4999))
	msgs := f.pendingMessages()
	if len(msgs) != 1 || msgs[0].Type != TypeConversionRecorded {
		t.Fatalf("routed %+v, want one conversion.recorded", msgs)
	}
	m := msgs[0]

	// The pump enqueues it; the same message enqueued again (a change read
	// twice) is one queued message.
	if _, err := f.emb.Pump.Once(f.ctx); err != nil {
		t.Fatal(err)
	}
	body, _ := m.Encode()
	if err := f.st.Enqueue(f.ctx, QueueCommissions, []store.QueuedMessage{{ID: m.ID, Body: body}}); err != nil {
		t.Fatal(err)
	}
	ds, err := f.st.Receive(f.ctx, QueueCommissions, 10, time.Minute, time.Now())
	if err != nil || len(ds) != 1 || ds[0].ID != m.ID {
		t.Fatalf("received %+v, %v; want the one message", ds, err)
	}

	// Delivered many times, some at once: one commission, one audit entry.
	var wg sync.WaitGroup
	for range 4 {
		wg.Go(func() {
			if err := f.calc.Handle(f.ctx, m); err != nil {
				t.Error(err)
			}
		})
	}
	wg.Wait()
	dup := m
	dup.ID = "msg_redelivered_under_another_id"
	for _, d := range []Message{m, dup} {
		if err := f.calc.Handle(f.ctx, d); err != nil {
			t.Fatal(err)
		}
	}
	es := f.entries(conv.ID)
	if len(es) != 1 || es[0].Amount.Amount != 500 {
		t.Fatalf("entries = %+v, want one of 500", es)
	}
	if a := f.audit(es[0].ID); len(a) != 1 {
		t.Fatalf("audit = %+v, want one entry", a)
	}
	if err := f.st.Ack(f.ctx, QueueCommissions, m.ID); err != nil {
		t.Fatal(err)
	}
	f.drain()
	if es := f.entries(conv.ID); len(es) != 1 {
		t.Fatalf("after drain: %+v", es)
	}
}

func TestFailureMidBatchIsRetried(t *testing.T) {
	f := newFixture(t, pct(1000))
	var convs []domain.Conversion
	for _, v := range []int64{1000, 2000, 3000} {
		convs = append(convs, f.record(i64(v)))
	}
	var attempts sync.Map // conversion ID → *atomic.Int32
	f.emb.Commissions.Fail = func(m Message) error {
		n, _ := attempts.LoadOrStore(m.EntityID, new(atomic.Int32))
		if n.(*atomic.Int32).Add(1) == 1 && m.EntityID == convs[1].ID {
			return errors.New("injected: database went away")
		}
		return nil
	}
	f.drain()
	for i, c := range convs {
		es := f.entries(c.ID)
		if len(es) != 1 || es[0].Amount.Amount != []int64{100, 200, 300}[i] {
			t.Fatalf("conversion %d: entries %+v", i, es)
		}
	}
	if n, _ := attempts.Load(convs[1].ID); n.(*atomic.Int32).Load() != 2 {
		t.Fatalf("failed message attempted %d times, want 2", n.(*atomic.Int32).Load())
	}
	if n, _ := attempts.Load(convs[2].ID); n.(*atomic.Int32).Load() != 1 {
		t.Fatalf("message after the failure attempted %d times, want 1", n.(*atomic.Int32).Load())
	}
	if dl := f.deadLetters(QueueCommissions); len(dl) != 0 {
		t.Fatalf("dead letters: %+v", dl)
	}
}

func TestPoisonMessageIsDeadLettered(t *testing.T) {
	f := newFixture(t, pct(1000))
	good := f.record(i64(1000))
	bad := f.record(i64(4999))
	var attempts atomic.Int32
	f.emb.Commissions.Fail = func(m Message) error {
		if m.EntityID == bad.ID {
			return fmt.Errorf("injected failure %d", attempts.Add(1))
		}
		return nil
	}
	f.drain()
	if attempts.Load() != DefaultMaxReceives {
		t.Fatalf("attempts = %d, want %d", attempts.Load(), DefaultMaxReceives)
	}
	dl := f.deadLetters(QueueCommissions)
	if len(dl) != 1 || dl[0].ReceiveCount != DefaultMaxReceives || dl[0].LastError != "injected failure 5" {
		t.Fatalf("dead letters = %+v", dl)
	}
	if m, err := DecodeMessage(dl[0].Body); err != nil || m.EntityID != bad.ID || m.Type != TypeConversionRecorded {
		t.Fatalf("dead letter body = %+v, %v", m, err)
	}
	if es := f.entries(bad.ID); len(es) != 0 {
		t.Fatalf("dead-lettered conversion has entries %+v", es)
	}
	if es := f.entries(good.ID); len(es) != 1 {
		t.Fatalf("the other conversion: %+v", es)
	}
	// Re-enqueueing (the outbox read again) does not revive it.
	if err := f.st.Enqueue(f.ctx, QueueCommissions, []store.QueuedMessage{{ID: dl[0].ID, Body: dl[0].Body}}); err != nil {
		t.Fatal(err)
	}
	f.drain()
	if attempts.Load() != DefaultMaxReceives {
		t.Fatal("a dead letter was delivered again")
	}
}

// failingLedger fails every ledger write while fail is set, after the
// running-total slot was taken: a message that dies there must leave
// nothing half-written that a later delivery would double.
type failingLedger struct {
	LedgerStore
	fail atomic.Bool
}

func (l *failingLedger) ApplyLedgerChange(ctx context.Context, ch store.LedgerChange) error {
	if l.fail.Load() {
		return errors.New("injected: disk full")
	}
	return l.LedgerStore.ApplyLedgerChange(ctx, ch)
}

func tiered(basis string, tiers ...domain.Tier) domain.CommissionRule {
	return domain.CommissionRule{Type: domain.RuleTiered, Basis: basis, Period: domain.PeriodMonth, Tiers: tiers}
}

func TestDeadLetterLeavesNothingHalfWritten(t *testing.T) {
	rule := tiered(domain.BasisCount,
		domain.Tier{UpTo: i64(1), Amount: i64(1000)}, domain.Tier{UpTo: nil, Amount: i64(3000)})
	f := newFixture(t, rule)
	fl := &failingLedger{LedgerStore: f.st}
	fl.fail.Store(true)
	f.setCalculator(fl)
	first := f.record(i64(5000))
	f.drain()
	dl := f.deadLetters(QueueCommissions)
	if len(dl) != 1 || dl[0].ReceiveCount != DefaultMaxReceives || !strings.Contains(dl[0].LastError, "disk full") {
		t.Fatalf("dead letters = %+v", dl)
	}
	if es := f.entries(first.ID); len(es) != 0 {
		t.Fatalf("entries after the failed writes: %+v", es)
	}
	key := commission.CounterKey{BeneficiaryID: f.referrer.ID, RuleSource: commission.SourceProgram,
		RuleOwnerID: f.program.ID, PeriodKey: "2026-03"}.String()
	slots, err := f.st.ListSlots(f.ctx, f.org, key)
	if err != nil || len(slots) != 1 || slots[0].Ordinal != 1 {
		t.Fatalf("slots = %+v, %v; want the one slot taken once despite 5 attempts", slots, err)
	}

	// Repaired and redriven: the same slot, one commission.
	fl.fail.Store(false)
	m, _ := DecodeMessage(dl[0].Body)
	for range 2 {
		if err := f.calc.Handle(f.ctx, m); err != nil {
			t.Fatal(err)
		}
	}
	second := f.record(i64(5000))
	f.drain()
	if es := f.entries(first.ID); len(es) != 1 || es[0].Ordinal != 1 || es[0].Amount.Amount != 1000 {
		t.Fatalf("redriven: %+v", es)
	}
	if es := f.entries(second.ID); len(es) != 1 || es[0].Ordinal != 2 || es[0].Amount.Amount != 3000 || es[0].PeriodKey != "2026-03" {
		t.Fatalf("next conversion: %+v", es)
	}
}

func TestRefundBeforePaymentReverses(t *testing.T) {
	f := newFixture(t, pct(1000))
	conv := f.record(i64(4999))
	f.drain()
	orig := f.entries(conv.ID)[0]

	// Partial refund: reversed, and a pending replacement for the rest.
	f.clock.Advance(time.Hour)
	f.refund(conv.ID, 2000)
	f.drain()
	es := f.entries(conv.ID)
	st := byStatus(es)
	if len(es) != 2 || len(st[commission.StatusReversed]) != 1 || len(st[commission.StatusPending]) != 1 {
		t.Fatalf("after partial refund: %+v", es)
	}
	if rev := st[commission.StatusReversed][0]; rev.ID != orig.ID || rev.Revision != orig.Revision+1 {
		t.Fatalf("reversed entry = %+v", rev)
	}
	repl := st[commission.StatusPending][0]
	// 500 − round(500 × 2000 / 4999) = 500 − 200
	if repl.Amount.Amount != 300 || repl.OriginalID != orig.ID || repl.OriginalAmount != 500 ||
		!repl.AvailableAt.Equal(orig.AvailableAt) || repl.Kind != commission.KindCommission {
		t.Fatalf("replacement = %+v", repl)
	}
	if a := f.audit(orig.ID); len(a) != 2 || a[1].From != commission.StatusPending || a[1].To != commission.StatusReversed {
		t.Fatalf("audit of the original = %+v", a)
	}
	wantEvents := []string{TypeCommissionCreated, TypeCommissionCreated, TypeCommissionReversed}
	if got := f.eventTypes(); !slices.Equal(sorted(got), wantEvents) {
		t.Fatalf("events = %v, want %v", got, wantEvents)
	}

	// The same refund delivered again, late: nothing changes.
	refunded := Message{ID: "msg_again", Type: TypeConversionRefunded, OrgID: f.org, EntityID: conv.ID}
	for range 2 {
		if err := f.calc.Handle(f.ctx, refunded); err != nil {
			t.Fatal(err)
		}
	}
	if got := f.entries(conv.ID); len(got) != 2 {
		t.Fatalf("a repeated refund changed the ledger: %+v", got)
	}

	// The rest refunded: the replacement is reversed too, nothing is owed.
	f.refund(conv.ID, 4999)
	f.drain()
	es = f.entries(conv.ID)
	if len(es) != 2 || len(byStatus(es)[commission.StatusReversed]) != 2 || net(es) != 0 {
		t.Fatalf("after full refund: %+v", es)
	}
}

func TestRefundAfterPaymentClawsBack(t *testing.T) {
	f := newFixture(t, pct(1000))
	conv := f.record(i64(4999))
	f.drain()
	c := f.entries(conv.ID)[0]
	f.clock.Advance(31 * 24 * time.Hour)
	c, a1, err := commission.Approve(c, "usr_admin", f.clock.Now())
	if err != nil {
		t.Fatal(err)
	}
	if err := f.st.ApplyLedgerChange(f.ctx, store.LedgerChange{OrgID: f.org, Updated: []commission.Commission{c}, Audit: []commission.AuditEntry{a1}}); err != nil {
		t.Fatal(err)
	}
	c.Revision++
	f.clock.Advance(time.Hour)
	c, a2, err := commission.MarkPaid(c, "payout-1", "usr_admin", f.clock.Now())
	if err != nil {
		t.Fatal(err)
	}
	if err := f.st.ApplyLedgerChange(f.ctx, store.LedgerChange{OrgID: f.org, Updated: []commission.Commission{c}, Audit: []commission.AuditEntry{a2}}); err != nil {
		t.Fatal(err)
	}
	f.drain()

	f.refund(conv.ID, 1000)
	f.drain()
	es := f.entries(conv.ID)
	if len(es) != 2 || es[0].Status != commission.StatusPaid || es[0].Amount.Amount != 500 {
		t.Fatalf("after refund of a paid commission: %+v", es)
	}
	cb := es[1]
	// −round(500 × 1000 / 4999) = −100, pending, available at once.
	if cb.Kind != commission.KindClawback || cb.Amount.Amount != -100 || cb.Status != commission.StatusPending ||
		cb.OriginalID != c.ID || !cb.AvailableAt.Equal(f.clock.Now()) {
		t.Fatalf("clawback = %+v", cb)
	}

	// The rest, in two refunds that the calculator sees as one (it reads
	// the conversion after both): one clawback of the rest.
	f.clock.Advance(time.Hour)
	f.refund(conv.ID, 3000)
	f.refund(conv.ID, 4999)
	f.drain()
	es = f.entries(conv.ID)
	if len(es) != 3 || es[2].Kind != commission.KindClawback || es[2].Amount.Amount != -400 || net(es) != 0 {
		t.Fatalf("after full refund: %+v", es)
	}
	wantEvents := []string{TypeCommissionApproved, TypeCommissionCreated, TypeCommissionCreated, TypeCommissionCreated, TypeCommissionPaid}
	if got := f.eventTypes(); !slices.Equal(sorted(got), wantEvents) {
		t.Fatalf("events = %v, want %v", got, wantEvents)
	}
}

// A refund that overtakes its conversion (delivered first, or the
// conversion refunded before the calculator ever saw it) is not lost.
func TestRefundOvertakesConversion(t *testing.T) {
	for _, order := range []string{"refund first", "recorded first"} {
		t.Run(order, func(t *testing.T) {
			f := newFixture(t, pct(1000))
			conv := f.record(i64(4999))
			f.refund(conv.ID, 2500)
			msgs := f.pendingMessages()
			if len(msgs) != 2 || msgs[0].Type != TypeConversionRecorded || msgs[1].Type != TypeConversionRefunded {
				t.Fatalf("routed %+v", msgs)
			}
			if order == "refund first" {
				msgs[0], msgs[1] = msgs[1], msgs[0]
			}
			for _, m := range append(msgs, msgs...) {
				if err := f.calc.Handle(f.ctx, m); err != nil {
					t.Fatal(err)
				}
			}
			es := f.entries(conv.ID)
			st := byStatus(es)
			// 500 − round(500 × 2500 / 4999) = 500 − 250
			if len(es) != 2 || len(st[commission.StatusReversed]) != 1 || len(st[commission.StatusPending]) != 1 ||
				st[commission.StatusPending][0].Amount.Amount != 250 {
				t.Fatalf("entries = %+v", es)
			}
			f.drain() // the queued copies find nothing left to do
			if got := f.entries(conv.ID); len(got) != 2 {
				t.Fatalf("after drain: %+v", got)
			}
		})
	}
}

func TestHandleOtherTypes(t *testing.T) {
	f := newFixture(t, pct(1000))
	for _, typ := range []string{TypeCommissionCreated, TypeCommissionApproved, TypeCommissionRejected,
		TypeCommissionPaid, TypeCommissionReversed} {
		if err := f.calc.Handle(f.ctx, Message{ID: "m", Type: typ, OrgID: f.org, EntityID: "x"}); err != nil {
			t.Errorf("%s: %v", typ, err)
		}
	}
	for name, m := range map[string]Message{
		"unknown type":         {ID: "m", Type: "conversion.exploded", OrgID: f.org, EntityID: "cnv_1"},
		"unknown conversion":   {ID: "m", Type: TypeConversionRecorded, OrgID: f.org, EntityID: "cnv_missing"},
		"other organization":   {ID: "m", Type: TypeConversionRecorded, OrgID: "org_2", EntityID: "cnv_1"},
		"conversion not named": {ID: "m", Type: TypeConversionRefunded, OrgID: f.org},
		"unknown deal":         {ID: "m", Type: TypeDealWon, OrgID: f.org, EntityID: "dea_missing"},
		"deal not named":       {ID: "m", Type: TypeDealWon, OrgID: f.org},
	} {
		if err := f.calc.Handle(f.ctx, m); !IsPermanent(err) {
			t.Errorf("%s: %v, want a permanent error", name, err)
		}
	}
	// A body that is not a message is dead-lettered at once.
	if err := f.st.Enqueue(f.ctx, QueueCommissions, []store.QueuedMessage{{ID: "junk", Body: []byte("not json")}}); err != nil {
		t.Fatal(err)
	}
	f.drain()
	if dl := f.deadLetters(QueueCommissions); len(dl) != 1 || dl[0].ID != "junk" || dl[0].ReceiveCount != 1 {
		t.Fatalf("dead letters = %+v", dl)
	}
}

// Thirty conversions under a tiered count rule, each delivered two or
// three times in shuffled order to four concurrent calculators: ordinals
// 1…30 are each given once, and the ledger holds exactly what Compute gives
// over the slots in ordinal order.
func TestTieredCountConcurrentDuplicates(t *testing.T) {
	rule := tiered(domain.BasisCount,
		domain.Tier{UpTo: i64(10), RateBps: i64(1000)},
		domain.Tier{UpTo: i64(20), RateBps: i64(1500)},
		domain.Tier{UpTo: nil, RateBps: i64(2000)})
	f := newFixture(t, rule)
	const n = 30
	values := map[string]int64{}
	var work []Message
	for i := range n {
		v := int64(1000 + 37*i)
		c := f.record(&v)
		values[c.ID] = v
		m := Message{ID: "msg_" + c.ID, Type: TypeConversionRecorded, OrgID: f.org, EntityID: c.ID}
		for range 2 + i%2 {
			work = append(work, m)
		}
	}
	r := rand.New(rand.NewPCG(42, uint64(time.Now().UnixNano())))
	r.Shuffle(len(work), func(i, j int) { work[i], work[j] = work[j], work[i] })

	ch := make(chan Message)
	var wg sync.WaitGroup
	for range 4 {
		wg.Go(func() {
			for m := range ch {
				if err := f.calc.Handle(f.ctx, m); err != nil {
					t.Error(err)
				}
			}
		})
	}
	for _, m := range work {
		ch <- m
	}
	close(ch)
	wg.Wait()

	key := commission.CounterKey{BeneficiaryID: f.referrer.ID, RuleSource: commission.SourceProgram,
		RuleOwnerID: f.program.ID, PeriodKey: commission.PeriodKey(domain.PeriodMonth, start)}.String()
	slots, err := f.st.ListSlots(f.ctx, f.org, key)
	if err != nil {
		t.Fatal(err)
	}
	if len(slots) != n {
		t.Fatalf("%d slots, want %d", len(slots), n)
	}
	var (
		state    commission.RunningState
		expected int64
		ledger   int64
	)
	norm := rule.Normalize()
	for i, s := range slots {
		if s.Ordinal != int64(i+1) || s.State() != state || s.Value != values[s.ConversionID] {
			t.Fatalf("slot %d = %+v, want ordinal %d after %+v with value %d", i, s, i+1, state, values[s.ConversionID])
		}
		v := values[s.ConversionID]
		amount, next, err := commission.Compute(norm, &v, state)
		if err != nil {
			t.Fatal(err)
		}
		state = next
		expected += amount
		es := f.entries(s.ConversionID)
		if len(es) != 1 || es[0].Ordinal != s.Ordinal || es[0].Amount.Amount != amount || es[0].PeriodKey != "2026-03" {
			t.Fatalf("conversion %s (ordinal %d, %d): entries %+v", s.ConversionID, s.Ordinal, amount, es)
		}
		if a := f.audit(es[0].ID); len(a) != 1 {
			t.Fatalf("audit of %s = %+v", es[0].ID, a)
		}
		ledger += es[0].Amount.Amount
	}
	if ledger != expected || expected == 0 {
		t.Fatalf("ledger total %d, recomputed %d", ledger, expected)
	}
	all, _, err := f.st.ListCommissions(f.ctx, f.org, store.CommissionFilter{}, store.Page{Limit: 100})
	if err != nil || len(all) != n || net(all) != expected {
		t.Fatalf("ledger holds %d entries totalling %d, want %d totalling %d (%v)", len(all), net(all), n, expected, err)
	}
}

// Run moves a conversion to the ledger on its own and stops with its
// context.
func TestRun(t *testing.T) {
	f := newFixture(t, pct(1000))
	f.emb.Poll = 10 * time.Millisecond
	ctx, cancel := context.WithCancel(f.ctx)
	done := make(chan error, 1)
	go func() { done <- f.emb.Run(ctx) }()
	conv := f.record(i64(4999))
	deadline := time.Now().Add(5 * time.Second)
	for len(f.entries(conv.ID)) == 0 {
		if time.Now().After(deadline) {
			t.Fatal("Run did not record the commission within 5 s")
		}
		time.Sleep(5 * time.Millisecond)
	}
	cancel()
	select {
	case err := <-done:
		if err != nil {
			t.Fatalf("Run = %v", err)
		}
	case <-time.After(5 * time.Second):
		t.Fatal("Run did not stop")
	}
}

func sorted(s []string) []string {
	s = slices.Clone(s)
	slices.Sort(s)
	return s
}

// TestRunningTotalOverflowIsDeadLetteredAtOnce: a revenue running total
// that cannot take a conversion's value (here a value no longer accepted,
// as an older installation may hold) is never clamped or wrapped: the
// conversion is dead-lettered at its first delivery with the reason, nothing
// is recorded for it, and the running total is left as it was.
func TestRunningTotalOverflowIsDeadLetteredAtOnce(t *testing.T) {
	f := newFixture(t, tiered(domain.BasisRevenue, domain.Tier{UpTo: i64(100000), RateBps: i64(1000)}, domain.Tier{RateBps: i64(1500)}))
	first := f.record(i64(1000))
	f.drain()
	legacy := first
	legacy.ID, legacy.ExternalID, legacy.Amount.Amount = "cnv_legacy", "legacy-order", math.MaxInt64
	if err := f.st.RecordConversion(f.ctx, legacy, nil); err != nil {
		t.Fatal(err)
	}
	f.drain()
	dl := f.deadLetters(QueueCommissions)
	if len(dl) != 1 || dl[0].ReceiveCount != 1 || !strings.Contains(dl[0].LastError, "overflows") {
		t.Fatalf("dead letters = %+v, want the overflowing conversion's, at its first delivery", dl)
	}
	if m, err := DecodeMessage(dl[0].Body); err != nil || m.EntityID != legacy.ID {
		t.Fatalf("dead letter = %+v, %v; want conversion %s", m, err, legacy.ID)
	}
	if es := f.entries(legacy.ID); len(es) != 0 {
		t.Fatalf("the overflowing conversion has entries %+v", es)
	}
	// The running total did not move: the next conversion is the second.
	next := f.record(i64(1000))
	f.drain()
	if es := f.entries(next.ID); len(es) != 1 || es[0].Ordinal != 2 || es[0].Amount.Amount != 100 {
		t.Fatalf("the next conversion's entries = %+v, want ordinal 2 earning 100", es)
	}
}

// A refund of a commission that an open payout run holds (exported to
// accounts payable, perhaps being paid) leaves it approved, to be paid with
// the run as exported, and adds a pending clawback that a later run takes
// back: marking the run paid succeeds, and nothing is owed twice. Were the
// entry reversed instead, the run would be stale (409 on mark-paid) or,
// during payment, stuck half paid.
func TestRefundOfCommissionInPayoutRunClawsBack(t *testing.T) {
	for _, paying := range []bool{false, true} {
		t.Run(map[bool]string{false: "open", true: "paying"}[paying], func(t *testing.T) {
			f := newFixture(t, pct(1000))
			conv := f.record(i64(4999))
			f.drain()
			c := f.entries(conv.ID)[0]
			f.clock.Advance(31 * 24 * time.Hour)
			led := ledger.New(f.st, f.st, f.clock.Now)
			if _, err := led.Approve(f.ctx, f.org, "usr_admin", []string{c.ID}); err != nil {
				t.Fatal(err)
			}
			pay := payouts.New(f.st, f.clock.Now, domain.NewULIDs(f.clock.Now), nil)
			run, err := pay.Create(f.ctx, f.org, "usr_admin")
			if err != nil {
				t.Fatal(err)
			}
			if paying { // the run was being marked paid when the refund came
				run.Status, run.PayoutReference = domain.PayoutRunPaying, "ACH-1"
				if err := f.st.UpdatePayoutRun(f.ctx, run); err != nil {
					t.Fatal(err)
				}
			}

			f.clock.Advance(time.Hour)
			f.refund(conv.ID, 2000)
			f.drain()
			es := f.entries(conv.ID)
			if len(es) != 2 || es[0].ID != c.ID || es[0].Status != commission.StatusApproved || es[0].Amount.Amount != 500 {
				t.Fatalf("after the refund: %+v; want the run's entry still approved", es)
			}
			// −round(500 × 2000 / 4999) = −200, pending, available at once.
			cb := es[1]
			if cb.Kind != commission.KindClawback || cb.Amount.Amount != -200 || cb.Status != commission.StatusPending || cb.OriginalID != c.ID {
				t.Fatalf("clawback = %+v", cb)
			}

			paid, err := pay.MarkPaid(f.ctx, f.org, "usr_admin", run.ID, "ACH-1")
			if err != nil || paid.Status != domain.PayoutRunPaid {
				t.Fatalf("MarkPaid = %+v, %v; want the run paid", paid, err)
			}
			es = f.entries(conv.ID)
			if es[0].Status != commission.StatusPaid || es[0].PayoutReference != "ACH-1" || net(es) != 300 {
				t.Fatalf("after paying the run: %+v; want the entry paid and 300 owed net", es)
			}

			// The rest refunded after payment: one clawback more, nothing owed.
			f.refund(conv.ID, 4999)
			f.drain()
			if es = f.entries(conv.ID); len(es) != 3 || net(es) != 0 {
				t.Fatalf("after the full refund: %+v", es)
			}
		})
	}
}

// A chain clawed back while a run held it keeps being refunded by
// clawbacks once the run is cancelled: reversing its entry then would take
// back twice what the first clawback took.
func TestRefundAfterCancelledRunKeepsClawingBack(t *testing.T) {
	f := newFixture(t, pct(1000))
	conv := f.record(i64(4999))
	f.drain()
	c := f.entries(conv.ID)[0]
	f.clock.Advance(31 * 24 * time.Hour)
	if _, err := ledger.New(f.st, f.st, f.clock.Now).Approve(f.ctx, f.org, "usr_admin", []string{c.ID}); err != nil {
		t.Fatal(err)
	}
	pay := payouts.New(f.st, f.clock.Now, domain.NewULIDs(f.clock.Now), nil)
	run, err := pay.Create(f.ctx, f.org, "usr_admin")
	if err != nil {
		t.Fatal(err)
	}
	f.refund(conv.ID, 2000)
	f.drain()
	if _, err := pay.Cancel(f.ctx, f.org, "usr_admin", run.ID); err != nil {
		t.Fatal(err)
	}
	f.refund(conv.ID, 3000)
	f.drain()
	es := f.entries(conv.ID)
	// 500 − round(500 × 3000 / 4999) = 500 − 300
	if net(es) != 200 || es[0].Status != commission.StatusApproved {
		t.Fatalf("after a second refund: %+v; want 200 owed net", es)
	}
	f.refund(conv.ID, 4999)
	f.drain()
	if es = f.entries(conv.ID); net(es) != 0 {
		t.Fatalf("after the full refund: %+v; want nothing owed", es)
	}
}
