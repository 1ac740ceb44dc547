package sqlite

import (
	"context"
	"time"

	"github.com/partnerloop/partnerloop/internal/store"
)

// Entities and operations written to the outbox.
const (
	entityUser       = "user"
	entityProgram    = "program"
	entityReferrer   = "referrer"
	entityReferral   = "referral"
	entityConversion = "conversion"
	entityPartner    = "partner"
	entityTier       = "partner_tier"

	opInsert = "INSERT"
	opModify = "MODIFY"
	opRemove = "REMOVE"
)

// defaultChangesLimit is used when Changes is asked for a non-positive limit.
const defaultChangesLimit = 100

// appendChange records one change in the outbox inside the transaction that
// makes it. Images are the records' stored JSON ("" for none), which never
// holds a password, token or key hash (those fields are json:"-").
func appendChange(ctx context.Context, tx *wtx, entity, op, orgID, id, oldImage, newImage string) error {
	_, err := tx.ExecContext(ctx, outboxInsert+outboxRow,
		entity, op, orgID, id, nullable(oldImage), nullable(newImage), formatTime(time.Now()))
	return err
}

// outboxInsert and outboxRow make the outbox's INSERT, of one or (with
// insertRows) many rows.
const (
	outboxInsert = `INSERT INTO outbox (entity, op, org_id, id, old_image, new_image, at) VALUES `
	outboxRow    = `(?, ?, ?, ?, ?, ?, ?)`
)

func nullable(s string) any {
	if s == "" {
		return nil
	}
	return s
}

// Changes returns up to limit changes with Seq > after, oldest first.
func (s *Store) Changes(ctx context.Context, after int64, limit int) ([]store.Change, error) {
	if limit <= 0 {
		limit = defaultChangesLimit
	}
	out, err := readChanges(ctx, s.r, `seq > ?`, []any{after}, limit)
	return out, mapErr(err)
}

// PruneChanges drops changes with Seq <= through, but never one the
// analytics rollup has not read yet (once it has started: its cursor is in
// analytics_feed). The AUTOINCREMENT keeps sequence numbers growing even
// when the outbox is emptied.
func (s *Store) PruneChanges(ctx context.Context, through int64) error {
	return s.write(ctx, func(tx *wtx) error {
		_, err := tx.ExecContext(ctx, `DELETE FROM outbox WHERE seq <= MIN(?, COALESCE((SELECT cursor FROM analytics_feed WHERE id = 1), ?))`,
			through, through)
		return err
	})
}
