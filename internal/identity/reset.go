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

// ResetPath is the page a password reset link opens (served by the web UI).
const ResetPath = "/reset-password"

// PasswordResetTTL is how long a reset link works.
const PasswordResetTTL = time.Hour

// Reset requests are limited per client address and per address asked
// for, in fixed hourly windows, whether or not the address has an account.
const (
	ResetsPerAddressPerHour = 10
	ResetsPerEmailPerHour   = 3
)

// RequestPasswordReset emails an active user a single-use link to choose
// a new password. The answer is the same whether or not the address has an
// account (nil), so the form cannot be used to find accounts; it is 429
// over the limits above. The link is an invitation of the user (its token
// stored only as a hash): using it sets the password, withdraws the
// earlier links and ends every session (see accept). A disabled user gets
// no link: only an admin lets them back in.
func (s *Service) RequestPasswordReset(ctx context.Context, email, clientAddr string) error {
	invs, err := s.invitationStore()
	if err != nil {
		return err
	}
	if s.mailer == nil {
		return domain.Errorf(domain.KindUnavailable, "mail_unavailable", "email is not configured on this installation")
	}
	email = strings.ToLower(strings.TrimSpace(email))
	if !strings.Contains(email, "@") || len(email) > 254 {
		var v domain.Validation
		v.Add("email", "must be an email address")
		return v.Err()
	}
	if c, ok := s.store.(store.Counters); ok {
		if err := ratelimit.New(c, s.now, "reset-address", ResetsPerAddressPerHour, time.Hour).Allow(ctx, ratelimit.AddressKey(clientAddr)); err != nil {
			return err
		}
		if err := ratelimit.New(c, s.now, "reset-email", ResetsPerEmailPerHour, time.Hour).Allow(ctx, email); err != nil {
			return err
		}
	}
	u, err := s.store.GetUserByEmail(ctx, email)
	if errors.Is(err, store.ErrNotFound) || (err == nil && u.Status != domain.UserActive) {
		return nil
	}
	if err != nil {
		return err
	}
	org, err := s.store.GetOrganization(ctx, u.OrgID)
	if err != nil {
		return err
	}
	now := s.now()
	token := newSecret(invitationPrefix)
	inv := domain.Invitation{ID: s.ids("inv"), OrgID: u.OrgID, UserID: u.ID, Email: u.Email, TokenHash: HashToken(token),
		CreatedAt: now, ExpiresAt: now.Add(PasswordResetTTL)}
	if err := invs.IssueInvitation(ctx, inv); err != nil {
		return err
	}
	msg, err := mail.Render(mail.PasswordReset, mail.InvitationData{
		OrganizationName: org.Name, RecipientName: u.Name,
		AcceptURL: s.baseURL + ResetPath + "?token=" + url.QueryEscape(token), ExpiresAt: inv.ExpiresAt,
		Logo: s.mailLogo(ctx, org),
	})
	if err != nil {
		return err
	}
	msg.To, msg.FromName = u.Email, org.SenderName()
	return s.mailer.Send(ctx, msg)
}
