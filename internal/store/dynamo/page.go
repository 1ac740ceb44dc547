package dynamo

import (
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/base64"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"maps"
	"slices"
	"strings"
	"sync"
	"unicode/utf8"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb"

	"github.com/partnerloop/partnerloop/internal/store"
)

// list is one list query: the records of one kind (sort keys starting with
// prefix) in one or more partitions of the table or of an index (the
// shards of a sharded partition, keys.go), newest first, with optional
// equality filters on other attributes and an optional sort-key range.
//
// Every listed record has a sort key unique within its list (the kind's
// prefix and the record's ULID-based id, or a ledger entry's time and id),
// so the sort key of the last record of a page is where the next page
// starts, in every shard.
type list struct {
	orgID   string
	index   string   // "", indexGSI1 or indexGSI2
	pks     []string // partition key values (of the index when index != ""): the shards
	prefix  string   // sort-key prefix: the kind of record
	filters map[string]string
	// lo and hi, when hi is set, bound the sort keys (inclusive).
	lo, hi string
	// dateAttr, when set, is a time attribute filtered to [from, to)
	// (whole-second bounds, "" open): store.Match's date range.
	dateAttr, from, to string
}

// one is a list of one partition.
func one(orgID, index, pk, prefix string) list {
	return list{orgID: orgID, index: index, pks: []string{pk}, prefix: prefix}
}

// sharded is a list of every shard of a sharded partition.
func sharded(orgID, index string, set shardSet, prefix string) list {
	return list{orgID: orgID, index: index, pks: set.pks(), prefix: prefix}
}

func (q list) keyAttrs() (pk, sk string) {
	switch q.index {
	case indexGSI1:
		return attrGSI1PK, attrGSI1SK
	case indexGSI2:
		return attrGSI2PK, attrGSI2SK
	}
	return attrPK, attrSK
}

// id names the query in its cursors, so a cursor of another list (another
// organization, program, filter, range) is refused.
func (q list) id() string {
	var b strings.Builder
	b.WriteString(q.orgID + "\x00" + q.index + "\x00" + strings.Join(q.pks, ",") + "\x00" + q.prefix + "\x00" + q.lo + "\x00" + q.hi)
	if q.from != "" || q.to != "" { // (so that the cursors of lists without dates stay as they were)
		b.WriteString("\x00" + q.dateAttr + "\x00" + q.from + "\x00" + q.to)
	}
	for _, k := range slices.Sorted(maps.Keys(q.filters)) {
		b.WriteString("\x00" + k + "=" + q.filters[k])
	}
	sum := sha256.Sum256([]byte(b.String()))
	return hex.EncodeToString(sum[:8])
}

// cursor is what a NextCursor encodes: the sort key of the last record of
// the page (the next page reads the sort keys below it in every shard) and
// the id of the query it belongs to.
type cursor struct {
	V int    `json:"v"`
	Q string `json:"q"`
	S string `json:"s"`
}

// cursorVersion 2: the sort key only (version 1, of the unsharded layout,
// held the last item's whole key).
const cursorVersion = 2

func (q list) encodeCursor(last item) string {
	_, skA := q.keyAttrs()
	b, _ := json.Marshal(cursor{V: cursorVersion, Q: q.id(), S: getS(last, skA)})
	return base64.RawURLEncoding.EncodeToString(b)
}

// decodeCursor returns the sort key a cursor stands for, or
// store.ErrBadCursor unless the cursor is one this query issued (same query
// id) naming a record of the list's kind within the list's range.
func (q list) decodeCursor(c string) (string, error) {
	raw, err := base64.RawURLEncoding.DecodeString(c)
	if err != nil {
		return "", store.ErrBadCursor
	}
	dec := json.NewDecoder(bytes.NewReader(raw))
	dec.DisallowUnknownFields()
	var cur cursor
	if err := dec.Decode(&cur); err != nil || dec.More() || cur.V != cursorVersion || cur.Q != q.id() {
		return "", store.ErrBadCursor
	}
	sk := cur.S
	if !strings.HasPrefix(sk, q.prefix) || len(sk) == len(q.prefix) || !utf8.ValidString(sk) ||
		(q.hi != "" && (sk < q.lo || sk > q.hi)) {
		return "", store.ErrBadCursor
	}
	return sk, nil
}

