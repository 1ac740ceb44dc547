// Command invoke runs one Lambda function locally with one event: the
// project's stand-in for `sam local invoke`, without Docker.
//
//	go run ./infra/local/invoke -fn tracking -event events/tracking-redirect.json
//	make invoke FN=tracking EVENT=events/tracking-redirect.json
//
// It builds ./functions/<fn> for the host (go build -tags lambda.norpc, as
// the Lambda build does but without cross-compiling), serves an emulator of
// the Lambda Runtime API on a free 127.0.0.1 port, runs the binary with
// AWS_LAMBDA_RUNTIME_API pointing at it and the Lambda environment variables
// on top of the caller's environment, hands it the event and waits for its
// response or error.
//
// ${VAR} placeholders in the event file are filled from the environment
// (TOKEN=... CODE=... make invoke ...); one without a value is an error.
//
// Output: the function's response payload, pretty-printed, on stdout. For an
// API Gateway response the status line, headers and decoded body go to
// stderr for humans, together with the function's own logs. The exit code
// is 0 when the function returned a response (whatever its HTTP status), 1
// on a function error, an init error, a crash or a timeout, 2 on bad usage
// or a failed build.
//
// The configuration of the function (STORE, TABLE_NAME, endpoints of local
// emulators, ...) comes from the caller's environment only; the template's
// values are not applied. The function runs in a temporary task root, as in
// Lambda, so relative paths in the environment are relative to that.
package main

import (
	"bytes"
	"context"
	"encoding/base64"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"io"
	"mime"
	"net"
	"net/http"
	"os"
	"os/exec"
	"os/signal"
	"path/filepath"
	"regexp"
	"runtime"
	"sort"
	"strconv"
	"strings"
	"time"
	"unicode/utf8"

	"github.com/partnerloop/partnerloop/internal/eventfile"
)

const (
	exitOK       = 0
	exitFunction = 1 // the function failed, crashed or timed out
	exitUsage    = 2 // bad flags, event file or build
)

// fnName is what -fn accepts: a directory name under functions/.
var fnName = regexp.MustCompile(`^[a-z0-9][a-z0-9-]*$`)

// options are the command's flags.
type options struct {
	fn        string
	event     string
	timeout   time.Duration
	name      string
	memoryMB  int
	bootstrap string
	grace     time.Duration
}

func main() {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt)
	defer stop()
	os.Exit(run(ctx, os.Args[1:], os.Environ(), os.Stdout, os.Stderr))
}

func parseFlags(args []string, stderr io.Writer) (options, error) {
	var o options
	fs := flag.NewFlagSet("invoke", flag.ContinueOnError)
	fs.SetOutput(stderr)
	fs.StringVar(&o.fn, "fn", "", "function to run: the directory name under functions/ (e.g. tracking)")
	fs.StringVar(&o.event, "event", "", "event JSON file; ${VAR} placeholders are filled from the environment")
	fs.DurationVar(&o.timeout, "timeout", 30*time.Second, "function timeout (deadline given to the function; the process is killed after it)")
	fs.StringVar(&o.name, "name", "", "AWS_LAMBDA_FUNCTION_NAME (default partnerloop-<fn>)")
	fs.IntVar(&o.memoryMB, "memory", 256, "AWS_LAMBDA_FUNCTION_MEMORY_SIZE in MB (informational)")
	fs.StringVar(&o.bootstrap, "bootstrap", "", "run this prebuilt binary instead of building ./functions/<fn>")
	fs.DurationVar(&o.grace, "grace", 2*time.Second, "after the outcome, how long to wait for the function to ask for the next event before killing it")
	fs.Usage = func() {
		fmt.Fprintf(stderr, "usage: invoke -fn <name> -event <file.json> [flags]\n\n"+
			"Runs functions/<name> once with the event against a local Lambda Runtime API emulator.\n\n")
		fs.PrintDefaults()
	}
	if err := fs.Parse(args); err != nil {
		return o, err
	}
	switch {
	case fs.NArg() > 0:
		return o, fmt.Errorf("unexpected arguments: %q", fs.Args())
	case o.fn == "":
		return o, errors.New("-fn is required (e.g. -fn tracking)")
	case !fnName.MatchString(o.fn):
		return o, fmt.Errorf("-fn %q: want a directory name under functions/, like tracking", o.fn)
	case o.event == "":
		return o, errors.New("-event is required (e.g. -event events/tracking-redirect.json)")
	case o.timeout <= 0:
		return o, errors.New("-timeout must be positive")
	}
	if o.name == "" {
		o.name = "partnerloop-" + o.fn
	}
	return o, nil
}

