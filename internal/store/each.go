package store

import (
	"context"
	"errors"

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
