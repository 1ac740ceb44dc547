package dynamo

import (
	"context"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb"

	"github.com/partnerloop/partnerloop/internal/domain"
	"github.com/partnerloop/partnerloop/internal/store"
)

// Webhook endpoints live in the organization's partition (WEBHOOK#<id>),
// and so do their deliveries (WHDLV#<endpoint>#<id>: one endpoint's log is
// one begins_with Query, newest id first). A pending delivery also carries
// two sparse index keys, dropped when it leaves pending (every write
// replaces the whole item):
//
//   - GSI1: WEBHOOK_DUE / <nextAttemptAt>#<org>#<id> — the installation's
//     due deliveries, earliest first (the dispatcher's retry schedule);
//   - GSI2: ORG#<org>#WHSUBJECT#<endpoint>#<subject> / <orderKey> — the
//     endpoint's pending deliveries about one subject, in order.

var _ store.Webhooks = (*Store)(nil)

const (
	typeWebhookEndpoint = "webhook_endpoint"
	typeWebhookDelivery = "webhook_delivery"

	skWebhook         = "WEBHOOK#"
	skWebhookDelivery = "WHDLV#"

	webhookDuePK = "WEBHOOK_DUE"
)

func webhookKey(orgID, id string) item { return key(orgPK(orgID), skWebhook+id) }

func deliveryPrefix(endpointID string) string { return skWebhookDelivery + endpointID + "#" }

func deliveryKey(orgID, endpointID, id string) item {
	return key(orgPK(orgID), deliveryPrefix(endpointID)+id)
}

func webhookSubjectPK(orgID, endpointID, subject string) string {
	return "ORG#" + orgID + "#WHSUBJECT#" + endpointID + "#" + keyPart(subject)
}

func deliveryItem(d domain.WebhookDelivery) (item, error) {
	var extra item
	if d.Status == domain.DeliveryPending && d.NextAttemptAt != nil {
		extra = item{
			attrGSI1PK: str(webhookDuePK), attrGSI1SK: str(skTime(*d.NextAttemptAt) + "#" + d.OrgID + "#" + d.ID),
			attrGSI2PK: str(webhookSubjectPK(d.OrgID, d.EndpointID, d.Subject)), attrGSI2SK: str(d.OrderKey),
		}
	}
	return record(d, typeWebhookDelivery, deliveryKey(d.OrgID, d.EndpointID, d.ID), extra)
}

// CreateWebhookEndpoint stores e; an id taken is store.ErrConflict.
func (s *Store) CreateWebhookEndpoint(ctx context.Context, e domain.WebhookEndpoint) error {
	ctx, done := s.op(ctx, "CreateWebhookEndpoint")
	defer done()
	it, err := record(e, typeWebhookEndpoint, webhookKey(e.OrgID, e.ID))
	if err != nil {
		return err
	}
	return s.putNew(ctx, it)
}

// GetWebhookEndpoint returns the organization's endpoint with id.
func (s *Store) GetWebhookEndpoint(ctx context.Context, orgID, id string) (domain.WebhookEndpoint, error) {
	ctx, done := s.op(ctx, "GetWebhookEndpoint")
	defer done()
	it, err := s.getItem(ctx, webhookKey(orgID, id))
	if err != nil {
		return domain.WebhookEndpoint{}, err
	}
	return decodeAs[domain.WebhookEndpoint](it)
}

// UpdateWebhookEndpoint replaces the endpoint at Revision+1 if the stored
// revision is still e.Revision.
func (s *Store) UpdateWebhookEndpoint(ctx context.Context, e domain.WebhookEndpoint) error {
	ctx, done := s.op(ctx, "UpdateWebhookEndpoint")
	defer done()
	expected := e.Revision
	e.Revision++
	it, err := record(e, typeWebhookEndpoint, webhookKey(e.OrgID, e.ID))
	if err != nil {
		return err
	}
	return s.putRevision(ctx, it, expected)
}

// putRevision replaces an existing item whose revision is still expected:
// store.ErrNotFound when there is none, store.ErrConflict when it moved on.
func (s *Store) putRevision(ctx context.Context, it item, expected int64) error {
	return s.putIf(ctx, it, "attribute_exists(PK) AND #revision = :expected",
		map[string]string{"#revision": "revision"}, item{":expected": num(expected)}, store.ErrConflict)
}

// DeleteWebhookEndpoint removes the endpoint (store.ErrNotFound if none).
func (s *Store) DeleteWebhookEndpoint(ctx context.Context, orgID, id string) error {
	ctx, done := s.op(ctx, "DeleteWebhookEndpoint")
	defer done()
	return s.transact(ctx, []txItem{s.txDelete(webhookKey(orgID, id), "attribute_exists(PK)", store.ErrNotFound)})
}

