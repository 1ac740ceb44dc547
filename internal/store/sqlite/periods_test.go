package sqlite

import (
	"database/sql"
	"path/filepath"
	"slices"
	"strconv"
	"testing"
)

// TestMigrationFillsPeriodOfExistingCounters: migration 4 gives the
// running totals that exist before it their period, so the period-close
// job finds them (RunningTotals) after an upgrade.
func TestMigrationFillsPeriodOfExistingCounters(t *testing.T) {
	s := openMigratedFrom(t, 3, `INSERT INTO ledger_counters (org_id, key, count, revenue) VALUES
		('org_1', 'rfr_1/program/prg_1/2026-03', 2, 3000),
		('org_1', 'ptn_1/tier/tie_1/2026-Q1', 1, 10),
		('org_1', 'rfr_2/program/prg_1/2026', 1, 10),
		('org_2', 'rfr_3/program/prg_2/2026-03', 1, 10)`)
	for _, tc := range []struct {
		org, period string
		want        []string
	}{
		{"org_1", "2026-03", []string{"rfr_1/program/prg_1/2026-03"}},
		{"org_1", "2026-Q1", []string{"ptn_1/tier/tie_1/2026-Q1"}},
		{"org_1", "2026", []string{"rfr_2/program/prg_1/2026"}},
		{"org_2", "2026-03", []string{"rfr_3/program/prg_2/2026-03"}},
		{"org_2", "2026", nil},
	} {
		got, err := s.RunningTotals(t.Context(), tc.org, tc.period)
		if err != nil || !slices.Equal(got, tc.want) {
			t.Errorf("RunningTotals(%s, %s) = %q, %v; want %q", tc.org, tc.period, got, err, tc.want)
		}
	}
}

// openMigratedFrom writes a file with the first n migrations and the rows
// of inserts, as an earlier version left it, and opens it (applying the
// rest).
func openMigratedFrom(t *testing.T, n int, inserts ...string) *Store {
	t.Helper()
	path := filepath.Join(t.TempDir(), "old.db")
	db, err := sql.Open("sqlite", path)
	if err != nil {
		t.Fatal(err)
	}
	stmts := []string{`CREATE TABLE schema_migrations (version INTEGER PRIMARY KEY, applied_at TEXT NOT NULL)`}
	for i, m := range migrations[:n] {
		stmts = append(stmts, m, `INSERT INTO schema_migrations VALUES (`+strconv.Itoa(i+1)+`, '2026-01-01T00:00:00Z')`)
	}
	for _, q := range append(stmts, inserts...) {
		if _, err := db.Exec(q); err != nil {
			t.Fatalf("%s: %v", q, err)
		}
	}
	if err := db.Close(); err != nil {
		t.Fatal(err)
	}
	s := openT(t, path)
	if got := migrationCount(t, s); got != len(migrations) {
		t.Fatalf("migrations applied = %d, want %d", got, len(migrations))
	}
	return s
}
