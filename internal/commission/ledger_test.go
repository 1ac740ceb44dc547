package commission_test

import (
	"reflect"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/partnerloop/partnerloop/internal/commission"
	"github.com/partnerloop/partnerloop/internal/domain"
)

const actor = "usr_admin"

func earning() commission.Earning {
	return commission.Earning{
		OrgID: "org_1", ProgramID: "prg_1", ReferrerID: "rfr_1", ConversionID: "cnv_1",
		Currency: "USD", Amount: 1000, RuleSource: commission.SourceProgram, RuleVersion: 2,
		PeriodKey: "2026-03", Ordinal: 4, OccurredAt: t0, HoldDays: 30,
	}
}

// newCommission builds a commission of amount in the given status.
func newCommission(t *testing.T, amount int64, status commission.Status) commission.Commission {
	t.Helper()
	e := earning()
	e.Amount = amount
	c, _, err := commission.NewCommission(e, commission.ActorSystem, t0)
	if err != nil {
		t.Fatal(err)
	}
	switch status {
	case commission.StatusPending:
		return c
	case commission.StatusRejected:
		if c, _, err = commission.Reject(c, "fraud", actor, t0); err != nil {
			t.Fatal(err)
		}
		return c
	}
	if c, _, err = commission.Approve(c, actor, c.AvailableAt); err != nil {
		t.Fatal(err)
	}
	switch status {
	case commission.StatusApproved:
		return c
	case commission.StatusPaid:
		c, _, err = commission.MarkPaid(c, "PAY-1", actor, c.AvailableAt)
	case commission.StatusReversed:
		var out commission.RefundOutcome
		out, err = commission.Refund(c, 10000, 10000, 0, actor, c.AvailableAt)
		c = *out.Reversed
	}
	if err != nil {
		t.Fatal(err)
	}
	return c
}

var idRe = regexp.MustCompile(`^com_[A-Z2-7]{26}$`)

func TestCommissionID(t *testing.T) {
	a := commission.CommissionID("cnv_1", "rfr_1", "commission")
	if !idRe.MatchString(a) || a != commission.LegacyCommissionID("cnv_1", "rfr_1", "commission") {
		t.Errorf("ID %q of a source without a ULID is not com_ + 26 base32 characters", a)
	}
	if b := commission.CommissionID("cnv_1", "rfr_1", "commission"); a != b {
		t.Errorf("IDs differ for the same input: %q, %q", a, b)
	}
	others := []string{
		commission.CommissionID("cnv_2", "rfr_1", "commission"),
		commission.CommissionID("cnv_1", "rfr_2", "commission"),
		commission.CommissionID("cnv_1", "rfr_1", "clawback"),
		commission.CommissionID("cnv_1r", "fr_1", "commission"), // same concatenation
		commission.CommissionID("", "cnv_1rfr_1", "commission"),
	}
	for _, o := range others {
		if o == a {
			t.Errorf("different inputs share ID %q", a)
		}
	}
}

// A source that is a ULID (domain.IDs) gives an ID that starts with its
// time, so that later sources' entries sort later; its legacy ID (entries
// recorded before) is another.
func TestCommissionIDStartsWithTheSourcesTime(t *testing.T) {
	earlier, later := "cnv_01JEPQ6S8A0000000000000000", "cnv_01JEPQ6S8BZZZZZZZZZZZZZZZZ"
	a := commission.CommissionID(earlier, "rfr_1", "commission")
	if !regexp.MustCompile(`^com_01JEPQ6S8A[A-Z2-7]{16}$`).MatchString(a) {
		t.Errorf("ID %q is not com_, the ULID's 10 time characters and 16 base32 characters", a)
	}
	if b := commission.CommissionID(later, "rfr_1", "commission"); b <= a {
		t.Errorf("a later source's ID %q sorts before %q", b, a)
	}
	if b := commission.CommissionID(earlier, "rfr_2", "commission"); b == a || b[:14] != a[:14] {
		t.Errorf("another beneficiary's ID %q, the first %q", b, a)
	}
	ids := commission.CommissionIDs(earlier, "rfr_1", "commission")
	legacy := commission.LegacyCommissionID(earlier, "rfr_1", "commission")
	if ids != [2]string{a, legacy} || !idRe.MatchString(legacy) || legacy == a {
		t.Errorf("CommissionIDs = %q; ID %q, legacy %q", ids, a, legacy)
	}
	for _, notULID := range []string{"cnv_01JEPQ6S8A000000000000000", "cnv_01JEPQ6S8A000000000000000U", "01JEPQ6S8A0000000000000000x"} {
		if got := commission.CommissionID(notULID, "rfr_1", "commission"); !idRe.MatchString(got) {
			t.Errorf("source %q: ID %q, want the legacy form", notULID, got)
		}
	}
}

