package dynamo

import (
	"context"
	"encoding/json"
	"errors"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb/types"

	"github.com/partnerloop/partnerloop/internal/domain"
	"github.com/partnerloop/partnerloop/internal/store"
)

// Partner tiers live in the organization's partition (TIER#<id>), with the
// revision attribute as the optimistic-locking counter, like programs.
//
// Partners live there too (PARTNER#<id>), and in GSI1 under their tier
// (ORG#<org>#TIER#<tier>, same sort key) for ListPartners' filter; a guard
// item per normalized address (ORG#<org>#PARTNER_EMAIL#<email>) naming the
// partner makes the address unique in the organization.

func tierItem(t domain.PartnerTier) (item, error) {
	return record(t, typePartnerTier, tierKey(t.OrgID, t.ID))
}

// CreateTier stores t at its given revision; an id already taken is
// store.ErrConflict.
func (s *Store) CreateTier(ctx context.Context, t domain.PartnerTier) error {
	ctx, done := s.op(ctx, "CreateTier")
	defer done()
	it, err := tierItem(t)
	if err != nil {
		return err
	}
	return s.putNew(ctx, it)
}

// GetTier returns the organization's tier with id.
func (s *Store) GetTier(ctx context.Context, orgID, id string) (domain.PartnerTier, error) {
	ctx, done := s.op(ctx, "GetTier")
	defer done()
	it, err := s.getItem(ctx, tierKey(orgID, id))
	if err != nil {
		return domain.PartnerTier{}, err
	}
	return decodeAs[domain.PartnerTier](it)
}

// UpdateTier replaces the tier with t at Revision t.Revision+1 if the stored
// revision is still t.Revision (a conditional PutItem): store.ErrNotFound
// when the organization has no such tier, store.ErrConflict when it changed
// since t was read.
func (s *Store) UpdateTier(ctx context.Context, t domain.PartnerTier) error {
	ctx, done := s.op(ctx, "UpdateTier")
	defer done()
	expected := t.Revision
	t.Revision++
	it, err := tierItem(t)
	if err != nil {
		return err
	}
	return s.putIf(ctx, it, "#revision = :expected",
		map[string]string{"#revision": "revision"}, item{":expected": num(expected)}, store.ErrConflict)
}

// ListTiers lists the organization's tiers, newest first.
func (s *Store) ListTiers(ctx context.Context, orgID string, p store.Page) ([]domain.PartnerTier, string, error) {
	ctx, done := s.op(ctx, "ListTiers")
	defer done()
	return page(ctx, s, one(orgID, "", orgPK(orgID), skTier), p, decodeAs[domain.PartnerTier])
}

func partnerItem(p domain.Partner) (item, error) {
	return record(p, typePartner, partnerKey(p.OrgID, p.ID),
		item{attrGSI1PK: str(byTier(p.OrgID, p.TierID)), attrGSI1SK: str(skPartner + p.ID)})
}

func partnerEmailGuard(p domain.Partner) item {
	g := partnerEmailKey(p.OrgID, domain.NormalizeEmail(p.Email))
	g[attrType], g["partnerId"] = str(typePartnerEmail), str(p.ID)
	return g
}

// attrPortal is the partner item's copy of its portal access
// (domain.Partner.Portal, as JSON): written in the transactions that change
// the portal user or its invitations (portalWrite), carried over by
// UpdatePartner, so that listing partners reads nothing more.
const attrPortal = "portalAccess"

func decodePartner(it item) (domain.Partner, error) {
	p, err := decodeAs[domain.Partner](it)
	if err != nil {
		return p, err
	}
	if s := getS(it, attrPortal); s != "" {
		err = json.Unmarshal([]byte(s), &p.Portal)
	}
	return p, err
}

// portalWrite is the transaction item that sets the portal access of u's
// partner to what u (as the transaction leaves it) and its latest
// invitation (nil: none) make it; none when u is not a partner's portal
// user. The partner must exist.
func (s *Store) portalWrite(u domain.User, latest *domain.Invitation) ([]txItem, error) {
	if !domain.IsPortalUser(u) {
		return nil, nil
	}
	b, err := json.Marshal(domain.PortalAccessOf(&u, latest))
	if err != nil {
		return nil, err
	}
	return []txItem{s.txUpdate(partnerKey(u.OrgID, u.PartnerID), "SET #pa = :pa", "attribute_exists(PK)",
		map[string]string{"#pa": attrPortal}, item{":pa": str(string(b))}, store.ErrNotFound)}, nil
}

// CreatePartner stores p with its email guard; an address already used by a
// partner of the organization (or an id taken) is store.ErrConflict.
func (s *Store) CreatePartner(ctx context.Context, p domain.Partner) error {
	ctx, done := s.op(ctx, "CreatePartner")
	defer done()
	it, err := partnerItem(p)
	if err != nil {
		return err
	}
	return s.transact(ctx, []txItem{s.txPutNew(it), s.txPutNew(partnerEmailGuard(p))})
}

