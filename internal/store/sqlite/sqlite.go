// Package sqlite is the embedded adapter of the store port: one SQLite file
// through the pure-Go modernc.org/sqlite driver (no cgo).
//
// The file runs in WAL mode with two connection pools: a writer pool of
// exactly one connection, through which every write transaction goes (each
// started as BEGIN IMMEDIATE, so writers queue on the Go side instead of
// failing with SQLITE_BUSY), and a reader pool of several read-only
// connections, which WAL lets read concurrently with the writer.
//
// Each record is one row: its own columns for the keys that lookups,
// uniqueness and filters need, and a data column with the record's JSON.
// Fields the domain keeps out of JSON (password, token, key and visitor
// hashes) have their own columns. Every change of a program, referrer,
// referral, conversion or user also appends a row to the outbox table in the
// same transaction (store.Outbox); a counted click does not (the analytics
// rollup, its only reader, reads the clicks table: analytics.go).
package sqlite

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"net/url"
	"os"
	"path/filepath"
	"runtime"
	"strings"
	"sync"
	"sync/atomic"

	"modernc.org/sqlite"
	sqlite3 "modernc.org/sqlite/lib"

	"github.com/partnerloop/partnerloop/internal/store"
)

// Store is the SQLite implementation of store.Store and store.Outbox.
type Store struct {
	w *pool // writer: one connection, every write transaction
	r *pool // readers: several query-only connections (reads wait for the journaled clicks)
	// rq: the readers without waiting (RecordClick's referrer check).
	rq *pool
	// jnl: the click journal, applied by the group committer (journal.go).
	jnl *clickJournal
	// referrers known to exist (RecordClick checks before acknowledging).
	referrers sync.Map
	// group commits the hot writes (clicks, conversions) together.
	group *grouper
	ckpt  *checkpointer // nil until Open has finished
	// converted answers GetReferral for converted referrals.
	converted convertedReferrals
	// limits is memory's copy of click_limits; horizon and the pruner
	// delete the rows no click needs (clicklimits.go).
	limits  clickLimits
	horizon clickHorizon
	pruner  *loop
}

var (
	_ store.Store  = (*Store)(nil)
	_ store.Outbox = (*Store)(nil)
)

// busyTimeoutMS is how long a connection waits for a lock held by another
// process (or a checkpoint) before giving up with SQLITE_BUSY.
const busyTimeoutMS = 5000

