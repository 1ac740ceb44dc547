// Package deals holds the rules of deal registration: partners register the
// deals they bring, internal users create direct deals or deals on a
// partner's behalf, and a registration that collides with another party's
// claim on the same customer is flagged as a conflict for a person to decide.
//
// Like package domain it has no I/O: the clock is passed in, and the caller
// loads the deals a rule looks at. Every function returns a new Deal value
// and leaves its receiver alone; the store bumps Revision when it saves.
//
// # Open deals and exclusivity
//
// A deal is open while it is registered, conflict or approved; rejected,
// won, lost and expired deals are closed.
//
// A deal claims its customer domain (Deal.Claims) as follows:
//
//   - an open partner deal claims it until ExclusiveUntil, which is its
//     registration time plus the organization's exclusivity window
//     (DefaultExclusivity unless configured). The claim ends at that
//     instant: at now == ExclusiveUntil the deal no longer claims;
//   - an open direct deal has no ExclusiveUntil and claims the domain for as
//     long as it stays open: it is the organization's own opportunity;
//   - a won deal closes the opportunity but the customer is taken: it claims
//     the domain until the later of its ExclusiveUntil and ClosedAt plus the
//     window, so a partner who registers a customer the organization (or
//     another partner) has just won is flagged;
//   - rejected, lost and expired deals claim nothing.
//
// Exclusivity expires by the passage of time, not by a status change: a
// registered or approved partner deal past its ExclusiveUntil stops
// claiming at once, whether or not Expire has yet moved it to expired.
// Approving a deal does not extend its exclusivity.
package deals

import (
	"slices"
	"strings"
	"time"
	"unicode/utf8"

	"github.com/partnerloop/partnerloop/internal/domain"
)

// Status is where a deal is in its life.
type Status string

const (
	// StatusRegistered: accepted for review, no other party's claim.
	StatusRegistered Status = "registered"
	// StatusConflict: another party claimed the domain first (ConflictsWith).
	// Never approved automatically.
	StatusConflict Status = "conflict"
	StatusApproved Status = "approved"
	StatusRejected Status = "rejected"
	StatusWon      Status = "won"
	StatusLost     Status = "lost"
	StatusExpired  Status = "expired"
)

// Open reports whether a deal in status s is still being worked on.
func (s Status) Open() bool {
	return s == StatusRegistered || s == StatusConflict || s == StatusApproved
}

// Source says who brought the deal.
type Source string

const (
	SourcePartner Source = "partner" // a partner's deal, whoever entered it
	SourceDirect  Source = "direct"  // the organization's own deal
)

// DefaultExclusivity is how long a partner's registration keeps other
// parties off its customer when the organization configures nothing.
const DefaultExclusivity = 90 * 24 * time.Hour

// MaxCustomerNameLength bounds a customer's name, in characters.
const MaxCustomerNameLength = 200

// MaxReasonLength bounds a rejection reason, in characters.
const MaxReasonLength = 1000

// Deal is an opportunity with one customer, identified by its domain.
type Deal struct {
	ID        string `json:"id"`
	OrgID     string `json:"organizationId"`
	PartnerID string `json:"partnerId,omitempty"` // empty for direct deals
	Source    Source `json:"source"`
	// CreatedBy is the user who registered the deal: the partner's user,
	// or the internal user who created a direct deal or a partner's deal
	// on the partner's behalf.
	CreatedBy      string       `json:"createdBy"`
	CustomerName   string       `json:"customerName"`
	CustomerDomain string       `json:"customerDomain"` // normalised (NormalizeDomain)
	Value          domain.Money `json:"value"`
	Status         Status       `json:"status"`
	// ConflictsWith is the ID of the deal whose claim this registration
	// collided with (the earliest registered one), when Status is or was
	// conflict. It is kept when an admin approves the deal anyway.
	ConflictsWith string `json:"conflictsWith,omitempty"`
	// ExclusiveUntil is when the deal's claim on the domain ends; nil for
	// direct deals, which claim it while open.
	ExclusiveUntil    *time.Time    `json:"exclusiveUntil"`
	ExpectedCloseDate *time.Time    `json:"expectedCloseDate"`
	Reason            string        `json:"reason,omitempty"`   // why it was rejected
	WonValue          *domain.Money `json:"wonValue,omitempty"` // the value it was won at
	// ClosedAt is when the deal was rejected, won or lost, or when its
	// exclusivity ended for an expired deal.
	ClosedAt  *time.Time `json:"closedAt"`
	CreatedAt time.Time  `json:"createdAt"`
	UpdatedAt time.Time  `json:"updatedAt"`
	// Revision counts stored updates; stores use it for optimistic locking.
	Revision int64 `json:"revision"`
}

// NewDeal is a registration as the caller gives it. CustomerDomain is raw
// and normalised by Register. PartnerID is empty for direct deals.
type NewDeal struct {
	OrgID             string
	ID                string
	PartnerID         string
	Source            Source
	CreatedBy         string
	CustomerName      string
	CustomerDomain    string
	Value             domain.Money
	ExpectedCloseDate *time.Time
}

