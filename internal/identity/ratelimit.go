package identity

import (
	"sync"
	"time"
)

// Limiter allows at most Max attempts per key in each Window (a fixed
// window). It is per process: on Lambda each instance counts on its own,
// which still bounds guessing to Max × instances per window.
type Limiter struct {
	Max    int
	Window time.Duration

	mu      sync.Mutex
	buckets map[string]bucket
}

type bucket struct {
	start time.Time
	count int
}

// Allow records an attempt for key at now and reports whether it is within
// the limit, and if not, how long until the window resets.
func (l *Limiter) Allow(key string, now time.Time) (bool, time.Duration) {
	l.mu.Lock()
	defer l.mu.Unlock()
	if l.buckets == nil {
		l.buckets = map[string]bucket{}
	}
	if len(l.buckets) > 100_000 { // bound memory under a spray of keys
		for k, b := range l.buckets {
			if now.Sub(b.start) >= l.Window {
				delete(l.buckets, k)
			}
		}
	}
	b := l.buckets[key]
	if now.Sub(b.start) >= l.Window {
		b = bucket{start: now}
	}
	b.count++
	l.buckets[key] = b
	if b.count > l.Max {
		return false, b.start.Add(l.Window).Sub(now)
	}
	return true, 0
}
