package sqlite_test

import (
	"context"
	"database/sql"
	"encoding/json"
	"fmt"
	"math/rand/v2"
	"os"
	"path/filepath"
	"sort"
	"strconv"
	"sync"
	"testing"
	"time"

	"github.com/partnerloop/partnerloop/internal/analytics"
	"github.com/partnerloop/partnerloop/internal/domain"
	"github.com/partnerloop/partnerloop/internal/store"
	"github.com/partnerloop/partnerloop/internal/store/sqlite"
)

// The analytics benchmarks run on one seeded organization: ANALYTICS_BENCH_
// REFERRERS referrers (default 10,000) in 5 programs, a fifth of them a
// partner's, and ANALYTICS_BENCH_CLICKS clicks (default 1,000,000) spread
// over the last 365 days, with referrals and conversions. The seed is built
// once per process (a minute or two) in a temporary directory.
//
//	go test -run '^$' -bench Analytics -benchtime 200x ./internal/store/sqlite

func envInt(name string, def int) int {
	if v, err := strconv.Atoi(os.Getenv(name)); err == nil && v > 0 {
		return v
	}
	return def
}

type benchWorld struct {
	st        *sqlite.Store
	svc       *analytics.Service
	job       *analytics.Rollup
	org       string
	now       time.Time
	referrers []domain.Referrer
	seedTook  time.Duration
	buildTook time.Duration
	clicks    int
}

var (
	benchOnce sync.Once
	bench     *benchWorld
	benchErr  error
)

func benchSeed(b *testing.B) *benchWorld {
	benchOnce.Do(func() {
		bench, benchErr = seed(envInt("ANALYTICS_BENCH_REFERRERS", 10_000), envInt("ANALYTICS_BENCH_CLICKS", 1_000_000))
	})
	if benchErr != nil {
		b.Fatal(benchErr)
	}
	return bench
}

