package httpapi_test

import (
	"bytes"
	"fmt"
	"net/http"
	"slices"
	"sort"
	"strings"
	"testing"
	"time"

	"github.com/partnerloop/partnerloop/internal/apptest"
	"github.com/partnerloop/partnerloop/internal/domain"
	"github.com/partnerloop/partnerloop/internal/httpapi"
	"github.com/partnerloop/partnerloop/internal/store"
)

// The authorization matrix: every route of the registered route table is
// called by every kind of caller, and the status must be the one the
// route's Access decision implies. A route added to the table is in the
// matrix at once; one whose path names a record fails here until it gets a
// fixture below, so nobody adds a route without deciding who may call it
// and seeing that decision enforced.

// caller is one column of the matrix.
type caller string

const (
	anonymous  caller = "anonymous"
	partnerB   caller = "partner B"
	partnerA   caller = "partner A"
	manager    caller = "program manager"
	apiKey     caller = "API key"
	otherAdmin caller = "admin of another org"
	admin      caller = "admin"
)

// callers in the order they run: the admin, who may do everything
// (including deleting fixtures), goes last.
var callers = []caller{anonymous, partnerB, partnerA, manager, apiKey, otherAdmin, admin}

func (c caller) role() domain.Role {
	switch c {
	case partnerA, partnerB:
		return domain.RolePartner
	case manager:
		return domain.RoleProgramManager
	case apiKey:
		return domain.RoleAPIKey
	case admin, otherAdmin:
		return domain.RoleAdmin
	}
	return ""
}

// owner says whose record a route's path names.
type owner int

const (
	noRecord       owner = iota // a collection, or a path without a record
	orgRecord                   // a record of the organization
	partnerARecord              // a record of partner A (a partner-scoped route)
)

// fixture is what a route is called with.
type fixture struct {
	path  string
	owner owner
}

// matrixWorld is an organization with two partners, each holding a referral
// code, a referral, a conversion and a commission, plus callers of every
// kind and a second organization.
type matrixWorld struct {
	e      *apptest.Env
	tokens map[caller]string
	// fixtures by "METHOD pattern", then by pattern.
	fixtures map[string]fixture
	// secrets[c] are identifiers caller c must never find in any answer.
	secrets map[caller][]string
}

