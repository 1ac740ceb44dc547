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
	return s.changeOrganization(ctx, p.OrgID, func(o domain.Organization) (domain.Organization, error) {
		return patch.Apply(o, s.now())
	})
}

// changeOrganization stores change applied to the organization, reading
// it again and reapplying change when it changed since it was read.
func (s *Service) changeOrganization(ctx context.Context, orgID string, change func(domain.Organization) (domain.Organization, error)) (domain.Organization, error) {
	for attempt := 0; ; attempt++ {
		o, err := s.store.GetOrganization(ctx, orgID)
		if err != nil {
			if errors.Is(err, store.ErrNotFound) {
				return o, domain.NotFound("organization")
			}
			return o, err
		}
		next, err := change(o)
		if err != nil {
			return o, err
		}
		err = s.store.UpdateOrganization(ctx, next)
		if errors.Is(err, store.ErrConflict) && attempt < 3 {
			continue // changed since read: apply the change to the new state
		}
		if err != nil {
			return o, err
		}
		next.Revision++
		next.TimeZone = next.Zone()
		return next, nil
	}
}
