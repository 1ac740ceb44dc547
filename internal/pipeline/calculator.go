package pipeline

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/partnerloop/partnerloop/internal/commission"
	"github.com/partnerloop/partnerloop/internal/domain"
	"github.com/partnerloop/partnerloop/internal/store"
)

// LedgerStore is what the calculator reads and writes: the records and the
// commission ledger.
type LedgerStore interface {
	store.Store
	store.Ledger
	// A refund reads which commissions the unsettled payout run holds.
	store.PayoutRuns
}

// PartnerTerms is what a partner brings to the pricing of the conversions
// credited to it (COMMISSIONS.md, "Which rule applies"). Every field is
// optional.
type PartnerTerms struct {
	// Rule is the partner's own rule, nil when it has none.
	Rule *domain.CommissionRule
	// TierID is the partner's tier ("" when it has none): it owns the
	// running totals of TierRule.
	TierID string
	// TierRule is the rule of the partner's tier, nil when it has none.
	TierRule *domain.CommissionRule
	// HoldDays is the tier's hold period, nil to use the program's.
	HoldDays *int
	// Deactivated: the partner was deactivated at or before the moment
	// priced, and earns nothing on it (no rule applies, not even the
	// program's).
	Deactivated bool
}

// RuleSource gives the partner and tier side of rule selection: the
// versions of their rules in force at the moment the conversion occurred
// (COMMISSIONS.md: editing a rule never rewrites what was earned).
type RuleSource interface {
	PartnerTerms(ctx context.Context, orgID, partnerID string, at time.Time) (PartnerTerms, error)
}

// NoPartnerRules is the RuleSource of an installation without partner or
// tier rules: every conversion is priced by its program's rule.
type NoPartnerRules struct{}

// PartnerTerms returns no terms.
func (NoPartnerRules) PartnerTerms(context.Context, string, string, time.Time) (PartnerTerms, error) {
	return PartnerTerms{}, nil
}

// maxConflictRetries bounds how often one message re-reads the ledger after
// losing a race (an optimistic-lock conflict) before it gives the message
// back to the queue.
const maxConflictRetries = 5

// Calculator turns conversions and won deals into ledger entries. It is the
// consumer of the commissions queue and is safe to run concurrently with
// itself and to hand the same message any number of times: it does not act
// on what a message says happened, it reconciles the ledger with the
// conversion's or deal's current state, and every write it makes is conditional (deterministic
// IDs that must not exist, revisions that must not have moved). (The one
// exception to reading the current state: a new conversion handed over by
// the embedded pump is priced from its change's image, which holds all
// that pricing reads; see PrepareBatch.)
type Calculator struct {
	st    LedgerStore
	now   domain.Clock
	rules RuleSource
}

// NewCalculator returns a calculator on st. now stamps ledger entries and
// audit entries; rules nil means NoPartnerRules.
func NewCalculator(st LedgerStore, now domain.Clock, rules RuleSource) *Calculator {
	if now == nil {
		now = domain.SystemClock
	}
	if rules == nil {
		rules = NoPartnerRules{}
	}
	return &Calculator{st: st, now: now, rules: rules}
}

// Handle processes one message. A nil error means its effects are in the
// ledger (or there were none to have); any other error means the message
// should be delivered again, unless IsPermanent.
//
//   - conversion.recorded and conversion.refunded both reconcile the
//     conversion: its commission is priced and recorded if it is not yet
//     (exactly once per conversion and beneficiary, taking the conversion's
//     running-total slot exactly once for tiered rules), then the ledger is
//     brought to reflect the conversion's current refunded total. So a refund
//     that overtakes its conversion's first delivery is not lost, and a
//     replayed or stale message finds nothing left to do.
//   - deal.won reconciles the deal (ReconcileDeal): a won partner deal's
//     commission is recorded once; the store must implement store.Deals.
//   - commission.* notifications are not the calculator's work.
func (c *Calculator) Handle(ctx context.Context, m Message) error {
	switch m.Type {
	case TypeConversionRecorded, TypeConversionRefunded:
		if m.OrgID == "" || m.EntityID == "" {
			return Permanent(fmt.Errorf("pipeline: %s message %s names no conversion", m.Type, m.ID))
		}
		return c.ReconcileConversion(ctx, m.OrgID, m.EntityID)
	case TypeDealWon:
		if m.OrgID == "" || m.EntityID == "" {
			return Permanent(fmt.Errorf("pipeline: %s message %s names no deal", m.Type, m.ID))
		}
		return c.ReconcileDeal(ctx, m.OrgID, m.EntityID)
	}
	if IsNotification(m.Type) {
		return nil
	}
	return Permanent(fmt.Errorf("pipeline: message %s has unknown type %q", m.ID, m.Type))
}

