package sqlite

import (
	"context"
	"time"

	"github.com/partnerloop/partnerloop/internal/domain"
	"github.com/partnerloop/partnerloop/internal/store"
)

// Webhook endpoints and deliveries (the webhooks migration): JSON in data,
// with the columns the due scan and the per-subject order check read.

var _ store.Webhooks = (*Store)(nil)

func scanEndpoint(sc rowScanner) (domain.WebhookEndpoint, error) {
	return scanRevisioned(sc, func(v *domain.WebhookEndpoint, rev int64) { v.Revision = rev })
}

func normEndpoint(e domain.WebhookEndpoint) domain.WebhookEndpoint {
	e.PreviousUntil = utcPtr(e.PreviousUntil)
	e.FailingSince = utcPtr(e.FailingSince)
	e.CreatedAt, e.UpdatedAt = utc(e.CreatedAt), utc(e.UpdatedAt)
	return e
}

// CreateWebhookEndpoint stores e; an id taken is store.ErrConflict.
func (s *Store) CreateWebhookEndpoint(ctx context.Context, e domain.WebhookEndpoint) error {
	data, err := marshal(normEndpoint(e))
	if err != nil {
		return err
	}
	return s.write(ctx, func(tx *wtx) error {
		_, err := tx.ExecContext(ctx, `INSERT INTO webhook_endpoints (id, org_id, revision, data) VALUES (?, ?, ?, ?)`,
			e.ID, e.OrgID, e.Revision, data)
		return err
	})
}

// GetWebhookEndpoint returns the organization's endpoint with id.
func (s *Store) GetWebhookEndpoint(ctx context.Context, orgID, id string) (domain.WebhookEndpoint, error) {
	return getOne(ctx, s.r, scanEndpoint, `SELECT `+revCols+` FROM webhook_endpoints WHERE org_id = ? AND id = ?`, orgID, id)
}

// UpdateWebhookEndpoint stores e at Revision+1 if the stored revision is
// still e.Revision.
func (s *Store) UpdateWebhookEndpoint(ctx context.Context, e domain.WebhookEndpoint) error {
	expected := e.Revision
	e.Revision++
	data, err := marshal(normEndpoint(e))
	if err != nil {
		return err
	}
	return s.write(ctx, func(tx *wtx) error {
		return updateWhere(ctx, tx, `UPDATE webhook_endpoints SET data = ?, revision = revision + 1 WHERE org_id = ? AND id = ? AND revision = ?`,
			[]any{data, e.OrgID, e.ID, expected}, `SELECT 1 FROM webhook_endpoints WHERE org_id = ? AND id = ?`, e.OrgID, e.ID)
	})
}

// DeleteWebhookEndpoint removes the endpoint; its deliveries stay.
func (s *Store) DeleteWebhookEndpoint(ctx context.Context, orgID, id string) error {
	return s.write(ctx, func(tx *wtx) error {
		res, err := tx.ExecContext(ctx, `DELETE FROM webhook_endpoints WHERE org_id = ? AND id = ?`, orgID, id)
		if err != nil {
			return err
		}
		return mustAffect(res)
	})
}

// ListWebhookEndpoints lists the organization's endpoints, newest first.
func (s *Store) ListWebhookEndpoints(ctx context.Context, orgID string, p store.Page) ([]domain.WebhookEndpoint, string, error) {
	return listPage(ctx, s.r, revCols, "webhook_endpoints", "org_id = ?", []any{orgID}, p, scanEndpoint,
		func(e domain.WebhookEndpoint) string { return e.ID })
}

func scanDelivery(sc rowScanner) (domain.WebhookDelivery, error) {
	return scanRevisioned(sc, func(v *domain.WebhookDelivery, rev int64) { v.Revision = rev })
}

func normDelivery(d domain.WebhookDelivery) domain.WebhookDelivery {
	d.NextAttemptAt = utcPtr(d.NextAttemptAt)
	d.RetryFrom = utcPtr(d.RetryFrom)
	d.CreatedAt, d.UpdatedAt = utc(d.CreatedAt), utc(d.UpdatedAt)
	attempts := make([]domain.WebhookAttempt, len(d.Attempts))
	for i, a := range d.Attempts {
		a.At = utc(a.At)
		attempts[i] = a
	}
	d.Attempts = attempts
	return d
}

// nextAttemptColumn is the due scan's column: set only while pending.
func nextAttemptColumn(d domain.WebhookDelivery) any {
	if d.Status != domain.DeliveryPending || d.NextAttemptAt == nil {
		return nil
	}
	return formatTime(*d.NextAttemptAt)
}

