// Package ratelimit bounds how often something may be attempted, with
// records kept in the store so that a limit holds across every process and
// Lambda instance: fixed-window counters (Limiter: deal registrations) and
// failure throttles that slow down and then lock (Throttle: sign-in and
// invitation acceptance).
package ratelimit

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"time"

	"github.com/partnerloop/partnerloop/internal/domain"
	"github.com/partnerloop/partnerloop/internal/store"
)

// Limiter allows at most Max attempts per key in each fixed Window.
type Limiter struct {
	counters store.Counters
	now      domain.Clock
	name     string
	max      int64
	window   time.Duration
}

// New returns a limiter named name (which keeps its counters apart from
// other limiters') allowing max attempts per key per window.
func New(c store.Counters, now domain.Clock, name string, max int, window time.Duration) *Limiter {
	return &Limiter{counters: c, now: now, name: name, max: int64(max), window: window}
}

// Allow records an attempt for key. Over the limit it returns a
// KindRateLimited error (code "rate_limited") whose Extra "retryAfter" is
// the seconds until the window ends. The key is stored only as a hash:
// keys are addresses, emails and tokens.
func (l *Limiter) Allow(ctx context.Context, key string) error {
	now := l.now()
	start := now.Truncate(l.window)
	end := start.Add(l.window)
	sum := sha256.Sum256([]byte(l.name + "\x00" + key))
	k := l.name + "#" + start.UTC().Format("20060102T150405") + "#" + hex.EncodeToString(sum[:16])
	n, err := l.counters.IncrementCounter(ctx, k, end)
	if err != nil {
		return err
	}
	if n > l.max {
		return Limited(end.Sub(now))
	}
	return nil
}

// Limited is the error of an attempt over a limit, to retry after wait.
func Limited(wait time.Duration) error {
	secs := int((wait + time.Second - 1) / time.Second)
	if secs < 1 {
		secs = 1
	}
	e := domain.Errorf(domain.KindRateLimited, "rate_limited", "too many attempts; try again in %d seconds", secs)
	e.Extra = map[string]any{"retryAfter": secs}
	return e
}
