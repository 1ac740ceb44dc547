package demo

import (
	"context"
	"fmt"
	"strings"
	"time"

	"github.com/partnerloop/partnerloop/internal/domain"
	"github.com/partnerloop/partnerloop/internal/tracking"
)

// The customers' journey, through the tracking service as the
// organization's site and backend drive it: clicks on referral links,
// referred contacts, their signups and purchases, refunds.

// day brings day i's clicks (each link's share of the day's traffic, and
// any viral burst) and the nightly deal-expiry sweep, then schedules the
// next day.
func (w *world) day(i int) func(context.Context) error {
	return func(ctx context.Context) error {
		d := w.dayAt(i, 0)
		for _, l := range w.links {
			weight := l.weightAt(d)
			if weight == 0 || !l.enrolled || !l.prog.p.Live(d) {
				continue
			}
			for range poisson(w.perClick*weight*w.factors[i], w.rng) {
				w.click(l, clockTime(d, w.rng), 1, l.referer)
			}
		}
		for _, s := range w.spikes {
			if i < s.day || i >= s.day+spikeDays {
				continue
			}
			if l := w.spikeLink(s); l != nil && l.enrolled {
				for range poisson(s.clicks[i-s.day], w.rng) {
					w.click(l, clockTime(d, w.rng), spikeConversion, s.referer)
				}
			}
		}
		w.sim.at(d.Add(time.Hour), func(ctx context.Context) error {
			_, err := w.app.Deals.ExpireDue(ctx, w.org)
			return err
		})
		if i < year {
			w.sim.at(w.dayAt(i+1, 0), w.day(i+1))
		}
		return nil
	}
}

func (w *world) spikeLink(s spike) *link {
	for _, l := range w.links {
		if (s.code != "" && l.code == s.code) || (s.code == "" && l.spikeSeed) {
			return l
		}
	}
	return nil
}

// click follows the link as a visitor would. A counted click sometimes
// brings a repeat visit (not counted) and sometimes a referred contact.
func (w *world) click(l *link, at time.Time, conversion float64, referer string) {
	v := tracking.Visitor{
		Addr:      fmt.Sprintf("%d.%d.%d.%d", 11+w.rng.IntN(200), w.rng.IntN(256), w.rng.IntN(256), 1+w.rng.IntN(254)),
		UserAgent: userAgents[w.rng.IntN(len(userAgents))], Referer: referer,
	}
	w.sim.at(at, func(ctx context.Context) error {
		red, err := w.app.Tracking.Follow(ctx, l.ref.Code, v, true)
		if err != nil {
			return fmt.Errorf("demo: click on %s: %w", l.ref.Code, err)
		}
		if !red.Counted {
			return nil
		}
		w.res.Clicks++
		if w.rng.Float64() < repeatVisits {
			w.sim.at(at.Add(between(time.Minute, 40*time.Minute, w.rng)), func(ctx context.Context) error {
				if !l.prog.p.Live(w.sim.now) {
					return nil
				}
				_, err := w.app.Tracking.Follow(ctx, l.ref.Code, v, true) // within the hour: not counted again
				return err
			})
		}
		if w.rng.Float64() < l.prog.plan.referralRate*conversion {
			w.sim.at(at.Add(time.Minute+expDuration(40*time.Minute, w.rng)), func(ctx context.Context) error {
				return w.referral(ctx, l)
			})
		}
		return nil
	})
}

