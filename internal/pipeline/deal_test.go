package pipeline_test

import (
	"context"
	"fmt"
	"path/filepath"
	"sync"
	"testing"
	"time"

	"github.com/partnerloop/partnerloop/internal/commission"
	"github.com/partnerloop/partnerloop/internal/deals"
	"github.com/partnerloop/partnerloop/internal/domain"
	"github.com/partnerloop/partnerloop/internal/partners"
	"github.com/partnerloop/partnerloop/internal/pipeline"
	"github.com/partnerloop/partnerloop/internal/store"
	"github.com/partnerloop/partnerloop/internal/store/sqlite"
)

// dealWorld is one organization on a fresh SQLite store with the partners
// and deals services on a fake clock, and a calculator reading the
// partners' rules.
type dealWorld struct {
	t        *testing.T
	ctx      context.Context
	st       *sqlite.Store
	now      time.Time
	partners *partners.Service
	deals    *deals.Service
	calc     *pipeline.Calculator
	org      string
	seen     int64 // outbox position already turned into messages
}

func newDealWorld(t *testing.T, rules func(st *sqlite.Store) pipeline.RuleSource) *dealWorld {
	st, err := sqlite.Open(filepath.Join(t.TempDir(), "deals.db"))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { st.Close() })
	w := &dealWorld{t: t, ctx: t.Context(), st: st, now: time.Date(2026, 3, 10, 9, 0, 0, 0, time.UTC), org: "org_1"}
	var mu sync.Mutex
	seq := 0
	ids := func(prefix string) string {
		mu.Lock()
		defer mu.Unlock()
		seq++
		return fmt.Sprintf("%s_%026d", prefix, seq)
	}
	clock := func() time.Time { return w.now }
	if err := st.CreateOrganization(w.ctx, domain.Organization{ID: w.org, Name: "Org", CreatedAt: w.now}); err != nil {
		t.Fatal(err)
	}
	w.partners = partners.New(st, clock, ids)
	w.deals = deals.New(st, clock, ids)
	w.calc = pipeline.NewCalculator(st, clock, rules(st))
	return w
}

func partnerRules(st *sqlite.Store) pipeline.RuleSource { return partners.NewRuleSource(st) }

// partner creates a partner of a new tier with the tier's rule, the
// partner's own rule (nil: none) and the tier's hold days.
func (w *dealWorld) partner(tierRule domain.CommissionRule, own *domain.CommissionRule, holdDays int) domain.Partner {
	w.t.Helper()
	tier, err := w.partners.CreateTier(w.ctx, w.org, domain.PartnerTierSpec{Name: "Gold", Commission: tierRule, HoldDays: &holdDays})
	if err != nil {
		w.t.Fatal(err)
	}
	p, err := w.partners.Create(w.ctx, w.org, domain.PartnerSpec{CompanyName: "Resell Co", ContactName: "Pat",
		Email: fmt.Sprintf("pat%d@resell.example", w.now.UnixNano()), TierID: tier.ID, Commission: own})
	if err != nil {
		w.t.Fatal(err)
	}
	return p
}

// won registers, approves and wins a deal (a direct one for partnerID "")
// on host at value, and returns it.
func (w *dealWorld) won(partnerID, host string, value, wonValue int64) domain.Deal {
	w.t.Helper()
	d, err := w.deals.Register(w.ctx, w.org, "usr_admin", deals.NewDeal{PartnerID: partnerID, CustomerName: "Customer",
		CustomerDomain: host, Value: &domain.MoneyInput{Amount: value, Currency: "USD"}})
	if err != nil {
		w.t.Fatal(err)
	}
	if _, err := w.deals.Approve(w.ctx, w.org, d.ID); err != nil {
		w.t.Fatal(err)
	}
	w.now = w.now.Add(time.Hour)
	var v *domain.MoneyInput
	if wonValue > 0 {
		v = &domain.MoneyInput{Amount: wonValue}
	}
	d, err = w.deals.Won(w.ctx, w.org, d.ID, v)
	if err != nil {
		w.t.Fatal(err)
	}
	return d
}

// wonMessages routes the outbox changes not seen yet and returns the
// deal.won messages among them.
func (w *dealWorld) wonMessages() []pipeline.Message { return w.messagesOf(pipeline.TypeDealWon) }

// messagesOf routes the outbox changes not seen yet and returns the
// messages of the type among them.
func (w *dealWorld) messagesOf(typ string) []pipeline.Message {
	w.t.Helper()
	changes, err := w.st.Changes(w.ctx, w.seen, 1000)
	if err != nil {
		w.t.Fatal(err)
	}
	var out []pipeline.Message
	for _, c := range changes {
		w.seen = c.Seq
		ms, err := pipeline.Route(c)
		if err != nil {
			w.t.Fatal(err)
		}
		for _, m := range ms {
			if m.Type == typ {
				out = append(out, m)
			}
		}
	}
	return out
}

func (w *dealWorld) handle(ms ...pipeline.Message) {
	w.t.Helper()
	for _, m := range ms {
		if err := w.calc.Handle(w.ctx, m); err != nil {
			w.t.Fatalf("Handle(%s %s): %v", m.Type, m.EntityID, err)
		}
	}
}

