package storetest

import (
	"errors"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/partnerloop/partnerloop/internal/store"
)

// throttleTests are the conformance tests of store.Throttles (run by
// RunInvitations).
func throttleTests() []invitationTest {
	return []invitationTest{
		{"Throttles", func(t *testing.T, s InvitationStore, fx *fixture) {
			now := fx.tick().Truncate(time.Second)
			a, b := "login:"+fx.tag+":a", "login:"+fx.tag+":"+strings.Repeat("b", 900) // b: longer than a key part
			get := func(what, key string, at time.Time, want store.Throttle) {
				t.Helper()
				got, err := s.GetThrottle(fx.ctx, key, at)
				must(t, err, what)
				if !got.NotBefore.Equal(want.NotBefore) || !got.ExpiresAt.Equal(want.ExpiresAt) || got.Failures != want.Failures {
					t.Fatalf("%s = %+v, want %+v", what, got, want)
				}
			}
			conflict := func(what string, err error) {
				t.Helper()
				if !errors.Is(err, store.ErrConflict) {
					t.Fatalf("%s: %v, want ErrConflict", what, err)
				}
			}
			get("GetThrottle(absent)", a, now, store.Throttle{})
			one := store.Throttle{Failures: 1, NotBefore: now.Add(2 * time.Second), ExpiresAt: now.Add(time.Hour)}
			must(t, s.SetThrottle(fx.ctx, a, 0, now, one), "SetThrottle(0 → 1)")
			get("GetThrottle(a)", a, now, one)
			get("GetThrottle(b)", b, now, store.Throttle{})
			conflict("SetThrottle(stale 0)", s.SetThrottle(fx.ctx, a, 0, now, one))
			conflict("SetThrottle(absent, expecting 1)", s.SetThrottle(fx.ctx, b, 1, now, one))

			two := store.Throttle{Failures: 2, NotBefore: now.Add(4 * time.Second), ExpiresAt: now.Add(2 * time.Hour)}
			must(t, s.SetThrottle(fx.ctx, a, 1, now, two), "SetThrottle(1 → 2)")
			get("GetThrottle(a) after 2", a, now, two)
			conflict("SetThrottle(stale 1)", s.SetThrottle(fx.ctx, a, 1, now, one))
			// Going down (an attempt given back) is a set like any other.
			must(t, s.SetThrottle(fx.ctx, a, 2, now, one), "SetThrottle(2 → 1)")
			get("GetThrottle(a) after giving one back", a, now, one)

			// Expired: read as zero, and set as if absent.
			later := now.Add(time.Hour)
			get("GetThrottle(a) at its expiry", a, later, store.Throttle{})
			conflict("SetThrottle(expired, expecting 1)", s.SetThrottle(fx.ctx, a, 1, later, two))
			fresh := store.Throttle{Failures: 1, NotBefore: later, ExpiresAt: later.Add(time.Hour)}
			must(t, s.SetThrottle(fx.ctx, a, 0, later, fresh), "SetThrottle(expired → 1)")
			get("GetThrottle(a) renewed", a, later, fresh)

			must(t, s.DeleteThrottle(fx.ctx, a), "DeleteThrottle")
			get("GetThrottle(a) deleted", a, later, store.Throttle{})
			must(t, s.DeleteThrottle(fx.ctx, a), "DeleteThrottle(absent)")

			// Concurrent read-and-set: every writer's increment lands exactly
			// once.
			const workers = 12
			var wg sync.WaitGroup
			for range workers {
				wg.Add(1)
				go func() {
					defer wg.Done()
					for attempt := 0; attempt < 200; attempt++ {
						cur, err := s.GetThrottle(fx.ctx, b, now)
						if err != nil {
							t.Error(err)
							return
						}
						next := store.Throttle{Failures: cur.Failures + 1, NotBefore: now, ExpiresAt: now.Add(time.Hour)}
						err = s.SetThrottle(fx.ctx, b, cur.Failures, now, next)
						if err == nil {
							return
						}
						if !errors.Is(err, store.ErrConflict) {
							t.Error(err)
							return
						}
					}
					t.Error("a writer never got its increment in")
				}()
			}
			wg.Wait()
			get("GetThrottle(b) after concurrent increments", b, now, store.Throttle{Failures: workers, NotBefore: now, ExpiresAt: now.Add(time.Hour)})
		}},
	}
}