func seed(nReferrers, nClicks int) (*benchWorld, error) {
	ctx := context.Background()
	dir, err := os.MkdirTemp("", "analytics-bench-")
	if err != nil {
		return nil, err
	}
	path := filepath.Join(dir, "bench.db")
	st, err := sqlite.Open(path)
	if err != nil {
		return nil, err
	}
	w := &benchWorld{st: st, org: "org_bench", now: time.Date(2026, 12, 1, 12, 0, 0, 0, time.UTC), clicks: nClicks}
	clock := func() time.Time { return w.now }
	w.svc = analytics.NewService(st, clock)
	w.job = &analytics.Rollup{Store: st, Now: clock, HealEvery: -1}
	start := time.Now()
	ids := domain.NewULIDs(clock)
	if err := st.CreateOrganization(ctx, domain.Organization{ID: w.org, Name: "Bench", TimeZone: "America/New_York", CreatedAt: w.now}); err != nil {
		return nil, err
	}
	var progs []domain.Program
	for i := 0; i < 5; i++ {
		p := domain.Program{ID: ids("prg"), OrgID: w.org, Name: fmt.Sprintf("P%d", i), Status: domain.ProgramActive, LandingURL: "https://example.com",
			Currency: "USD", StartsAt: w.now.AddDate(-2, 0, 0), AttributionWindowDays: 30, QualifyingEvents: []string{"purchase"},
			Commission: domain.CommissionRule{Type: domain.RulePercentage, RateBps: ptr(int64(1000))}, CreatedAt: w.now, UpdatedAt: w.now}
		if err := st.CreateProgram(ctx, p); err != nil {
			return nil, err
		}
		progs = append(progs, p)
	}
	tier := domain.PartnerTier{ID: ids("tir"), OrgID: w.org, Name: "Gold", Commission: domain.CommissionRule{Type: domain.RuleFlat, Amount: ptr(int64(500))}, CreatedAt: w.now, UpdatedAt: w.now}
	if err := st.CreateTier(ctx, tier); err != nil {
		return nil, err
	}
	var partners []string
	for i := 0; i < 50; i++ {
		p := domain.Partner{ID: ids("prt"), OrgID: w.org, CompanyName: fmt.Sprintf("Partner %d", i), ContactName: "C", Email: fmt.Sprintf("p%d@bench.example", i),
			TierID: tier.ID, Status: domain.PartnerActive, CreatedAt: w.now, UpdatedAt: w.now}
		if err := st.CreatePartner(ctx, p); err != nil {
			return nil, err
		}
		partners = append(partners, p.ID)
	}
	for i := 0; i < nReferrers; i++ {
		r := domain.Referrer{ID: ids("rfr"), OrgID: w.org, ProgramID: progs[i%len(progs)].ID, Email: fmt.Sprintf("r%d@bench.example", i),
			Name: fmt.Sprintf("Referrer %d", i), Code: fmt.Sprintf("B%07d", i), CreatedAt: w.now}
		if i%5 == 0 {
			r.PartnerID = partners[i%len(partners)]
		}
		if err := st.CreateReferrer(ctx, r); err != nil {
			return nil, err
		}
		w.referrers = append(w.referrers, r)
	}
	// Clicks, referrals and conversions go in with plain SQL in large
	// transactions (the store writes them one by one), as the store stores
	// them; the rebuild then counts them like any history.
	db, err := sql.Open("sqlite", path+"?_pragma=busy_timeout(5000)")
	if err != nil {
		return nil, err
	}
	defer db.Close()
	rng := rand.New(rand.NewPCG(1, 2))
	// Within the last 364 days: all inside the benchmark's 365-day range.
	when := func() time.Time { return w.now.Add(-time.Hour - time.Duration(rng.Int64N(int64(364*24*time.Hour)))) }
	insert := func(n int, query string, row func(i int) []any) error {
		tx, err := db.Begin()
		if err != nil {
			return err
		}
		stmt, err := tx.Prepare(query)
		if err != nil {
			return err
		}
		for i := 0; i < n; i++ {
			if _, err := stmt.Exec(row(i)...); err != nil {
				tx.Rollback()
				return err
			}
			if i%100_000 == 99_999 {
				if err := tx.Commit(); err != nil {
					return err
				}
				if tx, err = db.Begin(); err != nil {
					return err
				}
				if stmt, err = tx.Prepare(query); err != nil {
					return err
				}
			}
		}
		return tx.Commit()
	}
	ts := func(t time.Time) string { return t.UTC().Format("2006-01-02T15:04:05.000000000Z07:00") }
	err = insert(nClicks, `INSERT INTO clicks (id, org_id, referrer_id, visitor_hash, at, data) VALUES (?, ?, ?, ?, ?, ?)`, func(i int) []any {
		r := w.referrers[rng.IntN(len(w.referrers))]
		c := domain.Click{ID: fmt.Sprintf("clk_%012d", i), OrgID: w.org, ProgramID: r.ProgramID, ReferrerID: r.ID, PartnerID: r.PartnerID, Code: r.Code, At: when()}
		data, _ := json.Marshal(c)
		return []any{c.ID, w.org, r.ID, "v" + strconv.Itoa(i), ts(c.At), string(data)}
	})
	if err != nil {
		return nil, err
	}
	nReferrals := nClicks / 20
	err = insert(nReferrals, `INSERT INTO referrals (id, org_id, program_id, referrer_id, email, external_id, status, created_at, converted_at, data)
		VALUES (?, ?, ?, ?, '', '', ?, ?, NULL, ?)`, func(i int) []any {
		r := w.referrers[rng.IntN(len(w.referrers))]
		ref := domain.Referral{ID: fmt.Sprintf("ref_%012d", i), OrgID: w.org, ProgramID: r.ProgramID, ReferrerID: r.ID, PartnerID: r.PartnerID,
			Status: domain.ReferralPending, CreatedAt: when()}
		if i%4 == 0 {
			ref.Status = domain.ReferralConverted
		}
		data, _ := json.Marshal(ref)
		return []any{ref.ID, w.org, r.ProgramID, r.ID, ref.Status, ts(ref.CreatedAt), string(data)}
	})
	if err != nil {
		return nil, err
	}
	err = insert(nReferrals/4, `INSERT INTO conversions (id, org_id, program_id, referral_id, external_id, occurred_at, data) VALUES (?, ?, ?, ?, '', ?, ?)`, func(i int) []any {
		r := w.referrers[rng.IntN(len(w.referrers))]
		c := domain.Conversion{ID: fmt.Sprintf("cnv_%012d", i), OrgID: w.org, ReferralID: fmt.Sprintf("ref_%012d", i*4), ProgramID: r.ProgramID,
			ReferrerID: r.ID, PartnerID: r.PartnerID, Event: domain.EventPurchase, Amount: &domain.Money{Amount: 1000 + rng.Int64N(100000), Currency: "USD"},
			RefundedAmount: domain.Money{Currency: "USD"}, OccurredAt: when()}
		c.CreatedAt = c.OccurredAt
		data, _ := json.Marshal(c)
		return []any{c.ID, w.org, r.ProgramID, c.ReferralID, ts(c.OccurredAt), string(data)}
	})
	if err != nil {
		return nil, err
	}
	w.seedTook = time.Since(start)
	start = time.Now()
	// The first build: a recount of the whole history.
	if _, err := w.job.RunOnce(ctx); err != nil {
		return nil, err
	}
	w.buildTook = time.Since(start)
	// The seeded clicks went in without the store (the click feed reads
	// them and passes them over: the build counted them): read to the end.
	for {
		st, err := w.job.RunOnce(ctx)
		if err != nil {
			return nil, err
		}
		if st.CaughtUp {
			break
		}
	}
	return w, nil
}

func ptr[T any](v T) *T { return &v }

