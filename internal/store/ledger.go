package store

import (
	"context"
	"fmt"
	"strings"
	"time"

	"github.com/partnerloop/partnerloop/internal/commission"
)

// Ledger persists the commission ledger and the running totals of tiered
// rules. Every method is atomic, and every write is safe to repeat: the
// commission calculator consumes an at-least-once queue and must have
// exactly-once effects.
type Ledger interface {
	// AssignSlot gives conversionID its place in the running total key
	// (commission.CounterKey.String()): the next ordinal, with the count and
	// revenue before it, adding value to the revenue. It happens exactly once
	// per (key, conversionID): a repeated call returns the first call's slot
	// unchanged, and concurrent calls for different conversions get distinct
	// ordinals 1, 2, 3, … with none skipped.
	AssignSlot(ctx context.Context, orgID, key, conversionID string, value int64) (PeriodSlot, error)
	// ListSlots returns the slots of one running total in ordinal order
	// (period close re-rates them).
	ListSlots(ctx context.Context, orgID, key string) ([]PeriodSlot, error)
	// RunningTotals lists the keys of the organization's running totals of
	// one period (PeriodOfKey(key) == periodKey) that hold at least one
	// slot, in ascending order: what the period-close job re-rates. A key
	// is listed once its first slot is assigned.
	RunningTotals(ctx context.Context, orgID, periodKey string) ([]string, error)

	// ApplyLedgerChange writes a change of the ledger all or nothing:
	// entries in Created must not exist (ErrConflict otherwise — the change
	// was applied before), entries in Updated must still have the Revision
	// they were read with (ErrConflict otherwise; stored with Revision+1),
	// Audit entries are appended, and Refund, when set, moves the
	// conversion's refunded amount from From to To (ErrConflict if it is no
	// longer From).
	ApplyLedgerChange(ctx context.Context, ch LedgerChange) error
	GetCommission(ctx context.Context, orgID, id string) (commission.Commission, error)
	// ListCommissions pages through entries, newest first by CreatedAt.
	ListCommissions(ctx context.Context, orgID string, f CommissionFilter, p Page) ([]commission.Commission, string, error)
	// CommissionsOfSource lists every entry of one conversion or deal (its
	// commission, replacements, clawbacks), oldest first.
	CommissionsOfSource(ctx context.Context, orgID, conversionOrDealID string) ([]commission.Commission, error)
	// CommissionsOfSources lists the entries of each of the conversions
	// or deals, by source ID (a source without entries is absent), each
	// list oldest first: CommissionsOfSource for a batch.
	CommissionsOfSources(ctx context.Context, orgID string, sourceIDs []string) (map[string][]commission.Commission, error)
	// ListAudit returns the audit trail of one entry, oldest first.
	ListAudit(ctx context.Context, orgID, commissionID string) ([]commission.AuditEntry, error)
}

// PeriodOfKey is the period key a running total's key names: its last
// "/"-separated part (commission.CounterKey.String() ends with it), e.g.
// "2026-03" for "rfr_1/program/prg_1/2026-03".
func PeriodOfKey(key string) string {
	return key[strings.LastIndexByte(key, '/')+1:]
}

// PeriodSlot is one conversion's place in a running total.
type PeriodSlot struct {
	Key           string `json:"key"`
	ConversionID  string `json:"conversionId"`
	Ordinal       int64  `json:"ordinal"`       // 1 for the period's first conversion
	RevenueBefore int64  `json:"revenueBefore"` // running revenue before this conversion
	Value         int64  `json:"value"`
}

// NextSlot is the slot a conversion of value takes in the running total
// key whose state before it is before, with the state after it. Adapters
// call it inside the write that assigns the slot; the arithmetic is the
// engine's: a total that would overflow is an error (wrapping
// domain.ErrOverflow) and no slot is assigned.
func NextSlot(key, conversionID string, before commission.RunningState, value int64) (PeriodSlot, commission.RunningState, error) {
	next, err := before.Add(&value)
	if err != nil {
		return PeriodSlot{}, before, fmt.Errorf("store: running total %s, conversion %s: %w", key, conversionID, err)
	}
	slot := PeriodSlot{Key: key, ConversionID: conversionID, Ordinal: before.Ordinal(), RevenueBefore: before.Revenue, Value: value}
	return slot, next, nil
}

// State is the running total before the slot's conversion.
func (s PeriodSlot) State() commission.RunningState {
	return commission.RunningState{Count: s.Ordinal - 1, Revenue: s.RevenueBefore}
}

// LedgerChange is one atomic change of the ledger.
type LedgerChange struct {
	OrgID   string
	Created []commission.Commission
	Updated []commission.Commission
	Audit   []commission.AuditEntry
	Refund  *RefundChange
	// UnsettledRun, when set, makes the change conditional on the
	// organization's unsettled (open or paying) payout run: it is applied
	// only if that is still the run named ("" for none), else ErrConflict.
	// A writer that decided how to change entries by the run holding them
	// (a refund, see internal/pipeline) so knows that no run was created or
	// settled in between.
	UnsettledRun *string
}

// RefundChange moves a conversion's refunded amount (compare-and-set) and
// sets its RefundedAt to At.
type RefundChange struct {
	ConversionID string
	From, To     int64
	At           time.Time
}

// CommissionFilter narrows ListCommissions; empty fields match everything.
// From and To bound CreatedAt: From <= createdAt < To.
type CommissionFilter struct {
	PartnerID  string
	ReferrerID string
	ProgramID  string
	Status     string
	From, To   time.Time
}
