// Package awslocal drives Lambda handlers the way AWS's event source
// mappings do, against local emulators: a DynamoDB Streams poller and an
// SQS poller invoke the real handlers with real events.DynamoDBEvent and
// events.SQSEvent payloads and honour their partial-batch-failure answers.
// It is our substitute for `sam local`, which needs Docker.
package awslocal

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"sync"
	"time"

	"github.com/aws/aws-lambda-go/events"
	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/dynamodbstreams"
	"github.com/aws/aws-sdk-go-v2/service/dynamodbstreams/types"

	"github.com/partnerloop/partnerloop/internal/streamimage"
)

// StreamHandler is a stream-consuming Lambda handler with
// ReportBatchItemFailures.
type StreamHandler func(context.Context, events.DynamoDBEvent) (events.DynamoDBEventResponse, error)

// StreamPoller reads a DynamoDB stream shard by shard, in order, and invokes
// Handler with batches. Like Lambda, a batch item failure makes it retry
// from the failed record (the records before it count as done); a handler
// error retries the whole batch. After MaxAttempts for the same record it is
// logged as undeliverable and skipped, as an on-failure destination would.
type StreamPoller struct {
	Client      *dynamodbstreams.Client
	StreamARN   string
	Region      string
	Handler     StreamHandler
	BatchSize   int32         // default 100
	MaxAttempts int           // default 10
	Backoff     time.Duration // first retry delay, doubling; default 100ms
	Log         *slog.Logger

	mu     sync.Mutex
	shards map[string]*shardState
}

type shardState struct {
	lastSeq  string // last sequence number handled
	iterator *string
	done     bool // closed shard read to its end
	failSeq  string
	attempts int
	retryAt  time.Time
}

// Run polls until ctx ends.
func (p *StreamPoller) Run(ctx context.Context) error {
	for {
		n, err := p.Poll(ctx)
		if err != nil && ctx.Err() == nil {
			p.log().Error("stream poll failed", "err", err)
		}
		wait := 50 * time.Millisecond
		if n == 0 {
			wait = 250 * time.Millisecond
		}
		select {
		case <-ctx.Done():
			return nil
		case <-time.After(wait):
		}
	}
}

// Poll reads one batch from every open shard and delivers it. It returns
// how many records were delivered successfully.
func (p *StreamPoller) Poll(ctx context.Context) (int, error) {
	p.mu.Lock()
	defer p.mu.Unlock()
	if p.shards == nil {
		p.shards = map[string]*shardState{}
	}
	desc, err := p.Client.DescribeStream(ctx, &dynamodbstreams.DescribeStreamInput{StreamArn: aws.String(p.StreamARN)})
	if err != nil {
		return 0, fmt.Errorf("describe stream: %w", err)
	}
	total := 0
	// Parents before children keeps a key's changes in order across shard
	// splits; DescribeStream lists shards in creation order.
	for _, sh := range desc.StreamDescription.Shards {
		id := aws.ToString(sh.ShardId)
		st := p.shards[id]
		if st == nil {
			st = &shardState{}
			p.shards[id] = st
		}
		if st.done || time.Now().Before(st.retryAt) {
			continue
		}
		if parent := aws.ToString(sh.ParentShardId); parent != "" {
			if ps := p.shards[parent]; ps != nil && !ps.done {
				continue
			}
		}
		n, err := p.pollShard(ctx, id, st)
		total += n
		if err != nil {
			return total, err
		}
	}
	return total, nil
}

