package domain

import (
	"crypto/rand"
	"sync"
	"time"

	"github.com/oklog/ulid/v2"
)

// Clock returns the current time. Services take one so tests control time.
type Clock func() time.Time

// IDs returns a new unique ID with the given prefix (e.g. "prg").
type IDs func(prefix string) string

// NewULIDs returns an ID source of prefixed ULIDs read from crypto/rand.
// ULIDs sort by creation time, so stores list newest-first by ID alone.
func NewULIDs(clock Clock) IDs {
	var mu sync.Mutex
	entropy := ulid.Monotonic(rand.Reader, 0)
	return func(prefix string) string {
		mu.Lock()
		defer mu.Unlock()
		return prefix + "_" + ulid.MustNew(ulid.Timestamp(clock()), entropy).String()
	}
}

// SystemClock is the real clock in UTC.
func SystemClock() time.Time { return time.Now().UTC() }
