package dynamo_test

import (
	"context"
	"fmt"
	"testing"
	"time"

	"github.com/partnerloop/partnerloop/internal/domain"
	"github.com/partnerloop/partnerloop/internal/store"
	"github.com/partnerloop/partnerloop/internal/store/dynamo"
)

// Records written before the search words existed are not found by a
// search until IndexSearchWords writes their words; running it again
// changes nothing.
func TestIndexSearchWordsOfEarlierRecords(t *testing.T) {
	ctx := context.Background()
	s := newStore(t)
	at := time.Now().UTC().Truncate(time.Millisecond)
	if err := s.CreateReferrer(ctx, domain.Referrer{ID: "rfr_1", OrgID: "org_a", ProgramID: "prg_1", Email: "kim@x.io", Name: "Kim Lee",
		Code: "KIM" + fmt.Sprint(at.UnixNano()), CreatedAt: at}); err != nil {
		t.Fatal(err)
	}
	for i := range 3 {
		if err := s.CreateReferral(ctx, domain.Referral{ID: fmt.Sprintf("rfl_%d", i), OrgID: "org_a", ProgramID: "prg_1", ReferrerID: "rfr_1",
			Email: fmt.Sprintf("p%d@x.io", i), Name: "Émile Zola", Status: domain.ReferralPending, CreatedAt: at}); err != nil {
			t.Fatal(err)
		}
	}
	if err := dynamo.ForgetSearchWords(s); err != nil {
		t.Fatal(err)
	}
	search := store.Match{Search: "zola"}
	if n, _, err := s.CountReferrals(ctx, "org_a", store.ReferralFilter{Match: search}); err != nil || n != 0 {
		t.Fatalf("found without words: %d, %v", n, err)
	}
	for range 2 {
		n, err := s.IndexSearchWords(ctx, "org_a")
		if err != nil || n != 4 {
			t.Fatalf("IndexSearchWords = %d, %v; want 4 records", n, err)
		}
		if n, _, err := s.CountReferrals(ctx, "org_a", store.ReferralFilter{Match: search}); err != nil || n != 3 {
			t.Errorf("referrals found after indexing: %d, %v", n, err)
		}
		if n, _, err := s.CountReferrers(ctx, "org_a", store.ReferrerFilter{Match: store.Match{Search: "kim@"}}); err != nil || n != 1 {
			t.Errorf("referrers found after indexing: %d, %v", n, err)
		}
	}
}