func newMatrixWorld(t *testing.T) *matrixWorld {
	e := apptest.New(t)
	adm := e.AdminToken
	w := &matrixWorld{e: e, tokens: map[caller]string{admin: adm}, fixtures: map[string]fixture{}, secrets: map[caller][]string{}}

	programID, _ := e.LiveProgram(t, adm)
	// Lifecycle routes get a program of their own, so that pausing or
	// archiving it leaves the others' fixtures working.
	spare := mustCreate(t, e, "/v1/programs", adm, apptest.ProgramBody())["id"].(string)
	tier := mustCreate(t, e, "/v1/partner-tiers", adm, tierBody("Silver"))["id"].(string)

	type partnerFixture struct {
		id, referrerID, code, referralID, conversionID, commissionID, dealID string
	}
	mkPartner := func(name string) partnerFixture {
		var f partnerFixture
		f.id = mustCreate(t, e, "/v1/partners", adm, partnerBody(tier, name+"@partners.example"))["id"].(string)
		r := mustCreate(t, e, "/v1/programs/"+programID+"/referrers", adm, map[string]string{
			"email": name + "@partners.example", "name": name, "partnerId": f.id})
		f.referrerID, f.code = r["id"].(string), r["code"].(string)
		f.referralID = mustCreate(t, e, "/v1/referrals", adm, map[string]string{"code": f.code, "email": "lead-of-" + name + "@customers.example"})["id"].(string)
		f.conversionID = mustCreate(t, e, "/v1/conversions", adm, map[string]any{
			"referralId": f.referralID, "event": "purchase", "amount": 20000, "externalId": "order-" + name})["id"].(string)
		f.commissionID = seed(t, e, earning{program: programID, referrer: f.referrerID, partner: f.id, amount: 2000})[0].ID
		// Both partners register the same customer: B's deal is in
		// conflict with A's, which B must not learn the ID of.
		f.dealID = mustCreate(t, e, "/v1/deals", adm, map[string]any{
			"customerName": "Contested", "customerDomain": "contested.example", "value": 100000, "partnerId": f.id})["id"].(string)
		return f
	}
	a, b := mkPartner("alpha"), mkPartner("bravo")
	// A third partner is invited and has its access revoked by the
	// invitation routes, so A and B keep theirs.
	spareP := mustCreate(t, e, "/v1/partners", adm, partnerBody(tier, "charlie@partners.example"))["id"].(string)

	w.tokens[partnerA] = e.NewUser(t, e.OrgID, domain.RolePartner, a.id)
	w.tokens[partnerB] = e.NewUser(t, e.OrgID, domain.RolePartner, b.id)
	w.tokens[manager] = e.NewUser(t, e.OrgID, domain.RoleProgramManager, "")
	w.tokens[apiKey] = e.APIKey(t, adm)
	w.tokens[otherAdmin] = e.NewUser(t, "org_elsewhere", domain.RoleAdmin, "")
	doomedKey := e.Do(t, "POST", "/v1/api-keys", adm, map[string]string{"name": "to delete"}).String("id")
	invited := mustCreate(t, e, "/v1/users", adm, map[string]string{"email": "new.manager@example.com", "name": "New Manager", "role": "program_manager"})["id"].(string)
	e.RollUp(t) // analytics of both organizations
	// A payout run holding A's commission, approved for it.
	wantStatus(t, e.Do(t, "POST", "/v1/commissions/approve", adm, map[string]any{"ids": []string{a.commissionID}}), http.StatusOK)
	run := mustCreate(t, e, "/v1/payout-runs", adm, map[string]any{})["id"].(string)
	// Webhook endpoints: one to delete, one for the rest, with a delivery
	// to replay.
	hookBody := map[string]any{"url": "https://hooks.example.com/in", "events": []string{"commission.*"}}
	hook := mustCreate(t, e, "/v1/webhooks", adm, hookBody)["id"].(string)
	doomedHook := mustCreate(t, e, "/v1/webhooks", adm, hookBody)["id"].(string)
	due := time.Now().Add(time.Hour)
	delivery := domain.WebhookDelivery{ID: "whd_matrix", OrgID: e.OrgID, EndpointID: hook, EventID: "msg_matrix",
		EventType: "commission.created", Subject: "com_x", OrderKey: "1", Payload: []byte(`{}`), Status: domain.DeliveryFailed,
		NextAttemptAt: &due, CreatedAt: time.Now(), UpdatedAt: time.Now()}
	if err := e.App.Store.(store.Webhooks).CreateWebhookDelivery(t.Context(), delivery); err != nil {
		t.Fatal(err)
	}

	secretsOf := func(f partnerFixture) []string {
		return []string{f.id, f.referrerID, f.code, f.referralID, f.conversionID, f.commissionID, f.dealID}
	}
	w.secrets[partnerB] = secretsOf(a)
	w.secrets[partnerA] = secretsOf(b)
	w.secrets[otherAdmin] = append(append([]string{programID, spare, tier, spareP, run, e.OrgID, hook}, secretsOf(a)...), secretsOf(b)...)

	org := func(path string) fixture { return fixture{path, orgRecord} }
	for k, f := range map[string]fixture{
		"/r/{code}":                       {"/r/" + a.code, orgRecord},
		"/v1/api-keys/{id}":               org("/v1/api-keys/" + doomedKey),
		"/v1/users/{id}/invitation":       org("/v1/users/" + invited + "/invitation"),
		"/v1/users/{id}":                  org("/v1/users/" + invited),
		"/v1/programs/{id}":               org("/v1/programs/" + programID),
		"/v1/programs/{id}/activate":      org("/v1/programs/" + spare + "/activate"),
		"/v1/programs/{id}/pause":         org("/v1/programs/" + spare + "/pause"),
		"/v1/programs/{id}/archive":       org("/v1/programs/" + spare + "/archive"),
		"/v1/programs/{id}/referrers":     org("/v1/programs/" + programID + "/referrers"),
		"/v1/referrers/{id}":              org("/v1/referrers/" + a.referrerID),
		"/v1/referrals/{id}":              org("/v1/referrals/" + a.referralID),
		"/v1/conversions/{id}":            org("/v1/conversions/" + a.conversionID),
		"/v1/conversions/{id}/refund":     org("/v1/conversions/" + a.conversionID + "/refund"),
		"/v1/commissions/{id}":            org("/v1/commissions/" + a.commissionID),
		"/v1/partners/{id}":               org("/v1/partners/" + a.id),
		"/v1/partners/{id}/invitation":    org("/v1/partners/" + spareP + "/invitation"),
		"/v1/partners/{id}/portal-access": org("/v1/partners/" + spareP + "/portal-access"),
		"/v1/partner-tiers/{id}":          org("/v1/partner-tiers/" + tier),
		"/v1/payout-runs/{id}":            org("/v1/payout-runs/" + run),
		"/v1/payout-runs/{id}/mark-paid":  org("/v1/payout-runs/" + run + "/mark-paid"),
		"/v1/payout-runs/{id}/cancel":     org("/v1/payout-runs/" + run + "/cancel"),
		"/v1/deals/{id}":                  org("/v1/deals/" + a.dealID),
		"/v1/deals/{id}/approve":          org("/v1/deals/" + a.dealID + "/approve"),
		"/v1/deals/{id}/reject":           org("/v1/deals/" + a.dealID + "/reject"),
		"/v1/deals/{id}/won":              org("/v1/deals/" + a.dealID + "/won"),
		"/v1/deals/{id}/lost":             org("/v1/deals/" + a.dealID + "/lost"),
		"/v1/portal/statements/{period}":  {"/v1/portal/statements/2026-03.csv", noRecord},
		// Public: Stripe's signature (here none: 400) is the authentication.
		"/v1/integrations/stripe/{organizationId}/webhook": {"/v1/integrations/stripe/" + e.OrgID + "/webhook", noRecord},
		"/v1/portal/deals/{id}":                            {"/v1/portal/deals/" + a.dealID, partnerARecord},
		"GET /v1/portal/statements/{period}":               {"/v1/portal/statements/2026-03.csv", noRecord},
		"/v1/webhooks/{id}":                                org("/v1/webhooks/" + hook),
		"DELETE /v1/webhooks/{id}":                         org("/v1/webhooks/" + doomedHook),
		"/v1/webhooks/{id}/rotate-secret":                  org("/v1/webhooks/" + hook + "/rotate-secret"),
		"/v1/webhooks/{id}/deliveries":                     org("/v1/webhooks/" + hook + "/deliveries"),
		"/v1/webhooks/{id}/deliveries/{deliveryId}/replay": org("/v1/webhooks/" + hook + "/deliveries/" + delivery.ID + "/replay"),
		"/v1/partners/{id}/deactivate":                     org("/v1/partners/" + spareP + "/deactivate"),
		"/v1/partners/{id}/reactivate":                     org("/v1/partners/" + spareP + "/reactivate"),
	} {
		w.fixtures[k] = f
	}
	return w
}

