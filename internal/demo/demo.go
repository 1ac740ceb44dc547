// Package demo fills an organization with realistic data: several programs,
// a few hundred referrers, and their clicks, referrals and conversions
// spread over the last 90 days, so the product can be explored at once.
package demo

import (
	"context"
	"fmt"
	"math/rand/v2"
	"strings"
	"time"

	"github.com/partnerloop/partnerloop/internal/app"
	"github.com/partnerloop/partnerloop/internal/domain"
	"github.com/partnerloop/partnerloop/internal/store"
)

var (
	firstNames = []string{"Ava", "Ben", "Chloe", "Dev", "Elena", "Finn", "Grace", "Hiro", "Isla", "Jonas", "Kira", "Liam",
		"Maya", "Noah", "Olga", "Priya", "Quinn", "Rosa", "Sam", "Tara", "Umar", "Vera", "Wen", "Yusuf", "Zoe"}
	lastNames = []string{"Alvarez", "Brooks", "Chen", "Dubois", "Evans", "Fischer", "Garcia", "Haddad", "Ito", "Jensen",
		"Kowalski", "Lopez", "Mensah", "Novak", "Okafor", "Patel", "Rossi", "Silva", "Tanaka", "Weber"}
	domains = []string{"example.com", "example.org", "example.net", "mail.example.com", "corp.example"}
)

func i64(v int64) *int64 { return &v }

// programs are the demo programs: one of each commission rule type, and a
// paused one to show that state.
func programs(start time.Time) []domain.ProgramSpec {
	return []domain.ProgramSpec{
		{Name: "Customer referral — Pro plan", LandingURL: "https://example.com/pricing", Currency: "USD", StartsAt: start,
			AttributionWindowDays: 30, QualifyingEvents: []string{domain.EventSignup, domain.EventPurchase},
			Eligibility: domain.Eligibility{NewCustomersOnly: true},
			Commission:  domain.CommissionRule{Type: domain.RulePercentage, RateBps: i64(2000)}, HoldDays: 30},
		{Name: "Give $20, get $20", LandingURL: "https://example.com/invite?utm_source=referral", Currency: "USD", StartsAt: start,
			AttributionWindowDays: 60, QualifyingEvents: []string{domain.EventPurchase},
			Eligibility: domain.Eligibility{NewCustomersOnly: true, MinPurchaseAmount: i64(2000)},
			Commission:  domain.CommissionRule{Type: domain.RuleFlat, Amount: i64(2000)}, HoldDays: 14},
		{Name: "Agency partner programme", LandingURL: "https://example.com/agencies", Currency: "EUR", StartsAt: start,
			AttributionWindowDays: 90, QualifyingEvents: []string{domain.EventPurchase},
			Commission: domain.CommissionRule{Type: domain.RuleTiered, Basis: domain.BasisCount, Period: domain.PeriodMonth, Mode: domain.ModeMarginal,
				Tiers: []domain.Tier{{UpTo: i64(10), RateBps: i64(1000)}, {UpTo: i64(50), RateBps: i64(1500)}, {RateBps: i64(2000)}}}, HoldDays: 30},
		{Name: "Holiday 2026 campaign", LandingURL: "https://example.com/holiday", Currency: "USD", StartsAt: start,
			AttributionWindowDays: 14, QualifyingEvents: []string{domain.EventSignup},
			Commission: domain.CommissionRule{Type: domain.RuleFlat, Amount: i64(500)}, HoldDays: 0},
	}
}