// referral is a contact the organization's backend reports: mostly new
// people, now and then the referrer themselves or an existing customer
// (ineligible, as the program's rules decide). Its conversions are planned
// at once; a contact that never converts and whose attribution window has
// run out by the present is recorded as expired.
func (w *world) referral(ctx context.Context, l *link) error {
	p := l.prog
	if !p.p.Live(w.sim.now) {
		return nil // the campaign ended before the contact was submitted
	}
	w.contacts++
	first, last := firstNames[w.rng.IntN(len(firstNames))], lastNames[w.rng.IntN(len(lastNames))]
	name := first + " " + last
	email := fmt.Sprintf("%s.%s.%d@%s", strings.ToLower(first), strings.ToLower(last), w.contacts, mailDomains[w.rng.IntN(len(mailDomains))])
	fresh := true
	switch x := w.rng.Float64(); {
	case x < 0.025:
		at := strings.IndexByte(l.ref.Email, '@')
		email, name, fresh = fmt.Sprintf("%s+friend%d%s", l.ref.Email[:at], w.contacts, l.ref.Email[at:]), l.ref.Name, false
	case x < 0.05 && p.p.Eligibility.NewCustomersOnly:
		if c, ok := w.existingCustomer(p.plan.key); ok {
			email, name, fresh = c.email, c.name, false
		}
	}
	var conversions []planned
	if fresh {
		conversions = w.funnel(p, w.sim.now)
	}
	window := w.sim.now.AddDate(0, 0, p.p.AttributionWindowDays)
	switch {
	case fresh && len(conversions) == 0 && window.Before(w.end):
		return w.expired(ctx, l, name, email)
	case fresh && p.plan.key == progGive && len(conversions) > 0 && w.rng.Float64() < 0.05:
		// A code typed at checkout: the conversion arrives with the code
		// and creates its referral.
		w.convert(l, domain.Referral{Email: email}, conversions[0])
		return nil
	}
	in := tracking.ReferralInput{Code: l.ref.Code, Email: email, Name: name}
	if w.rng.Float64() < 0.5 {
		in.ExternalID = fmt.Sprintf("crm-lead-%06d", w.contacts)
	}
	ref, _, err := w.app.Tracking.CreateReferral(ctx, w.org, in)
	if err != nil {
		return fmt.Errorf("demo: referral of %s: %w", email, err)
	}
	w.res.Referrals++
	w.markReferred(email, p.plan.key)
	if ref.Status != domain.ReferralPending {
		return nil
	}
	for _, c := range conversions {
		w.convert(l, ref, c)
	}
	return nil
}

// expired records a referral whose attribution window ran out without a
// conversion. The product has no job that moves pending referrals to
// expired, so the demo writes it so, as that job would leave it: the
// record the tracking service would have made, with status expired.
func (w *world) expired(ctx context.Context, l *link, name, email string) error {
	r := domain.Referral{
		ID: w.ids("ref"), OrgID: w.org, ProgramID: l.prog.p.ID, ReferrerID: l.ref.ID, PartnerID: l.ref.PartnerID,
		Email: email, Name: name, Status: domain.ReferralExpired, Reason: domain.ReasonWindowExpired, CreatedAt: w.sim.now,
		UpdatedAt: w.sim.now.AddDate(0, 0, l.prog.p.AttributionWindowDays), // when its window ran out
	}
	if err := w.app.Store.CreateReferral(ctx, r); err != nil {
		return fmt.Errorf("demo: referral of %s: %w", email, err)
	}
	w.res.Referrals++
	w.markReferred(email, l.prog.plan.key)
	return nil
}

func (w *world) markReferred(email, program string) {
	if w.referred[email] == nil {
		w.referred[email] = map[string]bool{}
	}
	w.referred[email][program] = true
}

// existingCustomer picks a contact who converted in another program and
// was never referred in this one.
func (w *world) existingCustomer(program string) (customer, bool) {
	for range 5 {
		if len(w.customers) == 0 {
			break
		}
		c := w.customers[w.rng.IntN(len(w.customers))]
		if c.program != program && !w.referred[c.email][program] {
			return c, true
		}
	}
	return customer{}, false
}

