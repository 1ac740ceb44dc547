package sqlite

import (
	"context"
	"database/sql"
	"errors"

	"github.com/partnerloop/partnerloop/internal/domain"
	"github.com/partnerloop/partnerloop/internal/store"
)

// Partner tiers and partners. As with programs, the revision column is the
// optimistic-locking counter and the JSON carries the same value; a
// partner's normalized email and tier are columns for the unique index and
// the list filter.

const revCols = `data, revision`

func scanTier(sc rowScanner) (domain.PartnerTier, error) {
	return scanRevisioned(sc, func(v *domain.PartnerTier, rev int64) { v.Revision = rev })
}

// partnerCols are a partner's columns and its portal user's record and
// latest invitation (NULL when there are none), from which scanPartner
// fills domain.Partner.Portal. The portal user's id is
// domain.PortalUserID: 'usr_' and the partner's id.
const partnerCols = `data, revision,
	(SELECT u.data FROM users u WHERE u.org_id = partners.org_id AND u.id = 'usr_' || partners.id),
	(SELECT i.data FROM invitations i WHERE i.org_id = partners.org_id AND i.user_id = 'usr_' || partners.id ORDER BY i.id DESC LIMIT 1)`

func scanPartner(sc rowScanner) (domain.Partner, error) {
	var data string
	var rev int64
	var user, inv sql.NullString
	var p domain.Partner
	if err := sc.Scan(&data, &rev, &user, &inv); err != nil {
		return p, err
	}
	if err := unmarshal(data, &p); err != nil {
		return p, err
	}
	p.Revision = rev
	if user.Valid {
		var u domain.User
		if err := unmarshal(user.String, &u); err != nil {
			return p, err
		}
		var latest *domain.Invitation
		if inv.Valid {
			latest = new(domain.Invitation)
			if err := unmarshal(inv.String, latest); err != nil {
				return p, err
			}
		}
		p.Portal = domain.PortalAccessOf(&u, latest)
	}
	return p, nil
}

func normTier(t domain.PartnerTier) domain.PartnerTier {
	t.CreatedAt = utc(t.CreatedAt)
	t.UpdatedAt = utc(t.UpdatedAt)
	if t.RuleVersions != nil {
		rv := make([]domain.RuleVersion, len(t.RuleVersions))
		copy(rv, t.RuleVersions)
		for i := range rv {
			rv[i].EffectiveFrom = utc(rv[i].EffectiveFrom)
		}
		t.RuleVersions = rv
	}
	return t
}

func normPartner(p domain.Partner) domain.Partner {
	p.CreatedAt = utc(p.CreatedAt)
	p.UpdatedAt = utc(p.UpdatedAt)
	if p.RuleVersions != nil {
		rv := make([]domain.PartnerRuleVersion, len(p.RuleVersions))
		copy(rv, p.RuleVersions)
		for i := range rv {
			rv[i].EffectiveFrom = utc(rv[i].EffectiveFrom)
		}
		p.RuleVersions = rv
	}
	if p.Agreements != nil {
		as := make([]domain.Agreement, len(p.Agreements))
		copy(as, p.Agreements)
		for i := range as {
			as[i].SignedAt = utc(as[i].SignedAt)
		}
		p.Agreements = as
	}
	return p
}

// CreateTier stores t at its given revision; an id already taken is
// store.ErrConflict.
func (s *Store) CreateTier(ctx context.Context, t domain.PartnerTier) error {
	t = normTier(t)
	data, err := marshal(t)
	if err != nil {
		return err
	}
	return s.write(ctx, func(tx *wtx) error {
		return insertRevisioned(ctx, tx, "partner_tiers", entityTier, t.OrgID, t.ID, t.Revision, data)
	})
}

// GetTier returns the organization's tier with id.
func (s *Store) GetTier(ctx context.Context, orgID, id string) (domain.PartnerTier, error) {
	return getOne(ctx, s.r, scanTier, `SELECT `+revCols+` FROM partner_tiers WHERE org_id = ? AND id = ?`, orgID, id)
}

