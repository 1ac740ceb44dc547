// Command identity is the Lambda function serving the identity routes.
package main

import (
	"github.com/partnerloop/partnerloop/internal/app"
	"github.com/partnerloop/partnerloop/internal/httpapi"
	"github.com/partnerloop/partnerloop/internal/mail/sesmail"
)

func main() { app.StartHTTPFunction(httpapi.GroupIdentity, httpapi.IdentityRoutes, sesmail.NewMailer) }
