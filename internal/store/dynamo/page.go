package dynamo

import (
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/base64"
	"encoding/hex"
	"encoding/json"
	"maps"
	"slices"
	"strings"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb"

	"github.com/partnerloop/partnerloop/internal/store"
)

// list is one list query: the records of one kind (sort keys starting with
// prefix) in one partition of the table or of an index, newest first, with
// optional equality filters on other attributes.
//
// Every listed record lives in its organization's partition (PK = ORG#<org>)
// and has the same sort key in the table and in its indexes (the kind's
// prefix and the record's ULID-based id), which is what cursors are checked
// against.
type list struct {
	orgID   string
	index   string // "", indexGSI1 or indexGSI2
	pk      string // partition key value (of the index when index != "")
	prefix  string // sort-key prefix: the kind of record
	filters map[string]string
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
// organization, program, filter) is refused.
func (q list) id() string {
	var b strings.Builder
	b.WriteString(q.index + "\x00" + q.pk + "\x00" + q.prefix)
	for _, k := range slices.Sorted(maps.Keys(q.filters)) {
		b.WriteString("\x00" + k + "=" + q.filters[k])
	}
	sum := sha256.Sum256([]byte(b.String()))
	return hex.EncodeToString(sum[:8])
}

// cursor is what a NextCursor encodes: the primary (and index) key of the
// last record of the page — the ExclusiveStartKey of the next Query — and
// the id of the query it belongs to.
type cursor struct {
	V int               `json:"v"`
	Q string            `json:"q"`
	K map[string]string `json:"k"`
}

const cursorVersion = 1

func (q list) encodeCursor(last item) string {
	pkA, skA := q.keyAttrs()
	k := map[string]string{attrPK: getS(last, attrPK), attrSK: getS(last, attrSK)}
	if q.index != "" {
		k[pkA], k[skA] = getS(last, pkA), getS(last, skA)
	}
	b, _ := json.Marshal(cursor{V: cursorVersion, Q: q.id(), K: k})
	return base64.RawURLEncoding.EncodeToString(b)
}

// decodeCursor returns the ExclusiveStartKey a cursor stands for, or
// store.ErrBadCursor unless the cursor is one this query issued (same query
// id) naming a record of the list's kind in the list's partition.
func (q list) decodeCursor(c string) (item, error) {
	raw, err := base64.RawURLEncoding.DecodeString(c)
	if err != nil {
		return nil, store.ErrBadCursor
	}
	dec := json.NewDecoder(bytes.NewReader(raw))
	dec.DisallowUnknownFields()
	var cur cursor
	if err := dec.Decode(&cur); err != nil || dec.More() || cur.V != cursorVersion || cur.Q != q.id() {
		return nil, store.ErrBadCursor
	}
	pkA, skA := q.keyAttrs()
	want := 2
	if q.index != "" {
		want = 4
	}
	sk := cur.K[attrSK]
	if len(cur.K) != want || cur.K[attrPK] != orgPK(q.orgID) || cur.K[pkA] != q.pk ||
		!strings.HasPrefix(sk, q.prefix) || len(sk) == len(q.prefix) || cur.K[skA] != sk {
		return nil, store.ErrBadCursor
	}
	start := item{}
	for name, v := range cur.K {
		start[name] = str(v)
	}
	return start, nil
}

// page runs the query for one page of p: it reads until it has the page and
// one record more (to know whether there is a next page), Query after Query
// when filters drop records (DynamoDB applies Limit before the filter).
func page[T any](ctx context.Context, s *Store, q list, p store.Page, dec func(item) (T, error)) ([]T, string, error) {
	p = p.Clamp()
	var start item
	if p.Cursor != "" {
		var err error
		if start, err = q.decodeCursor(p.Cursor); err != nil {
			return nil, "", err
		}
	}
	pkA, skA := q.keyAttrs()
	names := map[string]string{"#pk": pkA, "#sk": skA}
	values := item{":pk": str(q.pk), ":prefix": str(q.prefix)}
	var filter []string
	for i, k := range slices.Sorted(maps.Keys(q.filters)) {
		n, v := "#f"+string(rune('0'+i)), ":f"+string(rune('0'+i))
		names[n], values[v] = k, str(q.filters[k])
		filter = append(filter, n+" = "+v)
	}
	want := p.Limit + 1
	var items []item
	for len(items) < want {
		limit := want - len(items)
		if len(filter) > 0 {
			// Filtered records cost reads all the same: read ahead.
			limit = min(max(4*limit, 25), 1000)
		}
		in := &dynamodb.QueryInput{
			KeyConditionExpression:    aws.String("#pk = :pk AND begins_with(#sk, :prefix)"),
			ExpressionAttributeNames:  names,
			ExpressionAttributeValues: values,
			ScanIndexForward:          aws.Bool(false),
			Limit:                     aws.Int32(int32(limit)),
			ExclusiveStartKey:         start,
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
			return nil, "", err
		}
		items = append(items, out.Items...)
		if len(out.LastEvaluatedKey) == 0 {
			break
		}
		start = out.LastEvaluatedKey
	}
	next := ""
	if len(items) > p.Limit {
		items = items[:p.Limit]
		next = q.encodeCursor(items[len(items)-1])
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
