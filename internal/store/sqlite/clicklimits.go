package sqlite

import (
	"context"
	"database/sql"
	"errors"
	"sync/atomic"
	"time"

	"github.com/partnerloop/partnerloop/internal/store"
)

// Click limits (store.ClickLimits) in one table, click_limits: a row per
// counted click of a visitor through a code, keyed (code, address, fixed
// window, visitor). A counted click adds one row, in the leaf page of its
// code and address; the per-visitor window and the per-address count are
// both read from the rows of the click's addresses in the recent windows:
//
//   - a repeat: a row of the visitor (VisitorHash or PrevVisitorHash) under
//     one of its addresses (SourceHash, PrevSourceHash, or "" — clicks
//     recorded without an address, and the visitors migrated from the old
//     click_dedupe table) whose last_at is less than Window before c.At;
//   - over the address's cap: PerSource rows under (code, SourceHash) in
//     c.At's fixed window (c.At truncated to Window). A visitor counts at
//     most once per window, so the rows of a window are its counted clicks.
//
// Every decision is made inside the write transaction (BEGIN IMMEDIATE), so
// the limits hold across processes. Rows of windows that ended long enough
// ago to decide nothing are deleted in small batches (pruneClickLimits).

type limitKey struct{ code, source, visitor string }

type windowKey struct{ code, source, window string }

// limitState is what the click_limits rows read for a set of clicks say:
// each visitor's last counted click under each address, and each address's
// counted clicks per window. Decisions added to it are seen by the next.
type limitState struct {
	last  map[limitKey]time.Time
	count map[windowKey]int
}

func newLimitState(n int) *limitState {
	return &limitState{last: make(map[limitKey]time.Time, n), count: make(map[windowKey]int, n)}
}

// row records a click_limits row.
func (st *limitState) row(code, source, window, visitor string, lastAt time.Time) {
	k := limitKey{code, source, visitor}
	if t, ok := st.last[k]; !ok || lastAt.After(t) {
		st.last[k] = lastAt
	}
	st.count[windowKey{code, source, window}]++
}

// counts reports whether p counts, given the rows read and the clicks
// counted before it.
func (st *limitState) counts(p *pendingClick) bool {
	since := p.c.At.Add(-p.lim.Window)
	for _, src := range p.sources() {
		for _, h := range [2]string{p.c.VisitorHash, p.lim.PrevVisitorHash} {
			if h == "" {
				continue
			}
			if t, ok := st.last[limitKey{p.key, src, h}]; ok && t.After(since) {
				return false
			}
		}
	}
	return p.lim.PerSource <= 0 || st.count[windowKey{p.key, p.lim.SourceHash, p.window}] < p.lim.PerSource
}

// add records p, counted.
func (st *limitState) add(p *pendingClick) {
	st.row(p.key, p.lim.SourceHash, p.window, p.c.VisitorHash, p.c.At)
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

// readLimits reads the click_limits rows the clicks' decisions need (the
// windows a row less than Window before a click can be in, under its
// addresses), one query per code.
func readLimits(ctx context.Context, tx *wtx, clicks []*pendingClick) (*limitState, error) {
	type probe struct {
		from    string // the earliest window_start
		sources []string
	}
	byCode := make(map[string]*probe, 1)
	for _, p := range clicks {
		pr := byCode[p.key]
		if pr == nil {
			pr = &probe{}
			byCode[p.key] = pr
		}
		if from := formatTime(windowStart(p.c.At.Add(-p.lim.Window), p.lim)); pr.from == "" || from < pr.from {
			pr.from = from
		}
		pr.sources = append(pr.sources, p.sources()...)
	}
	st := newLimitState(len(clicks))
	for code, pr := range byCode {
		err := queryIn(ctx, tx, `SELECT source_hash, window_start, visitor_hash, last_at FROM click_limits
			WHERE code_key = ? AND window_start >= ? AND source_hash IN (`, []any{code, pr.from}, pr.sources,
			func(sc rowScanner) error {
				var src, win, h, at string
				if err := sc.Scan(&src, &win, &h, &at); err != nil {
					return err
				}
				t, err := parseTime(at)
				st.row(code, src, win, h, t)
				return err
			})
		if err != nil {
			return nil, err
		}
	}
	return st, nil
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
// before before, walking the table in key order, clickPruneBatch rows a
// write transaction (so the writer is never held for long), and returns
// how many it deleted.
func (s *Store) pruneClickLimits(ctx context.Context, before time.Time) (int64, error) {
	cut := formatTime(before)
	var deleted int64
	from := []any{"", "", "", ""}
	for {
		var last []any
		var n int64
		err := s.write(ctx, func(tx *wtx) error {
			var k [4]string
			err := tx.QueryRowContext(ctx, `SELECT code_key, source_hash, window_start, visitor_hash FROM click_limits
				WHERE (code_key, source_hash, window_start, visitor_hash) > (?, ?, ?, ?)
				ORDER BY code_key, source_hash, window_start, visitor_hash LIMIT 1 OFFSET ?`,
				append(from, clickPruneBatch-1)...).Scan(&k[0], &k[1], &k[2], &k[3])
			q := `DELETE FROM click_limits WHERE (code_key, source_hash, window_start, visitor_hash) > (?, ?, ?, ?) AND window_start < ?`
			args := append(append([]any{}, from...), cut)
			switch {
			case err == nil:
				last = []any{k[0], k[1], k[2], k[3]}
				q += ` AND (code_key, source_hash, window_start, visitor_hash) <= (?, ?, ?, ?)`
				args = append(args, last...)
			case errors.Is(err, sql.ErrNoRows):
				// The rest of the table is less than a batch.
			default:
				return err
			}
			res, err := tx.ExecContext(ctx, q, args...)
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
		if last == nil {
			return deleted, nil
		}
		from = last
	}
}
