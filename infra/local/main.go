// Command local runs the whole product as one process on the embedded
// SQLite store: every route group on one HTTP server. It is the default for
// development (make run) and a real option for small installations.
package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"net"
	"net/http"
	"os"
	"os/signal"
	"path/filepath"
	"runtime/debug"
	"sync"
	"syscall"
	"time"

	"github.com/aws/aws-sdk-go-v2/service/sqs"

	"github.com/partnerloop/partnerloop/internal/app"
	_ "github.com/partnerloop/partnerloop/internal/app/webui" // the one-process server serves the web UI
	"github.com/partnerloop/partnerloop/internal/awsenv"
	_ "github.com/partnerloop/partnerloop/internal/awsenv/profile" // real AWS from a developer's machine: the SDK's default chain
	"github.com/partnerloop/partnerloop/internal/demo"
	"github.com/partnerloop/partnerloop/internal/domain"
	"github.com/partnerloop/partnerloop/internal/mail/sesmail"
	"github.com/partnerloop/partnerloop/internal/partners"
	"github.com/partnerloop/partnerloop/internal/pipeline"
	_ "github.com/partnerloop/partnerloop/internal/portal/statementpdf" // registers the PDF statement renderer
	"github.com/partnerloop/partnerloop/internal/store"
	"github.com/partnerloop/partnerloop/internal/store/sqlite"
	"github.com/partnerloop/partnerloop/internal/web"
)

// gcPercent is the server's GOGC when the environment sets none. Its live
// heap is small (tens of MB) and every request and pipeline round
// allocates: at Go's default of 100 the collector ran several times a
// second and took 10 % of the CPU of a conversion. 400 lets the heap grow
// to five times the live data between collections (about 12 % less CPU per
// conversion under the throughput script's load).
const gcPercent = 400

func main() {
	if os.Getenv("GOGC") == "" {
		debug.SetGCPercent(gcPercent)
	}
	if err := run(os.Args[1:]); err != nil {
		fmt.Fprintln(os.Stderr, "error:", err)
		os.Exit(1)
	}
}

