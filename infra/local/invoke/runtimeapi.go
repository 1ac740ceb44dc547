package main

import (
	"crypto/rand"
	"encoding/base64"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"strconv"
	"sync"
	"time"
)

// The Lambda Runtime API, as far as one invocation needs it. See
// https://docs.aws.amazon.com/lambda/latest/dg/runtimes-api.html
const (
	runtimePrefix = "/2018-06-01/runtime"

	hdrRequestID   = "Lambda-Runtime-Aws-Request-Id"
	hdrDeadlineMS  = "Lambda-Runtime-Deadline-Ms"
	hdrFunctionARN = "Lambda-Runtime-Invoked-Function-Arn"
	hdrTraceID     = "Lambda-Runtime-Trace-Id"
	hdrErrorType   = "Lambda-Runtime-Function-Error-Type"
	trlErrorBody   = "Lambda-Runtime-Function-Error-Body"

	// maxResponseSize is Lambda's limit for a synchronous response payload.
	maxResponseSize = 6291556
	// maxErrorSize bounds error and init-error bodies.
	maxErrorSize = 1 << 20
)

// invocation is the one event the emulator hands to the function.
type invocation struct {
	RequestID   string
	Payload     []byte
	Deadline    time.Time
	FunctionARN string
	TraceID     string
}

// outcomeKind says how an invocation ended.
type outcomeKind int

const (
	outcomeResponse      outcomeKind = iota + 1 // POST .../response
	outcomeFunctionError                        // POST .../error, or a response that failed
	outcomeInitError                            // POST /runtime/init/error
)

func (k outcomeKind) String() string {
	switch k {
	case outcomeResponse:
		return "response"
	case outcomeFunctionError:
		return "function error"
	case outcomeInitError:
		return "init error"
	}
	return "unknown"
}

// outcome is what the function reported.
type outcome struct {
	Kind        outcomeKind
	Payload     []byte // response payload, or the error JSON
	ContentType string
	ErrorType   string // errors only: header, trailer or the body's errorType
}

// runtimeAPI emulates the Runtime API for a single invocation: the first
// GET .../invocation/next returns the event; later ones block (the real
// service freezes the sandbox there) until the emulator is closed.
type runtimeAPI struct {
	inv invocation
	mux *http.ServeMux

	mu        sync.Mutex
	delivered bool
	result    *outcome
	done      chan struct{} // closed when result is set
	idle      chan struct{} // closed when next is called after the result
	idleOnce  sync.Once
	closed    chan struct{} // closed by Close
	closeOnce sync.Once
}

func newRuntimeAPI(inv invocation) *runtimeAPI {
	a := &runtimeAPI{
		inv:    inv,
		mux:    http.NewServeMux(),
		done:   make(chan struct{}),
		idle:   make(chan struct{}),
		closed: make(chan struct{}),
	}
	a.mux.HandleFunc("GET "+runtimePrefix+"/invocation/next", a.handleNext)
	a.mux.HandleFunc("POST "+runtimePrefix+"/invocation/{id}/response", a.handleResponse)
	a.mux.HandleFunc("POST "+runtimePrefix+"/invocation/{id}/error", a.handleError)
	a.mux.HandleFunc("POST "+runtimePrefix+"/init/error", a.handleInitError)
	return a
}

func (a *runtimeAPI) ServeHTTP(w http.ResponseWriter, r *http.Request) { a.mux.ServeHTTP(w, r) }

// Done is closed once the function has reported a response or an error.
func (a *runtimeAPI) Done() <-chan struct{} { return a.done }

// Idle is closed when the function asks for the next event after reporting
// its outcome: the invocation is then complete, as Lambda counts it.
func (a *runtimeAPI) Idle() <-chan struct{} { return a.idle }

// Outcome returns the reported outcome, if any.
func (a *runtimeAPI) Outcome() (outcome, bool) {
	a.mu.Lock()
	defer a.mu.Unlock()
	if a.result == nil {
		return outcome{}, false
	}
	return *a.result, true
}

// Close releases any blocked GET .../next.
func (a *runtimeAPI) Close() { a.closeOnce.Do(func() { close(a.closed) }) }

func (a *runtimeAPI) handleNext(w http.ResponseWriter, r *http.Request) {
	a.mu.Lock()
	first := !a.delivered && a.result == nil
	a.delivered = true
	reported := a.result != nil
	a.mu.Unlock()

	if !first {
		if reported {
			a.idleOnce.Do(func() { close(a.idle) })
		}
		select {
		case <-r.Context().Done():
		case <-a.closed:
			writeAPIError(w, http.StatusInternalServerError, "Runtime.Shutdown", "the emulator is shutting down")
		}
		return
	}
	h := w.Header()
	h.Set(hdrRequestID, a.inv.RequestID)
	h.Set(hdrDeadlineMS, strconv.FormatInt(a.inv.Deadline.UnixMilli(), 10))
	h.Set(hdrFunctionARN, a.inv.FunctionARN)
	h.Set(hdrTraceID, a.inv.TraceID)
	h.Set("Content-Type", "application/json")
	w.WriteHeader(http.StatusOK)
	_, _ = w.Write(a.inv.Payload)
}

