package pipeline

import "errors"

// permanentError marks a failure that no redelivery can cure: a message
// that cannot be decoded, of an unknown type, about a record that does not
// exist, or one the engine refuses. Transports dead-letter it at once
// instead of retrying it.
type permanentError struct{ err error }

func (e *permanentError) Error() string { return e.err.Error() }
func (e *permanentError) Unwrap() error { return e.err }

// Permanent marks err as not worth retrying (nil stays nil).
func Permanent(err error) error {
	if err == nil || IsPermanent(err) {
		return err
	}
	return &permanentError{err}
}

// IsPermanent reports whether err, or an error it wraps, was marked with
// Permanent. Every other error is retried.
func IsPermanent(err error) bool {
	var p *permanentError
	return errors.As(err, &p)
}