// ReconcileConversion brings the ledger in line with one conversion: its
// commission recorded, and its refunds applied. It re-reads and retries a
// few times when it loses a race with another writer of the same entries.
func (c *Calculator) ReconcileConversion(ctx context.Context, orgID, conversionID string) error {
	var err error
	for range maxConflictRetries {
		if err = c.reconcileOnce(ctx, orgID, conversionID); !errors.Is(err, store.ErrConflict) {
			return err
		}
	}
	return fmt.Errorf("pipeline: conversion %s: still conflicting after %d attempts: %w", conversionID, maxConflictRetries, err)
}

func (c *Calculator) reconcileOnce(ctx context.Context, orgID, conversionID string) error {
	conv, err := c.st.GetConversion(ctx, orgID, conversionID)
	if errors.Is(err, store.ErrNotFound) {
		return Permanent(fmt.Errorf("pipeline: conversion %s of %s not found", conversionID, orgID))
	}
	if err != nil {
		return err
	}
	entries, err := c.st.CommissionsOfSource(ctx, orgID, conv.ID)
	if err != nil {
		return err
	}
	beneficiary := commission.Beneficiary(conv.ReferrerID, conv.PartnerID)
	firstIDs := commission.CommissionIDs(conv.ID, beneficiary, string(commission.KindCommission))
	if !hasEntry(entries, firstIDs) {
		created, err := c.price(ctx, conv)
		switch {
		case errors.Is(err, errRecordedBefore):
			// Recorded meanwhile by another delivery of the conversion.
		case err != nil:
			return err
		case !created:
			return nil // nothing earned, so nothing to refund
		}
		if !refunded(conv) {
			return nil
		}
		if entries, err = c.st.CommissionsOfSource(ctx, orgID, conv.ID); err != nil {
			return err
		}
		if !hasEntry(entries, firstIDs) {
			// Written but not visible yet (an eventually consistent
			// index): read again.
			return fmt.Errorf("pipeline: commission %s not visible yet: %w", firstIDs[0], store.ErrConflict)
		}
	}
	return c.refund(ctx, conv, entries)
}

// refunded reports whether the conversion was refunded: its refunded
// amount, or — for a conversion without a value, refunded in full or not
// at all — its RefundedAt.
func refunded(conv domain.Conversion) bool {
	return conv.RefundedAmount.Amount > 0 || conv.RefundedAt != nil
}

// errRecordedBefore: the commission price was about to record exists.
var errRecordedBefore = errors.New("pipeline: commission recorded before")

// hasEntry reports whether entries hold an entry with one of ids
// (commission.CommissionIDs: the ID an entry gets now, or the one it got
// when it was recorded before).
func hasEntry(entries []commission.Commission, ids [2]string) bool {
	for _, e := range entries {
		if e.ID == ids[0] || e.ID == ids[1] {
			return true
		}
	}
	return false
}

