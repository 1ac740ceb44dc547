package sqlite

import (
	"context"
	"crypto/rand"
	"encoding/binary"
	"encoding/hex"
	"errors"
	"fmt"
	"hash/crc32"
	"io"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"sync/atomic"
	"syscall"
	"time"

	"github.com/partnerloop/partnerloop/internal/domain"
	"github.com/partnerloop/partnerloop/internal/store"
)

// The click journal. A counted click is durable once it is appended to an
// append-only file next to the database (one per open Store,
// <db>-clicks-<random>.jnl, held with an exclusive flock while open), not
// once a SQLite transaction holding it commits: RecordClick decides the
// click from memory (the click_limits rows, clicklimits.go, and the clicks
// acknowledged but not yet applied), appends its record — the records of
// concurrent callers with one write(2) — and returns. The group committer
// (group.go) then applies what is pending in batches, with the batch code
// (clickbatch.go), which decides the limits again inside BEGIN IMMEDIATE
// after reading the rows other processes appended: so the stored counts
// hold across processes (a click racing another process's click of the
// same visitor in the same instant can be answered "counted" and then not
// be stored; within one process the answer is exact). When everything in
// the journal is applied it is truncated.
//
// Durability: the journal is written without fsync, as SQLite's WAL is with
// synchronous=NORMAL: an acknowledged click survives a crash of the process
// (the kernel has the bytes), not a power cut. On Open, every journal of
// the database that no live process holds is replayed (idempotent by click
// ID) and removed.
//
// Reads that can see clicks (every query of the reader pool, and every
// write transaction but the applier's) first wait until the clicks
// acknowledged before them are applied (waitApplied): lists, counts,
// analytics and the outbox see every acknowledged click.

// maxPendingClicks bounds the clicks acknowledged but not applied:
// RecordClick waits for the applier past it.
const maxPendingClicks = 50_000

// maxApplyClicks bounds the clicks one transaction applies.
const maxApplyClicks = 4096

type clickJournal struct {
	path string
	f    *os.File

	mu       sync.Mutex
	cond     *sync.Cond // written, writing, flushErr changed
	closed   bool
	seq      uint64          // the last click appended
	pending  []*pendingClick // appended, not yet applied, by seq
	taken    int             // pending[:taken] are being applied
	buf      []byte          // records not written yet, for seqs written+1…seq
	spare    []byte
	written  uint64 // the last seq whose record was written
	writing  bool
	flushErr error
	applied  chan struct{} // closed (and replaced) when clicks leave pending

	npending atomic.Int64  // len(pending), for the read path
	lastSeq  atomic.Uint64 // seq, for the read path

	ready  chan struct{} // the applier has written clicks to apply
	urgent chan struct{} // a read waits for the clicks pending
}

// openJournal creates this Store's journal, locked: it is created under a
// name no replay looks at, locked, then renamed (a replay never sees it
// unlocked).
func openJournal(dbPath string) (*clickJournal, error) {
	var rnd [8]byte
	if _, err := rand.Read(rnd[:]); err != nil {
		return nil, err
	}
	name := dbPath + "-clicks-" + hex.EncodeToString(rnd[:])
	f, err := os.OpenFile(name+".tmp", os.O_RDWR|os.O_CREATE|os.O_EXCL|os.O_APPEND, 0o644)
	if err != nil {
		return nil, fmt.Errorf("sqlite: create click journal: %w", err)
	}
	if err := syscall.Flock(int(f.Fd()), syscall.LOCK_EX|syscall.LOCK_NB); err != nil {
		f.Close()
		os.Remove(name + ".tmp")
		return nil, fmt.Errorf("sqlite: lock click journal: %w", err)
	}
	if err := os.Rename(name+".tmp", name+".jnl"); err != nil {
		f.Close()
		os.Remove(name + ".tmp")
		return nil, fmt.Errorf("sqlite: click journal: %w", err)
	}
	j := &clickJournal{path: name + ".jnl", f: f, applied: make(chan struct{}), ready: make(chan struct{}, 1), urgent: make(chan struct{}, 1)}
	j.cond = sync.NewCond(&j.mu)
	return j, nil
}

