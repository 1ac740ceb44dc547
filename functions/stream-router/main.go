// Command stream-router is the Lambda function on the table's stream: it
// turns inserted conversions, refunds and won deals into queue messages.
package main

import (
	"github.com/partnerloop/partnerloop/internal/app"
	"github.com/partnerloop/partnerloop/internal/app/sqssend"
)

func main() { app.StartStreamRouter(sqssend.New) }
