package awslocal

import (
	"context"
	"fmt"
	"sort"
	"sync"
	"testing"
	"time"

	"github.com/aws/aws-lambda-go/events"
	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/credentials"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb"
	"github.com/aws/aws-sdk-go-v2/service/dynamodbstreams"
	"github.com/aws/aws-sdk-go-v2/service/sqs"
	sqstypes "github.com/aws/aws-sdk-go-v2/service/sqs/types"

	"github.com/partnerloop/partnerloop/internal/domain"
	"github.com/partnerloop/partnerloop/internal/dynamolocal"
	"github.com/partnerloop/partnerloop/internal/emulators"
	"github.com/partnerloop/partnerloop/internal/store/dynamo"
	"github.com/partnerloop/partnerloop/internal/streamimage"
)

var creds = credentials.NewStaticCredentialsProvider("local", "local", "")

// TestStreamPollerDeliversInOrderAndRetriesFailures writes records through
// the DynamoDB adapter and checks the handler sees every change, in order,
// with a failed record delivered again (and the ones before it not).
func TestStreamPollerDeliversInOrderAndRetriesFailures(t *testing.T) {
	ctx := context.Background()
	endpoint := dynamolocal.Start(t)
	db := dynamolocal.Client(endpoint)
	if err := dynamo.CreateTable(ctx, db, "streams"); err != nil {
		t.Fatal(err)
	}
	desc, err := db.DescribeTable(ctx, &dynamodb.DescribeTableInput{TableName: aws.String("streams")})
	if err != nil || desc.Table.LatestStreamArn == nil {
		t.Fatalf("no stream on the table: %v", err)
	}
	st := dynamo.New(db, "streams")
	now := time.Date(2026, 3, 1, 0, 0, 0, 0, time.UTC)
	for i := 1; i <= 5; i++ {
		p := domain.Program{ID: fmt.Sprintf("prg_%d", i), OrgID: "org_1", Name: fmt.Sprint("P", i), Status: domain.ProgramDraft,
			Currency: "USD", StartsAt: now, CreatedAt: now, UpdatedAt: now}
		if err := st.CreateProgram(ctx, p); err != nil {
			t.Fatal(err)
		}
	}

	var mu sync.Mutex
	var seen []string
	failedOnce := false
	handler := func(_ context.Context, ev events.DynamoDBEvent) (events.DynamoDBEventResponse, error) {
		mu.Lock()
		defer mu.Unlock()
		for _, r := range ev.Records {
			if r.EventSource != "aws:dynamodb" || r.Change.SequenceNumber == "" {
				t.Errorf("not a Lambda stream record: %+v", r)
			}
			newImg, err := streamimage.Item(r.Change.NewImage)
			if err != nil {
				t.Error(err)
			}
			c, ok, err := dynamo.ChangeFromStream(r.EventName, nil, newImg, time.Now())
			if err != nil || !ok {
				t.Errorf("record is not a change: ok=%v err=%v", ok, err)
				continue
			}
			if c.ID == "prg_3" && !failedOnce {
				failedOnce = true
				return events.DynamoDBEventResponse{BatchItemFailures: []events.DynamoDBBatchItemFailure{{ItemIdentifier: r.Change.SequenceNumber}}}, nil
			}
			seen = append(seen, c.Entity+" "+c.Op+" "+c.ID)
		}
		return events.DynamoDBEventResponse{}, nil
	}
	poller := &StreamPoller{
		Client:    dynamodbstreams.New(dynamodbstreams.Options{Region: "us-east-1", BaseEndpoint: aws.String(endpoint), Credentials: creds}),
		StreamARN: *desc.Table.LatestStreamArn, Region: "us-east-1", Handler: handler, Backoff: time.Millisecond,
	}
	for i := 0; i < 100; i++ {
		if _, err := poller.Poll(ctx); err != nil {
			t.Fatal(err)
		}
		mu.Lock()
		n := len(seen)
		mu.Unlock()
		if n >= 5 {
			break
		}
		time.Sleep(20 * time.Millisecond)
	}
	want := []string{"program INSERT prg_1", "program INSERT prg_2", "program INSERT prg_3", "program INSERT prg_4", "program INSERT prg_5"}
	if fmt.Sprint(seen) != fmt.Sprint(want) || !failedOnce {
		t.Fatalf("delivered %v (failed once: %v), want %v", seen, failedOnce, want)
	}
}

