package sqlite

import (
	"context"
	"database/sql"
	"errors"
	"slices"
	"time"

	"github.com/partnerloop/partnerloop/internal/domain"
	"github.com/partnerloop/partnerloop/internal/store"
)

// Referrers. The click count lives only in the clicks column (RecordClick
// increments it without rewriting the JSON) and is set on every read.

const referrerCols = `data, clicks`

func scanReferrer(sc rowScanner) (domain.Referrer, error) {
	var data string
	var clicks int64
	var r domain.Referrer
	if err := sc.Scan(&data, &clicks); err != nil {
		return r, err
	}
	if err := unmarshal(data, &r); err != nil {
		return r, err
	}
	r.Clicks = clicks
	return r, nil
}

// CreateReferrer stores r; a code whose domain.CodeKey is taken anywhere in
// the installation, an email that already has a referrer in the program, or
// an id already taken is store.ErrConflict.
func (s *Store) CreateReferrer(ctx context.Context, r domain.Referrer) error {
	r = normReferrer(r)
	data, err := marshal(r)
	if err != nil {
		return err
	}
	return s.write(ctx, func(tx *wtx) error {
		if _, err := tx.ExecContext(ctx,
			`INSERT INTO referrers (id, org_id, program_id, email, code_key, clicks, data) VALUES (?, ?, ?, ?, ?, ?, ?)`,
			r.ID, r.OrgID, r.ProgramID, domain.NormalizeEmail(r.Email), domain.CodeKey(r.Code), r.Clicks, data); err != nil {
			return err
		}
		if err := insertWords(ctx, tx, r.OrgID, kindReferrer, r.ID, r.Name, r.Email); err != nil {
			return err
		}
		return appendChange(ctx, tx, entityReferrer, opInsert, r.OrgID, r.ID, "", data)
	})
}

// GetReferrer returns the organization's referrer with id.
func (s *Store) GetReferrer(ctx context.Context, orgID, id string) (domain.Referrer, error) {
	return getOne(ctx, s.r, scanReferrer, `SELECT `+referrerCols+` FROM referrers WHERE org_id = ? AND id = ?`, orgID, id)
}

// GetReferrerByCode looks a code up across the installation, ignoring case
// (domain.CodeKey).
func (s *Store) GetReferrerByCode(ctx context.Context, code string) (domain.Referrer, error) {
	return getOne(ctx, s.r, scanReferrer, `SELECT `+referrerCols+` FROM referrers WHERE code_key = ?`, domain.CodeKey(code))
}

// GetReferrerByEmail returns the program's referrer with the address.
func (s *Store) GetReferrerByEmail(ctx context.Context, orgID, programID, email string) (domain.Referrer, error) {
	return getOne(ctx, s.r, scanReferrer,
		`SELECT `+referrerCols+` FROM referrers WHERE org_id = ? AND program_id = ? AND email = ?`,
		orgID, programID, domain.NormalizeEmail(email))
}

// ListReferrers lists the program's referrers (every referrer of the
// organization when programID is ""), newest first.
func (s *Store) ListReferrers(ctx context.Context, orgID, programID string, p store.Page) ([]domain.Referrer, string, error) {
	where, args := "org_id = ?", []any{orgID}
	if programID != "" {
		where += " AND program_id = ?"
		args = append(args, programID)
	}
	return listPage(ctx, s.r, referrerCols, "referrers", where, args, p, scanReferrer,
		func(r domain.Referrer) string { return r.ID })
}

// Clicks. The visitor hash has its own column (it is not in JSON).

const clickCols = `data, visitor_hash`

func scanClick(sc rowScanner) (domain.Click, error) {
	var data, hash string
	var c domain.Click
	if err := sc.Scan(&data, &hash); err != nil {
		return c, err
	}
	if err := unmarshal(data, &c); err != nil {
		return c, err
	}
	c.VisitorHash = hash
	return c, nil
}

