package sqlite

import (
	"context"

	"github.com/partnerloop/partnerloop/internal/domain"
	"github.com/partnerloop/partnerloop/internal/store"
)

// Programs. The revision column is the optimistic-locking counter; the JSON
// carries the same value.

const programCols = `data, revision`

func scanProgram(sc rowScanner) (domain.Program, error) {
	return scanRevisioned(sc, func(v *domain.Program, rev int64) { v.Revision = rev })
}

// CreateProgram stores p at its given revision; an id already taken is
// store.ErrConflict.
func (s *Store) CreateProgram(ctx context.Context, p domain.Program) error {
	p = normProgram(p)
	data, err := marshal(p)
	if err != nil {
		return err
	}
	return s.write(ctx, func(tx *wtx) error {
		return insertRevisioned(ctx, tx, "programs", entityProgram, p.OrgID, p.ID, p.Revision, data)
	})
}

// GetProgram returns the organization's program with id.
func (s *Store) GetProgram(ctx context.Context, orgID, id string) (domain.Program, error) {
	return getOne(ctx, s.r, scanProgram, `SELECT `+programCols+` FROM programs WHERE org_id = ? AND id = ?`, orgID, id)
}

// UpdateProgram stores p with Revision p.Revision+1 if the stored revision
// is still p.Revision: store.ErrNotFound when the organization has no such
// program, store.ErrConflict when it changed since p was read.
func (s *Store) UpdateProgram(ctx context.Context, p domain.Program) error {
	p = normProgram(p)
	expected := p.Revision
	p.Revision = expected + 1
	data, err := marshal(p)
	if err != nil {
		return err
	}
	return s.write(ctx, func(tx *wtx) error {
		return updateRevisioned(ctx, tx, "programs", entityProgram, p.OrgID, p.ID, expected, data)
	})
}

// ListPrograms lists the organization's programs, newest first.
func (s *Store) ListPrograms(ctx context.Context, orgID string, p store.Page) ([]domain.Program, string, error) {
	return listPage(ctx, s.r, programCols, "programs", "org_id = ?", []any{orgID}, p, scanProgram,
		func(p domain.Program) string { return p.ID })
}
