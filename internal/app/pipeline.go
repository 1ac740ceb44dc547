package app

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"maps"
	"os"
	"slices"
	"time"

	"github.com/aws/aws-lambda-go/events"
	"github.com/aws/aws-lambda-go/lambda"
	"github.com/aws/aws-sdk-go-v2/aws"

	"github.com/partnerloop/partnerloop/internal/awsenv"
	"github.com/partnerloop/partnerloop/internal/domain"
	"github.com/partnerloop/partnerloop/internal/metrics"
	"github.com/partnerloop/partnerloop/internal/partners"
	"github.com/partnerloop/partnerloop/internal/pipeline"
	"github.com/partnerloop/partnerloop/internal/store/dynamo"
	"github.com/partnerloop/partnerloop/internal/streamimage"
)

// StreamHandler and QueueHandler are the Lambda handler shapes of the
// stream-router and commission-calculator functions (partial batch
// failures reported by SequenceNumber and by MessageId).
type (
	StreamHandler func(context.Context, events.DynamoDBEvent) (events.DynamoDBEventResponse, error)
	QueueHandler  func(context.Context, events.SQSEvent) (events.SQSEventResponse, error)
)

// Sender delivers routed messages; it reports the IDs it could not send.
type Sender interface {
	Send(ctx context.Context, msgs []pipeline.Message) (failed map[string]bool, err error)
}

// NewStreamRouter returns the stream-router handler: each stream record is
// turned into a store.Change (dynamo.ChangeFromStream, the same shape as the
// SQLite outbox), routed, and its messages sent. When a record's messages
// cannot all be sent, the earliest such record is reported, so Lambda
// retries from it; the records after it are re-sent, which is harmless
// because message IDs are derived from the change and every consumer is
// idempotent. A record that cannot be read is logged and skipped: retrying
// it cannot help, and it must not block its shard. The messages sent are
// counted by type (metrics.PipelineEvents) on m.
func NewStreamRouter(send Sender, log *slog.Logger, m *metrics.Emitter) StreamHandler {
	return func(ctx context.Context, ev events.DynamoDBEvent) (events.DynamoDBEventResponse, error) {
		type routed struct {
			seq  string
			msgs []pipeline.Message
		}
		var all []routed
		var msgs []pipeline.Message
		for _, r := range ev.Records {
			oldImg, err1 := streamimage.Item(r.Change.OldImage)
			newImg, err2 := streamimage.Item(r.Change.NewImage)
			if err := errors.Join(err1, err2); err != nil {
				log.ErrorContext(ctx, "stream record unreadable; skipped", "err", err, "sequenceNumber", r.Change.SequenceNumber)
				continue
			}
			at := r.Change.ApproximateCreationDateTime.Time
			if at.IsZero() {
				at = time.Now().UTC()
			}
			c, ok, err := dynamo.ChangeFromStream(r.EventName, oldImg, newImg, at)
			if err != nil {
				log.ErrorContext(ctx, "stream record not decodable; skipped", "err", err, "sequenceNumber", r.Change.SequenceNumber)
				continue
			}
			if !ok {
				continue
			}
			ms, err := pipeline.RouteAll(c)
			if err != nil {
				log.ErrorContext(ctx, "change not routable; skipped", "err", err, "entity", c.Entity, "id", c.ID)
				continue
			}
			for i := range ms {
				ms[i].Seq = pipeline.PadSeq(r.Change.SequenceNumber)
			}
			all = append(all, routed{r.Change.SequenceNumber, ms})
			msgs = append(msgs, ms...)
		}
		if len(msgs) == 0 {
			return events.DynamoDBEventResponse{}, nil
		}
		failed, err := send.Send(ctx, msgs)
		if err != nil {
			return events.DynamoDBEventResponse{}, err
		}
		countSent(m, msgs, failed)
		for _, r := range all {
			for _, m := range r.msgs {
				if failed[m.ID] {
					log.WarnContext(ctx, "messages not sent; the stream resumes from this record", "sequenceNumber", r.seq)
					return events.DynamoDBEventResponse{BatchItemFailures: []events.DynamoDBBatchItemFailure{{ItemIdentifier: r.seq}}}, nil
				}
			}
		}
		return events.DynamoDBEventResponse{}, nil
	}
}

// countSent counts the messages sent (not in failed) by type.
func countSent(m *metrics.Emitter, msgs []pipeline.Message, failed map[string]bool) {
	byType := map[string]int{}
	for _, msg := range msgs {
		if !failed[msg.ID] {
			byType[msg.Type]++
		}
	}
	for _, typ := range slices.Sorted(maps.Keys(byType)) {
		_ = m.Count(metrics.PipelineEvents, byType[typ], "Type", typ) // metrics never fail the batch
	}
}

