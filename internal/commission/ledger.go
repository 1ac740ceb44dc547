package commission

import (
	"crypto/sha256"
	"encoding/base32"
	"strconv"
	"strings"
	"time"

	"github.com/partnerloop/partnerloop/internal/domain"
)

// Status is where a ledger entry is in its life.
type Status string

// Statuses of a ledger entry. Paid, rejected and reversed are final.
const (
	StatusPending  Status = "pending"
	StatusApproved Status = "approved"
	StatusPaid     Status = "paid"
	StatusRejected Status = "rejected"
	StatusReversed Status = "reversed"
)

// Kind says what a ledger entry records.
type Kind string

// Kinds of ledger entry.
const (
	KindCommission Kind = "commission" // earned by a conversion or won deal (positive)
	KindClawback   Kind = "clawback"   // takes back part of a paid commission after a refund (negative)
	KindAdjustment Kind = "adjustment" // a retroactive tier's true-up at period close (either sign)
)

// ActorSystem is the audit actor of changes made by the calculator and the
// scheduled jobs rather than by a person.
const ActorSystem = "system"

// Limits on the free text of transitions.
const (
	MaxReasonLen           = 500
	MaxPayoutReferenceLen  = 200
	idPrefix               = "com_"
	idHashChars            = 26 // 130 bits, the length of a ULID
	refundDerivationPrefix = "refund"
)

// Commission is one entry of the append-only commission ledger (API.md,
// "commission"). Amount is negative for clawbacks.
type Commission struct {
	ID           string       `json:"id"`
	OrgID        string       `json:"organizationId"`
	Kind         Kind         `json:"kind"`
	ProgramID    string       `json:"programId"`
	ReferrerID   string       `json:"referrerId"`
	PartnerID    string       `json:"partnerId"`
	ConversionID string       `json:"conversionId"`
	DealID       string       `json:"dealId"`
	Amount       domain.Money `json:"amount"`
	Status       Status       `json:"status"`
	AvailableAt  time.Time    `json:"availableAt"`
	// OccurredAt is when what the entry belongs to happened: its
	// conversion's occurredAt, its deal's won time, or for a period's
	// retroactive adjustment the period's last instant. Analytics count the
	// entry at this time (ANALYTICS.md); replacements and clawbacks keep
	// the time of the entry they derive from.
	OccurredAt      time.Time `json:"occurredAt"`
	PayoutReference string    `json:"payoutReference"`
	CreatedAt       time.Time `json:"createdAt"`
	UpdatedAt       time.Time `json:"updatedAt"`

	RejectReason string `json:"rejectReason,omitempty"`
	RuleSource   string `json:"ruleSource,omitempty"`  // partner, tier or program
	RuleVersion  int    `json:"ruleVersion,omitempty"` // version of the rule in force at occurredAt
	PeriodKey    string `json:"periodKey,omitempty"`   // tiered rules: the period whose running total priced it
	Ordinal      int64  `json:"ordinal,omitempty"`     // tiered rules: n-th conversion of the period

	// OriginalID links a replacement or clawback to the commission first
	// earned for the conversion ("" on that first commission itself).
	OriginalID string `json:"originalId,omitempty"`
	// OriginalAmount is the amount first earned for the conversion, carried
	// by its replacements and clawbacks so that every later refund is
	// computed from it (cumulative targets, never compounding roundings).
	OriginalAmount int64 `json:"originalAmount,omitempty"`

	// Revision counts stored updates; stores use it for optimistic locking.
	// This package never changes it.
	Revision int64 `json:"revision"`
}

// AuditEntry records one status change of a ledger entry: who, when, why.
// From is "" when the entry was created.
type AuditEntry struct {
	CommissionID string    `json:"commissionId"`
	From         Status    `json:"from"`
	To           Status    `json:"to"`
	Actor        string    `json:"actor"`
	At           time.Time `json:"at"`
	Reason       string    `json:"reason"`
}

// Beneficiary is whom a conversion's commission accrues to for identity and
// running totals: the partner when the referrer belongs to one, else the
// referrer.
func Beneficiary(referrerID, partnerID string) string {
	if partnerID != "" {
		return partnerID
	}
	return referrerID
}