// Open opens the database file at path, creating it and its directory if
// needed, and applies the schema migrations it lacks.
func Open(path string) (*Store, error) {
	if path == "" {
		return nil, errors.New("sqlite: empty database path")
	}
	if strings.ContainsAny(path, "?#") {
		return nil, fmt.Errorf("sqlite: database path %q must not contain '?' or '#'", path)
	}
	if dir := filepath.Dir(path); dir != "" {
		if err := os.MkdirAll(dir, 0o755); err != nil {
			return nil, fmt.Errorf("sqlite: create directory: %w", err)
		}
	}

	common := url.Values{}
	common.Add("_pragma", fmt.Sprintf("busy_timeout(%d)", busyTimeoutMS))
	common.Add("_pragma", "foreign_keys(1)")
	common.Add("_pragma", "synchronous(NORMAL)")
	// The driver runs the _pragma values sorted by their text, not in the
	// order given: a pragma set here must not be set again below with
	// another value (the readers' mmap_size(0) once ran before a common
	// mmap_size(268435456), which won).
	// Savepoints (group commit, InTx) journal the pages they change in a
	// statement journal: in memory, not in a temporary file written with
	// a system call per page.
	common.Add("_pragma", "temp_store(MEMORY)")

	wq := cloneValues(common)
	// The writer reads through a memory map instead of a read system call
	// per page (the readers do not, below).
	wq.Add("_pragma", "mmap_size(268435456)")
	wq.Add("_pragma", "journal_mode(WAL)")
	wq.Add("_pragma", "wal_autocheckpoint(0)") // checkpoint.go does them
	// A smaller page cache for the writer (4 MiB, 1,024 pages; readers keep
	// 16 MiB): every commit ends with a truncation of the page cache that
	// scans its whole hash table (about one slot per cached page) whenever
	// the transaction split a B-tree page — balance_nonroot renumbers a page
	// to the lock-byte page (1 GiB / page size + 1) for a moment, and the
	// cache's highest key then stays far beyond the end of the file. With
	// 16 MiB that scan was about 16 % of the group committer's CPU under the
	// new-visitor load; the pages it now re-reads cost less (most come from
	// the memory map).
	wq.Add("_pragma", "cache_size(-4096)") // readers: below
	// Statement journals and savepoints (a multi-row statement or a
	// grouped write that may be undone alone keeps the pages it changes
	// there) stay in memory: in a temporary file past 64 KiB, they cost a
	// write system call per page on the commit path. Nothing durable is
	// in them.
	wq.Add("_pragma", "temp_store(MEMORY)")
	wq.Set("_txlock", "immediate")
	w, err := sql.Open("sqlite", path+"?"+wq.Encode())
	if err != nil {
		return nil, fmt.Errorf("sqlite: open writer: %w", err)
	}
	w.SetMaxOpenConns(1)
	w.SetMaxIdleConns(1)
	w.SetConnMaxLifetime(0)
	w.SetConnMaxIdleTime(0)

	s := &Store{w: &pool{DB: w}}
	ctx := context.Background()
	// The writer connects first: it turns WAL on (a persistent property of
	// the file) and creates the schema before any reader looks at it.
	if err := w.PingContext(ctx); err != nil {
		w.Close()
		return nil, fmt.Errorf("sqlite: open %s: %w", path, err)
	}
	if err := s.migrate(ctx); err != nil {
		w.Close()
		return nil, err
	}
	if err := s.backfillSearchWords(ctx); err != nil {
		w.Close()
		return nil, fmt.Errorf("sqlite: index search words: %w", err)
	}
	if err := s.limits.load(ctx, s.w); err != nil {
		w.Close()
		return nil, fmt.Errorf("sqlite: read click limits: %w", err)
	}

	rq := cloneValues(common)
	rq.Add("_pragma", "query_only(1)")
	// Readers read pages with read system calls, not the memory map: a
	// reader whose read transaction finds the WAL changed since its last
	// one (under a steady stream of writes: nearly every time) unmaps the
	// whole map and maps it again page by page — an munmap, an mmap and a
	// page fault per page on each read, 12 % of the CPU of a conversion
	// (the writer connection, which seldom finds the WAL changed by
	// another, keeps its map).
	rq.Add("_pragma", "mmap_size(0)")
	// Each reader keeps more pages cached than the default 2 MB: the hot
	// indexes of a busy installation do not fit in it.
	rq.Add("_pragma", "cache_size(-16384)")
	r, err := sql.Open("sqlite", path+"?"+rq.Encode())
	if err != nil {
		w.Close()
		return nil, fmt.Errorf("sqlite: open readers: %w", err)
	}
	n := max(4, runtime.NumCPU())
	r.SetMaxOpenConns(n)
	r.SetMaxIdleConns(n)
	s.r, s.rq = &pool{DB: r, wait: s.waitApplied}, &pool{DB: r}
	if err := r.PingContext(ctx); err != nil {
		s.Close()
		return nil, fmt.Errorf("sqlite: open %s: %w", path, err)
	}
	if s.ckpt, err = startCheckpointer(path, common); err != nil {
		s.Close()
		return nil, fmt.Errorf("sqlite: open checkpointer: %w", err)
	}
	// Clicks acknowledged by a process that ended before applying them.
	if err := s.replayJournals(ctx, path); err != nil {
		s.Close()
		return nil, err
	}
	if s.jnl, err = openJournal(path); err != nil {
		s.Close()
		return nil, err
	}
	s.startGrouper()
	s.startClickPruner()
	return s, nil
}

func cloneValues(v url.Values) url.Values {
	c := url.Values{}
	for k, vs := range v {
		c[k] = append([]string(nil), vs...)
	}
	return c
}

// Close closes both connection pools (after the grouped writes queued
// before it have committed).
func (s *Store) Close() error {
	s.pruner.stop()
	if s.jnl != nil {
		s.jnl.mu.Lock()
		s.jnl.closed = true // RecordClick refuses from now on
		s.jnl.mu.Unlock()
	}
	s.stopGrouper() // applies every click acknowledged
	var errs []error
	if s.jnl != nil {
		errs = append(errs, s.jnl.closeJournal())
	}
	errs = append(errs, s.ckpt.stop())
	if s.r != nil {
		errs = append(errs, s.r.Close())
	}
	if s.w != nil {
		errs = append(errs, s.w.Close())
	}
	return errors.Join(errs...)
}

// Ping checks that both pools can reach the database (health checks).
func (s *Store) Ping(ctx context.Context) error {
	if err := s.w.PingContext(ctx); err != nil {
		return fmt.Errorf("sqlite: writer: %w", err)
	}
	if err := s.r.PingContext(ctx); err != nil {
		return fmt.Errorf("sqlite: readers: %w", err)
	}
	var one int
	if err := s.r.QueryRowContext(ctx, "SELECT 1").Scan(&one); err != nil {
		return fmt.Errorf("sqlite: readers: %w", err)
	}
	return nil
}