// encodeRecord appends p's framed record to b: the payload's length and
// CRC-32 (IEEE), then the payload: the click's JSON, its visitor hash (not
// in the JSON) and its ClickLimits, each string after its length, each
// number a varint.
func encodeRecord(b []byte, p *pendingClick) []byte {
	var payload []byte
	for _, s := range [...]string{p.data, p.c.VisitorHash, p.lim.PrevVisitorHash, p.lim.SourceHash, p.lim.PrevSourceHash} {
		payload = binary.AppendUvarint(payload, uint64(len(s)))
		payload = append(payload, s...)
	}
	payload = binary.AppendVarint(payload, int64(p.lim.Window))
	payload = binary.AppendVarint(payload, int64(p.lim.PerSource))
	b = binary.LittleEndian.AppendUint32(b, uint32(len(payload)))
	b = binary.LittleEndian.AppendUint32(b, crc32.ChecksumIEEE(payload))
	return append(b, payload...)
}

// decodeRecord is encodeRecord's inverse for one payload.
func decodeRecord(payload []byte) (*pendingClick, error) {
	var strs [5]string
	for i := range strs {
		n, k := binary.Uvarint(payload)
		if k <= 0 || uint64(len(payload)-k) < n {
			return nil, errBadRecord
		}
		strs[i], payload = string(payload[k:k+int(n)]), payload[k+int(n):]
	}
	window, k := binary.Varint(payload)
	if k <= 0 {
		return nil, errBadRecord
	}
	perSource, k2 := binary.Varint(payload[k:])
	if k2 <= 0 || k+k2 != len(payload) {
		return nil, errBadRecord
	}
	var c domain.Click
	if err := unmarshal(strs[0], &c); err != nil {
		return nil, err
	}
	c.VisitorHash = strs[1]
	lim := store.ClickLimits{Window: time.Duration(window), PrevVisitorHash: strs[2], SourceHash: strs[3], PrevSourceHash: strs[4], PerSource: int(perSource)}
	return &pendingClick{c: c, data: strs[0], key: domain.CodeKey(c.Code), lim: lim}, nil
}

var errBadRecord = errors.New("sqlite: malformed click journal record")

// decodeJournal returns the clicks of a journal's complete records; a torn
// (partly written) last record is ignored.
func decodeJournal(r io.Reader) ([]*pendingClick, error) {
	b, err := io.ReadAll(r)
	if err != nil {
		return nil, err
	}
	var out []*pendingClick
	for len(b) >= 8 {
		n, sum := binary.LittleEndian.Uint32(b), binary.LittleEndian.Uint32(b[4:])
		if uint64(len(b)-8) < uint64(n) || crc32.ChecksumIEEE(b[8:8+n]) != sum {
			break // torn
		}
		p, err := decodeRecord(b[8 : 8+n])
		if err != nil {
			break
		}
		out = append(out, p)
		b = b[8+n:]
	}
	return out, nil
}

// recordJournaled decides p from memory; a counted p is reserved there
// (so the next decisions see it), appended to the journal and handed to
// the applier. It returns once the append returned.
func (s *Store) recordJournaled(ctx context.Context, p *pendingClick) (bool, error) {
	if err := s.knownReferrer(ctx, p.c.OrgID, p.c.ReferrerID); err != nil {
		return false, err
	}
	rec := encodeRecord(nil, p)
	j := s.jnl
	j.mu.Lock()
	defer j.mu.Unlock()
	// Backpressure: wait for the applier past maxPendingClicks.
	for len(j.pending) >= maxPendingClicks && !j.closed {
		ch := j.applied
		select {
		case j.urgent <- struct{}{}:
		default:
		}
		j.mu.Unlock()
		<-ch
		j.mu.Lock()
	}
	if j.closed {
		return false, errClosed
	}
	// Decided and reserved under the journal's lock, so the journal's
	// order is the order of the decisions.
	if !s.limits.reserve(p) {
		return false, nil
	}
	j.seq++
	p.seq = j.seq
	j.pending = append(j.pending, p)
	j.buf = append(j.buf, rec...)
	j.lastSeq.Store(j.seq)
	j.npending.Store(int64(len(j.pending)))
	// A failed write is reported to the caller; the click is applied all
	// the same (it may be in the file).
	return true, j.flushLocked(p.seq)
}

