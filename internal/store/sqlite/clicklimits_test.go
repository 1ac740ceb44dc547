package sqlite

import (
	"context"
	"fmt"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/partnerloop/partnerloop/internal/domain"
	"github.com/partnerloop/partnerloop/internal/store"
)

// migrationWith is the index in migrations of the one that holds sql.
func migrationWith(t *testing.T, sql string) int {
	t.Helper()
	for i, m := range migrations {
		if strings.Contains(m, sql) {
			return i
		}
	}
	t.Fatalf("no migration holds %q", sql)
	return 0
}

// TestMigrationKeepsTheClickLimitsOfTheOldTables: a file written before
// click_limits keeps its visitors' last clicks and its addresses' counts:
// within the window the migrated visitor is a repeat and the address is at
// its cap, after it both count again.
func TestMigrationKeepsTheClickLimitsOfTheOldTables(t *testing.T) {
	ctx := context.Background()
	at := time.Date(2026, 3, 10, 12, 20, 0, 0, time.UTC)
	s := openMigratedFrom(t, migrationWith(t, "CREATE TABLE click_limits"),
		`INSERT INTO referrers (id, org_id, program_id, email, code_key, clicks, data) VALUES ('rfr_1', 'org_a', 'prg_1', 'a@x.io', 'JANE', 5, '{"id":"rfr_1","orgId":"org_a","programId":"prg_1","email":"a@x.io","code":"jane"}')`,
		fmt.Sprintf(`INSERT INTO click_dedupe (code_key, visitor_hash, last_at) VALUES ('JANE', 'v-old', '%s'), ('JANE', 'v-older', '%s')`,
			formatTime(at), formatTime(at.Add(-3*time.Hour))),
		fmt.Sprintf(`INSERT INTO click_sources (code_key, source_hash, window_start, n) VALUES ('JANE', 'full', '%s', 3), ('JANE', 'other', '%s', 1)`,
			formatTime(at.Truncate(time.Hour)), formatTime(at.Truncate(time.Hour))),
	)
	var n int
	if err := s.r.QueryRowContext(ctx, `SELECT count(*) FROM click_limits`).Scan(&n); err != nil || n != 2+3+1 {
		t.Fatalf("click_limits rows after the migration = %d, %v; want 6", n, err)
	}
	click := clicker(t, s, 3)
	click("v-old", "somewhere", at.Add(30*time.Minute), false)  // its migrated click was 30 minutes before
	click("v-older", "somewhere", at.Add(30*time.Minute), true) // 3.5 hours before
	click("v-new", "full", at.Add(10*time.Minute), false)       // the address had its 3 this window
	click("v-new", "other", at.Add(10*time.Minute), true)       // 1 of 3
	click("v-old", "somewhere", at.Add(61*time.Minute), true)   // the window is over
	click("v-new2", "full", at.Add(41*time.Minute), true)       // the next window
}

