package sqlite

import (
	"context"
	"errors"
	"time"

	"github.com/partnerloop/partnerloop/internal/domain"
	"github.com/partnerloop/partnerloop/internal/store"
)

// Invitations: one row per invitation keyed by its token hash, the record
// as JSON in data. Every change runs in one write transaction on the single
// writer, so reading a row's state and changing it there is a
// compare-and-set.

var _ store.Invitations = (*Store)(nil)

func normInvitation(i domain.Invitation) domain.Invitation {
	i.CreatedAt, i.ExpiresAt = utc(i.CreatedAt), utc(i.ExpiresAt)
	i.UsedAt, i.RevokedAt = utcPtr(i.UsedAt), utcPtr(i.RevokedAt)
	return i
}

func scanInvitation(sc rowScanner) (domain.Invitation, error) {
	var data, hash string
	var i domain.Invitation
	if err := sc.Scan(&data, &hash); err != nil {
		return i, err
	}
	if err := unmarshal(data, &i); err != nil {
		return i, err
	}
	i.TokenHash = hash
	return i, nil
}

const invitationCols = `data, token_hash`

// IssueInvitation stores inv, revoking the user's open invitation and
// re-enabling a disabled user in the same transaction.
func (s *Store) IssueInvitation(ctx context.Context, inv domain.Invitation) error {
	inv = normInvitation(inv)
	return s.write(ctx, func(tx *wtx) error {
		u, err := getOne(ctx, tx, scanUser, `SELECT `+userCols+` FROM users WHERE org_id = ? AND id = ?`, inv.OrgID, inv.UserID)
		if err != nil {
			return err
		}
		if prev, err := latestInvitation(ctx, tx, inv.OrgID, inv.UserID); err == nil && prev.Open() {
			at := inv.CreatedAt
			prev.RevokedAt = &at
			if err := putInvitation(ctx, tx, prev, false); err != nil {
				return err
			}
		} else if err != nil && !errors.Is(err, store.ErrNotFound) {
			return err
		}
		if err := putInvitation(ctx, tx, inv, true); err != nil {
			return err
		}
		if u.Status == domain.UserDisabled {
			u.Status, u.UpdatedAt = domain.UserInvited, inv.CreatedAt
			return updateUser(ctx, tx, u)
		}
		return nil
	})
}

// putInvitation inserts (create) or rewrites an invitation row.
func putInvitation(ctx context.Context, tx *wtx, inv domain.Invitation, create bool) error {
	data, err := marshal(inv)
	if err != nil {
		return err
	}
	if create {
		_, err = tx.ExecContext(ctx, `INSERT INTO invitations (token_hash, id, org_id, user_id, data) VALUES (?, ?, ?, ?, ?)`,
			inv.TokenHash, inv.ID, inv.OrgID, inv.UserID, data)
		return err
	}
	res, err := tx.ExecContext(ctx, `UPDATE invitations SET data = ? WHERE token_hash = ?`, data, inv.TokenHash)
	if err != nil {
		return err
	}
	return mustAffect(res)
}

// updateUser rewrites a user's record and password hash, with its change.
func updateUser(ctx context.Context, tx *wtx, u domain.User) error {
	u = normUser(u)
	data, err := marshal(u)
	if err != nil {
		return err
	}
	var old string
	if err := tx.QueryRowContext(ctx, `SELECT data FROM users WHERE org_id = ? AND id = ?`, u.OrgID, u.ID).Scan(&old); err != nil {
		return err
	}
	res, err := tx.ExecContext(ctx, `UPDATE users SET password_hash = ?, data = ? WHERE org_id = ? AND id = ?`,
		u.PasswordHash, data, u.OrgID, u.ID)
	if err != nil {
		return err
	}
	if err := mustAffect(res); err != nil {
		return err
	}
	return appendChange(ctx, tx, entityUser, opModify, u.OrgID, u.ID, old, data)
}

func latestInvitation(ctx context.Context, q querier, orgID, userID string) (domain.Invitation, error) {
	return getOne(ctx, q, scanInvitation,
		`SELECT `+invitationCols+` FROM invitations WHERE org_id = ? AND user_id = ? ORDER BY id DESC LIMIT 1`, orgID, userID)
}

// GetInvitation returns the invitation whose token hashes to tokenHash.
func (s *Store) GetInvitation(ctx context.Context, tokenHash string) (domain.Invitation, error) {
	return getOne(ctx, s.r, scanInvitation, `SELECT `+invitationCols+` FROM invitations WHERE token_hash = ?`, tokenHash)
}

// LatestInvitation returns the user's most recent invitation (ids sort by
// creation).
func (s *Store) LatestInvitation(ctx context.Context, orgID, userID string) (domain.Invitation, error) {
	return latestInvitation(ctx, s.r, orgID, userID)
}

