package sqlite

import (
	"context"
	"strings"

	"github.com/partnerloop/partnerloop/internal/store"
)

// column is a lookup column stored beside a record's JSON data (names come
// from this package, never from input).
type column struct {
	name  string
	value any
}

// insertRevisioned stores a record kept as (id, org_id, revision, data,
// extra columns…) and logs it in the outbox; an id or unique value already
// taken is store.ErrConflict (through mapErr).
func insertRevisioned(ctx context.Context, tx *wtx, table, entity, orgID, id string, revision int64, data string, extra ...column) error {
	names := []string{"id", "org_id", "revision", "data"}
	args := []any{id, orgID, revision, data}
	for _, c := range extra {
		names = append(names, c.name)
		args = append(args, c.value)
	}
	q := `INSERT INTO ` + table + ` (` + strings.Join(names, ", ") + `) VALUES (?` + strings.Repeat(", ?", len(names)-1) + `)`
	if _, err := tx.ExecContext(ctx, q, args...); err != nil {
		return err
	}
	return appendChange(ctx, tx, entity, opInsert, orgID, id, "", data)
}

// updateRevisioned stores data (and the extra columns) with revision+1 if
// the stored revision is still expected, and logs the change:
// store.ErrNotFound when the organization has no such record,
// store.ErrConflict when it changed since it was read.
func updateRevisioned(ctx context.Context, tx *wtx, table, entity, orgID, id string, expected int64, data string, extra ...column) error {
	var old string
	if err := tx.QueryRowContext(ctx, `SELECT data FROM `+table+` WHERE org_id = ? AND id = ?`, orgID, id).Scan(&old); err != nil {
		return err // no row: ErrNotFound
	}
	set := "data = ?, revision = revision + 1"
	args := []any{data}
	for _, c := range extra {
		set += ", " + c.name + " = ?"
		args = append(args, c.value)
	}
	res, err := tx.ExecContext(ctx, `UPDATE `+table+` SET `+set+` WHERE org_id = ? AND id = ? AND revision = ?`,
		append(args, orgID, id, expected)...)
	if err != nil {
		return err // a unique value taken: ErrConflict
	}
	n, err := res.RowsAffected()
	if err != nil {
		return err
	}
	if n == 0 {
		return store.ErrConflict // the row exists (read above) at another revision
	}
	return appendChange(ctx, tx, entity, opModify, orgID, id, old, data)
}

// scanRevisioned reads a (data, revision) row into a T: the record's JSON
// and the revision kept beside it in its own column (the compare-and-set
// guard), which setRevision puts on the record.
func scanRevisioned[T any](sc rowScanner, setRevision func(*T, int64)) (T, error) {
	var data string
	var rev int64
	var v T
	if err := sc.Scan(&data, &rev); err != nil {
		return v, err
	}
	if err := unmarshal(data, &v); err != nil {
		return v, err
	}
	setRevision(&v, rev)
	return v, nil
}
