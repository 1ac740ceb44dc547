package domain

import (
	"strconv"
	"strings"
	"time"
)

// Referral statuses.
const (
	ReferralPending    = "pending"
	ReferralConverted  = "converted"
	ReferralExpired    = "expired"
	ReferralIneligible = "ineligible"
)

// Reasons a referral is ineligible or a conversion does not qualify.
const (
	ReasonSelfReferral       = "self_referral"
	ReasonExistingCustomer   = "existing_customer"
	ReasonEventNotQualifying = "event_not_qualifying"
	ReasonWindowExpired      = "attribution_window_expired"
	ReasonBelowMinimum       = "below_minimum_purchase"
	ReasonReferralIneligible = "referral_ineligible"
	ReasonCurrencyMismatch   = "currency_mismatch"
	ReasonBeforeReferral     = "occurred_before_referral"
	ReasonInFuture           = "occurred_in_future"
	ReasonNoFirstPayment     = "no_first_payment"
)

// Click is one counted visit through a referral link.
type Click struct {
	ID         string `json:"id"`
	OrgID      string `json:"organizationId"`
	ProgramID  string `json:"programId"`
	ReferrerID string `json:"referrerId"`
	// PartnerID is the referrer's partner ("" for none): a referrer's
	// partner never changes, so analytics attribute the click without a
	// lookup.
	PartnerID   string    `json:"partnerId"`
	Code        string    `json:"code"`
	VisitorHash string    `json:"-"`
	RefererHost string    `json:"refererHost,omitempty"`
	At          time.Time `json:"at"`
}

// Referral is a referred contact in one program.
type Referral struct {
	ID          string     `json:"id"`
	OrgID       string     `json:"organizationId"`
	ProgramID   string     `json:"programId"`
	ReferrerID  string     `json:"referrerId"`
	PartnerID   string     `json:"partnerId"`
	Email       string     `json:"email"`
	Name        string     `json:"name"`
	ExternalID  string     `json:"externalId"`
	Status      string     `json:"status"`
	Reason      string     `json:"reason"`
	CreatedAt   time.Time  `json:"createdAt"`
	ConvertedAt *time.Time `json:"convertedAt"`
	// UpdatedAt is when the record last changed (created, converted,
	// expired); the zero time on records stored before it was kept.
	UpdatedAt time.Time `json:"updatedAt,omitzero"`
}

// Conversion is a qualifying action of a referred contact.
type Conversion struct {
	ID             string    `json:"id"`
	OrgID          string    `json:"organizationId"`
	ReferralID     string    `json:"referralId"`
	ProgramID      string    `json:"programId"`
	ReferrerID     string    `json:"referrerId"`
	PartnerID      string    `json:"partnerId"`
	Event          string    `json:"event"`
	Amount         *Money    `json:"amount"`
	ExternalID     string    `json:"externalId"`
	OccurredAt     time.Time `json:"occurredAt"`
	RefundedAmount Money     `json:"refundedAmount"`
	// RefundedAt is when the conversion was last refunded (nil: never). It
	// is what marks the full refund of a conversion without a value, whose
	// refunded amount stays 0.
	RefundedAt *time.Time `json:"refundedAt"`
	CreatedAt  time.Time  `json:"createdAt"`
}

// Eligibility of a new referral. existingCustomer says whether the contact
// is already a customer of the organization (has converted before).
func (p Program) ReferralIneligibility(referrer Referrer, email string, existingCustomer bool) string {
	if !p.Eligibility.AllowSelfReferral && SamePerson(referrer.Email, email) {
		return ReasonSelfReferral
	}
	if p.Eligibility.NewCustomersOnly && existingCustomer {
		return ReasonExistingCustomer
	}
	return ""
}

// AttributionEnds is when the referral's attribution window ends: a
// conversion that occurs after it does not qualify, and a referral still
// pending then expires.
func (p Program) AttributionEnds(ref Referral) time.Time {
	return ref.CreatedAt.AddDate(0, 0, p.AttributionWindowDays)
}