// run is the whole command; it returns the exit code.
func run(ctx context.Context, args, environ []string, stdout, stderr io.Writer) int {
	o, err := parseFlags(args, stderr)
	if errors.Is(err, flag.ErrHelp) {
		return exitOK
	}
	if err != nil {
		fmt.Fprintf(stderr, "invoke: %v\n", err)
		return exitUsage
	}
	env := newEnv(environ)

	payload, err := eventfile.Load(o.event, env.lookup)
	if err != nil {
		fmt.Fprintf(stderr, "invoke: %v\n", err)
		return exitUsage
	}
	if !json.Valid(payload) {
		fmt.Fprintf(stderr, "invoke: %s: the event is not valid JSON (after filling placeholders)\n", o.event)
		return exitUsage
	}

	taskRoot, err := os.MkdirTemp("", "partnerloop-invoke-")
	if err != nil {
		fmt.Fprintf(stderr, "invoke: %v\n", err)
		return exitUsage
	}
	defer os.RemoveAll(taskRoot)

	bin := o.bootstrap
	if bin == "" {
		bin = filepath.Join(taskRoot, "bootstrap")
		if err := build(ctx, o.fn, bin, env, stderr); err != nil {
			fmt.Fprintf(stderr, "invoke: %v\n", err)
			return exitUsage
		}
	} else if bin, err = filepath.Abs(bin); err != nil {
		fmt.Fprintf(stderr, "invoke: %v\n", err)
		return exitUsage
	}

	res, err := invoke(ctx, o, bin, taskRoot, payload, env, stderr)
	if err != nil {
		fmt.Fprintf(stderr, "invoke: %v\n", err)
		return exitFunction
	}
	return report(res, stdout, stderr)
}

// build compiles ./functions/<fn> of the enclosing module for the host.
func build(ctx context.Context, fn, out string, env *envList, stderr io.Writer) error {
	root, err := moduleRoot()
	if err != nil {
		return err
	}
	pkg := "./functions/" + fn
	if st, err := os.Stat(filepath.Join(root, "functions", fn)); err != nil || !st.IsDir() {
		return fmt.Errorf("no function %q: %s does not exist in %s", fn, pkg, root)
	}
	fmt.Fprintf(stderr, "invoke: go build -tags lambda.norpc -o %s %s\n", out, pkg)
	cmd := exec.CommandContext(ctx, "go", "build", "-tags", "lambda.norpc", "-o", out, pkg)
	cmd.Dir = root
	benv := env.clone()
	benv.set("GOOS", runtime.GOOS)
	benv.set("GOARCH", runtime.GOARCH)
	benv.set("CGO_ENABLED", "0")
	cmd.Env = benv.list()
	cmd.Stdout = stderr
	cmd.Stderr = stderr
	if err := cmd.Run(); err != nil {
		return fmt.Errorf("building %s: %w", pkg, err)
	}
	return nil
}

// moduleRoot finds the directory of the nearest go.mod at or above the
// working directory, so invoke works from any directory of the repository.
func moduleRoot() (string, error) {
	dir, err := os.Getwd()
	if err != nil {
		return "", err
	}
	for {
		if _, err := os.Stat(filepath.Join(dir, "go.mod")); err == nil {
			return dir, nil
		}
		parent := filepath.Dir(dir)
		if parent == dir {
			return "", errors.New("no go.mod found at or above the working directory")
		}
		dir = parent
	}
}

// result is the end of one invocation.
type result struct {
	outcome   outcome
	requestID string
	duration  time.Duration
}

