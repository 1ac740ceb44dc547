package ratelimit

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"net/netip"
	"time"

	"github.com/partnerloop/partnerloop/internal/domain"
	"github.com/partnerloop/partnerloop/internal/store"
)

// Policy says how failed attempts under one key slow the next attempts
// down and then lock them. After the n-th failure the next attempt must
// wait Wait(n) from that failure; an attempt that comes earlier is refused
// (429 with Retry-After) without being tried or counted.
type Policy struct {
	// Free is how many failures cost nothing: no wait follows them.
	Free int64
	// Base is the wait after failure number Free; each further failure
	// doubles it, up to Lock.
	Base time.Duration
	// Lock is the longest wait: once reached, every further failure locks
	// the key for Lock.
	Lock time.Duration
	// Forget is how long after its latest failure a key's record is
	// forgotten (a success forgets it at once where the caller says so).
	Forget time.Duration
}

// Wait is the wait that follows the failures-th failure.
func (p Policy) Wait(failures int64) time.Duration {
	if failures < p.Free || failures <= 0 {
		return 0
	}
	w := p.Base
	for i := p.Free; i < failures && w < p.Lock; i++ {
		w *= 2
	}
	return min(w, p.Lock)
}

// LockedAt is the number of failures from which every failure locks the
// key for Lock (the first n with Wait(n) = Lock).
func (p Policy) LockedAt() int64 {
	n := max(p.Free, 1)
	for p.Wait(n) < p.Lock {
		n++
	}
	return n
}

// Throttle counts failed attempts per key in the store (store.Throttles),
// so the counts hold across every process and Lambda instance. Keys are
// stored only as hashes: they are addresses, emails and tokens.
type Throttle struct {
	st     store.Throttles
	now    domain.Clock
	name   string
	policy Policy
}

// NewThrottle returns a throttle named name (which keeps its records apart
// from other throttles') with policy p.
func NewThrottle(st store.Throttles, now domain.Clock, name string, p Policy) *Throttle {
	return &Throttle{st: st, now: now, name: name, policy: p}
}

// With is the same throttle — the same records — under another policy.
func (t *Throttle) With(p Policy) *Throttle {
	c := *t
	c.policy = p
	return &c
}

// Policy is the throttle's policy.
func (t *Throttle) Policy() Policy { return t.policy }

func (t *Throttle) key(k string) string {
	sum := sha256.Sum256([]byte(t.name + "\x00" + k))
	return t.name + "#" + hex.EncodeToString(sum[:16])
}

// maxTries bounds the compare-and-set rounds of one change; they only
// repeat when concurrent attempts on the same key moved its record.
const maxTries = 8

// Attempt is an attempt counted as a failure in advance (see Begin).
type Attempt struct {
	t             *Throttle
	key           string
	before, after store.Throttle
}

// Begin starts an attempt under key. While the key must still wait it
// returns a KindRateLimited error (code "rate_limited", Extra "retryAfter"
// in seconds) and counts nothing. Otherwise it counts the attempt as a
// failure before the caller tries it — so that concurrent attempts cannot
// all slip through on the same count — and the caller gives it back with
// Undo when the attempt did not fail.
func (t *Throttle) Begin(ctx context.Context, key string) (*Attempt, error) {
	k := t.key(key)
	for range maxTries {
		now := t.now()
		cur, err := t.st.GetThrottle(ctx, k, now)
		if err != nil {
			return nil, err
		}
		if now.Before(cur.NotBefore) {
			return nil, Limited(cur.NotBefore.Sub(now))
		}
		next := store.Throttle{Failures: cur.Failures + 1, ExpiresAt: now.Add(t.policy.Forget)}
		next.NotBefore = now.Add(t.policy.Wait(next.Failures))
		err = t.st.SetThrottle(ctx, k, cur.Failures, now, next)
		if err == nil {
			return &Attempt{t: t, key: k, before: cur, after: next}, nil
		}
		if !errors.Is(err, store.ErrConflict) {
			return nil, err
		}
	}
	// Attempts on this key are racing each other: someone is hammering it.
	return nil, Limited(time.Second)
}