// TestMigrationAppendsTheKeyedClickLimits: the rows of the keyed
// click_limits table are carried into the appended one and into memory:
// the visitor is still a repeat and the address still at its cap.
func TestMigrationAppendsTheKeyedClickLimits(t *testing.T) {
	ctx := context.Background()
	at := time.Date(2026, 3, 10, 12, 20, 0, 0, time.UTC)
	m := slices.IndexFunc(migrations, func(m string) bool { return strings.Contains(m, "CREATE TABLE click_limits_log") })
	if m < 0 {
		t.Fatal("no migration creates click_limits_log")
	}
	win := formatTime(at.Truncate(time.Hour))
	s := openMigratedFrom(t, m,
		`INSERT INTO referrers (id, org_id, program_id, email, code_key, clicks, data) VALUES ('rfr_1', 'org_a', 'prg_1', 'a@x.io', 'JANE', 3, '{"id":"rfr_1","orgId":"org_a","programId":"prg_1","email":"a@x.io","code":"jane"}')`,
		fmt.Sprintf(`INSERT INTO click_limits (code_key, source_hash, window_start, visitor_hash, last_at) VALUES
			('JANE', 'full', '%[1]s', 'v-1', '%[2]s'), ('JANE', 'full', '%[1]s', 'v-2', '%[2]s'), ('JANE', 'other', '%[1]s', 'v-3', '%[2]s')`,
			win, formatTime(at)),
	)
	var n int
	if err := s.r.QueryRowContext(ctx, `SELECT count(*) FROM click_limits WHERE seq > 0`).Scan(&n); err != nil || n != 3 {
		t.Fatalf("click_limits rows after the migration = %d, %v; want 3", n, err)
	}
	click := clicker(t, s, 2)
	click("v-3", "other", at.Add(10*time.Minute), false) // 10 minutes after its last
	click("v-4", "full", at.Add(10*time.Minute), false)  // the address had its 2
	click("v-4", "other", at.Add(10*time.Minute), true)
	click("v-3", "other", at.Add(61*time.Minute), true) // the hour is over
}

// TestPruneClickLimitsDeletesOnlyPastWindows: the pruner walks the whole
// table in batches and deletes exactly the rows of windows that started
// before its horizon; the decisions of the clicks after it are those the
// rows it kept make.
func TestPruneClickLimitsDeletesOnlyPastWindows(t *testing.T) {
	ctx := context.Background()
	s := openWithJane(t)
	start := time.Date(2026, 3, 10, 0, 0, 0, 0, time.UTC)
	const hours, perHour = 6, 2 * clickPruneBatch / 3 // several batches, their ends inside windows
	for h := range hours {
		for i := range perHour {
			c := domain.Click{ID: fmt.Sprintf("clk_%d_%04d", h, i), OrgID: "org_a", ReferrerID: "rfr_1", Code: "jane",
				VisitorHash: fmt.Sprintf("v%04d", i), At: start.Add(time.Duration(h)*time.Hour + time.Duration(i)*time.Second)}
			lim := store.ClickLimits{Window: time.Hour, SourceHash: fmt.Sprintf("s%d", i%7), PerSource: 1000}
			if counted, err := s.RecordClick(ctx, c, lim); err != nil || !counted {
				t.Fatalf("RecordClick(%s) = %v, %v", c.ID, counted, err)
			}
		}
	}
	before, ok := s.horizon.before(time.Now())
	if want := start.Add((hours-1)*time.Hour + (perHour-1)*time.Second - 2*time.Hour); !ok || !before.Equal(want) {
		t.Fatalf("horizon = %s, %v; want %s (two windows before the latest click)", before, ok, want)
	}
	deleted, err := s.pruneClickLimits(ctx, before)
	if err != nil {
		t.Fatal(err)
	}
	if want := int64(4 * perHour); deleted != want { // the windows 00:00 to 03:00 (03:00 started before the horizon)
		t.Errorf("pruned %d rows, want %d", deleted, want)
	}
	var n int
	var oldest string
	if err := s.r.QueryRowContext(ctx, `SELECT count(*), min(window_start) FROM click_limits`).Scan(&n, &oldest); err != nil {
		t.Fatal(err)
	}
	if n != (hours-4)*perHour || oldest != formatTime(start.Add(4*time.Hour)) {
		t.Errorf("left %d rows from %s, want %d from %s", n, oldest, (hours-4)*perHour, formatTime(start.Add(4*time.Hour)))
	}
	if len(s.limits.rows) != hours-4 {
		t.Errorf("memory keeps %d windows, want %d", len(s.limits.rows), hours-4)
	}
	if again, err := s.pruneClickLimits(ctx, before); err != nil || again != 0 {
		t.Errorf("pruning again deleted %d, %v; want 0", again, err)
	}
	// The last window's visitors are still repeats.
	last := start.Add((hours-1)*time.Hour + 30*time.Minute)
	if counted, err := s.RecordClick(ctx, domain.Click{ID: "clk_again", OrgID: "org_a", ReferrerID: "rfr_1", Code: "jane",
		VisitorHash: "v0001", At: last}, store.ClickLimits{Window: time.Hour, SourceHash: "s1", PerSource: 1000}); err != nil || counted {
		t.Errorf("a repeat after pruning: counted %v, %v", counted, err)
	}
}

