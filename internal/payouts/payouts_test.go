package payouts_test

import (
	"bytes"
	"context"
	"encoding/csv"
	"fmt"
	"math"
	"path/filepath"
	"slices"
	"sync"
	"testing"
	"time"

	"github.com/partnerloop/partnerloop/internal/commission"
	"github.com/partnerloop/partnerloop/internal/domain"
	"github.com/partnerloop/partnerloop/internal/ledger"
	"github.com/partnerloop/partnerloop/internal/payouts"
	"github.com/partnerloop/partnerloop/internal/secretbox"
	"github.com/partnerloop/partnerloop/internal/store"
	"github.com/partnerloop/partnerloop/internal/store/sqlite"
)

var t0 = time.Date(2026, 3, 15, 12, 0, 0, 0, time.UTC)

type env struct {
	st  *sqlite.Store
	svc *payouts.Service
	led *ledger.Service
	org string
	n   int
}

func newEnv(t testing.TB) *env {
	t.Helper()
	st, err := sqlite.Open(filepath.Join(t.TempDir(), "p.db"))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { st.Close() })
	now := func() time.Time { return t0 }
	ids := domain.NewULIDs(now)
	e := &env{st: st, svc: payouts.New(st, now, ids, testBox(t)), led: ledger.New(st, st, now), org: "org_1"}
	if err := st.CreateOrganization(t.Context(), domain.Organization{ID: e.org, Name: "Acme", CreatedAt: t0, UpdatedAt: t0}); err != nil {
		t.Fatal(err)
	}
	return e
}

// payDirectly marks the commission paid in the store, past the services
// (as a run's batch does, or a request that checked before a run was made).
func (e *env) payDirectly(t *testing.T, id, reference string) {
	t.Helper()
	cur, err := e.st.GetCommission(t.Context(), e.org, id)
	if err != nil {
		t.Fatal(err)
	}
	paid, audit, err := commission.MarkPaid(cur, reference, "usr_admin", t0)
	if err != nil {
		t.Fatal(err)
	}
	if err := e.st.ApplyLedgerChange(t.Context(), store.LedgerChange{OrgID: e.org, Updated: []commission.Commission{paid}, Audit: []commission.AuditEntry{audit}}); err != nil {
		t.Fatal(err)
	}
}

// testBox is a box on a fixed test key.
func testBox(t testing.TB) *secretbox.Box {
	t.Helper()
	box, err := secretbox.New(bytes.Repeat([]byte{1}, secretbox.KeySize))
	if err != nil {
		t.Fatal(err)
	}
	return box
}

func (e *env) partner(t *testing.T, id, company, email string) {
	t.Helper()
	p := domain.Partner{ID: id, OrgID: e.org, CompanyName: company, ContactName: "Contact of " + company, Email: email, TierID: "tie_1",
		Status: domain.PartnerActive, CreatedAt: t0, UpdatedAt: t0}
	if err := e.st.CreatePartner(t.Context(), p); err != nil {
		t.Fatal(err)
	}
}

// commission stores an entry with the given status (approved entries are
// approved through the ledger service, as in production).
func (e *env) commission(t *testing.T, partnerID, referrerID string, amount int64, currency string, status commission.Status) commission.Commission {
	t.Helper()
	e.n++
	c := commission.Commission{
		ID: fmt.Sprintf("com_%03d", e.n), OrgID: e.org, Kind: commission.KindCommission, ProgramID: "prg_1",
		ReferrerID: referrerID, PartnerID: partnerID, ConversionID: fmt.Sprintf("cnv_%03d", e.n),
		Amount: domain.Money{Amount: amount, Currency: currency}, Status: commission.StatusPending,
		AvailableAt: t0.Add(-time.Hour), OccurredAt: t0.Add(-48 * time.Hour),
		CreatedAt: t0.Add(time.Duration(e.n) * time.Second), UpdatedAt: t0,
	}
	if amount < 0 {
		c.Kind = commission.KindClawback
	}
	if err := e.st.ApplyLedgerChange(t.Context(), store.LedgerChange{OrgID: e.org, Created: []commission.Commission{c}}); err != nil {
		t.Fatal(err)
	}
	if status == commission.StatusApproved {
		got, err := e.led.Approve(t.Context(), e.org, "usr_admin", []string{c.ID})
		if err != nil {
			t.Fatal(err)
		}
		c = got[0]
	}
	return c
}

