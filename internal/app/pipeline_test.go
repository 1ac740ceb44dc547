package app_test

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"io"
	"log/slog"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/aws/aws-lambda-go/events"

	"github.com/partnerloop/partnerloop/internal/app"
	"github.com/partnerloop/partnerloop/internal/apptest"
	"github.com/partnerloop/partnerloop/internal/eventfile"
	"github.com/partnerloop/partnerloop/internal/metrics"
	"github.com/partnerloop/partnerloop/internal/pipeline"
)

var quiet = slog.New(slog.NewTextHandler(io.Discard, nil))

type fakeSender struct {
	sent []pipeline.Message
	fail bool
}

func (f *fakeSender) Send(_ context.Context, msgs []pipeline.Message) (map[string]bool, error) {
	failed := map[string]bool{}
	for _, m := range msgs {
		if f.fail {
			failed[m.ID] = true
			continue
		}
		f.sent = append(f.sent, m)
	}
	return failed, nil
}

func loadEvent(t *testing.T, file string, vars map[string]string, v any) {
	t.Helper()
	raw, err := eventfile.Load(file, func(k string) (string, bool) { s, ok := vars[k]; return s, ok })
	if err != nil {
		t.Fatal(err)
	}
	if err := json.Unmarshal(raw, v); err != nil {
		t.Fatal(err)
	}
}

// TestStreamRouterSampleEvent feeds events/stream-router-conversion.json to
// the stream-router handler: the inserted conversion becomes one
// conversion.recorded message and one public event:conversion.created (for
// webhooks, to the events queue), the guard item none; when sending fails the
// conversion's SequenceNumber is reported so Lambda retries from it. The
// message sent is counted (EMF PipelineEvents, by type); one not sent is not.
func TestStreamRouterSampleEvent(t *testing.T) {
	var ev events.DynamoDBEvent
	loadEvent(t, "../../events/stream-router-conversion.json", map[string]string{"ORG_ID": "org_1", "CONVERSION_ID": "cnv_1"}, &ev)
	send := &fakeSender{}
	var emf bytes.Buffer
	m := metrics.New(&emf, time.Now)
	resp, err := app.NewStreamRouter(send, quiet, m)(context.Background(), ev)
	if err != nil || len(resp.BatchItemFailures) != 0 {
		t.Fatalf("resp %+v err %v", resp, err)
	}
	if len(send.sent) != 2 || send.sent[0].Type != pipeline.TypeConversionRecorded || send.sent[0].EntityID != "cnv_1" || send.sent[0].OrgID != "org_1" ||
		send.sent[1].Type != pipeline.EventPrefix+"conversion.created" || send.sent[1].EntityID != "cnv_1" {
		t.Fatalf("sent %+v", send.sent)
	}
	if want := pipeline.PadSeq(ev.Records[0].Change.SequenceNumber); send.sent[1].Seq != want {
		t.Fatalf("event seq %q, want the record's padded SequenceNumber %q", send.sent[1].Seq, want)
	}
	// The same record again yields the same message ID (queues and the
	// calculator deduplicate on it).
	again := &fakeSender{}
	if _, err := app.NewStreamRouter(again, quiet, nil)(context.Background(), ev); err != nil || again.sent[0].ID != send.sent[0].ID {
		t.Fatalf("redelivery made message %v, first was %s", again.sent, send.sent[0].ID)
	}
	resp, err = app.NewStreamRouter(&fakeSender{fail: true}, quiet, m)(context.Background(), ev)
	if err != nil || len(resp.BatchItemFailures) != 1 || resp.BatchItemFailures[0].ItemIdentifier != ev.Records[0].Change.SequenceNumber {
		t.Fatalf("failed send: resp %+v err %v", resp, err)
	}
	if got := emfCounts(t, emf.String()); len(got) != 2 || got["PipelineEvents/conversion.recorded"] != 1 || got["PipelineEvents/event:conversion.created"] != 1 {
		t.Errorf("metrics %v, want one PipelineEvents of type conversion.recorded and one of event:conversion.created", got)
	}
}

// emfCounts sums the EMF lines' values by metric name (and "/" Type).
func emfCounts(t *testing.T, out string) map[string]int {
	t.Helper()
	counts := map[string]int{}
	for _, line := range strings.Split(strings.TrimSpace(out), "\n") {
		var l map[string]any
		if err := json.Unmarshal([]byte(line), &l); err != nil {
			t.Fatalf("EMF line %q: %v", line, err)
		}
		for _, name := range metrics.Names {
			if v, ok := l[name].(float64); ok {
				if typ, ok := l["Type"].(string); ok {
					name += "/" + typ
				}
				counts[name] += int(v)
			}
		}
	}
	return counts
}

// TestCommissionCalculatorSampleEvent feeds events/commission-calculator-
// conversion.json to the calculator handler for a conversion recorded
// through the API: one commission, however often the message comes; an
// unknown conversion is reported by MessageId.
func TestCommissionCalculatorSampleEvent(t *testing.T) {
	e := apptest.New(t)
	_, code := e.LiveProgram(t, e.AdminToken)
	r := e.Do(t, "POST", "/v1/conversions", e.AdminToken, map[string]any{
		"code": code, "email": "buyer@example.org", "event": "purchase", "amount": 4999, "externalId": "order-1001"})
	if r.Status != http.StatusCreated {
		t.Fatalf("conversion: %d %s", r.Status, r.Body)
	}
	ls, ok := e.App.Store.(pipeline.LedgerStore)
	if !ok {
		t.Fatal("the SQLite store has no ledger")
	}
	var emf bytes.Buffer
	handler := app.NewCommissionCalculator(pipeline.NewCalculator(ls, e.Clock.Now, pipeline.NoPartnerRules{}), quiet, metrics.New(&emf, time.Now))
	var ev events.SQSEvent
	loadEvent(t, "../../events/commission-calculator-conversion.json", map[string]string{"ORG_ID": e.OrgID, "CONVERSION_ID": r.String("id")}, &ev)
	for i := 0; i < 3; i++ {
		resp, err := handler(context.Background(), ev)
		if err != nil || len(resp.BatchItemFailures) != 0 {
			t.Fatalf("delivery %d: resp %+v err %v", i, resp, err)
		}
	}
	list := e.Do(t, "GET", "/v1/commissions", e.AdminToken, nil).Items()
	if len(list) != 1 {
		t.Fatalf("%d commissions, want 1", len(list))
	}
	if amt := list[0]["amount"].(map[string]any); amt["amount"] != 500.0 || list[0]["status"] != "pending" || list[0]["conversionId"] != r.String("id") {
		t.Fatalf("commission %v", list[0])
	}

	var bad events.SQSEvent
	loadEvent(t, "../../events/commission-calculator-conversion.json", map[string]string{"ORG_ID": e.OrgID, "CONVERSION_ID": "cnv_missing"}, &bad)
	resp, err := handler(context.Background(), bad)
	if err != nil || len(resp.BatchItemFailures) != 1 || resp.BatchItemFailures[0].ItemIdentifier != bad.Records[0].MessageId {
		t.Fatalf("unknown conversion: resp %+v err %v", resp, errors.Join(err))
	}
	if got := emfCounts(t, emf.String()); got["CommissionMessagesHandled"] != 3 || got["CommissionMessagesFailed"] != 1 {
		t.Errorf("metrics %v, want 3 handled and 1 failed", got)
	}
}
