// Command web is the Lambda function serving the web UI's public pages
// (sign-in, invitations, password resets), its assets, the dashboard,
// programs, referrals, referrers and conversions, on the HTTP
// API's $default route (internal/web.Group).
package main

import (
	"github.com/partnerloop/partnerloop/internal/app/webfn"
	"github.com/partnerloop/partnerloop/internal/mail/sesmail"
	"github.com/partnerloop/partnerloop/internal/web"
)

func main() { webfn.Start(web.ConsoleGroup(), sesmail.NewMailer) }
