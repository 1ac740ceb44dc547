// Command commission-calculator is the Lambda function on the commission
// queue: it computes commissions exactly once per conversion and refund.
package main

import "github.com/partnerloop/partnerloop/internal/app"

func main() { app.StartCommissionCalculator() }