// percentiles reports p50 and p95 of the durations as benchmark metrics.
func percentiles(b *testing.B, d []time.Duration) {
	sort.Slice(d, func(i, j int) bool { return d[i] < d[j] })
	if len(d) == 0 {
		return
	}
	b.ReportMetric(float64(d[len(d)/2].Microseconds())/1000, "p50-ms")
	b.ReportMetric(float64(d[len(d)*95/100].Microseconds())/1000, "p95-ms")
}

// BenchmarkAnalyticsDashboard: the summary (with the previous period) and
// a 365-day daily series, what a dashboard load asks, read from the cells.
func BenchmarkAnalyticsDashboard(b *testing.B) {
	w := benchSeed(b)
	b.Logf("seed: %d referrers, %d clicks in %s; first build of the cells %s", len(w.referrers), w.clicks, w.seedTook.Round(time.Millisecond), w.buildTook.Round(time.Millisecond))
	ctx := context.Background()
	q := analytics.Query{From: "2025-12-02", To: "2026-12-01"}
	var took []time.Duration
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		t0 := time.Now()
		s, err := w.svc.Summary(ctx, w.org, q, true)
		if err != nil {
			b.Fatal(err)
		}
		series, err := w.svc.Timeseries(ctx, w.org, q, analytics.IntervalDay)
		if err != nil {
			b.Fatal(err)
		}
		took = append(took, time.Since(t0))
		if i == 0 && (s.Clicks != int64(w.clicks) || len(series.Points) != 365) {
			b.Fatalf("summary counts %d clicks (want %d), series has %d points", s.Clicks, w.clicks, len(series.Points))
		}
	}
	b.StopTimer()
	percentiles(b, took)
}

// BenchmarkAnalyticsTopReferrers: the top 50 referrers over 30 and 365 days.
func BenchmarkAnalyticsTopReferrers(b *testing.B) {
	w := benchSeed(b)
	ctx := context.Background()
	for _, rg := range []struct{ name, from string }{{"30d", "2026-11-02"}, {"365d", "2025-12-02"}} {
		b.Run(rg.name, func(b *testing.B) {
			var took []time.Duration
			for i := 0; i < b.N; i++ {
				t0 := time.Now()
				if _, err := w.svc.TopReferrers(ctx, w.org, analytics.Query{From: rg.from, To: "2026-12-01"}, analytics.ByClicks, "", 50); err != nil {
					b.Fatal(err)
				}
				took = append(took, time.Since(t0))
			}
			percentiles(b, took)
		})
	}
}

// BenchmarkAnalyticsRollupRun: one rollup run after 1,000 new events (800
// clicks, 150 referrals, 50 conversions through the store, as the
// services write them), on top of the seeded history. Compare the figure
// at two history sizes (ANALYTICS_BENCH_CLICKS): a run costs O(new events).
func BenchmarkAnalyticsRollupRun(b *testing.B) {
	w := benchSeed(b)
	ctx := context.Background()
	ids := domain.NewULIDs(func() time.Time { return w.now })
	rng := rand.New(rand.NewPCG(3, 4))
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		b.StopTimer()
		for j := 0; j < 1000; j++ {
			r := w.referrers[rng.IntN(len(w.referrers))]
			at := w.now.Add(-time.Duration(rng.Int64N(int64(48 * time.Hour))))
			switch {
			case j < 800:
				c := domain.Click{ID: ids("clk"), OrgID: w.org, ProgramID: r.ProgramID, ReferrerID: r.ID, PartnerID: r.PartnerID, Code: r.Code,
					VisitorHash: ids("v"), At: at}
				if _, err := w.st.RecordClick(ctx, c, store.ClickLimits{Window: time.Hour}); err != nil {
					b.Fatal(err)
				}
			case j < 950:
				ref := domain.Referral{ID: ids("ref"), OrgID: w.org, ProgramID: r.ProgramID, ReferrerID: r.ID, PartnerID: r.PartnerID,
					Status: domain.ReferralPending, CreatedAt: at}
				if err := w.st.CreateReferral(ctx, ref); err != nil {
					b.Fatal(err)
				}
			default:
				ref := domain.Referral{ID: ids("ref"), OrgID: w.org, ProgramID: r.ProgramID, ReferrerID: r.ID, PartnerID: r.PartnerID,
					Status: domain.ReferralPending, CreatedAt: at}
				c := domain.Conversion{ID: ids("cnv"), OrgID: w.org, ReferralID: ref.ID, ProgramID: r.ProgramID, ReferrerID: r.ID, PartnerID: r.PartnerID,
					Event: domain.EventPurchase, Amount: &domain.Money{Amount: 5000, Currency: "USD"}, RefundedAmount: domain.Money{Currency: "USD"},
					OccurredAt: at, CreatedAt: at}
				if err := w.st.RecordConversion(ctx, c, &ref); err != nil {
					b.Fatal(err)
				}
			}
		}
		b.StartTimer()
		st, err := w.job.RunOnce(ctx)
		if err != nil {
			b.Fatal(err)
		}
		if st.Changes < 1000 {
			b.Fatalf("the run read %d changes, want the 1,000 new ones", st.Changes)
		}
	}
}
