package httpapi_test

// Benchmarks of the two hot paths of the product, through the whole HTTP
// stack (middleware, routing, authentication, service, SQLite store):
//
//   - GET /r/{code}, the redirect every shared link goes through, with a new
//     visitor each time (a click is written) and with one repeat visitor (the
//     click is de-duplicated, so the path is read-mostly);
//   - POST /v1/conversions, with a new externalId each time (a conversion is
//     written) and with one externalId again and again (the idempotent 200).
//
// Run: go test -run '^$' -bench . -benchmem ./internal/httpapi/
// The figures include building each request and recorder with httptest.

import (
	"context"
	"fmt"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"strconv"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/partnerloop/partnerloop/internal/app"
	"github.com/partnerloop/partnerloop/internal/domain"
	"github.com/partnerloop/partnerloop/internal/programs"
	"github.com/partnerloop/partnerloop/internal/store/sqlite"
	"github.com/partnerloop/partnerloop/internal/tracking"
)

const (
	benchEmail    = "admin@example.com"
	benchPassword = "bench-password-1234"
	benchUA       = "Mozilla/5.0 (X11; Linux x86_64; rv:140.0) Gecko/20100101 Firefox/140.0"
)

// benchEnv is a wired app on a fresh SQLite file with one live program, one
// referrer and one referral, and an admin session token.
type benchEnv struct {
	app        *app.App
	handler    http.Handler
	token      string
	orgID      string
	referrerID string
	code       string
	referralID string
}

func newBenchEnv(b *testing.B) *benchEnv {
	b.Helper()
	ctx := context.Background()
	cfg, err := app.ConfigFromEnv(func(string) string { return "" })
	if err != nil {
		b.Fatal(err)
	}
	cfg.DataDir = b.TempDir()
	st, err := sqlite.Open(cfg.DataDir + "/partnerloop.db")
	if err != nil {
		b.Fatal(err)
	}
	b.Cleanup(func() { _ = st.Close() })
	clock := domain.SystemClock
	a := app.New(cfg, st, clock, domain.NewULIDs(clock), slog.New(slog.DiscardHandler))

	admin, _, _, err := a.Identity.Bootstrap(ctx, "Bench Org", benchEmail, benchPassword)
	if err != nil {
		b.Fatal("bootstrap: ", err)
	}
	token, _, _, err := a.Identity.Login(ctx, benchEmail, benchPassword, "127.0.0.1")
	if err != nil {
		b.Fatal("login: ", err)
	}
	rate := int64(1000)
	prog, err := a.Programs.Create(ctx, admin.OrgID, domain.ProgramSpec{
		Name: "Bench referral", LandingURL: "https://example.com/pricing", Currency: "USD",
		StartsAt: clock().Add(-time.Hour), AttributionWindowDays: 30,
		QualifyingEvents: []string{domain.EventSignup, domain.EventPurchase},
		Commission:       domain.CommissionRule{Type: domain.RulePercentage, RateBps: &rate},
		HoldDays:         30,
	})
	if err != nil {
		b.Fatal("create program: ", err)
	}
	if _, err := a.Programs.Transition(ctx, admin.OrgID, prog.ID, domain.ProgramActive); err != nil {
		b.Fatal("activate program: ", err)
	}
	rf, err := a.Programs.CreateReferrer(ctx, admin.OrgID, prog.ID, programs.ReferrerInput{Email: "jane@example.com", Name: "Jane Doe"})
	if err != nil {
		b.Fatal("create referrer: ", err)
	}
	ref, created, err := a.Tracking.CreateReferral(ctx, admin.OrgID, tracking.ReferralInput{Code: rf.Code, Email: "friend@example.org", Name: "A Friend"})
	if err != nil || !created || ref.Status != domain.ReferralPending {
		b.Fatalf("create referral: created=%v status=%q err=%v", created, ref.Status, err)
	}
	return &benchEnv{
		app: a, handler: a.API.Handler(), token: token, orgID: admin.OrgID,
		referrerID: rf.ID, code: rf.Code, referralID: ref.ID,
	}
}

// redirect serves GET /r/{code} for a visitor at addr and fails the benchmark
// unless it answers 302 to the program's landing page.
func (e *benchEnv) redirect(b *testing.B, addr string) {
	if err := e.follow(addr); err != nil {
		b.Fatal(err)
	}
}

