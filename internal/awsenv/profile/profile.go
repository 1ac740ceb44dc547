// Package profile plugs the AWS SDK's default configuration chain
// (environment, shared profile, SSO, IMDS, ...) into awsenv, for the
// processes that run on a developer's machine against real AWS. Lambda
// functions do not import it: their credentials are in the environment, and
// the chain would link STS, SSO and IMDS clients into every binary.
package profile

import (
	"context"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/config"

	"github.com/partnerloop/partnerloop/internal/awsenv"
)

func init() {
	awsenv.DefaultChain = func(ctx context.Context, region string) (aws.Config, error) {
		return config.LoadDefaultConfig(ctx, config.WithRegion(region))
	}
}
