// Command tracking is the Lambda function serving the tracking routes.
package main

import (
	"github.com/partnerloop/partnerloop/internal/app"
	"github.com/partnerloop/partnerloop/internal/httpapi"
)

func main() { app.StartHTTPFunction(httpapi.GroupTracking, httpapi.TrackingRoutes, nil) }
