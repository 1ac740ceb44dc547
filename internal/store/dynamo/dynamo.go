// Package dynamo is the AWS adapter of the store port: one DynamoDB table in
// a single-table design (PK/SK, GSI1PK/GSI1SK, GSI2PK/GSI2SK, TTL attribute
// ttl, stream NEW_AND_OLD_IMAGES), exactly as template.yaml defines it and
// CreateTable creates it. docs/dynamodb.md lists every item and every access
// pattern; keys.go is the code of that table.
//
// Records are stored as native DynamoDB attributes named like their JSON
// fields (so the stream's images decode into the domain types), plus the key
// attributes, a "type" attribute naming the entity, and the fields the
// domain keeps out of JSON (password, token, key and visitor hashes). Times
// are RFC 3339 strings with nanoseconds, in UTC.
//
// Uniqueness (codes, emails, externalIds, key and token hashes) is enforced
// by guard items written in the same TransactWriteItems as the record, each
// with the condition attribute_not_exists(PK). The adapter keeps no outbox:
// the table's stream is the change log (the adapter does not implement
// store.Outbox).
package dynamo

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"math/rand/v2"
	"reflect"
	"sync"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb/types"
	"github.com/aws/aws-sdk-go-v2/service/dynamodbstreams"

	"github.com/partnerloop/partnerloop/internal/store"
)

// Store is the DynamoDB implementation of store.Store.
type Store struct {
	c      client
	table  string
	record CapacityRecorder

	// The analytics feed (analytics.go): the table's stream.
	streams   *dynamodbstreams.Client
	streamLag time.Duration
	log       *slog.Logger
	mu        sync.Mutex
	arn       string // the stream's ARN, once described
}

var _ store.Store = (*Store)(nil)

// client is the part of the DynamoDB client the store calls, as method
// values rather than the *dynamodb.Client itself: a Store is held in an
// interface (store.Store), so the types of its fields count as converted to
// an interface too, and in the web function, whose html/template makes the
// linker keep every exported method of such types, the client's sixty-odd
// operations would all be linked (docs/performance.md, "Lambda footprint").
type client struct {
	BatchGetItem       func(context.Context, *dynamodb.BatchGetItemInput, ...func(*dynamodb.Options)) (*dynamodb.BatchGetItemOutput, error)
	DeleteItem         func(context.Context, *dynamodb.DeleteItemInput, ...func(*dynamodb.Options)) (*dynamodb.DeleteItemOutput, error)
	DescribeTable      func(context.Context, *dynamodb.DescribeTableInput, ...func(*dynamodb.Options)) (*dynamodb.DescribeTableOutput, error)
	GetItem            func(context.Context, *dynamodb.GetItemInput, ...func(*dynamodb.Options)) (*dynamodb.GetItemOutput, error)
	PutItem            func(context.Context, *dynamodb.PutItemInput, ...func(*dynamodb.Options)) (*dynamodb.PutItemOutput, error)
	Query              func(context.Context, *dynamodb.QueryInput, ...func(*dynamodb.Options)) (*dynamodb.QueryOutput, error)
	Scan               func(context.Context, *dynamodb.ScanInput, ...func(*dynamodb.Options)) (*dynamodb.ScanOutput, error)
	TransactWriteItems func(context.Context, *dynamodb.TransactWriteItemsInput, ...func(*dynamodb.Options)) (*dynamodb.TransactWriteItemsOutput, error)
	UpdateItem         func(context.Context, *dynamodb.UpdateItemInput, ...func(*dynamodb.Options)) (*dynamodb.UpdateItemOutput, error)
}

func newClient(c *dynamodb.Client) client {
	return client{BatchGetItem: c.BatchGetItem, DeleteItem: c.DeleteItem, DescribeTable: c.DescribeTable,
		GetItem: c.GetItem, PutItem: c.PutItem, Query: c.Query, Scan: c.Scan,
		TransactWriteItems: c.TransactWriteItems, UpdateItem: c.UpdateItem}
}

// CapacityRecorder receives the capacity consumed by one call of a store
// method: op is the method's name ("RecordClick") and c holds one entry per
// DynamoDB request the call made, read requests with ReadCapacityUnits and
// write requests with WriteCapacityUnits set (see Units).
type CapacityRecorder func(op string, c []types.ConsumedCapacity)

// Option configures a Store.
type Option func(*Store)

