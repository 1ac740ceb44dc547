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

// EmbeddedBatch is the batch of NewEmbedded's workers: a round's writes
// share one transaction there (Transactor), so larger batches cost fewer
// commits.
const EmbeddedBatch = 64

// EmbeddedPumpBatch is how many changes a round of NewEmbedded's pump
// reads. Under a stream of conversions the pump runs full rounds back to
// back, and each round costs the same fixed work whatever its size: the
// outbox read, a program and ledger read per organization, a commit that
// writes the tails of the ledger's B-trees (commissions and five indexes,
// the audit trail, the outbox) to the WAL once more. At 100 changes
// (about 50 conversions) a round, the server spent about 12 % more CPU per
// conversion than at 400 (docs/performance.md, fifth pass); 1,000 gave
// nothing more, and makes the round that holds the writer longer.
const EmbeddedPumpBatch = 400

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
	// Linger is how long Run waits after a round that handled fewer than
	// EmbeddedBatch changes and messages, for the next one to take more
	// at once (DefaultLinger; negative: no wait).
	Linger time.Duration
	// PruneEvery is how often Run has the queue forget the messages done
	// more than KeepDone ago, when it can (QueuePruner; DefaultPruneEvery,
	// DefaultKeepDone).
	PruneEvery time.Duration
	KeepDone   time.Duration
	Log        *slog.Logger

	lastPrune time.Time
}

// QueuePruner forgets the IDs of messages done before doneBefore (the
// SQLite store's PruneQueue); their rows would otherwise stay for ever.
type QueuePruner interface {
	PruneQueue(ctx context.Context, doneBefore time.Time) (int64, error)
}

// Defaults of Embedded's pruning: every ten minutes, the messages done
// more than an hour ago. A done message's ID only matters while the
// outbox change that enqueued it could be read again, and the pump prunes
// the outbox in the transaction that enqueues.
const (
	DefaultPruneEvery = 10 * time.Minute
	DefaultKeepDone   = time.Hour
)

// Transactor runs fn with every store write made under the context it
// gets in one write transaction, committed when fn returns nil (the SQLite
// store's InTx). Each write still succeeds or fails on its own, as it would
// outside.
type Transactor interface {
	InTx(ctx context.Context, fn func(ctx context.Context) error) error
}

// AckAller acknowledges many messages at once (the SQLite store's AckAll):
// one error per ID.
type AckAller interface {
	AckAll(ctx context.Context, queue string, ids []string) []error
}

// Handler handles one message of the commissions queue (the Calculator;
// tests and fault injection wrap it).
type Handler interface {
	Handle(ctx context.Context, m Message) error
}

// NewEmbedded wires the embedded pipeline: changes of st's outbox are
// routed into q, commissions messages go to calc, notifications are logged
// and acknowledged (webhooks will hook into Events.Handle). log nil
// discards. When q is a Transactor, each round of the pump and of the
// commissions worker is one write transaction (the ledger entries and
// acknowledgements of a whole batch commit together); the events worker's
// handler may call out over the network, so only its acknowledgements are
// batched.
func NewEmbedded(st store.Outbox, q store.Queue, calc Handler, log *slog.Logger) *Embedded {
	if log == nil {
		log = slog.New(slog.NewTextHandler(io.Discard, nil))
	}
	tr, _ := q.(Transactor)
	var prepare func(context.Context, []Message) func(context.Context) []error
	if bh, ok := calc.(BatchHandler); ok {
		prepare = bh.PrepareBatch
	}
	return &Embedded{
		Pump: &Pump{Outbox: st, Queue: q, Log: log, Tx: tr, Batch: EmbeddedPumpBatch},
		Commissions: &Worker{Queue: q, Name: QueueCommissions, Handle: calc.Handle, Prepare: prepare, Batch: EmbeddedBatch, Tx: tr,
			Log: log.With("queue", QueueCommissions)},
		Events: &Worker{Queue: q, Name: QueueEvents, Batch: EmbeddedBatch, Log: log.With("queue", QueueEvents)},
		Poll:   DefaultPoll,
		Log:    log,
	}
}

// inTx runs fn in tr's transaction, or directly when tr is nil.
func inTx(ctx context.Context, tr Transactor, fn func(ctx context.Context) error) error {
	if tr == nil {
		return fn(ctx)
	}
	return tr.InTx(ctx, fn)
}

