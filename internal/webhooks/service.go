package webhooks

import (
	"context"
	"errors"
	"slices"
	"strings"
	"time"

	"github.com/partnerloop/partnerloop/internal/domain"
	"github.com/partnerloop/partnerloop/internal/secretbox"
	"github.com/partnerloop/partnerloop/internal/store"
)

// EventTypes are the events an endpoint can subscribe to, by family.
var EventTypes = map[string][]string{
	"referral":   {"created", "converted", "expired", "ineligible"},
	"conversion": {"created", "refunded"},
	"commission": {"created", "approved", "rejected", "paid", "reversed"},
	"deal":       {"registered", "conflict", "approved", "rejected", "won", "lost", "expired"},
	"partner":    {"created", "updated"},
}

// validPattern reports whether p is "<family>.*" or one exact event type.
func validPattern(p string) bool {
	family, rest, ok := strings.Cut(p, ".")
	names, known := EventTypes[family]
	return ok && known && (rest == "*" || slices.Contains(names, rest))
}

// Matches reports whether an endpoint subscribed to patterns receives an
// event of type typ.
func Matches(patterns []string, typ string) bool {
	family, _, _ := strings.Cut(typ, ".")
	for _, p := range patterns {
		if p == typ || p == family+".*" {
			return true
		}
	}
	return false
}

// RotationOverlap is how long the previous secret keeps signing after a
// rotation, so receivers can switch without losing a delivery.
const RotationOverlap = 24 * time.Hour

// Store is what the webhook service and dispatcher persist to.
type Store interface {
	store.Store
	store.Webhooks
}

// Service manages an organization's endpoints.
type Service struct {
	st           Store
	box          *secretbox.Box
	clock        domain.Clock
	ids          domain.IDs
	allowPrivate bool
}

// NewService returns the endpoint service; allowPrivate lets endpoints
// target private and loopback addresses (WEBHOOK_ALLOW_PRIVATE, tests).
func NewService(st Store, box *secretbox.Box, clock domain.Clock, ids domain.IDs, allowPrivate bool) *Service {
	return &Service{st: st, box: box, clock: clock, ids: ids, allowPrivate: allowPrivate}
}

// EndpointInput is a new endpoint, or the fields of a PATCH (nil: keep).
type EndpointInput struct {
	URL         *string   `json:"url"`
	Events      *[]string `json:"events"`
	Description *string   `json:"description"`
	Status      *string   `json:"status"`
}

// Endpoint is an endpoint as the API shows it; Secret only right after
// creation or rotation.
type Endpoint struct {
	ID             string     `json:"id"`
	URL            string     `json:"url"`
	Events         []string   `json:"events"`
	Description    string     `json:"description,omitempty"`
	Status         string     `json:"status"`
	DisabledReason string     `json:"disabledReason,omitempty"`
	Secret         string     `json:"secret,omitempty"`
	FailingSince   *time.Time `json:"failingSince,omitempty"`
	CreatedAt      time.Time  `json:"createdAt"`
	UpdatedAt      time.Time  `json:"updatedAt"`
}

func view(e domain.WebhookEndpoint) Endpoint {
	return Endpoint{ID: e.ID, URL: e.URL, Events: e.Events, Description: e.Description, Status: string(e.Status),
		DisabledReason: e.DisabledReason, FailingSince: e.FailingSince, CreatedAt: e.CreatedAt, UpdatedAt: e.UpdatedAt}
}

// apply validates in onto e; creating requires url and events.
func (s *Service) apply(e *domain.WebhookEndpoint, in EndpointInput, creating bool) error {
	var v domain.Validation
	if in.URL != nil {
		u, err := CheckURL(*in.URL, s.allowPrivate)
		if err != nil {
			v.Add("url", "%s", strings.TrimPrefix(err.Error(), "webhooks: "))
		} else {
			e.URL = u.String()
		}
	} else if creating {
		v.Add("url", "is required")
	}
	if in.Events != nil {
		evs := slices.Compact(slices.Sorted(slices.Values(*in.Events)))
		v.Check(len(evs) > 0, "events", "needs at least one event type")
		for _, p := range evs {
			v.Check(validPattern(p), "events", "%q is not an event type (referral.*, conversion.*, commission.*, deal.*, partner.* or one exact type)", p)
		}
		e.Events = evs
	} else if creating {
		v.Add("events", "is required")
	}
	if in.Description != nil {
		v.Check(len(*in.Description) <= 500, "description", "is longer than 500 characters")
		e.Description = strings.TrimSpace(*in.Description)
	}
	if in.Status != nil {
		switch domain.WebhookStatus(*in.Status) {
		case domain.WebhookEnabled:
			e.Status, e.DisabledReason, e.FailingSince = domain.WebhookEnabled, "", nil
		case domain.WebhookDisabled:
			if e.Status != domain.WebhookDisabled {
				e.Status, e.DisabledReason = domain.WebhookDisabled, "disabled by an admin"
			}
		default:
			v.Add("status", "must be enabled or disabled")
		}
	}
	return v.Err()
}

// Create registers an endpoint and returns it with its secret, shown only
// this once.
func (s *Service) Create(ctx context.Context, orgID string, in EndpointInput) (Endpoint, error) {
	now := s.clock()
	e := domain.WebhookEndpoint{ID: s.ids("whe"), OrgID: orgID, Status: domain.WebhookEnabled, CreatedAt: now, UpdatedAt: now}
	in.Status = nil
	if err := s.apply(&e, in, true); err != nil {
		return Endpoint{}, err
	}
	secret := NewSecret()
	sealed := s.box.Seal([]byte(secret), e.ID)
	e.Secret = sealed
	if err := s.st.CreateWebhookEndpoint(ctx, e); err != nil {
		return Endpoint{}, err
	}
	out := view(e)
	out.Secret = secret
	return out, nil
}

