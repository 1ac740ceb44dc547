package ledger_test

import (
	"bytes"
	"context"
	"encoding/csv"
	"fmt"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/partnerloop/partnerloop/internal/commission"
	"github.com/partnerloop/partnerloop/internal/domain"
	"github.com/partnerloop/partnerloop/internal/ledger"
	"github.com/partnerloop/partnerloop/internal/store"
	"github.com/partnerloop/partnerloop/internal/store/sqlite"
)

var t0 = time.Date(2026, 3, 15, 12, 0, 0, 0, time.UTC)

func wantCode(t *testing.T, err error, kind domain.Kind, code string) *domain.Error {
	t.Helper()
	e, ok := domain.AsError(err)
	if !ok || e.Kind != kind || (code != "" && e.Code != code) {
		t.Fatalf("error %v, want kind %d code %q", err, kind, code)
	}
	return e
}

func TestNeutralize(t *testing.T) {
	for in, want := range map[string]string{
		"":                               "",
		"plain":                          "plain",
		"=HYPERLINK(\"http://x\",\"y\")": "'=HYPERLINK(\"http://x\",\"y\")",
		"+1":                             "'+1",
		"-2+3":                           "'-2+3",
		"@SUM(A1)":                       "'@SUM(A1)",
		"\t=1":                           "'\t=1",
		"\r=1":                           "'\r=1",
		"\n=1":                           "'\n=1",
		"a=b":                            "a=b",
		"'quoted":                        "'quoted",
		"2026-03-15T12:00:00Z":           "2026-03-15T12:00:00Z",
	} {
		if got := ledger.Neutralize(in); got != want {
			t.Errorf("Neutralize(%q) = %q, want %q", in, got, want)
		}
	}
}

func TestAmountCellIsANumber(t *testing.T) {
	for _, c := range []struct {
		m    domain.Money
		want string
	}{
		{domain.Money{Amount: 500, Currency: "USD"}, "5.00"},
		{domain.Money{Amount: -1250, Currency: "USD"}, "-12.50"},
		{domain.Money{Amount: -5, Currency: "EUR"}, "-0.05"},
		{domain.Money{Amount: 1500, Currency: "JPY"}, "1500"},
		{domain.Money{Amount: -1500, Currency: "JPY"}, "-1500"},
		{domain.Money{Amount: 1234, Currency: "KWD"}, "1.234"},
		{domain.Money{Amount: 0, Currency: "USD"}, "0.00"},
	} {
		if got := ledger.Amount(c.m); got != c.want {
			t.Errorf("Amount(%v) = %q, want %q", c.m, got, c.want)
		}
	}
}

func TestWriteCSV(t *testing.T) {
	paid := commission.Commission{
		ID: "com_1", Kind: commission.KindCommission, Status: commission.StatusPaid, PartnerID: "prt_1",
		ReferrerID: "ref_1", ProgramID: "prg_1", ConversionID: "cnv_1", Amount: domain.Money{Amount: 500, Currency: "USD"},
		AvailableAt: t0.AddDate(0, 0, 30), PayoutReference: `=HYPERLINK("http://evil.example","x")`, CreatedAt: t0,
	}
	claw := commission.Commission{
		ID: "com_2", Kind: commission.KindClawback, Status: commission.StatusPending, ReferrerID: "ref_1",
		ProgramID: "prg_1", ConversionID: "cnv_1", Amount: domain.Money{Amount: -1250, Currency: "USD"},
		AvailableAt: t0, PayoutReference: "-multi\nline, \"quoted\"", CreatedAt: t0.Add(time.Hour),
	}
	var buf bytes.Buffer
	if err := ledger.WriteCSV(&buf, []commission.Commission{paid, claw}); err != nil {
		t.Fatal(err)
	}
	raw := buf.String()
	// Three records, CRLF-terminated; the line break quoted inside a cell
	// is written as CRLF too.
	if !strings.HasSuffix(raw, "\r\n") || strings.Count(raw, "\r\n") != 4 || strings.Count(raw, "\n") != 4 {
		t.Fatalf("want CRLF line ends only: %q", raw)
	}
	recs, err := csv.NewReader(strings.NewReader(raw)).ReadAll()
	if err != nil {
		t.Fatal(err)
	}
	want := []string{"id", "kind", "status", "partnerId", "referrerId", "programId", "conversionId", "dealId",
		"amount", "currency", "availableAt", "payoutReference", "createdAt"}
	if !slices.Equal(recs[0], want) {
		t.Fatalf("header %v, want %v", recs[0], want)
	}
	if got := recs[1]; !slices.Equal(got, []string{"com_1", "commission", "paid", "prt_1", "ref_1", "prg_1", "cnv_1", "",
		"5.00", "USD", "2026-04-14T12:00:00Z", `'=HYPERLINK("http://evil.example","x")`, "2026-03-15T12:00:00Z"}) {
		t.Fatalf("row 1 = %q", got)
	}
	if got := recs[2]; got[8] != "-12.50" || got[11] != "'-multi\nline, \"quoted\"" || got[3] != "" {
		t.Fatalf("row 2 = %q", got)
	}
}

