package commission

import (
	"fmt"
	"math"
	"math/bits"
)

// bpsDenominator is the number of basis points in 100 %.
const bpsDenominator = 10000

// Percent returns value × rateBps / 10000 rounded half away from zero to a
// whole minor unit, computed in integers only. It is exact for every int64
// value and rate: the product is formed in 128 bits, so no intermediate
// overflows. Negative values (clawbacks) round symmetrically:
// Percent(1, 5000) = 1 and Percent(-1, 5000) = -1.
//
// It panics only when the result itself does not fit in an int64, which
// needs |rateBps| > 10000 (domain.MaxRateBps) and a value near the int64
// limits: a validated rule never gets there.
func Percent(value, rateBps int64) int64 {
	q, ok := mulDivRound(value, rateBps, bpsDenominator)
	if !ok {
		panic(fmt.Sprintf("commission: %d × %d bps overflows int64", value, rateBps))
	}
	return q
}

// mulDivRound returns a × b / d rounded half away from zero, exactly; ok is
// false when d ≤ 0 or the result does not fit in an int64.
func mulDivRound(a, b, d int64) (int64, bool) {
	if d <= 0 {
		return 0, false
	}
	mag, ok := mul64(abs64(a), abs64(b)).divRound(uint64(d))
	if !ok {
		return 0, false
	}
	return signed(mag, (a < 0) != (b < 0))
}

// u128 is an unsigned 128-bit magnitude; amounts are carried as a sign and a
// magnitude so every product of two int64 fits and rounding is symmetric.
type u128 struct{ hi, lo uint64 }

func mul64(a, b uint64) u128 {
	hi, lo := bits.Mul64(a, b)
	return u128{hi, lo}
}

// add returns x + y; ok is false on overflow of 128 bits.
func (x u128) add(y u128) (u128, bool) {
	lo, c := bits.Add64(x.lo, y.lo, 0)
	hi, c := bits.Add64(x.hi, y.hi, c)
	return u128{hi, lo}, c == 0
}

// divRound returns x / d rounded half up (on the magnitude, which is half
// away from zero once the sign is applied); ok is false when the quotient
// needs more than 64 bits.
func (x u128) divRound(d uint64) (uint64, bool) {
	if x.hi >= d {
		return 0, false
	}
	q, r := bits.Div64(x.hi, x.lo, d)
	if r >= d-r { // 2r ≥ d, without overflowing
		if q == math.MaxUint64 {
			return 0, false
		}
		q++
	}
	return q, true
}

// signed applies the sign to a magnitude; ok is false when it does not fit.
func signed(mag uint64, neg bool) (int64, bool) {
	if neg {
		if mag > 1<<63 {
			return 0, false
		}
		return int64(-mag), true // two's complement: -(1<<63) is MinInt64
	}
	if mag > math.MaxInt64 {
		return 0, false
	}
	return int64(mag), true
}

// abs64 returns |x| as an unsigned magnitude (exact for math.MinInt64).
func abs64(x int64) uint64 {
	if x < 0 {
		return -uint64(x)
	}
	return uint64(x)
}
