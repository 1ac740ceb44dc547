package store

import (
	"context"
	"errors"
)

// ModifyAttempts bounds how often Modify starts again after losing a race.
const ModifyAttempts = 5

// Modify is read-modify-write with optimistic locking: it reads the record,
// applies change and writes the result, whose Revision the write checks. A
// write refused with ErrConflict (someone else wrote first) starts again
// from a fresh read; after ModifyAttempts such losses it returns
// ErrConflict. Errors of read and change end it at once. The result is the
// record as written (callers bump its Revision to the stored one).
func Modify[T any](ctx context.Context, read func(context.Context) (T, error), change func(T) (T, error), write func(context.Context, T) error) (T, error) {
	var zero T
	for range ModifyAttempts {
		cur, err := read(ctx)
		if err != nil {
			return zero, err
		}
		next, err := change(cur)
		if err != nil {
			return zero, err
		}
		err = write(ctx, next)
		if errors.Is(err, ErrConflict) {
			continue
		}
		if err != nil {
			return zero, err
		}
		return next, nil
	}
	return zero, ErrConflict
}
