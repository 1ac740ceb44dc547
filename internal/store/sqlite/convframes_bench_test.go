package sqlite

import (
	"context"
	"encoding/binary"
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/partnerloop/partnerloop/internal/analytics"
	"github.com/partnerloop/partnerloop/internal/domain"
	"github.com/partnerloop/partnerloop/internal/pipeline"
	"github.com/partnerloop/partnerloop/internal/tracking"
)

// BenchmarkConversionFrames records groups of conversions of one referral
// (as scripts/throughput.sh's conversion scenario does) through the group
// committer, prices them with the embedded pipeline (outbox pump, queue,
// calculator, ledger; no webhook endpoint, so no notification is queued)
// and runs the analytics rollup once per group, into a
// store already holding 5,000 priced conversions, and reports the WAL
// frames each conversion costs in each phase: every frame is two write
// system calls now and a copy at the next checkpoint. The frames are
// counted with the checkpointer stopped. With -v it logs the B-trees the
// frames of the last groups were pages of (dbstat), per conversion.
//
//	go test -run '^$' -bench ConversionFrames -benchmem ./internal/store/sqlite/
func BenchmarkConversionFrames(b *testing.B) {
	for _, size := range []int{1, 16} {
		b.Run(fmt.Sprintf("size=%d", size), func(b *testing.B) {
			ctx := context.Background()
			s, path, record := convGroupStore(b)
			emb := pipeline.NewEmbedded(s, s, pipeline.NewCalculator(s, domain.SystemClock, pipeline.NoPartnerRules{}), nil)
			// As in the one-process server of the throughput script: no
			// webhook endpoint, so no notifications are queued.
			emb.Pump.Wanted = func(context.Context, string) (bool, error) { return false, nil }
			rollup := &analytics.Rollup{Store: s, HealEvery: -1}
			price := func() {
				if err := emb.Drain(ctx); err != nil {
					b.Fatal(err)
				}
			}
			roll := func() {
				if _, err := rollup.RunOnce(ctx); err != nil {
					b.Fatal(err)
				}
			}
			// frames returns the WAL's frames by the B-tree of their page
			// and empties the WAL.
			frames := func() map[string]int {
				out := map[string]int{}
				pages := walPages(b, path+"-wal")
				owner := map[uint32]string{}
				if len(pages) > 0 {
					rows, err := s.w.QueryContext(ctx, `SELECT name, pageno FROM dbstat`)
					if err != nil {
						b.Fatal(err)
					}
					for rows.Next() {
						var name string
						var pg uint32
						if err := rows.Scan(&name, &pg); err != nil {
							b.Fatal(err)
						}
						owner[pg] = name
					}
					if err := rows.Close(); err != nil {
						b.Fatal(err)
					}
				}
				for _, pg := range pages {
					name := owner[pg]
					if name == "" {
						name = "(free list)"
					}
					out[name]++
				}
				var busy, logged, done int
				if err := s.w.QueryRowContext(ctx, `PRAGMA wal_checkpoint(PASSIVE)`).Scan(&busy, &logged, &done); err != nil {
					b.Fatal(err)
				}
				if err := s.w.QueryRowContext(ctx, `PRAGMA wal_checkpoint(TRUNCATE)`).Scan(&busy, new(int), &done); err != nil || busy != 0 {
					b.Fatalf("checkpoint: busy %d, %v", busy, err)
				}
				if logged != len(pages) {
					b.Fatalf("the WAL file has %d frames, the checkpoint says %d", len(pages), logged)
				}
				return out
			}
			for range 5_000 / 16 {
				record(16)
			}
			price()
			roll()
			frames()

			phases := []string{"record", "pipeline", "rollup"}
			total := map[string]map[string]int{}
			for _, p := range phases {
				total[p] = map[string]int{}
			}
			add := func(phase string, f map[string]int) {
				for k, v := range f {
					total[phase][k] += v
				}
			}
			b.ReportAllocs()
			b.ResetTimer()
			for range b.N {
				record(size)
				b.StopTimer()
				add("record", frames())
				b.StartTimer()
				price()
				b.StopTimer()
				add("pipeline", frames())
				b.StartTimer()
				roll()
				b.StopTimer()
				add("rollup", frames())
				b.StartTimer()
			}
			b.StopTimer()
			convs := float64(b.N * size)
			all := 0
			var report strings.Builder
			for _, p := range phases {
				sum := 0
				var names []string
				for k, v := range total[p] {
					sum += v
					names = append(names, k)
				}
				all += sum
				b.ReportMetric(float64(sum)/convs, p+"-frames/conversion")
				slices.SortFunc(names, func(x, y string) int { return total[p][y] - total[p][x] })
				fmt.Fprintf(&report, "\n%s %.2f frames/conversion:", p, float64(sum)/convs)
				for _, k := range names {
					fmt.Fprintf(&report, " %s %.2f", k, float64(total[p][k])/convs)
				}
			}
			b.ReportMetric(float64(all)/convs, "frames/conversion")
			if testing.Verbose() {
				b.Logf("%d groups of %d:%s", b.N, size, report.String())
			}
		})
	}
}