func (w *dealWorld) commissions(partnerID string) []commission.Commission {
	w.t.Helper()
	cs, _, err := w.st.ListCommissions(w.ctx, w.org, store.CommissionFilter{PartnerID: partnerID}, store.Page{Limit: store.MaxLimit})
	if err != nil {
		w.t.Fatal(err)
	}
	return cs
}

func flat(a int64) *domain.CommissionRule {
	return &domain.CommissionRule{Type: domain.RuleFlat, Amount: &a}
}

func percent(bps int64) domain.CommissionRule {
	return domain.CommissionRule{Type: domain.RulePercentage, RateBps: &bps}
}

func TestWonPartnerDealEarnsItsPartnersFlatRule(t *testing.T) {
	w := newDealWorld(t, partnerRules)
	p := w.partner(percent(1000), flat(50000), 30)
	d := w.won(p.ID, "acme.example", 2000000, 0)
	ms := w.wonMessages()
	if len(ms) != 1 || ms[0].EntityID != d.ID {
		t.Fatalf("deal.won messages = %+v, want one for %s", ms, d.ID)
	}
	w.handle(ms...)
	w.handle(ms...) // a duplicate delivery records nothing more
	cs := w.commissions(p.ID)
	if len(cs) != 1 {
		t.Fatalf("commissions = %+v, want one", cs)
	}
	c := cs[0]
	if c.Amount != (domain.Money{Amount: 50000, Currency: "USD"}) || c.DealID != d.ID || c.PartnerID != p.ID ||
		c.ConversionID != "" || c.Status != commission.StatusPending || c.RuleSource != commission.SourcePartner {
		t.Fatalf("commission = %+v, want 500.00 USD pending for the deal and partner by the partner's rule", c)
	}
	if want := d.ClosedAt.Add(30 * 24 * time.Hour); !c.AvailableAt.Equal(want) {
		t.Fatalf("availableAt = %s, want closedAt + 30 days = %s", c.AvailableAt, want)
	}
}

func TestWonPartnerDealEarnsItsTiersPercentageOfTheWonValue(t *testing.T) {
	w := newDealWorld(t, partnerRules)
	p := w.partner(percent(1250), nil, 0)
	d := w.won(p.ID, "acme.example", 2000000, 1234567) // won below the registered value
	w.handle(w.wonMessages()...)
	cs := w.commissions(p.ID)
	// 1234567 × 12.5 % = 154320.875 → 154321
	if len(cs) != 1 || cs[0].Amount.Amount != 154321 || cs[0].RuleSource != commission.SourceTier || !cs[0].AvailableAt.Equal(*d.ClosedAt) {
		t.Fatalf("commissions = %+v, want one of 154321 by the tier's rule, available at once", cs)
	}
}

func TestDirectDealEarnsNothing(t *testing.T) {
	w := newDealWorld(t, partnerRules)
	w.partner(percent(1000), flat(50000), 0)
	d := w.won("", "acme.example", 2000000, 0)
	ms := w.wonMessages()
	if len(ms) != 1 || ms[0].EntityID != d.ID {
		t.Fatalf("deal.won messages = %+v", ms)
	}
	w.handle(ms...)
	if cs := w.commissions(""); len(cs) != 0 {
		t.Fatalf("commissions = %+v, want none for a direct deal", cs)
	}
}

func TestPartnerWithoutRulesEarnsNothing(t *testing.T) {
	// No partner or tier rule: a deal has no program rule to fall back on.
	w := newDealWorld(t, func(*sqlite.Store) pipeline.RuleSource { return pipeline.NoPartnerRules{} })
	p := w.partner(percent(1000), nil, 0)
	w.won(p.ID, "acme.example", 2000000, 0)
	w.handle(w.wonMessages()...)
	if cs := w.commissions(p.ID); len(cs) != 0 {
		t.Fatalf("commissions = %+v, want none", cs)
	}
}

func TestTieredDealsTakeTheirSlotsOnceWhateverTheOrder(t *testing.T) {
	w := newDealWorld(t, partnerRules)
	tiered := domain.CommissionRule{Type: domain.RuleTiered, Basis: domain.BasisCount, Period: domain.PeriodMonth,
		Mode: domain.ModeMarginal, Tiers: []domain.Tier{
			{UpTo: func() *int64 { v := int64(1); return &v }(), Amount: func() *int64 { v := int64(1000); return &v }()},
			{Amount: func() *int64 { v := int64(3000); return &v }()},
		}}
	p := w.partner(tiered, nil, 0)
	a := w.won(p.ID, "a.example", 100000, 0)
	b := w.won(p.ID, "b.example", 100000, 0)
	ms := w.wonMessages()
	if len(ms) != 2 {
		t.Fatalf("deal.won messages = %+v, want two", ms)
	}
	// Reordered and repeated: b first, then a, then both again.
	w.handle(ms[1], ms[0], ms[1], ms[0])
	cs := w.commissions(p.ID)
	if len(cs) != 2 {
		t.Fatalf("commissions = %+v, want two", cs)
	}
	got := map[string]commission.Commission{}
	for _, c := range cs {
		got[c.DealID] = c
	}
	// b was processed first: it holds ordinal 1 (first tier), a ordinal 2.
	if got[b.ID].Ordinal != 1 || got[b.ID].Amount.Amount != 1000 || got[a.ID].Ordinal != 2 || got[a.ID].Amount.Amount != 3000 {
		t.Fatalf("commissions by deal = %+v, want b: ordinal 1 earning 1000, a: ordinal 2 earning 3000", got)
	}
}
