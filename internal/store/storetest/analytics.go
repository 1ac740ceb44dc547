package storetest

import (
	"context"
	"fmt"
	"math/rand/v2"
	"sort"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/partnerloop/partnerloop/internal/analytics"
	"github.com/partnerloop/partnerloop/internal/commission"
	"github.com/partnerloop/partnerloop/internal/domain"
	"github.com/partnerloop/partnerloop/internal/store"
)

// AnalyticsStore is a store that keeps analytics rollups, with the ledger
// and deals they count.
type AnalyticsStore interface {
	store.Store
	store.Ledger
	store.Deals
	store.Analytics
}

// AnalyticsOptions tune the analytics suite to an adapter.
type AnalyticsOptions struct {
	// Events is how many random operations the randomized test makes.
	Events int
	// Lose, when set, makes the adapter's feed skip one change it has not
	// read yet (a lost delivery), for the heal test; it returns false when
	// it could not.
	Lose func(t *testing.T, s AnalyticsStore) bool
}

// RunAnalytics runs the conformance suite of store.Analytics: every figure
// of ANALYTICS.md read through analytics.Service must equal an independent
// recount of the records, after any interleaving of writes and rollups.
func RunAnalytics(t *testing.T, newStore func(t *testing.T) AnalyticsStore, opt AnalyticsOptions) {
	t.Helper()
	if opt.Events <= 0 {
		opt.Events = 2000
	}
	tests := []struct {
		name string
		run  func(t *testing.T, w *world)
	}{
		{"HandCounted", testHandCounted},
		{"ZonesAndBuckets", testZonesAndBuckets},
		{"TimeZoneChangeRebuckets", testTimeZoneChange},
		{"ClicksAroundARebuildCountOnce", testClicksAroundARebuild},
		{"Randomized", func(t *testing.T, w *world) { testRandomized(t, w, opt.Events) }},
		{"HealsALostChange", func(t *testing.T, w *world) { testHeal(t, w, opt.Lose) }},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			s := newStore(t)
			tc.run(t, newWorld(t, s))
		})
	}
}

// world is one subtest's store with the analytics service and rollup job,
// and builders of the records analytics count.
type world struct {
	*fixture
	s    AnalyticsStore
	svc  *analytics.Service
	job  *analytics.Rollup
	now  time.Time // the service's "now" (reports default to it)
	rand *rand.Rand
	mu   sync.Mutex
}

func newWorld(t *testing.T, s AnalyticsStore) *world {
	w := &world{fixture: newFixture(t, s, nil), s: s, rand: rand.New(rand.NewPCG(7, 11))}
	w.now = time.Date(2026, 12, 1, 12, 0, 0, 0, time.UTC)
	w.svc = analytics.NewService(s, func() time.Time { return w.now })
	w.job = &analytics.Rollup{Store: s, Now: func() time.Time { return w.now }, Batch: 97, HealEvery: -1}
	return w
}

// roll runs the rollup job until the feed is read to its end and no
// rebuild is pending.
func (w *world) roll(t *testing.T) {
	t.Helper()
	for i := 0; i < 200; i++ {
		st, err := w.job.RunOnce(w.ctx)
		if err != nil {
			t.Fatalf("rollup: %v", err)
		}
		pending, err := w.s.PendingRebuilds(w.ctx)
		if err != nil {
			t.Fatalf("PendingRebuilds: %v", err)
		}
		if st.CaughtUp && st.Changes == 0 && len(pending) == 0 {
			return
		}
	}
	t.Fatal("the rollup never caught up")
}

func (w *world) org(t *testing.T, zone string) domain.Organization {
	t.Helper()
	o := domain.Organization{ID: w.id("org"), Name: "Org " + zone, TimeZone: zone, CreatedAt: w.tick()}
	must(t, w.s.CreateOrganization(w.ctx, o), "CreateOrganization")
	return o
}

func (w *world) program(t *testing.T, orgID, currency string) domain.Program {
	t.Helper()
	p := w.newProgram(orgID)
	p.Currency = currency
	p.StartsAt = time.Date(2025, 1, 1, 0, 0, 0, 0, time.UTC)
	p.EndsAt = nil
	must(t, w.s.CreateProgram(w.ctx, p), "CreateProgram")
	return p
}

func (w *world) tier(t *testing.T, orgID string) domain.PartnerTier {
	t.Helper()
	return w.mustTier(t, orgID)
}

func (w *world) partner(t *testing.T, orgID, tierID string) domain.Partner {
	t.Helper()
	return w.mustPartner(t, orgID, tierID, fmt.Sprintf("p%d", w.serial()))
}

func (w *world) referrer(t *testing.T, orgID, programID, partnerID string) domain.Referrer {
	t.Helper()
	n := w.serial()
	r := domain.Referrer{
		ID: w.id("rfr"), OrgID: orgID, ProgramID: programID, Email: w.email(fmt.Sprintf("r%d", n)),
		Name: fmt.Sprintf("Referrer %d", n), PartnerID: partnerID, Code: w.code(fmt.Sprintf("C%dX", n)), CreatedAt: w.tick(),
	}
	must(t, w.s.CreateReferrer(w.ctx, r), "CreateReferrer")
	return r
}

func (w *world) click(t *testing.T, r domain.Referrer, at time.Time) {
	t.Helper()
	c := domain.Click{ID: w.id("clk"), OrgID: r.OrgID, ProgramID: r.ProgramID, ReferrerID: r.ID, PartnerID: r.PartnerID,
		Code: r.Code, VisitorHash: w.hash(fmt.Sprintf("v%d", w.serial())), At: at}
	counted, err := w.s.RecordClick(w.ctx, c, store.ClickLimits{Window: time.Hour})
	must(t, err, "RecordClick")
	if !counted {
		t.Fatal("a new visitor's click was not counted")
	}
}

func (w *world) referral(t *testing.T, r domain.Referrer, at time.Time, status string) domain.Referral {
	t.Helper()
	n := w.serial()
	ref := domain.Referral{ID: w.id("ref"), OrgID: r.OrgID, ProgramID: r.ProgramID, ReferrerID: r.ID, PartnerID: r.PartnerID,
		Email: w.email(fmt.Sprintf("friend%d", n)), Name: fmt.Sprintf("Friend %d", n), Status: status, CreatedAt: at}
	if status == domain.ReferralIneligible {
		ref.Reason = domain.ReasonSelfReferral
	}
	must(t, w.s.CreateReferral(w.ctx, ref), "CreateReferral")
	return ref
}

// conversion records a conversion of ref; amount 0 is one without a value.
func (w *world) conversion(t *testing.T, ref domain.Referral, currency string, amount int64, at time.Time) domain.Conversion {
	t.Helper()
	c := domain.Conversion{ID: w.id("cnv"), OrgID: ref.OrgID, ReferralID: ref.ID, ProgramID: ref.ProgramID,
		ReferrerID: ref.ReferrerID, PartnerID: ref.PartnerID, Event: domain.EventSignup,
		ExternalID: fmt.Sprintf("ext-%d", w.serial()), OccurredAt: at, RefundedAmount: domain.Money{Currency: currency}, CreatedAt: w.tick()}
	if amount > 0 {
		c.Event = domain.EventPurchase
		c.Amount = &domain.Money{Amount: amount, Currency: currency}
	}
	must(t, w.s.RecordConversion(w.ctx, c, nil), "RecordConversion")
	return c
}

func (w *world) refund(t *testing.T, c domain.Conversion, amount int64) {
	t.Helper()
	cur, err := w.s.GetConversion(w.ctx, c.OrgID, c.ID)
	must(t, err, "GetConversion")
	must(t, w.s.ApplyLedgerChange(w.ctx, store.LedgerChange{OrgID: c.OrgID, Refund: &store.RefundChange{
		ConversionID: c.ID, From: cur.RefundedAmount.Amount, To: cur.RefundedAmount.Amount + amount, At: w.tick()}}), "ApplyLedgerChange(refund)")
}

