package httpapi

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"log/slog"
	"net/http"
	"slices"
	"strings"

	"github.com/partnerloop/partnerloop/internal/accesslog"
	"github.com/partnerloop/partnerloop/internal/analytics"
	"github.com/partnerloop/partnerloop/internal/clientaddr"
	"github.com/partnerloop/partnerloop/internal/deals"
	"github.com/partnerloop/partnerloop/internal/domain"
	"github.com/partnerloop/partnerloop/internal/identity"
	"github.com/partnerloop/partnerloop/internal/ledger"
	"github.com/partnerloop/partnerloop/internal/partners"
	"github.com/partnerloop/partnerloop/internal/payouts"
	"github.com/partnerloop/partnerloop/internal/portal"
	"github.com/partnerloop/partnerloop/internal/programs"
	"github.com/partnerloop/partnerloop/internal/stripeint"
	"github.com/partnerloop/partnerloop/internal/tracking"
	"github.com/partnerloop/partnerloop/internal/webhooks"
)

// Caller is the authenticated principal of a request (nil on public routes
// called without credentials).
type Caller = identity.Principal

// API holds what the handlers need.
type API struct {
	Identity *identity.Service
	Programs *programs.Service
	Tracking *tracking.Service
	Partners *partners.Service
	// Deals is nil when the store keeps no deals; the deal routes then
	// answer 503.
	Deals *deals.Service
	Log   *slog.Logger
	// Health reports whether the store answers (GET /healthz).
	Health func(context.Context) error
	// SecureCookies marks cookies Secure (everywhere but plain-http local runs).
	SecureCookies bool
	// Ledger is nil while the store does not implement store.Ledger; the
	// commissions routes then answer 503.
	Ledger *ledger.Service
	// Portal is nil while the store lacks the portal's queries; the portal
	// routes then answer 503.
	Portal *portal.Service
	// Payouts is nil while the store keeps no payout runs; the payout
	// routes then answer 503.
	Payouts *payouts.Service
	// Analytics is nil while the store keeps no analytics rollups; the
	// analytics routes then answer 503.
	Analytics *analytics.Service
	// Webhooks manages outbound webhook endpoints; nil while the store
	// keeps none (the routes then answer 503).
	Webhooks *webhooks.Service
	// ClientAddr finds the address a request came from (the zero value:
	// its peer; X-Forwarded-For only from TRUSTED_PROXIES).
	ClientAddr clientaddr.Resolver
	// Stripe is nil when the installation cannot keep the integration's
	// secrets (no SECRETS_KEY on AWS); its routes then answer 503.
	Stripe *stripeint.Service
}

// Who may call a route, by the roles' names in the route table.
var (
	staff      = roles(domain.RoleAdmin, domain.RoleProgramManager)
	staffOrKey = roles(domain.RoleAdmin, domain.RoleProgramManager, domain.RoleAPIKey)
	adminOrKey = roles(domain.RoleAdmin, domain.RoleAPIKey)
	admin      = roles(domain.RoleAdmin)
	partner    = roles(domain.RolePartner)
)

// GroupRoutes returns one group's routes on a. Each group has its own, so
// that a Lambda function that serves one group references (and links) only
// that group's handlers and the services they call: see
// app.StartHTTPFunction and TestFunctionsLinkOnlyWhatTheyUse.
type GroupRoutes func(a *API) []Route

// Groups are every group's routes, in the route table's order.
func Groups() []GroupRoutes {
	return []GroupRoutes{IdentityRoutes, ProgramsRoutes, TrackingRoutes, PartnersRoutes, CommissionsRoutes, PortalRoutes, IntegrationsRoutes, AnalyticsRoutes}
}

// Routes is the route table: every route of every group, with who may call it.
func (a *API) Routes() []Route {
	var rs []Route
	for _, g := range Groups() {
		rs = append(rs, g(a)...)
	}
	return rs
}

