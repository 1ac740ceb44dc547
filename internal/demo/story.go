package demo

import (
	"context"
	"fmt"
	"math"
	"math/rand/v2"
	"slices"
	"strings"
	"time"

	"github.com/partnerloop/partnerloop/internal/app"
	"github.com/partnerloop/partnerloop/internal/domain"
	"github.com/partnerloop/partnerloop/internal/identity"
	"github.com/partnerloop/partnerloop/internal/ledger"
	"github.com/partnerloop/partnerloop/internal/pipeline"
	"github.com/partnerloop/partnerloop/internal/programs"
)

const (
	day  = 24 * time.Hour
	year = 365 // days the demo covers
	// repeatVisits is the share of visitors who follow a link again within
	// the hour (not counted twice).
	repeatVisits = 0.05
	// backdated is the share of conversions the organization's backend
	// reports late, with an occurredAt in the past.
	backdated = 0.15
	// refundEvery: every n-th purchase is refunded; every second refund is
	// partial, every third comes months later, after the commission was
	// paid (a clawback).
	refundEvery = 12
	// rejectEvery: every n-th commission reviewed is rejected.
	rejectEvery = 23
	// payoutAfter is how long an approved commission waits for the
	// monthly payout run.
	payoutAfter = 14 * day
)

// world is the demo's year being played: the product's services on the
// simulation's clock, the cast as it is created, and what has happened.
type world struct {
	sim    *sim
	rng    *rand.Rand
	app    *app.App // the product wired on the simulation's clock
	ledger *ledger.Service
	calc   *pipeline.Calculator
	ls     pipeline.LedgerStore
	ids    domain.IDs
	mail   *inbox
	org    string
	admin  identity.Principal
	start  time.Time // midnight UTC, a year before the present
	end    time.Time // the present

	programs map[string]*program
	tiers    map[string]domain.PartnerTier
	partners []*partner
	links    []*link
	spikes   []spike
	factors  []float64 // per day of the year
	perClick float64   // expected clicks per unit of link weight and day factor

	contacts  int
	orders    int
	referred  map[string]map[string]bool // email → keys of the programs it was referred in
	customers []customer                 // converted contacts
	purchases int
	refunds   int
	reviewed  map[string]bool
	reviews   int
	companies []company
	res       *Result
}

type program struct {
	plan *programPlan
	p    domain.Program
}

type partner struct {
	plan *partnerPlan
	p    domain.Partner
	user string // its portal user, once it accepted its invitation
}

// link is a referrer of the demo: a customer, or a partner's link.
type link struct {
	prog      *program
	owner     *partnerPlan // nil for customers
	partner   *partner     // its owner, once it joined
	join      time.Time
	name      string
	email     string
	code      string // requested code ("" generates one)
	weight    float64
	tau       float64   // days its enthusiasm takes to fade (0: steady)
	until     time.Time // no clicks from then on (zero: none)
	referer   string
	ref       domain.Referrer
	enrolled  bool
	spikeSeed bool // the customer whose post goes viral
}

// weightAt is the link's share of traffic on day d: nothing before the day
// after it joined, fading for customers, steady for partners.
func (l *link) weightAt(d time.Time) float64 {
	if !l.join.Before(d) || (!l.until.IsZero() && !d.Before(l.until)) {
		return 0
	}
	if l.tau == 0 {
		return l.weight
	}
	age := d.Sub(l.join).Hours() / 24
	return l.weight * (0.25 + 0.75*math.Exp(-age/l.tau))
}

type customer struct {
	email, name, program string
}

type company struct {
	name, domain string
}

// planned is a conversion a referral is going to have.
type planned struct {
	event  string
	at     time.Time
	amount int64 // minor units; 0 for a signup
}