func run(args []string) error {
	fs := flag.NewFlagSet("local", flag.ContinueOnError)
	loadDemo := fs.Bool("demo", false, "load a year of demo data (programs, partners, clicks, referrals, conversions, deals, commissions) if the installation has none")
	awsLocal := fs.Bool("aws", false, "AWS-local mode: start DynamoDB Local, local-aws-sqs and aws-ses-v2-local and use the AWS adapters")
	if err := fs.Parse(args); err != nil {
		return err
	}
	if *awsLocal {
		dataDir := os.Getenv("DATA_DIR")
		if dataDir == "" {
			dataDir = ".data"
		}
		stopEmulators, err := startAWSLocal(filepath.Join(dataDir, "aws-local"))
		if stopEmulators != nil {
			defer stopEmulators()
		}
		if err != nil {
			return err
		}
	}
	cfg, err := app.ConfigFromEnv(os.Getenv)
	if err != nil {
		return err
	}
	log := app.NewLogger(cfg, "local")
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()

	st, err := openStore(ctx, cfg)
	if err != nil {
		return err
	}
	defer st.Close()
	clock := domain.SystemClock
	mailer, err := app.OpenMailer(ctx, cfg, clock, os.Getenv, os.Environ(), sesmail.NewMailer)
	if err != nil {
		return err
	}
	a := app.New(cfg, st, clock, domain.NewULIDs(clock), log, app.WithMailer(mailer))

	admin, created, generated, err := a.Identity.Bootstrap(ctx, cfg.OrgName, cfg.BootstrapEmail, cfg.BootstrapPassword)
	if err != nil {
		return fmt.Errorf("bootstrap: %w", err)
	}
	// The demo plays its year before the background jobs start: its
	// records carry the year's instants, and jobs on the real clock (deal
	// expiry, period close) must not act on them halfway.
	var demoLogin string
	if *loadDemo {
		if demoLogin, err = loadDemoData(ctx, a, admin.OrgID); err != nil {
			return err
		}
	}

	// The commission pipeline: on SQLite the outbox pump and queue worker
	// in this process; in AWS-local mode the table's stream and the queues
	// drive the real Lambda handlers. It stops with ctx, before the store
	// closes.
	ls, ok := st.(pipeline.LedgerStore)
	if !ok {
		return fmt.Errorf("STORE=%s has no commission ledger", cfg.Store)
	}
	calc, err := withFaults(pipeline.NewCalculator(ls, clock, partners.NewRuleSource(ls)))
	if err != nil {
		return err
	}
	var pipelineDone sync.WaitGroup
	defer pipelineDone.Wait()
	switch {
	case *awsLocal:
		awsCfg, _, err := awsenv.Load(ctx, os.Getenv, os.Environ())
		if err != nil {
			return err
		}
		queues, err := ensureQueues(ctx, sqs.NewFromConfig(awsCfg))
		if err != nil {
			return err
		}
		pipelineDone.Add(1)
		go func() {
			defer pipelineDone.Done()
			if err := runAWSPipeline(ctx, awsCfg, cfg.TableName, queues, calc, a.Dispatcher, log); err != nil {
				log.Error("AWS-local pipeline stopped", "err", err)
			}
		}()
	default:
		sq, ok := st.(*sqlite.Store)
		if !ok {
			return fmt.Errorf("the embedded pipeline needs the SQLite store")
		}
		emb := pipeline.NewEmbedded(sq, sq, calc, log)
		if a.Dispatcher != nil {
			// Events go out as webhooks; failed attempts are retried
			// from the store every second.
			emb.Events.Handle = a.Dispatcher.Handle
			// Events of an organization without an enabled endpoint
			// go nowhere: they are not queued.
			emb.Pump.Wanted = a.Dispatcher.HasEndpoints
			pipelineDone.Add(1)
			go func() { defer pipelineDone.Done(); a.Dispatcher.RunRetries(ctx, time.Second) }()
		}
		pipelineDone.Add(1)
		go func() { defer pipelineDone.Done(); _ = emb.Run(ctx) }()
	}
	// The period-close job, in both modes: at start, then hourly (on AWS,
	// EventBridge Scheduler runs the period-close function).
	pipelineDone.Add(1)
	go func() {
		defer pipelineDone.Done()
		pipeline.RunPeriodClose(ctx, ls, clock, time.Hour, log, app.HourlySweeps(a.Tracking, a.Deals)...)
	}()
	// The analytics rollup, in both modes: every second (on AWS, EventBridge
	// Scheduler runs the analytics-rollup function every minute), so new
	// events show in reports within seconds.
	if a.Rollup != nil {
		pipelineDone.Add(1)
		go func() { defer pipelineDone.Done(); a.Rollup.Run(ctx, time.Second) }()
	}

	ln, err := net.Listen("tcp", cfg.Addr)
	if err != nil {
		return err
	}
	srv := &http.Server{
		Handler:           localHandler(a),
		ReadHeaderTimeout: 10 * time.Second,
		ReadTimeout:       30 * time.Second,
		WriteTimeout:      60 * time.Second,
		IdleTimeout:       2 * time.Minute,
		MaxHeaderBytes:    64 << 10,
	}
	where := "data in " + cfg.DataDir
	if cfg.Store == "dynamodb" {
		where = "DynamoDB table " + cfg.TableName
	}
	fmt.Fprintf(os.Stderr, "\nPartnerloop is running at %s (%s), listening on %s\n", cfg.PublicBaseURL, where, ln.Addr())
	if a.Mailbox != nil {
		fmt.Fprintf(os.Stderr, "No SMTP server is configured (SMTP_HOST): sent email (invitations) stays in the development mailbox at %s/_dev/mail, for admins only\n", cfg.PublicBaseURL)
	}
	if w := exposureWarning(ln.Addr(), a.Mailbox != nil); w != "" {
		fmt.Fprintln(os.Stderr, w)
	}
	switch {
	case created && generated != "":
		fmt.Fprintf(os.Stderr, "Log in as %s with the generated password %s\n(shown only this once; set BOOTSTRAP_ADMIN_PASSWORD to choose it)\n\n", admin.Email, generated)
	case created:
		fmt.Fprintf(os.Stderr, "Log in as %s with BOOTSTRAP_ADMIN_PASSWORD\n\n", admin.Email)
	default:
		fmt.Fprintf(os.Stderr, "Sign in as %s at %s/login\n\n", admin.Email, cfg.PublicBaseURL)
	}
	if demoLogin != "" {
		fmt.Fprintf(os.Stderr, "%s\n\n", demoLogin)
	}

	errc := make(chan error, 1)
	go func() { errc <- srv.Serve(ln) }()
	select {
	case err := <-errc:
		return err
	case <-ctx.Done():
	}
	shutdown, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	if err := srv.Shutdown(shutdown); err != nil && !errors.Is(err, http.ErrServerClosed) {
		return err
	}
	return nil
}

