package analytics

import (
	"encoding/json"
	"fmt"
	"testing"
	"time"

	"github.com/partnerloop/partnerloop/internal/commission"
	"github.com/partnerloop/partnerloop/internal/domain"
	"github.com/partnerloop/partnerloop/internal/store"
)

// conversionRunChanges is what the outbox holds after n conversions of the
// conversion run, as the stores write them: each conversion's INSERT, its
// referral's MODIFY (pending → converted) and its commission's INSERT.
func conversionRunChanges(tb testing.TB, n int) []store.Change {
	tb.Helper()
	at := time.Date(2026, 12, 7, 20, 0, 0, 123456789, time.UTC)
	img := func(v any) []byte {
		b, err := json.Marshal(v)
		if err != nil {
			tb.Fatal(err)
		}
		return b
	}
	var out []store.Change
	for i := range n {
		t := at.Add(time.Duration(i) * time.Millisecond)
		prog, refr, part := fmt.Sprintf("prg_%d", i%5), fmt.Sprintf("rfr_%d", i%200), ""
		if i%3 == 0 {
			part = fmt.Sprintf("prt_%d", i%20)
		}
		ref := domain.Referral{ID: fmt.Sprintf("ref_%d", i), OrgID: "org_1", ProgramID: prog, ReferrerID: refr, PartnerID: part,
			Email: fmt.Sprintf("c%d@example.com", i), Name: "A Customer", Status: domain.ReferralPending, CreatedAt: t.Add(-time.Hour), UpdatedAt: t.Add(-time.Hour)}
		conv := domain.Conversion{ID: fmt.Sprintf("cnv_%d", i), OrgID: "org_1", ReferralID: ref.ID, ProgramID: prog, ReferrerID: refr, PartnerID: part,
			Event: domain.EventPurchase, Amount: &domain.Money{Amount: 4999, Currency: "USD"}, ExternalID: fmt.Sprintf("order-%d", i),
			OccurredAt: t, RefundedAmount: domain.Money{Currency: "USD"}, CreatedAt: t}
		converted := ref
		converted.Status, converted.ConvertedAt, converted.UpdatedAt = domain.ReferralConverted, &t, t
		com := commission.Commission{ID: fmt.Sprintf("com_%d", i), OrgID: "org_1", Kind: commission.KindCommission, ProgramID: prog, ReferrerID: refr,
			PartnerID: part, ConversionID: conv.ID, Amount: domain.Money{Amount: 500, Currency: "USD"}, Status: commission.StatusPending,
			AvailableAt: t.Add(30 * 24 * time.Hour), OccurredAt: t, CreatedAt: t, UpdatedAt: t, RuleSource: "program", RuleVersion: 1, Revision: 1}
		out = append(out,
			store.Change{Entity: EntityConversion, Op: "INSERT", OrgID: "org_1", ID: conv.ID, NewImage: img(conv)},
			store.Change{Entity: EntityReferral, Op: "MODIFY", OrgID: "org_1", ID: ref.ID, OldImage: img(ref), NewImage: img(converted)},
			store.Change{Entity: EntityCommission, Op: "INSERT", OrgID: "org_1", ID: com.ID, NewImage: img(com)})
	}
	return out
}

// BenchmarkFoldConversions folds the changes of 1,000 conversions (3,000
// changes: the conversion, its referral converted, its commission): the
// rollup's CPU per round of the conversion run, without SQLite.
//
//	go test -run '^$' -bench FoldConversions -benchmem ./internal/analytics/
func BenchmarkFoldConversions(b *testing.B) {
	changes := conversionRunChanges(b, 1000)
	ny, err := time.LoadLocation("America/New_York")
	if err != nil {
		b.Fatal(err)
	}
	zone := func(string) *time.Location { return ny }
	b.ReportAllocs()
	b.ResetTimer()
	for b.Loop() {
		if _, err := Fold(changes, zone); err != nil {
			b.Fatal(err)
		}
	}
}
