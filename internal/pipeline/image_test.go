package pipeline

import (
	"bytes"
	"context"
	"log/slog"
	"reflect"
	"strings"
	"sync/atomic"
	"testing"

	"github.com/partnerloop/partnerloop/internal/domain"
	"github.com/partnerloop/partnerloop/internal/store"
	"github.com/partnerloop/partnerloop/internal/store/sqlite"
)

// Route reads a whole conversion from a conversion INSERT's image
// (Message.conv) when it can, and routes as before when it cannot; the
// conversion never travels through a queue.
func TestRouteCarriesTheRecordedConversion(t *testing.T) {
	const whole = `{"id":"cnv_1","organizationId":"org_1","referralId":"ref_1","programId":"prg_1","referrerId":"rfr_1",` +
		`"partnerId":"","event":"purchase","amount":{"amount":4999,"currency":"USD"},"externalId":"order-1",` +
		`"occurredAt":"2026-03-15T12:00:00Z","refundedAmount":{"amount":0,"currency":""},"createdAt":"2026-03-15T12:00:01Z"}`
	msgs, err := Route(change("conversion", "INSERT", "cnv_1", "", whole))
	if err != nil || len(msgs) != 1 || msgs[0].conv == nil {
		t.Fatalf("Route(whole image) = %+v, %v", msgs, err)
	}
	if c := msgs[0].conv; c.ID != "cnv_1" || c.OrgID != "org_1" || c.ReferralID != "ref_1" || c.ReferrerID != "rfr_1" ||
		c.Event != "purchase" || c.Amount == nil || c.Amount.Amount != 4999 || !c.OccurredAt.Equal(at) {
		t.Fatalf("conversion = %+v", c)
	}
	b, err := msgs[0].Encode()
	if err != nil {
		t.Fatal(err)
	}
	if strings.Contains(string(b), "rfr_1") {
		t.Fatalf("the conversion is encoded with the message: %s", b)
	}
	if m, err := DecodeMessage(b); err != nil || m.conv != nil {
		t.Fatalf("decoded message = %+v, %v; want no conversion", m, err)
	}

	// Images the calculator must not price from: it reads the conversion.
	for name, img := range map[string]string{
		"no organization (an older image)":  strings.Replace(whole, `"organizationId":"org_1",`, "", 1),
		"another conversion":                strings.Replace(whole, `"id":"cnv_1"`, `"id":"cnv_2"`, 1),
		"no occurredAt":                     strings.Replace(whole, `"occurredAt":"2026-03-15T12:00:00Z",`, "", 1),
		"no program":                        strings.Replace(whole, `"programId":"prg_1",`, "", 1),
		"refunded":                          strings.Replace(whole, `"refundedAmount":{"amount":0`, `"refundedAmount":{"amount":1`, 1),
		"stamped refunded":                  strings.Replace(whole, `"createdAt"`, `"refundedAt":"2026-03-15T13:00:00Z","createdAt"`, 1),
		"amount unreadable as a conversion": strings.Replace(whole, `"amount":{"amount":4999,"currency":"USD"}`, `"amount":"49.99"`, 1),
		"only what routing reads":           conv(0),
	} {
		msgs, err := Route(change("conversion", "INSERT", "cnv_1", "", img))
		if err != nil || len(msgs) != 1 || msgs[0].Type != TypeConversionRecorded {
			t.Errorf("%s: Route = %+v, %v", name, msgs, err)
			continue
		}
		if msgs[0].conv != nil {
			t.Errorf("%s: carries %+v, want none", name, msgs[0].conv)
		}
		if p := msgs[0].Payload; !bytes.Contains(p, []byte(`"conversionId":"cnv_1"`)) || name != "no program" && !bytes.Contains(p, []byte(`"programId":"prg_1"`)) {
			t.Errorf("%s: payload %s", name, p)
		}
	}
}

// readCounter counts the calculator's reads of conversions.
type readCounter struct {
	*sqlite.Store
	one, many atomic.Int64
}

func (r *readCounter) GetConversion(ctx context.Context, orgID, id string) (domain.Conversion, error) {
	r.one.Add(1)
	return r.Store.GetConversion(ctx, orgID, id)
}

func (r *readCounter) GetConversions(ctx context.Context, orgID string, ids []string) (map[string]domain.Conversion, error) {
	r.many.Add(int64(len(ids)))
	return r.Store.GetConversions(ctx, orgID, ids)
}

// The pump prices the conversions it routes from their images: it reads
// none of them, alone in its batch or with others.
func TestPumpPricesFromTheImageWithoutReading(t *testing.T) {
	f := newFixture(t, pct(1000))
	rc := &readCounter{Store: f.st}
	f.setCalculator(rc)
	var ids []string
	for _, n := range []int{1, 3} {
		for range n {
			ids = append(ids, f.record(i64(5000)).ID)
		}
		f.drain()
	}
	for _, id := range ids {
		if es := f.entries(id); len(es) != 1 || es[0].Amount.Amount != 500 {
			t.Fatalf("conversion %s: entries %+v, want one of 500", id, es)
		}
	}
	if rc.one.Load() != 0 || rc.many.Load() != 0 {
		t.Fatalf("conversions read: %d one by one, %d in batches; want none", rc.one.Load(), rc.many.Load())
	}
}