// invoke runs bin once against a Runtime API emulator serving payload.
func invoke(ctx context.Context, o options, bin, taskRoot string, payload []byte, env *envList, stderr io.Writer) (result, error) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return result{}, fmt.Errorf("listening for the runtime API: %w", err)
	}
	region := firstNonEmpty(env.get("AWS_REGION"), env.get("AWS_DEFAULT_REGION"), "us-east-1")
	start := time.Now()
	inv := invocation{
		RequestID:   newRequestID(),
		Payload:     payload,
		Deadline:    start.Add(o.timeout),
		FunctionARN: fmt.Sprintf("arn:aws:lambda:%s:123456789012:function:%s", region, o.name),
		TraceID:     newTraceID(start),
	}
	api := newRuntimeAPI(inv)
	srv := &http.Server{Handler: api, ReadHeaderTimeout: 10 * time.Second}
	go func() { _ = srv.Serve(ln) }()
	defer func() {
		api.Close()
		_ = srv.Close()
	}()

	fenv := functionEnv(env, o, ln.Addr().String(), region, taskRoot, start)
	cmd := exec.Command(bin)
	cmd.Dir = taskRoot
	cmd.Env = fenv.list()
	cmd.Stdout = stderr // the function's logs; stdout carries only the response
	cmd.Stderr = stderr
	if err := cmd.Start(); err != nil {
		return result{}, fmt.Errorf("starting %s: %w", bin, err)
	}
	exited := make(chan error, 1)
	go func() { exited <- cmd.Wait() }()
	kill := func() {
		_ = cmd.Process.Kill()
		<-exited
	}

	timer := time.NewTimer(time.Until(inv.Deadline))
	defer timer.Stop()
	res := result{requestID: inv.RequestID}
	select {
	case <-api.Done():
		res.duration = time.Since(start)
		res.outcome, _ = api.Outcome()
		// The invocation is complete when the runtime asks for the next
		// event; give it a moment (to finish logging), then stop it.
		grace := time.NewTimer(o.grace)
		select {
		case <-api.Idle():
			kill()
		case err := <-exited:
			if res.outcome.Kind == outcomeResponse && err != nil {
				fmt.Fprintf(stderr, "invoke: the function exited after responding: %v\n", err)
			}
		case <-grace.C:
			kill()
		case <-timer.C:
			kill()
		}
		grace.Stop()
		return res, nil
	case err := <-exited:
		res.duration = time.Since(start)
		if out, ok := api.Outcome(); ok {
			res.outcome = out
			return res, nil
		}
		msg := fmt.Sprintf("RequestId: %s Error: Runtime exited without providing a reason: %v", inv.RequestID, err)
		if err == nil {
			msg = fmt.Sprintf("RequestId: %s Error: Runtime exited with exit status 0 before responding", inv.RequestID)
		}
		res.outcome = outcome{Kind: outcomeFunctionError, ErrorType: "Runtime.ExitError",
			Payload: errorJSON("Runtime.ExitError", msg), ContentType: "application/json"}
		return res, nil
	case <-timer.C:
		kill()
		res.duration = time.Since(start)
		if out, ok := api.Outcome(); ok {
			res.outcome = out
			return res, nil
		}
		msg := fmt.Sprintf("%s %s Task timed out after %.2f seconds",
			time.Now().UTC().Format("2006-01-02T15:04:05.000Z"), inv.RequestID, o.timeout.Seconds())
		res.outcome = outcome{Kind: outcomeFunctionError, ErrorType: "Sandbox.Timedout",
			Payload: errorJSON("Sandbox.Timedout", msg), ContentType: "application/json"}
		return res, nil
	case <-ctx.Done():
		kill()
		return res, fmt.Errorf("interrupted: %w", ctx.Err())
	}
}

// functionEnv is the caller's environment with Lambda's reserved variables
// on top.
func functionEnv(env *envList, o options, apiAddr, region, taskRoot string, now time.Time) *envList {
	e := env.clone()
	e.unset("_LAMBDA_SERVER_PORT") // RPC mode of old Go runtimes; never wanted here
	set := [][2]string{
		{"AWS_LAMBDA_RUNTIME_API", apiAddr},
		{"AWS_LAMBDA_FUNCTION_NAME", o.name},
		{"AWS_LAMBDA_FUNCTION_VERSION", "$LATEST"},
		{"AWS_LAMBDA_FUNCTION_MEMORY_SIZE", strconv.Itoa(o.memoryMB)},
		{"AWS_LAMBDA_INITIALIZATION_TYPE", "on-demand"},
		{"AWS_LAMBDA_LOG_GROUP_NAME", "/aws/lambda/" + o.name},
		{"AWS_LAMBDA_LOG_STREAM_NAME", now.UTC().Format("2006/01/02") + "/[$LATEST]" + strings.ReplaceAll(newRequestID(), "-", "")},
		{"AWS_REGION", region},
		{"AWS_DEFAULT_REGION", region},
		{"LAMBDA_TASK_ROOT", taskRoot},
		{"LAMBDA_RUNTIME_DIR", taskRoot},
		{"_HANDLER", "bootstrap"},
		{"TZ", ":UTC"},
	}
	for _, kv := range set {
		e.set(kv[0], kv[1])
	}
	return e
}

// report prints the outcome and returns the exit code.
func report(res result, stdout, stderr io.Writer) int {
	o := res.outcome
	fmt.Fprintf(stderr, "invoke: REPORT RequestId: %s Duration: %.2f ms Outcome: %s\n",
		res.requestID, float64(res.duration.Microseconds())/1000, o.Kind)
	writePretty(stdout, o.Payload)
	if o.Kind != outcomeResponse {
		fmt.Fprintf(stderr, "invoke: the function failed (%s, %s)\n", o.Kind, o.ErrorType)
		return exitFunction
	}
	if summary, ok := apiGatewaySummary(o.Payload); ok {
		fmt.Fprint(stderr, summary)
	}
	return exitOK
}