// IdentityRoutes are the GroupIdentity group's routes (functions/identity).
func IdentityRoutes(a *API) []Route {
	return []Route{
		{GroupIdentity, "GET", "/healthz", "Liveness and store health", public(), a.healthz},
		{GroupIdentity, "GET", "/openapi.yaml", "This API's OpenAPI document", public(), a.openAPI},
		{GroupIdentity, "POST", "/v1/auth/login", "Sign in", public(), a.login},
		{GroupIdentity, "POST", "/v1/auth/logout", "Sign out", anyone(), a.logout},
		{GroupIdentity, "GET", "/v1/me", "The caller", anyone(), a.me},
		{GroupIdentity, "GET", "/v1/users", "List users", admin, a.listUsers},
		{GroupIdentity, "POST", "/v1/users", "Invite an internal user", admin, a.inviteUser},
		{GroupIdentity, "POST", "/v1/users/{id}/invitation", "Re-send a user's invitation", admin, a.resendUserInvitation},
		{GroupIdentity, "PATCH", "/v1/users/{id}", "Change a user's role, or disable the user", admin, a.patchUser},
		{GroupIdentity, "POST", "/v1/invitations/accept", "Accept an invitation", public(), a.acceptInvitation},
		{GroupIdentity, "POST", "/v1/api-keys", "Create an API key", admin, a.createAPIKey},
		{GroupIdentity, "GET", "/v1/api-keys", "List API keys", admin, a.listAPIKeys},
		{GroupIdentity, "DELETE", "/v1/api-keys/{id}", "Delete an API key", admin, a.deleteAPIKey},
		{GroupIdentity, "GET", "/v1/organization", "The organization's settings", admin, a.getOrganization},
		{GroupIdentity, "PATCH", "/v1/organization", "Change the organization's name or time zone", admin, a.patchOrganization},
		{GroupIdentity, "POST", "/v1/webhooks", "Register a webhook endpoint", admin, a.withWebhooks(a.createWebhook)},
		{GroupIdentity, "GET", "/v1/webhooks", "List webhook endpoints", admin, a.withWebhooks(a.listWebhooks)},
		{GroupIdentity, "GET", "/v1/webhooks/{id}", "Get a webhook endpoint", admin, a.withWebhooks(a.getWebhook)},
		{GroupIdentity, "PATCH", "/v1/webhooks/{id}", "Change a webhook endpoint", admin, a.withWebhooks(a.patchWebhook)},
		{GroupIdentity, "DELETE", "/v1/webhooks/{id}", "Delete a webhook endpoint", admin, a.withWebhooks(a.deleteWebhook)},
		{GroupIdentity, "POST", "/v1/webhooks/{id}/rotate-secret", "Rotate a webhook endpoint's signing secret", admin, a.withWebhooks(a.rotateWebhookSecret)},
		{GroupIdentity, "GET", "/v1/webhooks/{id}/deliveries", "A webhook endpoint's delivery log", admin, a.withWebhooks(a.listWebhookDeliveries)},
		{GroupIdentity, "POST", "/v1/webhooks/{id}/deliveries/{deliveryId}/replay", "Send a delivery again", admin, a.withWebhooks(a.replayWebhookDelivery)},
	}
}

// ProgramsRoutes are the GroupPrograms group's routes (functions/programs).
func ProgramsRoutes(a *API) []Route {
	return []Route{
		{GroupPrograms, "POST", "/v1/programs", "Create a program", staff, a.createProgram},
		{GroupPrograms, "GET", "/v1/programs", "List programs", staffOrKey, a.listPrograms},
		{GroupPrograms, "GET", "/v1/programs/{id}", "Get a program", staffOrKey, a.getProgram},
		{GroupPrograms, "PATCH", "/v1/programs/{id}", "Update a program", staff, a.patchProgram},
		{GroupPrograms, "POST", "/v1/programs/{id}/activate", "Activate a program", staff, a.transition(domain.ProgramActive)},
		{GroupPrograms, "POST", "/v1/programs/{id}/pause", "Pause a program", staff, a.transition(domain.ProgramPaused)},
		{GroupPrograms, "POST", "/v1/programs/{id}/archive", "Archive a program", staff, a.transition(domain.ProgramArchived)},
		{GroupPrograms, "POST", "/v1/programs/{id}/referrers", "Enrol a referrer", staffOrKey, a.createReferrer},
		{GroupPrograms, "GET", "/v1/programs/{id}/referrers", "List a program's referrers", staffOrKey, a.listReferrers},
		{GroupPrograms, "GET", "/v1/referrers/{id}", "Get a referrer", staffOrKey, a.getReferrer},
	}
}

// TrackingRoutes are the GroupTracking group's routes (functions/tracking).
func TrackingRoutes(a *API) []Route {
	return []Route{
		{GroupTracking, "GET", "/r/{code}", "Follow a referral link", public(), a.redirect},
		{GroupTracking, "POST", "/v1/referrals", "Submit a referred contact", adminOrKey, a.createReferral},
		{GroupTracking, "GET", "/v1/referrals", "List referrals", staffOrKey, a.listReferrals},
		{GroupTracking, "GET", "/v1/referrals/{id}", "Get a referral", staffOrKey, a.getReferral},
		{GroupTracking, "POST", "/v1/conversions", "Record a conversion", adminOrKey, a.createConversion},
		{GroupTracking, "GET", "/v1/conversions", "List conversions", staffOrKey, a.listConversions},
		{GroupTracking, "GET", "/v1/conversions/{id}", "Get a conversion", staffOrKey, a.getConversion},
	}
}