// TestPrevSourceHashFindsTheVisitorOfYesterdaysSalt: after the salt's
// rotation a visitor's previous hash is looked up under its address's
// previous hash, where its last click was recorded.
func TestPrevSourceHashFindsTheVisitorOfYesterdaysSalt(t *testing.T) {
	ctx := context.Background()
	s := openWithJane(t)
	midnight := time.Date(2026, 3, 11, 0, 0, 0, 0, time.UTC)
	record := func(id, visitor string, at time.Time, lim store.ClickLimits) bool {
		t.Helper()
		counted, err := s.RecordClick(ctx, domain.Click{ID: id, OrgID: "org_a", ReferrerID: "rfr_1", Code: "jane", VisitorHash: visitor, At: at}, lim)
		if err != nil {
			t.Fatal(err)
		}
		return counted
	}
	yesterday := store.ClickLimits{Window: time.Hour, SourceHash: "addr-y", PerSource: 10}
	today := store.ClickLimits{Window: time.Hour, SourceHash: "addr-t", PerSource: 10, PrevVisitorHash: "vis-y", PrevSourceHash: "addr-y"}
	if !record("clk_1", "vis-y", midnight.Add(-20*time.Minute), yesterday) {
		t.Fatal("the first click was not counted")
	}
	// Memory forgets and is told to read the file again: the answer comes
	// from the file.
	if err := s.waitApplied(t.Context()); err != nil {
		t.Fatal(err)
	}
	s.limits = clickLimits{}
	s.limits.wroteOutside()
	if record("clk_2", "vis-t", midnight.Add(20*time.Minute), today) {
		t.Error("the visitor under today's salt, 40 minutes later, was counted")
	}
	if !record("clk_3", "vis-t", midnight.Add(41*time.Minute), today) {
		t.Error("the visitor under today's salt, 61 minutes later, was not counted")
	}
}

// openWithJane opens a new store with one referrer, rfr_1, code jane.
func openWithJane(t *testing.T) *Store {
	t.Helper()
	s := openT(t, filepath.Join(t.TempDir(), "db"))
	if err := s.CreateReferrer(t.Context(), domain.Referrer{ID: "rfr_1", OrgID: "org_a", ProgramID: "prg_1", Email: "a@x.io", Code: "jane"}); err != nil {
		t.Fatal(err)
	}
	return s
}

