package httpapi

import (
	"net/http"

	"github.com/partnerloop/partnerloop/internal/domain"
)

// AdminOnly serves h — a handler outside the route table, such as the local
// server's development mailbox — only to admins, authenticated and refused
// exactly like an admin route: 401 (with WWW-Authenticate) without a valid
// Bearer token, 403 for any other role, as problem documents.
func (a *API) AdminOnly(h http.Handler) http.Handler {
	return a.middleware(a.serve(Route{Access: roles(domain.RoleAdmin), handle: func(w http.ResponseWriter, r *http.Request, _ *Caller) error {
		h.ServeHTTP(w, r)
		return nil
	}}))
}
