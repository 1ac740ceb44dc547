package sqlite

import (
	"context"
	"database/sql"
	"fmt"
	"slices"
	"strings"
	"sync"

	"github.com/partnerloop/partnerloop/internal/domain"
	"github.com/partnerloop/partnerloop/internal/store"
)

// Batched clicks. The clicks of one commit group (group.go) are decided and
// written together instead of one savepoint and eight statements each: one
// query per code for the click_limits rows of the clicks' addresses
// (clicklimits.go), the decisions made in memory in arrival order (so a
// repeat later in the same group is a repeat, as it would be one at a
// time), then one multi-row statement per table and one UPDATE per
// referrer with its sum. Everything is read and written inside the write
// transaction (BEGIN IMMEDIATE: no other connection or process writes
// between the reads and the writes), so the per-visitor window holds across
// processes as before.
//
// Each click stays all-or-nothing: if any statement of the batch fails,
// the batch is undone (with its savepoint, or with the whole transaction
// when the group has no other writes) and every click of the batch runs
// again alone in its own savepoint (recordClickTx), so a failing click
// loses only itself. The multi-row statements are INSERT OR FAIL: a row
// that fails stops the statement without undoing its earlier rows, which
// spares SQLite a statement journal (a copy of every page the statement
// changes); the batch is undone whole anyway.

// pendingClick is one RecordClick waiting in a commit group.
type pendingClick struct {
	c      domain.Click
	data   string // c's JSON
	key    string // domain.CodeKey(c.Code)
	lim    store.ClickLimits
	window string // its fixed window's start, as stored (boxRows)

	// The values of its rows (boxRows), boxed by the caller (many run at
	// once) rather than by the one goroutine that commits, when groups are
	// forming.
	clickRow, limitRow []any
	pr                 *probe // what deciding it looks up (probe)

	counted bool
	err     error
	seq     uint64 // its place in the click journal (journal.go)
}

// boxRows fills p's row values once.
func (p *pendingClick) boxRows() {
	if p.clickRow != nil {
		return
	}
	c, at := p.c, formatTime(p.c.At)
	p.window = formatTime(windowStart(c.At, p.lim))
	p.clickRow = []any{c.ID, c.OrgID, c.ReferrerID, c.VisitorHash, at, p.data}
	p.limitRow = []any{p.key, p.lim.SourceHash, p.window, c.VisitorHash, at}
	p.probe()
}

// maxBatchRows bounds the rows of one multi-row statement (maxGroup clicks
// fit in one).
const maxBatchRows = 64

// recordClicks decides and writes the group's clicks in tx, setting each
// one's counted and err. only says the clicks are tx's only writes. The
// error it returns is one that leaves tx unusable (the group fails).
func recordClicks(ctx context.Context, tx *wtx, lt *limitTx, clicks []*pendingClick, only bool) error {
	if only {
		// Nothing else to keep: no savepoint (it would copy every page the
		// batch changes to the statement journal), and a failed batch is
		// undone with the whole transaction.
		n, seq := lt.mark()
		if writeClickBatch(ctx, tx, lt, clicks) == nil {
			return nil
		}
		lt.undo(n, seq)
		if err := tx.Rollback(); err != nil {
			return err
		}
		sqlTx, err := tx.p.BeginTx(ctx, nil)
		if err != nil {
			return err
		}
		tx.Tx = sqlTx
		return recordEach(ctx, tx, lt, clicks)
	}
	if _, err := tx.ExecContext(ctx, `SAVEPOINT clicks`); err != nil {
		return err
	}
	n, seq := lt.mark()
	err := writeClickBatch(ctx, tx, lt, clicks)
	if err == nil {
		_, err := tx.ExecContext(ctx, `RELEASE clicks`)
		return err
	}
	// Undo the batch and run each click alone: only the failing one fails.
	lt.undo(n, seq)
	if _, err := tx.ExecContext(ctx, `ROLLBACK TO clicks`); err != nil {
		return err
	}
	if _, err := tx.ExecContext(ctx, `RELEASE clicks`); err != nil {
		return err
	}
	return recordEach(ctx, tx, lt, clicks)
}

// recordEach runs each click alone in its own savepoint: only a failing
// one fails.
func recordEach(ctx context.Context, tx *wtx, lt *limitTx, clicks []*pendingClick) error {
	for _, p := range clicks {
		if _, err := tx.ExecContext(ctx, `SAVEPOINT click`); err != nil {
			return err
		}
		n, seq := lt.mark()
		p.counted, p.err = recordClickTx(ctx, tx, lt, p)
		if p.err != nil {
			p.counted = false
			lt.undo(n, seq)
			if _, err := tx.ExecContext(ctx, `ROLLBACK TO click`); err != nil {
				return fmt.Errorf("%w (while undoing: %w)", err, p.err)
			}
		}
		if _, err := tx.ExecContext(ctx, `RELEASE click`); err != nil {
			return err
		}
	}
	return nil
}

