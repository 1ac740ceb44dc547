// Deal registration: partners register the deals they bring, internal users create direct deals or deals on a
// partner's behalf, and a registration that collides with another party's
// claim on the same customer is flagged as a conflict for a person to decide.
//
// Like the rest of package domain they have no I/O: the clock is passed in, and the caller
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
//     (DefaultDealExclusivity unless configured). The claim ends at that
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

package domain

import (
	"slices"
	"strings"
	"time"
	"unicode/utf8"
)

// DealStatus is where a deal is in its life.
type DealStatus string

const (
	// DealRegistered: accepted for review, no other party's claim.
	DealRegistered DealStatus = "registered"
	// DealConflict: another party claimed the domain first (ConflictsWith).
	// Never approved automatically.
	DealConflict DealStatus = "conflict"
	DealApproved DealStatus = "approved"
	DealRejected DealStatus = "rejected"
	DealWon      DealStatus = "won"
	DealLost     DealStatus = "lost"
	DealExpired  DealStatus = "expired"
)

// Open reports whether a deal in status s is still being worked on.
func (s DealStatus) Open() bool {
	return s == DealRegistered || s == DealConflict || s == DealApproved
}

// DealSource says who brought the deal.
type DealSource string

const (
	DealSourcePartner DealSource = "partner" // a partner's deal, whoever entered it
	DealSourceDirect  DealSource = "direct"  // the organization's own deal
)

// DefaultDealExclusivity is how long a partner's registration keeps other
// parties off its customer when the organization configures nothing.
const DefaultDealExclusivity = 90 * 24 * time.Hour

// MaxCustomerNameLength bounds a customer's name, in characters.
const MaxCustomerNameLength = 200

// MaxDealReasonLength bounds a rejection reason, in characters.
const MaxDealReasonLength = 1000

// Deal is an opportunity with one customer, identified by its
type Deal struct {
	ID        string     `json:"id"`
	OrgID     string     `json:"organizationId"`
	PartnerID string     `json:"partnerId"` // empty for direct deals
	Source    DealSource `json:"source"`
	// CreatedBy is the user who registered the deal: the partner's user,
	// or the internal user who created a direct deal or a partner's deal
	// on the partner's behalf.
	CreatedBy      string     `json:"createdBy"`
	CustomerName   string     `json:"customerName"`
	CustomerDomain string     `json:"customerDomain"` // normalised (NormalizeDomain)
	Value          Money      `json:"value"`
	Status         DealStatus `json:"status"`
	// ConflictsWith is the ID of the deal whose claim this registration
	// collided with (the earliest registered one), when Status is or was
	// conflict. It is kept when an admin approves the deal anyway.
	ConflictsWith string `json:"conflictsWith"`
	// ExclusiveUntil is when the deal's claim on the domain ends; nil for
	// direct deals, which claim it while open.
	ExclusiveUntil    *time.Time `json:"exclusiveUntil"`
	ExpectedCloseDate *time.Time `json:"expectedCloseDate"`
	Reason            string     `json:"reason,omitempty"`   // why it was rejected
	WonValue          *Money     `json:"wonValue,omitempty"` // the value it was won at
	// ClosedAt is when the deal was rejected, won or lost, or when its
	// exclusivity ended for an expired deal.
	ClosedAt  *time.Time `json:"closedAt"`
	CreatedAt time.Time  `json:"createdAt"`
	UpdatedAt time.Time  `json:"updatedAt"`
	// Revision counts stored updates; stores use it for optimistic locking.
	Revision int64 `json:"revision"`
}

// DealRegistration is a registration as the caller gives it. CustomerDomain is raw
// and normalised by RegisterDeal. PartnerID is empty for direct deals.
type DealRegistration struct {
	OrgID             string
	ID                string
	PartnerID         string
	Source            DealSource
	CreatedBy         string
	CustomerName      string
	CustomerDomain    string
	Value             Money
	ExpectedCloseDate *time.Time
}

