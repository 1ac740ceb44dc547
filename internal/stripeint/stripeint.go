// Package stripeint records conversions from an organization's Stripe
// events: a completed Checkout session is a purchase, a paid invoice of a
// later billing cycle a renewal, a refunded charge a refund of the
// conversion it paid — through the same tracking and ledger services as the
// API, so every rule (qualifying, idempotency, commissions) is the same.
//
// The organization stores its webhook signing secret (encrypted at rest by
// secretbox, never shown again); each event's Stripe-Signature is verified
// with stripe-go's webhook package before anything is read.
package stripeint

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"math/big"
	"strings"
	"time"

	"github.com/stripe/stripe-go/v82/webhook"

	"github.com/partnerloop/partnerloop/internal/domain"
	"github.com/partnerloop/partnerloop/internal/secretbox"
	"github.com/partnerloop/partnerloop/internal/store"
	"github.com/partnerloop/partnerloop/internal/tracking"
)

// Conversions records and reads conversions (tracking.Service).
type Conversions interface {
	RecordConversion(ctx context.Context, orgID string, in tracking.ConversionInput) (domain.Conversion, bool, error)
	GetConversion(ctx context.Context, orgID, id string) (domain.Conversion, error)
}

// Refunds brings a conversion's refunded total up to a cumulative amount
// (ledger.Service).
type Refunds interface {
	RefundTo(ctx context.Context, orgID, conversionID string, total int64) (domain.Conversion, bool, error)
}

// Service is the Stripe integration of every organization.
type Service struct {
	st      store.StripeIntegrations
	box     *secretbox.Box
	convs   Conversions
	refunds Refunds
	now     domain.Clock
	baseURL string
}

// New returns the integration. baseURL is the public base URL the webhook
// endpoint is reached at.
func New(st store.StripeIntegrations, box *secretbox.Box, convs Conversions, refunds Refunds, now domain.Clock, baseURL string) *Service {
	return &Service{st: st, box: box, convs: convs, refunds: refunds, now: now, baseURL: strings.TrimRight(baseURL, "/")}
}

// Status is what PUT /v1/integrations/stripe answers.
type Status struct {
	Configured bool   `json:"configured"`
	WebhookURL string `json:"webhookUrl"`
}

// WebhookURL is where the organization's Stripe account sends events.
func (s *Service) WebhookURL(orgID string) string {
	return s.baseURL + "/v1/integrations/stripe/" + orgID + "/webhook"
}

// Configure stores the organization's webhook signing secret ("whsec_…",
// from the Stripe dashboard's webhook endpoint), sealed.
func (s *Service) Configure(ctx context.Context, orgID, secret string) (Status, error) {
	secret = strings.TrimSpace(secret)
	var v domain.Validation
	v.Check(strings.HasPrefix(secret, "whsec_") && len(secret) > len("whsec_"), "webhookSecret",
		"must be the endpoint's signing secret, starting with whsec_")
	v.Check(len(secret) <= 256, "webhookSecret", "must be at most 256 characters")
	if err := v.Err(); err != nil {
		return Status{}, err
	}
	if err := s.st.PutStripeSecret(ctx, orgID, s.box.Seal([]byte(secret), orgID), s.now()); err != nil {
		return Status{}, err
	}
	return Status{Configured: true, WebhookURL: s.WebhookURL(orgID)}, nil
}

// Remove deletes the organization's secret: its webhook refuses every event.
func (s *Service) Remove(ctx context.Context, orgID string) error {
	return s.st.DeleteStripeSecret(ctx, orgID)
}

// Outcomes of an event.
const (
	OutcomeRecorded  = "recorded"  // a conversion recorded or refunded
	OutcomeDuplicate = "duplicate" // seen before (Stripe retried): nothing new
	OutcomeIgnored   = "ignored"   // acknowledged; nothing to record (Reason says why)
)

// Result is the webhook's answer (HTTP 200) for a verified event.
type Result struct {
	Received     bool   `json:"received"`
	EventID      string `json:"eventId"`
	Type         string `json:"type"`
	Outcome      string `json:"outcome"`
	Reason       string `json:"reason,omitempty"`
	ConversionID string `json:"conversionId,omitempty"`
}