// mapErr is the one place driver errors become the port's sentinels: a
// missing row is store.ErrNotFound, a unique or primary-key violation
// store.ErrConflict. Sentinels and other errors pass through unchanged.
func mapErr(err error) error {
	if err == nil {
		return nil
	}
	if errors.Is(err, sql.ErrNoRows) {
		return store.ErrNotFound
	}
	var se *sqlite.Error
	if errors.As(err, &se) {
		switch se.Code() {
		case sqlite3.SQLITE_CONSTRAINT_UNIQUE, sqlite3.SQLITE_CONSTRAINT_PRIMARYKEY:
			return store.ErrConflict
		}
	}
	return err
}

// write runs fn in one write transaction (BEGIN IMMEDIATE on the single
// writer connection) and commits it if fn succeeds; any error rolls
// everything back and is returned through mapErr. Under the context of an
// InTx, fn runs in a savepoint of the batch's transaction instead. fn must use tx only: the
// writer pool has one connection, which tx holds.
func (s *Store) write(ctx context.Context, fn func(tx *wtx) error) error {
	if b, ok := s.inBatch(ctx); ok {
		return b.savepoint(fn) // InTx: a savepoint of the batch's transaction
	}
	// A write that reads (the outbox, counts) sees every click
	// acknowledged before it (journal.go).
	if err := s.waitApplied(ctx); err != nil {
		return mapErr(err)
	}
	sqlTx, err := s.w.BeginTx(ctx, nil)
	if err != nil {
		return mapErr(err)
	}
	tx := &wtx{Tx: sqlTx, p: s.w}
	defer tx.prepareMissed(context.WithoutCancel(ctx))
	if err := fn(tx); err != nil {
		_ = tx.Rollback()
		return mapErr(err)
	}
	return mapErr(tx.Commit())
}

// rowScanner is what *sql.Row and *sql.Rows have in common.
type rowScanner interface {
	Scan(dest ...any) error
}

// querier is what *pool and *wtx have in common.
type querier interface {
	QueryContext(ctx context.Context, query string, args ...any) (*sql.Rows, error)
	QueryRowContext(ctx context.Context, query string, args ...any) *sql.Row
	ExecContext(ctx context.Context, query string, args ...any) (sql.Result, error)
}

// getOne runs a query expected to return one row and decodes it.
func getOne[T any](ctx context.Context, q querier, scan func(rowScanner) (T, error), query string, args ...any) (T, error) {
	v, err := scan(q.QueryRowContext(ctx, query, args...))
	if err != nil {
		var zero T
		return zero, mapErr(err)
	}
	return v, nil
}

// listPage runs a keyset-paginated list, newest first by id. where and args
// select the rows (the organization and any filters); the page's cursor adds
// "id < last id". It fetches one row more than the limit to know whether
// there is a next page.
func listPage[T any](ctx context.Context, db *pool, cols, table, where string, args []any,
	p store.Page, scan func(rowScanner) (T, error), idOf func(T) string) ([]T, string, error) {
	p = p.Clamp()
	if p.Cursor != "" {
		after, err := decodeCursor(p.Cursor)
		if err != nil {
			return nil, "", err
		}
		where += " AND id < ?"
		args = append(args, after)
	}
	query := "SELECT " + cols + " FROM " + table + " WHERE " + where + " ORDER BY id DESC LIMIT ?"
	return queryPage(ctx, db, query, append(args, p.Limit+1), p, scan, idOf)
}

// queryPage runs a page's query (newest first by id, LIMIT the page and
// one more: its last argument) and makes the page and its next cursor.
func queryPage[T any](ctx context.Context, db *pool, query string, args []any,
	p store.Page, scan func(rowScanner) (T, error), idOf func(T) string) ([]T, string, error) {
	rows, err := db.QueryContext(ctx, query, args...)
	if err != nil {
		return nil, "", mapErr(err)
	}
	defer rows.Close()
	out := make([]T, 0, min(p.Limit+1, 64))
	for rows.Next() {
		v, err := scan(rows)
		if err != nil {
			return nil, "", mapErr(err)
		}
		out = append(out, v)
	}
	if err := rows.Err(); err != nil {
		return nil, "", mapErr(err)
	}
	next := ""
	if len(out) > p.Limit {
		out = out[:p.Limit]
		next = encodeCursor(idOf(out[len(out)-1]))
	}
	return out, next, nil
}

