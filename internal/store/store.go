// Package store defines the persistence port of the product. Adapters
// (SQLite for the embedded mode, DynamoDB on AWS) implement Store and prove it
// with the shared conformance suite in storetest.
//
// Every method is one atomic change: a method that touches several records
// does so all-or-nothing. Records of another organization are reported as
// ErrNotFound, never returned.
package store

import (
	"context"
	"errors"
	"time"

	"github.com/partnerloop/partnerloop/internal/domain"
)

// Sentinel errors. Each adapter maps its driver's errors to these in one
// function, so services never see a driver error they must interpret.
var (
	// ErrNotFound: no such record in this organization.
	ErrNotFound = errors.New("store: not found")
	// ErrConflict: a unique value is taken, or the record changed since it
	// was read (optimistic locking).
	ErrConflict = errors.New("store: conflict")
	// ErrLastAdmin: the change would leave the organization without an
	// active admin (Invitations.SetUserRole, DisableUser); nothing changed.
	ErrLastAdmin = errors.New("store: the organization's last active admin")
)

// Page asks for one page of a list. Lists are newest first. Cursor is the
// opaque NextCursor of the previous page; "" starts at the beginning.
type Page struct {
	Limit  int
	Cursor string
}

// Default and maximum page sizes of the public API.
const (
	DefaultLimit = 50
	MaxLimit     = 200
)

// Clamp returns the page with its limit inside 1..MaxLimit.
func (p Page) Clamp() Page {
	if p.Limit <= 0 {
		p.Limit = DefaultLimit
	}
	if p.Limit > MaxLimit {
		p.Limit = MaxLimit
	}
	return p
}

// ErrBadCursor is returned for a cursor the adapter did not issue.
var ErrBadCursor = errors.New("store: invalid cursor")

// ClickLimits decide whether RecordClick counts a click.
type ClickLimits struct {
	// Window: a visitor (Click.VisitorHash) counts at most once in any
	// Window: a click less than Window after the visitor's last counted
	// click through the same code (by domain.CodeKey) is a repeat.
	Window time.Duration
	// PrevVisitorHash, when set, is the same visitor hashed with the
	// previous day's salt: its counted click less than Window before c.At
	// makes c a repeat too, so a visit that straddles the salt's rotation
	// counts once. It is checked, never written.
	PrevVisitorHash string
	// SourceHash identifies the visitor's address (whatever its browser).
	// When PerSource > 0, at most PerSource clicks per (code, SourceHash)
	// count in each fixed window of length Window (c.At truncated to
	// Window), so one address cannot inflate a count by varying its
	// User-Agent.
	SourceHash string
	PerSource  int
	// PrevSourceHash, with PrevVisitorHash, is the address hashed with the
	// previous day's salt. A visitor's hash is specific to its address (the
	// tracking service hashes the address into it), so an adapter may look
	// a visitor's last counted click up under the address it came from:
	// VisitorHash under SourceHash, PrevVisitorHash under PrevSourceHash
	// (and both under "", for clicks recorded without an address).
	PrevSourceHash string
}

// ReferralFilter narrows ListReferrals; empty fields match everything.
type ReferralFilter struct {
	ProgramID  string
	ReferrerID string
	Status     string
	// Match: the referred contact's name or e-mail, and CreatedAt.
	Match
}

// ConversionFilter narrows ListConversions; empty fields match everything.
type ConversionFilter struct {
	ProgramID  string
	ReferralID string
	// Match: the name or e-mail of the conversion's referral (the
	// referred contact), and OccurredAt.
	Match
}

// PartnerFilter narrows ListPartners; empty fields match everything.
type PartnerFilter struct {
	TierID string
}

