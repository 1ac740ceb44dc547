// Command programs is the Lambda function serving the programs routes.
package main

import (
	"github.com/partnerloop/partnerloop/internal/app"
	"github.com/partnerloop/partnerloop/internal/httpapi"
)

func main() { app.StartHTTPFunction(httpapi.GroupPrograms, httpapi.ProgramsRoutes, nil) }
