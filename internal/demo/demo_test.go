package demo_test

import (
	"context"
	"net/http"
	"testing"
	"time"

	"github.com/partnerloop/partnerloop/internal/analytics"
	"github.com/partnerloop/partnerloop/internal/apptest"
	"github.com/partnerloop/partnerloop/internal/commission"
	"github.com/partnerloop/partnerloop/internal/demo"
	"github.com/partnerloop/partnerloop/internal/domain"
	"github.com/partnerloop/partnerloop/internal/store"
)

// testClicks keeps the test's year small; partners and deals do not
// shrink with it.
const testClicks = 3000

// records is everything the demo wrote, read back from the store.
type records struct {
	clicks      []domain.Click
	referrers   []domain.Referrer
	referrals   []domain.Referral
	conversions []domain.Conversion
	deals       []domain.Deal
	commissions []commission.Commission
	partners    []domain.Partner
	tiers       []domain.PartnerTier
}

func all[T any](t *testing.T, list func(store.Page) ([]T, string, error)) []T {
	t.Helper()
	var out []T
	page := store.Page{Limit: store.MaxLimit}
	for {
		items, next, err := list(page)
		if err != nil {
			t.Fatal(err)
		}
		out = append(out, items...)
		if next == "" {
			return out
		}
		page.Cursor = next
	}
}

func read(t *testing.T, e *apptest.Env) records {
	t.Helper()
	ctx, st, org := context.Background(), e.App.Store, e.OrgID
	ls := st.(store.Ledger)
	ds := st.(store.Deals)
	return records{
		clicks: all(t, func(p store.Page) ([]domain.Click, string, error) { return st.ListClicks(ctx, org, "", p) }),
		referrers: all(t, func(p store.Page) ([]domain.Referrer, string, error) {
			return st.ListReferrers(ctx, org, "", p)
		}),
		referrals: all(t, func(p store.Page) ([]domain.Referral, string, error) {
			return st.ListReferrals(ctx, org, store.ReferralFilter{}, p)
		}),
		conversions: all(t, func(p store.Page) ([]domain.Conversion, string, error) {
			return st.ListConversions(ctx, org, store.ConversionFilter{}, p)
		}),
		deals: all(t, func(p store.Page) ([]domain.Deal, string, error) {
			return ds.ListDeals(ctx, org, store.DealFilter{}, p)
		}),
		commissions: all(t, func(p store.Page) ([]commission.Commission, string, error) {
			return ls.ListCommissions(ctx, org, store.CommissionFilter{}, p)
		}),
		partners: all(t, func(p store.Page) ([]domain.Partner, string, error) {
			return st.ListPartners(ctx, org, store.PartnerFilter{}, p)
		}),
		tiers: all(t, func(p store.Page) ([]domain.PartnerTier, string, error) { return st.ListTiers(ctx, org, p) }),
	}
}

