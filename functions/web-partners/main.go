// Command web-partners is the Lambda function serving the web UI's partner
// (and partner analytics), partner tier and deal pages
// (internal/web.GroupPartners).
package main

import (
	"github.com/partnerloop/partnerloop/internal/app/webfn"
	"github.com/partnerloop/partnerloop/internal/mail/sesmail"
	"github.com/partnerloop/partnerloop/internal/web"
)

func main() { webfn.Start(web.PartnersGroup(), sesmail.NewMailer) }
