// Command integrations is the Lambda function serving the integration
// routes: the Stripe settings and Stripe's webhook.
package main

import (
	"github.com/partnerloop/partnerloop/internal/app"
	"github.com/partnerloop/partnerloop/internal/httpapi"
)

func main() { app.StartHTTPFunction(httpapi.GroupIntegrations, httpapi.IntegrationsRoutes, nil) }
