package demo

import (
	"context"
	"fmt"
	"strings"
	"time"

	"github.com/partnerloop/partnerloop/internal/deals"
	"github.com/partnerloop/partnerloop/internal/domain"
)

// Deals, through the deals service: partners (and the organization's own
// sales team) register them, the admin decides, they are won or lost or
// run out of exclusivity; a won partner deal earns its commission through
// the calculator.

// nextDeal schedules the partner's next deal registration, and registers
// it when its time comes.
func (w *world) nextDeal(p *partner, after time.Time) {
	if p.plan.dealsPerMonth <= 0 {
		return
	}
	at := workHours(after.Add(expDuration(time.Duration(float64(30*day)/p.plan.dealsPerMonth), w.rng)))
	w.sim.at(at, func(ctx context.Context) error {
		c := w.companies[w.rng.IntN(len(w.companies))]
		value := int64(300000 + 50000*w.rng.IntN(55)) // 3,000–30,000 in the deal's currency
		d, ok, err := w.registerDeal(ctx, p, c, domain.Money{Amount: value, Currency: p.plan.dealCurrency})
		if err != nil {
			return err
		}
		if ok {
			w.decide(d)
		}
		w.nextDeal(p, w.sim.now)
		return nil
	})
}

// nextDirectDeal is the same for the organization's own sales team.
func (w *world) nextDirectDeal() {
	at := workHours(w.sim.now.Add(expDuration(30*day/directDealsPerMonth, w.rng)))
	w.sim.at(at, func(ctx context.Context) error {
		c := w.companies[w.rng.IntN(len(w.companies))]
		d, ok, err := w.registerDeal(ctx, nil, c, domain.Money{Amount: int64(1000000 + 500000*w.rng.IntN(15)), Currency: "USD"})
		if err != nil {
			return err
		}
		if ok {
			w.decide(d)
		}
		w.nextDirectDeal()
		return nil
	})
}

// workHours moves t to 9:00–17:00 UTC on its day.
func workHours(t time.Time) time.Time {
	midnight := t.Truncate(day)
	return midnight.Add(9*time.Hour + t.Sub(midnight)/3)
}

// registerDeal registers a deal of p (nil: a direct deal) through the deals
// service: by the partner's portal user once it has one, else by the admin
// on its behalf. ok is false when the partner already has this customer
// open (the service refuses a duplicate registration).
func (w *world) registerDeal(ctx context.Context, p *partner, c company, value domain.Money) (domain.Deal, bool, error) {
	in := deals.NewDeal{CustomerName: c.name, CustomerDomain: c.domain,
		Value: &domain.MoneyInput{Amount: value.Amount, Currency: value.Currency}}
	closeBy := w.sim.now.AddDate(0, 0, 30+w.rng.IntN(60)).Truncate(day)
	in.ExpectedCloseDate = &closeBy
	by := w.admin.UserID
	if p != nil {
		in.PartnerID = p.p.ID
		if p.user != "" {
			by = p.user
		}
	}
	d, err := w.app.Deals.Register(ctx, w.org, by, in)
	if e, ok := domain.AsError(err); ok && e.Code == "duplicate_registration" {
		return d, false, nil
	}
	if err != nil {
		return d, false, fmt.Errorf("demo: deal with %s: %w", c.domain, err)
	}
	w.res.Deals++
	return d, true, nil
}

// decide is the admin's review of a registration a few days later:
// conflicts are approved or rejected, other registrations mostly approved,
// some rejected, a few forgotten (they expire when their exclusivity ends).
func (w *world) decide(d domain.Deal) {
	x := w.rng.Float64()
	w.sim.at(d.CreatedAt.Add(between(20*time.Hour, 6*day, w.rng)), func(ctx context.Context) error {
		var err error
		switch {
		case d.Status == domain.DealConflict && x < 0.5:
			d, err = w.app.Deals.Approve(ctx, w.org, d.ID)
			w.closeDeal(d)
		case d.Status == domain.DealConflict:
			_, err = w.app.Deals.Reject(ctx, w.org, d.ID, conflictRejection)
		case x < 0.1 && d.Source == domain.DealSourcePartner:
			return nil
		case x < 0.25 && d.Source == domain.DealSourcePartner:
			_, err = w.app.Deals.Reject(ctx, w.org, d.ID, dealRejections[w.rng.IntN(len(dealRejections))])
		default:
			d, err = w.app.Deals.Approve(ctx, w.org, d.ID)
			w.closeDeal(d)
		}
		if err != nil {
			return fmt.Errorf("demo: decide deal %s: %w", d.ID, err)
		}
		return nil
	})
}

