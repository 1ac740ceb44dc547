// Package partners holds an organization's partner tiers and partners, and
// gives the commission calculator the partner side of rule selection.
package partners

import (
	"context"
	"errors"

	"github.com/partnerloop/partnerloop/internal/domain"
	"github.com/partnerloop/partnerloop/internal/store"
)

// Service manages partner tiers and partners.
type Service struct {
	store store.Store
	now   domain.Clock
	ids   domain.IDs
}

// New returns a partners service.
func New(s store.Store, now domain.Clock, ids domain.IDs) *Service {
	return &Service{store: s, now: now, ids: ids}
}

// CreateTier stores a new tier.
func (s *Service) CreateTier(ctx context.Context, orgID string, spec domain.PartnerTierSpec) (domain.PartnerTier, error) {
	if err := spec.Validate(); err != nil {
		return domain.PartnerTier{}, err
	}
	t := domain.NewPartnerTier(orgID, s.ids("tir"), spec, s.now())
	if err := s.store.CreateTier(ctx, t); err != nil {
		return domain.PartnerTier{}, err
	}
	return t, nil
}

// GetTier returns one tier of the organization.
func (s *Service) GetTier(ctx context.Context, orgID, id string) (domain.PartnerTier, error) {
	t, err := s.store.GetTier(ctx, orgID, id)
	if errors.Is(err, store.ErrNotFound) {
		return t, domain.NotFound("partner tier")
	}
	return t, err
}

// ListTiers pages through the organization's tiers, newest first.
func (s *Service) ListTiers(ctx context.Context, orgID string, page store.Page) ([]domain.PartnerTier, string, error) {
	return s.store.ListTiers(ctx, orgID, page)
}

// UpdateTier applies edit to the tier's current settings and stores the
// result; a changed rule becomes a new version effective from now.
func (s *Service) UpdateTier(ctx context.Context, orgID, id string, edit func(*domain.PartnerTierSpec) error) (domain.PartnerTier, error) {
	read := func(ctx context.Context) (domain.PartnerTier, error) { return s.GetTier(ctx, orgID, id) }
	change := func(t domain.PartnerTier) (domain.PartnerTier, error) {
		spec := t.Spec()
		if err := edit(&spec); err != nil {
			return t, err
		}
		if err := spec.Validate(); err != nil {
			return t, err
		}
		return t.Update(spec, s.now()), nil
	}
	next, err := store.Modify(ctx, read, change, s.store.UpdateTier)
	return bumped(next, err, "partner tier", func(t *domain.PartnerTier) { t.Revision++ })
}

// Create stores a new active partner of an existing tier of the
// organization.
func (s *Service) Create(ctx context.Context, orgID string, spec domain.PartnerSpec) (domain.Partner, error) {
	if err := s.validate(ctx, orgID, spec); err != nil {
		return domain.Partner{}, err
	}
	p := domain.NewPartner(orgID, s.ids("prt"), spec, s.now())
	err := s.store.CreatePartner(ctx, p)
	if errors.Is(err, store.ErrConflict) {
		return domain.Partner{}, emailTaken()
	}
	if err != nil {
		return domain.Partner{}, err
	}
	return p, nil
}

// validate checks the settings, and that the tier is one of the
// organization's (another organization's tier is as unknown as a made-up id).
func (s *Service) validate(ctx context.Context, orgID string, spec domain.PartnerSpec) error {
	var v domain.Validation
	err := v.Merge(spec.Validate())
	if err != nil {
		return err
	}
	if spec.TierID != "" {
		_, err := s.store.GetTier(ctx, orgID, spec.TierID)
		switch {
		case errors.Is(err, store.ErrNotFound):
			v.Add("tierId", "unknown tier")
		case err != nil:
			return err
		}
	}
	return v.Err()
}

// Get returns one partner of the organization.
func (s *Service) Get(ctx context.Context, orgID, id string) (domain.Partner, error) {
	p, err := s.store.GetPartner(ctx, orgID, id)
	if errors.Is(err, store.ErrNotFound) {
		return p, domain.NotFound("partner")
	}
	return p, err
}

// Exists reports whether the organization has a partner with id; it is
// what the programs service asks before attaching a referrer to a partner.
func (s *Service) Exists(ctx context.Context, orgID, id string) (bool, error) {
	_, err := s.store.GetPartner(ctx, orgID, id)
	if errors.Is(err, store.ErrNotFound) {
		return false, nil
	}
	return err == nil, err
}

// List pages through the organization's partners, newest first, of one tier
// when tierID is set.
func (s *Service) List(ctx context.Context, orgID, tierID string, page store.Page) ([]domain.Partner, string, error) {
	return s.store.ListPartners(ctx, orgID, store.PartnerFilter{TierID: tierID}, page)
}

