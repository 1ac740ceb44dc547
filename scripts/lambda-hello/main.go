// Command lambda-hello is the yardstick of scripts/lambda-footprint.sh: the
// smallest aws-lambda-go function, built the same way as ours.
package main

import (
	"context"

	"github.com/aws/aws-lambda-go/lambda"
)

func main() {
	lambda.Start(func(context.Context) (string, error) { return "hello", nil })
}