// commissionOf computes the conversion's commission: the ledger change
// that records it, nil when the conversion earns nothing (no rule, or a
// zero amount). The only write it makes is the conversion's slot in a
// running total, for tiered rules. getProgram reads the program (the
// store's GetProgram, or a batch's memo of it).
func (c *Calculator) commissionOf(ctx context.Context, conv domain.Conversion, getProgram programGetter) (*store.LedgerChange, error) {
	prog, err := getProgram(ctx, conv.OrgID, conv.ProgramID)
	if errors.Is(err, store.ErrNotFound) {
		return nil, Permanent(fmt.Errorf("pipeline: program %s of conversion %s not found", conv.ProgramID, conv.ID))
	}
	if err != nil {
		return nil, err
	}
	var terms PartnerTerms
	if conv.PartnerID != "" {
		if terms, err = c.rules.PartnerTerms(ctx, conv.OrgID, conv.PartnerID, conv.OccurredAt); err != nil {
			return nil, fmt.Errorf("pipeline: terms of partner %s: %w", conv.PartnerID, err)
		}
		if terms.Deactivated {
			return nil, nil
		}
	}
	rule, source, ok := commission.Select(terms.Rule, terms.TierRule, prog, false, conv.OccurredAt)
	if !ok {
		return nil, nil
	}
	if conv.Event == domain.EventRenewal {
		// A renewal earns only under a recurring rule and inside its
		// window, counted from the referral's first paid conversion
		// (COMMISSIONS.md, "Recurring commissions"); outside it takes no
		// tier slot either.
		firstPaid, err := store.FirstPaidAt(ctx, c.st, conv.OrgID, conv.ReferralID)
		if err != nil {
			return nil, err
		}
		if firstPaid == nil {
			// Recording a renewal required a paid conversion before it, so
			// it exists: not visible yet (an eventually consistent index).
			// Deliver again rather than decide it earns nothing.
			return nil, fmt.Errorf("pipeline: renewal %s: its referral's first paid conversion is not visible yet", conv.ID)
		}
		if !rule.RenewalEarns(*firstPaid, conv.OccurredAt) {
			return nil, nil
		}
	}
	if conv.Amount != nil && conv.Amount.Currency != prog.Currency {
		return nil, Permanent(fmt.Errorf("pipeline: conversion %s is in %s, its program in %s",
			conv.ID, conv.Amount.Currency, prog.Currency))
	}
	var value *int64
	if conv.Amount != nil {
		v := conv.Amount.Amount
		value = &v
	}

	beneficiary := commission.Beneficiary(conv.ReferrerID, conv.PartnerID)
	var (
		state     commission.RunningState
		periodKey string
		ordinal   int64
	)
	if commission.UsesRunningState(rule) {
		key := commission.CounterKey{
			BeneficiaryID: beneficiary,
			RuleSource:    source,
			RuleOwnerID:   ruleOwner(source, prog.ID, terms.TierID, conv.PartnerID),
			PeriodKey:     commission.PeriodKey(rule.Period, conv.OccurredAt),
		}
		var amount int64
		if value != nil {
			amount = *value
		}
		var err error
		if state, ordinal, err = c.slot(ctx, conv.OrgID, key, conv.ID, amount); err != nil {
			return nil, err
		}
		periodKey = key.PeriodKey
	}

	amount, _, err := commission.Compute(rule, value, state)
	if err != nil {
		return nil, Permanent(fmt.Errorf("pipeline: conversion %s: %w", conv.ID, err))
	}
	if !commission.ShouldRecord(amount) {
		return nil, nil
	}
	holdDays := prog.HoldDays
	if terms.HoldDays != nil {
		holdDays = *terms.HoldDays
	}
	version := 0
	if source == commission.SourceProgram {
		if v, ok := commission.VersionAt(prog.RuleVersions, conv.OccurredAt); ok {
			version = v.Version
		}
	}
	entry, audit, err := commission.NewCommission(commission.Earning{
		OrgID: conv.OrgID, ProgramID: conv.ProgramID, ReferrerID: conv.ReferrerID, PartnerID: conv.PartnerID,
		ConversionID: conv.ID, Currency: prog.Currency, Amount: amount,
		RuleSource: source, RuleVersion: version, PeriodKey: periodKey, Ordinal: ordinal,
		OccurredAt: conv.OccurredAt, HoldDays: holdDays,
	}, commission.ActorSystem, c.now())
	if err != nil {
		return nil, Permanent(fmt.Errorf("pipeline: conversion %s: %w", conv.ID, err))
	}
	return &store.LedgerChange{
		OrgID: conv.OrgID, Created: []commission.Commission{entry}, Audit: []commission.AuditEntry{audit},
	}, nil
}

// price computes the conversion's commission and records it. created is
// false when the conversion earns nothing (no rule, or a zero amount); a
// commission recorded before is errRecordedBefore.
func (c *Calculator) price(ctx context.Context, conv domain.Conversion) (created bool, err error) {
	ch, err := c.commissionOf(ctx, conv, c.st.GetProgram)
	if err != nil || ch == nil {
		return false, err
	}
	return c.record(ctx, *ch)
}

// record writes the ledger change of a new commission (commissionOf); one
// recorded before is errRecordedBefore.
func (c *Calculator) record(ctx context.Context, ch store.LedgerChange) (created bool, err error) {
	err = c.st.ApplyLedgerChange(ctx, ch)
	switch {
	case errors.Is(err, store.ErrConflict):
		return false, errRecordedBefore
	case err != nil:
		return false, err
	}
	return true, nil
}

// ruleOwner is the ID of the record that owns a rule of the given source:
// the program, the partner's tier or the partner.
// slot assigns the conversion or deal sourceID its place in the running
// total of key — exactly once, however often it is delivered — and returns
// the state it is priced at and its ordinal in the period.
func (c *Calculator) slot(ctx context.Context, orgID string, key commission.CounterKey, sourceID string, value int64) (commission.RunningState, int64, error) {
	if key.PeriodKey == "" || key.RuleOwnerID == "" {
		return commission.RunningState{}, 0, Permanent(fmt.Errorf("pipeline: %s: tiered %s rule without a period or owner (%q)",
			sourceID, key.RuleSource, key.String()))
	}
	s, err := c.st.AssignSlot(ctx, orgID, key.String(), sourceID, value)
	if errors.Is(err, domain.ErrOverflow) {
		// The running total cannot take this value: no redelivery cures
		// that, and pricing it on a clamped total would pay the wrong tier.
		return commission.RunningState{}, 0, Permanent(fmt.Errorf("pipeline: %s: %w", sourceID, err))
	}
	if err != nil {
		// Not wrapped: a conflict here is not "recorded before".
		return commission.RunningState{}, 0, fmt.Errorf("pipeline: running total %s: %v", key.String(), err)
	}
	return s.State(), s.Ordinal, nil
}

func ruleOwner(source, programID, tierID, partnerID string) string {
	switch source {
	case commission.SourceProgram:
		return programID
	case commission.SourceTier:
		return tierID
	case commission.SourcePartner:
		return partnerID
	}
	return ""
}