func wantCode(t *testing.T, err error, kind domain.Kind, code string) *domain.Error {
	t.Helper()
	de, ok := domain.AsError(err)
	if !ok || de.Kind != kind || de.Code != code {
		t.Fatalf("error %v, want kind %d code %q", err, kind, code)
	}
	return de
}

func TestCreateGroupsApprovedCommissionsPerBeneficiaryAndCurrency(t *testing.T) {
	e := newEnv(t)
	ctx := t.Context()
	e.partner(t, "prt_a", "Alpha Ltd", "a@example.com")
	e.partner(t, "prt_b", "Beta GmbH", "b@example.com")
	a1 := e.commission(t, "prt_a", "rfr_a1", 2500, "USD", commission.StatusApproved)
	a2 := e.commission(t, "prt_a", "rfr_a2", 1000, "USD", commission.StatusApproved)
	a3 := e.commission(t, "prt_a", "rfr_a1", 700, "EUR", commission.StatusApproved)
	b1 := e.commission(t, "prt_b", "rfr_b", 300, "USD", commission.StatusApproved)
	b2 := e.commission(t, "prt_b", "rfr_b", -500, "USD", commission.StatusApproved) // a clawback larger than what is owed
	solo := e.commission(t, "", "rfr_solo", 900, "USD", commission.StatusApproved)
	e.commission(t, "prt_a", "rfr_a1", 99999, "USD", commission.StatusPending) // not approved: not in the run

	run, err := e.svc.Create(ctx, e.org, "usr_admin")
	if err != nil {
		t.Fatal(err)
	}
	want := []domain.PayoutLine{
		{ReferrerID: "rfr_solo", Amount: domain.Money{Amount: 900, Currency: "USD"}, CommissionIDs: []string{solo.ID}},
		{PartnerID: "prt_a", Amount: domain.Money{Amount: 700, Currency: "EUR"}, CommissionIDs: []string{a3.ID}},
		{PartnerID: "prt_a", Amount: domain.Money{Amount: 3500, Currency: "USD"}, CommissionIDs: []string{a1.ID, a2.ID}},
		// prt_b nets to −200 USD: left out, both entries wait.
	}
	if fmt.Sprint(run.Lines) != fmt.Sprint(want) {
		t.Errorf("lines\n got %v\nwant %v", run.Lines, want)
	}
	if fmt.Sprint(run.Totals) != fmt.Sprint([]domain.Money{{Amount: 700, Currency: "EUR"}, {Amount: 4400, Currency: "USD"}}) {
		t.Errorf("totals %v, want EUR 7.00 and USD 44.00", run.Totals)
	}
	if run.CommissionCount != 4 || run.Status != domain.PayoutRunOpen {
		t.Errorf("count %d status %s, want 4 open", run.CommissionCount, run.Status)
	}
	stored, err := e.svc.Get(ctx, e.org, run.ID)
	if err != nil || fmt.Sprint(stored.Lines) != fmt.Sprint(run.Lines) {
		t.Errorf("Get = %v, %v; want the created run", stored, err)
	}
	// A second run while this one is open is refused, naming it.
	_, err = e.svc.Create(ctx, e.org, "usr_admin")
	if de := wantCode(t, err, domain.KindConflict, "run_open"); de.Extra["payoutRunId"] != run.ID {
		t.Errorf("run_open names %v, want %s", de.Extra["payoutRunId"], run.ID)
	}
	for _, c := range []commission.Commission{b1, b2} {
		if got, _ := e.st.GetCommission(ctx, e.org, c.ID); got.Status != commission.StatusApproved {
			t.Errorf("%s (left out of the run) is %s, want approved", c.ID, got.Status)
		}
	}
}

func TestCreateWithNothingApprovedIs422(t *testing.T) {
	e := newEnv(t)
	e.commission(t, "", "rfr_1", 100, "USD", commission.StatusPending)
	_, err := e.svc.Create(t.Context(), e.org, "usr_admin")
	wantCode(t, err, domain.KindInvalid, "nothing_to_pay")
}

func TestLinesOverflowIsAnError(t *testing.T) {
	cs := []commission.Commission{
		{ID: "com_1", PartnerID: "prt_a", Amount: domain.Money{Amount: math.MaxInt64, Currency: "USD"}},
		{ID: "com_2", PartnerID: "prt_a", Amount: domain.Money{Amount: 1, Currency: "USD"}},
	}
	if _, err := payouts.Lines(cs); err == nil {
		t.Fatal("Lines summed past int64 without an error")
	}
}

