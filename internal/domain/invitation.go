package domain

import "time"

// InvitationTTL is how long an invitation link works: long enough to reach
// someone back from a week away, short enough that a forwarded or leaked
// email stops mattering soon.
const InvitationTTL = 7 * 24 * time.Hour

// Invitation lets a person set their password once and sign in. Only the
// SHA-256 hash of its random token is stored; a user has at most one open
// invitation (issuing one revokes the previous).
type Invitation struct {
	ID        string     `json:"id"`
	OrgID     string     `json:"organizationId"`
	UserID    string     `json:"userId"`
	Email     string     `json:"email"`
	TokenHash string     `json:"-"`
	CreatedAt time.Time  `json:"createdAt"`
	ExpiresAt time.Time  `json:"expiresAt"`
	UsedAt    *time.Time `json:"usedAt,omitempty"`
	RevokedAt *time.Time `json:"revokedAt,omitempty"`
}

// Open reports whether the invitation is neither used nor revoked (it may
// still have expired: see Usable).
func (i Invitation) Open() bool { return i.UsedAt == nil && i.RevokedAt == nil }

// Usable reports whether the invitation can be accepted at now.
func (i Invitation) Usable(now time.Time) bool { return i.Open() && now.Before(i.ExpiresAt) }

// Portal access statuses of a partner.
const (
	PortalNone    = "none"
	PortalInvited = "invited"
	PortalActive  = "active"
	PortalRevoked = "revoked"
)

// PortalAccess is what an admin sees of a partner's portal user.
// PortalUserID is the ID of a partner's portal user. Deriving it from the
// partner makes the first invitation idempotent (two concurrent sends create
// one user), finds the user with one read, and lets the store keep the
// user's email (its login) the partner's.
func PortalUserID(partnerID string) string { return "usr_" + partnerID }

type PortalAccess struct {
	Status     string     `json:"status"`
	UserID     string     `json:"userId,omitempty"`
	InvitedAt  *time.Time `json:"invitedAt,omitempty"`
	ExpiresAt  *time.Time `json:"expiresAt,omitempty"`
	AcceptedAt *time.Time `json:"acceptedAt,omitempty"`
}

// PortalAccessOf summarises a partner's portal user u (nil: never invited)
// and its latest invitation (nil: none).
func PortalAccessOf(u *User, latest *Invitation) PortalAccess {
	if u == nil {
		return PortalAccess{Status: PortalNone}
	}
	a := PortalAccess{UserID: u.ID}
	switch u.Status {
	case UserDisabled:
		a.Status = PortalRevoked
	case UserActive:
		a.Status = PortalActive
	default:
		a.Status = PortalInvited
	}
	if latest != nil {
		created, expires := latest.CreatedAt, latest.ExpiresAt
		a.InvitedAt = &created
		if latest.Open() {
			a.ExpiresAt = &expires
		}
		a.AcceptedAt = latest.UsedAt
	}
	return a
}