// Update applies edit (which may refuse) to the partner's current settings
// and stores the result, retrying when a concurrent edit got there first.
// A changed rule of its own becomes a new version effective from now. A
// new email is its portal user's sign-in address too, in the same write;
// one another user signs in with is a 409 email_taken.
func (s *Service) Update(ctx context.Context, orgID, id string, edit func(*domain.PartnerSpec) error) (domain.Partner, error) {
	read := func(ctx context.Context) (domain.Partner, error) { return s.Get(ctx, orgID, id) }
	var before domain.Partner
	change := func(p domain.Partner) (domain.Partner, error) {
		before = p
		spec := p.Spec()
		if err := edit(&spec); err != nil {
			return p, err
		}
		if err := s.validate(ctx, orgID, spec); err != nil {
			return p, err
		}
		return p.Update(spec, s.now()), nil
	}
	write := func(ctx context.Context, next domain.Partner) error {
		err := s.store.UpdatePartner(ctx, next)
		// A lost race, or an address another partner has, or one another
		// user signs in with (the portal user takes the partner's address,
		// store.Store.UpdatePartner): tell them apart by reading again (an
		// address clash ends the retries).
		if errors.Is(err, store.ErrConflict) && next.Email != before.Email {
			if taken, terr := s.emailTaken(ctx, orgID, id, next.Email); terr != nil {
				return terr
			} else if taken {
				return emailTaken()
			}
			switch u, uerr := s.store.GetUserByEmail(ctx, next.Email); {
			case uerr == nil && u.ID != domain.PortalUserID(id):
				return userEmailTaken()
			case uerr != nil && !errors.Is(uerr, store.ErrNotFound):
				return uerr
			}
		}
		return err
	}
	next, err := store.Modify(ctx, read, change, write)
	return bumped(next, err, "partner", func(p *domain.Partner) { p.Revision++ })
}

// SetActive deactivates (active false) or reactivates the organization's
// partner. Deactivating records the moment: the partner earns nothing on
// conversions and won deals from then on (RuleSource); the caller revokes
// its portal access. Setting the status it already has changes nothing.
func (s *Service) SetActive(ctx context.Context, orgID, id string, active bool) (domain.Partner, error) {
	read := func(ctx context.Context) (domain.Partner, error) { return s.Get(ctx, orgID, id) }
	changed := false
	change := func(p domain.Partner) (domain.Partner, error) {
		now := s.now().UTC()
		changed = false
		switch {
		case active && p.Status != domain.PartnerActive:
			p.Status, p.DeactivatedAt = domain.PartnerActive, nil
		case !active && p.Status == domain.PartnerActive:
			p.Status, p.DeactivatedAt = domain.PartnerInactive, &now
		default:
			return p, nil
		}
		changed = true
		p.UpdatedAt = now
		return p, nil
	}
	write := func(ctx context.Context, p domain.Partner) error {
		if !changed {
			return nil
		}
		return s.store.UpdatePartner(ctx, p)
	}
	next, err := store.Modify(ctx, read, change, write)
	if !changed {
		return next, err
	}
	return bumped(next, err, "partner", func(p *domain.Partner) { p.Revision++ })
}

// bumped finishes a store.Modify: the written record gets its stored
// revision, and losing every race becomes a 409 about what.
func bumped[T any](next T, err error, what string, bump func(*T)) (T, error) {
	if errors.Is(err, store.ErrConflict) {
		return next, concurrent(what)
	}
	if err == nil {
		bump(&next)
	}
	return next, err
}

// emailTaken reports whether another partner of the organization has the
// address. The store has no lookup by address, so this pages through the
// partners; it runs only after an update was refused.
func (s *Service) emailTaken(ctx context.Context, orgID, id, email string) (bool, error) {
	page := store.Page{Limit: store.MaxLimit}
	for {
		ps, next, err := s.store.ListPartners(ctx, orgID, store.PartnerFilter{}, page)
		if err != nil {
			return false, err
		}
		for _, p := range ps {
			if p.ID != id && p.Email == email {
				return true, nil
			}
		}
		if next == "" {
			return false, nil
		}
		page.Cursor = next
	}
}

func emailTaken() error {
	return &domain.Error{Kind: domain.KindConflict, Code: "partner_exists", Message: "a partner with this email already exists",
		Fields: []domain.FieldError{{Field: "email", Message: "is already a partner's address"}}}
}

// userEmailTaken: the partner's portal user signs in with the partner's
// address, and login names are unique across the installation.
func userEmailTaken() error {
	return &domain.Error{Kind: domain.KindConflict, Code: "email_taken", Message: "a user with this email already exists",
		Fields: []domain.FieldError{{Field: "email", Message: "is already a user's sign-in address; the partner's portal user signs in with it"}}}
}

func concurrent(what string) error {
	return domain.Errorf(domain.KindConflict, "concurrent_update", "the %s is being changed by someone else; try again", what)
}
