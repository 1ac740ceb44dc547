package main

import (
	"context"
	"fmt"
	"os"
	"path/filepath"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/sqs"
	"github.com/aws/aws-sdk-go-v2/service/sqs/types"

	"github.com/partnerloop/partnerloop/internal/emulators"
)

// Queue names of the AWS-local mode (on AWS they come from template.yaml).
const (
	commissionQueue    = "partnerloop-commissions"
	commissionDLQ      = "partnerloop-commissions-dlq"
	maxReceiveCount    = "5"
	defaultLocalTable  = "partnerloop"
	localDummyKeyValue = "local"
)

// startAWSLocal starts the three emulators and points this process's AWS
// configuration at them (the same variables a developer would export), with
// DynamoDB's tables kept under dataDir so a restart keeps the data. It
// returns a function that stops them.
func startAWSLocal(dataDir string) (stop func(), err error) {
	nm, err := emulators.NodeModules()
	if err != nil {
		return nil, err
	}
	var started []*emulators.Process
	stop = func() {
		for i := len(started) - 1; i >= 0; i-- {
			started[i].Stop()
		}
	}
	ddb, err := emulators.StartDynamoDB(nm, emulators.DynamoDBOptions{DataDir: filepath.Join(dataDir, "dynamodb")})
	if err != nil {
		return stop, err
	}
	started = append(started, ddb)
	sqsProc, err := emulators.StartSQS(nm, nil)
	if err != nil {
		return stop, err
	}
	started = append(started, sqsProc)
	ses, err := emulators.StartSES(nm, nil)
	if err != nil {
		return stop, err
	}
	started = append(started, ses)
	for k, v := range map[string]string{
		"STORE":                     "dynamodb",
		"AWS_ENDPOINT_URL_DYNAMODB": ddb.Endpoint,
		"AWS_ENDPOINT_URL_SQS":      sqsProc.Endpoint,
		"AWS_ENDPOINT_URL_SES":      ses.Endpoint,
		"AWS_ACCESS_KEY_ID":         localDummyKeyValue,
		"AWS_SECRET_ACCESS_KEY":     localDummyKeyValue,
		"AWS_REGION":                "us-east-1",
	} {
		os.Setenv(k, v)
	}
	if os.Getenv("TABLE_NAME") == "" {
		os.Setenv("TABLE_NAME", defaultLocalTable)
	}
	fmt.Fprintf(os.Stderr, "AWS-local: DynamoDB Local %s, SQS %s, SES %s (sent mail: %s/store)\n",
		ddb.Endpoint, sqsProc.Endpoint, ses.Endpoint, ses.Endpoint)
	return stop, nil
}

// ensureQueues creates the commission queue and its dead-letter queue if
// they are missing. CreateQueue with the same attributes is idempotent.
func ensureQueues(ctx context.Context, cfg aws.Config) error {
	client := sqs.NewFromConfig(cfg)
	dlq, err := client.CreateQueue(ctx, &sqs.CreateQueueInput{QueueName: aws.String(commissionDLQ)})
	if err != nil {
		return fmt.Errorf("create %s: %w", commissionDLQ, err)
	}
	attrs, err := client.GetQueueAttributes(ctx, &sqs.GetQueueAttributesInput{QueueUrl: dlq.QueueUrl, AttributeNames: []types.QueueAttributeName{types.QueueAttributeNameQueueArn}})
	if err != nil {
		return fmt.Errorf("read %s: %w", commissionDLQ, err)
	}
	redrive := fmt.Sprintf(`{"deadLetterTargetArn":%q,"maxReceiveCount":%s}`, attrs.Attributes["QueueArn"], maxReceiveCount)
	if _, err := client.CreateQueue(ctx, &sqs.CreateQueueInput{
		QueueName:  aws.String(commissionQueue),
		Attributes: map[string]string{"RedrivePolicy": redrive, "VisibilityTimeout": "60"},
	}); err != nil {
		return fmt.Errorf("create %s: %w", commissionQueue, err)
	}
	return nil
}
