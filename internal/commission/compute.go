package commission

import (
	"fmt"
	"math"
	"strings"

	"github.com/partnerloop/partnerloop/internal/domain"
)

// RunningState is a tiered rule's running total for one beneficiary, rule
// and period: how many qualifying conversions it has counted and the sum of
// their values. The store assigns it atomically (read the state before a
// conversion and store state.Add(value) in one step, keyed by CounterKey),
// exactly once per conversion, so no two conversions share an ordinal and
// none is skipped.
type RunningState struct {
	Count   int64 `json:"count"`
	Revenue int64 `json:"revenue"`
}

// Add returns the state after one more conversion of the given value: the
// count grows by one whatever the value (a signup is a qualifying
// conversion too) and the revenue by the value, if any. A total that would
// not fit in an int64 is an error wrapping domain.ErrOverflow, never a
// wrapped or clamped total: with values bounded by domain.MaxAmount,
// 9,224 conversions of the maximum in one period get there, and a revenue
// total clamped at the limit would silently price the rest at the wrong
// tier.
func (s RunningState) Add(value *int64) (RunningState, error) {
	var err error
	if s.Count, err = domain.AddAmounts(s.Count, 1); err != nil {
		return s, fmt.Errorf("commission: running count: %w", err)
	}
	if value != nil {
		if s.Revenue, err = domain.AddAmounts(s.Revenue, *value); err != nil {
			return s, fmt.Errorf("commission: running revenue: %w", err)
		}
	}
	return s, nil
}

// Ordinal is the 1-based position in its period of the conversion that
// follows this state.
func (s RunningState) Ordinal() int64 { return satAdd(s.Count, 1) }

// UsesRunningState reports whether rule needs a running total, i.e. whether
// the caller must take one from the store before Compute.
func UsesRunningState(rule domain.CommissionRule) bool { return rule.Type == domain.RuleTiered }

// CounterKey identifies one running total: per beneficiary (the partner
// when the referrer belongs to one, else the referrer — see Beneficiary), per
// rule (its source and the ID of the partner, tier or program that owns it)
// and per period. The rule's version is deliberately not part of the key:
// editing a rule mid-period changes the rates of later conversions but does
// not restart the count.
type CounterKey struct {
	BeneficiaryID string
	RuleSource    string
	RuleOwnerID   string
	PeriodKey     string
}

// String renders the key for storage, e.g. "ptn_1/tier/tie_1/2026-03".
func (k CounterKey) String() string {
	return strings.Join([]string{k.BeneficiaryID, k.RuleSource, k.RuleOwnerID, k.PeriodKey}, "/")
}

// ShouldRecord reports whether a computed amount becomes a ledger entry: a
// zero amount (a percentage of nothing, a conversion without a value under a
// rate) is never recorded. NewCommission refuses zero amounts.
func ShouldRecord(amount int64) bool { return amount != 0 }

// Compute prices one qualifying conversion (or won deal) under rule.
// value is the conversion's value in minor units, nil when it has none.
// state is the running total BEFORE this conversion, as assigned by the
// store; next is the state after it (unchanged for flat and percentage
// rules, which keep no running total).
//
//   - flat: the rule's amount, whatever the value.
//   - percentage: Percent(value, rateBps); no value earns 0.
//   - tiered, count basis: the conversion's ordinal n = state.Count+1 is
//     paid by the first tier whose upTo ≥ n — its flat amount, or its rate
//     on the value (0 without a value).
//   - tiered, revenue basis: the value is split over the tiers' ranges of the
//     running revenue total like tax brackets; see Marginal.
//
// Compute ignores the mode: a retroactive rule also pays marginally as
// conversions arrive and is trued up by RetroactiveAdjustment at period
// close. It assumes a rule that passes domain validation; a tier without a
// rate or amount pays 0, and a last tier with a bound is treated as
// unbounded. Its only error is a running total that overflows (see
// RunningState.Add): the conversion cannot be priced and must not be.
func Compute(rule domain.CommissionRule, value *int64, state RunningState) (amount int64, next RunningState, err error) {
	switch rule.Type {
	case domain.RuleFlat:
		return deref(rule.Amount), state, nil
	case domain.RulePercentage:
		if value == nil {
			return 0, state, nil
		}
		return Percent(*value, deref(rule.RateBps)), state, nil
	case domain.RuleTiered:
		if next, err = state.Add(value); err != nil {
			return 0, state, err
		}
		switch rule.Basis {
		case domain.BasisCount:
			return tierPay(rule.Tiers, TierIndex(rule.Tiers, state.Ordinal()), value), next, nil
		case domain.BasisRevenue:
			if value == nil {
				return 0, next, nil
			}
			return Marginal(rule.Tiers, state.Revenue, *value), next, nil
		}
		return 0, next, nil
	}
	return 0, state, nil
}