// DefaultLinger is Embedded.Linger's default: the pipeline prices a
// conversion within a few tens of milliseconds when it is idle, and in
// batches of EmbeddedBatch when it is busy.
const DefaultLinger = 20 * time.Millisecond

type lingering struct {
	full int
	wait time.Duration
}

func (e *Embedded) linger() lingering {
	switch {
	case e.Linger < 0:
		return lingering{full: 1}
	case e.Linger == 0:
		return lingering{full: EmbeddedBatch, wait: DefaultLinger}
	}
	return lingering{full: EmbeddedBatch, wait: e.Linger}
}

// Run moves changes and messages until ctx ends, sleeping Poll whenever
// there is nothing to do and Linger after a small round. Errors are
// logged and retried on the next round; it returns nil once ctx is done.
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
		e.prune(ctx)
		next := poll
		switch {
		case err != nil || n == 0:
		case n >= e.linger().full:
			next = 0 // more may be waiting
		default:
			// A small round: let more arrive, so that the next round's
			// batch (and transaction) holds more of them.
			next = min(e.linger().wait, poll)
		}
		t.Reset(next)
	}
}

// prune has the queue forget old done messages once every PruneEvery
// (the first time a PruneEvery after the first call).
func (e *Embedded) prune(ctx context.Context) {
	q, ok := e.Commissions.Queue.(QueuePruner)
	if !ok {
		return
	}
	every, keep := e.PruneEvery, e.KeepDone
	if every <= 0 {
		every = DefaultPruneEvery
	}
	if keep <= 0 {
		keep = DefaultKeepDone
	}
	now := e.Commissions.now()
	switch {
	case e.lastPrune.IsZero():
		e.lastPrune = now
		return
	case now.Sub(e.lastPrune) < every:
		return
	}
	e.lastPrune = now
	n, err := q.PruneQueue(ctx, now.Add(-keep))
	switch {
	case err != nil && ctx.Err() == nil:
		e.Log.Error("pruning the queue failed", "error", err)
	case n > 0:
		e.Log.Debug("queue pruned", "messages", n)
	}
}

// Step runs one round: one batch of the outbox, one of each queue. It
// returns how many changes and messages it handled.
func (e *Embedded) Step(ctx context.Context) (int, error) {
	var errs []error
	// The calculator's work goes from the outbox straight to the
	// calculator, unless faults are being injected into its worker.
	var direct func(context.Context, []Message) func(context.Context) []error
	if e.Commissions.Fail == nil {
		direct = e.Commissions.Prepare
	}
	n, err := e.Pump.once(ctx, direct)
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
	// Tx, when set, makes a round's enqueueing and pruning one
	// transaction.
	Tx Transactor
	// Wanted, when set, tells whether an organization's notifications
	// have a consumer (webhooks: an enabled endpoint); those of an
	// organization without one are not enqueued, as nobody would receive
	// them. Asked once per organization and round; an error enqueues them.
	Wanted func(ctx context.Context, orgID string) (bool, error)

	mu   sync.Mutex
	last int64 // the last sequence number enqueued
}

// Once pumps one batch of changes and returns how many it consumed. A
// change that cannot be routed (an unreadable image) is logged and
// skipped: it would otherwise stop every change behind it.
func (p *Pump) Once(ctx context.Context) (int, error) {
	return p.once(ctx, nil)
}