// entry records a pending ledger entry of a conversion (or of a deal when
// conv is zero and deal is set).
func (w *world) entry(t *testing.T, orgID, programID, referrerID, partnerID, source string, kind commission.Kind, amount domain.Money, at time.Time) commission.Commission {
	t.Helper()
	now := w.tick()
	if now.Before(at) {
		now = at
	}
	c := commission.Commission{ID: fmt.Sprintf("com_%s%d", w.tag, w.serial()), OrgID: orgID, Kind: kind, ProgramID: programID,
		ReferrerID: referrerID, PartnerID: partnerID, Amount: amount, Status: commission.StatusPending,
		AvailableAt: at, OccurredAt: at, CreatedAt: now, UpdatedAt: now, OriginalAmount: amount.Amount}
	if strings.HasPrefix(source, "dea_") {
		c.DealID = source
	} else if source != "" {
		c.ConversionID = source
	}
	must(t, w.s.ApplyLedgerChange(w.ctx, store.LedgerChange{OrgID: orgID, Created: []commission.Commission{c},
		Audit: []commission.AuditEntry{{CommissionID: c.ID, To: commission.StatusPending, Actor: "system", At: now}}}), "ApplyLedgerChange(create)")
	return c
}

func (w *world) move(t *testing.T, orgID, id string, to commission.Status) {
	t.Helper()
	c, err := w.s.GetCommission(w.ctx, orgID, id)
	must(t, err, "GetCommission")
	from := c.Status
	c.Status = to
	c.UpdatedAt = w.tick()
	must(t, w.s.ApplyLedgerChange(w.ctx, store.LedgerChange{OrgID: orgID, Updated: []commission.Commission{c},
		Audit: []commission.AuditEntry{{CommissionID: c.ID, From: from, To: to, Actor: "usr_admin", At: c.UpdatedAt}}}), "ApplyLedgerChange(move)")
}

func (w *world) deal(t *testing.T, orgID, partnerID string, value domain.Money, at time.Time) domain.Deal {
	t.Helper()
	src := domain.DealSourcePartner
	if partnerID == "" {
		src = domain.DealSourceDirect
	}
	until := at.Add(90 * 24 * time.Hour)
	d := domain.Deal{ID: w.id("dea"), OrgID: orgID, PartnerID: partnerID, Source: src, CreatedBy: "usr_x",
		CustomerName: "Customer", CustomerDomain: fmt.Sprintf("c%d-%s.example.com", w.serial(), w.tag), Value: value,
		Status: domain.DealRegistered, CreatedAt: at, UpdatedAt: at}
	if partnerID != "" {
		d.ExclusiveUntil = &until
	}
	must(t, w.s.CreateDeal(w.ctx, d), "CreateDeal")
	return d
}

func (w *world) closeDeal(t *testing.T, orgID, id string, status domain.DealStatus, at time.Time, wonValue *domain.Money) {
	t.Helper()
	d, err := w.s.GetDeal(w.ctx, orgID, id)
	must(t, err, "GetDeal")
	d.Status, d.ClosedAt, d.WonValue, d.UpdatedAt = status, &at, wonValue, at
	must(t, w.s.UpdateDeal(w.ctx, d), "UpdateDeal")
}

func (w *world) setZone(t *testing.T, orgID, zone string) {
	t.Helper()
	o, err := w.s.GetOrganization(w.ctx, orgID)
	must(t, err, "GetOrganization")
	o.TimeZone = zone
	must(t, w.s.UpdateOrganization(w.ctx, o), "UpdateOrganization")
}

func usd(n int64) domain.Money { return domain.Money{Amount: n, Currency: "USD"} }

func at(zone, local string) time.Time {
	loc, err := time.LoadLocation(zone)
	if err != nil {
		panic(err)
	}
	t, err := time.ParseInLocation("2006-01-02 15:04", local, loc)
	if err != nil {
		panic(err)
	}
	return t.UTC()
}

func moneyString(ms []domain.Money) string {
	var parts []string
	for _, m := range ms {
		parts = append(parts, fmt.Sprintf("%d %s", m.Amount, m.Currency))
	}
	return "[" + strings.Join(parts, ", ") + "]"
}

