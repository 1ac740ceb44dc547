package sqlite

import (
	"errors"
	"fmt"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/partnerloop/partnerloop/internal/domain"
	"github.com/partnerloop/partnerloop/internal/store"
)

// TestMigrationKeysConversionsByOrgAndID: the migration that keys the
// conversions (org_id, id) keeps every conversion of an existing file —
// ID, data, externalId — readable the ways the store reads them, and
// drops the two indexes the new key replaces.
func TestMigrationKeysConversionsByOrgAndID(t *testing.T) {
	n := slices.IndexFunc(migrations, func(m string) bool { return strings.Contains(m, "CREATE TABLE conversions_keyed") })
	if n < 0 {
		t.Fatal("no migration keys the conversions")
	}
	at := time.Date(2026, 3, 10, 12, 0, 0, 0, time.UTC)
	var old []domain.Conversion
	var rows []string
	for i, org := range []string{"org_a", "org_a", "org_b"} {
		c := normConversion(domain.Conversion{ID: fmt.Sprintf("cnv_%d", i+1), OrgID: org, ProgramID: "prg_1", ReferralID: "rfl_1",
			Event: domain.EventPurchase, Amount: &domain.Money{Amount: 4999, Currency: "USD"}, ExternalID: fmt.Sprintf("ord-%d", i+1),
			OccurredAt: at.Add(time.Duration(i) * time.Minute), CreatedAt: at})
		data, err := marshal(c)
		if err != nil {
			t.Fatal(err)
		}
		old = append(old, c)
		rows = append(rows, fmt.Sprintf(`('%s', '%s', 'prg_1', 'rfl_1', '%s', '%s', '%s')`, c.ID, org, c.ExternalID, formatTime(c.OccurredAt), data))
	}
	s := openMigratedFrom(t, n, `INSERT INTO conversions (id, org_id, program_id, referral_id, external_id, occurred_at, data) VALUES `+
		strings.Join(rows, ", "))
	ctx := t.Context()
	for _, c := range old {
		got, err := s.GetConversion(ctx, c.OrgID, c.ID)
		if err != nil || got.ID != c.ID || got.Amount == nil || got.Amount.Amount != 4999 || !got.OccurredAt.Equal(c.OccurredAt) {
			t.Errorf("GetConversion(%s, %s) = %+v, %v", c.OrgID, c.ID, got, err)
		}
		if got, err := s.GetConversionByExternalID(ctx, c.OrgID, c.ExternalID); err != nil || got.ID != c.ID {
			t.Errorf("GetConversionByExternalID(%s, %s) = %+v, %v", c.OrgID, c.ExternalID, got, err)
		}
	}
	if _, err := s.GetConversion(ctx, "org_b", "cnv_1"); !errors.Is(err, store.ErrNotFound) {
		t.Errorf("another organization's conversion: %v, want not found", err)
	}
	list, _, err := s.ListConversions(ctx, "org_a", store.ConversionFilter{Match: store.Match{From: at, To: at.Add(time.Hour)}}, store.Page{})
	if err != nil || len(list) != 2 || list[0].ID != "cnv_2" || list[1].ID != "cnv_1" {
		t.Errorf("ListConversions(org_a, the hour) = %+v, %v", list, err)
	}
	// The external ID stays taken; a new conversion is recorded.
	dup := old[0]
	dup.ID = "cnv_9"
	if err := s.RecordConversion(ctx, dup, nil); !errors.Is(err, store.ErrConflict) {
		t.Errorf("a taken externalId: %v, want a conflict", err)
	}
	dup.ExternalID = "ord-9"
	if err := s.RecordConversion(ctx, dup, nil); err != nil {
		t.Fatal(err)
	}
	if got, err := s.GetConversions(ctx, "org_a", []string{"cnv_1", "cnv_9", "cnv_3"}); err != nil || len(got) != 2 {
		t.Errorf("GetConversions = %v, %v; want cnv_1 and cnv_9", got, err)
	}
	var indexes []string
	if err := func() error {
		r, err := s.r.QueryContext(ctx, `SELECT name FROM pragma_index_list('conversions') ORDER BY name`)
		if err != nil {
			return err
		}
		defer r.Close()
		for r.Next() {
			var name string
			if err := r.Scan(&name); err != nil {
				return err
			}
			indexes = append(indexes, name)
		}
		return r.Err()
	}(); err != nil {
		t.Fatal(err)
	}
	want := []string{"conversions_external_id", "conversions_occurred", "conversions_program", "conversions_referral", "sqlite_autoindex_conversions_1"}
	if !slices.Equal(indexes, want) {
		t.Errorf("indexes of conversions = %q, want %q", indexes, want)
	}
}
