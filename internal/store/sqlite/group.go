package sqlite

import (
	"context"
	"errors"
	"fmt"
	"runtime"
	"sync"
	"time"
)

// Group commit. Clicks and conversions arrive many at a time, each a small
// write transaction; committing each on its own makes SQLite append the
// same pages (the referrer's row, the index leaves, the outbox's tail) to
// the WAL again and again, and hands the one writer connection from
// goroutine to goroutine. writeGrouped instead queues the transaction for
// one goroutine that runs every transaction queued meanwhile inside one
// SQLite transaction, each in its own savepoint (so one that fails is
// undone alone), commits once, and only then answers every caller: a
// caller is never told its write happened before the commit that holds it.

// maxGroup bounds the transactions committed together; groupYields is how
// many times the committer yields the processor for more to arrive;
// groupWait how long it waits at most for a group to grow to the size of
// the recent ones (grouper.avg: their moving average, times groupAvgScale).
const (
	maxGroup      = 64
	groupYields   = 3
	groupWait     = time.Millisecond
	groupAvgScale = 8
)

// applyRetryWait is how long the applier waits before trying again
// journaled clicks whose transaction failed; Close tries closeApplyTries
// times.
const (
	applyRetryWait  = 100 * time.Millisecond
	closeApplyTries = 3
)

// errClosed answers writes queued after Close.
var errClosed = errors.New("sqlite: store closed")

type groupReq struct {
	fn    func(ctx context.Context, tx *wtx) error
	click *pendingClick // instead of fn: written with the group's other clicks (clickbatch.go)
	done  chan error
	// again: fn only writes through tx, so the committer may run it a
	// second time in a new transaction (commitAtOnce).
	again bool
}

type grouper struct {
	avg     int // groupLoop's only
	stop    sync.Once
	reqs    chan groupReq
	quit    chan struct{}
	stopped chan struct{}
}

func (s *Store) startGrouper() {
	s.group = &grouper{reqs: make(chan groupReq), quit: make(chan struct{}), stopped: make(chan struct{})}
	go s.groupLoop()
}

func (s *Store) stopGrouper() {
	if s.group == nil {
		return
	}
	s.group.stop.Do(func() { close(s.group.quit) })
	<-s.group.stopped
}

// writeGrouped runs fn in a write transaction shared with the other
// grouped writes queued at the same time, and returns once that
// transaction has committed (nil) or failed. fn gets the context to use:
// the caller's would let one caller's cancellation interrupt — and so roll
// back — everybody's transaction. An error from fn undoes fn's writes only.
func (s *Store) writeGrouped(ctx context.Context, fn func(ctx context.Context, tx *wtx) error) error {
	return s.submit(ctx, groupReq{fn: fn})
}

// submit is writeGrouped for a request that may say more than its fn
// (groupReq's again: the committer may run fn again).
func (s *Store) submit(ctx context.Context, r groupReq) error {
	if b, ok := s.inBatch(ctx); ok {
		// InTx holds the writer connection the group would wait for.
		return b.savepoint(func(tx *wtx) error { return r.fn(context.WithoutCancel(ctx), tx) })
	}
	r.done = make(chan error, 1)
	return s.enqueue(ctx, r)
}

// clickGrouped decides and writes p in a savepoint of the InTx batch ctx
// belongs to (which holds the writer the journal's applier would need),
// seeing the clicks pending in the journal too. Its row joins memory when
// the next group reads it back.
func (s *Store) clickGrouped(ctx context.Context, p *pendingClick) error {
	if b, ok := s.inBatch(ctx); ok {
		b.clicks.Store(true)
	}
	return s.writeGrouped(ctx, func(ctx context.Context, tx *wtx) (err error) {
		lt := s.limits.begin()
		lt.withPending = true
		p.counted, err = recordClickTx(ctx, tx, lt, p)
		return err
	})
}

