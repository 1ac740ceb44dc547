package identity

import (
	"context"
	"errors"
	"net/url"
	"strings"
	"time"

	"github.com/partnerloop/partnerloop/internal/domain"
	"github.com/partnerloop/partnerloop/internal/mail"
	"github.com/partnerloop/partnerloop/internal/ratelimit"
	"github.com/partnerloop/partnerloop/internal/store"
)

// invitationPrefix marks invitation tokens, like the session and key
// prefixes.
const invitationPrefix = "pli_"

// AcceptPath is the page an invitation link opens (served by the web UI);
// the token is its "token" query parameter.
const AcceptPath = "/accept-invitation"

// InvitationSent describes an invitation that was stored and emailed.
type InvitationSent struct {
	UserID    string    `json:"userId"`
	Email     string    `json:"email"`
	ExpiresAt time.Time `json:"expiresAt"`
	SentAt    time.Time `json:"sentAt"`
}

// PortalUserID is the ID of a partner's portal user (domain.PortalUserID).
func PortalUserID(partnerID string) string { return domain.PortalUserID(partnerID) }

func (s *Service) invitationStore() (store.Invitations, error) {
	if s.invitations == nil {
		return nil, errors.New("identity: the store keeps no invitations")
	}
	return s.invitations, nil
}

// InviteUser creates an internal user (admin or program manager) who has no
// password yet, and emails them an invitation. The user is returned even
// when only the email failed (then with a KindUnavailable error: re-send).
func (s *Service) InviteUser(ctx context.Context, p Principal, email, name string, role domain.Role) (domain.User, InvitationSent, error) {
	email, name = domain.NormalizeEmail(email), strings.TrimSpace(name)
	var v domain.Validation
	v.Check(domain.ValidEmail(email), "email", "must be a valid email address")
	v.Check(name != "", "name", "is required")
	v.Check(len(name) <= domain.MaxPartnerNameLength, "name", "must be at most %d characters", domain.MaxPartnerNameLength)
	switch role {
	case domain.RoleAdmin, domain.RoleProgramManager:
	case domain.RolePartner:
		v.Add("role", "partners are invited from their partner record (POST /v1/partners/{id}/invitation)")
	default:
		v.Add("role", "must be admin or program_manager")
	}
	if err := v.Err(); err != nil {
		return domain.User{}, InvitationSent{}, err
	}
	if _, err := s.invitationStore(); err != nil {
		return domain.User{}, InvitationSent{}, err
	}
	now := s.now()
	u := domain.User{ID: s.ids("usr"), OrgID: p.OrgID, Email: email, Name: name, Role: role,
		Status: domain.UserInvited, CreatedAt: now, UpdatedAt: now}
	if err := s.store.CreateUser(ctx, u); errors.Is(err, store.ErrConflict) {
		return domain.User{}, InvitationSent{}, emailInUse()
	} else if err != nil {
		return domain.User{}, InvitationSent{}, err
	}
	sent, err := s.invite(ctx, p, u)
	return u, sent, err
}

// ResendUserInvitation issues a new invitation to an internal user who has
// not accepted yet (or was disabled), revoking the earlier link.
func (s *Service) ResendUserInvitation(ctx context.Context, p Principal, userID string) (InvitationSent, error) {
	u, err := s.store.GetUser(ctx, p.OrgID, userID)
	if errors.Is(err, store.ErrNotFound) {
		return InvitationSent{}, domain.NotFound("user")
	}
	if err != nil {
		return InvitationSent{}, err
	}
	switch {
	case u.Role == domain.RolePartner:
		return InvitationSent{}, domain.Errorf(domain.KindConflict, "partner_user",
			"partner users are invited from their partner record (POST /v1/partners/%s/invitation)", u.PartnerID)
	case u.Status == domain.UserActive:
		return InvitationSent{}, domain.Errorf(domain.KindConflict, "user_active", "the user has already set a password")
	}
	return s.invite(ctx, p, u)
}

