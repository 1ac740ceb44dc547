package sqlite

import (
	"context"
	"errors"
	"fmt"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/partnerloop/partnerloop/internal/domain"
	"github.com/partnerloop/partnerloop/internal/store"
)

var t0 = time.Date(2025, 3, 4, 5, 6, 7, 123456789, time.UTC)

func openT(t *testing.T, path string) *Store {
	t.Helper()
	s, err := Open(path)
	if err != nil {
		t.Fatalf("Open: %v", err)
	}
	t.Cleanup(func() { s.Close() })
	return s
}

func migrationCount(t *testing.T, s *Store) int {
	t.Helper()
	var n int
	if err := s.r.QueryRow(`SELECT COUNT(*) FROM schema_migrations`).Scan(&n); err != nil {
		t.Fatal(err)
	}
	return n
}

// The driver runs a connection's pragmas sorted by their text, so a value
// set twice is the one that sorts last: each pool must end up with its own.
func TestEachPoolHasItsOwnMmapAndCacheSize(t *testing.T) {
	s := openT(t, filepath.Join(t.TempDir(), "db.sqlite"))
	for _, c := range []struct {
		name       string
		p          *pool
		mmap, size int64
	}{
		{"writer", s.w, 268435456, -4096},
		{"reader", s.r, 0, -16384},
	} {
		var mmap, size int64
		if err := c.p.QueryRow(`PRAGMA mmap_size`).Scan(&mmap); err != nil {
			t.Fatal(err)
		}
		if err := c.p.QueryRow(`PRAGMA cache_size`).Scan(&size); err != nil {
			t.Fatal(err)
		}
		if mmap != c.mmap || size != c.size {
			t.Errorf("%s: mmap_size %d, cache_size %d; want %d, %d", c.name, mmap, size, c.mmap, c.size)
		}
	}
}

func TestReopenKeepsDataAndAppliesMigrationsOnce(t *testing.T) {
	ctx := context.Background()
	path := filepath.Join(t.TempDir(), "nested", "dir", "db.sqlite")
	s := openT(t, path)
	if got := migrationCount(t, s); got != len(migrations) {
		t.Fatalf("migrations applied = %d, want %d", got, len(migrations))
	}
	var mode string
	if err := s.w.QueryRow(`PRAGMA journal_mode`).Scan(&mode); err != nil || mode != "wal" {
		t.Fatalf("journal_mode = %q, %v", mode, err)
	}
	if err := s.Ping(ctx); err != nil {
		t.Fatal(err)
	}
	org := domain.Organization{ID: "org_1", Name: "Acme", CreatedAt: t0.In(time.FixedZone("X", 3600))}
	if err := s.CreateOrganization(ctx, org); err != nil {
		t.Fatal(err)
	}
	end := t0.Add(48 * time.Hour)
	prg := domain.Program{ID: "prg_1", OrgID: "org_1", Name: "P", Status: domain.ProgramActive,
		StartsAt: t0, EndsAt: &end, QualifyingEvents: []string{"signup"}, CreatedAt: t0, UpdatedAt: t0,
		RuleVersions: []domain.RuleVersion{{Version: 1, EffectiveFrom: t0}}}
	if err := s.CreateProgram(ctx, prg); err != nil {
		t.Fatal(err)
	}
	if err := s.Close(); err != nil {
		t.Fatal(err)
	}

	s2 := openT(t, path)
	if got := migrationCount(t, s2); got != len(migrations) {
		t.Fatalf("after reopen migrations = %d, want %d", got, len(migrations))
	}
	gotOrg, err := s2.GetOrganization(ctx, "org_1")
	if err != nil {
		t.Fatal(err)
	}
	if gotOrg != (domain.Organization{ID: "org_1", Name: "Acme", CreatedAt: t0}) {
		t.Fatalf("org = %+v", gotOrg)
	}
	gotPrg, err := s2.GetProgram(ctx, "org_1", "prg_1")
	if err != nil {
		t.Fatal(err)
	}
	if gotPrg.Name != "P" || gotPrg.StartsAt != t0 || *gotPrg.EndsAt != end || gotPrg.RuleVersions[0].EffectiveFrom != t0 {
		t.Fatalf("program = %+v", gotPrg)
	}
}