func TestParseBound(t *testing.T) {
	for _, c := range []struct {
		in    string
		upper bool
		want  time.Time
	}{
		{"2026-03-01", false, time.Date(2026, 3, 1, 0, 0, 0, 0, time.UTC)},
		{"2026-03-31", true, time.Date(2026, 4, 1, 0, 0, 0, 0, time.UTC)},
		{"2026-03-31T10:00:00Z", true, time.Date(2026, 3, 31, 10, 0, 0, 0, time.UTC)},
		{"2026-03-31T12:00:00+02:00", false, time.Date(2026, 3, 31, 10, 0, 0, 0, time.UTC)},
	} {
		got, err := ledger.ParseBound(c.in, c.upper)
		if err != nil || !got.Equal(c.want) || got.Location() != time.UTC {
			t.Errorf("ParseBound(%q, %v) = %v, %v; want %v", c.in, c.upper, got, err, c.want)
		}
	}
	for _, bad := range []string{"yesterday", "2026-13-01", "2026-3-1", "1767268805"} {
		if _, err := ledger.ParseBound(bad, false); err == nil {
			t.Errorf("ParseBound(%q) accepted", bad)
		}
	}
}

func TestExportFilename(t *testing.T) {
	from, _ := ledger.ParseBound("2026-03-01", false)
	to, _ := ledger.ParseBound("2026-03-31", true)
	toTS, _ := ledger.ParseBound("2026-04-01T00:00:00Z", true)
	for _, c := range []struct {
		f    store.CommissionFilter
		want string
	}{
		{store.CommissionFilter{From: from, To: to}, "commissions-2026-03-01-2026-03-31.csv"},
		{store.CommissionFilter{From: from, To: toTS}, "commissions-2026-03-01-2026-03-31.csv"},
		{store.CommissionFilter{}, "commissions-start-2026-03-15.csv"},
	} {
		if got := ledger.ExportFilename(c.f, t0); got != c.want {
			t.Errorf("ExportFilename(%+v) = %q, want %q", c.f, got, c.want)
		}
	}
}

func TestValidateFilter(t *testing.T) {
	if err := ledger.ValidateFilter(store.CommissionFilter{Status: "approved", From: t0, To: t0.Add(time.Second)}); err != nil {
		t.Fatal(err)
	}
	wantCode(t, ledger.ValidateFilter(store.CommissionFilter{Status: "won"}), domain.KindInvalid, "validation_failed")
	wantCode(t, ledger.ValidateFilter(store.CommissionFilter{From: t0, To: t0}), domain.KindInvalid, "validation_failed")
}