func TestMarkPaidPaysEveryCommissionOnceAndIsIdempotent(t *testing.T) {
	e := newEnv(t)
	ctx := t.Context()
	e.partner(t, "prt_a", "Alpha Ltd", "a@example.com")
	var ids []string
	for i := range 120 { // more than two ledger batches
		ids = append(ids, e.commission(t, "prt_a", "rfr_a", int64(100+i), "USD", commission.StatusApproved).ID)
	}
	run, err := e.svc.Create(ctx, e.org, "usr_admin")
	if err != nil {
		t.Fatal(err)
	}
	_, err = e.svc.MarkPaid(ctx, e.org, "usr_admin", run.ID, "  ")
	wantCode(t, err, domain.KindInvalid, "validation_failed")

	paid, err := e.svc.MarkPaid(ctx, e.org, "usr_admin", run.ID, "ACH-0042")
	if err != nil {
		t.Fatal(err)
	}
	if paid.Status != domain.PayoutRunPaid || paid.PayoutReference != "ACH-0042" || paid.PaidAt == nil {
		t.Fatalf("run after mark-paid: %+v", paid)
	}
	for _, id := range ids {
		c, err := e.st.GetCommission(ctx, e.org, id)
		if err != nil || c.Status != commission.StatusPaid || c.PayoutReference != "ACH-0042" {
			t.Fatalf("commission %s: %s %q %v, want paid ACH-0042", id, c.Status, c.PayoutReference, err)
		}
		audit, _ := e.st.ListAudit(ctx, e.org, id)
		if n := len(audit); n != 2 { // approved, paid
			t.Fatalf("commission %s has %d audit entries, want 2 (approved, paid once)", id, n)
		}
	}
	again, err := e.svc.MarkPaid(ctx, e.org, "usr_admin", run.ID, "ACH-0042")
	if err != nil || again.Revision != paid.Revision {
		t.Errorf("repeated mark-paid = %v (revision %d, want %d), want the paid run unchanged", err, again.Revision, paid.Revision)
	}
	_, err = e.svc.MarkPaid(ctx, e.org, "usr_admin", run.ID, "ACH-9999")
	wantCode(t, err, domain.KindConflict, "already_paid")
	// The slot is free again.
	e.commission(t, "prt_a", "rfr_a", 50, "USD", commission.StatusApproved)
	if _, err := e.svc.Create(ctx, e.org, "usr_admin"); err != nil {
		t.Errorf("Create after the run was paid: %v", err)
	}
}

func TestMarkPaidResumesAnInterruptedRun(t *testing.T) {
	e := newEnv(t)
	ctx := t.Context()
	a := e.commission(t, "", "rfr_a", 100, "USD", commission.StatusApproved)
	b := e.commission(t, "", "rfr_b", 200, "USD", commission.StatusApproved)
	run, err := e.svc.Create(ctx, e.org, "usr_admin")
	if err != nil {
		t.Fatal(err)
	}
	// As if a call had fixed the reference and paid one commission, then died.
	run.Status, run.PayoutReference = domain.PayoutRunPaying, "REF-1"
	if err := e.st.UpdatePayoutRun(ctx, run); err != nil {
		t.Fatal(err)
	}
	e.payDirectly(t, a.ID, "REF-1")
	_, err = e.svc.MarkPaid(ctx, e.org, "usr_admin", run.ID, "REF-2")
	wantCode(t, err, domain.KindConflict, "already_paying")
	if _, err := e.svc.MarkPaid(ctx, e.org, "usr_admin", run.ID, "REF-1"); err != nil {
		t.Fatalf("resuming: %v", err)
	}
	for _, id := range []string{a.ID, b.ID} {
		c, _ := e.st.GetCommission(ctx, e.org, id)
		if c.Status != commission.StatusPaid || c.PayoutReference != "REF-1" {
			t.Errorf("%s: %s %q, want paid REF-1", id, c.Status, c.PayoutReference)
		}
	}
}

