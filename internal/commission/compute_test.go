package commission_test

import (
	"errors"
	"math"
	"testing"

	"github.com/partnerloop/partnerloop/internal/commission"
	"github.com/partnerloop/partnerloop/internal/domain"
)

func TestComputeFlatAndPercentage(t *testing.T) {
	flat := domain.CommissionRule{Type: domain.RuleFlat, Amount: i64(2500)}
	pct := domain.CommissionRule{Type: domain.RulePercentage, RateBps: i64(1000)}
	state := commission.RunningState{Count: 7, Revenue: 700}
	tests := []struct {
		name  string
		rule  domain.CommissionRule
		value *int64
		want  int64
	}{
		{"flat, no value (signup)", flat, nil, 2500},
		{"flat, zero value", flat, i64(0), 2500},
		{"flat ignores the value", flat, i64(999999), 2500},
		{"percentage of a value", pct, i64(12345), 1235}, // 1234.5 → 1235
		{"percentage of nothing is 0", pct, nil, 0},
		{"percentage of zero is 0", pct, i64(0), 0},
		{"percentage of 4 minor units rounds to 0", pct, i64(4), 0},
		{"percentage of 5 minor units rounds to 1", pct, i64(5), 1},
		{"unknown type earns nothing", domain.CommissionRule{Type: "bogus"}, i64(100), 0},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, next := compute(t, tt.rule, tt.value, state)
			if got != tt.want {
				t.Errorf("Compute = %d, want %d", got, tt.want)
			}
			if next != state {
				t.Errorf("next = %+v, want the state unchanged (%+v)", next, state)
			}
			if commission.ShouldRecord(got) != (tt.want != 0) {
				t.Errorf("ShouldRecord(%d) = %v", got, commission.ShouldRecord(got))
			}
		})
	}
	if commission.UsesRunningState(flat) || commission.UsesRunningState(pct) {
		t.Error("flat or percentage rule uses a running state")
	}
	if !commission.UsesRunningState(tiered(domain.BasisCount, "", docCountTiers()...)) {
		t.Error("tiered rule does not use a running state")
	}
}

// TestComputeCountDocExample is COMMISSIONS.md's count example: conversions
// 1–10 earn 10 %, 11–50 earn 15 %, 51 onwards 20 %.
func TestComputeCountDocExample(t *testing.T) {
	rule := tiered(domain.BasisCount, domain.ModeMarginal, docCountTiers()...)
	tests := []struct {
		n       int64
		wantBps int64
	}{
		{1, 1000}, {2, 1000}, {9, 1000}, {10, 1000},
		{11, 1500}, {12, 1500}, {49, 1500}, {50, 1500},
		{51, 2000}, {52, 2000}, {1000, 2000}, {math.MaxInt64, 2000},
	}
	for _, tt := range tests {
		value := int64(12345)
		state := commission.RunningState{Count: tt.n - 1, Revenue: 999}
		if state.Ordinal() != tt.n {
			t.Fatalf("Ordinal = %d, want %d", state.Ordinal(), tt.n)
		}
		got, next := compute(t, rule, &value, state)
		if want := commission.Percent(value, tt.wantBps); got != want {
			t.Errorf("conversion #%d earned %d, want %d (%d bps)", tt.n, got, want, tt.wantBps)
		}
		if wantNext := (commission.RunningState{Count: min(tt.n, math.MaxInt64), Revenue: 999 + value}); next != wantNext {
			t.Errorf("conversion #%d: next = %+v, want %+v", tt.n, next, wantNext)
		}
	}
}

func TestComputeCountTiers(t *testing.T) {
	amounts := tiered(domain.BasisCount, "", amountTier(2, 500), amountTier(0, 800))
	rates := tiered(domain.BasisCount, "", docCountTiers()...)
	tests := []struct {
		name  string
		rule  domain.CommissionRule
		count int64
		value *int64
		want  int64
	}{
		{"flat tier without a value", amounts, 0, nil, 500},
		{"flat tier ignores the value", amounts, 1, i64(1000000), 500},
		{"flat tier after the boundary", amounts, 2, nil, 800},
		{"rate tier without a value earns 0", rates, 0, nil, 0},
		{"rate tier on zero earns 0", rates, 10, i64(0), 0},
		{"ordinal 11: 15 % of 1 rounds to 0", rates, 10, i64(1), 0},
		{"ordinal 51 pays 20 %", rates, 50, i64(25), 5},
		{"ordinal 11: 15 % of 10 = 1.5 rounds to 2", rates, 10, i64(10), 2},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			state := commission.RunningState{Count: tt.count, Revenue: 100}
			got, next := compute(t, tt.rule, tt.value, state)
			if got != tt.want {
				t.Errorf("Compute = %d, want %d", got, tt.want)
			}
			// A conversion without a value still counts: it holds an ordinal.
			want := commission.RunningState{Count: tt.count + 1, Revenue: 100}
			if tt.value != nil {
				want.Revenue += *tt.value
			}
			if next != want {
				t.Errorf("next = %+v, want %+v", next, want)
			}
		})
	}
}

