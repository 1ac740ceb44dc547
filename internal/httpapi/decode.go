package httpapi

import (
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"strconv"
	"strings"
	"time"

	"github.com/partnerloop/partnerloop/internal/domain"
	"github.com/partnerloop/partnerloop/internal/store"
)

// MaxBodyBytes bounds request bodies: every JSON request of the API is far
// smaller, and a bound keeps a hostile body from costing memory.
const MaxBodyBytes = 64 << 10

func malformed(format string, args ...any) error {
	return domain.Errorf(domain.KindMalformed, "malformed_request", format, args...)
}

func malformedField(field, format string, args ...any) error {
	return &domain.Error{Kind: domain.KindMalformed, Code: "malformed_request", Message: "the request body could not be read",
		Fields: []domain.FieldError{{Field: field, Message: fmt.Sprintf(format, args...)}}}
}

// decode reads one JSON object into v: unknown fields, trailing data, wrong
// types and oversized bodies are all refused with a 4xx that says what is
// wrong. The body is read as JSON whatever Content-Type claims, because
// integrations (and curl -d) often send the wrong one.
func decode(w http.ResponseWriter, r *http.Request, v any) error {
	dec := json.NewDecoder(http.MaxBytesReader(w, r.Body, MaxBodyBytes))
	dec.DisallowUnknownFields()
	if err := dec.Decode(v); err != nil {
		return decodeError(err)
	}
	if err := dec.Decode(&struct{}{}); !errors.Is(err, io.EOF) {
		return malformed("the body must hold exactly one JSON object")
	}
	return nil
}

func decodeError(err error) error {
	var syn *json.SyntaxError
	var typ *json.UnmarshalTypeError
	var tooBig *http.MaxBytesError
	var timeErr *time.ParseError
	switch {
	case errors.Is(err, io.EOF):
		return malformed("the request body is empty; send a JSON object")
	case errors.As(err, &tooBig):
		return domain.Errorf(domain.KindTooLarge, "body_too_large", "the request body is larger than %d bytes", MaxBodyBytes)
	case errors.As(err, &syn):
		return malformed("the body is not valid JSON (at byte %d)", syn.Offset)
	case errors.Is(err, io.ErrUnexpectedEOF):
		return malformed("the body is not valid JSON (it ends early)")
	case errors.As(err, &typ):
		if typ.Field == "" {
			return malformed("the body must be a JSON object")
		}
		return malformedField(typ.Field, "must be %s", jsonType(typ.Type.Kind().String()))
	case errors.As(err, &timeErr):
		return malformed("a timestamp is not RFC 3339 (e.g. 2026-01-31T12:00:00Z)")
	case strings.HasPrefix(err.Error(), "json: unknown field "):
		name := strings.Trim(strings.TrimPrefix(err.Error(), "json: unknown field "), `"`)
		return malformedField(name, "is not a field of this request")
	}
	// Errors from our own UnmarshalJSON methods (e.g. money amounts).
	return malformed("the body could not be read: %s", strings.TrimPrefix(err.Error(), "json: "))
}

func jsonType(kind string) string {
	switch kind {
	case "string":
		return "a string"
	case "int", "int8", "int16", "int32", "int64", "uint", "uint8", "uint16", "uint32", "uint64":
		return "an integer"
	case "float32", "float64":
		return "a number"
	case "bool":
		return "true or false"
	case "slice", "array":
		return "an array"
	case "struct", "map", "ptr":
		return "an object"
	}
	return "of another type"
}

// pageParams reads ?limit= and ?cursor=. A limit above the maximum is
// lowered to it; one that is not a positive integer is refused.
func pageParams(r *http.Request) (store.Page, error) {
	p := store.Page{Cursor: r.URL.Query().Get("cursor")}
	if s := r.URL.Query().Get("limit"); s != "" {
		n, err := strconv.Atoi(s)
		if err != nil || n < 1 {
			return p, &domain.Error{Kind: domain.KindMalformed, Code: "invalid_query", Message: "the query is not valid",
				Fields: []domain.FieldError{{Field: "limit", Message: fmt.Sprintf("must be an integer from 1 to %d", store.MaxLimit)}}}
		}
		p.Limit = n
	}
	if len(p.Cursor) > 1024 {
		return p, store.ErrBadCursor
	}
	return p.Clamp(), nil
}

// writeJSON sends v with status.
func writeJSON(w http.ResponseWriter, status int, v any) error {
	w.Header().Set("Content-Type", "application/json")
	w.Header().Set("Cache-Control", "no-store")
	w.WriteHeader(status)
	return json.NewEncoder(w).Encode(v)
}

// list is the envelope of every list response.
type list[T any] struct {
	Items      []T     `json:"items"`
	NextCursor *string `json:"nextCursor"`
}

func newList[T any](items []T, next string) list[T] {
	if items == nil {
		items = []T{}
	}
	l := list[T]{Items: items}
	if next != "" {
		l.NextCursor = &next
	}
	return l
}
