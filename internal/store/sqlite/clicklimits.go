package sqlite

import (
	"cmp"
	"context"
	"database/sql"
	"errors"
	"hash/maphash"
	"math"
	"sync"
	"sync/atomic"
	"time"

	"github.com/partnerloop/partnerloop/internal/store"
)

// Click limits (store.ClickLimits). A counted click adds a row to
// click_limits: (code, address, fixed window, visitor, when). The
// per-visitor window and the per-address count are decided from those rows:
//
//   - a repeat: a row of the visitor (VisitorHash or PrevVisitorHash) under
//     one of its addresses (SourceHash, PrevSourceHash, or "" — clicks
//     recorded without an address, and the visitors migrated from the old
//     click_dedupe table) whose last_at is less than Window before c.At;
//   - over the address's cap: PerSource rows under (code, SourceHash) in
//     c.At's fixed window (c.At truncated to Window). A visitor counts at
//     most once per window, so the rows of a window are its counted clicks.
//
// The rows are only ever appended (seq, AUTOINCREMENT), so a group of
// counted clicks writes the table's last page instead of a random leaf per
// click (keyed by address, as the table was, they were about half the WAL
// frames of a group), and they are read from memory (clickLimits): every
// row of the recent windows, as short digests. The memory is only a copy
// of the file: each write transaction that decides clicks first reads the
// rows appended since the memory's last (another process's, or this one's
// written outside the group commit), and the rows it reads and writes join
// the memory once it has committed. Deciding inside the write transaction
// (BEGIN IMMEDIATE) keeps the limits exact across processes; rows of windows
// that ended long enough ago to decide nothing are deleted from the file
// and from memory (pruneClickLimits).
//
// Memory holds about 110 bytes per counted click of the last two windows
// (an hour each for the tracking service; measured with a million rows):
// 2 MB for 10,000 counted clicks an hour, 220 MB for a million.

// digest identifies a (code, address[, visitor]) in memory: 128 bits of
// two seeded hashes, random per process (a collision between two visitors
// of the last two hours is as likely as guessing a 128-bit key).
type digest [2]uint64

var digestSeeds = [2]maphash.Seed{maphash.MakeSeed(), maphash.MakeSeed()}

func digestOf(parts ...string) digest {
	var d digest
	for i, seed := range digestSeeds {
		var h maphash.Hash
		h.SetSeed(seed)
		for _, p := range parts {
			h.WriteString(p)
			h.WriteByte(0)
		}
		d[i] = h.Sum64()
	}
	return d
}

// limitRow is a click_limits row in memory.
type limitRow struct {
	window  int64  // window_start, Unix ns
	visitor digest // (code, address, visitor)
	source  digest // (code, address)
	at      int64  // last_at, Unix ns
}

func newLimitRow(code, source, visitor string, window, at time.Time) limitRow {
	return limitRow{window: window.UnixNano(), visitor: digestOf(code, source, visitor), source: digestOf(code, source), at: at.UnixNano()}
}

// limitSet is a set of click_limits rows by window: each visitor's last
// counted click and each address's count.
type limitSet map[int64]*limitWindow

type limitWindow struct {
	last  map[digest]int64
	count map[digest]int32
}

func (s limitSet) add(r limitRow) {
	w := s[r.window]
	if w == nil {
		w = &limitWindow{last: map[digest]int64{}, count: map[digest]int32{}}
		s[r.window] = w
	}
	if t, ok := w.last[r.visitor]; !ok || r.at > t {
		w.last[r.visitor] = r.at
	}
	w.count[r.source]++
}

// probe is what deciding a click looks up: its visitor under each of its
// addresses, and its address's window.
type probe struct {
	from     int64 // the earliest window a row less than Window before can be in
	since    int64 // c.At - Window
	window   int64
	visitors []digest
	source   digest
	cap      int32    // PerSource; 0 for none
	row      limitRow // the row the click adds when it counts
}

