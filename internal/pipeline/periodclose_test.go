package pipeline

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"sync"
	"testing"
	"time"

	"github.com/partnerloop/partnerloop/internal/commission"
	"github.com/partnerloop/partnerloop/internal/domain"
	"github.com/partnerloop/partnerloop/internal/store"
)

// marchEnd is when the fixture's conversions' month (and quarter) ends.
var marchEnd = time.Date(2026, 4, 1, 0, 0, 0, 0, time.UTC)

// retroRule is the tiered count rule of the period-close tests: the first
// two conversions of a month earn 10 %, every later one 20 %, and at the
// month's close every conversion is re-rated at the tier the month reached.
func retroRule(mode string) domain.CommissionRule {
	r := tiered(domain.BasisCount,
		domain.Tier{UpTo: i64(2), RateBps: i64(1000)}, domain.Tier{UpTo: nil, RateBps: i64(2000)})
	r.Mode = mode
	return r
}

// recordThree records three purchases of 1000 in March and lets the
// calculator price them: 100, 100 and 200 (ordinals 1, 2, 3).
func (f *fixture) recordThree() []domain.Conversion {
	f.t.Helper()
	var convs []domain.Conversion
	for range 3 {
		convs = append(convs, f.record(i64(1000)))
	}
	f.drain()
	for i, want := range []int64{100, 100, 200} {
		es := f.entries(convs[i].ID)
		if len(es) != 1 || es[0].Amount.Amount != want || es[0].Ordinal != int64(i+1) {
			f.t.Fatalf("conversion %d: entries %+v, want one commission of %d (ordinal %d)", i+1, es, want, i+1)
		}
	}
	return convs
}

func (f *fixture) counterKey(period string) commission.CounterKey {
	return commission.CounterKey{BeneficiaryID: f.referrer.ID, RuleSource: commission.SourceProgram,
		RuleOwnerID: f.program.ID, PeriodKey: period}
}

// closeAt runs the period-close job at now and checks how many adjustments
// it recorded.
func (f *fixture) closeAt(now time.Time, want int) {
	f.t.Helper()
	n, err := ClosePeriods(f.ctx, f.st, now, nil)
	if err != nil || n != want {
		f.t.Fatalf("ClosePeriods(%s) = %d, %v; want %d adjustments, no error", now.Format(time.RFC3339), n, err, want)
	}
}

// adjustments lists every adjustment of the ledger.
func (f *fixture) adjustments() []commission.Commission {
	f.t.Helper()
	all, _, err := f.st.ListCommissions(f.ctx, f.org, store.CommissionFilter{}, store.Page{Limit: store.MaxLimit})
	if err != nil {
		f.t.Fatal(err)
	}
	var out []commission.Commission
	for _, c := range all {
		if c.Kind == commission.KindAdjustment {
			out = append(out, c)
		}
	}
	return out
}