// InvitePartner sends the partner's contact an invitation to the portal.
// The first send creates the partner's portal user (role partner, the
// partner's email and contact name); later sends reuse it, revoke the
// earlier link, and re-enable a user whose access was revoked.
func (s *Service) InvitePartner(ctx context.Context, p Principal, partnerID string) (InvitationSent, error) {
	if _, err := s.invitationStore(); err != nil {
		return InvitationSent{}, err
	}
	partner, err := s.store.GetPartner(ctx, p.OrgID, partnerID)
	if errors.Is(err, store.ErrNotFound) {
		return InvitationSent{}, domain.NotFound("partner")
	}
	if err != nil {
		return InvitationSent{}, err
	}
	if partner.Status == domain.PartnerInactive {
		return InvitationSent{}, domain.Errorf(domain.KindConflict, "partner_inactive",
			"%s is deactivated: reactivate the partner before inviting it to the portal", partner.CompanyName)
	}
	id := PortalUserID(partner.ID)
	u, err := s.store.GetUser(ctx, p.OrgID, id)
	if errors.Is(err, store.ErrNotFound) {
		now := s.now()
		u = domain.User{ID: id, OrgID: p.OrgID, Email: partner.Email, Name: partner.ContactName, Role: domain.RolePartner,
			PartnerID: partner.ID, Status: domain.UserInvited, CreatedAt: now, UpdatedAt: now}
		err = s.store.CreateUser(ctx, u)
		if errors.Is(err, store.ErrConflict) {
			// Either a concurrent send created this very user, or the
			// address belongs to someone else.
			if u, err = s.store.GetUser(ctx, p.OrgID, id); errors.Is(err, store.ErrNotFound) {
				return InvitationSent{}, emailInUse()
			}
		}
	}
	if err != nil {
		return InvitationSent{}, err
	}
	return s.invite(ctx, p, u)
}

// RevokePartnerAccess ends the partner's portal access at once: its open
// invitation is revoked, its user disabled and signed out everywhere. A
// partner never invited has nothing to revoke.
func (s *Service) RevokePartnerAccess(ctx context.Context, p Principal, partnerID string) error {
	defer s.auth.forget() // the user's sessions may have ended, its role changed
	inv, err := s.invitationStore()
	if err != nil {
		return err
	}
	if _, err := s.store.GetPartner(ctx, p.OrgID, partnerID); errors.Is(err, store.ErrNotFound) {
		return domain.NotFound("partner")
	} else if err != nil {
		return err
	}
	id := PortalUserID(partnerID)
	if _, err := inv.DisableUser(ctx, p.OrgID, id, s.now()); errors.Is(err, store.ErrNotFound) {
		return nil
	} else if err != nil {
		return err
	}
	return s.store.DeleteUserSessions(ctx, p.OrgID, id)
}

// invite stores a new invitation for u (revoking the earlier one), then
// emails the link. The token exists only in the email.
func (s *Service) invite(ctx context.Context, p Principal, u domain.User) (InvitationSent, error) {
	invs, err := s.invitationStore()
	if err != nil {
		return InvitationSent{}, err
	}
	if s.mailer == nil {
		return InvitationSent{}, domain.Errorf(domain.KindUnavailable, "mail_unavailable", "email is not configured on this installation")
	}
	org, err := s.store.GetOrganization(ctx, u.OrgID)
	if err != nil {
		return InvitationSent{}, err
	}
	now := s.now()
	token := newSecret(invitationPrefix)
	inv := domain.Invitation{ID: s.ids("inv"), OrgID: u.OrgID, UserID: u.ID, Email: u.Email, TokenHash: HashToken(token),
		CreatedAt: now, ExpiresAt: now.Add(domain.InvitationTTL)}
	if err := invs.IssueInvitation(ctx, inv); err != nil {
		return InvitationSent{}, err
	}
	tmpl := mail.UserInvitation
	if u.Role == domain.RolePartner {
		tmpl = mail.Invitation
	}
	msg, err := mail.Render(tmpl, mail.InvitationData{
		OrganizationName: org.Name, RecipientName: u.Name, InviterName: p.Name,
		AcceptURL: s.baseURL + AcceptPath + "?token=" + url.QueryEscape(token), ExpiresAt: inv.ExpiresAt,
		Logo: s.mailLogo(ctx, org),
	})
	if err != nil {
		return InvitationSent{}, err
	}
	msg.To, msg.FromName = u.Email, org.SenderName()
	if err := s.mailer.Send(ctx, msg); err != nil {
		e := domain.Errorf(domain.KindUnavailable, "mail_failed", "the invitation was saved but its email could not be sent; send it again")
		e.Extra = map[string]any{"userId": u.ID}
		return InvitationSent{}, errors.Join(e, err)
	}
	return InvitationSent{UserID: u.ID, Email: u.Email, ExpiresAt: inv.ExpiresAt, SentAt: now}, nil
}

