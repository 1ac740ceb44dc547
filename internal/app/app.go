// Package app wires the product together from configuration: the store
// adapter, the services and the HTTP API. The Lambda functions and the local
// one-process server both start here, so they run the same code.
package app

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"net/http"
	"net/url"
	"os"
	"strconv"
	"strings"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb"
	"github.com/aws/aws-sdk-go-v2/service/dynamodbstreams"

	"github.com/partnerloop/partnerloop/internal/analytics"
	"github.com/partnerloop/partnerloop/internal/awsenv"
	"github.com/partnerloop/partnerloop/internal/clientaddr"
	"github.com/partnerloop/partnerloop/internal/deals"
	"github.com/partnerloop/partnerloop/internal/domain"
	"github.com/partnerloop/partnerloop/internal/httpapi"
	"github.com/partnerloop/partnerloop/internal/identity"
	"github.com/partnerloop/partnerloop/internal/ledger"
	"github.com/partnerloop/partnerloop/internal/mail"
	"github.com/partnerloop/partnerloop/internal/partners"
	"github.com/partnerloop/partnerloop/internal/payouts"
	"github.com/partnerloop/partnerloop/internal/portal"
	"github.com/partnerloop/partnerloop/internal/programs"
	"github.com/partnerloop/partnerloop/internal/ratelimit"
	"github.com/partnerloop/partnerloop/internal/secretbox"
	"github.com/partnerloop/partnerloop/internal/store"
	"github.com/partnerloop/partnerloop/internal/store/dynamo"
	"github.com/partnerloop/partnerloop/internal/stripeint"
	"github.com/partnerloop/partnerloop/internal/tracking"
	"github.com/partnerloop/partnerloop/internal/webhooks"
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
	MailFrom          string // sender of the platform's email
	LogLevel          slog.Level
	// DealExclusivityDays is how long a partner's deal registration keeps
	// other parties off its customer (DEAL_EXCLUSIVITY_DAYS, default 90).
	DealExclusivityDays int
	// DealCurrency is the currency of a deal value given as bare minor
	// units (DEAL_CURRENCY, default USD).
	DealCurrency string
	// Addr is where the one-process server listens (host:port): loopback
	// unless HOST or ADDR says otherwise.
	Addr string
	// SMTP is the embedded server's mail relay (SMTP_*); without a host,
	// mail goes to the in-memory development mailbox.
	SMTP mail.SMTPConfig
	// TrustedProxies are the reverse proxies whose X-Forwarded-For says
	// the client's address (TRUSTED_PROXIES, addresses or CIDR prefixes,
	// comma-separated; default none: the peer is the client).
	TrustedProxies clientaddr.Resolver
	// SecretsKey encrypts the secrets the product reads back (an
	// organization's Stripe webhook signing secret): SECRETS_KEY, base64 of
	// 32 bytes. Without it the embedded server keeps a generated key in
	// DATA_DIR/secrets.key; on AWS (STORE=dynamodb) the integrations are
	// then unavailable (503).
	SecretsKey []byte
	// WebhookAllowPrivate (WEBHOOK_ALLOW_PRIVATE=true) lets webhook
	// endpoints target private and loopback addresses.
	WebhookAllowPrivate bool
}

// DefaultMailFrom is the sender for local use; on AWS set MAIL_FROM to an
// address or domain verified in SES.
const DefaultMailFrom = "PartnerLoop <noreply@partnerloop.localhost>"

// ConfigFromEnv reads HOST, PORT, ADDR, DATA_DIR, PUBLIC_BASE_URL, STORE, TABLE_NAME, SECRETS_KEY,
// BOOTSTRAP_ADMIN_EMAIL, BOOTSTRAP_ADMIN_PASSWORD, ORG_NAME, MAIL_FROM, the SMTP_*
// settings (see smtpFromEnv), LOG_LEVEL, DEAL_EXCLUSIVITY_DAYS, DEAL_CURRENCY and
// TRUSTED_PROXIES,
// with defaults for the local embedded mode. It fails on values it cannot
// use rather than guessing.
func ConfigFromEnv(getenv func(string) string) (Config, error) {
	c, err := configFromEnv(getenv)
	if err == nil && c.SMTP.Host != "" {
		if _, err := mail.NewSMTP(c.SMTP, c.MailFrom); err != nil {
			return c, fmt.Errorf("SMTP settings: %w", err)
		}
	}
	return c, err
}