// RecordClick stores c and adds one to its referrer's click count unless
// lim rules it out (store.ClickLimits: the same visitor's last counted
// click through the same code, by domain.CodeKey, was less than lim.Window
// before c.At, or the address had lim.PerSource counted clicks through the
// code in this window); it reports whether the click was counted. An
// uncounted click writes nothing. A referrer that the click's organization
// does not have is store.ErrNotFound.
func (s *Store) RecordClick(ctx context.Context, c domain.Click, lim store.ClickLimits) (bool, error) {
	c = normClick(c)
	p := &pendingClick{c: c, key: domain.CodeKey(c.Code), lim: lim}
	if err := s.limits.refresh(ctx, s.rq); err != nil {
		return false, err
	}
	// A repeat, or an address at its cap, by the rows memory has and the
	// clicks pending is answered at once. Any other click is decided
	// again, reserved and appended to the journal (journal.go).
	if s.limits.decided(p) {
		return false, nil
	}
	// Its JSON and rows only for a click that may count.
	data, err := marshal(c)
	if err != nil {
		return false, err
	}
	p.data = data
	p.boxRows()
	s.horizon.saw(c.At, lim)
	if _, ok := s.inBatch(ctx); ok {
		// InTx holds the writer: the click is decided and written in a
		// savepoint of its transaction.
		if err := s.clickGrouped(ctx, p); err != nil {
			return false, err
		}
		return p.counted, nil
	}
	return s.recordJournaled(ctx, p)
}

// recordClickTx decides and writes one click in tx, as its own batch
// would (recordClicks runs it when a batch fails).
func recordClickTx(ctx context.Context, tx *wtx, lt *limitTx, p *pendingClick) (bool, error) {
	p.boxRows()
	if err := lt.catchUp(ctx, tx); err != nil || lt.decided(p) {
		return false, err // not counted: nothing is written
	}
	c := p.c
	res, err := tx.ExecContext(ctx,
		`UPDATE referrers SET clicks = clicks + 1 WHERE org_id = ? AND id = ?`, c.OrgID, c.ReferrerID)
	if err != nil {
		return false, err
	}
	if err := mustAffect(res); err != nil {
		return false, err
	}
	res, err = tx.ExecContext(ctx, insertLimitRow, p.limitRow...)
	if err != nil {
		return false, err
	}
	seq, err := res.LastInsertId()
	if err != nil {
		return false, err
	}
	// No outbox row: the analytics rollup reads clicks from their table
	// (analytics.go).
	if _, err := tx.ExecContext(ctx,
		`INSERT INTO clicks (id, org_id, referrer_id, visitor_hash, at, data) VALUES (?, ?, ?, ?, ?, ?)`,
		p.clickRow...); err != nil {
		return false, err
	}
	lt.wrote(p, seq)
	return true, nil
}

const insertLimitRow = `INSERT INTO click_limits (code_key, source_hash, window_start, visitor_hash, last_at) VALUES (?, ?, ?, ?, ?)`

// DaySalt returns the day's salt, storing candidate when the day has none,
// and deletes the salts that expired by day.
func (s *Store) DaySalt(ctx context.Context, day time.Time, candidate []byte, expiresAt time.Time) ([]byte, error) {
	var salt []byte
	err := s.write(ctx, func(tx *wtx) error {
		if _, err := tx.ExecContext(ctx, `DELETE FROM day_salts WHERE expires_at <= ?`, formatTime(day)); err != nil {
			return err
		}
		d := day.UTC().Format(time.DateOnly)
		if _, err := tx.ExecContext(ctx,
			`INSERT INTO day_salts (day, salt, expires_at) VALUES (?, ?, ?) ON CONFLICT (day) DO NOTHING`,
			d, candidate, formatTime(expiresAt)); err != nil {
			return err
		}
		return tx.QueryRowContext(ctx, `SELECT salt FROM day_salts WHERE day = ?`, d).Scan(&salt)
	})
	return salt, err
}

