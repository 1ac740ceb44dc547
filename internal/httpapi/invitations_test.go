package httpapi_test

import (
	"context"
	"errors"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/partnerloop/partnerloop/internal/apptest"
	"github.com/partnerloop/partnerloop/internal/domain"
	"github.com/partnerloop/partnerloop/internal/identity"
	"github.com/partnerloop/partnerloop/internal/mail"
)

const goodPassword = "violet-harbour-lantern-42"

// newPartner creates a tier and a partner and returns the partner's id.
func newPartner(t *testing.T, e *apptest.Env, email string) string {
	t.Helper()
	tier := mustCreate(t, e, "/v1/partner-tiers", e.AdminToken, tierBody("Gold"))
	p := mustCreate(t, e, "/v1/partners", e.AdminToken, partnerBody(tier["id"].(string), email))
	if pa := p["portalAccess"].(map[string]any); pa["status"] != "none" {
		t.Fatalf("new partner's portalAccess = %v", pa)
	}
	return p["id"].(string)
}

func accept(t *testing.T, e *apptest.Env, token, password string) *apptest.Response {
	t.Helper()
	return e.Do(t, "POST", "/v1/invitations/accept", "", map[string]string{"token": token, "password": password})
}

func portalAccess(t *testing.T, e *apptest.Env, partnerID string) map[string]any {
	t.Helper()
	r := e.Do(t, "GET", "/v1/partners/"+partnerID, e.AdminToken, nil)
	wantStatus(t, r, http.StatusOK)
	return r.JSON()["portalAccess"].(map[string]any)
}

func TestPartnerInvitationFlow(t *testing.T) {
	e := apptest.New(t)
	id := newPartner(t, e, "ada@acme.example")

	r := e.Do(t, "POST", "/v1/partners/"+id+"/invitation", e.AdminToken, nil)
	wantStatus(t, r, http.StatusOK)
	sent := r.JSON()
	if sent["partnerId"] != id || sent["email"] != "ada@acme.example" || sent["userId"] == "" ||
		sent["expiresAt"] != apptest.Start.Add(7*24*time.Hour).Format(time.RFC3339) || sent["sentAt"] != apptest.Start.Format(time.RFC3339) {
		t.Fatalf("sent = %v", sent)
	}
	// The email: to the contact, from the configured sender, both bodies
	// carrying the link.
	msgs := e.App.Mailbox.Messages()
	if len(msgs) != 1 {
		t.Fatalf("%d emails, want 1", len(msgs))
	}
	m := msgs[0]
	token := e.LastInvitationToken(t, "ada@acme.example")
	link := "https://refer.example.com/accept-invitation?token=" + token
	if m.To != "ada@acme.example" || !strings.Contains(m.From, "noreply@") || !strings.Contains(m.Text, link) ||
		!strings.Contains(m.HTML, `href="`+link+`"`) || !strings.Contains(m.Subject, "Test Org") {
		t.Fatalf("email = %+v", m)
	}
	if pa := portalAccess(t, e, id); pa["status"] != "invited" || pa["userId"] != sent["userId"] || pa["expiresAt"] != sent["expiresAt"] {
		t.Fatalf("portalAccess = %v", pa)
	}

	// Accept once: signed in as the partner.
	r = accept(t, e, token, goodPassword)
	wantStatus(t, r, http.StatusOK)
	user := r.JSON()["user"].(map[string]any)
	if user["role"] != "partner" || user["partnerId"] != id || user["email"] != "ada@acme.example" || r.String("token") == "" {
		t.Fatalf("accept = %s", r.Body)
	}
	session := r.String("token")
	me := e.Do(t, "GET", "/v1/me", session, nil)
	wantStatus(t, me, http.StatusOK)
	if me.JSON()["partnerId"] != id {
		t.Fatalf("me = %s", me.Body)
	}
	// The link works once.
	wantProblem(t, accept(t, e, token, goodPassword), http.StatusGone, "invitation_gone")
	// The password now signs in.
	e.Login(t, "ada@acme.example", goodPassword)
	if pa := portalAccess(t, e, id); pa["status"] != "active" || pa["acceptedAt"] == nil {
		t.Fatalf("portalAccess after accept = %v", pa)
	}

	// Revoking access: the session stops working at once, and so does login.
	r = e.Do(t, "DELETE", "/v1/partners/"+id+"/portal-access", e.AdminToken, nil)
	wantStatus(t, r, http.StatusNoContent)
	wantProblem(t, e.Do(t, "GET", "/v1/me", session, nil), http.StatusUnauthorized, "")
	wantProblem(t, e.Do(t, "POST", "/v1/auth/login", "", map[string]string{"email": "ada@acme.example", "password": goodPassword}),
		http.StatusUnauthorized, "invalid_credentials")
	if pa := portalAccess(t, e, id); pa["status"] != "revoked" {
		t.Fatalf("portalAccess after revoke = %v", pa)
	}

	// Re-inviting re-enables: invited until accepted.
	wantStatus(t, e.Do(t, "POST", "/v1/partners/"+id+"/invitation", e.AdminToken, nil), http.StatusOK)
	if pa := portalAccess(t, e, id); pa["status"] != "invited" {
		t.Fatalf("portalAccess after re-invite = %v", pa)
	}
	wantStatus(t, accept(t, e, e.LastInvitationToken(t, "ada@acme.example"), "another-"+goodPassword), http.StatusOK)
}

