// Command load measures the product's hot paths against a bare Go server on
// this machine's loopback, with vegeta (github.com/tsenart/vegeta) as the
// load generator, and prints the requests per second of both and their
// ratio:
//
//	load -url http://127.0.0.1:3000 -bare-url http://127.0.0.1:3001 -duration 10s -concurrency 16
//	load bare -listen 127.0.0.1:0 -data /tmp/bare   # the bare server
//
// The scenarios (-scenario, default all three):
//
//   - repeat: GET /r/{code} by one visitor again and again (counted once,
//     then de-duplicated: the redirect's read path);
//   - new: GET /r/{code} by a new visitor each request (a click written
//     each time). Visitors are told apart by address: each request names its
//     own in X-Forwarded-For, so the product must trust 127.0.0.1 as a proxy
//     (TRUSTED_PROXIES=127.0.0.1); the tool checks afterwards that the
//     server counted one click per redirect;
//   - conversion: POST /v1/conversions with a new externalId each request.
//     The one-process server prices each conversion in the same process
//     (its commission pipeline); after the run the tool lists the ledger
//     until every conversion has its commission and prints how long that
//     took (at most 30 s, else the run fails): a pipeline that fell behind
//     would otherwise have done its work after the measurement.
//
// The bare server (load bare) answers the same requests doing only the
// essential work: a map lookup, the cookie and the 302 for GET /r/{code};
// for POST /v1/conversions it decodes the same JSON and inserts one row
// into SQLite in WAL mode.
//
// With -pid and -bare-pid (the servers' process IDs, Linux) it also
// prints each server's CPU time per request and their ratio: on a machine
// shared with other work the requests per second swing, the CPU spent per
// request much less. For conversions the product's CPU time is counted
// until its pipeline has gone quiet, so pricing is included.
//
// It signs in to the product with BOOTSTRAP_ADMIN_EMAIL (default
// admin@example.com) and BOOTSTRAP_ADMIN_PASSWORD and creates its own
// program, referrer and referral through the API. It writes, so it refuses
// every URL whose host is not a loopback address, and its dialer refuses
// to connect anywhere else. scripts/throughput.sh starts both servers on
// throwaway data and runs it.
package main

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/url"
	"os"
	"os/signal"
	"slices"
	"strconv"
	"strings"
	"sync/atomic"
	"syscall"
	"time"

	vegeta "github.com/tsenart/vegeta/v12/lib"
)

func main() {
	var err error
	if len(os.Args) > 1 && os.Args[1] == "bare" {
		err = runBare(os.Args[2:])
	} else {
		err = run(os.Args[1:])
	}
	if err != nil {
		fmt.Fprintln(os.Stderr, "load:", err)
		os.Exit(1)
	}
}

// The scenarios, in the order they run.
var scenarios = []string{"repeat", "new", "conversion"}

type options struct {
	product     *url.URL
	bare        *url.URL // nil: the product only
	duration    time.Duration
	concurrency int
	max         uint64
	scenarios   []string
	email       string
	password    string
	// pid and barePid, when not 0, are the servers' process IDs: the
	// tool reports the CPU time each spent per request (Linux /proc).
	pid, barePid int
}

