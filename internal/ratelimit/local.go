package ratelimit

import (
	"sync"
	"time"

	"github.com/partnerloop/partnerloop/internal/domain"
)

// Local allows at most max attempts per key in each fixed window, counted
// in this process's memory. It costs no store round trip, which suits a
// hot path such as the referral redirect; the price is that every process
// (every Lambda instance) counts on its own, so it bounds the work one key
// makes a process do rather than being a global limit. Limits that must
// hold across instances use Limiter.
type Local struct {
	now     domain.Clock
	max     int
	window  time.Duration
	maxKeys int

	mu     sync.Mutex
	start  time.Time      // of the current window
	counts map[string]int // attempts per key in the current window
}

// NewLocal returns an in-process limiter of max attempts per key per
// window. At most maxKeys keys are counted per window, which bounds its
// memory; keys beyond them are allowed (the store-backed limits still
// hold for them).
func NewLocal(now domain.Clock, max int, window time.Duration, maxKeys int) *Local {
	return &Local{now: now, max: max, window: window, maxKeys: maxKeys, counts: map[string]int{}}
}

// Allow records an attempt for key and reports whether it is within the
// limit.
func (l *Local) Allow(key string) bool {
	start := l.now().Truncate(l.window)
	l.mu.Lock()
	defer l.mu.Unlock()
	if !start.Equal(l.start) {
		l.start = start
		clear(l.counts)
	}
	n, seen := l.counts[key]
	if !seen && len(l.counts) >= l.maxKeys {
		return true
	}
	if n >= l.max {
		return false
	}
	l.counts[key] = n + 1
	return true
}