// TierIndex returns the index of the tier that pays running total n: the
// first tier whose upTo ≥ n, else the last tier. It is -1 only when there
// are no tiers.
func TierIndex(tiers []domain.Tier, n int64) int {
	for i, t := range tiers {
		if t.UpTo == nil || *t.UpTo >= n {
			return i
		}
	}
	return len(tiers) - 1
}

// tierPay is what tier i pays for one conversion of the given value: its
// flat amount, or its rate on the value (0 without a value or tier).
func tierPay(tiers []domain.Tier, i int, value *int64) int64 {
	if i < 0 {
		return 0
	}
	t := tiers[i]
	if t.Amount != nil {
		return *t.Amount
	}
	if value == nil {
		return 0
	}
	return Percent(*value, deref(t.RateBps))
}

// Marginal is the revenue-basis commission of a conversion of value when the
// running revenue total before it is running. The value covers the units
// running+1 … running+value of the running total; each unit is paid at the
// rate of the first tier whose upTo ≥ that unit (tiers' ranges are
// (previous upTo, upTo], the first starting below zero, the last unbounded).
//
// Rounding: the exact products slice × rateBps of all slices are summed in
// 128-bit integers and the sum is divided by 10000 and rounded half away from
// zero ONCE. Rounding each slice would add up to half a minor unit of error
// per tier crossed; rounding once makes the commission the exact bracketed
// amount to within half a minor unit, so that across a sequence of
// conversions the only error is one rounding per conversion, as for a
// percentage rule.
//
// A negative value (not produced by the product: conversion values are
// never negative) covers the units running+value+1 … running and pays the
// negated amount, so Marginal(t, r, v) = -Marginal(t, r+v, -v).
//
// It panics when running + value does not fit in an int64: Compute checks
// that first (RunningState.Add), so a caller that passes a running total
// the store assigned never gets there.
func Marginal(tiers []domain.Tier, running, value int64) int64 {
	end, err := domain.AddAmounts(running, value)
	if err != nil {
		panic("commission: revenue range " + err.Error())
	}
	lo, hi, neg := running, end, false
	if value < 0 {
		lo, hi, neg = hi, running, true
	}
	if lo >= hi || len(tiers) == 0 {
		return 0
	}
	var sum u128
	prev := int64(math.MinInt64) // the first tier's range is unbounded below
	for i, t := range tiers {
		top := int64(math.MaxInt64)
		if t.UpTo != nil && i < len(tiers)-1 {
			top = *t.UpTo
		}
		from, to := max(lo, prev), min(hi, top)
		if to > from {
			slice := uint64(to) - uint64(from) // ≤ hi-lo, exact in two's complement
			var ok bool
			if sum, ok = sum.add(mul64(slice, abs64(deref(t.RateBps)))); !ok {
				panic("commission: revenue slice sum overflows 128 bits")
			}
		}
		prev = max(prev, top)
		if prev >= hi {
			break
		}
	}
	mag, ok := sum.divRound(bpsDenominator)
	if !ok {
		panic("commission: revenue commission overflows int64")
	}
	out, ok := signed(mag, neg)
	if !ok {
		panic("commission: revenue commission overflows int64")
	}
	return out
}

// PeriodConversion is one conversion of a closed period, as the period-close
// job sees it, for RetroactiveAdjustment. Pass every conversion that holds an
// ordinal of the period (for one counter key), so that the final count is
// len(conversions) and the final revenue the sum of Value, exactly the
// running counter's final state.
type PeriodConversion struct {
	// Value is the conversion's value as recorded (what it added to the
	// running total), nil when it had none.
	Value *int64
	// Paid is the net amount the ledger already holds for it: its commission
	// (or replacement) plus any clawbacks; 0 when rejected or reversed.
	// "Paid" means earned and recorded, whatever the status.
	Paid int64
	// Refunded is how much of Value has been refunded; the re-rated amount
	// is reduced in the same proportion as Refund reduces a commission.
	Refunded int64
	// Void marks a conversion that earns nothing on re-rating (its
	// commission was rejected, or it was refunded in full) yet still counts
	// toward the period's final total, since ordinals are never reassigned.
	Void bool
}

