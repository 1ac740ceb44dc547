package httpapi_test

import (
	"fmt"
	"net/http"
	"slices"
	"sync"
	"testing"

	"github.com/partnerloop/partnerloop/internal/apptest"
	"github.com/partnerloop/partnerloop/internal/domain"
)

// TestChangeRolesAndDisableUsers: an admin makes a program manager an
// admin and back; disabling a user ends its sessions at once (its token
// is refused on the next request); the organization's last active admin
// can be neither demoted nor disabled; bad values are 422.
func TestChangeRolesAndDisableUsers(t *testing.T) {
	e := apptest.New(t)
	pm := e.NewUser(t, e.OrgID, domain.RoleProgramManager, "")
	me := e.Do(t, "GET", "/v1/me", pm, nil)
	pmID := me.String("id")

	r := e.Do(t, "PATCH", "/v1/users/"+pmID, e.AdminToken, map[string]any{"role": "admin"})
	if r.Status != http.StatusOK || r.String("role") != "admin" {
		t.Fatalf("promote: %d %s", r.Status, r.Body)
	}
	if r := e.Do(t, "GET", "/v1/users", pm, nil); r.Status != http.StatusOK {
		t.Errorf("the new admin's session does not have the admin role at once: %d", r.Status)
	}

	// The bootstrap admin may step down now that there is another admin.
	adminID := e.Do(t, "GET", "/v1/me", e.AdminToken, nil).String("id")
	wantStatus(t, e.Do(t, "PATCH", "/v1/users/"+adminID, e.AdminToken, map[string]any{"role": "program_manager"}), http.StatusOK)
	// The other is now the last admin: neither demoted nor disabled.
	wantProblem(t, e.Do(t, "PATCH", "/v1/users/"+pmID, pm, map[string]any{"role": "program_manager"}), http.StatusConflict, "last_admin")
	wantProblem(t, e.Do(t, "PATCH", "/v1/users/"+pmID, pm, map[string]any{"status": "disabled"}), http.StatusConflict, "last_admin")

	wantProblem(t, e.Do(t, "PATCH", "/v1/users/"+adminID, pm, map[string]any{"role": "partner"}), http.StatusUnprocessableEntity, "validation_failed")
	wantProblem(t, e.Do(t, "PATCH", "/v1/users/"+adminID, pm, map[string]any{"status": "active"}), http.StatusUnprocessableEntity, "validation_failed")
	wantProblem(t, e.Do(t, "PATCH", "/v1/users/usr_nobody", pm, map[string]any{"status": "disabled"}), http.StatusNotFound, "not_found")

	// Disabling the former admin (now a program manager) ends its session.
	r = e.Do(t, "PATCH", "/v1/users/"+adminID, pm, map[string]any{"status": "disabled"})
	if r.Status != http.StatusOK || r.String("status") != "disabled" {
		t.Fatalf("disable: %d %s", r.Status, r.Body)
	}
	wantStatus(t, e.Do(t, "GET", "/v1/me", e.AdminToken, nil), http.StatusUnauthorized)
}

// TestAdminsDemotingEachOtherAtOnceKeepOne: the organization's only two
// admins demote (or disable) each other in concurrent requests, round
// after round: one request wins, the other is 409 last_admin (or 403/401
// when its caller was already demoted/disabled by the time it was
// authorized), and one active admin is left every time.
func TestAdminsDemotingEachOtherAtOnceKeepOne(t *testing.T) {
	e := apptest.New(t)
	for round := range 12 {
		org := fmt.Sprintf("org_race_%d", round)
		tokens := []string{e.NewUser(t, org, domain.RoleAdmin, ""), e.NewUser(t, org, domain.RoleAdmin, "")}
		ids := []string{e.Do(t, "GET", "/v1/me", tokens[0], nil).String("id"), e.Do(t, "GET", "/v1/me", tokens[1], nil).String("id")}
		patch := map[string]any{"role": "program_manager"}
		if round%2 == 1 {
			patch = map[string]any{"status": "disabled"}
		}
		var wg sync.WaitGroup
		status := make([]int, 2)
		for i := range 2 {
			wg.Go(func() { status[i] = e.Do(t, "PATCH", "/v1/users/"+ids[1-i], tokens[i], patch).Status })
		}
		wg.Wait()
		slices.Sort(status)
		if status[0] != http.StatusOK || !slices.Contains([]int{http.StatusUnauthorized, http.StatusForbidden, http.StatusConflict}, status[1]) {
			t.Fatalf("round %d (%v): statuses %v, want one 200 and one 409 (or 401, 403)", round, patch, status)
		}
		active := 0
		for _, id := range ids {
			u, err := e.App.Store.GetUser(t.Context(), org, id)
			if err != nil {
				t.Fatal(err)
			}
			if u.Role == domain.RoleAdmin && u.Status == domain.UserActive {
				active++
			}
		}
		if active != 1 {
			t.Fatalf("round %d: %d active admins left, want 1", round, active)
		}
	}
}