func TestNewCommission(t *testing.T) {
	e := earning()
	c, audit, err := commission.NewCommission(e, commission.ActorSystem, t0.Add(time.Minute))
	if err != nil {
		t.Fatal(err)
	}
	want := commission.Commission{
		ID: commission.CommissionID("cnv_1", "rfr_1", "commission"), OrgID: "org_1",
		Kind: commission.KindCommission, ProgramID: "prg_1", ReferrerID: "rfr_1", ConversionID: "cnv_1",
		Amount: domain.Money{Amount: 1000, Currency: "USD"}, Status: commission.StatusPending,
		AvailableAt: t0.Add(30 * 24 * time.Hour), OccurredAt: t0, CreatedAt: t0.Add(time.Minute), UpdatedAt: t0.Add(time.Minute),
		RuleSource: commission.SourceProgram, RuleVersion: 2, PeriodKey: "2026-03", Ordinal: 4, OriginalAmount: 1000,
	}
	if c != want {
		t.Errorf("NewCommission =\n%+v\nwant\n%+v", c, want)
	}
	wantAudit := commission.AuditEntry{CommissionID: c.ID, From: "", To: commission.StatusPending, Actor: commission.ActorSystem, At: t0.Add(time.Minute), Reason: "earned"}
	if audit != wantAudit {
		t.Errorf("audit = %+v, want %+v", audit, wantAudit)
	}

	t.Run("redelivery derives the same ID", func(t *testing.T) {
		again, _, _ := commission.NewCommission(e, commission.ActorSystem, t0.Add(time.Hour))
		if again.ID != c.ID {
			t.Errorf("ID %q, then %q", c.ID, again.ID)
		}
	})
	t.Run("the partner is the beneficiary when there is one", func(t *testing.T) {
		p := e
		p.PartnerID = "ptn_1"
		pc, _, _ := commission.NewCommission(p, commission.ActorSystem, t0)
		if pc.ID != commission.CommissionID("cnv_1", "ptn_1", "commission") || pc.PartnerID != "ptn_1" {
			t.Errorf("partner commission ID %q", pc.ID)
		}
	})
	t.Run("deal", func(t *testing.T) {
		d := e
		d.ConversionID, d.DealID, d.PartnerID = "", "dea_1", "ptn_1"
		dc, _, err := commission.NewCommission(d, commission.ActorSystem, t0)
		if err != nil || dc.ID != commission.CommissionID("dea_1", "ptn_1", "commission") || dc.DealID != "dea_1" {
			t.Errorf("deal commission %+v, %v", dc, err)
		}
	})
	t.Run("hold of zero days", func(t *testing.T) {
		z := e
		z.HoldDays = 0
		zc, _, _ := commission.NewCommission(z, commission.ActorSystem, t0)
		if !zc.AvailableAt.Equal(t0) {
			t.Errorf("availableAt = %v, want occurredAt", zc.AvailableAt)
		}
	})
	invalid := map[string]func(*commission.Earning){
		"zero amount is never recorded": func(e *commission.Earning) { e.Amount = 0 },
		"negative amount":               func(e *commission.Earning) { e.Amount = -1 },
		"both conversion and deal":      func(e *commission.Earning) { e.DealID = "dea_1" },
		"neither conversion nor deal":   func(e *commission.Earning) { e.ConversionID = "" },
		"no beneficiary":                func(e *commission.Earning) { e.ReferrerID = "" },
		"bad currency":                  func(e *commission.Earning) { e.Currency = "usd" },
		"negative hold":                 func(e *commission.Earning) { e.HoldDays = -1 },
	}
	for name, mutate := range invalid {
		t.Run(name, func(t *testing.T) {
			bad := earning()
			mutate(&bad)
			_, _, err := commission.NewCommission(bad, commission.ActorSystem, t0)
			wantKind(t, err, domain.KindInvalid, "validation_failed")
		})
	}
}