// TestComputeRevenueDocExample is COMMISSIONS.md's revenue example.
func TestComputeRevenueDocExample(t *testing.T) {
	rule := tiered(domain.BasisRevenue, domain.ModeMarginal, docRevenueTiers()...)
	got, next := compute(t, rule, i64(30000), commission.RunningState{Count: 4, Revenue: 90000})
	if got != 4000 {
		t.Errorf("Compute = %d, want 1000 + 3000 = 4000", got)
	}
	if want := (commission.RunningState{Count: 5, Revenue: 120000}); next != want {
		t.Errorf("next = %+v, want %+v", next, want)
	}
}

func TestMarginal(t *testing.T) {
	doc := docRevenueTiers()
	three := []domain.Tier{rateTier(1000, 500), rateTier(5000, 1000), rateTier(0, 2000)}
	tests := []struct {
		name           string
		tiers          []domain.Tier
		running, value int64
		want           int64
	}{
		{"doc example", doc, 90000, 30000, 4000},
		{"wholly in the first tier", doc, 0, 50000, 5000},
		{"ends exactly on the boundary (upTo is inclusive)", doc, 90000, 10000, 1000},
		{"starts exactly after the boundary", doc, 100000, 10000, 1500},
		{"one unit on each side", doc, 99999, 2, 0}, // 0.1 + 0.15 = 0.25 → 0
		{"zero value", doc, 90000, 0, 0},
		// 1000×5 % + 4000×10 % + 5000×20 % = 50 + 400 + 1000 = 1450
		{"spans three tiers", three, 0, 10000, 1450},
		// from 900: 100×5 % + 4000×10 % + 100×20 % = 5 + 400 + 20 = 425
		{"spans three tiers from inside the first", three, 900, 4200, 425},
		// 123×5 % + 4000×10 % + 77×20 % = 6.15 + 400 + 15.4 = 421.55 → 422
		{"spans three tiers, rounded once", three, 877, 4200, 422},
		{"negative value mirrors a positive one", doc, 120000, -30000, -4000},
		{"no tiers", nil, 0, 100, 0},
		{"huge totals do not overflow", doc, math.MaxInt64 / 2, math.MaxInt64 / 4, commission.Percent(math.MaxInt64/4, 1500)},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := commission.Marginal(tt.tiers, tt.running, tt.value); got != tt.want {
				t.Errorf("Marginal(%d, %d) = %d, want %d", tt.running, tt.value, got, tt.want)
			}
		})
	}
}

// TestMarginalRoundsTheSumOnce shows where rounding each slice would differ:
// tiers [{upTo:5, 10 %}, {null, 50 %}] and a first conversion of 6 give
// slices 5 × 10 % = 0.5 and 1 × 50 % = 0.5. Rounded per slice that is
// 1 + 1 = 2; the exact commission is 1.0, and rounding the sum once gives 1.
func TestMarginalRoundsTheSumOnce(t *testing.T) {
	tiers := []domain.Tier{rateTier(5, 1000), rateTier(0, 5000)}
	perSlice := commission.Percent(5, 1000) + commission.Percent(1, 5000)
	if perSlice != 2 {
		t.Fatalf("per-slice rounding gives %d; the example expects 2", perSlice)
	}
	if got := commission.Marginal(tiers, 0, 6); got != 1 {
		t.Errorf("Marginal = %d, want 1 (the exact amount)", got)
	}
	// And the other way: two slices of 0.4 each round to 0 + 0 per slice,
	// while the exact 0.8 rounds to 1.
	tiers = []domain.Tier{rateTier(4, 1000), rateTier(0, 4000)}
	if per := commission.Percent(4, 1000) + commission.Percent(1, 4000); per != 0 {
		t.Fatalf("per-slice rounding gives %d, want 0", per)
	}
	if got := commission.Marginal(tiers, 0, 5); got != 1 {
		t.Errorf("Marginal = %d, want 1", got)
	}
}

