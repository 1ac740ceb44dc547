package sqlite

import (
	"context"

	"github.com/partnerloop/partnerloop/internal/domain"
	"github.com/partnerloop/partnerloop/internal/store"
)

// Deals (migration 7): the JSON in data, with the columns ListDeals
// filters on, DealsByDomain looks up, and the partial unique index
// deals_open_claim guards (store.Deals).

var _ store.Deals = (*Store)(nil)

const entityDeal = "deal"

func scanDeal(sc rowScanner) (domain.Deal, error) {
	return scanRevisioned(sc, func(v *domain.Deal, rev int64) { v.Revision = rev })
}

func normDeal(d domain.Deal) domain.Deal {
	d.ExclusiveUntil = utcPtr(d.ExclusiveUntil)
	d.ExpectedCloseDate = utcPtr(d.ExpectedCloseDate)
	d.ClosedAt = utcPtr(d.ClosedAt)
	d.CreatedAt = utc(d.CreatedAt)
	d.UpdatedAt = utc(d.UpdatedAt)
	return d
}

func dealColumns(d domain.Deal) []column {
	return []column{{"source", string(d.Source)}, {"partner_id", d.PartnerID}, {"status", string(d.Status)}, {"domain", d.CustomerDomain}}
}

// CreateDeal stores d; an id taken, or an open deal of the same partner on
// the same domain, is store.ErrConflict.
func (s *Store) CreateDeal(ctx context.Context, d domain.Deal) error {
	d = normDeal(d)
	data, err := marshal(d)
	if err != nil {
		return err
	}
	return s.write(ctx, func(tx *wtx) error {
		return insertRevisioned(ctx, tx, "deals", entityDeal, d.OrgID, d.ID, d.Revision, data, dealColumns(d)...)
	})
}

// GetDeal returns the organization's deal with id.
func (s *Store) GetDeal(ctx context.Context, orgID, id string) (domain.Deal, error) {
	return getOne(ctx, s.r, scanDeal, `SELECT `+revCols+` FROM deals WHERE org_id = ? AND id = ?`, orgID, id)
}

// UpdateDeal stores d with Revision d.Revision+1 if the stored revision is
// still d.Revision; the status column moves with it, so a closed deal
// leaves the claim index at once.
func (s *Store) UpdateDeal(ctx context.Context, d domain.Deal) error {
	d = normDeal(d)
	expected := d.Revision
	d.Revision = expected + 1
	data, err := marshal(d)
	if err != nil {
		return err
	}
	return s.write(ctx, func(tx *wtx) error {
		return updateRevisioned(ctx, tx, "deals", entityDeal, d.OrgID, d.ID, expected, data, dealColumns(d)...)
	})
}

// ListDeals lists the organization's deals, newest first, narrowed by f.
func (s *Store) ListDeals(ctx context.Context, orgID string, f store.DealFilter, p store.Page) ([]domain.Deal, string, error) {
	where, args := "org_id = ?", []any{orgID}
	for _, c := range []column{{"source", f.Source}, {"partner_id", f.PartnerID}, {"status", f.Status}} {
		if v := c.value.(string); v != "" {
			where += " AND " + c.name + " = ?"
			args = append(args, v)
		}
	}
	return listPage(ctx, s.r, revCols, "deals", where, args, p, scanDeal, func(d domain.Deal) string { return d.ID })
}

// DealsByDomain returns the organization's deals on customerDomain, oldest
// first.
func (s *Store) DealsByDomain(ctx context.Context, orgID, customerDomain string) ([]domain.Deal, error) {
	rows, err := s.r.QueryContext(ctx, `SELECT `+revCols+` FROM deals WHERE org_id = ? AND domain = ? ORDER BY id`, orgID, customerDomain)
	if err != nil {
		return nil, mapErr(err)
	}
	defer rows.Close()
	var out []domain.Deal
	for rows.Next() {
		d, err := scanDeal(rows)
		if err != nil {
			return nil, mapErr(err)
		}
		out = append(out, d)
	}
	return out, mapErr(rows.Err())
}