func TestProgramsRevisionsTenancyAndOutbox(t *testing.T) {
	ctx := context.Background()
	s := openT(t, filepath.Join(t.TempDir(), "db"))
	p := domain.Program{ID: "prg_1", OrgID: "org_a", Name: "one", CreatedAt: t0}
	if err := s.CreateProgram(ctx, p); err != nil {
		t.Fatal(err)
	}
	if err := s.CreateProgram(ctx, p); !errors.Is(err, store.ErrConflict) {
		t.Fatalf("duplicate id: %v", err)
	}
	if _, err := s.GetProgram(ctx, "org_b", "prg_1"); !errors.Is(err, store.ErrNotFound) {
		t.Fatalf("other org: %v", err)
	}
	p.Name = "two"
	if err := s.UpdateProgram(ctx, p); err != nil {
		t.Fatal(err)
	}
	got, _ := s.GetProgram(ctx, "org_a", "prg_1")
	if got.Revision != 1 || got.Name != "two" {
		t.Fatalf("after update: %+v", got)
	}
	if err := s.UpdateProgram(ctx, p); !errors.Is(err, store.ErrConflict) {
		t.Fatalf("stale update: %v", err)
	}
	other := p
	other.OrgID = "org_b"
	if err := s.UpdateProgram(ctx, other); !errors.Is(err, store.ErrNotFound) {
		t.Fatalf("other org update: %v", err)
	}
	ch, err := s.Changes(ctx, 0, 10)
	if err != nil {
		t.Fatal(err)
	}
	if len(ch) != 2 || ch[0].Op != "INSERT" || ch[1].Op != "MODIFY" || ch[1].OldImage == nil || ch[0].OldImage != nil {
		t.Fatalf("changes: %+v", ch)
	}
	if err := s.PruneChanges(ctx, ch[1].Seq); err != nil {
		t.Fatal(err)
	}
	if ch, _ := s.Changes(ctx, 0, 10); len(ch) != 0 {
		t.Fatalf("after prune: %+v", ch)
	}
}

func TestUsersHashesAndPagination(t *testing.T) {
	ctx := context.Background()
	s := openT(t, filepath.Join(t.TempDir(), "db"))
	for i := range 5 {
		u := domain.User{ID: fmt.Sprintf("usr_%02d", i), OrgID: "org_a", Email: fmt.Sprintf("U%d@Example.com", i),
			PasswordHash: "secret-hash", CreatedAt: t0}
		if err := s.CreateUser(ctx, u); err != nil {
			t.Fatal(err)
		}
	}
	if err := s.CreateUser(ctx, domain.User{ID: "usr_x", OrgID: "org_b", Email: "u1@example.com"}); !errors.Is(err, store.ErrConflict) {
		t.Fatalf("taken email: %v", err)
	}
	u, err := s.GetUserByEmail(ctx, " u3@EXAMPLE.com")
	if err != nil || u.ID != "usr_03" || u.PasswordHash != "secret-hash" {
		t.Fatalf("by email: %+v %v", u, err)
	}
	var ids []string
	cursor := ""
	for {
		page, next, err := s.ListUsers(ctx, "org_a", store.Page{Limit: 2, Cursor: cursor})
		if err != nil {
			t.Fatal(err)
		}
		for _, u := range page {
			ids = append(ids, u.ID)
		}
		if next == "" {
			break
		}
		cursor = next
	}
	if fmt.Sprint(ids) != "[usr_04 usr_03 usr_02 usr_01 usr_00]" {
		t.Fatalf("ids = %v", ids)
	}
	if _, _, err := s.ListUsers(ctx, "org_a", store.Page{Cursor: "not-a-cursor"}); !errors.Is(err, store.ErrBadCursor) {
		t.Fatalf("bad cursor: %v", err)
	}
	ch, _ := s.Changes(ctx, 0, 100)
	for _, c := range ch {
		if len(c.NewImage) == 0 || strings.Contains(string(c.NewImage), "secret-hash") {
			t.Fatalf("user image leaks or is empty: %s", c.NewImage)
		}
	}
}