// closeDeal ends an approved deal within its exclusivity: won (a partner's
// earns its commission through the calculator), lost, or — for some
// partner deals — left open until it expires.
func (w *world) closeDeal(d domain.Deal) {
	x := w.rng.Float64()
	won := d.Value.Amount * int64(80+w.rng.IntN(46)) / 100 / 10000 * 10000
	w.sim.at(w.sim.now.Add(between(10*day, 80*day, w.rng)), func(ctx context.Context) error {
		var err error
		switch {
		case x < 0.45:
			if d, err = w.app.Deals.Won(ctx, w.org, d.ID, &domain.MoneyInput{Amount: won, Currency: d.Value.Currency}); err == nil {
				err = w.calc.ReconcileDeal(ctx, w.org, d.ID)
			}
		case x < 0.75 || d.Source == domain.DealSourceDirect:
			_, err = w.app.Deals.Lost(ctx, w.org, d.ID)
		default:
			return nil // expires with its exclusivity
		}
		if err != nil {
			return fmt.Errorf("demo: close deal %s: %w", d.ID, err)
		}
		return nil
	})
}

// showcaseDeal is a deal the demo's partner (or a rival) surely has,
// whatever the dice say elsewhere: a win now and then over the year (the
// last one's commission still on hold), and at the present one deal in
// each open status.
type showcaseDeal struct {
	at       time.Time
	partner  string // its email
	customer string
	value    int64
	approve  time.Duration // after registration; 0: never
	won      time.Duration // after approval; 0: stays open
}

func (w *world) scheduleShowcaseDeals() {
	ago := func(days int) time.Time { return workHours(w.end.AddDate(0, 0, -days)) }
	rival := "marcus@bluebird-systems.example"
	showcase := []showcaseDeal{
		{at: w.dayAt(45, 10*time.Hour), partner: DemoPartnerEmail, customer: "Osprey Freight", value: 2450000, approve: 2 * day, won: 35 * day},
		{at: w.dayAt(130, 10*time.Hour), partner: DemoPartnerEmail, customer: "Marigold Clinics", value: 1800000, approve: day, won: 40 * day},
		{at: w.dayAt(220, 10*time.Hour), partner: DemoPartnerEmail, customer: "Cobalt Insurance", value: 3200000, approve: 3 * day, won: 28 * day},
		{at: w.dayAt(290, 10*time.Hour), partner: DemoPartnerEmail, customer: "Tundra Schools", value: 1250000, approve: 2 * day, won: 30 * day},
		{at: ago(40), partner: DemoPartnerEmail, customer: "Juniper Hospitality", value: 1500000, approve: 2 * day, won: 28 * day}, // still on hold
		{at: ago(12), partner: rival, customer: "Polaris Aerospace", value: 2100000},
		{at: ago(3), partner: DemoPartnerEmail, customer: "Polaris Aerospace", value: 2300000}, // in conflict with the rival's
		{at: ago(9), partner: DemoPartnerEmail, customer: "Kestrel Biotech", value: 1850000, approve: 2 * day},
		{at: ago(2), partner: DemoPartnerEmail, customer: "Aurora Hotels", value: 960000},
	}
	for _, sd := range showcase {
		w.sim.at(sd.at, func(ctx context.Context) error {
			p := w.partnerByEmail(sd.partner)
			if p == nil {
				return nil
			}
			c := company{name: sd.customer, domain: strings.ToLower(strings.ReplaceAll(sd.customer, " ", "-")) + ".example"}
			d, ok, err := w.registerDeal(ctx, p, c, domain.Money{Amount: sd.value, Currency: p.plan.dealCurrency})
			if err != nil || !ok || sd.approve == 0 {
				return err
			}
			w.sim.at(w.sim.now.Add(sd.approve), func(ctx context.Context) error {
				if _, err := w.app.Deals.Approve(ctx, w.org, d.ID); err != nil || sd.won == 0 {
					return err
				}
				w.sim.at(w.sim.now.Add(sd.won), func(ctx context.Context) error {
					if _, err := w.app.Deals.Won(ctx, w.org, d.ID, nil); err != nil {
						return err
					}
					return w.calc.ReconcileDeal(ctx, w.org, d.ID)
				})
				return nil
			})
			return nil
		})
	}
}