// CommissionID derives the ID of the ledger entry of the given kind for a
// conversion or deal and a beneficiary: "com_", the time of the source's
// ULID (its first 10 characters: the millisecond it was recorded) and 16
// base32 characters (80 bits) of SHA-256 over the three parts. Redelivering
// a conversion yields the same ID, so a store that inserts only absent IDs
// records exactly one commission per (conversion, beneficiary). The IDs of
// later sources sort later, so a store's index of entries by ID grows at its
// end instead of getting an entry on a random page per commission (the
// SQLite ledger's primary key and audit index). A source whose ID does not
// end in a ULID gets LegacyCommissionID.
//
// Entries recorded before the time came first have LegacyCommissionID:
// whoever looks for a source's entry by its ID looks for both
// (CommissionIDs).
func CommissionID(conversionOrDealID, beneficiaryID, kind string) string {
	h := LegacyCommissionID(conversionOrDealID, beneficiaryID, kind)
	t, ok := ulidTime(conversionOrDealID)
	if !ok {
		return h
	}
	return idPrefix + t + h[len(idPrefix):len(idPrefix)+idHashChars-len(t)]
}

// LegacyCommissionID is the ID CommissionID derived before it put the
// source's time first: "com_" and 26 base32 characters of SHA-256 over the
// three parts. The entries recorded then keep it. It never equals a
// CommissionID with the time first: base32 has no 0 or 1, and a ULID's
// time starts with one of them until the year 4199.
func LegacyCommissionID(conversionOrDealID, beneficiaryID, kind string) string {
	return hashID("commission", conversionOrDealID, beneficiaryID, kind)
}

// CommissionIDs are the IDs the entry of the given kind for a conversion or
// deal and a beneficiary has: CommissionID, or LegacyCommissionID if it was
// recorded before.
func CommissionIDs(conversionOrDealID, beneficiaryID, kind string) [2]string {
	return [2]string{CommissionID(conversionOrDealID, beneficiaryID, kind), LegacyCommissionID(conversionOrDealID, beneficiaryID, kind)}
}

// ulidTime is the time part of an ID that is a prefix, "_" and a ULID
// (domain.IDs): the ULID's first 10 characters.
func ulidTime(id string) (string, bool) {
	i := strings.LastIndexByte(id, '_')
	u := id[i+1:]
	if i < 0 || len(u) != ulidChars {
		return "", false
	}
	for j := range len(u) {
		if !strings.ContainsRune(crockford, rune(u[j])) {
			return "", false
		}
	}
	return u[:ulidTimeChars], true
}

const (
	ulidChars     = 26
	ulidTimeChars = 10
	crockford     = "0123456789ABCDEFGHJKMNPQRSTVWXYZ"
)

// AdjustmentID is the ID of the one retroactive adjustment of a counter's
// period, so the period-close job can run again without adding a second.
func AdjustmentID(k CounterKey) string {
	return hashID("adjustment", k.BeneficiaryID, k.RuleSource, k.RuleOwnerID, k.PeriodKey)
}

// refundID is the ID of the replacement or clawback created by the refund
// that brought the conversion's cumulative refunded amount to refundedTotal;
// the same refund delivered twice derives the same ID.
func refundID(originalID string, kind Kind, refundedTotal int64) string {
	return hashID(refundDerivationPrefix, originalID, string(kind), strconv.FormatInt(refundedTotal, 10))
}

func hashID(parts ...string) string {
	h := sha256.New()
	for _, p := range parts {
		// Length-prefixed, so ("ab","c") and ("a","bc") differ.
		h.Write([]byte(strconv.Itoa(len(p))))
		h.Write([]byte{':'})
		h.Write([]byte(p))
	}
	enc := base32.StdEncoding.WithPadding(base32.NoPadding).EncodeToString(h.Sum(nil))
	return idPrefix + enc[:idHashChars]
}

// AvailableAt is when a commission leaves its hold period and may be
// approved: occurredAt plus holdDays whole days of 24 hours (the partner
// tier's holdDays, else the program's).
func AvailableAt(occurredAt time.Time, holdDays int) time.Time {
	return occurredAt.Add(time.Duration(holdDays) * 24 * time.Hour).UTC()
}

// Earning is what the calculator knows when it records a commission.
type Earning struct {
	OrgID        string
	ProgramID    string
	ReferrerID   string
	PartnerID    string
	ConversionID string // exactly one of ConversionID and DealID
	DealID       string
	Currency     string
	Amount       int64 // from Compute; must be positive (see ShouldRecord)
	RuleSource   string
	RuleVersion  int
	PeriodKey    string // tiered rules only
	Ordinal      int64  // tiered rules only: RunningState.Ordinal()
	OccurredAt   time.Time
	HoldDays     int
}

