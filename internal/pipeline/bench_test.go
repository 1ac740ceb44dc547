package pipeline

import (
	"context"
	"fmt"
	"testing"
	"time"

	"github.com/partnerloop/partnerloop/internal/commission"
	"github.com/partnerloop/partnerloop/internal/domain"
	"github.com/partnerloop/partnerloop/internal/store"
	"github.com/partnerloop/partnerloop/internal/tracking"
)

// benchRules are the rules the benchmarks price conversions under: a
// percentage rule, and a tiered count rule whose every conversion takes a
// running-total slot (all of them fall on one referrer and one month).
var benchRules = []struct {
	name string
	rule domain.CommissionRule
}{
	{"percentage", pct(1000)},
	{"tiered count", tiered(domain.BasisCount,
		domain.Tier{UpTo: i64(10), RateBps: i64(1000)},
		domain.Tier{UpTo: i64(100), RateBps: i64(1500)},
		domain.Tier{UpTo: nil, RateBps: i64(2000)})},
}

// recordN records n purchases of 49.99 for new contacts through the
// tracking service (each with its referral, as a coupon code at checkout
// does) and returns the conversion.recorded message of each.
func (f *fixture) recordN(n int) []Message {
	f.t.Helper()
	msgs := make([]Message, n)
	for i := range n {
		c, created, err := f.track.RecordConversion(f.ctx, f.org, tracking.ConversionInput{
			Code: f.referrer.Code, Email: fmt.Sprintf("buyer%d@example.org", i), Event: domain.EventPurchase,
			Amount: &domain.MoneyInput{Amount: 4999}, ExternalID: fmt.Sprintf("order-%d", i)})
		if err != nil || !created {
			f.t.Fatalf("record conversion %d: %v (created %v)", i, err, created)
		}
		msgs[i] = Message{ID: "msg_" + c.ID, Type: TypeConversionRecorded, OrgID: f.org, EntityID: c.ID, At: c.CreatedAt}
	}
	return msgs
}

// allCommissions pages through the organization's whole ledger.
func allCommissions(tb testing.TB, st store.Ledger, org string) []commission.Commission {
	tb.Helper()
	var all []commission.Commission
	page := store.Page{Limit: store.MaxLimit}
	for {
		es, next, err := st.ListCommissions(context.Background(), org, store.CommissionFilter{}, page)
		if err != nil {
			tb.Fatal(err)
		}
		all = append(all, es...)
		if next == "" {
			return all
		}
		page.Cursor = next
	}
}

// checkOnePerConversion fails the benchmark unless the ledger holds
// exactly one commission for each of msgs' conversions, and nothing else.
func checkOnePerConversion(b *testing.B, st store.Ledger, org string, msgs []Message) {
	b.Helper()
	all := allCommissions(b, st, org)
	if len(all) != len(msgs) {
		b.Fatalf("%d commissions for %d conversions", len(all), len(msgs))
	}
	seen := make(map[string]bool, len(all))
	for _, e := range all {
		if seen[e.ConversionID] || e.Kind != commission.KindCommission || e.Amount.Amount <= 0 {
			b.Fatalf("unexpected ledger entry %+v (seen before: %v)", e, seen[e.ConversionID])
		}
		seen[e.ConversionID] = true
	}
	for _, m := range msgs {
		if !seen[m.EntityID] {
			b.Fatalf("conversion %s has no commission", m.EntityID)
		}
	}
}

// BenchmarkCalculator times Calculator.Handle of one conversion.recorded
// message per conversion, the conversions recorded beforehand (untimed).
// One op is one conversion priced and written to the ledger.
func BenchmarkCalculator(b *testing.B) {
	for _, bc := range benchRules {
		b.Run(bc.name, func(b *testing.B) {
			f := newFixture(b, bc.rule)
			msgs := f.recordN(b.N)
			calc := NewCalculator(f.st, f.clock.Now, NoPartnerRules{})
			b.ReportAllocs()
			b.ResetTimer()
			for i := range b.N {
				if err := calc.Handle(f.ctx, msgs[i]); err != nil {
					b.Fatal(err)
				}
			}
			b.StopTimer()
			b.ReportMetric(float64(b.N)/b.Elapsed().Seconds(), "conversions/s")
			checkOnePerConversion(b, f.st, f.org, msgs)
		})
	}
}

// BenchmarkEmbeddedPipeline times the whole embedded pipeline on SQLite
// for conversions recorded beforehand (untimed): the outbox pumped into the
// queues, the commissions worker running the calculator, the commission
// inserts pumped again as notifications and acknowledged — Drain until
// everything is at rest. One op is one conversion.
func BenchmarkEmbeddedPipeline(b *testing.B) {
	for _, bc := range benchRules {
		b.Run(bc.name, func(b *testing.B) {
			f := newFixture(b, bc.rule)
			msgs := f.recordN(b.N)
			emb := NewEmbedded(f.st, f.st, NewCalculator(f.st, f.clock.Now, NoPartnerRules{}), nil)
			ctx, cancel := context.WithTimeout(f.ctx, 10*time.Minute)
			defer cancel()
			b.ReportAllocs()
			b.ResetTimer()
			if err := emb.Drain(ctx); err != nil {
				b.Fatal(err)
			}
			b.StopTimer()
			b.ReportMetric(float64(b.N)/b.Elapsed().Seconds(), "conversions/s")
			checkOnePerConversion(b, f.st, f.org, msgs)
			for _, q := range []string{QueueCommissions, QueueEvents} {
				if dl, _, err := f.st.DeadLetters(f.ctx, q, store.Page{}); err != nil || len(dl) != 0 {
					b.Fatalf("dead letters in %s: %+v, %v", q, dl, err)
				}
			}
			if changes, err := f.st.Changes(f.ctx, 0, 1); err != nil || len(changes) != 0 {
				b.Fatalf("outbox not drained: %+v, %v", changes, err)
			}
		})
	}
}

// BenchmarkRouteAndPrepare times what the embedded pump does with a batch
// of 64 new conversions before its write transaction: route their outbox
// changes and prepare their pricing (PrepareBatch without the write step,
// so every round prices them again). One op is one batch.
func BenchmarkRouteAndPrepare(b *testing.B) {
	f := newFixture(b, pct(1000))
	f.recordN(EmbeddedBatch)
	changes, err := f.st.Changes(f.ctx, 0, 1000)
	if err != nil {
		b.Fatal(err)
	}
	calc := NewCalculator(f.st, f.clock.Now, NoPartnerRules{})
	b.ReportAllocs()
	b.ResetTimer()
	for range b.N {
		var work []Message
		for _, c := range changes {
			msgs, err := Route(c)
			if err != nil {
				b.Fatal(err)
			}
			work = append(work, msgs...)
		}
		if len(work) != EmbeddedBatch {
			b.Fatalf("%d messages routed, want %d", len(work), EmbeddedBatch)
		}
		calc.PrepareBatch(f.ctx, work)
	}
}