// TestLoad loads a small demo year into a fresh installation and checks
// what a person exploring it relies on: records in every status, spread
// over the whole year, analytics that equal a recount of those records,
// the demo partner's portal, and a second load that changes nothing.
func TestLoad(t *testing.T) {
	e := apptest.New(t)
	ctx := context.Background()
	now := e.Clock.Now()
	// Cells exist before the demo, so its records reach them through the
	// change feed, as live traffic does.
	e.RollUp(t)
	res, err := demo.Load(ctx, e.App, e.OrgID, demo.Options{Now: now, Clicks: testClicks})
	if err != nil {
		t.Fatal(err)
	}
	t.Logf("loaded %s", res)
	if !res.Loaded || res.PartnerPassword == "" {
		t.Fatalf("Load = %+v, want loaded with a partner password", res)
	}
	e.RollUp(t)
	r := read(t, e)

	t.Run("every status", func(t *testing.T) {
		statuses := map[string]int{}
		for _, x := range r.referrals {
			statuses["referral "+x.Status]++
		}
		for _, d := range r.deals {
			statuses["deal "+string(d.Status)]++
			statuses["deal source "+string(d.Source)]++
		}
		for _, c := range r.commissions {
			statuses["commission "+string(c.Status)]++
			statuses["entry "+string(c.Kind)]++
			if c.Status == commission.StatusPaid && c.PayoutReference == "" {
				t.Errorf("paid commission %s has no payout reference", c.ID)
			}
			if c.Status == commission.StatusRejected && c.RejectReason == "" {
				t.Errorf("rejected commission %s has no reason", c.ID)
			}
		}
		for _, c := range r.conversions {
			statuses["conversion "+c.Event]++
			switch {
			case c.Amount != nil && c.RefundedAmount.Amount == c.Amount.Amount:
				statuses["conversion refunded in full"]++
			case c.RefundedAmount.Amount > 0:
				statuses["conversion refunded in part"]++
			}
			if c.CreatedAt.Sub(c.OccurredAt) > time.Hour {
				statuses["conversion backdated"]++
			}
			if c.Amount != nil {
				statuses["conversion in "+c.Amount.Currency]++
			}
		}
		for _, x := range r.referrers {
			statuses[map[bool]string{true: "referrer of a partner", false: "referrer without partner"}[x.PartnerID != ""]]++
		}
		for _, c := range r.clicks {
			if c.PartnerID != "" {
				statuses["click of a partner"]++
			}
		}
		for _, tier := range r.tiers {
			for _, p := range r.partners {
				if p.TierID == tier.ID && len(p.Agreements) > 0 {
					statuses["tier with partners: "+tier.Name]++
				}
			}
		}
		want := []string{
			"referral pending", "referral converted", "referral expired", "referral ineligible",
			"deal registered", "deal conflict", "deal approved", "deal rejected", "deal won", "deal lost", "deal expired",
			"deal source partner", "deal source direct",
			"commission pending", "commission approved", "commission paid", "commission rejected", "commission reversed",
			"entry clawback",
			"conversion signup", "conversion purchase", "conversion refunded in full", "conversion refunded in part",
			"conversion backdated", "conversion in USD", "conversion in EUR",
			"referrer of a partner", "referrer without partner", "click of a partner",
		}
		for _, tier := range r.tiers {
			want = append(want, "tier with partners: "+tier.Name)
		}
		for _, k := range want {
			if statuses[k] == 0 {
				t.Errorf("no %s", k)
			}
		}
		t.Logf("%v", statuses)
	})

	t.Run("audit trail of a paid commission", func(t *testing.T) {
		for _, c := range r.commissions {
			if c.Status != commission.StatusPaid || c.Kind != commission.KindCommission {
				continue
			}
			trail, err := e.App.Store.(store.Ledger).ListAudit(ctx, e.OrgID, c.ID)
			if err != nil {
				t.Fatal(err)
			}
			var path []commission.Status
			for _, a := range trail {
				path = append(path, a.To)
				if a.At.Before(c.OccurredAt) || a.At.After(now) {
					t.Errorf("%s: audit at %s, outside its conversion's %s .. now", c.ID, a.At, c.OccurredAt)
				}
			}
			if len(path) != 3 || path[0] != commission.StatusPending || path[1] != commission.StatusApproved || path[2] != commission.StatusPaid {
				t.Errorf("%s: audit trail %v, want pending, approved, paid", c.ID, path)
			}
			if trail[1].At.Before(c.AvailableAt) {
				t.Errorf("%s approved at %s, before its hold ended at %s", c.ID, trail[1].At, c.AvailableAt)
			}
			return
		}
	})

	t.Run("spread over twelve months", func(t *testing.T) {
		months := map[string]map[string]bool{"clicks": {}, "referrals": {}, "conversions": {}}
		for _, c := range r.clicks {
			months["clicks"][c.At.Format("2006-01")] = true
		}
		for _, x := range r.referrals {
			months["referrals"][x.CreatedAt.Format("2006-01")] = true
		}
		for _, c := range r.conversions {
			months["conversions"][c.OccurredAt.Format("2006-01")] = true
		}
		// The year's first month is only half in the demo, and conversions
		// follow referrals by days: they need not have begun in it.
		for i := 1; i <= 12; i++ {
			m := now.AddDate(0, -i, 0).Format("2006-01")
			for what, seen := range months {
				if !seen[m] && (i < 12 || what != "conversions") {
					t.Errorf("no %s in %s", what, m)
				}
			}
		}
		for _, c := range r.clicks {
			if c.At.After(now) || c.At.Before(now.AddDate(-1, 0, -1)) {
				t.Errorf("click %s at %s, outside the year before %s", c.ID, c.At, now)
			}
		}
	})

	from, to := now.AddDate(-1, 0, -2).Format(store.DateLayout), now.Format(store.DateLayout)
	summary := func(t *testing.T, f analytics.Filter) analytics.Summary {
		t.Helper()
		s, err := e.App.Analytics.Summary(ctx, e.OrgID, analytics.Query{From: from, To: to, Filter: f}, false)
		if err != nil {
			t.Fatal(err)
		}
		return s
	}
	t.Run("analytics equal a recount", func(t *testing.T) {
		checkRecount(t, summary(t, analytics.Filter{}), recount(r, func(program, partner string) bool { return true }))
		northwind := partnerID(t, r, demo.DemoPartnerEmail)
		checkRecount(t, summary(t, analytics.Filter{PartnerID: northwind}),
			recount(r, func(_, partner string) bool { return partner == northwind }))
		var europe string
		for _, c := range r.conversions {
			if c.Amount != nil && c.Amount.Currency == "EUR" {
				europe = c.ProgramID
			}
		}
		checkRecount(t, summary(t, analytics.Filter{ProgramID: europe}),
			recount(r, func(program, _ string) bool { return program == europe }))
	})

	t.Run("the demo partner's portal", func(t *testing.T) {
		token := e.Login(t, res.PartnerEmail, res.PartnerPassword)
		got := e.Do(t, "GET", "/v1/portal/commissions?status=paid", token, nil)
		if got.Status != http.StatusOK || len(got.Items()) == 0 {
			t.Fatalf("portal commissions: %d %s, want some paid", got.Status, got.Body)
		}
		got = e.Do(t, "GET", "/v1/portal/deals", token, nil)
		if got.Status != http.StatusOK || len(got.Items()) == 0 {
			t.Fatalf("portal deals: %d %s, want some", got.Status, got.Body)
		}
	})

	t.Run("a second load changes nothing", func(t *testing.T) {
		before := summary(t, analytics.Filter{})
		again, err := demo.Load(ctx, e.App, e.OrgID, demo.Options{Now: now.Add(time.Hour), Clicks: testClicks})
		if err != nil {
			t.Fatal(err)
		}
		if again.Loaded || again.Records() != 0 {
			t.Errorf("second Load = %+v, want nothing loaded", again)
		}
		e.RollUp(t)
		after := read(t, e)
		if len(after.clicks) != len(r.clicks) || len(after.referrals) != len(r.referrals) || len(after.conversions) != len(r.conversions) ||
			len(after.deals) != len(r.deals) || len(after.commissions) != len(r.commissions) || len(after.partners) != len(r.partners) {
			t.Errorf("records changed by a second load")
		}
		if s := summary(t, analytics.Filter{}); s.Clicks != before.Clicks || s.Conversions != before.Conversions ||
			!sameMoney(s.Commission, before.Commission) {
			t.Errorf("summary changed by a second load: %+v, was %+v", s, before)
		}
	})
}