// NewCommission builds the pending commission for an earning, with its
// deterministic ID and availableAt = occurredAt + holdDays. A zero amount is
// refused (nothing is recorded for it: check ShouldRecord first), as is a
// negative one (only clawbacks and adjustments are negative).
func NewCommission(e Earning, actor string, now time.Time) (Commission, AuditEntry, error) {
	var v domain.Validation
	v.Check((e.ConversionID == "") != (e.DealID == ""), "conversionId", "exactly one of conversionId and dealId is required")
	v.Check(e.ReferrerID != "" || e.PartnerID != "", "referrerId", "a referrer or partner is required")
	v.Check(domain.ValidCurrency(e.Currency), "currency", "must be an ISO 4217 code")
	v.Check(e.Amount > 0, "amount", "must be positive (a zero commission is not recorded)")
	v.Check(e.HoldDays >= 0, "holdDays", "must not be negative")
	if err := v.Err(); err != nil {
		return Commission{}, AuditEntry{}, err
	}
	source := e.ConversionID
	if source == "" {
		source = e.DealID
	}
	now = now.UTC()
	c := Commission{
		ID:    CommissionID(source, Beneficiary(e.ReferrerID, e.PartnerID), string(KindCommission)),
		OrgID: e.OrgID, Kind: KindCommission, ProgramID: e.ProgramID, ReferrerID: e.ReferrerID,
		PartnerID: e.PartnerID, ConversionID: e.ConversionID, DealID: e.DealID,
		Amount: domain.Money{Amount: e.Amount, Currency: e.Currency}, Status: StatusPending,
		AvailableAt: AvailableAt(e.OccurredAt, e.HoldDays), OccurredAt: e.OccurredAt.UTC(), CreatedAt: now, UpdatedAt: now,
		RuleSource: e.RuleSource, RuleVersion: e.RuleVersion, PeriodKey: e.PeriodKey, Ordinal: e.Ordinal,
		OriginalAmount: e.Amount,
	}
	return c, created(c, actor, now, "earned"), nil
}

// PeriodAdjustment is what the period-close job knows when it records a
// retroactive adjustment.
type PeriodAdjustment struct {
	OrgID       string
	ProgramID   string
	ReferrerID  string
	PartnerID   string
	Currency    string
	Amount      int64 // from RetroactiveAdjustment; non-zero
	Counter     CounterKey
	RuleVersion int
	HoldDays    int
}

// NewAdjustment builds the pending adjustment commission of a closed period.
// Its availableAt is the period's end plus holdDays — when the hold of the
// period's last possible conversion is over — and it may only be created
// once the period has ended (now ≥ end). Its ID is AdjustmentID(Counter).
func NewAdjustment(a PeriodAdjustment, actor string, now time.Time) (Commission, AuditEntry, error) {
	var v domain.Validation
	v.Check(a.Amount != 0, "amount", "must not be zero (no adjustment is recorded)")
	v.Check(domain.ValidCurrency(a.Currency), "currency", "must be an ISO 4217 code")
	v.Check(a.HoldDays >= 0, "holdDays", "must not be negative")
	_, _, end, err := ParsePeriodKey(a.Counter.PeriodKey)
	if err != nil {
		v.Add("periodKey", "%s", err.Error())
	}
	if err := v.Err(); err != nil {
		return Commission{}, AuditEntry{}, err
	}
	if now.Before(end) {
		return Commission{}, AuditEntry{}, domain.Errorf(domain.KindConflict, "period_open",
			"the period %s ends at %s; its adjustment is created after it closes", a.Counter.PeriodKey, end.Format(time.RFC3339))
	}
	now = now.UTC()
	c := Commission{
		ID: AdjustmentID(a.Counter), OrgID: a.OrgID, Kind: KindAdjustment, ProgramID: a.ProgramID,
		ReferrerID: a.ReferrerID, PartnerID: a.PartnerID,
		Amount: domain.Money{Amount: a.Amount, Currency: a.Currency}, Status: StatusPending,
		AvailableAt: AvailableAt(end, a.HoldDays), OccurredAt: end.Add(-time.Nanosecond).UTC(), CreatedAt: now, UpdatedAt: now,
		RuleSource: a.Counter.RuleSource, RuleVersion: a.RuleVersion, PeriodKey: a.Counter.PeriodKey,
		OriginalAmount: a.Amount,
	}
	return c, created(c, actor, now, "retroactive tier adjustment for "+a.Counter.PeriodKey), nil
}

func created(c Commission, actor string, now time.Time, reason string) AuditEntry {
	return AuditEntry{CommissionID: c.ID, From: "", To: c.Status, Actor: actor, At: now, Reason: reason}
}

// transition moves c to status to and returns the audit entry.
func transition(c Commission, to Status, actor, reason string, now time.Time) (Commission, AuditEntry) {
	now = now.UTC()
	a := AuditEntry{CommissionID: c.ID, From: c.Status, To: to, Actor: actor, At: now, Reason: reason}
	c.Status = to
	c.UpdatedAt = now
	return c, a
}