// plan lays the year out before it is played: the programs' dates, every
// referrer (when it joins and how much traffic it brings), the viral
// spikes, each day's traffic factor, and from them the clicks per unit of
// weight that make the year's total about clicks.
func (w *world) plan(clicks int) {
	w.programs = map[string]*program{}
	for _, pp := range programPlans {
		w.programs[pp.key] = &program{plan: pp}
	}
	hFrom, hTo := holidayWindow(w.start, w.end)

	// Partners' links weigh against the customer base: about a sixth of
	// the traffic whatever the demo's size.
	scale := max(0.05, float64(clicks)/DefaultClicks)
	for _, pl := range partnerPlans {
		for _, lp := range pl.links {
			w.links = append(w.links, &link{
				prog: w.programs[lp.program], owner: pl, join: w.dayAt(pl.join+1, 11*time.Hour), name: pl.company,
				email: "links+" + strings.ToLower(lp.code) + "@" + pl.email[strings.IndexByte(pl.email, '@')+1:],
				code:  lp.code, weight: lp.weight * scale, referer: lp.referer,
			})
		}
	}

	customers := max(40, clicks/75)
	shares := make([]float64, len(programPlans))
	for i, pp := range programPlans {
		shares[i] = pp.customers
	}
	for n := range customers {
		pp := programPlans[pick(shares, w.rng)]
		var join time.Time
		switch {
		case pp.holiday:
			join = hFrom.Add(time.Hour + between(0, 20*day, w.rng))
		case w.rng.Float64() < 0.3 && pp.launch == 0:
			join = w.start.Add(9*time.Hour + between(0, 10*day, w.rng)) // the program's first referrers
		default:
			// More people join as the product grows: a density rising
			// from 0.4 to 1.4 over the rest of the year.
			x := -0.4 + math.Sqrt(0.16+1.8*w.rng.Float64())
			from := float64(pp.launch) + 1
			join = w.start.Add(time.Duration((from + x*(year-from-1)) * float64(day)))
		}
		first, last := firstNames[w.rng.IntN(len(firstNames))], lastNames[w.rng.IntN(len(lastNames))]
		l := &link{
			prog: w.programs[pp.key], join: join, name: first + " " + last,
			email:  fmt.Sprintf("%s.%s%d@%s", strings.ToLower(first), strings.ToLower(last), n, mailDomains[w.rng.IntN(len(mailDomains))]),
			weight: min(40, math.Pow(w.rng.Float64(), -1/1.4)), tau: 60 + 240*w.rng.Float64(),
			referer: referers[w.rng.IntN(len(referers))],
		}
		if pp.holiday {
			l.until = hTo
		}
		w.links = append(w.links, l)
	}

	// The star of the European programme: a consultant who refers a client
	// or two most months (and earns the retroactive tier's adjustments).
	for _, l := range w.links {
		if l.owner == nil && l.prog.plan.key == progEurope {
			l.weight, l.tau = 20, 0
			break
		}
	}
	// The viral customer: the busiest customer of the Pro plan who joined
	// early enough.
	w.spikes = slices.Clone(spikePlans)
	var viral *link
	for _, l := range w.links {
		if l.owner == nil && l.prog.plan.key == progPro && l.join.Before(w.dayAt(150, 0)) &&
			(viral == nil || l.weight > viral.weight) {
			viral = l
		}
	}
	spikeShare := 0.0
	for i := range w.spikes {
		w.spikes[i].plan(clicks)
		spikeShare += w.spikes[i].share
	}
	if viral != nil {
		viral.spikeSeed = true
	}

	w.factors = make([]float64, year+1) // the year's days and today
	total := 0.0
	for i := range year + 1 {
		d := w.dayAt(i, 0)
		w.factors[i] = dayFactor(d, w.rng)
		for _, l := range w.links {
			total += l.weightAt(d) * w.factors[i]
		}
	}
	w.perClick = float64(clicks) * (1 - spikeShare) / total

	for i := range 150 {
		c := companyFirst[i%len(companyFirst)] + " " + companySecond[(i/len(companyFirst)+i)%len(companySecond)]
		w.companies = append(w.companies, company{name: c, domain: strings.ToLower(strings.ReplaceAll(c, " ", "-")) + ".example"})
	}
	slices.SortFunc(w.companies, func(a, b company) int { return strings.Compare(a.domain, b.domain) })
	w.companies = slices.CompactFunc(w.companies, func(a, b company) bool { return a.domain == b.domain })
}