// Store is everything the services persist.
type Store interface {
	// Organizations and people.
	CreateOrganization(ctx context.Context, o domain.Organization) error
	GetOrganization(ctx context.Context, id string) (domain.Organization, error)
	// UpdateOrganization stores o if the stored revision is still
	// o.Revision, with Revision+1; else ErrConflict.
	UpdateOrganization(ctx context.Context, o domain.Organization) error
	// ListOrganizations pages through every organization of the
	// installation, newest first (scheduled jobs visit each one).
	ListOrganizations(ctx context.Context, p Page) ([]domain.Organization, string, error)
	// CreateUser fails with ErrConflict when the email is taken anywhere in
	// the installation (login names no organization).
	CreateUser(ctx context.Context, u domain.User) error
	GetUser(ctx context.Context, orgID, id string) (domain.User, error)
	// GetUserByEmail looks an address up across the installation (login).
	GetUserByEmail(ctx context.Context, email string) (domain.User, error)
	ListUsers(ctx context.Context, orgID string, p Page) ([]domain.User, string, error)

	// Sessions, keyed by the hash of their token.
	CreateSession(ctx context.Context, s domain.Session) error
	GetSession(ctx context.Context, tokenHash string) (domain.Session, error)
	DeleteSession(ctx context.Context, tokenHash string) error
	// DeleteUserSessions ends every session of a user at once.
	DeleteUserSessions(ctx context.Context, orgID, userID string) error

	// API keys, looked up by the hash of their secret.
	CreateAPIKey(ctx context.Context, k domain.APIKey) error
	GetAPIKeyByHash(ctx context.Context, hash string) (domain.APIKey, error)
	ListAPIKeys(ctx context.Context, orgID string, p Page) ([]domain.APIKey, string, error)
	DeleteAPIKey(ctx context.Context, orgID, id string) error

	// Programs. UpdateProgram stores p if the stored revision is still
	// p.Revision, and stores it with Revision+1; else ErrConflict.
	CreateProgram(ctx context.Context, p domain.Program) error
	GetProgram(ctx context.Context, orgID, id string) (domain.Program, error)
	UpdateProgram(ctx context.Context, p domain.Program) error
	ListPrograms(ctx context.Context, orgID string, p Page) ([]domain.Program, string, error)

	// Referrers. Codes are unique across the installation by domain.CodeKey
	// (the redirect has no organization in its path), and an email has at
	// most one referrer per program; either clash is ErrConflict.
	CreateReferrer(ctx context.Context, r domain.Referrer) error
	GetReferrer(ctx context.Context, orgID, id string) (domain.Referrer, error)
	// GetReferrerByCode resolves a code (the redirect, referrals by code):
	// the referrer's record, whose Clicks an adapter may leave at 0 — the
	// callers need whom the code belongs to, and on DynamoDB the count is
	// the sum of a counter's shards, 16 more reads (GetReferrer has it).
	GetReferrerByCode(ctx context.Context, code string) (domain.Referrer, error)
	GetReferrerByEmail(ctx context.Context, orgID, programID, email string) (domain.Referrer, error)
	ListReferrers(ctx context.Context, orgID, programID string, p Page) ([]domain.Referrer, string, error)
	// ListReferrersMatching lists the organization's referrers that match
	// f (Match: the referrer's name or e-mail, and CreatedAt), newest
	// first; CountReferrers counts them, up to MaxCount (more: there are
	// others).
	ListReferrersMatching(ctx context.Context, orgID string, f ReferrerFilter, p Page) ([]domain.Referrer, string, error)
	CountReferrers(ctx context.Context, orgID string, f ReferrerFilter) (n int, more bool, err error)

	// RecordClick stores c and adds one to its referrer's click count unless
	// the limits say it does not count (ClickLimits). It reports whether the
	// click was counted; an uncounted click writes nothing.
	RecordClick(ctx context.Context, c domain.Click, lim ClickLimits) (bool, error)
	ListClicks(ctx context.Context, orgID, referrerID string, p Page) ([]domain.Click, string, error)
	// DaySalt returns the salt of the UTC day that starts at day (visitor
	// hashes are keyed with it), storing candidate as that salt when the day
	// has none yet, so that every process and Lambda instance uses one salt
	// per day. The salt is kept until expiresAt and then forgotten (on
	// DynamoDB by TTL, a little later); salts that expired by day are gone.
	DaySalt(ctx context.Context, day time.Time, candidate []byte, expiresAt time.Time) ([]byte, error)

	// Referrals. An email has at most one referral per program, and an
	// externalId at most one referral per organization: ErrConflict.
	// Anonymous referrals (no email: a code used at checkout) are not
	// limited.
	CreateReferral(ctx context.Context, r domain.Referral) error
	GetReferral(ctx context.Context, orgID, id string) (domain.Referral, error)
	GetReferralByExternalID(ctx context.Context, orgID, externalID string) (domain.Referral, error)
	// ReferralsByEmail lists an address's referrals in the organization,
	// newest first (at most 100: one per program).
	ReferralsByEmail(ctx context.Context, orgID, email string) ([]domain.Referral, error)
	ListReferrals(ctx context.Context, orgID string, f ReferralFilter, p Page) ([]domain.Referral, string, error)
	// CountReferrals counts the referrals ListReferrals lists, up to
	// MaxCount (more: there are others).
	CountReferrals(ctx context.Context, orgID string, f ReferralFilter) (n int, more bool, err error)
	// ExpireReferral sets the organization's pending referral's status to
	// expired, its UpdatedAt to at, and returns it. A referral that is no
	// longer pending is ErrConflict (a conversion got there first); an
	// unknown one ErrNotFound.
	ExpireReferral(ctx context.Context, orgID, id string, at time.Time) (domain.Referral, error)

	// RecordConversion atomically stores c, first stores newReferral when it
	// is not nil (a conversion that arrives with only a code creates its
	// referral), and marks the referral converted at c.OccurredAt if it was
	// pending or expired (a conversion reported after the attribution window
	// ended, that occurred inside it); its UpdatedAt becomes c.CreatedAt. An
	// externalId already used in the organization is ErrConflict, and then
	// nothing is written.
	RecordConversion(ctx context.Context, c domain.Conversion, newReferral *domain.Referral) error
	GetConversion(ctx context.Context, orgID, id string) (domain.Conversion, error)
	// GetConversions returns the organization's conversions among ids, by
	// ID (an unknown ID is absent, not an error): GetConversion for a batch.
	GetConversions(ctx context.Context, orgID string, ids []string) (map[string]domain.Conversion, error)
	GetConversionByExternalID(ctx context.Context, orgID, externalID string) (domain.Conversion, error)
	ListConversions(ctx context.Context, orgID string, f ConversionFilter, p Page) ([]domain.Conversion, string, error)
	// CountConversions counts the conversions ListConversions lists, up
	// to MaxCount (more: there are others).
	CountConversions(ctx context.Context, orgID string, f ConversionFilter) (n int, more bool, err error)

	// Partner tiers. UpdateTier stores t if the stored revision is still
	// t.Revision, and stores it with Revision+1; else ErrConflict.
	CreateTier(ctx context.Context, t domain.PartnerTier) error
	GetTier(ctx context.Context, orgID, id string) (domain.PartnerTier, error)
	UpdateTier(ctx context.Context, t domain.PartnerTier) error
	ListTiers(ctx context.Context, orgID string, p Page) ([]domain.PartnerTier, string, error)

	// Partners. An email (domain.NormalizeEmail) has at most one partner
	// per organization: a clash on create or update is ErrConflict.
	// UpdatePartner is optimistic like UpdateProgram. When it changes the
	// partner's email, the partner's portal user (domain.PortalUserID), if
	// there is one, takes the new email in the same atomic change — it
	// signs in with it — and an address another user of the installation
	// has is ErrConflict, with nothing written.
	CreatePartner(ctx context.Context, p domain.Partner) error
	GetPartner(ctx context.Context, orgID, id string) (domain.Partner, error)
	UpdatePartner(ctx context.Context, p domain.Partner) error
	ListPartners(ctx context.Context, orgID string, f PartnerFilter, p Page) ([]domain.Partner, string, error)

	// Close releases the store's resources.
	Close() error
}

// Change is one record change, in commit order: the embedded store's
// transactional outbox, and the shape a DynamoDB stream record is turned
// into, so the event pipeline has one input whichever store runs.
type Change struct {
	Seq      int64     `json:"seq"`
	Entity   string    `json:"entity"` // "program", "referrer", "referral", "conversion", ...
	Op       string    `json:"op"`     // "INSERT", "MODIFY" or "REMOVE"
	OrgID    string    `json:"organizationId"`
	ID       string    `json:"id"`
	OldImage []byte    `json:"oldImage,omitempty"` // JSON of the record before, if any
	NewImage []byte    `json:"newImage,omitempty"` // JSON of the record after, if any
	At       time.Time `json:"at"`
}

// Outbox is implemented by stores that keep their own change log (SQLite).
// It is written in the same transaction as each change it describes.
type Outbox interface {
	// Changes returns up to limit changes with Seq > after, oldest first.
	Changes(ctx context.Context, after int64, limit int) ([]Change, error)
	// PruneChanges drops changes with Seq <= through once consumed.
	PruneChanges(ctx context.Context, through int64) error
}