func (p *pendingClick) probe() *probe {
	if p.pr != nil {
		return p.pr
	}
	c, lim := p.c, p.lim
	pr := &probe{
		from:   windowStart(c.At.Add(-lim.Window), lim).UnixNano(),
		since:  c.At.Add(-lim.Window).UnixNano(),
		window: windowStart(c.At, lim).UnixNano(),
		source: digestOf(p.key, lim.SourceHash),
		cap:    int32(max(0, min(lim.PerSource, math.MaxInt32))),
	}
	for _, src := range p.sources() {
		for _, h := range [2]string{c.VisitorHash, lim.PrevVisitorHash} {
			if h != "" {
				pr.visitors = append(pr.visitors, digestOf(p.key, src, h))
			}
		}
	}
	pr.row = limitRow{window: pr.window, visitor: digestOf(p.key, lim.SourceHash, c.VisitorHash), source: pr.source, at: c.At.UnixNano()}
	p.pr = pr
	return pr
}

// row is p's click_limits row.
func (p *pendingClick) row() limitRow { return p.probe().row }

// decided reports whether sets say p does not count: a repeat, or its
// address at its cap. (Rows only ever add to that: a click that is a
// repeat or over the cap by some rows is by all of them.)
func (pr *probe) decided(sets ...limitSet) bool {
	var n int32
	for _, s := range sets {
		// One pass over the windows (a few), looking up every digest in
		// each one recent enough.
		for start, w := range s {
			if start < pr.from {
				continue
			}
			for _, v := range pr.visitors {
				if t, ok := w.last[v]; ok && t > pr.since {
					return true
				}
			}
			if start == pr.window {
				n += w.count[pr.source]
			}
		}
	}
	return pr.cap > 0 && n >= pr.cap
}

// clickLimits is the memory's copy of click_limits, and the rows of the
// clicks acknowledged through the journal but not yet applied (journal.go).
type clickLimits struct {
	mu   sync.Mutex
	rows limitSet
	seq  int64 // the last row's seq
	// pend holds the rows of pendClicks, the clicks reserved and not yet
	// applied.
	pend       limitSet
	pendClicks []*pendingClick
	// outside counts the transactions that committed click rows memory
	// does not have (an InTx's); refreshed is the count memory has read
	// the file after.
	outside   atomic.Int64
	refreshed atomic.Int64
}

func (l *clickLimits) wroteOutside() { l.outside.Add(1) }

// refresh reads the rows appended since memory's last when a transaction
// outside the group committer wrote some (refresh is a no-op otherwise).
func (l *clickLimits) refresh(ctx context.Context, q querier) error {
	n := l.outside.Load()
	if l.refreshed.Load() == n {
		return nil
	}
	l.mu.Lock()
	seq := l.seq
	l.mu.Unlock()
	rows, last, err := readLimitRows(ctx, q, seq)
	if err != nil {
		return err
	}
	l.mu.Lock()
	defer l.mu.Unlock()
	if l.seq == seq { // else the group committer moved memory meanwhile: it has read them
		if l.rows == nil {
			l.rows = limitSet{}
		}
		for _, r := range rows {
			l.rows.add(r)
		}
		l.seq = last
	}
	l.refreshed.Store(n)
	return nil
}

// decided reports whether memory alone says p does not count (a repeat, or
// its address at its cap), so RecordClick answers it without a write.
func (l *clickLimits) decided(p *pendingClick) bool {
	pr := p.probe()
	l.mu.Lock()
	defer l.mu.Unlock()
	return pr.decided(l.rows, l.pend)
}

// reserve decides p from memory and the clicks pending and, when it
// counts, adds it to the pending ones.
func (l *clickLimits) reserve(p *pendingClick) bool {
	pr := p.probe()
	l.mu.Lock()
	defer l.mu.Unlock()
	if pr.decided(l.rows, l.pend) {
		return false
	}
	if l.pend == nil {
		l.pend = limitSet{}
	}
	l.pend.add(p.row())
	l.pendClicks = append(l.pendClicks, p)
	return true
}

// load reads every row into memory (Open: the table holds the recent
// windows only).
func (l *clickLimits) load(ctx context.Context, q querier) error {
	rows, seq, err := readLimitRows(ctx, q, 0)
	if err != nil {
		return err
	}
	l.mu.Lock()
	defer l.mu.Unlock()
	if l.rows == nil {
		l.rows = limitSet{}
	}
	for _, r := range rows {
		l.rows.add(r)
	}
	l.seq = max(l.seq, seq)
	return nil
}

// prune forgets the rows of windows that started before before.
func (l *clickLimits) prune(before time.Time) {
	l.mu.Lock()
	defer l.mu.Unlock()
	for start := range l.rows {
		if start < before.UnixNano() {
			delete(l.rows, start)
		}
	}
}

