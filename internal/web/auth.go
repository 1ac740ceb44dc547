package web

import (
	"context"
	"net/http"
	"net/url"
	"strconv"
	"strings"

	"github.com/partnerloop/partnerloop/internal/domain"
	"github.com/partnerloop/partnerloop/internal/identity"
)

// home is where a person lands after signing in, by role.
func home(r domain.Role) string {
	if r == domain.RolePartner {
		return "/portal"
	}
	return "/"
}

// landing is where sign-in goes: the page asked for (already checked by
// SafeNext) when it is on the person's side of the product, else home.
func landing(r domain.Role, next string) string {
	inPortal := next == "/portal" || strings.HasPrefix(next, "/portal/") || strings.HasPrefix(next, "/portal?")
	if next == "" || inPortal != (r == domain.RolePartner) {
		return home(r)
	}
	return next
}

type loginData struct {
	Form *Form
	Next string
}

func (s *Server) loginPage(rq *request) error {
	next := SafeNext(rq.r.URL.Query().Get("next"))
	if rq.p != nil {
		if next == "" {
			next = home(rq.p.Role)
		}
		http.Redirect(rq.w, rq.r, next, http.StatusSeeOther)
		return nil
	}
	return s.render(rq, http.StatusOK, "login", "Sign in", "", loginData{Form: newForm(nil), Next: next})
}

func (s *Server) login(rq *request) error {
	f := newForm(url.Values{"email": {rq.r.PostForm.Get("email")}})
	next := SafeNext(rq.r.PostForm.Get("next"))
	token, sess, u, err := s.cfg.Identity.Login(rq.r.Context(), rq.r.PostForm.Get("email"), rq.r.PostForm.Get("password"), s.cfg.ClientAddr.Of(rq.r))
	if err != nil {
		status := http.StatusUnauthorized
		if e, ok := domain.AsError(err); ok && e.Kind == domain.KindRateLimited {
			status = http.StatusTooManyRequests
			setRetryAfter(rq.w, e)
		}
		if !f.fail(err, nil) {
			return err
		}
		return s.render(rq, status, "login", "Sign in", "", loginData{Form: f, Next: next})
	}
	s.setSession(rq.w, token, sess.ExpiresAt, sess.CreatedAt)
	http.Redirect(rq.w, rq.r, landing(u.Role, next), http.StatusSeeOther)
	return nil
}

func (s *Server) logout(rq *request) error {
	if err := s.cfg.Identity.Logout(rq.r.Context(), *rq.p); err != nil {
		return err
	}
	s.clearCookie(rq.w, sessionCookie)
	return s.redirect(rq, "/login", "You are signed out.")
}

type acceptData struct {
	Form      *Form
	Token     string
	Available bool
	Gone      bool
	// Organization and Email say who invites whom (empty when the
	// invitation service cannot tell).
	Organization, Email string
	// LogoURL is the inviting organization's logo ("" when it has none):
	// the page looks like the e-mail that led to it.
	LogoURL string
	// Reset is a forgotten password's link (/reset-password), which works
	// like an invitation but is worded for choosing a new password.
	Reset bool
}

// invitationReader finds the invitation a link names (identity.Service).
type invitationReader interface {
	OpenInvitation(ctx context.Context, token string) (domain.Invitation, domain.Organization, error)
}

// describe fills in who invites whom, and marks a link that can no longer
// be used as gone.
func (s *Server) describe(rq *request, d *acceptData) error {
	ir, ok := s.cfg.Invitations.(invitationReader)
	if !ok || d.Token == "" {
		return nil
	}
	inv, org, err := ir.OpenInvitation(rq.r.Context(), d.Token)
	if e, ok := domain.AsError(err); ok && e.Kind == domain.KindGone {
		d.Gone = true
		return nil
	}
	if err != nil {
		return err
	}
	d.Organization, d.Email, d.LogoURL = org.Name, inv.Email, logoPath(org)
	return nil
}

// acceptPage is where the invitation email's link lands.
func (s *Server) acceptPage(rq *request) error {
	d := acceptData{Form: newForm(nil), Token: rq.r.URL.Query().Get("token"), Available: s.cfg.Invitations != nil,
		Reset: rq.r.URL.Path == identity.ResetPath}
	status := http.StatusOK
	if !d.Available {
		status = http.StatusServiceUnavailable
	} else if d.Token == "" {
		d.Gone, status = true, http.StatusGone
	} else if err := s.describe(rq, &d); err != nil {
		return err
	} else if d.Gone {
		status = http.StatusGone
	}
	return s.render(rq, status, "accept", "Set up your account", "", d)
}

func (s *Server) accept(rq *request) error {
	f := newForm(nil)
	d := acceptData{Form: f, Token: rq.r.PostForm.Get("token"), Available: s.cfg.Invitations != nil,
		Reset: rq.r.URL.Path == identity.ResetPath}
	if !d.Available {
		return s.render(rq, http.StatusServiceUnavailable, "accept", "Set up your account", "", d)
	}
	if err := s.describe(rq, &d); err != nil {
		return err
	}
	pw := rq.r.PostForm.Get("password")
	if pw != rq.r.PostForm.Get("passwordConfirm") {
		f.add("passwordConfirm", "does not match the password")
		f.Message = "Please correct the fields marked below."
		return s.render(rq, http.StatusUnprocessableEntity, "accept", "Set up your account", "", d)
	}
	token, sess, u, err := s.cfg.Invitations.AcceptInvitation(rq.r.Context(), d.Token, pw, s.cfg.ClientAddr.Of(rq.r))
	if err != nil {
		e, ok := domain.AsError(err)
		switch {
		case ok && e.Kind == domain.KindGone:
			d.Gone = true
			return s.render(rq, http.StatusGone, "accept", "This link can no longer be used", "", d)
		case f.fail(err, func(field string) bool { return field == "password" }):
			status := http.StatusUnprocessableEntity
			if e.Kind == domain.KindRateLimited {
				status = http.StatusTooManyRequests
				setRetryAfter(rq.w, e)
			}
			return s.render(rq, status, "accept", "Set up your account", "", d)
		}
		return err
	}
	s.setSession(rq.w, token, sess.ExpiresAt, sess.CreatedAt)
	if d.Reset {
		return s.redirect(rq, home(u.Role), "Your new password is saved; other sessions were signed out.")
	}
	return s.redirect(rq, home(u.Role), "Welcome! Your account is ready.")
}

// setRetryAfter says how long a rate-limited sign-in or acceptance must
// wait, as the API does.
func setRetryAfter(w http.ResponseWriter, e *domain.Error) {
	if secs, ok := e.Extra["retryAfter"].(int); ok {
		w.Header().Set("Retry-After", strconv.Itoa(secs))
	}
}

type forgotData struct {
	Form *Form
	Sent bool
}

// forgotPage asks for the address of a forgotten password.
func (s *Server) forgotPage(rq *request) error {
	return s.render(rq, http.StatusOK, "forgot", "Forgot your password?", "", forgotData{Form: newForm(nil)})
}

// forgot emails a reset link when the address has an account; the page
// says the same either way.
func (s *Server) forgot(rq *request) error {
	f := newForm(rq.r.PostForm)
	err := s.cfg.Identity.RequestPasswordReset(rq.r.Context(), f.Get("email"), s.cfg.ClientAddr.Of(rq.r))
	if err != nil {
		if !f.fail(err, nil) {
			return err
		}
		return s.render(rq, errorStatus(err), "forgot", "Forgot your password?", "", forgotData{Form: f})
	}
	return s.render(rq, http.StatusOK, "forgot", "Check your email", "", forgotData{Form: f, Sent: true})
}
