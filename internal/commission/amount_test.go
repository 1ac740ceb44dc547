package commission_test

import (
	"math"
	"math/big"
	"math/rand/v2"
	"testing"

	"github.com/partnerloop/partnerloop/internal/commission"
	"github.com/partnerloop/partnerloop/internal/domain"
)

func TestPercent(t *testing.T) {
	tests := []struct {
		name        string
		value, rate int64
		want        int64
	}{
		{"plain 10 %", 10000, 1000, 1000},
		{"zero value", 0, 1000, 0},
		{"0.5 rounds up", 1, 5000, 1},
		{"-0.5 rounds down (away from zero)", -1, 5000, -1},
		{"negative rate", 1, -5000, -1},
		{"both negative", -1, -5000, 1},
		{"0.4999 rounds to 0", 4999, 1, 0},
		{"-0.4999 rounds to 0", -4999, 1, 0},
		{"0.5001 rounds to 1", 5001, 1, 1},
		{"1.4999 → 1", 14999, 1, 1},
		{"1.5 → 2", 15000, 1, 2},
		{"-1.5 → -2", -15000, 1, -2},
		{"2.5 → 3 (not banker's)", 25000, 1, 3},
		{"-2.5 → -3", -25000, 1, -3},
		{"12.34 % of 999", 999, 1234, 123}, // 123.2766
		{"100 %", 123456789, 10000, 123456789},
		{"MaxInt64 at 100 % (product overflows int64)", math.MaxInt64, 10000, math.MaxInt64},
		{"MaxAmount at 100 % (10^19 > MaxInt64)", domain.MaxAmount, 10000, domain.MaxAmount},
		{"MaxAmount at 99.99 %", domain.MaxAmount, 9999, 999_900_000_000_000},
		{"MaxAmount - 5000 at 1 bps", domain.MaxAmount - 5000, 1, 100_000_000_000}, // 99999999999.5: half away from zero
		{"MinInt64 at 100 %", math.MinInt64, 10000, math.MinInt64},
		{"MaxInt64 at 1 bps", math.MaxInt64, 1, 922337203685478}, // 922337203685477.5807
		{"MinInt64 at 1 bps", math.MinInt64, 1, -922337203685478},
		{"MaxInt64 at 99.99 %", math.MaxInt64, 9999, 9222449699651090329}, // …329.4193
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := commission.Percent(tt.value, tt.rate); got != tt.want {
				t.Errorf("Percent(%d, %d) = %d, want %d", tt.value, tt.rate, got, tt.want)
			}
			ref := roundRef(new(big.Int).Mul(big.NewInt(tt.value), big.NewInt(tt.rate)), big.NewInt(10000))
			if !ref.IsInt64() || ref.Int64() != tt.want {
				t.Errorf("the table is wrong: math/big says %v", ref)
			}
		})
	}
}

func TestPercentOverflowPanics(t *testing.T) {
	for _, tt := range []struct{ value, rate int64 }{
		{math.MaxInt64, 10001}, {math.MinInt64, -10000}, {math.MaxInt64, math.MaxInt64},
	} {
		func() {
			defer func() {
				if recover() == nil {
					t.Errorf("Percent(%d, %d) did not panic", tt.value, tt.rate)
				}
			}()
			commission.Percent(tt.value, tt.rate)
		}()
	}
}

// TestPercentMatchesBig checks random values of every magnitude against
// math/big with fixed seeds.
func TestPercentMatchesBig(t *testing.T) {
	r := rand.New(rand.NewPCG(1, 2))
	for i := 0; i < 200000; i++ {
		value := r.Int64() >> r.IntN(64)
		if r.IntN(2) == 0 {
			value = -value
		}
		rate := r.Int64N(20001) - 10000
		want := roundRef(new(big.Int).Mul(big.NewInt(value), big.NewInt(rate)), big.NewInt(10000))
		if got := commission.Percent(value, rate); got != want.Int64() {
			t.Fatalf("Percent(%d, %d) = %d, want %v", value, rate, got, want)
		}
	}
}
