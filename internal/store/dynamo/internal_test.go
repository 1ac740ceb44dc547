package dynamo

import (
	"context"
	"encoding/base64"
	"encoding/json"
	"errors"
	"strings"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb/types"
	"github.com/aws/smithy-go"

	"github.com/partnerloop/partnerloop/internal/store"
)

func canceled(codes ...string) error {
	tce := &types.TransactionCanceledException{Message: aws.String("Transaction cancelled")}
	for _, c := range codes {
		tce.CancellationReasons = append(tce.CancellationReasons, types.CancellationReason{Code: aws.String(c)})
	}
	// As the SDK returns it: wrapped in an operation error.
	return &smithy.OperationError{ServiceID: "DynamoDB", OperationName: "TransactWriteItems", Err: tce}
}

func TestMapErr(t *testing.T) {
	other := errors.New("connection reset")
	for _, tc := range []struct {
		name   string
		err    error
		onFail []error
		want   error // nil: the result must be nil
		not    []error
	}{
		{"nil", nil, nil, nil, nil},
		{"sentinel passes", store.ErrNotFound, nil, store.ErrNotFound, nil},
		{"failed condition is a conflict by default", &types.ConditionalCheckFailedException{}, nil, store.ErrConflict, nil},
		{"failed condition as the caller says", &types.ConditionalCheckFailedException{}, []error{store.ErrNotFound}, store.ErrNotFound, nil},
		{"cancelled: the failed item's meaning", canceled("None", "ConditionalCheckFailed", "None"),
			[]error{store.ErrConflict, errDuplicateVisit, store.ErrNotFound}, errDuplicateVisit, nil},
		{"cancelled: a taken value outranks a missing record", canceled("ConditionalCheckFailed", "ConditionalCheckFailed"),
			[]error{store.ErrNotFound, store.ErrConflict}, store.ErrConflict, nil},
		{"cancelled: a taken value outranks a referral no longer pending", canceled("None", "ConditionalCheckFailed", "ConditionalCheckFailed"),
			[]error{nil, nil, errNotPending}, store.ErrConflict, nil},
		{"cancelled: default meaning is a conflict", canceled("ConditionalCheckFailed"), nil, store.ErrConflict, nil},
		{"cancelled by a concurrent transaction: retry", canceled("None", "TransactionConflict"), nil, errRetryable, []error{store.ErrConflict}},
		{"cancelled by throttling: retry", canceled("ThrottlingError"), nil, errRetryable, nil},
		{"a failed condition outranks a conflict", canceled("TransactionConflict", "ConditionalCheckFailed"), nil, store.ErrConflict, []error{errRetryable}},
		{"cancelled for another reason", canceled("ValidationError"), nil, nil, []error{store.ErrConflict, store.ErrNotFound, errRetryable}},
		{"conflict outside a transaction: retry", &types.TransactionConflictException{}, nil, errRetryable, nil},
		{"missing table is not a missing record", &types.ResourceNotFoundException{}, nil, nil, []error{store.ErrNotFound}},
		{"other errors are wrapped", other, nil, other, []error{store.ErrNotFound, store.ErrConflict}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			got := mapErr(tc.err, tc.onFail...)
			if tc.err == nil {
				if got != nil {
					t.Fatalf("mapErr(nil) = %v", got)
				}
				return
			}
			if got == nil {
				t.Fatalf("mapErr(%v) = nil", tc.err)
			}
			if tc.want != nil && !errors.Is(got, tc.want) {
				t.Errorf("mapErr(%v) = %v, want %v", tc.err, got, tc.want)
			}
			for _, n := range tc.not {
				if errors.Is(got, n) {
					t.Errorf("mapErr(%v) = %v, must not be %v", tc.err, got, n)
				}
			}
		})
	}
}

func TestRetry(t *testing.T) {
	defer func(first, most time.Duration) { firstBackoff, maxBackoff = first, most }(firstBackoff, maxBackoff)
	firstBackoff, maxBackoff = time.Millisecond, 2*time.Millisecond
	ctx := context.Background()
	n := 0
	err := retry(ctx, func() error {
		n++
		if n < 3 {
			return errRetryable
		}
		return store.ErrConflict
	})
	if !errors.Is(err, store.ErrConflict) || n != 3 {
		t.Errorf("retry: %v after %d attempts, want store.ErrConflict after 3", err, n)
	}
	n = 0
	err = retry(ctx, func() error { n++; return errRetryable })
	if !errors.Is(err, errRetryable) || n != maxAttempts {
		t.Errorf("retry of a write that always conflicts: %v after %d attempts, want errRetryable after %d", err, n, maxAttempts)
	}
	cctx, cancel := context.WithCancel(ctx)
	cancel()
	start := time.Now()
	err = retry(cctx, func() error { return errRetryable })
	if !errors.Is(err, context.Canceled) || time.Since(start) > time.Second {
		t.Errorf("retry with a cancelled context: %v", err)
	}
}