// flushLocked returns once the records up to seq are written: the caller
// that finds no write in progress writes every record buffered so far
// with one write(2); the others wait for it. A failed write is reported to
// the callers whose records it held; their clicks are applied all the same
// (they may be in the file).
func (j *clickJournal) flushLocked(seq uint64) error {
	for j.written < seq {
		if j.writing {
			j.cond.Wait()
			continue
		}
		buf, upto := j.buf, j.seq
		j.buf, j.writing = j.spare[:0], true
		j.mu.Unlock()
		_, err := j.f.Write(buf)
		j.mu.Lock()
		j.spare, j.writing, j.written = buf[:0], false, upto
		if err != nil {
			j.flushErr = fmt.Errorf("sqlite: click journal: %w", err)
		}
		j.cond.Broadcast()
		select {
		case j.ready <- struct{}{}:
		default:
		}
		if err != nil {
			return j.flushErr
		}
	}
	return nil
}

// take returns the clicks written and not yet being applied, at most
// maxApplyClicks, for the applier.
func (j *clickJournal) take() []*pendingClick {
	j.mu.Lock()
	defer j.mu.Unlock()
	n := j.taken
	for n < len(j.pending) && n-j.taken < maxApplyClicks && j.pending[n].seq <= j.written {
		n++
	}
	out := j.pending[j.taken:n:n]
	j.taken = n
	return out
}

// untake gives back the clicks take returned, not applied.
func (j *clickJournal) untake(clicks []*pendingClick) {
	j.mu.Lock()
	defer j.mu.Unlock()
	j.taken -= len(clicks)
}

// done removes the clicks take returned, now committed (or failed), from
// pending, and truncates the journal when nothing is pending.
func (j *clickJournal) done(clicks []*pendingClick) {
	if len(clicks) == 0 {
		return
	}
	j.mu.Lock()
	defer j.mu.Unlock()
	clear(j.pending[:len(clicks)])
	j.pending = j.pending[len(clicks):]
	j.taken -= len(clicks)
	if len(j.pending) == 0 {
		j.pending = nil
		if !j.writing && len(j.buf) == 0 {
			// Everything written is applied. An error leaves the records
			// to a replay, which skips the applied ones.
			_ = j.f.Truncate(0)
		}
	}
	j.npending.Store(int64(len(j.pending)))
	close(j.applied)
	j.applied = make(chan struct{})
}

// more reports whether written clicks wait to be taken.
func (j *clickJournal) more() bool {
	j.mu.Lock()
	defer j.mu.Unlock()
	return j.taken < len(j.pending) && j.pending[j.taken].seq <= j.written
}

// appliedThrough reports whether every click up to seq has left pending,
// and the channel closed when more leave.
func (j *clickJournal) appliedThrough(seq uint64) (bool, <-chan struct{}) {
	j.mu.Lock()
	defer j.mu.Unlock()
	return len(j.pending) == 0 || j.pending[0].seq > seq, j.applied
}

// applyEvery is how long the applier lets journaled clicks gather before
// it applies them (unless applyBatch are waiting or a read waits).
const (
	applyEvery = 5 * time.Millisecond
	applyBatch = 512
)

// settle waits until the written clicks are worth a commit: applyBatch
// of them, applyEvery since, a read waiting for them (urgent), a write
// queued (reqs: it commits with them) or the store closing.
func (j *clickJournal) settle(quit <-chan struct{}, reqs chan groupReq) []groupReq {
	if j.waiting() >= applyBatch {
		return nil
	}
	t := time.NewTimer(applyEvery)
	defer t.Stop()
	for {
		select {
		case <-t.C:
			return nil
		case <-j.urgent:
			return nil
		case <-quit:
			return nil
		case r := <-reqs:
			return []groupReq{r}
		case <-j.ready:
			if j.waiting() >= applyBatch {
				return nil
			}
		}
	}
}

// waiting is how many written clicks wait to be taken.
func (j *clickJournal) waiting() int {
	j.mu.Lock()
	defer j.mu.Unlock()
	n := 0
	for i := j.taken; i < len(j.pending) && j.pending[i].seq <= j.written; i++ {
		n++
		if n >= applyBatch {
			break
		}
	}
	return n
}

// applierKey marks the context of the group committer's transactions.
type applierKey struct{}

