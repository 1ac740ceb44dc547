package dynamo_test

import (
	"context"
	"errors"
	"fmt"
	"os"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/service/dynamodb"
	"github.com/aws/aws-sdk-go-v2/service/dynamodbstreams"

	"github.com/partnerloop/partnerloop/internal/commission"
	"github.com/partnerloop/partnerloop/internal/domain"
	"github.com/partnerloop/partnerloop/internal/dynamolocal"
	"github.com/partnerloop/partnerloop/internal/store"
	"github.com/partnerloop/partnerloop/internal/store/dynamo"
	"github.com/partnerloop/partnerloop/internal/store/storetest"
)

// client talks to the one DynamoDB Local that TestMain starts for the
// package's tests.
var client *dynamodb.Client

// streams reads the tables' streams (the analytics feed).
var streams *dynamodbstreams.Client

func TestMain(m *testing.M) {
	srv, err := dynamolocal.StartServer()
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		os.Exit(1)
	}
	client = dynamolocal.Client(srv.Endpoint)
	streams = dynamolocal.StreamsClient(srv.Endpoint)
	code := m.Run()
	srv.Stop()
	os.Exit(code)
}

var tableSeq atomic.Int64

// newTable creates a table of its own for t, as template.yaml defines it,
// and deletes it when t ends.
func newTable(t *testing.T) string {
	t.Helper()
	name := fmt.Sprintf("test-%d-%d", time.Now().UnixNano(), tableSeq.Add(1))
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	if err := dynamo.CreateTable(ctx, client, name); err != nil {
		t.Fatalf("CreateTable: %v", err)
	}
	t.Cleanup(func() {
		ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
		defer cancel()
		if err := dynamo.DeleteTable(ctx, client, name); err != nil {
			t.Errorf("DeleteTable: %v", err)
		}
	})
	return name
}

func newStore(t *testing.T, opts ...dynamo.Option) *dynamo.Store {
	t.Helper()
	s := dynamo.New(client, newTable(t), opts...)
	t.Cleanup(func() {
		if err := s.Close(); err != nil {
			t.Errorf("Close: %v", err)
		}
	})
	return s
}

// TestConformance runs the store port's conformance suite, each subtest on
// a fresh table. The adapter keeps no outbox (the table's stream is the
// change log), so the outbox suite does not apply.
func TestConformance(t *testing.T) {
	storetest.Run(t, func(t *testing.T) store.Store { return newStore(t) })
}

// TestInvitationsConformance runs the conformance suite of invitations and
// rate-limit counters, each subtest on a fresh table.
func TestInvitationsConformance(t *testing.T) {
	storetest.RunInvitations(t, func(t *testing.T) storetest.InvitationStore { return newStore(t) })
}

// TestLedgerConformance runs the conformance suite of the commission
// ledger, each subtest on a fresh table.
func TestLedgerConformance(t *testing.T) {
	storetest.RunLedger(t, func(t *testing.T) storetest.LedgerStore { return newStore(t) })
}

// TestPortalConformance runs the conformance suite of the partner portal's
// queries, each subtest on a fresh table.
func TestPortalConformance(t *testing.T) {
	storetest.RunPortal(t, func(t *testing.T) storetest.PortalStore { return newStore(t) })
}

// TestDealsConformance runs the conformance suite of deals, each subtest
// on a fresh table.
func TestDealsConformance(t *testing.T) {
	storetest.RunDeals(t, func(t *testing.T) storetest.DealStore { return newStore(t) })
}

// TestLedgerChangeOverTransactionLimit: a ledger change that needs more
// than DynamoDB's 100 items per transaction is refused with an error that
// says so, not taken for a conflict, and writes nothing.
func TestLedgerChangeOverTransactionLimit(t *testing.T) {
	s := newStore(t)
	ctx := t.Context()
	now := time.Now().UTC().Truncate(time.Millisecond)
	ch := store.LedgerChange{OrgID: "org_limit"}
	for i := range 34 { // 34 × (record + id guard + audit entry) = 102 items
		c := commission.Commission{ID: fmt.Sprintf("com_%02d", i), OrgID: ch.OrgID, Kind: commission.KindCommission,
			ConversionID: fmt.Sprintf("cnv_%02d", i), Amount: domain.Money{Amount: 100, Currency: "EUR"},
			Status: commission.StatusPending, CreatedAt: now, UpdatedAt: now, AvailableAt: now}
		ch.Created = append(ch.Created, c)
		ch.Audit = append(ch.Audit, commission.AuditEntry{CommissionID: c.ID, To: c.Status, Actor: commission.ActorSystem, At: now})
	}
	err := s.ApplyLedgerChange(ctx, ch)
	if err == nil || errors.Is(err, store.ErrConflict) || errors.Is(err, store.ErrNotFound) || !strings.Contains(err.Error(), "100") {
		t.Fatalf("ApplyLedgerChange(102 items) = %v, want an error naming the limit of 100 items", err)
	}
	list, _, err := s.ListCommissions(ctx, ch.OrgID, store.CommissionFilter{}, store.Page{})
	if err != nil || len(list) != 0 {
		t.Errorf("after the refused change: ListCommissions = %d entries, %v; want none", len(list), err)
	}
	// At the limit it goes through: 33 × 3 = 99 items.
	ch.Created, ch.Audit = ch.Created[:33], ch.Audit[:33]
	if err := s.ApplyLedgerChange(ctx, ch); err != nil {
		t.Fatalf("ApplyLedgerChange(99 items): %v", err)
	}
}

// TestAnalyticsConformance runs the analytics suite on DynamoDB Local: the
// rollup reads the table's stream itself.
func TestAnalyticsConformance(t *testing.T) {
	storetest.RunAnalytics(t, func(t *testing.T) storetest.AnalyticsStore {
		return newStore(t, dynamo.WithStreams(streams, 300*time.Millisecond))
	}, storetest.AnalyticsOptions{
		Events: 800,
		Lose: func(t *testing.T, s storetest.AnalyticsStore) bool {
			if err := dynamo.LoseStream(s.(*dynamo.Store)); err != nil {
				t.Logf("LoseStream: %v", err)
				return false
			}
			return true
		},
	})
}

// TestStripeConformance runs the conformance suite of the Stripe
// integration's records, each subtest on a fresh table.
func TestStripeConformance(t *testing.T) {
	storetest.RunStripe(t, func(t *testing.T) storetest.StripeStore { return newStore(t) })
}

// TestPayoutsConformance runs the conformance suite of payout runs and
// payout details on DynamoDB Local.
func TestPayoutsConformance(t *testing.T) {
	storetest.RunPayouts(t, func(t *testing.T) storetest.PayoutStore { return newStore(t) })
}

// TestWebhooksConformance runs the conformance suite of outbound webhooks,
// each subtest on a fresh table.
func TestWebhooksConformance(t *testing.T) {
	storetest.RunWebhooks(t, func(t *testing.T) storetest.WebhookStore { return newStore(t) })
}

// TestLogosConformance runs the conformance suite of organizations' logos.
func TestLogosConformance(t *testing.T) {
	storetest.RunLogos(t, func(t *testing.T) storetest.LogoStore { return newStore(t) })
}
