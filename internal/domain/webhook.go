package domain

import "time"

// WebhookStatus is whether an endpoint receives deliveries.
type WebhookStatus string

const (
	WebhookEnabled WebhookStatus = "enabled"
	// WebhookDisabled: by an admin, or automatically after failing for
	// days (DisabledReason says which).
	WebhookDisabled WebhookStatus = "disabled"
)

// WebhookEndpoint is an organization's receiver of outbound webhooks. Its
// signing secrets are kept sealed (encrypted); the API never shows them
// after creation or rotation.
type WebhookEndpoint struct {
	ID          string        `json:"id"`
	OrgID       string        `json:"organizationId"`
	URL         string        `json:"url"`
	Description string        `json:"description,omitempty"`
	Events      []string      `json:"events"`
	Status      WebhookStatus `json:"status"`
	// DisabledReason says why a disabled endpoint was disabled.
	DisabledReason string `json:"disabledReason,omitempty"`
	// Secret is the current signing secret, sealed.
	Secret []byte `json:"secret"`
	// PreviousSecret, while PreviousUntil has not passed, also signs
	// deliveries: a rotation keeps the old secret valid for a while.
	PreviousSecret []byte     `json:"previousSecret,omitempty"`
	PreviousUntil  *time.Time `json:"previousUntil,omitempty"`
	// FailingSince is the first failed attempt since the last success.
	FailingSince *time.Time `json:"failingSince,omitempty"`
	CreatedAt    time.Time  `json:"createdAt"`
	UpdatedAt    time.Time  `json:"updatedAt"`
	Revision     int64      `json:"revision"`
}

// WebhookDeliveryStatus is where a delivery is.
type WebhookDeliveryStatus string

const (
	// DeliveryPending: not yet accepted; NextAttemptAt says when.
	DeliveryPending WebhookDeliveryStatus = "pending"
	// DeliverySucceeded: the endpoint answered 2xx.
	DeliverySucceeded WebhookDeliveryStatus = "succeeded"
	// DeliveryFailed: given up (retries exhausted, endpoint disabled or
	// deleted).
	DeliveryFailed WebhookDeliveryStatus = "failed"
)

// WebhookDelivery is one event for one endpoint, with every attempt made.
type WebhookDelivery struct {
	ID         string `json:"id"`
	OrgID      string `json:"organizationId"`
	EndpointID string `json:"endpointId"`
	// EventID is the webhook-id header: the same for every attempt and
	// replay, so receivers deduplicate by it.
	EventID   string `json:"eventId"`
	EventType string `json:"eventType"`
	// Subject is the record the event is about; deliveries of one subject
	// to one endpoint are made in OrderKey order.
	Subject  string `json:"subject"`
	OrderKey string `json:"orderKey"`
	// Payload is the body sent: {type, timestamp, data}.
	Payload       []byte                `json:"payload"`
	Status        WebhookDeliveryStatus `json:"status"`
	NextAttemptAt *time.Time            `json:"nextAttemptAt,omitempty"`
	Attempts      []WebhookAttempt      `json:"attempts"`
	// RetryFrom starts the retry window (CreatedAt until a replay).
	RetryFrom *time.Time `json:"retryFrom,omitempty"`
	CreatedAt time.Time  `json:"createdAt"`
	UpdatedAt time.Time  `json:"updatedAt"`
	Revision  int64      `json:"revision"`
}

// WebhookAttempt is one request made for a delivery.
type WebhookAttempt struct {
	At         time.Time `json:"at"`
	StatusCode int       `json:"statusCode,omitempty"` // 0: no response
	Error      string    `json:"error,omitempty"`
	DurationMS int64     `json:"durationMs"`
}