// PartnersRoutes are the GroupPartners group's routes (functions/partners).
func PartnersRoutes(a *API) []Route {
	return []Route{
		{GroupPartners, "POST", "/v1/partner-tiers", "Create a partner tier", admin, a.createTier},
		{GroupPartners, "GET", "/v1/partner-tiers", "List partner tiers", admin, a.listTiers},
		{GroupPartners, "POST", "/v1/partners", "Create a partner", admin, a.createPartner},
		{GroupPartners, "GET", "/v1/partners", "List partners", admin, a.listPartners},
		{GroupPartners, "GET", "/v1/partners/{id}", "Get a partner", admin, a.getPartner},
		{GroupPartners, "PATCH", "/v1/partners/{id}", "Update a partner", admin, a.patchPartner},
		{GroupPartners, "POST", "/v1/partners/{id}/invitation", "Invite a partner to the portal", admin, a.invitePartner},
		{GroupPartners, "DELETE", "/v1/partners/{id}/portal-access", "Revoke a partner's portal access", admin, a.revokePortalAccess},
		{GroupPartners, "POST", "/v1/partners/{id}/deactivate", "Deactivate a partner (and revoke its portal access)", admin, a.setPartnerActive(false)},
		{GroupPartners, "POST", "/v1/partners/{id}/reactivate", "Reactivate a partner", admin, a.setPartnerActive(true)},
		{GroupPartners, "POST", "/v1/deals", "Register a deal", admin, a.withDeals(a.createDeal)},
		{GroupPartners, "GET", "/v1/deals", "List deals", admin, a.withDeals(a.listDeals)},
		{GroupPartners, "GET", "/v1/deals/{id}", "Get a deal", admin, a.withDeals(a.getDeal)},
		{GroupPartners, "POST", "/v1/deals/{id}/approve", "Approve a deal", admin, a.withDeals(a.approveDeal)},
		{GroupPartners, "POST", "/v1/deals/{id}/reject", "Reject a deal", admin, a.withDeals(a.rejectDeal)},
		{GroupPartners, "POST", "/v1/deals/{id}/won", "Close a deal as won", admin, a.withDeals(a.wonDeal)},
		{GroupPartners, "POST", "/v1/deals/{id}/lost", "Close a deal as lost", admin, a.withDeals(a.lostDeal)},
	}
}

// CommissionsRoutes are the GroupCommissions group's routes (functions/commissions).
func CommissionsRoutes(a *API) []Route {
	return []Route{
		{GroupCommissions, "GET", "/v1/commissions", "List commissions", admin, a.withLedger(a.listCommissions)},
		{GroupCommissions, "GET", "/v1/commissions/export", "Export commissions as CSV", admin, a.withLedger(a.exportCommissions)},
		{GroupCommissions, "GET", "/v1/commissions/{id}", "Get a commission and its audit trail", admin, a.withLedger(a.getCommission)},
		{GroupCommissions, "POST", "/v1/commissions/approve", "Approve commissions", admin, a.withLedger(a.approveCommissions)},
		{GroupCommissions, "POST", "/v1/commissions/reject", "Reject commissions", admin, a.withLedger(a.rejectCommissions)},
		{GroupCommissions, "POST", "/v1/commissions/mark-paid", "Mark commissions paid", admin, a.withLedger(a.markCommissionsPaid)},
		{GroupCommissions, "POST", "/v1/conversions/{id}/refund", "Refund a conversion", adminOrKey, a.withLedger(a.refundConversion)},
		{GroupCommissions, "POST", "/v1/payout-runs", "Create a payout run from the approved commissions", admin, a.withPayouts(a.createPayoutRun)},
		{GroupCommissions, "GET", "/v1/payout-runs", "List payout runs", admin, a.withPayouts(a.listPayoutRuns)},
		{GroupCommissions, "GET", "/v1/payout-runs/{id}", "Get a payout run ({id}.csv: the CSV for accounts payable)", admin, a.withPayouts(a.getPayoutRun)},
		{GroupCommissions, "POST", "/v1/payout-runs/{id}/mark-paid", "Mark a payout run and its commissions paid", admin, a.withPayouts(a.markPayoutRunPaid)},
		{GroupCommissions, "POST", "/v1/payout-runs/{id}/cancel", "Cancel an open payout run", admin, a.withPayouts(a.cancelPayoutRun)},
	}
}