// ErrBadSignature: the event is unsigned, signed with another secret, too
// old, or the organization has no secret; nothing is recorded (400).
var ErrBadSignature = domain.Errorf(domain.KindMalformed, "invalid_signature",
	"the Stripe-Signature header does not verify with this organization's webhook signing secret")

// Handle verifies and records one event. Event types it does not handle, and
// events that record nothing (no referral found, not qualifying), are
// acknowledged with OutcomeIgnored — Stripe would otherwise retry them for
// days. Errors are a bad signature or a failure to retry.
func (s *Service) Handle(ctx context.Context, orgID string, payload []byte, signature string) (Result, error) {
	sealed, err := s.st.StripeSecret(ctx, orgID)
	if errors.Is(err, store.ErrNotFound) {
		return Result{}, ErrBadSignature
	}
	if err != nil {
		return Result{}, err
	}
	secret, err := s.box.Open(sealed, orgID)
	if err != nil {
		return Result{}, fmt.Errorf("stripeint: the stored secret of %s: %w", orgID, err)
	}
	// The account chooses the API version of its events: accept any, and
	// read only the few fields below, which every version has kept.
	ev, err := webhook.ConstructEventWithOptions(payload, signature, string(secret),
		webhook.ConstructEventOptions{IgnoreAPIVersionMismatch: true})
	if err != nil || ev.Data == nil {
		return Result{}, ErrBadSignature
	}
	res := Result{Received: true, EventID: ev.ID, Type: string(ev.Type)}
	occurred := time.Unix(ev.Created, 0).UTC()
	var out outcome
	switch ev.Type {
	case "checkout.session.completed", "checkout.session.async_payment_succeeded":
		var cs checkoutSession
		if err := json.Unmarshal(ev.Data.Raw, &cs); err != nil {
			return res.ignored("unreadable_object"), nil
		}
		out, err = s.checkoutCompleted(ctx, orgID, cs, occurred)
	case "invoice.paid":
		var in invoice
		if err := json.Unmarshal(ev.Data.Raw, &in); err != nil {
			return res.ignored("unreadable_object"), nil
		}
		out, err = s.invoicePaid(ctx, orgID, in, occurred)
	case "charge.refunded":
		var ch charge
		if err := json.Unmarshal(ev.Data.Raw, &ch); err != nil {
			return res.ignored("unreadable_object"), nil
		}
		out, err = s.chargeRefunded(ctx, orgID, ch)
	default:
		return res.ignored("event_type_not_handled"), nil
	}
	if err != nil {
		return res, err
	}
	res.Outcome, res.Reason, res.ConversionID = out.outcome, out.reason, out.conversionID
	return res, nil
}

func (r Result) ignored(reason string) Result {
	r.Outcome, r.Reason = OutcomeIgnored, reason
	return r
}

type outcome struct{ outcome, reason, conversionID string }

func ignored(reason string) outcome { return outcome{outcome: OutcomeIgnored, reason: reason} }

// Link keys (store.StripeIntegrations).
func customerKey(id string) string      { return "customer:" + id }
func paymentIntentKey(id string) string { return "payment_intent:" + id }
func invoiceKey(id string) string       { return "invoice:" + id }

// checkoutCompleted records a paid Checkout session as a purchase, credited
// to the referral its client_reference_id or metadata code names, else to
// the customer's earlier referral (by customer ID, then e-mail).
func (s *Service) checkoutCompleted(ctx context.Context, orgID string, cs checkoutSession, at time.Time) (outcome, error) {
	if cs.PaymentStatus == "unpaid" {
		// An asynchronous payment method: async_payment_succeeded follows.
		return ignored("payment_pending"), nil
	}
	if cs.AmountTotal <= 0 {
		return ignored("nothing_paid"), nil
	}
	email := cs.CustomerDetails.Email
	if email == "" {
		email = cs.CustomerEmail
	}
	in := tracking.ConversionInput{Event: domain.EventPurchase, ExternalID: firstPaymentID(cs.ID, id(cs.Subscription)), OccurredAt: &at,
		Amount: &domain.MoneyInput{Amount: cs.AmountTotal, Currency: strings.ToUpper(cs.Currency)}}
	out, conv, err := s.record(ctx, orgID, in, []string{cs.ClientReferenceID, metadataCode(cs.Metadata)}, id(cs.Customer), email)
	if err != nil || conv == nil {
		return out, err
	}
	return out, s.link(ctx, orgID, *conv, id(cs.Customer), id(cs.PaymentIntent), id(cs.Invoice))
}

