package domain

import (
	"bytes"
	"encoding/json"
	"fmt"
	"time"
)

// Commission rule types, bases, periods and modes (see COMMISSIONS.md).
const (
	RuleFlat       = "flat"
	RulePercentage = "percentage"
	RuleTiered     = "tiered"

	BasisCount   = "count"
	BasisRevenue = "revenue"

	PeriodMonth   = "month"
	PeriodQuarter = "quarter"
	PeriodYear    = "year"

	ModeMarginal    = "marginal"
	ModeRetroactive = "retroactive"
)

// MaxRateBps caps a rate at 100 %: a commission larger than the sale is
// almost certainly a typo (10000 bps meant as 10 %), so it is refused.
const MaxRateBps = 10000

// CommissionRule says how much a qualifying conversion or won deal earns.
type CommissionRule struct {
	Type    string `json:"type"`
	Amount  *int64 `json:"amount,omitempty"`
	RateBps *int64 `json:"rateBps,omitempty"`
	Basis   string `json:"basis,omitempty"`
	Period  string `json:"period,omitempty"`
	Mode    string `json:"mode,omitempty"`
	Tiers   []Tier `json:"tiers,omitempty"`
	// Recurring, when set, makes the rule also pay on the referred
	// customer's renewals (COMMISSIONS.md, "Recurring commissions"); nil:
	// renewals earn nothing under this rule.
	Recurring *Recurring `json:"recurring,omitempty"`
}

// MaxRecurringMonths bounds a recurring window: ten years. Longer than that
// is what {"months": null} (the customer's lifetime) is for.
const MaxRecurringMonths = 120

// Recurring is how long a rule pays on renewals: Months calendar months
// after the referral's first paid conversion, or — Months nil — as long as
// the customer pays.
type Recurring struct {
	Months *int `json:"months"`
	// problem is set by UnmarshalJSON when months was missing or not a
	// whole number, so that validation answers 422 naming the field: {} is
	// refused rather than read as "lifetime", since an omitted number is
	// more likely a mistake than a deliberate null.
	problem string
}

// UnmarshalJSON decodes {"months": N|null}; a missing or non-integer months
// is kept as a problem for Validate rather than failing the whole body.
func (r *Recurring) UnmarshalJSON(b []byte) error {
	var raw map[string]json.RawMessage
	if err := json.Unmarshal(b, &raw); err != nil {
		return err
	}
	*r = Recurring{}
	for k := range raw {
		if k != "months" {
			return fmt.Errorf("json: unknown field %q", "recurring."+k)
		}
	}
	m, ok := raw["months"]
	switch {
	case !ok:
		r.problem = "is required: a number of months, or null for as long as the customer pays"
	case bytes.Equal(bytes.TrimSpace(m), []byte("null")):
	default:
		var n int
		if err := json.Unmarshal(m, &n); err != nil {
			r.problem = "must be a whole number of months, or null for as long as the customer pays"
			return nil
		}
		r.Months = &n
	}
	return nil
}

// Lifetime reports whether renewals earn for as long as the customer pays.
func (r Recurring) Lifetime() bool { return r.Months == nil }

// AddMonths is t plus n calendar months in UTC, clamped to the end of the
// target month: 31 January + 1 month is 28 (or 29) February, not 2 or 3
// March as time.AddDate would give. The time of day is kept.
func AddMonths(t time.Time, n int) time.Time {
	t = t.UTC()
	y, m, d := t.Date()
	first := time.Date(y, m+time.Month(n), 1, t.Hour(), t.Minute(), t.Second(), t.Nanosecond(), time.UTC)
	last := first.AddDate(0, 1, -1).Day()
	return first.AddDate(0, 0, min(d, last)-1)
}

// RecurringEnds is when a recurring window opened by the referral's first
// paid conversion at firstPaid closes, and false for a lifetime window.
// Renewals earn while firstPaid ≤ occurredAt < end.
func (r Recurring) Ends(firstPaid time.Time) (end time.Time, bounded bool) {
	if r.Months == nil {
		return time.Time{}, false
	}
	return AddMonths(firstPaid, *r.Months), true
}

// RenewalEarns reports whether a renewal that occurred at occurredAt earns
// under rule, given the referral's first paid conversion at firstPaid: the
// rule must be recurring and the renewal inside its window
// [firstPaid, firstPaid + months). All instants are compared in UTC, so
// time zones and daylight saving play no part.
func (r CommissionRule) RenewalEarns(firstPaid, occurredAt time.Time) bool {
	if r.Recurring == nil || occurredAt.Before(firstPaid) {
		return false
	}
	end, bounded := r.Recurring.Ends(firstPaid)
	return !bounded || occurredAt.Before(end)
}

