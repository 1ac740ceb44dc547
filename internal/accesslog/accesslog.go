// Package accesslog is what both HTTP edges of the product (the API and the
// web UI) do around every request: one access-log line with the status and
// duration, and a panic turned into a 500 — in each edge's own format — when
// nothing was written yet, logged with its stack instead of killing the
// process.
package accesslog

import (
	"log/slog"
	"net/http"
	"runtime/debug"
	"time"
)

// Serve runs next for r, logs the request on log with attrs added, and
// answers a panic with internalError when the response has not started.
func Serve(log *slog.Logger, w http.ResponseWriter, r *http.Request, next http.Handler, internalError func(http.ResponseWriter), attrs ...any) {
	start := time.Now()
	rec := &recorder{ResponseWriter: w, status: http.StatusOK}
	defer func() {
		if p := recover(); p != nil {
			log.ErrorContext(r.Context(), "panic", "panic", p, "stack", string(debug.Stack()))
			if !rec.wrote {
				internalError(rec)
			}
		}
		log.InfoContext(r.Context(), "request", append(attrs, "method", r.Method, "path", r.URL.Path,
			"status", rec.status, "durationMs", time.Since(start).Milliseconds())...)
	}()
	next.ServeHTTP(rec, r)
}

// recorder remembers the status written and whether anything was.
type recorder struct {
	http.ResponseWriter
	status int
	wrote  bool
}

func (s *recorder) WriteHeader(code int) {
	if !s.wrote {
		s.status, s.wrote = code, true
	}
	s.ResponseWriter.WriteHeader(code)
}

func (s *recorder) Write(b []byte) (int, error) {
	s.wrote = true
	return s.ResponseWriter.Write(b)
}
