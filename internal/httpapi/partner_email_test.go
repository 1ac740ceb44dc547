package httpapi_test

import (
	"net/http"
	"testing"

	"github.com/partnerloop/partnerloop/internal/apptest"
)

// A partner's new email is its portal user's sign-in address from then on,
// and an address another user signs in with is refused without changing
// anything (login names are unique across the installation).
func TestPartnerEmailChangeReachesItsPortalUser(t *testing.T) {
	e := apptest.New(t)
	id := newPartner(t, e, "ada@acme.example")
	wantStatus(t, e.Do(t, "POST", "/v1/partners/"+id+"/invitation", e.AdminToken, nil), http.StatusOK)
	wantStatus(t, accept(t, e, e.LastInvitationToken(t, "ada@acme.example"), goodPassword), http.StatusOK)
	login := func(email string) int {
		return e.Do(t, "POST", "/v1/auth/login", "", map[string]string{"email": email, "password": goodPassword}).Status
	}

	// Another user's address: 409, partner and portal user unchanged.
	p := wantProblem(t, e.Do(t, "PATCH", "/v1/partners/"+id, e.AdminToken, map[string]any{"email": apptest.AdminEmail}),
		http.StatusConflict, "email_taken")
	if p["errors"] == nil {
		t.Errorf("409 without the field: %v", p)
	}
	if got := e.Do(t, "GET", "/v1/partners/"+id, e.AdminToken, nil).String("email"); got != "ada@acme.example" {
		t.Fatalf("partner email after the refused change = %q", got)
	}
	if st := login("ada@acme.example"); st != http.StatusOK {
		t.Fatalf("the portal user's login after the refused change: %d", st)
	}

	r := e.Do(t, "PATCH", "/v1/partners/"+id, e.AdminToken, map[string]any{"email": "Ada.Byron@Acme.example"})
	wantStatus(t, r, http.StatusOK)
	if got := r.String("email"); got != "ada.byron@acme.example" {
		t.Fatalf("partner email = %q", got)
	}
	if st := login("ada.byron@acme.example"); st != http.StatusOK {
		t.Errorf("login with the partner's new address: %d, want 200", st)
	}
	if st := login("ada@acme.example"); st != http.StatusUnauthorized {
		t.Errorf("login with the old address: %d, want 401", st)
	}
	// The portal user is the partner's, with the new address.
	tok := e.Login(t, "ada.byron@acme.example", goodPassword)
	me := e.Do(t, "GET", "/v1/me", tok, nil).JSON()
	if me["email"] != "ada.byron@acme.example" || me["partnerId"] != id {
		t.Errorf("GET /v1/me = %v", me)
	}
	// The old address is free again, for a new partner.
	newPartner(t, e, "ada@acme.example")
}
