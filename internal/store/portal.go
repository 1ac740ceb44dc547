package store

import (
	"context"

	"github.com/partnerloop/partnerloop/internal/domain"
)

// PartnerReferrers is the partner portal's view of referrers: a partner's
// links across every program of its organization.
type PartnerReferrers interface {
	// ListReferrersByPartner lists the organization's referrers whose
	// PartnerID is partnerID, newest first. An empty partnerID matches
	// nothing (it is not "referrers of no partner").
	ListReferrersByPartner(ctx context.Context, orgID, partnerID string, p Page) ([]domain.Referrer, string, error)
}
