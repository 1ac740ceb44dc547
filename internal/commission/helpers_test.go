package commission_test

import (
	"math/big"
	"testing"
	"time"

	"github.com/partnerloop/partnerloop/internal/commission"
	"github.com/partnerloop/partnerloop/internal/domain"
)

// compute is commission.Compute for a running total that cannot overflow:
// an error fails the test.
func compute(t testing.TB, rule domain.CommissionRule, value *int64, state commission.RunningState) (int64, commission.RunningState) {
	t.Helper()
	amount, next, err := commission.Compute(rule, value, state)
	if err != nil {
		t.Fatalf("Compute: %v", err)
	}
	return amount, next
}

// adjustment is commission.RetroactiveAdjustment failing the test on error.
func adjustment(t testing.TB, rule domain.CommissionRule, convs []commission.PeriodConversion) int64 {
	t.Helper()
	a, err := commission.RetroactiveAdjustment(rule, convs)
	if err != nil {
		t.Fatalf("RetroactiveAdjustment: %v", err)
	}
	return a
}

// i64 returns a pointer to n, for the optional integers of rules and tiers.
func i64(n int64) *int64 { return &n }

// t0 is a fixed instant in UTC.
var t0 = time.Date(2026, 3, 14, 9, 30, 0, 0, time.UTC)

// rateTier and amountTier build tiers; upTo 0 means unbounded (null).
func rateTier(upTo, rateBps int64) domain.Tier {
	t := domain.Tier{RateBps: i64(rateBps)}
	if upTo != 0 {
		t.UpTo = i64(upTo)
	}
	return t
}

func amountTier(upTo, amount int64) domain.Tier {
	t := domain.Tier{Amount: i64(amount)}
	if upTo != 0 {
		t.UpTo = i64(upTo)
	}
	return t
}

// docCountTiers and docRevenueTiers are the tiers of COMMISSIONS.md's examples.
func docCountTiers() []domain.Tier {
	return []domain.Tier{rateTier(10, 1000), rateTier(50, 1500), rateTier(0, 2000)}
}

func docRevenueTiers() []domain.Tier {
	return []domain.Tier{rateTier(100000, 1000), rateTier(0, 1500)}
}

func tiered(basis, mode string, tiers ...domain.Tier) domain.CommissionRule {
	return domain.CommissionRule{Type: domain.RuleTiered, Basis: basis, Period: domain.PeriodMonth, Mode: mode, Tiers: tiers}
}

// roundRef divides num by den (> 0) rounding half away from zero, with
// math/big: an independent reference for the package's 128-bit arithmetic.
func roundRef(num, den *big.Int) *big.Int {
	q, r := new(big.Int).QuoRem(num, den, new(big.Int))
	twice := new(big.Int).Abs(r)
	twice.Lsh(twice, 1)
	if twice.Cmp(den) >= 0 {
		q.Add(q, big.NewInt(int64(num.Sign())))
	}
	return q
}

// wantKind fails unless err is a *domain.Error of the kind and code.
func wantKind(t *testing.T, err error, kind domain.Kind, code string) *domain.Error {
	t.Helper()
	if err == nil {
		t.Fatalf("no error, want %v %q", kind, code)
	}
	e, ok := domain.AsError(err)
	if !ok {
		t.Fatalf("error %v (%T) is not a *domain.Error", err, err)
	}
	if e.Kind != kind || e.Code != code {
		t.Fatalf("error = %v/%q (%v), want %v/%q", e.Kind, e.Code, e, kind, code)
	}
	return e
}
