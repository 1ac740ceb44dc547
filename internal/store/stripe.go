package store

import (
	"context"
	"time"
)

// StripeIntegrations is what the Stripe integration keeps per organization:
// its webhook signing secret — sealed by the caller (AES-256-GCM), so the
// store never holds it in clear — and links from Stripe object IDs to the
// records they belong to ("customer:cus_…" → a referral, "payment_intent:pi_…"
// and "invoice:in_…" → a conversion), by which later events (renewals,
// refunds) find their referral or conversion.
type StripeIntegrations interface {
	// PutStripeSecret stores (or replaces) the organization's sealed secret.
	PutStripeSecret(ctx context.Context, orgID string, sealed []byte, at time.Time) error
	// StripeSecret returns the sealed secret; ErrNotFound when none is set.
	StripeSecret(ctx context.Context, orgID string) ([]byte, error)
	// DeleteStripeSecret removes the secret; removing none is not an error.
	DeleteStripeSecret(ctx context.Context, orgID string) error
	// PutStripeLink records key → target once: a key already linked keeps
	// its first target and the call succeeds (Stripe retries events, and a
	// retry must not move a link).
	PutStripeLink(ctx context.Context, orgID, key, target string) error
	// StripeLink returns key's target; ErrNotFound when it has none.
	StripeLink(ctx context.Context, orgID, key string) (string, error)
}
