package httpapi

import (
	"net/http"
	"time"

	"github.com/partnerloop/partnerloop/api"
	"github.com/partnerloop/partnerloop/internal/domain"
)

func (a *API) healthz(w http.ResponseWriter, r *http.Request, _ *Caller) error {
	if a.Health != nil {
		if err := a.Health(r.Context()); err != nil {
			a.Log.ErrorContext(r.Context(), "health check failed", "err", err)
			return writeJSON(w, http.StatusServiceUnavailable, map[string]string{"status": "unavailable"})
		}
	}
	return writeJSON(w, http.StatusOK, map[string]string{"status": "ok"})
}

func (a *API) openAPI(w http.ResponseWriter, _ *http.Request, _ *Caller) error {
	w.Header().Set("Content-Type", "application/yaml")
	_, err := w.Write(api.Spec)
	return err
}

// meView is the caller as GET /v1/me and login describe it.
type meView struct {
	ID        string      `json:"id"`
	Email     string      `json:"email,omitempty"`
	Name      string      `json:"name"`
	Role      domain.Role `json:"role"`
	OrgID     string      `json:"organizationId"`
	PartnerID string      `json:"partnerId,omitempty"`
}

func userView(u domain.User) meView {
	return meView{ID: u.ID, Email: u.Email, Name: u.Name, Role: u.Role, OrgID: u.OrgID, PartnerID: u.PartnerID}
}

func (a *API) login(w http.ResponseWriter, r *http.Request, _ *Caller) error {
	var in struct {
		Email    string `json:"email"`
		Password string `json:"password"`
	}
	if err := decode(w, r, &in); err != nil {
		return err
	}
	var v domain.Validation
	v.Check(in.Email != "", "email", "is required")
	v.Check(in.Password != "", "password", "is required")
	v.Check(len(in.Password) <= 1024, "password", "is too long")
	if err := v.Err(); err != nil {
		return err
	}
	token, sess, u, err := a.Identity.Login(r.Context(), in.Email, in.Password, a.ClientAddr.Of(r))
	if err != nil {
		return err
	}
	return writeSignedIn(w, token, sess, u)
}

// writeSignedIn answers a login or an accepted invitation: the session
// token, when it expires, and who signed in.
func writeSignedIn(w http.ResponseWriter, token string, sess domain.Session, u domain.User) error {
	return writeJSON(w, http.StatusOK, struct {
		Token     string    `json:"token"`
		ExpiresAt time.Time `json:"expiresAt"`
		User      meView    `json:"user"`
	}{token, sess.ExpiresAt, userView(u)})
}

func (a *API) logout(w http.ResponseWriter, r *http.Request, c *Caller) error {
	if err := a.Identity.Logout(r.Context(), *c); err != nil {
		return err
	}
	w.WriteHeader(http.StatusNoContent)
	return nil
}

func (a *API) me(w http.ResponseWriter, r *http.Request, c *Caller) error {
	if c.APIKeyID != "" {
		return writeJSON(w, http.StatusOK, meView{ID: c.APIKeyID, Name: c.Name, Role: c.Role, OrgID: c.OrgID})
	}
	u, err := a.Identity.User(r.Context(), *c)
	if err != nil {
		return err
	}
	return writeJSON(w, http.StatusOK, userView(u))
}

func (a *API) listUsers(w http.ResponseWriter, r *http.Request, c *Caller) error {
	page, err := pageParams(r)
	if err != nil {
		return err
	}
	users, next, err := a.Identity.ListUsers(r.Context(), *c, page)
	if err != nil {
		return err
	}
	return writeJSON(w, http.StatusOK, newList(users, next))
}

// apiKeyCreated carries the secret, shown this once.
type apiKeyCreated struct {
	domain.APIKey
	Key string `json:"key"`
}

func (a *API) createAPIKey(w http.ResponseWriter, r *http.Request, c *Caller) error {
	var in struct {
		Name string `json:"name"`
	}
	if err := decode(w, r, &in); err != nil {
		return err
	}
	k, secret, err := a.Identity.CreateAPIKey(r.Context(), *c, in.Name)
	if err != nil {
		return err
	}
	return writeJSON(w, http.StatusCreated, apiKeyCreated{k, secret})
}

func (a *API) listAPIKeys(w http.ResponseWriter, r *http.Request, c *Caller) error {
	page, err := pageParams(r)
	if err != nil {
		return err
	}
	keys, next, err := a.Identity.ListAPIKeys(r.Context(), *c, page)
	if err != nil {
		return err
	}
	return writeJSON(w, http.StatusOK, newList(keys, next))
}

func (a *API) deleteAPIKey(w http.ResponseWriter, r *http.Request, c *Caller) error {
	if err := a.Identity.DeleteAPIKey(r.Context(), *c, r.PathValue("id")); err != nil {
		return err
	}
	w.WriteHeader(http.StatusNoContent)
	return nil
}