// testHandCounted checks each definition of ANALYTICS.md on a small world
// counted by hand.
func testHandCounted(t *testing.T, w *world) {
	const zone = "America/New_York"
	org := w.org(t, zone)
	other := w.org(t, "UTC") // its records must never show
	prog := w.program(t, org.ID, "USD")
	prog2 := w.program(t, org.ID, "USD")
	gold := w.tier(t, org.ID)
	silver := w.tier(t, org.ID)
	acme := w.partner(t, org.ID, gold.ID)
	beta := w.partner(t, org.ID, silver.ID)
	jane := w.referrer(t, org.ID, prog.ID, "")         // a customer referrer
	agent := w.referrer(t, org.ID, prog.ID, acme.ID)   // acme's link in prog
	agent2 := w.referrer(t, org.ID, prog2.ID, beta.ID) // beta's link in prog2

	day := func(d, hm string) time.Time { return at(zone, "2026-03-"+d+" "+hm) }
	// Clicks: 3 for jane (one late on the 2nd: still the 2nd in New York,
	// the 3rd in UTC), 2 for agent, 1 for agent2 outside the range.
	w.click(t, jane, day("02", "09:00"))
	w.click(t, jane, day("02", "23:30"))
	w.click(t, jane, day("03", "10:00"))
	w.click(t, agent, day("02", "11:00"))
	w.click(t, agent, day("04", "11:00"))
	w.click(t, agent2, day("09", "11:00"))
	// Referrals: 4 in range (one ineligible: still submitted), 1 after.
	r1 := w.referral(t, jane, day("02", "10:00"), domain.ReferralPending)
	w.referral(t, jane, day("03", "10:00"), domain.ReferralIneligible)
	r3 := w.referral(t, agent, day("03", "12:00"), domain.ReferralPending)
	w.referral(t, agent, day("04", "12:00"), domain.ReferralPending)
	r5 := w.referral(t, agent2, day("10", "12:00"), domain.ReferralPending)
	// Conversions: r1 buys 100.00 on the 3rd (refunded 30.00 later), r3
	// buys 250.00 on the 4th, r5 converts on the 3rd (backdated before its
	// referral: it lands in the 3rd's bucket) with a signup of no value.
	c1 := w.conversion(t, r1, "USD", 10000, day("03", "15:00"))
	c3 := w.conversion(t, r3, "USD", 25000, day("04", "15:00"))
	w.conversion(t, r5, "USD", 0, day("03", "16:00"))
	w.refund(t, c1, 3000)
	// Ledger: c1's commission 10.00 paid then a clawback of −3.00; c3's
	// 25.00 approved; a rejected one of 5.00 and a reversed one of 7.00.
	e1 := w.entry(t, org.ID, prog.ID, jane.ID, "", c1.ID, commission.KindCommission, usd(1000), c1.OccurredAt)
	w.move(t, org.ID, e1.ID, commission.StatusApproved)
	w.move(t, org.ID, e1.ID, commission.StatusPaid)
	w.entry(t, org.ID, prog.ID, jane.ID, "", c1.ID, commission.KindClawback, usd(-300), c1.OccurredAt)
	e3 := w.entry(t, org.ID, prog.ID, agent.ID, acme.ID, c3.ID, commission.KindCommission, usd(2500), c3.OccurredAt)
	w.move(t, org.ID, e3.ID, commission.StatusApproved)
	ex := w.entry(t, org.ID, prog.ID, agent.ID, acme.ID, c3.ID+"x", commission.KindCommission, usd(500), c3.OccurredAt)
	w.move(t, org.ID, ex.ID, commission.StatusRejected)
	ey := w.entry(t, org.ID, prog.ID, jane.ID, "", c1.ID+"y", commission.KindCommission, usd(700), c1.OccurredAt)
	w.move(t, org.ID, ey.ID, commission.StatusReversed)
	// Deals: acme registers two (one won at 12,000.00 with a final value of
	// 10,000.00), beta one lost; a direct deal never counts.
	d1 := w.deal(t, org.ID, acme.ID, usd(1200000), day("02", "08:00"))
	w.deal(t, org.ID, acme.ID, usd(50000), day("03", "08:00"))
	d3 := w.deal(t, org.ID, beta.ID, usd(70000), day("04", "08:00"))
	dd := w.deal(t, org.ID, "", usd(99999), day("02", "08:00"))
	w.closeDeal(t, org.ID, d1.ID, domain.DealWon, day("04", "17:00"), &domain.Money{Amount: 1000000, Currency: "USD"})
	w.closeDeal(t, org.ID, d3.ID, domain.DealLost, day("04", "17:00"), nil)
	w.closeDeal(t, org.ID, dd.ID, domain.DealWon, day("04", "17:00"), nil)
	// The deal's commission, at the deal's won time.
	w.entry(t, org.ID, "", "", acme.ID, d1.ID, commission.KindCommission, usd(100000), day("04", "17:00"))
	// Another organization's activity on the same days.
	op := w.program(t, other.ID, "USD")
	oref := w.referrer(t, other.ID, op.ID, "")
	w.click(t, oref, day("02", "12:00"))
	w.referral(t, oref, day("02", "12:00"), domain.ReferralPending)
	w.roll(t)

	q := analytics.Query{From: "2026-03-02", To: "2026-03-04"}
	s, err := w.svc.Summary(w.ctx, org.ID, q, true)
	must(t, err, "Summary")
	check := func(what string, got, want any) {
		t.Helper()
		if fmt.Sprint(got) != fmt.Sprint(want) {
			t.Errorf("%s = %v, want %v", what, got, want)
		}
	}
	check("clicks", s.Clicks, 5)
	check("totalReferrals", s.TotalReferrals, 4)
	check("convertedReferrals", s.ConvertedReferrals, 2) // r1, r3 (r5 is outside the range)
	check("conversionRate", s.ConversionRate, 0.5)
	check("conversions", s.Conversions, 3) // c1, c3, and r5's signup dated the 3rd
	check("revenue", moneyString(s.Revenue), "[32000 USD]")
	check("commission", moneyString(s.Commission), "[103200 USD]") // 1000 − 300 + 2500 + 100000
	check("accrued.pending", moneyString(s.CommissionAccrued.Pending), "[99700 USD]")
	check("accrued.approved", moneyString(s.CommissionAccrued.Approved), "[2500 USD]")
	check("accrued.paid", moneyString(s.CommissionAccrued.Paid), "[1000 USD]")
	check("accrued.reversed", moneyString(s.CommissionAccrued.Reversed), "[700 USD]")
	check("partner.dealsRegistered", s.PartnerContribution.DealsRegistered, 3)
	check("partner.dealCount", s.PartnerContribution.DealCount, 1)
	check("partner.dealValue", moneyString(s.PartnerContribution.DealValue), "[1000000 USD]")
	check("partner.conversions", s.PartnerContribution.Conversions, 2) // c3 and r5's signup
	check("partner.revenue", moneyString(s.PartnerContribution.Revenue), "[25000 USD]")
	check("epc", moneyString(s.EPC), "[6400 USD]") // 32000 / 5
	check("timeZone", s.TimeZone, zone)
	check("from", s.From, "2026-03-02")
	check("to", s.To, "2026-03-04")
	if s.Previous == nil {
		t.Fatal("compare=previous gave no previous period")
	}
	check("previous.from", s.Previous.From, "2026-02-27")
	check("previous.to", s.Previous.To, "2026-03-01")
	check("previous.clicks", s.Previous.Clicks, 0)
	if s.AsOf.IsZero() {
		t.Error("asOf is zero")
	}

	// A program leaves deals out; a tier selects its partners today.
	s, err = w.svc.Summary(w.ctx, org.ID, analytics.Query{From: "2026-03-02", To: "2026-03-04", Filter: analytics.Filter{ProgramID: prog.ID}}, false)
	must(t, err, "Summary(program)")
	check("program: clicks", s.Clicks, 5)
	check("program: dealsRegistered", s.PartnerContribution.DealsRegistered, 0)
	check("program: commission", moneyString(s.Commission), "[3200 USD]")
	s, err = w.svc.Summary(w.ctx, org.ID, analytics.Query{From: "2026-03-02", To: "2026-03-10", Filter: analytics.Filter{PartnerTierID: silver.ID}}, false)
	must(t, err, "Summary(tier)")
	check("silver: clicks", s.Clicks, 1)
	check("silver: referrals", s.TotalReferrals, 1)
	check("silver: dealsRegistered", s.PartnerContribution.DealsRegistered, 1)
	check("silver: dealCount", s.PartnerContribution.DealCount, 0)
	moved := acme
	moved.TierID = silver.ID
	got, err := w.s.GetPartner(w.ctx, org.ID, acme.ID)
	must(t, err, "GetPartner")
	moved.Revision = got.Revision
	must(t, w.s.UpdatePartner(w.ctx, moved), "UpdatePartner")
	s, err = w.svc.Summary(w.ctx, org.ID, analytics.Query{From: "2026-03-02", To: "2026-03-10", Filter: analytics.Filter{PartnerTierID: silver.ID}}, false)
	must(t, err, "Summary(tier after move)")
	check("silver after acme moved in: clicks", s.Clicks, 3)
	check("silver after acme moved in: dealCount", s.PartnerContribution.DealCount, 1)

	// Time series: one point per day, empty days as zeros, starts with the
	// zone's offset.
	series, err := w.svc.Timeseries(w.ctx, org.ID, analytics.Query{From: "2026-03-01", To: "2026-03-04"}, analytics.IntervalDay)
	must(t, err, "Timeseries")
	var pts []string
	for _, p := range series.Points {
		pts = append(pts, fmt.Sprintf("%s c%d r%d v%d %s %s", p.Start.Format(time.RFC3339), p.Clicks, p.Referrals, p.Conversions,
			moneyString(p.Revenue), moneyString(p.Commission)))
	}
	check("series", strings.Join(pts, " | "), strings.Join([]string{
		"2026-03-01T00:00:00-05:00 c0 r0 v0 [] []",
		"2026-03-02T00:00:00-05:00 c3 r1 v0 [] []",
		"2026-03-03T00:00:00-05:00 c1 r2 v2 [7000 USD] [700 USD]",
		"2026-03-04T00:00:00-05:00 c1 r1 v1 [25000 USD] [102500 USD]",
	}, " | "))

	// Top referrers: by conversions, ties by ID; names and attributes.
	top, err := w.svc.TopReferrers(w.ctx, org.ID, analytics.Query{From: "2026-03-02", To: "2026-03-04"}, "", "", 10)
	must(t, err, "TopReferrers")
	var rows []string
	for _, r := range top.Items {
		rows = append(rows, fmt.Sprintf("%s %s c%d r%d v%d %s %s", r.Name, r.PartnerID, r.Clicks, r.Referrals, r.Conversions,
			moneyString(r.Revenue), moneyString(r.Commission)))
	}
	wantTop := []string{
		fmt.Sprintf("%s  c3 r2 v1 [7000 USD] [700 USD]", jane.Name),
		fmt.Sprintf("%s %s c2 r2 v1 [25000 USD] [2500 USD]", agent.Name, acme.ID),
		fmt.Sprintf("%s %s c0 r0 v1 [] []", agent2.Name, beta.ID),
	}
	if jane.ID > agent.ID { // ties by ID
		wantTop[0], wantTop[1] = wantTop[1], wantTop[0]
	}
	check("top referrers", strings.Join(rows, " | "), strings.Join(wantTop, " | "))

	// Partners: a row per partner, deals included.
	ps, err := w.svc.Partners(w.ctx, org.ID, analytics.Query{From: "2026-03-02", To: "2026-03-04"}, analytics.ByClicks, "", 10)
	must(t, err, "Partners")
	rows = nil
	for _, r := range ps.Items {
		rows = append(rows, fmt.Sprintf("%s c%d r%d v%d %s reg%d won%d %s %s epc%s", r.PartnerID, r.Clicks, r.Referrals, r.Conversions,
			moneyString(r.Revenue), r.DealsRegistered, r.DealCount, moneyString(r.DealValue), moneyString(r.Commission), moneyString(r.EPC)))
	}
	check("partners", strings.Join(rows, " | "), strings.Join([]string{
		fmt.Sprintf("%s c2 r2 v1 [25000 USD] reg2 won1 [1000000 USD] [102500 USD] epc[12500 USD]", acme.ID),
		fmt.Sprintf("%s c0 r0 v1 [] reg1 won0 [] [] epc[]", beta.ID),
	}, " | "))

	// The partner's own view: its commission per click.
	ps2, err := w.svc.PortalSummary(w.ctx, org.ID, acme.ID, analytics.PortalQuery{From: "2026-03-02", To: "2026-03-04"}, false)
	must(t, err, "PortalSummary")
	check("portal: clicks", ps2.Clicks, 2)
	check("portal: commission", moneyString(ps2.Commission), "[102500 USD]")
	check("portal: epc", moneyString(ps2.EPC), "[51250 USD]")

	// Unknown or another organization's IDs are not found.
	for _, f := range []analytics.Filter{{ProgramID: op.ID}, {ReferrerID: oref.ID}, {PartnerID: "prt_nope"}, {PartnerTierID: "tir_nope"}} {
		if _, err := w.svc.Summary(w.ctx, org.ID, analytics.Query{Filter: f}, false); !isKind(err, domain.KindNotFound) {
			t.Errorf("Summary(%+v) = %v, want not found", f, err)
		}
	}
	// The other organization sees only its own.
	s, err = w.svc.Summary(w.ctx, other.ID, q, false)
	must(t, err, "Summary(other)")
	check("other org: clicks", s.Clicks, 1)
	check("other org: referrals", s.TotalReferrals, 1)
}