// Validate reports every invalid field of the registration and returns the
// normalised domain when it is valid.
func (in DealRegistration) Validate() (string, error) {
	var v Validation
	switch in.Source {
	case DealSourcePartner:
		v.Check(in.PartnerID != "", "partnerId", "is required for a partner deal")
	case DealSourceDirect:
		v.Check(in.PartnerID == "", "partnerId", "must be empty for a direct deal")
	default:
		v.Add("source", "must be %q or %q", DealSourcePartner, DealSourceDirect)
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
	v.CheckAmount(in.Value.Amount, "value.amount", false)
	v.Check(ValidCurrency(in.Value.Currency), "value.currency", "must be an ISO 4217 code such as USD")
	v.Check(in.ExpectedCloseDate == nil || !in.ExpectedCloseDate.IsZero(), "expectedCloseDate", "must be a date")
	if err := v.Err(); err != nil {
		return "", err
	}
	return host, nil
}

// Party is who a deal belongs to: the partner's ID, or "" for the
// organization itself (direct deals).
func (d Deal) Party() string {
	if d.Source == DealSourceDirect {
		return ""
	}
	return d.PartnerID
}

// Claims reports whether d holds a claim on its customer domain at now (see
// the comment at the top of deal.go); window is the organization's exclusivity
// window, which only matters for won deals.
func (d Deal) Claims(now time.Time, window time.Duration) bool {
	switch {
	case d.Status.Open():
		return d.ExclusiveUntil == nil || now.Before(*d.ExclusiveUntil)
	case d.Status == DealWon:
		if d.ExclusiveUntil != nil && now.Before(*d.ExclusiveUntil) {
			return true
		}
		return d.ClosedAt != nil && now.Before(d.ClosedAt.Add(dealWindow(window)))
	}
	return false
}

// ExpiryDue reports whether Expire would move d to expired at now: it is a
// registered or approved partner deal whose exclusivity has ended.
func (d Deal) ExpiryDue(now time.Time) bool {
	return (d.Status == DealRegistered || d.Status == DealApproved) &&
		d.ExclusiveUntil != nil && !now.Before(*d.ExclusiveUntil)
}

// EarnsCommission reports whether the deal is a won partner deal: the change
// to won of such a deal is what the commission pipeline consumes (the
// pipeline routes every deal MODIFY whose status becomes "won" as deal.won;
// the calculator pays only deals for which this is true).
func (d Deal) EarnsCommission() bool {
	return d.Status == DealWon && d.Source == DealSourcePartner && d.PartnerID != ""
}

func dealWindow(w time.Duration) time.Duration {
	if w <= 0 {
		return DefaultDealExclusivity
	}
	return w
}

// RegisterDeal validates a registration and decides its status.
//
// existing must hold the organization's deals on the same customer domain
// (the caller queries them by the normalised domain; deals of other
// organizations or domains, and a deal with in's ID, are ignored here).
// window is the organization's exclusivity window; zero or negative means
// DefaultDealExclusivity.
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
//     Claims the domain at now, the deal is DealConflict and ConflictsWith
//     names the earliest registered such deal (by CreatedAt, then ID). It
//     waits for an admin: nothing approves a conflict automatically.
//  4. Otherwise the deal is DealRegistered.
//
// A partner deal is exclusive until now + window, even in conflict (should
// an admin approve it, it holds the claim like any other); a direct deal has
// no ExclusiveUntil.
func RegisterDeal(in DealRegistration, existing []Deal, window time.Duration, now time.Time) (Deal, error) {
	host, err := in.Validate()
	if err != nil {
		return Deal{}, err
	}
	window = dealWindow(window)

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
		Status:         DealRegistered,
		CreatedAt:      now,
		UpdatedAt:      now,
	}
	if in.ExpectedCloseDate != nil {
		t := *in.ExpectedCloseDate
		d.ExpectedCloseDate = &t
	}
	if d.Source == DealSourcePartner {
		until := now.Add(window)
		d.ExclusiveUntil = &until
	}

	if d.Source == DealSourcePartner {
		for _, e := range same {
			if e.Source == DealSourcePartner && e.PartnerID == d.PartnerID && e.Status.Open() && !e.ExpiryDue(now) {
				err := Errorf(KindConflict, "duplicate_registration",
					"the partner already registered %s (deal %s, %s)", host, e.ID, e.Status)
				err.Extra = map[string]any{"existingId": e.ID}
				return Deal{}, err
			}
		}
	}
	for _, e := range same {
		if e.Party() != d.Party() && e.Claims(now, window) {
			d.Status = DealConflict
			d.ConflictsWith = e.ID
			break
		}
	}
	return d, nil
}