// AcceptInvitation marks an open invitation used and activates its user
// with passwordHash, in one transaction.
func (s *Store) AcceptInvitation(ctx context.Context, tokenHash, passwordHash string, at time.Time) (domain.User, error) {
	var u domain.User
	err := s.write(ctx, func(tx *wtx) error {
		inv, err := getOne(ctx, tx, scanInvitation, `SELECT `+invitationCols+` FROM invitations WHERE token_hash = ?`, tokenHash)
		if err != nil {
			return err
		}
		if !inv.Open() {
			return store.ErrConflict
		}
		at := at.UTC()
		inv.UsedAt = &at
		if err := putInvitation(ctx, tx, inv, false); err != nil {
			return err
		}
		u, err = getOne(ctx, tx, scanUser, `SELECT `+userCols+` FROM users WHERE org_id = ? AND id = ?`, inv.OrgID, inv.UserID)
		if err != nil {
			return err
		}
		u.PasswordHash, u.Status, u.UpdatedAt = passwordHash, domain.UserActive, at
		return updateUser(ctx, tx, u)
	})
	return normUser(u), err
}

// DisableUser revokes the user's open invitation and disables the user in
// one transaction.
func (s *Store) DisableUser(ctx context.Context, orgID, userID string, at time.Time) (domain.User, error) {
	var u domain.User
	err := s.write(ctx, func(tx *wtx) error {
		var err error
		u, err = getOne(ctx, tx, scanUser, `SELECT `+userCols+` FROM users WHERE org_id = ? AND id = ?`, orgID, userID)
		if err != nil {
			return err
		}
		at := at.UTC()
		if prev, err := latestInvitation(ctx, tx, orgID, userID); err == nil && prev.Open() {
			prev.RevokedAt = &at
			if err := putInvitation(ctx, tx, prev, false); err != nil {
				return err
			}
		} else if err != nil && !errors.Is(err, store.ErrNotFound) {
			return err
		}
		if err := keepAnAdmin(ctx, tx, u); err != nil {
			return err
		}
		u.Status, u.UpdatedAt = domain.UserDisabled, at
		return updateUser(ctx, tx, u)
	})
	return normUser(u), err
}

// keepAnAdmin refuses (store.ErrLastAdmin) to take away u's admin rights
// when u is the organization's only active admin. It runs in the write
// transaction that changes u, and SQLite serializes write transactions, so
// no other demotion can come between the count and the change.
func keepAnAdmin(ctx context.Context, tx *wtx, u domain.User) error {
	if u.Role != domain.RoleAdmin || u.Status != domain.UserActive {
		return nil
	}
	var others int
	err := tx.QueryRowContext(ctx, `SELECT COUNT(*) FROM users WHERE org_id = ? AND id <> ?
		AND json_extract(data, '$.role') = ? AND json_extract(data, '$.status') = ?`,
		u.OrgID, u.ID, string(domain.RoleAdmin), domain.UserActive).Scan(&others)
	if err != nil {
		return err
	}
	if others == 0 {
		return store.ErrLastAdmin
	}
	return nil
}

// SetUserRole gives the user role.
func (s *Store) SetUserRole(ctx context.Context, orgID, userID string, role domain.Role, at time.Time) (domain.User, error) {
	var u domain.User
	err := s.write(ctx, func(tx *wtx) error {
		var err error
		u, err = getOne(ctx, tx, scanUser, `SELECT `+userCols+` FROM users WHERE org_id = ? AND id = ?`, orgID, userID)
		if err != nil {
			return err
		}
		if role != domain.RoleAdmin {
			if err := keepAnAdmin(ctx, tx, u); err != nil {
				return err
			}
		}
		u.Role, u.UpdatedAt = role, at.UTC()
		return updateUser(ctx, tx, u)
	})
	return normUser(u), err
}

// Counters: one row per key, incremented by an upsert. Rows that expired
// a day before the counter being written are deleted on the way: the
// caller's clock (not this process's) says what is old, and no window is
// longer than a day.

var _ store.Counters = (*Store)(nil)

// IncrementCounter adds one to key and returns the new count.
func (s *Store) IncrementCounter(ctx context.Context, key string, expiresAt time.Time) (int64, error) {
	var n int64
	err := s.write(ctx, func(tx *wtx) error {
		old := formatTime(expiresAt.Add(-24 * time.Hour))
		if _, err := tx.ExecContext(ctx, `DELETE FROM counters WHERE expires_at < ?`, old); err != nil {
			return err
		}
		return tx.QueryRowContext(ctx, `INSERT INTO counters (key, count, expires_at) VALUES (?, 1, ?)
ON CONFLICT (key) DO UPDATE SET count = count + 1 RETURNING count`, key, formatTime(expiresAt)).Scan(&n)
	})
	return n, err
}