// shardRead is where a page stands in one shard: the records read and
// not yet merged, and where the next Query starts.
type shardRead struct {
	pk    string
	buf   []item
	start item
	done  bool
}

// page runs the query for one page of p: it reads every shard, newest
// first, and merges them by sort key until it has the page and one record
// more (to know whether there is a next page). Each shard is first read in
// parallel for its share of the page (ids spread evenly over the shards)
// and read again only when its records run out while it may still hold the
// next one, Query after Query when filters drop records (DynamoDB applies
// Limit before the filter).
func page[T any](ctx context.Context, s *Store, q list, p store.Page, dec func(item) (T, error)) ([]T, string, error) {
	items, next, err := q.read(ctx, s, p)
	if err != nil {
		return nil, "", err
	}
	recs := make([]T, 0, len(items))
	for _, it := range items {
		r, err := dec(it)
		if err != nil {
			return nil, "", err
		}
		recs = append(recs, r)
	}
	return recs, next, nil
}

// expr is the query's key condition for the sort keys lo to hi (all of
// the kind when hi is ""), with its names and values (":pk" left to set),
// and its filter's conditions (ANDed).
func (q list) expr(lo, hi string) (cond string, names map[string]string, values item, filter []string) {
	pkA, skA := q.keyAttrs()
	names = map[string]string{"#pk": pkA, "#sk": skA}
	values = item{}
	cond = "#pk = :pk AND begins_with(#sk, :prefix)"
	if hi != "" {
		cond = "#pk = :pk AND #sk BETWEEN :lo AND :hi"
		values[":lo"], values[":hi"] = str(lo), str(hi)
	} else {
		values[":prefix"] = str(q.prefix)
	}
	for i, k := range slices.Sorted(maps.Keys(q.filters)) {
		n, v := fmt.Sprintf("#f%d", i), fmt.Sprintf(":f%d", i)
		names[n], values[v] = k, str(q.filters[k])
		filter = append(filter, n+" = "+v)
	}
	if q.dateAttr != "" && (q.from != "" || q.to != "") {
		names["#date"] = q.dateAttr
		if q.from != "" {
			values[":from"] = str(q.from)
			filter = append(filter, "#date >= :from")
		}
		if q.to != "" {
			values[":to"] = str(q.to)
			filter = append(filter, "#date < :to")
		}
	}
	return cond, names, values, filter
}

// count counts the query's records (Select COUNT, every shard in
// parallel, each read until it ends or the total passes store.MaxCount).
func (q list) count(ctx context.Context, s *Store) (int, bool, error) {
	cond, names, values, filter := q.expr(q.lo, q.hi)
	errs := make([]error, len(q.pks))
	var total sync.Mutex
	sum := 0
	var wg sync.WaitGroup
	for i, pk := range q.pks {
		wg.Add(1)
		go func() {
			defer wg.Done()
			vals := maps.Clone(values)
			vals[":pk"] = str(pk)
			var start item
			for {
				in := &dynamodb.QueryInput{
					KeyConditionExpression: aws.String(cond), ExpressionAttributeNames: names, ExpressionAttributeValues: vals,
					Select: "COUNT", ExclusiveStartKey: start,
				}
				if q.index != "" {
					in.IndexName = aws.String(q.index)
				}
				if len(filter) > 0 {
					in.FilterExpression = aws.String(strings.Join(filter, " AND "))
				}
				out, err := s.query(ctx, in)
				if err != nil {
					errs[i] = err
					return
				}
				total.Lock()
				sum += int(out.Count)
				enough := sum > store.MaxCount
				total.Unlock()
				if len(out.LastEvaluatedKey) == 0 || enough {
					return
				}
				start = out.LastEvaluatedKey
			}
		}()
	}
	wg.Wait()
	if err := errors.Join(errs...); err != nil {
		return 0, false, err
	}
	if sum > store.MaxCount {
		return store.MaxCount, true, nil
	}
	return sum, false, nil
}