func TestCollapseIDs(t *testing.T) {
	var v domain.Validation
	if got := ledger.CollapseIDs(&v, []string{"b", "a", "b", " a "}); !slices.Equal(got, []string{"b", "a"}) || v.Err() != nil {
		t.Fatalf("got %v, %v", got, v.Err())
	}
	for _, ids := range [][]string{nil, {}, {"a", ""}} {
		var v domain.Validation
		ledger.CollapseIDs(&v, ids)
		wantCode(t, v.Err(), domain.KindInvalid, "validation_failed")
	}
	many := make([]string, 0, ledger.MaxBatch+1)
	for i := range ledger.MaxBatch + 1 {
		many = append(many, "com_"+string(rune('A'+i/26))+string(rune('a'+i%26)))
	}
	v = domain.Validation{}
	ledger.CollapseIDs(&v, many[:ledger.MaxBatch])
	if v.Err() != nil {
		t.Fatalf("%d ids refused: %v", ledger.MaxBatch, v.Err())
	}
	ledger.CollapseIDs(&v, many)
	wantCode(t, v.Err(), domain.KindInvalid, "validation_failed")
	// Duplicates count once.
	v = domain.Validation{}
	ledger.CollapseIDs(&v, append(many[:ledger.MaxBatch:ledger.MaxBatch], many[0], many[1]))
	if v.Err() != nil {
		t.Fatalf("duplicates counted: %v", v.Err())
	}
}

func conversion(amount *domain.Money, refunded int64) domain.Conversion {
	return domain.Conversion{ID: "cnv_1", OrgID: "org_1", Amount: amount, RefundedAmount: domain.Money{Amount: refunded, Currency: "USD"}}
}

func TestPlanRefund(t *testing.T) {
	usd := func(n int64) *domain.Money { return &domain.Money{Amount: n, Currency: "USD"} }
	minor := func(n int64) *domain.MoneyInput { return &domain.MoneyInput{Amount: n} }

	ch, conv, err := ledger.PlanRefund(conversion(usd(5000), 0), minor(2000))
	if err != nil || ch != (store.RefundChange{ConversionID: "cnv_1", From: 0, To: 2000}) || conv.RefundedAmount != *usd(2000) {
		t.Fatalf("partial: %+v %+v %v", ch, conv.RefundedAmount, err)
	}
	ch, conv, err = ledger.PlanRefund(conversion(usd(5000), 2000), nil)
	if err != nil || ch.From != 2000 || ch.To != 5000 || conv.RefundedAmount.Amount != 5000 {
		t.Fatalf("rest: %+v %v", ch, err)
	}
	ch, _, err = ledger.PlanRefund(conversion(usd(5000), 2000), &domain.MoneyInput{Amount: 3000, Currency: "USD"})
	if err != nil || ch.To != 5000 {
		t.Fatalf("exact rest as Money: %+v %v", ch, err)
	}
	e := wantCode(t, err3(ledger.PlanRefund(conversion(usd(5000), 2000), minor(3001))), domain.KindInvalid, "refund_exceeds_value")
	if e.Extra["refundable"] != *usd(3000) || len(e.Fields) != 1 || e.Fields[0].Field != "amount" {
		t.Fatalf("over-refund error %+v", e)
	}
	wantCode(t, err3(ledger.PlanRefund(conversion(usd(5000), 5000), nil)), domain.KindConflict, "already_refunded")
	wantCode(t, err3(ledger.PlanRefund(conversion(usd(5000), 5000), minor(1))), domain.KindInvalid, "refund_exceeds_value")
	wantCode(t, err3(ledger.PlanRefund(conversion(usd(5000), 0), minor(0))), domain.KindInvalid, "validation_failed")
	wantCode(t, err3(ledger.PlanRefund(conversion(usd(5000), 0), minor(-1))), domain.KindInvalid, "validation_failed")
	wantCode(t, err3(ledger.PlanRefund(conversion(usd(5000), 0), &domain.MoneyInput{Amount: 1, Currency: "EUR"})), domain.KindInvalid, domain.ReasonCurrencyMismatch)

	// Without a value: full only, the amount omitted.
	ch, conv, err = ledger.PlanRefund(conversion(nil, 0), nil)
	if err != nil || ch != (store.RefundChange{ConversionID: "cnv_1"}) || conv.RefundedAmount != *usd(0) {
		t.Fatalf("valueless: %+v %+v %v", ch, conv, err)
	}
	wantCode(t, err3(ledger.PlanRefund(conversion(nil, 0), minor(100))), domain.KindInvalid, "validation_failed")
}