// ListWebhookEndpoints lists the organization's endpoints, newest first.
func (s *Store) ListWebhookEndpoints(ctx context.Context, orgID string, p store.Page) ([]domain.WebhookEndpoint, string, error) {
	ctx, done := s.op(ctx, "ListWebhookEndpoints")
	defer done()
	return page(ctx, s, one(orgID, "", orgPK(orgID), skWebhook), p, decodeAs[domain.WebhookEndpoint])
}

// CreateWebhookDelivery stores d; an id the endpoint has is store.ErrConflict.
func (s *Store) CreateWebhookDelivery(ctx context.Context, d domain.WebhookDelivery) error {
	ctx, done := s.op(ctx, "CreateWebhookDelivery")
	defer done()
	it, err := deliveryItem(d)
	if err != nil {
		return err
	}
	return s.putNew(ctx, it)
}

// GetWebhookDelivery returns the endpoint's delivery with id.
func (s *Store) GetWebhookDelivery(ctx context.Context, orgID, endpointID, id string) (domain.WebhookDelivery, error) {
	ctx, done := s.op(ctx, "GetWebhookDelivery")
	defer done()
	it, err := s.getItem(ctx, deliveryKey(orgID, endpointID, id))
	if err != nil {
		return domain.WebhookDelivery{}, err
	}
	return decodeAs[domain.WebhookDelivery](it)
}

// UpdateWebhookDelivery replaces the delivery (and its index keys) at
// Revision+1 if the stored revision is still d.Revision.
func (s *Store) UpdateWebhookDelivery(ctx context.Context, d domain.WebhookDelivery) error {
	ctx, done := s.op(ctx, "UpdateWebhookDelivery")
	defer done()
	expected := d.Revision
	d.Revision++
	it, err := deliveryItem(d)
	if err != nil {
		return err
	}
	return s.putRevision(ctx, it, expected)
}

// ListWebhookDeliveries lists an endpoint's deliveries, newest id first.
func (s *Store) ListWebhookDeliveries(ctx context.Context, orgID, endpointID string, p store.Page) ([]domain.WebhookDelivery, string, error) {
	ctx, done := s.op(ctx, "ListWebhookDeliveries")
	defer done()
	return page(ctx, s, one(orgID, "", orgPK(orgID), deliveryPrefix(endpointID)), p, decodeAs[domain.WebhookDelivery])
}

// DueWebhookDeliveries reads GSI1's WEBHOOK_DUE partition up to now
// (eventually consistent: callers re-read what they act on).
func (s *Store) DueWebhookDeliveries(ctx context.Context, now time.Time, limit int) ([]domain.WebhookDelivery, error) {
	ctx, done := s.op(ctx, "DueWebhookDeliveries")
	defer done()
	if limit <= 0 {
		limit = store.DefaultLimit
	}
	out, err := s.query(ctx, &dynamodb.QueryInput{
		IndexName:                 aws.String(indexGSI1),
		KeyConditionExpression:    aws.String("#pk = :pk AND #sk <= :now"),
		ExpressionAttributeNames:  map[string]string{"#pk": attrGSI1PK, "#sk": attrGSI1SK},
		ExpressionAttributeValues: item{":pk": str(webhookDuePK), ":now": str(skTime(now) + "#~")},
		Limit:                     aws.Int32(int32(limit)),
	})
	if err != nil {
		return nil, err
	}
	ds := make([]domain.WebhookDelivery, 0, len(out.Items))
	for _, it := range out.Items {
		d, err := decodeAs[domain.WebhookDelivery](it)
		if err != nil {
			return nil, err
		}
		ds = append(ds, d)
	}
	return ds, nil
}

// EarlierPendingWebhookDelivery queries GSI2's partition of the endpoint
// and subject for a key below orderKey.
func (s *Store) EarlierPendingWebhookDelivery(ctx context.Context, orgID, endpointID, subject, orderKey string) (bool, error) {
	ctx, done := s.op(ctx, "EarlierPendingWebhookDelivery")
	defer done()
	out, err := s.query(ctx, &dynamodb.QueryInput{
		IndexName:                 aws.String(indexGSI2),
		KeyConditionExpression:    aws.String("#pk = :pk AND #sk < :key"),
		ExpressionAttributeNames:  map[string]string{"#pk": attrGSI2PK, "#sk": attrGSI2SK},
		ExpressionAttributeValues: item{":pk": str(webhookSubjectPK(orgID, endpointID, subject)), ":key": str(orderKey)},
		Limit:                     aws.Int32(1),
	})
	if err != nil {
		return false, err
	}
	return len(out.Items) > 0, nil
}
