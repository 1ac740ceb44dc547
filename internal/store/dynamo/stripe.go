package dynamo

import (
	"context"
	"errors"
	"time"

	"github.com/aws/aws-sdk-go-v2/service/dynamodb/types"

	"github.com/partnerloop/partnerloop/internal/store"
)

// The Stripe integration's items live in the organization's partition:
// STRIPE#SECRET holds the sealed webhook secret, STRIPE#LINK#<key> one link.
// Neither is a record the stream consumers know, so they pass them by.

var _ store.StripeIntegrations = (*Store)(nil)

func stripeSecretKey(orgID string) item  { return key(orgPK(orgID), "STRIPE#SECRET") }
func stripeLinkKey(orgID, k string) item { return key(orgPK(orgID), "STRIPE#LINK#"+keyPart(k)) }

// PutStripeSecret stores or replaces the organization's sealed secret.
func (s *Store) PutStripeSecret(ctx context.Context, orgID string, sealed []byte, at time.Time) error {
	ctx, done := s.op(ctx, "PutStripeSecret")
	defer done()
	it := stripeSecretKey(orgID)
	it[attrType] = str(typeStripeSecret)
	it["sealed"] = &types.AttributeValueMemberB{Value: sealed}
	it["updatedAt"] = str(formatTime(at))
	return s.put(ctx, it)
}

// StripeSecret returns the organization's sealed secret.
func (s *Store) StripeSecret(ctx context.Context, orgID string) ([]byte, error) {
	ctx, done := s.op(ctx, "StripeSecret")
	defer done()
	it, err := s.getItem(ctx, stripeSecretKey(orgID))
	if err != nil {
		return nil, err
	}
	b, ok := it["sealed"].(*types.AttributeValueMemberB)
	if !ok {
		return nil, errors.New("dynamo: stripe secret item without a sealed value")
	}
	return b.Value, nil
}

// DeleteStripeSecret removes the organization's secret, if any.
func (s *Store) DeleteStripeSecret(ctx context.Context, orgID string) error {
	ctx, done := s.op(ctx, "DeleteStripeSecret")
	defer done()
	return s.del(ctx, stripeSecretKey(orgID))
}

// PutStripeLink records key → target unless key is linked already (a put
// that must not exist; an existing link is kept and is not an error).
func (s *Store) PutStripeLink(ctx context.Context, orgID, k, target string) error {
	ctx, done := s.op(ctx, "PutStripeLink")
	defer done()
	it := stripeLinkKey(orgID, k)
	it[attrType] = str(typeStripeLink)
	it["target"] = str(target)
	if err := s.putNew(ctx, it); err != nil && !errors.Is(err, store.ErrConflict) {
		return err
	}
	return nil
}

// StripeLink returns key's target.
func (s *Store) StripeLink(ctx context.Context, orgID, k string) (string, error) {
	ctx, done := s.op(ctx, "StripeLink")
	defer done()
	it, err := s.getItem(ctx, stripeLinkKey(orgID, k))
	if err != nil {
		return "", err
	}
	return getS(it, "target"), nil
}
