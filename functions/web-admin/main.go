// Command web-admin is the Lambda function serving the web UI's analytics, settings,
// commission and payout pages
// (internal/web.GroupAdmin).
package main

import (
	"github.com/partnerloop/partnerloop/internal/app/webfn"
	"github.com/partnerloop/partnerloop/internal/mail/sesmail"
	"github.com/partnerloop/partnerloop/internal/web"
)

func main() { webfn.Start(web.AdminGroup(), sesmail.NewMailer) }
