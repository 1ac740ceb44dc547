package dynamo

import (
	"bytes"
	"compress/gzip"
	"context"
	"crypto/rand"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"sort"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb/types"
	"github.com/aws/aws-sdk-go-v2/service/dynamodbstreams"
	streamtypes "github.com/aws/aws-sdk-go-v2/service/dynamodbstreams/types"
	"github.com/oklog/ulid/v2"

	"github.com/partnerloop/partnerloop/internal/commission"
	"github.com/partnerloop/partnerloop/internal/domain"
	"github.com/partnerloop/partnerloop/internal/store"
	"github.com/partnerloop/partnerloop/internal/streamimage"
)

// Analytics rollups on DynamoDB (docs/dynamodb.md, "Analytics").
//
// The feed is the table's stream, read by the rollup itself (a second
// reader next to the stream router) behind per-shard checkpoints kept in
// one feed item. A run is serialised by a compare-and-set on that item:
//
//  1. claim: the feed item gets a pending run (its number is the last
//     committed run + 1, and an owner) if it has none;
//  2. the run reads the stream after the checkpoints, folds the changes into
//     cell deltas and writes them into chunk items (its manifest), then
//     marks the pending run ready;
//  3. every cell delta is applied with an UpdateItem that ADDs the figures
//     only if the cell's lastRun is below the run's number, and sets it —
//     so applying a manifest twice changes nothing;
//  4. commit: the feed item gets the run's number and its new checkpoints,
//     and loses the pending run.
//
// A run that finds a ready pending run finishes it (3–4) before claiming
// its own; one that finds a stale unready one aborts it. No change is
// applied twice or lost, however many runs overlap or crash.
//
// Rebuilds (a new time zone, the first build) and heals recount records
// while holding the claim, then read the stream to its end and decide per
// change whether the recount already saw it (the record's version and the
// time it last changed, see scanned), so the recount and the feed meet
// exactly.

// Analytics item types.
const (
	typeAnalyticsCell  = "analytics_cell"
	typeAnalyticsOrg   = "analytics_org"
	typeAnalyticsFeed  = "analytics_feed"
	typeAnalyticsChunk = "analytics_chunk"
)

// Tunables of the analytics feed.
const (
	// chunkCells is how many cell deltas one manifest chunk holds at most,
	// and maxChunkBytes its gzipped size at most (DynamoDB items: 400 KB).
	chunkCells    = 4000
	maxChunkBytes = 300 << 10
	// staleClaim is how long an unready pending run may stay before
	// another run aborts it (its owner crashed).
	staleClaim = 3 * time.Minute
	// scanMargin widens the window of records a recount remembers as
	// possibly changing while it reads: it must exceed the clock skew
	// between the hosts that write records and the one that rolls up.
	scanMargin = time.Minute
	// maxHealRecords bounds the records one heal recounts per organization;
	// busier organizations rely on the exactly-once feed alone.
	maxHealRecords = 200_000
	// applyWorkers apply a manifest's cells in parallel.
	applyWorkers = 16
	// maxStreamRead bounds the stream records a rebuild or heal reads to
	// reach the stream's end.
	maxStreamRead = 2_000_000
)

// WithStreams lets the store read its table's stream (the analytics
// rollup's feed); lag is how long a change may take to appear in the
// stream (DynamoDB: typically well under a second).
func WithStreams(c *dynamodbstreams.Client, lag time.Duration) Option {
	return func(s *Store) { s.streams, s.streamLag = c, lag }
}

// WithLogger logs the analytics feed's notable events.
func WithLogger(l *slog.Logger) Option {
	return func(s *Store) { s.log = l }
}

var _ store.Analytics = (*Store)(nil)

// errBusy: another rollup run holds the feed.
var errBusy = errors.New("dynamo: another analytics run holds the feed")

// --- keys -----------------------------------------------------------------------

func grainCode(grain string) string {
	if grain == store.GrainMonth {
		return "M"
	}
	return "D"
}

// cellPK is the partition of one dimension value's cells of a generation.
func cellPK(orgID string, gen int64, level, dim string) string {
	return fmt.Sprintf("ORG#%s#AN#%d#%s#%s", orgID, gen, level, keyPart(dim))
}

func cellSK(grain, start, currency string) string {
	return grainCode(grain) + "#" + start + "#" + currency
}

// cellPeriodPK is the GSI1 partition of every cell of one level, grain and
// start (top lists, heals).
func cellPeriodPK(orgID string, gen int64, level, grain, start string) string {
	return fmt.Sprintf("ORG#%s#AN#%d#%s#%s#%s", orgID, gen, level, grainCode(grain), start)
}

func cellKey(orgID string, gen int64, k store.CellKey) item {
	return key(cellPK(orgID, gen, k.Level, k.DimID), cellSK(k.Grain, k.Start, k.Currency))
}

func analyticsOrgKey(orgID string) item { return key("ORG#"+orgID+"#AN", "STATE") }

func feedKey() item { return key("ANALYTICS#FEED", "STATE") }

func chunkKey(run int64, owner string, i int) item {
	return key(fmt.Sprintf("ANALYTICS#RUN#%d#%s", run, owner), fmt.Sprintf("CHUNK#%05d", i))
}

// --- the feed item ---------------------------------------------------------

// shardPos is the rollup's position in one stream shard.
type shardPos struct {
	Seq  string `json:"seq,omitempty"`  // the last record applied
	Done bool   `json:"done,omitempty"` // a closed shard read to its end
}

// orgFlip makes a rebuilt organization's new generation current.
type orgFlip struct {
	OrgID   string `json:"org"`
	Gen     int64  `json:"gen"`
	PrevGen int64  `json:"prevGen"` // 0: no cells before
	Zone    string `json:"zone"`
}

// pendingRun is a claimed run, as the feed item holds it.
type pendingRun struct {
	Run         int64               `json:"run"`
	Owner       string              `json:"owner"`
	CreatedAt   time.Time           `json:"createdAt"`
	Chunks      int                 `json:"chunks"`
	Checkpoints map[string]shardPos `json:"checkpoints"`
	AsOf        time.Time           `json:"asOf"`
	Changes     int                 `json:"changes"`
	Cells       int                 `json:"cells"`
	CaughtUp    bool                `json:"caughtUp"`
	Flips       []orgFlip           `json:"flips,omitempty"`
}

type feedState struct {
	Run         int64
	Checkpoints map[string]shardPos
	AsOf        time.Time
	Pending     *pendingRun
	Ready       bool
}

func (s *Store) readFeed(ctx context.Context) (feedState, error) {
	st := feedState{Checkpoints: map[string]shardPos{}}
	it, err := s.getItem(ctx, feedKey())
	if errors.Is(err, store.ErrNotFound) {
		return st, nil
	}
	if err != nil {
		return st, err
	}
	if v, ok := it["run"].(*types.AttributeValueMemberN); ok {
		if st.Run, err = strconv.ParseInt(v.Value, 10, 64); err != nil {
			return st, fmt.Errorf("dynamo: analytics feed run: %w", err)
		}
	}
	if cp := getS(it, "checkpoints"); cp != "" {
		if err := json.Unmarshal([]byte(cp), &st.Checkpoints); err != nil {
			return st, fmt.Errorf("dynamo: analytics feed checkpoints: %w", err)
		}
	}
	if a := getS(it, "asOf"); a != "" {
		if st.AsOf, err = parseTime(a); err != nil {
			return st, err
		}
	}
	if p := getS(it, "pending"); p != "" {
		st.Pending = &pendingRun{}
		if err := json.Unmarshal([]byte(p), st.Pending); err != nil {
			return st, fmt.Errorf("dynamo: analytics pending run: %w", err)
		}
	}
	if b, ok := it["pendingReady"].(*types.AttributeValueMemberBOOL); ok {
		st.Ready = b.Value
	}
	return st, nil
}

