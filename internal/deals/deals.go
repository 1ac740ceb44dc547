// Package deals is the deal registration service: partners (through the
// portal) and internal users register deals, admins decide on them, and an
// hourly sweep expires partner deals whose exclusivity ended. The rules are
// domain.RegisterDeal and the domain.Deal transitions; this package loads
// what they look at and stores what they decide.
package deals

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/partnerloop/partnerloop/internal/domain"
	"github.com/partnerloop/partnerloop/internal/store"
)

// Store is what the service reads and writes.
type Store interface {
	store.Store
	store.Deals
}

// Limiter refuses a key that is over its limit with a *domain.Error of
// KindRateLimited (internal/ratelimit.Limiter is the store-backed one).
type Limiter interface {
	Allow(ctx context.Context, key string) error
}

// NoLimit allows everything: the default until a Limiter is given.
type NoLimit struct{}

// Allow allows key.
func (NoLimit) Allow(context.Context, string) error { return nil }

// DefaultCurrency is the currency of a value given as bare minor units when
// none is configured.
const DefaultCurrency = "USD"

// Service registers and decides deals.
type Service struct {
	st       Store
	now      domain.Clock
	ids      domain.IDs
	window   time.Duration
	currency string
	limit    Limiter
}

// Option configures a Service.
type Option func(*Service)

// WithExclusivity sets the organization's exclusivity window; zero or less
// keeps domain.DefaultDealExclusivity.
func WithExclusivity(d time.Duration) Option {
	return func(s *Service) {
		if d > 0 {
			s.window = d
		}
	}
}

// WithCurrency sets the currency of values given as bare minor units; ""
// keeps DefaultCurrency.
func WithCurrency(c string) Option {
	return func(s *Service) {
		if c != "" {
			s.currency = c
		}
	}
}

// The registration limit per partner (and for an organization's direct
// deals), per RegistrationWindow. A partner registers the deals it works on
// — a handful a day; sixty an hour is far above honest use and stops a
// script from claiming a customer list wholesale.
const (
	RegistrationWindow     = time.Hour
	RegistrationsPerWindow = 60
)

// WithLimiter rate-limits registrations per partner (and the direct deals of
// an organization).
func WithLimiter(l Limiter) Option { return func(s *Service) { s.limit = l } }

// New returns a deals service.
func New(st Store, now domain.Clock, ids domain.IDs, opts ...Option) *Service {
	s := &Service{st: st, now: now, ids: ids, window: domain.DefaultDealExclusivity, currency: DefaultCurrency, limit: NoLimit{}}
	for _, o := range opts {
		o(s)
	}
	return s
}

// Currency is the currency of values given without one (forms read
// amounts typed in its major units).
func (s *Service) Currency() string { return s.currency }

// NewDeal is a registration as a caller gives it. PartnerID empty makes a
// direct deal; a partner registering through the portal always gives its
// own. Value nil is a missing value; without a currency it is in the
// configured one.
type NewDeal struct {
	PartnerID         string
	CustomerName      string
	CustomerDomain    string
	Value             *domain.MoneyInput
	ExpectedCloseDate *time.Time
}

// Register registers a deal: validated (every invalid field at once, and a
// partnerId that names no partner of the organization), rate limited per
// partner, checked against the organization's deals on the same customer
// domain (domain.RegisterDeal: a conflict is still registered, with status
// conflict; the same partner's open deal is 409 duplicate_registration
// with existingId) and stored.
func (s *Service) Register(ctx context.Context, orgID, createdBy string, in NewDeal) (domain.Deal, error) {
	reg := domain.DealRegistration{
		OrgID: orgID, PartnerID: in.PartnerID, Source: domain.DealSourceDirect, CreatedBy: createdBy,
		CustomerName: in.CustomerName, CustomerDomain: in.CustomerDomain, ExpectedCloseDate: in.ExpectedCloseDate,
	}
	if in.PartnerID != "" {
		reg.Source = domain.DealSourcePartner
	}
	var v domain.Validation
	reg.Value.Currency = s.currency
	if in.Value == nil {
		v.Add("value", "is required")
	} else if in.Value.Currency != "" {
		reg.Value = domain.Money{Amount: in.Value.Amount, Currency: in.Value.Currency}
	} else {
		reg.Value.Amount = in.Value.Amount
	}
	if in.PartnerID != "" {
		switch _, err := s.st.GetPartner(ctx, orgID, in.PartnerID); {
		case errors.Is(err, store.ErrNotFound):
			v.Add("partnerId", "is not a partner of the organization")
		case err != nil:
			return domain.Deal{}, err
		}
	}
	host, err := reg.Validate()
	if err := v.Merge(err); err != nil {
		return domain.Deal{}, err
	}
	if err := v.Err(); err != nil {
		return domain.Deal{}, err
	}
	party := in.PartnerID
	if party == "" {
		party = "direct"
	}
	if err := s.limit.Allow(ctx, "deal-registration:"+orgID+":"+party); err != nil {
		return domain.Deal{}, err
	}

	reg.ID = s.ids("dea")
	for range store.ModifyAttempts {
		existing, err := s.st.DealsByDomain(ctx, orgID, host)
		if err != nil {
			return domain.Deal{}, err
		}
		if existing, err = s.expireOwn(ctx, reg, existing); err != nil {
			return domain.Deal{}, err
		}
		d, err := domain.RegisterDeal(reg, existing, s.window, s.now())
		if err != nil {
			return domain.Deal{}, err
		}
		err = s.st.CreateDeal(ctx, d)
		if errors.Is(err, store.ErrConflict) {
			// Another registration of the partner's took the claim first:
			// read again, and RegisterDeal names it (duplicate_registration).
			continue
		}
		if err != nil {
			return domain.Deal{}, err
		}
		return d, nil
	}
	return domain.Deal{}, concurrent()
}

