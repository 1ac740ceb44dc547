package apptest

import (
	"context"
	"fmt"
	"testing"
	"time"

	"github.com/partnerloop/partnerloop/internal/app"
	"github.com/partnerloop/partnerloop/internal/deals"
	"github.com/partnerloop/partnerloop/internal/domain"
	"github.com/partnerloop/partnerloop/internal/programs"
	"github.com/partnerloop/partnerloop/internal/tracking"
)

// Activity records programs, partners and their activity through the
// services, as the API and the redirect would, for tests of the reports
// and dashboards. Every contact and visitor it makes up is new.
type Activity struct {
	T   testing.TB
	App *app.App
	Org string
	n   int
}

func (a *Activity) next() int { a.n++; return a.n }

// Tier creates a partner tier paying 10%.
func (a *Activity) Tier(name string) domain.PartnerTier {
	a.T.Helper()
	rate := int64(1000)
	t, err := a.App.Partners.CreateTier(context.Background(), a.Org, domain.PartnerTierSpec{Name: name,
		Commission: domain.CommissionRule{Type: domain.RulePercentage, RateBps: &rate}})
	if err != nil {
		a.T.Fatal(err)
	}
	return t
}

// Partner creates a partner in tierID.
func (a *Activity) Partner(company, tierID string) domain.Partner {
	a.T.Helper()
	p, err := a.App.Partners.Create(context.Background(), a.Org, domain.PartnerSpec{CompanyName: company, ContactName: "Contact",
		Email: fmt.Sprintf("partner%d@example.com", a.next()), TierID: tierID})
	if err != nil {
		a.T.Fatal(err)
	}
	return p
}

// Program creates and activates a USD program paying 10% of purchases,
// live since startsAt, with a 30-day attribution window.
func (a *Activity) Program(name string, startsAt time.Time) domain.Program {
	a.T.Helper()
	ctx := context.Background()
	rate := int64(1000)
	p, err := a.App.Programs.Create(ctx, a.Org, domain.ProgramSpec{Name: name, LandingURL: "https://example.com/landing", Currency: "USD",
		StartsAt: startsAt, AttributionWindowDays: 30, QualifyingEvents: []string{domain.EventPurchase},
		Commission: domain.CommissionRule{Type: domain.RulePercentage, RateBps: &rate}})
	if err != nil {
		a.T.Fatal(err)
	}
	if p, err = a.App.Programs.Transition(ctx, a.Org, p.ID, domain.ProgramActive); err != nil {
		a.T.Fatal(err)
	}
	return p
}

// Referrer enrols a referrer in programID (for partnerID when set).
func (a *Activity) Referrer(programID, name, partnerID string) domain.Referrer {
	a.T.Helper()
	r, err := a.App.Programs.CreateReferrer(context.Background(), a.Org, programID, programs.ReferrerInput{
		Email: fmt.Sprintf("referrer%d@example.com", a.next()), Name: name, PartnerID: partnerID})
	if err != nil {
		a.T.Fatal(err)
	}
	return r
}

// Clicks follows code's link n times, each from another visitor.
func (a *Activity) Clicks(code string, n int) {
	a.T.Helper()
	for range n {
		i := a.next()
		red, err := a.App.Tracking.Follow(context.Background(), code, tracking.Visitor{
			Addr: fmt.Sprintf("203.0.%d.%d", i/250, i%250+1), UserAgent: "Mozilla/5.0 (test)"}, true)
		if err != nil || !red.Counted {
			a.T.Fatalf("click on %s: counted %v, %v", code, red.Counted, err)
		}
	}
}

// Referrals submits n new contacts through code.
func (a *Activity) Referrals(code string, n int) {
	a.T.Helper()
	for range n {
		if _, _, err := a.App.Tracking.CreateReferral(context.Background(), a.Org, tracking.ReferralInput{
			Code: code, Email: fmt.Sprintf("contact%d@example.net", a.next())}); err != nil {
			a.T.Fatal(err)
		}
	}
}

// Conversion records a purchase of amount (USD cents) by a new contact of
// code's at the instant at (its referral is made then too).
func (a *Activity) Conversion(code string, amount int64, at time.Time) domain.Conversion {
	a.T.Helper()
	n := a.next()
	c, _, err := a.App.Tracking.RecordConversion(context.Background(), a.Org, tracking.ConversionInput{
		Code: code, Email: fmt.Sprintf("buyer%d@example.net", n), Event: domain.EventPurchase,
		Amount: &domain.MoneyInput{Amount: amount, Currency: "USD"}, ExternalID: fmt.Sprintf("order-%d", n), OccurredAt: &at})
	if err != nil {
		a.T.Fatal(err)
	}
	return c
}

// WonDeal registers a deal of value (USD cents) for partnerID, approves it
// and marks it won at that value.
func (a *Activity) WonDeal(partnerID, customer string, value int64) domain.Deal {
	a.T.Helper()
	ctx := context.Background()
	d, err := a.App.Deals.Register(ctx, a.Org, "usr_test", deals.NewDeal{PartnerID: partnerID, CustomerName: customer,
		CustomerDomain: fmt.Sprintf("customer%d.example", a.next()), Value: &domain.MoneyInput{Amount: value, Currency: "USD"}})
	if err == nil {
		_, err = a.App.Deals.Approve(ctx, a.Org, d.ID)
	}
	if err == nil {
		d, err = a.App.Deals.Won(ctx, a.Org, d.ID, nil)
	}
	if err != nil {
		a.T.Fatal(err)
	}
	return d
}

// RollUp brings the analytics rollups of a's store up to date: what the
// one-process server's ticker does every second.
func RollUp(t testing.TB, a *app.App) {
	t.Helper()
	for range 100 {
		st, err := a.Rollup.RunOnce(context.Background())
		if err != nil {
			t.Fatalf("analytics rollup: %v", err)
		}
		if st.CaughtUp && st.Changes == 0 && st.Rebuilt == 0 {
			return
		}
	}
	t.Fatal("the analytics rollup did not catch up")
}
