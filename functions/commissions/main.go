// Command commissions is the Lambda function serving the commissions routes.
package main

import (
	"github.com/partnerloop/partnerloop/internal/app"
	"github.com/partnerloop/partnerloop/internal/httpapi"
)

func main() { app.StartHTTPFunction(httpapi.GroupCommissions, httpapi.CommissionsRoutes, nil) }