// firstPaymentID is the externalId of a first payment: the subscription's ID
// when it starts one — Stripe sends both checkout.session.completed and the
// subscription's first invoice.paid, in either order and at once, and the
// shared externalId makes them one purchase — else the Checkout session's.
func firstPaymentID(objectID, subscriptionID string) string {
	if subscriptionID != "" {
		return subscriptionID
	}
	return objectID
}

// invoicePaid records a paid invoice: the first invoice of a subscription
// (billing_reason subscription_create) is its purchase — the same conversion
// as its Checkout session's, by the subscription's ID — and every later one
// (a billing cycle, an update, a threshold, a manual invoice) a renewal.
func (s *Service) invoicePaid(ctx context.Context, orgID string, inv invoice, at time.Time) (outcome, error) {
	if inv.AmountPaid <= 0 {
		return ignored("nothing_paid"), nil // a trial or fully discounted invoice
	}
	if inv.StatusTransitions.PaidAt > 0 {
		at = time.Unix(inv.StatusTransitions.PaidAt, 0).UTC()
	}
	in := tracking.ConversionInput{Event: domain.EventRenewal, ExternalID: inv.ID, OccurredAt: &at,
		Amount: &domain.MoneyInput{Amount: inv.AmountPaid, Currency: strings.ToUpper(inv.Currency)}}
	if inv.BillingReason == "subscription_create" {
		in.Event, in.ExternalID = domain.EventPurchase, firstPaymentID(inv.ID, inv.subscription())
	}
	out, conv, err := s.record(ctx, orgID, in, []string{metadataCode(inv.metadata())}, id(inv.Customer), inv.CustomerEmail)
	if err != nil || conv == nil {
		return out, err
	}
	return out, s.link(ctx, orgID, *conv, id(inv.Customer), "", inv.ID, inv.paymentIntents()...)
}

// chargeRefunded brings the refunded total of the conversion the charge paid
// (found by its payment intent, else its invoice) to the charge's refunded
// share: Stripe reports the cumulative amount_refunded, so a retried or
// reordered event changes nothing.
func (s *Service) chargeRefunded(ctx context.Context, orgID string, ch charge) (outcome, error) {
	var convID string
	for _, k := range []string{paymentIntentKey(id(ch.PaymentIntent)), invoiceKey(id(ch.Invoice))} {
		if strings.HasSuffix(k, ":") {
			continue
		}
		target, err := s.st.StripeLink(ctx, orgID, k)
		if err == nil {
			convID = target
			break
		}
		if !errors.Is(err, store.ErrNotFound) {
			return outcome{}, err
		}
	}
	if convID == "" {
		return ignored("unknown_payment"), nil
	}
	if ch.Amount <= 0 || ch.AmountRefunded <= 0 {
		return ignored("nothing_refunded"), nil
	}
	conv, err := s.convs.GetConversion(ctx, orgID, convID)
	if err != nil {
		return outcome{}, err
	}
	total := refundedShare(conv, ch)
	_, refunded, err := s.refunds.RefundTo(ctx, orgID, convID, total)
	if err != nil {
		if e, ok := domain.AsError(err); ok && e.Kind != domain.KindUnavailable && e.Kind != domain.KindConflict {
			return ignored(e.Code), nil
		}
		return outcome{}, err
	}
	if !refunded {
		return outcome{outcome: OutcomeDuplicate, conversionID: convID}, nil
	}
	return outcome{outcome: OutcomeRecorded, conversionID: convID}, nil
}

// refundedShare is the conversion's refunded total that the charge's refunds
// amount to: the same amount when the conversion recorded the whole charge,
// else the same proportion of the conversion's value (rounded half up).
func refundedShare(conv domain.Conversion, ch charge) int64 {
	switch {
	case conv.Amount == nil:
		return ch.AmountRefunded
	case ch.AmountRefunded >= ch.Amount:
		return conv.Amount.Amount
	case conv.Amount.Amount == ch.Amount:
		return ch.AmountRefunded
	}
	n := new(big.Int).Mul(big.NewInt(conv.Amount.Amount), big.NewInt(2*ch.AmountRefunded))
	n.Add(n, big.NewInt(ch.Amount))
	return n.Quo(n, big.NewInt(2*ch.Amount)).Int64()
}