// expireOwn moves the registering partner's deals on the domain whose
// exclusivity has ended to expired before the registration is decided: the
// rules do not count them as duplicates, and the store's claim is released
// only when they close. It returns existing with those deals as stored.
func (s *Service) expireOwn(ctx context.Context, reg domain.DealRegistration, existing []domain.Deal) ([]domain.Deal, error) {
	if reg.Source != domain.DealSourcePartner {
		return existing, nil
	}
	now := s.now()
	for i, e := range existing {
		if e.Source == domain.DealSourcePartner && e.PartnerID == reg.PartnerID && e.ExpiryDue(now) {
			d, err := s.transition(ctx, e.OrgID, e.ID, func(d domain.Deal) (domain.Deal, error) { return d.Expire(now) })
			if err != nil && !isInvalidTransition(err) {
				return nil, err
			}
			if err == nil {
				existing[i] = d
			}
		}
	}
	return existing, nil
}

// Get returns one deal of the organization.
func (s *Service) Get(ctx context.Context, orgID, id string) (domain.Deal, error) {
	d, err := s.st.GetDeal(ctx, orgID, id)
	if errors.Is(err, store.ErrNotFound) {
		return d, domain.NotFound("deal")
	}
	return d, err
}

// Filter narrows List; empty fields match everything.
type Filter struct {
	Source    string
	PartnerID string
	Status    string
}

// List pages through the organization's deals, newest first. Source and
// status must be values a deal can have (422 otherwise).
func (s *Service) List(ctx context.Context, orgID string, f Filter, page store.Page) ([]domain.Deal, string, error) {
	var v domain.Validation
	switch domain.DealSource(f.Source) {
	case "", domain.DealSourcePartner, domain.DealSourceDirect:
	default:
		v.Add("source", "must be %q or %q", domain.DealSourcePartner, domain.DealSourceDirect)
	}
	switch domain.DealStatus(f.Status) {
	case "", domain.DealRegistered, domain.DealConflict, domain.DealApproved, domain.DealRejected,
		domain.DealWon, domain.DealLost, domain.DealExpired:
	default:
		v.Add("status", "must be one of registered, conflict, approved, rejected, won, lost, expired")
	}
	if err := v.Err(); err != nil {
		return nil, "", err
	}
	return s.st.ListDeals(ctx, orgID, store.DealFilter{Source: f.Source, PartnerID: f.PartnerID, Status: f.Status}, page)
}

// MaxListDeals bounds what Matching reads: the newest this many deals of
// the filter. An organization registers deals by the hundred a year, so
// this is years of them; beyond it the figures say they are capped. A
// DynamoDB Query reads about 1,500 deals per 1 MB page, so the bound is a
// few pages on a load of the pipeline.
const MaxListDeals = 5000

// Matching reads the organization's deals matching f, newest first — at
// most MaxListDeals of them (capped: there are more) — for the pipeline
// page to count by stage, search, sort and export in memory.
func (s *Service) Matching(ctx context.Context, orgID string, f Filter) (ds []domain.Deal, capped bool, err error) {
	page := store.Page{Limit: store.MaxLimit}
	for {
		got, next, err := s.List(ctx, orgID, f, page)
		if err != nil {
			return nil, false, err
		}
		ds = append(ds, got...)
		if len(ds) > MaxListDeals {
			return ds[:MaxListDeals], true, nil
		}
		if next == "" || next == page.Cursor {
			return ds, false, nil
		}
		page.Cursor = next
	}
}

// StageTotal is one status's deals: how many, and what they are worth per
// currency — a won deal at its won value, every other at its registered
// value.
type StageTotal struct {
	Status domain.DealStatus
	Count  int
	Values []domain.Money
}

// StageOrder is the statuses in the order of a deal's life: open ones
// first, then the closed ones.
var StageOrder = []domain.DealStatus{domain.DealRegistered, domain.DealConflict, domain.DealApproved,
	domain.DealWon, domain.DealLost, domain.DealRejected, domain.DealExpired}

// Worth is what a deal counts for: its won value once won, else its
// registered value.
func Worth(d domain.Deal) domain.Money {
	if d.WonValue != nil {
		return *d.WonValue
	}
	return d.Value
}