func partnerID(t *testing.T, r records, email string) string {
	t.Helper()
	for _, p := range r.partners {
		if p.Email == email {
			return p.ID
		}
	}
	t.Fatalf("no partner %s", email)
	return ""
}

// figures are the summary's figures counted by hand from the records.
type figures struct {
	clicks, referrals, converted, conversions         int64
	revenue, commission, pending, approved, paid, rev map[string]int64
	dealsRegistered, dealsWon                         int64
	dealValue, partnerRevenue                         map[string]int64
	partnerConversions                                int64
}

// recount counts every record of the year that in selects (by program and
// partner; deals have no program), as ANALYTICS.md defines the figures.
func recount(r records, in func(program, partner string) bool) figures {
	f := figures{revenue: map[string]int64{}, commission: map[string]int64{}, pending: map[string]int64{},
		approved: map[string]int64{}, paid: map[string]int64{}, rev: map[string]int64{}, dealValue: map[string]int64{},
		partnerRevenue: map[string]int64{}}
	for _, c := range r.clicks {
		if in(c.ProgramID, c.PartnerID) {
			f.clicks++
		}
	}
	for _, x := range r.referrals {
		if in(x.ProgramID, x.PartnerID) {
			f.referrals++
			if x.Status == domain.ReferralConverted {
				f.converted++
			}
		}
	}
	for _, c := range r.conversions {
		if !in(c.ProgramID, c.PartnerID) {
			continue
		}
		f.conversions++
		if c.PartnerID != "" {
			f.partnerConversions++
		}
		if c.Amount != nil {
			net := c.Amount.Amount - c.RefundedAmount.Amount
			f.revenue[c.Amount.Currency] += net
			if c.PartnerID != "" {
				f.partnerRevenue[c.Amount.Currency] += net
			}
		}
	}
	for _, c := range r.commissions {
		if !in(c.ProgramID, c.PartnerID) {
			continue
		}
		cur, amt := c.Amount.Currency, c.Amount.Amount
		switch c.Status {
		case commission.StatusPending:
			f.pending[cur] += amt
		case commission.StatusApproved:
			f.approved[cur] += amt
		case commission.StatusPaid:
			f.paid[cur] += amt
		case commission.StatusReversed:
			f.rev[cur] += amt
		}
		if c.Status != commission.StatusRejected && c.Status != commission.StatusReversed {
			f.commission[cur] += amt
		}
	}
	for _, d := range r.deals {
		if d.Source != domain.DealSourcePartner || !in("", d.PartnerID) {
			continue
		}
		f.dealsRegistered++
		if d.Status == domain.DealWon {
			f.dealsWon++
			f.dealValue[d.WonValue.Currency] += d.WonValue.Amount
		}
	}
	return f
}

