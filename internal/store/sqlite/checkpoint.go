package sqlite

import (
	"context"
	"database/sql"
	"time"
)

// Checkpoints. SQLite's default copies the WAL back into the database file
// from inside the commit that crosses 1,000 pages, and fsyncs both files
// there: under a stream of clicks every few dozen commits stalled the one
// writer for a checkpoint. The writer connection has automatic
// checkpoints off, and this goroutine runs a PASSIVE checkpoint — which
// never blocks the writer or readers — on its own connection every
// checkpointEvery instead. Closing the store checkpoints what is left (the
// last connection to close does).
//
// A checkpoint copies each page once however many commits rewrote it, so a
// longer interval copies the hot pages (the tails of the clicks, index and
// outbox B-trees, the leaves that random visitor hashes land in) fewer
// times: at 1 s instead of 250 ms the checkpoints took half the CPU under
// the new-visitor load. The WAL grows to about a second of writes before
// it is reused.

const checkpointEvery = time.Second

type checkpointer struct {
	db   *sql.DB
	loop *loop
}

func startCheckpointer(path string, common map[string][]string) (*checkpointer, error) {
	db, err := sql.Open("sqlite", path+"?"+cloneValues(common).Encode())
	if err != nil {
		return nil, err
	}
	db.SetMaxOpenConns(1)
	// Errors (SQLITE_BUSY while another process checkpoints) only mean
	// the next tick tries again.
	c := &checkpointer{db: db, loop: every(checkpointEvery, func() {
		_, _ = db.ExecContext(context.Background(), `PRAGMA wal_checkpoint(PASSIVE)`)
	})}
	return c, nil
}

func (c *checkpointer) stop() error {
	if c == nil {
		return nil
	}
	c.loop.stop()
	return c.db.Close()
}

// loop runs a function every so often on its own goroutine until stopped:
// the store's background work (checkpoints, pruning the click limits).
type loop struct{ quit, stopped chan struct{} }

// every starts a loop running fn every d, the first time d from now.
func every(d time.Duration, fn func()) *loop {
	l := &loop{quit: make(chan struct{}), stopped: make(chan struct{})}
	go func() {
		defer close(l.stopped)
		t := time.NewTicker(d)
		defer t.Stop()
		for {
			select {
			case <-l.quit:
				return
			case <-t.C:
				fn()
			}
		}
	}()
	return l
}

// stop ends the loop and waits for a run in progress; stopping a nil or
// stopped loop does nothing.
func (l *loop) stop() {
	if l == nil {
		return
	}
	select {
	case <-l.quit:
	default:
		close(l.quit)
	}
	<-l.stopped
}