// AcceptInvitation sets the invited person's password, activates them and
// marks the link used, atomically, then signs them in. A used, expired,
// revoked or unknown link is the same 410 "invitation_gone"; a weak
// password a 422 on "password". Both are failures that sign-in protection
// counts per client address and per link (protection.go); an attempt that
// must wait is a 429.
func (s *Service) AcceptInvitation(ctx context.Context, token, password, clientAddr string) (sessionToken string, sess domain.Session, u domain.User, err error) {
	invs, err := s.invitationStore()
	if err != nil {
		return "", sess, u, err
	}
	addr, err := s.protect.acceptAddr.Begin(ctx, ratelimit.AddressKey(clientAddr))
	if err != nil {
		return "", sess, u, err
	}
	var link *ratelimit.Attempt
	sessionToken, sess, u, err = s.accept(ctx, invs, token, password, func(hash string) error {
		var berr error
		link, berr = s.protect.acceptToken.Begin(ctx, hash)
		return berr
	})
	if e, ok := domain.AsError(err); ok {
		if e.Kind == domain.KindRateLimited { // refused, not tried
			return "", sess, u, errors.Join(err, addr.Undo(ctx))
		}
		if e.Kind == domain.KindGone || e.Kind == domain.KindInvalid {
			return "", sess, u, err // a failure: both stay counted
		}
	}
	if err != nil {
		return "", sess, u, errors.Join(err, addr.Undo(ctx), link.Undo(ctx))
	}
	// The link is used up: its record no longer matters.
	if err := errors.Join(addr.Undo(ctx), s.protect.acceptToken.Reset(ctx, HashToken(token))); err != nil {
		return "", domain.Session{}, u, err
	}
	return sessionToken, sess, u, nil
}

// accept is AcceptInvitation without the address's protection; begin
// counts an attempt on the link (by its hash) before it is tried.
func (s *Service) accept(ctx context.Context, invs store.Invitations, token, password string, begin func(hash string) error) (sessionToken string, sess domain.Session, u domain.User, err error) {
	defer s.auth.forget() // the user's sessions may have ended, its role changed
	gone := domain.Errorf(domain.KindGone, "invitation_gone",
		"this invitation link was already used, has expired or was withdrawn; ask for a new one")
	if !strings.HasPrefix(token, invitationPrefix) || len(token) > 200 {
		return "", sess, u, gone
	}
	hash := HashToken(token)
	if err := begin(hash); err != nil {
		return "", sess, u, err
	}
	now := s.now()
	inv, err := invs.GetInvitation(ctx, hash)
	if errors.Is(err, store.ErrNotFound) {
		return "", sess, u, gone
	}
	if err != nil {
		return "", sess, u, err
	}
	if !inv.Usable(now) {
		return "", sess, u, gone
	}
	u, err = s.store.GetUser(ctx, inv.OrgID, inv.UserID)
	if err != nil {
		return "", sess, u, err
	}
	org, err := s.store.GetOrganization(ctx, inv.OrgID)
	if err != nil {
		return "", sess, u, err
	}
	if err := CheckNewPassword(password, u.Email, org.Name); err != nil {
		return "", sess, u, err
	}
	pw, err := HashPassword(password)
	if err != nil {
		return "", sess, u, err
	}
	u, err = invs.AcceptInvitation(ctx, hash, pw, now)
	if errors.Is(err, store.ErrConflict) || errors.Is(err, store.ErrNotFound) {
		return "", sess, u, gone
	}
	if err != nil {
		return "", sess, u, err
	}
	// A new password ends every earlier session (a reset after a stolen
	// session or password locks the thief out).
	if err := s.store.DeleteUserSessions(ctx, u.OrgID, u.ID); err != nil {
		return "", sess, u, err
	}
	sessionToken, sess, err = s.startSession(ctx, u, now)
	return sessionToken, sess, u, err
}

// InvitationToken finds the token of the accept link in the text of an
// invitation email (the inverse of the link invite puts there): what a
// person clicking the link hands to AcceptInvitation.
func InvitationToken(text string) (string, bool) {
	_, rest, ok := strings.Cut(text, AcceptPath+"?token=")
	if !ok {
		return "", false
	}
	if i := strings.IndexAny(rest, " \r\n"); i >= 0 {
		rest = rest[:i]
	}
	token, err := url.QueryUnescape(rest)
	return token, err == nil && token != ""
}

