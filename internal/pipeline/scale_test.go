package pipeline

import (
	"fmt"
	"math/rand/v2"
	"os"
	"slices"
	"strconv"
	"sync"
	"testing"
	"time"

	"github.com/partnerloop/partnerloop/internal/commission"
	"github.com/partnerloop/partnerloop/internal/domain"
)

// The size of TestScaleRandomized (-short shrinks it, never skips it). At
// 2000 it takes about 11 s under -race on 2 cores, a third of it recording.
const (
	scaleConversions      = 2000
	scaleConversionsShort = 300
	scaleReferrers        = 20
	scaleWorkers          = 4
	// scaleSpan is roughly the time the conversions are spread over: about
	// three months, so that every referrer's running total crosses months.
	scaleSpan = 75 * 24 * time.Hour
)

// TestScaleRandomized records conversions for 20 referrers — half in a
// program with a monthly tiered count rule (marginal), half in a
// percentage program — at random times over several months, delivers each
// conversion's message 1 to 3 times in shuffled order to 4 concurrent
// calculators, and proves that the ledger holds exactly one commission per
// conversion, that every (referrer, month) running total gave ordinals
// 1…n with none repeated or skipped, and that every amount and the ledger
// total equal an independent recomputation with commission.Compute over the
// slots in ordinal order.
func TestScaleRandomized(t *testing.T) {
	n := scaleConversions
	if testing.Short() {
		n = scaleConversionsShort
	}
	seed := uint64(time.Now().UnixNano())
	if s := os.Getenv("PIPELINE_SCALE_SEED"); s != "" { // to replay a failure
		var err error
		if seed, err = strconv.ParseUint(s, 10, 64); err != nil {
			t.Fatalf("PIPELINE_SCALE_SEED: %v", err)
		}
	}
	t.Logf("%d conversions, seed %d", n, seed)
	r := rand.New(rand.NewPCG(seed, 2000))
	began := time.Now()

	tieredRule := tiered(domain.BasisCount,
		domain.Tier{UpTo: i64(5), Amount: i64(1000)},
		domain.Tier{UpTo: i64(15), RateBps: i64(1500)},
		domain.Tier{UpTo: nil, RateBps: i64(2000)})
	tieredRule.Mode = domain.ModeMarginal
	pctRule := pct(1000)

	f := newFixture(t, tieredRule) // prg_1 (tiered) and rfr_1
	spec := domain.ProgramSpec{
		Name: "Ten percent", LandingURL: "https://example.com/", Currency: "USD", StartsAt: start.AddDate(0, -1, 0),
		AttributionWindowDays: 30, QualifyingEvents: []string{domain.EventPurchase},
		Commission: pctRule, HoldDays: 14,
	}
	if err := spec.Validate(); err != nil {
		t.Fatal(err)
	}
	pctProg, err := domain.NewProgram(f.org, "prg_2", spec, start.AddDate(0, -1, 0)).Transition(domain.ProgramActive, start)
	if err != nil {
		t.Fatal(err)
	}
	if err := f.st.CreateProgram(f.ctx, pctProg); err != nil {
		t.Fatal(err)
	}
	referrers := []domain.Referrer{f.referrer}
	for i := 2; i <= scaleReferrers; i++ {
		prog := f.program.ID
		if i%2 == 0 {
			prog = pctProg.ID
		}
		rf := domain.Referrer{ID: fmt.Sprintf("rfr_%d", i), OrgID: f.org, ProgramID: prog,
			Email: fmt.Sprintf("referrer%d@example.com", i), Name: fmt.Sprintf("Referrer %d", i),
			Code: fmt.Sprintf("SCALE%02d", i), CreatedAt: start}
		if err := f.st.CreateReferrer(f.ctx, rf); err != nil {
			t.Fatal(err)
		}
		referrers = append(referrers, rf)
	}
	norm := tieredRule.Normalize()

	// Record: a random referrer, a random value, the clock moving on by a
	// random step. The conversions go straight to the store (what the
	// tracking service does after its checks) and each (referrer, month)
	// has one referred customer who buys again and again: a new referral
	// and its status change per conversion would double the time recording
	// takes under -race, and the calculator reads neither.
	convs := make(map[string]domain.Conversion, n)
	customers := map[string]string{} // referrer/month → referral ID
	step := int64(scaleSpan) / int64(n)
	for i := range n {
		f.clock.Advance(time.Duration(r.Int64N(2 * step)))
		now := f.clock.Now()
		rf := referrers[r.IntN(len(referrers))]
		c := domain.Conversion{ID: fmt.Sprintf("cnv_%026d", i+1), OrgID: f.org, ProgramID: rf.ProgramID,
			ReferrerID: rf.ID, Event: domain.EventPurchase, Amount: &domain.Money{Amount: 100 + r.Int64N(200_000), Currency: "USD"},
			ExternalID: fmt.Sprintf("order-%d", i), OccurredAt: now, RefundedAmount: domain.Money{Currency: "USD"}, CreatedAt: now}
		var ref *domain.Referral
		customer := rf.ID + "/" + commission.PeriodKey(domain.PeriodMonth, now)
		if c.ReferralID = customers[customer]; c.ReferralID == "" {
			ref = &domain.Referral{ID: fmt.Sprintf("ref_%026d", i+1), OrgID: f.org, ProgramID: rf.ProgramID, ReferrerID: rf.ID,
				Email: fmt.Sprintf("customer%d@example.org", i), Status: domain.ReferralConverted, CreatedAt: now, ConvertedAt: &now}
			c.ReferralID, customers[customer] = ref.ID, ref.ID
		}
		if err := f.st.RecordConversion(f.ctx, c, ref); err != nil {
			t.Fatalf("record conversion %d: %v", i, err)
		}
		convs[c.ID] = c
	}
	recorded := time.Since(began)

	// The messages as the pump would route them, from the whole outbox.
	var msgs []Message
	for after := int64(0); ; {
		changes, err := f.st.Changes(f.ctx, after, 1000)
		if err != nil {
			t.Fatal(err)
		}
		if len(changes) == 0 {
			break
		}
		for _, c := range changes {
			ms, err := Route(c)
			if err != nil {
				t.Fatal(err)
			}
			msgs = append(msgs, ms...)
		}
		after = changes[len(changes)-1].Seq
	}
	if len(msgs) != n {
		t.Fatalf("the outbox routes to %d messages, want %d conversion.recorded", len(msgs), n)
	}

	// Deliver each 1–3 times, shuffled, to 4 concurrent calculators.
	var work []Message
	for _, m := range msgs {
		if m.Type != TypeConversionRecorded || convs[m.EntityID].ID == "" {
			t.Fatalf("unexpected message %+v", m)
		}
		for range 1 + r.IntN(3) {
			work = append(work, m)
		}
	}
	r.Shuffle(len(work), func(i, j int) { work[i], work[j] = work[j], work[i] })
	handleStart := time.Now()
	ch := make(chan Message)
	var wg sync.WaitGroup
	for range scaleWorkers {
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
	handled := time.Since(handleStart)
	if t.Failed() {
		t.FailNow()
	}

	// Exactly one commission per conversion: none missing, none doubled.
	all := allCommissions(t, f.st, f.org)
	byConv := make(map[string]commission.Commission, len(all))
	var ledger int64
	for _, e := range all {
		if prev, dup := byConv[e.ConversionID]; dup {
			t.Fatalf("conversion %s has two commissions: %+v and %+v", e.ConversionID, prev, e)
		}
		c, ok := convs[e.ConversionID]
		if !ok {
			t.Fatalf("commission %s of an unknown conversion", e.ID)
		}
		if e.ID != commission.CommissionID(c.ID, c.ReferrerID, string(commission.KindCommission)) ||
			e.Kind != commission.KindCommission || e.Status != commission.StatusPending ||
			e.ReferrerID != c.ReferrerID || e.ProgramID != c.ProgramID {
			t.Fatalf("conversion %+v: commission %+v", c, e)
		}
		byConv[e.ConversionID] = e
		ledger += e.Amount.Amount
	}
	if len(byConv) != n {
		t.Fatalf("%d commissions for %d conversions", len(byConv), n)
	}

	// The independent recomputation. Group the tiered program's
	// conversions by (referrer, month) from the conversions themselves.
	type group struct{ referrer, period string }
	groups := map[group][]string{}
	var expected int64
	for _, c := range convs {
		if c.ProgramID == pctProg.ID {
			amount, _, err := commission.Compute(pctRule, &c.Amount.Amount, commission.RunningState{})
			if err != nil {
				t.Fatal(err)
			}
			if e := byConv[c.ID]; e.Amount.Amount != amount || e.Ordinal != 0 || e.PeriodKey != "" {
				t.Fatalf("percentage conversion %s of %d: commission %+v, want %d", c.ID, c.Amount.Amount, e, amount)
			}
			expected += amount
			continue
		}
		g := group{c.ReferrerID, commission.PeriodKey(domain.PeriodMonth, c.OccurredAt)}
		groups[g] = append(groups[g], c.ID)
	}
	var periods []string
	longest := 0
	for g, ids := range groups {
		longest = max(longest, len(ids))
		if !slices.Contains(periods, g.period) {
			periods = append(periods, g.period)
		}
		// The ledger's ordinals of the group: exactly 1…len(ids).
		ordinals := make([]int64, 0, len(ids))
		for _, id := range ids {
			e := byConv[id]
			if e.PeriodKey != g.period {
				t.Fatalf("conversion %s (%s, %s): commission period %q", id, g.referrer, g.period, e.PeriodKey)
			}
			ordinals = append(ordinals, e.Ordinal)
		}
		slices.Sort(ordinals)
		for i, o := range ordinals {
			if o != int64(i+1) {
				t.Fatalf("%s in %s: ordinals %v, want 1…%d", g.referrer, g.period, ordinals, len(ids))
			}
		}
		// The slots: the same conversions, in ordinal order, each priced
		// by Compute from the state the slots before it leave.
		key := commission.CounterKey{BeneficiaryID: g.referrer, RuleSource: commission.SourceProgram,
			RuleOwnerID: f.program.ID, PeriodKey: g.period}.String()
		slots, err := f.st.ListSlots(f.ctx, f.org, key)
		if err != nil {
			t.Fatal(err)
		}
		if len(slots) != len(ids) {
			t.Fatalf("%s: %d slots for %d conversions", key, len(slots), len(ids))
		}
		var state commission.RunningState
		slotted := map[string]bool{}
		for i, s := range slots {
			c, ok := convs[s.ConversionID]
			if !ok || slotted[c.ID] || s.Ordinal != int64(i+1) || s.State() != state || s.Value != c.Amount.Amount ||
				c.ReferrerID != g.referrer || commission.PeriodKey(domain.PeriodMonth, c.OccurredAt) != g.period {
				t.Fatalf("%s: slot %d = %+v after %+v (conversion %+v)", key, i, s, state, c)
			}
			slotted[c.ID] = true
			amount, next, err := commission.Compute(norm, &c.Amount.Amount, state)
			if err != nil {
				t.Fatal(err)
			}
			state = next
			if e := byConv[c.ID]; e.Amount.Amount != amount || e.Ordinal != s.Ordinal {
				t.Fatalf("%s: ordinal %d (%d): commission %+v, want %d", key, s.Ordinal, c.Amount.Amount, e, amount)
			}
			expected += amount
		}
	}
	if ledger != expected || expected <= 0 {
		t.Fatalf("ledger total %d, recomputed %d", ledger, expected)
	}
	slices.Sort(periods)
	if len(periods) < 2 || (longest <= 15 && !testing.Short()) {
		t.Fatalf("the conversions span %v, at most %d in one running total; the test wants several months and the last tier reached",
			periods, longest)
	}
	t.Logf("%d deliveries of %d conversions: %d commissions totalling %d, %d (referrer, month) running totals over %v; "+
		"recorded in %v, handled in %v", len(work), n, len(all), ledger, len(groups), periods,
		recorded.Round(time.Millisecond), handled.Round(time.Millisecond))
}
