package tracking_test

import (
	"context"
	"errors"
	"path/filepath"
	"sync"
	"testing"
	"time"

	"github.com/partnerloop/partnerloop/internal/domain"
	"github.com/partnerloop/partnerloop/internal/programs"
	"github.com/partnerloop/partnerloop/internal/store/sqlite"
	"github.com/partnerloop/partnerloop/internal/tracking"
)

// clock is a settable clock.
type clock struct {
	mu sync.Mutex
	t  time.Time
}

func (c *clock) now() time.Time { c.mu.Lock(); defer c.mu.Unlock(); return c.t }
func (c *clock) add(d time.Duration) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.t = c.t.Add(d)
}

// TestPausedProgramStopsRedirectingWithinASecond: the redirect keeps a
// link's referrer and program in memory for a moment (tracking.LookupTTL).
// A program paused by another process (here: a programs service not wired
// to this tracking service, as another Lambda instance would be) must stop
// redirecting within one second; one paused through the service wired to
// it (WithOnChange(Forget), as app.New wires them) stops at once.
func TestPausedProgramStopsRedirectingWithinASecond(t *testing.T) {
	ctx := context.Background()
	st, err := sqlite.Open(filepath.Join(t.TempDir(), "p.db"))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { st.Close() })
	clk := &clock{t: time.Date(2026, 3, 10, 12, 0, 0, 0, time.UTC)}
	ids := domain.NewULIDs(clk.now)
	trk := tracking.New(st, clk.now, ids)
	elsewhere := programs.New(st, clk.now, ids, "https://refer.example")
	here := programs.New(st, clk.now, ids, "https://refer.example", programs.WithOnChange(trk.Forget))

	prog, rf := liveProgram(t, elsewhere, clk)
	follow := func() error {
		_, err := trk.Follow(ctx, rf.Code, tracking.Visitor{Addr: "192.0.2.1", UserAgent: "Mozilla/5.0 Firefox/140.0"}, true)
		return err
	}
	if err := follow(); err != nil {
		t.Fatalf("live program: %v", err)
	}

	if _, err := elsewhere.Transition(ctx, "org1", prog.ID, domain.ProgramPaused); err != nil {
		t.Fatal(err)
	}
	_ = follow() // within the cache's lifetime either answer is allowed
	clk.add(time.Second)
	if err := follow(); !errors.Is(err, tracking.ErrLinkInactive) {
		t.Fatalf("a second after the pause elsewhere: %v, want the link inactive", err)
	}

	if _, err := here.Transition(ctx, "org1", prog.ID, domain.ProgramActive); err != nil {
		t.Fatal(err)
	}
	if err := follow(); err != nil {
		t.Fatalf("resumed in this process: %v", err)
	}
	if _, err := here.Transition(ctx, "org1", prog.ID, domain.ProgramPaused); err != nil {
		t.Fatal(err)
	}
	if err := follow(); !errors.Is(err, tracking.ErrLinkInactive) {
		t.Fatalf("paused in this process: %v, want the link inactive at once", err)
	}
}

// liveProgram creates a live program of org1 (USD, purchases, 10 %) with
// one referrer through progs.
func liveProgram(t *testing.T, progs *programs.Service, clk *clock) (domain.Program, domain.Referrer) {
	t.Helper()
	ctx := context.Background()
	rate := int64(1000)
	prog, err := progs.Create(ctx, "org1", domain.ProgramSpec{
		Name: "P", LandingURL: "https://example.com/", Currency: "USD", StartsAt: clk.now().Add(-time.Hour),
		AttributionWindowDays: 30, QualifyingEvents: []string{domain.EventPurchase},
		Commission: domain.CommissionRule{Type: domain.RulePercentage, RateBps: &rate},
	})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := progs.Transition(ctx, "org1", prog.ID, domain.ProgramActive); err != nil {
		t.Fatal(err)
	}
	rf, err := progs.CreateReferrer(ctx, "org1", prog.ID, programs.ReferrerInput{Email: "r@example.com", Name: "R"})
	if err != nil {
		t.Fatal(err)
	}
	return prog, rf
}