func TestAvailableAt(t *testing.T) {
	// Whole days of 24 hours, in UTC, whatever the zone of occurredAt.
	berlin := time.FixedZone("CET", 3600)
	at := time.Date(2026, 3, 28, 12, 0, 0, 0, berlin)
	got := commission.AvailableAt(at, 2)
	if want := at.Add(48 * time.Hour); !got.Equal(want) || got.Location() != time.UTC {
		t.Errorf("AvailableAt = %v, want %v in UTC", got, want)
	}
}

func TestApproveHoldBoundary(t *testing.T) {
	c := newCommission(t, 1000, commission.StatusPending)
	t.Run("one ns before availableAt is on hold", func(t *testing.T) {
		got, _, err := commission.Approve(c, actor, c.AvailableAt.Add(-time.Nanosecond))
		e := wantKind(t, err, domain.KindConflict, "on_hold")
		if at, ok := e.Extra["availableAt"].(time.Time); !ok || !at.Equal(c.AvailableAt) {
			t.Errorf("Extra = %v, want availableAt", e.Extra)
		}
		if got != c {
			t.Error("the commission changed on error")
		}
	})
	t.Run("exactly at availableAt", func(t *testing.T) {
		now := c.AvailableAt
		got, audit, err := commission.Approve(c, actor, now)
		if err != nil {
			t.Fatal(err)
		}
		if got.Status != commission.StatusApproved || !got.UpdatedAt.Equal(now) {
			t.Errorf("status %q, updatedAt %v", got.Status, got.UpdatedAt)
		}
		want := commission.AuditEntry{CommissionID: c.ID, From: commission.StatusPending, To: commission.StatusApproved, Actor: actor, At: now, Reason: "approved"}
		if audit != want {
			t.Errorf("audit = %+v, want %+v", audit, want)
		}
	})
}

func TestRejectAndMarkPaid(t *testing.T) {
	now := t0.AddDate(0, 2, 0)
	t.Run("reject needs a reason", func(t *testing.T) {
		c := newCommission(t, 1000, commission.StatusPending)
		for _, reason := range []string{"", "   ", strings.Repeat("x", commission.MaxReasonLen+1)} {
			_, _, err := commission.Reject(c, reason, actor, now)
			wantKind(t, err, domain.KindInvalid, "validation_failed")
		}
		got, audit, err := commission.Reject(c, "  self-referral ring  ", actor, now)
		if err != nil {
			t.Fatal(err)
		}
		if got.Status != commission.StatusRejected || got.RejectReason != "self-referral ring" {
			t.Errorf("got %q, %q", got.Status, got.RejectReason)
		}
		want := commission.AuditEntry{CommissionID: c.ID, From: commission.StatusPending, To: commission.StatusRejected, Actor: actor, At: now, Reason: "self-referral ring"}
		if audit != want {
			t.Errorf("audit = %+v, want %+v", audit, want)
		}
	})
	t.Run("a pending commission on hold may be rejected", func(t *testing.T) {
		c := newCommission(t, 1000, commission.StatusPending)
		if _, _, err := commission.Reject(c, "fraud", actor, t0); err != nil {
			t.Error(err)
		}
	})
	t.Run("mark paid needs a payout reference", func(t *testing.T) {
		c := newCommission(t, 1000, commission.StatusApproved)
		for _, ref := range []string{"", " \t", strings.Repeat("x", commission.MaxPayoutReferenceLen+1)} {
			_, _, err := commission.MarkPaid(c, ref, actor, now)
			wantKind(t, err, domain.KindInvalid, "validation_failed")
		}
		got, audit, err := commission.MarkPaid(c, " ACH-2026-03-001 ", actor, now)
		if err != nil {
			t.Fatal(err)
		}
		if got.Status != commission.StatusPaid || got.PayoutReference != "ACH-2026-03-001" {
			t.Errorf("got %q, %q", got.Status, got.PayoutReference)
		}
		if audit.From != commission.StatusApproved || audit.To != commission.StatusPaid || audit.Actor != actor || !audit.At.Equal(now) {
			t.Errorf("audit = %+v", audit)
		}
	})
}

