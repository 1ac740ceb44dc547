package webhooks_test

import (
	"context"
	"errors"
	"net/http"
	"net/http/httptest"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/partnerloop/partnerloop/internal/domain"
	"github.com/partnerloop/partnerloop/internal/mail"
	"github.com/partnerloop/partnerloop/internal/store"
	"github.com/partnerloop/partnerloop/internal/store/sqlite"
	"github.com/partnerloop/partnerloop/internal/webhooks"
)

// The Standard Webhooks specification's own example.
func TestSignMatchesTheSpecificationsExample(t *testing.T) {
	sig, err := webhooks.Sign("whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw", "msg_p5jXN8AQM9LWM0D4loKWxJek",
		time.Unix(1614265330, 0), []byte(`{"test": 2432232314}`))
	if err != nil || sig != "v1,g0hM9SsE+OTPJTGt/tmIKtSyZlE3uFJELVlNIOLJ1OE=" {
		t.Fatalf("Sign = %q, %v", sig, err)
	}
	if s := webhooks.NewSecret(); !strings.HasPrefix(s, "whsec_") || s == webhooks.NewSecret() {
		t.Fatalf("NewSecret = %q", s)
	}
}

func TestCheckURL(t *testing.T) {
	for _, u := range []string{"ftp://example.com/x", "file:///etc/passwd", "http://user:pw@example.com/", "/relative",
		"http://127.0.0.1/", "http://localhost:8080/", "http://10.1.2.3/", "http://169.254.169.254/latest/meta-data",
		"http://[::1]/", "http://[fd00::1]/", "http://100.64.0.1/", "http://0.0.0.0/", "http://[::ffff:127.0.0.1]/"} {
		if _, err := webhooks.CheckURL(u, false); !errors.Is(err, webhooks.ErrForbiddenTarget) {
			t.Errorf("CheckURL(%q) = %v, want refused", u, err)
		}
	}
	for _, u := range []string{"https://hooks.example.com/partnerloop", "http://93.184.215.14:8080/x"} {
		if _, err := webhooks.CheckURL(u, false); err != nil {
			t.Errorf("CheckURL(%q) = %v, want accepted", u, err)
		}
	}
	if _, err := webhooks.CheckURL("http://127.0.0.1:9/", true); err != nil {
		t.Errorf("with WEBHOOK_ALLOW_PRIVATE, loopback refused: %v", err)
	}
}

// A name that resolves to loopback passes the save-time check but not the
// dial: the check runs after DNS resolution.
func TestDialRefusesPrivateAddressesAfterResolution(t *testing.T) {
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, _ *http.Request) { w.WriteHeader(204) }))
	defer srv.Close()
	port := srv.URL[strings.LastIndex(srv.URL, ":"):]
	url := "http://localhost" + port
	_, err := webhooks.NewClient(time.Second, false).Get(url)
	if !errors.Is(err, webhooks.ErrForbiddenTarget) {
		t.Fatalf("GET %s with private addresses refused = %v, want ErrForbiddenTarget", url, err)
	}
	resp, err := webhooks.NewClient(time.Second, true).Get(url)
	if err != nil {
		t.Fatalf("with private addresses allowed: %v", err)
	}
	resp.Body.Close()
}

func TestBackoffGrowsWithJitterAndIsCapped(t *testing.T) {
	lo, hi := func() float64 { return 0 }, func() float64 { return 0.999999 }
	if d := webhooks.Backoff(1, lo); d != 2500*time.Millisecond {
		t.Errorf("first retry at the low end = %v, want 2.5s", d)
	}
	if d := webhooks.Backoff(2, hi); d < 9*time.Second || d > 10*time.Second {
		t.Errorf("second retry at the high end = %v, want just under 10s", d)
	}
	if d := webhooks.Backoff(40, hi); d > 8*time.Hour || d < 7*time.Hour {
		t.Errorf("retry 40 = %v, want capped at 8h", d)
	}
	// Up to three days of retries take about a dozen attempts.
	total, n := time.Duration(0), 0
	for total < webhooks.RetryWindow {
		n++
		total += webhooks.Backoff(n, func() float64 { return 0.5 })
	}
	if n < 10 || n > 25 {
		t.Errorf("%d attempts fill the retry window, want 10–25", n)
	}
}

type sentMail struct{ msgs []mail.Message }

func (s *sentMail) Send(_ context.Context, m mail.Message) error {
	s.msgs = append(s.msgs, m)
	return nil
}

