package accesslog_test

import (
	"bytes"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"

	"github.com/partnerloop/partnerloop/internal/accesslog"
)

func serve(t *testing.T, h http.HandlerFunc) (*httptest.ResponseRecorder, string) {
	t.Helper()
	var logs bytes.Buffer
	log := slog.New(slog.NewJSONHandler(&logs, nil))
	rec := httptest.NewRecorder()
	accesslog.Serve(log, rec, httptest.NewRequest("GET", "/x", nil), h, func(w http.ResponseWriter) {
		http.Error(w, "sorry", http.StatusInternalServerError)
	}, "requestId", "r1")
	return rec, logs.String()
}

func TestLogsEveryRequest(t *testing.T) {
	rec, logs := serve(t, func(w http.ResponseWriter, r *http.Request) { w.WriteHeader(http.StatusTeapot) })
	if rec.Code != http.StatusTeapot || !strings.Contains(logs, `"status":418`) || !strings.Contains(logs, `"requestId":"r1"`) ||
		!strings.Contains(logs, `"path":"/x"`) {
		t.Fatalf("%d, log %s", rec.Code, logs)
	}
}

func TestPanicBecomesA500(t *testing.T) {
	rec, logs := serve(t, func(w http.ResponseWriter, r *http.Request) { panic("boom") })
	if rec.Code != http.StatusInternalServerError || strings.TrimSpace(rec.Body.String()) != "sorry" {
		t.Fatalf("%d %q", rec.Code, rec.Body)
	}
	if !strings.Contains(logs, `"panic":"boom"`) || !strings.Contains(logs, `"status":500`) || !strings.Contains(logs, "stack") {
		t.Fatalf("log %s", logs)
	}
}

func TestPanicAfterTheAnswerStartedWritesNothingMore(t *testing.T) {
	rec, _ := serve(t, func(w http.ResponseWriter, r *http.Request) {
		w.Write([]byte("partial"))
		panic("late")
	})
	if rec.Code != http.StatusOK || rec.Body.String() != "partial" {
		t.Fatalf("%d %q", rec.Code, rec.Body)
	}
}
