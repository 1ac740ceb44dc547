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

// TestGroupedConversionsWithoutSavepoints: a conversion of a known
// referral runs in its group without a savepoint (groupReq.firstFails).
// One refused (a taken externalId) writes nothing — no conversion, no
// outbox change — and the others of its group commit; a write that fails
// after its first statement fails its whole group, which then writes
// nothing.
func TestGroupedConversionsWithoutSavepoints(t *testing.T) {
	ctx := context.Background()
	s := openT(t, filepath.Join(t.TempDir(), "db"))
	conv := func(id, ext string) groupReq {
		req, err := s.recordConversion(domain.Conversion{ID: id, OrgID: "org_a", ProgramID: "prg_1", ReferralID: "rfl_1",
			ExternalID: ext, OccurredAt: t0, CreatedAt: t0}, nil)
		if err != nil {
			t.Fatal(err)
		}
		if !req.firstFails {
			t.Fatal("a conversion of a known referral is grouped with a savepoint")
		}
		return req
	}
	changes := func() int {
		cs, err := s.Changes(ctx, 0, 1000)
		if err != nil {
			t.Fatal(err)
		}
		return len(cs)
	}
	if errs := s.commitGroup([]groupReq{conv("cnv_1", "ord-1")}); errs[0] != nil {
		t.Fatal(errs[0])
	}
	before := changes()
	errs := s.commitGroup([]groupReq{conv("cnv_2", "ord-2"), conv("cnv_3", "ord-1"), conv("cnv_4", "ord-4"), conv("cnv_1", "ord-5")})
	for i, want := range []error{nil, store.ErrConflict, nil, store.ErrConflict} {
		if !errors.Is(errs[i], want) {
			t.Errorf("conversion %d of the group: %v, want %v", i, errs[i], want)
		}
	}
	for id, want := range map[string]error{"cnv_2": nil, "cnv_3": store.ErrNotFound, "cnv_4": nil} {
		if _, err := s.GetConversion(ctx, "org_a", id); !errors.Is(err, want) {
			t.Errorf("GetConversion(%s) = %v, want %v", id, err, want)
		}
	}
	if c, err := s.GetConversionByExternalID(ctx, "org_a", "ord-5"); !errors.Is(err, store.ErrNotFound) {
		t.Errorf("the refused ID's externalId was stored: %+v, %v", c, err)
	}
	if got := changes() - before; got != 2 {
		t.Errorf("%d outbox changes for the group, want 2 (one per conversion stored)", got)
	}

	failing := groupReq{firstFails: true, fn: func(ctx context.Context, tx *wtx) error {
		if _, err := tx.ExecContext(ctx, `INSERT INTO outbox (entity, op, org_id, id, at) VALUES ('x', 'INSERT', 'org_a', 'x_1', ?)`,
			formatTime(t0)); err != nil {
			return unwritten{err}
		}
		return errors.New("failed after its first write")
	}}
	before = changes()
	for i, err := range s.commitGroup([]groupReq{conv("cnv_6", "ord-6"), failing, conv("cnv_7", "ord-7")}) {
		if err == nil {
			t.Errorf("request %d of a group that failed: no error", i)
		}
	}
	for _, id := range []string{"cnv_6", "cnv_7"} {
		if _, err := s.GetConversion(ctx, "org_a", id); !errors.Is(err, store.ErrNotFound) {
			t.Errorf("GetConversion(%s) after its group failed: %v, want not found", id, err)
		}
	}
	if got := changes() - before; got != 0 {
		t.Errorf("%d outbox changes after a failed group, want none", got)
	}
}
