package store

import (
	"context"
	"time"

	"github.com/partnerloop/partnerloop/internal/domain"
)

// PayoutRuns persists payout runs and the payout details partners keep in
// their portal.
type PayoutRuns interface {
	// CreatePayoutRun stores a new run. An organization has at most one
	// unsettled run (domain.PayoutRunStatus.Unsettled): creating a second
	// while one is open or paying, or reusing an id, is ErrConflict, so two
	// runs can never hold the same commission.
	CreatePayoutRun(ctx context.Context, r domain.PayoutRun) error
	GetPayoutRun(ctx context.Context, orgID, id string) (domain.PayoutRun, error)
	// UpdatePayoutRun stores r at Revision+1 if the stored revision is
	// still r.Revision (else ErrConflict; ErrNotFound for no such run). A
	// run updated to a settled status frees the organization's slot for
	// the next run.
	UpdatePayoutRun(ctx context.Context, r domain.PayoutRun) error
	// ListPayoutRuns pages through the organization's runs, newest first.
	ListPayoutRuns(ctx context.Context, orgID string, p Page) ([]domain.PayoutRun, string, error)

	// PutPayoutDetails stores a partner's payout details, replacing any.
	PutPayoutDetails(ctx context.Context, d PayoutDetailsRecord) error
	// SealPayoutDetails replaces a record still kept in clear (no Sealed)
	// with d, a sealed one: the migration of a record written before
	// payout details were sealed. ErrConflict when the stored record is
	// already sealed (a concurrent PutPayoutDetails or SealPayoutDetails
	// won) or gone, so a late migration never overwrites newer details.
	SealPayoutDetails(ctx context.Context, d PayoutDetailsRecord) error
	// GetPayoutDetails returns them; ErrNotFound when the partner has none.
	GetPayoutDetails(ctx context.Context, orgID, partnerID string) (PayoutDetailsRecord, error)
}

// UnsettledPayoutRun returns the organization's open or paying run, nil
// when none. The unsettled run is the newest unless creations raced (then
// the store refused all but one), so the first page holds it.
func UnsettledPayoutRun(ctx context.Context, runs PayoutRuns, orgID string) (*domain.PayoutRun, error) {
	list, _, err := runs.ListPayoutRuns(ctx, orgID, Page{Limit: 10})
	if err != nil {
		return nil, err
	}
	for _, r := range list {
		if r.Status.Unsettled() {
			return &r, nil
		}
	}
	return nil, nil
}

// PayoutDetailsRecord is a partner's payout details as stored. The payouts
// service seals them (internal/secretbox, bound to the organization and the
// partner) into Sealed, so no account number or tax ID is kept in clear —
// nor copied in clear to DynamoDB's stream or the SQLite file. A record
// written before payout details were sealed has them in the clear fields
// instead, until the service first reads it and seals it
// (SealPayoutDetails).
type PayoutDetailsRecord struct {
	OrgID     string    `json:"organizationId"`
	PartnerID string    `json:"partnerId"`
	Sealed    []byte    `json:"sealed,omitempty"`
	UpdatedAt time.Time `json:"updatedAt"`

	// The details of a record written before they were sealed; empty in a
	// sealed record.
	Method           string `json:"method,omitempty"`
	AccountReference string `json:"accountReference,omitempty"`
	TaxID            string `json:"taxId,omitempty"`
}