// ClockSkew is how far in the future a reported occurredAt may lie before it
// is refused: clients' clocks drift.
const ClockSkew = 5 * time.Minute

// ConversionProblem says why a conversion does not qualify, or "" if it does.
// The program must be active (paused or archived programs stop earning), the
// event one the program counts, the referral eligible, the conversion inside
// the attribution window counted from the referral, and a purchase at least
// the minimum amount.
func (p Program) ConversionProblem(ref Referral, event string, amount *Money, occurredAt, now time.Time) (code, message string) {
	switch {
	case p.Status != ProgramActive:
		return "program_not_active", "the program is " + string(p.Status)
	case !p.Qualifies(event):
		return ReasonEventNotQualifying, "the program does not count " + strconv.Quote(event) + " events (it counts " + strings.Join(p.QualifyingEvents, ", ") + ")"
	case ref.Status == ReferralIneligible:
		return ReasonReferralIneligible, "the referral is ineligible (" + ref.Reason + ")"
	case occurredAt.After(now.Add(ClockSkew)):
		return ReasonInFuture, "occurredAt is in the future"
	case occurredAt.Before(ref.CreatedAt.Add(-ClockSkew)):
		return ReasonBeforeReferral, "occurredAt is before the referral was made"
	case occurredAt.After(p.AttributionEnds(ref)):
		return ReasonWindowExpired, "the conversion occurred after the attribution window of " + strconv.Itoa(p.AttributionWindowDays) + " days"
	}
	if amount != nil && amount.Currency != p.Currency {
		return ReasonCurrencyMismatch, "the program's currency is " + p.Currency
	}
	if min := p.Eligibility.MinPurchaseAmount; min != nil && *min > 0 && event == EventPurchase {
		if amount == nil || amount.Amount < *min {
			return ReasonBelowMinimum, "the purchase is below the program's minimum of " + FormatMajor(*min, p.Currency) + " " + p.Currency
		}
	}
	return "", ""
}

// RenewalProblem says why a renewal (EventRenewal) of the referral cannot be
// recorded, or "" if it can. firstPaid is when the referral's first paid
// conversion occurred, nil when it has none. A renewal is a later payment of
// a customer already referred, so the attribution window, the qualifying
// events and the minimum purchase do not apply to it (they applied to the
// first payment); the program must still be active, the referral eligible,
// and the renewal after the first payment. Whether it earns is decided when
// it is priced (CommissionRule.RenewalEarns).
func (p Program) RenewalProblem(ref Referral, firstPaid *time.Time, amount *Money, occurredAt, now time.Time) (code, message string) {
	switch {
	case p.Status != ProgramActive:
		return "program_not_active", "the program is " + string(p.Status)
	case ref.Status == ReferralIneligible:
		return ReasonReferralIneligible, "the referral is ineligible (" + ref.Reason + ")"
	case occurredAt.After(now.Add(ClockSkew)):
		return ReasonInFuture, "occurredAt is in the future"
	case firstPaid == nil:
		return ReasonNoFirstPayment, "a renewal is a later payment of a customer already referred, and this referral has no paid conversion yet: record the first payment as a purchase"
	case occurredAt.Before(*firstPaid):
		return ReasonNoFirstPayment, "the renewal occurred before the referral's first paid conversion (" + firstPaid.UTC().Format(time.RFC3339) + ")"
	case amount == nil || amount.Amount <= 0:
		return "amount_required", "a renewal is a payment: give its amount"
	case amount.Currency != p.Currency:
		return ReasonCurrencyMismatch, "the program's currency is " + p.Currency
	}
	return "", ""
}

// FirstPaidAt is when the first paid conversion among convs occurred: the
// earliest one with a positive amount that is not itself a renewal. It
// opens a recurring window (COMMISSIONS.md). ok is false when there is none.
func FirstPaidAt(convs []Conversion) (at time.Time, ok bool) {
	for _, c := range convs {
		if c.Event == EventRenewal || c.Amount == nil || c.Amount.Amount <= 0 {
			continue
		}
		if !ok || c.OccurredAt.Before(at) {
			at, ok = c.OccurredAt, true
		}
	}
	return at, ok
}
