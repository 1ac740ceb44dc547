package web

import (
	"crypto/hmac"
	"crypto/rand"
	"crypto/sha256"
	"encoding/base64"
	"errors"
	"net/http"
	"net/url"
	"strings"
	"time"

	"github.com/partnerloop/partnerloop/internal/domain"
	"github.com/partnerloop/partnerloop/internal/identity"
	"github.com/partnerloop/partnerloop/internal/money"
)

// Cookie names. The session cookie holds the token identity.Login issued;
// the pre-session cookie keys the CSRF token of forms filled in before
// signing in (sign-in, invitation acceptance).
const (
	sessionCookie    = "pl_session"
	preSessionCookie = "pl_presession"
	flashCookie      = "pl_flash"
	maxFormBytes     = 256 << 10
)

// request is one page request: who asks, and the form token they must echo.
type request struct {
	w    http.ResponseWriter
	r    *http.Request
	p    *identity.Principal // nil when nobody is signed in
	csrf string
	// flash is a one-time notice set by the previous POST (post/redirect/get).
	flash string
	// org is the signed-in person's organization: its name, locale and
	// colour shape every page (zero when nobody is signed in).
	org domain.Organization
}

// money formats money in the organization's locale.
func (rq *request) money() *money.Formatter { return money.For(rq.org.Lang()) }

func (rq *request) admin() bool { return rq.p != nil && rq.p.Role == domain.RoleAdmin }

// serve resolves the session, checks the page's access rule and, on POST,
// the CSRF token — in this one place for every page — then runs the page.
func (s *Server) serve(p Page) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		rq := &request{w: w, r: r}
		w.Header().Set("Cache-Control", "no-store")
		key := ""
		if c, err := r.Cookie(sessionCookie); err == nil && c.Value != "" {
			pr, err := s.cfg.Identity.Authenticate(r.Context(), c.Value)
			if err == nil && pr.Role != domain.RoleAPIKey {
				rq.p, key = &pr, c.Value
			} else {
				s.clearCookie(w, sessionCookie)
			}
		}
		if rq.p != nil {
			if o, err := s.cfg.Identity.Organization(r.Context(), *rq.p); err == nil {
				rq.org = o
			}
		}
		if key == "" {
			key = s.preSessionKey(w, r)
		}
		rq.csrf = csrfToken(key)
		if c, err := r.Cookie(flashCookie); err == nil {
			if v, err := url.QueryUnescape(c.Value); err == nil {
				rq.flash = v
			}
			s.clearCookie(w, flashCookie)
		}

		var err error
		switch {
		case rq.p == nil && !p.Access.Public:
			next := ""
			if r.Method == http.MethodGet {
				next = r.URL.RequestURI()
			}
			target := "/login"
			if next != "" && next != "/" {
				target += "?next=" + url.QueryEscape(next)
			}
			http.Redirect(w, r, target, http.StatusSeeOther)
			return
		case rq.p != nil && !p.Access.Public && !p.Access.allows(rq.p.Role):
			err = s.errorPage(rq, http.StatusForbidden, "Not allowed",
				"Your role ("+roleName(rq.p.Role)+") does not give access to this page.")
		case r.Method == http.MethodPost:
			var perr error
			if uploadPages[p.Method+" "+p.Pattern] {
				perr = parseUpload(w, r)
			} else {
				r.Body = http.MaxBytesReader(w, r.Body, maxFormBytes)
				perr = r.ParseForm()
			}
			var tooLarge *http.MaxBytesError
			if errors.As(perr, &tooLarge) && uploadPages[p.Method+" "+p.Pattern] {
				err = s.errorPage(rq, http.StatusRequestEntityTooLarge, "The file is too large",
					"Choose an image of at most 1 MB, go back and try again.")
			} else if perr != nil {
				err = s.errorPage(rq, http.StatusBadRequest, "The form could not be read", "Go back and try again.")
			} else if !hmac.Equal([]byte(r.PostForm.Get("csrf")), []byte(rq.csrf)) {
				err = s.errorPage(rq, http.StatusForbidden, "This form has expired",
					"For your security the form could not be accepted. Go back, reload the page and try again.")
			} else {
				err = p.handle(rq)
			}
		default:
			err = p.handle(rq)
		}
		if err != nil {
			s.fail(rq, err)
		}
	})
}

