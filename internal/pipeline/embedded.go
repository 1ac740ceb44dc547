package pipeline

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"strconv"
	"sync"
	"time"
	"unicode/utf8"

	"github.com/partnerloop/partnerloop/internal/store"
)

// Defaults of the embedded transport.
const (
	DefaultPoll        = 200 * time.Millisecond
	DefaultBatch       = 10
	DefaultPumpBatch   = 100
	DefaultMaxReceives = 5
	DefaultVisibility  = 30 * time.Second
	maxBackoff         = time.Minute
	maxLastErrorLen    = 1000
)

// DefaultBackoff is the delay before the next attempt after the
// receiveCount-th failed delivery: 1 s, 2 s, 4 s, … capped at a minute.
func DefaultBackoff(receiveCount int) time.Duration {
	if receiveCount < 1 {
		receiveCount = 1
	}
	if receiveCount > 7 { // 2^6 s already exceeds the cap
		return maxBackoff
	}
	return min(time.Second<<(receiveCount-1), maxBackoff)
}

// Embedded is the one-process transport of the pipeline: a Pump from the
// store's outbox into the queues, a Worker feeding the commissions queue to
// the calculator and a Worker acknowledging notifications. Run it in one
// goroutine (Run), or step it to completion in tests (Drain); not both at
// once.
type Embedded struct {
	Pump        *Pump
	Commissions *Worker
	Events      *Worker
	// Poll is how long Run sleeps when there is nothing to do.
	Poll time.Duration
	Log  *slog.Logger
}

// Handler handles one message of the commissions queue (the Calculator;
// tests and fault injection wrap it).
type Handler interface {
	Handle(ctx context.Context, m Message) error
}

// NewEmbedded wires the embedded pipeline: changes of st's outbox are
// routed into q, commissions messages go to calc, notifications are logged
// and acknowledged (webhooks will hook into Events.Handle). log nil
// discards.
func NewEmbedded(st store.Outbox, q store.Queue, calc Handler, log *slog.Logger) *Embedded {
	if log == nil {
		log = slog.New(slog.NewTextHandler(io.Discard, nil))
	}
	return &Embedded{
		Pump: &Pump{Outbox: st, Queue: q, Log: log},
		Commissions: &Worker{Queue: q, Name: QueueCommissions, Handle: calc.Handle,
			Log: log.With("queue", QueueCommissions)},
		Events: &Worker{Queue: q, Name: QueueEvents, Log: log.With("queue", QueueEvents)},
		Poll:   DefaultPoll,
		Log:    log,
	}
}

// Run moves changes and messages until ctx ends, sleeping Poll whenever
// there is nothing to do. Errors are logged and retried on the next round;
// it returns nil once ctx is done.
func (e *Embedded) Run(ctx context.Context) error {
	poll := e.Poll
	if poll <= 0 {
		poll = DefaultPoll
	}
	t := time.NewTimer(0)
	defer t.Stop()
	for {
		select {
		case <-ctx.Done():
			return nil
		case <-t.C:
		}
		n, err := e.Step(ctx)
		if err != nil && ctx.Err() == nil {
			e.Log.Error("pipeline round failed", "error", err)
		}
		next := poll
		if n > 0 && err == nil {
			next = 0 // more may be waiting
		}
		t.Reset(next)
	}
}

// Step runs one round: one batch of the outbox, one of each queue. It
// returns how many changes and messages it handled.
func (e *Embedded) Step(ctx context.Context) (int, error) {
	var errs []error
	n, err := e.Pump.Once(ctx)
	errs = append(errs, err)
	for _, w := range []*Worker{e.Commissions, e.Events} {
		m, err := w.Once(ctx)
		n += m
		errs = append(errs, err)
	}
	return n, errors.Join(errs...)
}

// Drain runs rounds until the outbox is empty and no message is waiting,
// sleeping until retries this process scheduled fall due. Tests use it to
// bring the pipeline to rest; the first error ends it.
func (e *Embedded) Drain(ctx context.Context) error {
	for {
		n, err := e.Step(ctx)
		if err != nil {
			return err
		}
		if n > 0 {
			continue
		}
		next, ok := earliest(e.Commissions.NextRetry(), e.Events.NextRetry())
		if !ok {
			return nil
		}
		wait := max(next.Sub(e.Commissions.now()), time.Millisecond)
		select {
		case <-ctx.Done():
			return ctx.Err()
		case <-time.After(wait):
		}
	}
}

