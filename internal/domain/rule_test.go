package domain_test

import (
	"reflect"
	"sort"
	"testing"

	"github.com/partnerloop/partnerloop/internal/domain"
)

// i64 returns a pointer to n, for the optional integers of rules and tiers.
func i64(n int64) *int64 { return &n }

// errFields returns the sorted field paths of a validation error, nil for nil.
func errFields(t *testing.T, err error) []string {
	t.Helper()
	if err == nil {
		return nil
	}
	e, ok := domain.AsError(err)
	if !ok {
		t.Fatalf("error %v (%T) is not a *domain.Error", err, err)
	}
	if e.Kind != domain.KindInvalid || e.Code != "validation_failed" {
		t.Fatalf("error kind/code = %v/%q, want KindInvalid/validation_failed", e.Kind, e.Code)
	}
	var out []string
	for _, f := range e.Fields {
		if f.Message == "" {
			t.Errorf("field %q has an empty message", f.Field)
		}
		out = append(out, f.Field)
	}
	sort.Strings(out)
	return out
}

// ruleFields validates r under "commission" and returns the sorted field paths.
func ruleFields(t *testing.T, r domain.CommissionRule) []string {
	t.Helper()
	var v domain.Validation
	r.Validate(&v, "commission")
	return errFields(t, v.Err())
}

func tier(upTo *int64, rate, amount *int64) domain.Tier {
	return domain.Tier{UpTo: upTo, RateBps: rate, Amount: amount}
}

func TestCommissionRuleValidateAccepts(t *testing.T) {
	tests := []struct {
		name string
		rule domain.CommissionRule
	}{
		{"flat", domain.CommissionRule{Type: "flat", Amount: i64(2500)}},
		{"flat one minor unit", domain.CommissionRule{Type: "flat", Amount: i64(1)}},
		{"percentage", domain.CommissionRule{Type: "percentage", RateBps: i64(1000)}},
		{"percentage 1 bps", domain.CommissionRule{Type: "percentage", RateBps: i64(1)}},
		{"percentage 100%", domain.CommissionRule{Type: "percentage", RateBps: i64(domain.MaxRateBps)}},
		{"tiered count rates (API.md example)", domain.CommissionRule{
			Type: "tiered", Basis: "count", Period: "month", Mode: "marginal",
			Tiers: []domain.Tier{
				tier(i64(10), i64(1000), nil),
				tier(i64(50), i64(1500), nil),
				tier(nil, i64(2000), nil),
			},
		}},
		{"tiered count amounts", domain.CommissionRule{
			Type: "tiered", Basis: "count", Period: "quarter",
			Tiers: []domain.Tier{tier(i64(5), nil, i64(1000)), tier(nil, nil, i64(2000))},
		}},
		{"tiered count mixed amount and rate", domain.CommissionRule{
			Type: "tiered", Basis: "count", Period: "year",
			Tiers: []domain.Tier{tier(i64(5), nil, i64(1000)), tier(nil, i64(1500), nil)},
		}},
		{"tiered revenue (COMMISSIONS.md example)", domain.CommissionRule{
			Type: "tiered", Basis: "revenue", Period: "month",
			Tiers: []domain.Tier{tier(i64(100000), i64(1000), nil), tier(nil, i64(1500), nil)},
		}},
		{"tiered mode omitted", domain.CommissionRule{
			Type: "tiered", Basis: "count", Period: "month",
			Tiers: []domain.Tier{tier(nil, i64(1000), nil)},
		}},
		{"tiered retroactive", domain.CommissionRule{
			Type: "tiered", Basis: "count", Period: "month", Mode: "retroactive",
			Tiers: []domain.Tier{tier(i64(10), i64(1000), nil), tier(nil, i64(2000), nil)},
		}},
		{"tiered exactly 20 tiers", domain.CommissionRule{
			Type: "tiered", Basis: "count", Period: "month", Tiers: nTiers(20),
		}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := ruleFields(t, tt.rule); got != nil {
				t.Errorf("Validate reported %v, want no problems", got)
			}
			if got := ruleFields(t, tt.rule.Normalize()); got != nil {
				t.Errorf("Validate of the normalized rule reported %v, want no problems", got)
			}
		})
	}
}

// nTiers returns n valid count tiers: upTo 1, 2, ..., then unbounded.
func nTiers(n int) []domain.Tier {
	ts := make([]domain.Tier, n)
	for i := range ts {
		ts[i] = tier(i64(int64(i+1)), i64(100), nil)
	}
	ts[n-1].UpTo = nil
	return ts
}