func jsonAttr(v any) (types.AttributeValue, error) {
	b, err := json.Marshal(v)
	if err != nil {
		return nil, err
	}
	return str(string(b)), nil
}

// update runs one conditional UpdateItem; a failed condition is onFail.
func (s *Store) update(ctx context.Context, in *dynamodb.UpdateItemInput, onFail error) error {
	in.TableName = &s.table
	in.ReturnConsumedCapacity = s.rcc()
	return retry(ctx, func() error {
		out, err := s.c.UpdateItem(ctx, in)
		if err != nil {
			return mapErr(err, onFail)
		}
		s.consumedPtr(ctx, true, out.ConsumedCapacity)
		return nil
	})
}

// claim makes p the feed's pending run, if st is still the feed's state
// and nothing is pending: errBusy otherwise.
func (s *Store) claim(ctx context.Context, st feedState, p pendingRun) error {
	pv, err := jsonAttr(p)
	if err != nil {
		return err
	}
	cond := "attribute_not_exists(pendingOwner) AND #run = :run"
	if st.Run == 0 {
		cond = "attribute_not_exists(pendingOwner) AND (attribute_not_exists(#run) OR #run = :run)"
	}
	return s.update(ctx, &dynamodb.UpdateItemInput{
		Key:                      feedKey(),
		UpdateExpression:         aws.String("SET pending = :p, pendingOwner = :o, pendingReady = :f, #type = :t"),
		ConditionExpression:      aws.String(cond),
		ExpressionAttributeNames: map[string]string{"#run": "run", "#type": attrType},
		ExpressionAttributeValues: item{":p": pv, ":o": str(p.Owner), ":f": &types.AttributeValueMemberBOOL{Value: false},
			":t": str(typeAnalyticsFeed), ":run": num(st.Run)},
	}, errBusy)
}

// markReady stores p (with its chunk count) as ready to apply.
func (s *Store) markReady(ctx context.Context, p pendingRun) error {
	pv, err := jsonAttr(p)
	if err != nil {
		return err
	}
	return s.update(ctx, &dynamodb.UpdateItemInput{
		Key:                       feedKey(),
		UpdateExpression:          aws.String("SET pending = :p, pendingReady = :t"),
		ConditionExpression:       aws.String("pendingOwner = :o"),
		ExpressionAttributeValues: item{":p": pv, ":o": str(p.Owner), ":t": &types.AttributeValueMemberBOOL{Value: true}},
	}, errBusy)
}

// abort drops p if it is still pending and not ready (best effort).
func (s *Store) abort(ctx context.Context, p pendingRun) {
	err := s.update(context.WithoutCancel(ctx), &dynamodb.UpdateItemInput{
		Key:                       feedKey(),
		UpdateExpression:          aws.String("REMOVE pending, pendingOwner, pendingReady"),
		ConditionExpression:       aws.String("pendingOwner = :o AND pendingReady = :f"),
		ExpressionAttributeValues: item{":o": str(p.Owner), ":f": &types.AttributeValueMemberBOOL{Value: false}},
	}, errBusy)
	if err != nil && !errors.Is(err, errBusy) {
		s.logger().Warn("analytics: could not abort a run", "run", p.Run, "err", err)
	}
}

// commit records p as the feed's last run: its checkpoints, its freshness,
// and the generations of the organizations it rebuilt, in one transaction.
// A run committed by another helper is not an error.
func (s *Store) commit(ctx context.Context, p pendingRun) error {
	cp, err := jsonAttr(p.Checkpoints)
	if err != nil {
		return err
	}
	feed := types.Update{
		TableName:                &s.table,
		Key:                      feedKey(),
		UpdateExpression:         aws.String("SET #run = :n, checkpoints = :cp, asOf = :a REMOVE pending, pendingOwner, pendingReady"),
		ConditionExpression:      aws.String("pendingOwner = :o AND pendingReady = :t"),
		ExpressionAttributeNames: map[string]string{"#run": "run"},
		ExpressionAttributeValues: item{":n": num(p.Run), ":cp": cp, ":a": str(formatTime(p.AsOf)), ":o": str(p.Owner),
			":t": &types.AttributeValueMemberBOOL{Value: true}},
	}
	items := []txItem{{w: types.TransactWriteItem{Update: &feed}, onFail: errBusy}}
	for _, f := range p.Flips {
		it := analyticsOrgKey(f.OrgID)
		it[attrType], it["timeZone"], it["gen"] = str(typeAnalyticsOrg), str(f.Zone), num(f.Gen)
		cond := "attribute_not_exists(PK)"
		vals := item(nil)
		if f.PrevGen > 0 {
			cond, vals = "gen = :prev", item{":prev": num(f.PrevGen)}
		}
		items = append(items, txItem{w: types.TransactWriteItem{Put: &types.Put{TableName: &s.table, Item: it,
			ConditionExpression: aws.String(cond), ExpressionAttributeValues: vals}}, onFail: errFlip})
	}
	err = s.transact(ctx, items)
	if errors.Is(err, errBusy) {
		return nil // committed by another helper (or superseded)
	}
	return err
}

// --- manifests ---------------------------------------------------------------------

// genCell is one cell delta of a manifest, with the generation it goes to.
type genCell struct {
	Gen int64 `json:"g"`
	store.Cell
}

func (s *Store) writeChunks(ctx context.Context, p *pendingRun, cells []genCell) error {
	p.Cells = len(cells)
	for start := 0; start < len(cells); {
		n := min(chunkCells, len(cells)-start)
		var blob []byte
		for {
			b, err := gzipJSON(cells[start : start+n])
			if err != nil {
				return err
			}
			if len(b) <= maxChunkBytes || n == 1 {
				blob = b
				break
			}
			n /= 2 // compresses less well than expected: a smaller chunk
		}
		it := chunkKey(p.Run, p.Owner, p.Chunks)
		it[attrType], it["cells"], it[attrTTL] = str(typeAnalyticsChunk), &types.AttributeValueMemberB{Value: blob}, num(time.Now().Add(48*time.Hour).Unix())
		if err := s.put(ctx, it); err != nil {
			return err
		}
		p.Chunks++
		start += n
	}
	return nil
}

// gzipJSON is v as gzipped JSON: a manifest's deltas repeat their field
// names and keys, so they shrink several times (and with them the chunks'
// write units).
func gzipJSON(v any) ([]byte, error) {
	var buf bytes.Buffer
	zw := gzip.NewWriter(&buf)
	if err := json.NewEncoder(zw).Encode(v); err != nil {
		return nil, err
	}
	if err := zw.Close(); err != nil {
		return nil, err
	}
	return buf.Bytes(), nil
}

func (s *Store) readChunk(ctx context.Context, p pendingRun, i int) ([]genCell, error) {
	it, err := s.getItem(ctx, chunkKey(p.Run, p.Owner, i))
	if err != nil {
		return nil, fmt.Errorf("dynamo: analytics run %d chunk %d: %w", p.Run, i, err)
	}
	blob, _ := it["cells"].(*types.AttributeValueMemberB)
	if blob == nil {
		return nil, fmt.Errorf("dynamo: analytics run %d chunk %d has no cells", p.Run, i)
	}
	zr, err := gzip.NewReader(bytes.NewReader(blob.Value))
	if err != nil {
		return nil, fmt.Errorf("dynamo: analytics run %d chunk %d: %w", p.Run, i, err)
	}
	var cells []genCell
	if err := json.NewDecoder(zr).Decode(&cells); err != nil {
		return nil, fmt.Errorf("dynamo: analytics run %d chunk %d: %w", p.Run, i, err)
	}
	return cells, nil
}

