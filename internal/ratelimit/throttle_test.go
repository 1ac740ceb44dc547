package ratelimit_test

import (
	"testing"
	"time"

	"github.com/partnerloop/partnerloop/internal/domain"
	"github.com/partnerloop/partnerloop/internal/ratelimit"
)

func TestPolicyWait(t *testing.T) {
	p := ratelimit.Policy{Free: 5, Base: time.Second, Lock: 15 * time.Minute}
	want := map[int64]time.Duration{0: 0, 1: 0, 4: 0, 5: time.Second, 6: 2 * time.Second, 7: 4 * time.Second,
		14: 512 * time.Second, 15: 15 * time.Minute, 16: 15 * time.Minute, 1 << 40: 15 * time.Minute}
	for n, w := range want {
		if got := p.Wait(n); got != w {
			t.Errorf("Wait(%d) = %v, want %v", n, got, w)
		}
	}
	if got := p.LockedAt(); got != 15 {
		t.Errorf("LockedAt = %d, want 15", got)
	}
}

// clock is a fake clock the tests move by hand.
type clock struct{ now time.Time }

func (c *clock) Now() time.Time          { return c.now }
func (c *clock) Advance(d time.Duration) { c.now = c.now.Add(d) }

func newThrottle(t *testing.T, p ratelimit.Policy) (*ratelimit.Throttle, *clock) {
	c := &clock{now: time.Date(2026, 3, 15, 12, 0, 0, 0, time.UTC)}
	return ratelimit.NewThrottle(openStore(t), c.Now, "signin", p), c
}

func retryAfter(t *testing.T, err error) int {
	t.Helper()
	e, ok := domain.AsError(err)
	if !ok || e.Kind != domain.KindRateLimited || e.Code != "rate_limited" {
		t.Fatalf("got %v, want a rate_limited error", err)
	}
	return e.Extra["retryAfter"].(int)
}

// Failures slow the key down, doubling, then lock it; attempts refused
// while waiting are not counted; given-back attempts and a reset cost
// nothing.
func TestThrottleSlowsDownThenLocks(t *testing.T) {
	p := ratelimit.Policy{Free: 3, Base: time.Second, Lock: 10 * time.Second, Forget: time.Hour}
	th, c := newThrottle(t, p)
	ctx := t.Context()
	// Given back: never counted.
	for range 20 {
		a, err := th.Begin(ctx, "ada")
		if err != nil {
			t.Fatal(err)
		}
		if err := a.Undo(ctx); err != nil {
			t.Fatal(err)
		}
	}
	fail := func() {
		t.Helper()
		if _, err := th.Begin(ctx, "ada"); err != nil {
			t.Fatal(err)
		}
	}
	for range 3 {
		fail()
	}
	for _, wait := range []int{1, 2, 4, 8, 10, 10} {
		if got := retryAfter(t, func() error { _, err := th.Begin(ctx, "ada"); return err }()); got != wait {
			t.Fatalf("Retry-After = %d, want %d", got, wait)
		}
		// Refused again and again meanwhile: nothing more is counted.
		for range 5 {
			retryAfter(t, func() error { _, err := th.Begin(ctx, "ada"); return err }())
		}
		c.Advance(time.Duration(wait) * time.Second)
		fail()
	}
	if n, err := th.Failures(ctx, "ada"); err != nil || n != 9 {
		t.Fatalf("failures = %d, %v; want 9", n, err)
	}
	if _, err := th.Begin(ctx, "bob"); err != nil {
		t.Fatalf("another key is held up: %v", err)
	}
	if err := th.Reset(ctx, "ada"); err != nil {
		t.Fatal(err)
	}
	if _, err := th.Begin(ctx, "ada"); err != nil {
		t.Fatalf("after a reset: %v", err)
	}
	// Forgotten an hour after the last failure.
	c.Advance(time.Hour)
	if n, _ := th.Failures(ctx, "ada"); n != 0 {
		t.Fatalf("failures after Forget = %d", n)
	}
}

// Concurrent attempts cannot slip through on the same count: exactly Free
// attempts of a burst are let through, the rest must wait.
func TestThrottleBurst(t *testing.T) {
	th, _ := newThrottle(t, ratelimit.Policy{Free: 5, Base: time.Second, Lock: time.Minute, Forget: time.Hour})
	allowed := concurrently(40, func() bool {
		_, err := th.Begin(t.Context(), "10.0.0.1")
		return err == nil
	})
	if allowed != 5 {
		t.Errorf("%d of 40 concurrent attempts let through, want 5", allowed)
	}
}

func TestAddressKey(t *testing.T) {
	for in, want := range map[string]string{
		"198.51.100.7":                  "198.51.100.7",
		"::ffff:198.51.100.7":           "198.51.100.7",
		"2001:db8:1:2:aaaa::1":          "2001:db8:1:2::/64",
		"2001:db8:1:2:ffff:ffff:ffff:1": "2001:db8:1:2::/64",
		"fe80::1%eth0":                  "fe80::/64",
		"not an address":                "not an address",
	} {
		if got := ratelimit.AddressKey(in); got != want {
			t.Errorf("AddressKey(%q) = %q, want %q", in, got, want)
		}
	}
}
