// Command period-close is the Lambda function EventBridge Scheduler runs
// every hour: it closes ended periods of tiered retroactive rules, recording
// each running total's adjustment exactly once.
package main

import "github.com/partnerloop/partnerloop/internal/app"

func main() { app.StartPeriodClose() }
