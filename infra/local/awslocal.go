package main

import (
	"context"
	"fmt"
	"log/slog"
	"os"
	"path/filepath"
	"sync"
	"time"

	"github.com/aws/aws-lambda-go/events"
	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb"
	"github.com/aws/aws-sdk-go-v2/service/dynamodbstreams"
	"github.com/aws/aws-sdk-go-v2/service/sqs"
	"github.com/aws/aws-sdk-go-v2/service/sqs/types"

	"github.com/partnerloop/partnerloop/internal/app"
	"github.com/partnerloop/partnerloop/internal/app/sqssend"
	"github.com/partnerloop/partnerloop/internal/awslocal"
	"github.com/partnerloop/partnerloop/internal/emulators"
	"github.com/partnerloop/partnerloop/internal/webhooks"
)

// Queue names of the AWS-local mode (on AWS they come from template.yaml).
const (
	commissionQueue    = "partnerloop-commissions"
	commissionDLQ      = "partnerloop-commissions-dlq"
	eventsQueue        = "partnerloop-events"
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
		// Streams is a service of its own to the SDK.
		"AWS_ENDPOINT_URL_DYNAMODB_STREAMS": ddb.Endpoint,
		"AWS_ENDPOINT_URL_SQS":              sqsProc.Endpoint,
		"AWS_ENDPOINT_URL_SES":              ses.Endpoint,
		// The mailer speaks the SES v2 API, a service of its own.
		"AWS_ENDPOINT_URL_SESV2": ses.Endpoint,
		"AWS_ACCESS_KEY_ID":      localDummyKeyValue,
		"AWS_SECRET_ACCESS_KEY":  localDummyKeyValue,
		"AWS_REGION":             "us-east-1",
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

// localQueues are the URLs and ARNs of the AWS-local queues.
type localQueues struct {
	CommissionsURL, CommissionsARN string
	EventsURL, EventsARN           string
}

// ensureQueues creates the commission queue with its dead-letter queue, and
// the events queue, if they are missing (CreateQueue with the same
// attributes is idempotent).
func ensureQueues(ctx context.Context, client *sqs.Client) (localQueues, error) {
	var q localQueues
	create := func(name string, attrs map[string]string) (url, arn string, err error) {
		out, err := client.CreateQueue(ctx, &sqs.CreateQueueInput{QueueName: aws.String(name), Attributes: attrs})
		if err != nil {
			return "", "", fmt.Errorf("create %s: %w", name, err)
		}
		a, err := client.GetQueueAttributes(ctx, &sqs.GetQueueAttributesInput{QueueUrl: out.QueueUrl,
			AttributeNames: []types.QueueAttributeName{types.QueueAttributeNameQueueArn}})
		if err != nil {
			return "", "", fmt.Errorf("read %s: %w", name, err)
		}
		return aws.ToString(out.QueueUrl), a.Attributes["QueueArn"], nil
	}
	_, dlqARN, err := create(commissionDLQ, nil)
	if err != nil {
		return q, err
	}
	redrive := fmt.Sprintf(`{"deadLetterTargetArn":%q,"maxReceiveCount":%s}`, dlqARN, maxReceiveCount)
	if q.CommissionsURL, q.CommissionsARN, err = create(commissionQueue, map[string]string{"RedrivePolicy": redrive, "VisibilityTimeout": "60"}); err != nil {
		return q, err
	}
	q.EventsURL, q.EventsARN, err = create(eventsQueue, nil)
	return q, err
}

// runAWSPipeline runs the event source mappings of template.yaml against
// the emulators: the table's stream drives the real stream-router handler,
// the commission queue the real commission-calculator handler, the events
// queue the real webhook-dispatcher handler (drained when webhooks are off:
// d nil), with the dispatcher's retry schedule every second. It returns
// when ctx ends.
func runAWSPipeline(ctx context.Context, awsCfg aws.Config, table string, q localQueues, calc app.MessageHandler, d *webhooks.Dispatcher, log *slog.Logger) error {
	db := dynamodb.NewFromConfig(awsCfg)
	desc, err := db.DescribeTable(ctx, &dynamodb.DescribeTableInput{TableName: aws.String(table)})
	if err != nil {
		return fmt.Errorf("describe %s: %w", table, err)
	}
	if desc.Table.LatestStreamArn == nil {
		return fmt.Errorf("table %s has no stream", table)
	}
	sqsClient := sqs.NewFromConfig(awsCfg)
	sender := sqssend.Sender{Client: sqsClient, Commissions: q.CommissionsURL, Events: q.EventsURL}
	pollers := []func(context.Context) error{
		(&awslocal.StreamPoller{Client: dynamodbstreams.NewFromConfig(awsCfg), StreamARN: *desc.Table.LatestStreamArn,
			Region: awsCfg.Region, Handler: awslocal.StreamHandler(app.NewStreamRouter(sender, log.With("function", "stream-router"), nil)),
			Log: log}).Run,
		(&awslocal.SQSPoller{Client: sqsClient, QueueURL: q.CommissionsURL, QueueARN: q.CommissionsARN, Region: awsCfg.Region,
			Handler: awslocal.SQSHandler(app.NewCommissionCalculator(calc, log.With("function", "commission-calculator"), nil)), Log: log}).Run,
	}
	onEvents := func(context.Context, events.SQSEvent) (events.SQSEventResponse, error) {
		return events.SQSEventResponse{}, nil
	}
	if d != nil {
		onEvents = app.NewWebhookDispatcher(d, log.With("function", "webhook-dispatcher"))
		pollers = append(pollers, func(ctx context.Context) error { d.RunRetries(ctx, time.Second); return nil })
	}
	pollers = append(pollers, (&awslocal.SQSPoller{Client: sqsClient, QueueURL: q.EventsURL, QueueARN: q.EventsARN, Region: awsCfg.Region, Log: log,
		Handler: awslocal.SQSHandler(onEvents)}).Run)
	var wg sync.WaitGroup
	for _, run := range pollers {
		wg.Add(1)
		go func() { defer wg.Done(); _ = run(ctx) }()
	}
	wg.Wait()
	return nil
}