func (p *StreamPoller) pollShard(ctx context.Context, shardID string, st *shardState) (int, error) {
	if st.iterator == nil {
		in := &dynamodbstreams.GetShardIteratorInput{StreamArn: aws.String(p.StreamARN), ShardId: aws.String(shardID),
			ShardIteratorType: types.ShardIteratorTypeTrimHorizon}
		switch {
		case st.failSeq != "":
			in.ShardIteratorType, in.SequenceNumber = types.ShardIteratorTypeAtSequenceNumber, aws.String(st.failSeq)
		case st.lastSeq != "":
			in.ShardIteratorType, in.SequenceNumber = types.ShardIteratorTypeAfterSequenceNumber, aws.String(st.lastSeq)
		}
		it, err := p.Client.GetShardIterator(ctx, in)
		if err != nil {
			return 0, fmt.Errorf("shard iterator %s: %w", shardID, err)
		}
		st.iterator = it.ShardIterator
	}
	limit := p.BatchSize
	if limit <= 0 {
		limit = 100
	}
	out, err := p.Client.GetRecords(ctx, &dynamodbstreams.GetRecordsInput{ShardIterator: st.iterator, Limit: aws.Int32(limit)})
	var expired *types.ExpiredIteratorException
	if errors.As(err, &expired) {
		st.iterator = nil
		return 0, nil
	}
	if err != nil {
		return 0, fmt.Errorf("get records %s: %w", shardID, err)
	}
	st.iterator = out.NextShardIterator
	if len(out.Records) == 0 {
		st.done = out.NextShardIterator == nil
		return 0, nil
	}
	ev, err := p.event(out.Records)
	if err != nil {
		return 0, err
	}
	resp, herr := p.Handler(ctx, ev)
	failed := ""
	switch {
	case herr != nil:
		failed = ev.Records[0].Change.SequenceNumber
		p.log().Warn("stream handler failed; retrying the batch", "err", herr, "shard", shardID)
	case len(resp.BatchItemFailures) > 0:
		failed = resp.BatchItemFailures[0].ItemIdentifier
		for _, f := range resp.BatchItemFailures[1:] {
			if seqLess(f.ItemIdentifier, failed) {
				failed = f.ItemIdentifier
			}
		}
	}
	done := 0
	for _, r := range ev.Records {
		if failed != "" && !seqLess(r.Change.SequenceNumber, failed) {
			break
		}
		st.lastSeq = r.Change.SequenceNumber
		done++
	}
	if failed == "" {
		st.failSeq, st.attempts = "", 0
		return done, nil
	}
	if failed == st.failSeq {
		st.attempts++
	} else {
		st.failSeq, st.attempts = failed, 1
	}
	st.iterator = nil // re-read from the failed record
	max := p.MaxAttempts
	if max <= 0 {
		max = 10
	}
	if st.attempts >= max {
		p.log().Error("stream record undeliverable after retries; skipped", "shard", shardID, "sequenceNumber", failed, "attempts", st.attempts)
		st.lastSeq, st.failSeq, st.attempts = failed, "", 0
		return done, nil
	}
	backoff := p.Backoff
	if backoff <= 0 {
		backoff = 100 * time.Millisecond
	}
	st.retryAt = time.Now().Add(backoff << min(st.attempts-1, 8))
	return done, nil
}

// event builds the payload Lambda would send for these records.
func (p *StreamPoller) event(recs []types.Record) (events.DynamoDBEvent, error) {
	ev := events.DynamoDBEvent{Records: make([]events.DynamoDBEventRecord, 0, len(recs))}
	for _, r := range recs {
		d := r.Dynamodb
		keys, err := streamimage.FromStreams(d.Keys)
		if err != nil {
			return ev, err
		}
		newImg, err := streamimage.FromStreams(d.NewImage)
		if err != nil {
			return ev, err
		}
		oldImg, err := streamimage.FromStreams(d.OldImage)
		if err != nil {
			return ev, err
		}
		rec := events.DynamoDBEventRecord{
			AWSRegion: p.Region, EventID: aws.ToString(r.EventID), EventName: string(r.EventName),
			EventSource: "aws:dynamodb", EventVersion: aws.ToString(r.EventVersion), EventSourceArn: p.StreamARN,
			Change: events.DynamoDBStreamRecord{
				Keys: keys, NewImage: newImg, OldImage: oldImg, SequenceNumber: aws.ToString(d.SequenceNumber),
				SizeBytes: aws.ToInt64(d.SizeBytes), StreamViewType: string(d.StreamViewType),
			},
		}
		if d.ApproximateCreationDateTime != nil {
			rec.Change.ApproximateCreationDateTime = events.SecondsEpochTime{Time: *d.ApproximateCreationDateTime}
		}
		ev.Records = append(ev.Records, rec)
	}
	return ev, nil
}

// seqLess compares stream sequence numbers: decimal strings of up to 40
// digits, ordered by length first.
func seqLess(a, b string) bool {
	if len(a) != len(b) {
		return len(a) < len(b)
	}
	return a < b
}

func (p *StreamPoller) log() *slog.Logger {
	if p.Log == nil {
		return slog.Default()
	}
	return p.Log
}
