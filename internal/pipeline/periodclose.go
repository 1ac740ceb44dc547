package pipeline

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"strings"
	"time"

	"github.com/partnerloop/partnerloop/internal/commission"
	"github.com/partnerloop/partnerloop/internal/domain"
	"github.com/partnerloop/partnerloop/internal/store"
)

// SettleTime is how long after a period's end ClosePeriods waits before it
// closes the period: conversions of the period's last moments may still be
// on their way through the pipeline (queued, or retried with backoff) and
// must hold their slots, and their commissions be recorded, before the
// period is re-rated.
const SettleTime = time.Hour

// periodKinds are the periods of tiered rules, in the order they are closed.
var periodKinds = []string{domain.PeriodMonth, domain.PeriodQuarter, domain.PeriodYear}

// ClosePeriods is the period-close job (COMMISSIONS.md, "Tiered rules",
// mode retroactive). For every organization and every period kind it
// closes the most recently ended period and the one before it (catching up
// after downtime), once each has been over for SettleTime: for each running
// total of the period (store.Ledger.RunningTotals) priced by a program's
// tiered retroactive rule, every conversion holding a slot is re-rated at
// the tier reached by the period's final total, and one pending adjustment
// commission records re-rated − recorded (commission.RetroactiveAdjustment,
// commission.NewAdjustment).
//
// The rule is the program's rule in force at the period's last instant (its
// version is recorded on the adjustment); a running total whose rule then
// is not tiered and retroactive with that period is left alone. Running
// totals of partner and tier rules are skipped (partners come later).
//
// It is safe to run at any time, as often as wanted, concurrently with
// itself and with the calculator: the adjustment's ID is derived from the
// running total (commission.AdjustmentID) and the store creates it only if
// absent, so a period gets exactly one adjustment per running total however
// often it is closed; a zero adjustment records nothing. A running total
// with a conversion whose commission or refund the calculator has not
// reconciled yet is left for a later run (logged), so the adjustment is
// computed from a settled ledger.
//
// created is how many adjustments this run recorded. Errors of one
// organization or running total do not stop the others: they are joined
// into err, and the next run tries again. log nil discards.
func ClosePeriods(ctx context.Context, st LedgerStore, now time.Time, log *slog.Logger) (created int, err error) {
	if log == nil {
		log = slog.New(slog.NewTextHandler(io.Discard, nil))
	}
	c := &periodCloser{st: st, now: now.UTC(), log: log}
	periods := closablePeriods(c.now)
	var errs []error
	page := store.Page{Limit: store.MaxLimit}
	for {
		orgs, next, err := st.ListOrganizations(ctx, page)
		if err != nil {
			errs = append(errs, fmt.Errorf("pipeline: period close: list organizations: %w", err))
			break
		}
		for _, org := range orgs {
			n, err := c.closeOrganization(ctx, org.ID, periods)
			created += n
			if err != nil {
				errs = append(errs, err)
			}
			if ctx.Err() != nil {
				return created, errors.Join(append(errs, ctx.Err())...)
			}
		}
		if next == "" {
			break
		}
		page.Cursor = next
	}
	return created, errors.Join(errs...)
}

// Sweep is another idempotent job of the hourly run (the deals' expiry):
// it returns how many records it changed.
type Sweep struct {
	Name string
	Run  func(ctx context.Context) (int, error)
}

// RunSweeps runs each sweep once, logging what each did; their errors are
// joined.
func RunSweeps(ctx context.Context, sweeps []Sweep, log *slog.Logger) error {
	var errs []error
	for _, s := range sweeps {
		n, err := s.Run(ctx)
		if err != nil {
			errs = append(errs, fmt.Errorf("%s: %w", s.Name, err))
			log.ErrorContext(ctx, s.Name+" failed; retried at the next run", "err", err, "changed", n)
		} else if n > 0 {
			log.InfoContext(ctx, s.Name+" done", "changed", n)
		}
	}
	return errors.Join(errs...)
}

