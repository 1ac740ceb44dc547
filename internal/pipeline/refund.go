package pipeline

import (
	"context"
	"fmt"
	"math/big"
	"time"

	"github.com/partnerloop/partnerloop/internal/commission"
	"github.com/partnerloop/partnerloop/internal/domain"
	"github.com/partnerloop/partnerloop/internal/store"
)

// refund brings the conversion's ledger entries to reflect its current
// refunded total, in one atomic ledger change. What the ledger already
// reflects is read from the ledger itself, never from a message, so a
// refund delivered twice, late or out of order changes nothing the second
// time, and two refunds that arrive as one (the conversion read after both)
// are applied as one.
//
// For each chain of entries of the conversion (a first commission with its
// replacements and clawbacks), with A the amount first earned, V the
// conversion's value and F its refunded total, the ledger owes back
// T(F) = round(A × F / V) (commission.Refund's cumulative target). The part
// already taken back is A minus the live entry's amount (a replacement
// carries A − T) plus every clawback's amount, whatever the clawback's
// status (a rejected clawback is a decision, not a debt). When T(F) is more
// than that, commission.Refund moves the live entry on: reversed with a
// pending replacement, or — once paid — a pending clawback; the derived
// IDs depend on F, so the change is applied once.
//
// A conversion without a value is refunded in full or not at all: its
// RefundedAt marks the refund (its refunded amount stays 0).
//
// An approved entry that the organization's unsettled payout run holds is
// refunded as if paid (commission.RefundHeld): the run pays it as exported
// and a clawback takes the refund back from a later run, so a refund never
// leaves a run stale or stuck half paid. The change is then conditional on
// that run still being the unsettled one (store.LedgerChange.UnsettledRun):
// a run created or settled in between makes it ErrConflict, read again. A
// chain clawed back while approved keeps being refunded by clawbacks, even
// once no run holds it (a cancelled run): reversing its live entry then
// would take back again what the clawbacks took.
func (c *Calculator) refund(ctx context.Context, conv domain.Conversion, entries []commission.Commission) error {
	if conv.Amount == nil || conv.Amount.Amount <= 0 {
		if conv.RefundedAt == nil {
			return nil
		}
		return c.refundInFull(ctx, conv, entries)
	}
	if conv.RefundedAmount.Amount <= 0 {
		return nil
	}
	value := conv.Amount.Amount
	total := min(conv.RefundedAmount.Amount, value)
	now := c.now()

	ch := store.LedgerChange{OrgID: conv.OrgID}
	var run unsettledRun
	for _, chain := range chains(entries) {
		live, earned, taken, ok := chain.owed()
		if !ok {
			continue // all reversed (refunded in full), or nothing was owed
		}
		if takenBack(earned, total, value) <= taken {
			continue // the ledger reflects this refunded total already
		}
		already, ok := refundedFor(earned, taken, value)
		if !ok {
			return Permanent(fmt.Errorf("pipeline: conversion %s: entry %s has %d of %d taken back, which no refunded amount of %d gives",
				conv.ID, live.ID, taken, earned, value))
		}
		refund, err := c.refunder(ctx, &ch, &run, chain, live)
		if err != nil {
			return err
		}
		out, err := refund(live, value, total-already, already, commission.ActorSystem, now)
		if err != nil {
			return Permanent(fmt.Errorf("pipeline: conversion %s: refund of entry %s: %w", conv.ID, live.ID, err))
		}
		addOutcome(&ch, out)
	}
	return c.applyRefunds(ctx, ch)
}

// refunder returns how the chain's live entry is refunded: as if paid
// (commission.RefundHeld) when it is approved and either the unsettled
// payout run holds it or it was clawed back before; else commission.Refund.
// The unsettled run is read once per change (into run), which it makes
// conditional on that run.
func (c *Calculator) refunder(ctx context.Context, ch *store.LedgerChange, run *unsettledRun, chain chain, live commission.Commission) (func(commission.Commission, int64, int64, int64, string, time.Time) (commission.RefundOutcome, error), error) {
	if live.Status != commission.StatusApproved {
		return commission.Refund, nil
	}
	if len(chain.clawbacks) > 0 {
		return commission.RefundHeld, nil
	}
	if !run.read {
		r, err := store.UnsettledPayoutRun(ctx, c.st, ch.OrgID)
		if err != nil {
			return nil, err
		}
		id := ""
		if r != nil {
			id = r.ID
		}
		run.read, run.run, ch.UnsettledRun = true, r, &id
	}
	if run.run != nil && run.run.Holds(live.ID) {
		return commission.RefundHeld, nil
	}
	return commission.Refund, nil
}

// unsettledRun is the organization's unsettled payout run as a change read
// it (run nil: none).
type unsettledRun struct {
	read bool
	run  *domain.PayoutRun
}

// applyRefunds writes the refunds gathered in ch, if any. ErrConflict:
// another writer moved an entry (or applied this refund) since it was
// read; the caller reads again.
func (c *Calculator) applyRefunds(ctx context.Context, ch store.LedgerChange) error {
	if len(ch.Updated) == 0 && len(ch.Created) == 0 {
		return nil // (an UnsettledRun condition alone guards nothing)
	}
	return c.st.ApplyLedgerChange(ctx, ch)
}