func err3[A, B any](_ A, _ B, err error) error { return err }

func err2[A any](_ A, err error) error { return err }

// fakeLedger is a store.Ledger holding commissions in memory; change, when
// set, decides what ApplyLedgerChange answers.
type fakeLedger struct {
	store.Ledger
	commissions map[string]commission.Commission
	conversions map[string]domain.Conversion
	applied     []store.LedgerChange
	change      func(store.LedgerChange) error
}

func (f *fakeLedger) GetCommission(_ context.Context, orgID, id string) (commission.Commission, error) {
	c, ok := f.commissions[id]
	if !ok || c.OrgID != orgID {
		return c, store.ErrNotFound
	}
	return c, nil
}

func (f *fakeLedger) GetConversion(_ context.Context, orgID, id string) (domain.Conversion, error) {
	c, ok := f.conversions[id]
	if !ok || c.OrgID != orgID {
		return c, store.ErrNotFound
	}
	return c, nil
}

func (f *fakeLedger) ApplyLedgerChange(_ context.Context, ch store.LedgerChange) error {
	if f.change != nil {
		if err := f.change(ch); err != nil {
			return err
		}
	}
	f.applied = append(f.applied, ch)
	for _, c := range ch.Updated {
		c.Revision++
		f.commissions[c.ID] = c
	}
	if r := ch.Refund; r != nil {
		c := f.conversions[r.ConversionID]
		if c.RefundedAmount.Amount != r.From {
			return store.ErrConflict
		}
		c.RefundedAmount.Amount = r.To
		f.conversions[r.ConversionID] = c
	}
	return nil
}

func pending(id, org string, availableAt time.Time) commission.Commission {
	return commission.Commission{ID: id, OrgID: org, Kind: commission.KindCommission, Status: commission.StatusPending,
		Amount: domain.Money{Amount: 500, Currency: "USD"}, AvailableAt: availableAt, CreatedAt: t0, Revision: 3}
}

func TestBatchIsAllOrNothing(t *testing.T) {
	f := &fakeLedger{commissions: map[string]commission.Commission{
		"a": pending("a", "org_1", t0), "b": pending("b", "org_1", t0.Add(time.Hour)),
		"c": pending("c", "org_1", t0.Add(2*time.Hour)), "x": pending("x", "org_2", t0),
	}}
	now := t0
	svc := ledger.New(f, f, func() time.Time { return now })
	ctx := context.Background()

	e := wantCode(t, err2(svc.Approve(ctx, "org_1", "usr_1", []string{"a", "b", "c"})), domain.KindConflict, "on_hold")
	if ids, _ := e.Extra["ids"].([]string); !slices.Equal(ids, []string{"b", "c"}) {
		t.Fatalf("on_hold ids %v", e.Extra["ids"])
	}
	e = wantCode(t, err2(svc.Approve(ctx, "org_1", "usr_1", []string{"a", "x", "nope"})), domain.KindNotFound, "not_found")
	if ids, _ := e.Extra["ids"].([]string); !slices.Equal(ids, []string{"x", "nope"}) {
		t.Fatalf("not found ids %v", e.Extra["ids"])
	}
	if len(f.applied) != 0 {
		t.Fatalf("a refused batch wrote %d changes", len(f.applied))
	}

	now = t0.Add(2 * time.Hour)
	got, err := svc.Approve(ctx, "org_1", "usr_1", []string{"c", "a", "c"})
	if err != nil {
		t.Fatal(err)
	}
	if len(got) != 2 || got[0].ID != "c" || got[1].ID != "a" || got[0].Status != commission.StatusApproved || got[0].Revision != 4 {
		t.Fatalf("approved %+v", got)
	}
	if ch := f.applied[0]; ch.OrgID != "org_1" || len(ch.Updated) != 2 || len(ch.Audit) != 2 || ch.Audit[0].Actor != "usr_1" ||
		!ch.Audit[0].At.Equal(now) || ch.Refund != nil || len(ch.Created) != 0 {
		t.Fatalf("change %+v", ch)
	}

	// Mixed refusals: invalid_transition wins the code, every ID is listed.
	e = wantCode(t, err2(svc.MarkPaid(ctx, "org_1", "usr_1", []string{"a", "b"}, "PAY-1")), domain.KindConflict, "invalid_transition")
	if ids, _ := e.Extra["ids"].([]string); !slices.Equal(ids, []string{"b"}) {
		t.Fatalf("invalid_transition ids %v", e.Extra["ids"])
	}
	wantCode(t, err2(svc.Reject(ctx, "org_1", "usr_1", []string{"b"}, "  ")), domain.KindInvalid, "validation_failed")
	wantCode(t, err2(svc.MarkPaid(ctx, "org_1", "usr_1", []string{"a"}, "")), domain.KindInvalid, "validation_failed")

	// A concurrent change: 409, reload and retry.
	f.change = func(store.LedgerChange) error { return store.ErrConflict }
	wantCode(t, err2(svc.Reject(ctx, "org_1", "usr_1", []string{"b"}, "duplicate")), domain.KindConflict, "concurrent_change")
	if f.commissions["b"].Status != commission.StatusPending {
		t.Fatal("a conflicting batch changed an entry")
	}
}

