package pipeline

import (
	"errors"
	"testing"
	"time"

	"github.com/partnerloop/partnerloop/internal/commission"
	"github.com/partnerloop/partnerloop/internal/domain"
	"github.com/partnerloop/partnerloop/internal/tracking"
)

func recurringPct(bps int64, months *int) domain.CommissionRule {
	r := pct(bps)
	r.Recurring = &domain.Recurring{Months: months}
	return r
}

func intp(n int) *int { return &n }

// renewal records a renewal of the referral at occurredAt (the clock is moved
// past it first, so it is not in the future).
func (f *fixture) renewal(referralID, externalID string, amount int64, at time.Time) (domain.Conversion, error) {
	f.t.Helper()
	if now := f.clock.Now(); now.Before(at) {
		f.clock.Advance(at.Sub(now))
	}
	c, _, err := f.track.RecordConversion(f.ctx, f.org, tracking.ConversionInput{ReferralID: referralID,
		Event: domain.EventRenewal, Amount: &domain.MoneyInput{Amount: amount}, ExternalID: externalID, OccurredAt: &at})
	return c, err
}

func (f *fixture) mustRenewal(referralID, externalID string, amount int64, at time.Time) domain.Conversion {
	f.t.Helper()
	c, err := f.renewal(referralID, externalID, amount, at)
	if err != nil {
		f.t.Fatalf("renewal %s: %v", externalID, err)
	}
	return c
}

// amounts are the commission amounts recorded for each conversion, 0 for none.
func (f *fixture) amounts(convs ...domain.Conversion) []int64 {
	f.t.Helper()
	out := make([]int64, len(convs))
	for i, c := range convs {
		out[i] = net(f.entries(c.ID))
	}
	return out
}

func TestRenewalsEarnInsideTheRecurringWindowOnly(t *testing.T) {
	f := newFixture(t, recurringPct(1000, intp(3)))
	first := f.record(i64(10000)) // at start: 15 March 12:00 UTC
	end := domain.AddMonths(first.OccurredAt, 3)
	in1 := f.mustRenewal(first.ReferralID, "in_apr", 10000, first.OccurredAt.AddDate(0, 1, 0))
	in2 := f.mustRenewal(first.ReferralID, "in_last", 10000, end.Add(-time.Second))
	atEnd := f.mustRenewal(first.ReferralID, "in_end", 10000, end)
	after := f.mustRenewal(first.ReferralID, "in_after", 10000, end.Add(time.Second))
	f.drain()
	if got, want := f.amounts(first, in1, in2, atEnd, after), []int64{1000, 1000, 1000, 0, 0}; !equal(got, want) {
		t.Fatalf("commissions = %v, want %v (window ends %s)", got, want, end)
	}
	// Each renewal is its own ledger entry, linked to its own conversion.
	for _, c := range []domain.Conversion{in1, in2} {
		es := f.entries(c.ID)
		if len(es) != 1 || es[0].ConversionID != c.ID || es[0].Kind != commission.KindCommission || es[0].Status != commission.StatusPending {
			t.Fatalf("entries of renewal %s = %+v", c.ExternalID, es)
		}
	}
	// The renewals outside the window are still recorded (they count as revenue).
	if atEnd.ID == "" || after.Event != domain.EventRenewal {
		t.Fatalf("renewals outside the window were not recorded: %+v %+v", atEnd, after)
	}
}