func TestResendInvalidatesEarlierLink(t *testing.T) {
	e := apptest.New(t)
	id := newPartner(t, e, "ada@acme.example")
	wantStatus(t, e.Do(t, "POST", "/v1/partners/"+id+"/invitation", e.AdminToken, nil), http.StatusOK)
	first := e.LastInvitationToken(t, "ada@acme.example")
	wantStatus(t, e.Do(t, "POST", "/v1/partners/"+id+"/invitation", e.AdminToken, nil), http.StatusOK)
	second := e.LastInvitationToken(t, "ada@acme.example")
	if first == second {
		t.Fatal("re-send reused the token")
	}
	wantProblem(t, accept(t, e, first, goodPassword), http.StatusGone, "invitation_gone")
	wantStatus(t, accept(t, e, second, goodPassword), http.StatusOK)
}

func TestRevokedLinkIsGone(t *testing.T) {
	e := apptest.New(t)
	id := newPartner(t, e, "ada@acme.example")
	wantStatus(t, e.Do(t, "POST", "/v1/partners/"+id+"/invitation", e.AdminToken, nil), http.StatusOK)
	token := e.LastInvitationToken(t, "ada@acme.example")
	wantStatus(t, e.Do(t, "DELETE", "/v1/partners/"+id+"/portal-access", e.AdminToken, nil), http.StatusNoContent)
	wantProblem(t, accept(t, e, token, goodPassword), http.StatusGone, "invitation_gone")
}

func TestInvitationExpiresAfterSevenDays(t *testing.T) {
	e := apptest.New(t)
	id := newPartner(t, e, "ada@acme.example")
	wantStatus(t, e.Do(t, "POST", "/v1/partners/"+id+"/invitation", e.AdminToken, nil), http.StatusOK)
	token := e.LastInvitationToken(t, "ada@acme.example")
	e.Clock.Advance(7 * 24 * time.Hour)
	wantProblem(t, accept(t, e, token, goodPassword), http.StatusGone, "invitation_gone")
	wantProblem(t, accept(t, e, "pli_made-up", goodPassword), http.StatusGone, "invitation_gone")
	wantProblem(t, accept(t, e, "not-even-a-token", goodPassword), http.StatusGone, "invitation_gone")
}

func TestWeakPasswordsRefused(t *testing.T) {
	e := apptest.New(t)
	id := newPartner(t, e, "ada.lovelace@acme.example")
	wantStatus(t, e.Do(t, "POST", "/v1/partners/"+id+"/invitation", e.AdminToken, nil), http.StatusOK)
	token := e.LastInvitationToken(t, "ada.lovelace@acme.example")
	weak := []string{
		"short-pw",                  // too short
		strings.Repeat("x", 257),    // too long
		"password1234",              // common
		"Ada.Lovelace-2026",         // the email's local part
		"ada.lovelace@acme.example", // the email
		"we love Test Org!",         // the organization's name
		"aaaaaaaaaaaaaa",            // one character
		"abcdefghijklmn",            // a sequence
		"0987654321098",             // a sequence backwards
		"abcabcabcabcabc",           // a short pattern
	}
	for _, pw := range weak {
		// Weak passwords count against the token's limit; use fresh links.
		r := accept(t, e, token, pw)
		if r.Status == http.StatusTooManyRequests {
			wantStatus(t, e.Do(t, "POST", "/v1/partners/"+id+"/invitation", e.AdminToken, nil), http.StatusOK)
			token = e.LastInvitationToken(t, "ada.lovelace@acme.example")
			r = accept(t, e, token, pw)
		}
		p := wantProblem(t, r, http.StatusUnprocessableEntity, "validation_failed")
		wantFields(t, p, "password")
	}
	// The link still works after refusals (once their wait is over).
	e.Clock.Advance(identity.AcceptPerToken.Lock)
	wantStatus(t, accept(t, e, token, goodPassword), http.StatusOK)
}