// fail renders an error a page did not handle itself: domain errors as
// their kind's page, anything else as a logged 500.
func (s *Server) fail(rq *request, err error) {
	if e, ok := domain.AsError(err); ok {
		switch e.Kind {
		case domain.KindNotFound:
			_ = s.errorPage(rq, http.StatusNotFound, "Not found", errorText(e))
			return
		case domain.KindForbidden:
			_ = s.errorPage(rq, http.StatusForbidden, "Not allowed", errorText(e))
			return
		case domain.KindInvalid, domain.KindMalformed, domain.KindConflict:
			_ = s.errorPage(rq, http.StatusUnprocessableEntity, "That did not work", errorText(e))
			return
		}
	}
	if errors.Is(err, errNotFound) {
		_ = s.errorPage(rq, http.StatusNotFound, "Not found", "There is no such record.")
		return
	}
	s.cfg.Log.ErrorContext(rq.r.Context(), "page failed", "err", err, "method", rq.r.Method, "path", rq.r.URL.Path)
	_ = s.errorPage(rq, http.StatusInternalServerError, "Something went wrong", "Something went wrong on our side; it has been logged.")
}

var errNotFound = errors.New("not found")

// csrfToken is the synchronizer token of forms: an HMAC keyed by the secret
// the browser holds in an HttpOnly cookie (the session token, or the
// pre-session value), so another site can neither read nor compute it.
func csrfToken(key string) string {
	m := hmac.New(sha256.New, []byte(key))
	m.Write([]byte("partnerloop csrf v1"))
	return base64.RawURLEncoding.EncodeToString(m.Sum(nil))
}

// preSessionKey returns the pre-session cookie's value, setting a new one
// when the browser has none.
func (s *Server) preSessionKey(w http.ResponseWriter, r *http.Request) string {
	if c, err := r.Cookie(preSessionCookie); err == nil && len(c.Value) >= 32 {
		return c.Value
	}
	b := make([]byte, 32)
	_, _ = rand.Read(b)
	v := base64.RawURLEncoding.EncodeToString(b)
	http.SetCookie(w, &http.Cookie{Name: preSessionCookie, Value: v, Path: "/", HttpOnly: true,
		Secure: s.cfg.SecureCookies, SameSite: http.SameSiteLaxMode})
	return v
}

func (s *Server) setSession(w http.ResponseWriter, token string, expires time.Time, now time.Time) {
	http.SetCookie(w, &http.Cookie{Name: sessionCookie, Value: token, Path: "/", HttpOnly: true,
		Secure: s.cfg.SecureCookies, SameSite: http.SameSiteLaxMode,
		Expires: expires, MaxAge: int(expires.Sub(now).Seconds())})
}

func (s *Server) clearCookie(w http.ResponseWriter, name string) {
	http.SetCookie(w, &http.Cookie{Name: name, Value: "", Path: "/", HttpOnly: true,
		Secure: s.cfg.SecureCookies, SameSite: http.SameSiteLaxMode, MaxAge: -1})
}

// redirect ends a successful POST: a notice for the next page, then 303.
func (s *Server) redirect(rq *request, to, notice string) error {
	if notice != "" {
		http.SetCookie(rq.w, &http.Cookie{Name: flashCookie, Value: url.QueryEscape(notice), Path: "/",
			HttpOnly: true, Secure: s.cfg.SecureCookies, SameSite: http.SameSiteLaxMode, MaxAge: 60})
	}
	http.Redirect(rq.w, rq.r, to, http.StatusSeeOther)
	return nil
}

// SafeNext returns next when it is a path on this site, else "". It refuses
// absolute and scheme-relative URLs ("//evil", "/\evil") and control
// characters, which browsers strip before resolving ("/\t/evil").
func SafeNext(next string) string {
	if !strings.HasPrefix(next, "/") || strings.HasPrefix(next, "//") || strings.HasPrefix(next, `/\`) || len(next) > 2000 {
		return ""
	}
	for _, c := range next {
		if c < 0x20 || c == 0x7f || c == '\\' {
			return ""
		}
	}
	u, err := url.Parse(next)
	if err != nil || u.Scheme != "" || u.Host != "" || u.User != nil {
		return ""
	}
	return next
}

func roleName(r domain.Role) string {
	switch r {
	case domain.RoleAdmin:
		return "admin"
	case domain.RoleProgramManager:
		return "program manager"
	case domain.RolePartner:
		return "partner"
	}
	return string(r)
}
