package dynamo

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"errors"
	"strconv"
	"time"

	"github.com/aws/aws-sdk-go-v2/service/dynamodb/types"

	"github.com/partnerloop/partnerloop/internal/store"
)

// Throttles (sign-in and invitation protection): one item per key,
// THROTTLE#<key> / THROTTLE, with failures, notBefore, expiresAtMs (the
// expiry in Unix milliseconds, which conditions compare) and ttl (the same
// in seconds, for the table's lazy TTL). A compare-and-set is a PutItem on
// condition that the item still counts the failures read — or, when none
// were read, that it is absent, at zero or expired. Each write carries a
// random rev, so a retried write that had landed is told from another
// writer's identical one (putIf).

const typeThrottle = "throttle"

var _ store.Throttles = (*Store)(nil)

func throttleKey(k string) item { return key("THROTTLE#"+keyPart(k), "THROTTLE") }

// expiresMs is the expiry as conditions see it; a record is expired at now
// when expiresMs ≤ now in whole milliseconds, which for a whole-millisecond
// expiry is exactly ExpiresAt ≤ now.
func expiresMs(t time.Time) int64 { return t.UnixMilli() }

func decodeThrottle(it item, now time.Time) (store.Throttle, error) {
	n, ok1 := it["failures"].(*types.AttributeValueMemberN)
	ms, ok2 := it["expiresAtMs"].(*types.AttributeValueMemberN)
	if !ok1 || !ok2 {
		return store.Throttle{}, errors.New("dynamo: throttle item without failures or expiresAtMs")
	}
	var t store.Throttle
	var err error
	if t.Failures, err = strconv.ParseInt(n.Value, 10, 64); err != nil {
		return store.Throttle{}, err
	}
	exp, err := strconv.ParseInt(ms.Value, 10, 64)
	if err != nil {
		return store.Throttle{}, err
	}
	t.ExpiresAt = time.UnixMilli(exp).UTC()
	if t.NotBefore, err = parseTime(getS(it, "notBefore")); err != nil {
		return store.Throttle{}, err
	}
	if !now.Before(t.ExpiresAt) {
		return store.Throttle{}, nil
	}
	return t, nil
}

// GetThrottle reads key's record (consistently); zero when absent or
// expired at now.
func (s *Store) GetThrottle(ctx context.Context, k string, now time.Time) (store.Throttle, error) {
	ctx, done := s.op(ctx, "GetThrottle")
	defer done()
	it, err := s.getItem(ctx, throttleKey(k))
	if errors.Is(err, store.ErrNotFound) {
		return store.Throttle{}, nil
	}
	if err != nil {
		return store.Throttle{}, err
	}
	return decodeThrottle(it, now)
}

// SetThrottle puts t under key on condition that the record still counts
// expected failures at now.
func (s *Store) SetThrottle(ctx context.Context, k string, expected int64, now time.Time, t store.Throttle) error {
	ctx, done := s.op(ctx, "SetThrottle")
	defer done()
	var rev [8]byte
	_, _ = rand.Read(rev[:])
	it := throttleKey(k)
	it[attrType] = str(typeThrottle)
	it["failures"] = num(t.Failures)
	it["notBefore"] = str(formatTime(t.NotBefore))
	it["expiresAtMs"] = num(expiresMs(t.ExpiresAt))
	it[attrTTL] = num((expiresMs(t.ExpiresAt) + 999) / 1000) // never before the expiry
	it["rev"] = str(hex.EncodeToString(rev[:]))
	names := map[string]string{"#f": "failures", "#exp": "expiresAtMs"}
	values := item{":f": num(expected), ":now": num(now.UnixMilli())}
	cond := "#f = :f AND #exp > :now"
	if expected == 0 {
		cond = "attribute_not_exists(PK) OR #f = :f OR #exp <= :now"
	}
	err := s.putIf(ctx, it, cond, names, values, store.ErrConflict)
	if errors.Is(err, store.ErrNotFound) { // the record was deleted meanwhile
		return store.ErrConflict
	}
	return err
}

// DeleteThrottle deletes key's item.
func (s *Store) DeleteThrottle(ctx context.Context, k string) error {
	ctx, done := s.op(ctx, "DeleteThrottle")
	defer done()
	return s.del(ctx, throttleKey(k))
}
