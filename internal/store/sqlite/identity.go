package sqlite

import (
	"context"

	"github.com/partnerloop/partnerloop/internal/domain"
	"github.com/partnerloop/partnerloop/internal/store"
)

// Organizations.

func scanOrg(sc rowScanner) (domain.Organization, error) {
	var data string
	var o domain.Organization
	if err := sc.Scan(&data); err != nil {
		return o, err
	}
	return o, unmarshal(data, &o)
}

// CreateOrganization stores o; an id already taken is store.ErrConflict.
func (s *Store) CreateOrganization(ctx context.Context, o domain.Organization) error {
	o = normOrg(o)
	data, err := marshal(o)
	if err != nil {
		return err
	}
	return s.write(ctx, func(tx *wtx) error {
		_, err := tx.ExecContext(ctx, `INSERT INTO organizations (id, created_at, revision, data) VALUES (?, ?, ?, ?)`,
			o.ID, formatTime(o.CreatedAt), o.Revision, data)
		return err
	})
}

// UpdateOrganization stores o if the stored revision is still o.Revision,
// with Revision+1; else store.ErrConflict (store.ErrNotFound without it).
func (s *Store) UpdateOrganization(ctx context.Context, o domain.Organization) error {
	o = normOrg(o)
	expected := o.Revision
	o.Revision++
	data, err := marshal(o)
	if err != nil {
		return err
	}
	return s.write(ctx, func(tx *wtx) error {
		res, err := tx.ExecContext(ctx, `UPDATE organizations SET data = ?, revision = revision + 1 WHERE id = ? AND revision = ?`,
			data, o.ID, expected)
		if err != nil {
			return err
		}
		if n, err := res.RowsAffected(); err != nil || n == 1 {
			return err
		}
		var one int
		if err := tx.QueryRowContext(ctx, `SELECT 1 FROM organizations WHERE id = ?`, o.ID).Scan(&one); err != nil {
			return err // ErrNotFound
		}
		return store.ErrConflict
	})
}

// GetOrganization returns the organization with id.
func (s *Store) GetOrganization(ctx context.Context, id string) (domain.Organization, error) {
	return getOne(ctx, s.r, scanOrg, `SELECT data FROM organizations WHERE id = ?`, id)
}

// ListOrganizations lists every organization, newest first (by id).
func (s *Store) ListOrganizations(ctx context.Context, p store.Page) ([]domain.Organization, string, error) {
	return listPage(ctx, s.r, "data", "organizations", "1 = 1", nil, p, scanOrg,
		func(o domain.Organization) string { return o.ID })
}

// Users. The email column holds the normalized address, unique across the
// installation; the password hash has its own column (it is not in JSON).

const userCols = `data, password_hash`

func scanUser(sc rowScanner) (domain.User, error) {
	var data, hash string
	var u domain.User
	if err := sc.Scan(&data, &hash); err != nil {
		return u, err
	}
	if err := unmarshal(data, &u); err != nil {
		return u, err
	}
	u.PasswordHash = hash
	return u, nil
}

// CreateUser stores u; an email taken anywhere in the installation (or an id
// taken) is store.ErrConflict.
func (s *Store) CreateUser(ctx context.Context, u domain.User) error {
	u = normUser(u)
	data, err := marshal(u)
	if err != nil {
		return err
	}
	return s.write(ctx, func(tx *wtx) error {
		if _, err := tx.ExecContext(ctx,
			`INSERT INTO users (id, org_id, email, password_hash, data) VALUES (?, ?, ?, ?, ?)`,
			u.ID, u.OrgID, domain.NormalizeEmail(u.Email), u.PasswordHash, data); err != nil {
			return err
		}
		return appendChange(ctx, tx, entityUser, opInsert, u.OrgID, u.ID, "", data)
	})
}

// GetUser returns the organization's user with id.
func (s *Store) GetUser(ctx context.Context, orgID, id string) (domain.User, error) {
	return getOne(ctx, s.r, scanUser, `SELECT `+userCols+` FROM users WHERE org_id = ? AND id = ?`, orgID, id)
}

// GetUserByEmail looks the address up across the installation, ignoring
// case and surrounding spaces.
func (s *Store) GetUserByEmail(ctx context.Context, email string) (domain.User, error) {
	return getOne(ctx, s.r, scanUser, `SELECT `+userCols+` FROM users WHERE email = ?`, domain.NormalizeEmail(email))
}