func TestComputeRevenueWithoutValue(t *testing.T) {
	rule := tiered(domain.BasisRevenue, "", docRevenueTiers()...)
	state := commission.RunningState{Count: 3, Revenue: 5000}
	got, next := compute(t, rule, nil, state)
	if got != 0 || next != (commission.RunningState{Count: 4, Revenue: 5000}) {
		t.Errorf("Compute(nil) = %d, %+v", got, next)
	}
}

func TestTierIndex(t *testing.T) {
	tiers := docCountTiers()
	for _, tt := range []struct {
		n    int64
		want int
	}{{math.MinInt64, 0}, {0, 0}, {1, 0}, {10, 0}, {11, 1}, {50, 1}, {51, 2}, {math.MaxInt64, 2}} {
		if got := commission.TierIndex(tiers, tt.n); got != tt.want {
			t.Errorf("TierIndex(%d) = %d, want %d", tt.n, got, tt.want)
		}
	}
	if got := commission.TierIndex(nil, 1); got != -1 {
		t.Errorf("TierIndex(no tiers) = %d, want -1", got)
	}
	bounded := []domain.Tier{rateTier(10, 1000), rateTier(20, 2000)} // invalid: last bounded
	if got := commission.TierIndex(bounded, 21); got != 1 {
		t.Errorf("beyond a bounded last tier: %d, want the last tier", got)
	}
	if got := commission.Marginal(bounded, 15, 10); got != commission.Percent(10, 2000) {
		t.Errorf("revenue beyond a bounded last tier: %d, want the last tier's rate", got)
	}
}

// A running total that would pass the int64 limit is an error, never a
// clamped or wrapped total that prices later conversions at the wrong tier.
// With values bounded by domain.MaxAmount it takes 9,224 maximal
// conversions in one period.
func TestRunningTotalOverflowFailsLoudly(t *testing.T) {
	full := commission.RunningState{Count: 9223, Revenue: 9223 * domain.MaxAmount}
	if _, err := full.Add(i64(domain.MaxAmount)); !errors.Is(err, domain.ErrOverflow) {
		t.Errorf("Add past the limit: %v, want ErrOverflow", err)
	}
	if s, err := full.Add(nil); err != nil || s.Count != 9224 || s.Revenue != full.Revenue {
		t.Errorf("Add(no value) = %+v, %v", s, err)
	}
	if _, err := (commission.RunningState{Count: math.MaxInt64}).Add(nil); !errors.Is(err, domain.ErrOverflow) {
		t.Errorf("count past the limit: %v, want ErrOverflow", err)
	}
	for _, basis := range []string{domain.BasisRevenue, domain.BasisCount} {
		rule := tiered(basis, domain.ModeRetroactive, rateTier(10, 1000), rateTier(0, 2000))
		if amount, _, err := commission.Compute(rule, i64(domain.MaxAmount), full); !errors.Is(err, domain.ErrOverflow) {
			t.Errorf("%s: Compute past the limit = %d, %v; want ErrOverflow", basis, amount, err)
		}
		convs := make([]commission.PeriodConversion, 9224)
		for i := range convs {
			convs[i] = commission.PeriodConversion{Value: i64(domain.MaxAmount), Paid: domain.MaxAmount / 10}
		}
		if a, err := commission.RetroactiveAdjustment(rule, convs); !errors.Is(err, domain.ErrOverflow) {
			t.Errorf("%s: adjustment of a period past the limit = %d, %v; want ErrOverflow", basis, a, err)
		}
	}
	// Paid amounts that add up past the limit (not reachable through the
	// pipeline, but the sum is checked all the same).
	rule := tiered(domain.BasisCount, domain.ModeRetroactive, amountTier(1, 100), amountTier(0, 300))
	if a, err := commission.RetroactiveAdjustment(rule, []commission.PeriodConversion{{Paid: math.MaxInt64}, {Paid: 1}}); !errors.Is(err, domain.ErrOverflow) {
		t.Errorf("paid past the limit = %d, %v; want ErrOverflow", a, err)
	}
}

func TestCounterKey(t *testing.T) {
	k := commission.CounterKey{BeneficiaryID: "ptn_1", RuleSource: commission.SourceTier, RuleOwnerID: "tie_1", PeriodKey: "2026-03"}
	if got := k.String(); got != "ptn_1/tier/tie_1/2026-03" {
		t.Errorf("String = %q", got)
	}
}