// record records the conversion, trying each way of finding its referral in
// turn: each code given (client_reference_id, metadata), then the customer's
// earlier conversion, then the customer's e-mail. A way that finds no
// referral passes to the next; any other refusal (not qualifying) is the
// answer, acknowledged and ignored.
func (s *Service) record(ctx context.Context, orgID string, in tracking.ConversionInput, codes []string, customer, email string) (outcome, *domain.Conversion, error) {
	var byCode, byCustomer, byEmail []tracking.ConversionInput
	for _, c := range codes {
		if c = strings.TrimSpace(c); c != "" {
			t := in
			t.Code, t.Email = c, domain.NormalizeEmail(email)
			if t.Email != "" && !domain.ValidEmail(t.Email) {
				t.Email = ""
			}
			byCode = append(byCode, t)
		}
	}
	if customer != "" {
		refID, err := s.st.StripeLink(ctx, orgID, customerKey(customer))
		switch {
		case err == nil:
			t := in
			t.ReferralID = refID
			byCustomer = append(byCustomer, t)
		case !errors.Is(err, store.ErrNotFound):
			return outcome{}, nil, err
		}
	}
	if e := domain.NormalizeEmail(email); e != "" && domain.ValidEmail(e) {
		t := in
		t.Email = e
		byEmail = append(byEmail, t)
	}
	// A first payment is credited to the code it carries; a renewal to the
	// customer who paid before (a code in a subscription's metadata names
	// the same referral, or none that has paid).
	order := [][]tracking.ConversionInput{byCode, byCustomer, byEmail}
	if in.Event == domain.EventRenewal {
		order = [][]tracking.ConversionInput{byCustomer, byCode, byEmail}
	}
	reason := "no_referral"
	for _, ways := range order {
		for _, t := range ways {
			conv, created, err := s.convs.RecordConversion(ctx, orgID, t)
			if err == nil {
				if !created {
					return outcome{outcome: OutcomeDuplicate, conversionID: conv.ID}, &conv, nil
				}
				return outcome{outcome: OutcomeRecorded, conversionID: conv.ID}, &conv, nil
			}
			e, ok := domain.AsError(err)
			switch {
			case !ok || e.Kind == domain.KindUnavailable || e.Kind == domain.KindConflict:
				return outcome{}, nil, err // Stripe retries
			case e.Kind == domain.KindNotFound || e.Code == "unknown_code" || e.Code == "unknown_referral":
				// This way finds no referral: try the next.
			case e.Code == domain.ReasonNoFirstPayment:
				reason = e.Code // a referral that has not paid yet: try the next
			case e.Code != "":
				return ignored(e.Code), nil, nil // found, but it does not qualify
			default:
				return ignored("not_qualifying"), nil, nil
			}
		}
	}
	return ignored(reason), nil, nil
}

// link remembers which referral the customer is and which conversion the
// payment intents and invoice paid, for later renewals and refunds.
func (s *Service) link(ctx context.Context, orgID string, conv domain.Conversion, customer, paymentIntent, invoiceID string, morePIs ...string) error {
	if customer != "" {
		if err := s.st.PutStripeLink(ctx, orgID, customerKey(customer), conv.ReferralID); err != nil {
			return err
		}
	}
	if invoiceID != "" {
		if err := s.st.PutStripeLink(ctx, orgID, invoiceKey(invoiceID), conv.ID); err != nil {
			return err
		}
	}
	for _, pi := range append([]string{paymentIntent}, morePIs...) {
		if pi == "" {
			continue
		}
		if err := s.st.PutStripeLink(ctx, orgID, paymentIntentKey(pi), conv.ID); err != nil {
			return err
		}
	}
	return nil
}

// metadataCode is the referral code a merchant put in an object's metadata.
func metadataCode(md map[string]string) string {
	for _, k := range []string{"ref", "referral_code", "partnerloop_ref", "code"} {
		if v := strings.TrimSpace(md[k]); v != "" {
			return v
		}
	}
	return ""
}
