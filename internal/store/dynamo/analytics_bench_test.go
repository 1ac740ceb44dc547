package dynamo_test

import (
	"context"
	"fmt"
	"math/rand/v2"
	"sync"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/service/dynamodb/types"

	"github.com/partnerloop/partnerloop/internal/analytics"
	"github.com/partnerloop/partnerloop/internal/domain"
	"github.com/partnerloop/partnerloop/internal/store"
	"github.com/partnerloop/partnerloop/internal/store/dynamo"
)

// capacity adds up the units DynamoDB Local reports per store call.
type capacity struct {
	mu   sync.Mutex
	r, w float64
}

func (c *capacity) record(_ string, cc []types.ConsumedCapacity) {
	r, w := dynamo.Units(cc)
	c.mu.Lock()
	c.r += r
	c.w += w
	c.mu.Unlock()
}

func (c *capacity) take() (r, w float64) {
	c.mu.Lock()
	defer c.mu.Unlock()
	r, w = c.r, c.w
	c.r, c.w = 0, 0
	return r, w
}

// BenchmarkAnalyticsCapacity measures, on DynamoDB Local, the capacity of
// one rollup run after 1,000 new events (800 clicks, 150 referrals, 50
// conversions of 200 referrers) and of one dashboard load (the summary with
// the previous period, a 365-day daily series, the top 10 referrers of 30
// days and the partner table), as DynamoDB Local reports it.
//
//	go test -run '^$' -bench AnalyticsCapacity -benchtime 3x ./internal/store/dynamo
func BenchmarkAnalyticsCapacity(b *testing.B) {
	// today: the events happen now (the common case: each cell is written
	// once per run whatever the events); spread: their times are spread
	// over 300 days (backdated conversions, a rebuild's worst case).
	for _, sc := range []struct {
		name string
		span time.Duration
	}{{"today", time.Hour}, {"spread", 300 * 24 * time.Hour}} {
		b.Run(sc.name, func(b *testing.B) { benchCapacity(b, sc.span) })
	}
}

