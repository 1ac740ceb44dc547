// Package app wires the product together from configuration: the store
// adapter, the services and the HTTP API. The Lambda functions and the local
// one-process server both start here, so they run the same code.
package app

import (
	"context"
	"fmt"
	"log/slog"
	"net/url"
	"os"
	"path/filepath"
	"strconv"
	"strings"

	"github.com/aws/aws-sdk-go-v2/service/dynamodb"

	"github.com/partnerloop/partnerloop/internal/awsenv"
	"github.com/partnerloop/partnerloop/internal/domain"
	"github.com/partnerloop/partnerloop/internal/httpapi"
	"github.com/partnerloop/partnerloop/internal/identity"
	"github.com/partnerloop/partnerloop/internal/ledger"
	"github.com/partnerloop/partnerloop/internal/mail"
	"github.com/partnerloop/partnerloop/internal/partners"
	"github.com/partnerloop/partnerloop/internal/programs"
	"github.com/partnerloop/partnerloop/internal/store"
	"github.com/partnerloop/partnerloop/internal/store/dynamo"
	"github.com/partnerloop/partnerloop/internal/store/sqlite"
	"github.com/partnerloop/partnerloop/internal/tracking"
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
}

// DefaultMailFrom is the sender for local use; on AWS set MAIL_FROM to an
// address or domain verified in SES.
const DefaultMailFrom = "PartnerLoop <noreply@partnerloop.localhost>"

// ConfigFromEnv reads PORT, DATA_DIR, PUBLIC_BASE_URL, STORE, TABLE_NAME,
// BOOTSTRAP_ADMIN_EMAIL, BOOTSTRAP_ADMIN_PASSWORD, ORG_NAME, MAIL_FROM and LOG_LEVEL,
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
		MailFrom:          get("MAIL_FROM", DefaultMailFrom),
	}
	if _, err := mail.NewMailbox(c.MailFrom, nil, 1); err != nil {
		return c, fmt.Errorf("MAIL_FROM=%q: %w", c.MailFrom, err)
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
	if c.Store != "sqlite" && c.Store != "dynamodb" {
		return c, fmt.Errorf("STORE=%q: use sqlite or dynamodb", c.Store)
	}
	if c.Store == "dynamodb" && c.TableName == "" {
		return c, fmt.Errorf("STORE=dynamodb needs TABLE_NAME")
	}
	return c, nil
}

// App is the wired product.
type App struct {
	Config   Config
	Store    store.Store
	Identity *identity.Service
	Programs *programs.Service
	Tracking *tracking.Service
	Partners *partners.Service
	API      *httpapi.API
	Log      *slog.Logger
	// Mail sends the platform's email; Mailbox is set when it is the
	// embedded mode's in-memory mailbox (served at /_dev/mail locally).
	Mail    mail.Mailer
	Mailbox *mail.Mailbox
}

// Option adjusts the wiring of New.
type Option func(*App)

// WithMailer sends email through m instead of an in-memory mailbox.
func WithMailer(m mail.Mailer) Option {
	return func(a *App) { a.Mail = m }
}

// OpenMailer returns the mailer the configuration names: the in-memory
// Mailbox with the embedded store, SES (v2 API) with DynamoDB. SES takes
// its configuration from awsenv, so a local endpoint
// (AWS_ENDPOINT_URL_SESV2, as the AWS-local mode sets for
// aws-ses-v2-local) needs local credentials like every other override.
func OpenMailer(ctx context.Context, c Config, now domain.Clock, getenv func(string) string, environ []string) (mail.Mailer, error) {
	if c.Store != "dynamodb" {
		return mail.NewMailbox(c.MailFrom, now, 0)
	}
	awsCfg, _, err := awsenv.Load(ctx, getenv, environ)
	if err != nil {
		return nil, err
	}
	return mail.NewSES(awsCfg, c.MailFrom)
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
	a.Programs = programs.New(st, now, ids, c.PublicBaseURL, programs.WithPartners(a.Partners))
	a.Tracking = tracking.New(st, now, ids)
	var led *ledger.Service // nil (routes answer 503) until the store implements store.Ledger
	if l, ok := st.(store.Ledger); ok {
		led = ledger.New(st, l, now)
	}
	a.API = &httpapi.API{
		Identity: a.Identity, Programs: a.Programs, Tracking: a.Tracking, Partners: a.Partners, Ledger: led, Log: log,
		SecureCookies: strings.HasPrefix(c.PublicBaseURL, "https://"),
		Health: func(ctx context.Context) error {
			if p, ok := st.(interface{ Ping(context.Context) error }); ok {
				return p.Ping(ctx)
			}
			return nil
		},
	}
	return a
}

// NewLogger returns the JSON logger every process uses, tagged with the
// function (or "local") it runs as.
func NewLogger(c Config, function string) *slog.Logger {
	h := slog.NewJSONHandler(os.Stderr, &slog.HandlerOptions{Level: c.LogLevel})
	return slog.New(h).With("function", function)
}
