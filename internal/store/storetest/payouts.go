package storetest

import (
	"bytes"
	"context"
	"errors"
	"strings"
	"testing"

	"github.com/partnerloop/partnerloop/internal/commission"
	"github.com/partnerloop/partnerloop/internal/domain"
	"github.com/partnerloop/partnerloop/internal/payouts"
	"github.com/partnerloop/partnerloop/internal/secretbox"
	"github.com/partnerloop/partnerloop/internal/store"
)

// PayoutStore is a store with payout runs and payout details (and the
// ledger the payouts service reads).
type PayoutStore interface {
	store.Store
	store.PayoutRuns
	store.Ledger
}

// RawStore is a store that shows every byte it keeps, in its test build
// (export_test.go): the check that secrets are stored sealed.
type RawStore interface {
	RawBytes(ctx context.Context) ([]byte, error)
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
		{"LedgerChangeConditionalOnTheUnsettledRun", func(t *testing.T, s PayoutStore, fx *fixture) {
			org := fx.mustOrg(t)
			at := fx.tick()
			c := commission.Commission{ID: fx.id("com"), OrgID: org.ID, Kind: commission.KindCommission, ProgramID: "prg_1",
				ReferrerID: "rfr_1", ConversionID: fx.id("cnv"), Amount: domain.Money{Amount: 1000, Currency: "USD"},
				Status: commission.StatusPending, AvailableAt: at, OccurredAt: at, CreatedAt: at, UpdatedAt: at, OriginalAmount: 1000}
			none := ""
			// Created on condition that no run is unsettled.
			must(t, s.ApplyLedgerChange(fx.ctx, store.LedgerChange{OrgID: org.ID, Created: []commission.Commission{c}, UnsettledRun: &none}),
				"ApplyLedgerChange(no run, as expected)")
			step := func(what string, want error, run *string) {
				t.Helper()
				cur, err := s.GetCommission(fx.ctx, org.ID, c.ID)
				must(t, err, "GetCommission")
				cur.UpdatedAt = fx.tick()
				err = s.ApplyLedgerChange(fx.ctx, store.LedgerChange{OrgID: org.ID, Updated: []commission.Commission{cur}, UnsettledRun: run})
				if want == nil {
					must(t, err, what)
					return
				}
				wantErr(t, err, want, what)
				if got, _ := s.GetCommission(fx.ctx, org.ID, c.ID); got.Revision != cur.Revision {
					t.Errorf("%s: the refused change was written", what)
				}
			}
			r := fx.newPayoutRun(org.ID)
			must(t, s.CreatePayoutRun(fx.ctx, r), "CreatePayoutRun")
			step("ApplyLedgerChange(no run expected, one open)", store.ErrConflict, &none)
			other := "pay_other"
			step("ApplyLedgerChange(another run expected)", store.ErrConflict, &other)
			step("ApplyLedgerChange(the open run expected)", nil, &r.ID)
			step("ApplyLedgerChange(unconditional)", nil, nil)
			r.Status, r.UpdatedAt = domain.PayoutRunPaying, fx.tick()
			must(t, s.UpdatePayoutRun(fx.ctx, r), "UpdatePayoutRun(paying)")
			r.Revision++
			step("ApplyLedgerChange(the paying run expected)", nil, &r.ID)
			r = settle(t, s, fx, r, domain.PayoutRunCancelled)
			step("ApplyLedgerChange(the settled run expected)", store.ErrConflict, &r.ID)
			step("ApplyLedgerChange(no run expected, none)", nil, &none)
		}},
		{"PayoutDetailsArePerPartner", func(t *testing.T, s PayoutStore, fx *fixture) {
			org, other := fx.mustOrg(t), fx.mustOrg(t)
			_, err := s.GetPayoutDetails(fx.ctx, org.ID, "prt_a")
			wantErr(t, err, store.ErrNotFound, "GetPayoutDetails(none yet)")
			d := store.PayoutDetailsRecord{OrgID: org.ID, PartnerID: "prt_a", Sealed: []byte("sealed\x00one"), UpdatedAt: fx.tick()}
			must(t, s.PutPayoutDetails(fx.ctx, d), "PutPayoutDetails")
			checkGet(t, "GetPayoutDetails", d, func() (store.PayoutDetailsRecord, error) { return s.GetPayoutDetails(fx.ctx, org.ID, "prt_a") })
			d.Sealed, d.UpdatedAt = []byte("sealed two"), fx.tick()
			must(t, s.PutPayoutDetails(fx.ctx, d), "PutPayoutDetails(replace)")
			checkGet(t, "GetPayoutDetails(replaced)", d, func() (store.PayoutDetailsRecord, error) { return s.GetPayoutDetails(fx.ctx, org.ID, "prt_a") })
			_, err = s.GetPayoutDetails(fx.ctx, other.ID, "prt_a")
			wantErr(t, err, store.ErrNotFound, "GetPayoutDetails(another organization)")
			_, err = s.GetPayoutDetails(fx.ctx, org.ID, "prt_b")
			wantErr(t, err, store.ErrNotFound, "GetPayoutDetails(another partner)")
		}},
		{"SealPayoutDetailsReplacesOnlyAClearRecord", func(t *testing.T, s PayoutStore, fx *fixture) {
			org := fx.mustOrg(t)
			// A record written before payout details were sealed.
			clear := store.PayoutDetailsRecord{OrgID: org.ID, PartnerID: "prt_a", Method: "bank_transfer",
				AccountReference: "DE89 3704 0044 0532 0130 00", TaxID: "DE123456789", UpdatedAt: fx.tick()}
			must(t, s.PutPayoutDetails(fx.ctx, clear), "PutPayoutDetails(clear)")
			checkGet(t, "GetPayoutDetails(clear)", clear, func() (store.PayoutDetailsRecord, error) { return s.GetPayoutDetails(fx.ctx, org.ID, "prt_a") })
			sealed := store.PayoutDetailsRecord{OrgID: org.ID, PartnerID: "prt_a", Sealed: []byte("sealed"), UpdatedAt: clear.UpdatedAt}
			must(t, s.SealPayoutDetails(fx.ctx, sealed), "SealPayoutDetails")
			checkGet(t, "GetPayoutDetails(sealed)", sealed, func() (store.PayoutDetailsRecord, error) { return s.GetPayoutDetails(fx.ctx, org.ID, "prt_a") })
			// A late migration never overwrites a sealed record (newer details).
			late := sealed
			late.Sealed = []byte("late")
			wantErr(t, s.SealPayoutDetails(fx.ctx, late), store.ErrConflict, "SealPayoutDetails(already sealed)")
			checkGet(t, "GetPayoutDetails(after a refused seal)", sealed, func() (store.PayoutDetailsRecord, error) { return s.GetPayoutDetails(fx.ctx, org.ID, "prt_a") })
			gone := late
			gone.PartnerID = "prt_none"
			wantErr(t, s.SealPayoutDetails(fx.ctx, gone), store.ErrConflict, "SealPayoutDetails(no record)")
			if _, err := s.GetPayoutDetails(fx.ctx, org.ID, "prt_none"); !errors.Is(err, store.ErrNotFound) {
				t.Errorf("SealPayoutDetails(no record) created one: %v", err)
			}
		}},
		{"PayoutDetailsAreStoredSealed", func(t *testing.T, s PayoutStore, fx *fixture) {
			raw, ok := s.(RawStore)
			if !ok {
				t.Fatalf("%T does not show its raw bytes (storetest.RawStore)", s)
			}
			org := fx.mustOrg(t)
			tier := fx.mustTier(t, org.ID)
			p := fx.mustPartner(t, org.ID, tier.ID, "payee")
			box, err := secretbox.New(bytes.Repeat([]byte{7}, secretbox.KeySize))
			must(t, err, "secretbox.New")
			svc := payouts.New(s, fx.tick, fx.ids, box)
			const account, taxID = "DE89370400440532013000", "TAX-99887766"
			_, err = svc.SetDetails(fx.ctx, org.ID, p.ID, payouts.DetailsInput{Method: "bank_transfer", AccountReference: account, TaxID: taxID})
			must(t, err, "SetDetails")
			b, err := raw.RawBytes(fx.ctx)
			must(t, err, "RawBytes")
			for _, secret := range []string{account, taxID, "bank_transfer"} {
				if bytes.Contains(b, []byte(secret)) {
					t.Errorf("the store keeps %q in clear", secret)
				}
			}
			// The portal shows them masked; accounts payable's CSV whole.
			d, err := svc.Details(fx.ctx, org.ID, p.ID)
			must(t, err, "Details")
			if d == nil || d.AccountReference != "•••• 3000" || d.TaxID != "•••• 7766" || d.Method != "bank_transfer" {
				t.Errorf("Details = %+v, want masked", d)
			}
			run := domain.PayoutRun{ID: "pay_1", OrgID: org.ID, Lines: []domain.PayoutLine{
				{PartnerID: p.ID, Amount: domain.Money{Amount: 1000, Currency: "USD"}, CommissionIDs: []string{"com_1"}}}}
			payees, err := svc.Payees(fx.ctx, run)
			must(t, err, "Payees")
			var csv bytes.Buffer
			must(t, payouts.WriteCSV(&csv, run, payees), "WriteCSV")
			for _, want := range []string{account, taxID, "bank_transfer"} {
				if !strings.Contains(csv.String(), want) {
					t.Errorf("the run's CSV lacks %q:\n%s", want, csv.String())
				}
			}
			// Another key (or another partner's context) does not open them.
			otherBox, _ := secretbox.New(bytes.Repeat([]byte{8}, secretbox.KeySize))
			if _, err := payouts.New(s, fx.tick, fx.ids, otherBox).Details(fx.ctx, org.ID, p.ID); err == nil {
				t.Error("Details opened with another key")
			}
			rec, err := s.GetPayoutDetails(fx.ctx, org.ID, p.ID)
			must(t, err, "GetPayoutDetails")
			rec.PartnerID = "prt_other"
			must(t, s.PutPayoutDetails(fx.ctx, rec), "PutPayoutDetails(copied)")
			if _, err := svc.Details(fx.ctx, org.ID, "prt_other"); err == nil {
				t.Error("details copied to another partner opened there")
			}
		}},
		{"ClearPayoutDetailsAreSealedOnRead", func(t *testing.T, s PayoutStore, fx *fixture) {
			org := fx.mustOrg(t)
			const account = "GB29NWBK60161331926819"
			legacy := store.PayoutDetailsRecord{OrgID: org.ID, PartnerID: "prt_a", Method: "wise", AccountReference: account, TaxID: "", UpdatedAt: fx.tick()}
			must(t, s.PutPayoutDetails(fx.ctx, legacy), "PutPayoutDetails(clear, as written before sealing)")
			if raw, ok := s.(RawStore); ok { // the raw check sees what is stored
				if b, err := raw.RawBytes(fx.ctx); err != nil || !bytes.Contains(b, []byte(account)) {
					t.Fatalf("RawBytes does not show a record stored in clear (%v)", err)
				}
			}
			box, err := secretbox.New(bytes.Repeat([]byte{7}, secretbox.KeySize))
			must(t, err, "secretbox.New")
			svc := payouts.New(s, fx.tick, fx.ids, box)
			d, err := svc.Details(fx.ctx, org.ID, "prt_a")
			must(t, err, "Details")
			if d == nil || d.Method != "wise" || d.AccountReference != "•••• 6819" {
				t.Errorf("Details = %+v", d)
			}
			rec, err := s.GetPayoutDetails(fx.ctx, org.ID, "prt_a")
			must(t, err, "GetPayoutDetails")
			if rec.Sealed == nil || rec.Method != "" || rec.AccountReference != "" || rec.TaxID != "" || !rec.UpdatedAt.Equal(legacy.UpdatedAt) {
				t.Errorf("after the first read the record is %+v; want it sealed, nothing in clear, its updatedAt kept", rec)
			}
			payees, err := svc.Payees(fx.ctx, domain.PayoutRun{OrgID: org.ID, Lines: []domain.PayoutLine{{PartnerID: "prt_a"}}})
			must(t, err, "Payees")
			if payees[0].Details == nil || payees[0].Details.AccountReference != account {
				t.Errorf("Payees after sealing: %+v", payees[0].Details)
			}
		}},
	}
}