func TestRefundRetriesAConcurrentRefund(t *testing.T) {
	f := &fakeLedger{conversions: map[string]domain.Conversion{"cnv_1": conversion(&domain.Money{Amount: 5000, Currency: "USD"}, 0)}}
	svc := ledger.New(f, f, func() time.Time { return t0 })
	ctx := context.Background()
	raced := false
	f.change = func(ch store.LedgerChange) error {
		if !raced { // another refund of 1000 lands between our read and write
			raced = true
			c := f.conversions["cnv_1"]
			c.RefundedAmount.Amount = 1000
			f.conversions["cnv_1"] = c
			return store.ErrConflict
		}
		return nil
	}
	conv, err := svc.Refund(ctx, "org_1", "cnv_1", nil)
	if err != nil || conv.RefundedAmount.Amount != 5000 || len(f.applied) != 1 || f.applied[0].Refund.From != 1000 {
		t.Fatalf("full refund after a race: %+v %v %+v", conv.RefundedAmount, err, f.applied)
	}
	wantCode(t, err2(svc.Refund(ctx, "org_2", "cnv_1", nil)), domain.KindNotFound, "not_found")

	f.change = func(store.LedgerChange) error { return store.ErrConflict }
	f.conversions["cnv_1"] = conversion(&domain.Money{Amount: 5000, Currency: "USD"}, 0)
	wantCode(t, err2(svc.Refund(ctx, "org_1", "cnv_1", nil)), domain.KindConflict, "concurrent_change")
}

// pagedLedger lists n commissions, newest first, in pages of the asked size.
type pagedLedger struct {
	store.Ledger
	n     int
	calls int
}

func (p *pagedLedger) ListCommissions(_ context.Context, orgID string, f store.CommissionFilter, pg store.Page) ([]commission.Commission, string, error) {
	p.calls++
	start := 0
	if pg.Cursor != "" {
		start, _ = strconv.Atoi(pg.Cursor)
	}
	var out []commission.Commission
	for i := start; i < p.n && len(out) < pg.Limit; i++ {
		c := pending(fmt.Sprintf("com_%06d", i), orgID, t0)
		c.CreatedAt = t0.Add(-time.Duration(i) * time.Second) // newest first
		out = append(out, c)
	}
	next := ""
	if start+len(out) < p.n {
		next = strconv.Itoa(start + len(out))
	}
	return out, next, nil
}

