package store_test

import (
	"context"
	"errors"
	"testing"

	"github.com/partnerloop/partnerloop/internal/store"
)

func TestModify(t *testing.T) {
	ctx := context.Background()
	inc := func(n int) (int, error) { return n + 1, nil }

	// Two lost races, then the write goes through on a fresh read.
	reads, writes := 0, 0
	got, err := store.Modify(ctx, func(context.Context) (int, error) { reads++; return reads * 10, nil }, inc,
		func(context.Context, int) error {
			writes++
			if writes < 3 {
				return store.ErrConflict
			}
			return nil
		})
	if err != nil || got != 31 || reads != 3 {
		t.Fatalf("Modify = %d, %v after %d reads; want 31 from the third read", got, err, reads)
	}

	// Losing every race ends in ErrConflict after ModifyAttempts.
	writes = 0
	_, err = store.Modify(ctx, func(context.Context) (int, error) { return 0, nil }, inc,
		func(context.Context, int) error { writes++; return store.ErrConflict })
	if !errors.Is(err, store.ErrConflict) || writes != store.ModifyAttempts {
		t.Fatalf("err %v after %d writes, want ErrConflict after %d", err, writes, store.ModifyAttempts)
	}

	// Other errors end it at once, from any step.
	boom := errors.New("boom")
	for name, tc := range map[string]struct {
		read   func(context.Context) (int, error)
		change func(int) (int, error)
		write  func(context.Context, int) error
	}{
		"read":   {func(context.Context) (int, error) { return 0, boom }, inc, func(context.Context, int) error { return nil }},
		"change": {func(context.Context) (int, error) { return 0, nil }, func(int) (int, error) { return 0, boom }, func(context.Context, int) error { return nil }},
		"write":  {func(context.Context) (int, error) { return 0, nil }, inc, func(context.Context, int) error { return boom }},
	} {
		if _, err := store.Modify(ctx, tc.read, tc.change, tc.write); !errors.Is(err, boom) {
			t.Errorf("%s error: got %v", name, err)
		}
	}
}
