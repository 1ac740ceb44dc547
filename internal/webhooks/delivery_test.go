package webhooks_test

import (
	"context"
	"crypto/hmac"
	"crypto/sha256"
	"encoding/base64"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/partnerloop/partnerloop/internal/domain"
	"github.com/partnerloop/partnerloop/internal/dynamolocal"
	"github.com/partnerloop/partnerloop/internal/pipeline"
	"github.com/partnerloop/partnerloop/internal/secretbox"
	"github.com/partnerloop/partnerloop/internal/store"
	"github.com/partnerloop/partnerloop/internal/store/dynamo"
	"github.com/partnerloop/partnerloop/internal/store/sqlite"
	"github.com/partnerloop/partnerloop/internal/webhooks"
)

// receiver is a Standard Webhooks receiver written independently of the
// package: it checks the signature with its own HMAC, rejects stale
// timestamps, deduplicates by webhook-id, and fails on demand.
type receiver struct {
	t      *testing.T
	secret string // whsec_…

	mu       sync.Mutex
	fail     func(n int, id, typ string) (status int, sleep time.Duration) // n counts requests from 1
	requests int
	seen     map[string]bool
	accepted []event // in acceptance order, each webhook-id once
	badSigs  int
}

type event struct {
	ID, Type, Subject string
}

func (rc *receiver) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	body, _ := io.ReadAll(r.Body)
	id, ts, sigs := r.Header.Get("webhook-id"), r.Header.Get("webhook-timestamp"), r.Header.Get("webhook-signature")
	key, _ := base64.StdEncoding.DecodeString(strings.TrimPrefix(rc.secret, "whsec_"))
	mac := hmac.New(sha256.New, key)
	fmt.Fprintf(mac, "%s.%s.%s", id, ts, body)
	want := "v1," + base64.StdEncoding.EncodeToString(mac.Sum(nil))
	rc.mu.Lock()
	rc.requests++
	n := rc.requests
	valid := slices.Contains(strings.Fields(sigs), want)
	if !valid {
		rc.badSigs++
	}
	fail := rc.fail
	rc.mu.Unlock()
	if !valid {
		http.Error(w, "bad signature", http.StatusUnauthorized)
		return
	}
	var p struct {
		Type      string          `json:"type"`
		Timestamp time.Time       `json:"timestamp"`
		Data      json.RawMessage `json:"data"`
	}
	if err := json.Unmarshal(body, &p); err != nil || p.Type == "" || p.Timestamp.IsZero() || len(p.Data) == 0 {
		http.Error(w, "bad body", http.StatusBadRequest)
		return
	}
	if _, err := strconv.ParseInt(ts, 10, 64); err != nil {
		http.Error(w, "bad timestamp", http.StatusBadRequest)
		return
	}
	var data struct {
		ID string `json:"id"`
	}
	_ = json.Unmarshal(p.Data, &data)
	if fail != nil {
		if status, sleep := fail(n, id, p.Type); status != 0 {
			time.Sleep(sleep)
			w.WriteHeader(status)
			return
		}
	}
	rc.mu.Lock()
	defer rc.mu.Unlock()
	if !rc.seen[id] {
		rc.seen[id] = true
		rc.accepted = append(rc.accepted, event{ID: id, Type: p.Type, Subject: data.ID})
	}
	w.WriteHeader(http.StatusNoContent)
}

func (rc *receiver) got() []event {
	rc.mu.Lock()
	defer rc.mu.Unlock()
	return slices.Clone(rc.accepted)
}

// clock is a fake clock the test moves on.
type clock struct {
	mu  sync.Mutex
	now time.Time
}

func (c *clock) Now() time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.now
}

func (c *clock) Add(d time.Duration) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.now = c.now.Add(d)
}

type harness struct {
	st    webhooks.Store
	svc   *webhooks.Service
	disp  *webhooks.Dispatcher
	clock *clock
	org   string
}