// TestIllegalTransitions tries every transition from every status.
func TestIllegalTransitions(t *testing.T) {
	now := t0.AddDate(1, 0, 0) // long past every hold
	ops := map[string]func(commission.Commission) (commission.Commission, commission.AuditEntry, error){
		"approve": func(c commission.Commission) (commission.Commission, commission.AuditEntry, error) {
			return commission.Approve(c, actor, now)
		},
		"reject": func(c commission.Commission) (commission.Commission, commission.AuditEntry, error) {
			return commission.Reject(c, "no", actor, now)
		},
		"mark paid": func(c commission.Commission) (commission.Commission, commission.AuditEntry, error) {
			return commission.MarkPaid(c, "P", actor, now)
		},
	}
	allowed := map[commission.Status]string{commission.StatusPending: "approve reject", commission.StatusApproved: "mark paid"}
	for _, status := range []commission.Status{commission.StatusPending, commission.StatusApproved, commission.StatusPaid, commission.StatusRejected, commission.StatusReversed} {
		for name, op := range ops {
			t.Run(string(status)+"/"+name, func(t *testing.T) {
				c := newCommission(t, 1000, status)
				got, _, err := op(c)
				if strings.Contains(allowed[status], name) {
					if err != nil {
						t.Errorf("refused: %v", err)
					}
					return
				}
				e := wantKind(t, err, domain.KindConflict, "invalid_transition")
				if status == commission.StatusPaid && !strings.Contains(e.Message, "paid is final") {
					t.Errorf("message %q does not say paid is final", e.Message)
				}
				if got != c {
					t.Error("the commission changed on error")
				}
			})
		}
	}
}

func TestRefundUnpaid(t *testing.T) {
	now := t0.Add(48 * time.Hour)
	for _, status := range []commission.Status{commission.StatusPending, commission.StatusApproved} {
		t.Run(string(status)+": full refund reverses", func(t *testing.T) {
			c := newCommission(t, 1000, status)
			out, err := commission.Refund(c, 10000, 10000, 0, actor, now)
			if err != nil {
				t.Fatal(err)
			}
			if out.Reversed == nil || out.Reversed.Status != commission.StatusReversed || out.Reversed.Amount != c.Amount || out.Added != nil {
				t.Fatalf("outcome %+v", out)
			}
			if len(out.Audit) != 1 || out.Audit[0] != (commission.AuditEntry{CommissionID: c.ID, From: status, To: commission.StatusReversed,
				Actor: actor, At: now, Reason: "refund of 10000 (refunded 10000 of 10000)"}) {
				t.Errorf("audit %+v", out.Audit)
			}
		})
		t.Run(string(status)+": partial refund reverses and replaces", func(t *testing.T) {
			c := newCommission(t, 1000, status)
			out, err := commission.Refund(c, 10000, 2500, 0, actor, now)
			if err != nil {
				t.Fatal(err)
			}
			if out.Reversed == nil || out.Reversed.Status != commission.StatusReversed || out.Reversed.Amount.Amount != 1000 {
				t.Fatalf("reversed %+v", out.Reversed)
			}
			r := out.Added
			if r == nil {
				t.Fatal("no replacement")
			}
			if r.Kind != commission.KindCommission || r.Status != commission.StatusPending || r.Amount.Amount != 750 ||
				r.OriginalID != c.ID || r.OriginalAmount != 1000 || !r.AvailableAt.Equal(c.AvailableAt) ||
				r.ConversionID != c.ConversionID || r.Ordinal != c.Ordinal || r.PeriodKey != c.PeriodKey ||
				r.ID == c.ID || !idRe.MatchString(r.ID) || !r.CreatedAt.Equal(now) {
				t.Errorf("replacement %+v", r)
			}
			if len(out.Audit) != 2 || out.Audit[1].CommissionID != r.ID || out.Audit[1].From != "" || out.Audit[1].To != commission.StatusPending {
				t.Errorf("audit %+v", out.Audit)
			}
			again, _ := commission.Refund(c, 10000, 2500, 0, actor, now.Add(time.Hour))
			if again.Added.ID != r.ID {
				t.Errorf("the same refund delivered twice derived IDs %q and %q", r.ID, again.Added.ID)
			}
		})
	}
}