// PortalRoutes are the GroupPortal group's routes (functions/portal).
func PortalRoutes(a *API) []Route {
	return []Route{
		{GroupPortal, "GET", "/v1/portal/summary", "The partner's own activity and earnings", partner, a.withPortal(a.portalSummary)},
		{GroupPortal, "GET", "/v1/portal/links", "The partner's own referral links", partner, a.withPortal(a.portalLinks)},
		{GroupPortal, "GET", "/v1/portal/referrals", "Contacts referred through the partner's links", partner, a.withPortal(a.portalReferrals)},
		{GroupPortal, "GET", "/v1/portal/deals", "The partner's own registered deals", partner, a.withPortal(a.withDeals(a.portalDeals))},
		{GroupPortal, "POST", "/v1/portal/deals", "Register a deal for the partner", partner, a.withPortal(a.withDeals(a.portalRegisterDeal))},
		{GroupPortal, "GET", "/v1/portal/deals/{id}", "One of the partner's own deals", partner, a.withPortal(a.withDeals(a.portalDeal))},
		{GroupPortal, "GET", "/v1/portal/commissions", "The partner's own commissions", partner, a.withPortal(a.portalCommissions)},
		{GroupPortal, "GET", "/v1/portal/statements/{period}", "The partner's monthly statement (YYYY-MM.csv or .pdf)", partner, a.withPortal(a.portalStatement)},
		{GroupPortal, "GET", "/v1/portal/payouts", "The partner's next and past payouts", partner, a.withPortal(a.withPayouts(a.portalPayouts))},
		{GroupPortal, "GET", "/v1/portal/payout-details", "The partner's payout details (masked)", partner, a.withPortal(a.withPayouts(a.portalPayoutDetails))},
		{GroupPortal, "PUT", "/v1/portal/payout-details", "Set the partner's payout details", partner, a.withPortal(a.withPayouts(a.portalPutPayoutDetails))},
		{GroupPortal, "GET", "/v1/portal/analytics/summary", "The partner's own analytics summary", partner, a.withPortal(a.withAnalytics(a.portalAnalyticsSummary))},
		{GroupPortal, "GET", "/v1/portal/analytics/summary.csv", "The partner's own analytics summary as CSV", partner, a.withPortal(a.withAnalytics(a.portalAnalyticsSummary))},
		{GroupPortal, "GET", "/v1/portal/analytics/timeseries", "The partner's own activity over time", partner, a.withPortal(a.withAnalytics(a.portalAnalyticsTimeseries))},
		{GroupPortal, "GET", "/v1/portal/analytics/timeseries.csv", "The partner's own activity over time as CSV", partner, a.withPortal(a.withAnalytics(a.portalAnalyticsTimeseries))},
	}
}

// IntegrationsRoutes are the GroupIntegrations group's routes (functions/integrations).
func IntegrationsRoutes(a *API) []Route {
	return []Route{
		{GroupIntegrations, "PUT", "/v1/integrations/stripe", "Store the Stripe webhook signing secret", admin, a.withStripe(a.putStripe)},
		{GroupIntegrations, "DELETE", "/v1/integrations/stripe", "Remove the Stripe integration", admin, a.withStripe(a.deleteStripe)},
		{GroupIntegrations, "POST", "/v1/integrations/stripe/{organizationId}/webhook", "Receive a signed Stripe event", public(), a.withStripe(a.stripeWebhook)},
	}
}

// AnalyticsRoutes are the GroupAnalytics group's routes (functions/analytics).
func AnalyticsRoutes(a *API) []Route {
	return []Route{
		{GroupAnalytics, "GET", "/v1/analytics/summary", "Analytics summary", staff, a.withAnalytics(a.analyticsSummary)},
		{GroupAnalytics, "GET", "/v1/analytics/summary.csv", "Analytics summary as CSV", staff, a.withAnalytics(a.analyticsSummary)},
		{GroupAnalytics, "GET", "/v1/analytics/timeseries", "Analytics time series", staff, a.withAnalytics(a.analyticsTimeseries)},
		{GroupAnalytics, "GET", "/v1/analytics/timeseries.csv", "Analytics time series as CSV", staff, a.withAnalytics(a.analyticsTimeseries)},
		{GroupAnalytics, "GET", "/v1/analytics/top-referrers", "Top referrers", staff, a.withAnalytics(a.analyticsTopReferrers)},
		{GroupAnalytics, "GET", "/v1/analytics/top-referrers.csv", "Top referrers as CSV", staff, a.withAnalytics(a.analyticsTopReferrers)},
		{GroupAnalytics, "GET", "/v1/analytics/partners", "Partner contribution", staff, a.withAnalytics(a.analyticsPartners)},
		{GroupAnalytics, "GET", "/v1/analytics/partners.csv", "Partner contribution as CSV", staff, a.withAnalytics(a.analyticsPartners)},
	}
}