func newHarness(t testing.TB, st webhooks.Store) *harness {
	t.Helper()
	key, err := secretbox.KeyFile(filepath.Join(t.TempDir(), "secrets.key"))
	if err != nil {
		t.Fatal(err)
	}
	box, err := secretbox.New(key)
	if err != nil {
		t.Fatal(err)
	}
	c := &clock{now: time.Now().UTC().Truncate(time.Millisecond)}
	ids := domain.NewULIDs(c.Now)
	h := &harness{st: st, clock: c, org: ids("org")}
	if err := st.CreateOrganization(t.Context(), domain.Organization{ID: h.org, Name: "Acme", CreatedAt: c.Now()}); err != nil {
		t.Fatal(err)
	}
	h.svc = webhooks.NewService(st, box, c.Now, ids, true)
	h.disp = webhooks.NewDispatcher(st, box, nil, c.Now, true, nil)
	h.disp.Client = webhooks.NewClient(time.Second, true)
	h.disp.OrderWait = time.Second
	h.disp.Rand = func() float64 { return 0.5 }
	return h
}

func (h *harness) endpoint(t testing.TB, url string, events ...string) webhooks.Endpoint {
	t.Helper()
	e, err := h.svc.Create(t.Context(), h.org, webhooks.EndpointInput{URL: &url, Events: &events})
	if err != nil {
		t.Fatal(err)
	}
	return e
}

// change is a record change as the feed carries it.
func (h *harness) change(entity, op, id string, old, neu map[string]any, seq int64) store.Change {
	enc := func(m map[string]any) []byte {
		if m == nil {
			return nil
		}
		m["id"] = id
		b, _ := json.Marshal(m)
		return b
	}
	return store.Change{Seq: seq, Entity: entity, Op: op, OrgID: h.org, ID: id, OldImage: enc(old), NewImage: enc(neu),
		At: h.clock.Now().Add(time.Duration(seq) * time.Millisecond)}
}

// feed turns changes into the events queue's messages, as the pump and the
// stream router do.
func feed(t testing.TB, cs ...store.Change) []pipeline.Message {
	t.Helper()
	var out []pipeline.Message
	for _, c := range cs {
		ms, err := pipeline.RouteAll(c)
		if err != nil {
			t.Fatal(err)
		}
		for _, m := range ms {
			if pipeline.IsNotification(m.Type) {
				m.Seq = pipeline.PadSeq(strconv.FormatInt(c.Seq, 10))
				out = append(out, m)
			}
		}
	}
	return out
}

// run hands the messages to the dispatcher — each twice, as a feed that
// redelivers would — and then runs the retry schedule, a minute of fake
// time per round, until the receiver has want events or rounds run out.
func (h *harness) run(t *testing.T, rc *receiver, msgs []pipeline.Message, want int) {
	t.Helper()
	ctx := t.Context()
	for _, m := range msgs {
		for range 2 {
			if err := h.disp.Handle(ctx, m); err != nil {
				t.Fatal(err)
			}
		}
	}
	for round := 0; round < 400 && len(rc.got()) < want; round++ {
		h.clock.Add(time.Minute)
		if _, err := h.disp.RetryDue(ctx, 100); err != nil {
			t.Fatal(err)
		}
	}
}