func parseFlags(args []string, getenv func(string) string) (options, error) {
	fs := flag.NewFlagSet("load", flag.ContinueOnError)
	rawURL := fs.String("url", "http://127.0.0.1:3000", "base URL of the product; its host must be a loopback address")
	rawBare := fs.String("bare-url", "", "base URL of the bare server (load bare); empty: measure the product only")
	duration := fs.Duration("duration", 10*time.Second, "how long each scenario sends requests to each server")
	concurrency := fs.Int("concurrency", 16, "concurrent requests (workers and keep-alive connections)")
	maxReq := fs.Uint64("max", 1_000_000, "stop a scenario after this many requests even before -duration")
	scenario := fs.String("scenario", "all", "repeat, new, conversion or all")
	pid := fs.Int("pid", 0, "the product's process ID, to report its CPU time per request (0: not reported)")
	barePid := fs.Int("bare-pid", 0, "the bare server's process ID, to report its CPU time per request (0: not reported)")
	if err := fs.Parse(args); err != nil {
		return options{}, err
	}
	if fs.NArg() > 0 {
		return options{}, fmt.Errorf("unexpected arguments: %q", fs.Args())
	}
	o := options{duration: *duration, concurrency: *concurrency, max: *maxReq, pid: *pid, barePid: *barePid}
	var err error
	if o.product, err = loopbackURL(*rawURL); err != nil {
		return o, err
	}
	if *rawBare != "" {
		if o.bare, err = loopbackURL(*rawBare); err != nil {
			return o, err
		}
	}
	switch {
	case *scenario == "all":
		o.scenarios = scenarios
	case slices.Contains(scenarios, *scenario):
		o.scenarios = []string{*scenario}
	default:
		return o, fmt.Errorf("-scenario %q: use repeat, new, conversion or all", *scenario)
	}
	switch {
	case o.duration <= 0 || o.duration > time.Hour:
		return o, fmt.Errorf("-duration %s: must be more than 0 and at most 1h", o.duration)
	case o.concurrency < 1 || o.concurrency > 1024:
		return o, fmt.Errorf("-concurrency %d: must be from 1 to 1024", o.concurrency)
	case o.max < 1 || o.max > 100_000_000:
		return o, fmt.Errorf("-max %d: must be from 1 to 100000000", o.max)
	}
	o.email = strings.TrimSpace(getenv("BOOTSTRAP_ADMIN_EMAIL"))
	if o.email == "" {
		o.email = "admin@example.com"
	}
	o.password = getenv("BOOTSTRAP_ADMIN_PASSWORD")
	if o.password == "" {
		return o, errors.New("set BOOTSTRAP_ADMIN_PASSWORD to the admin password of the product")
	}
	return o, nil
}

// loopbackURL parses raw and accepts it only when its host is a loopback
// address (127.0.0.0/8, ::1) or "localhost". Names are not resolved: a
// name that merely points at 127.0.0.1 today is still refused.
func loopbackURL(raw string) (*url.URL, error) {
	u, err := url.Parse(raw)
	if err != nil {
		return nil, fmt.Errorf("-url: %w", err)
	}
	if u.Scheme != "http" && u.Scheme != "https" {
		return nil, fmt.Errorf("-url %q: must be an http(s) URL", raw)
	}
	if u.User != nil || u.RawQuery != "" || u.Fragment != "" {
		return nil, fmt.Errorf("-url %q: give scheme, host, port and optional path only", raw)
	}
	host := u.Hostname()
	ip := net.ParseIP(host)
	if !strings.EqualFold(host, "localhost") && (ip == nil || !ip.IsLoopback()) {
		return nil, fmt.Errorf("-url %q: refusing a host that is not a loopback address (127.0.0.0/8, ::1, localhost); this tool writes data", raw)
	}
	u.Path = strings.TrimRight(u.Path, "/")
	return u, nil
}

// loopbackOnly refuses, at connect time, any address that is not loopback —
// in case "localhost" resolves to something else on this machine.
func loopbackOnly(network, address string, _ syscall.RawConn) error {
	host, _, err := net.SplitHostPort(address)
	if err != nil {
		return err
	}
	if ip := net.ParseIP(host); ip == nil || !ip.IsLoopback() {
		return fmt.Errorf("refusing to connect to %s: not a loopback address", address)
	}
	return nil
}

// newHTTPClient is the one HTTP client of the tool: loopback only, never
// through a proxy, never following the redirect (it goes to the program's
// landing page on the internet).
func newHTTPClient(conns int) *http.Client {
	return &http.Client{
		Transport: &http.Transport{
			Proxy:               nil,
			DialContext:         (&net.Dialer{Timeout: 5 * time.Second, KeepAlive: 30 * time.Second, Control: loopbackOnly}).DialContext,
			MaxIdleConns:        conns,
			MaxIdleConnsPerHost: conns,
			MaxConnsPerHost:     conns,
			IdleConnTimeout:     90 * time.Second,
			DisableCompression:  true,
		},
		Timeout:       30 * time.Second,
		CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse },
	}
}