// RunPeriodClose runs ClosePeriods (and then the sweeps) at once and then
// every interval until ctx ends, logging what each run did: the scheduler
// of the one-process modes (on AWS, EventBridge Scheduler runs the
// period-close function). A failed run is logged and retried at the next
// one.
func RunPeriodClose(ctx context.Context, st LedgerStore, now domain.Clock, every time.Duration, log *slog.Logger, sweeps ...Sweep) {
	if log == nil {
		log = slog.New(slog.NewTextHandler(io.Discard, nil))
	}
	tick := time.NewTicker(every)
	defer tick.Stop()
	for {
		created, err := ClosePeriods(ctx, st, now(), log)
		switch {
		case ctx.Err() != nil:
			return
		case err != nil:
			log.ErrorContext(ctx, "period close failed; retried at the next run", "err", err, "created", created)
		case created > 0:
			log.InfoContext(ctx, "period close done", "created", created)
		}
		_ = RunSweeps(ctx, sweeps, log) // logged there
		select {
		case <-ctx.Done():
			return
		case <-tick.C:
		}
	}
}

// closablePeriods lists, per period kind, the keys of the most recently
// ended period and of the one before it, oldest first, leaving out a
// period that ended less than SettleTime before now.
func closablePeriods(now time.Time) []string {
	var keys []string
	for _, kind := range periodKinds {
		current, _, _ := commission.PeriodBounds(kind, now)
		last, _, _ := commission.PeriodBounds(kind, current.Add(-time.Nanosecond))
		before, _, _ := commission.PeriodBounds(kind, last.Add(-time.Nanosecond))
		for _, p := range []struct{ start, end time.Time }{{before, last}, {last, current}} {
			if !now.Before(p.end.Add(SettleTime)) {
				keys = append(keys, commission.PeriodKey(kind, p.start))
			}
		}
	}
	return keys
}

// periodCloser is one run of ClosePeriods.
type periodCloser struct {
	st  LedgerStore
	now time.Time
	log *slog.Logger
}

// closeOrganization closes the organization's running totals of the given
// periods and returns how many adjustments it recorded.
func (c *periodCloser) closeOrganization(ctx context.Context, orgID string, periods []string) (int, error) {
	programs := map[string]*domain.Program{} // nil: no such program
	var (
		created int
		errs    []error
	)
	for _, period := range periods {
		keys, err := c.st.RunningTotals(ctx, orgID, period)
		if err != nil {
			errs = append(errs, fmt.Errorf("pipeline: period close: running totals of %s in organization %s: %w", period, orgID, err))
			continue
		}
		for _, key := range keys {
			if ctx.Err() != nil {
				return created, errors.Join(errs...)
			}
			ok, err := c.closeRunningTotal(ctx, orgID, key, programs)
			if err != nil {
				errs = append(errs, fmt.Errorf("pipeline: period close: organization %s, running total %s: %w", orgID, key, err))
			}
			if ok {
				created++
			}
		}
	}
	return created, errors.Join(errs...)
}