func TestMarkPaidRefusesAStaleRunAndWritesNothing(t *testing.T) {
	e := newEnv(t)
	ctx := t.Context()
	a := e.commission(t, "", "rfr_a", 100, "USD", commission.StatusApproved)
	b := e.commission(t, "", "rfr_b", 200, "USD", commission.StatusApproved)
	run, err := e.svc.Create(ctx, e.org, "usr_admin")
	if err != nil {
		t.Fatal(err)
	}
	// The ledger refuses to pay b on its own while the run holds it...
	_, err = e.led.MarkPaid(ctx, e.org, "usr_admin", []string{b.ID}, "MANUAL-7")
	if de := wantCode(t, err, domain.KindConflict, "in_payout_run"); de.Extra["payoutRunId"] != run.ID {
		t.Errorf("in_payout_run names %v, want %s", de.Extra["payoutRunId"], run.ID)
	}
	// ...but a mark-paid that checked just before the run was made lands
	// just after it: b is paid with another reference.
	e.payDirectly(t, b.ID, "MANUAL-7")
	_, err = e.svc.MarkPaid(ctx, e.org, "usr_admin", run.ID, "RUN-1")
	if de := wantCode(t, err, domain.KindConflict, "run_stale"); fmt.Sprint(de.Extra["ids"]) != fmt.Sprint([]string{b.ID}) {
		t.Errorf("run_stale names %v, want [%s]", de.Extra["ids"], b.ID)
	}
	if c, _ := e.st.GetCommission(ctx, e.org, a.ID); c.Status != commission.StatusApproved {
		t.Errorf("%s is %s after a refused mark-paid, want approved", a.ID, c.Status)
	}
	if r, _ := e.svc.Get(ctx, e.org, run.ID); r.Status != domain.PayoutRunOpen {
		t.Errorf("run is %s after a refused mark-paid, want open", r.Status)
	}
	// Cancelling frees the commissions for a new run.
	if _, err := e.svc.Cancel(ctx, e.org, "usr_admin", run.ID); err != nil {
		t.Fatal(err)
	}
	_, err = e.svc.MarkPaid(ctx, e.org, "usr_admin", run.ID, "RUN-1")
	wantCode(t, err, domain.KindConflict, "invalid_transition")
	next, err := e.svc.Create(ctx, e.org, "usr_admin")
	if err != nil || next.CommissionCount != 1 || next.Lines[0].CommissionIDs[0] != a.ID {
		t.Fatalf("new run after cancel = %+v, %v; want only %s", next, err, a.ID)
	}
}

func TestConcurrentMarkPaidPaysOnce(t *testing.T) {
	e := newEnv(t)
	ctx := t.Context()
	for range 60 {
		e.commission(t, "", "rfr_a", 100, "USD", commission.StatusApproved)
	}
	run, err := e.svc.Create(ctx, e.org, "usr_admin")
	if err != nil {
		t.Fatal(err)
	}
	refs := []string{"SAME", "SAME", "SAME", "OTHER"}
	errs := make([]error, len(refs))
	var wg sync.WaitGroup
	for i, ref := range refs {
		wg.Go(func() { _, errs[i] = e.svc.MarkPaid(context.WithoutCancel(ctx), e.org, "usr_admin", run.ID, ref) })
	}
	wg.Wait()
	final, _ := e.svc.Get(ctx, e.org, run.ID)
	if final.Status != domain.PayoutRunPaid {
		t.Fatalf("run is %s, want paid (errors %v)", final.Status, errs)
	}
	for i, ref := range refs {
		if ref == final.PayoutReference && errs[i] != nil {
			// A caller with the winning reference may only lose a race, never fail.
			if de, ok := domain.AsError(errs[i]); !ok || de.Code != "concurrent_change" {
				t.Errorf("caller %d (%s): %v", i, ref, errs[i])
			}
		}
		if ref != final.PayoutReference && errs[i] == nil {
			t.Errorf("caller %d with reference %s succeeded, but the run was paid with %s", i, ref, final.PayoutReference)
		}
	}
	all, _, _ := e.st.ListCommissions(ctx, e.org, store.CommissionFilter{}, store.Page{Limit: 200})
	for _, c := range all {
		if c.Status != commission.StatusPaid || c.PayoutReference != final.PayoutReference {
			t.Fatalf("%s: %s %q, want paid %s", c.ID, c.Status, c.PayoutReference, final.PayoutReference)
		}
	}
}

