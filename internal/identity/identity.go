// Package identity holds organizations, people, sessions and API keys: who a
// caller is and what role they act in.
package identity

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"time"

	"github.com/partnerloop/partnerloop/internal/domain"
	"github.com/partnerloop/partnerloop/internal/mail"
	"github.com/partnerloop/partnerloop/internal/store"
)

// BootstrapOrgID is the ID of the organization a fresh installation creates.
// A fixed ID makes bootstrap safe when several processes start at once: only
// one create can succeed.
const BootstrapOrgID = "org_default"

// SessionTTL is how long a login lasts.
const SessionTTL = 12 * time.Hour

// Principal is an authenticated caller.
type Principal struct {
	OrgID     string
	Role      domain.Role
	UserID    string // set for people
	APIKeyID  string // set for API keys
	PartnerID string // set for partners
	Email     string
	Name      string
	// SessionHash identifies the session the caller used, for logout.
	SessionHash string
}

// ID is the user's or the API key's ID.
func (p Principal) ID() string {
	if p.APIKeyID != "" {
		return p.APIKeyID
	}
	return p.UserID
}

// Service signs people in and out, invites them, and manages API keys.
type Service struct {
	store       store.Store
	invitations store.Invitations // nil when the store has none
	now         domain.Clock
	ids         domain.IDs

	mailer  mail.Mailer // nil: invitations cannot be sent
	baseURL string      // PUBLIC_BASE_URL, for invitation links

	protect protection // sign-in and invitation throttles (protection.go)
	auth    authCache  // tokens resolved in the last AuthCacheTTL (authcache.go)
}

// Option configures a Service.
type Option func(*Service)

// WithMail sends invitations through m, with links under publicBaseURL.
func WithMail(m mail.Mailer, publicBaseURL string) Option {
	return func(s *Service) { s.mailer, s.baseURL = m, strings.TrimRight(publicBaseURL, "/") }
}

// New returns an identity service. Its sign-in protection counts in the
// store, which must implement store.Throttles (both adapters do); without
// it every sign-in and acceptance fails closed.
func New(s store.Store, now domain.Clock, ids domain.IDs, opts ...Option) *Service {
	throttles, ok := s.(store.Throttles)
	if !ok {
		throttles = noThrottles{}
	}
	svc := &Service{store: s, now: now, ids: ids, protect: newProtection(throttles, now)}
	svc.invitations, _ = s.(store.Invitations)
	for _, o := range opts {
		o(svc)
	}
	return svc
}

// Bootstrap creates the first organization and its admin on a fresh
// installation. It returns the admin and whether it was created now; when
// password is empty a random one is generated and returned.
func (s *Service) Bootstrap(ctx context.Context, orgName, email, password string) (admin domain.User, created bool, generated string, err error) {
	email = domain.NormalizeEmail(email)
	if !domain.ValidEmail(email) {
		return admin, false, "", fmt.Errorf("bootstrap admin email %q is not a valid address", email)
	}
	if u, err := s.store.GetUserByEmail(ctx, email); err == nil {
		return u, false, "", nil
	} else if !errors.Is(err, store.ErrNotFound) {
		return admin, false, "", err
	}
	now := s.now()
	err = s.store.CreateOrganization(ctx, domain.Organization{ID: BootstrapOrgID, Name: orgName, CreatedAt: now})
	switch {
	case errors.Is(err, store.ErrConflict):
		// Initialised before. Only finish an interrupted bootstrap (an
		// organization without any user); never add a second admin because
		// the variables changed.
		users, _, err := s.store.ListUsers(ctx, BootstrapOrgID, store.Page{Limit: 1})
		if err != nil {
			return admin, false, "", err
		}
		if len(users) > 0 {
			return users[0], false, "", nil
		}
	case err != nil:
		return admin, false, "", err
	}
	if password == "" {
		password = GeneratePassword()
		generated = password
	}
	hash, err := HashPassword(password)
	if err != nil {
		return admin, false, "", err
	}
	admin = domain.User{
		ID: s.ids("usr"), OrgID: BootstrapOrgID, Email: email, Name: "Administrator", Role: domain.RoleAdmin,
		Status: domain.UserActive, PasswordHash: hash, CreatedAt: now, UpdatedAt: now,
	}
	if err := s.store.CreateUser(ctx, admin); err != nil {
		return admin, false, "", err
	}
	return admin, true, generated, nil
}

// Login checks credentials and starts a session. Unknown email and wrong
// password get the same answer in the same time. clientAddr is the
// address the request came from: sign-in protection counts failures per
// account and address, per address and per account (protection.go), and
// refuses an attempt that must wait with a 429.
func (s *Service) Login(ctx context.Context, email, password, clientAddr string) (token string, sess domain.Session, u domain.User, err error) {
	email = domain.NormalizeEmail(email)
	attempt, err := s.protect.beginSignIn(ctx, email, clientAddr)
	if err != nil {
		return "", sess, u, err
	}
	u, err = s.checkCredentials(ctx, email, password)
	if e, ok := domain.AsError(err); ok && e.Kind == domain.KindUnauthenticated {
		if ferr := attempt.failed(ctx); ferr != nil {
			return "", sess, u, ferr // not counted: fail closed, as a 500
		}
		return "", sess, u, err
	}
	if err == nil {
		token, sess, err = s.startSession(ctx, u, s.now())
	}
	if err != nil {
		return "", sess, u, errors.Join(err, attempt.undo(ctx))
	}
	if err := attempt.succeeded(ctx); err != nil {
		return "", domain.Session{}, u, err
	}
	return token, sess, u, nil
}

