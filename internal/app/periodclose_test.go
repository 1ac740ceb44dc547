package app_test

import (
	"context"
	"errors"
	"net/http"
	"testing"
	"time"

	"github.com/partnerloop/partnerloop/internal/app"
	"github.com/partnerloop/partnerloop/internal/apptest"
	"github.com/partnerloop/partnerloop/internal/domain"
	"github.com/partnerloop/partnerloop/internal/eventfile"
	"github.com/partnerloop/partnerloop/internal/pipeline"
	"github.com/partnerloop/partnerloop/internal/store"
)

// TestPeriodCloseSampleEvent feeds events/period-close-hourly.json to the
// period-close handler after a month of a retroactive tiered program, set
// up through the API: the run an hour after the month ends records one
// adjustment, the next ones none; any payload is accepted.
func TestPeriodCloseSampleEvent(t *testing.T) {
	e := apptest.New(t)
	body := apptest.ProgramBody()
	body["commission"] = map[string]any{"type": "tiered", "basis": "count", "period": "month", "mode": "retroactive",
		"tiers": []map[string]any{{"upTo": 2, "rateBps": 1000}, {"upTo": nil, "rateBps": 2000}}}
	r := e.Do(t, "POST", "/v1/programs", e.AdminToken, body)
	if r.Status != http.StatusCreated {
		t.Fatalf("create program: %d %s", r.Status, r.Body)
	}
	programID := r.String("id")
	if r := e.Do(t, "POST", "/v1/programs/"+programID+"/activate", e.AdminToken, nil); r.Status != http.StatusOK {
		t.Fatalf("activate: %d %s", r.Status, r.Body)
	}
	r = e.Do(t, "POST", "/v1/programs/"+programID+"/referrers", e.AdminToken, map[string]string{"email": "jane@example.com", "name": "Jane"})
	if r.Status != http.StatusCreated {
		t.Fatalf("create referrer: %d %s", r.Status, r.Body)
	}
	code := r.String("code")

	ls, ok := e.App.Store.(pipeline.LedgerStore)
	if !ok {
		t.Fatal("the SQLite store has no ledger")
	}
	calc := pipeline.NewCalculator(ls, e.Clock.Now, pipeline.NoPartnerRules{})
	for i, email := range []string{"a@example.org", "b@example.org", "c@example.org"} {
		r := e.Do(t, "POST", "/v1/conversions", e.AdminToken, map[string]any{
			"code": code, "email": email, "event": "purchase", "amount": 2000, "externalId": "order-" + email})
		if r.Status != http.StatusCreated {
			t.Fatalf("conversion %d: %d %s", i+1, r.Status, r.Body)
		}
		if err := calc.ReconcileConversion(context.Background(), e.OrgID, r.String("id")); err != nil {
			t.Fatal(err)
		}
	}

	// An hour after March ends (the sample's scheduledTime).
	closeAt := time.Date(2026, 4, 1, 1, 0, 0, 0, time.UTC)
	handler := app.NewPeriodClose(ls, func() time.Time { return closeAt }, quiet)
	raw, err := eventfile.Load("../../events/period-close-hourly.json", func(string) (string, bool) { return "", false })
	if err != nil {
		t.Fatal(err)
	}
	for i, want := range []string{`{"created":1}`, `{"created":0}`} {
		out, err := handler(context.Background(), raw)
		if err != nil || string(out) != want {
			t.Fatalf("run %d: %s, %v; want %s", i+1, out, err, want)
		}
	}
	// 200 + 200 + 400 paid; all three re-rated at 20 %: 1200.
	var adjustments []map[string]any
	for _, c := range e.Do(t, "GET", "/v1/commissions", e.AdminToken, nil).Items() {
		if c["kind"] == "adjustment" {
			adjustments = append(adjustments, c)
		}
	}
	if len(adjustments) != 1 || adjustments[0]["amount"].(map[string]any)["amount"] != 400.0 ||
		adjustments[0]["status"] != "pending" || adjustments[0]["periodKey"] != "2026-03" {
		t.Fatalf("adjustments %v, want one pending of 400 for 2026-03", adjustments)
	}

	// Whatever the payload: none, an empty object, not JSON at all.
	for _, payload := range []string{"", "{}", "null", "not json"} {
		if out, err := handler(context.Background(), []byte(payload)); err != nil || string(out) != `{"created":0}` {
			t.Errorf("payload %q: %s, %v", payload, out, err)
		}
	}
	// The store failing fails the invocation, so that it is retried.
	failing := app.NewPeriodClose(noOrganizations{ls}, func() time.Time { return closeAt }, quiet)
	if out, err := failing(context.Background(), raw); err == nil {
		t.Fatalf("failing store: %s, no error", out)
	}
}

type noOrganizations struct{ pipeline.LedgerStore }

func (noOrganizations) ListOrganizations(context.Context, store.Page) ([]domain.Organization, string, error) {
	return nil, "", errors.New("injected: table unavailable")
}