// WithCapacityRecorder asks DynamoDB for the consumed capacity of every
// request (ReturnConsumedCapacity TOTAL) and reports it per store call to
// f, which must be safe for concurrent use.
func WithCapacityRecorder(f CapacityRecorder) Option {
	return func(s *Store) { s.record = f }
}

// New returns a store on the table, which must exist with the layout of
// CreateTable.
func New(c *dynamodb.Client, table string, opts ...Option) *Store {
	s := &Store{c: newClient(c), table: table}
	for _, o := range opts {
		o(s)
	}
	return s
}

// Close releases nothing: the client belongs to the caller.
func (s *Store) Close() error { return nil }

// Units adds up consumed capacity as reported to a CapacityRecorder.
func Units(c []types.ConsumedCapacity) (read, write float64) {
	for _, cc := range c {
		read += aws.ToFloat64(cc.ReadCapacityUnits)
		write += aws.ToFloat64(cc.WriteCapacityUnits)
	}
	return read, write
}

// --- consumed capacity ---------------------------------------------------------

type opKey struct{}

// opAcc collects the capacity of one store call's requests.
type opAcc struct {
	mu sync.Mutex
	cc []types.ConsumedCapacity
}

// op starts a store call named name; done reports its capacity.
func (s *Store) op(ctx context.Context, name string) (context.Context, func()) {
	if s.record == nil {
		return ctx, func() {}
	}
	acc := &opAcc{}
	return context.WithValue(ctx, opKey{}, acc), func() {
		acc.mu.Lock()
		cc := acc.cc
		acc.mu.Unlock()
		s.record(name, cc)
	}
}

func (s *Store) rcc() types.ReturnConsumedCapacity {
	if s.record == nil {
		return types.ReturnConsumedCapacityNone
	}
	return types.ReturnConsumedCapacityTotal
}

// consumed files the capacity of one request under the running call, as
// read or write units (DynamoDB's TOTAL gives only CapacityUnits).
func (s *Store) consumed(ctx context.Context, write bool, cc ...types.ConsumedCapacity) {
	acc, _ := ctx.Value(opKey{}).(*opAcc)
	if acc == nil {
		return
	}
	acc.mu.Lock()
	defer acc.mu.Unlock()
	for _, c := range cc {
		units := aws.ToFloat64(c.CapacityUnits)
		if write {
			if c.WriteCapacityUnits == nil {
				c.WriteCapacityUnits = aws.Float64(units)
			}
		} else if c.ReadCapacityUnits == nil {
			c.ReadCapacityUnits = aws.Float64(units)
		}
		acc.cc = append(acc.cc, c)
	}
}

func (s *Store) consumedPtr(ctx context.Context, write bool, c *types.ConsumedCapacity) {
	if c != nil {
		s.consumed(ctx, write, *c)
	}
}

// --- errors ----------------------------------------------------------------------

// Internal outcomes of a failed condition, turned into results by the
// methods that expect them; never returned by the store.
var (
	errDuplicateVisit = errors.New("dynamo: visitor clicked within the window")
	errNotPending     = errors.New("dynamo: referral no longer pending")
	errRetryable      = errors.New("dynamo: transaction conflict or throttling")
)

// severity orders the outcomes of a cancelled transaction whose items failed
// for several reasons: a taken unique value wins over a missing record,
// which wins over the internal outcomes.
var severity = []error{store.ErrConflict, store.ErrNotFound, errNotPending, errDuplicateVisit}

