package dynamo

import (
	"fmt"
	"strconv"
	"time"

	"github.com/aws/aws-sdk-go-v2/feature/dynamodb/attributevalue"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb/types"
)

// Records are encoded by their JSON field names (the API's and the stream
// consumers' names); fields tagged json:"-" are left out and stored by the
// methods under their own attributes.
var (
	encoder = attributevalue.NewEncoder(func(o *attributevalue.EncoderOptions) {
		o.TagKey = "json"
		o.EncodeTime = func(t time.Time) (types.AttributeValue, error) { return str(formatTime(t)), nil }
	})
	decoder = attributevalue.NewDecoder(func(o *attributevalue.DecoderOptions) {
		o.TagKey = "json"
		o.DecodeTime.S = parseTime
	})
)

// formatTime is RFC 3339 with nanoseconds, in UTC.
func formatTime(t time.Time) string { return t.UTC().Format(time.RFC3339Nano) }

func parseTime(s string) (time.Time, error) {
	t, err := time.Parse(time.RFC3339Nano, s)
	if err != nil {
		return time.Time{}, fmt.Errorf("dynamo: bad timestamp %q: %w", s, err)
	}
	return t.UTC(), nil
}

func str(s string) types.AttributeValue { return &types.AttributeValueMemberS{Value: s} }

func num(n int64) types.AttributeValue {
	return &types.AttributeValueMemberN{Value: strconv.FormatInt(n, 10)}
}

// getS returns the string attribute name of it ("" if absent or not S).
func getS(it item, name string) string {
	if v, ok := it[name].(*types.AttributeValueMemberS); ok {
		return v.Value
	}
	return ""
}

// record encodes a domain record as an item of type typ with the given key
// attributes.
func record(v any, typ string, keys ...item) (item, error) {
	av, err := encoder.Encode(v)
	if err != nil {
		return nil, fmt.Errorf("dynamo: encode %s: %w", typ, err)
	}
	m, ok := av.(*types.AttributeValueMemberM)
	if !ok {
		return nil, fmt.Errorf("dynamo: encode %s: got %T, want a map", typ, av)
	}
	it := m.Value
	for _, k := range keys {
		for name, v := range k {
			it[name] = v
		}
	}
	it[attrType] = str(typ)
	if countedEntity(typ) {
		// When this write happened, on the writer's clock: what tells the
		// analytics recounts which changes they may have seen (analytics.go).
		it[attrWrittenAt] = str(formatTime(time.Now()))
	}
	return it, nil
}

// attrWrittenAt is the time of a counted record's last write.
const attrWrittenAt = "writtenAt"

// writtenAt reads it (the zero time when absent: written before it was kept).
func writtenAt(it item) time.Time {
	t, err := parseTime(getS(it, attrWrittenAt))
	if err != nil {
		return time.Time{}
	}
	return t
}

// decode decodes an item into a domain record; attributes the record has no
// field for (keys, type, hashes) are ignored.
func decode(it item, v any) error {
	if err := decoder.Decode(&types.AttributeValueMemberM{Value: it}, v); err != nil {
		return fmt.Errorf("dynamo: decode %s item: %w", getS(it, attrType), err)
	}
	return nil
}

// decodeAs decodes an item into a new T.
func decodeAs[T any](it item) (T, error) {
	var v T
	err := decode(it, &v)
	return v, err
}

// getN returns a number attribute as an int64 (0 when it is missing).
func getN(it item, name string) (int64, error) {
	v, ok := it[name].(*types.AttributeValueMemberN)
	if !ok {
		return 0, nil
	}
	return strconv.ParseInt(v.Value, 10, 64)
}