func TestRefundPaid(t *testing.T) {
	now := t0.AddDate(0, 2, 0)
	c := newCommission(t, 1000, commission.StatusPaid)
	out, err := commission.Refund(c, 10000, 2500, 0, actor, now)
	if err != nil {
		t.Fatal(err)
	}
	if out.Reversed != nil {
		t.Errorf("a paid commission was changed: %+v", out.Reversed)
	}
	cb := out.Added
	if cb == nil || cb.Kind != commission.KindClawback || cb.Status != commission.StatusPending || cb.Amount.Amount != -250 ||
		cb.Amount.Currency != "USD" || cb.OriginalID != c.ID || !cb.AvailableAt.Equal(now) || cb.PayoutReference != "" {
		t.Fatalf("clawback %+v", cb)
	}
	if len(out.Audit) != 1 || out.Audit[0].CommissionID != cb.ID || out.Audit[0].To != commission.StatusPending {
		t.Errorf("audit %+v", out.Audit)
	}
	// A clawback is approvable at once and nets against the next payout.
	if _, _, err := commission.Approve(*cb, actor, now); err != nil {
		t.Errorf("approving the clawback: %v", err)
	}
	full, _ := commission.Refund(c, 10000, 10000, 0, actor, now)
	if full.Added == nil || full.Added.Amount.Amount != -1000 {
		t.Errorf("full refund of a paid commission: %+v", full.Added)
	}
}

// TestRefundHeld: an approved commission that a payout run holds is
// refunded like a paid one (it stays approved, a clawback is added); a
// pending one (no run holds it) is reversed as by Refund; a paid one is
// clawed back as by Refund.
func TestRefundHeld(t *testing.T) {
	now := t0.AddDate(0, 2, 0)
	c := newCommission(t, 1000, commission.StatusApproved)
	out, err := commission.RefundHeld(c, 10000, 2500, 0, actor, now)
	if err != nil {
		t.Fatal(err)
	}
	cb := out.Added
	if out.Reversed != nil || cb == nil || cb.Kind != commission.KindClawback || cb.Status != commission.StatusPending ||
		cb.Amount.Amount != -250 || cb.OriginalID != c.ID || !cb.AvailableAt.Equal(now) {
		t.Fatalf("outcome %+v / %+v", out.Reversed, cb)
	}
	if len(out.Audit) != 1 || out.Audit[0].CommissionID != cb.ID || !strings.Contains(out.Audit[0].Reason, "held by a payout run") {
		t.Errorf("audit %+v", out.Audit)
	}
	for _, status := range []commission.Status{commission.StatusPending, commission.StatusPaid} {
		c := newCommission(t, 1000, status)
		held, err1 := commission.RefundHeld(c, 10000, 2500, 0, actor, now)
		plain, err2 := commission.Refund(c, 10000, 2500, 0, actor, now)
		if err1 != nil || err2 != nil || !reflect.DeepEqual(held, plain) {
			t.Errorf("%s: RefundHeld %+v (%v), Refund %+v (%v); want the same", status, held, err1, plain, err2)
		}
	}
}

// TestRefundSeveralPartialsOfPaid: refunds of 1 each of a value of 3 on a
// commission of 1001. Rounding each refund's proportion alone would claw back
// round(1001/3) = 334 three times, 1002 > 1001; cumulative targets claw back
// 334, 333, 334 = 1001 exactly.
func TestRefundSeveralPartialsOfPaid(t *testing.T) {
	c := newCommission(t, 1001, commission.StatusPaid)
	var total int64
	var got []int64
	seen := map[string]bool{}
	for already := int64(0); already < 3; already++ {
		out, err := commission.Refund(c, 3, 1, already, actor, t0.AddDate(0, 2, int(already)))
		if err != nil {
			t.Fatal(err)
		}
		if seen[out.Added.ID] {
			t.Errorf("clawback ID %q reused", out.Added.ID)
		}
		seen[out.Added.ID] = true
		got = append(got, out.Added.Amount.Amount)
		total += out.Added.Amount.Amount
	}
	if total != -1001 || got[0] != -334 || got[1] != -333 || got[2] != -334 {
		t.Errorf("clawbacks %v (total %d), want [-334 -333 -334] = -1001", got, total)
	}
}

