package dynamo

import (
	"context"

	"github.com/partnerloop/partnerloop/internal/domain"
	"github.com/partnerloop/partnerloop/internal/store"
)

// byPartner is the GSI2 partition of a partner's referrers (the partner
// portal's links): ORG#<org>#PARTNER#<partner>, sort key REFERRER#<id>.
func byPartner(orgID, partnerID string) string { return "ORG#" + orgID + "#PARTNER#" + partnerID }

// referrerIndexKeys are a referrer's index keys: GSI1 under its program,
// and GSI2 under its partner when it has one (a referrer's partner never
// changes, so the entry never moves).
func referrerIndexKeys(r domain.Referrer) item {
	keys := item{attrGSI1PK: str(byProgram(r.OrgID, r.ProgramID)), attrGSI1SK: str(skReferrer + r.ID)}
	if r.PartnerID != "" {
		keys[attrGSI2PK], keys[attrGSI2SK] = str(byPartner(r.OrgID, r.PartnerID)), str(skReferrer+r.ID)
	}
	return keys
}

// ListReferrersByPartner lists the organization's referrers of the partner
// (GSI2), newest first. An empty partnerID matches nothing.
func (s *Store) ListReferrersByPartner(ctx context.Context, orgID, partnerID string, p store.Page) ([]domain.Referrer, string, error) {
	if partnerID == "" {
		return nil, "", nil
	}
	ctx, done := s.op(ctx, "ListReferrersByPartner")
	defer done()
	q := one(orgID, indexGSI2, byPartner(orgID, partnerID), skReferrer)
	refs, next, err := page(ctx, s, q, p, decodeAs[domain.Referrer])
	return s.withClicks(ctx, refs, next, err)
}
