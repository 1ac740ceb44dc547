package httpapi_test

import (
	"fmt"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/partnerloop/partnerloop/internal/apptest"
	"github.com/partnerloop/partnerloop/internal/stripeint/stripetest"
)

// TestStripeIntegrationOverHTTP: the admin stores the secret (never shown
// again), Stripe's signed event records a conversion, a bad signature is
// 400 with nothing recorded, and a removed integration refuses events.
func TestStripeIntegrationOverHTTP(t *testing.T) {
	e := apptest.New(t)
	tok := e.AdminToken
	_, code := e.LiveProgram(t, tok)
	const secret = "whsec_http_test_0123456789"

	wantProblem(t, e.Do(t, "PUT", "/v1/integrations/stripe", tok, map[string]string{"webhookSecret": "sk_live_nope"}), 422, "validation_failed")
	r := e.Do(t, "PUT", "/v1/integrations/stripe", tok, map[string]string{"webhookSecret": secret})
	wantStatus(t, r, http.StatusOK)
	hook := "https://refer.example.com/v1/integrations/stripe/" + e.OrgID + "/webhook"
	if r.JSON()["configured"] != true || r.String("webhookUrl") != hook || strings.Contains(string(r.Body), secret) {
		t.Fatalf("PUT answered %s", r.Body)
	}
	path := strings.TrimPrefix(hook, "https://refer.example.com")

	payload := stripetest.Event(t, "checkout.session.completed", map[string]string{
		"EVENT": "evt_http_1", "CREATED": stripetest.Unix(apptest.Start), "SESSION": "cs_test_http", "CLIENT_REFERENCE_ID": stripetest.Q(code),
		"CUSTOMER": "cus_http", "EMAIL": "buyer@customers.example", "AMOUNT": "25000", "INVOICE": "null", "METADATA": "{}",
		"MODE": "payment", "PAYMENT_INTENT": stripetest.Q("pi_http"), "SUBSCRIPTION": "null"})
	post := func(sig string) *apptest.Response {
		h := http.Header{}
		if sig != "" {
			h.Set("Stripe-Signature", sig)
		}
		return apptest.Do(t, e.Handler, "POST", path, "", payload, h)
	}
	wantProblem(t, post(""), http.StatusBadRequest, "invalid_signature")
	wantProblem(t, post(stripetest.Sign(payload, "whsec_wrong", time.Now())), http.StatusBadRequest, "invalid_signature")
	if n := len(e.Do(t, "GET", "/v1/conversions", tok, nil).Items()); n != 0 {
		t.Fatalf("%d conversions after refused events", n)
	}

	r = post(stripetest.Sign(payload, secret, time.Now()))
	wantStatus(t, r, http.StatusOK)
	if r.String("outcome") != "recorded" || r.String("conversionId") == "" {
		t.Fatalf("webhook answered %s", r.Body)
	}
	convs := e.Do(t, "GET", "/v1/conversions", tok, nil).Items()
	if len(convs) != 1 || convs[0]["externalId"] != "cs_test_http" || convs[0]["event"] != "purchase" ||
		fmt.Sprint(convs[0]["amount"].(map[string]any)["amount"]) != "25000" {
		t.Fatalf("conversions: %v", convs)
	}
	wantStatus(t, post(stripetest.Sign(payload, secret, time.Now())), http.StatusOK) // Stripe's retry
	if n := len(e.Do(t, "GET", "/v1/conversions", tok, nil).Items()); n != 1 {
		t.Fatalf("a retried event recorded again: %d conversions", n)
	}

	wantStatus(t, e.Do(t, "DELETE", "/v1/integrations/stripe", tok, nil), http.StatusNoContent)
	wantProblem(t, post(stripetest.Sign(payload, secret, time.Now())), http.StatusBadRequest, "invalid_signature")
}
