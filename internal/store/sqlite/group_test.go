package sqlite

import (
	"context"
	"errors"
	"fmt"
	"path/filepath"
	"sync"
	"testing"
	"time"

	"github.com/partnerloop/partnerloop/internal/domain"
	"github.com/partnerloop/partnerloop/internal/store"
)

// TestGroupedWritesAreEachAllOrNothingAndDurable: clicks and conversions
// racing each other are committed in groups (group.go). Each one must
// still count exactly as if it ran alone — a visitor's repeats in the same
// group count once, a conversion refused (duplicate externalId) writes
// nothing while the others of its group commit — and every write that was
// answered as done must be in the file when it is opened again.
func TestGroupedWritesAreEachAllOrNothingAndDurable(t *testing.T) {
	ctx := context.Background()
	path := filepath.Join(t.TempDir(), "db")
	s, err := Open(path)
	if err != nil {
		t.Fatal(err)
	}
	if err := s.CreateReferrer(ctx, domain.Referrer{ID: "rfr_1", OrgID: "org_a", ProgramID: "prg_1", Email: "a@x.io", Code: "jane"}); err != nil {
		t.Fatal(err)
	}
	const visitors, repeats, orders = 40, 3, 30
	var wg sync.WaitGroup
	var mu sync.Mutex
	counted, created, conflicts := 0, 0, 0
	var failures []error
	for v := range visitors {
		for r := range repeats {
			wg.Go(func() {
				ok, err := s.RecordClick(ctx, domain.Click{ID: fmt.Sprintf("clk_%d_%d", v, r), OrgID: "org_a", ReferrerID: "rfr_1",
					Code: "jane", VisitorHash: fmt.Sprintf("v%d", v), At: t0}, store.ClickLimits{Window: time.Hour})
				mu.Lock()
				defer mu.Unlock()
				if err != nil {
					failures = append(failures, err)
				}
				if ok {
					counted++
				}
			})
		}
	}
	for o := range orders {
		for try := range 2 { // every order reported twice: one must be refused
			wg.Go(func() {
				err := s.RecordConversion(ctx, domain.Conversion{ID: fmt.Sprintf("cnv_%d_%d", o, try), OrgID: "org_a", ProgramID: "prg_1",
					ReferralID: fmt.Sprintf("rfl_%d_%d", o, try), ExternalID: fmt.Sprintf("ord-%d", o), OccurredAt: t0, CreatedAt: t0},
					&domain.Referral{ID: fmt.Sprintf("rfl_%d_%d", o, try), OrgID: "org_a", ProgramID: "prg_1", ReferrerID: "rfr_1",
						Email: fmt.Sprintf("c%d-%d@x.io", o, try), Status: domain.ReferralPending, CreatedAt: t0})
				mu.Lock()
				defer mu.Unlock()
				switch {
				case err == nil:
					created++
				case errors.Is(err, store.ErrConflict):
					conflicts++
				default:
					failures = append(failures, err)
				}
			})
		}
	}
	wg.Wait()
	if len(failures) > 0 {
		t.Fatal(failures)
	}
	if counted != visitors || created != orders || conflicts != orders {
		t.Fatalf("counted %d clicks of %d visitors, created %d conversions and refused %d of %d orders reported twice",
			counted, visitors, created, conflicts, orders)
	}
	if err := s.Close(); err != nil {
		t.Fatal(err)
	}

	s = openT(t, path)
	r, err := s.GetReferrerByCode(ctx, "jane")
	if err != nil || r.Clicks != visitors {
		t.Fatalf("after reopening: referrer %+v, %v; want %d clicks", r, err, visitors)
	}
	clicks, _, err := s.ListClicks(ctx, "org_a", "rfr_1", store.Page{Limit: store.MaxLimit})
	if err != nil || len(clicks) != visitors {
		t.Fatalf("after reopening: %d clicks stored, %v; want %d", len(clicks), err, visitors)
	}
	// The refused twin's new referral was undone with it.
	refs, _, err := s.ListReferrals(ctx, "org_a", store.ReferralFilter{}, store.Page{Limit: store.MaxLimit})
	if err != nil || len(refs) != orders {
		t.Fatalf("%d referrals, %v; want one per order (%d)", len(refs), err, orders)
	}
	for o := range orders {
		c, err := s.GetConversionByExternalID(ctx, "org_a", fmt.Sprintf("ord-%d", o))
		if err != nil {
			t.Fatalf("order %d: %v", o, err)
		}
		if got, err := s.GetReferral(ctx, "org_a", c.ReferralID); err != nil || got.Status != domain.ReferralConverted {
			t.Fatalf("order %d's referral: %+v, %v", o, got, err)
		}
	}
	if err := s.Close(); err != nil {
		t.Fatal(err)
	}
	if err := s.writeGrouped(ctx, func(context.Context, *wtx) error { return nil }); !errors.Is(err, errClosed) {
		t.Fatalf("a grouped write after Close: %v, want errClosed", err)
	}
	if _, err := s.RecordClick(ctx, domain.Click{ID: "clk_late", OrgID: "org_a", ReferrerID: "rfr_1", Code: "jane", VisitorHash: "late", At: t0},
		store.ClickLimits{Window: time.Hour}); err == nil {
		t.Fatal("a click after Close was recorded")
	}
}