// noPrune keeps every change in the outbox, so that a new pump reads them
// all again, as after a crash before pruning (or while the analytics
// rollup holds them).
type noPrune struct{ store.Outbox }

func (noPrune) PruneChanges(context.Context, int64) error { return nil }

// Pricing from the images gives the ledger that pricing from a fresh read
// of each conversion gives, whatever the conversion went through before
// the pump saw its insert, and however the batches fall.
func TestImagePricingMatchesAFreshRead(t *testing.T) {
	flat := int64(2500)
	tieredRule := tiered(domain.BasisCount, domain.Tier{UpTo: i64(2), RateBps: i64(1000)}, domain.Tier{UpTo: nil, RateBps: i64(2000)})
	type scenario struct {
		rule  domain.CommissionRule
		batch int // the pump's batch (0: the default)
		run   func(f *fixture) []string
	}
	// refundedBefore records three conversions, refunds the first before
	// the pump runs, then drains.
	refundedBefore := func(amount *int64, refunded int64) func(f *fixture) []string {
		return func(f *fixture) []string {
			ids := []string{f.record(amount).ID, f.record(amount).ID, f.record(amount).ID}
			f.refund(ids[0], refunded)
			f.drain()
			return ids
		}
	}
	for name, sc := range map[string]scenario{
		"refund in the same batch":               {pct(1000), 0, refundedBefore(i64(4999), 2500)},
		"refund in a later batch":                {pct(1000), 1, refundedBefore(i64(4999), 2500)},
		"refund in the same batch, tiered":       {tieredRule, 0, refundedBefore(i64(4999), 4999)},
		"refund in a later batch, tiered":        {tieredRule, 2, refundedBefore(i64(4999), 4999)},
		"no value, refund in the same batch":     {domain.CommissionRule{Type: domain.RuleFlat, Amount: &flat}, 0, refundedBefore(nil, 0)},
		"no value, refund in a later batch":      {domain.CommissionRule{Type: domain.RuleFlat, Amount: &flat}, 1, refundedBefore(nil, 0)},
		"refund after pricing, then a replay":    {pct(1000), 0, replayed},
		"refund after pricing, replayed by ones": {tieredRule, 1, replayed},
	} {
		t.Run(name, func(t *testing.T) {
			var ledgers [2]map[string]any
			var logs [2]string
			for i, fresh := range []bool{true, false} {
				f := newFixture(t, sc.rule)
				var buf bytes.Buffer
				f.emb.Pump.Log = slog.New(slog.NewTextHandler(&buf, nil))
				f.emb.Pump.Batch = sc.batch
				f.emb.Pump.Outbox = noPrune{f.st}
				if fresh { // as before images: every conversion read
					prepare := f.emb.Commissions.Prepare
					f.emb.Commissions.Prepare = func(ctx context.Context, msgs []Message) func(context.Context) []error {
						for i := range msgs {
							msgs[i].conv = nil
						}
						return prepare(ctx, msgs)
					}
				}
				ids := sc.run(f)
				for _, q := range []string{QueueCommissions, QueueEvents} {
					if dl := f.deadLetters(q); len(dl) != 0 {
						t.Fatalf("fresh %v: dead letters in %s: %+v", fresh, q, dl)
					}
				}
				ledger := map[string]any{}
				for j, id := range ids {
					es := f.entries(id)
					if len(es) == 0 || j == 0 && net(es) == es[0].Amount.Amount {
						t.Fatalf("fresh %v: conversion %d unpriced or its refund not reconciled: %+v", fresh, j, es)
					}
					ledger[id] = es
				}
				ledgers[i], logs[i] = ledger, buf.String()
			}
			if !reflect.DeepEqual(ledgers[0], ledgers[1]) {
				t.Fatalf("ledgers differ:\nfresh read %+v\nimage      %+v", ledgers[0], ledgers[1])
			}
			if strings.Contains(name, "later batch") && logs[1] != "" {
				t.Fatalf("pricing from images, the pump logged:\n%s", logs[1])
			}
		})
	}
}

// replayed prices two conversions, refunds one and reconciles it, then
// runs a new pipeline over the same outbox — a restart that reads every
// change again — which must change nothing.
func replayed(f *fixture) []string {
	ids := []string{f.record(i64(4999)).ID, f.record(i64(4999)).ID}
	f.drain()
	f.refund(ids[0], 1000)
	f.drain()
	before := map[string]any{}
	for _, id := range ids {
		before[id] = f.entries(id)
	}
	old := f.emb
	f.setCalculator(f.st)
	f.emb.Pump.Outbox, f.emb.Pump.Batch, f.emb.Pump.Log = old.Pump.Outbox, old.Pump.Batch, old.Pump.Log
	f.emb.Commissions.Prepare = old.Commissions.Prepare
	f.drain()
	for _, id := range ids {
		if got := f.entries(id); !reflect.DeepEqual(got, before[id]) {
			f.t.Fatalf("conversion %s after the replay: %+v, want %+v", id, got, before[id])
		}
	}
	return ids
}