// readLimitRows reads the click_limits rows after seq, and the last one's
// seq (seq when there are none).
func readLimitRows(ctx context.Context, q querier, seq int64) ([]limitRow, int64, error) {
	rows, err := q.QueryContext(ctx, `SELECT seq, code_key, source_hash, window_start, visitor_hash, last_at FROM click_limits WHERE seq > ? ORDER BY seq`, seq)
	if err != nil {
		return nil, seq, err
	}
	defer rows.Close()
	var out []limitRow
	for rows.Next() {
		var code, src, win, h, at string
		if err := rows.Scan(&seq, &code, &src, &win, &h, &at); err != nil {
			return nil, seq, err
		}
		w, err := parseTime(win)
		if err != nil {
			return nil, seq, err
		}
		t, err := parseTime(at)
		if err != nil {
			return nil, seq, err
		}
		out = append(out, newLimitRow(code, src, h, w, t))
	}
	return out, seq, rows.Err()
}

// limitTx is what one write transaction decides clicks with: the memory,
// plus the rows the transaction read (appended since the memory's last)
// and wrote.
type limitTx struct {
	l *clickLimits
	// withPending: decide with the clicks pending in the journal too (a
	// click written outside the applier, which applies those very clicks).
	withPending bool
	base        int64 // memory's last seq when t began
	seen        limitSet
	rows        []limitRow // seen's rows, in order
	seq         int64      // the last row seen
	read        bool
}

func (l *clickLimits) begin() *limitTx {
	l.mu.Lock()
	defer l.mu.Unlock()
	return &limitTx{l: l, base: l.seq, seen: limitSet{}, seq: l.seq}
}

// catchUp reads the rows appended since the last one t has seen: another
// process's, or this one's written since memory's last. Once a
// transaction is enough (it holds the file's write lock), but a fallback
// that starts a new transaction must call it again.
func (t *limitTx) catchUp(ctx context.Context, tx *wtx) error {
	rows, seq, err := readLimitRows(ctx, tx, t.seq)
	if err != nil {
		return err
	}
	for _, r := range rows {
		t.note(r)
	}
	t.seq = seq
	return nil
}

func (t *limitTx) note(r limitRow) {
	t.seen.add(r)
	t.rows = append(t.rows, r)
}

// decided reports whether p does not count, by memory and what t saw.
func (t *limitTx) decided(p *pendingClick) bool {
	pr := p.probe()
	t.l.mu.Lock()
	defer t.l.mu.Unlock()
	if t.withPending {
		return pr.decided(t.l.rows, t.seen, t.l.pend)
	}
	return pr.decided(t.l.rows, t.seen)
}

// wrote records that tx appended p's row, as seq.
func (t *limitTx) wrote(p *pendingClick, seq int64) {
	t.note(p.row())
	t.seq = seq
}

// mark and undo take back what t saw after mark (a savepoint rolled back).
func (t *limitTx) mark() (int, int64) { return len(t.rows), t.seq }

func (t *limitTx) undo(n int, seq int64) {
	t.rows = t.rows[:n]
	t.seen = limitSet{}
	for _, r := range t.rows {
		t.seen.add(r)
	}
	t.seq = seq
}

// committed adds what t saw to memory and takes applied, the journaled
// clicks t's transaction applied (counted or not), off the pending ones —
// at once, so no decision sees a click in both or in neither: call it once
// t's transaction has committed, never for one that did not.
func (t *limitTx) committed(applied []*pendingClick) {
	if len(t.rows) == 0 && len(applied) == 0 {
		return
	}
	l := t.l
	l.mu.Lock()
	defer l.mu.Unlock()
	if len(applied) > 0 {
		done := make(map[*pendingClick]bool, len(applied))
		for _, p := range applied {
			done[p] = true
		}
		kept := l.pendClicks[:0]
		for _, p := range l.pendClicks {
			if !done[p] {
				kept = append(kept, p)
			}
		}
		clear(l.pendClicks[len(kept):])
		l.pendClicks = kept
		l.pend = limitSet{}
		for _, p := range kept {
			l.pend.add(p.row())
		}
	}
	if l.seq != t.base {
		// Memory moved since t began (not in the one group committer's
		// order of things): leave it; the next transaction reads t's rows
		// back from the file.
		return
	}
	if l.rows == nil {
		l.rows = limitSet{}
	}
	for _, r := range t.rows {
		l.rows.add(r)
	}
	l.seq = t.seq
}

