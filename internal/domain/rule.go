package domain

import (
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
	default:
		v.Add(f("type"), "must be flat, percentage or tiered")
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
