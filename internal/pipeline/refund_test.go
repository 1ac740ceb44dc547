package pipeline

import (
	"math"
	"math/rand/v2"
	"testing"
	"time"

	"github.com/partnerloop/partnerloop/internal/commission"
	"github.com/partnerloop/partnerloop/internal/domain"
)

// engineTakenBack asks the engine how much of earned a refund of refunded
// out of value takes back: a pending commission refunded from nothing is
// replaced by earned − T.
func engineTakenBack(t *testing.T, earned, refunded, value int64) int64 {
	t.Helper()
	if refunded == 0 {
		return 0
	}
	c := commission.Commission{ID: "com_x", Kind: commission.KindCommission, Status: commission.StatusPending,
		Amount: domain.Money{Amount: earned, Currency: "USD"}, OriginalAmount: earned}
	out, err := commission.Refund(c, value, refunded, 0, "test", time.Time{})
	if err != nil {
		t.Fatalf("Refund(%d, %d of %d): %v", earned, refunded, value, err)
	}
	switch {
	case out.Reversed == nil:
		return 0 // too small to move a minor unit
	case out.Added == nil:
		return earned
	}
	return earned - out.Added.Amount.Amount
}

// takenBack is the engine's cumulative refund target, exactly.
func TestTakenBackMatchesTheEngine(t *testing.T) {
	r := rand.New(rand.NewPCG(1, 2))
	cases := [][3]int64{
		{500, 2500, 4999}, {500, 2499, 4999}, {1, 1, 2}, {1, 1, 3}, {3, 1, 2}, {7, 5, 10},
		{math.MaxInt64, math.MaxInt64 - 1, math.MaxInt64}, {math.MaxInt64 / 3, 12345, math.MaxInt64 - 7},
	}
	for range 2000 {
		v := r.Int64N(1_000_000) + 1
		cases = append(cases, [3]int64{r.Int64N(v) + 1, r.Int64N(v) + 1, v})
	}
	for range 200 {
		v := r.Int64N(math.MaxInt64-1) + 1
		cases = append(cases, [3]int64{r.Int64N(math.MaxInt64-1) + 1, r.Int64N(v) + 1, v})
	}
	for _, c := range cases {
		earned, refunded, value := c[0], c[1], c[2]
		if got, want := takenBack(earned, refunded, value), engineTakenBack(t, earned, refunded, value); got != want {
			t.Fatalf("takenBack(%d, %d, %d) = %d, engine %d", earned, refunded, value, got, want)
		}
	}
	if takenBack(500, 0, 4999) != 0 || takenBack(500, 4999, 4999) != 500 || takenBack(500, 6000, 4999) != 500 {
		t.Fatal("takenBack bounds")
	}
}

func TestRefundedFor(t *testing.T) {
	r := rand.New(rand.NewPCG(3, 4))
	for range 2000 {
		value := r.Int64N(100_000) + 1
		earned := r.Int64N(value) + 1
		f := r.Int64N(value + 1)
		taken := takenBack(earned, f, value)
		got, ok := refundedFor(earned, taken, value)
		if !ok || got > f || takenBack(earned, got, value) != taken || (got > 0 && takenBack(earned, got-1, value) == taken) {
			t.Fatalf("refundedFor(%d, %d, %d) = %d, %v (from %d)", earned, taken, value, got, ok, f)
		}
	}
	// A target no refunded amount reaches: 1000 earned on 3, T ∈ {0, 333, 667, 1000}.
	if _, ok := refundedFor(1000, 500, 3); ok {
		t.Fatal("refundedFor found an amount for an unreachable target")
	}
}
