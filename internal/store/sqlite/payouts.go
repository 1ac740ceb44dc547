package sqlite

import (
	"context"

	"github.com/partnerloop/partnerloop/internal/domain"
	"github.com/partnerloop/partnerloop/internal/store"
)

// Payout runs and payout details (store.PayoutRuns). A run's status is a
// column for the partial unique index that allows one unsettled run per
// organization. Payout details are never written to the outbox: they hold
// account numbers and tax IDs, which no event consumer needs.

var _ store.PayoutRuns = (*Store)(nil)

const entityPayoutRun = "payout_run"

func scanPayoutRun(sc rowScanner) (domain.PayoutRun, error) {
	return scanRevisioned(sc, func(v *domain.PayoutRun, rev int64) { v.Revision = rev })
}

func normPayoutRun(r domain.PayoutRun) domain.PayoutRun {
	r.CreatedAt, r.UpdatedAt, r.PaidAt = utc(r.CreatedAt), utc(r.UpdatedAt), utcPtr(r.PaidAt)
	return r
}

// CreatePayoutRun stores r; a second unsettled run of the organization, or
// an id taken, is store.ErrConflict (the unique indexes).
func (s *Store) CreatePayoutRun(ctx context.Context, r domain.PayoutRun) error {
	r = normPayoutRun(r)
	data, err := marshal(r)
	if err != nil {
		return err
	}
	return s.write(ctx, func(tx *wtx) error {
		return insertRevisioned(ctx, tx, "payout_runs", entityPayoutRun, r.OrgID, r.ID, r.Revision, data, column{"status", string(r.Status)})
	})
}

// GetPayoutRun returns the organization's run with id.
func (s *Store) GetPayoutRun(ctx context.Context, orgID, id string) (domain.PayoutRun, error) {
	return getOne(ctx, s.r, scanPayoutRun, `SELECT `+revCols+` FROM payout_runs WHERE org_id = ? AND id = ?`, orgID, id)
}

// UpdatePayoutRun stores r at Revision+1 if the stored revision is still
// r.Revision; the status column moves with it, so a settled run leaves the
// unique index.
func (s *Store) UpdatePayoutRun(ctx context.Context, r domain.PayoutRun) error {
	r = normPayoutRun(r)
	expected := r.Revision
	r.Revision = expected + 1
	data, err := marshal(r)
	if err != nil {
		return err
	}
	return s.write(ctx, func(tx *wtx) error {
		return updateRevisioned(ctx, tx, "payout_runs", entityPayoutRun, r.OrgID, r.ID, expected, data, column{"status", string(r.Status)})
	})
}

// ListPayoutRuns lists the organization's runs, newest first.
func (s *Store) ListPayoutRuns(ctx context.Context, orgID string, p store.Page) ([]domain.PayoutRun, string, error) {
	return listPage(ctx, s.r, revCols, "payout_runs", "org_id = ?", []any{orgID}, p, scanPayoutRun,
		func(r domain.PayoutRun) string { return r.ID })
}

// PutPayoutDetails stores the partner's payout details, replacing any.
func (s *Store) PutPayoutDetails(ctx context.Context, d store.PayoutDetailsRecord) error {
	d.UpdatedAt = utc(d.UpdatedAt)
	data, err := marshal(d)
	if err != nil {
		return err
	}
	return s.write(ctx, func(tx *wtx) error {
		_, err := tx.ExecContext(ctx, `INSERT INTO payout_details (org_id, partner_id, data) VALUES (?, ?, ?)
			ON CONFLICT (org_id, partner_id) DO UPDATE SET data = excluded.data`, d.OrgID, d.PartnerID, data)
		return err
	})
}

// SealPayoutDetails replaces the partner's record with d if the stored one
// is still in clear (its JSON has no sealed field); else store.ErrConflict.
func (s *Store) SealPayoutDetails(ctx context.Context, d store.PayoutDetailsRecord) error {
	d.UpdatedAt = utc(d.UpdatedAt)
	data, err := marshal(d)
	if err != nil {
		return err
	}
	return s.write(ctx, func(tx *wtx) error {
		res, err := tx.ExecContext(ctx, `UPDATE payout_details SET data = ?
			WHERE org_id = ? AND partner_id = ? AND json_extract(data, '$.sealed') IS NULL`, data, d.OrgID, d.PartnerID)
		if err != nil {
			return err
		}
		if n, err := res.RowsAffected(); err != nil {
			return err
		} else if n == 0 {
			return store.ErrConflict
		}
		return nil
	})
}

// GetPayoutDetails returns the partner's payout details.
func (s *Store) GetPayoutDetails(ctx context.Context, orgID, partnerID string) (store.PayoutDetailsRecord, error) {
	return getOne(ctx, s.r, func(sc rowScanner) (store.PayoutDetailsRecord, error) {
		var data string
		var d store.PayoutDetailsRecord
		if err := sc.Scan(&data); err != nil {
			return d, err
		}
		return d, unmarshal(data, &d)
	}, `SELECT data FROM payout_details WHERE org_id = ? AND partner_id = ?`, orgID, partnerID)
}
