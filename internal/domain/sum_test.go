package domain_test

import (
	"errors"
	"math"
	"math/big"
	"testing"

	"github.com/partnerloop/partnerloop/internal/domain"
)

// exact reports a op b computed without limits, and whether it fits in an
// int64 — the reference AddAmounts and SubAmounts must agree with.
func exact(a, b int64, sub bool) (int64, bool) {
	x := new(big.Int).SetInt64(a)
	if sub {
		x.Sub(x, big.NewInt(b))
	} else {
		x.Add(x, big.NewInt(b))
	}
	return x.Int64(), x.IsInt64()
}

func TestAddAndSubAmounts(t *testing.T) {
	edge := []int64{math.MinInt64, math.MinInt64 + 1, -domain.MaxAmount, -1, 0, 1, domain.MaxAmount,
		math.MaxInt64/2 + 1, math.MaxInt64 - 1, math.MaxInt64}
	for _, a := range edge {
		for _, b := range edge {
			for _, sub := range []bool{false, true} {
				want, fits := exact(a, b, sub)
				op, f := "+", domain.AddAmounts
				if sub {
					op, f = "-", domain.SubAmounts
				}
				got, err := f(a, b)
				switch {
				case fits && (err != nil || got != want):
					t.Errorf("%d %s %d = %d, %v; want %d", a, op, b, got, err, want)
				case !fits && !errors.Is(err, domain.ErrOverflow):
					t.Errorf("%d %s %d = %d, %v; want ErrOverflow", a, op, b, got, err)
				}
			}
		}
	}
}

// The attack of the security review: eleven conversions of MaxInt64 added
// up. The sum must fail loudly, never come out negative.
func TestSumOverflowIsSticky(t *testing.T) {
	var s domain.Sum
	for range 11 {
		s.Add(math.MaxInt64)
	}
	if got, err := s.Total(); !errors.Is(err, domain.ErrOverflow) || !s.Overflowed() {
		t.Fatalf("11 × MaxInt64 = %d, %v; want ErrOverflow", got, err)
	}
	// Adding it back below the limit does not clear the flag: the true sum
	// was lost at the first overflow.
	s.Add(math.MinInt64)
	if _, err := s.Total(); !errors.Is(err, domain.ErrOverflow) {
		t.Fatalf("after subtracting: %v; the overflow must stick", err)
	}

	var ok domain.Sum
	for range 9223 { // 9,223 × MaxAmount fits, the 9,224th does not
		ok.Add(domain.MaxAmount)
	}
	if got, err := ok.Total(); err != nil || got != 9223*domain.MaxAmount {
		t.Fatalf("9223 × MaxAmount = %d, %v", got, err)
	}
	ok.Add(domain.MaxAmount)
	if _, err := ok.Total(); !errors.Is(err, domain.ErrOverflow) {
		t.Fatalf("9224 × MaxAmount: %v; want ErrOverflow", err)
	}

	var neg domain.Sum
	neg.Add(-5)
	neg.Add(3)
	if got, err := neg.Total(); err != nil || got != -2 {
		t.Fatalf("-5 + 3 = %d, %v", got, err)
	}
}

func TestTotals(t *testing.T) {
	var empty domain.Totals
	if l, err := empty.Money(); err != nil || l == nil || len(l) != 0 {
		t.Fatalf("empty totals = %#v, %v; want an empty list", l, err)
	}
	var tt domain.Totals
	tt.Add(domain.Money{Amount: 150, Currency: "USD"})
	tt.Add(domain.Money{Amount: 7, Currency: "EUR"})
	tt.Add(domain.Money{Amount: -50, Currency: "USD"})
	l, err := tt.Money()
	if err != nil || len(l) != 2 || l[0] != (domain.Money{Amount: 7, Currency: "EUR"}) || l[1] != (domain.Money{Amount: 100, Currency: "USD"}) {
		t.Fatalf("totals = %v, %v", l, err)
	}
	tt.Add(domain.Money{Amount: math.MaxInt64, Currency: "USD"})
	if l, err := tt.Money(); !errors.Is(err, domain.ErrOverflow) || l != nil {
		t.Fatalf("overflowed totals = %v, %v; want ErrOverflow", l, err)
	}
}

func TestCheckAmount(t *testing.T) {
	for _, tc := range []struct {
		amount   int64
		positive bool
		ok       bool
	}{
		{0, false, true}, {0, true, false}, {1, true, true}, {-1, false, false},
		{domain.MaxAmount, true, true}, {domain.MaxAmount + 1, false, false}, {math.MaxInt64, true, false},
	} {
		var v domain.Validation
		v.CheckAmount(tc.amount, "amount", tc.positive)
		if ok := v.Err() == nil; ok != tc.ok {
			t.Errorf("CheckAmount(%d, positive=%v): ok = %v, want %v (%v)", tc.amount, tc.positive, ok, tc.ok, v.Err())
		}
	}
}
