package pipeline_test

import (
	"fmt"
	"testing"
	"time"

	"github.com/partnerloop/partnerloop/internal/commission"
	"github.com/partnerloop/partnerloop/internal/domain"
	"github.com/partnerloop/partnerloop/internal/pipeline"
	"github.com/partnerloop/partnerloop/internal/tracking"
)

// Retroactive tiered rules of partners and tiers (COMMISSIONS.md, "Tiered
// rules"): their running totals are per partner, across its programs and
// its won deals, and the period close adjusts them like a program's.

// marchClose is an hour after March 2026 ends: when its period closes.
var marchClose = time.Date(2026, 4, 1, 1, 0, 0, 0, time.UTC)

// retroTiers: the first of a month's conversions or deals earns 10 %, every
// later one 20 %, and the month's close re-rates all at the tier reached.
func retroTiers() domain.CommissionRule {
	one, ten, twenty := int64(1), int64(1000), int64(2000)
	return domain.CommissionRule{Type: domain.RuleTiered, Basis: domain.BasisCount, Period: domain.PeriodMonth,
		Mode: domain.ModeRetroactive, Tiers: []domain.Tier{{UpTo: &one, RateBps: &ten}, {RateBps: &twenty}}}
}

// closeAt runs the period-close job and checks how many adjustments it made.
func (w *dealWorld) closeAt(at time.Time, want int) {
	w.t.Helper()
	n, err := pipeline.ClosePeriods(w.ctx, w.st, at, nil)
	if err != nil || n != want {
		w.t.Fatalf("ClosePeriods(%s) = %d, %v; want %d adjustments", at.Format(time.RFC3339), n, err, want)
	}
}

func (w *dealWorld) adjustments(partnerID string) []commission.Commission {
	w.t.Helper()
	var out []commission.Commission
	for _, c := range w.commissions(partnerID) {
		if c.Kind == commission.KindAdjustment {
			out = append(out, c)
		}
	}
	return out
}

// conversions records purchases of amount through a referrer of the
// partner in a new live program with holdDays, and prices them.
func (w *dealWorld) conversions(partnerID string, holdDays int, amounts ...int64) {
	w.t.Helper()
	spec := domain.ProgramSpec{
		Name: "Spring", LandingURL: "https://example.com/", Currency: "USD", StartsAt: w.now.AddDate(0, -1, 0),
		AttributionWindowDays: 30, QualifyingEvents: []string{domain.EventPurchase},
		Commission: percent(500), HoldDays: holdDays,
	}
	p := domain.NewProgram(w.org, "prg_partner", spec, w.now.AddDate(0, -1, 0))
	p, err := p.Transition(domain.ProgramActive, w.now)
	if err != nil {
		w.t.Fatal(err)
	}
	if err := w.st.CreateProgram(w.ctx, p); err != nil {
		w.t.Fatal(err)
	}
	ref := domain.Referrer{ID: "rfr_partner", OrgID: w.org, ProgramID: p.ID, PartnerID: partnerID, Email: "sales@resell.example",
		Name: "Resell sales", Code: "RESELL23", CreatedAt: w.now}
	if err := w.st.CreateReferrer(w.ctx, ref); err != nil {
		w.t.Fatal(err)
	}
	n := 0
	track := tracking.New(w.st, func() time.Time { return w.now }, func(prefix string) string {
		n++
		return fmt.Sprintf("%s_conv%022d", prefix, n)
	})
	for i, a := range amounts {
		w.now = w.now.Add(time.Hour)
		if _, _, err := track.RecordConversion(w.ctx, w.org, tracking.ConversionInput{Code: ref.Code, Email: fmt.Sprintf("buyer%d@example.org", i),
			Event: domain.EventPurchase, Amount: &domain.MoneyInput{Amount: a}, ExternalID: fmt.Sprintf("order-%d", i)}); err != nil {
			w.t.Fatal(err)
		}
	}
	w.handle(w.messagesOf(pipeline.TypeConversionRecorded)...)
}

