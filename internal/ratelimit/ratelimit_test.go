package ratelimit_test

import (
	"path/filepath"
	"sync"
	"testing"
	"time"

	"github.com/partnerloop/partnerloop/internal/domain"
	"github.com/partnerloop/partnerloop/internal/ratelimit"
	"github.com/partnerloop/partnerloop/internal/store/sqlite"
)

// openStore opens a SQLite store in t.TempDir.
func openStore(t *testing.T) *sqlite.Store {
	t.Helper()
	st, err := sqlite.Open(filepath.Join(t.TempDir(), "t.db"))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { st.Close() })
	return st
}

// concurrently runs try n times at once and counts the trues.
func concurrently(n int, try func() bool) int {
	var mu sync.Mutex
	ok := 0
	var wg sync.WaitGroup
	for range n {
		wg.Add(1)
		go func() {
			defer wg.Done()
			if try() {
				mu.Lock()
				ok++
				mu.Unlock()
			}
		}()
	}
	wg.Wait()
	return ok
}

func TestLimiterFixedWindow(t *testing.T) {
	st := openStore(t)
	var err error
	now := time.Date(2026, 3, 15, 12, 10, 0, 0, time.UTC)
	clock := func() time.Time { return now }
	l := ratelimit.New(st, clock, "login", 3, 15*time.Minute)
	other := ratelimit.New(st, clock, "accept", 3, 15*time.Minute)
	for i := range 3 {
		if err := l.Allow(t.Context(), "ada@example.com"); err != nil {
			t.Fatalf("attempt %d: %v", i+1, err)
		}
	}
	err = l.Allow(t.Context(), "ada@example.com")
	e, ok := domain.AsError(err)
	if !ok || e.Kind != domain.KindRateLimited || e.Code != "rate_limited" || e.Extra["retryAfter"] != 300 {
		t.Fatalf("4th attempt: %#v", err)
	}
	if err := l.Allow(t.Context(), "bob@example.com"); err != nil {
		t.Errorf("another key is limited: %v", err)
	}
	if err := other.Allow(t.Context(), "ada@example.com"); err != nil {
		t.Errorf("another limiter shares the counter: %v", err)
	}
	now = now.Add(5 * time.Minute) // the next window
	if err := l.Allow(t.Context(), "ada@example.com"); err != nil {
		t.Errorf("next window: %v", err)
	}
}

func TestLimiterConcurrent(t *testing.T) {
	now := time.Date(2026, 5, 1, 9, 0, 0, 0, time.UTC)
	l := ratelimit.New(openStore(t), func() time.Time { return now }, "login", 20, time.Minute)
	if allowed := concurrently(60, func() bool { return l.Allow(t.Context(), "10.0.0.1") == nil }); allowed != 20 {
		t.Errorf("%d of 60 concurrent attempts allowed, want exactly 20", allowed)
	}
}

func TestLocalFixedWindow(t *testing.T) {
	now := time.Date(2026, 3, 15, 12, 0, 30, 0, time.UTC)
	l := ratelimit.NewLocal(func() time.Time { return now }, 3, time.Minute, 2)
	allowed := func(key string, n int) int {
		got := 0
		for range n {
			if l.Allow(key) {
				got++
			}
		}
		return got
	}
	if got := allowed("198.51.100.7", 5); got != 3 {
		t.Errorf("5 attempts in one window: %d allowed, want 3", got)
	}
	if got := allowed("203.0.113.9", 1); got != 1 {
		t.Errorf("another key: %d allowed, want 1", got)
	}
	// Memory is bounded: a third key in the window is not counted, so it
	// is not limited either.
	if got := allowed("192.0.2.1", 5); got != 5 {
		t.Errorf("a key beyond maxKeys: %d of 5 allowed, want all", got)
	}
	now = now.Add(30 * time.Second) // the next window
	if got := allowed("198.51.100.7", 5); got != 3 {
		t.Errorf("next window: %d allowed, want 3", got)
	}
}