// follow serves GET /r/{code} for a visitor at addr and reports any answer
// but a 302 to the program's landing page. (RunParallel bodies use it
// directly: they run on goroutines that must not call b.Fatal.)
func (e *benchEnv) follow(addr string) error {
	r := httptest.NewRequest(http.MethodGet, "/r/"+e.code, nil)
	r.RemoteAddr = addr
	r.Header.Set("User-Agent", benchUA)
	w := httptest.NewRecorder()
	e.handler.ServeHTTP(w, r)
	if w.Code != http.StatusFound || !strings.HasPrefix(w.Header().Get("Location"), "https://example.com/pricing?") {
		return fmt.Errorf("GET /r/%s: status %d, Location %q, body %s", e.code, w.Code, w.Header().Get("Location"), w.Body)
	}
	return nil
}

// clicks is the referrer's counted clicks.
func (e *benchEnv) clicks(b *testing.B) int64 {
	rf, err := e.app.Programs.GetReferrer(context.Background(), e.orgID, e.referrerID)
	if err != nil {
		b.Fatal(err)
	}
	return rf.Clicks
}

// benchVisitorAddr spreads n over 10.0.0.0/8, so every n is a distinct visitor.
func benchVisitorAddr(n uint64) string {
	return fmt.Sprintf("10.%d.%d.%d:40000", n>>16&0xff, n>>8&0xff, n&0xff)
}

func BenchmarkRedirect(b *testing.B) {
	e := newBenchEnv(b)
	b.ReportAllocs()
	var n uint64
	for b.Loop() {
		n++
		e.redirect(b, benchVisitorAddr(n))
	}
	b.StopTimer()
	if got := e.clicks(b); got != int64(n) {
		b.Fatalf("%d distinct visitors, %d clicks counted", n, got)
	}
}

func BenchmarkRedirectRepeatVisitor(b *testing.B) {
	e := newBenchEnv(b)
	e.redirect(b, "10.0.0.1:40000") // the one counted click
	b.ReportAllocs()
	for b.Loop() {
		e.redirect(b, "10.0.0.1:40000")
	}
	b.StopTimer()
	if got := e.clicks(b); got != 1 {
		b.Fatalf("one visitor, %d clicks counted", got)
	}
}

func BenchmarkRedirectParallel(b *testing.B) {
	e := newBenchEnv(b)
	var n atomic.Uint64
	b.ReportAllocs()
	b.ResetTimer()
	b.RunParallel(func(pb *testing.PB) {
		for pb.Next() {
			if err := e.follow(benchVisitorAddr(n.Add(1))); err != nil {
				b.Error(err)
				return
			}
		}
	})
	b.StopTimer()
	if b.Failed() {
		return
	}
	if got, want := e.clicks(b), int64(n.Load()); got != want {
		b.Fatalf("%d distinct visitors, %d clicks counted", want, got)
	}
}

// conversion serves POST /v1/conversions for externalID and fails the
// benchmark unless it answers want.
func (e *benchEnv) conversion(b *testing.B, externalID string, want int) {
	if err := e.convert(externalID, want); err != nil {
		b.Fatal(err)
	}
}

// convert serves POST /v1/conversions for externalID and reports an
// answer other than want.
func (e *benchEnv) convert(externalID string, want int) error {
	body := `{"referralId":"` + e.referralID + `","event":"purchase","amount":{"amount":4999,"currency":"USD"},"externalId":"` + externalID + `"}`
	r := httptest.NewRequest(http.MethodPost, "/v1/conversions", strings.NewReader(body))
	r.RemoteAddr = "192.0.2.10:40000"
	r.Header.Set("Authorization", "Bearer "+e.token)
	r.Header.Set("Content-Type", "application/json")
	w := httptest.NewRecorder()
	e.handler.ServeHTTP(w, r)
	if w.Code != want {
		return fmt.Errorf("POST /v1/conversions (externalId %s): status %d, want %d; body %s", externalID, w.Code, want, w.Body)
	}
	return nil
}

func BenchmarkRecordConversion(b *testing.B) {
	e := newBenchEnv(b)
	b.ReportAllocs()
	n := 0
	for b.Loop() {
		n++
		e.conversion(b, "order-"+strconv.Itoa(n), http.StatusCreated)
	}
}

// BenchmarkRecordConversionParallel: 16 conversions at a time per
// processor, as the throughput script sends them — they commit in groups.
func BenchmarkRecordConversionParallel(b *testing.B) {
	e := newBenchEnv(b)
	var n atomic.Uint64
	b.ReportAllocs()
	b.SetParallelism(8)
	b.RunParallel(func(pb *testing.PB) {
		for pb.Next() {
			if err := e.convert("order-"+strconv.FormatUint(n.Add(1), 10), http.StatusCreated); err != nil {
				b.Error(err)
				return
			}
		}
	})
}

func BenchmarkRecordConversionDuplicate(b *testing.B) {
	e := newBenchEnv(b)
	e.conversion(b, "order-1", http.StatusCreated)
	b.ReportAllocs()
	for b.Loop() {
		e.conversion(b, "order-1", http.StatusOK)
	}
}