// addOutcome adds what commission.Refund decided to the ledger change.
func addOutcome(ch *store.LedgerChange, out commission.RefundOutcome) {
	if out.Reversed != nil {
		ch.Updated = append(ch.Updated, *out.Reversed)
	}
	if out.Added != nil {
		ch.Created = append(ch.Created, *out.Added)
	}
	ch.Audit = append(ch.Audit, out.Audit...)
}

// owed returns the chain's live entry, the amount first earned on it and
// how much refunds have taken back so far: A minus the live entry's amount
// (a replacement carries A − T) plus every clawback, whatever its status.
// ok is false when nothing can be taken back: every entry is reversed, the
// live one was rejected, or nothing was earned.
func (c chain) owed() (live commission.Commission, earned, taken int64, ok bool) {
	live, ok = c.live()
	if !ok || live.Status == commission.StatusRejected {
		return live, 0, 0, false
	}
	earned = live.OriginalAmount
	if earned == 0 {
		earned = live.Amount.Amount
	}
	if earned <= 0 {
		return live, 0, 0, false
	}
	taken = earned - live.Amount.Amount
	for _, cb := range c.clawbacks {
		taken -= cb.Amount.Amount
	}
	return live, earned, taken, true
}

// chain is a first commission of a conversion with the entries derived from
// it by refunds, oldest first.
type chain struct {
	commissions []commission.Commission // the first one and its replacements
	clawbacks   []commission.Commission
}

// live is the chain's current commission: its latest entry that is not
// reversed. ok is false when every one is reversed.
func (c chain) live() (commission.Commission, bool) {
	for i := len(c.commissions) - 1; i >= 0; i-- {
		if c.commissions[i].Status != commission.StatusReversed {
			return c.commissions[i], true
		}
	}
	return commission.Commission{}, false
}

// chains groups a conversion's entries (oldest first) by the commission
// they derive from, in the order the first commissions were created.
// Adjustments belong to a period, not a conversion, and are left out.
func chains(entries []commission.Commission) []chain {
	var (
		order []string
		by    = map[string]*chain{}
	)
	for _, e := range entries {
		root := e.OriginalID
		if root == "" {
			root = e.ID
		}
		ch, ok := by[root]
		if !ok {
			ch = &chain{}
			by[root] = ch
			order = append(order, root)
		}
		switch e.Kind {
		case commission.KindCommission:
			ch.commissions = append(ch.commissions, e)
		case commission.KindClawback:
			ch.clawbacks = append(ch.clawbacks, e)
		}
	}
	out := make([]chain, 0, len(order))
	for _, root := range order {
		out = append(out, *by[root])
	}
	return out
}

// takenBack is the part of earned owed back once refunded of value has been
// refunded: round(earned × refunded / value), half away from zero, exactly
// earned when everything is refunded — the cumulative target of
// commission.Refund, in exact integers. It expects earned ≥ 0 and
// 0 ≤ refunded ≤ value, value > 0.
func takenBack(earned, refunded, value int64) int64 {
	if refunded <= 0 {
		return 0
	}
	if refunded >= value {
		return earned
	}
	// floor((2·earned·refunded + value) / (2·value)): half up on
	// non-negative operands, which is half away from zero.
	n := new(big.Int).Mul(big.NewInt(earned), big.NewInt(refunded))
	n.Lsh(n, 1).Add(n, big.NewInt(value))
	d := new(big.Int).Lsh(big.NewInt(value), 1)
	return n.Quo(n, d).Int64()
}

// refundedFor returns the smallest refunded amount whose target is taken,
// so that commission.Refund, given it as the amount already refunded, takes
// back exactly what is left. ok is false when no amount has that target.
func refundedFor(earned, taken, value int64) (int64, bool) {
	lo, hi := int64(0), value // takenBack is non-decreasing in refunded
	for lo < hi {
		mid := lo + (hi-lo)/2
		if takenBack(earned, mid, value) >= taken {
			hi = mid
		} else {
			lo = mid + 1
		}
	}
	return lo, takenBack(earned, lo, value) == taken
}

// refundInFull refunds every chain of a conversion without a value in
// full: a pending or approved entry is reversed, a paid one gets a clawback
// of its whole amount. A chain already refunded in full is left alone, so
// the change is applied once.
func (c *Calculator) refundInFull(ctx context.Context, conv domain.Conversion, entries []commission.Commission) error {
	now := c.now()
	ch := store.LedgerChange{OrgID: conv.OrgID}
	var run unsettledRun
	for _, chain := range chains(entries) {
		live, earned, taken, ok := chain.owed()
		if !ok || taken >= earned {
			continue
		}
		refund, err := c.refunder(ctx, &ch, &run, chain, live)
		if err != nil {
			return err
		}
		out, err := refund(live, 0, 0, 0, commission.ActorSystem, now)
		if err != nil {
			return Permanent(fmt.Errorf("pipeline: conversion %s: full refund of entry %s: %w", conv.ID, live.ID, err))
		}
		addOutcome(&ch, out)
	}
	return c.applyRefunds(ctx, ch)
}
