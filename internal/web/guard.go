package web

import (
	"net/http"
	"strings"
)

// AdminOnly serves h — a page outside the page table, such as the local
// server's development mailbox — exactly like an admin page: signed-in
// admins see it, anyone else is sent to sign in (and back afterwards), and
// other roles get the 403 page.
func (s *Server) AdminOnly(h http.Handler) http.Handler {
	return s.middleware(s.serve(Page{Access: admin, handle: func(rq *request) error {
		h.ServeHTTP(rq.w, rq.r)
		return nil
	}}))
}

// SessionAsBearer lets h, an API handler that reads an "Authorization:
// Bearer" token, also accept the web session cookie on GET requests that
// carry no Authorization header, so a signed-in browser can open JSON next
// to a page (the development mailbox's /_dev/mail.json). Other methods get
// no such credential: the cookie is not a CSRF-safe credential for writes.
func SessionAsBearer(h http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.Method == http.MethodGet && r.Header.Get("Authorization") == "" {
			if c, err := r.Cookie(sessionCookie); err == nil && c.Value != "" && !strings.ContainsAny(c.Value, "\r\n") {
				r = r.Clone(r.Context())
				r.Header.Set("Authorization", "Bearer "+c.Value)
			}
		}
		h.ServeHTTP(w, r)
	})
}