// Load adds the demo data to orgID unless the organization already has
// programs. It returns how many records it wrote. Randomness is seeded, so
// every load tells the same story (relative to now).
func Load(ctx context.Context, a *app.App, orgID string, clock domain.Clock) (int, error) {
	st := a.Store
	if ps, _, err := st.ListPrograms(ctx, orgID, store.Page{Limit: 1}); err != nil {
		return 0, err
	} else if len(ps) > 0 {
		return 0, nil
	}
	rng := rand.New(rand.NewPCG(2026, 11))
	now := clock()
	start := now.AddDate(0, 0, -90).Truncate(24 * time.Hour)
	// IDs are minted at the demo's own timestamps so lists sort as if the
	// records had been created over the 90 days.
	var at time.Time
	ids := domain.NewULIDs(func() time.Time { return at })
	n := 0

	for pi, spec := range programs(start) {
		at = start.Add(time.Duration(pi) * time.Hour)
		p := domain.NewProgram(orgID, ids("prg"), spec, at)
		p.Status = domain.ProgramActive
		if pi == 3 {
			p.Status = domain.ProgramPaused
		}
		if err := st.CreateProgram(ctx, p); err != nil {
			return n, err
		}
		n++
		referrers := []int{140, 90, 50, 20}[pi]
		for ri := 0; ri < referrers; ri++ {
			at = start.Add(time.Duration(rng.Int64N(int64(60 * 24 * time.Hour))))
			first, last := firstNames[rng.IntN(len(firstNames))], lastNames[rng.IntN(len(lastNames))]
			rf := domain.Referrer{
				ID: ids("rfr"), OrgID: orgID, ProgramID: p.ID, Name: first + " " + last,
				Email: fmt.Sprintf("%s.%s.%d@%s", strings.ToLower(first), strings.ToLower(last), ri, domains[rng.IntN(len(domains))]),
				Code:  domain.GenerateCode(), CreatedAt: at,
			}
			if err := st.CreateReferrer(ctx, rf); err != nil {
				return n, err
			}
			n++
			w, err := activity(ctx, st, p, rf, rng, ids, &at, now)
			n += w
			if err != nil {
				return n, err
			}
		}
	}
	return n, nil
}

// activity writes one referrer's clicks, referrals and conversions. Activity
// is skewed: a few referrers bring most of the traffic, as in real programs.
func activity(ctx context.Context, st store.Store, p domain.Program, rf domain.Referrer, rng *rand.Rand, ids domain.IDs, at *time.Time, now time.Time) (int, error) {
	n := 0
	clicks := int(rng.ExpFloat64() * 8)
	for c := 0; c < clicks; c++ {
		*at = rf.CreatedAt.Add(time.Duration(rng.Int64N(int64(now.Sub(rf.CreatedAt)))))
		counted, err := st.RecordClick(ctx, domain.Click{
			ID: ids("clk"), OrgID: rf.OrgID, ProgramID: p.ID, ReferrerID: rf.ID, Code: rf.Code,
			VisitorHash: fmt.Sprintf("demo-%s-%d", rf.ID, c), RefererHost: []string{"", "twitter.com", "linkedin.com", "news.example"}[rng.IntN(4)], At: *at,
		}, store.ClickLimits{Window: time.Hour})
		if err != nil {
			return n, err
		}
		if counted {
			n++
		}
		if rng.IntN(3) != 0 {
			continue
		}
		// About a third of clicks become referred contacts.
		first, last := firstNames[rng.IntN(len(firstNames))], lastNames[rng.IntN(len(lastNames))]
		*at = at.Add(time.Duration(rng.Int64N(int64(2 * time.Hour))))
		if at.After(now) {
			continue
		}
		ref := domain.Referral{
			ID: ids("ref"), OrgID: rf.OrgID, ProgramID: p.ID, ReferrerID: rf.ID, Name: first + " " + last,
			Email:  fmt.Sprintf("%s.%s+%s%d@%s", strings.ToLower(first), strings.ToLower(last), strings.ToLower(rf.Code), c, domains[rng.IntN(len(domains))]),
			Status: domain.ReferralPending, CreatedAt: *at,
		}
		if rng.IntN(25) == 0 {
			ref.Status, ref.Reason = domain.ReferralIneligible, domain.ReasonExistingCustomer
		}
		if err := st.CreateReferral(ctx, ref); err != nil {
			return n, err
		}
		n++
		if ref.Status != domain.ReferralPending || rng.IntN(5) >= 2 {
			continue
		}
		// Two in five eligible referrals convert within the window.
		occurred := ref.CreatedAt.Add(time.Duration(rng.Int64N(int64(time.Duration(p.AttributionWindowDays) * 24 * time.Hour / 3))))
		if occurred.After(now) {
			continue
		}
		*at = occurred
		event := p.QualifyingEvents[len(p.QualifyingEvents)-1]
		conv := domain.Conversion{
			ID: ids("cnv"), OrgID: rf.OrgID, ReferralID: ref.ID, ProgramID: p.ID, ReferrerID: rf.ID, Event: event,
			ExternalID: "demo-order-" + ref.ID, OccurredAt: occurred, CreatedAt: occurred,
			RefundedAmount: domain.Money{Currency: p.Currency},
		}
		if event == domain.EventPurchase {
			conv.Amount = &domain.Money{Amount: 2900 + rng.Int64N(40)*500, Currency: p.Currency}
		}
		if err := st.RecordConversion(ctx, conv, nil); err != nil {
			return n, err
		}
		n++
	}
	return n, nil
}
