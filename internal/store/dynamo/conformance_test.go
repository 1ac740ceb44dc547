package dynamo_test

import (
	"context"
	"fmt"
	"os"
	"sync/atomic"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/service/dynamodb"

	"github.com/partnerloop/partnerloop/internal/dynamolocal"
	"github.com/partnerloop/partnerloop/internal/store"
	"github.com/partnerloop/partnerloop/internal/store/dynamo"
	"github.com/partnerloop/partnerloop/internal/store/storetest"
)

// client talks to the one DynamoDB Local that TestMain starts for the
// package's tests.
var client *dynamodb.Client

func TestMain(m *testing.M) {
	srv, err := dynamolocal.StartServer()
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		os.Exit(1)
	}
	client = dynamolocal.Client(srv.Endpoint)
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
