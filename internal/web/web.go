// Package web is the product's server-rendered user interface: the admin
// console and (later) the partner portal. Pages call the same services as
// the JSON API (internal/httpapi); who may open a page is decided on the
// server, in the page table below, from the signed-in person's role — with
// the same rules as the API's route table.
package web

import (
	"context"
	"log/slog"
	"net/http"
	"sync"
	"time"

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
	"github.com/partnerloop/partnerloop/internal/tracking"
	"github.com/partnerloop/partnerloop/internal/web/snippet"
	"github.com/partnerloop/partnerloop/internal/webhooks"
)

// Invitations accepts portal invitations. It is the identity service's
// method (shared contract); nil while the installation has none, and the
// acceptance page then says so.
type Invitations interface {
	AcceptInvitation(ctx context.Context, token, password, clientAddr string) (sessionToken string, sess domain.Session, u domain.User, err error)
}

// Config holds the services the pages call.
type Config struct {
	Identity *identity.Service
	Programs *programs.Service
	Tracking *tracking.Service
	Partners *partners.Service
	// Ledger is nil while the store has no commission ledger; the
	// commissions page then explains that.
	Ledger      *ledger.Service
	Invitations Invitations
	// Deals is nil when the store keeps no deals; Portal is nil while the
	// store lacks the portal's queries. Their pages then say so.
	Deals  *deals.Service
	Portal *portal.Service
	// Payouts is nil while the store keeps no payout runs; the payout
	// pages then say so.
	Payouts *payouts.Service
	// Analytics is nil while the store keeps no analytics rollups; the
	// dashboards then say so.
	Analytics *analytics.Service
	// Webhooks is nil while the store keeps no webhooks (the pages say so).
	Webhooks *webhooks.Service
	// SecureCookies marks cookies Secure (everywhere but plain-http local runs).
	SecureCookies bool
	Log           *slog.Logger
	// Now is the services' clock (form defaults such as today's date).
	Now domain.Clock
	// ClientAddr finds the address a request came from, for sign-in
	// protection (the zero value: its peer).
	ClientAddr clientaddr.Resolver
}

func (s *Server) now() time.Time {
	if s.cfg.Now != nil {
		return s.cfg.Now()
	}
	return time.Now()
}

// Access says who may open a page.
type Access struct {
	Public bool          // no sign-in needed
	Roles  []domain.Role // roles allowed; any signed-in person when empty
}

func (a Access) allows(r domain.Role) bool {
	if a.Public || len(a.Roles) == 0 {
		return r != domain.RoleAPIKey
	}
	for _, x := range a.Roles {
		if x == r {
			return true
		}
	}
	return false
}

var (
	public   = Access{Public: true}
	signedIn = Access{}
	staff    = Access{Roles: []domain.Role{domain.RoleAdmin, domain.RoleProgramManager}}
	admin    = Access{Roles: []domain.Role{domain.RoleAdmin}}
	partner  = Access{Roles: []domain.Role{domain.RolePartner}}
)

// Page is one entry of the page table.
type Page struct {
	Method  string
	Pattern string
	Access  Access
	handle  func(*request) error
}

// The page groups: each is served by its own Lambda function (template.yaml
// routes its path prefixes, WebGroupPrefixes, to it; everything else reaches
// Group's function on API Gateway's $default route). Each group has its own
// page constructor, so a function links only its group's handlers, the
// templ components they render and the service methods they call: see
// functions/web*, internal/app/webfn and TestFunctionsLinkOnlyWhatTheyUse.
// The one-process server serves every group from one mux (AllGroups).
const (
	// Group: sign-in and the other public pages, assets, the dashboard,
	// programs, referrals, referrers and conversions.
	Group = "web"
	// GroupPartners: partners (and their analytics), partner tiers and
	// deals.
	GroupPartners = "web-partners"
	// GroupAdmin: analytics, settings, commissions and payouts.
	GroupAdmin = "web-admin"
	// GroupPortal: the partner portal (and its PDF statements).
	GroupPortal = "web-portal"
)

// PageGroup is one group's pages: its name and its page constructor.
type PageGroup struct {
	Name  string
	Pages func(*Server) []Page
}

// ConsoleGroup is Group's pages (functions/web).
func ConsoleGroup() PageGroup { return PageGroup{Group, consolePages} }

// PartnersGroup is GroupPartners' pages (functions/web-partners).
func PartnersGroup() PageGroup { return PageGroup{GroupPartners, partnerPages} }

// AdminGroup is GroupAdmin's pages (functions/web-admin).
func AdminGroup() PageGroup { return PageGroup{GroupAdmin, adminPages} }

// PortalGroup is GroupPortal's pages (functions/web-portal).
func PortalGroup() PageGroup { return PageGroup{GroupPortal, portalPages} }

// AllGroups are every group, in the page table's order.
func AllGroups() []PageGroup {
	return []PageGroup{ConsoleGroup(), PartnersGroup(), AdminGroup(), PortalGroup()}
}