func earliest(a, b time.Time) (time.Time, bool) {
	switch {
	case a.IsZero():
		return b, !b.IsZero()
	case b.IsZero() || a.Before(b):
		return a, true
	}
	return b, true
}

// Pump moves changes from a store's outbox into queues: it routes each
// change (Route), enqueues the messages — commissions work and
// notifications in their queues (QueueFor) — and then prunes the outbox
// through the last change it read. A crash between enqueueing and pruning
// reads the same changes again, which enqueue the same message IDs again:
// a no-op.
type Pump struct {
	Outbox store.Outbox
	Queue  store.Queue
	// Batch is how many changes one round reads (DefaultPumpBatch).
	Batch int
	// Now stamps enqueued messages (time.Now).
	Now func() time.Time
	Log *slog.Logger

	mu   sync.Mutex
	last int64 // the last sequence number enqueued
}

// Once pumps one batch of changes and returns how many it consumed. A
// change that cannot be routed (an unreadable image) is logged and
// skipped: it would otherwise stop every change behind it.
func (p *Pump) Once(ctx context.Context) (int, error) {
	p.mu.Lock()
	defer p.mu.Unlock()
	batch := p.Batch
	if batch <= 0 {
		batch = DefaultPumpBatch
	}
	changes, err := p.Outbox.Changes(ctx, p.last, batch)
	if err != nil || len(changes) == 0 {
		return 0, err
	}
	now := time.Now()
	if p.Now != nil {
		now = p.Now()
	}
	byQueue := map[string][]store.QueuedMessage{}
	for _, c := range changes {
		msgs, err := RouteAll(c)
		if err != nil {
			p.log().Error("unroutable change skipped", "seq", c.Seq, "entity", c.Entity, "op", c.Op,
				"organization", c.OrgID, "id", c.ID, "error", err)
			continue
		}
		for _, m := range msgs {
			m.Seq = PadSeq(strconv.FormatInt(c.Seq, 10))
			body, err := m.Encode()
			if err != nil {
				return 0, err
			}
			q := QueueFor(m.Type)
			byQueue[q] = append(byQueue[q], store.QueuedMessage{ID: m.ID, Body: body, AvailableAt: now})
		}
	}
	for _, q := range []string{QueueCommissions, QueueEvents} {
		if err := p.Queue.Enqueue(ctx, q, byQueue[q]); err != nil {
			return 0, fmt.Errorf("pipeline: enqueue into %s: %w", q, err)
		}
	}
	through := changes[len(changes)-1].Seq
	p.last = through
	if err := p.Outbox.PruneChanges(ctx, through); err != nil {
		// Enqueued already; the next prune covers these changes too.
		return len(changes), fmt.Errorf("pipeline: prune outbox: %w", err)
	}
	return len(changes), nil
}

func (p *Pump) log() *slog.Logger {
	if p.Log == nil {
		return slog.New(slog.NewTextHandler(io.Discard, nil))
	}
	return p.Log
}

// Worker consumes one queue: it receives batches, hands each message to
// Handle and acknowledges it on success. A failed message is retried after
// Backoff, and dead-lettered once it has been received MaxReceives times or
// at once when the error IsPermanent (or the body is not a message).
type Worker struct {
	Queue store.Queue
	// Name is the queue's name.
	Name string
	// Handle processes one message; nil acknowledges every message (the
	// notifications queue, until webhooks consume it).
	Handle func(context.Context, Message) error
	// Fail, when set, is called before Handle; an error it returns counts
	// as Handle's. Tests inject faults with it.
	Fail func(Message) error

	Batch       int           // messages per receive (DefaultBatch)
	MaxReceives int           // deliveries before dead-lettering (DefaultMaxReceives)
	Visibility  time.Duration // how long a received message stays hidden (DefaultVisibility)
	// Backoff is the delay before the next attempt after the n-th failed
	// delivery (DefaultBackoff).
	Backoff func(receiveCount int) time.Duration
	// Now is the queue's clock (time.Now).
	Now func() time.Time
	Log *slog.Logger

	mu      sync.Mutex
	retries map[string]time.Time // retries scheduled by this worker, for Drain
}