func (s *Service) get(ctx context.Context, orgID, id string) (domain.WebhookEndpoint, error) {
	e, err := s.st.GetWebhookEndpoint(ctx, orgID, id)
	if errors.Is(err, store.ErrNotFound) {
		return e, domain.NotFound("webhook endpoint")
	}
	return e, err
}

// Get returns one endpoint (without its secret).
func (s *Service) Get(ctx context.Context, orgID, id string) (Endpoint, error) {
	e, err := s.get(ctx, orgID, id)
	if err != nil {
		return Endpoint{}, err
	}
	return view(e), nil
}

// List pages through the organization's endpoints.
func (s *Service) List(ctx context.Context, orgID string, p store.Page) ([]Endpoint, string, error) {
	es, next, err := s.st.ListWebhookEndpoints(ctx, orgID, p)
	if err != nil {
		return nil, "", err
	}
	out := make([]Endpoint, len(es))
	for i, e := range es {
		out[i] = view(e)
	}
	return out, next, nil
}

// Update changes the given fields; enabling a disabled endpoint clears its
// failure streak.
func (s *Service) Update(ctx context.Context, orgID, id string, in EndpointInput) (Endpoint, error) {
	e, err := s.get(ctx, orgID, id)
	if err != nil {
		return Endpoint{}, err
	}
	if err := s.apply(&e, in, false); err != nil {
		return Endpoint{}, err
	}
	e.UpdatedAt = s.clock()
	if err := s.st.UpdateWebhookEndpoint(ctx, e); err != nil {
		return Endpoint{}, err
	}
	e.Revision++
	return view(e), nil
}

// Delete removes an endpoint; its pending deliveries fail.
func (s *Service) Delete(ctx context.Context, orgID, id string) error {
	err := s.st.DeleteWebhookEndpoint(ctx, orgID, id)
	if errors.Is(err, store.ErrNotFound) {
		return domain.NotFound("webhook endpoint")
	}
	return err
}

// RotateSecret gives the endpoint a new secret, returned this once; the
// previous one keeps signing (a second signature) for RotationOverlap.
func (s *Service) RotateSecret(ctx context.Context, orgID, id string) (Endpoint, error) {
	e, err := s.get(ctx, orgID, id)
	if err != nil {
		return Endpoint{}, err
	}
	secret := NewSecret()
	sealed := s.box.Seal([]byte(secret), e.ID)
	now := s.clock()
	until := now.Add(RotationOverlap)
	e.PreviousSecret, e.PreviousUntil, e.Secret, e.UpdatedAt = e.Secret, &until, sealed, now
	if err := s.st.UpdateWebhookEndpoint(ctx, e); err != nil {
		return Endpoint{}, err
	}
	out := view(e)
	out.Secret = secret
	return out, nil
}

// Delivery is a delivery as the API shows it.
type Delivery struct {
	ID            string                  `json:"id"`
	EndpointID    string                  `json:"endpointId"`
	EventID       string                  `json:"eventId"`
	EventType     string                  `json:"eventType"`
	Subject       string                  `json:"subject"`
	Status        string                  `json:"status"`
	NextAttemptAt *time.Time              `json:"nextAttemptAt,omitempty"`
	Attempts      []domain.WebhookAttempt `json:"attempts"`
	CreatedAt     time.Time               `json:"createdAt"`
}

func deliveryView(d domain.WebhookDelivery) Delivery {
	attempts := d.Attempts
	if attempts == nil {
		attempts = []domain.WebhookAttempt{}
	}
	out := Delivery{ID: d.ID, EndpointID: d.EndpointID, EventID: d.EventID, EventType: d.EventType, Subject: d.Subject,
		Status: string(d.Status), Attempts: attempts, CreatedAt: d.CreatedAt}
	if d.Status == domain.DeliveryPending {
		out.NextAttemptAt = d.NextAttemptAt
	}
	return out
}

// Deliveries pages through an endpoint's delivery log, newest first.
func (s *Service) Deliveries(ctx context.Context, orgID, endpointID string, p store.Page) ([]Delivery, string, error) {
	if _, err := s.get(ctx, orgID, endpointID); err != nil {
		return nil, "", err
	}
	ds, next, err := s.st.ListWebhookDeliveries(ctx, orgID, endpointID, p)
	if err != nil {
		return nil, "", err
	}
	out := make([]Delivery, len(ds))
	for i, d := range ds {
		out[i] = deliveryView(d)
	}
	return out, next, nil
}

// Replay sends a delivery again, with the same webhook-id: it becomes
// pending and due now, whatever its status, with a fresh retry window.
// The endpoint must be enabled.
func (s *Service) Replay(ctx context.Context, orgID, endpointID, deliveryID string) (Delivery, error) {
	e, err := s.get(ctx, orgID, endpointID)
	if err != nil {
		return Delivery{}, err
	}
	if e.Status != domain.WebhookEnabled {
		return Delivery{}, domain.Errorf(domain.KindConflict, "endpoint_disabled", "the endpoint is disabled; enable it first")
	}
	d, err := s.st.GetWebhookDelivery(ctx, orgID, endpointID, deliveryID)
	if errors.Is(err, store.ErrNotFound) {
		return Delivery{}, domain.NotFound("delivery")
	}
	if err != nil {
		return Delivery{}, err
	}
	now := s.clock()
	d.Status, d.NextAttemptAt, d.RetryFrom, d.UpdatedAt = domain.DeliveryPending, &now, &now, now
	if err := s.st.UpdateWebhookDelivery(ctx, d); err != nil {
		return Delivery{}, err
	}
	return deliveryView(d), nil
}