// ListClicks lists the referrer's clicks (every click of the organization
// when referrerID is ""), newest first.
func (s *Store) ListClicks(ctx context.Context, orgID, referrerID string, p store.Page) ([]domain.Click, string, error) {
	where, args := "org_id = ?", []any{orgID}
	if referrerID != "" {
		where += " AND referrer_id = ?"
		args = append(args, referrerID)
	}
	return listPage(ctx, s.r, clickCols, "clicks", where, args, p, scanClick,
		func(c domain.Click) string { return c.ID })
}

// Referrals.

const referralCols = `data`

func scanReferral(sc rowScanner) (domain.Referral, error) {
	var data string
	var r domain.Referral
	if err := sc.Scan(&data); err != nil {
		return r, err
	}
	return r, unmarshal(data, &r)
}

func insertReferral(ctx context.Context, tx *wtx, r domain.Referral) error {
	r = normReferral(r)
	data, err := marshal(r)
	if err != nil {
		return err
	}
	if _, err := tx.ExecContext(ctx,
		`INSERT INTO referrals (id, org_id, program_id, referrer_id, email, external_id, status, created_at, converted_at, data)
		 VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?)`,
		r.ID, r.OrgID, r.ProgramID, r.ReferrerID, domain.NormalizeEmail(r.Email), r.ExternalID, r.Status,
		formatTime(r.CreatedAt), optTime(r.ConvertedAt), data); err != nil {
		return err
	}
	if err := insertWords(ctx, tx, r.OrgID, kindReferral, r.ID, r.Name, r.Email); err != nil {
		return err
	}
	return appendChange(ctx, tx, entityReferral, opInsert, r.OrgID, r.ID, "", data)
}

func optTime(t *time.Time) any {
	if t == nil {
		return nil
	}
	return formatTime(*t)
}

// CreateReferral stores r; an email that already has a referral in the
// program, an externalId already used in the organization, or an id already
// taken is store.ErrConflict.
func (s *Store) CreateReferral(ctx context.Context, r domain.Referral) error {
	return s.write(ctx, func(tx *wtx) error { return insertReferral(ctx, tx, r) })
}

// GetReferral returns the organization's referral with id.
func (s *Store) GetReferral(ctx context.Context, orgID, id string) (domain.Referral, error) {
	if r, ok := s.converted.get(orgID, id); ok {
		return r, nil
	}
	r, err := getOne(ctx, s.r, scanReferral, `SELECT `+referralCols+` FROM referrals WHERE org_id = ? AND id = ?`, orgID, id)
	if err == nil && r.OrgID == orgID && r.ID == id {
		s.converted.add(r)
	}
	return r, err
}

// GetReferralByExternalID returns the organization's referral with the
// externalId; "" matches nothing.
func (s *Store) GetReferralByExternalID(ctx context.Context, orgID, externalID string) (domain.Referral, error) {
	if externalID == "" {
		return domain.Referral{}, store.ErrNotFound
	}
	return getOne(ctx, s.r, scanReferral,
		`SELECT `+referralCols+` FROM referrals WHERE org_id = ? AND external_id = ? AND external_id <> ''`, orgID, externalID)
}

// maxReferralsByEmail bounds ReferralsByEmail (one referral per program).
const maxReferralsByEmail = 100

// ReferralsByEmail lists the address's referrals in the organization,
// newest first, at most 100.
func (s *Store) ReferralsByEmail(ctx context.Context, orgID, email string) ([]domain.Referral, error) {
	rows, err := s.r.QueryContext(ctx,
		`SELECT `+referralCols+` FROM referrals WHERE org_id = ? AND email = ? ORDER BY id DESC LIMIT ?`,
		orgID, domain.NormalizeEmail(email), maxReferralsByEmail)
	if err != nil {
		return nil, mapErr(err)
	}
	defer rows.Close()
	var out []domain.Referral
	for rows.Next() {
		r, err := scanReferral(rows)
		if err != nil {
			return nil, mapErr(err)
		}
		out = append(out, r)
	}
	return out, mapErr(rows.Err())
}