// NewCommissionCalculator returns the commission-calculator handler: each
// queued message is handled on its own and failures are reported by
// MessageId, so SQS redelivers only those (and dead-letters them after the
// queue's maxReceiveCount). The calculator is idempotent, so a redelivered
// message never doubles a commission. Each batch's outcomes are counted
// (metrics.CommissionMessagesHandled, CommissionMessagesFailed) on m.
func NewCommissionCalculator(calc MessageHandler, log *slog.Logger, m *metrics.Emitter) QueueHandler {
	return func(ctx context.Context, ev events.SQSEvent) (events.SQSEventResponse, error) {
		var resp events.SQSEventResponse
		for _, r := range ev.Records {
			err := handleQueued(ctx, calc, r.Body)
			if err == nil {
				continue
			}
			log.ErrorContext(ctx, "message failed", "err", err, "messageId", r.MessageId, "permanent", pipeline.IsPermanent(err))
			resp.BatchItemFailures = append(resp.BatchItemFailures, events.SQSBatchItemFailure{ItemIdentifier: r.MessageId})
		}
		// Metrics never fail the batch.
		_ = m.Count(metrics.CommissionMessagesHandled, len(ev.Records)-len(resp.BatchItemFailures))
		_ = m.Count(metrics.CommissionMessagesFailed, len(resp.BatchItemFailures))
		return resp, nil
	}
}

// MessageHandler handles one queued message (pipeline.Calculator does).
type MessageHandler = pipeline.Handler

func handleQueued(ctx context.Context, calc MessageHandler, body string) (err error) {
	defer func() {
		if p := recover(); p != nil {
			err = fmt.Errorf("panic: %v", p)
		}
	}()
	m, err := pipeline.DecodeMessage([]byte(body))
	if err != nil {
		return err
	}
	return calc.Handle(ctx, m)
}

// NewSender returns the stream-router's Sender on cfg to the commission
// and events queues' URLs: internal/app/sqssend.New, passed in by the
// stream-router's main so that the other functions neither link nor
// initialise the SQS client.
type NewSender func(cfg aws.Config, commissions, events string) Sender

// StartStreamRouter is the whole main of the stream-router function.
func StartStreamRouter(newSender NewSender) {
	_, log := mustConfig("stream-router")
	awsCfg, _, err := awsenv.Load(context.Background(), os.Getenv, os.Environ())
	if err != nil {
		fail(log, "AWS configuration", err)
	}
	commissions, events := os.Getenv("COMMISSION_QUEUE_URL"), os.Getenv("EVENTS_QUEUE_URL")
	if commissions == "" || events == "" {
		fail(log, "configuration", errors.New("COMMISSION_QUEUE_URL and EVENTS_QUEUE_URL must be set"))
	}
	lambda.Start(NewStreamRouter(newSender(awsCfg, commissions, events), log, lambdaMetrics()))
}

// StartCommissionCalculator is the whole main of the commission-calculator
// function.
func StartCommissionCalculator() {
	cfg, log := mustConfig("commission-calculator")
	ls := mustLedgerStore(cfg, log)
	calc := pipeline.NewCalculator(ls, domain.SystemClock, partners.NewRuleSource(ls))
	lambda.Start(NewCommissionCalculator(calc, log, lambdaMetrics()))
}

// mustLedgerStore opens the configured store, which must keep the
// commission ledger, or ends the process with a clear message.
func mustLedgerStore(cfg Config, log *slog.Logger) pipeline.LedgerStore {
	st, err := OpenStore(context.Background(), cfg, os.Getenv, os.Environ())
	if err != nil {
		fail(log, "store", err)
	}
	ls, ok := st.(pipeline.LedgerStore)
	if !ok {
		fail(log, "store", fmt.Errorf("STORE=%s has no commission ledger", cfg.Store))
	}
	return ls
}

// lambdaMetrics writes EMF lines to standard output, which Lambda sends to
// the function's log group, where CloudWatch extracts the metrics.
func lambdaMetrics() *metrics.Emitter { return metrics.New(os.Stdout, time.Now) }

func mustConfig(function string) (Config, *slog.Logger) {
	cfg, err := configFromEnv(os.Getenv)
	if err != nil {
		fmt.Fprintln(os.Stderr, "configuration:", err)
		os.Exit(1)
	}
	return cfg, NewLogger(cfg, function)
}

func fail(log *slog.Logger, what string, err error) {
	log.Error("cannot start: "+what, "err", err)
	os.Exit(1)
}