func isKind(err error, k domain.Kind) bool {
	e, ok := domain.AsError(err)
	return ok && e.Kind == k
}

// testZonesAndBuckets checks DST days (23 and 25 hours), weeks starting
// Monday and month ends in a zone west of UTC and one at +5:30.
func testZonesAndBuckets(t *testing.T, w *world) {
	const ny = "America/New_York"
	org := w.org(t, ny)
	prog := w.program(t, org.ID, "USD")
	r := w.referrer(t, org.ID, prog.ID, "")
	// 2026-03-08 is 23 hours long in New York, 2026-11-01 25 hours.
	for _, local := range []string{"2026-03-08 00:00", "2026-03-08 01:59", "2026-03-08 03:00", "2026-03-08 23:59",
		"2026-11-01 00:00", "2026-11-01 01:30", "2026-11-01 23:59", "2026-03-09 00:00", "2026-10-31 23:59"} {
		w.click(t, r, at(ny, local))
	}
	// The second 01:30 of 2026-11-01 (EST) is still the 1st.
	w.click(t, r, time.Date(2026, 11, 1, 6, 30, 0, 0, time.UTC))
	// Month ends: the last minute of January, the first of February.
	w.click(t, r, at(ny, "2026-01-31 23:59"))
	w.click(t, r, at(ny, "2026-02-01 00:00"))
	w.roll(t)

	series, err := w.svc.Timeseries(w.ctx, org.ID, analytics.Query{From: "2026-03-07", To: "2026-03-09"}, analytics.IntervalDay)
	must(t, err, "Timeseries(March)")
	var got []string
	for _, p := range series.Points {
		got = append(got, fmt.Sprintf("%s=%d", p.Start.Format(time.RFC3339), p.Clicks))
	}
	want := "2026-03-07T00:00:00-05:00=0 2026-03-08T00:00:00-05:00=4 2026-03-09T00:00:00-04:00=1"
	if strings.Join(got, " ") != want {
		t.Errorf("March DST series = %s, want %s", strings.Join(got, " "), want)
	}
	series, err = w.svc.Timeseries(w.ctx, org.ID, analytics.Query{From: "2026-10-31", To: "2026-11-02"}, analytics.IntervalDay)
	must(t, err, "Timeseries(November)")
	got = nil
	for _, p := range series.Points {
		got = append(got, fmt.Sprintf("%s=%d", p.Start.Format(time.RFC3339), p.Clicks))
	}
	want = "2026-10-31T00:00:00-04:00=1 2026-11-01T00:00:00-04:00=4 2026-11-02T00:00:00-05:00=0"
	if strings.Join(got, " ") != want {
		t.Errorf("November DST series = %s, want %s", strings.Join(got, " "), want)
	}
	// Weeks start on Monday: 2026-03-02 and 2026-03-09 are Mondays; a
	// range from Saturday the 7th counts only its own days in the first
	// week, whose point starts on Monday the 2nd.
	series, err = w.svc.Timeseries(w.ctx, org.ID, analytics.Query{From: "2026-03-07", To: "2026-03-10"}, analytics.IntervalWeek)
	must(t, err, "Timeseries(week)")
	got = nil
	for _, p := range series.Points {
		got = append(got, fmt.Sprintf("%s=%d", p.Start.Format(time.RFC3339), p.Clicks))
	}
	want = "2026-03-02T00:00:00-05:00=4 2026-03-09T00:00:00-04:00=1"
	if strings.Join(got, " ") != want {
		t.Errorf("weekly series = %s, want %s", strings.Join(got, " "), want)
	}
	// Months: January's last minute is January's.
	series, err = w.svc.Timeseries(w.ctx, org.ID, analytics.Query{From: "2026-01-01", To: "2026-03-31"}, analytics.IntervalMonth)
	must(t, err, "Timeseries(month)")
	got = nil
	for _, p := range series.Points {
		got = append(got, fmt.Sprintf("%s=%d", p.Start.Format(time.RFC3339), p.Clicks))
	}
	want = "2026-01-01T00:00:00-05:00=1 2026-02-01T00:00:00-05:00=1 2026-03-01T00:00:00-05:00=5"
	if strings.Join(got, " ") != want {
		t.Errorf("monthly series = %s, want %s", strings.Join(got, " "), want)
	}
	// A summary over whole months and partial ones at once.
	s, err := w.svc.Summary(w.ctx, org.ID, analytics.Query{From: "2026-01-31", To: "2026-11-01"}, false)
	must(t, err, "Summary")
	if s.Clicks != 12 {
		t.Errorf("clicks 2026-01-31..2026-11-01 = %d, want 12", s.Clicks)
	}
	s, err = w.svc.Summary(w.ctx, org.ID, analytics.Query{From: "2026-02-01", To: "2026-10-31"}, false)
	must(t, err, "Summary")
	if s.Clicks != 7 {
		t.Errorf("clicks 2026-02-01..2026-10-31 = %d, want 7", s.Clicks)
	}

	// India: +05:30 all year; 18:29 UTC is 23:59 the same day, 18:30 UTC
	// midnight of the next.
	in := w.org(t, "Asia/Kolkata")
	p2 := w.program(t, in.ID, "INR")
	r2 := w.referrer(t, in.ID, p2.ID, "")
	w.click(t, r2, time.Date(2026, 5, 1, 18, 29, 0, 0, time.UTC))
	w.click(t, r2, time.Date(2026, 5, 1, 18, 30, 0, 0, time.UTC))
	w.roll(t)
	series, err = w.svc.Timeseries(w.ctx, in.ID, analytics.Query{From: "2026-05-01", To: "2026-05-02"}, analytics.IntervalDay)
	must(t, err, "Timeseries(Kolkata)")
	got = nil
	for _, p := range series.Points {
		got = append(got, fmt.Sprintf("%s=%d", p.Start.Format(time.RFC3339), p.Clicks))
	}
	want = "2026-05-01T00:00:00+05:30=1 2026-05-02T00:00:00+05:30=1"
	if strings.Join(got, " ") != want {
		t.Errorf("Kolkata series = %s, want %s", strings.Join(got, " "), want)
	}

	// Ranges: from after to, over three years, and unreadable dates.
	for _, q := range []analytics.Query{{From: "2026-03-02", To: "2026-03-01"}, {From: "2023-01-01", To: "2026-01-01"}} {
		if _, err := w.svc.Summary(w.ctx, org.ID, q, false); !isKind(err, domain.KindInvalid) {
			t.Errorf("Summary(%s..%s) = %v, want invalid (422)", q.From, q.To, err)
		}
	}
	if _, err := w.svc.Summary(w.ctx, org.ID, analytics.Query{From: "2026-13-01"}, false); !isKind(err, domain.KindMalformed) {
		t.Errorf("Summary(from=2026-13-01) = %v, want malformed (400)", err)
	}
}