// waitApplied returns once the clicks acknowledged before it are applied
// (at once when none is pending). The group committer's own reads and an
// InTx's (which hold the writer the applier needs) do not wait.
func (s *Store) waitApplied(ctx context.Context) error {
	j := s.jnl
	if j == nil || j.npending.Load() == 0 {
		return nil
	}
	if ctx.Value(applierKey{}) != nil {
		return nil
	}
	if _, ok := s.inBatch(ctx); ok {
		return nil
	}
	target := j.lastSeq.Load()
	select {
	case j.urgent <- struct{}{}: // the applier is not to wait for more
	default:
	}
	for {
		ok, ch := j.appliedThrough(target)
		if ok {
			return nil
		}
		select {
		case <-ch:
		case <-ctx.Done():
			return ctx.Err()
		}
	}
}

// knownReferrer returns store.ErrNotFound when the organization has no
// referrer id (referrers are never deleted: the ones found are remembered).
func (s *Store) knownReferrer(ctx context.Context, orgID, id string) error {
	k := orgID + "\x00" + id
	if _, ok := s.referrers.Load(k); ok {
		return nil
	}
	var one int
	if err := s.rq.QueryRowContext(ctx, `SELECT 1 FROM referrers WHERE org_id = ? AND id = ?`, orgID, id).Scan(&one); err != nil {
		return mapErr(err)
	}
	s.referrers.Store(k, struct{}{})
	return nil
}

// closeJournal removes the journal once everything in it is applied (else
// leaves it to the next Open's replay) and releases it.
func (j *clickJournal) closeJournal() error {
	j.mu.Lock()
	defer j.mu.Unlock()
	if len(j.pending) == 0 && len(j.buf) == 0 {
		os.Remove(j.path)
	}
	return j.f.Close()
}

// replayJournals applies and removes every journal of the database at
// dbPath that no live process holds.
func (s *Store) replayJournals(ctx context.Context, dbPath string) error {
	names, err := filepath.Glob(globEscape(dbPath) + "-clicks-*.jnl")
	if err != nil {
		return err
	}
	for _, name := range names {
		if err := s.replayJournal(ctx, name); err != nil {
			return fmt.Errorf("sqlite: replay %s: %w", name, err)
		}
	}
	return nil
}

func (s *Store) replayJournal(ctx context.Context, name string) error {
	f, err := os.OpenFile(name, os.O_RDWR, 0)
	if errors.Is(err, os.ErrNotExist) {
		return nil // replayed by another process meanwhile
	}
	if err != nil {
		return err
	}
	defer f.Close()
	if err := syscall.Flock(int(f.Fd()), syscall.LOCK_EX|syscall.LOCK_NB); err != nil {
		if errors.Is(err, syscall.EWOULDBLOCK) {
			return nil // a live process's
		}
		return err
	}
	if _, err := os.Stat(name); errors.Is(err, os.ErrNotExist) {
		return nil // another process replayed and removed it before we locked it
	}
	clicks, err := decodeJournal(f)
	if err != nil {
		return err
	}
	for len(clicks) > 0 {
		n := min(len(clicks), maxApplyClicks)
		if err := s.applyReplayed(ctx, clicks[:n]); err != nil {
			return err
		}
		clicks = clicks[n:]
	}
	return os.Remove(name)
}

// applyReplayed applies clicks in one transaction, skipping those already
// in clicks (applied before the crash).
func (s *Store) applyReplayed(ctx context.Context, clicks []*pendingClick) error {
	lt := s.limits.begin()
	err := s.write(ctx, func(tx *wtx) error {
		ids := make([]string, len(clicks))
		for i, p := range clicks {
			ids[i] = p.c.ID
		}
		have := map[string]bool{}
		if err := queryIn(ctx, tx, `SELECT id FROM clicks WHERE id IN (`, nil, ids, func(sc rowScanner) error {
			var id string
			err := sc.Scan(&id)
			have[id] = true
			return err
		}); err != nil {
			return err
		}
		var todo []*pendingClick
		for _, p := range clicks {
			if !have[p.c.ID] {
				have[p.c.ID] = true // a record twice in the journal: once
				todo = append(todo, p)
			}
		}
		if len(todo) == 0 {
			return nil
		}
		return recordClicks(ctx, tx, lt, todo, false)
	})
	if err == nil {
		lt.committed(nil)
	}
	return err
}

// globEscape escapes filepath.Match's metacharacters in a path.
func globEscape(p string) string {
	var b strings.Builder
	for _, r := range p {
		if strings.ContainsRune(`*?[\`, r) {
			b.WriteByte('\\')
		}
		b.WriteRune(r)
	}
	return b.String()
}
