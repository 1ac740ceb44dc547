// Command webhook-dispatcher is the Lambda function on the events queue and
// the webhook retry schedule: it delivers events to organizations'
// webhook endpoints.
package main

import "github.com/partnerloop/partnerloop/internal/app"

func main() { app.StartWebhookDispatcher() }