func invalidDealTransition(d Deal, action string) error {
	return Errorf(KindConflict, "invalid_transition", "a %s deal cannot be %s", d.Status, action)
}

func (d Deal) close(to DealStatus, now time.Time) Deal {
	d.Status = to
	d.UpdatedAt = now
	t := now
	d.ClosedAt = &t
	return d
}

// Approve accepts a registered deal. A deal in conflict may be approved too,
// but only by this explicit call, which the caller must reserve to admins:
// RegisterDeal never approves anything, and no rule here approves a conflict on
// its own. Approving does not extend ExclusiveUntil.
func (d Deal) Approve(now time.Time) (Deal, error) {
	if d.Status != DealRegistered && d.Status != DealConflict {
		return d, invalidDealTransition(d, "approved")
	}
	d.Status = DealApproved
	d.UpdatedAt = now
	return d, nil
}

// Reject refuses a registered or conflicting deal, for a reason the partner
// sees. An approved deal ends as won, lost or expired instead.
func (d Deal) Reject(reason string, now time.Time) (Deal, error) {
	if d.Status != DealRegistered && d.Status != DealConflict {
		return d, invalidDealTransition(d, "rejected")
	}
	var v Validation
	reason = strings.TrimSpace(reason)
	v.Check(reason != "", "reason", "is required")
	v.Check(utf8.RuneCountInString(reason) <= MaxDealReasonLength, "reason", "must be at most %d characters", MaxDealReasonLength)
	if err := v.Err(); err != nil {
		return d, err
	}
	d = d.close(DealRejected, now)
	d.Reason = reason
	return d, nil
}

// Won closes an approved deal as won, at value or, when value is nil, at
// the registered value. A value without a currency is in the deal's
// currency; another currency is refused (multi-currency is not built). For a
// partner deal this is the change that earns a commission (EarnsCommission).
func (d Deal) Won(value *Money, now time.Time) (Deal, error) {
	if d.Status != DealApproved {
		return d, invalidDealTransition(d, "won")
	}
	won := d.Value
	if value != nil {
		won = *value
		if won.Currency == "" {
			won.Currency = d.Value.Currency
		}
		var v Validation
		v.CheckAmount(won.Amount, "value.amount", false)
		v.Check(won.Currency == d.Value.Currency, "value.currency", "must be the deal's currency, %s", d.Value.Currency)
		if err := v.Err(); err != nil {
			return d, err
		}
	}
	d = d.close(DealWon, now)
	d.WonValue = &won
	return d, nil
}

// Lost closes a registered, conflicting or approved deal as lost.
func (d Deal) Lost(now time.Time) (Deal, error) {
	if !d.Status.Open() {
		return d, invalidDealTransition(d, "lost")
	}
	return d.close(DealLost, now), nil
}

// Expire moves a registered or approved partner deal whose exclusivity has
// ended (now at or after ExclusiveUntil) to expired; ClosedAt is the instant
// the exclusivity ended, however late the sweep runs. A deal in another
// status, or a direct deal (which has no exclusivity), is an
// "invalid_transition"; a deal whose exclusivity has not ended yet is
// KindConflict "exclusivity_active". Conflicting deals do not expire: they
// wait for an admin's decision.
func (d Deal) Expire(now time.Time) (Deal, error) {
	if d.Status != DealRegistered && d.Status != DealApproved {
		return d, invalidDealTransition(d, "expired")
	}
	if d.ExclusiveUntil == nil {
		return d, Errorf(KindConflict, "invalid_transition", "a direct deal has no exclusivity to expire")
	}
	if !d.ExpiryDue(now) {
		return d, Errorf(KindConflict, "exclusivity_active",
			"the deal is exclusive until %s", d.ExclusiveUntil.Format(time.RFC3339))
	}
	ended := *d.ExclusiveUntil
	d.Status = DealExpired
	d.UpdatedAt = now
	d.ClosedAt = &ended
	return d, nil
}
