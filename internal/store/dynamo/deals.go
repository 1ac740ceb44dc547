package dynamo

import (
	"context"
	"slices"
	"strings"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb/types"

	"github.com/partnerloop/partnerloop/internal/domain"
	"github.com/partnerloop/partnerloop/internal/store"
)

// Deals live in the organization's partition (DEAL#<id>); a partner's deals
// are also in GSI1 under ORG#<org>#PARTNER_DEALS#<partner> (same sort key)
// for ListDeals' partner filter. Two more items per deal, written in the
// same transaction as the deal:
//
//   - a domain reference ORG#<org>#DEAL_DOMAIN#<domain> / DEAL#<id>, never
//     changed, so that DealsByDomain is a strongly consistent Query of one
//     small partition and a BatchGetItem (a GSI would be eventually
//     consistent, and registration must see the deal just registered);
//   - for an open partner deal, the claim ORG#<org>#DEAL_CLAIM#<partner>#<domain>
//     naming the deal, which must not exist (store.Deals): UpdateDeal deletes
//     it, in the same transaction, when the deal closes.

var _ store.Deals = (*Store)(nil)

func dealKey(orgID, id string) item { return key(orgPK(orgID), skDeal+id) }

func byPartnerDeals(orgID, partnerID string) string {
	return "ORG#" + orgID + "#PARTNER_DEALS#" + partnerID
}

func dealDomainPK(orgID, customerDomain string) string {
	return "ORG#" + orgID + "#DEAL_DOMAIN#" + keyPart(customerDomain)
}

func dealClaimKey(orgID, partnerID, customerDomain string) item {
	return key("ORG#"+orgID+"#DEAL_CLAIM#"+partnerID+"#"+keyPart(customerDomain), "DEAL_CLAIM")
}

// claims reports whether d holds the claim item of its partner and domain.
func claims(d domain.Deal) bool {
	return d.Source == domain.DealSourcePartner && d.PartnerID != "" && d.Status.Open()
}

func dealItem(d domain.Deal) (item, error) {
	var extra item
	if d.PartnerID != "" {
		extra = item{attrGSI1PK: str(byPartnerDeals(d.OrgID, d.PartnerID)), attrGSI1SK: str(skDeal + d.ID)}
	}
	return record(d, typeDeal, dealKey(d.OrgID, d.ID), extra)
}

func (s *Store) txPutClaim(d domain.Deal) txItem {
	g := dealClaimKey(d.OrgID, d.PartnerID, d.CustomerDomain)
	g[attrType], g["dealId"] = str(typeDealClaim), str(d.ID)
	return s.txPutNew(g)
}

// CreateDeal stores d with its domain reference and, for an open partner
// deal, its claim: an id taken or a claim held by another deal is
// store.ErrConflict, and then nothing is written.
func (s *Store) CreateDeal(ctx context.Context, d domain.Deal) error {
	ctx, done := s.op(ctx, "CreateDeal")
	defer done()
	it, err := dealItem(d)
	if err != nil {
		return err
	}
	ref := key(dealDomainPK(d.OrgID, d.CustomerDomain), skDeal+d.ID)
	ref[attrType], ref["dealId"] = str(typeDealDomain), str(d.ID)
	items := []txItem{s.txPutNew(it), s.txPutNew(ref)}
	if claims(d) {
		items = append(items, s.txPutClaim(d))
	}
	return s.transact(ctx, items)
}

// GetDeal returns the organization's deal with id.
func (s *Store) GetDeal(ctx context.Context, orgID, id string) (domain.Deal, error) {
	ctx, done := s.op(ctx, "GetDeal")
	defer done()
	it, err := s.getItem(ctx, dealKey(orgID, id))
	if err != nil {
		return domain.Deal{}, err
	}
	return decodeAs[domain.Deal](it)
}