// GetPartner returns the organization's partner with id.
func (s *Store) GetPartner(ctx context.Context, orgID, id string) (domain.Partner, error) {
	ctx, done := s.op(ctx, "GetPartner")
	defer done()
	it, err := s.getItem(ctx, partnerKey(orgID, id))
	if err != nil {
		return domain.Partner{}, err
	}
	return decodePartner(it)
}

// UpdatePartner replaces the partner with p at Revision p.Revision+1 if the
// stored revision is still p.Revision. The stored record is read first: no
// record is store.ErrNotFound. With the same address it is one conditional
// PutItem; a new address moves the guard in the same transaction (the old
// guard deleted if it still names the partner, the new one created if
// free), and an address taken by another partner is store.ErrConflict.
func (s *Store) UpdatePartner(ctx context.Context, p domain.Partner) error {
	ctx, done := s.op(ctx, "UpdatePartner")
	defer done()
	cur, err := s.getItem(ctx, partnerKey(p.OrgID, p.ID))
	if err != nil {
		return err
	}
	stored, err := decodePartner(cur)
	if err != nil {
		return err
	}
	if stored.Revision != p.Revision {
		return store.ErrConflict
	}
	expected := p.Revision
	p.Revision++
	it, err := partnerItem(p)
	if err != nil {
		return err
	}
	// The portal access is kept as read, on condition it has not moved.
	cond := "#revision = :expected AND attribute_not_exists(#pa)"
	names := map[string]string{"#revision": "revision", "#pa": attrPortal}
	values := item{":expected": num(expected)}
	if pa, ok := cur[attrPortal]; ok {
		it[attrPortal], values[":pa"] = pa, pa
		cond = "#revision = :expected AND #pa = :pa"
	}
	oldEmail, newEmail := domain.NormalizeEmail(stored.Email), domain.NormalizeEmail(p.Email)
	if oldEmail == newEmail {
		return s.putIf(ctx, it, cond, names, values, store.ErrConflict)
	}
	put := txItem{w: types.TransactWriteItem{Put: &types.Put{
		TableName: &s.table, Item: it, ConditionExpression: aws.String(cond),
		ExpressionAttributeNames: names, ExpressionAttributeValues: values,
	}}, onFail: store.ErrConflict}
	del := txItem{w: types.TransactWriteItem{Delete: &types.Delete{
		TableName: &s.table, Key: partnerEmailKey(p.OrgID, oldEmail),
		ConditionExpression:       aws.String("attribute_not_exists(PK) OR partnerId = :id"),
		ExpressionAttributeValues: item{":id": str(p.ID)},
	}}, onFail: store.ErrConflict}
	items := []txItem{put, del, s.txPutNew(partnerEmailGuard(p))}
	// The portal user signs in with the partner's email: it moves too.
	u, err := s.getUser(ctx, p.OrgID, domain.PortalUserID(p.ID))
	switch {
	case errors.Is(err, store.ErrNotFound):
	case err != nil:
		return err
	case domain.NormalizeEmail(u.Email) != newEmail:
		guard := userEmailKey(newEmail)
		guard[attrType], guard["organizationId"], guard["userId"] = str(typeUserEmail), str(u.OrgID), str(u.ID)
		items = append(items,
			s.txUpdate(userKey(u.OrgID, u.ID), "SET email = :new, updatedAt = :t", "email = :old", nil,
				item{":new": str(newEmail), ":old": str(u.Email), ":t": str(formatTime(p.UpdatedAt))}, store.ErrConflict),
			txItem{w: types.TransactWriteItem{Delete: &types.Delete{
				TableName: &s.table, Key: userEmailKey(domain.NormalizeEmail(u.Email)),
				ConditionExpression:       aws.String("attribute_not_exists(PK) OR userId = :uid"),
				ExpressionAttributeValues: item{":uid": str(u.ID)},
			}}, onFail: store.ErrConflict},
			s.txPutNew(guard))
	}
	return s.transact(ctx, items)
}

// ListPartners lists the organization's partners, newest first: the
// organization's partition, or the tier's GSI1 partition when f.TierID is
// set.
func (s *Store) ListPartners(ctx context.Context, orgID string, f store.PartnerFilter, p store.Page) ([]domain.Partner, string, error) {
	ctx, done := s.op(ctx, "ListPartners")
	defer done()
	q := one(orgID, "", orgPK(orgID), skPartner)
	if f.TierID != "" {
		q.index, q.pks = indexGSI1, []string{byTier(orgID, f.TierID)}
	}
	return page(ctx, s, q, p, decodePartner)
}