// TestGroupOfWritesThatMayRunAgainFailsAlone: a group of writes that may
// run again (conversions) commits without a savepoint each; when one of
// them fails after it wrote, the group runs again with savepoints, so that
// only the failing write is undone and every other one is written once.
func TestGroupOfWritesThatMayRunAgainFailsAlone(t *testing.T) {
	ctx := context.Background()
	s := openT(t, filepath.Join(t.TempDir(), "db"))
	if _, err := s.w.ExecContext(ctx, `CREATE TABLE probe (id TEXT PRIMARY KEY)`); err != nil {
		t.Fatal(err)
	}
	refused := errors.New("refused after writing")
	write := func(id string, fail bool) groupReq {
		return groupReq{again: true, fn: func(ctx context.Context, tx *wtx) error {
			if _, err := tx.ExecContext(ctx, `INSERT INTO probe (id) VALUES (?)`, id); err != nil {
				return err
			}
			if fail {
				return refused
			}
			return nil
		}}
	}
	stored := func() []string {
		t.Helper()
		rows, err := s.w.QueryContext(ctx, `SELECT id FROM probe ORDER BY id`)
		if err != nil {
			t.Fatal(err)
		}
		defer rows.Close()
		var ids []string
		for rows.Next() {
			var id string
			if err := rows.Scan(&id); err != nil {
				t.Fatal(err)
			}
			ids = append(ids, id)
		}
		return ids
	}

	errs := s.commitGroup([]groupReq{write("a", false), write("b", false), write("c", false)})
	if errors.Join(errs...) != nil || fmt.Sprint(stored()) != "[a b c]" {
		t.Fatalf("a group that succeeds: errors %v, stored %v", errs, stored())
	}
	// "e" fails after writing; "d" and "f" are written once each (a second
	// insert of the same id would fail).
	errs = s.commitGroup([]groupReq{write("d", false), write("e", true), write("f", false)})
	if errs[0] != nil || !errors.Is(errs[1], refused) || errs[2] != nil {
		t.Fatalf("a group with a failing write: errors %v, want nil, %v, nil", errs, refused)
	}
	if got := fmt.Sprint(stored()); got != "[a b c d f]" {
		t.Fatalf("stored %s, want [a b c d f]", got)
	}
	// A write that fails because of what an earlier one of its group
	// wrote fails the same way when the group runs again.
	errs = s.commitGroup([]groupReq{write("g", false), write("g", false)})
	if errs[0] != nil || errs[1] == nil {
		t.Fatalf("a group writing g twice: errors %v, want nil then a conflict", errs)
	}
	if got := fmt.Sprint(stored()); got != "[a b c d f g]" {
		t.Fatalf("stored %s, want [a b c d f g]", got)
	}
}
