// Command portal is the Lambda function serving the partner portal
// (/v1/portal/*): a signed-in partner's own links, referrals, commissions
// and statements.
package main

import (
	"github.com/partnerloop/partnerloop/internal/app"
	"github.com/partnerloop/partnerloop/internal/httpapi"
)

func main() { app.StartHTTPFunction(httpapi.GroupPortal) }