func invalidTransition(c Commission, to Status) error {
	msg := "a " + string(c.Status) + " commission cannot become " + string(to)
	if c.Status == StatusPaid {
		msg += ": paid is final"
	}
	return domain.Errorf(domain.KindConflict, "invalid_transition", "%s", msg)
}

// Approve moves a pending entry to approved, once its hold period is over:
// now ≥ availableAt. During the hold the error is KindConflict "on_hold".
func Approve(c Commission, actor string, now time.Time) (Commission, AuditEntry, error) {
	if c.Status != StatusPending {
		return c, AuditEntry{}, invalidTransition(c, StatusApproved)
	}
	if now.Before(c.AvailableAt) {
		e := domain.Errorf(domain.KindConflict, "on_hold", "commission %s is on hold until %s", c.ID, c.AvailableAt.Format(time.RFC3339))
		e.Extra = map[string]any{"availableAt": c.AvailableAt}
		return c, AuditEntry{}, e
	}
	c, a := transition(c, StatusApproved, actor, "approved", now)
	return c, a, nil
}

// Reject moves a pending entry to rejected; a reason is required.
func Reject(c Commission, reason, actor string, now time.Time) (Commission, AuditEntry, error) {
	if c.Status != StatusPending {
		return c, AuditEntry{}, invalidTransition(c, StatusRejected)
	}
	reason = strings.TrimSpace(reason)
	if err := requireText("reason", reason, MaxReasonLen); err != nil {
		return c, AuditEntry{}, err
	}
	c, a := transition(c, StatusRejected, actor, reason, now)
	c.RejectReason = reason
	return c, a, nil
}

// MarkPaid moves an approved entry to paid with the payout reference
// (required). Paid is final.
func MarkPaid(c Commission, payoutReference, actor string, now time.Time) (Commission, AuditEntry, error) {
	if c.Status != StatusApproved {
		return c, AuditEntry{}, invalidTransition(c, StatusPaid)
	}
	payoutReference = strings.TrimSpace(payoutReference)
	if err := requireText("payoutReference", payoutReference, MaxPayoutReferenceLen); err != nil {
		return c, AuditEntry{}, err
	}
	c, a := transition(c, StatusPaid, actor, "paid: "+payoutReference, now)
	c.PayoutReference = payoutReference
	return c, a, nil
}

func requireText(field, s string, maxLen int) error {
	var v domain.Validation
	v.Check(s != "", field, "is required")
	v.Check(len(s) <= maxLen, field, "must be at most %d bytes", maxLen)
	return v.Err()
}

// RefundOutcome is what a refund changes in the ledger. Nothing (both nil,
// no audit) when the refund is too small to move the commission by a minor
// unit, or the commission was rejected.
type RefundOutcome struct {
	// Reversed is the refunded commission after its move to reversed; nil
	// when it was left as it was (paid, or unchanged).
	Reversed *Commission
	// Added is the new entry: the pending replacement commission for the
	// unrefunded part of an unpaid commission, or the pending clawback of a
	// paid one; nil when nothing is added.
	Added *Commission
	// Audit lists the reversal and the creation, in that order.
	Audit []AuditEntry
}

// Refund applies a refund of refundAmount to the conversion's commission c
// — the live entry of kind commission for that conversion and beneficiary:
// the first one, or its latest replacement. conversionValue is the
// conversion's recorded value (0 when it had none: then only a full refund,
// refundAmount = alreadyRefunded = 0, is possible) and alreadyRefunded the
// sum of earlier refunds.
//
// With A the amount first earned (c.OriginalAmount) and F the cumulative
// refunded amount after this refund, the part of A taken back is the
// cumulative target T(F) = round(A × F / value), half away from zero, with
// T(value) = A exactly; this refund takes back T(F) − T(alreadyRefunded).
// Because each step takes back the difference of cumulative targets, any
// sequence of partial refunds adding up to the value takes back exactly A.
//
//   - pending or approved: c becomes reversed; when A − T(F) ≠ 0 a
//     replacement commission of A − T(F) is added, pending (the reduced
//     amount is approved afresh) with c's availableAt.
//   - paid: c stays paid and a pending clawback of −(T(F) − T(already)) is
//     added, available at once, to net against the next statement.
//   - rejected: nothing was owed, nothing changes.
//   - reversed: an error; pass the live replacement instead.
//
// Derived entries get IDs from (original ID, kind, F), so the same refund
// delivered twice derives the same entry.
func Refund(c Commission, conversionValue, refundAmount, alreadyRefunded int64, actor string, now time.Time) (RefundOutcome, error) {
	return refund(c, conversionValue, refundAmount, alreadyRefunded, actor, now, false)
}

