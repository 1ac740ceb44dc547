package httpapi

import (
	"errors"
	"io"
	"net/http"

	"github.com/partnerloop/partnerloop/internal/domain"
)

// GroupIntegrations is the route group of the payment-provider integrations
// (Stripe): the admin's settings and the provider's public webhook.
const GroupIntegrations = "integrations"

// MaxStripeEventBytes bounds a Stripe event body; real events are a few
// kilobytes, the largest (invoices with many lines) well under this.
const MaxStripeEventBytes = 512 << 10

// withStripe answers 503 while the installation cannot keep Stripe secrets
// (no encryption key configured, or a store without them).
func (a *API) withStripe(h handlerFunc) handlerFunc {
	return whenAvailable(func() bool { return a.Stripe != nil }, "integrations_unavailable",
		"the Stripe integration is not available on this installation (set SECRETS_KEY)", h)
}

func (a *API) putStripe(w http.ResponseWriter, r *http.Request, c *Caller) error {
	var in struct {
		WebhookSecret string `json:"webhookSecret"`
	}
	if err := decode(w, r, &in); err != nil {
		return err
	}
	st, err := a.Stripe.Configure(r.Context(), c.OrgID, in.WebhookSecret)
	if err != nil {
		return err
	}
	return writeJSON(w, http.StatusOK, st)
}

func (a *API) deleteStripe(w http.ResponseWriter, r *http.Request, c *Caller) error {
	if err := a.Stripe.Remove(r.Context(), c.OrgID); err != nil {
		return err
	}
	w.WriteHeader(http.StatusNoContent)
	return nil
}

// stripeWebhook is public: the signature, verified against the secret of the
// organization in the path, is the authentication. The raw body is what
// Stripe signed, so it is read as bytes, never decoded and re-encoded.
func (a *API) stripeWebhook(w http.ResponseWriter, r *http.Request, _ *Caller) error {
	body, err := io.ReadAll(http.MaxBytesReader(w, r.Body, MaxStripeEventBytes))
	var tooBig *http.MaxBytesError
	if errors.As(err, &tooBig) {
		return domain.Errorf(domain.KindTooLarge, "body_too_large", "the event is larger than %d bytes", MaxStripeEventBytes)
	}
	if err != nil {
		return malformed("the request body could not be read")
	}
	// The header is "t=…,v1=…[,v1=…]", one value (the Lambda function joins
	// what its adapter splits at commas: app.joinSplitHeaders).
	sig := r.Header.Get("Stripe-Signature")
	res, err := a.Stripe.Handle(r.Context(), r.PathValue("organizationId"), body, sig)
	if err != nil {
		return err
	}
	return writeJSON(w, http.StatusOK, res)
}
