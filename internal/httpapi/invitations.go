package httpapi

import (
	"net/http"
	"time"

	"github.com/partnerloop/partnerloop/internal/domain"
	"github.com/partnerloop/partnerloop/internal/identity"
)

// partnerView is a partner as the API shows it: the record and a summary
// of its portal access.
type partnerView struct {
	domain.Partner
	PortalAccess domain.PortalAccess `json:"portalAccess"`
}

// partnerViews adds each partner's portal access, which the store reads
// with the partner (domain.Partner.Portal).
func partnerViews(ps ...domain.Partner) []partnerView {
	views := make([]partnerView, len(ps))
	for i, p := range ps {
		views[i] = partnerView{p, p.PortalAccess()}
	}
	return views
}

func (a *API) inviteUser(w http.ResponseWriter, r *http.Request, c *Caller) error {
	var in struct {
		Email string      `json:"email"`
		Name  string      `json:"name"`
		Role  domain.Role `json:"role"`
	}
	if err := decode(w, r, &in); err != nil {
		return err
	}
	u, _, err := a.Identity.InviteUser(r.Context(), *c, in.Email, in.Name, in.Role)
	if err != nil {
		return err
	}
	w.Header().Set("Location", "/v1/users/"+u.ID)
	return writeJSON(w, http.StatusCreated, u)
}

func (a *API) patchUser(w http.ResponseWriter, r *http.Request, c *Caller) error {
	var in struct {
		Role   *domain.Role `json:"role"`
		Status *string      `json:"status"`
	}
	if err := decode(w, r, &in); err != nil {
		return err
	}
	u, err := a.Identity.UpdateUser(r.Context(), *c, r.PathValue("id"), identity.UserPatch{Role: in.Role, Status: in.Status})
	if err != nil {
		return err
	}
	return writeJSON(w, http.StatusOK, u)
}

func (a *API) resendUserInvitation(w http.ResponseWriter, r *http.Request, c *Caller) error {
	sent, err := a.Identity.ResendUserInvitation(r.Context(), *c, r.PathValue("id"))
	if err != nil {
		return err
	}
	return writeJSON(w, http.StatusOK, sent)
}

func (a *API) invitePartner(w http.ResponseWriter, r *http.Request, c *Caller) error {
	id := r.PathValue("id")
	sent, err := a.Identity.InvitePartner(r.Context(), *c, id)
	if err != nil {
		return err
	}
	return writeJSON(w, http.StatusOK, struct {
		PartnerID string    `json:"partnerId"`
		UserID    string    `json:"userId"`
		Email     string    `json:"email"`
		ExpiresAt time.Time `json:"expiresAt"`
		SentAt    time.Time `json:"sentAt"`
	}{id, sent.UserID, sent.Email, sent.ExpiresAt, sent.SentAt})
}

func (a *API) revokePortalAccess(w http.ResponseWriter, r *http.Request, c *Caller) error {
	if err := a.Identity.RevokePartnerAccess(r.Context(), *c, r.PathValue("id")); err != nil {
		return err
	}
	w.WriteHeader(http.StatusNoContent)
	return nil
}

func (a *API) acceptInvitation(w http.ResponseWriter, r *http.Request, _ *Caller) error {
	var in struct {
		Token    string `json:"token"`
		Password string `json:"password"`
	}
	if err := decode(w, r, &in); err != nil {
		return err
	}
	var v domain.Validation
	v.Check(in.Token != "", "token", "is required")
	v.Check(in.Password != "", "password", "is required")
	if err := v.Err(); err != nil {
		return err
	}
	token, sess, u, err := a.Identity.AcceptInvitation(r.Context(), in.Token, in.Password, a.ClientAddr.Of(r))
	if err != nil {
		return err
	}
	return writeSignedIn(w, token, sess, u)
}
