package sqlite

import (
	"context"
	"database/sql"
	"fmt"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/partnerloop/partnerloop/internal/analytics"
	"github.com/partnerloop/partnerloop/internal/domain"
	"github.com/partnerloop/partnerloop/internal/store"
)

// modelRows is the table size the plans are checked at.
const modelRows = 1_000_000

// TestHotQueriesUseIndexesAtAMillionRows runs the store's hot paths — a
// redirect counting a click, a conversion, authenticating a session or an
// API key, the lookups behind them — collects every statement they
// prepared (the pools' statement caches hold exactly those), and checks
// each one's EXPLAIN QUERY PLAN at a million rows per table: every table
// is reached by SEARCH through an index or primary key, never by SCAN.
//
// The million rows are modelled, not inserted: sqlite_stat1 is filled as
// ANALYZE would fill it for tables of 1,000,000 rows that all belong to one
// organization (the worst case for the org_id-first indexes: org_id alone
// selects everything), with 10 rows per value of any further column and 1
// for the full key of a unique index. The planner then plans as it would
// on such a file; the test runs in well under a second.
func TestHotQueriesUseIndexesAtAMillionRows(t *testing.T) {
	ctx := context.Background()
	s := openT(t, filepath.Join(t.TempDir(), "db"))

	at := time.Date(2026, 3, 10, 12, 0, 0, 0, time.UTC)
	if err := s.CreateReferrer(ctx, domain.Referrer{ID: "rfr_1", OrgID: "org_a", ProgramID: "prg_1", Email: "a@x.io", Code: "jane"}); err != nil {
		t.Fatal(err)
	}
	// Its analytics cells are built, so the rollup below folds.
	if err := s.RebuildAnalytics(ctx, domain.Organization{ID: "org_a"}, analytics.Fold); err != nil {
		t.Fatal(err)
	}
	// The statement caches start empty apart from what setup prepared.
	s.r.stmts.Clear()
	s.w.stmts.Clear()
	s.r.n.Store(0)
	s.w.n.Store(0)

	lim := store.ClickLimits{Window: time.Hour, PrevVisitorHash: "prev", SourceHash: "src", PerSource: 10}
	if _, err := s.RecordClick(ctx, domain.Click{ID: "clk_1", OrgID: "org_a", ReferrerID: "rfr_1", Code: "jane", VisitorHash: "v1", At: at}, lim); err != nil {
		t.Fatal(err)
	}
	// A group of clicks, written as one batch (clickbatch.go).
	var group []groupReq
	for i := range 3 {
		c := domain.Click{ID: fmt.Sprintf("clk_b%d", i), OrgID: "org_a", ReferrerID: "rfr_1", Code: "jane", VisitorHash: fmt.Sprintf("b%d", i), At: at}
		group = append(group, groupReq{click: &pendingClick{c: c, data: "{}", key: "jane", lim: lim}})
	}
	for i, err := range s.commitGroup(group) {
		if err != nil || !group[i].click.counted {
			t.Fatalf("batched click %d: counted %v, %v", i, group[i].click.counted, err)
		}
	}
	// The pruner's batches (clicklimits.go): a range of the primary key.
	if _, err := s.pruneClickLimits(ctx, at); err != nil {
		t.Fatal(err)
	}
	conv := domain.Conversion{ID: "cnv_1", OrgID: "org_a", ProgramID: "prg_1", ReferralID: "rfl_1", ExternalID: "ord-1", OccurredAt: at, CreatedAt: at}
	if err := s.RecordConversion(ctx, conv, &domain.Referral{ID: "rfl_1", OrgID: "org_a", ProgramID: "prg_1", ReferrerID: "rfr_1",
		Email: "b@x.io", Status: domain.ReferralPending, CreatedAt: at}); err != nil {
		t.Fatal(err)
	}
	for _, read := range []func() error{
		func() error { _, err := s.GetReferrerByCode(ctx, "jane"); return err },
		func() error { _, err := s.GetReferrer(ctx, "org_a", "rfr_1"); return err },
		func() error { _, err := s.GetProgram(ctx, "org_a", "prg_1"); return err },
		func() error { _, err := s.GetReferral(ctx, "org_a", "rfl_1"); return err },
		func() error { _, err := s.GetReferralByExternalID(ctx, "org_a", "x"); return err },
		func() error { _, err := s.ReferralsByEmail(ctx, "org_a", "b@x.io"); return err },
		func() error { _, err := s.GetConversionByExternalID(ctx, "org_a", "ord-1"); return err },
		func() error { _, err := s.GetConversion(ctx, "org_a", "cnv_1"); return err },
		// The embedded pipeline's batch reads (pipeline.PrepareBatch).
		func() error { _, err := s.GetConversions(ctx, "org_a", []string{"cnv_1", "cnv_2"}); return err },
		func() error { _, err := s.CommissionsOfSources(ctx, "org_a", []string{"cnv_1", "cnv_2"}); return err },
		func() error { _, err := s.GetSession(ctx, "hash"); return err },
		func() error { _, err := s.GetAPIKeyByHash(ctx, "hash"); return err },
		func() error { _, err := s.GetUser(ctx, "org_a", "usr_1"); return err },
		func() error { _, err := s.GetUserByEmail(ctx, "a@x.io"); return err },
		// The conversions' lists: the table is keyed (org_id, id), so no
		// statement may look a conversion up by id alone.
		func() error {
			_, _, err := s.ListConversions(ctx, "org_a", store.ConversionFilter{ProgramID: "prg_1"}, store.Page{Cursor: encodeCursor("cnv_2")})
			return err
		},
		func() error {
			_, _, err := s.ListConversions(ctx, "org_a", store.ConversionFilter{Match: store.Match{From: at, To: at.Add(time.Hour)}}, store.Page{})
			return err
		},
		// The analytics rollup (every second on the embedded server): both
		// feeds, the outbox and the clicks by rowid.
		func() error { _, err := s.RollUp(ctx, 100, analytics.Fold); return err },
	} {
		if err := read(); err != nil && err != store.ErrNotFound {
			t.Fatal(err)
		}
	}

	var queries []string
	for _, p := range []*pool{s.r, s.w} {
		p.stmts.Range(func(k, _ any) bool {
			q := k.(string)
			if !strings.HasPrefix(q, "SAVEPOINT") && !strings.HasPrefix(q, "RELEASE") && !strings.HasPrefix(q, "ROLLBACK") && !slices.Contains(queries, q) {
				queries = append(queries, q)
			}
			return true
		})
	}
	slices.Sort(queries)
	if len(queries) < 15 {
		t.Fatalf("only %d statements were prepared on the hot paths: %q", len(queries), queries)
	}

	modelMillionRows(t, s.w.DB)
	for _, q := range queries {
		plan := explain(t, s.w.DB, q)
		t.Logf("%s\n    %s", strings.Join(strings.Fields(q), " "), strings.Join(plan, "\n    "))
		for _, line := range plan {
			// (SCAN n-ROW VALUES CLAUSE reads a multi-row INSERT's own rows.)
			if strings.HasPrefix(line, "SCAN ") && !strings.HasSuffix(line, "-ROW VALUES CLAUSE") {
				t.Errorf("at %d rows this query scans (%s):\n%s", modelRows, line, q)
			}
		}
	}
}

