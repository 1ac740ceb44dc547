package storetest

import (
	"errors"
	"testing"

	"github.com/partnerloop/partnerloop/internal/domain"
	"github.com/partnerloop/partnerloop/internal/store"
)

// PayoutStore is a store with payout runs and payout details.
type PayoutStore interface {
	store.Store
	store.PayoutRuns
}

// RunPayouts runs the conformance suite of store.PayoutRuns. Like Run, each
// subtest calls newStore once and must get an empty store of its own.
func RunPayouts(t *testing.T, newStore func(t *testing.T) PayoutStore) {
	t.Helper()
	for _, tc := range payoutTests() {
		t.Run(tc.name, func(t *testing.T) {
			s := newStore(t)
			tc.run(t, s, newFixture(t, s, nil))
		})
	}
}

type payoutTest struct {
	name string
	run  func(t *testing.T, s PayoutStore, fx *fixture)
}

func (fx *fixture) newPayoutRun(orgID string) domain.PayoutRun {
	at := fx.tick()
	return domain.PayoutRun{
		ID: fx.id("pay"), OrgID: orgID, Status: domain.PayoutRunOpen,
		Lines: []domain.PayoutLine{
			{PartnerID: "prt_a", Amount: domain.Money{Amount: 12345, Currency: "USD"}, CommissionIDs: []string{"com_1", "com_2"}},
			{ReferrerID: "rfr_b", Amount: domain.Money{Amount: 500, Currency: "EUR"}, CommissionIDs: []string{"com_3"}},
		},
		Totals:          []domain.Money{{Amount: 500, Currency: "EUR"}, {Amount: 12345, Currency: "USD"}},
		CommissionCount: 3, CreatedBy: "usr_admin", CreatedAt: at, UpdatedAt: at,
	}
}

// settle moves r to status (paid or cancelled) and stores it.
func settle(t *testing.T, s PayoutStore, fx *fixture, r domain.PayoutRun, status domain.PayoutRunStatus) domain.PayoutRun {
	t.Helper()
	r.Status, r.UpdatedAt = status, fx.tick()
	if status == domain.PayoutRunPaid {
		paid := r.UpdatedAt
		r.PaidAt, r.PayoutReference = &paid, "ACH-2026-03"
	}
	must(t, s.UpdatePayoutRun(fx.ctx, r), "UpdatePayoutRun("+string(status)+")")
	r.Revision++
	return r
}

