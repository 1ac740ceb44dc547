// Command partners is the Lambda function serving the partner tier and
// partner routes.
package main

import (
	"github.com/partnerloop/partnerloop/internal/app"
	"github.com/partnerloop/partnerloop/internal/httpapi"
	"github.com/partnerloop/partnerloop/internal/mail/sesmail"
)

func main() { app.StartHTTPFunction(httpapi.GroupPartners, httpapi.PartnersRoutes, sesmail.NewMailer) }
