package store

import (
	"context"
	"time"

	"github.com/partnerloop/partnerloop/internal/domain"
)

// Webhooks persists outbound webhook endpoints and their deliveries. Both
// adapters implement it next to Store; the webhook service asserts it.
type Webhooks interface {
	// CreateWebhookEndpoint stores e; an id taken is ErrConflict.
	CreateWebhookEndpoint(ctx context.Context, e domain.WebhookEndpoint) error
	GetWebhookEndpoint(ctx context.Context, orgID, id string) (domain.WebhookEndpoint, error)
	// UpdateWebhookEndpoint stores e with Revision e.Revision+1 if the
	// stored revision is still e.Revision (ErrConflict otherwise,
	// ErrNotFound when there is no such endpoint).
	UpdateWebhookEndpoint(ctx context.Context, e domain.WebhookEndpoint) error
	// DeleteWebhookEndpoint removes the endpoint (ErrNotFound if none); its
	// deliveries stay in the log.
	DeleteWebhookEndpoint(ctx context.Context, orgID, id string) error
	// ListWebhookEndpoints pages through the organization's endpoints,
	// newest first.
	ListWebhookEndpoints(ctx context.Context, orgID string, p Page) ([]domain.WebhookEndpoint, string, error)

	// CreateWebhookDelivery stores d; an id the endpoint already has is
	// ErrConflict (deliveries are created idempotently by derived ids).
	// As everywhere in the port, an adapter may take a retried write that
	// stores exactly what is already stored for success.
	CreateWebhookDelivery(ctx context.Context, d domain.WebhookDelivery) error
	GetWebhookDelivery(ctx context.Context, orgID, endpointID, id string) (domain.WebhookDelivery, error)
	// UpdateWebhookDelivery is optimistic like UpdateWebhookEndpoint.
	UpdateWebhookDelivery(ctx context.Context, d domain.WebhookDelivery) error
	// ListWebhookDeliveries pages through an endpoint's deliveries, newest
	// id first.
	ListWebhookDeliveries(ctx context.Context, orgID, endpointID string, p Page) ([]domain.WebhookDelivery, string, error)
	// DueWebhookDeliveries returns up to limit pending deliveries of the
	// whole installation whose NextAttemptAt is at or before now, earliest
	// first. On DynamoDB it reads an index, so a delivery changed a moment
	// ago may be missing or stale: callers re-read each one.
	DueWebhookDeliveries(ctx context.Context, now time.Time, limit int) ([]domain.WebhookDelivery, error)
	// EarlierPendingWebhookDelivery reports whether the endpoint has a
	// pending delivery about subject with an OrderKey below orderKey:
	// deliveries of one subject go out in order.
	EarlierPendingWebhookDelivery(ctx context.Context, orgID, endpointID, subject, orderKey string) (bool, error)
}
