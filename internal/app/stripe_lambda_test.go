package app_test

import (
	"context"
	"encoding/json"
	"net/http"
	"testing"
	"time"

	"github.com/aws/aws-lambda-go/events"

	"github.com/partnerloop/partnerloop/internal/apptest"
	"github.com/partnerloop/partnerloop/internal/httpapi"
	"github.com/partnerloop/partnerloop/internal/stripeint/stripetest"
)

// TestStripeWebhookThroughTheIntegrationsFunction: a signed event reaches
// the integrations function as API Gateway delivers it (payload 2.0, header
// names in lower case, the body as a string) and is recorded: the body is
// verified byte for byte and the signature header is found.
func TestStripeWebhookThroughTheIntegrationsFunction(t *testing.T) {
	e := apptest.New(t)
	_, code := e.LiveProgram(t, e.AdminToken)
	const secret = "whsec_lambda_test_0123456789"
	if r := e.Do(t, "PUT", "/v1/integrations/stripe", e.AdminToken, map[string]string{"webhookSecret": secret}); r.Status != http.StatusOK {
		t.Fatalf("PUT: %d %s", r.Status, r.Body)
	}
	payload := stripetest.Event(t, "checkout.session.completed", map[string]string{
		"EVENT": "evt_lambda", "CREATED": stripetest.Unix(apptest.Start), "SESSION": "cs_lambda", "CLIENT_REFERENCE_ID": stripetest.Q(code),
		"CUSTOMER": "cus_lambda", "EMAIL": "lambda@customers.example", "AMOUNT": "1999", "INVOICE": "null", "METADATA": "{}",
		"MODE": "payment", "PAYMENT_INTENT": stripetest.Q("pi_lambda"), "SUBSCRIPTION": "null"})
	path := "/v1/integrations/stripe/" + e.OrgID + "/webhook"
	ev := events.APIGatewayV2HTTPRequest{
		Version: "2.0", RouteKey: "POST /v1/integrations/stripe/{organizationId}/webhook", RawPath: path,
		Headers: map[string]string{"content-type": "application/json; charset=utf-8", "stripe-signature": stripetest.Sign(payload, secret, time.Now()),
			"user-agent": "Stripe/1.0 (+https://stripe.com/docs/webhooks)"},
		PathParameters: map[string]string{"organizationId": e.OrgID},
		Body:           string(payload),
		RequestContext: events.APIGatewayV2HTTPRequestContext{
			Stage: "$default", RouteKey: "POST /v1/integrations/stripe/{organizationId}/webhook",
			HTTP: events.APIGatewayV2HTTPRequestContextHTTPDescription{Method: "POST", Path: path, SourceIP: "54.187.174.169"},
		},
	}
	fn := e.App.NewHTTPFunction(httpapi.GroupIntegrations)
	got, err := fn(context.Background(), ev)
	if err != nil {
		t.Fatal(err)
	}
	var res map[string]any
	_ = json.Unmarshal([]byte(got.Body), &res)
	if got.StatusCode != 200 || res["outcome"] != "recorded" {
		t.Fatalf("webhook through Lambda: %d %s", got.StatusCode, got.Body)
	}
	if items := e.Do(t, "GET", "/v1/conversions", e.AdminToken, nil).Items(); len(items) != 1 || items[0]["externalId"] != "cs_lambda" {
		t.Fatalf("conversions: %v", items)
	}
	// The same request with its body altered is refused.
	ev.Body = string(payload[:len(payload)-1]) + " }"
	if got, _ := fn(context.Background(), ev); got.StatusCode != http.StatusBadRequest {
		t.Fatalf("altered body: %d %s", got.StatusCode, got.Body)
	}
}
