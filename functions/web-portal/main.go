// Command web-portal is the Lambda function serving the partner portal's
// pages and PDF statements (internal/web.GroupPortal). It sends no mail.
package main

import (
	"github.com/partnerloop/partnerloop/internal/app/webfn"
	_ "github.com/partnerloop/partnerloop/internal/portal/statementpdf" // registers the PDF statement renderer
	"github.com/partnerloop/partnerloop/internal/web"
)

func main() { webfn.Start(web.PortalGroup(), nil) }
