package identity

import (
	"context"
	"errors"

	"github.com/partnerloop/partnerloop/internal/domain"
	"github.com/partnerloop/partnerloop/internal/store"
)

// Organization returns the caller's organization.
func (s *Service) Organization(ctx context.Context, p Principal) (domain.Organization, error) {
	o, err := s.store.GetOrganization(ctx, p.OrgID)
	if errors.Is(err, store.ErrNotFound) {
		return o, domain.NotFound("organization")
	}
	o.TimeZone = o.Zone()
	return o, err
}

// UpdateOrganization changes the caller's organization's settings. A new
// time zone re-buckets every report: the analytics rollup rebuilds the
// organization's cells in it on its next run.
func (s *Service) UpdateOrganization(ctx context.Context, p Principal, patch domain.OrganizationPatch) (domain.Organization, error) {
	for attempt := 0; ; attempt++ {
		o, err := s.store.GetOrganization(ctx, p.OrgID)
		if err != nil {
			if errors.Is(err, store.ErrNotFound) {
				return o, domain.NotFound("organization")
			}
			return o, err
		}
		next, err := patch.Apply(o, s.now())
		if err != nil {
			return o, err
		}
		err = s.store.UpdateOrganization(ctx, next)
		if errors.Is(err, store.ErrConflict) && attempt < 3 {
			continue // changed since read: apply the patch to the new state
		}
		if err != nil {
			return o, err
		}
		next.Revision++
		next.TimeZone = next.Zone()
		return next, nil
	}
}
