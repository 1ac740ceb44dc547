package commission_test

import (
	"math/big"
	"math/rand/v2"
	"testing"

	"github.com/partnerloop/partnerloop/internal/commission"
	"github.com/partnerloop/partnerloop/internal/domain"
)

// randomTiers returns 1–5 valid tiers: increasing bounds with steps of 1 to
// maxStep, rates of 1 to 10000 bps in any order, the last unbounded.
func randomTiers(r *rand.Rand, maxStep int64) []domain.Tier {
	k := 1 + r.IntN(5)
	var tiers []domain.Tier
	var up int64
	for i := range k {
		rate := 1 + r.Int64N(domain.MaxRateBps)
		if i == k-1 {
			tiers = append(tiers, rateTier(0, rate))
			break
		}
		up += 1 + r.Int64N(maxStep)
		tiers = append(tiers, rateTier(up, rate))
	}
	var v domain.Validation
	tiered(domain.BasisRevenue, "", tiers...).Validate(&v, "rule")
	if err := v.Err(); err != nil {
		panic(err)
	}
	return tiers
}

// unitTier is the brute-force reading of COMMISSIONS.md: unit (or ordinal) n
// is paid by the first tier whose upTo ≥ n.
func unitTier(tiers []domain.Tier, n int64) int {
	for i, t := range tiers {
		if t.UpTo == nil || n <= *t.UpTo {
			return i
		}
	}
	panic("no unbounded last tier")
}

// unitSum is Σ rateBps over the units from+1 … to of the running total, one
// unit at a time: the exact bracketed commission × 10000.
func unitSum(tiers []domain.Tier, from, to int64) int64 {
	var sum int64
	for u := from + 1; u <= to; u++ {
		sum += *tiers[unitTier(tiers, u)].RateBps
	}
	return sum
}

// bracketBig is the exact bracketed commission × 10000 of a running total
// going from 0 to total, tier by tier with math/big, for large totals.
func bracketBig(tiers []domain.Tier, total int64) *big.Int {
	sum := new(big.Int)
	var floor int64
	for _, t := range tiers {
		top := total
		if t.UpTo != nil && *t.UpTo < total {
			top = *t.UpTo
		}
		if top > floor {
			sum.Add(sum, new(big.Int).Mul(big.NewInt(top-floor), big.NewInt(*t.RateBps)))
			floor = top
		}
	}
	return sum
}

// TestPropertyRevenueMarginal: for random tiers and conversion sequences,
// each marginal commission is the exact bracketed amount of its slice of the
// running total rounded once, and the period's sum equals an independent
// recomputation of the bracketed total of the final revenue within half a
// minor unit per conversion.
func TestPropertyRevenueMarginal(t *testing.T) {
	for seed := uint64(1); seed <= 300; seed++ {
		r := rand.New(rand.NewPCG(seed, 0x5eed))
		tiers := randomTiers(r, 400)
		rule := tiered(domain.BasisRevenue, domain.ModeMarginal, tiers...)
		var state commission.RunningState
		var paid int64
		n := 1 + r.IntN(60)
		for i := range n {
			var value *int64
			if r.IntN(8) > 0 { // some conversions have no value
				value = i64(r.Int64N(700))
			}
			before := state
			var amount int64
			amount, state = compute(t, rule, value, state)
			if state.Count != int64(i+1) {
				t.Fatalf("seed %d: count %d after %d conversions", seed, state.Count, i+1)
			}
			want := int64(0)
			if value != nil {
				want = roundRef(big.NewInt(unitSum(tiers, before.Revenue, before.Revenue+*value)), big.NewInt(10000)).Int64()
			}
			if amount != want {
				t.Fatalf("seed %d, conversion %d: %v at running %d earned %d, want %d", seed, i+1, value, before.Revenue, amount, want)
			}
			paid += amount
		}
		exact := unitSum(tiers, 0, state.Revenue)
		if exact != bracketBig(tiers, state.Revenue).Int64() {
			t.Fatalf("seed %d: the two references disagree", seed)
		}
		if diff := paid*10000 - exact; diff > int64(n)*5000 || diff < -int64(n)*5000 {
			t.Fatalf("seed %d: %d conversions paid %d, bracketed total %d/10000: off by more than half a unit each", seed, n, paid, exact)
		}
		// The whole period as one conversion is the bracketed total rounded once.
		if got, want := commission.Marginal(tiers, 0, state.Revenue), roundRef(big.NewInt(exact), big.NewInt(10000)).Int64(); got != want {
			t.Fatalf("seed %d: Marginal(0, %d) = %d, want %d", seed, state.Revenue, got, want)
		}
	}
}