func TestInviteInternalUser(t *testing.T) {
	e := apptest.New(t)
	r := e.Do(t, "POST", "/v1/users", e.AdminToken, map[string]string{"email": "Grace@Example.com", "name": "Grace Hopper", "role": "program_manager"})
	wantStatus(t, r, http.StatusCreated)
	u := r.JSON()
	if u["status"] != "invited" || u["role"] != "program_manager" || u["email"] != "grace@example.com" {
		t.Fatalf("user = %v", u)
	}
	if _, ok := u["passwordHash"]; ok {
		t.Fatal("password hash exposed")
	}
	msg := e.App.Mailbox.Messages()[0]
	if strings.Contains(msg.Text, "partner portal") || !strings.Contains(msg.Text, "Grace Hopper") {
		t.Errorf("internal user's email: %s", msg.Text)
	}
	wantProblem(t, e.Do(t, "POST", "/v1/users", e.AdminToken, map[string]string{"email": "grace@example.com", "name": "G", "role": "admin"}),
		http.StatusConflict, "email_taken")
	p := wantProblem(t, e.Do(t, "POST", "/v1/users", e.AdminToken, map[string]string{"email": "p@example.com", "name": "P", "role": "partner"}),
		http.StatusUnprocessableEntity, "validation_failed")
	wantFields(t, p, "role")
	p = wantProblem(t, e.Do(t, "POST", "/v1/users", e.AdminToken, map[string]string{"email": "nope", "name": "", "role": "boss"}),
		http.StatusUnprocessableEntity, "validation_failed")
	wantFields(t, p, "email", "name", "role")

	// Re-send, then accept: a program manager signs in.
	first := e.LastInvitationToken(t, "grace@example.com")
	wantStatus(t, e.Do(t, "POST", "/v1/users/"+u["id"].(string)+"/invitation", e.AdminToken, nil), http.StatusOK)
	wantProblem(t, accept(t, e, first, goodPassword), http.StatusGone, "invitation_gone")
	r = accept(t, e, e.LastInvitationToken(t, "grace@example.com"), goodPassword)
	wantStatus(t, r, http.StatusOK)
	wantStatus(t, e.Do(t, "GET", "/v1/programs", r.String("token"), nil), http.StatusOK)
	wantProblem(t, e.Do(t, "POST", "/v1/users/"+u["id"].(string)+"/invitation", e.AdminToken, nil), http.StatusConflict, "user_active")

	// Only admins invite; other organizations' users are not found.
	pm := r.String("token")
	wantProblem(t, e.Do(t, "POST", "/v1/users", pm, map[string]string{"email": "x@example.com", "name": "X", "role": "admin"}), http.StatusForbidden, "forbidden")
	other := e.NewUser(t, "org_other", domain.RoleAdmin, "")
	wantProblem(t, e.Do(t, "POST", "/v1/users/"+u["id"].(string)+"/invitation", other, nil), http.StatusNotFound, "not_found")
}

func TestPartnerInvitationIsolationAndConflicts(t *testing.T) {
	e := apptest.New(t)
	id := newPartner(t, e, "ada@acme.example")
	other := e.NewUser(t, "org_other", domain.RoleAdmin, "")
	wantProblem(t, e.Do(t, "POST", "/v1/partners/"+id+"/invitation", other, nil), http.StatusNotFound, "not_found")
	wantProblem(t, e.Do(t, "DELETE", "/v1/partners/"+id+"/portal-access", other, nil), http.StatusNotFound, "not_found")
	if len(e.App.Mailbox.Messages()) != 0 {
		t.Fatal("another organization's admin sent an invitation")
	}
	// A partner whose email is already an internal user's address.
	wantStatus(t, e.Do(t, "POST", "/v1/users", e.AdminToken, map[string]string{"email": "bob@acme.example", "name": "Bob", "role": "admin"}), http.StatusCreated)
	clash := newPartnerInTier(t, e, "bob@acme.example")
	wantProblem(t, e.Do(t, "POST", "/v1/partners/"+clash+"/invitation", e.AdminToken, nil), http.StatusConflict, "email_taken")
	// Revoking a partner never invited is a no-op.
	wantStatus(t, e.Do(t, "DELETE", "/v1/partners/"+clash+"/portal-access", e.AdminToken, nil), http.StatusNoContent)
}

func newPartnerInTier(t *testing.T, e *apptest.Env, email string) string {
	t.Helper()
	tier := mustCreate(t, e, "/v1/partner-tiers", e.AdminToken, tierBody("Silver"))
	return mustCreate(t, e, "/v1/partners", e.AdminToken, partnerBody(tier["id"].(string), email))["id"].(string)
}

// failingMailer fails every send.
type failingMailer struct{}

func (failingMailer) Send(context.Context, mail.Message) error { return errors.New("smtp is down") }

func TestMailFailureIs503AndResendWorks(t *testing.T) {
	e := apptest.New(t)
	id := newPartner(t, e, "ada@acme.example")
	box := e.App.Mail
	e.SetMailer(t, failingMailer{})
	wantProblem(t, e.Do(t, "POST", "/v1/partners/"+id+"/invitation", e.AdminToken, nil), http.StatusServiceUnavailable, "mail_failed")
	e.SetMailer(t, box)
	wantStatus(t, e.Do(t, "POST", "/v1/partners/"+id+"/invitation", e.AdminToken, nil), http.StatusOK)
	wantStatus(t, accept(t, e, e.LastInvitationToken(t, "ada@acme.example"), goodPassword), http.StatusOK)
}
