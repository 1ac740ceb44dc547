package sqlite

import (
	"context"
	"errors"
	"fmt"
	"sync"
	"sync/atomic"
)

// Batched writes. The embedded commission pipeline makes many small writes
// per conversion (enqueue, receive, the ledger entry, the acknowledgement),
// each of which would otherwise be a transaction of its own: its own
// commit, its own copies of the same pages appended to the WAL. InTx runs a
// whole round of the pipeline as one write of the group commit instead
// (group.go: it commits together with the clicks and conversions queued
// meanwhile): every write the store makes under the context InTx hands out
// runs in a savepoint of that transaction (one that fails is undone alone,
// and its caller sees the error it would have seen), and one commit makes
// them all durable together.

type inTxKey struct{}

// batch is the write transaction of an InTx call.
type batch struct {
	s  *Store
	tx *wtx
	// mu serialises the savepoints (a write under the batch's context
	// from another goroutine waits for the one in progress).
	mu sync.Mutex
	// clicks: a click was written in the batch (clickGrouped).
	clicks atomic.Bool
}

// InTx runs fn with one write transaction for every write the store makes
// under the context fn gets, and commits it when fn returns nil (an error
// rolls all of them back, and only them: the transaction is a group
// commit's, shared with the grouped writes queued at the same time). The
// writes run without ctx's cancellation, which would interrupt the group's
// transaction. Each write is in its own savepoint: one that
// fails is undone alone and returns its error as it would outside InTx.
// Reads made under that context (through the reader connections) do not
// see the batch's writes before it commits; the checks each write makes
// inside its transaction do. fn holds the one writer connection: it must
// not wait for a write made under another context. Inside an InTx, InTx
// simply calls fn.
func (s *Store) InTx(ctx context.Context, fn func(ctx context.Context) error) error {
	if b, ok := ctx.Value(inTxKey{}).(*batch); ok && b.s == s {
		return fn(ctx)
	}
	// The batch joins the group commit: its writes commit together with
	// the clicks and conversions queued meanwhile (one commit, their
	// shared pages written to the WAL once). The group's transaction is
	// everybody's, so nothing of the batch may interrupt it: its writes
	// run without ctx's cancellation.
	bctx := context.WithoutCancel(ctx)
	var b *batch
	err := s.writeGrouped(ctx, func(_ context.Context, tx *wtx) error {
		b = &batch{s: s, tx: tx}
		return fn(context.WithValue(bctx, inTxKey{}, b))
	})
	if err == nil && b != nil && b.clicks.Load() {
		s.limits.wroteOutside() // its click rows are in the file, not in memory
	}
	return err
}

// inBatch returns the batch ctx belongs to, if it is one of s.
func (s *Store) inBatch(ctx context.Context) (*batch, bool) {
	b, ok := ctx.Value(inTxKey{}).(*batch)
	return b, ok && b.s == s
}

// savepoint runs fn in a savepoint of the batch's transaction: undone
// alone when it fails.
func (b *batch) savepoint(fn func(tx *wtx) error) error {
	b.mu.Lock()
	defer b.mu.Unlock()
	ctx := context.Background() // the statements that bracket fn must run whatever its context does
	if _, err := b.tx.ExecContext(ctx, `SAVEPOINT batched`); err != nil {
		return mapErr(err)
	}
	err := fn(b.tx)
	if err != nil {
		if _, rerr := b.tx.ExecContext(ctx, `ROLLBACK TO batched`); rerr != nil {
			return fmt.Errorf("%w (while undoing: %w)", mapErr(rerr), err)
		}
	}
	if _, rerr := b.tx.ExecContext(ctx, `RELEASE batched`); rerr != nil {
		return errors.Join(mapErr(err), mapErr(rerr))
	}
	return mapErr(err)
}