// RetroactiveAdjustment is the amount of the one adjustment commission for a
// beneficiary's closed period under a retroactive tiered rule: the sum of
// every conversion re-rated at the tier reached by the period's final total,
// minus the sum already recorded (Paid). It is 0 when nothing changes (no
// adjustment is recorded) and may be negative when a later tier pays less
// than an earlier one. It is 0 for any rule that is not tiered and
// retroactive.
//
//   - count basis: the final tier is the one paying ordinal len(conversions);
//     each conversion earns that tier's amount, or its rate on its value.
//   - revenue basis (interpretation): the final tier is the one whose range
//     contains the final revenue total (the first tier with upTo ≥ total);
//     each conversion's WHOLE value is re-rated at that tier's rate — the
//     brackets collapse into a single rate, which is what "re-rated at the
//     tier reached" means for a rate applied to revenue.
//
// Each conversion is re-rated and rounded on its own, exactly as a
// commission for it at that tier would have been (Percent), and then reduced
// for refunds the way Refund does (amount − round(amount × refunded/value)),
// so the adjustment brings the ledger to what it would hold had every
// conversion been priced at the final tier from the start.
//
// Every total is overflow-checked: an error wrapping domain.ErrOverflow
// means the period cannot be closed (and nothing must be recorded).
func RetroactiveAdjustment(rule domain.CommissionRule, conversions []PeriodConversion) (int64, error) {
	rule = rule.Normalize()
	if rule.Type != domain.RuleTiered || rule.Mode != domain.ModeRetroactive || len(conversions) == 0 {
		return 0, nil
	}
	var final RunningState
	for _, c := range conversions {
		var err error
		if final, err = final.Add(c.Value); err != nil {
			return 0, err
		}
	}
	var tier int
	switch rule.Basis {
	case domain.BasisCount:
		tier = TierIndex(rule.Tiers, final.Count)
	case domain.BasisRevenue:
		tier = TierIndex(rule.Tiers, final.Revenue)
	default:
		return 0, nil
	}
	var rerated, paid domain.Sum
	for _, c := range conversions {
		paid.Add(c.Paid)
		if c.Void {
			continue
		}
		amount := tierPay(rule.Tiers, tier, c.Value)
		if c.Value != nil && *c.Value > 0 && c.Refunded > 0 {
			// |clawTarget| ≤ |amount| with the same sign: no overflow.
			amount -= clawTarget(amount, min(c.Refunded, *c.Value), *c.Value)
		}
		rerated.Add(amount)
	}
	r, err := rerated.Total()
	if err != nil {
		return 0, fmt.Errorf("commission: re-rated total: %w", err)
	}
	p, err := paid.Total()
	if err != nil {
		return 0, fmt.Errorf("commission: recorded total: %w", err)
	}
	adj, err := domain.SubAmounts(r, p)
	if err != nil {
		return 0, fmt.Errorf("commission: adjustment: %w", err)
	}
	return adj, nil
}

// clawTarget is the part of amount refunded with refunded of value:
// round(amount × refunded / value), half away from zero, exactly amount when
// refunded == value.
func clawTarget(amount, refunded, value int64) int64 {
	if refunded >= value {
		return amount
	}
	t, ok := mulDivRound(amount, refunded, value)
	if !ok { // cannot happen: |result| ≤ |amount| since 0 ≤ refunded < value
		panic("commission: refund proportion overflows")
	}
	return t
}

func deref(p *int64) int64 {
	if p == nil {
		return 0
	}
	return *p
}

// satAdd returns a + b, saturating at the int64 limits instead of wrapping.
func satAdd(a, b int64) int64 {
	s := a + b
	switch {
	case b > 0 && s < a:
		return math.MaxInt64
	case b < 0 && s > a:
		return math.MinInt64
	}
	return s
}