// UpdateTier stores t with Revision t.Revision+1 if the stored revision is
// still t.Revision: store.ErrNotFound when the organization has no such
// tier, store.ErrConflict when it changed since t was read.
func (s *Store) UpdateTier(ctx context.Context, t domain.PartnerTier) error {
	t = normTier(t)
	expected := t.Revision
	t.Revision = expected + 1
	data, err := marshal(t)
	if err != nil {
		return err
	}
	return s.write(ctx, func(tx *wtx) error {
		return updateRevisioned(ctx, tx, "partner_tiers", entityTier, t.OrgID, t.ID, expected, data)
	})
}

// ListTiers lists the organization's tiers, newest first.
func (s *Store) ListTiers(ctx context.Context, orgID string, p store.Page) ([]domain.PartnerTier, string, error) {
	return listPage(ctx, s.r, revCols, "partner_tiers", "org_id = ?", []any{orgID}, p, scanTier,
		func(t domain.PartnerTier) string { return t.ID })
}

// CreatePartner stores p; an email already used by a partner of the
// organization, or an id taken, is store.ErrConflict.
func (s *Store) CreatePartner(ctx context.Context, p domain.Partner) error {
	p = normPartner(p)
	data, err := marshal(p)
	if err != nil {
		return err
	}
	return s.write(ctx, func(tx *wtx) error {
		return insertRevisioned(ctx, tx, "partners", entityPartner, p.OrgID, p.ID, p.Revision, data, partnerColumns(p)...)
	})
}

// GetPartner returns the organization's partner with id.
func (s *Store) GetPartner(ctx context.Context, orgID, id string) (domain.Partner, error) {
	return getOne(ctx, s.r, scanPartner, `SELECT `+partnerCols+` FROM partners WHERE org_id = ? AND id = ?`, orgID, id)
}

// UpdatePartner stores p with Revision p.Revision+1 if the stored revision
// is still p.Revision: store.ErrNotFound when the organization has no such
// partner, store.ErrConflict when it changed since p was read or its new
// email belongs to another partner.
func (s *Store) UpdatePartner(ctx context.Context, p domain.Partner) error {
	p = normPartner(p)
	expected := p.Revision
	p.Revision = expected + 1
	data, err := marshal(p)
	if err != nil {
		return err
	}
	return s.write(ctx, func(tx *wtx) error {
		if err := updateRevisioned(ctx, tx, "partners", entityPartner, p.OrgID, p.ID, expected, data, partnerColumns(p)...); err != nil {
			return err
		}
		return portalUserEmail(ctx, tx, p)
	})
}

// portalUserEmail gives the partner's portal user, if it has one, the
// partner's email; the users' unique email makes a taken address a
// conflict.
func portalUserEmail(ctx context.Context, tx *wtx, p domain.Partner) error {
	id := domain.PortalUserID(p.ID)
	var old string
	err := tx.QueryRowContext(ctx, `SELECT data FROM users WHERE org_id = ? AND id = ?`, p.OrgID, id).Scan(&old)
	if errors.Is(err, sql.ErrNoRows) {
		return nil
	}
	if err != nil {
		return err
	}
	var u domain.User
	if err := unmarshal(old, &u); err != nil {
		return err
	}
	email := domain.NormalizeEmail(p.Email)
	if domain.NormalizeEmail(u.Email) == email {
		return nil
	}
	u.Email, u.UpdatedAt = email, p.UpdatedAt
	u = normUser(u)
	data, err := marshal(u)
	if err != nil {
		return err
	}
	if _, err := tx.ExecContext(ctx, `UPDATE users SET email = ?, data = ? WHERE org_id = ? AND id = ?`,
		email, data, p.OrgID, id); err != nil {
		return err
	}
	return appendChange(ctx, tx, entityUser, opModify, p.OrgID, id, old, data)
}

// partnerColumns are a partner's lookup columns: the email, unique in the
// organization, and the tier it is listed under.
func partnerColumns(p domain.Partner) []column {
	return []column{{"email", domain.NormalizeEmail(p.Email)}, {"tier_id", p.TierID}}
}

// ListPartners lists the organization's partners, newest first, of one tier
// when f.TierID is set.
func (s *Store) ListPartners(ctx context.Context, orgID string, f store.PartnerFilter, p store.Page) ([]domain.Partner, string, error) {
	where, args := "org_id = ?", []any{orgID}
	if f.TierID != "" {
		where += " AND tier_id = ?"
		args = append(args, f.TierID)
	}
	return listPage(ctx, s.r, partnerCols, "partners", where, args, p, scanPartner,
		func(p domain.Partner) string { return p.ID })
}