// TestSQSPollerSettlesEachMessage: handled messages are deleted, a flaky one
// comes back and succeeds, a poison one ends in the dead-letter queue after
// the redrive policy's receives.
func TestSQSPollerSettlesEachMessage(t *testing.T) {
	ctx := context.Background()
	nm, err := emulators.NodeModules()
	if err != nil {
		t.Fatal(err)
	}
	proc, err := emulators.StartSQS(nm, nil)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(proc.Stop)
	client := sqs.New(sqs.Options{Region: "us-east-1", BaseEndpoint: aws.String(proc.Endpoint), Credentials: creds})
	dlq, err := client.CreateQueue(ctx, &sqs.CreateQueueInput{QueueName: aws.String("work-dlq")})
	if err != nil {
		t.Fatal(err)
	}
	attrs, err := client.GetQueueAttributes(ctx, &sqs.GetQueueAttributesInput{QueueUrl: dlq.QueueUrl,
		AttributeNames: []sqstypes.QueueAttributeName{sqstypes.QueueAttributeNameQueueArn}})
	if err != nil {
		t.Fatal(err)
	}
	q, err := client.CreateQueue(ctx, &sqs.CreateQueueInput{QueueName: aws.String("work"), Attributes: map[string]string{
		"RedrivePolicy": fmt.Sprintf(`{"deadLetterTargetArn":%q,"maxReceiveCount":3}`, attrs.Attributes["QueueArn"])}})
	if err != nil {
		t.Fatal(err)
	}
	for _, body := range []string{"a", "b", "flaky", "poison", "c"} {
		if _, err := client.SendMessage(ctx, &sqs.SendMessageInput{QueueUrl: q.QueueUrl, MessageBody: aws.String(body)}); err != nil {
			t.Fatal(err)
		}
	}
	done := map[string]int{}
	attempts := map[string]int{}
	handler := func(_ context.Context, ev events.SQSEvent) (events.SQSEventResponse, error) {
		var resp events.SQSEventResponse
		for _, m := range ev.Records {
			attempts[m.Body]++
			if m.Body == "poison" || (m.Body == "flaky" && attempts[m.Body] == 1) {
				resp.BatchItemFailures = append(resp.BatchItemFailures, events.SQSBatchItemFailure{ItemIdentifier: m.MessageId})
				continue
			}
			done[m.Body]++
		}
		return resp, nil
	}
	poller := &SQSPoller{Client: client, QueueURL: *q.QueueUrl, QueueARN: "arn:aws:sqs:us-east-1:123456789012:work",
		Region: "us-east-1", Handler: handler, Backoff: time.Millisecond}
	for i := 0; i < 50 && (len(done) < 4 || attempts["poison"] < 3); i++ {
		if _, err := poller.Poll(ctx, 0); err != nil {
			t.Fatal(err)
		}
		time.Sleep(20 * time.Millisecond)
	}
	var handled []string
	for b, n := range done {
		if n != 1 {
			t.Errorf("%s handled %d times", b, n)
		}
		handled = append(handled, b)
	}
	sort.Strings(handled)
	if fmt.Sprint(handled) != "[a b c flaky]" {
		t.Fatalf("handled %v", handled)
	}
	// The poison message is in the dead-letter queue, and nowhere else.
	var dead []string
	for i := 0; i < 20 && len(dead) == 0; i++ {
		if _, err := poller.Poll(ctx, 0); err != nil {
			t.Fatal(err)
		}
		out, err := client.ReceiveMessage(ctx, &sqs.ReceiveMessageInput{QueueUrl: dlq.QueueUrl, MaxNumberOfMessages: 10})
		if err != nil {
			t.Fatal(err)
		}
		for _, m := range out.Messages {
			dead = append(dead, *m.Body)
		}
		time.Sleep(20 * time.Millisecond)
	}
	if fmt.Sprint(dead) != "[poison]" {
		t.Fatalf("dead letters %v (poison attempts %d)", dead, attempts["poison"])
	}
}
