package dynamo

import (
	"context"

	"github.com/partnerloop/partnerloop/internal/domain"
	"github.com/partnerloop/partnerloop/internal/store"
)

// Programs live in the organization's partition; the revision attribute is
// the optimistic-locking counter.

func programItem(p domain.Program) (item, error) {
	return record(p, typeProgram, programKey(p.OrgID, p.ID))
}

// CreateProgram stores p at its given revision; an id already taken is
// store.ErrConflict.
func (s *Store) CreateProgram(ctx context.Context, p domain.Program) error {
	ctx, done := s.op(ctx, "CreateProgram")
	defer done()
	it, err := programItem(p)
	if err != nil {
		return err
	}
	return s.putNew(ctx, it)
}

// GetProgram returns the organization's program with id.
func (s *Store) GetProgram(ctx context.Context, orgID, id string) (domain.Program, error) {
	ctx, done := s.op(ctx, "GetProgram")
	defer done()
	it, err := s.getItem(ctx, programKey(orgID, id))
	if err != nil {
		return domain.Program{}, err
	}
	return decodeAs[domain.Program](it)
}

// UpdateProgram replaces the program with p at Revision p.Revision+1 if the
// stored revision is still p.Revision (a conditional PutItem):
// store.ErrNotFound when the organization has no such program (the failed
// condition returns no old item), store.ErrConflict when it changed since p
// was read.
func (s *Store) UpdateProgram(ctx context.Context, p domain.Program) error {
	ctx, done := s.op(ctx, "UpdateProgram")
	defer done()
	expected := p.Revision
	p.Revision++
	it, err := programItem(p)
	if err != nil {
		return err
	}
	return s.putIf(ctx, it, "#revision = :expected",
		map[string]string{"#revision": "revision"}, item{":expected": num(expected)}, store.ErrConflict)
}

// ListPrograms lists the organization's programs, newest first.
func (s *Store) ListPrograms(ctx context.Context, orgID string, p store.Page) ([]domain.Program, string, error) {
	ctx, done := s.op(ctx, "ListPrograms")
	defer done()
	return page(ctx, s, one(orgID, "", orgPK(orgID), skProgram), p, decodeAs[domain.Program])
}