// mustAffect returns store.ErrNotFound when an UPDATE or DELETE touched no row.
func mustAffect(res sql.Result) error {
	n, err := res.RowsAffected()
	if err != nil {
		return err
	}
	if n == 0 {
		return store.ErrNotFound
	}
	return nil
}

// pool is a connection pool that prepares each query once and reuses the
// statement (database/sql keeps one prepared copy per connection it runs
// on): the hot queries are parsed and planned once per connection instead
// of on every call. Queries built at run time (list filters) are finite in
// number; past maxPrepared distinct queries, the rest run unprepared.
type pool struct {
	*sql.DB
	stmts sync.Map // query → *sql.Stmt
	n     atomic.Int32
	// wait, when set, runs before every query (Store.waitApplied).
	wait func(ctx context.Context) error
}

const maxPrepared = 512

// stmt returns the prepared statement of query, preparing it on first use;
// nil when the cache is full.
func (p *pool) stmt(ctx context.Context, query string) (*sql.Stmt, error) {
	if st, ok := p.stmts.Load(query); ok {
		return st.(*sql.Stmt), nil
	}
	if p.n.Load() >= maxPrepared {
		return nil, nil
	}
	st, err := p.DB.PrepareContext(ctx, query)
	if err != nil {
		return nil, err
	}
	if prev, loaded := p.stmts.LoadOrStore(query, st); loaded {
		st.Close() // another goroutine prepared it first
		return prev.(*sql.Stmt), nil
	}
	p.n.Add(1)
	return st, nil
}

func (p *pool) QueryContext(ctx context.Context, query string, args ...any) (*sql.Rows, error) {
	if p.wait != nil {
		if err := p.wait(ctx); err != nil {
			return nil, err
		}
	}
	st, err := p.stmt(ctx, query)
	if err != nil || st == nil {
		return p.DB.QueryContext(ctx, query, args...)
	}
	return st.QueryContext(ctx, args...)
}

func (p *pool) QueryRowContext(ctx context.Context, query string, args ...any) *sql.Row {
	if p.wait != nil {
		// A cancelled wait leaves the query to fail on the same context.
		_ = p.wait(ctx)
	}
	st, err := p.stmt(ctx, query)
	if err != nil || st == nil {
		return p.DB.QueryRowContext(ctx, query, args...)
	}
	return st.QueryRowContext(ctx, args...)
}

func (p *pool) ExecContext(ctx context.Context, query string, args ...any) (sql.Result, error) {
	st, err := p.stmt(ctx, query)
	if err != nil || st == nil {
		return p.DB.ExecContext(ctx, query, args...)
	}
	return st.ExecContext(ctx, args...)
}

// wtx is a write transaction whose queries reuse the writer pool's
// prepared statements. The writer pool has one connection, which the
// transaction holds, so a query not prepared yet runs unprepared and is
// prepared once the transaction is over (write does it).
type wtx struct {
	*sql.Tx
	p      *pool
	missed []string
}

// stmt returns the transaction's copy of query's prepared statement, or
// nil (noting the query) when it has not been prepared yet.
func (t *wtx) stmt(ctx context.Context, query string) *sql.Stmt {
	if st, ok := t.p.stmts.Load(query); ok {
		return t.Tx.StmtContext(ctx, st.(*sql.Stmt))
	}
	if t.p.n.Load() < maxPrepared {
		t.missed = append(t.missed, query)
	}
	return nil
}

func (t *wtx) QueryContext(ctx context.Context, query string, args ...any) (*sql.Rows, error) {
	if st := t.stmt(ctx, query); st != nil {
		return st.QueryContext(ctx, args...)
	}
	return t.Tx.QueryContext(ctx, query, args...)
}

func (t *wtx) QueryRowContext(ctx context.Context, query string, args ...any) *sql.Row {
	if st := t.stmt(ctx, query); st != nil {
		return st.QueryRowContext(ctx, args...)
	}
	return t.Tx.QueryRowContext(ctx, query, args...)
}

func (t *wtx) ExecContext(ctx context.Context, query string, args ...any) (sql.Result, error) {
	if st := t.stmt(ctx, query); st != nil {
		return st.ExecContext(ctx, args...)
	}
	return t.Tx.ExecContext(ctx, query, args...)
}

// prepareMissed prepares the queries t ran unprepared, for the next
// transactions (errors are left for those to meet).
func (t *wtx) prepareMissed(ctx context.Context) {
	for _, q := range t.missed {
		_, _ = t.p.stmt(ctx, q)
	}
}
