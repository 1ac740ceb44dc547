package store

import (
	"context"
	"errors"
	"time"

	"github.com/partnerloop/partnerloop/internal/domain"
)

// Organizations lists the organizations of the installation.
type Organizations interface {
	ListOrganizations(ctx context.Context, p Page) ([]domain.Organization, string, error)
}

// EachOrganization calls fn for every organization of the installation, a
// page at a time: the loop of the installation-wide sweeps. An error of fn
// does not stop the others (they are joined); a listing error ends it.
func EachOrganization(ctx context.Context, s Organizations, fn func(orgID string) error) error {
	var errs []error
	page := Page{Limit: MaxLimit}
	for {
		orgs, next, err := s.ListOrganizations(ctx, page)
		if err != nil {
			return errors.Join(append(errs, err)...)
		}
		for _, o := range orgs {
			if err := fn(o.ID); err != nil {
				errs = append(errs, err)
			}
		}
		if next == "" {
			return errors.Join(errs...)
		}
		page.Cursor = next
	}
}

// ReferralConversions lists conversions by referral.
type ReferralConversions interface {
	ListConversions(ctx context.Context, orgID string, f ConversionFilter, p Page) ([]domain.Conversion, string, error)
}

// FirstPaidAt is when the referral's first paid conversion occurred
// (domain.FirstPaidAt over all its conversions), nil when it has none: the
// start of its recurring window.
func FirstPaidAt(ctx context.Context, s ReferralConversions, orgID, referralID string) (*time.Time, error) {
	var convs []domain.Conversion
	page := Page{Limit: MaxLimit}
	for {
		items, next, err := s.ListConversions(ctx, orgID, ConversionFilter{ReferralID: referralID}, page)
		if err != nil {
			return nil, err
		}
		convs = append(convs, items...)
		if next == "" {
			break
		}
		page.Cursor = next
	}
	if at, ok := domain.FirstPaidAt(convs); ok {
		return &at, nil
	}
	return nil, nil
}