// checkCredentials returns the active user with this email and password,
// or the one "invalid_credentials" error for every way they can be wrong.
func (s *Service) checkCredentials(ctx context.Context, email, password string) (domain.User, error) {
	bad := domain.Errorf(domain.KindUnauthenticated, "invalid_credentials", "the email or password is not correct")
	u, err := s.store.GetUserByEmail(ctx, email)
	if errors.Is(err, store.ErrNotFound) {
		_, _ = CheckPassword(dummyHash, password)
		return u, bad
	}
	if err != nil {
		return u, err
	}
	if u.PasswordHash == "" || u.Status != domain.UserActive {
		_, _ = CheckPassword(dummyHash, password)
		return u, bad
	}
	ok, err := CheckPassword(u.PasswordHash, password)
	if err != nil {
		return u, err
	}
	if !ok {
		return u, bad
	}
	return u, nil
}

// startSession signs u in.
func (s *Service) startSession(ctx context.Context, u domain.User, now time.Time) (string, domain.Session, error) {
	token := newSecret(sessionPrefix)
	sess := domain.Session{TokenHash: HashToken(token), OrgID: u.OrgID, UserID: u.ID, CreatedAt: now, ExpiresAt: now.Add(SessionTTL)}
	if err := s.store.CreateSession(ctx, sess); err != nil {
		return "", sess, err
	}
	return token, sess, nil
}

// Logout ends the session the caller used.
func (s *Service) Logout(ctx context.Context, p Principal) error {
	if p.SessionHash == "" {
		return domain.Errorf(domain.KindInvalid, "not_a_session", "API keys do not log out; delete the key instead")
	}
	defer s.auth.forget()
	return s.store.DeleteSession(ctx, p.SessionHash)
}

// Authenticate resolves a bearer token (session token or API key) to the
// caller. Every failure is the same 401, so tokens cannot be probed.
func (s *Service) Authenticate(ctx context.Context, token string) (Principal, error) {
	unauth := domain.Errorf(domain.KindUnauthenticated, "invalid_token", "the token is not valid or has expired")
	if token == "" || len(token) > 200 {
		return Principal{}, unauth
	}
	hash := HashToken(token)
	now := s.now()
	if p, ok := s.auth.get(hash, now); ok {
		return p, nil
	}
	if isAPIKey(token) {
		k, err := s.store.GetAPIKeyByHash(ctx, hash)
		if errors.Is(err, store.ErrNotFound) {
			return Principal{}, unauth
		}
		if err != nil {
			return Principal{}, err
		}
		p := Principal{OrgID: k.OrgID, Role: domain.RoleAPIKey, APIKeyID: k.ID, Name: k.Name}
		s.auth.put(hash, p, now, time.Time{})
		return p, nil
	}
	sess, err := s.store.GetSession(ctx, hash)
	if errors.Is(err, store.ErrNotFound) {
		return Principal{}, unauth
	}
	if err != nil {
		return Principal{}, err
	}
	if !now.Before(sess.ExpiresAt) {
		_ = s.store.DeleteSession(ctx, hash)
		return Principal{}, unauth
	}
	u, err := s.store.GetUser(ctx, sess.OrgID, sess.UserID)
	if errors.Is(err, store.ErrNotFound) {
		return Principal{}, unauth
	}
	if err != nil {
		return Principal{}, err
	}
	if u.Status != domain.UserActive {
		return Principal{}, unauth
	}
	p := Principal{OrgID: u.OrgID, Role: u.Role, UserID: u.ID, PartnerID: u.PartnerID, Email: u.Email, Name: u.Name, SessionHash: hash}
	s.auth.put(hash, p, now, sess.ExpiresAt)
	return p, nil
}

// CreateAPIKey makes a key for the caller's organization. The secret is
// returned once and only its hash is kept.
func (s *Service) CreateAPIKey(ctx context.Context, p Principal, name string) (domain.APIKey, string, error) {
	name = strings.TrimSpace(name)
	var v domain.Validation
	v.Check(name != "", "name", "is required")
	v.Check(len(name) <= 100, "name", "must be at most 100 characters")
	if err := v.Err(); err != nil {
		return domain.APIKey{}, "", err
	}
	secret := newSecret(apiKeyPrefix)
	k := domain.APIKey{
		ID: s.ids("key"), OrgID: p.OrgID, Name: name, Prefix: secret[:len(apiKeyPrefix)+6],
		Hash: HashToken(secret), CreatedBy: p.ID(), CreatedAt: s.now(),
	}
	if err := s.store.CreateAPIKey(ctx, k); err != nil {
		return domain.APIKey{}, "", err
	}
	return k, secret, nil
}

// ListAPIKeys lists the organization's keys (never their secrets).
func (s *Service) ListAPIKeys(ctx context.Context, p Principal, page store.Page) ([]domain.APIKey, string, error) {
	return s.store.ListAPIKeys(ctx, p.OrgID, page)
}

// DeleteAPIKey revokes a key at once.
func (s *Service) DeleteAPIKey(ctx context.Context, p Principal, id string) error {
	defer s.auth.forget()
	return s.store.DeleteAPIKey(ctx, p.OrgID, id)
}

// ListUsers lists the organization's people.
func (s *Service) ListUsers(ctx context.Context, p Principal, page store.Page) ([]domain.User, string, error) {
	return s.store.ListUsers(ctx, p.OrgID, page)
}

// Me returns the caller's own user record (people only).
func (s *Service) User(ctx context.Context, p Principal) (domain.User, error) {
	return s.store.GetUser(ctx, p.OrgID, p.UserID)
}