// fixtureFor returns how to call rt, or false when the route names a
// record nobody has decided a fixture for.
func (w *matrixWorld) fixtureFor(rt httpapi.Route) (fixture, bool) {
	if f, ok := w.fixtures[rt.Method+" "+rt.Pattern]; ok {
		return f, true
	}
	if f, ok := w.fixtures[rt.Pattern]; ok {
		return f, true
	}
	if !strings.Contains(rt.Pattern, "{") {
		return fixture{rt.Pattern, noRecord}, true
	}
	return fixture{}, false
}

// outcome is a cell of the matrix.
type outcome string

const (
	wantUnauthenticated outcome = "401"
	wantForbidden       outcome = "403"
	wantNotFound        outcome = "404"
	wantServed          outcome = "served" // passed authorization: neither 401, 403 nor 404
)

// expect derives a cell from the route's Access and whose record its path
// names.
func expect(rt httpapi.Route, c caller, f fixture) outcome {
	switch {
	case rt.Access.Public:
		return wantServed
	case c == anonymous:
		return wantUnauthenticated
	case !allows(rt.Access, c.role()):
		return wantForbidden
	case f.owner != noRecord && c == otherAdmin:
		return wantNotFound
	case f.owner == partnerARecord && c == partnerB:
		return wantNotFound
	}
	return wantServed
}

func allows(a httpapi.Access, r domain.Role) bool {
	return a.Public || a.AnyRole || slices.Contains(a.Roles, r)
}

