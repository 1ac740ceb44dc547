// Package domain holds the product's records and the rules about them.
// It has no I/O: the clock and the ID source are passed in, so every rule
// here is deterministic and testable on its own.
package domain

import (
	"errors"
	"fmt"
	"strings"
)

// Kind classifies an error for the edge that reports it. The HTTP layer maps
// each kind to one status code in one place.
type Kind int

const (
	KindInvalid         Kind = iota + 1 // well-formed but violates a rule (422)
	KindMalformed                       // cannot be decoded (400)
	KindUnauthenticated                 // no or bad credentials (401)
	KindForbidden                       // authenticated but not allowed (403)
	KindNotFound                        // absent, or belongs to someone else (404)
	KindConflict                        // clashes with current state (409)
	KindGone                            // existed but is no longer usable (410)
	KindTooLarge                        // request body too large (413)
	KindRateLimited                     // too many attempts (429)
	KindUnavailable                     // a service we depend on failed; retry later (503)
)

// FieldError names one invalid field of a request, by its JSON path.
type FieldError struct {
	Field   string `json:"field"`
	Message string `json:"message"`
}

// Error is a failure the caller can act on. Code is a stable machine-readable
// reason (e.g. "attribution_window_expired"); Message is for people.
type Error struct {
	Kind    Kind
	Code    string
	Message string
	Fields  []FieldError
	// Extra members added to the problem document (e.g. "existingId").
	Extra map[string]any
}

func (e *Error) Error() string {
	if len(e.Fields) == 0 {
		return e.Message
	}
	parts := make([]string, len(e.Fields))
	for i, f := range e.Fields {
		parts[i] = f.Field + ": " + f.Message
	}
	return e.Message + " (" + strings.Join(parts, "; ") + ")"
}

// Errorf builds an Error of the given kind and code.
func Errorf(kind Kind, code, format string, args ...any) *Error {
	return &Error{Kind: kind, Code: code, Message: fmt.Sprintf(format, args...)}
}

// NotFound is the answer for absent records and for records of another
// organization or partner alike, so that existence is never leaked.
func NotFound(what string) *Error {
	return &Error{Kind: KindNotFound, Code: "not_found", Message: what + " not found"}
}

// AsError returns the *Error inside err, if any.
func AsError(err error) (*Error, bool) {
	var e *Error
	if errors.As(err, &e) {
		return e, true
	}
	return nil, false
}

// Validation collects field errors so a request reports all its problems at once.
type Validation struct {
	fields []FieldError
}

// Add records a problem with field.
func (v *Validation) Add(field, format string, args ...any) {
	v.fields = append(v.fields, FieldError{Field: field, Message: fmt.Sprintf(format, args...)})
}

// Check records message for field when ok is false.
func (v *Validation) Check(ok bool, field, format string, args ...any) {
	if !ok {
		v.Add(field, format, args...)
	}
}

// Merge adds the field errors of err (a validation error) for fields that
// have no error yet, so one answer lists every problem once.
func (v *Validation) Merge(err error) error {
	e, ok := AsError(err)
	if !ok || e.Kind != KindInvalid || len(e.Fields) == 0 {
		return err
	}
	have := map[string]bool{}
	for _, f := range v.fields {
		have[f.Field] = true
	}
	for _, f := range e.Fields {
		if !have[f.Field] {
			v.fields = append(v.fields, f)
		}
	}
	return nil
}

// Err returns nil when nothing was added, else a KindInvalid error.
func (v *Validation) Err() error {
	if len(v.fields) == 0 {
		return nil
	}
	return &Error{Kind: KindInvalid, Code: "validation_failed", Message: "the request has invalid fields", Fields: v.fields}
}
