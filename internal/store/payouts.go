package store

import (
	"context"

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
	PutPayoutDetails(ctx context.Context, d domain.PayoutDetails) error
	// GetPayoutDetails returns them; ErrNotFound when the partner has none.
	GetPayoutDetails(ctx context.Context, orgID, partnerID string) (domain.PayoutDetails, error)
}