func run(args []string) error {
	o, err := parseFlags(args, os.Getenv)
	if err != nil {
		return err
	}
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()

	api := &client{base: o.product, http: newHTTPClient(4)}
	runID := strconv.FormatInt(time.Now().UnixNano(), 36)
	if err := api.login(ctx, o.email, o.password); err != nil {
		return err
	}
	fx, err := api.setup(ctx, runID)
	if err != nil {
		return fmt.Errorf("setup: %w", err)
	}

	fmt.Printf("load         %d concurrent requests, %s per scenario and server (at most %d requests), vegeta %s\n",
		o.concurrency, o.duration, o.max, "v12")
	var rows []row
	var failures []error
	for _, sc := range o.scenarios {
		if ctx.Err() != nil {
			break
		}
		r := row{scenario: sc}
		if o.bare != nil {
			t := bareTargets(o.bare, sc, runID)
			cpu := startCPU(o.barePid)
			r.bare = attack(ctx, o, "bare "+sc, t)
			r.bare.cpu, r.bare.cpuErr = cpu.used()
			fmt.Println(r.bare.line())
			if err := r.bare.check(); err != nil {
				failures = append(failures, fmt.Errorf("bare %s: %w", sc, err))
			}
		}
		before, err := api.clicks(ctx, fx.referrerID)
		if err != nil {
			return err
		}
		if sc == "repeat" {
			// The visitor's first visit counts; every later one repeats it.
			if _, err := api.send(ctx, productTargets(api, fx, sc, runID).first()); err != nil {
				return err
			}
			before++
		}
		cpu := startCPU(o.pid)
		r.product = attack(ctx, o, "product "+sc, productTargets(api, fx, sc, runID))
		fmt.Println(r.product.line())
		if sc == "conversion" {
			// Pricing the conversions is part of their cost: count the
			// server's CPU until its pipeline has gone quiet (before the
			// ledger is listed below, which is the tool's check, not work
			// the product does per conversion).
			r.product.cpu, r.product.cpuErr = cpu.waitIdle(ctx, pricedWithin)
		} else {
			r.product.cpu, r.product.cpuErr = cpu.used()
		}
		if err := r.product.check(); err != nil {
			failures = append(failures, fmt.Errorf("product %s: %w", sc, err))
		}
		if sc == "conversion" && ctx.Err() == nil {
			// The one-process server prices conversions in the same
			// process: the pipeline must have kept up, not left a
			// backlog that the run did not pay for.
			want := r.product.status[http.StatusCreated]
			got, took, err := api.waitPriced(ctx, fx.programID, want, pricedWithin)
			if err != nil {
				return err
			}
			fmt.Printf("priced       %d of %d conversions had their commission %s after the run (counted by listing the ledger)\n",
				got, want, took.Round(10*time.Millisecond))
			if got != want {
				failures = append(failures, fmt.Errorf("product conversion: %d of %d conversions priced %s after the run",
					got, want, pricedWithin))
			}
		}
		if sc != "conversion" && ctx.Err() == nil {
			// The referrer's count is read once every click acknowledged
			// before it is applied (the SQLite store journals clicks and
			// applies them behind the redirects): how long the read took
			// is about how long after the run the last click was applied.
			start := time.Now()
			after, err := api.clicks(ctx, fx.referrerID)
			if err != nil {
				return err
			}
			took := time.Since(start)
			want := int64(0)
			if sc == "new" {
				want = int64(r.product.status[http.StatusFound])
			}
			fmt.Printf("clicks       %d counted for %d redirects (want %d), read %s after the run\n", after-before, r.product.status[http.StatusFound], want,
				took.Round(time.Millisecond))
			if after-before != want {
				failures = append(failures, fmt.Errorf("product %s: the server counted %d clicks for %d redirects, want %d (is TRUSTED_PROXIES=127.0.0.1 set?)",
					sc, after-before, r.product.status[http.StatusFound], want))
			}
		}
		rows = append(rows, r)
	}
	fmt.Println()
	printTable(os.Stdout, rows)
	if o.pid != 0 || o.barePid != 0 {
		fmt.Println()
		printCPU(os.Stdout, rows)
	}
	if ctx.Err() != nil {
		return errors.New("interrupted")
	}
	return errors.Join(failures...)
}

// targets generates a scenario's requests; it is called from many workers
// at once.
type targets struct {
	want int
	next func(n uint64) vegeta.Target
}

func (t targets) first() vegeta.Target { return t.next(0) }

// redirectUA is a current desktop browser's: counted, not a bot.
const redirectUA = "Mozilla/5.0 (X11; Linux x86_64; rv:140.0) Gecko/20100101 Firefox/140.0"

// visitorAddr spreads n over 10.0.0.0/8: a distinct address for every n.
func visitorAddr(n uint64) string {
	n++ // 10.0.0.0 is not an address anyone visits from
	return fmt.Sprintf("10.%d.%d.%d", n>>16&0xff, n>>8&0xff, n&0xff)
}

func redirectTargets(target string, sc string) targets {
	return targets{want: http.StatusFound, next: func(n uint64) vegeta.Target {
		h := http.Header{"User-Agent": {redirectUA}}
		if sc == "new" {
			h.Set("X-Forwarded-For", visitorAddr(n))
		} else {
			h.Set("X-Forwarded-For", "10.255.255.254")
		}
		return vegeta.Target{Method: http.MethodGet, URL: target, Header: h}
	}}
}

