package store

import (
	"context"
	"time"
)

// Throttle is the record of failed attempts under one key (an account from
// an address, an address, an invitation link): how many failures are
// counted, the earliest instant the next attempt is allowed, and when the
// record is forgotten. Sign-in protection (internal/ratelimit) keeps them
// in the store so that they hold across every process and Lambda instance.
type Throttle struct {
	Failures  int64     `json:"failures"`
	NotBefore time.Time `json:"notBefore"`
	ExpiresAt time.Time `json:"expiresAt"`
}

// Throttles keep Throttle records shared by every process.
type Throttles interface {
	// GetThrottle returns the record of key; one that is absent, or expired
	// at now (ExpiresAt ≤ now), is the zero Throttle.
	GetThrottle(ctx context.Context, key string, now time.Time) (Throttle, error)
	// SetThrottle stores t under key if the stored record still counts
	// expected failures, as GetThrottle at now would read it (0 for an
	// absent or expired record): a compare-and-set. ErrConflict when it
	// does not. Writers read, decide and set, and read again on conflict.
	SetThrottle(ctx context.Context, key string, expected int64, now time.Time, t Throttle) error
	// DeleteThrottle forgets key (no error when it is absent).
	DeleteThrottle(ctx context.Context, key string) error
}