func TestClicksAndConversions(t *testing.T) {
	ctx := context.Background()
	s := openT(t, filepath.Join(t.TempDir(), "db"))
	ref := domain.Referrer{ID: "rfr_1", OrgID: "org_a", ProgramID: "prg_1", Email: "a@x.io", Code: "jane"}
	if err := s.CreateReferrer(ctx, ref); err != nil {
		t.Fatal(err)
	}
	dup := ref
	dup.ID, dup.OrgID, dup.Code = "rfr_2", "org_b", "JANE"
	if err := s.CreateReferrer(ctx, dup); !errors.Is(err, store.ErrConflict) {
		t.Fatalf("code clash: %v", err)
	}
	click := func(id string, at time.Time) bool {
		t.Helper()
		ok, err := s.RecordClick(ctx, domain.Click{ID: id, OrgID: "org_a", ReferrerID: "rfr_1", Code: "Jane",
			VisitorHash: "v1", At: at}, store.ClickLimits{Window: time.Hour})
		if err != nil {
			t.Fatal(err)
		}
		return ok
	}
	if !click("clk_1", t0) || click("clk_2", t0.Add(59*time.Minute)) || !click("clk_3", t0.Add(time.Hour)) {
		t.Fatal("dedupe window not honoured")
	}
	r, err := s.GetReferrerByCode(ctx, "JANE")
	if err != nil || r.Clicks != 2 {
		t.Fatalf("referrer = %+v, %v", r, err)
	}
	clicks, _, err := s.ListClicks(ctx, "org_a", "rfr_1", store.Page{})
	if err != nil || len(clicks) != 2 || clicks[0].ID != "clk_3" || clicks[0].VisitorHash != "v1" {
		t.Fatalf("clicks = %+v, %v", clicks, err)
	}

	nr := &domain.Referral{ID: "rfl_1", OrgID: "org_a", ProgramID: "prg_1", ReferrerID: "rfr_1",
		Email: "b@x.io", Status: domain.ReferralPending, CreatedAt: t0}
	conv := domain.Conversion{ID: "cnv_1", OrgID: "org_a", ReferralID: "rfl_1", ProgramID: "prg_1",
		ExternalID: "ord-1", OccurredAt: t0.Add(time.Hour), CreatedAt: t0}
	if err := s.RecordConversion(ctx, conv, nr); err != nil {
		t.Fatal(err)
	}
	got, err := s.GetReferral(ctx, "org_a", "rfl_1")
	if err != nil || got.Status != domain.ReferralConverted || *got.ConvertedAt != conv.OccurredAt {
		t.Fatalf("referral = %+v, %v", got, err)
	}
	conv2 := conv
	conv2.ID = "cnv_2"
	nr2 := &domain.Referral{ID: "rfl_2", OrgID: "org_a", ProgramID: "prg_1", Email: "c@x.io", Status: domain.ReferralPending}
	if err := s.RecordConversion(ctx, conv2, nr2); !errors.Is(err, store.ErrConflict) {
		t.Fatalf("duplicate externalId: %v", err)
	}
	if _, err := s.GetReferral(ctx, "org_a", "rfl_2"); !errors.Is(err, store.ErrNotFound) {
		t.Fatalf("referral of a refused conversion was written: %v", err)
	}
	list, _, err := s.ListReferrals(ctx, "org_a", store.ReferralFilter{Status: domain.ReferralConverted}, store.Page{})
	if err != nil || len(list) != 1 {
		t.Fatalf("filtered referrals = %+v, %v", list, err)
	}
}