// CreateWebhookDelivery stores d; an id the endpoint has is store.ErrConflict.
func (s *Store) CreateWebhookDelivery(ctx context.Context, d domain.WebhookDelivery) error {
	d = normDelivery(d)
	data, err := marshal(d)
	if err != nil {
		return err
	}
	return s.write(ctx, func(tx *wtx) error {
		_, err := tx.ExecContext(ctx, `INSERT INTO webhook_deliveries
			(org_id, endpoint_id, id, subject, order_key, status, next_attempt_at, revision, data) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)`,
			d.OrgID, d.EndpointID, d.ID, d.Subject, d.OrderKey, string(d.Status), nextAttemptColumn(d), d.Revision, data)
		return err
	})
}

// GetWebhookDelivery returns the endpoint's delivery with id.
func (s *Store) GetWebhookDelivery(ctx context.Context, orgID, endpointID, id string) (domain.WebhookDelivery, error) {
	return getOne(ctx, s.r, scanDelivery, `SELECT `+revCols+` FROM webhook_deliveries WHERE org_id = ? AND endpoint_id = ? AND id = ?`,
		orgID, endpointID, id)
}

// UpdateWebhookDelivery stores d at Revision+1 if the stored revision is
// still d.Revision.
func (s *Store) UpdateWebhookDelivery(ctx context.Context, d domain.WebhookDelivery) error {
	d = normDelivery(d)
	expected := d.Revision
	d.Revision++
	data, err := marshal(d)
	if err != nil {
		return err
	}
	return s.write(ctx, func(tx *wtx) error {
		return updateWhere(ctx, tx, `UPDATE webhook_deliveries SET data = ?, status = ?, next_attempt_at = ?, revision = revision + 1
			WHERE org_id = ? AND endpoint_id = ? AND id = ? AND revision = ?`,
			[]any{data, string(d.Status), nextAttemptColumn(d), d.OrgID, d.EndpointID, d.ID, expected},
			`SELECT 1 FROM webhook_deliveries WHERE org_id = ? AND endpoint_id = ? AND id = ?`, d.OrgID, d.EndpointID, d.ID)
	})
}

// ListWebhookDeliveries lists an endpoint's deliveries, newest id first.
func (s *Store) ListWebhookDeliveries(ctx context.Context, orgID, endpointID string, p store.Page) ([]domain.WebhookDelivery, string, error) {
	return listPage(ctx, s.r, revCols, "webhook_deliveries", "org_id = ? AND endpoint_id = ?", []any{orgID, endpointID}, p,
		scanDelivery, func(d domain.WebhookDelivery) string { return d.ID })
}

// DueWebhookDeliveries returns pending deliveries due at now, earliest first.
func (s *Store) DueWebhookDeliveries(ctx context.Context, now time.Time, limit int) ([]domain.WebhookDelivery, error) {
	if limit <= 0 {
		limit = store.DefaultLimit
	}
	rows, err := s.r.QueryContext(ctx, `SELECT `+revCols+` FROM webhook_deliveries
		WHERE status = 'pending' AND next_attempt_at <= ? ORDER BY next_attempt_at, id LIMIT ?`, formatTime(now), limit)
	if err != nil {
		return nil, mapErr(err)
	}
	defer rows.Close()
	var out []domain.WebhookDelivery
	for rows.Next() {
		d, err := scanDelivery(rows)
		if err != nil {
			return nil, mapErr(err)
		}
		out = append(out, d)
	}
	return out, mapErr(rows.Err())
}

// EarlierPendingWebhookDelivery reports whether a pending delivery of the
// same endpoint and subject precedes orderKey.
func (s *Store) EarlierPendingWebhookDelivery(ctx context.Context, orgID, endpointID, subject, orderKey string) (bool, error) {
	var n int
	err := s.r.QueryRowContext(ctx, `SELECT COUNT(*) FROM webhook_deliveries
		WHERE org_id = ? AND endpoint_id = ? AND subject = ? AND status = 'pending' AND order_key < ?`,
		orgID, endpointID, subject, orderKey).Scan(&n)
	return n > 0, mapErr(err)
}

// updateWhere runs an optimistic UPDATE; when it touches no row, exists
// tells store.ErrConflict (the row is there at another revision) from
// store.ErrNotFound.
func updateWhere(ctx context.Context, tx *wtx, update string, args []any, exists string, keys ...any) error {
	res, err := tx.ExecContext(ctx, update, args...)
	if err != nil {
		return err
	}
	n, err := res.RowsAffected()
	if err != nil {
		return err
	}
	if n > 0 {
		return nil
	}
	var one int
	if err := tx.QueryRowContext(ctx, exists, keys...).Scan(&one); err != nil {
		return err // sql.ErrNoRows: ErrNotFound through mapErr
	}
	return store.ErrConflict
}