// testTimeZoneChange: changing the zone re-buckets every record.
func testTimeZoneChange(t *testing.T, w *world) {
	org := w.org(t, "UTC")
	prog := w.program(t, org.ID, "USD")
	r := w.referrer(t, org.ID, prog.ID, "")
	w.click(t, r, time.Date(2026, 4, 2, 2, 0, 0, 0, time.UTC)) // the 1st in Los Angeles
	w.click(t, r, time.Date(2026, 4, 2, 9, 0, 0, 0, time.UTC))
	w.roll(t)
	day := func(d string) int64 {
		s, err := w.svc.Summary(w.ctx, org.ID, analytics.Query{From: d, To: d}, false)
		must(t, err, "Summary")
		return s.Clicks
	}
	if a, b := day("2026-04-01"), day("2026-04-02"); a != 0 || b != 2 {
		t.Fatalf("in UTC: 1st %d, 2nd %d clicks; want 0 and 2", a, b)
	}
	w.setZone(t, org.ID, "America/Los_Angeles")
	w.roll(t)
	if a, b := day("2026-04-01"), day("2026-04-02"); a != 1 || b != 1 {
		t.Fatalf("in Los Angeles: 1st %d, 2nd %d clicks; want 1 and 1", a, b)
	}
	s, err := w.svc.Summary(w.ctx, org.ID, analytics.Query{From: "2026-04-01", To: "2026-04-01"}, false)
	must(t, err, "Summary")
	if s.TimeZone != "America/Los_Angeles" {
		t.Errorf("timeZone = %q after the change", s.TimeZone)
	}
	// Changes after the rebuild count in the new zone.
	w.click(t, r, time.Date(2026, 4, 2, 3, 0, 0, 0, time.UTC))
	w.roll(t)
	if a := day("2026-04-01"); a != 2 {
		t.Fatalf("a click after the change: 1st has %d clicks, want 2", a)
	}
}

// testClicksAroundARebuild: clicks the feed has not read yet when an
// organization's cells are rebuilt (its time zone changed), and clicks
// after the rebuild, are each counted exactly once.
func testClicksAroundARebuild(t *testing.T, w *world) {
	org := w.org(t, "UTC")
	prog := w.program(t, org.ID, "USD")
	r := w.referrer(t, org.ID, prog.ID, "")
	start := time.Date(2026, 5, 4, 12, 0, 0, 0, time.UTC)
	n := 0
	clicks := func(k int) {
		t.Helper()
		for range k {
			w.click(t, r, start.Add(time.Duration(n)*time.Minute))
			n++
		}
	}
	want := func(when string) {
		t.Helper()
		s, err := w.svc.Summary(w.ctx, org.ID, analytics.Query{From: "2026-05-01", To: "2026-05-31"}, false)
		must(t, err, "Summary")
		if s.Clicks != int64(n) {
			t.Fatalf("%s: %d clicks, want %d", when, s.Clicks, n)
		}
	}
	clicks(3)
	w.roll(t)
	want("rolled up")
	clicks(4) // not read by the feed when the next run rebuilds
	w.setZone(t, org.ID, "Europe/Paris")
	w.roll(t)
	want("after a rebuild with clicks the feed had not read")
	clicks(2)
	w.roll(t)
	want("after clicks after the rebuild")
	clicks(5)
	w.setZone(t, org.ID, "UTC")
	clicks(1)
	w.roll(t)
	want("after a second rebuild among clicks")
}

// --- the randomized test --------------------------------------------------

// randomWorld is the randomized test's organization and its records.
type randomWorld struct {
	org       domain.Organization
	programs  []domain.Program
	tiers     []domain.PartnerTier
	partners  []domain.Partner
	referrers []domain.Referrer
	referrals []domain.Referral
	convs     []domain.Conversion
	entries   []string
	deals     []string
}

// testRandomized writes thousands of random records — backdated
// conversions, refunds, ledger status changes, deals won after the fact,
// a time zone change — while two rollup jobs run at once, then compares
// every report with a recount of the records.
func testRandomized(t *testing.T, w *world, events int) {
	worlds := []*randomWorld{w.randomSetup(t, "America/New_York"), w.randomSetup(t, "Asia/Kolkata")}
	ctx, cancel := context.WithCancel(w.ctx)
	var wg sync.WaitGroup
	errs := make(chan error, 2)
	for i := 0; i < 2; i++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			job := &analytics.Rollup{Store: w.s, Now: func() time.Time { return w.now }, Batch: 50 + 37*i, HealEvery: -1}
			for ctx.Err() == nil {
				if _, err := job.RunOnce(ctx); err != nil && ctx.Err() == nil {
					errs <- err
					return
				}
				time.Sleep(time.Duration(5+rand.IntN(20)) * time.Millisecond) // goroutine-safe global source
			}
		}()
	}
	for i := 0; i < events; i++ {
		rw := worlds[w.rand.IntN(len(worlds))]
		w.randomEvent(t, rw)
		if i == events/2 {
			w.setZone(t, worlds[0].org.ID, "Europe/Berlin") // re-buckets the history mid-way
		}
	}
	cancel()
	wg.Wait()
	close(errs)
	for err := range errs {
		t.Fatalf("a concurrent rollup failed: %v", err)
	}
	w.roll(t)
	for _, rw := range worlds {
		w.compareWithRecount(t, rw)
	}
}

func (w *world) randomSetup(t *testing.T, zone string) *randomWorld {
	rw := &randomWorld{org: w.org(t, zone)}
	rw.programs = []domain.Program{w.program(t, rw.org.ID, "USD"), w.program(t, rw.org.ID, "EUR"), w.program(t, rw.org.ID, "USD")}
	rw.tiers = []domain.PartnerTier{w.tier(t, rw.org.ID), w.tier(t, rw.org.ID), w.tier(t, rw.org.ID)} // the last stays empty
	for i := 0; i < 4; i++ {
		rw.partners = append(rw.partners, w.partner(t, rw.org.ID, rw.tiers[i%2].ID))
	}
	for i := 0; i < 14; i++ {
		partner := ""
		if i%2 == 1 {
			partner = rw.partners[i%len(rw.partners)].ID
		}
		rw.referrers = append(rw.referrers, w.referrer(t, rw.org.ID, rw.programs[i%len(rw.programs)].ID, partner))
	}
	return rw
}

