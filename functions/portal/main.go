// Command portal is the Lambda function serving the partner portal
// (/v1/portal/*): a signed-in partner's own links, referrals, commissions
// and statements.
package main

import (
	"github.com/partnerloop/partnerloop/internal/app"
	"github.com/partnerloop/partnerloop/internal/httpapi"
	_ "github.com/partnerloop/partnerloop/internal/portal/statementpdf" // registers the PDF statement renderer
)

func main() { app.StartHTTPFunction(httpapi.GroupPortal, httpapi.PortalRoutes, nil) }