// funnel plans a new contact's conversions: a signup (where the program
// counts them) and a purchase, inside the attribution window.
func (w *world) funnel(p *program, referred time.Time) []planned {
	pp := p.plan
	window := referred.AddDate(0, 0, p.p.AttributionWindowDays)
	at := referred
	var out []planned
	if p.p.Qualifies(domain.EventSignup) {
		if w.rng.Float64() >= pp.signupRate {
			return nil
		}
		at = at.Add(10*time.Minute + expDuration(pp.delay/4, w.rng))
		if !at.Before(window) {
			return nil
		}
		out = append(out, planned{event: domain.EventSignup, at: at})
	}
	if !p.p.Qualifies(domain.EventPurchase) || w.rng.Float64() >= pp.purchaseRate {
		return out
	}
	amounts := make([]float64, len(pp.amounts))
	for i, a := range pp.amounts {
		amounts[i] = a.weight
	}
	buy := at.Add(30*time.Minute + expDuration(pp.delay, w.rng))
	if buy.Before(window) {
		out = append(out, planned{event: domain.EventPurchase, at: buy, amount: pp.amounts[pick(amounts, w.rng)].minor})
	}
	return out
}

// convert has the backend report a planned conversion — some of them days
// late, with occurredAt in the past — and runs the commission calculator
// on it as the pipeline would. A referral without an ID is a code used at
// checkout: the conversion creates it.
func (w *world) convert(l *link, ref domain.Referral, c planned) {
	recorded := c.at
	if w.rng.Float64() < backdated {
		recorded = c.at.Add(between(2*time.Hour, 6*day, w.rng))
		if !recorded.Before(w.end) {
			recorded = c.at
		}
	}
	w.sim.at(recorded, func(ctx context.Context) error {
		w.orders++
		occurred := c.at
		in := tracking.ConversionInput{ReferralID: ref.ID, Event: c.event, OccurredAt: &occurred,
			ExternalID: fmt.Sprintf("%s-%06d", map[string]string{domain.EventSignup: "acct", domain.EventPurchase: "order"}[c.event], w.orders)}
		if ref.ID == "" {
			in.Code, in.Email = l.ref.Code, ref.Email
		}
		if c.amount > 0 {
			in.Amount = &domain.MoneyInput{Amount: c.amount, Currency: l.prog.p.Currency}
		}
		conv, _, err := w.app.Tracking.RecordConversion(ctx, w.org, in)
		if err != nil {
			return fmt.Errorf("demo: %s of referral %s: %w", c.event, ref.ID, err)
		}
		w.res.Conversions++
		if ref.ID == "" {
			w.res.Referrals++
			w.markReferred(ref.Email, l.prog.plan.key)
		}
		if err := w.calc.ReconcileConversion(ctx, w.org, conv.ID); err != nil {
			return fmt.Errorf("demo: commission of %s: %w", conv.ID, err)
		}
		if ref.Name != "" {
			w.customers = append(w.customers, customer{email: ref.Email, name: ref.Name, program: l.prog.plan.key})
		}
		if c.event == domain.EventPurchase {
			w.purchases++
			if w.purchases%refundEvery == 0 {
				w.refund(conv)
			}
		}
		return nil
	})
}

// refund has a customer ask for money back: in full or in part, soon
// (the commission is reversed) or months later (it was paid: clawed back).
func (w *world) refund(conv domain.Conversion) {
	w.refunds++
	after := between(2*day, 20*day, w.rng)
	if w.refunds%3 == 1 { // the first one too, so that even a small demo has a clawback
		after = between(80*day, 120*day, w.rng)
	}
	var part *domain.MoneyInput
	if w.refunds%2 == 0 {
		a := conv.Amount.Amount * int64(25+w.rng.IntN(36)) / 100 / 100 * 100
		part = &domain.MoneyInput{Amount: max(a, 100), Currency: conv.Amount.Currency}
	}
	w.sim.at(conv.CreatedAt.Add(after), func(ctx context.Context) error {
		if _, err := w.ledger.Refund(ctx, w.org, conv.ID, part); err != nil {
			return fmt.Errorf("demo: refund of %s: %w", conv.ID, err)
		}
		w.res.Refunds++
		return w.calc.ReconcileConversion(ctx, w.org, conv.ID)
	})
}