// ListReferrals lists the organization's referrals that match f, newest
// first.
func (s *Store) ListReferrals(ctx context.Context, orgID string, f store.ReferralFilter, p store.Page) ([]domain.Referral, string, error) {
	where, args, err := s.referralWhere(ctx, orgID, f)
	if err != nil {
		return nil, "", err
	}
	return listMatching(ctx, s.r, referralCols, "referrals", where, args, f.Match, p, scanReferral,
		func(r domain.Referral) string { return r.ID })
}

// Conversions.

const conversionCols = `data`

func scanConversion(sc rowScanner) (domain.Conversion, error) {
	var data string
	var c domain.Conversion
	if err := sc.Scan(&data); err != nil {
		return c, err
	}
	return c, unmarshal(data, &c)
}

// ConversionConflictFirst reports that RecordConversion finds a taken
// externalId itself (the unique index conversions_external_id, checked by
// the insert in the group commit: store.ErrConflict, nothing written), so
// the tracking service need not read before every conversion.
func (s *Store) ConversionConflictFirst() bool { return true }

// RecordConversion, in one transaction, stores newReferral if it is not nil,
// stores c, and marks the referral c.ReferralID converted at c.OccurredAt if
// it is pending. An externalId (or id) already used in the organization is
// store.ErrConflict and nothing is written. A referral the organization does
// not have is left alone (there is nothing to mark).
func (s *Store) RecordConversion(ctx context.Context, c domain.Conversion, newReferral *domain.Referral) error {
	req, err := s.recordConversion(c, newReferral)
	if err != nil {
		return err
	}
	return s.submit(ctx, req)
}

// recordConversion is RecordConversion's part of a group commit, as the
// committer gets it (benchmarks commit such groups themselves). Its only
// effect is what it writes, so the committer may run it again (again).
func (s *Store) recordConversion(c domain.Conversion, newReferral *domain.Referral) (groupReq, error) {
	c = normConversion(c)
	data, err := marshal(c)
	if err != nil {
		return groupReq{}, err
	}
	return groupReq{again: true, fn: func(ctx context.Context, tx *wtx) error {
		if newReferral != nil {
			if err := insertReferral(ctx, tx, *newReferral); err != nil {
				return err
			}
		}
		if _, err := tx.ExecContext(ctx,
			`INSERT INTO conversions (id, org_id, program_id, referral_id, external_id, occurred_at, data)
			 VALUES (?, ?, ?, ?, ?, ?, ?)`,
			c.ID, c.OrgID, c.ProgramID, c.ReferralID, c.ExternalID, formatTime(c.OccurredAt), data); err != nil {
			return err
		}
		if err := appendChange(ctx, tx, entityConversion, opInsert, c.OrgID, c.ID, "", data); err != nil {
			return err
		}
		if s.converted.has(c.OrgID, c.ReferralID) {
			return nil // converted before, and a converted referral stays so
		}
		return markConverted(ctx, tx, c.OrgID, c.ReferralID, c.OccurredAt, c.CreatedAt)
	}}, nil
}

// markConverted sets a pending or expired referral's status to converted
// at at, as changed at changed (the conversion's recording).
func markConverted(ctx context.Context, tx *wtx, orgID, referralID string, at, changed time.Time) error {
	// Most conversions are not a referral's first: its status column
	// answers without reading and decoding the record.
	var status string
	switch err := tx.QueryRowContext(ctx, `SELECT status FROM referrals WHERE org_id = ? AND id = ?`, orgID, referralID).Scan(&status); {
	case errors.Is(err, sql.ErrNoRows):
		return nil
	case err != nil:
		return err
	case status != domain.ReferralPending && status != domain.ReferralExpired:
		return nil
	}
	_, err := changeReferralStatus(ctx, tx, orgID, referralID, func(r *domain.Referral) bool {
		if r.Status != domain.ReferralPending && r.Status != domain.ReferralExpired {
			return false
		}
		r.Status, r.ConvertedAt, r.UpdatedAt = domain.ReferralConverted, utcPtr(&at), changed
		return true
	})
	if errors.Is(err, store.ErrNotFound) {
		return nil
	}
	return err
}