func testDelivery(t *testing.T, st webhooks.Store) {
	h := newHarness(t, st)
	rc := &receiver{t: t, seen: map[string]bool{}}
	srv := httptest.NewServer(rc)
	t.Cleanup(srv.Close)
	e := h.endpoint(t, srv.URL+"/hooks", "referral.*", "partner.created", "deal.*")
	rc.secret = e.Secret
	// A second endpoint subscribed to nothing that happens: no deliveries.
	quiet := h.endpoint(t, srv.URL+"/quiet", "commission.*")

	// Failures: every third request answers 500, and the fourth one hangs
	// past the client's timeout; the receiver still counts what it saw.
	rc.fail = func(n int, _, _ string) (int, time.Duration) {
		switch {
		case n == 4:
			return http.StatusOK, 3 * time.Second // too late: the dispatcher gives up after 1 s
		case n%3 == 0:
			return http.StatusInternalServerError, 0
		}
		return 0, 0
	}
	msgs := feed(t,
		h.change("referral", "INSERT", "rfl_a", nil, map[string]any{"status": "pending"}, 1),
		h.change("referral", "INSERT", "rfl_b", nil, map[string]any{"status": "pending"}, 2),
		h.change("referral", "MODIFY", "rfl_a", map[string]any{"status": "pending"}, map[string]any{"status": "converted"}, 3),
		h.change("partner", "INSERT", "prt_a", nil, map[string]any{"name": "P"}, 4),
		h.change("partner", "MODIFY", "prt_a", map[string]any{"name": "P"}, map[string]any{"name": "Q"}, 5), // not subscribed
		h.change("deal", "INSERT", "dea_a", nil, map[string]any{"status": "registered"}, 6),
		h.change("deal", "MODIFY", "dea_a", map[string]any{"status": "registered"}, map[string]any{"status": "approved"}, 7),
		h.change("deal", "MODIFY", "dea_a", map[string]any{"status": "approved"}, map[string]any{"status": "won"}, 8),
		h.change("referral", "MODIFY", "rfl_b", map[string]any{"status": "pending"}, map[string]any{"status": "expired"}, 9),
		h.change("program", "INSERT", "prg_a", nil, map[string]any{"name": "x"}, 10), // not an event
	)
	h.run(t, rc, msgs, 8)

	got := rc.got()
	if len(got) != 8 {
		t.Fatalf("receiver accepted %d events, want 8: %+v", len(got), got)
	}
	// In order per subject.
	perSubject := map[string][]string{}
	for _, ev := range got {
		perSubject[ev.Subject] = append(perSubject[ev.Subject], ev.Type)
	}
	want := map[string][]string{
		"rfl_a": {"referral.created", "referral.converted"},
		"rfl_b": {"referral.created", "referral.expired"},
		"prt_a": {"partner.created"},
		"dea_a": {"deal.registered", "deal.approved", "deal.won"},
	}
	for subj, types := range want {
		if !slices.Equal(perSubject[subj], types) {
			t.Errorf("events of %s = %v, want %v in this order", subj, perSubject[subj], types)
		}
	}
	if rc.badSigs != 0 {
		t.Errorf("%d requests had no valid signature", rc.badSigs)
	}
	// The log shows every attempt: failures with their status codes, the
	// timeout without one, and every delivery succeeded in the end.
	ds, _, err := h.svc.Deliveries(t.Context(), h.org, e.ID, store.Page{Limit: 100})
	if err != nil {
		t.Fatal(err)
	}
	if len(ds) != 8 {
		t.Fatalf("%d deliveries logged, want 8 (one per event, however often the feed repeated it)", len(ds))
	}
	var codes []int
	timeouts := 0
	for _, d := range ds {
		if d.Status != "succeeded" {
			t.Errorf("delivery %s of %s is %s", d.ID, d.EventType, d.Status)
		}
		for _, a := range d.Attempts {
			codes = append(codes, a.StatusCode)
			if a.StatusCode == 0 && strings.Contains(a.Error, "Client.Timeout") {
				timeouts++
			}
		}
	}
	// (A loaded machine may time out another attempt too: at least one.)
	if !slices.Contains(codes, 500) || timeouts < 1 {
		t.Errorf("attempt codes %v with %d timeouts, want some 500s and the injected timeout", codes, timeouts)
	}
	if qs, _, _ := h.svc.Deliveries(t.Context(), h.org, quiet.ID, store.Page{}); len(qs) != 0 {
		t.Errorf("the endpoint subscribed to commission.* got %d deliveries", len(qs))
	}

	// Replay sends the same webhook-id again: the receiver's dedupe keeps it once.
	before := rc.requests
	if _, err := h.svc.Replay(t.Context(), h.org, e.ID, ds[0].ID); err != nil {
		t.Fatal(err)
	}
	rc.fail = nil
	h.run(t, rc, nil, 0)
	if _, err := h.disp.RetryDue(t.Context(), 100); err != nil {
		t.Fatal(err)
	}
	if rc.requests != before+1 || len(rc.got()) != 8 {
		t.Errorf("replay: %d requests (want %d), %d events accepted (want 8)", rc.requests, before+1, len(rc.got()))
	}
}

func TestDeliveryWithFailuresSQLite(t *testing.T) {
	st, err := sqlite.Open(filepath.Join(t.TempDir(), "test.db"))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { st.Close() })
	testDelivery(t, st)
}

func TestDeliveryWithFailuresDynamoDB(t *testing.T) {
	endpoint := dynamolocal.Start(t)
	client := dynamolocal.Client(endpoint)
	table := "webhooks-" + strconv.FormatInt(time.Now().UnixNano(), 36)
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	if err := dynamo.CreateTable(ctx, client, table); err != nil {
		t.Fatal(err)
	}
	testDelivery(t, dynamo.New(client, table))
}
