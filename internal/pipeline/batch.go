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
//
// A message the pump routed carries its conversion as recorded (its
// change's new image, Message.conv), which is priced as it is, unread:
// pricing reads nothing a refund changes, and a refund is a later change
// of the conversion, whose conversion.refunded message is handled after
// this one — in a later batch, or later in this one. In this one, though,
// Handle would not see the commission this batch records (the step's reads
// do not see its writes before they commit), so a conversion refunded in
// the same batch is read, as without an image: found refunded, it is left
// to Handle whole (priced and refunded by ReconcileConversion).
// Conversions are never deleted (nor anonymized): the one an image shows
// is the one a read would find, refunds aside.
func (c *Calculator) PrepareBatch(ctx context.Context, msgs []Message) func(ctx context.Context) []error {
	type prepared struct {
		change *store.LedgerChange // nil: nothing earned
		ok     bool                // priced here; else Handle
		err    error
	}
	plans := make([]prepared, len(msgs))
	programs := memoPrograms(c.st.GetProgram)
	images := recordedImages(msgs)
	read := c.readConversions(ctx, msgs, images)
	for i, m := range msgs {
		if isPriceable(m) {
			plans[i].change, plans[i].ok, plans[i].err = c.prepareConversion(ctx, m.OrgID, m.EntityID, images[i], programs, read[m.OrgID])
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

// isPriceable tells the messages PrepareBatch may price itself.
func isPriceable(m Message) bool {
	return m.Type == TypeConversionRecorded && m.OrgID != "" && m.EntityID != ""
}

// conversionsRead is what a batch read of one organization's conversions
// found: the conversions by ID and their ledger entries by conversion ID.
type conversionsRead struct {
	convs   map[string]domain.Conversion
	entries map[string][]commission.Commission
}

// recordedImages returns, for each of msgs, the conversion PrepareBatch
// prices it from without reading it (nil: read it): the image a priceable
// message carries (Message.conv), unless the batch holds a refund of the
// same conversion.
func recordedImages(msgs []Message) []*domain.Conversion {
	type key struct{ org, id string }
	var refunded map[key]bool
	for _, m := range msgs {
		if m.Type == TypeConversionRefunded {
			if refunded == nil {
				refunded = map[key]bool{}
			}
			refunded[key{m.OrgID, m.EntityID}] = true
		}
	}
	images := make([]*domain.Conversion, len(msgs))
	for i, m := range msgs {
		if m.conv != nil && isPriceable(m) && !refunded[key{m.OrgID, m.EntityID}] {
			images[i] = m.conv
		}
	}
	return images
}

// readConversions reads the conversions of the batch's priceable messages
// that have no image (images, recordedImages) and the ledger entries of
// all of them, one query each per organization instead of two per
// conversion. An organization whose read fails is left out: its
// conversions are read one by one.
func (c *Calculator) readConversions(ctx context.Context, msgs []Message, images []*domain.Conversion) map[string]*conversionsRead {
	ids := map[string][]string{}
	unread := map[string][]string{}
	for i, m := range msgs {
		if isPriceable(m) {
			ids[m.OrgID] = append(ids[m.OrgID], m.EntityID)
			if images[i] == nil {
				unread[m.OrgID] = append(unread[m.OrgID], m.EntityID)
			}
		}
	}
	out := map[string]*conversionsRead{}
	for org, list := range ids {
		if len(list) < 2 {
			continue // one by one costs the same
		}
		var convs map[string]domain.Conversion
		var err error
		if need := unread[org]; len(need) > 0 {
			if convs, err = c.st.GetConversions(ctx, org, need); err != nil {
				continue
			}
		}
		entries, err := c.st.CommissionsOfSources(ctx, org, list)
		if err != nil {
			continue
		}
		out[org] = &conversionsRead{convs: convs, entries: entries}
	}
	return out
}

// prepareConversion computes the commission of a conversion not priced
// yet and not refunded (ok), or reports that reconciling it takes more
// (!ok: ReconcileConversion). image, when not nil, is the conversion as
// recorded (recordedImages); read, when not nil, holds the conversion
// (unless image is set) and its entries (readConversions); else they are
// read here.
func (c *Calculator) prepareConversion(ctx context.Context, orgID, conversionID string, image *domain.Conversion, getProgram programGetter, read *conversionsRead) (*store.LedgerChange, bool, error) {
	var conv domain.Conversion
	var err error
	switch {
	case image != nil:
		conv = *image
	case read != nil:
		var found bool
		if conv, found = read.convs[conversionID]; !found {
			err = store.ErrNotFound
		}
	default:
		conv, err = c.st.GetConversion(ctx, orgID, conversionID)
	}
	if errors.Is(err, store.ErrNotFound) {
		return nil, false, Permanent(fmt.Errorf("pipeline: conversion %s of %s not found", conversionID, orgID))
	}
	if err != nil || refunded(conv) {
		return nil, false, err
	}
	var entries []commission.Commission
	if read != nil {
		entries = read.entries[conv.ID]
	} else if entries, err = c.st.CommissionsOfSource(ctx, orgID, conv.ID); err != nil {
		return nil, false, err
	}
	beneficiary := commission.Beneficiary(conv.ReferrerID, conv.PartnerID)
	if hasEntry(entries, commission.CommissionIDs(conv.ID, beneficiary, string(commission.KindCommission))) {
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