// configFromEnv is ConfigFromEnv without building the SMTP client to check
// its settings: what the Lambda functions read (they refuse SMTP_HOST, as
// their store is DynamoDB), so they do not link the SMTP library.
func configFromEnv(getenv func(string) string) (Config, error) {
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
		MailFrom:          get("MAIL_FROM", DefaultMailFrom),
	}
	if _, err := mail.NewMailbox(c.MailFrom, nil, 1); err != nil {
		return c, fmt.Errorf("MAIL_FROM=%q: %w", c.MailFrom, err)
	}
	addr, port, err := listenAddr(get)
	if err != nil {
		return c, err
	}
	c.Addr, c.Port = addr, port
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
	c.WebhookAllowPrivate = getenv("WEBHOOK_ALLOW_PRIVATE") == "true"
	if c.TrustedProxies, err = clientaddr.Parse(getenv("TRUSTED_PROXIES")); err != nil {
		return c, fmt.Errorf("TRUSTED_PROXIES: %w", err)
	}
	if k := strings.TrimSpace(getenv("SECRETS_KEY")); k != "" {
		if c.SecretsKey, err = secretbox.ParseKey(k); err != nil {
			return c, fmt.Errorf("SECRETS_KEY: %w", err)
		}
	}
	if c.Store != "sqlite" && c.Store != "dynamodb" {
		return c, fmt.Errorf("STORE=%q: use sqlite or dynamodb", c.Store)
	}
	if c.Store == "dynamodb" && c.TableName == "" {
		return c, fmt.Errorf("STORE=dynamodb needs TABLE_NAME")
	}
	if c.SMTP, err = smtpFromEnv(getenv, get); err != nil {
		return c, err
	}
	if c.SMTP.Host != "" {
		switch {
		case c.Store != "sqlite":
			return c, fmt.Errorf("SMTP_HOST is for the embedded server (STORE=sqlite); with STORE=%s mail goes through SES", c.Store)
		case strings.TrimSpace(getenv("MAIL_FROM")) == "":
			return c, fmt.Errorf("SMTP_HOST is set: set MAIL_FROM to the sender your SMTP server may send as (the default %q is for development)", DefaultMailFrom)
		}
	}
	return c, nil
}

// DefaultHost is the interface the one-process server listens on when
// neither HOST nor ADDR names one: loopback, so a server started for
// development is not reachable from the network by accident.
const DefaultHost = "127.0.0.1"

// listenAddr reads the server's address: ADDR (host:port, e.g.
// 0.0.0.0:3000), or HOST (default loopback) and PORT (default 3000). ADDR
// together with a HOST, or with a PORT that names another port, is refused
// rather than guessed at.
func listenAddr(get func(name, def string) string) (addr string, port int, err error) {
	portText := get("PORT", "")
	if portText != "" {
		if port, err = strconv.Atoi(portText); err != nil || port < 0 || port > 65535 {
			return "", 0, fmt.Errorf("PORT=%q is not a port number", portText)
		}
	}
	if a := get("ADDR", ""); a != "" {
		host, p, err := net.SplitHostPort(a)
		n, perr := strconv.Atoi(p)
		switch {
		case err != nil || perr != nil || n < 0 || n > 65535:
			return "", 0, fmt.Errorf("ADDR=%q must be host:port, e.g. 0.0.0.0:3000 or 127.0.0.1:3000", a)
		case get("HOST", "") != "":
			return "", 0, fmt.Errorf("set either ADDR=%q or HOST, not both", a)
		case portText != "" && port != n:
			return "", 0, fmt.Errorf("ADDR=%q and PORT=%s name different ports; set one", a, portText)
		}
		return net.JoinHostPort(host, p), n, nil
	}
	if portText == "" {
		port = 3000
	}
	host := get("HOST", DefaultHost)
	if strings.ContainsAny(host, " /:[]") && net.ParseIP(host) == nil {
		return "", 0, fmt.Errorf("HOST=%q must be a host name or IP address", host)
	}
	return net.JoinHostPort(host, strconv.Itoa(port)), port, nil
}

