// Command webhook-dispatcher is the Lambda function on the events queue and
// the webhook retry schedule: it delivers events to organizations'
// webhook endpoints.
package main

import (
	"github.com/partnerloop/partnerloop/internal/app"
	"github.com/partnerloop/partnerloop/internal/mail/sesmail"
)

func main() { app.StartWebhookDispatcher(sesmail.NewMailer) }
