package main

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/aws/aws-lambda-go/events"
	"github.com/aws/aws-lambda-go/lambda"
	"github.com/aws/aws-lambda-go/lambdacontext"
)

// fakeFunctionEnv makes the test binary act as a Lambda function (through
// the real aws-lambda-go runtime client), so run can be tested end to end
// without building anything.
const fakeFunctionEnv = "INVOKE_TEST_FAKE_FUNCTION"

func TestMain(m *testing.M) {
	if os.Getenv(fakeFunctionEnv) != "" {
		lambda.Start(fakeHandler) // never returns
	}
	os.Exit(m.Run())
}

func fakeHandler(ctx context.Context, req events.APIGatewayV2HTTPRequest) (events.APIGatewayV2HTTPResponse, error) {
	switch req.RawPath {
	case "/fail":
		return events.APIGatewayV2HTTPResponse{}, errors.New("boom")
	case "/sleep":
		time.Sleep(time.Minute)
	case "/exit":
		os.Exit(3)
	case "/panic":
		panic("kaboom")
	}
	lc, _ := lambdacontext.FromContext(ctx)
	deadline, _ := ctx.Deadline()
	body, _ := json.Marshal(map[string]any{
		"rawPath":      req.RawPath,
		"routeKey":     req.RouteKey,
		"requestId":    lc.AwsRequestID,
		"functionArn":  lc.InvokedFunctionArn,
		"functionName": os.Getenv("AWS_LAMBDA_FUNCTION_NAME"),
		"memory":       os.Getenv("AWS_LAMBDA_FUNCTION_MEMORY_SIZE"),
		"callerVar":    os.Getenv("INVOKE_TEST_CALLER_VAR"),
		"traceId":      os.Getenv("_X_AMZN_TRACE_ID"),
		"secondsLeft":  int(time.Until(deadline).Round(time.Second).Seconds()),
	})
	return events.APIGatewayV2HTTPResponse{
		StatusCode: 200,
		Headers:    map[string]string{"Content-Type": "application/json"},
		Cookies:    []string{"ref=abc; Path=/"},
		Body:       string(body),
	}, nil
}

func writeEvent(t *testing.T, rawPath string) string {
	t.Helper()
	ev := fmt.Sprintf(`{"version":"2.0","routeKey":"GET /r/{code}","rawPath":%q,"requestContext":{"stage":"$default"},"isBase64Encoded":false}`, rawPath)
	p := filepath.Join(t.TempDir(), "event.json")
	if err := os.WriteFile(p, []byte(ev), 0o600); err != nil {
		t.Fatal(err)
	}
	return p
}

func runFake(t *testing.T, eventPath string, extraArgs ...string) (code int, stdout, stderr string) {
	t.Helper()
	bin, err := os.Executable()
	if err != nil {
		t.Fatal(err)
	}
	env := append(os.Environ(), fakeFunctionEnv+"=1", "INVOKE_TEST_CALLER_VAR=from-caller", "CODE=spring26")
	args := append([]string{"-fn", "fake", "-event", eventPath, "-bootstrap", bin, "-grace", "200ms"}, extraArgs...)
	var out, errb bytes.Buffer
	code = run(context.Background(), args, env, &out, &errb)
	return code, out.String(), errb.String()
}

func TestRunResponse(t *testing.T) {
	code, stdout, stderr := runFake(t, writeEvent(t, "/r/${CODE}"), "-timeout", "20s")
	if code != exitOK {
		t.Fatalf("exit %d\nstdout:\n%s\nstderr:\n%s", code, stdout, stderr)
	}
	var resp events.APIGatewayV2HTTPResponse
	if err := json.Unmarshal([]byte(stdout), &resp); err != nil {
		t.Fatalf("stdout is not the response JSON: %v\n%s", err, stdout)
	}
	if !strings.Contains(stdout, "\n  \"statusCode\": 200") {
		t.Errorf("stdout is not pretty-printed:\n%s", stdout)
	}
	var got map[string]any
	if err := json.Unmarshal([]byte(resp.Body), &got); err != nil {
		t.Fatal(err)
	}
	want := map[string]any{
		"rawPath":      "/r/spring26", // placeholder filled from the environment
		"routeKey":     "GET /r/{code}",
		"functionName": "partnerloop-fake",
		"functionArn":  "arn:aws:lambda:us-east-1:123456789012:function:partnerloop-fake",
		"memory":       "256",
		"callerVar":    "from-caller",
	}
	if os.Getenv("AWS_REGION") != "" || os.Getenv("AWS_DEFAULT_REGION") != "" {
		delete(want, "functionArn")
	}
	for k, v := range want {
		if got[k] != v {
			t.Errorf("%s = %v, want %v", k, got[k], v)
		}
	}
	if left, _ := got["secondsLeft"].(float64); left < 10 || left > 20 {
		t.Errorf("secondsLeft = %v, want the -timeout of 20s minus the start-up", got["secondsLeft"])
	}
	if id, _ := got["requestId"].(string); len(id) != 36 || !strings.Contains(stderr, "RequestId: "+id) {
		t.Errorf("requestId %q not reported on stderr:\n%s", id, stderr)
	}
	if tr, _ := got["traceId"].(string); !strings.HasPrefix(tr, "Root=1-") {
		t.Errorf("trace id %q", tr)
	}
	for _, s := range []string{"HTTP 200 OK\n", "content-type: application/json\n", "set-cookie: ref=abc; Path=/\n", `"rawPath": "/r/spring26"`} {
		if !strings.Contains(stderr, s) {
			t.Errorf("stderr lacks %q:\n%s", s, stderr)
		}
	}
}