func TestAuthorizationMatrix(t *testing.T) {
	w := newMatrixWorld(t)
	routes := w.e.App.API.Routes()
	// Signing out ends the caller's session: it runs after everything else.
	sort.SliceStable(routes, func(i, j int) bool {
		return routes[i].Pattern != "/v1/auth/logout" && routes[j].Pattern == "/v1/auth/logout"
	})

	var table strings.Builder
	fmt.Fprintf(&table, "%-52s", "route")
	for _, c := range callers {
		fmt.Fprintf(&table, " | %-9.9s", c)
	}
	table.WriteString("\n")
	for _, rt := range routes {
		name := rt.Method + " " + rt.Pattern
		f, ok := w.fixtureFor(rt)
		if !ok {
			t.Errorf("%s names a record but the authorization matrix has no fixture for it: add one to newMatrixWorld", name)
			continue
		}
		fmt.Fprintf(&table, "%-52s", name)
		for _, c := range callers {
			want := expect(rt, c, f)
			var body any
			if rt.Method != http.MethodGet && rt.Method != http.MethodDelete {
				body = "{}"
			}
			r := w.e.Do(t, rt.Method, f.path, w.tokens[c], body)
			fmt.Fprintf(&table, " | %-9d", r.Status)
			if r.Status >= 500 {
				t.Errorf("%s as %s: %d %s", name, c, r.Status, r.Body)
				continue
			}
			switch want {
			case wantServed:
				if r.Status == 401 || r.Status == 403 || r.Status == 404 {
					t.Errorf("%s as %s: %d, want it served: %s", name, c, r.Status, r.Body)
				}
			default:
				if fmt.Sprint(r.Status) != string(want) {
					t.Errorf("%s as %s: %d, want %s: %s", name, c, r.Status, want, r.Body)
				}
			}
			if rt.Access.Public {
				continue // a public link is everybody's to follow
			}
			for _, s := range w.secrets[c] {
				if bytes.Contains(r.Body, []byte(s)) {
					t.Errorf("%s as %s: the answer contains %q, which this caller must never see: %s", name, c, s, r.Body)
				}
			}
		}
		table.WriteString("\n")
	}
	t.Logf("authorization matrix (status per caller):\n%s", table.String())
}

// TestRouteTableDecisions holds the route table to the product's role
// model, so a wrong Access on a new route fails here even though the matrix
// would faithfully enforce it: partners reach only the portal and routes
// every session has; API keys (an organization's backend) never manage
// people, keys or partners; program managers never touch money or partners.
func TestRouteTableDecisions(t *testing.T) {
	e := apptest.New(t)
	for _, rt := range e.App.API.Routes() {
		name := rt.Method + " " + rt.Pattern
		portal := strings.HasPrefix(rt.Pattern, "/v1/portal/")
		if rt.Access.Public {
			if !slices.Contains([]string{"/healthz", "/openapi.yaml", "/r/{code}", "/v1/auth/login", "/v1/invitations/accept",
				"/v1/integrations/stripe/{organizationId}/webhook"}, rt.Pattern) {
				t.Errorf("%s is public but API.md lists no such public route", name)
			}
			continue
		}
		if portal != (allows(rt.Access, domain.RolePartner) && !rt.Access.AnyRole) {
			t.Errorf("%s: partners may call exactly the /v1/portal routes (and routes any session has)", name)
		}
		if portal && (allows(rt.Access, domain.RoleAdmin) || allows(rt.Access, domain.RoleAPIKey) || allows(rt.Access, domain.RoleProgramManager)) {
			t.Errorf("%s: portal routes are for partners only; staff use the admin routes", name)
		}
		if strings.HasPrefix(rt.Pattern, "/v1/analytics/") && (allows(rt.Access, domain.RoleAPIKey) || !allows(rt.Access, domain.RoleProgramManager) || !allows(rt.Access, domain.RoleAdmin)) {
			t.Errorf("%s: analytics are for admins and program managers; API keys do not read them", name)
		}
		if rt.Pattern == "/v1/organization" && (len(rt.Access.Roles) != 1 || rt.Access.Roles[0] != domain.RoleAdmin) {
			t.Errorf("%s: the organization's settings are the admin's", name)
		}
		if strings.HasPrefix(rt.Pattern, "/v1/integrations/") && !rt.Access.Public && (len(rt.Access.Roles) != 1 || rt.Access.Roles[0] != domain.RoleAdmin) {
			t.Errorf("%s: the organization's integrations (and their secrets) are the admin's", name)
		}
		for _, prefix := range []string{"/v1/users", "/v1/api-keys", "/v1/partners", "/v1/partner-tiers", "/v1/deals", "/v1/commissions"} {
			if strings.HasPrefix(rt.Pattern, prefix) && allows(rt.Access, domain.RoleProgramManager) {
				t.Errorf("%s: program managers do not manage people, keys, partners, deals or money", name)
			}
			if strings.HasPrefix(rt.Pattern, prefix) && rt.Method != http.MethodGet && allows(rt.Access, domain.RoleAPIKey) && prefix != "/v1/deals" {
				t.Errorf("%s: API keys do not change people, keys, partners or commissions", name)
			}
		}
	}
}