// checkInvocation verifies the {id} of a response or error post and that
// nothing has been reported yet; it writes the API's error when not.
func (a *runtimeAPI) checkInvocation(w http.ResponseWriter, r *http.Request) bool {
	a.mu.Lock()
	defer a.mu.Unlock()
	if !a.delivered || r.PathValue("id") != a.inv.RequestID {
		writeAPIError(w, http.StatusBadRequest, "InvalidRequestID", "Invalid request ID: "+strconv.Quote(r.PathValue("id")))
		return false
	}
	if a.result != nil {
		writeAPIError(w, http.StatusForbidden, "InvalidStateTransition", "the invocation has already reported its "+a.result.Kind.String())
		return false
	}
	return true
}

// report records the outcome unless one is recorded already.
func (a *runtimeAPI) report(o outcome) bool {
	a.mu.Lock()
	defer a.mu.Unlock()
	if a.result != nil {
		return false
	}
	a.result = &o
	close(a.done)
	return true
}

func (a *runtimeAPI) handleResponse(w http.ResponseWriter, r *http.Request) {
	if !a.checkInvocation(w, r) {
		return
	}
	body, err := io.ReadAll(io.LimitReader(r.Body, maxResponseSize+1))
	if err != nil {
		writeAPIError(w, http.StatusBadRequest, "InvalidRequest", "reading the response: "+err.Error())
		return
	}
	if len(body) > maxResponseSize {
		msg := fmt.Sprintf("Response payload size exceeded maximum allowed payload size (%d bytes).", maxResponseSize)
		a.report(outcome{Kind: outcomeFunctionError, ErrorType: "Function.ResponseSizeTooLarge",
			Payload: errorJSON("Function.ResponseSizeTooLarge", msg), ContentType: "application/json"})
		writeAPIError(w, http.StatusRequestEntityTooLarge, "RequestEntityTooLarge", msg)
		return
	}
	// aws-lambda-go reports a response body that failed while being read
	// (a streamed io.Reader) in trailers.
	if et := r.Trailer.Get(hdrErrorType); et != "" {
		payload, err := base64.StdEncoding.DecodeString(r.Trailer.Get(trlErrorBody))
		if err != nil || len(payload) == 0 {
			payload = errorJSON(et, "the function's response failed while being sent")
		}
		a.report(outcome{Kind: outcomeFunctionError, ErrorType: et, Payload: payload, ContentType: "application/json"})
		writeAccepted(w)
		return
	}
	a.report(outcome{Kind: outcomeResponse, Payload: body, ContentType: r.Header.Get("Content-Type")})
	writeAccepted(w)
}

func (a *runtimeAPI) handleError(w http.ResponseWriter, r *http.Request) {
	if !a.checkInvocation(w, r) {
		return
	}
	a.recordError(w, r, outcomeFunctionError)
}

func (a *runtimeAPI) handleInitError(w http.ResponseWriter, r *http.Request) {
	a.mu.Lock()
	delivered, reported := a.delivered, a.result != nil
	a.mu.Unlock()
	if delivered || reported {
		writeAPIError(w, http.StatusForbidden, "InvalidStateTransition", "init error after initialization")
		return
	}
	a.recordError(w, r, outcomeInitError)
}

func (a *runtimeAPI) recordError(w http.ResponseWriter, r *http.Request, kind outcomeKind) {
	body, err := io.ReadAll(io.LimitReader(r.Body, maxErrorSize))
	if err != nil {
		writeAPIError(w, http.StatusBadRequest, "InvalidRequest", "reading the error: "+err.Error())
		return
	}
	et := r.Header.Get(hdrErrorType)
	if et == "" {
		var e struct {
			ErrorType string `json:"errorType"`
		}
		if json.Unmarshal(body, &e) == nil {
			et = e.ErrorType
		}
	}
	if et == "" {
		et = "Unhandled"
	}
	if len(body) == 0 {
		body = errorJSON(et, "")
	}
	if !a.report(outcome{Kind: kind, Payload: body, ContentType: r.Header.Get("Content-Type"), ErrorType: et}) {
		writeAPIError(w, http.StatusForbidden, "InvalidStateTransition", "an outcome was already reported")
		return
	}
	writeAccepted(w)
}

func writeAccepted(w http.ResponseWriter) {
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(http.StatusAccepted)
	_, _ = io.WriteString(w, `{"status":"OK"}`+"\n")
}

func writeAPIError(w http.ResponseWriter, status int, errorType, msg string) {
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(status)
	_, _ = w.Write(errorJSON(errorType, msg))
}

func errorJSON(errorType, msg string) []byte {
	b, _ := json.Marshal(struct {
		ErrorMessage string `json:"errorMessage"`
		ErrorType    string `json:"errorType"`
	}{msg, errorType})
	return b
}

// newRequestID returns a random UUID (version 4), as Lambda's request IDs are.
func newRequestID() string {
	var b [16]byte
	_, _ = rand.Read(b[:])
	b[6] = b[6]&0x0f | 0x40
	b[8] = b[8]&0x3f | 0x80
	h := hex.EncodeToString(b[:])
	return h[0:8] + "-" + h[8:12] + "-" + h[12:16] + "-" + h[16:20] + "-" + h[20:]
}

// newTraceID returns an X-Ray trace header value, not sampled.
func newTraceID(now time.Time) string {
	var b [20]byte
	_, _ = rand.Read(b[:])
	h := hex.EncodeToString(b[:])
	return fmt.Sprintf("Root=1-%08x-%s;Parent=%s;Sampled=0", now.Unix(), h[:24], h[24:40])
}