// dayAt is the instant at offset into day i of the year.
func (w *world) dayAt(i int, offset time.Duration) time.Time {
	return w.start.AddDate(0, 0, i).Add(offset)
}

// schedule puts the year's first events on the calendar; the rest follow
// from them.
func (w *world) schedule() {
	hFrom, hTo := holidayWindow(w.start, w.end)
	w.sim.at(w.dayAt(0, 8*time.Hour), w.setUp)
	for _, pp := range programPlans {
		pp := pp
		switch {
		case pp.holiday:
			w.sim.at(hFrom.AddDate(0, 0, -6).Add(10*time.Hour), func(ctx context.Context) error {
				return w.launch(ctx, pp, hFrom, &hTo)
			})
			// Paused once the last conversions of its window are in.
			w.sim.at(hTo.AddDate(0, 0, pp.spec.AttributionWindowDays+1), func(ctx context.Context) error {
				return w.transition(ctx, pp.key, domain.ProgramPaused)
			})
		default:
			at := w.dayAt(pp.launch, 9*time.Hour)
			w.sim.at(at, func(ctx context.Context) error { return w.launch(ctx, pp, at, nil) })
		}
	}
	// The Pro plan's rate goes up mid-year: a new rule version, which
	// commissions of earlier conversions never see.
	w.sim.at(w.dayAt(210, 9*time.Hour), func(ctx context.Context) error {
		p, err := w.app.Programs.Update(ctx, w.org, w.programs[progPro].p.ID, func(s *domain.ProgramSpec) error {
			s.Commission.RateBps = i64(2500)
			return nil
		})
		w.programs[progPro].p = p
		return err
	})
	for _, pl := range partnerPlans {
		pl := pl
		w.sim.at(w.dayAt(pl.join, 10*time.Hour), func(ctx context.Context) error { return w.partnerJoins(ctx, pl) })
	}
	for _, l := range w.links {
		if l.owner == nil {
			l := l
			w.sim.at(l.join, func(ctx context.Context) error { return w.enrol(ctx, l) })
		}
	}
	w.sim.at(w.start, w.day(0))
	w.sim.at(w.dayAt(5, 0), func(ctx context.Context) error { w.nextDirectDeal(); return nil })
	w.scheduleFinance()
	w.scheduleShowcaseDeals()
}

// setUp creates the partner tiers.
func (w *world) setUp(ctx context.Context) error {
	w.tiers = map[string]domain.PartnerTier{}
	for _, tp := range tierPlans {
		t, err := w.app.Partners.CreateTier(ctx, w.org, tp.spec)
		if err != nil {
			return fmt.Errorf("demo: tier %s: %w", tp.spec.Name, err)
		}
		w.tiers[tp.key] = t
		w.res.Tiers++
		if tp.raise != nil {
			tp := tp
			w.sim.at(w.dayAt(tp.raiseOn, 9*time.Hour), func(ctx context.Context) error {
				t, err := w.app.Partners.UpdateTier(ctx, w.org, w.tiers[tp.key].ID, func(s *domain.PartnerTierSpec) error {
					s.Commission.RateBps = tp.raise
					return nil
				})
				w.tiers[tp.key] = t
				return err
			})
		}
	}
	return nil
}

// launch creates and activates a program running from startsAt.
func (w *world) launch(ctx context.Context, pp *programPlan, startsAt time.Time, endsAt *time.Time) error {
	spec := pp.spec
	spec.StartsAt, spec.EndsAt = startsAt, endsAt
	p, err := w.app.Programs.Create(ctx, w.org, spec)
	if err != nil {
		return fmt.Errorf("demo: program %s: %w", spec.Name, err)
	}
	w.programs[pp.key].p = p
	w.res.Programs++
	return w.transition(ctx, pp.key, domain.ProgramActive)
}