func TestLifetimeRenewalsAndRuleInForce(t *testing.T) {
	f := newFixture(t, recurringPct(1000, nil))
	first := f.record(i64(10000))
	r1 := f.mustRenewal(first.ReferralID, "in_1", 10000, first.OccurredAt.AddDate(0, 1, 0))
	f.drain()

	// The rule is edited: 20 % from now on, still for life. A renewal is
	// priced by the rule in force when it occurs, earlier ones keep theirs.
	f.clock.Advance(time.Hour)
	p, err := f.st.GetProgram(f.ctx, f.org, f.program.ID)
	if err != nil {
		t.Fatal(err)
	}
	spec := p.Spec()
	spec.Commission = recurringPct(2000, nil)
	if p, err = p.Update(spec, f.clock.Now()); err != nil {
		t.Fatal(err)
	}
	if err := f.st.UpdateProgram(f.ctx, p); err != nil {
		t.Fatal(err)
	}
	r2 := f.mustRenewal(first.ReferralID, "in_2", 10000, first.OccurredAt.AddDate(5, 0, 0))
	f.drain()
	if got, want := f.amounts(first, r1, r2), []int64{1000, 1000, 2000}; !equal(got, want) {
		t.Fatalf("commissions = %v, want %v", got, want)
	}

	// Recurring switched off: later renewals earn nothing.
	f.clock.Advance(time.Hour)
	if p, err = f.st.GetProgram(f.ctx, f.org, f.program.ID); err != nil {
		t.Fatal(err)
	}
	spec.Commission = pct(2000)
	if p, err = p.Update(spec, f.clock.Now()); err != nil {
		t.Fatal(err)
	}
	if err := f.st.UpdateProgram(f.ctx, p); err != nil {
		t.Fatal(err)
	}
	r3 := f.mustRenewal(first.ReferralID, "in_3", 10000, f.clock.Now().Add(time.Minute))
	f.drain()
	if got := f.amounts(r3); got[0] != 0 {
		t.Fatalf("a renewal under a rule without recurring earned %d", got[0])
	}
}

func TestRefundOfOneRenewalReversesOnlyItsCommission(t *testing.T) {
	f := newFixture(t, recurringPct(1000, intp(12)))
	first := f.record(i64(10000))
	r1 := f.mustRenewal(first.ReferralID, "in_1", 10000, first.OccurredAt.AddDate(0, 1, 0))
	r2 := f.mustRenewal(first.ReferralID, "in_2", 10000, first.OccurredAt.AddDate(0, 2, 0))
	f.drain()
	f.refund(r1.ID, 10000)
	f.drain()
	if got, want := f.amounts(first, r1, r2), []int64{1000, 0, 1000}; !equal(got, want) {
		t.Fatalf("net commissions after refunding one renewal = %v, want %v", got, want)
	}
	if es := f.entries(r1.ID); len(es) != 1 || es[0].Status != commission.StatusReversed {
		t.Fatalf("the refunded renewal's entries = %+v", es)
	}
}

func TestRenewalWithoutAFirstPaymentIsRefused(t *testing.T) {
	f := newFixture(t, recurringPct(1000, nil))
	signup := f.record(nil) // a signup: no paid conversion yet
	_, err := f.renewal(signup.ReferralID, "in_x", 5000, f.clock.Now())
	var de *domain.Error
	if !errors.As(err, &de) || de.Code != domain.ReasonNoFirstPayment || de.Kind != domain.KindInvalid {
		t.Fatalf("renewal before any payment: %v, want 422 %s", err, domain.ReasonNoFirstPayment)
	}
	f.drain()
	if es := f.entries(signup.ID); len(es) != 0 {
		t.Fatalf("a signup under a percentage rule earned %+v", es)
	}
}

func TestTieredCountRuleCountsPayingRenewalsInTheirPeriod(t *testing.T) {
	rule := domain.CommissionRule{Type: domain.RuleTiered, Basis: domain.BasisCount, Period: domain.PeriodMonth,
		Tiers:     []domain.Tier{{UpTo: i64(1), Amount: i64(100)}, {Amount: i64(300)}},
		Recurring: &domain.Recurring{Months: intp(1)}}
	f := newFixture(t, rule)
	first := f.record(i64(10000))                                                            // ordinal 1 of March: 100
	r1 := f.mustRenewal(first.ReferralID, "in_1", 10000, first.OccurredAt.Add(24*time.Hour)) // ordinal 2 of March: 300
	r2 := f.mustRenewal(first.ReferralID, "in_2", 10000, first.OccurredAt.AddDate(0, 2, 0))  // outside: no slot
	second := f.record(i64(10000))                                                           // in May: ordinal 1 of May, not 2
	f.drain()
	if got, want := f.amounts(first, r1, r2, second), []int64{100, 300, 0, 100}; !equal(got, want) {
		t.Fatalf("commissions = %v, want %v", got, want)
	}
}

func equal(a, b []int64) bool {
	if len(a) != len(b) {
		return false
	}
	for i := range a {
		if a[i] != b[i] {
			return false
		}
	}
	return true
}
