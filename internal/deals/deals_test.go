package deals_test

import (
	"context"
	"fmt"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/partnerloop/partnerloop/internal/deals"
	"github.com/partnerloop/partnerloop/internal/domain"
	"github.com/partnerloop/partnerloop/internal/store/sqlite"
)

// countingLimiter allows max calls per key, then refuses like
// internal/ratelimit.Limiter does.
type countingLimiter struct {
	max  int
	seen map[string]int
}

func (l *countingLimiter) Allow(_ context.Context, key string) error {
	l.seen[key]++
	if l.seen[key] > l.max {
		e := domain.Errorf(domain.KindRateLimited, "rate_limited", "too many deal registrations")
		e.Extra = map[string]any{"retryAfter": 60}
		return e
	}
	return nil
}

func TestRegistrationsAreRateLimitedPerPartner(t *testing.T) {
	st, err := sqlite.Open(filepath.Join(t.TempDir(), "deals.db"))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { st.Close() })
	ctx := t.Context()
	now := time.Date(2026, 3, 1, 12, 0, 0, 0, time.UTC)
	for _, id := range []string{"prt_a", "prt_b"} {
		if err := st.CreatePartner(ctx, domain.Partner{ID: id, OrgID: "org_1", CompanyName: id, ContactName: id,
			Email: id + "@example.com", TierID: "tir_1", Status: domain.PartnerActive, CreatedAt: now, UpdatedAt: now}); err != nil {
			t.Fatal(err)
		}
	}
	seq := 0
	ids := func(p string) string { seq++; return fmt.Sprintf("%s_%04d", p, seq) }
	lim := &countingLimiter{max: 2, seen: map[string]int{}}
	svc := deals.New(st, func() time.Time { return now }, ids, deals.WithLimiter(lim))
	register := func(partnerID string, i int) error {
		_, err := svc.Register(ctx, "org_1", "usr_1", deals.NewDeal{PartnerID: partnerID, CustomerName: "C",
			CustomerDomain: fmt.Sprintf("c%d.example", i), Value: &domain.MoneyInput{Amount: 100}})
		return err
	}
	for i := range 2 {
		if err := register("prt_a", i); err != nil {
			t.Fatal(err)
		}
	}
	err = register("prt_a", 3)
	if e, ok := domain.AsError(err); !ok || e.Kind != domain.KindRateLimited {
		t.Fatalf("third registration of prt_a: %v, want rate_limited", err)
	}
	if err := register("prt_b", 4); err != nil {
		t.Fatalf("another partner is not limited by prt_a's registrations: %v", err)
	}
	// An invalid registration is refused before it counts.
	if _, err := svc.Register(ctx, "org_1", "usr_1", deals.NewDeal{PartnerID: "prt_b"}); err == nil {
		t.Fatal("an empty registration was accepted")
	}
	if lim.seen["deal-registration:org_1:prt_b"] != 1 {
		t.Fatalf("limiter calls = %v", lim.seen)
	}
}

// TestStages counts and sums deals by status in the order of a deal's
// life, a won deal at its won value, one sum per currency, every status
// listed (an empty one with no value).
func TestStages(t *testing.T) {
	usd := func(a int64) domain.Money { return domain.Money{Amount: a, Currency: "USD"} }
	won := usd(9000)
	ds := []domain.Deal{
		{Status: domain.DealRegistered, Value: usd(100)},
		{Status: domain.DealRegistered, Value: domain.Money{Amount: 50, Currency: "EUR"}},
		{Status: domain.DealRegistered, Value: usd(200)},
		{Status: domain.DealWon, Value: usd(5000), WonValue: &won},
	}
	got, err := deals.Stages(ds)
	if err != nil {
		t.Fatal(err)
	}
	var lines []string
	for _, st := range got {
		lines = append(lines, fmt.Sprintf("%s %d %v", st.Status, st.Count, st.Values))
	}
	want := "registered 3 [{50 EUR} {300 USD}]|conflict 0 []|approved 0 []|won 1 [{9000 USD}]|lost 0 []|rejected 0 []|expired 0 []"
	if g := strings.Join(lines, "|"); g != want {
		t.Errorf("stages\n got %s\nwant %s", g, want)
	}
}