func TestCursor(t *testing.T) {
	q := sharded("org_A", indexGSI1, programReferrals("org_A", "prg_1"), skReferral)
	q.filters = map[string]string{"status": "pending"}
	last := item{
		attrPK: str(getS(referralKey("org_A", "rfl_2"), attrPK)), attrSK: str(skReferral + "rfl_2"),
		attrGSI1PK: str(programReferrals("org_A", "prg_1").pk("rfl_2")), attrGSI1SK: str(skReferral + "rfl_2"),
		"status": str("pending"),
	}
	c := q.encodeCursor(last)
	after, err := q.decodeCursor(c)
	if err != nil {
		t.Fatalf("decodeCursor(own cursor): %v", err)
	}
	if after != skReferral+"rfl_2" {
		t.Errorf("decodeCursor = %q, want the index sort key of the last item", after)
	}

	// The same cursor on other lists.
	withFilter := func(l list, f map[string]string) list { l.filters = f; return l }
	for name, other := range map[string]list{
		"another organization": withFilter(sharded("org_B", indexGSI1, programReferrals("org_B", "prg_1"), skReferral), q.filters),
		"another program":      withFilter(sharded("org_A", indexGSI1, programReferrals("org_A", "prg_2"), skReferral), q.filters),
		"another filter":       withFilter(q, map[string]string{"status": "converted"}),
		"another kind":         withFilter(sharded("org_A", indexGSI1, programReferrals("org_A", "prg_1"), skConversion), q.filters),
		"the table":            withFilter(sharded("org_A", "", orgReferrals("org_A"), skReferral), q.filters),
		"another range":        func() list { l := q; l.lo, l.hi = skReferral, skReferral+"~"; return l }(),
	} {
		if _, err := other.decodeCursor(c); !errors.Is(err, store.ErrBadCursor) {
			t.Errorf("cursor used on %s: %v, want store.ErrBadCursor", name, err)
		}
	}

	// Forged cursors with the right query id but a sort key outside the list.
	forge := func(v int, sk string) string {
		b, _ := json.Marshal(cursor{V: v, Q: q.id(), S: sk})
		return base64.RawURLEncoding.EncodeToString(b)
	}
	if _, err := q.decodeCursor(forge(cursorVersion, skReferral+"rfl_2")); err != nil {
		t.Fatalf("decodeCursor(well-formed forged cursor): %v", err)
	}
	for name, c := range map[string]string{
		"another kind of record": forge(cursorVersion, skUser+"usr_1"),
		"a bare prefix":          forge(cursorVersion, skReferral),
		"an empty cursor":        "",
		"an empty object":        "e30",
		"an unknown field":       base64.RawURLEncoding.EncodeToString([]byte(`{"v":2,"q":"` + q.id() + `","s":"REFERRAL#rfl_2","x":1}`)),
		"another version":        forge(1, skReferral+"rfl_2"),
		"not base64":             "not-a-cursor!",
	} {
		if _, err := q.decodeCursor(c); !errors.Is(err, store.ErrBadCursor) {
			t.Errorf("forged cursor with %s: %v, want store.ErrBadCursor", name, err)
		}
	}
	ranged := q
	ranged.lo, ranged.hi = skReferral+"rfl_1", skReferral+"rfl_3"
	for sk, ok := range map[string]bool{skReferral + "rfl_2": true, skReferral + "rfl_0": false, skReferral + "rfl_4": false} {
		b, _ := json.Marshal(cursor{V: cursorVersion, Q: ranged.id(), S: sk})
		_, err := ranged.decodeCursor(base64.RawURLEncoding.EncodeToString(b))
		if (err == nil) != ok {
			t.Errorf("cursor %s on the range rfl_1..rfl_3: %v", sk, err)
		}
	}
}

func TestKeyPart(t *testing.T) {
	if got := keyPart("Ada@Example.com"); got != "Ada@Example.com" {
		t.Errorf("keyPart(short) = %q, want it unchanged", got)
	}
	long := strings.Repeat("x", maxKeyPart+1)
	if got := keyPart(long); !strings.HasPrefix(got, "sha256:") || len(got) != 7+64 {
		t.Errorf("keyPart(long) = %q, want its SHA-256", got)
	}
	if keyPart(long) == keyPart(long+"y") {
		t.Error("keyPart maps two long values to one key")
	}
	if got := keyPart("\xff\xfe"); !strings.HasPrefix(got, "sha256:") {
		t.Errorf("keyPart(invalid UTF-8) = %q, want its SHA-256", got)
	}
}

func TestTimesAreUTCWithNanoseconds(t *testing.T) {
	at := time.Date(2025, 3, 1, 10, 30, 15, 123456789, time.FixedZone("CET", 3600))
	it, err := record(struct {
		At time.Time `json:"at"`
	}{at}, "x")
	if err != nil {
		t.Fatal(err)
	}
	if got := getS(it, "at"); got != "2025-03-01T09:30:15.123456789Z" {
		t.Errorf("stored time = %q, want RFC 3339 in UTC with nanoseconds", got)
	}
	var back struct {
		At time.Time `json:"at"`
	}
	if err := decode(it, &back); err != nil {
		t.Fatal(err)
	}
	if !back.At.Equal(at) || back.At.Location() != time.UTC {
		t.Errorf("decoded time = %v, want %v in UTC", back.At, at)
	}
}
