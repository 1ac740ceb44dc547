package sqlite

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"path/filepath"
	"testing"
	"time"

	"github.com/partnerloop/partnerloop/internal/domain"
	"github.com/partnerloop/partnerloop/internal/store"
)

// BenchmarkClickGroup commits groups of new visitors' clicks (each from
// its own address, hashed as the tracking service hashes them) through
// the group committer's batch path, into a store already holding 50,000
// clicks, and reports the WAL frames each click costs: every frame is two
// write system calls now and a copy at the next checkpoint, the main cost
// of a commit. The frames are counted with the checkpointer stopped.
//
//	go test -run '^$' -bench ClickGroup -benchmem ./internal/store/sqlite/
func BenchmarkClickGroup(b *testing.B) {
	for _, size := range []int{1, 10, 16, 64} {
		b.Run(fmt.Sprintf("size=%d", size), func(b *testing.B) {
			ctx := context.Background()
			s, err := Open(filepath.Join(b.TempDir(), "db"))
			if err != nil {
				b.Fatal(err)
			}
			defer s.Close()
			if err := s.CreateReferrer(ctx, domain.Referrer{ID: "rfr_1", OrgID: "org_a", ProgramID: "prg_1", Email: "j@x.io", Code: "jane"}); err != nil {
				b.Fatal(err)
			}
			_ = s.ckpt.stop()
			ids := domain.NewULIDs(domain.SystemClock)
			hash := func(s string) string { h := sha256.Sum256([]byte(s)); return hex.EncodeToString(h[:]) }
			n := 0
			group := func(size int) {
				reqs := make([]groupReq, size)
				for i := range reqs {
					n++
					c := normClick(domain.Click{ID: ids("clk"), OrgID: "org_a", ProgramID: "prg_1", ReferrerID: "rfr_1", Code: "jane",
						VisitorHash: hash(fmt.Sprint("v", n)), At: time.Now()})
					data, err := marshal(c)
					if err != nil {
						b.Fatal(err)
					}
					reqs[i] = groupReq{click: &pendingClick{c: c, data: data, key: domain.CodeKey(c.Code),
						lim: store.ClickLimits{Window: time.Hour, SourceHash: hash(fmt.Sprint("s", n)), PerSource: 5}}}
				}
				for i, err := range s.commitGroup(reqs) {
					if err != nil || !reqs[i].click.counted {
						b.Fatalf("click %d: counted %v, %v", i, reqs[i].click.counted, err)
					}
				}
			}
			// walFrames returns the frames in the WAL and empties it.
			walFrames := func() int {
				var busy, frames, done int
				if err := s.w.QueryRowContext(ctx, `PRAGMA wal_checkpoint(PASSIVE)`).Scan(&busy, &frames, &done); err != nil {
					b.Fatal(err)
				}
				if err := s.w.QueryRowContext(ctx, `PRAGMA wal_checkpoint(TRUNCATE)`).Scan(&busy, new(int), &done); err != nil {
					b.Fatal(err)
				}
				return frames
			}
			for range 50_000 / 10 {
				group(10)
			}
			walFrames()
			b.ReportAllocs()
			b.ResetTimer()
			for b.Loop() {
				group(size)
			}
			b.StopTimer()
			b.ReportMetric(float64(walFrames())/float64(b.N*size), "frames/click")
		})
	}
}