// randomTime is in one of two windows around the 2026 DST changes, each
// spanning whole months.
func (w *world) randomTime() time.Time {
	base := time.Date(2026, 2, 20, 0, 0, 0, 0, time.UTC)
	if w.rand.IntN(2) == 0 {
		base = time.Date(2026, 9, 25, 0, 0, 0, 0, time.UTC)
	}
	return base.Add(time.Duration(w.rand.Int64N(int64(55 * 24 * time.Hour))))
}

func (w *world) programOf(rw *randomWorld, id string) domain.Program {
	for _, p := range rw.programs {
		if p.ID == id {
			return p
		}
	}
	panic("no program " + id)
}

func (w *world) randomEvent(t *testing.T, rw *randomWorld) {
	t.Helper()
	org := rw.org.ID
	ref := rw.referrers[w.rand.IntN(len(rw.referrers))]
	switch n := w.rand.IntN(100); {
	case n < 45:
		w.click(t, ref, w.randomTime())
	case n < 60:
		status := domain.ReferralPending
		if w.rand.IntN(8) == 0 {
			status = domain.ReferralIneligible
		}
		rw.referrals = append(rw.referrals, w.referral(t, ref, w.randomTime(), status))
	case n < 72:
		if len(rw.referrals) == 0 {
			return
		}
		r := rw.referrals[w.rand.IntN(len(rw.referrals))]
		if r.Status == domain.ReferralIneligible {
			return
		}
		amount := int64(0)
		if w.rand.IntN(4) > 0 {
			amount = 100 + w.rand.Int64N(500000)
		}
		c := w.conversion(t, r, w.programOf(rw, r.ProgramID).Currency, amount, w.randomTime())
		rw.convs = append(rw.convs, c)
		// Most conversions earn a commission, for the referrer or its partner.
		if w.rand.IntN(5) > 0 && amount > 0 {
			e := w.entry(t, org, c.ProgramID, c.ReferrerID, c.PartnerID, c.ID, commission.KindCommission,
				domain.Money{Amount: amount / 10, Currency: c.Amount.Currency}, c.OccurredAt)
			rw.entries = append(rw.entries, e.ID)
		}
	case n < 78:
		if len(rw.convs) == 0 {
			return
		}
		c := rw.convs[w.rand.IntN(len(rw.convs))]
		cur, err := w.s.GetConversion(w.ctx, org, c.ID)
		must(t, err, "GetConversion")
		if cur.Amount == nil || cur.RefundedAmount.Amount >= cur.Amount.Amount {
			return
		}
		w.refund(t, c, 1+w.rand.Int64N(cur.Amount.Amount-cur.RefundedAmount.Amount))
		if w.rand.IntN(2) == 0 {
			e := w.entry(t, org, c.ProgramID, c.ReferrerID, c.PartnerID, c.ID, commission.KindClawback,
				domain.Money{Amount: -1 - w.rand.Int64N(1000), Currency: c.Amount.Currency}, c.OccurredAt)
			rw.entries = append(rw.entries, e.ID)
		}
	case n < 90:
		if len(rw.entries) == 0 {
			return
		}
		id := rw.entries[w.rand.IntN(len(rw.entries))]
		c, err := w.s.GetCommission(w.ctx, org, id)
		must(t, err, "GetCommission")
		next := map[commission.Status][]commission.Status{
			commission.StatusPending:  {commission.StatusApproved, commission.StatusRejected, commission.StatusReversed},
			commission.StatusApproved: {commission.StatusPaid, commission.StatusReversed},
		}[c.Status]
		if len(next) > 0 {
			w.move(t, org, id, next[w.rand.IntN(len(next))])
		}
	case n < 96:
		partner := ""
		if w.rand.IntN(5) > 0 {
			partner = rw.partners[w.rand.IntN(len(rw.partners))].ID
		}
		d := w.deal(t, org, partner, domain.Money{Amount: 1000 + w.rand.Int64N(10_000_000), Currency: []string{"USD", "EUR"}[w.rand.IntN(2)]}, w.randomTime())
		rw.deals = append(rw.deals, d.ID)
	default:
		if len(rw.deals) == 0 {
			return
		}
		id := rw.deals[w.rand.IntN(len(rw.deals))]
		d, err := w.s.GetDeal(w.ctx, org, id)
		must(t, err, "GetDeal")
		if !d.Status.Open() {
			return
		}
		when := d.CreatedAt.Add(time.Duration(w.rand.Int64N(int64(20 * 24 * time.Hour))))
		switch w.rand.IntN(3) {
		case 0:
			w.closeDeal(t, org, id, domain.DealLost, when, nil)
		default:
			var won *domain.Money
			if w.rand.IntN(2) == 0 {
				won = &domain.Money{Amount: d.Value.Amount / 2, Currency: d.Value.Currency}
			}
			w.closeDeal(t, org, id, domain.DealWon, when, won)
			if d.PartnerID != "" && w.rand.IntN(2) == 0 {
				e := w.entry(t, org, "", "", d.PartnerID, d.ID, commission.KindCommission, domain.Money{Amount: 5000, Currency: d.Value.Currency}, when)
				rw.entries = append(rw.entries, e.ID)
			}
		}
	}
}

// --- the recount ----------------------------------------------------------

// records are an organization's records as the store lists them.
type records struct {
	clicks    []domain.Click
	referrals []domain.Referral
	convs     []domain.Conversion
	deals     []domain.Deal
	entries   []commission.Commission
	referrers map[string]domain.Referrer
	partners  map[string]domain.Partner
}

func (w *world) records(t *testing.T, rw *randomWorld) records {
	org := rw.org.ID
	r := records{referrers: map[string]domain.Referrer{}, partners: map[string]domain.Partner{}}
	r.clicks = listAll(t, "ListClicks", store.MaxLimit, func(p store.Page) ([]domain.Click, string, error) { return w.s.ListClicks(w.ctx, org, "", p) })
	r.referrals = listAll(t, "ListReferrals", store.MaxLimit, func(p store.Page) ([]domain.Referral, string, error) {
		return w.s.ListReferrals(w.ctx, org, store.ReferralFilter{}, p)
	})
	r.convs = listAll(t, "ListConversions", store.MaxLimit, func(p store.Page) ([]domain.Conversion, string, error) {
		return w.s.ListConversions(w.ctx, org, store.ConversionFilter{}, p)
	})
	r.deals = listAll(t, "ListDeals", store.MaxLimit, func(p store.Page) ([]domain.Deal, string, error) {
		return w.s.ListDeals(w.ctx, org, store.DealFilter{}, p)
	})
	r.entries = listAll(t, "ListCommissions", store.MaxLimit, func(p store.Page) ([]commission.Commission, string, error) {
		return w.s.ListCommissions(w.ctx, org, store.CommissionFilter{}, p)
	})
	for _, ref := range rw.referrers {
		r.referrers[ref.ID] = ref
	}
	for _, p := range listAll(t, "ListPartners", store.MaxLimit, func(p store.Page) ([]domain.Partner, string, error) {
		return w.s.ListPartners(w.ctx, org, store.PartnerFilter{}, p)
	}) {
		r.partners[p.ID] = p
	}
	return r
}

// recount is the oracle: the figures of ANALYTICS.md counted record by
// record, written without the rollup's code.
type recount struct {
	clicks, referrals, converted, conversions, partnerConversions, dealsRegistered, dealsWon int64
	money                                                                                    map[string]map[string]int64 // figure → currency → amount
}

