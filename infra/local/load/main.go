// Command load drives a running local server (infra/local) with one of two
// scenarios and prints throughput, latency percentiles and status counts:
//
//	go run ./infra/local/load -url http://127.0.0.1:3000 -duration 10s -concurrency 16 -scenario redirect
//
// The scenarios:
//
//   - redirect: GET /r/{code}, each request with its own User-Agent, so that
//     each is a distinct visitor. All come from one address, so the server
//     counts (writes) at most tracking.ClicksPerAddress of them per hour and
//     redirects the rest without a write: the scenario measures the
//     redirect under the abuse limits, and checks that the cap holds under
//     concurrency. Redirects are not followed.
//   - conversion: POST /v1/conversions with a new externalId each request,
//     all against one referral (a write).
//
// It signs in with BOOTSTRAP_ADMIN_EMAIL (default admin@example.com) and
// BOOTSTRAP_ADMIN_PASSWORD, and creates its own program, referrer and
// referral through the API, so it can run against any installation — but it
// writes, so it refuses every URL whose host is not a loopback address.
// scripts/load.sh starts a throwaway server and runs both scenarios.
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
	"sync"
	"sync/atomic"
	"syscall"
	"time"

	"github.com/partnerloop/partnerloop/internal/tracking"
)

func main() {
	if err := run(os.Args[1:]); err != nil {
		fmt.Fprintln(os.Stderr, "load:", err)
		os.Exit(1)
	}
}

type options struct {
	base        *url.URL
	duration    time.Duration
	concurrency int
	max         int64
	scenario    string
	email       string
	password    string
}