// loadDemoData loads the demo year into orgID unless it has data, and
// returns how to sign in to the demo partner's portal.
func loadDemoData(ctx context.Context, a *app.App, orgID string) (string, error) {
	fmt.Fprintln(os.Stderr, "Loading demo data: a year of programs, partners, clicks, referrals, deals and commissions…")
	res, err := demo.Load(ctx, a, orgID, demo.Options{})
	if err != nil {
		return "", fmt.Errorf("demo data: %w", err)
	}
	if !res.Loaded {
		fmt.Fprintln(os.Stderr, "Demo data already present; nothing loaded.")
		return fmt.Sprintf("Demo partner portal: %s at %s/login (its password was printed when the demo was loaded; "+
			"to choose a new one, re-send its portal invitation from the partner's page)", res.PartnerEmail, a.Config.PublicBaseURL), nil
	}
	fmt.Fprintf(os.Stderr, "Loaded demo data: %s.\n", res)
	return fmt.Sprintf("Demo partner portal: sign in as %s with the password %s at %s/login\n(shown only this once)",
		res.PartnerEmail, res.PartnerPassword, a.Config.PublicBaseURL), nil
}

// localHandler serves the API and the web UI and, when mail goes to the
// development mailbox (no SMTP server configured), the mailbox at
// /_dev/mail and /_dev/mail.json — to signed-in admins only, since its
// invitation links sign their reader in as the invited person. It is never
// part of a Lambda function.
func localHandler(a *app.App) http.Handler {
	h := a.Handler()
	if a.Mailbox == nil {
		return h
	}
	mux := http.NewServeMux()
	box := a.Mailbox.Handler()
	mux.Handle("GET /_dev/mail", a.Web.AdminOnly(box))
	mux.Handle("GET /_dev/mail.json", web.SessionAsBearer(a.API.AdminOnly(box)))
	mux.Handle("/", h)
	return mux
}

// exposureWarning is the warning printed when the server listens beyond
// loopback while mail goes to the development mailbox: invitations are then
// never delivered, and the only thing that stands between the network and
// their links is the admin's password.
func exposureWarning(addr net.Addr, devMailbox bool) string {
	tcp, ok := addr.(*net.TCPAddr)
	if !devMailbox || (ok && tcp.IP.IsLoopback()) {
		return ""
	}
	return fmt.Sprintf("WARNING: listening on %s, beyond loopback, without an SMTP server: invitations are not delivered but kept "+
		"in the development mailbox. Set SMTP_HOST (and MAIL_FROM, SMTP_USERNAME, SMTP_PASSWORD) for production, "+
		"or listen on loopback only (unset HOST/ADDR).", addr)
}

// openStore opens the embedded SQLite store in DATA_DIR, or (STORE=dynamodb,
// the AWS-local mode) what app.OpenStore opens.
func openStore(ctx context.Context, cfg app.Config) (store.Store, error) {
	if cfg.Store != "sqlite" {
		return app.OpenStore(ctx, cfg, os.Getenv, os.Environ())
	}
	if err := os.MkdirAll(cfg.DataDir, 0o700); err != nil {
		return nil, fmt.Errorf("DATA_DIR: %w", err)
	}
	return sqlite.Open(filepath.Join(cfg.DataDir, "partnerloop.db"))
}
