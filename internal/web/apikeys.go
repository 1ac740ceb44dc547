package web

import (
	"errors"
	"net/http"

	"github.com/partnerloop/partnerloop/internal/domain"
	"github.com/partnerloop/partnerloop/internal/store"
)

type apiKeysData struct {
	Keys  []domain.APIKey
	Pager pager
	Form  *Form
	// New is the key just created and Secret its secret, shown on this
	// one page only: it is stored only as a hash.
	New    *domain.APIKey
	Secret string
}

func (s *Server) renderAPIKeys(rq *request, status int, d apiKeysData) error {
	keys, next, err := s.cfg.Identity.ListAPIKeys(rq.r.Context(), *rq.p, listPage(rq))
	if err != nil {
		return err
	}
	d.Keys, d.Pager = keys, newPager(rq, next)
	if d.Form == nil {
		d.Form = newForm(nil)
	}
	return s.render(rq, status, "apikeys", "API keys", "api-keys", d)
}

// apiKeyList is Settings → API keys: the keys your backend calls the API
// with (never their secrets), a form to create one and Revoke per key.
func (s *Server) apiKeyList(rq *request) error {
	return s.renderAPIKeys(rq, http.StatusOK, apiKeysData{})
}

// apiKeyCreate makes a key, as POST /v1/api-keys does, and shows its
// secret once, on the answer itself (never through a redirect or cookie).
func (s *Server) apiKeyCreate(rq *request) error {
	f := newForm(rq.r.PostForm)
	k, secret, err := s.cfg.Identity.CreateAPIKey(rq.r.Context(), *rq.p, f.Get("name"))
	if err != nil {
		if !f.fail(err, nil) {
			return err
		}
		return s.renderAPIKeys(rq, errorStatus(err), apiKeysData{Form: f})
	}
	return s.renderAPIKeys(rq, http.StatusCreated, apiKeysData{New: &k, Secret: secret})
}

// apiKeyRevoke deletes a key: calls with it fail from now on.
func (s *Server) apiKeyRevoke(rq *request) error {
	err := s.cfg.Identity.DeleteAPIKey(rq.r.Context(), *rq.p, rq.r.PathValue("id"))
	if errors.Is(err, store.ErrNotFound) {
		return s.errorPage(rq, http.StatusNotFound, "No such API key", "It may have been revoked already.")
	}
	if err != nil {
		return err
	}
	return s.redirect(rq, "/settings/api-keys", "API key revoked: calls made with it are refused from now on.")
}