// BenchmarkConversionGroup commits groups of 16 conversions of one
// referral, as the group committer does under load, on a store already
// holding 4,800; one op is one group (the WAL is emptied every 50, untimed).
//
//	go test -run '^$' -bench ConversionGroup -benchmem ./internal/store/sqlite/
func BenchmarkConversionGroup(b *testing.B) {
	s, _, record := convGroupStore(b)
	for range 300 {
		record(16)
	}
	b.ReportAllocs()
	b.ResetTimer()
	for i := range b.N {
		record(16)
		if i%50 == 49 {
			b.StopTimer()
			if _, err := s.w.ExecContext(context.Background(), `PRAGMA wal_checkpoint(TRUNCATE)`); err != nil {
				b.Fatal(err)
			}
			b.StartTimer()
		}
	}
}

// convGroupStore opens a store (its checkpointer stopped) with
// convFramesFixture's organization and returns it, its file's path and a
// function that commits a group of size new conversions of the fixture's
// referral through commitGroup.
func convGroupStore(b *testing.B) (*Store, string, func(size int)) {
	path := filepath.Join(b.TempDir(), "db")
	s, err := Open(path)
	if err != nil {
		b.Fatal(err)
	}
	b.Cleanup(func() { s.Close() })
	_ = s.ckpt.stop()
	ids := domain.NewULIDs(domain.SystemClock)
	org, ref := convFramesFixture(b, s, ids)
	n := 0
	return s, path, func(size int) {
		reqs := make([]groupReq, size)
		for i := range reqs {
			n++
			now := time.Now().UTC()
			c := domain.Conversion{ID: ids("cnv"), OrgID: org, ReferralID: ref.ID, ProgramID: ref.ProgramID,
				ReferrerID: ref.ReferrerID, Event: domain.EventPurchase, Amount: &domain.Money{Amount: 4999, Currency: "USD"},
				ExternalID: fmt.Sprintf("load-%d", n), OccurredAt: now, RefundedAmount: domain.Money{Currency: "USD"}, CreatedAt: now}
			req, err := s.recordConversion(c, nil)
			if err != nil {
				b.Fatal(err)
			}
			reqs[i] = req
		}
		for i, err := range s.commitGroup(reqs) {
			if err != nil {
				b.Fatalf("conversion %d: %v", i, err)
			}
		}
	}
}

// convFramesFixture makes an organization with a live program paying 10 %,
// a referrer and one referral of a first conversion, and returns the
// organization's ID and the referral.
func convFramesFixture(b *testing.B, s *Store, ids domain.IDs) (string, domain.Referral) {
	ctx := context.Background()
	start := time.Now().UTC().AddDate(0, -1, 0)
	const org = "org_frames"
	if err := s.CreateOrganization(ctx, domain.Organization{ID: org, Name: "Acme", CreatedAt: start}); err != nil {
		b.Fatal(err)
	}
	rate := int64(1000)
	spec := domain.ProgramSpec{
		Name: "Spring", LandingURL: "https://example.com/", Currency: "USD", StartsAt: start,
		AttributionWindowDays: 30, QualifyingEvents: []string{domain.EventPurchase},
		Commission: domain.CommissionRule{Type: domain.RulePercentage, RateBps: &rate}, HoldDays: 30,
	}
	p := domain.NewProgram(org, "prg_1", spec, start)
	p, err := p.Transition(domain.ProgramActive, start)
	if err != nil {
		b.Fatal(err)
	}
	if err := s.CreateProgram(ctx, p); err != nil {
		b.Fatal(err)
	}
	rf := domain.Referrer{ID: "rfr_1", OrgID: org, ProgramID: p.ID, Email: "jane@example.com", Name: "Jane",
		Code: "JANE2345", CreatedAt: start}
	if err := s.CreateReferrer(ctx, rf); err != nil {
		b.Fatal(err)
	}
	c, _, err := tracking.New(s, domain.SystemClock, ids).RecordConversion(ctx, org, tracking.ConversionInput{
		Code: rf.Code, Email: "buyer@example.org", Event: domain.EventPurchase,
		Amount: &domain.MoneyInput{Amount: 4999}, ExternalID: "load-first"})
	if err != nil {
		b.Fatal(err)
	}
	ref, err := s.GetReferral(ctx, org, c.ReferralID)
	if err != nil {
		b.Fatal(err)
	}
	return org, ref
}

// walPages returns the page number of each frame of the write-ahead log
// at path, in order.
func walPages(b *testing.B, path string) []uint32 {
	raw, err := os.ReadFile(path)
	if err != nil && !os.IsNotExist(err) {
		b.Fatal(err)
	}
	if len(raw) < 32 {
		return nil
	}
	pageSize := int(binary.BigEndian.Uint32(raw[8:12]))
	var out []uint32
	for off := 32; off+24+pageSize <= len(raw); off += 24 + pageSize {
		out = append(out, binary.BigEndian.Uint32(raw[off:off+4]))
	}
	return out
}
