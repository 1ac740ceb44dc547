// Package app wires the product together from configuration: the store
// adapter, the services and the HTTP API. The Lambda functions and the local
// one-process server both start here, so they run the same code.
package app

import (
	"context"
	"fmt"
	"log/slog"
	"net/http"
	"net/url"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"time"

	"github.com/aws/aws-sdk-go-v2/service/dynamodb"

	"github.com/partnerloop/partnerloop/internal/awsenv"
	"github.com/partnerloop/partnerloop/internal/deals"
	"github.com/partnerloop/partnerloop/internal/domain"
	"github.com/partnerloop/partnerloop/internal/httpapi"
	"github.com/partnerloop/partnerloop/internal/identity"
	"github.com/partnerloop/partnerloop/internal/ledger"
	"github.com/partnerloop/partnerloop/internal/partners"
	"github.com/partnerloop/partnerloop/internal/portal"
	"github.com/partnerloop/partnerloop/internal/programs"
	"github.com/partnerloop/partnerloop/internal/store"
	"github.com/partnerloop/partnerloop/internal/store/dynamo"
	"github.com/partnerloop/partnerloop/internal/store/sqlite"
	"github.com/partnerloop/partnerloop/internal/tracking"
	"github.com/partnerloop/partnerloop/internal/web"
)

// Config is read from the environment; see ConfigFromEnv for the names.
type Config struct {
	Port              int
	DataDir           string
	PublicBaseURL     string
	Store             string // "sqlite" or "dynamodb"
	TableName         string // DynamoDB table (STORE=dynamodb)
	BootstrapEmail    string
	BootstrapPassword string
	OrgName           string
	LogLevel          slog.Level
	// DealExclusivityDays is how long a partner's deal registration keeps
	// other parties off its customer (DEAL_EXCLUSIVITY_DAYS, default 90).
	DealExclusivityDays int
	// DealCurrency is the currency of a deal value given as bare minor
	// units (DEAL_CURRENCY, default USD).
	DealCurrency string
}

// ConfigFromEnv reads PORT, DATA_DIR, PUBLIC_BASE_URL, STORE, TABLE_NAME,
// BOOTSTRAP_ADMIN_EMAIL, BOOTSTRAP_ADMIN_PASSWORD, ORG_NAME, LOG_LEVEL,
// DEAL_EXCLUSIVITY_DAYS and DEAL_CURRENCY,
// with defaults for the local embedded mode. It fails on values it cannot
// use rather than guessing.
func ConfigFromEnv(getenv func(string) string) (Config, error) {
	get := func(name, def string) string {
		if v := strings.TrimSpace(getenv(name)); v != "" {
			return v
		}
		return def
	}
	c := Config{
		DataDir:           get("DATA_DIR", ".data"),
		Store:             get("STORE", "sqlite"),
		BootstrapEmail:    get("BOOTSTRAP_ADMIN_EMAIL", "admin@example.com"),
		BootstrapPassword: getenv("BOOTSTRAP_ADMIN_PASSWORD"),
		OrgName:           get("ORG_NAME", "My Company"),
		TableName:         get("TABLE_NAME", ""),
		DealCurrency:      get("DEAL_CURRENCY", deals.DefaultCurrency),
	}
	port, err := strconv.Atoi(get("PORT", "3000"))
	if err != nil || port < 0 || port > 65535 {
		return c, fmt.Errorf("PORT=%q is not a port number", getenv("PORT"))
	}
	c.Port = port
	c.PublicBaseURL = strings.TrimRight(get("PUBLIC_BASE_URL", fmt.Sprintf("http://localhost:%d", port)), "/")
	if u, err := url.Parse(c.PublicBaseURL); err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" {
		return c, fmt.Errorf("PUBLIC_BASE_URL=%q must be an absolute http(s) URL", c.PublicBaseURL)
	}
	if err := c.LogLevel.UnmarshalText([]byte(get("LOG_LEVEL", "INFO"))); err != nil {
		return c, fmt.Errorf("LOG_LEVEL: %w", err)
	}
	days, err := strconv.Atoi(get("DEAL_EXCLUSIVITY_DAYS", "90"))
	if err != nil || days < 1 || days > MaxDealExclusivityDays {
		return c, fmt.Errorf("DEAL_EXCLUSIVITY_DAYS=%q must be a whole number of days from 1 to %d", getenv("DEAL_EXCLUSIVITY_DAYS"), MaxDealExclusivityDays)
	}
	c.DealExclusivityDays = days
	if !domain.ValidCurrency(c.DealCurrency) {
		return c, fmt.Errorf("DEAL_CURRENCY=%q must be an ISO 4217 code such as USD", c.DealCurrency)
	}
	if c.Store != "sqlite" && c.Store != "dynamodb" {
		return c, fmt.Errorf("STORE=%q: use sqlite or dynamodb", c.Store)
	}
	if c.Store == "dynamodb" && c.TableName == "" {
		return c, fmt.Errorf("STORE=dynamodb needs TABLE_NAME")
	}
	return c, nil
}