// UpdateDeal replaces the deal with d at Revision d.Revision+1 if the stored
// revision is still d.Revision. The stored deal is read first (none is
// store.ErrNotFound): when the claim does not change it is one conditional
// PutItem; a deal that closes deletes its claim (if it still names the
// deal) and one that would reopen creates it, in the same transaction.
func (s *Store) UpdateDeal(ctx context.Context, d domain.Deal) error {
	ctx, done := s.op(ctx, "UpdateDeal")
	defer done()
	cur, err := s.getItem(ctx, dealKey(d.OrgID, d.ID))
	if err != nil {
		return err
	}
	stored, err := decodeAs[domain.Deal](cur)
	if err != nil {
		return err
	}
	if stored.Revision != d.Revision {
		return store.ErrConflict
	}
	expected := d.Revision
	d.Revision++
	it, err := dealItem(d)
	if err != nil {
		return err
	}
	names := map[string]string{"#revision": "revision"}
	values := item{":expected": num(expected)}
	was, now := claims(stored), claims(d)
	if was == now {
		return s.putIf(ctx, it, "#revision = :expected", names, values, store.ErrConflict)
	}
	put := txItem{w: types.TransactWriteItem{Put: &types.Put{
		TableName: &s.table, Item: it, ConditionExpression: aws.String("#revision = :expected"),
		ExpressionAttributeNames: names, ExpressionAttributeValues: values,
	}}, onFail: store.ErrConflict}
	if now {
		return s.transact(ctx, []txItem{put, s.txPutClaim(d)})
	}
	release := txItem{w: types.TransactWriteItem{Delete: &types.Delete{
		TableName: &s.table, Key: dealClaimKey(stored.OrgID, stored.PartnerID, stored.CustomerDomain),
		ConditionExpression:       aws.String("attribute_not_exists(PK) OR dealId = :id"),
		ExpressionAttributeValues: item{":id": str(d.ID)},
	}}, onFail: store.ErrConflict}
	return s.transact(ctx, []txItem{put, release})
}

// ListDeals lists the organization's deals, newest first: the
// organization's partition, or the partner's GSI1 partition when
// f.PartnerID is set; source and status are filters.
func (s *Store) ListDeals(ctx context.Context, orgID string, f store.DealFilter, p store.Page) ([]domain.Deal, string, error) {
	ctx, done := s.op(ctx, "ListDeals")
	defer done()
	q := one(orgID, "", orgPK(orgID), skDeal)
	q.filters = map[string]string{}
	if f.PartnerID != "" {
		q.index, q.pks = indexGSI1, []string{byPartnerDeals(orgID, f.PartnerID)}
	}
	if f.Source != "" {
		q.filters["source"] = f.Source
	}
	if f.Status != "" {
		q.filters["status"] = f.Status
	}
	return page(ctx, s, q, p, decodeAs[domain.Deal])
}

// DealsByDomain reads the domain's references (a consistent Query) and
// then the deals they name (a consistent BatchGetItem), oldest first.
func (s *Store) DealsByDomain(ctx context.Context, orgID, customerDomain string) ([]domain.Deal, error) {
	ctx, done := s.op(ctx, "DealsByDomain")
	defer done()
	var keys []item
	var start item
	for {
		out, err := s.query(ctx, &dynamodb.QueryInput{
			KeyConditionExpression:    aws.String("#pk = :pk"),
			ExpressionAttributeNames:  map[string]string{"#pk": attrPK},
			ExpressionAttributeValues: item{":pk": str(dealDomainPK(orgID, customerDomain))},
			ConsistentRead:            aws.Bool(true),
			ExclusiveStartKey:         start,
		})
		if err != nil {
			return nil, err
		}
		for _, it := range out.Items {
			keys = append(keys, dealKey(orgID, getS(it, "dealId")))
		}
		if len(out.LastEvaluatedKey) == 0 {
			break
		}
		start = out.LastEvaluatedKey
	}
	items, err := s.batchGet(ctx, keys)
	if err != nil {
		return nil, err
	}
	deals := make([]domain.Deal, 0, len(items))
	for _, it := range items {
		d, err := decodeAs[domain.Deal](it)
		if err != nil {
			return nil, err
		}
		deals = append(deals, d)
	}
	slices.SortFunc(deals, func(a, b domain.Deal) int { return strings.Compare(a.ID, b.ID) })
	return deals, nil
}
