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
// The rule is the running total's owner's rule — the program's, the
// partner's own or the partner's tier's — in force at the period's last
// instant (its version is recorded on the adjustment); a running total
// whose rule then is not tiered and retroactive with that period is left
// alone. A partner's or tier's running total holds the partner's
// conversions across programs and its won deals: the adjustment names the
// program (and referrer) only when all of them share one, and is held for
// the tier's hold period, else the longest of its conversions' programs'.
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
	period, _, end, err := commission.ParsePeriodKey(k.PeriodKey)
	if err != nil {
		log.ErrorContext(ctx, "period close: running total of no period; skipped", "err", err)
		return false, nil
	}
	if c.now.Before(end.Add(SettleTime)) {
		return false, nil // not over (long enough) yet
	}
	// The rule in force at the period's last instant decides its close.
	last := end.Add(-time.Nanosecond)
	cr, err := c.closingRule(ctx, orgID, k, last, programs)
	if err != nil {
		return false, err
	}
	if cr == nil {
		log.WarnContext(ctx, "period close: the running total's "+k.RuleSource+" does not exist; skipped")
		return false, nil
	}
	if cr.rule.Type != domain.RuleTiered || cr.rule.Mode != domain.ModeRetroactive || cr.rule.Period != period {
		log.DebugContext(ctx, "period close: the "+k.RuleSource+"'s rule is not retroactive for this period; nothing to adjust")
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
	var (
		referrerID, partnerID, programID, currency string
		holdDays                                   int
	)
	for i, sl := range slots {
		src, err := c.source(ctx, orgID, sl.ConversionID, programs)
		if err != nil {
			return false, fmt.Errorf("conversion or deal %s of slot %d: %w", sl.ConversionID, sl.Ordinal, err)
		}
		entries, err := c.st.CommissionsOfSource(ctx, orgID, src.ID)
		if err != nil {
			return false, err
		}
		pc, settled := periodConversion(cr.ruleAt, k.BeneficiaryID, sl, src, entries)
		if !settled {
			log.WarnContext(ctx, "period close: a conversion or deal of the period is not reconciled yet; the period closes on a later run",
				"sourceId", src.ID)
			return false, nil
		}
		conversions = append(conversions, pc)
		// The beneficiary is the partner when the referrer belongs to one;
		// the adjustment names the referrer (and the program) too when
		// all its conversions share one.
		switch {
		case i == 0:
			referrerID, programID, currency, holdDays = src.ReferrerID, src.ProgramID, src.Currency, src.HoldDays
			if src.PartnerID == k.BeneficiaryID {
				partnerID = src.PartnerID
			}
		default:
			if referrerID != src.ReferrerID {
				referrerID = ""
			}
			if programID != src.ProgramID {
				programID = ""
			}
			if currency != src.Currency {
				log.ErrorContext(ctx, "period close: the running total holds amounts in two currencies; no adjustment can be recorded",
					"currencies", currency+", "+src.Currency)
				return false, nil
			}
			holdDays = max(holdDays, src.HoldDays)
		}
	}
	if partnerID == "" {
		referrerID = k.BeneficiaryID
	}
	if cr.program != nil { // a program's rule: its program, currency and hold period
		programID, currency, holdDays = cr.program.ID, cr.program.Currency, cr.program.HoldDays
	}
	if cr.holdDays != nil {
		holdDays = *cr.holdDays
	}

	amount, err := commission.RetroactiveAdjustment(cr.rule, conversions)
	if err != nil {
		return false, fmt.Errorf("adjustment of %d conversions: %w", len(conversions), err)
	}
	if amount == 0 {
		log.DebugContext(ctx, "period close: nothing to adjust", "conversions", len(conversions))
		return false, nil
	}
	adj, audit, err := commission.NewAdjustment(commission.PeriodAdjustment{
		OrgID: orgID, ProgramID: programID, ReferrerID: referrerID, PartnerID: partnerID,
		Currency: currency, Amount: amount, Counter: k, RuleVersion: cr.version, HoldDays: holdDays,
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
		"amount", amount, "currency", currency, "conversions", len(conversions))
	return true, nil
}

// closingRule is the rule that closes a running total: the version of its
// owner's rule (the program's, the partner's own or the tier's) in force
// at the period's last instant.
type closingRule struct {
	rule    domain.CommissionRule
	version int
	// ruleAt is the owner's rule at another instant, present or not: the
	// rule that priced a conversion or deal of the running total when it
	// occurred.
	ruleAt func(time.Time) (domain.CommissionRule, bool)
	// program is set for a program's rule: the adjustment is in its
	// currency, with its hold period.
	program *domain.Program
	// holdDays is the tier's hold period for a partner's or tier's rule,
	// nil when the tier has none (then the longest of the programs of the
	// running total's conversions, as each of them was held).
	holdDays *int
}

// closingRule returns the rule that closes the running total k, nil when
// its owner does not exist.
func (c *periodCloser) closingRule(ctx context.Context, orgID string, k commission.CounterKey, last time.Time, programs map[string]*domain.Program) (*closingRule, error) {
	switch k.RuleSource {
	case commission.SourceProgram:
		prog, err := c.program(ctx, orgID, k.RuleOwnerID, programs)
		if err != nil || prog == nil {
			return nil, err
		}
		cr := &closingRule{rule: prog.RuleAt(last).Normalize(), program: prog,
			ruleAt: func(t time.Time) (domain.CommissionRule, bool) {
				r, _, ok := commission.Select(nil, nil, *prog, false, t)
				return r, ok
			}}
		if v, ok := commission.VersionAt(prog.RuleVersions, last); ok {
			cr.version = v.Version
		}
		return cr, nil
	case commission.SourcePartner:
		p, err := c.st.GetPartner(ctx, orgID, k.RuleOwnerID)
		if errors.Is(err, store.ErrNotFound) {
			return nil, nil
		}
		if err != nil {
			return nil, err
		}
		cr := &closingRule{ruleAt: func(t time.Time) (domain.CommissionRule, bool) {
			r := p.RuleAt(t)
			if r == nil || r.Type == "" {
				return domain.CommissionRule{}, false
			}
			return r.Normalize(), true
		}}
		cr.rule, _ = cr.ruleAt(last)
		for _, v := range p.RuleVersions {
			if cr.version == 0 || !v.EffectiveFrom.After(last) {
				cr.version = v.Version
			}
		}
		if p.TierID != "" {
			switch t, err := c.st.GetTier(ctx, orgID, p.TierID); {
			case err == nil:
				cr.holdDays = t.HoldDays
			case !errors.Is(err, store.ErrNotFound):
				return nil, err
			}
		}
		return cr, nil
	case commission.SourceTier:
		t, err := c.st.GetTier(ctx, orgID, k.RuleOwnerID)
		if errors.Is(err, store.ErrNotFound) {
			return nil, nil
		}
		if err != nil {
			return nil, err
		}
		cr := &closingRule{rule: t.RuleAt(last).Normalize(), holdDays: t.HoldDays,
			ruleAt: func(at time.Time) (domain.CommissionRule, bool) {
				r := t.RuleAt(at)
				return r.Normalize(), r.Type != ""
			}}
		if v, ok := commission.VersionAt(t.RuleVersions, last); ok {
			cr.version = v.Version
		}
		return cr, nil
	}
	return nil, fmt.Errorf("a running total of a %q rule", k.RuleSource)
}

// periodSource is a conversion or a won partner deal holding a slot of a
// running total, as the period close needs it.
type periodSource struct {
	ID                               string
	ProgramID, ReferrerID, PartnerID string // ProgramID and ReferrerID "" for a deal
	Currency                         string
	HoldDays                         int // its program's; 0 for a deal
	HasValue                         bool
	Refunded                         int64
	RefundedAt                       *time.Time
	OccurredAt                       time.Time // a deal's: when it was won
}

// source reads the conversion or deal with id: running totals of partner
// and tier rules hold both.
func (c *periodCloser) source(ctx context.Context, orgID, id string, programs map[string]*domain.Program) (periodSource, error) {
	conv, err := c.st.GetConversion(ctx, orgID, id)
	if err == nil {
		src := periodSource{ID: conv.ID, ProgramID: conv.ProgramID, ReferrerID: conv.ReferrerID, PartnerID: conv.PartnerID,
			Currency: conv.RefundedAmount.Currency, HasValue: conv.Amount != nil, Refunded: conv.RefundedAmount.Amount,
			RefundedAt: conv.RefundedAt, OccurredAt: conv.OccurredAt}
		if conv.Amount != nil {
			src.Currency = conv.Amount.Currency
		}
		prog, err := c.program(ctx, orgID, conv.ProgramID, programs)
		if err != nil {
			return src, err
		}
		if prog != nil {
			src.HoldDays = prog.HoldDays
			if src.Currency == "" {
				src.Currency = prog.Currency
			}
		}
		return src, nil
	}
	ds, ok := c.st.(store.Deals)
	if !errors.Is(err, store.ErrNotFound) || !ok {
		return periodSource{}, err
	}
	d, err := ds.GetDeal(ctx, orgID, id)
	if err != nil {
		return periodSource{}, err
	}
	if d.ClosedAt == nil {
		return periodSource{}, fmt.Errorf("deal %s holds a slot but was never won", d.ID)
	}
	won := d.Value
	if d.WonValue != nil {
		won = *d.WonValue
	}
	return periodSource{ID: d.ID, PartnerID: d.PartnerID, Currency: won.Currency, HasValue: true, OccurredAt: *d.ClosedAt}, nil
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

// periodConversion is how the conversion (or won deal) holding slot stands
// for commission.RetroactiveAdjustment, from its entries for the
// beneficiary:
//
//   - Value: the value it added to the running total (nil without one);
//   - Paid: the sum of its entries that count — commission, replacement
//     and clawbacks, except the reversed and rejected ones;
//   - Refunded: its refunded amount;
//   - Void: its commission was rejected, or it was refunded in full (its
//     whole value; a conversion without a value: refunded at all).
//
// settled is false while the calculator has not reconciled the conversion:
// its commission is due (ruleAt, the running total's rule at occurredAt,
// prices the slot above zero) but not recorded, or its refunds are not reflected in the
// ledger yet. Re-rating it then would count it wrong, and the calculator
// would not know about the adjustment.
func periodConversion(ruleAt func(time.Time) (domain.CommissionRule, bool), beneficiary string, slot store.PeriodSlot, conv periodSource, entries []commission.Commission) (pc commission.PeriodConversion, settled bool) {
	var value *int64
	if conv.HasValue {
		v := slot.Value
		value = &v
	}
	var mine []commission.Commission
	for _, e := range entries {
		if e.Kind != commission.KindAdjustment && commission.Beneficiary(e.ReferrerID, e.PartnerID) == beneficiary {
			mine = append(mine, e)
		}
	}
	pc = commission.PeriodConversion{Value: value, Refunded: conv.Refunded}
	recorded := false
	firstIDs := commission.CommissionIDs(conv.ID, beneficiary, string(commission.KindCommission))
	for _, e := range mine {
		recorded = recorded || e.ID == firstIDs[0] || e.ID == firstIDs[1]
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
		rule, ok := ruleAt(conv.OccurredAt)
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
