// Command analytics is the Lambda function serving the staff's analytics
// reports (/v1/analytics/*), read from the rollups.
package main

import (
	"github.com/partnerloop/partnerloop/internal/app"
	"github.com/partnerloop/partnerloop/internal/httpapi"
)

func main() { app.StartHTTPFunction(httpapi.GroupAnalytics, httpapi.AnalyticsRoutes, nil) }