func (s *Store) deleteChunks(ctx context.Context, p pendingRun) {
	for i := 0; i < p.Chunks; i++ {
		_, err := s.c.DeleteItem(context.WithoutCancel(ctx), &dynamodb.DeleteItemInput{TableName: &s.table, Key: chunkKey(p.Run, p.Owner, i)})
		if err != nil {
			s.logger().Warn("analytics: could not delete a run's chunk (its TTL will)", "run", p.Run, "chunk", i, "err", err)
			return
		}
	}
}

// applyRun applies every cell delta of the ready run p, each at most once.
func (s *Store) applyRun(ctx context.Context, p pendingRun) error {
	for i := 0; i < p.Chunks; i++ {
		cells, err := s.readChunk(ctx, p, i)
		if err != nil {
			return err
		}
		if err := s.applyCells(ctx, p.Run, cells); err != nil {
			return err
		}
	}
	return nil
}

func (s *Store) applyCells(ctx context.Context, run int64, cells []genCell) error {
	work := make(chan genCell)
	errs := make(chan error, applyWorkers)
	var wg sync.WaitGroup
	for w := 0; w < applyWorkers; w++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for c := range work {
				if err := s.applyCell(ctx, run, c); err != nil {
					errs <- err
					for range work { // drain
					}
					return
				}
			}
		}()
	}
	for _, c := range cells {
		select {
		case work <- c:
		case err := <-errs:
			close(work)
			wg.Wait()
			return err
		}
	}
	close(work)
	wg.Wait()
	select {
	case err := <-errs:
		return err
	default:
		return nil
	}
}

// applyCell adds one delta to its cell unless this run already did.
func (s *Store) applyCell(ctx context.Context, run int64, c genCell) error {
	// The cell's identity is in its key (decodeCell reads it back): the item
	// holds only the figures, lastRun and, where lists need them, the
	// referrer's attributes and the period index keys — small items keep
	// every read and write at the minimum unit.
	names := map[string]string{"#type": attrType}
	values := item{":run": num(run), ":t": str(typeAnalyticsCell)}
	expr := "SET lastRun = :run, #type = :t"
	if c.ProgramID != "" {
		expr += ", programId = :prg"
		values[":prg"] = str(c.ProgramID)
	}
	if c.PartnerID != "" {
		expr += ", partnerId = :prt"
		values[":prt"] = str(c.PartnerID)
	}
	if c.Level == store.LevelReferrer {
		// Top referrers read every referrer's cells of a period.
		expr += ", " + attrGSI1PK + " = :gpk, " + attrGSI1SK + " = :gsk"
		values[":gpk"] = str(cellPeriodPK(c.OrgID, c.Gen, c.Level, c.Grain, c.Start))
		values[":gsk"] = str(keyPart(c.DimID) + "#" + c.Currency)
	}
	var add []string
	for i, v := range c.Figures.Values() {
		if *v == 0 {
			continue
		}
		n, val := fmt.Sprintf("#f%d", i), fmt.Sprintf(":f%d", i)
		names[n], values[val] = store.FigureNames[i], num(*v)
		add = append(add, n+" "+val)
	}
	if len(add) > 0 {
		expr += " ADD " + strings.Join(add, ", ")
	}
	err := s.update(ctx, &dynamodb.UpdateItemInput{
		Key:                       cellKey(c.OrgID, c.Gen, c.CellKey),
		UpdateExpression:          aws.String(expr),
		ConditionExpression:       aws.String("attribute_not_exists(lastRun) OR lastRun < :run"),
		ExpressionAttributeNames:  names,
		ExpressionAttributeValues: values,
	}, errAlreadyApplied)
	if errors.Is(err, errAlreadyApplied) {
		return nil
	}
	return err
}

var (
	errAlreadyApplied = errors.New("dynamo: cell delta already applied")
	errFlip           = errors.New("dynamo: analytics: a rebuilt organization's generation changed under the run")
)

// finish applies and commits a ready pending run (its owner's or another's).
func (s *Store) finish(ctx context.Context, p pendingRun) error {
	if err := s.applyRun(ctx, p); err != nil {
		return err
	}
	if err := s.commit(ctx, p); err != nil {
		return err
	}
	s.deleteChunks(ctx, p)
	return nil
}

// settle brings the feed to a state without a pending run: it finishes a
// ready one and aborts a stale unready one. It reports false when a fresh
// unready run is in progress elsewhere.
func (s *Store) settle(ctx context.Context) (feedState, bool, error) {
	for attempt := 0; attempt < 5; attempt++ {
		st, err := s.readFeed(ctx)
		if err != nil || st.Pending == nil {
			return st, err == nil, err
		}
		switch {
		case st.Ready:
			if err := s.finish(ctx, *st.Pending); err != nil {
				return st, false, err
			}
		case time.Since(st.Pending.CreatedAt) > staleClaim:
			s.logger().Warn("analytics: aborting a stale run", "run", st.Pending.Run, "owner", st.Pending.Owner)
			s.abort(ctx, *st.Pending)
		default:
			return st, false, nil
		}
	}
	return feedState{}, false, nil
}

// --- the stream ----------------------------------------------------------------

func (s *Store) streamARN(ctx context.Context) (string, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.arn != "" {
		return s.arn, nil
	}
	out, err := s.c.DescribeTable(ctx, &dynamodb.DescribeTableInput{TableName: &s.table})
	if err != nil {
		return "", mapErr(err)
	}
	if out.Table == nil || out.Table.LatestStreamArn == nil {
		return "", fmt.Errorf("dynamo: table %s has no stream", s.table)
	}
	s.arn = *out.Table.LatestStreamArn
	return s.arn, nil
}

// streamChange is one stream record read by the rollup.
type streamChange struct {
	store.Change
	ok bool // a record of a kind the rollups count
}

// streamRead is what one read of the stream found.
type streamRead struct {
	changes     []streamChange
	counted     int                 // of them, changes the rollups count
	checkpoints map[string]shardPos // after the records read
	caughtUp    bool                // every shard was read to its current end
	asOf        time.Time           // every change before it was read
}

