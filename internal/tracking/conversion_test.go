package tracking_test

import (
	"context"
	"path/filepath"
	"sync/atomic"
	"testing"
	"time"

	"github.com/partnerloop/partnerloop/internal/domain"
	"github.com/partnerloop/partnerloop/internal/programs"
	"github.com/partnerloop/partnerloop/internal/store"
	"github.com/partnerloop/partnerloop/internal/store/sqlite"
	"github.com/partnerloop/partnerloop/internal/tracking"
)

// countingStore counts the reads by externalId of the SQLite store it
// embeds (whose ConversionConflictFirst it keeps).
type countingStore struct {
	*sqlite.Store
	byExternalID atomic.Int64
}

func (c *countingStore) GetConversionByExternalID(ctx context.Context, orgID, externalID string) (domain.Conversion, error) {
	c.byExternalID.Add(1)
	return c.Store.GetConversionByExternalID(ctx, orgID, externalID)
}

// readFirstStore hides ConversionConflictFirst: the service reads by
// externalId before every write, as it does on DynamoDB.
type readFirstStore struct{ store.Store }

// TestConversionRetryAnswersTheOriginal: a conversion is recorded once per
// externalId, and a retry answers with the original whatever the checks
// would say now (the program paused meanwhile, another referral named) —
// both when the service reads by externalId first and when the store finds
// the taken externalId in its write (ConversionConflictFirst, SQLite),
// where a new conversion costs no read by externalId at all.
func TestConversionRetryAnswersTheOriginal(t *testing.T) {
	for _, readFirst := range []bool{false, true} {
		name := map[bool]string{false: "conflict first", true: "read first"}[readFirst]
		t.Run(name, func(t *testing.T) {
			ctx := context.Background()
			sq, err := sqlite.Open(filepath.Join(t.TempDir(), "c.db"))
			if err != nil {
				t.Fatal(err)
			}
			t.Cleanup(func() { sq.Close() })
			counting := &countingStore{Store: sq}
			var st store.Store = counting
			if readFirst {
				st = readFirstStore{counting}
			}
			clk := &clock{t: time.Date(2026, 3, 10, 12, 0, 0, 0, time.UTC)}
			ids := domain.NewULIDs(clk.now)
			trk := tracking.New(st, clk.now, ids)
			progs := programs.New(st, clk.now, ids, "https://refer.example", programs.WithOnChange(trk.Forget))
			prog, rf := liveProgram(t, progs, clk)
			amount := func(n int64) *domain.MoneyInput { return &domain.MoneyInput{Amount: n, Currency: "USD"} }
			record := func(in tracking.ConversionInput) (domain.Conversion, bool) {
				t.Helper()
				c, created, err := trk.RecordConversion(ctx, "org1", in)
				if err != nil {
					t.Fatalf("RecordConversion(%+v): %v", in, err)
				}
				return c, created
			}

			// A coupon code with a new contact: the referral is created
			// with the conversion.
			first, created := record(tracking.ConversionInput{Code: rf.Code, Email: "a@example.org", Event: domain.EventPurchase,
				Amount: amount(5000), ExternalID: "o-1"})
			if !created {
				t.Fatal("the first conversion was not created")
			}
			if got := counting.byExternalID.Load(); readFirst != (got == 1) {
				t.Errorf("reads by externalId for a new conversion: %d (read first: %v)", got, readFirst)
			}
			// The same request again, and one with another amount and
			// a contact of its own: the original, nothing new.
			for _, in := range []tracking.ConversionInput{
				{Code: rf.Code, Email: "a@example.org", Event: domain.EventPurchase, Amount: amount(5000), ExternalID: "o-1"},
				{Code: rf.Code, Email: "b@example.org", Event: domain.EventPurchase, Amount: amount(7000), ExternalID: "o-1"},
				{ReferralID: first.ReferralID, Event: domain.EventPurchase, Amount: amount(1), ExternalID: "o-1"},
			} {
				again, created := record(in)
				if created || again.ID != first.ID || again.Amount.Amount != 5000 {
					t.Fatalf("retry %+v: created %v, %+v; want the original %s", in, created, again, first.ID)
				}
			}
			if refs, err := st.ReferralsByEmail(ctx, "org1", "b@example.org"); err != nil || len(refs) != 0 {
				t.Fatalf("a retry left a referral behind: %v, %v", refs, err)
			}
			// Paused: a new conversion is refused, a retry still answers.
			if _, err := progs.Transition(ctx, "org1", prog.ID, domain.ProgramPaused); err != nil {
				t.Fatal(err)
			}
			if _, _, err := trk.RecordConversion(ctx, "org1", tracking.ConversionInput{ReferralID: first.ReferralID,
				Event: domain.EventPurchase, Amount: amount(5000), ExternalID: "o-2"}); err == nil {
				t.Fatal("a paused program's new conversion was recorded")
			}
			again, created := record(tracking.ConversionInput{ReferralID: first.ReferralID, Event: domain.EventPurchase,
				Amount: amount(5000), ExternalID: "o-1"})
			if created || again.ID != first.ID {
				t.Fatalf("retry after the pause: created %v, %s; want the original %s", created, again.ID, first.ID)
			}
			convs, _, err := st.ListConversions(ctx, "org1", store.ConversionFilter{}, store.Page{Limit: 10})
			if err != nil || len(convs) != 1 {
				t.Fatalf("conversions recorded: %d, %v; want 1", len(convs), err)
			}
		})
	}
}