// Stages counts and sums ds by status: one StageTotal per status, in
// StageOrder (an error only when a sum overflows).
func Stages(ds []domain.Deal) ([]StageTotal, error) {
	count := map[domain.DealStatus]int{}
	values := map[domain.DealStatus]*domain.Totals{}
	for _, d := range ds {
		count[d.Status]++
		if values[d.Status] == nil {
			values[d.Status] = &domain.Totals{}
		}
		values[d.Status].Add(Worth(d))
	}
	out := make([]StageTotal, 0, len(StageOrder))
	for _, st := range StageOrder {
		t := StageTotal{Status: st, Count: count[st], Values: []domain.Money{}}
		if values[st] != nil {
			m, err := values[st].Money()
			if err != nil {
				return nil, err
			}
			t.Values = m
		}
		out = append(out, t)
	}
	return out, nil
}

// Approve accepts a registered deal, or one in conflict (an admin's call).
func (s *Service) Approve(ctx context.Context, orgID, id string) (domain.Deal, error) {
	return s.transition(ctx, orgID, id, func(d domain.Deal) (domain.Deal, error) { return d.Approve(s.now()) })
}

// Reject refuses a registered or conflicting deal for a reason (422 when
// missing).
func (s *Service) Reject(ctx context.Context, orgID, id, reason string) (domain.Deal, error) {
	return s.transition(ctx, orgID, id, func(d domain.Deal) (domain.Deal, error) { return d.Reject(reason, s.now()) })
}

// Won closes an approved deal as won, at value (without a currency: the
// deal's) or at its registered value. A won partner deal earns its
// commission through the pipeline.
func (s *Service) Won(ctx context.Context, orgID, id string, value *domain.MoneyInput) (domain.Deal, error) {
	var won *domain.Money
	if value != nil {
		won = &domain.Money{Amount: value.Amount, Currency: value.Currency}
	}
	return s.transition(ctx, orgID, id, func(d domain.Deal) (domain.Deal, error) { return d.Won(won, s.now()) })
}

// Lost closes an open deal as lost.
func (s *Service) Lost(ctx context.Context, orgID, id string) (domain.Deal, error) {
	return s.transition(ctx, orgID, id, func(d domain.Deal) (domain.Deal, error) { return d.Lost(s.now()) })
}

// ExpireDue moves the organization's registered and approved partner deals
// whose exclusivity has ended to expired, and returns how many it moved.
// Running it again, or at once with itself, moves each deal once.
func (s *Service) ExpireDue(ctx context.Context, orgID string) (int, error) {
	now := s.now()
	var due []string
	for _, status := range []domain.DealStatus{domain.DealRegistered, domain.DealApproved} {
		page := store.Page{Limit: store.MaxLimit}
		for {
			ds, next, err := s.st.ListDeals(ctx, orgID, store.DealFilter{Source: string(domain.DealSourcePartner), Status: string(status)}, page)
			if err != nil {
				return 0, err
			}
			for _, d := range ds {
				if d.ExpiryDue(now) {
					due = append(due, d.ID)
				}
			}
			if next == "" {
				break
			}
			page.Cursor = next
		}
	}
	n := 0
	var errs []error
	for _, id := range due {
		_, err := s.transition(ctx, orgID, id, func(d domain.Deal) (domain.Deal, error) { return d.Expire(now) })
		switch {
		case err == nil:
			n++
		case isInvalidTransition(err):
			// Decided or expired meanwhile: nothing left to do.
		default:
			errs = append(errs, fmt.Errorf("deals: expire %s of %s: %w", id, orgID, err))
		}
	}
	return n, errors.Join(errs...)
}

// ExpireAll runs ExpireDue for every organization of the installation: the
// hourly job's sweep. Errors of one organization do not stop the others.
func (s *Service) ExpireAll(ctx context.Context) (int, error) {
	total := 0
	err := store.EachOrganization(ctx, s.st, func(orgID string) error {
		n, err := s.ExpireDue(ctx, orgID)
		total += n
		return err
	})
	return total, err
}

// transition applies change to the deal's current state and stores it,
// reading again when a concurrent change got there first.
func (s *Service) transition(ctx context.Context, orgID, id string, change func(domain.Deal) (domain.Deal, error)) (domain.Deal, error) {
	read := func(ctx context.Context) (domain.Deal, error) { return s.Get(ctx, orgID, id) }
	next, err := store.Modify(ctx, read, change, s.st.UpdateDeal)
	if errors.Is(err, store.ErrConflict) {
		return next, concurrent()
	}
	if err == nil {
		next.Revision++
	}
	return next, err
}

func isInvalidTransition(err error) bool {
	e, ok := domain.AsError(err)
	return ok && (e.Code == "invalid_transition" || e.Code == "exclusivity_active")
}

func concurrent() error {
	return domain.Errorf(domain.KindConflict, "concurrent_update", "the deal is being changed by someone else; try again")
}