// modelMillionRows fills sqlite_stat1 as for modelRows rows per table, all
// of one organization, and makes the connection's planner read it.
func modelMillionRows(t *testing.T, db *sql.DB) {
	t.Helper()
	ctx := context.Background()
	conn, err := db.Conn(ctx)
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close()
	if _, err := conn.ExecContext(ctx, `ANALYZE`); err != nil { // creates sqlite_stat1
		t.Fatal(err)
	}
	rows, err := conn.QueryContext(ctx, `SELECT m.tbl_name, i.name, i."unique" FROM sqlite_master m, pragma_index_list(m.name) i WHERE m.type = 'table'`)
	if err != nil {
		t.Fatal(err)
	}
	type index struct {
		table, name string
		unique      bool
	}
	var indexes []index
	tables := map[string]bool{}
	for rows.Next() {
		var ix index
		if err := rows.Scan(&ix.table, &ix.name, &ix.unique); err != nil {
			t.Fatal(err)
		}
		indexes = append(indexes, ix)
		tables[ix.table] = true
	}
	if err := rows.Close(); err != nil {
		t.Fatal(err)
	}
	if _, err := conn.ExecContext(ctx, `DELETE FROM sqlite_stat1`); err != nil {
		t.Fatal(err)
	}
	for table := range tables {
		if _, err := conn.ExecContext(ctx, `INSERT INTO sqlite_stat1 (tbl, idx, stat) VALUES (?, NULL, ?)`, table, fmt.Sprint(modelRows)); err != nil {
			t.Fatal(err)
		}
	}
	for _, ix := range indexes {
		var cols []string
		crows, err := conn.QueryContext(ctx, `SELECT name FROM pragma_index_info(?) ORDER BY seqno`, ix.name)
		if err != nil {
			t.Fatal(err)
		}
		for crows.Next() {
			var c sql.NullString
			if err := crows.Scan(&c); err != nil {
				t.Fatal(err)
			}
			cols = append(cols, c.String)
		}
		crows.Close()
		stat := []string{fmt.Sprint(modelRows)}
		for i, c := range cols {
			switch {
			case ix.unique && i == len(cols)-1:
				stat = append(stat, "1")
			case c == "org_id" || c == "queue":
				stat = append(stat, fmt.Sprint(modelRows)) // one organization (queue) holds every row
			default:
				stat = append(stat, "10")
			}
		}
		if _, err := conn.ExecContext(ctx, `INSERT INTO sqlite_stat1 (tbl, idx, stat) VALUES (?, ?, ?)`, ix.table, ix.name, strings.Join(stat, " ")); err != nil {
			t.Fatal(err)
		}
	}
	if _, err := conn.ExecContext(ctx, `ANALYZE sqlite_schema`); err != nil { // reload the statistics
		t.Fatal(err)
	}
}

