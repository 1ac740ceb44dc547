package awslocal

import (
	"context"
	"fmt"
	"log/slog"
	"strconv"
	"time"

	"github.com/aws/aws-lambda-go/events"
	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/sqs"
	"github.com/aws/aws-sdk-go-v2/service/sqs/types"
)

// SQSHandler is a queue-consuming Lambda handler with
// ReportBatchItemFailures.
type SQSHandler func(context.Context, events.SQSEvent) (events.SQSEventResponse, error)

// SQSPoller receives batches from a queue and invokes Handler as Lambda's
// SQS event source mapping does: successful messages are deleted, failed
// ones (reported by MessageId, or all of them when the handler errs) stay
// and come back after a visibility timeout that grows with each receive —
// until the queue's redrive policy moves them to the dead-letter queue.
type SQSPoller struct {
	Client    *sqs.Client
	QueueURL  string
	QueueARN  string
	Region    string
	Handler   SQSHandler
	BatchSize int32         // default 10 (SQS's maximum)
	Backoff   time.Duration // visibility after the first failure, doubling; default 1s, at most 60s
	Log       *slog.Logger
}

// Run polls until ctx ends.
func (p *SQSPoller) Run(ctx context.Context) error {
	for ctx.Err() == nil {
		if _, err := p.Poll(ctx, 1); err != nil && ctx.Err() == nil {
			p.log().Error("queue poll failed", "err", err, "queue", p.QueueURL)
			select {
			case <-ctx.Done():
			case <-time.After(time.Second):
			}
		}
	}
	return nil
}

// Poll receives one batch (waiting up to wait seconds for messages),
// delivers it and settles each message. It returns how many messages the
// handler accepted.
func (p *SQSPoller) Poll(ctx context.Context, wait int32) (int, error) {
	size := p.BatchSize
	if size <= 0 || size > 10 {
		size = 10
	}
	out, err := p.Client.ReceiveMessage(ctx, &sqs.ReceiveMessageInput{
		QueueUrl: aws.String(p.QueueURL), MaxNumberOfMessages: size, WaitTimeSeconds: wait,
		MessageSystemAttributeNames: []types.MessageSystemAttributeName{types.MessageSystemAttributeNameAll},
		MessageAttributeNames:       []string{"All"},
	})
	if err != nil {
		return 0, fmt.Errorf("receive: %w", err)
	}
	if len(out.Messages) == 0 {
		return 0, nil
	}
	ev := events.SQSEvent{Records: make([]events.SQSMessage, len(out.Messages))}
	for i, m := range out.Messages {
		ev.Records[i] = events.SQSMessage{
			MessageId: aws.ToString(m.MessageId), ReceiptHandle: aws.ToString(m.ReceiptHandle), Body: aws.ToString(m.Body),
			Md5OfBody: aws.ToString(m.MD5OfBody), Attributes: m.Attributes, EventSource: "aws:sqs",
			EventSourceARN: p.QueueARN, AWSRegion: p.Region,
		}
	}
	resp, herr := p.Handler(ctx, ev)
	failed := map[string]bool{}
	if herr != nil {
		p.log().Warn("queue handler failed; the whole batch returns to the queue", "err", herr)
		for _, r := range ev.Records {
			failed[r.MessageId] = true
		}
	}
	for _, f := range resp.BatchItemFailures {
		failed[f.ItemIdentifier] = true
	}
	var del []types.DeleteMessageBatchRequestEntry
	for i, r := range ev.Records {
		if failed[r.MessageId] {
			p.delay(ctx, out.Messages[i])
			continue
		}
		del = append(del, types.DeleteMessageBatchRequestEntry{Id: aws.String(strconv.Itoa(i)), ReceiptHandle: aws.String(r.ReceiptHandle)})
	}
	if len(del) > 0 {
		res, err := p.Client.DeleteMessageBatch(ctx, &sqs.DeleteMessageBatchInput{QueueUrl: aws.String(p.QueueURL), Entries: del})
		if err != nil {
			return 0, fmt.Errorf("delete: %w", err)
		}
		if len(res.Failed) > 0 {
			// The message comes back and is handled again: consumers are
			// idempotent, so this costs time, not correctness.
			p.log().Warn("some handled messages could not be deleted", "failed", len(res.Failed))
		}
	}
	return len(del), nil
}

// delay hides a failed message for a backoff that doubles with its receive
// count, so a failing message does not spin.
func (p *SQSPoller) delay(ctx context.Context, m types.Message) {
	n, _ := strconv.Atoi(m.Attributes[string(types.MessageSystemAttributeNameApproximateReceiveCount)])
	base := p.Backoff
	if base <= 0 {
		base = time.Second
	}
	d := base << min(max(n-1, 0), 6)
	if d > time.Minute {
		d = time.Minute
	}
	secs := int32(d / time.Second)
	if _, err := p.Client.ChangeMessageVisibility(ctx, &sqs.ChangeMessageVisibilityInput{
		QueueUrl: aws.String(p.QueueURL), ReceiptHandle: m.ReceiptHandle, VisibilityTimeout: secs,
	}); err != nil {
		p.log().Warn("could not delay a failed message", "err", err)
	}
}

func (p *SQSPoller) log() *slog.Logger {
	if p.Log == nil {
		return slog.Default()
	}
	return p.Log
}
