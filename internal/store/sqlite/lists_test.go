package sqlite

import (
	"context"
	"fmt"
	"path/filepath"
	"testing"
	"time"

	"github.com/partnerloop/partnerloop/internal/domain"
	"github.com/partnerloop/partnerloop/internal/store"
)

// Records stored before search_words existed are indexed when the file is
// next opened, in batches, with the words domain.SearchWords gives (not
// SQL's ASCII-only lower()).
func TestOpenIndexesTheWordsOfEarlierRecords(t *testing.T) {
	ctx := context.Background()
	path := filepath.Join(t.TempDir(), "db")
	s, err := Open(path)
	if err != nil {
		t.Fatal(err)
	}
	at := time.Date(2026, 3, 10, 12, 0, 0, 0, time.UTC)
	if err := s.CreateReferrer(ctx, domain.Referrer{ID: "rfr_1", OrgID: "org_a", ProgramID: "prg_1", Email: "kim@x.io", Name: "Kim Lee", Code: "kim", CreatedAt: at}); err != nil {
		t.Fatal(err)
	}
	n := backfillBatch + 3
	for i := range n {
		if err := s.CreateReferral(ctx, domain.Referral{ID: fmt.Sprintf("rfl_%04d", i), OrgID: "org_a", ProgramID: "prg_1", ReferrerID: "rfr_1",
			Email: fmt.Sprintf("p%d@x.io", i), Name: "ÉMILE Zola", Status: domain.ReferralPending, CreatedAt: at}); err != nil {
			t.Fatal(err)
		}
	}
	// As a file of the previous version: no words, the backfill pending.
	if _, err := s.w.ExecContext(ctx, `DELETE FROM search_words; INSERT INTO search_backfill (kind) VALUES ('referral'), ('referrer')`); err != nil {
		t.Fatal(err)
	}
	s.Close()

	s = openT(t, path)
	got, more, err := s.CountReferrals(ctx, "org_a", store.ReferralFilter{Match: store.Match{Search: domain.SearchTerm("émile")}})
	if err != nil || got != n || more {
		t.Errorf("referrals found after the backfill: %d, %v, %v; want %d", got, more, err, n)
	}
	if got, _, err := s.CountReferrers(ctx, "org_a", store.ReferrerFilter{Match: store.Match{Search: "lee"}}); err != nil || got != 1 {
		t.Errorf("referrers found after the backfill: %d, %v", got, err)
	}
	var pending int
	if err := s.r.QueryRowContext(ctx, `SELECT COUNT(*) FROM search_backfill`).Scan(&pending); err != nil || pending != 0 {
		t.Errorf("backfills still pending: %d, %v", pending, err)
	}
}