func emailInUse() error {
	return &domain.Error{Kind: domain.KindConflict, Code: "email_taken", Message: "a user with this email already exists",
		Fields: []domain.FieldError{{Field: "email", Message: "is already a user's address"}}}
}

// OpenInvitation returns the usable invitation of token with its
// organization, so the page its link opens can say who invites whom; an
// unknown, used, revoked or expired link is KindGone. It changes nothing.
func (s *Service) OpenInvitation(ctx context.Context, token string) (domain.Invitation, domain.Organization, error) {
	gone := domain.Errorf(domain.KindGone, "invitation_gone",
		"this invitation link was already used, has expired or was withdrawn; ask for a new one")
	invs, err := s.invitationStore()
	if err != nil {
		return domain.Invitation{}, domain.Organization{}, err
	}
	if !strings.HasPrefix(token, invitationPrefix) || len(token) > 200 {
		return domain.Invitation{}, domain.Organization{}, gone
	}
	inv, err := invs.GetInvitation(ctx, HashToken(token))
	if errors.Is(err, store.ErrNotFound) || (err == nil && !inv.Usable(s.now())) {
		return domain.Invitation{}, domain.Organization{}, gone
	}
	if err != nil {
		return domain.Invitation{}, domain.Organization{}, err
	}
	org, err := s.store.GetOrganization(ctx, inv.OrgID)
	return inv, org, err
}

// UserPatch changes a person: a new role (admin or program manager), or
// Status "disabled". Nil fields stay.
type UserPatch struct {
	Role   *domain.Role
	Status *string
}

// UpdateUser changes an internal user's role, or disables a user (its
// sessions end at once, its open invitation is withdrawn; Resend
// invitation brings it back). The organization keeps at least one active
// admin: demoting or disabling the last one is a conflict.
func (s *Service) UpdateUser(ctx context.Context, p Principal, userID string, patch UserPatch) (domain.User, error) {
	defer s.auth.forget() // the user's sessions may have ended, its role changed
	invs, err := s.invitationStore()
	if err != nil {
		return domain.User{}, err
	}
	u, err := s.store.GetUser(ctx, p.OrgID, userID)
	if errors.Is(err, store.ErrNotFound) {
		return u, domain.NotFound("user")
	}
	if err != nil {
		return u, err
	}
	var v domain.Validation
	if patch.Role != nil {
		r := *patch.Role
		v.Check(r == domain.RoleAdmin || r == domain.RoleProgramManager, "role", `must be "admin" or "program_manager"`)
		v.Check(u.Role != domain.RolePartner || r == domain.RolePartner, "role",
			"a partner's portal user keeps the partner role; invite a separate internal user instead")
	}
	if patch.Status != nil {
		v.Check(*patch.Status == domain.UserDisabled, "status",
			`can only be set to "disabled"; to let a disabled user back in, resend the invitation`)
	}
	if err := v.Err(); err != nil {
		return u, err
	}
	disables := patch.Status != nil && u.Status != domain.UserDisabled
	// The store refuses, atomically, to demote or disable the last active
	// admin (store.ErrLastAdmin): a count here would race a concurrent
	// demotion of the other admin.
	email := u.Email
	lastAdmin := func(err error) error {
		if errors.Is(err, store.ErrLastAdmin) {
			return domain.Errorf(domain.KindConflict, "last_admin",
				"%s is the organization's only active admin; make someone else an admin first", email)
		}
		return err
	}
	now := s.now()
	if patch.Role != nil && *patch.Role != u.Role {
		if u, err = invs.SetUserRole(ctx, p.OrgID, u.ID, *patch.Role, now); err != nil {
			return u, lastAdmin(err)
		}
	}
	if disables {
		if u, err = invs.DisableUser(ctx, p.OrgID, u.ID, now); err != nil {
			return u, lastAdmin(err)
		}
		// Sessions end now; Authenticate also refuses a disabled user's
		// token, so none outlives this even if the deletion races a login.
		if err := s.store.DeleteUserSessions(ctx, p.OrgID, u.ID); err != nil {
			return u, err
		}
	}
	return u, nil
}