// once pumps one batch. With direct set, the commissions work is handed
// to it instead of the queue: its reads first, then its writes in the
// round's transaction, and only the messages it failed are enqueued — for
// the commissions worker to deliver again (and retry or dead-letter as it
// does every message).
// A crash before the commit reads the same changes again, and the
// calculator finds what it recorded (it is idempotent).
func (p *Pump) once(ctx context.Context, direct func(context.Context, []Message) func(context.Context) []error) (int, error) {
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
	var work []Message // for direct
	wanted := map[string]bool{}
	for _, c := range changes {
		msgs, err := p.route(ctx, wanted, c)
		if err != nil {
			p.log().Error("unroutable change skipped", "seq", c.Seq, "entity", c.Entity, "op", c.Op,
				"organization", c.OrgID, "id", c.ID, "error", err)
			continue
		}
		for _, m := range msgs {
			m.Seq = PadSeq(strconv.FormatInt(c.Seq, 10))
			q := QueueFor(m.Type)
			if q == QueueCommissions && direct != nil {
				work = append(work, m)
				continue
			}
			if q == QueueEvents && !p.wanted(ctx, wanted, m.OrgID) {
				continue
			}
			body, err := m.Encode()
			if err != nil {
				return 0, err
			}
			byQueue[q] = append(byQueue[q], store.QueuedMessage{ID: m.ID, Body: body, AvailableAt: now})
		}
	}
	var write func(context.Context) []error
	panicked := error(nil)
	if len(work) > 0 {
		panicked = safely(work, func() { write = direct(ctx, work) })
	}
	through := changes[len(changes)-1].Seq
	var pruneErr error
	err = inTx(ctx, p.Tx, func(ctx context.Context) error {
		if len(work) > 0 {
			results := make([]error, len(work))
			if panicked == nil {
				panicked = safely(work, func() { copy(results, write(ctx)) })
			}
			for i, m := range work {
				if panicked != nil {
					results[i] = panicked
				}
				if results[i] == nil {
					continue
				}
				p.log().Warn("message failed in the pump; the commissions worker retries it", "message", m.ID,
					"type", m.Type, "organization", m.OrgID, "entity", m.EntityID, "error", results[i])
				body, err := m.Encode()
				if err != nil {
					return err
				}
				byQueue[QueueCommissions] = append(byQueue[QueueCommissions],
					store.QueuedMessage{ID: m.ID, Body: body, AvailableAt: now})
			}
		}
		for _, q := range []string{QueueCommissions, QueueEvents} {
			if err := p.Queue.Enqueue(ctx, q, byQueue[q]); err != nil {
				return fmt.Errorf("pipeline: enqueue into %s: %w", q, err)
			}
		}
		pruneErr = p.Outbox.PruneChanges(ctx, through)
		return nil
	})
	if err != nil {
		return 0, err
	}
	p.last = through
	if pruneErr != nil {
		// Enqueued already; the next prune covers these changes too.
		return len(changes), fmt.Errorf("pipeline: prune outbox: %w", pruneErr)
	}
	return len(changes), nil
}

// route is RouteAll, but for an organization whose notifications nobody
// receives (Wanted) it routes only the changes that can be the
// calculator's work — conversions and deals — and none of the others
// (commissions, referrals, partners: notifications only), sparing the
// decoding and hashing of their images.
func (p *Pump) route(ctx context.Context, seen map[string]bool, c store.Change) ([]Message, error) {
	if p.wanted(ctx, seen, c.OrgID) {
		return RouteAll(c)
	}
	switch c.Entity {
	case EntityConversion, EntityDeal:
		return Route(c)
	}
	return nil, nil
}

// wanted answers Wanted for orgID, once per round (seen).
func (p *Pump) wanted(ctx context.Context, seen map[string]bool, orgID string) bool {
	if p.Wanted == nil {
		return true
	}
	w, ok := seen[orgID]
	if !ok {
		var err error
		if w, err = p.Wanted(ctx, orgID); err != nil {
			w = true
		}
		seen[orgID] = w
	}
	return w
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
	// Prepare, when set (and Fail is not), handles whole batches instead
	// of Handle (BatchHandler.PrepareBatch).
	Prepare func(ctx context.Context, msgs []Message) func(ctx context.Context) []error

	Batch       int           // messages per receive (DefaultBatch)
	MaxReceives int           // deliveries before dead-lettering (DefaultMaxReceives)
	Visibility  time.Duration // how long a received message stays hidden (DefaultVisibility)
	// Backoff is the delay before the next attempt after the n-th failed
	// delivery (DefaultBackoff).
	Backoff func(receiveCount int) time.Duration
	// Now is the queue's clock (time.Now).
	Now func() time.Time
	Log *slog.Logger
	// Tx, when set, makes the handling of a received batch one
	// transaction: the handlers' writes, retries, dead letters and
	// acknowledgements commit together.
	Tx Transactor

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
	if len(ds) == 0 {
		return 0, nil
	}
	if w.Prepare != nil && w.Fail == nil {
		return len(ds), w.batch(ctx, ds)
	}
	var errs []error
	err = inTx(ctx, w.Tx, func(ctx context.Context) error {
		var acks []string
		for _, d := range ds {
			if ctx.Err() != nil {
				break // the rest become visible again after the timeout
			}
			ack, err := w.process(ctx, d)
			errs = append(errs, err)
			if ack {
				acks = append(acks, d.ID)
			}
		}
		errs = append(errs, w.ack(ctx, acks)...)
		return nil
	})
	return len(ds), errors.Join(append(errs, err)...)
}