func explain(t *testing.T, db *sql.DB, query string) []string {
	t.Helper()
	args := make([]any, strings.Count(query, "?")) // unbound: NULL
	rows, err := db.Query(`EXPLAIN QUERY PLAN `+query, args...)
	if err != nil {
		t.Fatalf("EXPLAIN QUERY PLAN %s: %v", query, err)
	}
	defer rows.Close()
	var plan []string
	for rows.Next() {
		var id, parent, unused int
		var detail string
		if err := rows.Scan(&id, &parent, &unused, &detail); err != nil {
			t.Fatal(err)
		}
		plan = append(plan, detail)
	}
	return plan
}

// TestListQueriesUseIndexesAtAMillionRows checks the staff lists' search,
// date-range and count queries (store.Match) the same way: at a million
// rows of one organization, a search reaches search_words by its primary
// key (a range of words) and a date range the table's date index, and
// nothing is a SCAN.
func TestListQueriesUseIndexesAtAMillionRows(t *testing.T) {
	ctx := context.Background()
	s := openT(t, filepath.Join(t.TempDir(), "db"))
	s.r.stmts.Clear()
	s.r.n.Store(0)
	from, to := time.Date(2026, 3, 1, 0, 0, 0, 0, time.UTC), time.Date(2026, 4, 1, 0, 0, 0, 0, time.UTC)
	search, dates := store.Match{Search: "jan"}, store.Match{From: from, To: to}
	pg := store.Page{Limit: 25}
	for _, call := range []func() error{
		func() error {
			_, _, err := s.ListReferrals(ctx, "org_a", store.ReferralFilter{Match: search}, pg)
			return err
		},
		func() error {
			_, _, err := s.ListReferrals(ctx, "org_a", store.ReferralFilter{Match: dates}, pg)
			return err
		},
		func() error {
			_, _, err := s.CountReferrals(ctx, "org_a", store.ReferralFilter{Match: dates})
			return err
		},
		func() error {
			_, _, err := s.CountReferrals(ctx, "org_a", store.ReferralFilter{ProgramID: "prg_1", Match: search})
			return err
		},
		func() error {
			_, _, err := s.ListConversions(ctx, "org_a", store.ConversionFilter{Match: search}, pg)
			return err
		},
		func() error {
			_, _, err := s.ListConversions(ctx, "org_a", store.ConversionFilter{Match: dates}, pg)
			return err
		},
		func() error {
			_, _, err := s.CountConversions(ctx, "org_a", store.ConversionFilter{Match: dates})
			return err
		},
		func() error {
			_, _, err := s.ListReferrersMatching(ctx, "org_a", store.ReferrerFilter{Match: search}, pg)
			return err
		},
		func() error {
			_, _, err := s.ListReferrersMatching(ctx, "org_a", store.ReferrerFilter{Match: dates}, pg)
			return err
		},
		func() error {
			_, _, err := s.CountReferrers(ctx, "org_a", store.ReferrerFilter{Match: dates})
			return err
		},
	} {
		if err := call(); err != nil {
			t.Fatal(err)
		}
	}
	var queries []string
	s.r.stmts.Range(func(k, _ any) bool { queries = append(queries, k.(string)); return true })
	slices.Sort(queries)
	if len(queries) < 10 {
		t.Fatalf("only %d list statements were prepared: %q", len(queries), queries)
	}
	modelMillionRows(t, s.w.DB)
	for _, q := range queries {
		plan := strings.Join(explain(t, s.w.DB, q), "\n    ")
		t.Logf("%s\n    %s", strings.Join(strings.Fields(q), " "), plan)
		// (SCAN (subquery-N) reads a count's bounded subquery, not a table.)
		if strings.Contains(strings.ReplaceAll(plan, "SCAN (subquery", ""), "SCAN ") {
			t.Errorf("at %d rows this list query scans:\n%s\n    %s", modelRows, q, plan)
		}
		if strings.Contains(q, "search_words") && !strings.Contains(plan, "SEARCH search_words USING PRIMARY KEY (org_id=? AND kind=? AND word>? AND word<?)") {
			t.Errorf("a search that is not a range of words:\n%s\n    %s", q, plan)
		}
		for col, index := range map[string]string{"created_at >=": "referrals_created", "occurred_at >=": "conversions_occurred", "'$.createdAt') >=": "referrers_created"} {
			if strings.Contains(q, col) && !strings.Contains(q, "search_words") && !strings.Contains(plan, index) {
				t.Errorf("a date range not through %s:\n%s\n    %s", index, q, plan)
			}
		}
	}
}
