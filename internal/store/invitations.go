package store

import (
	"context"
	"time"

	"github.com/partnerloop/partnerloop/internal/domain"
)

// Invitations keeps the invitations that let people set their password.
// Invitations are found by the hash of their token; whether one has expired
// is the service's decision (the stored fields round-trip).
type Invitations interface {
	// IssueInvitation stores inv and, in the same atomic change, revokes
	// (RevokedAt = inv.CreatedAt) the user's earlier invitation that is
	// still open, so a user has at most one open invitation, and moves a
	// disabled user back to invited. The user must exist in inv.OrgID, else
	// ErrNotFound.
	IssueInvitation(ctx context.Context, inv domain.Invitation) error
	// GetInvitation returns the invitation whose token hashes to tokenHash,
	// in whatever state.
	GetInvitation(ctx context.Context, tokenHash string) (domain.Invitation, error)
	// LatestInvitation returns the user's most recently issued invitation;
	// ErrNotFound when there is none.
	LatestInvitation(ctx context.Context, orgID, userID string) (domain.Invitation, error)
	// AcceptInvitation is a compare-and-set: if the invitation is open (not
	// used, not revoked) it marks it used at at and, atomically, gives its
	// user passwordHash and the status active (UpdatedAt at), and returns
	// the user. A used or revoked invitation is ErrConflict (of two
	// concurrent accepts exactly one wins), an unknown one ErrNotFound.
	AcceptInvitation(ctx context.Context, tokenHash, passwordHash string, at time.Time) (domain.User, error)
	// DisableUser revokes the user's open invitation (RevokedAt = at) and
	// sets the user's status to disabled (UpdatedAt at), atomically, and
	// returns the user. Sessions are the caller's to end. ErrNotFound when
	// the organization has no such user; ErrLastAdmin when it is the
	// organization's only active admin.
	DisableUser(ctx context.Context, orgID, userID string, at time.Time) (domain.User, error)
	// SetUserRole gives the user role (UpdatedAt at) and returns the user;
	// nothing else about it changes. ErrNotFound when the organization has
	// no such user; ErrLastAdmin when it is the organization's only active
	// admin and role is not admin.
	//
	// The organization always keeps an active admin: the check and the
	// change of SetUserRole and DisableUser are one atomic step, so of two
	// admins demoting or disabling each other at the same moment one is
	// refused, whatever the interleaving.
	SetUserRole(ctx context.Context, orgID, userID string, role domain.Role, at time.Time) (domain.User, error)
}

// Counters are fixed-window counters shared by every process (rate limits
// that hold across Lambda instances).
type Counters interface {
	// IncrementCounter adds one to the counter key and returns its new
	// value. The counter is forgotten some time after expiresAt (DynamoDB's
	// TTL is lazy), so callers put the window's start into key.
	IncrementCounter(ctx context.Context, key string, expiresAt time.Time) (int64, error)
}