// WebGroupPrefixes are the paths API Gateway sends to each group's function
// other than Group's (template.yaml: "ANY <prefix>" and, for a prefix
// ending in "/", "ANY <prefix>{proxy+}"). TestWebPagesAreOneGroupEach
// checks every page of a group is under its prefixes and no other group's.
var WebGroupPrefixes = map[string][]string{
	GroupPartners: {"/partners", "/partners/", "/partners.csv", "/partner-tiers", "/partner-tiers/", "/deals", "/deals/", "/deals.csv"},
	GroupAdmin:    {"/analytics", "/analytics/", "/settings/", "/commissions", "/commissions/", "/commissions.csv", "/payouts", "/payouts/"},
	GroupPortal:   {"/portal", "/portal/"},
}

// Pages is the page table of the server's groups: every page and form
// target, with who may use it.
func (s *Server) Pages() []Page {
	var ps []Page
	for _, g := range s.groups {
		ps = append(ps, g.Pages(s)...)
	}
	return ps
}

func consolePages(s *Server) []Page {
	return []Page{
		{"GET", "/assets/{file}", public, s.asset},
		// The landing-page snippet, loaded by organizations' own sites.
		{"GET", "/js/{file}", public, func(rq *request) error { snippet.Serve(rq.w, rq.r, rq.r.PathValue("file")); return nil }},
		{"GET", "/theme.css", public, s.theme},
		{"GET", "/login", public, s.loginPage},
		{"POST", "/login", public, s.login},
		{"POST", "/logout", signedIn, s.logout},
		{"GET", "/accept-invitation", public, s.acceptPage},
		{"POST", "/accept-invitation", public, s.accept},
		{"GET", "/forgot-password", public, s.forgotPage},
		{"POST", "/forgot-password", public, s.forgot},
		{"GET", identity.ResetPath, public, s.acceptPage}, // a reset link is an invitation of an active user
		{"POST", identity.ResetPath, public, s.accept},

		{"GET", "/{$}", signedIn, s.dashboard},
		{"GET", "/programs", staff, s.programList},
		{"GET", "/programs/new", staff, s.programNew},
		{"POST", "/programs", staff, s.programCreate},
		{"GET", "/programs/{id}", staff, s.programShow},
		{"GET", "/programs/{id}/edit", staff, s.programEdit},
		{"POST", "/programs/{id}", staff, s.programUpdate},
		{"POST", "/programs/{id}/status", staff, s.programTransition},
		{"POST", "/programs/{id}/referrers", staff, s.referrerCreate},
		{"GET", "/referrals", staff, s.referralList},
		{"GET", "/referrals.csv", staff, s.referralExport},
		{"GET", "/referrers", staff, s.referrerList},
		{"GET", "/referrers.csv", staff, s.referrerExport},
		{"GET", "/conversions", staff, s.conversionList},
		{"GET", "/conversions.csv", staff, s.conversionExport},
		{"POST", "/conversions/{id}/refund", admin, s.conversionRefund},

		{"GET", "/logo/{org}/{version}", public, s.logo}, // public by its unguessable version: see logoPath
	}
}

func partnerPages(s *Server) []Page {
	return []Page{
		// Analytics of partners: staff, as the API's /v1/analytics/partners.
		{"GET", "/partners/analytics", staff, s.partnerAnalytics},
		{"GET", "/partners", admin, s.partnerList},
		{"GET", "/partners.csv", admin, s.partnerExport},
		{"GET", "/partners/new", admin, s.partnerNew},
		{"POST", "/partners", admin, s.partnerCreate},
		{"GET", "/partners/{id}", admin, s.partnerShow},
		{"POST", "/partners/{id}", admin, s.partnerUpdate},

		{"GET", "/partner-tiers", admin, s.tierList},
		{"POST", "/partner-tiers", admin, s.tierCreate},
		{"GET", "/partner-tiers/{id}", admin, s.tierEdit},
		{"POST", "/partner-tiers/{id}", admin, s.tierUpdate},
		{"POST", "/partners/{id}/invitation", admin, s.partnerInvite},
		{"GET", "/partners/{id}/revoke", admin, s.partnerRevokeConfirm},
		{"POST", "/partners/{id}/revoke", admin, s.partnerRevoke},
		{"POST", "/partners/{id}/deactivate", admin, s.partnerSetActive(false)},
		{"POST", "/partners/{id}/reactivate", admin, s.partnerSetActive(true)},

		{"GET", "/deals", admin, s.dealList},
		{"GET", "/deals.csv", admin, s.dealExport},
		{"POST", "/deals", admin, s.dealCreate},
		{"GET", "/deals/{id}", admin, s.dealShow},
		{"POST", "/deals/{id}/{action}", admin, s.dealAction},
	}
}