// readStream reads the records after the checkpoints, shard by shard,
// until limit of them are changes the rollups count (the stream also holds
// guards, counters, cells…). Shards the stream no longer lists (trimmed after 24 hours) are
// dropped from the checkpoints.
func (s *Store) readStream(ctx context.Context, from map[string]shardPos, limit int) (streamRead, error) {
	if s.streams == nil {
		return streamRead{}, errors.New("dynamo: the store was opened without a streams client (dynamo.WithStreams)")
	}
	arn, err := s.streamARN(ctx)
	if err != nil {
		return streamRead{}, err
	}
	started := time.Now()
	var shards []streamtypes.Shard
	var start *string
	for {
		out, err := s.streams.DescribeStream(ctx, &dynamodbstreams.DescribeStreamInput{StreamArn: &arn, ExclusiveStartShardId: start})
		if err != nil {
			return streamRead{}, fmt.Errorf("dynamo: describe stream: %w", err)
		}
		shards = append(shards, out.StreamDescription.Shards...)
		if out.StreamDescription.LastEvaluatedShardId == nil {
			break
		}
		start = out.StreamDescription.LastEvaluatedShardId
	}
	res := streamRead{checkpoints: map[string]shardPos{}, caughtUp: true, asOf: started.Add(-s.lag())}
	for _, sh := range shards {
		id := aws.ToString(sh.ShardId)
		pos := from[id]
		res.checkpoints[id] = pos
		if pos.Done {
			continue
		}
		if res.counted >= limit {
			res.caughtUp = false
			continue
		}
		in := &dynamodbstreams.GetShardIteratorInput{StreamArn: &arn, ShardId: &id, ShardIteratorType: streamtypes.ShardIteratorTypeTrimHorizon}
		if pos.Seq != "" {
			in.ShardIteratorType, in.SequenceNumber = streamtypes.ShardIteratorTypeAfterSequenceNumber, aws.String(pos.Seq)
		}
		itOut, err := s.streams.GetShardIterator(ctx, in)
		var trimmed *streamtypes.TrimmedDataAccessException
		if errors.As(err, &trimmed) {
			// The rollup fell more than the stream's retention behind: the
			// changes in between are lost to the feed (heals and rebuilds
			// recount them). Go on from the oldest record kept.
			s.logger().Error("analytics: stream records were trimmed before the rollup read them", "shard", id, "after", pos.Seq)
			in.ShardIteratorType, in.SequenceNumber = streamtypes.ShardIteratorTypeTrimHorizon, nil
			itOut, err = s.streams.GetShardIterator(ctx, in)
		}
		var gone *streamtypes.ResourceNotFoundException
		if errors.As(err, &gone) {
			delete(res.checkpoints, id)
			continue
		}
		if err != nil {
			return streamRead{}, fmt.Errorf("dynamo: shard iterator %s: %w", id, err)
		}
		iter := itOut.ShardIterator
		for iter != nil {
			out, err := s.streams.GetRecords(ctx, &dynamodbstreams.GetRecordsInput{ShardIterator: iter, Limit: aws.Int32(1000)})
			if err != nil {
				return streamRead{}, fmt.Errorf("dynamo: get records %s: %w", id, err)
			}
			for _, r := range out.Records {
				c, err := changeOfRecord(r)
				if err != nil {
					return streamRead{}, err
				}
				res.changes = append(res.changes, c)
				if c.ok {
					res.counted++
				}
				pos.Seq = aws.ToString(r.Dynamodb.SequenceNumber)
			}
			iter = out.NextShardIterator
			if iter == nil {
				pos.Done = true // a closed shard, read to its end
			}
			if len(out.Records) == 0 {
				break // the shard's current end
			}
			if res.counted >= limit {
				if iter != nil {
					res.caughtUp = false
				}
				break
			}
		}
		res.checkpoints[id] = pos
	}
	return res, nil
}

// changeOfRecord turns one stream record into a change.
func changeOfRecord(r streamtypes.Record) (streamChange, error) {
	if r.Dynamodb == nil {
		return streamChange{}, nil
	}
	conv := func(img map[string]streamtypes.AttributeValue) (item, error) {
		ev, err := streamimage.FromStreams(img)
		if err != nil {
			return nil, err
		}
		return streamimage.Item(ev)
	}
	old, err := conv(r.Dynamodb.OldImage)
	if err != nil {
		return streamChange{}, err
	}
	neu, err := conv(r.Dynamodb.NewImage)
	if err != nil {
		return streamChange{}, err
	}
	// The change's time is the writer's writtenAt (the clock the recounts
	// compare with), else the stream's.
	at := writtenAt(neu)
	if at.IsZero() && r.Dynamodb.ApproximateCreationDateTime != nil {
		at = *r.Dynamodb.ApproximateCreationDateTime
	}
	c, ok, err := ChangeFromStream(string(r.EventName), old, neu, at)
	if err != nil {
		return streamChange{}, err
	}
	c.Seq = 0
	return streamChange{Change: c, ok: ok && countedEntity(c.Entity)}, nil
}

func countedEntity(entity string) bool {
	switch entity {
	case typeClick, typeReferral, typeConversion, typeDeal, typeCommission:
		return true
	}
	return false
}

func (s *Store) lag() time.Duration {
	if s.streamLag > 0 {
		return s.streamLag
	}
	return 2 * time.Second
}

func (s *Store) logger() *slog.Logger {
	if s.log == nil {
		return slog.New(slog.DiscardHandler)
	}
	return s.log
}

// --- organizations' rollup state ---------------------------------------------

type orgRollup struct {
	zone string
	gen  int64
	loc  *time.Location
}

func decodeOrgRollup(it item) (orgRollup, error) {
	o := orgRollup{zone: getS(it, "timeZone")}
	if v, ok := it["gen"].(*types.AttributeValueMemberN); ok {
		n, err := strconv.ParseInt(v.Value, 10, 64)
		if err != nil {
			return o, err
		}
		o.gen = n
	}
	loc, err := time.LoadLocation(o.zone)
	if err != nil {
		return o, fmt.Errorf("dynamo: analytics zone %q: %w", o.zone, err)
	}
	o.loc = loc
	return o, nil
}

// orgRollups reads the rollup state of the organizations (consistently);
// organizations without cells are absent from the result.
func (s *Store) orgRollups(ctx context.Context, orgIDs []string) (map[string]orgRollup, error) {
	keys := make([]item, 0, len(orgIDs))
	for _, id := range orgIDs {
		keys = append(keys, analyticsOrgKey(id))
	}
	its, err := s.batchGet(ctx, keys)
	if err != nil {
		return nil, err
	}
	out := map[string]orgRollup{}
	for _, it := range its {
		o, err := decodeOrgRollup(it)
		if err != nil {
			return nil, err
		}
		out[strings.TrimSuffix(strings.TrimPrefix(getS(it, attrPK), "ORG#"), "#AN")] = o
	}
	return out, nil
}

func (s *Store) orgRollup(ctx context.Context, orgID string) (orgRollup, bool, error) {
	it, err := s.getItem(ctx, analyticsOrgKey(orgID))
	if errors.Is(err, store.ErrNotFound) {
		return orgRollup{}, false, nil
	}
	if err != nil {
		return orgRollup{}, false, err
	}
	o, err := decodeOrgRollup(it)
	return o, err == nil, err
}

// --- runs ----------------------------------------------------------------------

// special is the extra work of a rebuild or heal run: a recount of one
// organization's records, made while the run holds the feed.
type special interface {
	orgID() string
	// scan recounts, before the stream is read.
	scan(ctx context.Context, s *Store) error
	// cells returns the run's cells for the organization given the changes
	// of it the stream held: deltas of the changes the recount did not see,
	// plus the recount's own cells.
	cells(changes []store.Change, fold store.FoldFunc) ([]genCell, error)
	flips() []orgFlip
}

func newOwner() string {
	b := make([]byte, 8)
	_, _ = rand.Read(b)
	return hex.EncodeToString(b)
}

