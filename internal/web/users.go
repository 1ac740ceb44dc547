package web

import (
	"net/http"
	"net/url"

	"github.com/partnerloop/partnerloop/internal/domain"
	"github.com/partnerloop/partnerloop/internal/identity"
)

type userListData struct {
	Users []domain.User
	Pager pager
	Form  *Form
	Roles []Option
}

func (s *Server) renderUsers(rq *request, status int, f *Form) error {
	us, next, err := s.cfg.Identity.ListUsers(rq.r.Context(), *rq.p, listPage(rq))
	if err != nil {
		return err
	}
	return s.render(rq, status, "users", "Users", "users", userListData{
		Users: us, Pager: newPager(rq, next), Form: f,
		Roles: []Option{{string(domain.RoleProgramManager), "Program manager"}, {string(domain.RoleAdmin), "Admin"}},
	})
}

// userList is Settings → Users: the organization's people and the form
// that invites an internal user (partners are invited from their record).
func (s *Server) userList(rq *request) error {
	return s.renderUsers(rq, http.StatusOK, newForm(url.Values{"role": {string(domain.RoleProgramManager)}}))
}

// userInvite creates an internal user and emails the invitation, as
// POST /v1/users does.
func (s *Server) userInvite(rq *request) error {
	f := newForm(rq.r.PostForm)
	u, sent, err := s.cfg.Identity.InviteUser(rq.r.Context(), *rq.p, f.Get("email"), f.Get("name"), domain.Role(f.Get("role")))
	if err != nil {
		// The user exists even when only the email failed: say so, and
		// the list offers to resend.
		if e, ok := domain.AsError(err); ok && e.Kind == domain.KindUnavailable && u.ID != "" {
			f = newForm(nil)
			f.Message = "The user was created but the invitation e-mail could not be sent: " + errorText(e) + " Use Resend below."
			return s.renderUsers(rq, http.StatusServiceUnavailable, f)
		}
		if !f.fail(err, nil) {
			return err
		}
		if e, _ := domain.AsError(err); e.Kind == domain.KindConflict && len(e.Fields) == 0 {
			f.add("email", errorText(e))
		}
		return s.renderUsers(rq, errorStatus(err), f)
	}
	return s.redirect(rq, "/settings/users", "Invitation sent to "+sent.Email+".")
}

// userResend issues a new invitation to a user who has not accepted yet.
func (s *Server) userResend(rq *request) error {
	sent, err := s.cfg.Identity.ResendUserInvitation(rq.r.Context(), *rq.p, rq.r.PathValue("id"))
	if err != nil {
		e, ok := domain.AsError(err)
		if !ok || e.Kind == domain.KindNotFound {
			return err
		}
		f := newForm(url.Values{"role": {string(domain.RoleProgramManager)}})
		f.Message = errorText(e)
		return s.renderUsers(rq, errorStatus(err), f)
	}
	return s.redirect(rq, "/settings/users", "Invitation sent to "+sent.Email+".")
}

// userUpdate changes a user's role or disables the user, as PATCH
// /v1/users/{id} does; a refusal (the last admin) shows above the list.
func (s *Server) userUpdate(rq *request) error {
	var patch identity.UserPatch
	notice := ""
	switch rq.r.PathValue("action") {
	case "role":
		role := domain.Role(rq.r.PostForm.Get("role"))
		patch.Role, notice = &role, "Role changed to "+roleName(role)+"."
	case "disable":
		disabled := domain.UserDisabled
		patch.Status, notice = &disabled, "User disabled: signed out everywhere. Resend the invitation to let them back in."
	default:
		return s.errorPage(rq, http.StatusNotFound, "Page not found", "There is no page at this address.")
	}
	u, err := s.cfg.Identity.UpdateUser(rq.r.Context(), *rq.p, rq.r.PathValue("id"), patch)
	if err != nil {
		e, ok := domain.AsError(err)
		if !ok || e.Kind == domain.KindNotFound {
			return err
		}
		f := newForm(url.Values{"role": {string(domain.RoleProgramManager)}})
		f.Message = sentence(humanWords(e.Message))
		if len(e.Fields) > 0 {
			f.Message = sentence(humanWords(e.Fields[0].Message))
		}
		return s.renderUsers(rq, errorStatus(err), f)
	}
	return s.redirect(rq, "/settings/users", u.Email+": "+notice)
}

// errorStatus is the HTTP status of a domain error re-rendered on a form.
func errorStatus(err error) int {
	e, _ := domain.AsError(err)
	if e == nil {
		return http.StatusInternalServerError
	}
	switch e.Kind {
	case domain.KindConflict:
		return http.StatusConflict
	case domain.KindRateLimited:
		return http.StatusTooManyRequests
	case domain.KindUnavailable:
		return http.StatusServiceUnavailable
	case domain.KindNotFound:
		return http.StatusNotFound
	case domain.KindForbidden:
		return http.StatusForbidden
	}
	return http.StatusUnprocessableEntity
}
