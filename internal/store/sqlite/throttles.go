package sqlite

import (
	"context"
	"database/sql"
	"errors"
	"time"

	"github.com/partnerloop/partnerloop/internal/store"
)

// Throttles: one row per key. A compare-and-set reads and writes the row in
// one write transaction (writes are serialised by the single writer
// connection). Rows that expired a day before the caller's now are deleted
// on the way, as for counters.

var _ store.Throttles = (*Store)(nil)

// readThrottle returns key's record as GetThrottle reads it at now.
func readThrottle(ctx context.Context, q querier, key string, now time.Time) (store.Throttle, error) {
	var (
		t                  store.Throttle
		notBefore, expires string
	)
	err := q.QueryRowContext(ctx, `SELECT failures, not_before, expires_at FROM throttles WHERE key = ?`, key).
		Scan(&t.Failures, &notBefore, &expires)
	if errors.Is(err, sql.ErrNoRows) {
		return store.Throttle{}, nil
	}
	if err != nil {
		return store.Throttle{}, err
	}
	if t.NotBefore, err = parseTime(notBefore); err != nil {
		return store.Throttle{}, err
	}
	if t.ExpiresAt, err = parseTime(expires); err != nil {
		return store.Throttle{}, err
	}
	if !now.Before(t.ExpiresAt) {
		return store.Throttle{}, nil
	}
	return t, nil
}

// GetThrottle returns key's record (zero when absent or expired at now).
func (s *Store) GetThrottle(ctx context.Context, key string, now time.Time) (store.Throttle, error) {
	t, err := readThrottle(ctx, s.r, key, now)
	return t, mapErr(err)
}

// SetThrottle stores t under key if the record still counts expected
// failures at now.
func (s *Store) SetThrottle(ctx context.Context, key string, expected int64, now time.Time, t store.Throttle) error {
	return s.write(ctx, func(tx *wtx) error {
		if _, err := tx.ExecContext(ctx, `DELETE FROM throttles WHERE expires_at < ?`, formatTime(now.Add(-24*time.Hour))); err != nil {
			return err
		}
		cur, err := readThrottle(ctx, tx, key, now)
		if err != nil {
			return err
		}
		if cur.Failures != expected {
			return store.ErrConflict
		}
		_, err = tx.ExecContext(ctx, `INSERT INTO throttles (key, failures, not_before, expires_at) VALUES (?, ?, ?, ?)
ON CONFLICT (key) DO UPDATE SET failures = excluded.failures, not_before = excluded.not_before, expires_at = excluded.expires_at`,
			key, t.Failures, formatTime(t.NotBefore), formatTime(t.ExpiresAt))
		return err
	})
}

// DeleteThrottle forgets key.
func (s *Store) DeleteThrottle(ctx context.Context, key string) error {
	return s.write(ctx, func(tx *wtx) error {
		_, err := tx.ExecContext(ctx, `DELETE FROM throttles WHERE key = ?`, key)
		return err
	})
}