func (s *Store) enqueue(ctx context.Context, req groupReq) error {
	select {
	case s.group.reqs <- req:
	case <-s.group.quit:
		return errClosed
	case <-ctx.Done():
		return ctx.Err() // not queued: nothing written
	}
	return <-req.done // queued: wait for the commit, whatever ctx does
}

func (s *Store) groupLoop() {
	defer close(s.group.stopped)
	for {
		var batch []groupReq
		select {
		case r := <-s.group.reqs:
			batch = s.group.gather(append(batch, r))
		case <-s.jnl.ready:
			// Journaled clicks (journal.go). Nobody waits for them (the
			// redirects were answered), and a commit costs about as much
			// for one click as for a hundred: unless a read waits for
			// them, they are applied in batches, every applyEvery.
			batch = s.jnl.settle(s.group.quit, s.group.reqs)
		drain:
			for len(batch) < maxGroup {
				select {
				case r := <-s.group.reqs:
					batch = append(batch, r)
				default:
					break drain
				}
			}
		case <-s.group.quit:
			// Close: apply every click acknowledged (RecordClick
			// refuses new ones by now; the records still buffered or
			// being written are written first).
			s.jnl.mu.Lock()
			_ = s.jnl.flushLocked(s.jnl.seq)
			s.jnl.mu.Unlock()
			for fails := 0; s.jnl.more() && fails < closeApplyTries; {
				if !s.applyGroup(nil) {
					fails++
					time.Sleep(applyRetryWait)
				}
			}
			return // anything left is in the journal, for the next Open
		}
		if !s.applyGroup(batch) {
			// Try again shortly (a click waits in the journal, durable).
			time.AfterFunc(applyRetryWait, func() {
				select {
				case s.jnl.ready <- struct{}{}:
				default:
				}
			})
		}
	}
}

// applyGroup commits batch with the journaled clicks waiting (journal.go)
// and answers batch's callers. It reports false when the clicks could not
// be applied (they stay pending).
func (s *Store) applyGroup(batch []groupReq) bool {
	clicks := s.jnl.take()
	n := len(batch)
	for _, p := range clicks {
		batch = append(batch, groupReq{click: p})
	}
	if len(batch) > 0 {
		// A journaled click that fails alone here (its referrer gone, its
		// ID taken) or is refused by another process's click in the same
		// instant is left out. A transaction that failed as a whole
		// (p.err unset: the file busy, the disk full) applied none of
		// them: they stay pending and are tried again.
		errs := s.commitGroup(batch)
		for i, r := range batch[:n] {
			r.done <- errs[i]
		}
		for j, p := range clicks {
			if errs[n+j] != nil && p.err == nil {
				s.jnl.untake(clicks)
				return false
			}
		}
	}
	s.jnl.done(clicks)
	if s.jnl.more() {
		select {
		case s.jnl.ready <- struct{}{}:
		default:
		}
	}
	return true
}

// commitAtOnce commits a group of writes that may run again (groupReq's
// again: conversions) without a savepoint each. A savepoint makes SQLite
// copy every page a write changes into the statement journal first, in
// case it is undone — about as much copying as the write itself, and
// nearly always for nothing: writes seldom fail. When one fails, the
// whole transaction is rolled back and ok is false: commitGroup runs the
// group again, each write in its savepoint, so that only the one that
// fails is undone. A failed commit is final, as in commitGroup (its
// writes are not run again).
func (s *Store) commitAtOnce(ctx context.Context, batch []groupReq) (errs []error, ok bool) {
	if len(batch) < 2 {
		return nil, false // alone, commitGroup needs no savepoint either
	}
	for _, r := range batch {
		if !r.again || r.click != nil {
			return nil, false
		}
	}
	sqlTx, err := s.w.BeginTx(ctx, nil)
	if err != nil {
		return nil, false
	}
	tx := &wtx{Tx: sqlTx, p: s.w}
	defer tx.prepareMissed(ctx)
	for _, r := range batch {
		if err := r.fn(ctx, tx); err != nil {
			_ = tx.Rollback()
			return nil, false
		}
	}
	errs = make([]error, len(batch))
	if err := tx.Commit(); err != nil {
		for i := range errs {
			errs[i] = mapErr(err)
		}
	}
	return errs, true
}