func TestExportPagesThroughEverything(t *testing.T) {
	p := &pagedLedger{n: 2*store.MaxLimit + 50}
	svc := ledger.New(nil, p, func() time.Time { return t0 })
	all, err := svc.Export(context.Background(), "org_1", store.CommissionFilter{})
	if err != nil {
		t.Fatal(err)
	}
	if len(all) != p.n || p.calls != 3 {
		t.Fatalf("%d commissions in %d calls, want %d in 3", len(all), p.calls, p.n)
	}
	if all[0].ID != fmt.Sprintf("com_%06d", p.n-1) || !slices.IsSortedFunc(all, func(a, b commission.Commission) int { return a.CreatedAt.Compare(b.CreatedAt) }) {
		t.Fatal("the export is not oldest first")
	}

	big := &pagedLedger{n: ledger.MaxExportRows + 1}
	wantCode(t, err2(ledger.New(nil, big, func() time.Time { return t0 }).Export(context.Background(), "org_1", store.CommissionFilter{})),
		domain.KindInvalid, "export_too_large")
	wantCode(t, err2(svc.Export(context.Background(), "org_1", store.CommissionFilter{Status: "owed"})), domain.KindInvalid, "validation_failed")
}

func TestTotalsAndApproveMatching(t *testing.T) {
	st, err := sqlite.Open(filepath.Join(t.TempDir(), "l.db"))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { st.Close() })
	svc := ledger.New(st, st, func() time.Time { return t0 })
	ctx := t.Context()
	mk := func(id, partner string, amount int64, currency string, availableAt time.Time) commission.Commission {
		return commission.Commission{ID: id, OrgID: "org_1", Kind: commission.KindCommission, Status: commission.StatusPending, PartnerID: partner,
			Amount: domain.Money{Amount: amount, Currency: currency}, AvailableAt: availableAt, CreatedAt: t0.Add(-time.Minute), UpdatedAt: t0}
	}
	var cs []commission.Commission
	for i := range 120 {
		cs = append(cs, mk(fmt.Sprintf("com_%03d", i), "prt_a", 100+int64(i), "USD", t0.Add(-time.Hour)))
	}
	cs = append(cs, mk("com_eur", "prt_a", 700, "EUR", t0.Add(-time.Hour)),
		mk("com_hold", "prt_a", 5, "USD", t0.Add(time.Hour)), // still on hold
		mk("com_other", "prt_b", 9999, "USD", t0.Add(-time.Hour)))
	for c := range slices.Chunk(cs, 25) {
		if err := st.ApplyLedgerChange(ctx, store.LedgerChange{OrgID: "org_1", Created: c}); err != nil {
			t.Fatal(err)
		}
	}
	f := store.CommissionFilter{PartnerID: "prt_a"}
	totals, n, err := svc.Totals(ctx, "org_1", f)
	if err != nil {
		t.Fatal(err)
	}
	// 120 entries of 100..219 = 19140, plus 5 on hold.
	if n != 122 || fmt.Sprint(totals) != fmt.Sprint([]domain.Money{{Amount: 700, Currency: "EUR"}, {Amount: 19145, Currency: "USD"}}) {
		t.Fatalf("totals %v of %d", totals, n)
	}
	// The confirmation states what ApproveMatching then does: the entries
	// past their hold, with their totals, and how many stay on hold.
	p, err := svc.PreviewApproveMatching(ctx, "org_1", f)
	if err != nil || p.Count != 121 || p.OnHold != 1 ||
		fmt.Sprint(p.Totals) != fmt.Sprint([]domain.Money{{Amount: 700, Currency: "EUR"}, {Amount: 19140, Currency: "USD"}}) {
		t.Fatalf("PreviewApproveMatching = %+v, %v", p, err)
	}
	approved, onHold, err := svc.ApproveMatching(ctx, "org_1", "usr_admin", f)
	if err != nil || approved != 121 || onHold != 1 {
		t.Fatalf("ApproveMatching = %d approved, %d on hold, %v; want 121, 1", approved, onHold, err)
	}
	for _, id := range []string{"com_000", "com_119", "com_eur"} {
		if c, _ := st.GetCommission(ctx, "org_1", id); c.Status != commission.StatusApproved {
			t.Errorf("%s is %s, want approved", id, c.Status)
		}
	}
	for _, id := range []string{"com_hold", "com_other"} {
		if c, _ := st.GetCommission(ctx, "org_1", id); c.Status != commission.StatusPending {
			t.Errorf("%s is %s, want pending (on hold / not matching)", id, c.Status)
		}
	}
}