// The spec's example: three conversions of 1000 paid 100, 100, 200 as they
// came; the month reached the 20 % tier, so all three are re-rated at 20 %
// (600) and one adjustment of 600 − 400 = +200 is created an hour after the
// month ends — once, however often and however concurrently the job runs.
func TestClosePeriodsRetroactiveAdjustment(t *testing.T) {
	f := newFixture(t, retroRule(domain.ModeRetroactive))
	f.recordThree()

	// Not before the period ends, nor while it settles.
	for _, at := range []time.Time{marchEnd.Add(-time.Hour), marchEnd.Add(-time.Nanosecond), marchEnd, marchEnd.Add(59 * time.Minute)} {
		f.closeAt(at, 0)
	}
	if adj := f.adjustments(); len(adj) != 0 {
		t.Fatalf("adjustments before the month closed: %+v", adj)
	}

	closeAt := marchEnd.Add(time.Hour)
	f.closeAt(closeAt, 1)
	key := f.counterKey("2026-03")
	got, err := f.st.GetCommission(f.ctx, f.org, commission.AdjustmentID(key))
	if err != nil {
		t.Fatal(err)
	}
	want := commission.Commission{
		ID: commission.AdjustmentID(key), OrgID: f.org, Kind: commission.KindAdjustment,
		ProgramID: f.program.ID, ReferrerID: f.referrer.ID,
		Amount: domain.Money{Amount: 200, Currency: "USD"}, Status: commission.StatusPending,
		AvailableAt: marchEnd.AddDate(0, 0, 30),     // the period's end + the program's 30 hold days
		OccurredAt:  marchEnd.Add(-time.Nanosecond), // the period's last instant
		CreatedAt:   closeAt, UpdatedAt: closeAt,
		RuleSource: commission.SourceProgram, RuleVersion: 1, PeriodKey: "2026-03", OriginalAmount: 200,
	}
	if fmt.Sprintf("%+v", got) != fmt.Sprintf("%+v", want) {
		t.Fatalf("adjustment\n got %+v\nwant %+v", got, want)
	}
	if a := f.audit(got.ID); len(a) != 1 || a[0].From != "" || a[0].To != commission.StatusPending ||
		a[0].Actor != commission.ActorSystem || !a[0].At.Equal(closeAt) {
		t.Fatalf("audit = %+v", a)
	}
	// It goes through the pipeline like any entry: commission.created.
	f.drain()
	if n := len(slices.DeleteFunc(f.eventTypes(), func(s string) bool { return s != TypeCommissionCreated })); n != 4 {
		t.Fatalf("events = %v, want 4 commission.created (3 commissions, 1 adjustment)", f.eventTypes())
	}

	// Again, an hour later, and on the catch-up runs of the next month:
	// nothing more.
	for _, at := range []time.Time{closeAt, closeAt.Add(time.Hour), marchEnd.AddDate(0, 1, 10)} {
		f.closeAt(at, 0)
	}
	if adj := f.adjustments(); len(adj) != 1 {
		t.Fatalf("adjustments after the repeats: %+v", adj)
	}
}

func TestClosePeriodsConcurrentRunsCreateOne(t *testing.T) {
	f := newFixture(t, retroRule(domain.ModeRetroactive))
	f.recordThree()
	const runs = 8
	var (
		wg    sync.WaitGroup
		mu    sync.Mutex
		total int
		errs  []error
	)
	for range runs {
		wg.Add(1)
		go func() {
			defer wg.Done()
			n, err := ClosePeriods(f.ctx, f.st, marchEnd.Add(time.Hour), nil)
			mu.Lock()
			defer mu.Unlock()
			total += n
			errs = append(errs, err)
		}()
	}
	wg.Wait()
	if err := errors.Join(errs...); err != nil || total != 1 {
		t.Fatalf("%d concurrent runs created %d adjustments (%v), want 1", runs, total, err)
	}
	if adj := f.adjustments(); len(adj) != 1 || adj[0].Amount.Amount != 200 {
		t.Fatalf("adjustments = %+v", adj)
	}
}

func TestClosePeriodsMarginalModeHasNoAdjustment(t *testing.T) {
	f := newFixture(t, retroRule(domain.ModeMarginal))
	f.recordThree()
	f.closeAt(marchEnd.Add(time.Hour), 0)
	if adj := f.adjustments(); len(adj) != 0 {
		t.Fatalf("a marginal rule was adjusted: %+v", adj)
	}
}