// mapErr is the one place SDK errors become the port's sentinels. onFail
// gives, per item of a transaction (or for the one conditional request),
// what a failed condition on that item means; without it a failed
// condition is store.ErrConflict (a guard item exists). Transaction
// conflicts and throttling become errRetryable. A missing table is a
// configuration error, never store.ErrNotFound.
func mapErr(err error, onFail ...error) error {
	if err == nil {
		return nil
	}
	for _, sentinel := range append([]error{store.ErrBadCursor, errRetryable}, severity...) {
		if errors.Is(err, sentinel) {
			return err
		}
	}
	failed := func(i int) error {
		if i < len(onFail) && onFail[i] != nil {
			return onFail[i]
		}
		return store.ErrConflict
	}
	var (
		ccf *types.ConditionalCheckFailedException
		tce *types.TransactionCanceledException
		tc  *types.TransactionConflictException
		rnf *types.ResourceNotFoundException
	)
	switch {
	case errors.As(err, &ccf):
		return failed(0)
	case errors.As(err, &tce):
		var got []error
		retry := false
		for i, r := range tce.CancellationReasons {
			switch aws.ToString(r.Code) {
			case "", "None":
			case "ConditionalCheckFailed":
				got = append(got, failed(i))
			case "TransactionConflict", "ThrottlingError", "ProvisionedThroughputExceeded", "RequestLimitExceeded":
				retry = true
			default:
				return fmt.Errorf("dynamo: transaction cancelled (item %d: %s): %w", i, aws.ToString(r.Message), err)
			}
		}
		for _, want := range severity {
			for _, e := range got {
				if e == want {
					return e
				}
			}
		}
		if len(got) > 0 {
			return got[0] // an outcome of the caller's own
		}
		if retry {
			return fmt.Errorf("%w: %v", errRetryable, err)
		}
		return fmt.Errorf("dynamo: transaction cancelled: %w", err)
	case errors.As(err, &tc):
		return fmt.Errorf("%w: %v", errRetryable, err)
	case errors.As(err, &rnf):
		return fmt.Errorf("dynamo: the table or index does not exist (create it with dynamo.CreateTable or deploy template.yaml): %w", err)
	}
	return fmt.Errorf("dynamo: %w", err)
}

// maxAttempts bounds the retries of a write that lost a transaction
// conflict (two transactions on one item at once) or was throttled.
const maxAttempts = 10

// Backoff between attempts: from firstBackoff, doubling up to maxBackoff,
// with jitter.
var firstBackoff, maxBackoff = 5 * time.Millisecond, 500 * time.Millisecond

// retry runs write until it returns something other than errRetryable,
// backing off with jitter between attempts.
func retry(ctx context.Context, write func() error) error {
	backoff := firstBackoff
	for attempt := 1; ; attempt++ {
		err := write()
		if !errors.Is(err, errRetryable) || attempt == maxAttempts {
			return err
		}
		d := backoff/2 + rand.N(backoff)
		select {
		case <-ctx.Done():
			return ctx.Err()
		case <-time.After(d):
		}
		backoff = min(2*backoff, maxBackoff)
	}
}

// --- requests ----------------------------------------------------------------------

type item = map[string]types.AttributeValue

// getItem reads one item with a strongly consistent read; a missing item
// is store.ErrNotFound.
func (s *Store) getItem(ctx context.Context, key item) (item, error) {
	out, err := s.c.GetItem(ctx, &dynamodb.GetItemInput{
		TableName: &s.table, Key: key, ConsistentRead: aws.Bool(true), ReturnConsumedCapacity: s.rcc(),
	})
	if err != nil {
		return nil, mapErr(err)
	}
	s.consumedPtr(ctx, false, out.ConsumedCapacity)
	if len(out.Item) == 0 {
		return nil, store.ErrNotFound
	}
	return out.Item, nil
}

// putNew writes a record that must not exist yet. A retried request whose
// first attempt did land finds its own item: that is success, not a clash.
func (s *Store) putNew(ctx context.Context, it item) error {
	return s.putIf(ctx, it, "attribute_not_exists(PK)", nil, nil, store.ErrConflict)
}

// putIf writes it when cond holds; onFail is what a failed condition
// means, unless the item stored is exactly it (an earlier attempt of this
// very write landed).
func (s *Store) putIf(ctx context.Context, it item, cond string, names map[string]string, values item, onFail error) error {
	return retry(ctx, func() error {
		out, err := s.c.PutItem(ctx, &dynamodb.PutItemInput{
			TableName: &s.table, Item: it, ConditionExpression: &cond,
			ExpressionAttributeNames: names, ExpressionAttributeValues: values,
			ReturnValuesOnConditionCheckFailure: types.ReturnValuesOnConditionCheckFailureAllOld,
			ReturnConsumedCapacity:              s.rcc(),
		})
		if err == nil {
			s.consumedPtr(ctx, true, out.ConsumedCapacity)
			return nil
		}
		var ccf *types.ConditionalCheckFailedException
		if errors.As(err, &ccf) {
			old := ccf.Item
			if len(old) == 0 {
				// Older emulators do not return the item: read it.
				old, err = s.getItem(ctx, item{"PK": it["PK"], "SK": it["SK"]})
				if errors.Is(err, store.ErrNotFound) {
					return store.ErrNotFound
				}
				if err != nil {
					return err
				}
			}
			if reflect.DeepEqual(old, it) {
				return nil
			}
			return onFail
		}
		return mapErr(err)
	})
}