// Handler serves the routes of the given groups (all groups when none).
func (a *API) Handler(groups ...string) http.Handler {
	var rs []Route
	for _, rt := range a.Routes() {
		if len(groups) == 0 || slices.Contains(groups, rt.Group) {
			rs = append(rs, rt)
		}
	}
	return a.Serve(rs)
}

// Serve serves routes, with the API's middleware and problem documents
// for unmatched requests.
func (a *API) Serve(routes []Route) http.Handler {
	mux := http.NewServeMux()
	var methods []string
	for _, rt := range routes {
		mux.Handle(rt.Method+" "+rt.Pattern, a.serve(rt))
		if !slices.Contains(methods, rt.Method) {
			methods = append(methods, rt.Method)
		}
	}
	// Unmatched requests get problem documents too: 405 when the path
	// exists under another method, else 404.
	mux.HandleFunc("/", func(w http.ResponseWriter, r *http.Request) {
		for _, m := range methods {
			probe := r.Clone(r.Context())
			probe.Method = m
			if _, pattern := mux.Handler(probe); pattern != "/" {
				w.Header().Set("Allow", m)
				writeProblem(w, http.StatusMethodNotAllowed, domain.Errorf(0, "method_not_allowed", "%s is not allowed on this path", r.Method))
				return
			}
		}
		writeProblem(w, http.StatusNotFound, domain.Errorf(domain.KindNotFound, "no_route", "no such route"))
	})
	return a.middleware(mux)
}

// ctxKey keys request-scoped values.
type ctxKey int

const requestIDKey ctxKey = iota

// middleware adds a request ID, security headers, access logs and panic
// recovery around every request.
func (a *API) middleware(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		id := r.Header.Get("X-Request-Id")
		if id == "" || len(id) > 64 {
			id = newRequestID()
		}
		r = r.WithContext(context.WithValue(r.Context(), requestIDKey, id))
		h := w.Header()
		h.Set("X-Request-Id", id)
		h.Set("X-Content-Type-Options", "nosniff")
		h.Set("Referrer-Policy", "no-referrer")
		h.Set("X-Frame-Options", "DENY")
		accesslog.Serve(a.Log, w, r, next, func(w http.ResponseWriter) {
			writeProblem(w, http.StatusInternalServerError, domain.Errorf(0, "internal_error", "something went wrong on our side; it has been logged"))
		}, "requestId", id)
	})
}

func newRequestID() string {
	b := make([]byte, 8)
	_, _ = rand.Read(b)
	return hex.EncodeToString(b)
}

// serve authenticates and authorizes the caller of rt — in this one place
// for every route — then runs its handler.
func (a *API) serve(rt Route) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		caller, err := a.authorize(r, rt.Access)
		if err == nil {
			err = rt.handle(w, r, caller)
		}
		if err != nil {
			if e, ok := domain.AsError(err); ok && e.Kind == domain.KindUnauthenticated {
				w.Header().Set("WWW-Authenticate", `Bearer realm="partnerloop"`)
			}
			writeError(w, r, a.Log, err)
		}
	})
}

// authorize resolves the caller and checks the route's access rule. On a
// public route a bad or stale token is ignored rather than refused.
func (a *API) authorize(r *http.Request, access Access) (*Caller, error) {
	token := bearer(r)
	if access.Public && token == "" {
		return nil, nil
	}
	p, err := a.Identity.Authenticate(r.Context(), token)
	if err != nil {
		if access.Public {
			return nil, nil
		}
		return nil, err
	}
	if !access.allows(p.Role) {
		return nil, domain.Errorf(domain.KindForbidden, "forbidden", "your role (%s) may not do this", p.Role)
	}
	return &p, nil
}

// bearer returns the token of an "Authorization: Bearer" header.
func bearer(r *http.Request) string {
	h := r.Header.Get("Authorization")
	if len(h) > 7 && strings.EqualFold(h[:7], "bearer ") {
		return strings.TrimSpace(h[7:])
	}
	return ""
}