func adminPages(s *Server) []Page {
	return []Page{
		// Analytics: staff, as the API's /v1/analytics/* routes.
		{"GET", "/analytics", staff, s.referralAnalytics},
		{"GET", "/analytics/summary.csv", staff, s.analyticsCSV("summary")},
		{"GET", "/analytics/timeseries.csv", staff, s.analyticsCSV("timeseries")},
		{"GET", "/analytics/top-referrers.csv", staff, s.analyticsCSV("top-referrers")},
		{"GET", "/analytics/partners.csv", staff, s.analyticsCSV("partners")},

		{"GET", "/settings/users", admin, s.userList},
		{"POST", "/settings/users", admin, s.userInvite},
		{"POST", "/settings/users/{id}/invitation", admin, s.userResend},
		{"POST", "/settings/users/{id}/{action}", admin, s.userUpdate}, // role, disable
		{"GET", "/settings/api-keys", admin, s.apiKeyList},
		{"POST", "/settings/api-keys", admin, s.apiKeyCreate},
		{"POST", "/settings/api-keys/{id}/revoke", admin, s.apiKeyRevoke},
		{"GET", "/settings/organization", admin, s.organizationPage},
		{"POST", "/settings/organization", admin, s.organizationUpdate},
		{"POST", logoUploadPath, admin, s.logoUpload},
		{"POST", logoUploadPath + "/remove", admin, s.logoRemove},
		{"GET", "/settings/webhooks", admin, s.webhookList},
		{"POST", "/settings/webhooks", admin, s.webhookCreate},
		{"GET", "/settings/webhooks/{id}", admin, s.webhookShow},
		{"POST", "/settings/webhooks/{id}/{action}", admin, s.webhookAction},
		{"POST", "/settings/webhooks/{id}/deliveries/{deliveryId}/replay", admin, s.webhookReplay},

		{"GET", "/commissions", admin, s.commissionList},
		{"POST", "/commissions/bulk", admin, s.commissionBulk},
		{"POST", "/commissions/approve-matching", admin, s.commissionApproveMatching},
		{"GET", "/commissions.csv", admin, s.commissionExport},
		{"GET", "/payouts", admin, s.payoutList},
		{"POST", "/payouts", admin, s.payoutCreate},
		{"GET", "/payouts/{id}", admin, s.payoutShow},
		{"GET", "/payouts/{id}/export", admin, s.payoutExport},
		{"POST", "/payouts/{id}/{action}", admin, s.payoutAction},
	}
}

func portalPages(s *Server) []Page {
	return []Page{
		{"GET", "/portal", partner, s.portalHome},
		{"GET", "/portal/links", partner, s.portalLinks},
		{"GET", "/portal/referrals", partner, s.portalReferrals},
		{"GET", "/portal/deals", partner, s.portalDeals},
		{"POST", "/portal/deals", partner, s.portalRegisterDeal},
		{"GET", "/portal/deals/{id}", partner, s.portalDeal},
		{"GET", "/portal/earnings", partner, s.portalEarnings},
		{"GET", "/portal/statements/{file}", partner, s.portalStatement},
		{"GET", "/portal/payouts", partner, s.portalPayouts},
		{"POST", "/portal/payouts/details", partner, s.portalPayoutDetails},
	}
}

// Server serves the pages.
type Server struct {
	cfg     Config
	groups  []PageGroup
	mu      sync.Mutex
	zones   map[string]*time.Location // by name; see zoneOf
	handler http.Handler
}

// New builds the web handler serving groups' pages (and a "page not found"
// page at every other path).
func New(c Config, groups ...PageGroup) *Server {
	if c.Log == nil {
		c.Log = slog.New(slog.DiscardHandler)
	}
	s := &Server{cfg: c, groups: groups}
	mux := http.NewServeMux()
	for _, p := range s.Pages() {
		mux.Handle(p.Method+" "+p.Pattern, s.serve(p))
	}
	mux.Handle("/", s.serve(Page{"", "/", public, func(rq *request) error {
		return s.errorPage(rq, http.StatusNotFound, "Page not found", "There is no page at this address.")
	}}))
	s.handler = s.middleware(mux)
	return s
}

func (s *Server) ServeHTTP(w http.ResponseWriter, r *http.Request) { s.handler.ServeHTTP(w, r) }

// contentSecurityPolicy allows nothing inline and nothing from elsewhere:
// scripts and styles are files served from /assets.
const contentSecurityPolicy = "default-src 'self'; script-src 'self'; style-src 'self'; img-src 'self' data:; " +
	"connect-src 'self'; form-action 'self'; frame-ancestors 'none'; base-uri 'none'; object-src 'none'"

// middleware sets the security headers, logs every request and turns a
// panic into a 500 page.
func (s *Server) middleware(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		h := w.Header()
		h.Set("Content-Security-Policy", contentSecurityPolicy)
		h.Set("X-Content-Type-Options", "nosniff")
		h.Set("Referrer-Policy", "no-referrer")
		h.Set("X-Frame-Options", "DENY")
		accesslog.Serve(s.cfg.Log, w, r, next, func(w http.ResponseWriter) {
			http.Error(w, "Something went wrong on our side; it has been logged.", http.StatusInternalServerError)
		})
	})
}
