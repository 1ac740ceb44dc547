package app_test

import (
	"crypto/hmac"
	"crypto/sha256"
	"encoding/base64"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/partnerloop/partnerloop/internal/apptest"
	"github.com/partnerloop/partnerloop/internal/pipeline"
	"github.com/partnerloop/partnerloop/internal/store/sqlite"
)

// TestWebhooksFromTheChangeFeed runs the embedded product end to end: an
// endpoint registered through the API receives, from the SQLite outbox
// through the events queue, one signed event per state change made
// through the API — the referral, the conversion, the commission it
// earned, the partner — even when the receiver fails the first attempts.
func TestWebhooksFromTheChangeFeed(t *testing.T) {
	e := apptest.NewWithEnv(t, map[string]string{"WEBHOOK_ALLOW_PRIVATE": "true"})
	var mu sync.Mutex
	var secret string
	requests := 0
	var got []string
	seen := map[string]bool{}
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		body, _ := io.ReadAll(r.Body)
		mu.Lock()
		defer mu.Unlock()
		requests++
		key, _ := base64.StdEncoding.DecodeString(strings.TrimPrefix(secret, "whsec_"))
		mac := hmac.New(sha256.New, key)
		fmt.Fprintf(mac, "%s.%s.%s", r.Header.Get("webhook-id"), r.Header.Get("webhook-timestamp"), body)
		if r.Header.Get("webhook-signature") != "v1,"+base64.StdEncoding.EncodeToString(mac.Sum(nil)) {
			t.Errorf("bad signature on %s", body)
			w.WriteHeader(http.StatusUnauthorized)
			return
		}
		if requests <= 2 {
			w.WriteHeader(http.StatusBadGateway) // the first two attempts fail
			return
		}
		var p struct {
			Type string `json:"type"`
		}
		_ = json.Unmarshal(body, &p)
		if id := r.Header.Get("webhook-id"); !seen[id] {
			seen[id] = true
			got = append(got, p.Type)
		}
		w.WriteHeader(http.StatusOK)
	}))
	defer srv.Close()

	r := e.Do(t, "POST", "/v1/webhooks", e.AdminToken, map[string]any{
		"url": srv.URL + "/hooks", "events": []string{"referral.*", "conversion.*", "commission.*", "partner.*"}})
	if r.Status != http.StatusCreated {
		t.Fatalf("create endpoint: %d %s", r.Status, r.Body)
	}
	mu.Lock()
	secret = r.String("secret")
	mu.Unlock()
	endpointID := r.String("id")

	_, code := e.LiveProgram(t, e.AdminToken)
	if r := e.Do(t, "POST", "/v1/conversions", e.AdminToken, map[string]any{
		"code": code, "email": "buyer@example.org", "event": "purchase", "amount": 4999, "externalId": "order-1"}); r.Status != http.StatusCreated {
		t.Fatalf("conversion: %d %s", r.Status, r.Body)
	}
	tier := e.Do(t, "POST", "/v1/partner-tiers", e.AdminToken, map[string]any{"name": "Silver", "commission": map[string]any{"type": "flat", "amount": 1000}})
	if tier.Status != http.StatusCreated {
		t.Fatalf("tier: %d %s", tier.Status, tier.Body)
	}
	partner := e.Do(t, "POST", "/v1/partners", e.AdminToken, map[string]any{
		"companyName": "Acme Resellers", "contactName": "Ada Lovelace", "email": "ada@resellers.example", "tierId": tier.String("id")})
	if partner.Status != http.StatusCreated {
		t.Fatalf("partner: %d %s", partner.Status, partner.Body)
	}
	if r := e.Do(t, "PATCH", "/v1/partners/"+partner.String("id"), e.AdminToken, map[string]any{"contactName": "Grace Hopper"}); r.Status != http.StatusOK {
		t.Fatalf("partner update: %d %s", r.Status, r.Body)
	}

	sq := e.App.Store.(*sqlite.Store)
	emb := pipeline.NewEmbedded(sq, sq, pipeline.NewCalculator(sq, e.Clock.Now, pipeline.NoPartnerRules{}), nil)
	emb.Events.Handle = e.App.Dispatcher.Handle
	for round := 0; round < 20; round++ {
		if err := emb.Drain(t.Context()); err != nil {
			t.Fatal(err)
		}
		e.Clock.Advance(time.Minute)
		if _, err := e.App.Dispatcher.RetryDue(t.Context(), 100); err != nil {
			t.Fatal(err)
		}
	}
	mu.Lock()
	defer mu.Unlock()
	want := []string{"referral.created", "conversion.created", "referral.converted", "commission.created", "partner.created", "partner.updated"}
	for _, typ := range want {
		if n := countOf(got, typ); n != 1 {
			t.Errorf("%s received %d times, want once (received %v)", typ, n, got)
		}
	}
	if slices.Index(got, "referral.created") > slices.Index(got, "referral.converted") ||
		slices.Index(got, "partner.created") > slices.Index(got, "partner.updated") {
		t.Errorf("a record's events arrived out of order: %v", got)
	}
	log := e.Do(t, "GET", "/v1/webhooks/"+endpointID+"/deliveries", e.AdminToken, nil)
	if log.Status != http.StatusOK || len(log.Items()) != len(got) {
		t.Fatalf("delivery log: %d, %d items for %d events", log.Status, len(log.Items()), len(got))
	}
}

func countOf(xs []string, x string) int {
	n := 0
	for _, v := range xs {
		if v == x {
			n++
		}
	}
	return n
}