// TestRefundPartialsAcrossPayment: a partial refund while unpaid, payment of
// the replacement, then refunds after payment; the ledger nets to exactly 0.
func TestRefundPartialsAcrossPayment(t *testing.T) {
	const value = 7
	c := newCommission(t, 1000, commission.StatusApproved)
	ledger := map[string]commission.Commission{c.ID: c}
	net := func() (sum int64) {
		for _, e := range ledger {
			if e.Status != commission.StatusReversed && e.Status != commission.StatusRejected {
				sum += e.Amount.Amount
			}
		}
		return sum
	}
	apply := func(live commission.Commission, refund, already int64) commission.RefundOutcome {
		t.Helper()
		out, err := commission.Refund(live, value, refund, already, actor, t0.AddDate(0, 3, int(already)))
		if err != nil {
			t.Fatal(err)
		}
		if out.Reversed != nil {
			ledger[out.Reversed.ID] = *out.Reversed
		}
		if out.Added != nil {
			if _, dup := ledger[out.Added.ID]; dup {
				t.Fatalf("ID %q added twice", out.Added.ID)
			}
			ledger[out.Added.ID] = *out.Added
		}
		return out
	}
	// 2 of 7 while approved: reversed, replaced by 1000 − round(285.71) = 714.
	out := apply(c, 2, 0)
	r1 := *out.Added
	if r1.Amount.Amount != 714 || net() != 714 {
		t.Fatalf("replacement %d, net %d", r1.Amount.Amount, net())
	}
	// 1 more while the replacement is pending: reversed, replaced by
	// 1000 − round(428.57) = 571, still linked to the original.
	out = apply(r1, 1, 2)
	r2 := *out.Added
	if r2.Amount.Amount != 571 || r2.OriginalID != c.ID || out.Reversed.ID != r1.ID || net() != 571 {
		t.Fatalf("second replacement %+v, net %d", r2, net())
	}
	// Pay it, then refund 3 more: clawback of round(857.14) − 429 = 857 − 429 = 428.
	r2, _, _ = commission.Approve(r2, actor, r2.AvailableAt)
	r2, _, _ = commission.MarkPaid(r2, "PAY-9", actor, r2.AvailableAt)
	ledger[r2.ID] = r2
	out = apply(r2, 3, 3)
	if out.Reversed != nil || out.Added.Amount.Amount != -428 || net() != 143 {
		t.Fatalf("clawback %+v, net %d", out.Added, net())
	}
	// The last 1: the rest, 143, and the ledger nets to zero.
	out = apply(r2, 1, 6)
	if out.Added.Amount.Amount != -143 || net() != 0 {
		t.Fatalf("final clawback %+v, net %d", out.Added, net())
	}
}

func TestRefundEdgeCases(t *testing.T) {
	now := t0.AddDate(0, 2, 0)
	t.Run("a refund too small to move a minor unit changes nothing", func(t *testing.T) {
		for _, status := range []commission.Status{commission.StatusPending, commission.StatusPaid} {
			c := newCommission(t, 1, status)
			out, err := commission.Refund(c, 10000, 1, 0, actor, now) // 1 × 1/10000 → 0
			if err != nil || out.Reversed != nil || out.Added != nil || len(out.Audit) != 0 {
				t.Errorf("%s: %+v, %v", status, out, err)
			}
		}
	})
	t.Run("half a minor unit rounds away from zero", func(t *testing.T) {
		c := newCommission(t, 1, commission.StatusPaid)
		out, _ := commission.Refund(c, 2, 1, 0, actor, now) // 0.5 → 1
		if out.Added == nil || out.Added.Amount.Amount != -1 {
			t.Errorf("clawback %+v", out.Added)
		}
	})
	t.Run("a conversion without a value is refunded in full", func(t *testing.T) {
		c := newCommission(t, 2500, commission.StatusPaid)
		out, err := commission.Refund(c, 0, 0, 0, actor, now)
		if err != nil || out.Added == nil || out.Added.Amount.Amount != -2500 || out.Audit[0].Reason != "claws back paid "+c.ID+" after full refund" {
			t.Errorf("%+v, %v", out, err)
		}
		p := newCommission(t, 2500, commission.StatusPending)
		out, err = commission.Refund(p, 0, 0, 0, actor, now)
		if err != nil || out.Reversed == nil || out.Added != nil {
			t.Errorf("%+v, %v", out, err)
		}
	})
	t.Run("a rejected commission is left alone", func(t *testing.T) {
		c := newCommission(t, 1000, commission.StatusRejected)
		out, err := commission.Refund(c, 10000, 10000, 0, actor, now)
		if err != nil || out.Reversed != nil || out.Added != nil {
			t.Errorf("%+v, %v", out, err)
		}
	})
	t.Run("a reversed commission is a caller error", func(t *testing.T) {
		c := newCommission(t, 1000, commission.StatusReversed)
		_, err := commission.Refund(c, 10000, 100, 0, actor, now)
		wantKind(t, err, domain.KindConflict, "already_reversed")
	})
	t.Run("clawbacks and adjustments are not refunded", func(t *testing.T) {
		c := newCommission(t, 1000, commission.StatusPaid)
		out, _ := commission.Refund(c, 10000, 100, 0, actor, now)
		_, err := commission.Refund(*out.Added, 10000, 100, 100, actor, now)
		wantKind(t, err, domain.KindInvalid, "not_refundable")
	})
	invalid := []struct {
		name                   string
		value, refund, already int64
	}{
		{"zero refund", 10000, 0, 0},
		{"negative refund", 10000, -5, 0},
		{"more than the value", 10000, 10001, 0},
		{"more than what is left", 10000, 5001, 5000},
		{"negative already refunded", 10000, 10, -1},
		{"negative value", -10, 0, 0},
		{"an amount on a conversion without a value", 0, 5, 0},
	}
	for _, tt := range invalid {
		t.Run(tt.name, func(t *testing.T) {
			c := newCommission(t, 1000, commission.StatusPending)
			_, err := commission.Refund(c, tt.value, tt.refund, tt.already, actor, now)
			wantKind(t, err, domain.KindInvalid, "validation_failed")
		})
	}
}

