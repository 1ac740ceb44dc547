// Package demo fills an organization with a year of realistic activity so
// that every page and chart of the product has something to show: programs
// in USD and EUR (percentage, flat and tiered rules, a seasonal campaign),
// partner tiers with resellers, affiliates and agencies, customers and
// partner links with their clicks, referrals in every status, signups and
// purchases (some reported late, some refunded), deals in every status and
// commissions through their whole lifecycle.
//
// The year is played as a simulation (see sim): each event runs at its own
// instant through the product's own services — tracking, programs,
// partners, deals, identity, the ledger and the commission calculator — on
// a clock set to that instant, so records, audit trails, hold periods and
// the analytics change feed are exactly what the product itself would have
// written over the year. Traffic follows the seasons, the weekdays and the
// hours, grows with the referrer base and has a few viral bursts.
package demo

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"math/rand/v2"
	"strings"
	"time"

	"github.com/partnerloop/partnerloop/internal/app"
	"github.com/partnerloop/partnerloop/internal/commission"
	"github.com/partnerloop/partnerloop/internal/domain"
	"github.com/partnerloop/partnerloop/internal/identity"
	"github.com/partnerloop/partnerloop/internal/ledger"
	"github.com/partnerloop/partnerloop/internal/mail"
	"github.com/partnerloop/partnerloop/internal/partners"
	"github.com/partnerloop/partnerloop/internal/pipeline"
	"github.com/partnerloop/partnerloop/internal/store"
)

// DefaultClicks is the size of `make demo`: about this many counted clicks
// over the year, with some 2,300 referrals and 750 conversions — enough for
// every chart, and loaded in well under a minute.
const DefaultClicks = 25000

// Options size and place the demo; the zero value is `make demo`'s.
type Options struct {
	// Now is the present: the demo's year ends here (zero: time.Now()).
	Now time.Time
	// Clicks is about how many clicks the year brings (DefaultClicks);
	// customers, referrals and conversions grow with it. Partners and
	// their deals do not.
	Clicks int
	// Seed picks the story (the same seed tells the same story relative
	// to Now, up to the randomness of IDs and generated codes).
	Seed uint64
}

// Result says what Load wrote.
type Result struct {
	// Loaded is false when the organization already had programs and Load
	// wrote nothing.
	Loaded      bool
	Programs    int
	Tiers       int
	Partners    int
	Referrers   int
	Clicks      int // counted clicks
	Referrals   int
	Conversions int
	Refunds     int
	Deals       int
	Commissions int // ledger entries: commissions, replacements, clawbacks, adjustments
	// PartnerEmail and PartnerPassword sign in to the portal of the
	// demo's partner (Northwind Resellers). The password is generated and
	// only known to this Result.
	PartnerEmail    string
	PartnerPassword string
	Took            time.Duration
}

// Records is how many records Load wrote, roughly (every entity counted
// once, not its updates).
func (r Result) Records() int {
	return r.Programs + r.Tiers + r.Partners + r.Referrers + r.Clicks + r.Referrals + r.Conversions + r.Deals + r.Commissions
}

func (r Result) String() string {
	return fmt.Sprintf("%d programs, %d partner tiers, %d partners, %d referrers, %d clicks, %d referrals, "+
		"%d conversions (%d refunded), %d deals, %d ledger entries in %s",
		r.Programs, r.Tiers, r.Partners, r.Referrers, r.Clicks, r.Referrals, r.Conversions, r.Refunds, r.Deals, r.Commissions,
		r.Took.Round(100*time.Millisecond))
}

// Load adds a year of demo activity to orgID, unless the organization
// already has programs (then it writes nothing and Result.Loaded is
// false). The organization's first admin is the actor of the staff's
// decisions. Interrupted (ctx), it leaves what it wrote so far.
func Load(ctx context.Context, a *app.App, orgID string, opts Options) (Result, error) {
	res := Result{PartnerEmail: DemoPartnerEmail}
	if ps, _, err := a.Store.ListPrograms(ctx, orgID, store.Page{Limit: 1}); err != nil {
		return res, err
	} else if len(ps) > 0 {
		return res, nil
	}
	ls, ok := a.Store.(pipeline.LedgerStore)
	if !ok {
		return res, errors.New("demo: the store keeps no commission ledger")
	}
	admin, err := firstAdmin(ctx, a.Store, orgID)
	if err != nil {
		return res, err
	}
	if opts.Now.IsZero() {
		opts.Now = time.Now()
	}
	if opts.Clicks <= 0 {
		opts.Clicks = DefaultClicks
	}
	if opts.Seed == 0 {
		opts.Seed = 2026
	}
	began := time.Now()
	end := opts.Now.UTC()
	start := end.Truncate(day).AddDate(0, 0, -year)
	s := newSim(start, end)
	ids := domain.NewULIDs(s.clock)
	box := &inbox{last: map[string]string{}}
	// The product wired on the simulation's clock: every service stamps
	// its records with the instant of the event that calls it.
	demoApp := app.New(a.Config, a.Store, s.clock, ids, slog.New(slog.NewTextHandler(io.Discard, nil)), app.WithMailer(box))
	res.PartnerPassword = identity.GeneratePassword()
	w := &world{
		sim: s, rng: rand.New(rand.NewPCG(opts.Seed, 11)), app: demoApp, ls: ls, ids: ids, mail: box, org: orgID,
		ledger: ledger.New(a.Store, ls, s.clock),
		calc:   pipeline.NewCalculator(ls, s.clock, partners.NewRuleSource(ls)),
		admin:  identity.Principal{OrgID: orgID, Role: admin.Role, UserID: admin.ID, Email: admin.Email, Name: admin.Name},
		start:  start, end: end, referred: map[string]map[string]bool{}, reviewed: map[string]bool{}, res: &res,
	}
	w.plan(opts.Clicks)
	w.schedule()
	if err := s.run(ctx); err != nil {
		return res, err
	}
	entries, err := allPages(func(p store.Page) ([]commission.Commission, string, error) {
		return ls.ListCommissions(ctx, orgID, store.CommissionFilter{}, p)
	})
	if err != nil {
		return res, err
	}
	res.Commissions = len(entries)
	res.Loaded = true
	res.Took = time.Since(began)
	return res, nil
}

// firstAdmin is the organization's earliest admin: the bootstrap admin.
func firstAdmin(ctx context.Context, st store.Store, orgID string) (domain.User, error) {
	users, err := allPages(func(p store.Page) ([]domain.User, string, error) { return st.ListUsers(ctx, orgID, p) })
	if err != nil {
		return domain.User{}, err
	}
	for i := len(users) - 1; i >= 0; i-- { // newest first
		if users[i].Role == domain.RoleAdmin {
			return users[i], nil
		}
	}
	return domain.User{}, fmt.Errorf("demo: organization %s has no admin", orgID)
}

// inbox is the demo's mailer: it keeps the last message to each address,
// so the demo's partner can follow its invitation link.
type inbox struct {
	last map[string]string
}

func (b *inbox) Send(_ context.Context, m mail.Message) error {
	b.last[strings.ToLower(m.To)] = m.Text
	return nil
}