func (rc *recount) addMoney(figure, currency string, amount int64) {
	if rc.money[figure] == nil {
		rc.money[figure] = map[string]int64{}
	}
	rc.money[figure][currency] += amount
}

func (rc *recount) list(figure string) string {
	var out []domain.Money
	for cur, v := range rc.money[figure] {
		if v != 0 {
			out = append(out, domain.Money{Amount: v, Currency: cur})
		}
	}
	sort.Slice(out, func(i, j int) bool { return out[i].Currency < out[j].Currency })
	return moneyString(out)
}

// match says whether a record attributed to program, referrer and partner
// passes the filter; tierPartners are the partners of the tier filter.
func match(f analytics.Filter, tierPartners map[string]bool, program, referrer, partner string) bool {
	if f.ProgramID != "" && program != f.ProgramID {
		return false
	}
	if f.ReferrerID != "" && referrer != f.ReferrerID {
		return false
	}
	if f.PartnerID != "" && partner != f.PartnerID {
		return false
	}
	if f.PartnerTierID != "" && !tierPartners[partner] {
		return false
	}
	return true
}

func (w *world) count(recs records, loc *time.Location, from, to analytics.Date, f analytics.Filter) *recount {
	tier := map[string]bool{}
	for id, p := range recs.partners {
		if p.TierID == f.PartnerTierID {
			tier[id] = true
		}
	}
	in := func(t time.Time) bool {
		d := analytics.DateOf(t, loc)
		return !d.Before(from) && !d.After(to)
	}
	rc := &recount{money: map[string]map[string]int64{}}
	for _, c := range recs.clicks {
		if in(c.At) && match(f, tier, c.ProgramID, c.ReferrerID, recs.referrers[c.ReferrerID].PartnerID) {
			rc.clicks++
		}
	}
	for _, r := range recs.referrals {
		if in(r.CreatedAt) && match(f, tier, r.ProgramID, r.ReferrerID, r.PartnerID) {
			rc.referrals++
			if r.Status == domain.ReferralConverted {
				rc.converted++
			}
		}
	}
	for _, c := range recs.convs {
		if !in(c.OccurredAt) || !match(f, tier, c.ProgramID, c.ReferrerID, c.PartnerID) {
			continue
		}
		rc.conversions++
		if c.PartnerID != "" {
			rc.partnerConversions++
		}
		if c.Amount != nil {
			rc.addMoney("revenue", c.Amount.Currency, c.Amount.Amount-c.RefundedAmount.Amount)
			if c.PartnerID != "" {
				rc.addMoney("partnerRevenue", c.Amount.Currency, c.Amount.Amount-c.RefundedAmount.Amount)
			}
		}
	}
	for _, d := range recs.deals {
		if d.Source != domain.DealSourcePartner || f.ProgramID != "" || f.ReferrerID != "" || !match(f, tier, "", "", d.PartnerID) {
			continue
		}
		if in(d.CreatedAt) {
			rc.dealsRegistered++
		}
		if d.Status == domain.DealWon && in(*d.ClosedAt) {
			rc.dealsWon++
			v := d.Value
			if d.WonValue != nil {
				v = *d.WonValue
			}
			rc.addMoney("dealValue", v.Currency, v.Amount)
		}
	}
	for _, e := range recs.entries {
		if !in(e.OccurredAt) || !match(f, tier, e.ProgramID, e.ReferrerID, e.PartnerID) {
			continue
		}
		if e.Status != commission.StatusRejected && e.Status != commission.StatusReversed {
			rc.addMoney("commission", e.Amount.Currency, e.Amount.Amount)
		}
		if e.Status != commission.StatusRejected {
			rc.addMoney(string(e.Status), e.Amount.Currency, e.Amount.Amount)
		}
	}
	return rc
}

