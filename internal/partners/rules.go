package partners

import (
	"context"
	"errors"
	"time"

	"github.com/partnerloop/partnerloop/internal/pipeline"
	"github.com/partnerloop/partnerloop/internal/store"
)

// RuleSource is the commission calculator's pipeline.RuleSource over the
// store: a partner's own rule, its tier's rule and the tier's hold period
// (COMMISSIONS.md, "Which rule applies").
type RuleSource struct {
	store store.Store
}

var _ pipeline.RuleSource = RuleSource{}

// NewRuleSource returns the RuleSource of the partners in s.
func NewRuleSource(s store.Store) RuleSource {
	return RuleSource{store: s}
}

// PartnerTerms returns the versions of the partner's own rule and of its
// tier's rule in force at at, and the tier's hold period; a partner
// deactivated by at brings Deactivated instead. A partner or tier
// that does not exist (in the organization) brings no terms: the program's
// rule applies.
func (r RuleSource) PartnerTerms(ctx context.Context, orgID, partnerID string, at time.Time) (pipeline.PartnerTerms, error) {
	var terms pipeline.PartnerTerms
	p, err := r.store.GetPartner(ctx, orgID, partnerID)
	if errors.Is(err, store.ErrNotFound) {
		return terms, nil
	}
	if err != nil {
		return terms, err
	}
	if !p.EarnsAt(at) {
		terms.Deactivated = true
		return terms, nil
	}
	terms.Rule = p.RuleAt(at)
	if p.TierID == "" {
		return terms, nil
	}
	t, err := r.store.GetTier(ctx, orgID, p.TierID)
	if errors.Is(err, store.ErrNotFound) {
		return terms, nil
	}
	if err != nil {
		return terms, err
	}
	rule := t.RuleAt(at)
	terms.TierID, terms.TierRule = t.ID, &rule
	if t.HoldDays != nil {
		h := *t.HoldDays
		terms.HoldDays = &h
	}
	return terms, nil
}