// checkRecount compares a summary with the recount. Deals have no program:
// a program's summary leaves them out, so its recount is asked with "" for
// a program and must say so.
func checkRecount(t *testing.T, s analytics.Summary, f figures) {
	t.Helper()
	counts := []struct {
		name      string
		got, want int64
	}{
		{"clicks", s.Clicks, f.clicks}, {"totalReferrals", s.TotalReferrals, f.referrals},
		{"convertedReferrals", s.ConvertedReferrals, f.converted}, {"conversions", s.Conversions, f.conversions},
		{"partnerContribution.conversions", s.PartnerContribution.Conversions, f.partnerConversions},
		{"partnerContribution.dealsRegistered", s.PartnerContribution.DealsRegistered, f.dealsRegistered},
		{"partnerContribution.dealCount", s.PartnerContribution.DealCount, f.dealsWon},
	}
	for _, c := range counts {
		if c.got != c.want {
			t.Errorf("%s = %d, recount %d", c.name, c.got, c.want)
		}
	}
	money := []struct {
		name string
		got  []domain.Money
		want map[string]int64
	}{
		{"revenue", s.Revenue, f.revenue}, {"commission", s.Commission, f.commission},
		{"commissionAccrued.pending", s.CommissionAccrued.Pending, f.pending},
		{"commissionAccrued.approved", s.CommissionAccrued.Approved, f.approved},
		{"commissionAccrued.paid", s.CommissionAccrued.Paid, f.paid},
		{"commissionAccrued.reversed", s.CommissionAccrued.Reversed, f.rev},
		{"partnerContribution.dealValue", s.PartnerContribution.DealValue, f.dealValue},
		{"partnerContribution.revenue", s.PartnerContribution.Revenue, f.partnerRevenue},
	}
	for _, m := range money {
		if !sameMoney(m.got, toMoney(m.want)) {
			t.Errorf("%s = %v, recount %v", m.name, m.got, m.want)
		}
	}
	if s.Clicks == 0 || s.Conversions == 0 {
		t.Errorf("an empty summary: %+v", s)
	}
}

func toMoney(m map[string]int64) []domain.Money {
	var out []domain.Money
	for cur, v := range m {
		out = append(out, domain.Money{Amount: v, Currency: cur})
	}
	return out
}

// sameMoney compares amounts per currency, a missing currency counting as 0.
func sameMoney(a, b []domain.Money) bool {
	sum := map[string]int64{}
	for _, m := range a {
		sum[m.Currency] += m.Amount
	}
	for _, m := range b {
		sum[m.Currency] -= m.Amount
	}
	for _, v := range sum {
		if v != 0 {
			return false
		}
	}
	return true
}