func (q list) read(ctx context.Context, s *Store, p store.Page) ([]item, string, error) {
	p = p.Clamp()
	lo, hi, after := q.lo, q.hi, ""
	if p.Cursor != "" {
		var err error
		if after, err = q.decodeCursor(p.Cursor); err != nil {
			return nil, "", err
		}
		hi = after // BETWEEN is inclusive: the cursor's own record is dropped
		if lo == "" {
			lo = q.prefix
		}
	}
	if hi != "" && lo > hi {
		return nil, "", nil // an empty range
	}
	_, skA := q.keyAttrs()
	cond, names, values, filter := q.expr(lo, hi)
	want := p.Limit + 1
	// Each shard's share of the page, and one more: ids spread evenly.
	limit := want
	if n := len(q.pks); n > 1 {
		limit = (want+n-1)/n + 1
	}
	if len(filter) > 0 {
		limit = min(max(4*limit, 25), 1000) // filtered records cost reads all the same: read ahead
	}
	fetch := func(sh *shardRead) error {
		vals := maps.Clone(values)
		vals[":pk"] = str(sh.pk)
		in := &dynamodb.QueryInput{
			KeyConditionExpression:    aws.String(cond),
			ExpressionAttributeNames:  names,
			ExpressionAttributeValues: vals,
			ScanIndexForward:          aws.Bool(false),
			Limit:                     aws.Int32(int32(limit)),
			ExclusiveStartKey:         sh.start,
		}
		if q.index != "" {
			in.IndexName = aws.String(q.index)
		} else {
			in.ConsistentRead = aws.Bool(true)
		}
		if len(filter) > 0 {
			in.FilterExpression = aws.String(strings.Join(filter, " AND "))
		}
		out, err := s.query(ctx, in)
		if err != nil {
			return err
		}
		for _, it := range out.Items {
			if after == "" || getS(it, skA) != after {
				sh.buf = append(sh.buf, it)
			}
		}
		sh.start, sh.done = out.LastEvaluatedKey, len(out.LastEvaluatedKey) == 0
		return nil
	}
	shards := make([]*shardRead, len(q.pks))
	for i, pk := range q.pks {
		shards[i] = &shardRead{pk: pk}
	}
	// refill reads, in parallel, every shard that has nothing buffered and
	// may hold more.
	refill := func() error {
		var empty []*shardRead
		for _, sh := range shards {
			if len(sh.buf) == 0 && !sh.done {
				empty = append(empty, sh)
			}
		}
		if len(empty) == 1 {
			return fetch(empty[0])
		}
		errs := make([]error, len(empty))
		var wg sync.WaitGroup
		for i, sh := range empty {
			wg.Add(1)
			go func() {
				defer wg.Done()
				errs[i] = fetch(sh)
			}()
		}
		wg.Wait()
		return errors.Join(errs...)
	}
	var items []item
	for len(items) < want {
		// A shard with nothing buffered may hold the next record: read it
		// first (a shard whose Query stopped on filtered records, with an
		// empty page, is read again).
		for slices.ContainsFunc(shards, func(sh *shardRead) bool { return len(sh.buf) == 0 && !sh.done }) {
			if err := refill(); err != nil {
				return nil, "", err
			}
		}
		var top *shardRead
		for _, sh := range shards {
			if len(sh.buf) > 0 && (top == nil || getS(sh.buf[0], skA) > getS(top.buf[0], skA)) {
				top = sh
			}
		}
		if top == nil {
			break // every shard read to its end
		}
		items = append(items, top.buf[0])
		top.buf = top.buf[1:]
	}
	next := ""
	if len(items) > p.Limit {
		items = items[:p.Limit]
		next = q.encodeCursor(items[len(items)-1])
	}
	return items, next, nil
}
