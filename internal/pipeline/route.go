package pipeline

import (
	"encoding/json"
	"fmt"
	"time"

	"github.com/partnerloop/partnerloop/internal/domain"
	"github.com/partnerloop/partnerloop/internal/store"
)

// Entities whose changes produce messages (store.Change.Entity).
const (
	EntityConversion = "conversion"
	EntityCommission = "commission"
	EntityDeal       = "deal"
)

// Change operations (store.Change.Op).
const (
	OpInsert = "INSERT"
	OpModify = "MODIFY"
	OpRemove = "REMOVE"
)

// DealWon is the status of a won deal.
const DealWon = "won"

// commissionStatusTypes maps a status a ledger entry moves to onto its
// notification. "pending" is only ever a status at creation.
var commissionStatusTypes = map[string]string{
	"approved": TypeCommissionApproved,
	"rejected": TypeCommissionRejected,
	"paid":     TypeCommissionPaid,
	"reversed": TypeCommissionReversed,
}

// Route turns one record change into the messages it causes. It is pure:
// the same change always gives the same messages, IDs included.
//
//   - conversion INSERT: conversion.recorded;
//   - conversion MODIFY whose refundedAmount.amount grew: conversion.refunded
//     (an absent old image counts as nothing refunded before);
//   - commission INSERT: commission.created;
//   - commission MODIFY that changes the status: commission.<new status>;
//   - deal MODIFY to status won (from any other): deal.won;
//   - everything else (other entities, REMOVE, other modifications): none.
//
// An image that cannot be read is an error: the change cannot be routed.
func Route(c store.Change) ([]Message, error) {
	switch c.Op {
	case OpInsert, OpModify:
	default:
		return nil, nil
	}
	switch c.Entity {
	case EntityConversion:
		return routeConversion(c)
	case EntityCommission:
		return routeCommission(c)
	case EntityDeal:
		return routeDeal(c)
	}
	return nil, nil
}

type conversionImage struct {
	ID             string `json:"id"`
	ProgramID      string `json:"programId"`
	RefundedAmount struct {
		Amount   int64  `json:"amount"`
		Currency string `json:"currency"`
	} `json:"refundedAmount"`
	RefundedAt *time.Time `json:"refundedAt"`
}

type statusImage struct {
	Status string `json:"status"`
}

func routeConversion(c store.Change) ([]Message, error) {
	if c.Op == OpInsert {
		return routeRecorded(c)
	}
	var neu, old conversionImage
	if err := decodeImage(c, "new", c.NewImage, &neu, true); err != nil {
		return nil, err
	}
	if err := decodeImage(c, "old", c.OldImage, &old, false); err != nil {
		return nil, err
	}
	// A refund grows the refunded amount — or, for a conversion without a
	// value, only stamps RefundedAt.
	grew := neu.RefundedAmount.Amount > old.RefundedAmount.Amount
	stamped := neu.RefundedAt != nil && (old.RefundedAt == nil || !old.RefundedAt.Equal(*neu.RefundedAt))
	if !grew && !stamped {
		return nil, nil
	}
	return one(c, TypeConversionRefunded, ConversionPayload{
		ConversionID: c.ID, ProgramID: neu.ProgramID, RefundedTotal: neu.RefundedAmount.Amount,
		PreviousRefunded: old.RefundedAmount.Amount, Currency: neu.RefundedAmount.Currency,
	})
}

// routeRecorded routes a conversion INSERT: conversion.recorded, with the
// conversion its new image holds (Message.conv) — decoded once, for the
// routing and the pricing — when the image is a whole conversion: the
// stored record at its insert (the SQLite store writes the same JSON to
// the row and the image, and has since its first version; DynamoDB's
// stream images decode to the same record). An image that reads only as
// far as routing needs, or names another conversion or organization, or
// lacks what pricing needs (program, occurredAt), or already holds a
// refund (never at an insert), routes as before and the calculator reads
// the conversion.
func routeRecorded(c store.Change) ([]Message, error) {
	var conv domain.Conversion
	if decodeImage(c, "new", c.NewImage, &conv, true) != nil {
		var neu conversionImage
		if err := decodeImage(c, "new", c.NewImage, &neu, true); err != nil {
			return nil, err
		}
		return one(c, TypeConversionRecorded, ConversionPayload{ConversionID: c.ID, ProgramID: neu.ProgramID})
	}
	msgs, err := one(c, TypeConversionRecorded, ConversionPayload{ConversionID: c.ID, ProgramID: conv.ProgramID})
	if err == nil && conv.ID == c.ID && conv.OrgID == c.OrgID && conv.ProgramID != "" && !conv.OccurredAt.IsZero() &&
		conv.RefundedAmount.Amount == 0 && conv.RefundedAt == nil {
		msgs[0].conv = &conv
	}
	return msgs, err
}

func routeCommission(c store.Change) ([]Message, error) {
	var neu, old statusImage
	if err := decodeImage(c, "new", c.NewImage, &neu, true); err != nil {
		return nil, err
	}
	if c.Op == OpInsert {
		return one(c, TypeCommissionCreated, CommissionPayload{Commission: json.RawMessage(c.NewImage)})
	}
	if err := decodeImage(c, "old", c.OldImage, &old, false); err != nil {
		return nil, err
	}
	typ, ok := commissionStatusTypes[neu.Status]
	if !ok || neu.Status == old.Status {
		return nil, nil
	}
	return one(c, typ, CommissionPayload{Commission: json.RawMessage(c.NewImage), PreviousStatus: old.Status})
}

func routeDeal(c store.Change) ([]Message, error) {
	if c.Op != OpModify {
		return nil, nil
	}
	var neu, old statusImage
	if err := decodeImage(c, "new", c.NewImage, &neu, true); err != nil {
		return nil, err
	}
	if err := decodeImage(c, "old", c.OldImage, &old, false); err != nil {
		return nil, err
	}
	if neu.Status != DealWon || old.Status == DealWon {
		return nil, nil
	}
	return one(c, TypeDealWon, DealPayload{DealID: c.ID})
}

// decodeImage reads an image into v; an absent image is an error only when
// required.
func decodeImage(c store.Change, which string, img []byte, v any, required bool) error {
	if len(img) == 0 {
		if required {
			return fmt.Errorf("pipeline: %s %s %s of %s has no %s image", c.Entity, c.Op, c.ID, c.OrgID, which)
		}
		return nil
	}
	if err := json.Unmarshal(img, v); err != nil {
		return fmt.Errorf("pipeline: %s %s %s of %s: %s image: %w", c.Entity, c.Op, c.ID, c.OrgID, which, err)
	}
	return nil
}

func one(c store.Change, typ string, payload any) ([]Message, error) {
	p, err := json.Marshal(payload)
	if err != nil {
		return nil, fmt.Errorf("pipeline: encode %s payload: %w", typ, err)
	}
	return []Message{{
		ID:       MessageID(typ, c.OrgID, c.Entity, c.ID, c.Op, c.NewImage),
		Type:     typ,
		OrgID:    c.OrgID,
		EntityID: c.ID,
		Payload:  p,
		At:       c.At,
	}}, nil
}