// GetReferral keeps converted referrals only: a pending one is read again
// (a conversion converts it), a converted one never changes and is answered
// from memory.
func TestGetReferralKeepsConvertedReferralsOnly(t *testing.T) {
	ctx := context.Background()
	s := openT(t, filepath.Join(t.TempDir(), "db"))
	pending := domain.Referral{ID: "rfl_p", OrgID: "org_a", ProgramID: "prg_1", ReferrerID: "rfr_1",
		Email: "p@x.io", Status: domain.ReferralPending, CreatedAt: t0}
	if err := s.RecordConversion(ctx, domain.Conversion{ID: "cnv_0", OrgID: "org_a", ReferralID: "rfl_none", ProgramID: "prg_1",
		ExternalID: "ord-0", OccurredAt: t0, CreatedAt: t0}, &pending); err != nil {
		t.Fatal(err)
	}
	conv := domain.Conversion{ID: "cnv_1", OrgID: "org_a", ReferralID: "rfl_p", ProgramID: "prg_1",
		ExternalID: "ord-1", OccurredAt: t0.Add(time.Hour), CreatedAt: t0}
	if got, err := s.GetReferral(ctx, "org_a", "rfl_p"); err != nil || got.Status != domain.ReferralPending {
		t.Fatalf("pending referral = %+v, %v", got, err)
	}
	if err := s.RecordConversion(ctx, conv, nil); err != nil {
		t.Fatal(err)
	}
	got, err := s.GetReferral(ctx, "org_a", "rfl_p")
	if err != nil || got.Status != domain.ReferralConverted || !got.ConvertedAt.Equal(conv.OccurredAt) {
		t.Fatalf("referral after its conversion = %+v, %v (a pending referral was kept)", got, err)
	}
	// Answered from memory from now on, even when the file changes under
	// it (which nothing in the store does to a converted referral):
	got.ConvertedAt = nil // the caller's copy
	if _, err := s.w.Exec(`UPDATE referrals SET data = json_set(data, '$.name', 'changed') WHERE id = 'rfl_p'`); err != nil {
		t.Fatal(err)
	}
	again, err := s.GetReferral(ctx, "org_a", "rfl_p")
	if err != nil || again.Name != "" || again.ConvertedAt == nil || !again.ConvertedAt.Equal(conv.OccurredAt) {
		t.Fatalf("converted referral read again = %+v, %v", again, err)
	}
	if _, err := s.GetReferral(ctx, "org_b", "rfl_p"); !errors.Is(err, store.ErrNotFound) {
		t.Fatalf("another organization's referral: %v", err)
	}
	// Another conversion of it (which skips reading its status) leaves it
	// as it was.
	later := conv
	later.ID, later.ExternalID, later.OccurredAt = "cnv_2", "ord-2", t0.Add(2*time.Hour)
	if err := s.RecordConversion(ctx, later, nil); err != nil {
		t.Fatal(err)
	}
	var status, convertedAt string
	if err := s.r.QueryRow(`SELECT status, converted_at FROM referrals WHERE id = 'rfl_p'`).Scan(&status, &convertedAt); err != nil ||
		status != domain.ReferralConverted || convertedAt != formatTime(conv.OccurredAt) {
		t.Fatalf("referral after another conversion: %s at %s, %v", status, convertedAt, err)
	}
	// A converted referral cannot be expired.
	if _, err := s.ExpireReferral(ctx, "org_a", "rfl_p", t0.Add(48*time.Hour)); !errors.Is(err, store.ErrConflict) {
		t.Fatalf("expire a converted referral: %v", err)
	}
}

// Concurrent writers queue on the single writer connection instead of
// failing with SQLITE_BUSY, while readers keep reading.
func TestConcurrentWrites(t *testing.T) {
	ctx := context.Background()
	s := openT(t, filepath.Join(t.TempDir(), "db"))
	var wg sync.WaitGroup
	errs := make(chan error, 100)
	for i := range 50 {
		wg.Add(2)
		go func() {
			defer wg.Done()
			errs <- s.CreateProgram(ctx, domain.Program{ID: fmt.Sprintf("prg_%03d", i), OrgID: "org_a"})
		}()
		go func() {
			defer wg.Done()
			_, _, err := s.ListPrograms(ctx, "org_a", store.Page{Limit: 10})
			errs <- err
		}()
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		if err != nil {
			t.Fatal(err)
		}
	}
	all, _, _ := s.ListPrograms(ctx, "org_a", store.Page{Limit: 200})
	if len(all) != 50 {
		t.Fatalf("programs = %d", len(all))
	}
}

// A day's salt is deleted once it has expired, so visitor hashes made with
// it can no longer be linked to an address, even by someone holding the
// database file.
func TestDaySaltIsDeletedAfterItExpires(t *testing.T) {
	s := openT(t, filepath.Join(t.TempDir(), "t.db"))
	ctx := t.Context()
	day := time.Date(2026, 3, 15, 0, 0, 0, 0, time.UTC)
	salt := func(d time.Time, candidate string) string {
		t.Helper()
		b, err := s.DaySalt(ctx, d, []byte(candidate), d.Add(48*time.Hour))
		if err != nil {
			t.Fatal(err)
		}
		return string(b)
	}
	salt(day, "first")
	salt(day.Add(24*time.Hour), "next day") // still needs the first: kept
	if got := salt(day, "again"); got != "first" {
		t.Fatalf("the day's salt while it is kept = %q, want %q", got, "first")
	}
	salt(day.Add(48*time.Hour), "two days on") // the first has expired
	var n int
	if err := s.r.QueryRowContext(ctx, `SELECT COUNT(*) FROM day_salts WHERE salt = ?`, []byte("first")).Scan(&n); err != nil {
		t.Fatal(err)
	}
	if n != 0 {
		t.Fatal("an expired salt is still stored")
	}
}
