// Package pipeline is the event pipeline behind commissions, independent of
// how it is transported: the router that turns record changes into
// messages (Route), the calculator that consumes them (Calculator), and the
// embedded, one-process transport (Embedded: an outbox pump and queue
// workers on store.Queue). On AWS the same Route runs in the stream-router
// Lambda over DynamoDB stream records and the same Calculator in the
// commission-calculator Lambda over SQS batches.
//
// Every delivery may repeat and arrive out of order, so every consumer is
// idempotent: message IDs are derived from the change they describe, and the
// calculator reconciles the ledger with the current state of a conversion
// through deterministic commission IDs and conditional writes, never by
// counting deliveries.
package pipeline

import (
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"strconv"
	"strings"
	"time"

	"github.com/partnerloop/partnerloop/internal/domain"
)

// Message is one unit of work or notification, as queued.
type Message struct {
	// ID is derived from the change the message describes (MessageID), so
	// a change read twice — a redelivered stream record, an outbox read
	// again after a crash — yields the same ID, which queues deduplicate.
	ID       string          `json:"id"`
	Type     string          `json:"type"`
	OrgID    string          `json:"organizationId"`
	EntityID string          `json:"entityId"`
	Payload  json.RawMessage `json:"payload,omitempty"`
	At       time.Time       `json:"at"`
	// Seq is the change's position in its feed (the outbox's sequence
	// number, the stream record's SequenceNumber), zero-padded so that it
	// sorts: with At it orders the events of one record. Not part of ID.
	Seq string `json:"seq,omitempty"`

	// conv is the conversion a conversion.recorded message is about as
	// its change recorded it (the change's new image), when Route could
	// read a whole conversion from it: the embedded pump hands the message
	// to the calculator directly, which prices it from conv instead of
	// reading the conversion again (PrepareBatch). It is never encoded, so
	// a message delivered by a queue has none and the conversion is read.
	conv *domain.Conversion
}

// OrderKey orders the events of one record: At, then Seq.
func (m Message) OrderKey() string {
	return m.At.UTC().Format("2006-01-02T15:04:05.000000000Z") + "#" + m.Seq
}

// PadSeq zero-pads a decimal sequence number to 40 digits (DynamoDB
// stream sequence numbers have up to 40), so that it sorts as a number.
func PadSeq(seq string) string {
	if len(seq) >= 40 {
		return seq
	}
	return strings.Repeat("0", 40-len(seq)) + seq
}

// Message types. The conversion and deal types are work for the
// calculator; the commission types are notifications (webhooks later).
const (
	TypeConversionRecorded = "conversion.recorded"
	TypeConversionRefunded = "conversion.refunded"
	TypeDealWon            = "deal.won"

	TypeCommissionCreated  = "commission.created"
	TypeCommissionApproved = "commission.approved"
	TypeCommissionRejected = "commission.rejected"
	TypeCommissionPaid     = "commission.paid"
	TypeCommissionReversed = "commission.reversed"
)

// Queue names: the calculator's work, and notifications.
const (
	QueueCommissions = "commissions"
	QueueEvents      = "events"
)

// QueueFor names the queue a message type goes to: commission.*
// notifications to QueueEvents, everything else to QueueCommissions.
func QueueFor(msgType string) string {
	if IsNotification(msgType) {
		return QueueEvents
	}
	return QueueCommissions
}

// IsNotification reports whether a message type is a notification — a
// commission.* notification or another public event (EventPrefix) —
// rather than work for the calculator.
func IsNotification(msgType string) bool {
	if strings.HasPrefix(msgType, EventPrefix) {
		return true
	}
	switch msgType {
	case TypeCommissionCreated, TypeCommissionApproved, TypeCommissionRejected,
		TypeCommissionPaid, TypeCommissionReversed:
		return true
	}
	return false
}

// ConversionPayload is the payload of conversion.recorded and
// conversion.refunded. The calculator does not trust it — it reads the
// conversion's current state — but it tells consumers what happened.
type ConversionPayload struct {
	ConversionID string `json:"conversionId"`
	ProgramID    string `json:"programId,omitempty"`
	// RefundedTotal is the conversion's cumulative refunded amount after
	// the change, PreviousRefunded before it (conversion.refunded only).
	RefundedTotal    int64  `json:"refundedTotal,omitempty"`
	PreviousRefunded int64  `json:"previousRefunded,omitempty"`
	Currency         string `json:"currency,omitempty"`
}

// DealPayload is the payload of deal.won.
type DealPayload struct {
	DealID string `json:"dealId"`
}

// CommissionPayload is the payload of the commission.* notifications: the
// ledger entry as stored after the change, and its status before it ("" on
// creation).
type CommissionPayload struct {
	Commission     json.RawMessage `json:"commission"`
	PreviousStatus string          `json:"previousStatus,omitempty"`
}

// MessageID derives a message's ID from its type and the change it
// describes: "msg_" and 32 hex digits (128 bits) of SHA-256 over the
// length-prefixed parts, so equal changes give equal IDs and no two
// different ones collide by concatenation.
func MessageID(msgType, orgID, entity, id, op string, newImage []byte) string {
	h := sha256.New()
	for _, p := range [][]byte{[]byte(msgType), []byte(orgID), []byte(entity), []byte(id), []byte(op), newImage} {
		h.Write([]byte(strconv.Itoa(len(p))))
		h.Write([]byte{':'})
		h.Write(p)
	}
	return "msg_" + hex.EncodeToString(h.Sum(nil)[:16])
}

// Encode returns the message as queued (JSON).
func (m Message) Encode() ([]byte, error) {
	b, err := json.Marshal(m)
	if err != nil {
		return nil, fmt.Errorf("pipeline: encode message %s: %w", m.ID, err)
	}
	return b, nil
}

// DecodeMessage reads a queued message. A body that is not a message (no
// ID or type) is an error.
func DecodeMessage(b []byte) (Message, error) {
	var m Message
	if err := json.Unmarshal(b, &m); err != nil {
		return m, fmt.Errorf("pipeline: decode message: %w", err)
	}
	if m.ID == "" || m.Type == "" {
		return m, fmt.Errorf("pipeline: decode message: missing id or type")
	}
	return m, nil
}
