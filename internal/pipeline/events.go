package pipeline

import (
	"encoding/json"
	"fmt"
	"strings"

	"github.com/partnerloop/partnerloop/internal/store"
)

// Public events: what outbound webhooks deliver. The commission.*
// notifications are events as they are; every other event is a message
// of type EventPrefix+<event type> whose payload is the record as stored
// after the change (its API JSON). They are separate from the calculator's
// work messages (conversion.recorded, deal.won…), which share some names
// but not their meaning or queue.

// EventPrefix marks a public event's message type.
const EventPrefix = "event:"

// Entities whose changes are events beyond conversions, deals and
// commissions.
const (
	EntityReferral = "referral"
	EntityPartner  = "partner"
)

// Events turns one record change into the public events it is (none for
// most changes). Like Route it is pure, and each event's message ID is
// derived from the change, so a change read twice is the same event:
//
//   - referral INSERT: referral.created; MODIFY to another status:
//     referral.<status> (converted, expired, ineligible);
//   - conversion INSERT: conversion.created; a refund (as Route sees it):
//     conversion.refunded;
//   - deal INSERT: deal.registered; MODIFY to another status:
//     deal.<status> (approved, rejected, won, lost, expired, conflict);
//   - partner INSERT: partner.created; MODIFY: partner.updated.
//
// commission.* events come from Route.
func Events(c store.Change) ([]Message, error) {
	if c.Op != OpInsert && c.Op != OpModify {
		return nil, nil
	}
	var typ string
	switch c.Entity {
	case EntityReferral:
		t, err := statusEvent(c, "referral", "created")
		if err != nil {
			return nil, err
		}
		typ = t
	case EntityDeal:
		t, err := statusEvent(c, "deal", "registered")
		if err != nil {
			return nil, err
		}
		typ = t
	case EntityPartner:
		typ = "partner.created"
		if c.Op == OpModify {
			typ = "partner.updated"
		}
	case EntityConversion:
		typ = "conversion.created"
		if c.Op == OpModify {
			work, err := routeConversion(c)
			if err != nil || len(work) == 0 {
				return nil, err
			}
			typ = "conversion.refunded"
		}
	default:
		return nil, nil
	}
	if typ == "" {
		return nil, nil
	}
	if len(c.NewImage) == 0 || !json.Valid(c.NewImage) {
		return nil, fmt.Errorf("pipeline: %s %s %s of %s has no readable new image", c.Entity, c.Op, c.ID, c.OrgID)
	}
	t := EventPrefix + typ
	return []Message{{
		ID: MessageID(t, c.OrgID, c.Entity, c.ID, c.Op, c.NewImage), Type: t, OrgID: c.OrgID, EntityID: c.ID,
		Payload: json.RawMessage(c.NewImage), At: c.At,
	}}, nil
}

// statusEvent names the event of a record with a status: created on
// insert, the new status when a modification changes it, none otherwise.
func statusEvent(c store.Change, entity, created string) (string, error) {
	if c.Op == OpInsert {
		return entity + "." + created, nil
	}
	var neu, old statusImage
	if err := decodeImage(c, "new", c.NewImage, &neu, true); err != nil {
		return "", err
	}
	if err := decodeImage(c, "old", c.OldImage, &old, false); err != nil {
		return "", err
	}
	if neu.Status == "" || neu.Status == old.Status {
		return "", nil
	}
	return entity + "." + neu.Status, nil
}

// RouteAll is Route and Events together: everything one change causes.
func RouteAll(c store.Change) ([]Message, error) {
	work, err := Route(c)
	if err != nil {
		return nil, err
	}
	events, err := Events(c)
	if err != nil {
		return nil, err
	}
	return append(work, events...), nil
}

// PublicEvent reads a notification as a public event: its type and the
// record it is about. ok is false for messages that are not events.
func PublicEvent(m Message) (typ string, data json.RawMessage, ok bool) {
	if t, found := strings.CutPrefix(m.Type, EventPrefix); found {
		return t, m.Payload, true
	}
	if IsNotification(m.Type) {
		var p CommissionPayload
		if json.Unmarshal(m.Payload, &p) != nil || len(p.Commission) == 0 {
			return "", nil, false
		}
		return m.Type, p.Commission, true
	}
	return "", nil, false
}