// changeReferralStatus applies change to the referral and, when change
// reports a change, stores it with its change-log entry. An unknown
// referral is store.ErrNotFound.
func changeReferralStatus(ctx context.Context, tx *wtx, orgID, referralID string, change func(*domain.Referral) bool) (domain.Referral, error) {
	var old string
	var r domain.Referral
	err := tx.QueryRowContext(ctx, `SELECT data FROM referrals WHERE org_id = ? AND id = ?`, orgID, referralID).Scan(&old)
	if errors.Is(err, sql.ErrNoRows) {
		return r, store.ErrNotFound
	}
	if err != nil {
		return r, err
	}
	if err := unmarshal(old, &r); err != nil {
		return r, err
	}
	converted := r.Status == domain.ReferralConverted
	if !change(&r) {
		return r, nil
	}
	if converted {
		// GetReferral keeps converted referrals (convertedReferrals).
		return r, errors.New("sqlite: a converted referral never changes")
	}
	r = normReferral(r)
	data, err := marshal(r)
	if err != nil {
		return r, err
	}
	if _, err := tx.ExecContext(ctx,
		`UPDATE referrals SET status = ?, converted_at = ?, data = ? WHERE org_id = ? AND id = ?`,
		r.Status, optTime(r.ConvertedAt), data, orgID, referralID); err != nil {
		return r, err
	}
	return r, appendChange(ctx, tx, entityReferral, opModify, orgID, referralID, old, data)
}

// ExpireReferral sets a pending referral's status to expired, changed at at.
func (s *Store) ExpireReferral(ctx context.Context, orgID, id string, at time.Time) (domain.Referral, error) {
	var r domain.Referral
	err := s.write(ctx, func(tx *wtx) error {
		pending := false
		var err error
		r, err = changeReferralStatus(ctx, tx, orgID, id, func(r *domain.Referral) bool {
			if pending = r.Status == domain.ReferralPending; pending {
				r.Status, r.UpdatedAt = domain.ReferralExpired, at
			}
			return pending
		})
		if err == nil && !pending {
			return store.ErrConflict
		}
		return err
	})
	return r, err
}

// GetConversion returns the organization's conversion with id.
func (s *Store) GetConversion(ctx context.Context, orgID, id string) (domain.Conversion, error) {
	return getOne(ctx, s.r, scanConversion, `SELECT `+conversionCols+` FROM conversions WHERE org_id = ? AND id = ?`, orgID, id)
}

// GetConversions returns the organization's conversions among ids, by ID:
// a statement per up to 64 of them.
func (s *Store) GetConversions(ctx context.Context, orgID string, ids []string) (map[string]domain.Conversion, error) {
	out := make(map[string]domain.Conversion, len(ids))
	err := queryIn(ctx, s.r, `SELECT `+conversionCols+` FROM conversions WHERE org_id = ? AND id IN (`, []any{orgID}, slices.Clone(ids),
		func(sc rowScanner) error {
			c, err := scanConversion(sc)
			if err == nil {
				out[c.ID] = c
			}
			return err
		})
	if err != nil {
		return nil, mapErr(err)
	}
	return out, nil
}

// GetConversionByExternalID returns the organization's conversion with the
// externalId; "" matches nothing.
func (s *Store) GetConversionByExternalID(ctx context.Context, orgID, externalID string) (domain.Conversion, error) {
	if externalID == "" {
		return domain.Conversion{}, store.ErrNotFound
	}
	return getOne(ctx, s.r, scanConversion,
		`SELECT `+conversionCols+` FROM conversions WHERE org_id = ? AND external_id = ? AND external_id <> ''`, orgID, externalID)
}

// ListConversions lists the organization's conversions that match f, newest
// first.
func (s *Store) ListConversions(ctx context.Context, orgID string, f store.ConversionFilter, p store.Page) ([]domain.Conversion, string, error) {
	where, args, err := s.conversionWhere(ctx, orgID, f)
	if err != nil {
		return nil, "", err
	}
	return listMatching(ctx, s.r, conversionCols, "conversions", where, args, f.Match, p, scanConversion,
		func(c domain.Conversion) string { return c.ID })
}