// TestPropertyRevenueMarginalLarge repeats the check with large amounts
// against math/big, where products exceed int64.
func TestPropertyRevenueMarginalLarge(t *testing.T) {
	for seed := uint64(1); seed <= 300; seed++ {
		r := rand.New(rand.NewPCG(seed, 0xb16))
		tiers := randomTiers(r, domain.MaxAmount/4) // bounds stay valid: at most MaxAmount
		var running int64
		paid, n := new(big.Int), 1+r.IntN(40)
		for range n {
			value := r.Int64N(1e14)
			got := commission.Marginal(tiers, running, value)
			slice := new(big.Int).Sub(bracketBig(tiers, running+value), bracketBig(tiers, running))
			if want := roundRef(slice, big.NewInt(10000)); got != want.Int64() {
				t.Fatalf("seed %d: Marginal(%d, %d) = %d, want %v", seed, running, value, got, want)
			}
			paid.Add(paid, big.NewInt(got))
			running += value
		}
		diff := new(big.Int).Sub(new(big.Int).Mul(paid, big.NewInt(10000)), bracketBig(tiers, running))
		if diff.CmpAbs(big.NewInt(int64(n)*5000)) > 0 {
			t.Fatalf("seed %d: sum off by %v/10000 over %d conversions", seed, diff, n)
		}
	}
}

// TestPropertyCountOrdinals: ordinals handed out by successive states are
// 1, 2, 3, … with none shared or skipped, each is paid by the first tier
// whose upTo ≥ ordinal, and the retroactive adjustment of the period is the
// re-rating at the final ordinal's tier minus what was paid.
func TestPropertyCountOrdinals(t *testing.T) {
	for seed := uint64(1); seed <= 300; seed++ {
		r := rand.New(rand.NewPCG(seed, 0xc0c))
		tiers := randomTiers(r, 30)
		rule := tiered(domain.BasisCount, domain.ModeRetroactive, tiers...)
		var state commission.RunningState
		var convs []commission.PeriodConversion
		n := 1 + r.IntN(150)
		for i := range n {
			ordinal := state.Ordinal()
			if ordinal != int64(i+1) {
				t.Fatalf("seed %d: conversion %d got ordinal %d", seed, i+1, ordinal)
			}
			if got, want := commission.TierIndex(tiers, ordinal), unitTier(tiers, ordinal); got != want {
				t.Fatalf("seed %d: ordinal %d → tier %d, want %d", seed, ordinal, got, want)
			}
			value := r.Int64N(1e9)
			var amount int64
			amount, state = compute(t, rule, &value, state)
			if want := commission.Percent(value, *tiers[unitTier(tiers, ordinal)].RateBps); amount != want {
				t.Fatalf("seed %d: ordinal %d earned %d, want %d", seed, ordinal, amount, want)
			}
			convs = append(convs, commission.PeriodConversion{Value: &value, Paid: amount})
		}
		final := *tiers[unitTier(tiers, int64(n))].RateBps
		var want int64
		for _, c := range convs {
			want += commission.Percent(*c.Value, final) - c.Paid
		}
		if got := adjustment(t, rule, convs); got != want {
			t.Fatalf("seed %d: adjustment %d, want %d", seed, got, want)
		}
	}
}

// TestPropertyPartialRefunds: random partial refunds of a random commission
// take back exactly the commission once the conversion is wholly refunded,
// never more at any step, whichever statuses the entries were in.
func TestPropertyPartialRefunds(t *testing.T) {
	for seed := uint64(1); seed <= 300; seed++ {
		r := rand.New(rand.NewPCG(seed, 0x7ef))
		value := 1 + r.Int64N(100000)
		amount := 1 + r.Int64N(1e7)
		e := earning()
		e.Amount = amount
		live, _, err := commission.NewCommission(e, commission.ActorSystem, t0)
		if err != nil {
			t.Fatal(err)
		}
		net := amount
		for already := int64(0); already < value; {
			if r.IntN(3) == 0 && live.Status == commission.StatusPending {
				live, _, _ = commission.Approve(live, actor, live.AvailableAt)
			}
			if r.IntN(3) == 0 && live.Status == commission.StatusApproved {
				live, _, _ = commission.MarkPaid(live, "P", actor, live.AvailableAt)
			}
			refund := 1 + r.Int64N(value-already)
			out, err := commission.Refund(live, value, refund, already, actor, t0.AddDate(0, 1, 0))
			if err != nil {
				t.Fatalf("seed %d: %v", seed, err)
			}
			if out.Reversed != nil {
				net -= out.Reversed.Amount.Amount
			}
			if out.Added != nil {
				net += out.Added.Amount.Amount
				if out.Added.Kind == commission.KindCommission {
					live = *out.Added
				}
			}
			already += refund
			// Each refund settles the net at the commission less the
			// cumulative target round(amount × refunded / value).
			taken := roundRef(new(big.Int).Mul(big.NewInt(amount), big.NewInt(already)), big.NewInt(value)).Int64()
			if want := amount - taken; net != want || net < 0 {
				t.Fatalf("seed %d: after refunding %d of %d the net is %d, want %d", seed, already, value, net, want)
			}
		}
		if net != 0 {
			t.Fatalf("seed %d: a fully refunded conversion nets %d", seed, net)
		}
	}
}
