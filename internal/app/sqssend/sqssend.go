// Package sqssend is the stream-router's app.Sender on SQS, in its own
// package so that only the stream-router function links (and initialises)
// the SQS client.
package sqssend

import (
	"context"
	"strconv"
	"strings"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/sqs"
	sqstypes "github.com/aws/aws-sdk-go-v2/service/sqs/types"

	"github.com/partnerloop/partnerloop/internal/app"
	"github.com/partnerloop/partnerloop/internal/pipeline"
)

// New is the Sender on cfg to the commission and events queues' URLs
// (app.NewSender).
func New(cfg aws.Config, commissions, events string) app.Sender {
	return Sender{Client: sqs.NewFromConfig(cfg), Commissions: commissions, Events: events}
}

// Sender sends work to the commission queue and notifications to the
// events queue (read by the webhook dispatcher; FIFO on AWS, grouped by
// record), ten per request.
type Sender struct {
	Client      *sqs.Client
	Commissions string // queue URL
	Events      string // queue URL
}

// Send implements app.Sender.
func (s Sender) Send(ctx context.Context, msgs []pipeline.Message) (map[string]bool, error) {
	byQueue := map[string][]pipeline.Message{}
	for _, m := range msgs {
		url := s.Commissions
		if pipeline.IsNotification(m.Type) {
			url = s.Events
		}
		byQueue[url] = append(byQueue[url], m)
	}
	failed := map[string]bool{}
	for url, ms := range byQueue {
		for start := 0; start < len(ms); start += 10 {
			batch := ms[start:min(start+10, len(ms))]
			entries := make([]sqstypes.SendMessageBatchRequestEntry, len(batch))
			for i, m := range batch {
				body, err := m.Encode()
				if err != nil {
					return nil, err
				}
				entries[i] = sqstypes.SendMessageBatchRequestEntry{Id: aws.String(strconv.Itoa(i)), MessageBody: aws.String(string(body)),
					MessageAttributes: map[string]sqstypes.MessageAttributeValue{"type": {DataType: aws.String("String"), StringValue: aws.String(m.Type)}}}
				if strings.HasSuffix(url, ".fifo") {
					// One group per record: its events are dispatched in
					// order. The message ID, derived from the change,
					// deduplicates a change routed twice.
					entries[i].MessageGroupId = aws.String(m.OrgID + "/" + m.EntityID)
					entries[i].MessageDeduplicationId = aws.String(m.ID)
				}
			}
			out, err := s.Client.SendMessageBatch(ctx, &sqs.SendMessageBatchInput{QueueUrl: aws.String(url), Entries: entries})
			if err != nil {
				for _, m := range batch {
					failed[m.ID] = true
				}
				continue
			}
			for _, f := range out.Failed {
				if i, err := strconv.Atoi(aws.ToString(f.Id)); err == nil && i < len(batch) {
					failed[batch[i].ID] = true
				}
			}
		}
	}
	return failed, nil
}