// run is one rollup run: claim, (recount,) read, fold, write the manifest,
// apply, commit.
func (s *Store) run(ctx context.Context, limit int, fold store.FoldFunc, sp special) (store.RollUpResult, error) {
	st, free, err := s.settle(ctx)
	if err != nil {
		return store.RollUpResult{}, err
	}
	if !free {
		return store.RollUpResult{CaughtUp: true, AsOf: st.AsOf}, errBusy
	}
	p := pendingRun{Run: st.Run + 1, Owner: newOwner(), CreatedAt: time.Now()}
	if err := s.claim(ctx, st, p); err != nil {
		return store.RollUpResult{CaughtUp: true, AsOf: st.AsOf}, err
	}
	ready := false
	defer func() {
		if !ready {
			s.abort(ctx, p)
		}
	}()
	if sp != nil {
		if err := sp.scan(ctx, s); err != nil {
			return store.RollUpResult{}, err
		}
		// Changes made while the recount read must be in the stream before
		// it is read to its end.
		select {
		case <-ctx.Done():
			return store.RollUpResult{}, ctx.Err()
		case <-time.After(s.lag()):
		}
		limit = maxStreamRead
	}
	read, err := s.readStream(ctx, st.Checkpoints, limit)
	if err != nil {
		return store.RollUpResult{}, err
	}
	if sp != nil && !read.caughtUp {
		return store.RollUpResult{}, fmt.Errorf("dynamo: analytics: the stream could not be read to its end (more than %d records)", maxStreamRead)
	}
	cells, err := s.foldRead(ctx, read, fold, sp)
	if err != nil {
		return store.RollUpResult{}, err
	}
	// One update per cell: a run sets a cell's lastRun once.
	if cells, err = mergeCells(cells); err != nil {
		return store.RollUpResult{}, err
	}
	p.Checkpoints, p.CaughtUp = read.checkpoints, read.caughtUp
	for _, c := range read.changes {
		if c.ok {
			p.Changes++ // the records analytics count (the stream also holds cells, guards...)
		}
	}
	// Freshness moves only when every shard was read to its end, and
	// never back.
	p.AsOf = st.AsOf
	if read.caughtUp && read.asOf.After(p.AsOf) {
		p.AsOf = read.asOf
	}
	if sp != nil {
		p.Flips = sp.flips()
	}
	if err := s.writeChunks(ctx, &p, cells); err != nil {
		return store.RollUpResult{}, err
	}
	if err := s.markReady(ctx, p); err != nil {
		return store.RollUpResult{}, err
	}
	ready = true
	if err := s.finish(ctx, p); err != nil {
		return store.RollUpResult{}, err
	}
	return store.RollUpResult{Changes: p.Changes, Cells: p.Cells, CaughtUp: p.CaughtUp, AsOf: p.AsOf}, nil
}

// foldRead folds the changes read into cell deltas, each organization's
// into its current generation in its zone (organizations without cells
// are left to their first build), and the special organization's through
// the special.
func (s *Store) foldRead(ctx context.Context, read streamRead, fold store.FoldFunc, sp special) ([]genCell, error) {
	byOrg := map[string][]store.Change{}
	var orgs []string
	for _, c := range read.changes {
		if !c.ok {
			continue
		}
		if byOrg[c.OrgID] == nil {
			orgs = append(orgs, c.OrgID)
		}
		byOrg[c.OrgID] = append(byOrg[c.OrgID], c.Change)
	}
	states, err := s.orgRollups(ctx, orgs)
	if err != nil {
		return nil, err
	}
	var out []genCell
	for _, org := range orgs {
		if sp != nil && org == sp.orgID() {
			continue
		}
		o, ok := states[org]
		if !ok {
			continue
		}
		cells, err := fold(byOrg[org], func(string) *time.Location { return o.loc })
		if err != nil {
			return nil, err
		}
		for _, c := range cells {
			out = append(out, genCell{Gen: o.gen, Cell: c})
		}
	}
	if sp != nil {
		cells, err := sp.cells(byOrg[sp.orgID()], fold)
		if err != nil {
			return nil, err
		}
		out = append(out, cells...)
	}
	return out, nil
}

// mergeCells sums the deltas of the same cell (organization, generation
// and key), keeping the first-seen order.
func mergeCells(cells []genCell) ([]genCell, error) {
	type id struct {
		org string
		gen int64
		store.CellKey
	}
	at := map[id]int{}
	out := cells[:0:0]
	for _, c := range cells {
		k := id{c.OrgID, c.Gen, c.CellKey}
		if i, ok := at[k]; ok {
			if err := out[i].Figures.Add(c.Figures); err != nil {
				return nil, err
			}
			continue
		}
		at[k] = len(out)
		out = append(out, c)
	}
	return out, nil
}

// RollUp applies the analytics deltas of up to limit stream records after
// the feed's checkpoints (a run: see the top of this file). A run held by
// another process is not an error: it reports CaughtUp and nothing done.
func (s *Store) RollUp(ctx context.Context, limit int, fold store.FoldFunc) (store.RollUpResult, error) {
	ctx, done := s.op(ctx, "RollUp")
	defer done()
	if limit <= 0 {
		limit = 1000
	}
	res, err := s.run(ctx, limit, fold, nil)
	if errors.Is(err, errBusy) {
		return res, nil
	}
	return res, err
}

// --- recounts --------------------------------------------------------------------

// recordVersion is where a record is in its history: higher is later, for
// the changes a record can have (a referral converts, or expires and may
// still convert, a conversion is refunded, deals and ledger entries count
// revisions).
func recordVersion(entity string, img []byte) (int64, error) {
	switch entity {
	case typeClick:
		return 0, nil // never changes
	case typeReferral:
		var r domain.Referral
		if err := json.Unmarshal(img, &r); err != nil {
			return 0, err
		}
		switch r.Status {
		case domain.ReferralExpired:
			return 1, nil // pending → expired (→ converted, reported late)
		case domain.ReferralConverted:
			return 2, nil
		}
		return 0, nil
	case typeConversion:
		var c domain.Conversion
		if err := json.Unmarshal(img, &c); err != nil {
			return 0, err
		}
		v := 2 * c.RefundedAmount.Amount
		if c.RefundedAt != nil {
			v++ // a refund of a conversion without a value
		}
		return v, nil
	case typeDeal:
		var d domain.Deal
		err := json.Unmarshal(img, &d)
		return d.Revision, err
	case typeCommission:
		var c commission.Commission
		err := json.Unmarshal(img, &c)
		return c.Revision, err
	}
	return 0, fmt.Errorf("dynamo: no version for %s", entity)
}

// scanned is what a recount saw: the version of every record written at
// or after since (the others cannot have changed while it read). Times
// are the records' writtenAt, which every write of a counted record sets.
type scanned struct {
	since    time.Time
	versions map[string]int64
}

// saw reports whether the recount already counted change c: the record
// was read in c's new state or later — remembered at a version past c's
// old one, or not remembered and c written before the window (a change
// written in the window after the recount read its record is not
// remembered either, but is in the window). c.At is the change's
// writtenAt; a change without one is taken as written in the window.
func (sc scanned) saw(c store.Change) (bool, error) {
	if v, ok := sc.versions[c.ID]; ok {
		if len(c.OldImage) == 0 {
			return true, nil
		}
		old, err := recordVersion(c.Entity, c.OldImage)
		return old < v, err
	}
	return !c.At.IsZero() && c.At.Before(sc.since), nil
}

// scanSource is one kind of record of an organization a recount reads: its
// sort-key range in each of the partitions holding it (the shards of a
// sharded kind, keys.go).
type scanSource struct {
	entity   string
	pks      []string
	from, to string // inclusive SK bounds
}

// recordPartitions are the partitions holding the organization's records
// of a counted kind.
func recordPartitions(orgID, entity string) []string {
	switch entity {
	case typeClick:
		return orgClicks(orgID).pks()
	case typeReferral:
		return orgReferrals(orgID).pks()
	case typeConversion:
		return orgConversions(orgID).pks()
	case typeCommission:
		return orgCommissions(orgID).pks()
	}
	return []string{orgPK(orgID)}
}