func conversionTargets(target, referralID, runID, token string) targets {
	return targets{want: http.StatusCreated, next: func(n uint64) vegeta.Target {
		body := `{"referralId":"` + referralID + `","event":"purchase","amount":{"amount":4999,"currency":"USD"},"externalId":"load-` +
			runID + "-" + strconv.FormatUint(n, 10) + `"}`
		h := http.Header{"Content-Type": {"application/json"}}
		if token != "" {
			h.Set("Authorization", "Bearer "+token)
		}
		return vegeta.Target{Method: http.MethodPost, URL: target, Header: h, Body: []byte(body)}
	}}
}

func productTargets(c *client, fx fixture, sc, runID string) targets {
	if sc == "conversion" {
		return conversionTargets(c.url("/v1/conversions"), fx.referralID, runID, c.token)
	}
	return redirectTargets(c.url("/r/"+fx.code), sc)
}

func bareTargets(base *url.URL, sc, runID string) targets {
	if sc == "conversion" {
		return conversionTargets(base.String()+"/v1/conversions", "ref_bare", runID, "")
	}
	return redirectTargets(base.String()+"/r/"+bareCode, sc)
}

// measured is one scenario against one server.
type measured struct {
	name    string
	want    int
	metrics vegeta.Metrics
	status  map[int]int
	errors  map[string]int
	// cpu is the server's CPU time over the scenario (for the product's
	// conversions, until its pipeline went quiet); cpuErr why it is not known.
	cpu    time.Duration
	cpuErr error
}

// attack drives one server with vegeta: o.concurrency workers sending as
// fast as the server answers (no pacing), for o.duration or o.max requests.
func attack(ctx context.Context, o options, name string, t targets) measured {
	a := vegeta.NewAttacker(
		vegeta.Client(newHTTPClient(o.concurrency)),
		vegeta.Workers(uint64(o.concurrency)), vegeta.MaxWorkers(uint64(o.concurrency)),
		vegeta.MaxBody(0), // the bodies are not looked at
	)
	var seq atomic.Uint64
	tr := func(tgt *vegeta.Target) error {
		*tgt = t.next(seq.Add(1))
		return nil
	}
	pace := unpaced{max: o.max}
	m := measured{name: name, want: t.want, status: map[int]int{}, errors: map[string]int{}}
	stop := context.AfterFunc(ctx, func() { a.Stop() })
	defer stop()
	for res := range a.Attack(tr, pace, o.duration, name) {
		m.metrics.Add(res)
		if res.Error != "" {
			m.errors[res.Error]++
		} else {
			m.status[int(res.Code)]++
		}
	}
	m.metrics.Close()
	return m
}

// unpaced sends the next request as soon as a worker is free, up to max.
type unpaced struct{ max uint64 }

func (p unpaced) Pace(_ time.Duration, hits uint64) (time.Duration, bool) { return 0, hits >= p.max }
func (unpaced) Rate(time.Duration) float64                                { return 0 }

// reqPerSec is answered requests per second over the attack (vegeta's
// throughput counts only successful ones; every answer is counted here and
// check fails the run when any was not the expected status).
func (m measured) reqPerSec() float64 {
	if m.metrics.Duration+m.metrics.Wait <= 0 {
		return 0
	}
	return float64(m.metrics.Requests) / (m.metrics.Duration + m.metrics.Wait).Seconds()
}

func (m measured) line() string {
	codes := make([]int, 0, len(m.status))
	for c := range m.status {
		codes = append(codes, c)
	}
	slices.Sort(codes)
	var parts []string
	for _, c := range codes {
		parts = append(parts, fmt.Sprintf("%d×%d", m.status[c], c))
	}
	for e, n := range m.errors {
		parts = append(parts, fmt.Sprintf("%d×error %q", n, e))
	}
	return fmt.Sprintf("%-20s %8.0f req/s  %7d requests  p50 %-9s p99 %-9s %s", m.name, m.reqPerSec(), m.metrics.Requests,
		m.metrics.Latencies.P50.Round(time.Microsecond), m.metrics.Latencies.P99.Round(time.Microsecond), strings.Join(parts, " "))
}

func (m measured) check() error {
	if m.metrics.Requests == 0 {
		return errors.New("no request was sent")
	}
	if bad := int(m.metrics.Requests) - m.status[m.want]; bad > 0 {
		return fmt.Errorf("%d of %d requests did not answer %d", bad, m.metrics.Requests, m.want)
	}
	return nil
}