// batch handles ds through Prepare: the reads first, then, in one
// transaction (Tx), the writes, the retries and dead letters of the
// messages that failed and the acknowledgements of the others.
func (w *Worker) batch(ctx context.Context, ds []store.Delivery) error {
	var errs []error
	msgs := make([]Message, 0, len(ds))
	kept := make([]store.Delivery, 0, len(ds))
	for _, d := range ds {
		w.setRetry(d.ID, time.Time{})
		m, err := DecodeMessage(d.Body)
		if err != nil {
			errs = append(errs, w.deadLetterUndecodable(ctx, d, err))
			continue
		}
		msgs, kept = append(msgs, m), append(kept, d)
	}
	if len(msgs) == 0 {
		return errors.Join(errs...)
	}
	results := make([]error, len(msgs))
	var write func(context.Context) []error
	panicked := safely(msgs, func() { write = w.Prepare(ctx, msgs) })
	txErr := inTx(ctx, w.Tx, func(ctx context.Context) error {
		if panicked == nil {
			panicked = safely(msgs, func() { copy(results, write(ctx)) })
		}
		var acks []string
		for i, d := range kept {
			res := results[i]
			if panicked != nil {
				res = panicked
			}
			ack, err := w.settle(ctx, d, msgs[i], res)
			errs = append(errs, err)
			if ack {
				acks = append(acks, d.ID)
			}
		}
		errs = append(errs, w.ack(ctx, acks)...)
		return nil
	})
	return errors.Join(append(errs, txErr)...)
}

// safely calls fn, turning a panic into an error so that one bad batch
// cannot stop the process.
func safely(msgs []Message, fn func()) (err error) {
	defer func() {
		if r := recover(); r != nil {
			err = fmt.Errorf("pipeline: panic handling a batch of %d messages from %s: %v", len(msgs), msgs[0].ID, r)
		}
	}()
	fn()
	return nil
}

// ack acknowledges the messages handled, all at once when the queue can.
func (w *Worker) ack(ctx context.Context, ids []string) []error {
	if len(ids) == 0 {
		return nil
	}
	if q, ok := w.Queue.(AckAller); ok {
		return q.AckAll(ctx, w.Name, ids)
	}
	errs := make([]error, len(ids))
	for i, id := range ids {
		errs[i] = w.Queue.Ack(ctx, w.Name, id)
	}
	return errs
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

// process handles one delivery; ack reports that it was handled and is to
// be acknowledged (Once acknowledges a batch's messages together).
func (w *Worker) process(ctx context.Context, d store.Delivery) (ack bool, _ error) {
	w.setRetry(d.ID, time.Time{})
	m, err := DecodeMessage(d.Body)
	if err != nil {
		return false, w.deadLetterUndecodable(ctx, d, err)
	}
	return w.settle(ctx, d, m, w.run(ctx, m))
}

func (w *Worker) deadLetterUndecodable(ctx context.Context, d store.Delivery, err error) error {
	w.log().Error("undecodable message dead-lettered", "message", d.ID, "error", err)
	return w.Queue.DeadLetter(ctx, w.Name, d.ID, truncate(err.Error()))
}

// settle decides what becomes of a message its handler returned err for:
// acknowledged (ack), retried later or dead-lettered.
func (w *Worker) settle(ctx context.Context, d store.Delivery, m Message, err error) (ack bool, _ error) {
	switch {
	case err == nil:
		return true, nil
	case ctx.Err() != nil:
		return false, nil // shutting down: not the message's fault; redelivered after the timeout
	}
	log := w.log().With("message", m.ID, "type", m.Type, "organization", m.OrgID, "entity", m.EntityID,
		"receiveCount", d.ReceiveCount)
	maxReceives := w.MaxReceives
	if maxReceives <= 0 {
		maxReceives = DefaultMaxReceives
	}
	if IsPermanent(err) || d.ReceiveCount >= maxReceives {
		log.Error("message dead-lettered", "error", err, "permanent", IsPermanent(err))
		return false, w.Queue.DeadLetter(ctx, w.Name, d.ID, truncate(err.Error()))
	}
	backoff := w.Backoff
	if backoff == nil {
		backoff = DefaultBackoff
	}
	at := w.now().Add(backoff(d.ReceiveCount))
	log.Warn("message failed; will retry", "error", err, "retryAt", at)
	if err := w.Queue.Retry(ctx, w.Name, d.ID, at, truncate(err.Error())); err != nil {
		return false, err // it becomes visible again after the timeout anyway
	}
	w.setRetry(d.ID, at)
	return false, nil
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
