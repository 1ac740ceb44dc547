package domain

import (
	"errors"
	"fmt"
	"math"
	"slices"
	"strings"
)

// ErrOverflow is the error of a money total that does not fit in an int64.
// It is not a *Error on purpose: it is never the caller's fault (inputs are
// bounded by MaxAmount), so the HTTP layer answers 500 and logs it, and a
// job reports it, rather than showing a wrapped, negative total.
var ErrOverflow = errors.New("money total overflows int64")

// AddAmounts returns a + b, or ErrOverflow when the exact sum does not fit
// in an int64.
func AddAmounts(a, b int64) (int64, error) {
	s := a + b
	// Overflow happens only when both operands have the same sign and the
	// result's sign differs from it.
	if (a >= 0) == (b >= 0) && (s >= 0) != (a >= 0) {
		return 0, fmt.Errorf("%w: %d + %d", ErrOverflow, a, b)
	}
	return s, nil
}

// SubAmounts returns a − b, or ErrOverflow when the exact difference does
// not fit in an int64.
func SubAmounts(a, b int64) (int64, error) {
	if b == math.MinInt64 {
		if a >= 0 {
			return 0, fmt.Errorf("%w: %d - %d", ErrOverflow, a, b)
		}
		return a - b, nil // a − MinInt64 = a + 2^63 fits when a < 0
	}
	return AddAmounts(a, -b)
}

// Sum adds amounts of one currency with overflow checks. Its zero value is
// an empty sum. Once an addition overflows the sum stays overflowed (the
// flag is sticky), so a loop can Add without checking each step and check
// Total once at the end:
//
//	var s domain.Sum
//	for _, c := range entries {
//		s.Add(c.Amount.Amount)
//	}
//	total, err := s.Total() // err wraps ErrOverflow
type Sum struct {
	total    int64
	overflow bool
}

// Add adds amount; after an overflow it does nothing.
func (s *Sum) Add(amount int64) {
	if s.overflow {
		return
	}
	t, err := AddAmounts(s.total, amount)
	if err != nil {
		s.overflow = true
		return
	}
	s.total = t
}

// Total is the sum, or ErrOverflow when any addition overflowed.
func (s Sum) Total() (int64, error) {
	if s.overflow {
		return 0, ErrOverflow
	}
	return s.total, nil
}

// Overflowed reports whether an addition overflowed.
func (s Sum) Overflowed() bool { return s.overflow }

// Totals adds amounts of several currencies, one Sum per currency. Its
// zero value is empty and ready to use.
type Totals struct {
	sums map[string]*Sum
}

// Add adds m to its currency's sum.
func (t *Totals) Add(m Money) {
	if t.sums == nil {
		t.sums = map[string]*Sum{}
	}
	s := t.sums[m.Currency]
	if s == nil {
		s = &Sum{}
		t.sums[m.Currency] = s
	}
	s.Add(m.Amount)
}

// Money returns one Money per currency added, in currency order (an empty,
// non-nil list when nothing was added), or an error wrapping ErrOverflow
// that names the first currency whose sum overflowed.
func (t Totals) Money() ([]Money, error) {
	out := make([]Money, 0, len(t.sums))
	for cur, s := range t.sums {
		out = append(out, Money{Amount: s.total, Currency: cur})
	}
	slices.SortFunc(out, func(a, b Money) int { return strings.Compare(a.Currency, b.Currency) })
	for _, m := range out {
		if t.sums[m.Currency].overflow {
			return nil, fmt.Errorf("%w: the %s total", ErrOverflow, m.Currency)
		}
	}
	return out, nil
}