// scanOrg reads the records of sources, handing each as an INSERT change to
// visit, and remembers in sc the versions of those that changed since
// sc.since. max > 0 bounds the records read (errTooMany beyond).
func (s *Store) scanOrg(ctx context.Context, orgID string, sources []scanSource, sc *scanned, max int, visit func(store.Change) error) error {
	n := 0
	for _, src := range sources {
		for _, pk := range src.pks {
			if err := s.scanPartition(ctx, pk, src, sc, max, &n, visit); err != nil {
				return err
			}
		}
	}
	return nil
}

// scanPartition is scanOrg's read of one partition of a source.
func (s *Store) scanPartition(ctx context.Context, pk string, src scanSource, sc *scanned, max int, n *int, visit func(store.Change) error) error {
	var start item
	for {
		out, err := s.query(ctx, &dynamodb.QueryInput{
			KeyConditionExpression:    aws.String("PK = :pk AND SK BETWEEN :a AND :b"),
			ExpressionAttributeValues: item{":pk": str(pk), ":a": str(src.from), ":b": str(src.to)},
			ConsistentRead:            aws.Bool(true),
			ExclusiveStartKey:         start,
		})
		if err != nil {
			return err
		}
		for _, it := range out.Items {
			c, ok, err := ChangeFromStream("INSERT", nil, it, writtenAt(it))
			if err != nil {
				return err
			}
			if !ok || c.Entity != src.entity {
				continue
			}
			if *n++; max > 0 && *n > max {
				return errTooMany
			}
			v, err := recordVersion(c.Entity, c.NewImage)
			if err != nil {
				return err
			}
			if !c.At.Before(sc.since) {
				sc.versions[c.ID] = v
			}
			if err := visit(c); err != nil {
				return err
			}
		}
		if out.LastEvaluatedKey == nil {
			break
		}
		start = out.LastEvaluatedKey
	}
	return nil
}

var errTooMany = errors.New("dynamo: too many records to recount")

// allRecords are the partitions and sort-key ranges of every record of
// the organization the rollups count.
func allRecords(orgID string) []scanSource {
	return []scanSource{
		{typeClick, recordPartitions(orgID, typeClick), skClick, skClick + "~"},
		{typeReferral, recordPartitions(orgID, typeReferral), skReferral, skReferral + "~"},
		{typeConversion, recordPartitions(orgID, typeConversion), skConversion, skConversion + "~"},
		{typeDeal, recordPartitions(orgID, typeDeal), skDeal, skDeal + "~"},
		{typeCommission, recordPartitions(orgID, typeCommission), skCommission, skCommission + "~"},
	}
}

// accumulate sums cells by key.
type accumulate map[store.CellKey]store.Cell

func (a accumulate) add(cells []store.Cell, sign int64, keep func(store.Cell) bool) error {
	for _, c := range cells {
		if keep != nil && !keep(c) {
			continue
		}
		if sign < 0 {
			c.Figures = c.Figures.Neg()
		}
		cur, ok := a[c.CellKey]
		if !ok {
			a[c.CellKey] = c
			continue
		}
		if err := cur.Figures.Add(c.Figures); err != nil {
			return err
		}
		a[c.CellKey] = cur
	}
	return nil
}

// sorted lists the non-zero cells in key order (deterministic manifests).
func (a accumulate) sorted(gen int64) []genCell {
	out := make([]genCell, 0, len(a))
	for _, c := range a {
		if !c.Figures.IsZero() {
			out = append(out, genCell{Gen: gen, Cell: c})
		}
	}
	sort.Slice(out, func(i, j int) bool {
		a, b := out[i].CellKey, out[j].CellKey
		return fmt.Sprint(a) < fmt.Sprint(b)
	})
	return out
}

// rebuild is the special run that recounts an organization in a new
// generation and zone.
type rebuild struct {
	org     domain.Organization
	loc     *time.Location
	fold    store.FoldFunc
	cur     orgRollup // the cells' state when the run claimed the feed
	built   bool      // cur exists
	noop    bool      // another run rebuilt it in this zone meanwhile
	gen     int64     // the new generation
	recount accumulate
	seen    scanned
}

func (r *rebuild) orgID() string { return r.org.ID }

func (r *rebuild) scan(ctx context.Context, s *Store) error {
	// Read while holding the feed: nobody else changes it now.
	cur, built, err := s.orgRollup(ctx, r.org.ID)
	if err != nil {
		return err
	}
	r.cur, r.built, r.gen = cur, built, cur.gen+1
	if built && cur.zone == r.org.Zone() {
		r.noop = true
		return nil
	}
	r.seen = scanned{since: time.Now().Add(-scanMargin), versions: map[string]int64{}}
	r.recount = accumulate{}
	var batch []store.Change
	flush := func() error {
		cells, err := r.fold(batch, func(string) *time.Location { return r.loc })
		if err != nil {
			return err
		}
		batch = batch[:0]
		return r.recount.add(cells, 1, nil)
	}
	err = s.scanOrg(ctx, r.org.ID, allRecords(r.org.ID), &r.seen, 0, func(c store.Change) error {
		batch = append(batch, c)
		if len(batch) == 2000 {
			return flush()
		}
		return nil
	})
	if err != nil {
		return err
	}
	return flush()
}

func (r *rebuild) cells(changes []store.Change, fold store.FoldFunc) ([]genCell, error) {
	if r.noop {
		deltas, err := fold(changes, func(string) *time.Location { return r.cur.loc })
		if err != nil {
			return nil, err
		}
		out := make([]genCell, len(deltas))
		for i, c := range deltas {
			out[i] = genCell{Gen: r.cur.gen, Cell: c}
		}
		return out, nil
	}
	var unseen []store.Change
	for _, c := range changes {
		saw, err := r.seen.saw(c)
		if err != nil {
			return nil, err
		}
		if !saw {
			unseen = append(unseen, c)
		}
	}
	deltas, err := fold(unseen, func(string) *time.Location { return r.loc })
	if err != nil {
		return nil, err
	}
	if err := r.recount.add(deltas, 1, nil); err != nil {
		return nil, err
	}
	return r.recount.sorted(r.gen), nil
}

func (r *rebuild) flips() []orgFlip {
	if r.noop {
		return nil
	}
	return []orgFlip{{OrgID: r.org.ID, Gen: r.gen, PrevGen: r.cur.gen, Zone: r.org.Zone()}}
}

// PendingRebuilds lists organizations without cells or with cells in
// another zone than their own.
func (s *Store) PendingRebuilds(ctx context.Context) ([]domain.Organization, error) {
	ctx, done := s.op(ctx, "PendingRebuilds")
	defer done()
	var orgs []domain.Organization
	p := store.Page{Limit: store.MaxLimit}
	for {
		page, next, err := s.ListOrganizations(ctx, p)
		if err != nil {
			return nil, err
		}
		orgs = append(orgs, page...)
		if next == "" {
			break
		}
		p.Cursor = next
	}
	ids := make([]string, len(orgs))
	for i, o := range orgs {
		ids[i] = o.ID
	}
	states, err := s.orgRollups(ctx, ids)
	if err != nil {
		return nil, err
	}
	var out []domain.Organization
	for _, o := range orgs {
		if st, ok := states[o.ID]; !ok || st.zone != o.Zone() {
			out = append(out, o)
		}
	}
	return out, nil
}

