package sqlite

import (
	"context"
	"database/sql"
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
func appendChange(ctx context.Context, tx *sql.Tx, entity, op, orgID, id, oldImage, newImage string) error {
	_, err := tx.ExecContext(ctx,
		`INSERT INTO outbox (entity, op, org_id, id, old_image, new_image, at) VALUES (?, ?, ?, ?, ?, ?, ?)`,
		entity, op, orgID, id, nullable(oldImage), nullable(newImage), formatTime(time.Now()))
	return err
}

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
	rows, err := s.r.QueryContext(ctx,
		`SELECT seq, entity, op, org_id, id, old_image, new_image, at FROM outbox WHERE seq > ? ORDER BY seq LIMIT ?`,
		after, limit)
	if err != nil {
		return nil, mapErr(err)
	}
	defer rows.Close()
	var out []store.Change
	for rows.Next() {
		var (
			c        store.Change
			old, neu sql.NullString
			at       string
		)
		if err := rows.Scan(&c.Seq, &c.Entity, &c.Op, &c.OrgID, &c.ID, &old, &neu, &at); err != nil {
			return nil, mapErr(err)
		}
		if old.Valid {
			c.OldImage = []byte(old.String)
		}
		if neu.Valid {
			c.NewImage = []byte(neu.String)
		}
		if c.At, err = parseTime(at); err != nil {
			return nil, err
		}
		out = append(out, c)
	}
	if err := rows.Err(); err != nil {
		return nil, mapErr(err)
	}
	return out, nil
}

// PruneChanges drops changes with Seq <= through, but never one the
// analytics rollup has not read yet (once it has started: its cursor is in
// analytics_feed). The AUTOINCREMENT keeps sequence numbers growing even
// when the outbox is emptied.
func (s *Store) PruneChanges(ctx context.Context, through int64) error {
	return s.write(ctx, func(tx *sql.Tx) error {
		_, err := tx.ExecContext(ctx, `DELETE FROM outbox WHERE seq <= MIN(?, COALESCE((SELECT cursor FROM analytics_feed WHERE id = 1), ?))`,
			through, through)
		return err
	})
}