func TestRetroactiveAdjustment(t *testing.T) {
	conv := func(value int64, paid int64) commission.PeriodConversion {
		return commission.PeriodConversion{Value: i64(value), Paid: paid}
	}
	// n conversions of value 10000 paid marginally under the doc's count tiers.
	countPeriod := func(n int) []commission.PeriodConversion {
		rule := tiered(domain.BasisCount, domain.ModeRetroactive, docCountTiers()...)
		var out []commission.PeriodConversion
		var s commission.RunningState
		for range n {
			v := int64(10000)
			var amount int64
			amount, s = compute(t, rule, &v, s)
			out = append(out, conv(v, amount))
		}
		return out
	}
	count := tiered(domain.BasisCount, domain.ModeRetroactive, docCountTiers()...)
	revenue := tiered(domain.BasisRevenue, domain.ModeRetroactive, docRevenueTiers()...)
	tests := []struct {
		name  string
		rule  domain.CommissionRule
		convs []commission.PeriodConversion
		want  int64
	}{
		{"no conversions", count, nil, 0},
		{"10 conversions stay in the first tier: no adjustment", count, countPeriod(10), 0},
		// paid 10 × 1000 + 1500; re-rated 11 × 1500 = 16500
		{"11th conversion lifts all to 15 %", count, countPeriod(11), 16500 - 11500},
		// paid 10×1000 + 40×1500 = 70000; re-rated 50 × 1500 = 75000
		{"50 conversions", count, countPeriod(50), 75000 - 70000},
		// paid 70000 + 2000; re-rated 51 × 2000 = 102000
		{"51st conversion lifts all to 20 %", count, countPeriod(51), 102000 - 72000},
		{"marginal mode never adjusts", tiered(domain.BasisCount, domain.ModeMarginal, docCountTiers()...), countPeriod(51), 0},
		{"mode left empty is marginal", tiered(domain.BasisCount, "", docCountTiers()...), countPeriod(51), 0},
		{"not tiered", domain.CommissionRule{Type: domain.RulePercentage, RateBps: i64(1000)}, countPeriod(51), 0},
		// final revenue 120000 → tier 2 (15 %): 13500 + 4500 = 18000; paid 9000 + 4000
		{"revenue: whole values re-rated at the final tier", revenue, []commission.PeriodConversion{conv(90000, 9000), conv(30000, 4000)}, 18000 - 13000},
		{"revenue: final total exactly on the boundary stays in tier 1", revenue, []commission.PeriodConversion{conv(90000, 9000), conv(10000, 1000)}, 0},
		{"revenue: one unit past the boundary", revenue, []commission.PeriodConversion{conv(100000, 10000), conv(1, 0)}, 15000 + 0 - 10000},
		{"count: flat-amount tiers", tiered(domain.BasisCount, domain.ModeRetroactive, amountTier(1, 100), amountTier(0, 300)),
			[]commission.PeriodConversion{{Paid: 100}, {Paid: 300}}, 600 - 400},
		{"decreasing tiers give a negative adjustment", tiered(domain.BasisCount, domain.ModeRetroactive, rateTier(1, 2000), rateTier(0, 1000)),
			[]commission.PeriodConversion{conv(1000, 200), conv(1000, 100)}, 200 - 300},
		// 11 conversions: the 3rd was rejected (void, still counts toward the
		// tier); re-rated: 10 × 1500; paid: 9 × 1000 + 1500
		{"a void conversion counts toward the tier but earns nothing", count, func() []commission.PeriodConversion {
			c := countPeriod(11)
			c[2].Paid, c[2].Void = 0, true
			return c
		}(), 15000 - 10500},
		// the 1st was refunded 2500 of 10000 (paid 1000 − 250 = 750); re-rated
		// at 15 %: 1500 − round(1500 × 0.25) = 1125, others 10 × 1500
		{"a partly refunded conversion is re-rated net of its refund", count, func() []commission.PeriodConversion {
			c := countPeriod(11)
			c[0].Paid, c[0].Refunded = 750, 2500
			return c
		}(), 1125 + 15000 - (750 + 9000 + 1500)},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := adjustment(t, tt.rule, tt.convs); got != tt.want {
				t.Errorf("RetroactiveAdjustment = %d, want %d", got, tt.want)
			}
		})
	}
}
