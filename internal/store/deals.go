package store

import (
	"context"

	"github.com/partnerloop/partnerloop/internal/domain"
)

// DealFilter narrows ListDeals; empty fields match everything.
type DealFilter struct {
	Source    string // "partner" or "direct"
	PartnerID string
	Status    string
}

// Deals persists registered deals. Both adapters implement it next to
// Store; the service asserts it on the store it is given.
//
// An open partner deal (registered, conflict or approved) holds a claim on
// its (organization, partner, customer domain): a second open deal of the
// same partner on the same domain is ErrConflict, on create and whenever
// an update would reopen one. The claim is written with the deal and
// released by the update that closes it, in the same atomic change, so two
// registrations racing for one domain cannot both succeed. Direct deals and
// closed deals claim nothing.
type Deals interface {
	// CreateDeal stores d at its given revision: ErrConflict when the id is
	// taken or the partner already has an open deal on the domain.
	CreateDeal(ctx context.Context, d domain.Deal) error
	GetDeal(ctx context.Context, orgID, id string) (domain.Deal, error)
	// UpdateDeal stores d with Revision d.Revision+1 if the stored revision
	// is still d.Revision (ErrConflict otherwise; ErrNotFound when the
	// organization has no such deal). The customer domain, partner and
	// source of a deal never change.
	UpdateDeal(ctx context.Context, d domain.Deal) error
	// ListDeals pages through the organization's deals, newest first.
	ListDeals(ctx context.Context, orgID string, f DealFilter, p Page) ([]domain.Deal, string, error)
	// DealsByDomain returns every deal of the organization on one
	// normalised customer domain (domain.NormalizeDomain), oldest first,
	// read consistently: what registration checks for conflicts.
	DealsByDomain(ctx context.Context, orgID, customerDomain string) ([]domain.Deal, error)
}