// Validate reports every invalid field of the registration and returns the
// normalised domain when it is valid.
func (in NewDeal) Validate() (string, error) {
	var v domain.Validation
	switch in.Source {
	case SourcePartner:
		v.Check(in.PartnerID != "", "partnerId", "is required for a partner deal")
	case SourceDirect:
		v.Check(in.PartnerID == "", "partnerId", "must be empty for a direct deal")
	default:
		v.Add("source", "must be %q or %q", SourcePartner, SourceDirect)
	}
	name := strings.TrimSpace(in.CustomerName)
	v.Check(name != "", "customerName", "is required")
	v.Check(utf8.RuneCountInString(name) <= MaxCustomerNameLength, "customerName", "must be at most %d characters", MaxCustomerNameLength)
	host, err := NormalizeDomain(in.CustomerDomain)
	if err != nil {
		if err := v.Merge(err); err != nil {
			return "", err
		}
	}
	v.Check(in.Value.Amount >= 0, "value.amount", "must not be negative")
	v.Check(domain.ValidCurrency(in.Value.Currency), "value.currency", "must be an ISO 4217 code such as USD")
	v.Check(in.ExpectedCloseDate == nil || !in.ExpectedCloseDate.IsZero(), "expectedCloseDate", "must be a date")
	if err := v.Err(); err != nil {
		return "", err
	}
	return host, nil
}

// Party is who a deal belongs to: the partner's ID, or "" for the
// organization itself (direct deals).
func (d Deal) Party() string {
	if d.Source == SourceDirect {
		return ""
	}
	return d.PartnerID
}

// Claims reports whether d holds a claim on its customer domain at now (see
// the package documentation); window is the organization's exclusivity
// window, which only matters for won deals.
func (d Deal) Claims(now time.Time, window time.Duration) bool {
	switch {
	case d.Status.Open():
		return d.ExclusiveUntil == nil || now.Before(*d.ExclusiveUntil)
	case d.Status == StatusWon:
		if d.ExclusiveUntil != nil && now.Before(*d.ExclusiveUntil) {
			return true
		}
		return d.ClosedAt != nil && now.Before(d.ClosedAt.Add(normalWindow(window)))
	}
	return false
}

// ExpiryDue reports whether Expire would move d to expired at now: it is a
// registered or approved partner deal whose exclusivity has ended.
func (d Deal) ExpiryDue(now time.Time) bool {
	return (d.Status == StatusRegistered || d.Status == StatusApproved) &&
		d.ExclusiveUntil != nil && !now.Before(*d.ExclusiveUntil)
}

// EarnsCommission reports whether the deal is a won partner deal: the change
// to won of such a deal is what the commission pipeline consumes (the
// pipeline routes every deal MODIFY whose status becomes "won" as deal.won;
// the calculator pays only deals for which this is true).
func (d Deal) EarnsCommission() bool {
	return d.Status == StatusWon && d.Source == SourcePartner && d.PartnerID != ""
}

func normalWindow(w time.Duration) time.Duration {
	if w <= 0 {
		return DefaultExclusivity
	}
	return w
}

// Register validates a registration and decides its status.
//
// existing must hold the organization's deals on the same customer domain
// (the caller queries them by the normalised domain; deals of other
// organizations or domains, and a deal with in's ID, are ignored here).
// window is the organization's exclusivity window; zero or negative means
// DefaultExclusivity.
//
// The rules, in order:
//
//  1. The registration must be valid (KindInvalid, "validation_failed").
//  2. A partner that already has an open deal on the domain gets KindConflict
//     "duplicate_registration" with Extra["existingId"] naming that deal (the
//     earliest, if several). A registered or approved deal whose exclusivity
//     has ended does not count: it is due to expire. Direct deals never
//     duplicate: the organization may run several opportunities with one
//     customer.
//  3. If another party — a different partner, or the organization for a
//     partner's deal and any partner for a direct deal — has a deal that
//     Claims the domain at now, the deal is StatusConflict and ConflictsWith
//     names the earliest registered such deal (by CreatedAt, then ID). It
//     waits for an admin: nothing approves a conflict automatically.
//  4. Otherwise the deal is StatusRegistered.
//
// A partner deal is exclusive until now + window, even in conflict (should
// an admin approve it, it holds the claim like any other); a direct deal has
// no ExclusiveUntil.
func Register(in NewDeal, existing []Deal, window time.Duration, now time.Time) (Deal, error) {
	host, err := in.Validate()
	if err != nil {
		return Deal{}, err
	}
	window = normalWindow(window)

	same := make([]Deal, 0, len(existing))
	for _, e := range existing {
		if e.OrgID == in.OrgID && e.CustomerDomain == host && e.ID != in.ID {
			same = append(same, e)
		}
	}
	slices.SortStableFunc(same, func(a, b Deal) int {
		if c := a.CreatedAt.Compare(b.CreatedAt); c != 0 {
			return c
		}
		return strings.Compare(a.ID, b.ID)
	})

	d := Deal{
		ID:             in.ID,
		OrgID:          in.OrgID,
		PartnerID:      in.PartnerID,
		Source:         in.Source,
		CreatedBy:      in.CreatedBy,
		CustomerName:   strings.TrimSpace(in.CustomerName),
		CustomerDomain: host,
		Value:          in.Value,
		Status:         StatusRegistered,
		CreatedAt:      now,
		UpdatedAt:      now,
	}
	if in.ExpectedCloseDate != nil {
		t := *in.ExpectedCloseDate
		d.ExpectedCloseDate = &t
	}
	if d.Source == SourcePartner {
		until := now.Add(window)
		d.ExclusiveUntil = &until
	}

	if d.Source == SourcePartner {
		for _, e := range same {
			if e.Source == SourcePartner && e.PartnerID == d.PartnerID && e.Status.Open() && !e.ExpiryDue(now) {
				err := domain.Errorf(domain.KindConflict, "duplicate_registration",
					"the partner already registered %s (deal %s, %s)", host, e.ID, e.Status)
				err.Extra = map[string]any{"existingId": e.ID}
				return Deal{}, err
			}
		}
	}
	for _, e := range same {
		if e.Party() != d.Party() && e.Claims(now, window) {
			d.Status = StatusConflict
			d.ConflictsWith = e.ID
			break
		}
	}
	return d, nil
}