func parseFlags(args []string, getenv func(string) string) (options, error) {
	fs := flag.NewFlagSet("load", flag.ContinueOnError)
	rawURL := fs.String("url", "http://127.0.0.1:3000", "base URL of the server; its host must be a loopback address")
	duration := fs.Duration("duration", 10*time.Second, "how long to send requests")
	concurrency := fs.Int("concurrency", 16, "number of concurrent workers (and keep-alive connections)")
	maxReq := fs.Int64("max", 200000, "stop after this many requests even before -duration")
	scenario := fs.String("scenario", "redirect", "redirect or conversion")
	if err := fs.Parse(args); err != nil {
		return options{}, err
	}
	if fs.NArg() > 0 {
		return options{}, fmt.Errorf("unexpected arguments: %q", fs.Args())
	}
	o := options{duration: *duration, concurrency: *concurrency, max: *maxReq, scenario: *scenario}
	base, err := loopbackURL(*rawURL)
	if err != nil {
		return o, err
	}
	o.base = base
	switch {
	case o.scenario != "redirect" && o.scenario != "conversion":
		return o, fmt.Errorf("-scenario %q: use redirect or conversion", o.scenario)
	case o.duration <= 0 || o.duration > time.Hour:
		return o, fmt.Errorf("-duration %s: must be more than 0 and at most 1h", o.duration)
	case o.concurrency < 1 || o.concurrency > 1024:
		return o, fmt.Errorf("-concurrency %d: must be from 1 to 1024", o.concurrency)
	case o.max < 1 || o.max > 10_000_000:
		return o, fmt.Errorf("-max %d: must be from 1 to 10000000", o.max)
	}
	o.email = strings.TrimSpace(getenv("BOOTSTRAP_ADMIN_EMAIL"))
	if o.email == "" {
		o.email = "admin@example.com"
	}
	o.password = getenv("BOOTSTRAP_ADMIN_PASSWORD")
	if o.password == "" {
		return o, errors.New("set BOOTSTRAP_ADMIN_PASSWORD to the admin password of the server")
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

func run(args []string) error {
	o, err := parseFlags(args, os.Getenv)
	if err != nil {
		return err
	}
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()

	transport := &http.Transport{
		Proxy:               nil, // loopback only: never through a proxy
		DialContext:         (&net.Dialer{Timeout: 5 * time.Second, KeepAlive: 30 * time.Second, Control: loopbackOnly}).DialContext,
		MaxIdleConns:        o.concurrency,
		MaxIdleConnsPerHost: o.concurrency,
		MaxConnsPerHost:     o.concurrency,
		IdleConnTimeout:     90 * time.Second,
		DisableCompression:  true,
	}
	defer transport.CloseIdleConnections()
	c := &client{
		base: o.base,
		http: &http.Client{
			Transport: transport,
			Timeout:   30 * time.Second,
			// The redirect goes to the program's landing page on the
			// internet: never follow it.
			CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse },
		},
	}

	runID := strconv.FormatInt(time.Now().UnixNano(), 36)
	if err := c.login(ctx, o.email, o.password); err != nil {
		return err
	}
	fx, err := c.setup(ctx, o.scenario, runID)
	if err != nil {
		return fmt.Errorf("setup: %w", err)
	}

	var do func(ctx context.Context, worker int, n int64) (int, error)
	var want int
	var target string
	switch o.scenario {
	case "redirect":
		want, target = http.StatusFound, c.url("/r/"+fx.code)
		do = func(ctx context.Context, worker int, n int64) (int, error) {
			// The server tells visitors apart by address and user agent;
			// every request comes from 127.0.0.1, so vary the user agent.
			ua := "Mozilla/5.0 (X11; Linux x86_64) partnerloop-load/1 (" + runID + "; w" + strconv.Itoa(worker) + "; " + strconv.FormatInt(n, 10) + ")"
			return c.send(ctx, http.MethodGet, target, nil, ua, false)
		}
	case "conversion":
		want, target = http.StatusCreated, c.url("/v1/conversions")
		do = func(ctx context.Context, worker int, n int64) (int, error) {
			body := `{"referralId":"` + fx.referralID + `","event":"purchase","amount":{"amount":4999,"currency":"USD"},"externalId":"load-` + runID + "-" + strconv.FormatInt(n, 10) + `"}`
			return c.send(ctx, http.MethodPost, target, []byte(body), "", true)
		}
	}

	fmt.Printf("scenario     %s: %s %s\n", o.scenario, map[string]string{"redirect": "GET", "conversion": "POST"}[o.scenario], target)
	fmt.Printf("workers      %d (keep-alive connections), duration %s, at most %d requests\n", o.concurrency, o.duration, o.max)
	begun := time.Now()
	res := hammer(ctx, o, do)
	report(os.Stdout, res, o, want)

	if o.scenario == "redirect" && res.stopped != "interrupted" && len(res.errors) == 0 {
		// Every request was a distinct visitor from one address, so the
		// server must have counted exactly the cap in each clock hour the
		// run touched (or every 302, if there were fewer). (Requests cut
		// off or failed on the way may still have been counted, hence only
		// when there were none.)
		clicks, err := c.clicks(context.Background(), fx.referrerID)
		if err != nil {
			return fmt.Errorf("reading the click count: %w", err)
		}
		hours := int64(time.Now().Truncate(time.Hour).Sub(begun.Truncate(time.Hour))/time.Hour) + 1
		fmt.Printf("clicks       %d counted by the server for %d redirects from one address (cap %d per hour)\n",
			clicks, res.status[http.StatusFound], tracking.ClicksPerAddress)
		if lo, hi := min(int64(res.status[http.StatusFound]), tracking.ClicksPerAddress), tracking.ClicksPerAddress*hours; clicks < lo || clicks > hi {
			return fmt.Errorf("the server counted %d clicks for %d distinct visitors from one address, want %d to %d", clicks, res.status[http.StatusFound], lo, hi)
		}
	}
	if bad := res.total() - res.status[want]; bad > 0 || res.status[want] == 0 {
		return fmt.Errorf("%d of %d requests did not answer %d", bad, res.total(), want)
	}
	return nil
}

// result is what the workers measured.
type result struct {
	elapsed   time.Duration
	latencies []time.Duration // of answered requests
	status    map[int]int
	errors    map[string]int // transport errors by message
	stopped   string
}

func (r result) total() int {
	n := 0
	for _, c := range r.status {
		n += c
	}
	for _, c := range r.errors {
		n += c
	}
	return n
}

// hammer runs o.concurrency workers until o.duration has passed, o.max
// requests have been started or ctx ends. Requests in flight at the deadline
// complete and are counted; those cut off by ctx (Ctrl-C) are not.
func hammer(ctx context.Context, o options, do func(ctx context.Context, worker int, n int64) (int, error)) result {
	type partial struct {
		latencies []time.Duration
		status    map[int]int
		errors    map[string]int
	}
	var started atomic.Int64
	parts := make([]partial, o.concurrency)
	var wg sync.WaitGroup
	start := time.Now()
	deadline := start.Add(o.duration)
	for w := range o.concurrency {
		wg.Go(func() {
			p := partial{status: map[int]int{}, errors: map[string]int{}}
			p.latencies = make([]time.Duration, 0, min(o.max/int64(o.concurrency)+1, 1<<16))
			for ctx.Err() == nil && time.Now().Before(deadline) {
				n := started.Add(1)
				if n > o.max {
					break
				}
				t0 := time.Now()
				code, err := do(ctx, w, n)
				d := time.Since(t0)
				switch {
				case err != nil && ctx.Err() != nil:
					// Interrupted: not a server error.
				case err != nil:
					p.errors[err.Error()]++
				default:
					p.status[code]++
					p.latencies = append(p.latencies, d)
				}
			}
			parts[w] = p
		})
	}
	wg.Wait()
	res := result{elapsed: time.Since(start), status: map[int]int{}, errors: map[string]int{}, stopped: "duration"}
	switch {
	case ctx.Err() != nil:
		res.stopped = "interrupted"
	case started.Load() > o.max:
		res.stopped = "max requests"
	}
	for _, p := range parts {
		res.latencies = append(res.latencies, p.latencies...)
		for k, v := range p.status {
			res.status[k] += v
		}
		for k, v := range p.errors {
			res.errors[k] += v
		}
	}
	slices.Sort(res.latencies)
	return res
}

func report(w io.Writer, r result, o options, want int) {
	total := r.total()
	fmt.Fprintf(w, "requests     %d in %s (stopped by %s)\n", total, r.elapsed.Round(time.Millisecond), r.stopped)
	fmt.Fprintf(w, "throughput   %.1f req/s\n", float64(total)/r.elapsed.Seconds())
	if len(r.latencies) > 0 {
		fmt.Fprintf(w, "latency      p50 %s  p90 %s  p99 %s  max %s\n",
			fmtDur(percentile(r.latencies, 50)), fmtDur(percentile(r.latencies, 90)),
			fmtDur(percentile(r.latencies, 99)), fmtDur(r.latencies[len(r.latencies)-1]))
	}
	codes := make([]int, 0, len(r.status))
	for code := range r.status {
		codes = append(codes, code)
	}
	slices.Sort(codes)
	var parts []string
	for _, code := range codes {
		mark := ""
		if code != want {
			mark = " (unexpected)"
		}
		parts = append(parts, fmt.Sprintf("%d: %d%s", code, r.status[code], mark))
	}
	if len(parts) == 0 {
		parts = []string{"none"}
	}
	fmt.Fprintf(w, "status       %s\n", strings.Join(parts, ", "))
	for msg, n := range r.errors {
		fmt.Fprintf(w, "error        %d× %s\n", n, msg)
	}
}

// percentile is the nearest-rank percentile of sorted durations.
func percentile(sorted []time.Duration, p int) time.Duration {
	if len(sorted) == 0 {
		return 0
	}
	rank := (p*len(sorted) + 99) / 100 // ceil(p/100 × n)
	return sorted[max(rank, 1)-1]
}

func fmtDur(d time.Duration) string {
	switch {
	case d >= time.Second:
		return d.Round(time.Millisecond).String()
	case d >= time.Millisecond:
		return d.Round(10 * time.Microsecond).String()
	default:
		return d.Round(time.Microsecond).String()
	}
}

// client talks to the server's API.
type client struct {
	base  *url.URL
	http  *http.Client
	token string
}

func (c *client) url(path string) string { return c.base.String() + path }

// send makes one request, with the session token when auth, reads the whole
// answer (so the connection is reused) and returns its status.
func (c *client) send(ctx context.Context, method, target string, body []byte, userAgent string, auth bool) (int, error) {
	var rd io.Reader
	if body != nil {
		rd = bytes.NewReader(body)
	}
	req, err := http.NewRequestWithContext(ctx, method, target, rd)
	if err != nil {
		return 0, err
	}
	if userAgent != "" {
		req.Header.Set("User-Agent", userAgent)
	}
	if body != nil {
		req.Header.Set("Content-Type", "application/json")
	}
	if auth {
		req.Header.Set("Authorization", "Bearer "+c.token)
	}
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

// fixture is what a scenario runs against.
type fixture struct {
	programID, referrerID, code, referralID string
}

// setup creates and activates a program, enrols a referrer and, for the
// conversion scenario, submits a referral — all named after this run.
func (c *client) setup(ctx context.Context, scenario, runID string) (fixture, error) {
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
	if scenario == "conversion" {
		var ref struct {
			ID string `json:"id"`
		}
		err = c.call(ctx, http.MethodPost, "/v1/referrals",
			map[string]string{"code": rf.Code, "email": "friend-" + runID + "@example.org", "name": "Load Friend"}, http.StatusCreated, &ref)
		if err != nil {
			return fx, err
		}
		fx.referralID = ref.ID
	}
	return fx, nil
}

// clicks is the referrer's counted clicks.
func (c *client) clicks(ctx context.Context, referrerID string) (int64, error) {
	var rf struct {
		Clicks int64 `json:"clicks"`
	}
	err := c.call(ctx, http.MethodGet, "/v1/referrers/"+referrerID, nil, http.StatusOK, &rf)
	return rf.Clicks, err
}
