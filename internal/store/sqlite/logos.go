package sqlite

import (
	"context"
	"database/sql"
	"errors"

	"github.com/partnerloop/partnerloop/internal/store"
)

var _ store.Logos = (*Store)(nil)

// PutLogo stores or replaces the organization's logo.
func (s *Store) PutLogo(ctx context.Context, orgID string, l store.Logo) error {
	return s.write(ctx, func(tx *wtx) error {
		_, err := tx.ExecContext(ctx, `INSERT INTO logos (org_id, data, content_type, version, updated_at) VALUES (?, ?, ?, ?, ?)
			ON CONFLICT (org_id) DO UPDATE SET data = excluded.data, content_type = excluded.content_type,
				version = excluded.version, updated_at = excluded.updated_at`,
			orgID, l.Data, l.ContentType, l.Version, formatTime(l.UpdatedAt))
		return err
	})
}

// GetLogo returns the organization's logo.
func (s *Store) GetLogo(ctx context.Context, orgID string) (store.Logo, error) {
	var l store.Logo
	var at string
	err := s.r.QueryRowContext(ctx, `SELECT data, content_type, version, updated_at FROM logos WHERE org_id = ?`, orgID).
		Scan(&l.Data, &l.ContentType, &l.Version, &at)
	if errors.Is(err, sql.ErrNoRows) {
		return store.Logo{}, store.ErrNotFound
	}
	if err != nil {
		return store.Logo{}, mapErr(err)
	}
	l.UpdatedAt, err = parseTime(at)
	return l, err
}

// DeleteLogo removes the organization's logo, if any.
func (s *Store) DeleteLogo(ctx context.Context, orgID string) error {
	return s.write(ctx, func(tx *wtx) error {
		_, err := tx.ExecContext(ctx, `DELETE FROM logos WHERE org_id = ?`, orgID)
		return err
	})
}
