package main

import (
	"net"
	"net/http"
	"strings"
	"testing"

	"github.com/partnerloop/partnerloop/internal/apptest"
	"github.com/partnerloop/partnerloop/internal/domain"
	"github.com/partnerloop/partnerloop/internal/mail"
)

type nopMailer struct{ mail.Mailer }

// TestDevMailboxIsForSignedInAdminsOnly is the attack of issue 11: the
// development mailbox holds invitation links, and whoever reads one can
// take over the invited account. Anonymous callers, other roles and API
// keys get nothing; a signed-in admin reads it with a Bearer token or the
// web session cookie.
func TestDevMailboxIsForSignedInAdminsOnly(t *testing.T) {
	e := apptest.New(t)
	h := localHandler(e.App)
	if r := e.InvitePartner(t, "dana@acme.example"); r.Status != http.StatusOK {
		t.Fatalf("invite: %d %s", r.Status, r.Body)
	}
	partnerID := e.Do(t, "GET", "/v1/partners", e.AdminToken, nil).Items()[0]["id"].(string)
	const link = "/accept-invitation?token="
	cookie := func(token string) http.Header { return http.Header{"Cookie": {"pl_session=" + token}} }
	get := func(path, token string, header http.Header) *apptest.Response {
		return apptest.Do(t, h, "GET", path, token, nil, header)
	}
	leaks := func(r *apptest.Response) bool { return strings.Contains(string(r.Body), link) }

	// Anonymous: 401 problem for the JSON, the sign-in page (and back) for the page.
	if r := get("/_dev/mail.json", "", nil); r.Status != http.StatusUnauthorized || leaks(r) ||
		!strings.HasPrefix(r.Header.Get("Content-Type"), "application/problem+json") || r.Header.Get("WWW-Authenticate") == "" {
		t.Errorf("anonymous GET /_dev/mail.json = %d %q %s", r.Status, r.Header.Get("Content-Type"), r.Body)
	}
	if r := get("/_dev/mail", "", nil); r.Status != http.StatusSeeOther || r.Header.Get("Location") != "/login?next=%2F_dev%2Fmail" || leaks(r) {
		t.Errorf("anonymous GET /_dev/mail = %d Location %q", r.Status, r.Header.Get("Location"))
	}
	if r := get("/_dev/mail.json", "pls_not-a-session", nil); r.Status != http.StatusUnauthorized || leaks(r) {
		t.Errorf("bad token: %d", r.Status)
	}

	// Signed in, but not an admin: 403 either way.
	others := map[string]string{
		"partner":         e.NewUser(t, e.OrgID, domain.RolePartner, partnerID),
		"program manager": e.NewUser(t, e.OrgID, domain.RoleProgramManager, ""),
	}
	for who, token := range others {
		for _, r := range []*apptest.Response{get("/_dev/mail.json", token, nil), get("/_dev/mail.json", "", cookie(token)), get("/_dev/mail", "", cookie(token))} {
			if r.Status != http.StatusForbidden || leaks(r) {
				t.Errorf("%s: %d %s", who, r.Status, r.Body)
			}
		}
	}
	if r := get("/_dev/mail.json", e.APIKey(t, e.AdminToken), nil); r.Status != http.StatusForbidden || leaks(r) {
		t.Errorf("API key: %d", r.Status)
	}

	// The admin: the same JSON with a token or the session cookie, and the page.
	for name, r := range map[string]*apptest.Response{
		"JSON, Bearer": get("/_dev/mail.json", e.AdminToken, nil),
		"JSON, cookie": get("/_dev/mail.json", "", cookie(e.AdminToken)),
		"page, cookie": get("/_dev/mail", "", cookie(e.AdminToken)),
	} {
		if r.Status != http.StatusOK || !strings.Contains(string(r.Body), "dana@acme.example") {
			t.Errorf("admin, %s: %d %s", name, r.Status, r.Body)
		}
	}
	page := string(get("/_dev/mail", "", cookie(e.AdminToken)).Body)
	if !strings.Contains(page, "<h1>Development mailbox</h1>") || !strings.Contains(page, "For development only") {
		t.Errorf("the page does not say it is a development mailbox:\n%s", page)
	}
	// The session cookie is no credential for anything but reading.
	if r := apptest.Do(t, h, "POST", "/_dev/mail.json", "", nil, cookie(e.AdminToken)); r.Status == http.StatusOK || leaks(r) {
		t.Errorf("POST /_dev/mail.json = %d", r.Status)
	}
	if r := get("/healthz", "", nil); r.Status != http.StatusOK {
		t.Errorf("API behind the mailbox: %d", r.Status)
	}

	// With a real mailer there is no mailbox, even for the admin; the
	// Lambda functions never serve it.
	e.SetMailer(t, nopMailer{})
	for _, path := range []string{"/_dev/mail", "/_dev/mail.json"} {
		if r := apptest.Do(t, localHandler(e.App), "GET", path, e.AdminToken, nil, cookie(e.AdminToken)); r.Status != http.StatusNotFound {
			t.Errorf("GET %s with a real mailer = %d, want 404", path, r.Status)
		}
	}
	for _, group := range []string{"identity", "partners"} {
		if r := apptest.Do(t, e.App.API.Handler(group), "GET", "/_dev/mail", "", nil, nil); r.Status != http.StatusNotFound {
			t.Errorf("function %s serves /_dev/mail: %d", group, r.Status)
		}
	}
}

// TestExposureWarning: beyond loopback without a real mailer the server
// says so; on loopback, or with SMTP, it does not.
func TestExposureWarning(t *testing.T) {
	for _, tc := range []struct {
		ip         string
		devMailbox bool
		warn       bool
	}{
		{"127.0.0.1", true, false},
		{"::1", true, false},
		{"0.0.0.0", true, true},
		{"::", true, true},
		{"192.0.2.10", true, true},
		{"0.0.0.0", false, false},
	} {
		w := exposureWarning(&net.TCPAddr{IP: net.ParseIP(tc.ip), Port: 3000}, tc.devMailbox)
		if (w != "") != tc.warn || (tc.warn && (!strings.HasPrefix(w, "WARNING:") || !strings.Contains(w, "SMTP_HOST"))) {
			t.Errorf("%s, dev mailbox %v: %q", tc.ip, tc.devMailbox, w)
		}
	}
}
