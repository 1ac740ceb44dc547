package payouts_test

import (
	"fmt"
	"slices"
	"testing"
	"time"

	"github.com/partnerloop/partnerloop/internal/commission"
	"github.com/partnerloop/partnerloop/internal/domain"
	"github.com/partnerloop/partnerloop/internal/store"
)

// BenchmarkRunOf1000 creates a run of 1,000 approved commissions of 100
// partners and marks it paid, on SQLite (go test -bench RunOf1000 -run -).
func BenchmarkRunOf1000(b *testing.B) {
	for range b.N {
		b.StopTimer()
		e := newEnv(b)
		ctx := b.Context()
		var cs []commission.Commission
		for i := range 1000 {
			cs = append(cs, commission.Commission{ID: fmt.Sprintf("com_%04d", i), OrgID: e.org, Kind: commission.KindCommission,
				PartnerID: fmt.Sprintf("prt_%03d", i%100), Status: commission.StatusApproved,
				Amount: domain.Money{Amount: 1000, Currency: "USD"}, CreatedAt: t0.Add(time.Duration(i) * time.Millisecond)})
		}
		for c := range slices.Chunk(cs, 25) {
			if err := e.st.ApplyLedgerChange(ctx, store.LedgerChange{OrgID: e.org, Created: c}); err != nil {
				b.Fatal(err)
			}
		}
		b.StartTimer()
		run, err := e.svc.Create(ctx, e.org, "usr_admin")
		if err != nil || run.CommissionCount != 1000 {
			b.Fatalf("create: %v", err)
		}
		if _, err := e.svc.MarkPaid(ctx, e.org, "usr_admin", run.ID, "REF"); err != nil {
			b.Fatal(err)
		}
	}
}