// TestClickLimitsHoldAcrossProcesses: two stores on one file (two
// processes) decide from their memories and journals; the one that applies
// a click reads the rows the other applied before, so the clicks stored
// respect the per-visitor window and the address's cap across both (a
// store's answer can be "counted" for a click the other store had already
// counted: the applier then leaves it out). A store opened afterwards
// knows every row from the file.
func TestClickLimitsHoldAcrossProcesses(t *testing.T) {
	ctx := context.Background()
	path := filepath.Join(t.TempDir(), "db")
	a := openT(t, path)
	if err := a.CreateReferrer(ctx, domain.Referrer{ID: "rfr_1", OrgID: "org_a", ProgramID: "prg_1", Email: "a@x.io", Code: "jane"}); err != nil {
		t.Fatal(err)
	}
	b := openT(t, path)
	at := time.Date(2026, 3, 10, 12, 5, 0, 0, time.UTC)
	n := 0
	click := func(s *Store, visitor, source string, at time.Time) {
		t.Helper()
		n++
		if _, err := s.RecordClick(ctx, domain.Click{ID: fmt.Sprintf("clk_%d", n), OrgID: "org_a", ReferrerID: "rfr_1", Code: "jane",
			VisitorHash: visitor, At: at}, store.ClickLimits{Window: time.Hour, SourceHash: source, PerSource: 2}); err != nil {
			t.Fatal(err)
		}
		if err := s.waitApplied(ctx); err != nil { // applied before the other store's next click
			t.Fatal(err)
		}
	}
	click(a, "v1", "addr-1", at)
	click(b, "v1", "addr-1", at.Add(time.Minute)) // a stored it
	click(b, "v2", "addr-1", at.Add(2*time.Minute))
	click(a, "v2", "addr-1", at.Add(3*time.Minute)) // b stored it
	click(a, "v3", "addr-1", at.Add(4*time.Minute)) // the address had its 2 (one from each store)
	click(b, "v3", "addr-1", at.Add(5*time.Minute))
	click(b, "v3", "addr-2", at.Add(6*time.Minute))
	click(a, "v1", "addr-1", at.Add(61*time.Minute)) // the hour is over: a new window too

	stored := func(s *Store) []string {
		t.Helper()
		rows, err := s.r.QueryContext(ctx, `SELECT visitor_hash, at FROM clicks ORDER BY at`)
		if err != nil {
			t.Fatal(err)
		}
		defer rows.Close()
		var out []string
		for rows.Next() {
			var v, at string
			if err := rows.Scan(&v, &at); err != nil {
				t.Fatal(err)
			}
			out = append(out, v+"@"+at[11:16])
		}
		return out
	}
	want := []string{"v1@12:05", "v2@12:07", "v3@12:11", "v1@13:06"}
	if got := stored(a); !slices.Equal(got, want) {
		t.Errorf("clicks stored %v, want %v", got, want)
	}
	var clicks int
	if err := a.r.QueryRowContext(ctx, `SELECT clicks FROM referrers WHERE id = 'rfr_1'`).Scan(&clicks); err != nil || clicks != len(want) {
		t.Errorf("referrer's clicks = %d, %v; want %d", clicks, err, len(want))
	}
	// Afterwards both memories know every visitor: their repeats are
	// answered without a write.
	for _, s := range []*Store{a, b} {
		for _, c := range []struct{ visitor, source string }{{"v2", "addr-1"}, {"v3", "addr-2"}} {
			p := &pendingClick{c: domain.Click{VisitorHash: c.visitor, At: at.Add(30 * time.Minute)}, key: domain.CodeKey("jane"),
				lim: store.ClickLimits{Window: time.Hour, SourceHash: c.source, PerSource: 2}}
			if !s.limits.decided(p) {
				t.Errorf("a store's memory does not know %s", c.visitor)
			}
		}
	}
	c := openT(t, path)
	clickC := clicker(t, c, 2)
	clickC("v3", "addr-2", at.Add(20*time.Minute), false)
	clickC("v4", "addr-1", at.Add(20*time.Minute), false) // addr-1's window is full
	clickC("v4", "addr-3", at.Add(20*time.Minute), true)
}

// clicker returns a func recording a click of visitor from source at at
// through rfr_1's code jane in s, with an hour's window and perSource, that
// fails t unless the answer is want.
func clicker(t *testing.T, s *Store, perSource int) func(visitor, source string, at time.Time, want bool) {
	id := 0
	return func(visitor, source string, at time.Time, want bool) {
		t.Helper()
		id++
		got, err := s.RecordClick(t.Context(), domain.Click{ID: fmt.Sprintf("clk_%p_%d", s, id), OrgID: "org_a", ReferrerID: "rfr_1", Code: "jane",
			VisitorHash: visitor, At: at}, store.ClickLimits{Window: time.Hour, SourceHash: source, PerSource: perSource})
		if err != nil || got != want {
			t.Errorf("RecordClick(%s from %s at %s) = %v, %v; want %v", visitor, source, at.Format(time.TimeOnly), got, err, want)
		}
	}
}