// RebuildAnalytics recounts every cell of org in a new generation, in org's
// zone, as one run: the recount and the stream's changes since meet
// exactly, and the commit makes the generation current.
func (s *Store) RebuildAnalytics(ctx context.Context, org domain.Organization, fold store.FoldFunc) error {
	ctx, done := s.op(ctx, "RebuildAnalytics")
	defer done()
	loc, err := time.LoadLocation(org.Zone())
	if err != nil {
		return fmt.Errorf("dynamo: rebuild analytics of %s: %w", org.ID, err)
	}
	_, err = s.run(ctx, 0, fold, &rebuild{org: org, loc: loc, fold: fold})
	return err
}

// --- heals ------------------------------------------------------------------------

// heal is the special run that recounts an organization's recent days and
// corrects its cells by any difference.
type heal struct {
	org       string
	o         orgRollup // read once the run holds the feed
	built     bool
	from, to  string
	fold      store.FoldFunc
	recount   accumulate
	stored    []store.Cell
	seen      scanned
	skip      bool // too many records: the feed alone answers
	corrected int
}

func (h *heal) orgID() string { return h.org }

func (h *heal) inDays(c store.Cell) bool {
	return c.Grain == store.GrainDay && c.Start >= h.from && c.Start <= h.to
}

// idBound is the smallest ID with prefix created at t: IDs are prefixed
// ULIDs of their creation time, which the records' sort keys lead with.
func idBound(prefix string, t time.Time) string {
	var id ulid.ULID
	if err := id.SetTime(ulid.Timestamp(t)); err != nil {
		return prefix + "_"
	}
	return prefix + "_" + id.String()
}

func (h *heal) scan(ctx context.Context, s *Store) error {
	o, built, err := s.orgRollup(ctx, h.org)
	if err != nil {
		return err
	}
	h.o, h.built = o, built
	if !built {
		h.skip = true // the first build will count everything
		return nil
	}
	first, _ := time.ParseInLocation(store.DateLayout, h.from, h.o.loc)
	last, _ := time.ParseInLocation(store.DateLayout, h.to, h.o.loc)
	start, end := first, last.AddDate(0, 0, 1)
	// Records by their creation (their IDs' time): clicks and referrals
	// count when created, conversions are dated at most domain.ClockSkew
	// after their creation, ledger entries are created after the moment
	// they count at. Deals can be won long after they are created: all.
	lo, hi := start.Add(-10*time.Minute), end.Add(10*time.Minute)
	org := h.org
	sources := []scanSource{
		{typeClick, recordPartitions(org, typeClick), skClick + idBound("clk", lo), skClick + idBound("clk", hi)},
		{typeReferral, recordPartitions(org, typeReferral), skReferral + idBound("ref", lo), skReferral + idBound("ref", hi)},
		{typeConversion, recordPartitions(org, typeConversion), skConversion + idBound("cnv", lo.Add(-domain.ClockSkew)), skConversion + "~"},
		{typeDeal, recordPartitions(org, typeDeal), skDeal, skDeal + "~"},
		{typeCommission, recordPartitions(org, typeCommission), skCommission + skTime(lo), skCommission + "~"},
	}
	h.seen = scanned{since: time.Now().Add(-scanMargin), versions: map[string]int64{}}
	h.recount = accumulate{}
	var batch []store.Change
	flush := func() error {
		cells, err := h.fold(batch, func(string) *time.Location { return h.o.loc })
		if err != nil {
			return err
		}
		batch = batch[:0]
		return h.recount.add(cells, 1, h.inDays)
	}
	err = s.scanOrg(ctx, h.org, sources, &h.seen, maxHealRecords, func(c store.Change) error {
		batch = append(batch, c)
		if len(batch) == 2000 {
			return flush()
		}
		return nil
	})
	if errors.Is(err, errTooMany) {
		s.logger().Info("analytics: heal skipped, too many records", "organization", h.org, "days", h.from+".."+h.to)
		h.skip = true
		return nil
	}
	if err != nil {
		return err
	}
	if err := flush(); err != nil {
		return err
	}
	keys := make([]store.CellKey, 0, len(h.recount))
	for k := range h.recount {
		keys = append(keys, k)
	}
	h.stored, err = s.dayCells(ctx, h.org, h.o.gen, h.from, h.to, keys)
	return err
}

func (h *heal) cells(changes []store.Change, fold store.FoldFunc) ([]genCell, error) {
	if !h.built {
		return nil, nil // changes of an organization without cells wait for its build
	}
	loc := func(string) *time.Location { return h.o.loc }
	deltas, err := fold(changes, loc)
	if err != nil {
		return nil, err
	}
	out := make([]genCell, 0, len(deltas))
	for _, c := range deltas {
		out = append(out, genCell{Gen: h.o.gen, Cell: c})
	}
	if h.skip {
		return out, nil
	}
	// expected = stored + the changes the recount saw; the correction is
	// recount − expected.
	var saw []store.Change
	for _, c := range changes {
		ok, err := h.seen.saw(c)
		if err != nil {
			return nil, err
		}
		if ok {
			saw = append(saw, c)
		}
	}
	sawCells, err := fold(saw, loc)
	if err != nil {
		return nil, err
	}
	diff := h.recount
	if err := diff.add(h.stored, -1, h.inDays); err != nil {
		return nil, err
	}
	if err := diff.add(sawCells, -1, h.inDays); err != nil {
		return nil, err
	}
	for _, fix := range diff.sorted(h.o.gen) {
		d, err := time.Parse(store.DateLayout, fix.Start)
		if err != nil {
			return nil, err
		}
		month := fix
		month.Grain = store.GrainMonth
		month.Start = time.Date(d.Year(), d.Month(), 1, 0, 0, 0, 0, time.UTC).Format(store.DateLayout)
		out = append(out, fix, month)
		h.corrected++
	}
	return out, nil
}

func (h *heal) flips() []orgFlip { return nil }

// dayCells reads, consistently, an organization's generation's day cells
// within the days that the recount has (keys) or that the period index
// lists (referrer cells): what the heal compares its recount with. A
// cell at another level that the recount lacks would have to have no
// record left behind it, which the feed cannot produce.
func (s *Store) dayCells(ctx context.Context, orgID string, gen int64, from, to string, keys []store.CellKey) ([]store.Cell, error) {
	first, err := time.Parse(store.DateLayout, from)
	if err != nil {
		return nil, err
	}
	last, err := time.Parse(store.DateLayout, to)
	if err != nil {
		return nil, err
	}
	seen := map[string]bool{}
	var ks []item
	addKey := func(k item) {
		id := getS(k, attrPK) + "|" + getS(k, attrSK)
		if !seen[id] {
			seen[id] = true
			ks = append(ks, k)
		}
	}
	for _, k := range keys {
		addKey(cellKey(orgID, gen, k))
	}
	for d := first; !d.After(last); d = d.AddDate(0, 0, 1) {
		var start item
		for {
			out, err := s.query(ctx, &dynamodb.QueryInput{
				IndexName:                 aws.String(indexGSI1),
				KeyConditionExpression:    aws.String("GSI1PK = :pk"),
				ExpressionAttributeValues: item{":pk": str(cellPeriodPK(orgID, gen, store.LevelReferrer, store.GrainDay, d.Format(store.DateLayout)))},
				ProjectionExpression:      aws.String("PK, SK"),
				ExclusiveStartKey:         start,
			})
			if err != nil {
				return nil, err
			}
			for _, it := range out.Items {
				addKey(item{attrPK: it[attrPK], attrSK: it[attrSK]})
			}
			if out.LastEvaluatedKey == nil {
				break
			}
			start = out.LastEvaluatedKey
		}
	}
	its, err := s.batchGet(ctx, ks)
	if err != nil {
		return nil, err
	}
	out := make([]store.Cell, 0, len(its))
	for _, it := range its {
		c, err := decodeCell(it)
		if err != nil {
			return nil, err
		}
		out = append(out, c)
	}
	return out, nil
}

