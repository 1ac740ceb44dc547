package pipeline

import (
	"context"
	"errors"
	"fmt"

	"github.com/partnerloop/partnerloop/internal/commission"
	"github.com/partnerloop/partnerloop/internal/domain"
	"github.com/partnerloop/partnerloop/internal/store"
)

// BatchHandler handles a batch of messages in two steps: PrepareBatch
// makes the reads the batch needs, outside any transaction, and returns
// the step that makes its writes — which the worker runs in one
// transaction with the batch's acknowledgements — and returns each
// message's error, as Handle would have returned it.
type BatchHandler interface {
	PrepareBatch(ctx context.Context, msgs []Message) (write func(ctx context.Context) []error)
}

var _ BatchHandler = (*Calculator)(nil)

// PrepareBatch prices the batch's new conversions: for each
// conversion.recorded message whose conversion has no commission yet and
// no refund, it computes the commission (reads only, but for the slot of
// a tiered rule), and the step it returns records them all. Every other
// message (refunds, deals, conversions priced before) is left to Handle,
// which the returned step calls. The result is what Handle would have
// done with each message, in fewer transactions: the new commissions of
// an organization are written as one ledger change.
func (c *Calculator) PrepareBatch(ctx context.Context, msgs []Message) func(ctx context.Context) []error {
	type prepared struct {
		change *store.LedgerChange // nil: nothing earned
		ok     bool                // priced here; else Handle
		err    error
	}
	plans := make([]prepared, len(msgs))
	programs := memoPrograms(c.st.GetProgram)
	for i, m := range msgs {
		if m.Type == TypeConversionRecorded && m.OrgID != "" && m.EntityID != "" {
			plans[i].change, plans[i].ok, plans[i].err = c.prepareConversion(ctx, m.OrgID, m.EntityID, programs)
		}
	}
	return func(ctx context.Context) []error {
		// The new commissions of each organization in one ledger change
		// first; when that fails (one was recorded meanwhile), one by one.
		recorded := make([]bool, len(msgs))
		byOrg := map[string][]int{}
		for i, p := range plans {
			if p.err == nil && p.ok && p.change != nil {
				byOrg[p.change.OrgID] = append(byOrg[p.change.OrgID], i)
			}
		}
		for org, idx := range byOrg {
			if len(idx) < 2 {
				continue
			}
			all := store.LedgerChange{OrgID: org}
			for _, i := range idx {
				all.Created = append(all.Created, plans[i].change.Created...)
				all.Audit = append(all.Audit, plans[i].change.Audit...)
			}
			if c.st.ApplyLedgerChange(ctx, all) == nil {
				for _, i := range idx {
					recorded[i] = true
				}
			}
		}
		errs := make([]error, len(msgs))
		for i, m := range msgs {
			p := plans[i]
			switch {
			case p.err != nil:
				errs[i] = p.err
			case !p.ok:
				errs[i] = c.Handle(ctx, m)
			case p.change != nil && !recorded[i]:
				if _, err := c.record(ctx, *p.change); err != nil && !errors.Is(err, errRecordedBefore) {
					errs[i] = err // recorded meanwhile by another delivery: done
				}
			}
		}
		return errs
	}
}

// prepareConversion computes the commission of a conversion not priced
// yet and not refunded (ok), or reports that reconciling it takes more
// (!ok: ReconcileConversion).
func (c *Calculator) prepareConversion(ctx context.Context, orgID, conversionID string, getProgram programGetter) (*store.LedgerChange, bool, error) {
	conv, err := c.st.GetConversion(ctx, orgID, conversionID)
	if errors.Is(err, store.ErrNotFound) {
		return nil, false, Permanent(fmt.Errorf("pipeline: conversion %s of %s not found", conversionID, orgID))
	}
	if err != nil || conv.RefundedAmount.Amount > 0 {
		return nil, false, err
	}
	entries, err := c.st.CommissionsOfSource(ctx, orgID, conv.ID)
	if err != nil {
		return nil, false, err
	}
	beneficiary := commission.Beneficiary(conv.ReferrerID, conv.PartnerID)
	if hasEntry(entries, commission.CommissionID(conv.ID, beneficiary, string(commission.KindCommission))) {
		return nil, false, nil
	}
	ch, err := c.commissionOf(ctx, conv, getProgram)
	return ch, err == nil, err
}

// programGetter reads a program (store.Store.GetProgram).
type programGetter func(ctx context.Context, orgID, id string) (domain.Program, error)

// memoPrograms remembers what get answered, for one batch: its
// conversions mostly belong to a few programs, read once each.
func memoPrograms(get programGetter) programGetter {
	type key struct{ org, id string }
	type answer struct {
		p   domain.Program
		err error
	}
	seen := map[key]answer{}
	return func(ctx context.Context, orgID, id string) (domain.Program, error) {
		k := key{orgID, id}
		if a, ok := seen[k]; ok {
			return a.p, a.err
		}
		p, err := get(ctx, orgID, id)
		seen[k] = answer{p, err}
		return p, err
	}
}