// closeRunningTotal records the adjustment of one running total of a closed
// period, if it has one and it is not recorded yet. created reports whether
// this call recorded it.
func (c *periodCloser) closeRunningTotal(ctx context.Context, orgID, key string, programs map[string]*domain.Program) (created bool, err error) {
	log := c.log.With("organizationId", orgID, "key", key)
	k, ok := parseCounterKey(key)
	if !ok {
		log.ErrorContext(ctx, "period close: running total key not understood; skipped")
		return false, nil
	}
	if k.RuleSource != commission.SourceProgram {
		log.DebugContext(ctx, "period close: running total of a "+k.RuleSource+" rule; not closed yet (partners come later)")
		return false, nil
	}
	period, _, end, err := commission.ParsePeriodKey(k.PeriodKey)
	if err != nil {
		log.ErrorContext(ctx, "period close: running total of no period; skipped", "err", err)
		return false, nil
	}
	if c.now.Before(end.Add(SettleTime)) {
		return false, nil // not over (long enough) yet
	}
	prog, err := c.program(ctx, orgID, k.RuleOwnerID, programs)
	if err != nil {
		return false, err
	}
	if prog == nil {
		log.WarnContext(ctx, "period close: the running total's program does not exist; skipped")
		return false, nil
	}
	// The rule in force at the period's last instant decides its close.
	last := end.Add(-time.Nanosecond)
	rule := prog.RuleAt(last).Normalize()
	if rule.Type != domain.RuleTiered || rule.Mode != domain.ModeRetroactive || rule.Period != period {
		log.DebugContext(ctx, "period close: the program's rule is not retroactive for this period; nothing to adjust")
		return false, nil
	}
	id := commission.AdjustmentID(k)
	switch _, err := c.st.GetCommission(ctx, orgID, id); {
	case err == nil:
		return false, nil // closed before
	case !errors.Is(err, store.ErrNotFound):
		return false, err
	}

	slots, err := c.st.ListSlots(ctx, orgID, key)
	if err != nil {
		return false, err
	}
	conversions := make([]commission.PeriodConversion, 0, len(slots))
	var referrerID, partnerID string
	for i, sl := range slots {
		conv, err := c.st.GetConversion(ctx, orgID, sl.ConversionID)
		if err != nil {
			return false, fmt.Errorf("conversion %s of slot %d: %w", sl.ConversionID, sl.Ordinal, err)
		}
		entries, err := c.st.CommissionsOfSource(ctx, orgID, conv.ID)
		if err != nil {
			return false, err
		}
		pc, settled := periodConversion(*prog, k.BeneficiaryID, sl, conv, entries)
		if !settled {
			log.WarnContext(ctx, "period close: a conversion of the period is not reconciled yet; the period closes on a later run",
				"conversionId", conv.ID)
			return false, nil
		}
		conversions = append(conversions, pc)
		// The beneficiary is the partner when the referrer belongs to one;
		// the adjustment names the referrer too when all its conversions
		// share one.
		switch {
		case i == 0:
			referrerID = conv.ReferrerID
			if conv.PartnerID == k.BeneficiaryID {
				partnerID = conv.PartnerID
			}
		case referrerID != conv.ReferrerID:
			referrerID = ""
		}
	}
	if partnerID == "" {
		referrerID = k.BeneficiaryID
	}

	amount, err := commission.RetroactiveAdjustment(rule, conversions)
	if err != nil {
		return false, fmt.Errorf("adjustment of %d conversions: %w", len(conversions), err)
	}
	if amount == 0 {
		log.DebugContext(ctx, "period close: nothing to adjust", "conversions", len(conversions))
		return false, nil
	}
	version := 0
	if v, ok := commission.VersionAt(prog.RuleVersions, last); ok {
		version = v.Version
	}
	adj, audit, err := commission.NewAdjustment(commission.PeriodAdjustment{
		OrgID: orgID, ProgramID: prog.ID, ReferrerID: referrerID, PartnerID: partnerID,
		Currency: prog.Currency, Amount: amount, Counter: k, RuleVersion: version, HoldDays: prog.HoldDays,
	}, commission.ActorSystem, c.now)
	if err != nil {
		return false, err
	}
	err = c.st.ApplyLedgerChange(ctx, store.LedgerChange{
		OrgID: orgID, Created: []commission.Commission{adj}, Audit: []commission.AuditEntry{audit},
	})
	switch {
	case errors.Is(err, store.ErrConflict):
		return false, nil // recorded meanwhile by another run
	case err != nil:
		return false, err
	}
	log.InfoContext(ctx, "period close: retroactive adjustment recorded", "commissionId", adj.ID,
		"amount", amount, "currency", prog.Currency, "conversions", len(conversions))
	return true, nil
}