// Tier is one step of a tiered rule. UpTo is the inclusive upper bound of the
// running total; nil means unbounded and is allowed only on the last tier.
type Tier struct {
	UpTo    *int64 `json:"upTo"`
	RateBps *int64 `json:"rateBps,omitempty"`
	Amount  *int64 `json:"amount,omitempty"`
}

// RuleVersion is a commission rule with the moment it took effect. Programs
// keep every version so that commissions use the rule in force when the
// conversion occurred, and editing a rule never rewrites earned commissions.
type RuleVersion struct {
	Version       int            `json:"version"`
	EffectiveFrom time.Time      `json:"effectiveFrom"`
	Rule          CommissionRule `json:"rule"`
}

// Normalize fills defaults (tiered mode is marginal unless said otherwise).
func (r CommissionRule) Normalize() CommissionRule {
	if r.Type == RuleTiered && r.Mode == "" {
		r.Mode = ModeMarginal
	}
	return r
}

// Validate reports every problem of the rule under the JSON path prefix.
func (r CommissionRule) Validate(v *Validation, prefix string) {
	f := func(name string) string { return prefix + "." + name }
	switch r.Type {
	case RuleFlat:
		checkFlat(v, f("amount"), r.Amount)
		v.Check(r.RateBps == nil, f("rateBps"), "is not used by a flat rule")
		v.Check(len(r.Tiers) == 0, f("tiers"), "are not used by a flat rule")
	case RulePercentage:
		checkRate(v, f("rateBps"), r.RateBps)
		v.Check(r.Amount == nil, f("amount"), "is not used by a percentage rule")
		v.Check(len(r.Tiers) == 0, f("tiers"), "are not used by a percentage rule")
	case RuleTiered:
		v.Check(r.Basis == BasisCount || r.Basis == BasisRevenue, f("basis"), "must be %q or %q", BasisCount, BasisRevenue)
		v.Check(r.Period == PeriodMonth || r.Period == PeriodQuarter || r.Period == PeriodYear, f("period"), "must be month, quarter or year")
		v.Check(r.Mode == "" || r.Mode == ModeMarginal || r.Mode == ModeRetroactive, f("mode"), "must be marginal or retroactive")
		v.Check(r.Amount == nil && r.RateBps == nil, prefix, "a tiered rule sets amounts or rates on its tiers only")
		if len(r.Tiers) == 0 {
			v.Add(f("tiers"), "at least one tier is required")
		}
		if len(r.Tiers) > 20 {
			v.Add(f("tiers"), "at most 20 tiers are allowed")
		}
		var prev int64
		for i, t := range r.Tiers {
			tp := fmt.Sprintf("%s[%d]", f("tiers"), i)
			last := i == len(r.Tiers)-1
			switch {
			case t.UpTo == nil && !last:
				v.Add(tp+".upTo", "only the last tier may be unbounded (null)")
			case t.UpTo == nil:
			case last:
				v.Add(tp+".upTo", "the last tier must be unbounded (null)")
			case *t.UpTo <= prev:
				v.Add(tp+".upTo", "must be greater than the previous tier's upTo (and than 0)")
			case *t.UpTo > MaxAmount: // minor units of revenue, or a count
				v.Add(tp+".upTo", "must be at most %d", MaxAmount)
			default:
				prev = *t.UpTo
			}
			switch {
			case t.RateBps != nil && t.Amount != nil:
				v.Add(tp, "give either rateBps or amount, not both")
			case t.RateBps != nil:
				checkRate(v, tp+".rateBps", t.RateBps)
			case t.Amount != nil:
				checkFlat(v, tp+".amount", t.Amount)
				v.Check(r.Basis != BasisRevenue, tp+".amount", "a revenue-based tier pays a rate on its slice of revenue: use rateBps")
			default:
				v.Add(tp, "rateBps or amount is required")
			}
		}
	case "":
		v.Add(f("type"), "is required (flat, percentage or tiered)")
		return
	default:
		v.Add(f("type"), "must be flat, percentage or tiered")
		return
	}
	if rc := r.Recurring; rc != nil {
		switch {
		case rc.problem != "":
			v.Add(f("recurring.months"), "%s", rc.problem)
		case rc.Months != nil:
			v.Check(*rc.Months >= 1 && *rc.Months <= MaxRecurringMonths, f("recurring.months"),
				"must be a number of months between 1 and %d, or null for as long as the customer pays", MaxRecurringMonths)
		}
	}
}

// checkFlat requires a flat amount of 1…MaxAmount minor units.
func checkFlat(v *Validation, field string, amount *int64) {
	if amount == nil {
		v.Add(field, "must be a positive integer of minor units")
		return
	}
	v.CheckAmount(*amount, field, true)
}

func checkRate(v *Validation, field string, rate *int64) {
	v.Check(rate != nil && *rate > 0 && *rate <= MaxRateBps, field, "must be an integer of basis points between 1 and %d", MaxRateBps)
}