func TestCSVHasPayeesDetailsAndNeutralisesFormulas(t *testing.T) {
	e := newEnv(t)
	ctx := t.Context()
	e.partner(t, "prt_a", "=HYPERLINK(\"http://evil\")", "a@example.com")
	e.commission(t, "prt_a", "rfr_a", 123456, "USD", commission.StatusApproved)
	if _, err := e.svc.SetDetails(ctx, e.org, "prt_a", payouts.DetailsInput{Method: "bank_transfer", AccountReference: "DE89370400440532013000", TaxID: "+DE123456789"}); err != nil {
		t.Fatal(err)
	}
	run, err := e.svc.Create(ctx, e.org, "usr_admin")
	if err != nil {
		t.Fatal(err)
	}
	payees, err := e.svc.Payees(ctx, run)
	if err != nil {
		t.Fatal(err)
	}
	var buf bytes.Buffer
	if err := payouts.WriteCSV(&buf, run, payees); err != nil {
		t.Fatal(err)
	}
	rows, err := csv.NewReader(&buf).ReadAll()
	if err != nil {
		t.Fatal(err)
	}
	if !slices.Equal(rows[0], payouts.Columns) || len(rows) != 2 {
		t.Fatalf("rows %v", rows)
	}
	got := map[string]string{}
	for i, c := range payouts.Columns {
		got[c] = rows[1][i]
	}
	for col, want := range map[string]string{
		"name": "'=HYPERLINK(\"http://evil\")", "email": "a@example.com", "amount": "1234.56", "currency": "USD",
		"payoutMethod": "bank_transfer", "accountReference": "DE89370400440532013000", "taxId": "'+DE123456789", "commissions": "1",
	} {
		if got[col] != want {
			t.Errorf("column %s = %q, want %q", col, got[col], want)
		}
	}
}

func TestPayoutDetailsAreMaskedAndValidated(t *testing.T) {
	e := newEnv(t)
	ctx := t.Context()
	d, err := e.svc.Details(ctx, e.org, "prt_a")
	if err != nil || d != nil {
		t.Fatalf("Details before any = %v, %v; want nil", d, err)
	}
	_, err = e.svc.SetDetails(ctx, e.org, "prt_a", payouts.DetailsInput{Method: "gold bars", AccountReference: ""})
	de := wantCode(t, err, domain.KindInvalid, "validation_failed")
	if len(de.Fields) != 2 {
		t.Errorf("fields %v, want method and accountReference", de.Fields)
	}
	got, err := e.svc.SetDetails(ctx, e.org, "prt_a", payouts.DetailsInput{Method: "paypal", AccountReference: "partner@example.com", TaxID: "12345"})
	if err != nil {
		t.Fatal(err)
	}
	if got.AccountReference != "•••• .com" || got.TaxID != "••••" {
		t.Errorf("masked %q / %q", got.AccountReference, got.TaxID)
	}
	d, _ = e.svc.Details(ctx, e.org, "prt_a")
	if d == nil || d.AccountReference != "•••• .com" || d.Method != "paypal" {
		t.Errorf("Details = %+v, want masked paypal", d)
	}
}

func TestForPartnerShowsNextScheduledAndPast(t *testing.T) {
	e := newEnv(t)
	ctx := t.Context()
	e.partner(t, "prt_a", "Alpha", "a@example.com")
	e.partner(t, "prt_b", "Beta", "b@example.com")
	e.commission(t, "prt_a", "rfr_a", 1000, "USD", commission.StatusApproved)
	e.commission(t, "prt_b", "rfr_b", 9999, "USD", commission.StatusApproved)
	run, err := e.svc.Create(ctx, e.org, "usr_admin")
	if err != nil {
		t.Fatal(err)
	}
	p, err := e.svc.ForPartner(ctx, e.org, "prt_a")
	if err != nil {
		t.Fatal(err)
	}
	if fmt.Sprint(p.Next) != fmt.Sprint([]domain.Money{{Amount: 1000, Currency: "USD"}}) || len(p.Scheduled) != 1 || len(p.Past) != 0 {
		t.Fatalf("before paying: %+v", p)
	}
	if _, err := e.svc.MarkPaid(ctx, e.org, "usr_admin", run.ID, "WIRE-1"); err != nil {
		t.Fatal(err)
	}
	p, _ = e.svc.ForPartner(ctx, e.org, "prt_a")
	if len(p.Next) != 0 || len(p.Scheduled) != 0 || len(p.Past) != 1 {
		t.Fatalf("after paying: %+v", p)
	}
	if past := p.Past[0]; past.Amount.Amount != 1000 || past.PayoutReference != "WIRE-1" || past.PayoutRunID != run.ID {
		t.Errorf("past payout %+v", past)
	}
}