// writePretty writes payload indented when it is JSON, as is otherwise.
func writePretty(w io.Writer, payload []byte) {
	var buf bytes.Buffer
	if json.Indent(&buf, payload, "", "  ") == nil {
		buf.WriteByte('\n')
		_, _ = w.Write(buf.Bytes())
		return
	}
	_, _ = w.Write(payload)
	if len(payload) > 0 && payload[len(payload)-1] != '\n' {
		_, _ = io.WriteString(w, "\n")
	}
}

// apiGatewayResponse is the API Gateway (v1 or v2) proxy response shape.
type apiGatewayResponse struct {
	StatusCode        int                 `json:"statusCode"`
	Headers           map[string]string   `json:"headers"`
	MultiValueHeaders map[string][]string `json:"multiValueHeaders"`
	Cookies           []string            `json:"cookies"`
	Body              string              `json:"body"`
	IsBase64Encoded   bool                `json:"isBase64Encoded"`
}

// apiGatewaySummary renders an API Gateway response for humans: status
// line, headers, blank line, decoded body. ok is false for other payloads.
func apiGatewaySummary(payload []byte) (string, bool) {
	var probe map[string]json.RawMessage
	if json.Unmarshal(payload, &probe) != nil || probe["statusCode"] == nil {
		return "", false
	}
	var r apiGatewayResponse
	if json.Unmarshal(payload, &r) != nil || r.StatusCode == 0 {
		return "", false
	}
	var b strings.Builder
	fmt.Fprintf(&b, "HTTP %d %s\n", r.StatusCode, http.StatusText(r.StatusCode))
	headers := map[string][]string{}
	for k, v := range r.Headers {
		headers[strings.ToLower(k)] = append(headers[strings.ToLower(k)], v)
	}
	for k, vs := range r.MultiValueHeaders {
		if _, single := r.Headers[k]; single {
			continue
		}
		headers[strings.ToLower(k)] = append(headers[strings.ToLower(k)], vs...)
	}
	names := make([]string, 0, len(headers))
	for k := range headers {
		names = append(names, k)
	}
	sort.Strings(names)
	for _, k := range names {
		for _, v := range headers[k] {
			fmt.Fprintf(&b, "%s: %s\n", k, v)
		}
	}
	for _, c := range r.Cookies {
		fmt.Fprintf(&b, "set-cookie: %s\n", c)
	}
	body := []byte(r.Body)
	if r.IsBase64Encoded {
		dec, err := base64.StdEncoding.DecodeString(r.Body)
		if err != nil {
			fmt.Fprintf(&b, "\n[body marked base64 but not decodable: %v]\n", err)
			return b.String(), true
		}
		body = dec
	}
	if len(body) == 0 {
		return b.String(), true
	}
	b.WriteByte('\n')
	ctype := headers["content-type"]
	mt := ""
	if len(ctype) > 0 {
		mt, _, _ = mime.ParseMediaType(ctype[0])
	}
	var pretty bytes.Buffer
	switch {
	case (mt == "application/json" || strings.HasSuffix(mt, "+json")) && json.Indent(&pretty, body, "", "  ") == nil:
		b.Write(pretty.Bytes())
	case utf8.Valid(body):
		b.Write(body)
	default:
		fmt.Fprintf(&b, "[%d bytes of binary body]", len(body))
	}
	b.WriteByte('\n')
	return b.String(), true
}

func firstNonEmpty(vs ...string) string {
	for _, v := range vs {
		if v != "" {
			return v
		}
	}
	return ""
}

// envList is an environment (KEY=value list) with the last value of a key
// winning, as in exec.Cmd.Env.
type envList struct {
	keys []string
	vals map[string]string
}

func newEnv(environ []string) *envList {
	e := &envList{vals: map[string]string{}}
	for _, kv := range environ {
		k, v, ok := strings.Cut(kv, "=")
		if !ok || k == "" {
			continue
		}
		e.set(k, v)
	}
	return e
}

func (e *envList) set(k, v string) {
	if _, ok := e.vals[k]; !ok {
		e.keys = append(e.keys, k)
	}
	e.vals[k] = v
}

func (e *envList) unset(k string) {
	if _, ok := e.vals[k]; !ok {
		return
	}
	delete(e.vals, k)
	for i, x := range e.keys {
		if x == k {
			e.keys = append(e.keys[:i], e.keys[i+1:]...)
			break
		}
	}
}

func (e *envList) get(k string) string { return e.vals[k] }

func (e *envList) lookup(k string) (string, bool) {
	v, ok := e.vals[k]
	return v, ok
}

func (e *envList) clone() *envList {
	c := &envList{keys: append([]string(nil), e.keys...), vals: make(map[string]string, len(e.vals))}
	for k, v := range e.vals {
		c.vals[k] = v
	}
	return c
}

func (e *envList) list() []string {
	out := make([]string, 0, len(e.keys))
	for _, k := range e.keys {
		out = append(out, k+"="+e.vals[k])
	}
	return out
}
