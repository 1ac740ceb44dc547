package pipeline

import (
	"context"
	"errors"
	"fmt"

	"github.com/partnerloop/partnerloop/internal/commission"
	"github.com/partnerloop/partnerloop/internal/domain"
	"github.com/partnerloop/partnerloop/internal/store"
)

// ReconcileDeal records the commission of a won partner deal if it is not
// recorded yet (COMMISSIONS.md, "Which rule applies"): the partner's own
// rule in force when the deal was won, else its tier's; a deal with neither,
// a direct deal, or a deal that is not won earns nothing. The won value is
// priced by the engine that prices conversions — tiered rules take the
// deal's slot in the partner's running total of the rule and period exactly
// once — and the commission, with dealId and partnerId, is available at
// closedAt plus the tier's hold days (0 without them). Its ID is derived
// from the deal and the partner, so a repeated or reordered delivery
// records nothing more.
func (c *Calculator) ReconcileDeal(ctx context.Context, orgID, dealID string) error {
	ds, ok := c.st.(store.Deals)
	if !ok {
		return Permanent(fmt.Errorf("pipeline: deal %s: the store keeps no deals", dealID))
	}
	d, err := ds.GetDeal(ctx, orgID, dealID)
	if errors.Is(err, store.ErrNotFound) {
		return Permanent(fmt.Errorf("pipeline: deal %s of %s not found", dealID, orgID))
	}
	if err != nil {
		return err
	}
	if !d.EarnsCommission() {
		return nil
	}
	if d.ClosedAt == nil {
		return Permanent(fmt.Errorf("pipeline: won deal %s has no closedAt", d.ID))
	}
	ids := commission.CommissionIDs(d.ID, d.PartnerID, string(commission.KindCommission))
	entries, err := c.st.CommissionsOfSource(ctx, orgID, d.ID)
	if err != nil {
		return err
	}
	if hasEntry(entries, ids) {
		return nil
	}
	wonAt := *d.ClosedAt
	terms, err := c.rules.PartnerTerms(ctx, orgID, d.PartnerID, wonAt)
	if err != nil {
		return fmt.Errorf("pipeline: terms of partner %s: %w", d.PartnerID, err)
	}
	if terms.Deactivated {
		return nil
	}
	rule, source, ok := commission.Select(terms.Rule, terms.TierRule, domain.Program{}, true, wonAt)
	if !ok {
		return nil
	}
	won := d.Value
	if d.WonValue != nil {
		won = *d.WonValue
	}
	value := won.Amount

	var (
		state     commission.RunningState
		periodKey string
		ordinal   int64
	)
	if commission.UsesRunningState(rule) {
		key := commission.CounterKey{
			BeneficiaryID: d.PartnerID,
			RuleSource:    source,
			RuleOwnerID:   ruleOwner(source, "", terms.TierID, d.PartnerID),
			PeriodKey:     commission.PeriodKey(rule.Period, wonAt),
		}
		if state, ordinal, err = c.slot(ctx, orgID, key, d.ID, value); err != nil {
			return err
		}
		periodKey = key.PeriodKey
	}
	amount, _, err := commission.Compute(rule, &value, state)
	if err != nil {
		return Permanent(fmt.Errorf("pipeline: deal %s: %w", d.ID, err))
	}
	if !commission.ShouldRecord(amount) {
		return nil
	}
	holdDays := 0
	if terms.HoldDays != nil {
		holdDays = *terms.HoldDays
	}
	entry, audit, err := commission.NewCommission(commission.Earning{
		OrgID: orgID, PartnerID: d.PartnerID, DealID: d.ID, Currency: won.Currency, Amount: amount,
		RuleSource: source, PeriodKey: periodKey, Ordinal: ordinal, OccurredAt: wonAt, HoldDays: holdDays,
	}, commission.ActorSystem, c.now())
	if err != nil {
		return Permanent(fmt.Errorf("pipeline: deal %s: %w", d.ID, err))
	}
	err = c.st.ApplyLedgerChange(ctx, store.LedgerChange{
		OrgID: orgID, Created: []commission.Commission{entry}, Audit: []commission.AuditEntry{audit},
	})
	if errors.Is(err, store.ErrConflict) {
		return nil // recorded meanwhile by another delivery
	}
	return err
}