// smtpFromEnv reads SMTP_HOST, SMTP_PORT (default by mode: 587, 465, 25),
// SMTP_TLS (starttls, the default; tls; none), SMTP_USERNAME,
// SMTP_PASSWORD and SMTP_CA_FILE. Any of them without SMTP_HOST is
// refused: a half-configured relay must not silently fall back to the
// development mailbox.
func smtpFromEnv(getenv func(string) string, get func(name, def string) string) (mail.SMTPConfig, error) {
	c := mail.SMTPConfig{
		Host:     get("SMTP_HOST", ""),
		Username: get("SMTP_USERNAME", ""),
		Password: getenv("SMTP_PASSWORD"),
		TLS:      mail.SMTPTLS(strings.ToLower(get("SMTP_TLS", ""))),
		CAFile:   get("SMTP_CA_FILE", ""),
	}
	if p := get("SMTP_PORT", ""); p != "" {
		n, err := strconv.Atoi(p)
		if err != nil || n < 1 || n > 65535 {
			return c, fmt.Errorf("SMTP_PORT=%q is not a port number", p)
		}
		c.Port = n
	}
	if c.Host == "" {
		for _, name := range []string{"SMTP_PORT", "SMTP_TLS", "SMTP_USERNAME", "SMTP_PASSWORD", "SMTP_CA_FILE"} {
			if getenv(name) != "" {
				return c, fmt.Errorf("%s is set but SMTP_HOST is not: set SMTP_HOST to send mail over SMTP, or unset %s", name, name)
			}
		}
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
	// Analytics is nil when the store keeps no analytics rollups; Rollup
	// is the job that keeps them current (run by a ticker in the
	// one-process server, on a schedule on AWS).
	Analytics *analytics.Service
	Rollup    *analytics.Rollup
	API       *httpapi.API
	Log       *slog.Logger
	// Stripe records conversions from Stripe events; nil when there is no
	// key to seal the organizations' secrets with (see Config.SecretsKey).
	Stripe *stripeint.Service
	// Web is the server-rendered UI (the web function's handler), an
	// *internal/web.Server wired by internal/app/webui when a program
	// imports it (see RegisterWebUI); nil otherwise.
	Web WebUI
	// Mail sends the platform's email; Mailbox is set when it is the
	// development mailbox (no SMTP server configured; served to admins at
	// /_dev/mail by the local server).
	Mail    mail.Mailer
	Mailbox *mail.Mailbox
	// Webhooks manages endpoints and Dispatcher delivers events to them;
	// both nil when the store keeps no webhooks or no secrets key opens.
	Webhooks   *webhooks.Service
	Dispatcher *webhooks.Dispatcher
	// Ledger, Portal and Payouts are nil while the store cannot back them
	// (their routes then answer 503).
	Ledger  *ledger.Service
	Portal  *portal.Service
	Payouts *payouts.Service

	now domain.Clock
}

// Now is the clock the app was wired with.
func (a *App) Now() domain.Clock { return a.now }

// Option adjusts the wiring of New.
type Option func(*App)

// WithMailer sends email through m instead of an in-memory mailbox.
func WithMailer(m mail.Mailer) Option {
	return func(a *App) { a.Mail = m }
}

// WebUI is what the processes use of the web UI (internal/web.Server).
// Package app does not import internal/web: the API functions would link
// (and initialise) its pages and money formatting.
type WebUI interface {
	http.Handler
	// AdminOnly serves h to signed-in admins only.
	AdminOnly(h http.Handler) http.Handler
}

// newWebUI wires the web UI's page groups named (every group when none is)
// on a; set by RegisterWebUI.
var newWebUI func(a *App, groups ...string) WebUI

// RegisterWebUI makes New wire App.Web with f (every page group).
// internal/app/webui calls it from its init, so the programs that serve the
// whole UI import that package (as image formats register with package
// image).
func RegisterWebUI(f func(a *App, groups ...string) WebUI) { newWebUI = f }

// NewSES returns the SES (v2 API) mailer for cfg and sender from:
// internal/mail/sesmail.NewMailer. It is passed in by the programs that
// send mail, so that the functions that send none do not link the SES
// client.
type NewSES func(cfg aws.Config, from string) (mail.Mailer, error)

// OpenMailer returns the mailer the configuration names: SMTP when
// SMTP_HOST is set, else the in-memory development Mailbox with the
// embedded store, and SES (v2 API, newSES) with DynamoDB. SES takes
// its configuration from awsenv, so a local endpoint
// (AWS_ENDPOINT_URL_SESV2, as the AWS-local mode sets for
// aws-ses-v2-local) needs local credentials like every other override.
func OpenMailer(ctx context.Context, c Config, now domain.Clock, getenv func(string) string, environ []string, newSES NewSES) (mail.Mailer, error) {
	if c.SMTP.Host != "" {
		return mail.NewSMTP(c.SMTP, c.MailFrom)
	}
	if c.Store != "dynamodb" {
		return mail.NewMailbox(c.MailFrom, now, 0)
	}
	return openSES(ctx, c, getenv, environ, newSES)
}

// openSES is OpenMailer with DynamoDB: the Lambda functions' mailer.
func openSES(ctx context.Context, c Config, getenv func(string) string, environ []string, newSES NewSES) (mail.Mailer, error) {
	if newSES == nil {
		return nil, errors.New("this program was built without a mailer (pass sesmail.NewMailer)")
	}
	awsCfg, _, err := awsenv.Load(ctx, getenv, environ)
	if err != nil {
		return nil, err
	}
	return newSES(awsCfg, c.MailFrom)
}

// OpenStore opens the DynamoDB store the configuration names; the AWS
// configuration comes from the environment through awsenv (which fails
// closed); against local emulators the table is created when missing, on
// AWS it is the template's. The embedded SQLite store (STORE=sqlite) is
// opened by the one-process server itself (infra/local), so that no
// Lambda function links the SQLite engine.
func OpenStore(ctx context.Context, c Config, getenv func(string) string, environ []string) (store.Store, error) {
	switch c.Store {
	case "sqlite":
		return nil, fmt.Errorf("STORE=sqlite is the one-process server's (infra/local); a Lambda function needs STORE=dynamodb")
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
		// The analytics rollup reads the table's stream itself.
		return dynamo.New(client, c.TableName, dynamo.WithStreams(dynamodbstreams.NewFromConfig(awsCfg), 0)), nil
	}
	return nil, fmt.Errorf("STORE=%s is not a store", c.Store)
}

// New wires services and the API on an open store. Without WithMailer,
// email goes to an in-memory Mailbox.
func New(c Config, st store.Store, now domain.Clock, ids domain.IDs, log *slog.Logger, opts ...Option) *App {
	a := &App{Config: c, Store: st, Log: log}
	for _, o := range opts {
		o(a)
	}
	if a.Mail == nil {
		box, err := mail.NewMailbox(c.MailFrom, now, 0)
		if err != nil { // ConfigFromEnv checked the sender
			panic(err)
		}
		a.Mail = box
	}
	a.Mailbox, _ = a.Mail.(*mail.Mailbox)
	a.Identity = identity.New(st, now, ids, identity.WithMail(a.Mail, c.PublicBaseURL))
	a.Partners = partners.New(st, now, ids)
	a.Tracking = tracking.New(st, now, ids)
	a.Programs = programs.New(st, now, ids, c.PublicBaseURL, programs.WithPartners(a.Partners), programs.WithOnChange(a.Tracking.Forget))
	a.Deals = NewDeals(c, st, now, ids)
	var led *ledger.Service // nil (routes answer 503) until the store implements store.Ledger
	if l, ok := st.(store.Ledger); ok {
		led = ledger.New(st, l, now)
	}
	var portalSvc *portal.Service // nil (routes answer 503) until the store has the portal's queries
	if ps, ok := st.(portal.Store); ok {
		portalSvc = portal.New(ps, now, a.Programs.Link)
	}
	var payoutSvc *payouts.Service // nil (routes answer 503) until the store keeps payout runs
	if ps, ok := st.(payouts.Store); ok {
		// Payout details are kept sealed: without a key, runs still work
		// but details (and a run's CSV) answer 503.
		box, err := OpenSecretBox(c)
		if err != nil {
			log.Error("payout details unavailable: no secrets key", "err", err)
		}
		payoutSvc = payouts.New(ps, now, ids, box)
	}
	var analyticsSvc *analytics.Service // nil (routes answer 503) while the store keeps no rollups
	if as, ok := st.(analytics.Store); ok {
		analyticsSvc = analytics.NewService(as, now)
		a.Rollup = &analytics.Rollup{Store: as, Now: now, Log: log.With("job", "analytics-rollup")}
		if c.Store == "dynamodb" {
			// A run writes each cell it touches once, whatever the number
			// of changes folded: larger runs write less (docs/dynamodb.md).
			a.Rollup.Batch = 10_000
		}
	}
	a.Analytics = analyticsSvc
	a.Stripe = newStripe(c, st, led, a.Tracking, now, log)
	a.Webhooks, a.Dispatcher = newWebhooks(c, st, now, ids, a.Mail, log)
	a.API = &httpapi.API{
		Identity: a.Identity, Programs: a.Programs, Tracking: a.Tracking, Partners: a.Partners, Deals: a.Deals, Ledger: led, Portal: portalSvc,
		Payouts: payoutSvc, Analytics: analyticsSvc, Log: log, Stripe: a.Stripe, Webhooks: a.Webhooks,
		SecureCookies: strings.HasPrefix(c.PublicBaseURL, "https://"), ClientAddr: c.TrustedProxies,
		Health: func(ctx context.Context) error {
			if p, ok := st.(interface{ Ping(context.Context) error }); ok {
				return p.Ping(ctx)
			}
			return nil
		},
	}
	a.Ledger, a.Portal, a.Payouts, a.now = led, portalSvc, payoutSvc, now
	if newWebUI != nil {
		a.Web = newWebUI(a)
	}
	return a
}

// newStripe returns the Stripe integration, nil when the store keeps no
// integration secrets or ledger, or there is no key to seal secrets with.
func newStripe(c Config, st store.Store, led *ledger.Service, track *tracking.Service, now domain.Clock, log *slog.Logger) *stripeint.Service {
	ss, ok := st.(store.StripeIntegrations)
	if !ok || led == nil {
		return nil
	}
	box, err := OpenSecretBox(c)
	if err != nil {
		log.Error("the Stripe integration is unavailable: no key for the integrations' secrets", "error", err)
		return nil
	}
	return stripeint.New(ss, box, track, led, now, c.PublicBaseURL)
}

// NewDeals returns the deals service on st, nil when st keeps no deals.
// Registrations are rate limited per partner by the store-backed
// internal/ratelimit.Limiter.
func NewDeals(c Config, st store.Store, now domain.Clock, ids domain.IDs) *deals.Service {
	ds, ok := st.(deals.Store)
	if !ok {
		return nil
	}
	opts := []deals.Option{deals.WithExclusivity(time.Duration(c.DealExclusivityDays) * 24 * time.Hour), deals.WithCurrency(c.DealCurrency)}
	if counters, ok := st.(store.Counters); ok {
		opts = append(opts, deals.WithLimiter(ratelimit.New(counters, now, "deal-registration",
			deals.RegistrationsPerWindow, deals.RegistrationWindow)))
	}
	return deals.New(ds, now, ids, opts...)
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
// (every group), everything else to the web UI (internal/app/webui must be
// imported).
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