// writeClickBatch is recordClicks' batch: any error undoes all of it (the
// caller undoes lt too).
func writeClickBatch(ctx context.Context, tx *wtx, lt *limitTx, clicks []*pendingClick) error {
	for _, p := range clicks {
		p.counted, p.err = false, nil
		p.boxRows()
	}
	if err := lt.catchUp(ctx, tx); err != nil {
		return err
	}

	// Decide in arrival order, each decision seeing the earlier ones.
	sums := map[[2]string]int64{}
	var sumOrder [][2]string
	var counted []*pendingClick
	for _, p := range clicks {
		if lt.decided(p) {
			continue
		}
		lt.note(p.row())
		p.counted = true
		counted = append(counted, p)
		rk := [2]string{p.c.OrgID, p.c.ReferrerID}
		if _, ok := sums[rk]; !ok {
			sumOrder = append(sumOrder, rk)
		}
		sums[rk]++
	}
	if len(counted) == 0 {
		return nil
	}
	for _, rk := range sumOrder {
		res, err := tx.ExecContext(ctx, `UPDATE referrers SET clicks = clicks + ? WHERE org_id = ? AND id = ?`, sums[rk], rk[0], rk[1])
		if err != nil {
			return err
		}
		// A referrer the organization does not have (deleted since the
		// redirect looked it up: rare) fails the batch, and each click
		// then runs alone: its clicks fail with store.ErrNotFound.
		if err := mustAffect(res); err != nil {
			return err
		}
	}
	args := make([]any, 0, 6*len(counted))
	for _, p := range counted {
		args = append(args, p.limitRow...)
	}
	res, err := insertRowsLast(ctx, tx, `INSERT OR FAIL INTO click_limits (code_key, source_hash, window_start, visitor_hash, last_at) VALUES `,
		`(?, ?, ?, ?, ?)`, "", 5, args)
	if err != nil {
		return err
	}
	if lt.seq, err = res.LastInsertId(); err != nil {
		return err
	}
	args = args[:0]
	for _, p := range counted {
		args = append(args, p.clickRow...)
	}
	// No outbox row: the analytics rollup reads clicks from their table
	// (analytics.go), and nothing else consumes click changes.
	return insertRows(ctx, tx, `INSERT OR FAIL INTO clicks (id, org_id, referrer_id, visitor_hash, at, data) VALUES `, `(?, ?, ?, ?, ?, ?)`, "", 6, args)
}

// batchSize is how many of n rows one statement takes: all of them up to
// exactBatch, else the largest power of two up to n and maxBatchRows. The
// statements come in few sizes, so few are prepared, and a group takes one
// or two.
func batchSize(n int) int {
	if n <= exactBatch {
		return n
	}
	size := 1
	for size*2 <= n && size*2 <= maxBatchRows {
		size *= 2
	}
	return size
}

const exactBatch = 16

// batchSQL caches the text of the multi-row statements by head and size.
var batchSQL sync.Map // batchKey → string

type batchKey struct {
	head string
	n    int
}

func batchQuery(head, tuple, tail string, n int) string {
	k := batchKey{head, n}
	if q, ok := batchSQL.Load(k); ok {
		return q.(string)
	}
	var b strings.Builder
	b.WriteString(head)
	for i := range n {
		if i > 0 {
			b.WriteString(", ")
		}
		b.WriteString(tuple)
	}
	b.WriteString(tail)
	q, _ := batchSQL.LoadOrStore(k, b.String())
	return q.(string)
}

// queryIn runs head + "?, …)" with fixed and then values (each once), in
// statements of batch sizes, calling scan on every row. It sorts values.
func queryIn(ctx context.Context, tx querier, head string, fixed []any, values []string, scan func(rowScanner) error) error {
	slices.Sort(values)
	values = slices.Compact(values)
	for len(values) > 0 {
		n := batchSize(len(values))
		args := make([]any, 0, n+len(fixed))
		args = append(args, fixed...)
		for _, v := range values[:n] {
			args = append(args, v)
		}
		values = values[n:]
		rows, err := tx.QueryContext(ctx, batchQuery(head, "?", ")", n), args...)
		if err != nil {
			return err
		}
		for rows.Next() {
			if err := scan(rows); err != nil {
				rows.Close()
				return err
			}
		}
		if err := rows.Close(); err != nil {
			return err
		}
		if err := rows.Err(); err != nil {
			return err
		}
	}
	return nil
}

// insertRows runs head + tuples + tail for args, width values a row, in
// statements of batch sizes.
func insertRows(ctx context.Context, tx *wtx, head, tuple, tail string, width int, args []any) error {
	_, err := insertRowsLast(ctx, tx, head, tuple, tail, width, args)
	return err
}

// insertRowsLast is insertRows, returning the last statement's result (its
// LastInsertId is the last row's rowid).
func insertRowsLast(ctx context.Context, tx *wtx, head, tuple, tail string, width int, args []any) (sql.Result, error) {
	var res sql.Result
	for len(args) > 0 {
		n := batchSize(len(args) / width)
		var err error
		if res, err = tx.ExecContext(ctx, batchQuery(head, tuple, tail, n), args[:n*width]...); err != nil {
			return nil, err
		}
		args = args[n*width:]
	}
	return res, nil
}