// Once receives and processes one batch and returns its size. Failures of
// messages are handled (retried or dead-lettered), not returned; the error
// is the queue's.
func (w *Worker) Once(ctx context.Context) (int, error) {
	batch := w.Batch
	if batch <= 0 {
		batch = DefaultBatch
	}
	vis := w.Visibility
	if vis <= 0 {
		vis = DefaultVisibility
	}
	ds, err := w.Queue.Receive(ctx, w.Name, batch, vis, w.now())
	if err != nil {
		return 0, fmt.Errorf("pipeline: receive from %s: %w", w.Name, err)
	}
	var errs []error
	for _, d := range ds {
		if ctx.Err() != nil {
			break // the rest become visible again after the timeout
		}
		errs = append(errs, w.process(ctx, d))
	}
	return len(ds), errors.Join(errs...)
}

// NextRetry is the earliest retry this worker has scheduled and not yet
// seen delivered again (the zero time: none).
func (w *Worker) NextRetry() time.Time {
	w.mu.Lock()
	defer w.mu.Unlock()
	var next time.Time
	for _, at := range w.retries {
		if next.IsZero() || at.Before(next) {
			next = at
		}
	}
	return next
}

func (w *Worker) process(ctx context.Context, d store.Delivery) error {
	w.setRetry(d.ID, time.Time{})
	m, err := DecodeMessage(d.Body)
	if err != nil {
		w.log().Error("undecodable message dead-lettered", "message", d.ID, "error", err)
		return w.Queue.DeadLetter(ctx, w.Name, d.ID, truncate(err.Error()))
	}
	log := w.log().With("message", m.ID, "type", m.Type, "organization", m.OrgID, "entity", m.EntityID,
		"receiveCount", d.ReceiveCount)
	err = w.run(ctx, m)
	switch {
	case err == nil:
		log.Debug("message handled")
		return w.Queue.Ack(ctx, w.Name, d.ID)
	case ctx.Err() != nil:
		return nil // shutting down: not the message's fault; redelivered after the timeout
	}
	maxReceives := w.MaxReceives
	if maxReceives <= 0 {
		maxReceives = DefaultMaxReceives
	}
	if IsPermanent(err) || d.ReceiveCount >= maxReceives {
		log.Error("message dead-lettered", "error", err, "permanent", IsPermanent(err))
		return w.Queue.DeadLetter(ctx, w.Name, d.ID, truncate(err.Error()))
	}
	backoff := w.Backoff
	if backoff == nil {
		backoff = DefaultBackoff
	}
	at := w.now().Add(backoff(d.ReceiveCount))
	log.Warn("message failed; will retry", "error", err, "retryAt", at)
	if err := w.Queue.Retry(ctx, w.Name, d.ID, at, truncate(err.Error())); err != nil {
		return err // it becomes visible again after the timeout anyway
	}
	w.setRetry(d.ID, at)
	return nil
}

// run calls Fail and Handle, turning a panic into an error so that one bad
// message cannot stop the process.
func (w *Worker) run(ctx context.Context, m Message) (err error) {
	defer func() {
		if r := recover(); r != nil {
			err = fmt.Errorf("pipeline: panic handling %s %s: %v", m.Type, m.ID, r)
		}
	}()
	if w.Fail != nil {
		if err := w.Fail(m); err != nil {
			return err
		}
	}
	if w.Handle == nil {
		w.log().Debug("event", "message", m.ID, "type", m.Type, "organization", m.OrgID, "entity", m.EntityID)
		return nil
	}
	return w.Handle(ctx, m)
}

func (w *Worker) setRetry(id string, at time.Time) {
	w.mu.Lock()
	defer w.mu.Unlock()
	if at.IsZero() {
		delete(w.retries, id)
		return
	}
	if w.retries == nil {
		w.retries = map[string]time.Time{}
	}
	w.retries[id] = at
}

func (w *Worker) now() time.Time {
	if w.Now != nil {
		return w.Now()
	}
	return time.Now()
}

func (w *Worker) log() *slog.Logger {
	if w.Log == nil {
		return slog.New(slog.NewTextHandler(io.Discard, nil))
	}
	return w.Log
}

func truncate(s string) string {
	if len(s) <= maxLastErrorLen {
		return s
	}
	cut := maxLastErrorLen
	for cut > 0 && !utf8.RuneStart(s[cut]) {
		cut--
	}
	return s[:cut] + "…"
}