func TestCommissionRuleNormalize(t *testing.T) {
	tests := []struct {
		name     string
		rule     domain.CommissionRule
		wantMode string
	}{
		{"tiered without mode becomes marginal", domain.CommissionRule{Type: "tiered", Basis: "count", Period: "month"}, "marginal"},
		{"tiered marginal stays", domain.CommissionRule{Type: "tiered", Mode: "marginal"}, "marginal"},
		{"tiered retroactive stays", domain.CommissionRule{Type: "tiered", Mode: "retroactive"}, "retroactive"},
		{"flat gets no mode", domain.CommissionRule{Type: "flat", Amount: i64(1)}, ""},
		{"percentage gets no mode", domain.CommissionRule{Type: "percentage", RateBps: i64(1)}, ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got := tt.rule.Normalize()
			if got.Mode != tt.wantMode {
				t.Errorf("Normalize().Mode = %q, want %q", got.Mode, tt.wantMode)
			}
			got.Mode = tt.rule.Mode
			if !reflect.DeepEqual(got, tt.rule) {
				t.Errorf("Normalize changed more than the mode: got %+v, from %+v", got, tt.rule)
			}
		})
	}
}

func TestCommissionRuleValidateRejects(t *testing.T) {
	countTiers := func(ts ...domain.Tier) domain.CommissionRule {
		return domain.CommissionRule{Type: "tiered", Basis: "count", Period: "month", Tiers: ts}
	}
	revenueTiers := func(ts ...domain.Tier) domain.CommissionRule {
		return domain.CommissionRule{Type: "tiered", Basis: "revenue", Period: "month", Tiers: ts}
	}
	open := tier(nil, i64(2000), nil)
	tests := []struct {
		name string
		rule domain.CommissionRule
		want []string
	}{
		{"missing type", domain.CommissionRule{}, []string{"commission.type"}},
		{"missing type with amount", domain.CommissionRule{Amount: i64(100)}, []string{"commission.type"}},
		{"unknown type", domain.CommissionRule{Type: "bonus", Amount: i64(100)}, []string{"commission.type"}},
		{"type is case-sensitive", domain.CommissionRule{Type: "Flat", Amount: i64(100)}, []string{"commission.type"}},

		{"flat without amount", domain.CommissionRule{Type: "flat"}, []string{"commission.amount"}},
		{"flat zero amount", domain.CommissionRule{Type: "flat", Amount: i64(0)}, []string{"commission.amount"}},
		{"flat negative amount", domain.CommissionRule{Type: "flat", Amount: i64(-1)}, []string{"commission.amount"}},
		{"flat with rate", domain.CommissionRule{Type: "flat", Amount: i64(100), RateBps: i64(100)}, []string{"commission.rateBps"}},
		{"flat with tiers", domain.CommissionRule{Type: "flat", Amount: i64(100), Tiers: []domain.Tier{open}}, []string{"commission.tiers"}},

		{"percentage missing rate", domain.CommissionRule{Type: "percentage"}, []string{"commission.rateBps"}},
		{"percentage rate 0", domain.CommissionRule{Type: "percentage", RateBps: i64(0)}, []string{"commission.rateBps"}},
		{"percentage negative rate", domain.CommissionRule{Type: "percentage", RateBps: i64(-100)}, []string{"commission.rateBps"}},
		{"percentage rate above 100%", domain.CommissionRule{Type: "percentage", RateBps: i64(10001)}, []string{"commission.rateBps"}},
		{"percentage with amount", domain.CommissionRule{Type: "percentage", RateBps: i64(100), Amount: i64(5)}, []string{"commission.amount"}},
		{"percentage with tiers", domain.CommissionRule{Type: "percentage", RateBps: i64(100), Tiers: []domain.Tier{open}}, []string{"commission.tiers"}},

		{"tiered non-increasing upTo (equal)",
			countTiers(tier(i64(10), i64(1000), nil), tier(i64(10), i64(1500), nil), open),
			[]string{"commission.tiers[1].upTo"}},
		{"tiered non-increasing upTo (decreasing)",
			countTiers(tier(i64(10), i64(1000), nil), tier(i64(50), i64(1500), nil), tier(i64(20), i64(1800), nil), open),
			[]string{"commission.tiers[2].upTo"}},
		{"tiered first upTo zero",
			countTiers(tier(i64(0), i64(1000), nil), open),
			[]string{"commission.tiers[0].upTo"}},
		{"tiered first upTo negative",
			countTiers(tier(i64(-5), i64(1000), nil), open),
			[]string{"commission.tiers[0].upTo"}},
		{"tiered null upTo not last",
			countTiers(tier(nil, i64(1000), nil), tier(i64(50), i64(1500), nil), open),
			[]string{"commission.tiers[0].upTo"}},
		{"tiered two unbounded tiers",
			countTiers(tier(i64(10), i64(1000), nil), tier(nil, i64(1500), nil), open),
			[]string{"commission.tiers[1].upTo"}},
		{"tiered last tier bounded",
			countTiers(tier(i64(10), i64(1000), nil), tier(i64(50), i64(1500), nil)),
			[]string{"commission.tiers[1].upTo"}},
		{"tiered single bounded tier",
			countTiers(tier(i64(10), i64(1000), nil)),
			[]string{"commission.tiers[0].upTo"}},
		{"tier with both rateBps and amount",
			countTiers(tier(i64(10), i64(1000), i64(500)), open),
			[]string{"commission.tiers[0]"}},
		{"tier with neither rateBps nor amount",
			countTiers(tier(i64(10), i64(1000), nil), tier(nil, nil, nil)),
			[]string{"commission.tiers[1]"}},
		{"tier rate 0",
			countTiers(tier(i64(10), i64(0), nil), open),
			[]string{"commission.tiers[0].rateBps"}},
		{"tier rate above 100%",
			countTiers(tier(i64(10), i64(1000), nil), tier(nil, i64(10001), nil)),
			[]string{"commission.tiers[1].rateBps"}},
		{"tier amount 0 on count basis",
			countTiers(tier(i64(10), nil, i64(0)), open),
			[]string{"commission.tiers[0].amount"}},
		{"tier negative amount on count basis",
			countTiers(tier(i64(10), nil, i64(-100)), open),
			[]string{"commission.tiers[0].amount"}},
		{"amount tiers on revenue basis",
			revenueTiers(tier(i64(100000), nil, i64(500)), tier(nil, nil, i64(1000))),
			[]string{"commission.tiers[0].amount", "commission.tiers[1].amount"}},
		{"missing basis",
			domain.CommissionRule{Type: "tiered", Period: "month", Tiers: []domain.Tier{open}},
			[]string{"commission.basis"}},
		{"bad basis",
			domain.CommissionRule{Type: "tiered", Basis: "value", Period: "month", Tiers: []domain.Tier{open}},
			[]string{"commission.basis"}},
		{"missing period",
			domain.CommissionRule{Type: "tiered", Basis: "count", Tiers: []domain.Tier{open}},
			[]string{"commission.period"}},
		{"bad period",
			domain.CommissionRule{Type: "tiered", Basis: "count", Period: "week", Tiers: []domain.Tier{open}},
			[]string{"commission.period"}},
		{"bad mode",
			domain.CommissionRule{Type: "tiered", Basis: "count", Period: "month", Mode: "cumulative", Tiers: []domain.Tier{open}},
			[]string{"commission.mode"}},
		{"no tiers",
			domain.CommissionRule{Type: "tiered", Basis: "count", Period: "month"},
			[]string{"commission.tiers"}},
		{"21 tiers",
			domain.CommissionRule{Type: "tiered", Basis: "count", Period: "month", Tiers: nTiers(21)},
			[]string{"commission.tiers"}},
		{"tiered with top-level rate",
			domain.CommissionRule{Type: "tiered", Basis: "count", Period: "month", RateBps: i64(100), Tiers: []domain.Tier{open}},
			[]string{"commission"}},
		{"tiered with top-level amount",
			domain.CommissionRule{Type: "tiered", Basis: "count", Period: "month", Amount: i64(100), Tiers: []domain.Tier{open}},
			[]string{"commission"}},
		{"every problem reported at once",
			domain.CommissionRule{Type: "tiered", Basis: "x", Period: "y", Mode: "z",
				Tiers: []domain.Tier{tier(i64(10), nil, nil), tier(i64(5), i64(1), i64(1))}},
			[]string{"commission.basis", "commission.mode", "commission.period",
				"commission.tiers[0]", "commission.tiers[1]", "commission.tiers[1].upTo"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got := ruleFields(t, tt.rule)
			want := append([]string(nil), tt.want...)
			sort.Strings(want)
			if !reflect.DeepEqual(got, want) {
				t.Errorf("Validate reported fields %v, want %v", got, want)
			}
		})
	}
}

func TestCommissionRuleValidateUsesPrefix(t *testing.T) {
	var v domain.Validation
	domain.CommissionRule{Type: "tiered", Basis: "count", Period: "month",
		Tiers: []domain.Tier{tier(i64(3), i64(100), nil), tier(i64(2), i64(100), nil)},
	}.Validate(&v, "tiers[0].commission")
	got := errFields(t, v.Err())
	want := []string{"tiers[0].commission.tiers[1].upTo"}
	if !reflect.DeepEqual(got, want) {
		t.Errorf("fields = %v, want %v", got, want)
	}
}