// txItem is one item of a transaction and what a failed condition on it
// means (nil: store.ErrConflict).
type txItem struct {
	w      types.TransactWriteItem
	onFail error
}

// transact writes the items all or nothing, retrying transaction
// conflicts; a failed condition is reported through the items' onFail.
// Each attempt has its own idempotency token (the SDK fills it in), which
// also makes the SDK's own retries of one attempt safe.
func (s *Store) transact(ctx context.Context, items []txItem) error {
	return retry(ctx, func() error {
		ws := make([]types.TransactWriteItem, len(items))
		onFail := make([]error, len(items))
		for i, it := range items {
			ws[i], onFail[i] = it.w, it.onFail
		}
		out, err := s.c.TransactWriteItems(ctx, &dynamodb.TransactWriteItemsInput{
			TransactItems: ws, ReturnConsumedCapacity: s.rcc(),
		})
		if err != nil {
			return mapErr(err, onFail...)
		}
		s.consumed(ctx, true, out.ConsumedCapacity...)
		return nil
	})
}

// put writes it, replacing any item with its key.
func (s *Store) put(ctx context.Context, it item) error {
	return retry(ctx, func() error {
		out, err := s.c.PutItem(ctx, &dynamodb.PutItemInput{TableName: &s.table, Item: it, ReturnConsumedCapacity: s.rcc()})
		if err != nil {
			return mapErr(err)
		}
		s.consumedPtr(ctx, true, out.ConsumedCapacity)
		return nil
	})
}

// del deletes the item with key, if there is one.
func (s *Store) del(ctx context.Context, key item) error {
	return retry(ctx, func() error {
		out, err := s.c.DeleteItem(ctx, &dynamodb.DeleteItemInput{TableName: &s.table, Key: key, ReturnConsumedCapacity: s.rcc()})
		if err != nil {
			return mapErr(err)
		}
		s.consumedPtr(ctx, true, out.ConsumedCapacity)
		return nil
	})
}

// put is a transaction item that creates it if no item has its key.
func (s *Store) txPutNew(it item) txItem {
	return txItem{w: types.TransactWriteItem{Put: &types.Put{
		TableName: &s.table, Item: it, ConditionExpression: aws.String("attribute_not_exists(PK)"),
	}}}
}

// txDelete is a transaction item that deletes the item with key.
func (s *Store) txDelete(key item, cond string, onFail error) txItem {
	d := &types.Delete{TableName: &s.table, Key: key}
	if cond != "" {
		d.ConditionExpression = &cond
	}
	return txItem{w: types.TransactWriteItem{Delete: d}, onFail: onFail}
}

// query runs one Query request.
func (s *Store) query(ctx context.Context, in *dynamodb.QueryInput) (*dynamodb.QueryOutput, error) {
	in.TableName = &s.table
	in.ReturnConsumedCapacity = s.rcc()
	out, err := s.c.Query(ctx, in)
	if err != nil {
		return nil, mapErr(err)
	}
	s.consumedPtr(ctx, false, out.ConsumedCapacity)
	return out, nil
}

// batchGet reads the items with keys (strongly consistent), in no
// particular order, skipping keys that have no item.
func (s *Store) batchGet(ctx context.Context, keys []item) ([]item, error) {
	return s.batchGetWith(ctx, keys, true)
}

// batchGetWith is batchGet, strongly consistent or not.
func (s *Store) batchGetWith(ctx context.Context, keys []item, consistent bool) ([]item, error) {
	var out []item
	for len(keys) > 0 {
		n := min(len(keys), 100)
		pending := map[string]types.KeysAndAttributes{s.table: {Keys: keys[:n], ConsistentRead: aws.Bool(consistent)}}
		keys = keys[n:]
		backoff := firstBackoff
		for len(pending) > 0 && len(pending[s.table].Keys) > 0 {
			res, err := s.c.BatchGetItem(ctx, &dynamodb.BatchGetItemInput{RequestItems: pending, ReturnConsumedCapacity: s.rcc()})
			if err != nil {
				return nil, mapErr(err)
			}
			s.consumed(ctx, false, res.ConsumedCapacity...)
			out = append(out, res.Responses[s.table]...)
			pending = res.UnprocessedKeys
			if len(pending) > 0 {
				select {
				case <-ctx.Done():
					return nil, ctx.Err()
				case <-time.After(backoff):
				}
				backoff = min(2*backoff, maxBackoff)
			}
		}
	}
	return out, nil
}