// MaxDealExclusivityDays bounds DEAL_EXCLUSIVITY_DAYS (ten years).
const MaxDealExclusivityDays = 3650

// App is the wired product.
type App struct {
	Config   Config
	Store    store.Store
	Identity *identity.Service
	Programs *programs.Service
	Tracking *tracking.Service
	Partners *partners.Service
	Deals    *deals.Service // nil when the store keeps no deals
	API      *httpapi.API
	// Web is the server-rendered UI (the web function's handler).
	Web *web.Server
	Log *slog.Logger
}

// OpenStore opens the store the configuration names. For DynamoDB the AWS
// configuration comes from the environment through awsenv (which fails
// closed); against local emulators the table is created when missing, on
// AWS it is the template's.
func OpenStore(ctx context.Context, c Config, getenv func(string) string, environ []string) (store.Store, error) {
	switch c.Store {
	case "sqlite":
		if err := os.MkdirAll(c.DataDir, 0o700); err != nil {
			return nil, fmt.Errorf("DATA_DIR: %w", err)
		}
		return sqlite.Open(filepath.Join(c.DataDir, "partnerloop.db"))
	case "dynamodb":
		awsCfg, settings, err := awsenv.Load(ctx, getenv, environ)
		if err != nil {
			return nil, err
		}
		client := dynamodb.NewFromConfig(awsCfg)
		if settings.Local() {
			if err := dynamo.CreateTable(ctx, client, c.TableName); err != nil {
				return nil, err
			}
		}
		return dynamo.New(client, c.TableName), nil
	}
	return nil, fmt.Errorf("STORE=%s is not a store", c.Store)
}

// New wires services and the API on an open store.
func New(c Config, st store.Store, now domain.Clock, ids domain.IDs, log *slog.Logger) *App {
	a := &App{Config: c, Store: st, Log: log}
	a.Identity = identity.New(st, now, ids)
	a.Partners = partners.New(st, now, ids)
	a.Programs = programs.New(st, now, ids, c.PublicBaseURL, programs.WithPartners(a.Partners))
	a.Tracking = tracking.New(st, now, ids)
	a.Deals = NewDeals(c, st, now, ids)
	var led *ledger.Service // nil (routes answer 503) until the store implements store.Ledger
	if l, ok := st.(store.Ledger); ok {
		led = ledger.New(st, l, now)
	}
	var portalSvc *portal.Service // nil (routes answer 503) until the store has the portal's queries
	if ps, ok := st.(portal.Store); ok {
		portalSvc = portal.New(ps, now, a.Programs.Link)
	}
	a.API = &httpapi.API{
		Identity: a.Identity, Programs: a.Programs, Tracking: a.Tracking, Partners: a.Partners, Deals: a.Deals, Ledger: led, Portal: portalSvc, Log: log,
		SecureCookies: strings.HasPrefix(c.PublicBaseURL, "https://"),
		Health: func(ctx context.Context) error {
			if p, ok := st.(interface{ Ping(context.Context) error }); ok {
				return p.Ping(ctx)
			}
			return nil
		},
	}
	a.Web = web.New(web.Config{
		Identity: a.Identity, Programs: a.Programs, Tracking: a.Tracking, Partners: a.Partners, Ledger: led,
		SecureCookies: a.API.SecureCookies, Log: log, Now: now,
	})
	return a
}

// NewDeals returns the deals service on st, nil when st keeps no deals.
// Registrations are not rate limited here: the store-backed
// internal/ratelimit.Limiter is given with deals.WithLimiter where the
// invitations work wires it (the deals service needs only its Allow).
func NewDeals(c Config, st store.Store, now domain.Clock, ids domain.IDs) *deals.Service {
	ds, ok := st.(deals.Store)
	if !ok {
		return nil
	}
	return deals.New(ds, now, ids,
		deals.WithExclusivity(time.Duration(c.DealExclusivityDays)*24*time.Hour), deals.WithCurrency(c.DealCurrency))
}

// apiPrefixes are the paths the API serves in the one-process server;
// every other path is the web UI's (on AWS: API Gateway's $default route).
var apiPrefixes = []string{"/v1/", "/r/", "/_dev/"}

// IsAPIPath reports whether the API (not the web UI) serves path.
func IsAPIPath(path string) bool {
	if path == "/healthz" || path == "/openapi.yaml" {
		return true
	}
	for _, p := range apiPrefixes {
		if strings.HasPrefix(path, p) {
			return true
		}
	}
	return false
}

// Handler is the one-process server's handler: the API's paths to the API
// (every group), everything else to the web UI.
func (a *App) Handler() http.Handler {
	api, ui := a.API.Handler(), a.Web
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if IsAPIPath(r.URL.Path) {
			api.ServeHTTP(w, r)
			return
		}
		ui.ServeHTTP(w, r)
	})
}

// NewLogger returns the JSON logger every process uses, tagged with the
// function (or "local") it runs as.
func NewLogger(c Config, function string) *slog.Logger {
	h := slog.NewJSONHandler(os.Stderr, &slog.HandlerOptions{Level: c.LogLevel})
	return slog.New(h).With("function", function)
}