// A tier's rule: two deals won in March were paid 10 % and 20 % as they
// came; the month reached the 20 % tier, so the close adds 10 % of the
// first deal, once, for the partner, held for the tier's hold days.
func TestClosePeriodsAdjustsATiersRetroactiveRunningTotal(t *testing.T) {
	w := newDealWorld(t, partnerRules)
	p := w.partner(retroTiers(), nil, 14)
	w.won(p.ID, "a.example", 100000, 0)
	w.won(p.ID, "b.example", 100000, 0)
	w.handle(w.wonMessages()...)
	if cs := w.commissions(p.ID); len(cs) != 2 || net(cs) != 30000 {
		t.Fatalf("commissions = %+v, want 10000 and 20000", cs)
	}

	w.closeAt(marchClose.Add(-time.Minute), 0) // still settling
	w.closeAt(marchClose, 1)
	w.closeAt(marchClose.Add(time.Hour), 0)
	adj := w.adjustments(p.ID)
	if len(adj) != 1 {
		t.Fatalf("adjustments = %+v, want one", adj)
	}
	a := adj[0]
	key := commission.CounterKey{BeneficiaryID: p.ID, RuleSource: commission.SourceTier, RuleOwnerID: p.TierID, PeriodKey: "2026-03"}
	if a.ID != commission.AdjustmentID(key) || a.Amount != (domain.Money{Amount: 10000, Currency: "USD"}) ||
		a.PartnerID != p.ID || a.ReferrerID != "" || a.ProgramID != "" || a.RuleSource != commission.SourceTier ||
		a.RuleVersion != 1 || a.PeriodKey != "2026-03" || a.Status != commission.StatusPending ||
		!a.AvailableAt.Equal(time.Date(2026, 4, 15, 0, 0, 0, 0, time.UTC)) {
		t.Fatalf("adjustment = %+v, want +100.00 USD pending for the partner by its tier's rule, available 14 days after March", a)
	}
}

// A partner's own rule: its running total holds its conversions and its
// won deal together (ordinals 1-3: 10 %, 20 %, 20 %); re-rated at 20 %, the
// first conversion earns 100 more.
func TestClosePeriodsAdjustsAPartnersOwnRetroactiveRunningTotal(t *testing.T) {
	w := newDealWorld(t, partnerRules)
	own := retroTiers()
	p := w.partner(percent(300), &own, 7)
	w.conversions(p.ID, 30, 1000, 1000)
	w.won(p.ID, "a.example", 100000, 0)
	w.handle(w.wonMessages()...)
	if cs := w.commissions(p.ID); len(cs) != 3 || net(cs) != 100+200+20000 {
		t.Fatalf("commissions = %+v, want 100, 200 and 20000", cs)
	}

	w.closeAt(marchClose, 1)
	adj := w.adjustments(p.ID)
	if len(adj) != 1 {
		t.Fatalf("adjustments = %+v, want one", adj)
	}
	a := adj[0]
	if a.Amount != (domain.Money{Amount: 100, Currency: "USD"}) || a.PartnerID != p.ID || a.RuleSource != commission.SourcePartner ||
		a.ProgramID != "" || !a.AvailableAt.Equal(time.Date(2026, 4, 8, 0, 0, 0, 0, time.UTC)) {
		t.Fatalf("adjustment = %+v, want +1.00 USD for the partner by its own rule, held the tier's 7 days", a)
	}
}

// Only conversions of one program, and a tier without a hold period: the
// adjustment names the program and is held for the program's hold days.
func TestClosePeriodsPartnerAdjustmentOfOneProgram(t *testing.T) {
	w := newDealWorld(t, partnerRules)
	p := w.partner(retroTiers(), nil, 0)
	tier, err := w.st.GetTier(w.ctx, w.org, p.TierID)
	if err != nil {
		t.Fatal(err)
	}
	tier.HoldDays = nil
	if err := w.st.UpdateTier(w.ctx, tier); err != nil {
		t.Fatal(err)
	}
	w.conversions(p.ID, 30, 1000, 1000, 1000) // 100, 200, 200; re-rated 600
	w.closeAt(marchClose, 1)
	adj := w.adjustments(p.ID)
	if len(adj) != 1 || adj[0].Amount.Amount != 100 || adj[0].ProgramID != "prg_partner" || adj[0].ReferrerID != "rfr_partner" ||
		!adj[0].AvailableAt.Equal(time.Date(2026, 5, 1, 0, 0, 0, 0, time.UTC)) {
		t.Fatalf("adjustments = %+v, want +100 for the program and referrer, held the program's 30 days", adj)
	}
}

func net(cs []commission.Commission) int64 {
	var n int64
	for _, c := range cs {
		n += c.Amount.Amount
	}
	return n
}