func payoutTests() []payoutTest {
	return []payoutTest{
		{"RunRoundTripsAndListsNewestFirst", func(t *testing.T, s PayoutStore, fx *fixture) {
			org, other := fx.mustOrg(t), fx.mustOrg(t)
			var runs []domain.PayoutRun
			for range 3 {
				r := fx.newPayoutRun(org.ID)
				must(t, s.CreatePayoutRun(fx.ctx, r), "CreatePayoutRun")
				checkGet(t, "GetPayoutRun", r, func() (domain.PayoutRun, error) { return s.GetPayoutRun(fx.ctx, org.ID, r.ID) })
				runs = append(runs, settle(t, s, fx, r, domain.PayoutRunPaid))
			}
			for _, limit := range []int{1, 2, 50} {
				checkList(t, "ListPayoutRuns", limit, reversed(runs), func(p store.Page) ([]domain.PayoutRun, string, error) {
					return s.ListPayoutRuns(fx.ctx, org.ID, p)
				})
			}
			checkList(t, "ListPayoutRuns(other organization)", 2, nil, func(p store.Page) ([]domain.PayoutRun, string, error) {
				return s.ListPayoutRuns(fx.ctx, other.ID, p)
			})
			_, err := s.GetPayoutRun(fx.ctx, other.ID, runs[0].ID)
			wantErr(t, err, store.ErrNotFound, "GetPayoutRun(another organization's run)")
		}},
		{"OneUnsettledRunPerOrganization", func(t *testing.T, s PayoutStore, fx *fixture) {
			org, other := fx.mustOrg(t), fx.mustOrg(t)
			first := fx.newPayoutRun(org.ID)
			must(t, s.CreatePayoutRun(fx.ctx, first), "CreatePayoutRun(first)")
			wantErr(t, s.CreatePayoutRun(fx.ctx, fx.newPayoutRun(org.ID)), store.ErrConflict, "CreatePayoutRun(while one is open)")
			must(t, s.CreatePayoutRun(fx.ctx, fx.newPayoutRun(other.ID)), "CreatePayoutRun(another organization)")

			// Paying is still unsettled.
			first.Status = domain.PayoutRunPaying
			must(t, s.UpdatePayoutRun(fx.ctx, first), "UpdatePayoutRun(paying)")
			first.Revision++
			wantErr(t, s.CreatePayoutRun(fx.ctx, fx.newPayoutRun(org.ID)), store.ErrConflict, "CreatePayoutRun(while one is paying)")

			settle(t, s, fx, first, domain.PayoutRunPaid)
			second := fx.newPayoutRun(org.ID)
			must(t, s.CreatePayoutRun(fx.ctx, second), "CreatePayoutRun(after the first was paid)")
			settle(t, s, fx, second, domain.PayoutRunCancelled)
			must(t, s.CreatePayoutRun(fx.ctx, fx.newPayoutRun(org.ID)), "CreatePayoutRun(after a cancelled one)")

			// Racing creations: exactly one wins.
			racer := fx.mustOrg(t)
			rs := make([]domain.PayoutRun, 6)
			for i := range rs {
				rs[i] = fx.newPayoutRun(racer.ID)
			}
			errs := race(len(rs), func(i int) error { return s.CreatePayoutRun(fx.ctx, rs[i]) })
			won := 0
			for _, err := range errs {
				switch {
				case err == nil:
					won++
				case !errors.Is(err, store.ErrConflict):
					t.Errorf("racing CreatePayoutRun: %v, want nil or ErrConflict", err)
				}
			}
			if won != 1 {
				t.Errorf("racing CreatePayoutRun: %d runs created, want exactly 1", won)
			}
		}},
		{"UpdateIsOptimistic", func(t *testing.T, s PayoutStore, fx *fixture) {
			org := fx.mustOrg(t)
			r := fx.newPayoutRun(org.ID)
			must(t, s.CreatePayoutRun(fx.ctx, r), "CreatePayoutRun")
			stale := r
			paying := r
			paying.Status, paying.PayoutReference = domain.PayoutRunPaying, "REF-1"
			must(t, s.UpdatePayoutRun(fx.ctx, paying), "UpdatePayoutRun")
			paying.Revision++
			stale.Status = domain.PayoutRunCancelled
			wantErr(t, s.UpdatePayoutRun(fx.ctx, stale), store.ErrConflict, "UpdatePayoutRun(stale revision)")
			checkGet(t, "GetPayoutRun(after a refused update)", paying, func() (domain.PayoutRun, error) { return s.GetPayoutRun(fx.ctx, org.ID, r.ID) })
			// A refused settlement frees nothing.
			wantErr(t, s.CreatePayoutRun(fx.ctx, fx.newPayoutRun(org.ID)), store.ErrConflict, "CreatePayoutRun(after a refused cancel)")

			missing := fx.newPayoutRun(org.ID)
			missing.Status = domain.PayoutRunPaid
			wantErr(t, s.UpdatePayoutRun(fx.ctx, missing), store.ErrNotFound, "UpdatePayoutRun(no such run)")
		}},
		{"PayoutDetailsArePerPartner", func(t *testing.T, s PayoutStore, fx *fixture) {
			org, other := fx.mustOrg(t), fx.mustOrg(t)
			_, err := s.GetPayoutDetails(fx.ctx, org.ID, "prt_a")
			wantErr(t, err, store.ErrNotFound, "GetPayoutDetails(none yet)")
			d := domain.PayoutDetails{OrgID: org.ID, PartnerID: "prt_a", Method: "bank_transfer",
				AccountReference: "DE89 3704 0044 0532 0130 00", TaxID: "DE123456789", UpdatedAt: fx.tick()}
			must(t, s.PutPayoutDetails(fx.ctx, d), "PutPayoutDetails")
			checkGet(t, "GetPayoutDetails", d, func() (domain.PayoutDetails, error) { return s.GetPayoutDetails(fx.ctx, org.ID, "prt_a") })
			d.Method, d.AccountReference, d.TaxID, d.UpdatedAt = "paypal", "pay@example.com", "", fx.tick()
			must(t, s.PutPayoutDetails(fx.ctx, d), "PutPayoutDetails(replace)")
			checkGet(t, "GetPayoutDetails(replaced)", d, func() (domain.PayoutDetails, error) { return s.GetPayoutDetails(fx.ctx, org.ID, "prt_a") })
			_, err = s.GetPayoutDetails(fx.ctx, other.ID, "prt_a")
			wantErr(t, err, store.ErrNotFound, "GetPayoutDetails(another organization)")
			_, err = s.GetPayoutDetails(fx.ctx, org.ID, "prt_b")
			wantErr(t, err, store.ErrNotFound, "GetPayoutDetails(another partner)")
		}},
	}
}