func (w *world) transition(ctx context.Context, key string, to domain.ProgramStatus) error {
	p, err := w.app.Programs.Transition(ctx, w.org, w.programs[key].p.ID, to)
	if err != nil {
		return fmt.Errorf("demo: program %s to %s: %w", key, to, err)
	}
	w.programs[key].p = p
	return nil
}

// partnerJoins signs a partner up: its record with agreements, its portal
// invitation (and for the demo's partner, the password it chooses), its
// links, its deals and, for some, a promotion later in the year.
func (w *world) partnerJoins(ctx context.Context, pl *partnerPlan) error {
	spec := domain.PartnerSpec{CompanyName: pl.company, ContactName: pl.contact, Email: pl.email, TierID: w.tiers[pl.tier].ID, Commission: pl.rule}
	for i, name := range pl.agreements {
		spec.Agreements = append(spec.Agreements, domain.Agreement{Name: name, SignedAt: w.sim.now.AddDate(0, 0, -2-i),
			URL: "https://example.com/legal/" + strings.Trim(strings.Map(slugRune, strings.ToLower(name)), "-") + ".pdf"})
	}
	created, err := w.app.Partners.Create(ctx, w.org, spec)
	if err != nil {
		return fmt.Errorf("demo: partner %s: %w", pl.company, err)
	}
	p := &partner{plan: pl, p: created}
	w.partners = append(w.partners, p)
	w.res.Partners++
	for _, l := range w.links {
		if l.owner == pl {
			l.partner = p
			w.sim.at(l.join, func(ctx context.Context) error { return w.enrol(ctx, l) })
		}
	}
	if pl.portal != "" {
		w.sim.at(w.sim.now.Add(day), func(ctx context.Context) error { return w.invite(ctx, p) })
	}
	if pl.promote != "" {
		w.sim.at(w.dayAt(pl.promoteOn, 9*time.Hour), func(ctx context.Context) error {
			var err error
			p.p, err = w.app.Partners.Update(ctx, w.org, p.p.ID, func(s *domain.PartnerSpec) error {
				s.TierID = w.tiers[pl.promote].ID
				return nil
			})
			return err
		})
	}
	w.nextDeal(p, w.sim.now.Add(3*day))
	return nil
}

func slugRune(r rune) rune {
	if (r >= 'a' && r <= 'z') || (r >= '0' && r <= '9') {
		return r
	}
	return '-'
}

// invite sends the partner its portal invitation; the demo's partner
// accepts it the next day with the password Load returns.
func (w *world) invite(ctx context.Context, p *partner) error {
	if _, err := w.app.Identity.InvitePartner(ctx, w.admin, p.p.ID); err != nil {
		return fmt.Errorf("demo: invite %s: %w", p.p.CompanyName, err)
	}
	if p.plan.portal != "accepted" {
		return nil
	}
	token, ok := identity.InvitationToken(w.mail.last[p.p.Email])
	if !ok {
		return fmt.Errorf("demo: no invitation link was sent to %s", p.p.Email)
	}
	w.sim.at(w.sim.now.Add(day+3*time.Hour), func(ctx context.Context) error {
		_, _, u, err := w.app.Identity.AcceptInvitation(ctx, token, w.res.PartnerPassword, "127.0.0.1")
		if err != nil {
			return fmt.Errorf("demo: %s accepts the invitation: %w", p.p.Email, err)
		}
		p.user = u.ID
		return nil
	})
	return nil
}

// enrol creates a referrer.
func (w *world) enrol(ctx context.Context, l *link) error {
	in := programs.ReferrerInput{Email: l.email, Name: l.name, Code: l.code}
	if l.partner != nil {
		in.PartnerID = l.partner.p.ID
	}
	r, err := w.app.Programs.CreateReferrer(ctx, w.org, l.prog.p.ID, in)
	if err != nil {
		return fmt.Errorf("demo: enrol %s in %s: %w", l.email, l.prog.plan.key, err)
	}
	l.ref, l.enrolled = r, true
	w.res.Referrers++
	return nil
}

func (w *world) partnerByEmail(email string) *partner {
	for _, p := range w.partners {
		if p.p.Email == email {
			return p
		}
	}
	return nil
}