type row struct {
	scenario      string
	bare, product measured
}

var scenarioTitles = map[string]string{
	"repeat":     "GET /r/{code}, repeat visitor",
	"new":        "GET /r/{code}, new visitor (click write)",
	"conversion": "POST /v1/conversions",
}

func printTable(w io.Writer, rows []row) {
	fmt.Fprintf(w, "| %-40s | %12s | %12s | %6s |\n", "path", "bare req/s", "product req/s", "ratio")
	fmt.Fprintf(w, "|%s|%s|%s|%s|\n", strings.Repeat("-", 42), strings.Repeat("-", 14), strings.Repeat("-", 15), strings.Repeat("-", 8))
	for _, r := range rows {
		bare, ratio := "—", "—"
		if r.bare.name != "" {
			bare = fmt.Sprintf("%.0f", r.bare.reqPerSec())
			if b := r.bare.reqPerSec(); b > 0 {
				ratio = fmt.Sprintf("%.0f %%", 100*r.product.reqPerSec()/b)
			}
		}
		fmt.Fprintf(w, "| %-40s | %12s | %13.0f | %6s |\n", scenarioTitles[r.scenario], bare, r.product.reqPerSec(), ratio)
	}
}

// printCPU prints each server's CPU time per request and their ratio
// (bare over product: the share of the bare server's rate the product
// would reach if both had the same CPU to themselves).
func printCPU(w io.Writer, rows []row) {
	fmt.Fprintf(w, "| %-40s | %12s | %13s | %6s |\n", "server CPU per request", "bare", "product", "ratio")
	fmt.Fprintf(w, "|%s|%s|%s|%s|\n", strings.Repeat("-", 42), strings.Repeat("-", 14), strings.Repeat("-", 15), strings.Repeat("-", 8))
	for _, r := range rows {
		bare, product, ratio := "—", "—", "—"
		if r.bare.name != "" && r.bare.cpuErr == nil && r.bare.cpu > 0 {
			bare = perRequest(r.bare.cpu, r.bare.metrics.Requests)
		}
		if r.product.cpuErr == nil && r.product.cpu > 0 {
			product = perRequest(r.product.cpu, r.product.metrics.Requests)
			if bare != "—" && r.bare.metrics.Requests > 0 {
				b := r.bare.cpu.Seconds() / float64(r.bare.metrics.Requests)
				p := r.product.cpu.Seconds() / float64(r.product.metrics.Requests)
				ratio = fmt.Sprintf("%.0f %%", 100*b/p)
			}
		}
		fmt.Fprintf(w, "| %-40s | %12s | %13s | %6s |\n", scenarioTitles[r.scenario], bare, product, ratio)
	}
	for _, r := range rows {
		for _, m := range []measured{r.bare, r.product} {
			if m.cpuErr != nil {
				fmt.Fprintf(w, "%s: CPU time not known: %v\n", m.name, m.cpuErr)
			}
		}
	}
}

// client talks to the product's API to set up and to check.
type client struct {
	base  *url.URL
	http  *http.Client
	token string
}

func (c *client) url(path string) string { return c.base.String() + path }

// send makes one request of a scenario and returns its status.
func (c *client) send(ctx context.Context, t vegeta.Target) (int, error) {
	req, err := http.NewRequestWithContext(ctx, t.Method, t.URL, bytes.NewReader(t.Body))
	if err != nil {
		return 0, err
	}
	req.Header = t.Header.Clone()
	resp, err := c.http.Do(req)
	if err != nil {
		return 0, err
	}
	_, err = io.Copy(io.Discard, resp.Body)
	resp.Body.Close()
	return resp.StatusCode, err
}