func TestNewAdjustment(t *testing.T) {
	key := commission.CounterKey{BeneficiaryID: "ptn_1", RuleSource: commission.SourceTier, RuleOwnerID: "tie_1", PeriodKey: "2026-03"}
	a := commission.PeriodAdjustment{OrgID: "org_1", ProgramID: "prg_1", ReferrerID: "rfr_1", PartnerID: "ptn_1",
		Currency: "USD", Amount: 5000, Counter: key, RuleVersion: 1, HoldDays: 14}
	end := time.Date(2026, 4, 1, 0, 0, 0, 0, time.UTC)

	_, _, err := commission.NewAdjustment(a, commission.ActorSystem, end.Add(-time.Nanosecond))
	wantKind(t, err, domain.KindConflict, "period_open")

	c, audit, err := commission.NewAdjustment(a, commission.ActorSystem, end)
	if err != nil {
		t.Fatal(err)
	}
	if c.ID != commission.AdjustmentID(key) || !idRe.MatchString(c.ID) || c.Kind != commission.KindAdjustment ||
		c.Status != commission.StatusPending || c.Amount != (domain.Money{Amount: 5000, Currency: "USD"}) ||
		!c.AvailableAt.Equal(end.Add(14*24*time.Hour)) || c.PeriodKey != "2026-03" || c.ConversionID != "" {
		t.Errorf("adjustment %+v", c)
	}
	if audit.CommissionID != c.ID || audit.To != commission.StatusPending || audit.Actor != commission.ActorSystem {
		t.Errorf("audit %+v", audit)
	}
	again, _, _ := commission.NewAdjustment(a, commission.ActorSystem, end.AddDate(0, 0, 3))
	if again.ID != c.ID {
		t.Error("re-running the period close derives a new ID")
	}
	other := key
	other.PeriodKey = "2026-04"
	if commission.AdjustmentID(other) == c.ID {
		t.Error("two periods share an adjustment ID")
	}
	neg := a
	neg.Amount = -300
	if c, _, err := commission.NewAdjustment(neg, commission.ActorSystem, end); err != nil || c.Amount.Amount != -300 {
		t.Errorf("negative adjustment: %+v, %v", c, err)
	}
	for name, mutate := range map[string]func(*commission.PeriodAdjustment){
		"zero":           func(a *commission.PeriodAdjustment) { a.Amount = 0 },
		"bad period key": func(a *commission.PeriodAdjustment) { a.Counter.PeriodKey = "March" },
		"bad currency":   func(a *commission.PeriodAdjustment) { a.Currency = "" },
	} {
		bad := a
		mutate(&bad)
		_, _, err := commission.NewAdjustment(bad, commission.ActorSystem, end)
		if err == nil {
			t.Errorf("%s: accepted", name)
			continue
		}
		wantKind(t, err, domain.KindInvalid, "validation_failed")
	}
}

func TestBeneficiary(t *testing.T) {
	if got := commission.Beneficiary("rfr_1", ""); got != "rfr_1" {
		t.Errorf("no partner: %q", got)
	}
	if got := commission.Beneficiary("rfr_1", "ptn_1"); got != "ptn_1" {
		t.Errorf("partner: %q", got)
	}
}
