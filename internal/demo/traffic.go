package demo

import (
	"math"
	"math/rand/v2"
	"time"
)

// The traffic model: how many clicks a referrer's link gets on a day. A
// year of a growing product is not flat — B2B software buys less in the
// summer holidays and between Christmas and New Year, more in autumn and
// around Black Friday; people click on weekdays more than on weekends and
// in the afternoon more than at night — and now and then a post goes viral.

// seasonal is the month-of-year factor of traffic (January first).
var seasonal = [12]float64{0.85, 0.95, 1.05, 1.0, 1.0, 0.95, 0.8, 0.75, 1.05, 1.1, 1.25, 1.0}

// weekly is the day-of-week factor (Sunday first).
var weekly = [7]float64{0.6, 1.1, 1.2, 1.15, 1.1, 0.95, 0.55}

// hourly weights the UTC hour of a click: the audience is in Europe and
// the Americas, so the afternoon and evening in UTC are busiest.
var hourly = [24]float64{3, 2, 1.5, 1, 1, 1, 1.5, 2.5, 4, 5, 5.5, 6, 6.5, 7.5, 8.5, 9, 9, 8.5, 8, 7.5, 7, 6, 5, 4}

// dayFactor is a day's traffic factor: the season, the weekday, the year's
// quiet weeks and busy days, and some noise.
func dayFactor(day time.Time, rng *rand.Rand) float64 {
	f := seasonal[day.Month()-1] * weekly[day.Weekday()]
	switch m, d := day.Month(), day.Day(); {
	case m == time.December && d >= 22, m == time.January && d <= 2:
		f *= 0.55 // between Christmas and New Year
	case isBlackFridayWeek(day):
		f *= 1.8
	}
	return f * math.Exp(rng.NormFloat64()*0.15)
}

// isBlackFridayWeek: the Friday after the fourth Thursday of November and
// the days around it, through Cyber Monday.
func isBlackFridayWeek(day time.Time) bool {
	if day.Month() != time.November && day.Month() != time.December {
		return false
	}
	first := time.Date(day.Year(), time.November, 1, 0, 0, 0, 0, time.UTC)
	thanksgiving := first.AddDate(0, 0, (int(time.Thursday)-int(first.Weekday())+7)%7+21)
	from, to := thanksgiving.AddDate(0, 0, -2), thanksgiving.AddDate(0, 0, 5)
	return !day.Before(from) && day.Before(to)
}

// clockTime picks the moment of a click on day (midnight UTC) by the hourly
// profile.
func clockTime(day time.Time, rng *rand.Rand) time.Time {
	total := 0.0
	for _, w := range hourly {
		total += w
	}
	x := rng.Float64() * total
	h := 0
	for ; h < 23 && x >= hourly[h]; h++ {
		x -= hourly[h]
	}
	return day.Add(time.Duration(h)*time.Hour + time.Duration(rng.Int64N(int64(time.Hour))))
}

// poisson draws from a Poisson distribution of mean lambda: Knuth's method
// for small means, a rounded normal for large ones (exact enough for demo
// traffic).
func poisson(lambda float64, rng *rand.Rand) int {
	switch {
	case lambda <= 0:
		return 0
	case lambda > 30:
		return max(0, int(math.Round(lambda+math.Sqrt(lambda)*rng.NormFloat64())))
	}
	l, k, p := math.Exp(-lambda), 0, 1.0
	for {
		p *= rng.Float64()
		if p <= l {
			return k
		}
		k++
	}
}

// spike is a burst of extra clicks on one link: a post that went viral.
// Its clicks arrive over a few days, halving each day, and convert worse
// than the link's usual visitors.
type spike struct {
	code    string    // the link's code
	day     int       // days after the demo's start
	share   float64   // of the year's clicks
	referer string    // where the visitors came from
	clicks  []float64 // per day of the burst, set by plan
}

// spikeDays is how many days a burst lasts.
const spikeDays = 4

// spikeConversion scales the referral rate of a burst's visitors.
const spikeConversion = 0.35

func (s *spike) plan(totalClicks int) {
	s.clicks = make([]float64, spikeDays)
	n := float64(totalClicks) * s.share
	weight := 0.0
	for d := range spikeDays {
		weight += math.Pow(0.5, float64(d))
	}
	for d := range spikeDays {
		s.clicks[d] = n * math.Pow(0.5, float64(d)) / weight
	}
}

// pick returns an index of weights chosen in proportion to them.
func pick(weights []float64, rng *rand.Rand) int {
	total := 0.0
	for _, w := range weights {
		total += w
	}
	x := rng.Float64() * total
	for i, w := range weights {
		if x < w {
			return i
		}
		x -= w
	}
	return len(weights) - 1
}

// expDuration is an exponentially distributed duration of the given mean.
func expDuration(mean time.Duration, rng *rand.Rand) time.Duration {
	return time.Duration(rng.ExpFloat64() * float64(mean))
}

// between is a uniformly random duration in [lo, hi).
func between(lo, hi time.Duration, rng *rand.Rand) time.Duration {
	return lo + time.Duration(rng.Int64N(int64(hi-lo)))
}
