package sqlite

import (
	"context"
	"fmt"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/partnerloop/partnerloop/internal/analytics"
	"github.com/partnerloop/partnerloop/internal/domain"
	"github.com/partnerloop/partnerloop/internal/store"
)

// rollAll runs RollUp (limit per feed) until both feeds are read to their
// end, and returns how many changes and clicks it read.
func rollAll(t *testing.T, s *Store, limit int) int {
	t.Helper()
	read := 0
	for range 10_000 {
		res, err := s.RollUp(t.Context(), limit, analytics.Fold)
		if err != nil {
			t.Fatal(err)
		}
		read += res.Changes
		if res.CaughtUp {
			return read
		}
	}
	t.Fatal("the rollup never caught up")
	return 0
}

// cellClicks is the clicks org's day cells count, and its month cells.
func cellClicks(t *testing.T, s *Store, orgID string) (days, months int64) {
	t.Helper()
	err := s.r.QueryRowContext(t.Context(), `SELECT
		COALESCE(SUM(CASE WHEN grain = 'day' THEN clicks END), 0), COALESCE(SUM(CASE WHEN grain = 'month' THEN clicks END), 0)
		FROM analytics_cells WHERE org_id = ? AND level = ?`, orgID, store.LevelOrg).Scan(&days, &months)
	if err != nil {
		t.Fatal(err)
	}
	return days, months
}

func wantCellClicks(t *testing.T, s *Store, orgID string, want int64, when string) {
	t.Helper()
	if d, m := cellClicks(t, s, orgID); d != want || m != want {
		t.Errorf("%s: the cells count %d clicks by day and %d by month, want %d", when, d, m, want)
	}
}

// TestUpgradeCountsUnrolledOutboxClicksOnce: a file written when clicks
// went through the outbox, upgraded while the rollup had read only some of
// them, counts every click exactly once: the old ones through the outbox,
// the new ones (no outbox row) through the click feed, in rounds that read
// both feeds; a rebuild then recounts the same total, and later clicks add
// to it once.
func TestUpgradeCountsUnrolledOutboxClicksOnce(t *testing.T) {
	ctx := context.Background()
	at := time.Date(2026, 3, 10, 12, 0, 0, 0, time.UTC)
	inserts := []string{
		`INSERT INTO referrers (id, org_id, program_id, email, code_key, clicks, data) VALUES ('rfr_1', 'org_a', 'prg_1', 'a@x.io', 'JANE', 5, '{"id":"rfr_1","orgId":"org_a","programId":"prg_1","email":"a@x.io","code":"jane"}')`,
		// Built before the clicks, with the rollup past the first two.
		`INSERT INTO analytics_orgs (org_id, time_zone, rebuilt_through, version) VALUES ('org_a', 'UTC', 0, 1)`,
		fmt.Sprintf(`INSERT INTO analytics_feed (id, cursor, as_of) VALUES (1, 2, '%s')`, formatTime(at)),
	}
	for i := 1; i <= 5; i++ {
		c := domain.Click{ID: fmt.Sprintf("clk_%d", i), OrgID: "org_a", ProgramID: "prg_1", ReferrerID: "rfr_1", Code: "jane",
			VisitorHash: fmt.Sprintf("v%d", i), At: at.Add(time.Duration(i) * time.Minute)}
		data, err := marshal(c)
		if err != nil {
			t.Fatal(err)
		}
		inserts = append(inserts,
			fmt.Sprintf(`INSERT INTO clicks (id, org_id, referrer_id, visitor_hash, at, data) VALUES ('%s', 'org_a', 'rfr_1', '%s', '%s', '%s')`,
				c.ID, c.VisitorHash, formatTime(c.At), data),
			fmt.Sprintf(`INSERT INTO outbox (entity, op, org_id, id, new_image, at) VALUES ('click', 'INSERT', 'org_a', '%s', '%s', '%s')`,
				c.ID, data, formatTime(c.At)))
	}
	// The two the rollup had read are in the cells.
	inserts = append(inserts, fmt.Sprintf(`INSERT INTO analytics_cells (org_id, level, grain, dim_id, start, currency, clicks)
		VALUES ('org_a', '%s', 'day', 'org_a', '2026-03-10', '', 2), ('org_a', '%s', 'month', 'org_a', '2026-03-01', '', 2)`,
		store.LevelOrg, store.LevelOrg))
	s := openMigratedFrom(t, migrationWith(t, "CREATE TABLE analytics_click_feed"), inserts...)

	var cursor int64
	if err := s.r.QueryRowContext(ctx, `SELECT cursor FROM analytics_click_feed`).Scan(&cursor); err != nil || cursor != 5 {
		t.Fatalf("click cursor after the migration = %d, %v; want 5 (past the clicks the outbox holds)", cursor, err)
	}
	click := func(id string, minute int) {
		t.Helper()
		counted, err := s.RecordClick(ctx, domain.Click{ID: id, OrgID: "org_a", ProgramID: "prg_1", ReferrerID: "rfr_1", Code: "jane",
			VisitorHash: "v-" + id, At: at.Add(time.Duration(minute) * time.Minute)}, store.ClickLimits{Window: time.Hour})
		if err != nil || !counted {
			t.Fatalf("RecordClick(%s) = %v, %v", id, counted, err)
		}
	}
	click("clk_6", 6)
	click("clk_7", 7)
	var outboxClicks int
	if err := s.r.QueryRowContext(ctx, `SELECT count(*) FROM outbox WHERE entity = 'click'`).Scan(&outboxClicks); err != nil || outboxClicks != 5 {
		t.Fatalf("click rows in the outbox = %d, %v; want the 5 old ones only", outboxClicks, err)
	}
	// Limit 2: rounds that read some of each feed, then one of each alone.
	if read := rollAll(t, s, 2); read != 3+2 {
		t.Errorf("the rollup read %d changes and clicks, want 5 (3 old in the outbox, 2 new clicks)", read)
	}
	wantCellClicks(t, s, "org_a", 7, "after the upgrade's rollup")
	if read := rollAll(t, s, 2); read != 0 {
		t.Errorf("a second rollup read %d, want 0", read)
	}

	// A rebuild recounts a click the feed has not read yet too, and the
	// feed then skips it; a click after the rebuild counts once.
	click("clk_8", 8)
	if err := s.RebuildAnalytics(ctx, domain.Organization{ID: "org_a"}, analytics.Fold); err != nil {
		t.Fatal(err)
	}
	wantCellClicks(t, s, "org_a", 8, "after a rebuild")
	click("clk_9", 9)
	rollAll(t, s, 2)
	wantCellClicks(t, s, "org_a", 9, "after a click after the rebuild")

	// Clicks are never deleted: their rowids are the feed's positions.
	if _, err := s.w.ExecContext(ctx, `DELETE FROM clicks WHERE id = 'clk_8'`); err == nil || !strings.Contains(err.Error(), "never deleted") {
		t.Errorf("deleting a click: %v, want the trigger's refusal", err)
	}
}