// compareWithRecount asks the service for every report over many ranges
// and filters and compares each figure with the recount.
func (w *world) compareWithRecount(t *testing.T, rw *randomWorld) {
	t.Helper()
	org, err := w.s.GetOrganization(w.ctx, rw.org.ID)
	must(t, err, "GetOrganization")
	loc, err := time.LoadLocation(org.Zone())
	must(t, err, "LoadLocation")
	recs := w.records(t, rw)
	if len(recs.clicks) == 0 || len(recs.entries) == 0 {
		t.Fatalf("the random world of %s is too small: %d clicks, %d entries", org.ID, len(recs.clicks), len(recs.entries))
	}
	filters := []analytics.Filter{{}}
	for _, p := range rw.programs {
		filters = append(filters, analytics.Filter{ProgramID: p.ID})
	}
	for _, p := range rw.partners[:2] {
		filters = append(filters, analytics.Filter{PartnerID: p.ID}, analytics.Filter{PartnerID: p.ID, ProgramID: rw.programs[1].ID})
	}
	for _, tr := range rw.tiers {
		filters = append(filters, analytics.Filter{PartnerTierID: tr.ID}, analytics.Filter{PartnerTierID: tr.ID, ProgramID: rw.programs[0].ID})
	}
	for _, r := range rw.referrers[:3] {
		filters = append(filters, analytics.Filter{ReferrerID: r.ID})
	}
	ranges := [][2]string{{"2026-02-20", "2026-04-20"}, {"2026-03-01", "2026-03-31"}, {"2026-03-08", "2026-03-08"},
		{"2026-02-27", "2026-04-02"}, {"2026-09-25", "2026-11-19"}, {"2026-11-01", "2026-11-01"}, {"2026-01-01", "2026-12-31"}}
	for i := 0; i < 6; i++ {
		a := w.randomTime()
		b := a.Add(time.Duration(w.rand.Int64N(int64(40 * 24 * time.Hour))))
		ranges = append(ranges, [2]string{analytics.DateOf(a, loc).String(), analytics.DateOf(b, loc).String()})
	}
	checked := 0
	for _, rg := range ranges {
		from, to := analytics.MustDate(rg[0]), analytics.MustDate(rg[1])
		for _, f := range filters {
			want := w.count(recs, loc, from, to, f)
			got, err := w.svc.Summary(w.ctx, org.ID, analytics.Query{From: rg[0], To: rg[1], Filter: f}, false)
			must(t, err, "Summary")
			what := fmt.Sprintf("%s %s..%s %+v", org.ID, rg[0], rg[1], f)
			pairs := []struct {
				name      string
				got, want any
			}{
				{"clicks", got.Clicks, want.clicks},
				{"totalReferrals", got.TotalReferrals, want.referrals},
				{"convertedReferrals", got.ConvertedReferrals, want.converted},
				{"conversionRate", got.ConversionRate, analytics.Rate(want.converted, want.referrals)},
				{"conversions", got.Conversions, want.conversions},
				{"revenue", moneyString(got.Revenue), want.list("revenue")},
				{"commission", moneyString(got.Commission), want.list("commission")},
				{"pending", moneyString(got.CommissionAccrued.Pending), want.list("pending")},
				{"approved", moneyString(got.CommissionAccrued.Approved), want.list("approved")},
				{"paid", moneyString(got.CommissionAccrued.Paid), want.list("paid")},
				{"reversed", moneyString(got.CommissionAccrued.Reversed), want.list("reversed")},
				{"dealsRegistered", got.PartnerContribution.DealsRegistered, want.dealsRegistered},
				{"dealCount", got.PartnerContribution.DealCount, want.dealsWon},
				{"dealValue", moneyString(got.PartnerContribution.DealValue), want.list("dealValue")},
				{"partner conversions", got.PartnerContribution.Conversions, want.partnerConversions},
				{"partner revenue", moneyString(got.PartnerContribution.Revenue), want.list("partnerRevenue")},
			}
			for _, p := range pairs {
				if fmt.Sprint(p.got) != fmt.Sprint(p.want) {
					t.Errorf("%s: %s = %v, recount %v", what, p.name, p.got, p.want)
				}
				checked++
			}
		}
		// The daily series adds up to the recount of each day.
		series, err := w.svc.Timeseries(w.ctx, org.ID, analytics.Query{From: rg[0], To: rg[1]}, analytics.IntervalDay)
		must(t, err, "Timeseries")
		if len(series.Points) != from.DaysUntil(to)+1 {
			t.Fatalf("%s..%s: %d daily points, want %d", rg[0], rg[1], len(series.Points), from.DaysUntil(to)+1)
		}
		for i, p := range series.Points {
			d := from.AddDays(i)
			want := w.count(recs, loc, d, d, analytics.Filter{})
			if !p.Start.Equal(d.Start(loc)) || p.Clicks != want.clicks || p.Referrals != want.referrals || p.Conversions != want.conversions ||
				moneyString(p.Revenue) != want.list("revenue") || moneyString(p.Commission) != want.list("commission") {
				t.Errorf("%s point %s: %s c%d r%d v%d %s %s; recount c%d r%d v%d %s %s", org.ID, d, p.Start.Format(time.RFC3339),
					p.Clicks, p.Referrals, p.Conversions, moneyString(p.Revenue), moneyString(p.Commission),
					want.clicks, want.referrals, want.conversions, want.list("revenue"), want.list("commission"))
			}
			checked++
		}
		// Weekly and monthly series add up to the range's total.
		for _, iv := range []string{analytics.IntervalWeek, analytics.IntervalMonth} {
			series, err := w.svc.Timeseries(w.ctx, org.ID, analytics.Query{From: rg[0], To: rg[1]}, iv)
			must(t, err, "Timeseries("+iv+")")
			var clicks int64
			for _, p := range series.Points {
				clicks += p.Clicks
				pd := analytics.DateOf(p.Start, loc)
				bucketFrom, bucketTo := pd, pd.AddDays(6)
				if iv == analytics.IntervalMonth {
					bucketTo = pd.MonthEnd()
				}
				if bucketFrom.Before(from) {
					bucketFrom = from
				}
				if bucketTo.After(to) {
					bucketTo = to
				}
				if want := w.count(recs, loc, bucketFrom, bucketTo, analytics.Filter{}); p.Clicks != want.clicks {
					t.Errorf("%s %s point %s: %d clicks, recount %d", org.ID, iv, p.Start.Format(time.RFC3339), p.Clicks, want.clicks)
				}
			}
			if want := w.count(recs, loc, from, to, analytics.Filter{}); clicks != want.clicks {
				t.Errorf("%s %s series over %s..%s: %d clicks, recount %d", org.ID, iv, rg[0], rg[1], clicks, want.clicks)
			}
		}
		// Top referrers and partners, row by row.
		top, err := w.svc.TopReferrers(w.ctx, org.ID, analytics.Query{From: rg[0], To: rg[1]}, analytics.ByClicks, "", 200)
		must(t, err, "TopReferrers")
		for i, row := range top.Items {
			want := w.count(recs, loc, from, to, analytics.Filter{ReferrerID: row.ReferrerID})
			if row.Clicks != want.clicks || row.Referrals != want.referrals || row.Conversions != want.conversions ||
				moneyString(row.Revenue) != want.list("revenue") || moneyString(row.Commission) != want.list("commission") {
				t.Errorf("%s top referrer %s over %s..%s differs from the recount", org.ID, row.ReferrerID, rg[0], rg[1])
			}
			if i > 0 {
				prev := top.Items[i-1]
				if prev.Clicks < row.Clicks || (prev.Clicks == row.Clicks && prev.ReferrerID > row.ReferrerID) {
					t.Errorf("top referrers out of order at %d", i)
				}
			}
			checked++
		}
		ps, err := w.svc.Partners(w.ctx, org.ID, analytics.Query{From: rg[0], To: rg[1]}, analytics.ByConversions, "", 200)
		must(t, err, "Partners")
		if len(ps.Items) != len(recs.partners) {
			t.Errorf("%d partner rows, want one per partner (%d)", len(ps.Items), len(recs.partners))
		}
		for _, row := range ps.Items {
			want := w.count(recs, loc, from, to, analytics.Filter{PartnerID: row.PartnerID})
			if row.Clicks != want.clicks || row.Conversions != want.conversions || row.DealsRegistered != want.dealsRegistered ||
				row.DealCount != want.dealsWon || moneyString(row.DealValue) != want.list("dealValue") ||
				moneyString(row.Revenue) != want.list("revenue") || moneyString(row.Commission) != want.list("commission") {
				t.Errorf("%s partner %s over %s..%s differs from the recount", org.ID, row.PartnerID, rg[0], rg[1])
			}
			checked++
		}
	}
	t.Logf("%s (%s): %d clicks, %d referrals, %d conversions, %d deals, %d ledger entries; %d figures equal the recount",
		org.ID, org.Zone(), len(recs.clicks), len(recs.referrals), len(recs.convs), len(recs.deals), len(recs.entries), checked)
}

// testHeal: a change the feed lost is healed by recounting recent days.
func testHeal(t *testing.T, w *world, lose func(t *testing.T, s AnalyticsStore) bool) {
	if lose == nil {
		t.Fatal("the adapter gives no way to lose a change (AnalyticsOptions.Lose)")
	}
	// Records here are created "now" as in the product: their IDs (ULIDs of
	// the fixture's clock) carry the time they count at.
	w.now = time.Date(2026, 6, 10, 12, 0, 0, 0, time.UTC)
	w.mu.Lock()
	w.fixture.mu.Lock()
	w.fixture.now = w.now.Add(-2 * time.Hour)
	w.fixture.mu.Unlock()
	w.mu.Unlock()
	org := w.org(t, "Europe/Paris")
	prog := w.program(t, org.ID, "EUR")
	r := w.referrer(t, org.ID, prog.ID, "")
	w.click(t, r, w.now.Add(-time.Hour))
	w.roll(t)
	w.click(t, r, w.now.Add(-30*time.Minute)) // lost
	if !lose(t, w.s) {
		t.Fatal("could not lose a change")
	}
	w.click(t, r, w.now.Add(-20*time.Minute))
	w.roll(t)
	day := analytics.DateOf(w.now, time.UTC).String()
	s, err := w.svc.Summary(w.ctx, org.ID, analytics.Query{From: day, To: day}, false)
	must(t, err, "Summary")
	if s.Clicks != 2 {
		t.Fatalf("after losing a change: %d clicks, want 2 (the lost one missing)", s.Clicks)
	}
	n, err := w.job.Heal(w.ctx, org.ID, w.now, 2)
	must(t, err, "Heal")
	if n == 0 {
		t.Error("the heal corrected no cell")
	}
	s, err = w.svc.Summary(w.ctx, org.ID, analytics.Query{From: day, To: day}, false)
	must(t, err, "Summary")
	if s.Clicks != 3 {
		t.Errorf("after the heal: %d clicks, want 3", s.Clicks)
	}
	m, err := w.svc.Summary(w.ctx, org.ID, analytics.Query{From: "2026-06-01", To: "2026-06-30"}, false)
	must(t, err, "Summary(month)")
	if m.Clicks != 3 {
		t.Errorf("after the heal, June (a month cell): %d clicks, want 3", m.Clicks)
	}
	// A second heal finds nothing more to correct.
	if n, err := w.job.Heal(w.ctx, org.ID, w.now, 2); err != nil || n != 0 {
		t.Errorf("second heal: %d cells corrected, %v; want 0", n, err)
	}
}