func benchCapacity(b *testing.B, span time.Duration) {
	ctx := context.Background()
	var cap capacity
	st := dynamo.New(client, benchTable(b), dynamo.WithStreams(streams, 200*time.Millisecond), dynamo.WithCapacityRecorder(cap.record))
	now := time.Now().UTC()
	clock := func() time.Time { return now }
	ids := domain.NewULIDs(clock)
	org := domain.Organization{ID: ids("org"), Name: "Bench", TimeZone: "Europe/Berlin", CreatedAt: now}
	must := func(err error) {
		if err != nil {
			b.Fatal(err)
		}
	}
	must(st.CreateOrganization(ctx, org))
	prog := domain.Program{ID: ids("prg"), OrgID: org.ID, Name: "P", Status: domain.ProgramActive, LandingURL: "https://example.com",
		Currency: "USD", StartsAt: now.AddDate(-1, 0, 0), AttributionWindowDays: 30, QualifyingEvents: []string{"purchase"},
		Commission: domain.CommissionRule{Type: domain.RuleFlat, Amount: ptr(int64(500))}, CreatedAt: now, UpdatedAt: now}
	must(st.CreateProgram(ctx, prog))
	tier := domain.PartnerTier{ID: ids("tir"), OrgID: org.ID, Name: "Gold", Commission: domain.CommissionRule{Type: domain.RuleFlat, Amount: ptr(int64(500))}, CreatedAt: now, UpdatedAt: now}
	must(st.CreateTier(ctx, tier))
	var partners []string
	for i := 0; i < 10; i++ {
		p := domain.Partner{ID: ids("prt"), OrgID: org.ID, CompanyName: fmt.Sprintf("Partner %d", i), ContactName: "C",
			Email: fmt.Sprintf("p%d.%d@bench.example", i, now.UnixNano()), TierID: tier.ID, Status: domain.PartnerActive, CreatedAt: now, UpdatedAt: now}
		must(st.CreatePartner(ctx, p))
		partners = append(partners, p.ID)
	}
	var refs []domain.Referrer
	for i := 0; i < 200; i++ {
		r := domain.Referrer{ID: ids("rfr"), OrgID: org.ID, ProgramID: prog.ID, Email: fmt.Sprintf("r%d@bench.example", i),
			Name: fmt.Sprintf("Referrer %d", i), Code: fmt.Sprintf("CAP%d%d", i, now.UnixNano()%1e9), CreatedAt: now}
		if i%4 == 0 {
			r.PartnerID = partners[i%len(partners)]
		}
		must(st.CreateReferrer(ctx, r))
		refs = append(refs, r)
	}
	job := &analytics.Rollup{Store: st, Now: clock, HealEvery: -1, Batch: 10_000} // as the function runs it
	svc := analytics.NewService(st, clock)
	roll := func() {
		for i := 0; i < 100; i++ {
			s, err := job.RunOnce(ctx)
			must(err)
			if s.CaughtUp && s.Changes == 0 && s.Rebuilt == 0 {
				return
			}
		}
	}
	roll() // the first build
	rng := rand.New(rand.NewPCG(5, 6))
	events := func() {
		for j := 0; j < 1000; j++ {
			r := refs[rng.IntN(len(refs))]
			at := now.Add(-time.Duration(rng.Int64N(int64(span))))
			switch {
			case j < 800:
				_, err := st.RecordClick(ctx, domain.Click{ID: ids("clk"), OrgID: org.ID, ProgramID: r.ProgramID, ReferrerID: r.ID,
					PartnerID: r.PartnerID, Code: r.Code, VisitorHash: ids("v"), At: at}, store.ClickLimits{Window: time.Hour})
				must(err)
			case j < 950:
				must(st.CreateReferral(ctx, domain.Referral{ID: ids("ref"), OrgID: org.ID, ProgramID: r.ProgramID, ReferrerID: r.ID,
					PartnerID: r.PartnerID, Status: domain.ReferralPending, CreatedAt: at, UpdatedAt: at}))
			default:
				ref := domain.Referral{ID: ids("ref"), OrgID: org.ID, ProgramID: r.ProgramID, ReferrerID: r.ID, PartnerID: r.PartnerID,
					Status: domain.ReferralPending, CreatedAt: at, UpdatedAt: at}
				must(st.RecordConversion(ctx, domain.Conversion{ID: ids("cnv"), OrgID: org.ID, ReferralID: ref.ID, ProgramID: r.ProgramID,
					ReferrerID: r.ID, PartnerID: r.PartnerID, Event: domain.EventPurchase, Amount: &domain.Money{Amount: 5000, Currency: "USD"},
					RefundedAmount: domain.Money{Currency: "USD"}, OccurredAt: at, CreatedAt: at}, &ref))
			}
		}
	}
	var runR, runW, dashR float64
	for i := 0; i < b.N; i++ {
		events()
		time.Sleep(300 * time.Millisecond) // the stream's lag
		cap.take()
		roll()
		r, w := cap.take()
		runR, runW = runR+r, runW+w
		q := analytics.Query{From: analytics.DateOf(now, time.UTC).AddDays(-364).String(), To: analytics.DateOf(now, time.UTC).String()}
		_, err := svc.Summary(ctx, org.ID, q, true)
		must(err)
		_, err = svc.Timeseries(ctx, org.ID, q, analytics.IntervalDay)
		must(err)
		_, err = svc.TopReferrers(ctx, org.ID, analytics.Query{From: analytics.DateOf(now, time.UTC).AddDays(-29).String(), To: q.To}, "", "", 10)
		must(err)
		_, err = svc.Partners(ctx, org.ID, analytics.Query{From: analytics.DateOf(now, time.UTC).AddDays(-29).String(), To: q.To}, "", "", 50)
		must(err)
		r, _ = cap.take()
		dashR += r
	}
	b.ReportMetric(runR/float64(b.N), "RCU/run")
	b.ReportMetric(runW/float64(b.N), "WCU/run")
	b.ReportMetric(dashR/float64(b.N), "RCU/dashboard")
}

// benchTable creates a table for a benchmark (deleted when it ends).
func benchTable(b *testing.B) string {
	name := fmt.Sprintf("bench-%d", time.Now().UnixNano())
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	if err := dynamo.CreateTable(ctx, client, name); err != nil {
		b.Fatal(err)
	}
	b.Cleanup(func() { _ = dynamo.DeleteTable(context.Background(), client, name) })
	return name
}
func ptr[T any](v T) *T { return &v }
