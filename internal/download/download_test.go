package download_test

import (
	"errors"
	"io"
	"net/http/httptest"
	"testing"

	"github.com/partnerloop/partnerloop/internal/download"
)

func TestCSVIsAnUncachedAttachment(t *testing.T) {
	rec := httptest.NewRecorder()
	err := download.CSV(rec, "export.csv", func(w io.Writer) error { _, err := io.WriteString(w, "a,b\n"); return err })
	if err != nil {
		t.Fatal(err)
	}
	h := rec.Header()
	if h.Get("Content-Type") != "text/csv; charset=utf-8" || h.Get("Content-Disposition") != `attachment; filename="export.csv"` || h.Get("Cache-Control") != "no-store" {
		t.Errorf("headers = %v", h)
	}
	if rec.Body.String() != "a,b\n" {
		t.Errorf("body = %q", rec.Body.String())
	}
}

// A file that fails half-way sends nothing: the caller answers the error.
func TestFailedFileSendsNothing(t *testing.T) {
	rec := httptest.NewRecorder()
	boom := errors.New("boom")
	err := download.CSV(rec, "x.csv", func(w io.Writer) error { io.WriteString(w, "partial"); return boom })
	if !errors.Is(err, boom) || rec.Body.Len() != 0 || rec.Header().Get("Content-Disposition") != "" {
		t.Errorf("err %v, body %q, headers %v", err, rec.Body.String(), rec.Header())
	}
}