// RefundHeld is Refund for a commission that an unsettled payout run holds
// (open or paying: exported to accounts payable, perhaps being paid). It is
// refunded as if it were paid: an approved c stays approved — the run pays
// it as exported, and marking the run paid succeeds — and a pending
// clawback of the refunded part is added, which takes it back from a later
// run. Were the run cancelled instead, c and the clawback still net to what
// is owed. A pending c (no run holds one) is refunded as by Refund.
func RefundHeld(c Commission, conversionValue, refundAmount, alreadyRefunded int64, actor string, now time.Time) (RefundOutcome, error) {
	return refund(c, conversionValue, refundAmount, alreadyRefunded, actor, now, true)
}

func refund(c Commission, conversionValue, refundAmount, alreadyRefunded int64, actor string, now time.Time, held bool) (RefundOutcome, error) {
	if c.Kind != KindCommission {
		return RefundOutcome{}, domain.Errorf(domain.KindInvalid, "not_refundable", "a %s is not refunded; refund the conversion's commission", c.Kind)
	}
	var v domain.Validation
	v.Check(conversionValue >= 0, "conversionValue", "must not be negative")
	v.Check(alreadyRefunded >= 0, "alreadyRefunded", "must not be negative")
	if conversionValue > 0 {
		v.Check(refundAmount > 0, "amount", "must be positive")
		v.Check(refundAmount <= conversionValue-alreadyRefunded, "amount", "must not exceed the %d not yet refunded", max(conversionValue-alreadyRefunded, 0))
	} else {
		v.Check(refundAmount == 0 && alreadyRefunded == 0, "amount", "a conversion without a value is only refunded in full")
	}
	if err := v.Err(); err != nil {
		return RefundOutcome{}, err
	}
	switch c.Status {
	case StatusRejected:
		return RefundOutcome{}, nil
	case StatusReversed:
		return RefundOutcome{}, domain.Errorf(domain.KindConflict, "already_reversed", "commission %s is already reversed", c.ID)
	}

	earned := c.OriginalAmount
	if earned == 0 {
		earned = c.Amount.Amount
	}
	total := alreadyRefunded + refundAmount
	before, after := int64(0), earned // a conversion without a value: refunded in full
	reason := "full refund"
	if conversionValue > 0 {
		before = clawTarget(earned, alreadyRefunded, conversionValue)
		after = clawTarget(earned, total, conversionValue)
		reason = "refund of " + strconv.FormatInt(refundAmount, 10) + " (refunded " +
			strconv.FormatInt(total, 10) + " of " + strconv.FormatInt(conversionValue, 10) + ")"
	}
	delta := after - before
	if delta == 0 {
		return RefundOutcome{}, nil
	}
	now = now.UTC()
	original := c.OriginalID
	if original == "" {
		original = c.ID
	}
	derive := func(kind Kind, amount int64, availableAt time.Time) Commission {
		d := c
		d.ID = refundID(original, kind, total)
		d.Kind = kind
		d.Amount.Amount = amount
		d.Status = StatusPending
		d.AvailableAt = availableAt
		d.PayoutReference = ""
		d.RejectReason = ""
		d.CreatedAt, d.UpdatedAt = now, now
		d.OriginalID = original
		d.OriginalAmount = earned
		d.Revision = 0
		return d
	}

	var out RefundOutcome
	switch {
	case c.Status == StatusApproved && held:
		cb := derive(KindClawback, -delta, now)
		out.Added = &cb
		out.Audit = append(out.Audit, created(cb, actor, now, "claws back "+c.ID+", held by a payout run, after "+reason))
	case c.Status == StatusPending || c.Status == StatusApproved:
		rev, a := transition(c, StatusReversed, actor, reason, now)
		out.Reversed = &rev
		out.Audit = append(out.Audit, a)
		if rest := earned - after; rest != 0 {
			r := derive(KindCommission, rest, c.AvailableAt)
			out.Added = &r
			out.Audit = append(out.Audit, created(r, actor, now, "replaces "+c.ID+" after "+reason))
		}
	case c.Status == StatusPaid:
		cb := derive(KindClawback, -delta, now)
		out.Added = &cb
		out.Audit = append(out.Audit, created(cb, actor, now, "claws back paid "+c.ID+" after "+reason))
	default:
		return RefundOutcome{}, domain.Errorf(domain.KindConflict, "invalid_transition", "a %s commission cannot be refunded", c.Status)
	}
	return out, nil
}