// An endpoint failing for days is disabled and its admins told; deliveries
// give up after the retry window.
func TestFailingEndpointDisabledAndAdminsNotified(t *testing.T) {
	st, err := sqlite.Open(filepath.Join(t.TempDir(), "test.db"))
	if err != nil {
		t.Fatal(err)
	}
	defer st.Close()
	h := newHarness(t, st)
	mailer := &sentMail{}
	h.disp.Mailer = mailer
	admin := domain.User{ID: "usr_admin", OrgID: h.org, Email: "admin@acme.example", Role: domain.RoleAdmin, CreatedAt: h.clock.Now()}
	pm := domain.User{ID: "usr_pm", OrgID: h.org, Email: "pm@acme.example", Role: domain.RoleProgramManager, CreatedAt: h.clock.Now()}
	for _, u := range []domain.User{admin, pm} {
		if err := st.CreateUser(t.Context(), u); err != nil {
			t.Fatal(err)
		}
	}
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, _ *http.Request) { w.WriteHeader(503) }))
	defer srv.Close()
	e := h.endpoint(t, srv.URL, "partner.*")
	for day := range 7 {
		for _, m := range feed(t, h.change("partner", "INSERT", "prt_"+string(rune('a'+day)), nil, map[string]any{"name": "P"}, int64(day+1))) {
			if err := h.disp.Handle(t.Context(), m); err != nil {
				t.Fatal(err)
			}
		}
		for range 24 {
			h.clock.Add(time.Hour)
			if _, err := h.disp.RetryDue(t.Context(), 100); err != nil {
				t.Fatal(err)
			}
		}
	}
	got, err := h.svc.Get(t.Context(), h.org, e.ID)
	if err != nil {
		t.Fatal(err)
	}
	if got.Status != "disabled" || !strings.Contains(got.DisabledReason, "failed since") {
		t.Fatalf("endpoint after a week of 503s: %+v", got)
	}
	if len(mailer.msgs) != 1 || mailer.msgs[0].To != "admin@acme.example" || !strings.Contains(mailer.msgs[0].Text, srv.URL) {
		t.Fatalf("mail sent: %+v, want one to the admin naming the endpoint", mailer.msgs)
	}
	ds, _, err := h.svc.Deliveries(t.Context(), h.org, e.ID, store.Page{Limit: 100})
	if err != nil {
		t.Fatal(err)
	}
	failed := 0
	for _, d := range ds {
		if d.Status == "failed" {
			failed++
		}
		if d.Status == "pending" {
			t.Errorf("delivery %s still pending after the endpoint was disabled", d.ID)
		}
	}
	if failed != len(ds) || len(ds) == 0 {
		t.Fatalf("%d of %d deliveries failed, want all", failed, len(ds))
	}
}

// Rotation: for a day both secrets sign; after that only the new one.
func TestRotationSignsWithBothSecretsForADay(t *testing.T) {
	st, err := sqlite.Open(filepath.Join(t.TempDir(), "test.db"))
	if err != nil {
		t.Fatal(err)
	}
	defer st.Close()
	h := newHarness(t, st)
	var sigs []string
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		sigs = append(sigs, r.Header.Get("webhook-signature"))
		w.WriteHeader(200)
	}))
	defer srv.Close()
	e := h.endpoint(t, srv.URL, "partner.*")
	rotated, err := h.svc.RotateSecret(t.Context(), h.org, e.ID)
	if err != nil || rotated.Secret == e.Secret || !strings.HasPrefix(rotated.Secret, "whsec_") {
		t.Fatalf("RotateSecret = %+v, %v", rotated, err)
	}
	if again, _ := h.svc.Get(t.Context(), h.org, e.ID); again.Secret != "" {
		t.Fatal("the secret is shown after rotation")
	}
	send := func(id string, seq int64) {
		for _, m := range feed(t, h.change("partner", "INSERT", id, nil, map[string]any{"name": "P"}, seq)) {
			if err := h.disp.Handle(t.Context(), m); err != nil {
				t.Fatal(err)
			}
		}
	}
	send("prt_a", 1)
	h.clock.Add(25 * time.Hour)
	send("prt_b", 2)
	if len(sigs) != 2 || len(strings.Fields(sigs[0])) != 2 || len(strings.Fields(sigs[1])) != 1 {
		t.Fatalf("signatures %q, want two during the overlap and one after", sigs)
	}
}