func invalidTransition(d Deal, action string) error {
	return domain.Errorf(domain.KindConflict, "invalid_transition", "a %s deal cannot be %s", d.Status, action)
}

func (d Deal) close(to Status, now time.Time) Deal {
	d.Status = to
	d.UpdatedAt = now
	t := now
	d.ClosedAt = &t
	return d
}

// Approve accepts a registered deal. A deal in conflict may be approved too,
// but only by this explicit call, which the caller must reserve to admins:
// Register never approves anything, and no rule here approves a conflict on
// its own. Approving does not extend ExclusiveUntil.
func (d Deal) Approve(now time.Time) (Deal, error) {
	if d.Status != StatusRegistered && d.Status != StatusConflict {
		return d, invalidTransition(d, "approved")
	}
	d.Status = StatusApproved
	d.UpdatedAt = now
	return d, nil
}

// Reject refuses a registered or conflicting deal, for a reason the partner
// sees. An approved deal ends as won, lost or expired instead.
func (d Deal) Reject(reason string, now time.Time) (Deal, error) {
	if d.Status != StatusRegistered && d.Status != StatusConflict {
		return d, invalidTransition(d, "rejected")
	}
	var v domain.Validation
	reason = strings.TrimSpace(reason)
	v.Check(reason != "", "reason", "is required")
	v.Check(utf8.RuneCountInString(reason) <= MaxReasonLength, "reason", "must be at most %d characters", MaxReasonLength)
	if err := v.Err(); err != nil {
		return d, err
	}
	d = d.close(StatusRejected, now)
	d.Reason = reason
	return d, nil
}

// Won closes an approved deal as won, at value or, when value is nil, at
// the registered value. A value without a currency is in the deal's
// currency; another currency is refused (multi-currency is not built). For a
// partner deal this is the change that earns a commission (EarnsCommission).
func (d Deal) Won(value *domain.Money, now time.Time) (Deal, error) {
	if d.Status != StatusApproved {
		return d, invalidTransition(d, "won")
	}
	won := d.Value
	if value != nil {
		won = *value
		if won.Currency == "" {
			won.Currency = d.Value.Currency
		}
		var v domain.Validation
		v.Check(won.Amount >= 0, "value.amount", "must not be negative")
		v.Check(won.Currency == d.Value.Currency, "value.currency", "must be the deal's currency, %s", d.Value.Currency)
		if err := v.Err(); err != nil {
			return d, err
		}
	}
	d = d.close(StatusWon, now)
	d.WonValue = &won
	return d, nil
}

// Lost closes a registered, conflicting or approved deal as lost.
func (d Deal) Lost(now time.Time) (Deal, error) {
	if !d.Status.Open() {
		return d, invalidTransition(d, "lost")
	}
	return d.close(StatusLost, now), nil
}

// Expire moves a registered or approved partner deal whose exclusivity has
// ended (now at or after ExclusiveUntil) to expired; ClosedAt is the instant
// the exclusivity ended, however late the sweep runs. A deal in another
// status, or a direct deal (which has no exclusivity), is an
// "invalid_transition"; a deal whose exclusivity has not ended yet is
// KindConflict "exclusivity_active". Conflicting deals do not expire: they
// wait for an admin's decision.
func (d Deal) Expire(now time.Time) (Deal, error) {
	if d.Status != StatusRegistered && d.Status != StatusApproved {
		return d, invalidTransition(d, "expired")
	}
	if d.ExclusiveUntil == nil {
		return d, domain.Errorf(domain.KindConflict, "invalid_transition", "a direct deal has no exclusivity to expire")
	}
	if !d.ExpiryDue(now) {
		return d, domain.Errorf(domain.KindConflict, "exclusivity_active",
			"the deal is exclusive until %s", d.ExclusiveUntil.Format(time.RFC3339))
	}
	ended := *d.ExclusiveUntil
	d.Status = StatusExpired
	d.UpdatedAt = now
	d.ClosedAt = &ended
	return d, nil
}
