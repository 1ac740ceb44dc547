package sqlite

import (
	"context"
	"database/sql"
	"errors"
	"time"

	"github.com/partnerloop/partnerloop/internal/store"
)

var _ store.StripeIntegrations = (*Store)(nil)

// PutStripeSecret stores or replaces the organization's sealed secret.
func (s *Store) PutStripeSecret(ctx context.Context, orgID string, sealed []byte, at time.Time) error {
	return s.write(ctx, func(tx *wtx) error {
		_, err := tx.ExecContext(ctx, `INSERT INTO stripe_secrets (org_id, sealed, updated_at) VALUES (?, ?, ?)
			ON CONFLICT (org_id) DO UPDATE SET sealed = excluded.sealed, updated_at = excluded.updated_at`,
			orgID, sealed, formatTime(at))
		return err
	})
}

// StripeSecret returns the organization's sealed secret.
func (s *Store) StripeSecret(ctx context.Context, orgID string) ([]byte, error) {
	var sealed []byte
	err := s.r.QueryRowContext(ctx, `SELECT sealed FROM stripe_secrets WHERE org_id = ?`, orgID).Scan(&sealed)
	if errors.Is(err, sql.ErrNoRows) {
		return nil, store.ErrNotFound
	}
	return sealed, mapErr(err)
}

// DeleteStripeSecret removes the organization's secret, if any.
func (s *Store) DeleteStripeSecret(ctx context.Context, orgID string) error {
	return s.write(ctx, func(tx *wtx) error {
		_, err := tx.ExecContext(ctx, `DELETE FROM stripe_secrets WHERE org_id = ?`, orgID)
		return err
	})
}

// PutStripeLink records key → target unless key is linked already.
func (s *Store) PutStripeLink(ctx context.Context, orgID, key, target string) error {
	return s.write(ctx, func(tx *wtx) error {
		_, err := tx.ExecContext(ctx, `INSERT INTO stripe_links (org_id, key, target) VALUES (?, ?, ?) ON CONFLICT DO NOTHING`,
			orgID, key, target)
		return err
	})
}

// StripeLink returns key's target.
func (s *Store) StripeLink(ctx context.Context, orgID, key string) (string, error) {
	var target string
	err := s.r.QueryRowContext(ctx, `SELECT target FROM stripe_links WHERE org_id = ? AND key = ?`, orgID, key).Scan(&target)
	if errors.Is(err, sql.ErrNoRows) {
		return "", store.ErrNotFound
	}
	return target, mapErr(err)
}