// sources are the addresses p's visitor is looked up under.
func (p *pendingClick) sources() []string {
	out := make([]string, 1, 3)
	out[0] = p.lim.SourceHash
	if p.lim.PrevVisitorHash != "" && p.lim.PrevSourceHash != "" && p.lim.PrevSourceHash != p.lim.SourceHash {
		out = append(out, p.lim.PrevSourceHash)
	}
	if p.lim.SourceHash != "" {
		out = append(out, "")
	}
	return out
}

// windowStart is the fixed window c.At counts in for its address.
func windowStart(at time.Time, lim store.ClickLimits) time.Time {
	return at.UTC().Truncate(lim.Window)
}

// Pruning. A row decides nothing once its window ended more than a window
// before the clicks being recorded: the store keeps the largest Window and
// the latest click time it has seen, and every clickPruneEvery deletes the
// rows of windows that started more than two of those windows before
// (never past the wall clock), clickPruneBatch rows a transaction.

const (
	clickPruneEvery = 5 * time.Minute
	clickPruneBatch = 500
)

// clickHorizon is what the pruner needs to know of the clicks recorded.
type clickHorizon struct {
	window atomic.Int64 // the largest ClickLimits.Window seen, ns
	latest atomic.Int64 // the latest click time recorded, Unix ns
}

func (h *clickHorizon) saw(at time.Time, lim store.ClickLimits) {
	for w := int64(lim.Window); ; {
		old := h.window.Load()
		if w <= old || h.window.CompareAndSwap(old, w) {
			break
		}
	}
	for t := at.UnixNano(); ; {
		old := h.latest.Load()
		if t <= old || h.latest.CompareAndSwap(old, t) {
			break
		}
	}
}

// before is the window_start under which rows can be deleted at now, or
// false when this store recorded no click yet.
func (h *clickHorizon) before(now time.Time) (time.Time, bool) {
	latest, w := h.latest.Load(), time.Duration(h.window.Load())
	if latest == 0 {
		return time.Time{}, false
	}
	t := time.Unix(0, latest)
	if now.Before(t) {
		t = now
	}
	return t.Add(-2 * w), true
}

func (s *Store) startClickPruner() {
	s.pruner = every(clickPruneEvery, func() {
		if before, ok := s.horizon.before(time.Now()); ok {
			// An error (the store closing, a busy file) only means the
			// next round tries again.
			_, _ = s.pruneClickLimits(context.Background(), before)
		}
	})
}

// pruneClickLimits deletes the click_limits rows of windows that started
// before before, from the file and from memory. It walks the table from
// its first row, clickPruneBatch rows a write transaction (so the writer
// is never held for long), and stops at the first batch with nothing to
// delete: rows are appended about in time order, so the old ones are at
// the front, and one appended out of order is deleted in a later round.
// It returns how many rows it deleted.
func (s *Store) pruneClickLimits(ctx context.Context, before time.Time) (int64, error) {
	// Memory last: the clicks applied meanwhile join it.
	defer s.limits.prune(before)
	cut := formatTime(before)
	var deleted, from int64
	for {
		var n int64
		var last sql.NullInt64
		err := s.write(ctx, func(tx *wtx) error {
			err := tx.QueryRowContext(ctx, `SELECT seq FROM click_limits WHERE seq > ? ORDER BY seq LIMIT 1 OFFSET ?`,
				from, clickPruneBatch-1).Scan(&last)
			if err != nil && !errors.Is(err, sql.ErrNoRows) {
				return err
			}
			// Without a last row the rest of the table is less than a batch.
			res, err := tx.ExecContext(ctx, `DELETE FROM click_limits WHERE seq > ? AND seq <= ? AND window_start < ?`,
				from, cmp.Or(last.Int64, math.MaxInt64), cut)
			if err != nil {
				return err
			}
			n, err = res.RowsAffected()
			return err
		})
		if err != nil {
			return deleted, err
		}
		deleted += n
		if !last.Valid || n == 0 {
			return deleted, nil
		}
		from = last.Int64
	}
}
