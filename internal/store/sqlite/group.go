package sqlite

import (
	"context"
	"errors"
	"fmt"
	"runtime"
	"sync"
	"sync/atomic"
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

// errClosed answers writes queued after Close.
var errClosed = errors.New("sqlite: store closed")

type groupReq struct {
	fn    func(ctx context.Context, tx *wtx) error
	click *pendingClick // instead of fn: written with the group's other clicks (clickbatch.go)
	done  chan error
}

type grouper struct {
	avg     int          // groupLoop's only
	avgSeen atomic.Int64 // avg, for other goroutines
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
	if b, ok := s.inBatch(ctx); ok {
		// InTx holds the writer connection the group would wait for.
		return b.savepoint(func(tx *wtx) error { return fn(context.WithoutCancel(ctx), tx) })
	}
	return s.enqueue(ctx, groupReq{fn: fn, done: make(chan error, 1)})
}

// clickGrouped decides and writes p with the other clicks of its group and
// returns once their transaction has committed (p.counted is then set) or
// failed.
func (s *Store) clickGrouped(ctx context.Context, p *pendingClick) error {
	if _, ok := s.inBatch(ctx); ok {
		// InTx holds the writer the group would wait for: writeGrouped
		// runs the click in a savepoint of the batch instead.
		// Its rows join memory when the next group reads them back.
		return s.writeGrouped(ctx, func(ctx context.Context, tx *wtx) (err error) {
			p.counted, err = recordClickTx(ctx, tx, s.limits.begin(), p)
			return err
		})
	}
	return s.enqueue(ctx, groupReq{click: p, done: make(chan error, 1)})
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
			batch = append(batch, r)
		case <-s.group.quit:
			return
		}
		batch = s.group.gather(batch)
		errs := s.commitGroup(batch)
		for i, r := range batch {
			r.done <- errs[i]
		}
	}
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
	g.avgSeen.Store(int64(g.avg))
	return batch
}

// grouping reports whether the recent groups held more than one write.
func (g *grouper) grouping() bool {
	return g.avgSeen.Load() >= 3*groupAvgScale/2
}

// commitGroup runs batch in one transaction and returns each one's error.
func (s *Store) commitGroup(batch []groupReq) []error {
	ctx := context.Background()
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
	lt.committed()
	for i := range errs {
		errs[i] = mapErr(errs[i])
	}
	return errs
}