func TestRunFunctionError(t *testing.T) {
	code, stdout, stderr := runFake(t, writeEvent(t, "/fail"))
	if code != exitFunction {
		t.Fatalf("exit %d, want %d\n%s", code, exitFunction, stderr)
	}
	if !strings.Contains(stdout, `"errorMessage": "boom"`) {
		t.Errorf("stdout lacks the error payload:\n%s", stdout)
	}
}

func TestRunPanic(t *testing.T) {
	code, stdout, stderr := runFake(t, writeEvent(t, "/panic"))
	if code != exitFunction || !strings.Contains(stdout, "kaboom") {
		t.Fatalf("exit %d\nstdout:\n%s\nstderr:\n%s", code, stdout, stderr)
	}
}

func TestRunTimeout(t *testing.T) {
	start := time.Now()
	code, stdout, stderr := runFake(t, writeEvent(t, "/sleep"), "-timeout", "1500ms")
	if code != exitFunction || !strings.Contains(stdout, "Task timed out after 1.50 seconds") {
		t.Fatalf("exit %d\nstdout:\n%s\nstderr:\n%s", code, stdout, stderr)
	}
	if d := time.Since(start); d > 15*time.Second {
		t.Errorf("took %v", d)
	}
}

func TestRunExitBeforeResponse(t *testing.T) {
	code, stdout, stderr := runFake(t, writeEvent(t, "/exit"))
	if code != exitFunction || !strings.Contains(stdout, "Runtime.ExitError") || !strings.Contains(stdout, "exit status 3") {
		t.Fatalf("exit %d\nstdout:\n%s\nstderr:\n%s", code, stdout, stderr)
	}
}

func TestRunMissingPlaceholder(t *testing.T) {
	var out, errb bytes.Buffer
	code := run(context.Background(),
		[]string{"-fn", "fake", "-event", writeEvent(t, "/r/${NOT_SET_ANYWHERE}"), "-bootstrap", "/nonexistent"},
		[]string{"PATH=/usr/bin"}, &out, &errb)
	if code != exitUsage || !strings.Contains(errb.String(), "NOT_SET_ANYWHERE") {
		t.Fatalf("exit %d, stderr %q", code, errb.String())
	}
}

func TestParseFlags(t *testing.T) {
	for _, tc := range []struct {
		args []string
		want string // error substring; empty for success
	}{
		{[]string{"-fn", "tracking", "-event", "e.json"}, ""},
		{[]string{"-event", "e.json"}, "-fn is required"},
		{[]string{"-fn", "../etc", "-event", "e.json"}, "want a directory name"},
		{[]string{"-fn", "tracking"}, "-event is required"},
		{[]string{"-fn", "tracking", "-event", "e.json", "-timeout", "0s"}, "-timeout"},
		{[]string{"-fn", "tracking", "-event", "e.json", "extra"}, "unexpected arguments"},
	} {
		o, err := parseFlags(tc.args, &bytes.Buffer{})
		switch {
		case tc.want == "" && err != nil:
			t.Errorf("%v: %v", tc.args, err)
		case tc.want == "" && (o.name != "partnerloop-tracking" || o.timeout != 30*time.Second):
			t.Errorf("%v: defaults %+v", tc.args, o)
		case tc.want != "" && (err == nil || !strings.Contains(err.Error(), tc.want)):
			t.Errorf("%v: err %v, want %q", tc.args, err, tc.want)
		}
	}
}

func TestAPIGatewaySummary(t *testing.T) {
	got, ok := apiGatewaySummary([]byte(`{"statusCode":302,"headers":{"Location":"https://example.com/?ref=x"},` +
		`"multiValueHeaders":{"Vary":["Cookie","Accept"]},"cookies":["ref=x; Max-Age=2592000"],"body":"aGk=","isBase64Encoded":true}`))
	want := "HTTP 302 Found\nlocation: https://example.com/?ref=x\nvary: Cookie\nvary: Accept\n" +
		"set-cookie: ref=x; Max-Age=2592000\n\nhi\n"
	if !ok || got != want {
		t.Fatalf("got %q, want %q", got, want)
	}
	if _, ok := apiGatewaySummary([]byte(`{"items":[]}`)); ok {
		t.Error("a non-API Gateway payload was summarised")
	}
	if _, ok := apiGatewaySummary([]byte(`"text"`)); ok {
		t.Error("a string payload was summarised")
	}
	got, _ = apiGatewaySummary([]byte(`{"statusCode":404,"headers":{"content-type":"application/problem+json"},"body":"{\"status\":404}"}`))
	if !strings.Contains(got, "{\n  \"status\": 404\n}") {
		t.Errorf("problem+json body not pretty: %q", got)
	}
}

func TestEnvList(t *testing.T) {
	e := newEnv([]string{"A=1", "B=2", "A=3", "bad", "=x", "C=a=b"})
	e.unset("B")
	e.set("D", "4")
	if got, want := strings.Join(e.list(), " "), "A=3 C=a=b D=4"; got != want {
		t.Fatalf("list %q, want %q", got, want)
	}
	c := e.clone()
	c.set("A", "changed")
	if e.get("A") != "3" {
		t.Error("clone shares state")
	}
	if _, ok := e.lookup("B"); ok {
		t.Error("unset key still found")
	}
}
