package stripeint

import "encoding/json"

// The few fields of Stripe objects the integration reads, decoded leniently:
// an expandable field is an ID string or an object with an "id", and a field
// that moved between API versions is read from both places (the account's
// API version decides the shape of its events).

// expandable is an ID given as "cus_…" or as {"id": "cus_…", …}.
type expandable struct{ ID string }

func (e *expandable) UnmarshalJSON(b []byte) error {
	var s string
	if err := json.Unmarshal(b, &s); err == nil {
		e.ID = s
		return nil
	}
	var o struct {
		ID string `json:"id"`
	}
	if err := json.Unmarshal(b, &o); err != nil {
		return nil // null or another shape: no ID
	}
	e.ID = o.ID
	return nil
}

func id(e *expandable) string {
	if e == nil {
		return ""
	}
	return e.ID
}

type checkoutSession struct {
	ID                string      `json:"id"`
	ClientReferenceID string      `json:"client_reference_id"`
	Customer          *expandable `json:"customer"`
	CustomerEmail     string      `json:"customer_email"`
	CustomerDetails   struct {
		Email string `json:"email"`
	} `json:"customer_details"`
	Metadata      map[string]string `json:"metadata"`
	AmountTotal   int64             `json:"amount_total"`
	Currency      string            `json:"currency"`
	PaymentIntent *expandable       `json:"payment_intent"`
	Invoice       *expandable       `json:"invoice"`
	PaymentStatus string            `json:"payment_status"`
	Mode          string            `json:"mode"`
	Subscription  *expandable       `json:"subscription"`
}

type invoice struct {
	ID                string      `json:"id"`
	Customer          *expandable `json:"customer"`
	CustomerEmail     string      `json:"customer_email"`
	BillingReason     string      `json:"billing_reason"`
	AmountPaid        int64       `json:"amount_paid"`
	Currency          string      `json:"currency"`
	StatusTransitions struct {
		PaidAt int64 `json:"paid_at"`
	} `json:"status_transitions"`
	Metadata map[string]string `json:"metadata"`
	// Before API version 2025-03-31 (basil): the invoice's payment intent
	// and its subscription's metadata.
	PaymentIntent       *expandable `json:"payment_intent"`
	Subscription        *expandable `json:"subscription"`
	SubscriptionDetails *struct {
		Metadata map[string]string `json:"metadata"`
	} `json:"subscription_details"`
	// From 2025-03-31: payments and parent.subscription_details.
	Payments *struct {
		Data []struct {
			Payment struct {
				PaymentIntent *expandable `json:"payment_intent"`
			} `json:"payment"`
		} `json:"data"`
	} `json:"payments"`
	Parent *struct {
		SubscriptionDetails *struct {
			Metadata     map[string]string `json:"metadata"`
			Subscription *expandable       `json:"subscription"`
		} `json:"subscription_details"`
	} `json:"parent"`
}

// subscription is the invoice's subscription ID ("" for a one-off invoice).
func (in invoice) subscription() string {
	if in.Parent != nil && in.Parent.SubscriptionDetails != nil {
		if s := id(in.Parent.SubscriptionDetails.Subscription); s != "" {
			return s
		}
	}
	return id(in.Subscription)
}

func (in invoice) paymentIntents() []string {
	var out []string
	if pi := id(in.PaymentIntent); pi != "" {
		out = append(out, pi)
	}
	if in.Payments != nil {
		for _, p := range in.Payments.Data {
			if pi := id(p.Payment.PaymentIntent); pi != "" {
				out = append(out, pi)
			}
		}
	}
	return out
}

// metadata merges the invoice's own metadata with its subscription's (the
// subscription's is where a code set at checkout usually lives).
func (in invoice) metadata() map[string]string {
	md := map[string]string{}
	for _, m := range []map[string]string{subMeta(in), in.Metadata} {
		for k, v := range m {
			md[k] = v
		}
	}
	return md
}

func subMeta(in invoice) map[string]string {
	if in.Parent != nil && in.Parent.SubscriptionDetails != nil {
		return in.Parent.SubscriptionDetails.Metadata
	}
	if in.SubscriptionDetails != nil {
		return in.SubscriptionDetails.Metadata
	}
	return nil
}

type charge struct {
	ID             string      `json:"id"`
	Amount         int64       `json:"amount"`
	AmountRefunded int64       `json:"amount_refunded"`
	Currency       string      `json:"currency"`
	PaymentIntent  *expandable `json:"payment_intent"`
	// Before 2025-03-31 a charge named its invoice.
	Invoice *expandable `json:"invoice"`
}