// call sends a JSON request with the session token and decodes the answer
// into out, failing unless the status is want.
func (c *client) call(ctx context.Context, method, path string, in any, want int, out any) error {
	var rd io.Reader
	if in != nil {
		b, err := json.Marshal(in)
		if err != nil {
			return err
		}
		rd = bytes.NewReader(b)
	}
	req, err := http.NewRequestWithContext(ctx, method, c.url(path), rd)
	if err != nil {
		return err
	}
	req.Header.Set("Content-Type", "application/json")
	if c.token != "" {
		req.Header.Set("Authorization", "Bearer "+c.token)
	}
	resp, err := c.http.Do(req)
	if err != nil {
		return err
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(io.LimitReader(resp.Body, 1<<20))
	if err != nil {
		return err
	}
	if resp.StatusCode != want {
		return fmt.Errorf("%s %s: status %d (want %d): %s", method, path, resp.StatusCode, want, bytes.TrimSpace(b))
	}
	if out != nil {
		if err := json.Unmarshal(b, out); err != nil {
			return fmt.Errorf("%s %s: %w", method, path, err)
		}
	}
	return nil
}

func (c *client) login(ctx context.Context, email, password string) error {
	var out struct {
		Token string `json:"token"`
	}
	err := c.call(ctx, http.MethodPost, "/v1/auth/login", map[string]string{"email": email, "password": password}, http.StatusOK, &out)
	if err != nil {
		return fmt.Errorf("login as %s: %w", email, err)
	}
	c.token = out.Token
	return nil
}

// fixture is what the scenarios run against.
type fixture struct {
	programID, referrerID, code, referralID string
}

// setup creates and activates a program, enrols a referrer and submits a
// referral — all named after this run.
func (c *client) setup(ctx context.Context, runID string) (fixture, error) {
	var fx fixture
	var prog struct {
		ID string `json:"id"`
	}
	err := c.call(ctx, http.MethodPost, "/v1/programs", map[string]any{
		"name": "Load test " + runID, "landingUrl": "https://example.com/pricing", "currency": "USD",
		"startsAt": time.Now().UTC().Add(-time.Hour).Format(time.RFC3339), "attributionWindowDays": 30,
		"qualifyingEvents": []string{"signup", "purchase"},
		"commission":       map[string]any{"type": "percentage", "rateBps": 1000}, "holdDays": 30,
	}, http.StatusCreated, &prog)
	if err != nil {
		return fx, err
	}
	fx.programID = prog.ID
	if err := c.call(ctx, http.MethodPost, "/v1/programs/"+prog.ID+"/activate", nil, http.StatusOK, nil); err != nil {
		return fx, err
	}
	var rf struct {
		ID   string `json:"id"`
		Code string `json:"code"`
	}
	err = c.call(ctx, http.MethodPost, "/v1/programs/"+prog.ID+"/referrers",
		map[string]string{"email": "referrer-" + runID + "@example.com", "name": "Load Referrer"}, http.StatusCreated, &rf)
	if err != nil {
		return fx, err
	}
	fx.referrerID, fx.code = rf.ID, rf.Code
	var ref struct {
		ID string `json:"id"`
	}
	err = c.call(ctx, http.MethodPost, "/v1/referrals",
		map[string]string{"code": rf.Code, "email": "friend-" + runID + "@example.org", "name": "Load Friend"}, http.StatusCreated, &ref)
	if err != nil {
		return fx, err
	}
	fx.referralID = ref.ID
	return fx, nil
}

// clicks is the referrer's counted clicks.
// pricedWithin is how long after the conversion scenario the tool waits
// for every conversion's commission.
const pricedWithin = 30 * time.Second

// waitPriced counts the program's ledger entries until there are want of
// them or limit has passed, and returns the last count and how long after
// the call it was reached.
func (c *client) waitPriced(ctx context.Context, programID string, want int, limit time.Duration) (int, time.Duration, error) {
	start := time.Now()
	for {
		n, err := c.commissions(ctx, programID)
		if err != nil || n >= want || time.Since(start) > limit {
			return n, time.Since(start), err
		}
		select {
		case <-ctx.Done():
			return n, time.Since(start), ctx.Err()
		case <-time.After(100 * time.Millisecond):
		}
	}
}

// commissions counts the program's ledger entries, page by page.
func (c *client) commissions(ctx context.Context, programID string) (int, error) {
	n, cursor := 0, ""
	for {
		var page struct {
			Items      []json.RawMessage `json:"items"`
			NextCursor string            `json:"nextCursor"`
		}
		path := "/v1/commissions?limit=200&programId=" + url.QueryEscape(programID)
		if cursor != "" {
			path += "&cursor=" + url.QueryEscape(cursor)
		}
		if err := c.call(ctx, http.MethodGet, path, nil, http.StatusOK, &page); err != nil {
			return 0, err
		}
		n += len(page.Items)
		if page.NextCursor == "" {
			return n, nil
		}
		cursor = page.NextCursor
	}
}

func (c *client) clicks(ctx context.Context, referrerID string) (int64, error) {
	var rf struct {
		Clicks int64 `json:"clicks"`
	}
	err := c.call(ctx, http.MethodGet, "/v1/referrers/"+referrerID, nil, http.StatusOK, &rf)
	return rf.Clicks, err
}
