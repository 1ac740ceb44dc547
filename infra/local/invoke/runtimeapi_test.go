package main

import (
	"bytes"
	"context"
	"encoding/base64"
	"encoding/json"
	"io"
	"net/http"
	"net/http/httptest"
	"strconv"
	"strings"
	"testing"
	"time"
)

const testRequestID = "8476a536-e9f4-11e8-9739-2dfe598c3fcd"

func newTestAPI(t *testing.T) (*runtimeAPI, *httptest.Server, invocation) {
	t.Helper()
	inv := invocation{
		RequestID:   testRequestID,
		Payload:     []byte(`{"version":"2.0","rawPath":"/r/abc"}`),
		Deadline:    time.UnixMilli(1767225630000),
		FunctionARN: "arn:aws:lambda:us-east-1:123456789012:function:partnerloop-tracking",
		TraceID:     "Root=1-5bef4de7-ad49b0e87f6ef6c87fc2e700;Parent=9a9197af755a6419;Sampled=0",
	}
	api := newRuntimeAPI(inv)
	srv := httptest.NewServer(api)
	t.Cleanup(func() { api.Close(); srv.Close() })
	return api, srv, inv
}

func do(t *testing.T, method, url, contentType string, body []byte) (*http.Response, []byte) {
	t.Helper()
	req, err := http.NewRequest(method, url, bytes.NewReader(body))
	if err != nil {
		t.Fatal(err)
	}
	if contentType != "" {
		req.Header.Set("Content-Type", contentType)
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	if err != nil {
		t.Fatal(err)
	}
	return resp, b
}

func isClosed(c <-chan struct{}) bool {
	select {
	case <-c:
		return true
	default:
		return false
	}
}

func TestRuntimeAPINextThenResponse(t *testing.T) {
	api, srv, inv := newTestAPI(t)
	base := srv.URL + runtimePrefix

	resp, body := do(t, http.MethodGet, base+"/invocation/next", "", nil)
	if resp.StatusCode != http.StatusOK {
		t.Fatalf("next: status %d", resp.StatusCode)
	}
	if string(body) != string(inv.Payload) {
		t.Errorf("next: body %s, want %s", body, inv.Payload)
	}
	for h, want := range map[string]string{
		hdrRequestID:   inv.RequestID,
		hdrDeadlineMS:  strconv.FormatInt(inv.Deadline.UnixMilli(), 10),
		hdrFunctionARN: inv.FunctionARN,
		hdrTraceID:     inv.TraceID,
		"Content-Type": "application/json",
	} {
		if got := resp.Header.Get(h); got != want {
			t.Errorf("next: header %s = %q, want %q", h, got, want)
		}
	}
	if isClosed(api.Done()) {
		t.Fatal("done before any outcome")
	}

	out := []byte(`{"statusCode":200,"body":"ok"}`)
	resp, _ = do(t, http.MethodPost, base+"/invocation/"+inv.RequestID+"/response", "application/json", out)
	if resp.StatusCode != http.StatusAccepted {
		t.Fatalf("response: status %d, want 202", resp.StatusCode)
	}
	if !isClosed(api.Done()) {
		t.Fatal("not done after the response")
	}
	got, ok := api.Outcome()
	if !ok || got.Kind != outcomeResponse || string(got.Payload) != string(out) || got.ContentType != "application/json" {
		t.Fatalf("outcome = %+v, %v", got, ok)
	}

	// A second outcome for the same invocation is refused.
	resp, body = do(t, http.MethodPost, base+"/invocation/"+inv.RequestID+"/error", "application/json", []byte(`{}`))
	if resp.StatusCode != http.StatusForbidden || !strings.Contains(string(body), "InvalidStateTransition") {
		t.Fatalf("second outcome: %d %s", resp.StatusCode, body)
	}
	if o, _ := api.Outcome(); o.Kind != outcomeResponse {
		t.Fatalf("outcome changed to %v", o.Kind)
	}

	// The runtime asking for the next event completes the invocation: the
	// call blocks (the sandbox would be frozen) until the emulator closes.
	nextDone := make(chan int, 1)
	go func() {
		resp, err := http.Get(base + "/invocation/next")
		if err != nil {
			nextDone <- -1
			return
		}
		resp.Body.Close()
		nextDone <- resp.StatusCode
	}()
	select {
	case <-api.Idle():
	case <-time.After(5 * time.Second):
		t.Fatal("not idle after the second next")
	}
	select {
	case code := <-nextDone:
		t.Fatalf("second next returned %d instead of blocking", code)
	case <-time.After(50 * time.Millisecond):
	}
	api.Close()
	select {
	case code := <-nextDone:
		if code != http.StatusInternalServerError {
			t.Errorf("second next after Close: %d", code)
		}
	case <-time.After(5 * time.Second):
		t.Fatal("second next still blocked after Close")
	}
}

func TestRuntimeAPIFunctionError(t *testing.T) {
	api, srv, inv := newTestAPI(t)
	base := srv.URL + runtimePrefix
	do(t, http.MethodGet, base+"/invocation/next", "", nil)

	errBody := []byte(`{"errorMessage":"boom","errorType":"errorString"}`)
	resp, _ := do(t, http.MethodPost, base+"/invocation/"+inv.RequestID+"/error", "application/json", errBody)
	if resp.StatusCode != http.StatusAccepted {
		t.Fatalf("error: status %d", resp.StatusCode)
	}
	got, ok := api.Outcome()
	if !ok || got.Kind != outcomeFunctionError || got.ErrorType != "errorString" || string(got.Payload) != string(errBody) {
		t.Fatalf("outcome = %+v", got)
	}
}

func TestRuntimeAPIErrorTypeHeaderWins(t *testing.T) {
	api, srv, inv := newTestAPI(t)
	base := srv.URL + runtimePrefix
	do(t, http.MethodGet, base+"/invocation/next", "", nil)
	req, _ := http.NewRequest(http.MethodPost, base+"/invocation/"+inv.RequestID+"/error", strings.NewReader(`{"errorType":"x"}`))
	req.Header.Set(hdrErrorType, "Runtime.Custom")
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if got, _ := api.Outcome(); got.ErrorType != "Runtime.Custom" {
		t.Fatalf("error type %q", got.ErrorType)
	}
}

func TestRuntimeAPIRejectsUnknownRequestID(t *testing.T) {
	api, srv, inv := newTestAPI(t)
	base := srv.URL + runtimePrefix

	// Before the event was handed out, no ID is valid.
	resp, body := do(t, http.MethodPost, base+"/invocation/"+inv.RequestID+"/response", "", []byte(`{}`))
	if resp.StatusCode != http.StatusBadRequest || !strings.Contains(string(body), "InvalidRequestID") {
		t.Fatalf("response before next: %d %s", resp.StatusCode, body)
	}
	do(t, http.MethodGet, base+"/invocation/next", "", nil)
	resp, _ = do(t, http.MethodPost, base+"/invocation/not-the-id/response", "", []byte(`{}`))
	if resp.StatusCode != http.StatusBadRequest {
		t.Fatalf("wrong id: %d", resp.StatusCode)
	}
	if _, ok := api.Outcome(); ok {
		t.Fatal("an invalid post recorded an outcome")
	}
}

func TestRuntimeAPIInitError(t *testing.T) {
	api, srv, _ := newTestAPI(t)
	base := srv.URL + runtimePrefix
	resp, _ := do(t, http.MethodPost, base+"/init/error", "application/json",
		[]byte(`{"errorMessage":"missing TABLE_NAME","errorType":"Config"}`))
	if resp.StatusCode != http.StatusAccepted {
		t.Fatalf("init error: %d", resp.StatusCode)
	}
	got, ok := api.Outcome()
	if !ok || got.Kind != outcomeInitError || got.ErrorType != "Config" {
		t.Fatalf("outcome = %+v", got)
	}
	// No event after a failed init: next blocks until the request ends.
	ctx, cancel := context.WithTimeout(context.Background(), 100*time.Millisecond)
	defer cancel()
	req, _ := http.NewRequestWithContext(ctx, http.MethodGet, base+"/invocation/next", nil)
	if resp, err := http.DefaultClient.Do(req); err == nil {
		resp.Body.Close()
		t.Fatalf("next after init error returned %d", resp.StatusCode)
	}
}

func TestRuntimeAPIInitErrorAfterInitIsRefused(t *testing.T) {
	api, srv, _ := newTestAPI(t)
	base := srv.URL + runtimePrefix
	do(t, http.MethodGet, base+"/invocation/next", "", nil)
	resp, _ := do(t, http.MethodPost, base+"/init/error", "application/json", []byte(`{}`))
	if resp.StatusCode != http.StatusForbidden {
		t.Fatalf("init error after next: %d", resp.StatusCode)
	}
	if _, ok := api.Outcome(); ok {
		t.Fatal("outcome recorded")
	}
}

func TestRuntimeAPIResponseTooLarge(t *testing.T) {
	api, srv, inv := newTestAPI(t)
	base := srv.URL + runtimePrefix
	do(t, http.MethodGet, base+"/invocation/next", "", nil)
	resp, _ := do(t, http.MethodPost, base+"/invocation/"+inv.RequestID+"/response", "application/json",
		bytes.Repeat([]byte("x"), maxResponseSize+1))
	if resp.StatusCode != http.StatusRequestEntityTooLarge {
		t.Fatalf("status %d, want 413", resp.StatusCode)
	}
	got, _ := api.Outcome()
	if got.Kind != outcomeFunctionError || got.ErrorType != "Function.ResponseSizeTooLarge" {
		t.Fatalf("outcome = %v %s", got.Kind, got.ErrorType)
	}
}

// A response whose body failed mid-stream carries the error in trailers.
func TestRuntimeAPIResponseErrorTrailer(t *testing.T) {
	api, srv, inv := newTestAPI(t)
	base := srv.URL + runtimePrefix
	do(t, http.MethodGet, base+"/invocation/next", "", nil)

	errBody := `{"errorMessage":"stream broke","errorType":"errorString"}`
	pr, pw := io.Pipe()
	req, _ := http.NewRequest(http.MethodPost, base+"/invocation/"+inv.RequestID+"/response", pr)
	req.Trailer = http.Header{hdrErrorType: nil, trlErrorBody: nil}
	go func() {
		_, _ = pw.Write([]byte("partial"))
		req.Trailer.Set(hdrErrorType, "errorString")
		req.Trailer.Set(trlErrorBody, base64.StdEncoding.EncodeToString([]byte(errBody)))
		pw.Close()
	}()
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	got, _ := api.Outcome()
	if got.Kind != outcomeFunctionError || got.ErrorType != "errorString" || string(got.Payload) != errBody {
		t.Fatalf("outcome = %v %q %s", got.Kind, got.ErrorType, got.Payload)
	}
}

func TestRequestAndTraceIDs(t *testing.T) {
	id := newRequestID()
	if len(id) != 36 || id[14] != '4' || strings.Count(id, "-") != 4 {
		t.Errorf("request ID %q is not a UUID v4", id)
	}
	if id == newRequestID() {
		t.Error("request IDs repeat")
	}
	tr := newTraceID(time.Unix(0x5bef4de7, 0))
	if !strings.HasPrefix(tr, "Root=1-5bef4de7-") || !strings.HasSuffix(tr, ";Sampled=0") || len(tr) != len("Root=1-5bef4de7-ad49b0e87f6ef6c87fc2e700;Parent=9a9197af755a6419;Sampled=0") {
		t.Errorf("trace ID %q", tr)
	}
	var e struct{ ErrorMessage, ErrorType string }
	if err := json.Unmarshal(errorJSON("T", `m"`), &e); err != nil || e.ErrorType != "T" || e.ErrorMessage != `m"` {
		t.Errorf("errorJSON: %+v %v", e, err)
	}
}
