package sqlite

import (
	"context"

	"github.com/partnerloop/partnerloop/internal/domain"
	"github.com/partnerloop/partnerloop/internal/store"
)

// ListReferrersByPartner lists the organization's referrers of the partner,
// newest first, through the referrers_partner expression index (migration
// 8). An empty partnerID matches nothing.
func (s *Store) ListReferrersByPartner(ctx context.Context, orgID, partnerID string, p store.Page) ([]domain.Referrer, string, error) {
	if partnerID == "" {
		return nil, "", nil
	}
	return listPage(ctx, s.r, referrerCols, "referrers", `org_id = ? AND json_extract(data, '$.partnerId') = ?`,
		[]any{orgID, partnerID}, p, scanReferrer, func(r domain.Referrer) string { return r.ID })
}