// HealAnalytics recounts org's day cells of the days from..to and corrects
// them (and their months) by the difference, as one run.
func (s *Store) HealAnalytics(ctx context.Context, orgID, from, to string, fold store.FoldFunc) (int, error) {
	ctx, done := s.op(ctx, "HealAnalytics")
	defer done()
	if !store.ValidDate(from) || !store.ValidDate(to) || to < from {
		return 0, fmt.Errorf("dynamo: heal analytics: bad days %q..%q", from, to)
	}
	h := &heal{org: orgID, from: from, to: to, fold: fold}
	if _, err := s.run(ctx, 0, fold, h); err != nil {
		if errors.Is(err, errBusy) {
			return 0, nil // another run holds the feed: the next heal
		}
		return 0, err
	}
	return h.corrected, nil
}

// --- reading cells ---------------------------------------------------------------------

func decodeCell(it item) (store.Cell, error) {
	// PK ORG#<org>#AN#<gen>#<level>#<dim>, SK <D|M>#<start>#<currency>.
	pk := strings.SplitN(getS(it, attrPK), "#", 6)
	sk := strings.SplitN(getS(it, attrSK), "#", 3)
	if len(pk) != 6 || pk[0] != "ORG" || pk[2] != "AN" || len(sk) != 3 {
		return store.Cell{}, fmt.Errorf("dynamo: not an analytics cell: %s|%s", getS(it, attrPK), getS(it, attrSK))
	}
	grain := store.GrainDay
	if sk[0] == "M" {
		grain = store.GrainMonth
	}
	c := store.Cell{OrgID: pk[1], ProgramID: getS(it, "programId"), PartnerID: getS(it, "partnerId"),
		CellKey: store.CellKey{Level: pk[4], DimID: pk[5], Grain: grain, Start: sk[1], Currency: sk[2]}}
	for i, v := range c.Figures.Values() {
		n, ok := it[store.FigureNames[i]].(*types.AttributeValueMemberN)
		if !ok {
			continue
		}
		x, err := strconv.ParseInt(n.Value, 10, 64)
		if err != nil {
			return c, fmt.Errorf("%w: %s %s", store.ErrOverflow, store.FigureNames[i], n.Value)
		}
		*v = x
	}
	return c, nil
}

// SumCells reads the cells q selects — by dimension value from the table
// (consistent), or for every value of a level from GSI1 period by period —
// and sums them as asked.
func (s *Store) SumCells(ctx context.Context, q store.CellQuery) ([]store.Cell, error) {
	ctx, done := s.op(ctx, "SumCells")
	defer done()
	o, ok, err := s.orgRollup(ctx, q.OrgID)
	if err != nil || !ok {
		return nil, err
	}
	if q.DimIDs != nil && len(q.DimIDs) == 0 || q.PartnerIDs != nil && len(q.PartnerIDs) == 0 {
		return nil, nil
	}
	var cells []store.Cell
	collect := func(in *dynamodb.QueryInput) error {
		for {
			out, err := s.query(ctx, in)
			if err != nil {
				return err
			}
			for _, it := range out.Items {
				c, err := decodeCell(it)
				if err != nil {
					return err
				}
				cells = append(cells, c)
			}
			if out.LastEvaluatedKey == nil {
				return nil
			}
			in.ExclusiveStartKey = out.LastEvaluatedKey
		}
	}
	g := grainCode(q.Grain)
	if q.DimIDs != nil {
		for _, dim := range q.DimIDs {
			err := collect(&dynamodb.QueryInput{
				KeyConditionExpression: aws.String("PK = :pk AND SK BETWEEN :a AND :b"),
				ExpressionAttributeValues: item{":pk": str(cellPK(q.OrgID, o.gen, q.Level, dim)),
					":a": str(g + "#" + q.From + "#"), ":b": str(g + "#" + q.To + "#~")},
				ConsistentRead: aws.Bool(true),
			})
			if err != nil {
				return nil, err
			}
		}
	} else {
		from, err := time.Parse(store.DateLayout, q.From)
		if err != nil {
			return nil, err
		}
		to, err := time.Parse(store.DateLayout, q.To)
		if err != nil {
			return nil, err
		}
		for d := from; !d.After(to); {
			err := collect(&dynamodb.QueryInput{
				IndexName:                 aws.String(indexGSI1),
				KeyConditionExpression:    aws.String("GSI1PK = :pk"),
				ExpressionAttributeValues: item{":pk": str(cellPeriodPK(q.OrgID, o.gen, q.Level, q.Grain, d.Format(store.DateLayout)))},
			})
			if err != nil {
				return nil, err
			}
			if q.Grain == store.GrainMonth {
				d = time.Date(d.Year(), d.Month()+1, 1, 0, 0, 0, 0, time.UTC)
			} else {
				d = d.AddDate(0, 0, 1)
			}
		}
	}
	return sumCells(q, cells)
}

// sumCells filters cells by q's attributes and sums them by q.GroupBy, in
// key order, failing on an overflow.
func sumCells(q store.CellQuery, cells []store.Cell) ([]store.Cell, error) {
	partners := map[string]bool{}
	for _, p := range q.PartnerIDs {
		partners[p] = true
	}
	type groupKey struct{ dim, start, currency string }
	sums := map[groupKey]*store.Cell{}
	var order []groupKey
	for _, c := range cells {
		if (q.ProgramID != "" && c.ProgramID != q.ProgramID) || (q.PartnerIDs != nil && !partners[c.PartnerID]) {
			continue
		}
		k := groupKey{currency: c.Currency}
		switch q.GroupBy {
		case store.GroupByStart:
			k.start = c.Start
		case store.GroupByDim:
			k.dim = c.DimID
		}
		sum := sums[k]
		if sum == nil {
			sum = &store.Cell{OrgID: q.OrgID, CellKey: store.CellKey{Level: q.Level, Grain: q.Grain, DimID: k.dim, Start: k.start, Currency: k.currency}}
			if q.GroupBy == store.GroupByDim {
				sum.ProgramID, sum.PartnerID = c.ProgramID, c.PartnerID
			}
			sums[k] = sum
			order = append(order, k)
		}
		if err := sum.Figures.Add(c.Figures); err != nil {
			return nil, err
		}
	}
	sort.Slice(order, func(i, j int) bool {
		a, b := order[i], order[j]
		if a.dim != b.dim {
			return a.dim < b.dim
		}
		if a.start != b.start {
			return a.start < b.start
		}
		return a.currency < b.currency
	})
	out := make([]store.Cell, len(order))
	for i, k := range order {
		out[i] = *sums[k]
	}
	return out, nil
}

// AnalyticsState reports org's zone and the feed's freshness.
func (s *Store) AnalyticsState(ctx context.Context, orgID string) (store.AnalyticsState, error) {
	ctx, done := s.op(ctx, "AnalyticsState")
	defer done()
	st := store.AnalyticsState{OrgID: orgID}
	o, ok, err := s.orgRollup(ctx, orgID)
	if err != nil || !ok {
		return st, err
	}
	feed, err := s.readFeed(ctx)
	if err != nil {
		return st, err
	}
	st.TimeZone, st.AsOf = o.zone, feed.AsOf
	return st, nil
}