// Undo gives the attempt back: it did not fail (it succeeded, or failed on
// our side). The record returns to what it was before the attempt; if
// other attempts moved it meanwhile, one failure is taken off it. Losing
// every round to concurrent attempts leaves the failure counted, which is
// the safe side.
func (a *Attempt) Undo(ctx context.Context) error { return a.UndoAnd(ctx, 0) }

// UndoAnd gives the attempt back and takes extra earlier failures off the
// record too (never below zero): failures a success has shown to be the
// rightful user's own typos.
func (a *Attempt) UndoAnd(ctx context.Context, extra int64) error {
	if a == nil {
		return nil
	}
	now := a.t.now()
	want, expected := a.before, a.after.Failures
	want.Failures = max(want.Failures-extra, 0)
	for range maxTries {
		if want.ExpiresAt.IsZero() { // nothing was on record before
			want = store.Throttle{NotBefore: now, ExpiresAt: a.after.ExpiresAt}
		}
		err := a.t.st.SetThrottle(ctx, a.key, expected, now, want)
		if !errors.Is(err, store.ErrConflict) {
			return err
		}
		cur, err := a.t.st.GetThrottle(ctx, a.key, now)
		if err != nil {
			return err
		}
		if cur.Failures == 0 {
			return nil
		}
		expected, want = cur.Failures, cur
		want.Failures = max(cur.Failures-1-extra, 0)
	}
	return nil
}

// Before is how many failures the key had on record before the attempt.
func (a *Attempt) Before() int64 {
	if a == nil {
		return 0
	}
	return a.before.Failures
}

// Reset forgets every failure under key: a success that clears the slate.
func (t *Throttle) Reset(ctx context.Context, key string) error {
	return t.st.DeleteThrottle(ctx, t.key(key))
}

// Fail counts one failure under key without holding anything up (for a
// ceiling that only changes how other keys are treated) and returns the
// count.
func (t *Throttle) Fail(ctx context.Context, key string) (int64, error) {
	k := t.key(key)
	for range maxTries {
		now := t.now()
		cur, err := t.st.GetThrottle(ctx, k, now)
		if err != nil {
			return 0, err
		}
		next := store.Throttle{Failures: cur.Failures + 1, NotBefore: now, ExpiresAt: now.Add(t.policy.Forget)}
		err = t.st.SetThrottle(ctx, k, cur.Failures, now, next)
		if err == nil {
			return next.Failures, nil
		}
		if !errors.Is(err, store.ErrConflict) {
			return 0, err
		}
	}
	// Concurrent failures on this key: they are being counted.
	return 0, nil
}

// Wait is how long an attempt under key must still wait (0: none).
func (t *Throttle) Wait(ctx context.Context, key string) (time.Duration, error) {
	now := t.now()
	cur, err := t.st.GetThrottle(ctx, t.key(key), now)
	if err != nil || !now.Before(cur.NotBefore) {
		return 0, err
	}
	return cur.NotBefore.Sub(now), nil
}

// Failures is how many failures key has on record.
func (t *Throttle) Failures(ctx context.Context, key string) (int64, error) {
	cur, err := t.st.GetThrottle(ctx, t.key(key), t.now())
	return cur.Failures, err
}

// AddressKey is the key of a client address for throttles: an IPv4
// address as it is, an IPv6 address as its /64 network — one subscriber
// gets a whole /64 and could otherwise rotate through 2^64 keys — and
// anything unparsable as given.
func AddressKey(addr string) string {
	a, err := netip.ParseAddr(addr)
	if err != nil {
		return addr
	}
	a = a.Unmap()
	if a.Is4() {
		return a.String()
	}
	p, err := a.WithZone("").Prefix(64)
	if err != nil {
		return addr
	}
	return p.String()
}