// TestClicksDuringAndAfterARebuildCountOnce: clicks recorded while an
// organization's cells are rebuilt again and again and rolled up (the
// rebuild's write transaction takes the writer between commit groups),
// and after, end up counted exactly once: the cells count as many clicks
// as the table holds, and as a fresh recount does. Clicks of an
// organization not yet built are left to its first rebuild.
func TestClicksDuringAndAfterARebuildCountOnce(t *testing.T) {
	ctx := context.Background()
	s := openWithJane(t)
	org := domain.Organization{ID: "org_a"}
	at := time.Date(2026, 3, 10, 12, 0, 0, 0, time.UTC)
	var n sync.Mutex
	next := 0
	click := func() {
		n.Lock()
		next++
		i := next
		n.Unlock()
		counted, err := s.RecordClick(ctx, domain.Click{ID: fmt.Sprintf("clk_%04d", i), OrgID: "org_a", ProgramID: "prg_1", ReferrerID: "rfr_1",
			Code: "jane", VisitorHash: fmt.Sprintf("v%04d", i), At: at.Add(time.Duration(i) * time.Second)}, store.ClickLimits{Window: time.Hour})
		if err != nil || !counted {
			t.Errorf("RecordClick %d = %v, %v", i, counted, err)
		}
	}
	for range 10 {
		click()
	}
	rollAll(t, s, 100) // not built: the feed passes them over
	wantCellClicks(t, s, "org_a", 0, "before the first rebuild")

	const writers, each = 4, 75
	var wg sync.WaitGroup
	for range writers {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for range each {
				click()
			}
		}()
	}
	done := make(chan struct{})
	go func() { wg.Wait(); close(done) }()
	rebuilds := 0
	for running := true; running; {
		select {
		case <-done:
			running = false
		default:
		}
		// Clicks the feed has not read when the rebuild runs (besides the
		// writers'), which it recounts; the feed then reads 3 a round.
		for range 3 {
			click()
		}
		if err := s.RebuildAnalytics(ctx, org, analytics.Fold); err != nil {
			t.Fatal(err)
		}
		rebuilds++
		if _, err := s.RollUp(ctx, 3, analytics.Fold); err != nil {
			t.Fatal(err)
		}
	}
	for range 20 { // clicks after the last rebuild
		click()
	}
	rollAll(t, s, 7)
	total := int64(10 + writers*each + 3*rebuilds + 20)
	var stored int64
	if err := s.r.QueryRowContext(ctx, `SELECT count(*) FROM clicks`).Scan(&stored); err != nil || stored != total {
		t.Fatalf("clicks stored = %d, %v; want %d", stored, err, total)
	}
	wantCellClicks(t, s, "org_a", total, fmt.Sprintf("after %d rebuilds among the clicks", rebuilds))
	if err := s.RebuildAnalytics(ctx, org, analytics.Fold); err != nil {
		t.Fatal(err)
	}
	wantCellClicks(t, s, "org_a", total, "after a final recount")
	if read := rollAll(t, s, 7); read != 0 {
		t.Errorf("a rollup after the recount read %d, want 0", read)
	}
	wantCellClicks(t, s, "org_a", total, "after a rollup after the recount")
}