// Refunds and rejections as commission.RetroactiveAdjustment defines them:
// every conversion still counts toward the final total (3: the 20 % tier);
// one refunded in full or rejected earns nothing; a partial refund reduces
// the re-rated amount as it reduced the commission; what the ledger holds
// is what the conversion's entries net to.
func TestClosePeriodsRefundsAndRejections(t *testing.T) {
	t.Run("refunds", func(t *testing.T) {
		f := newFixture(t, retroRule(domain.ModeRetroactive))
		convs := f.recordThree()
		f.refund(convs[0].ID, 1000) // in full: reversed, holds 0; re-rated: nothing
		f.refund(convs[1].ID, 500)  // half: 100 → replacement of 50; re-rated 200 − 100 = 100
		// The calculator has not applied the refunds yet: the period waits.
		f.closeAt(marchEnd.Add(time.Hour), 0)

		f.drain()
		if es := f.entries(convs[1].ID); net(es) != 50 {
			t.Fatalf("half-refunded conversion: %+v", es)
		}
		f.closeAt(marchEnd.Add(2*time.Hour), 1)
		// Holds 0 + 50 + 200 = 250; re-rated 0 + 100 + 200 = 300.
		if adj := f.adjustments(); len(adj) != 1 || adj[0].Amount.Amount != 50 {
			t.Fatalf("adjustments = %+v, want one of +50", adj)
		}
	})
	t.Run("rejected", func(t *testing.T) {
		f := newFixture(t, retroRule(domain.ModeRetroactive))
		convs := f.recordThree()
		c := f.entries(convs[0].ID)[0]
		rej, a, err := commission.Reject(c, "fraudulent order", "usr_admin", f.clock.Now())
		if err != nil {
			t.Fatal(err)
		}
		if err := f.st.ApplyLedgerChange(f.ctx, store.LedgerChange{OrgID: f.org, Updated: []commission.Commission{rej}, Audit: []commission.AuditEntry{a}}); err != nil {
			t.Fatal(err)
		}
		f.closeAt(marchEnd.Add(time.Hour), 1)
		// Holds 0 + 100 + 200 = 300; re-rated 0 + 200 + 200 = 400.
		if adj := f.adjustments(); len(adj) != 1 || adj[0].Amount.Amount != 100 {
			t.Fatalf("adjustments = %+v, want one of +100", adj)
		}
	})
}

// A conversion that holds a slot of the period but whose commission the
// calculator has not recorded yet (its message still queued or retried)
// keeps the period open until it has.
func TestClosePeriodsWaitsForUnpricedConversions(t *testing.T) {
	f := newFixture(t, retroRule(domain.ModeRetroactive))
	var convs []domain.Conversion
	for range 2 {
		convs = append(convs, f.record(i64(1000)))
	}
	f.drain()
	late := f.record(i64(1000))
	// The calculator took the slot, then its delivery failed.
	if _, err := f.st.AssignSlot(f.ctx, f.org, f.counterKey("2026-03").String(), late.ID, 1000); err != nil {
		t.Fatal(err)
	}
	f.closeAt(marchEnd.Add(time.Hour), 0)

	f.drain()
	if es := f.entries(late.ID); len(es) != 1 || es[0].Amount.Amount != 200 {
		t.Fatalf("late conversion: %+v", es)
	}
	f.closeAt(marchEnd.Add(2*time.Hour), 1)
	if adj := f.adjustments(); len(adj) != 1 || adj[0].Amount.Amount != 200 {
		t.Fatalf("adjustments = %+v, want one of +200", adj)
	}
}

