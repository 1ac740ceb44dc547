// Command analytics-rollup is the Lambda function EventBridge Scheduler runs
// every minute: it folds the table's new changes into the analytics
// rollups (exactly once), rebuilds an organization's rollups when its time
// zone changes, and heals recent days from the records.
package main

import "github.com/partnerloop/partnerloop/internal/app"

func main() { app.StartAnalyticsRollup() }
