package httpapi

import (
	"context"
	"encoding/json"
	"errors"
	"log/slog"
	"net/http"
	"strconv"

	"github.com/partnerloop/partnerloop/internal/domain"
	"github.com/partnerloop/partnerloop/internal/store"
)

// problem is an RFC 9457 problem document.
type problem struct {
	Type   string              `json:"type"`
	Title  string              `json:"title"`
	Status int                 `json:"status"`
	Detail string              `json:"detail,omitempty"`
	Code   string              `json:"code,omitempty"`
	Errors []domain.FieldError `json:"errors,omitempty"`
}

var kindStatus = map[domain.Kind]int{
	domain.KindInvalid:         http.StatusUnprocessableEntity,
	domain.KindMalformed:       http.StatusBadRequest,
	domain.KindUnauthenticated: http.StatusUnauthorized,
	domain.KindForbidden:       http.StatusForbidden,
	domain.KindNotFound:        http.StatusNotFound,
	domain.KindConflict:        http.StatusConflict,
	domain.KindGone:            http.StatusGone,
	domain.KindTooLarge:        http.StatusRequestEntityTooLarge,
	domain.KindRateLimited:     http.StatusTooManyRequests,
	domain.KindUnavailable:     http.StatusServiceUnavailable,
}

// errorStatus is the one mapping of errors to HTTP statuses. Anything it
// does not recognise is a 500 whose cause is logged, never shown.
func errorStatus(err error) (int, *domain.Error) {
	if e, ok := domain.AsError(err); ok {
		if st, ok := kindStatus[e.Kind]; ok {
			return st, e
		}
	}
	switch {
	case errors.Is(err, store.ErrNotFound):
		return http.StatusNotFound, domain.NotFound("record")
	case errors.Is(err, store.ErrConflict):
		return http.StatusConflict, domain.Errorf(domain.KindConflict, "conflict", "the request conflicts with the current state; reload and try again")
	case errors.Is(err, store.ErrBadCursor):
		return http.StatusBadRequest, &domain.Error{Kind: domain.KindMalformed, Code: "invalid_cursor", Message: "the cursor is not valid",
			Fields: []domain.FieldError{{Field: "cursor", Message: "is not a cursor this API issued"}}}
	case errors.Is(err, context.Canceled), errors.Is(err, context.DeadlineExceeded):
		return http.StatusServiceUnavailable, domain.Errorf(0, "unavailable", "the request was cancelled or timed out")
	}
	return http.StatusInternalServerError, domain.Errorf(0, "internal_error", "something went wrong on our side; it has been logged")
}

// writeError sends err as a problem document.
func writeError(w http.ResponseWriter, r *http.Request, log *slog.Logger, err error) {
	status, e := errorStatus(err)
	if status >= 500 {
		log.ErrorContext(r.Context(), "request failed", "err", err, "method", r.Method, "path", r.URL.Path)
	}
	writeProblem(w, status, e)
}

func writeProblem(w http.ResponseWriter, status int, e *domain.Error) {
	p := problem{
		Type:   "https://partnerloop.dev/problems/" + e.Code,
		Title:  http.StatusText(status),
		Status: status,
		Detail: e.Message,
		Code:   e.Code,
		Errors: e.Fields,
	}
	doc := map[string]any{}
	for k, v := range e.Extra {
		doc[k] = v
	}
	b, _ := json.Marshal(p)
	_ = json.Unmarshal(b, &doc)
	if ra, ok := e.Extra["retryAfter"].(int); ok {
		w.Header().Set("Retry-After", strconv.Itoa(ra))
	}
	w.Header().Set("Content-Type", "application/problem+json")
	w.Header().Set("Cache-Control", "no-store")
	w.WriteHeader(status)
	_ = json.NewEncoder(w).Encode(doc)
}