// The most recently ended period and the one before it are closed (a run
// after downtime catches up), older ones are not visited again; quarters
// and years close like months; running totals of partner and tier rules,
// and of programs that do not exist, are left alone.
func TestClosePeriodsWhichPeriods(t *testing.T) {
	t.Run("catch up", func(t *testing.T) {
		f := newFixture(t, retroRule(domain.ModeRetroactive))
		f.recordThree()
		f.closeAt(time.Date(2026, 6, 2, 0, 0, 0, 0, time.UTC), 0) // March is too old by June
		f.closeAt(time.Date(2026, 5, 20, 0, 0, 0, 0, time.UTC), 1)
	})
	t.Run("quarter", func(t *testing.T) {
		rule := retroRule(domain.ModeRetroactive)
		rule.Period = domain.PeriodQuarter
		f := newFixture(t, rule)
		f.recordThree()
		f.closeAt(marchEnd.Add(time.Hour), 1)
		if _, err := f.st.GetCommission(f.ctx, f.org, commission.AdjustmentID(f.counterKey("2026-Q1"))); err != nil {
			t.Fatalf("the quarter's adjustment: %v", err)
		}
	})
	t.Run("other rules", func(t *testing.T) {
		f := newFixture(t, retroRule(domain.ModeRetroactive))
		conv := f.record(i64(1000))
		for _, key := range []string{
			commission.CounterKey{BeneficiaryID: "ptn_1", RuleSource: commission.SourceTier, RuleOwnerID: "tie_1", PeriodKey: "2026-03"}.String(),
			commission.CounterKey{BeneficiaryID: "ptn_1", RuleSource: commission.SourcePartner, RuleOwnerID: "ptn_1", PeriodKey: "2026-03"}.String(),
			commission.CounterKey{BeneficiaryID: f.referrer.ID, RuleSource: commission.SourceProgram, RuleOwnerID: "prg_gone", PeriodKey: "2026-03"}.String(),
			"garbage/2026-03",
		} {
			for range 3 {
				if _, err := f.st.AssignSlot(f.ctx, f.org, key, conv.ID+key, 1000); err != nil {
					t.Fatal(err)
				}
			}
		}
		f.closeAt(marchEnd.Add(time.Hour), 0)
	})
}

func TestClosablePeriods(t *testing.T) {
	for _, tc := range []struct {
		now  time.Time
		want []string
	}{
		{marchEnd.Add(time.Hour), []string{"2026-02", "2026-03", "2025-Q4", "2026-Q1", "2024", "2025"}},
		{marchEnd.Add(30 * time.Minute), []string{"2026-02", "2025-Q4", "2024", "2025"}}, // March still settles
		{time.Date(2026, 1, 1, 1, 0, 0, 0, time.UTC), []string{"2025-11", "2025-12", "2025-Q3", "2025-Q4", "2024", "2025"}},
		{time.Date(2026, 5, 17, 8, 0, 0, 0, time.UTC), []string{"2026-03", "2026-04", "2025-Q4", "2026-Q1", "2024", "2025"}},
	} {
		if got := closablePeriods(tc.now); !slices.Equal(got, tc.want) {
			t.Errorf("closablePeriods(%s) = %q, want %q", tc.now.Format(time.RFC3339), got, tc.want)
		}
	}
}

// RunPeriodClose closes at once, again on every tick, and stops with its
// context.
func TestRunPeriodClose(t *testing.T) {
	f := newFixture(t, retroRule(domain.ModeRetroactive))
	f.recordThree()
	var mu sync.Mutex
	now := marchEnd.Add(-time.Hour) // not closable yet
	clock := func() time.Time { mu.Lock(); defer mu.Unlock(); return now }
	ctx, cancel := context.WithCancel(f.ctx)
	done := make(chan struct{})
	go func() { defer close(done); RunPeriodClose(ctx, f.st, clock, 5*time.Millisecond, nil) }()

	time.Sleep(50 * time.Millisecond)
	if adj := f.adjustments(); len(adj) != 0 {
		t.Fatalf("adjusted before the month closed: %+v", adj)
	}
	mu.Lock()
	now = marchEnd.Add(time.Hour)
	mu.Unlock()
	deadline := time.Now().Add(10 * time.Second)
	for len(f.adjustments()) == 0 {
		if time.Now().After(deadline) {
			t.Fatal("no adjustment after the month closed")
		}
		time.Sleep(5 * time.Millisecond)
	}
	cancel()
	select {
	case <-done:
	case <-time.After(10 * time.Second):
		t.Fatal("RunPeriodClose did not stop with its context")
	}
	if adj := f.adjustments(); len(adj) != 1 {
		t.Fatalf("adjustments = %+v, want one", adj)
	}
}