// gather adds the requests queued meanwhile to batch (its first). It lets
// the goroutines that are about to queue a write (their requests are being
// served) run first: a few yields cost microseconds and make the groups
// several times larger when the server is busy. When the recent groups
// were larger than this one, their writers are busy and about to come
// back: it waits up to groupWait for the group to reach their average, as
// every transaction of a group shares the commit's fixed cost. A lone
// writer (recent groups of one) never waits.
func (g *grouper) gather(batch []groupReq) []groupReq {
	target := (g.avg + groupAvgScale/2) / groupAvgScale
	var timer *time.Timer
	yields := 0
more:
	for len(batch) < maxGroup {
		select {
		case r := <-g.reqs:
			batch = append(batch, r)
			continue
		default:
		}
		switch {
		case yields < groupYields:
			yields++
			runtime.Gosched()
			continue
		case len(batch) >= target:
			break more
		case timer == nil:
			timer = time.NewTimer(groupWait)
		}
		select {
		case r := <-g.reqs:
			batch = append(batch, r)
		case <-timer.C:
			break more
		case <-g.quit:
			break more
		}
	}
	if timer != nil {
		timer.Stop()
	}
	g.avg += len(batch) - g.avg/groupAvgScale
	return batch
}

// commitGroup runs batch in one transaction and returns each one's error.
func (s *Store) commitGroup(batch []groupReq) []error {
	ctx := context.WithValue(context.Background(), applierKey{}, true)
	if errs, ok := s.commitAtOnce(ctx, batch); ok {
		return errs
	}
	errs := make([]error, len(batch))
	all := func(err error) []error {
		for i := range errs {
			errs[i] = mapErr(err)
		}
		return errs
	}
	sqlTx, err := s.w.BeginTx(ctx, nil)
	if err != nil {
		return all(err)
	}
	tx := &wtx{Tx: sqlTx, p: s.w}
	defer tx.prepareMissed(ctx)
	lt := s.limits.begin()
	var clicks []*pendingClick
	var clickAt []int
	alone := len(batch) == 1 // a write alone needs no savepoint
	for i, r := range batch {
		if alone {
			var err error
			if r.click != nil {
				r.click.counted, err = recordClickTx(ctx, tx, lt, r.click)
			} else {
				err = r.fn(ctx, tx)
			}
			if err != nil {
				_ = tx.Rollback()
				return all(err)
			}
			continue
		}
		if r.click != nil {
			clicks, clickAt = append(clicks, r.click), append(clickAt, i)
			continue
		}
		if _, err := tx.ExecContext(ctx, `SAVEPOINT grouped`); err != nil {
			_ = tx.Rollback()
			return all(err)
		}
		if errs[i] = r.fn(ctx, tx); errs[i] != nil {
			if _, err := tx.ExecContext(ctx, `ROLLBACK TO grouped`); err != nil {
				_ = tx.Rollback()
				return all(fmt.Errorf("%w (while undoing: %w)", err, errs[i]))
			}
		}
		if _, err := tx.ExecContext(ctx, `RELEASE grouped`); err != nil {
			_ = tx.Rollback()
			return all(err)
		}
	}
	if len(clicks) > 0 {
		if err := recordClicks(ctx, tx, lt, clicks, len(clicks) == len(batch)); err != nil {
			_ = tx.Rollback()
			return all(err)
		}
		for j, i := range clickAt {
			errs[i] = clicks[j].err
		}
	}
	if err := tx.Commit(); err != nil {
		return all(err)
	}
	// The journaled clicks (no caller waits) leave the pending ones.
	var applied []*pendingClick
	for _, r := range batch {
		if r.click != nil && r.done == nil {
			applied = append(applied, r.click)
		}
	}
	lt.committed(applied)
	for i := range errs {
		errs[i] = mapErr(errs[i])
	}
	return errs
}