// program returns the organization's program with id, nil when there is
// none, reading each program once per organization.
func (c *periodCloser) program(ctx context.Context, orgID, id string, cache map[string]*domain.Program) (*domain.Program, error) {
	if p, ok := cache[id]; ok {
		return p, nil
	}
	p, err := c.st.GetProgram(ctx, orgID, id)
	switch {
	case errors.Is(err, store.ErrNotFound):
		cache[id] = nil
		return nil, nil
	case err != nil:
		return nil, err
	}
	cache[id] = &p
	return &p, nil
}

// parseCounterKey is the inverse of commission.CounterKey.String.
func parseCounterKey(key string) (commission.CounterKey, bool) {
	parts := strings.Split(key, "/")
	if len(parts) != 4 {
		return commission.CounterKey{}, false
	}
	for _, p := range parts {
		if p == "" {
			return commission.CounterKey{}, false
		}
	}
	return commission.CounterKey{BeneficiaryID: parts[0], RuleSource: parts[1], RuleOwnerID: parts[2], PeriodKey: parts[3]}, true
}

// periodConversion is how the conversion holding slot stands for
// commission.RetroactiveAdjustment, from its entries for the beneficiary:
//
//   - Value: the value it added to the running total (nil without one);
//   - Paid: the sum of its entries that count — commission, replacement
//     and clawbacks, except the reversed and rejected ones;
//   - Refunded: its refunded amount;
//   - Void: its commission was rejected, or it was refunded in full (its
//     whole value; a conversion without a value: refunded at all).
//
// settled is false while the calculator has not reconciled the conversion:
// its commission is due (the program's rule at occurredAt prices the slot
// above zero) but not recorded, or its refunds are not reflected in the
// ledger yet. Re-rating it then would count it wrong, and the calculator
// would not know about the adjustment.
func periodConversion(prog domain.Program, beneficiary string, slot store.PeriodSlot, conv domain.Conversion, entries []commission.Commission) (pc commission.PeriodConversion, settled bool) {
	var value *int64
	if conv.Amount != nil {
		v := slot.Value
		value = &v
	}
	var mine []commission.Commission
	for _, e := range entries {
		if e.Kind != commission.KindAdjustment && commission.Beneficiary(e.ReferrerID, e.PartnerID) == beneficiary {
			mine = append(mine, e)
		}
	}
	pc = commission.PeriodConversion{Value: value, Refunded: conv.RefundedAmount.Amount}
	recorded := false
	firstID := commission.CommissionID(conv.ID, beneficiary, string(commission.KindCommission))
	for _, e := range mine {
		recorded = recorded || e.ID == firstID
		switch e.Status {
		case commission.StatusReversed:
		case commission.StatusRejected:
			pc.Void = pc.Void || e.Kind == commission.KindCommission
		default:
			pc.Paid += e.Amount.Amount // a few entries of one conversion, each ≤ its bounded value
		}
	}
	hasValue := value != nil && *value > 0
	switch {
	case hasValue && pc.Refunded >= *value:
		pc.Void = true
	case !hasValue && conv.RefundedAt != nil:
		pc.Void = true
	}

	if !recorded {
		// Nothing recorded: fine if the conversion earned nothing.
		rule, _, ok := commission.Select(nil, nil, prog, false, conv.OccurredAt)
		if !ok {
			return pc, true
		}
		amount, _, err := commission.Compute(rule, value, slot.State())
		// A slot the store assigned never overflows; if it did, the
		// conversion is not settled and the period stays open.
		return pc, err == nil && !commission.ShouldRecord(amount)
	}
	for _, ch := range chains(mine) {
		_, earned, taken, ok := ch.owed()
		if !ok {
			continue
		}
		switch {
		case hasValue && takenBack(earned, min(pc.Refunded, *value), *value) > taken:
			return pc, false // a refund the calculator has not applied yet
		case !hasValue && conv.RefundedAt != nil && taken < earned:
			return pc, false
		}
	}
	return pc, true
}