// ListUsers lists the organization's users, newest first.
func (s *Store) ListUsers(ctx context.Context, orgID string, p store.Page) ([]domain.User, string, error) {
	return listPage(ctx, s.r, userCols, "users", "org_id = ?", []any{orgID}, p, scanUser,
		func(u domain.User) string { return u.ID })
}

// Sessions, keyed by the hash of their token (its own column).

func scanSession(sc rowScanner) (domain.Session, error) {
	var data, hash string
	var ss domain.Session
	if err := sc.Scan(&data, &hash); err != nil {
		return ss, err
	}
	if err := unmarshal(data, &ss); err != nil {
		return ss, err
	}
	ss.TokenHash = hash
	return ss, nil
}

// CreateSession stores ss; a token hash already stored is store.ErrConflict.
func (s *Store) CreateSession(ctx context.Context, ss domain.Session) error {
	ss = normSession(ss)
	data, err := marshal(ss)
	if err != nil {
		return err
	}
	return s.write(ctx, func(tx *wtx) error {
		_, err := tx.ExecContext(ctx,
			`INSERT INTO sessions (token_hash, org_id, user_id, expires_at, data) VALUES (?, ?, ?, ?, ?)`,
			ss.TokenHash, ss.OrgID, ss.UserID, formatTime(ss.ExpiresAt), data)
		return err
	})
}

// GetSession returns the session whose token hashes to tokenHash, expired or
// not: the caller checks ExpiresAt.
func (s *Store) GetSession(ctx context.Context, tokenHash string) (domain.Session, error) {
	return getOne(ctx, s.r, scanSession, `SELECT data, token_hash FROM sessions WHERE token_hash = ?`, tokenHash)
}

// DeleteSession ends a session. Ending one that does not exist (already
// signed out, or expired and removed) is not an error: signing out twice
// leaves the same state as once.
func (s *Store) DeleteSession(ctx context.Context, tokenHash string) error {
	return s.write(ctx, func(tx *wtx) error {
		_, err := tx.ExecContext(ctx, `DELETE FROM sessions WHERE token_hash = ?`, tokenHash)
		return err
	})
}

// DeleteUserSessions ends every session of a user of the organization; a
// user without sessions is not an error.
func (s *Store) DeleteUserSessions(ctx context.Context, orgID, userID string) error {
	return s.write(ctx, func(tx *wtx) error {
		_, err := tx.ExecContext(ctx, `DELETE FROM sessions WHERE org_id = ? AND user_id = ?`, orgID, userID)
		return err
	})
}

// API keys, looked up by the hash of their secret (its own column).

const apiKeyCols = `data, hash`

func scanAPIKey(sc rowScanner) (domain.APIKey, error) {
	var data, hash string
	var k domain.APIKey
	if err := sc.Scan(&data, &hash); err != nil {
		return k, err
	}
	if err := unmarshal(data, &k); err != nil {
		return k, err
	}
	k.Hash = hash
	return k, nil
}

// CreateAPIKey stores k; a hash or id already stored is store.ErrConflict.
func (s *Store) CreateAPIKey(ctx context.Context, k domain.APIKey) error {
	k = normAPIKey(k)
	data, err := marshal(k)
	if err != nil {
		return err
	}
	return s.write(ctx, func(tx *wtx) error {
		_, err := tx.ExecContext(ctx, `INSERT INTO api_keys (id, org_id, hash, data) VALUES (?, ?, ?, ?)`,
			k.ID, k.OrgID, k.Hash, data)
		return err
	})
}

// GetAPIKeyByHash looks a key up across the installation by its hash.
func (s *Store) GetAPIKeyByHash(ctx context.Context, hash string) (domain.APIKey, error) {
	return getOne(ctx, s.r, scanAPIKey, `SELECT `+apiKeyCols+` FROM api_keys WHERE hash = ?`, hash)
}

// ListAPIKeys lists the organization's keys, newest first.
func (s *Store) ListAPIKeys(ctx context.Context, orgID string, p store.Page) ([]domain.APIKey, string, error) {
	return listPage(ctx, s.r, apiKeyCols, "api_keys", "org_id = ?", []any{orgID}, p, scanAPIKey,
		func(k domain.APIKey) string { return k.ID })
}

// DeleteAPIKey deletes the organization's key with id; store.ErrNotFound if
// the organization has no such key.
func (s *Store) DeleteAPIKey(ctx context.Context, orgID, id string) error {
	return s.write(ctx, func(tx *wtx) error {
		res, err := tx.ExecContext(ctx, `DELETE FROM api_keys WHERE org_id = ? AND id = ?`, orgID, id)
		if err != nil {
			return err
		}
		return mustAffect(res)
	})
}
