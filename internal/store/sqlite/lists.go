package sqlite

import (
	"context"
	"time"

	"github.com/partnerloop/partnerloop/internal/domain"
	"github.com/partnerloop/partnerloop/internal/store"
)

// Search and date ranges of the staff lists (store.Match). A record's
// domain.SearchWords are rows of search_words, written in the transaction
// that creates it (referrals and referrers never change name or e-mail); a
// term is a range of the table's primary key. Conversions are searched
// through their referral. Date ranges are ranges of the referrals'
// created_at, the conversions' occurred_at (both indexed with org_id) and
// the referrers' JSON createdAt (an index on the expression).

const (
	kindReferral = "referral"
	kindReferrer = "referrer"
)

// insertWords indexes a new record's search words.
func insertWords(ctx context.Context, tx *wtx, orgID, kind, id, name, email string) error {
	for _, w := range domain.SearchWords(name, email) {
		if _, err := tx.ExecContext(ctx,
			`INSERT OR IGNORE INTO search_words (org_id, kind, word, id) VALUES (?, ?, ?, ?)`, orgID, kind, w, id); err != nil {
			return err
		}
	}
	return nil
}

// prefixEnd is the least string above every string that starts with p
// ("" when there is none): p's last byte below 0xff, plus one.
func prefixEnd(p string) string {
	b := []byte(p)
	for i := len(b) - 1; i >= 0; i-- {
		if b[i] < 0xff {
			b[i]++
			return string(b[:i+1])
		}
	}
	return ""
}

// wordsIn is the subquery of the ids of kind whose words start with term,
// and its arguments.
func wordsIn(orgID, kind, term string) (string, []any) {
	q, args := `SELECT id FROM search_words WHERE org_id = ? AND kind = ? AND word >= ?`, []any{orgID, kind, term}
	if end := prefixEnd(term); end != "" {
		q += ` AND word < ?`
		args = append(args, end)
	}
	return q, args
}

// checkBreadth is store.ErrTooBroad when term matches more than
// store.MaxSearchMatches records of kind.
func (s *Store) checkBreadth(ctx context.Context, orgID, kind, term string) error {
	sub, args := wordsIn(orgID, kind, term)
	var n int
	if err := s.r.QueryRowContext(ctx, `SELECT COUNT(*) FROM (SELECT DISTINCT id FROM (`+sub+`) LIMIT ?)`,
		append(args, store.MaxSearchMatches+1)...).Scan(&n); err != nil {
		return mapErr(err)
	}
	if n > store.MaxSearchMatches {
		return store.ErrTooBroad
	}
	return nil
}

// matchWhere adds m's conditions to where: the search through the words
// of kind (col: the column holding their ids), the date range on dateCol
// (dateArg formats a bound for it).
func (s *Store) matchWhere(ctx context.Context, orgID string, m store.Match, kind, col, dateCol string, dateArg func(time.Time) string,
	where string, args []any) (string, []any, error) {
	if !m.From.IsZero() {
		where += " AND " + dateCol + " >= ?"
		args = append(args, dateArg(m.From))
	}
	if !m.To.IsZero() {
		where += " AND " + dateCol + " < ?"
		args = append(args, dateArg(m.To))
	}
	if m.Search != "" {
		if err := s.checkBreadth(ctx, orgID, kind, m.Search); err != nil {
			return "", nil, err
		}
		sub, subArgs := wordsIn(orgID, kind, m.Search)
		where += " AND " + col + " IN (" + sub + ")"
		args = append(args, subArgs...)
	}
	return where, args, nil
}

// jsonSecond is a bound compared with a time in a record's JSON (RFC 3339
// with a variable fraction, in UTC): the whole second, without fraction or
// zone. Every time of that second or later sorts at or above it, every
// earlier one below, so for whole-second bounds the comparison is exact.
func jsonSecond(t time.Time) string { return t.UTC().Format("2006-01-02T15:04:05") }

// count counts the rows of table matching where, up to store.MaxCount.
func (s *Store) count(ctx context.Context, table, where string, args []any) (int, bool, error) {
	var n int
	err := s.r.QueryRowContext(ctx, `SELECT COUNT(*) FROM (SELECT 1 FROM `+table+` WHERE `+where+` LIMIT ?)`,
		append(args, store.MaxCount+1)...).Scan(&n)
	if err != nil {
		return 0, false, mapErr(err)
	}
	if n > store.MaxCount {
		return store.MaxCount, true, nil
	}
	return n, false, nil
}

func (s *Store) referralWhere(ctx context.Context, orgID string, f store.ReferralFilter) (string, []any, error) {
	where, args := "org_id = ?", []any{orgID}
	if f.ProgramID != "" {
		where += " AND program_id = ?"
		args = append(args, f.ProgramID)
	}
	if f.ReferrerID != "" {
		where += " AND referrer_id = ?"
		args = append(args, f.ReferrerID)
	}
	if f.Status != "" {
		where += " AND status = ?"
		args = append(args, f.Status)
	}
	return s.matchWhere(ctx, orgID, f.Match, kindReferral, "id", "created_at", formatTime, where, args)
}

// CountReferrals counts the referrals ListReferrals lists, up to
// store.MaxCount.
func (s *Store) CountReferrals(ctx context.Context, orgID string, f store.ReferralFilter) (int, bool, error) {
	where, args, err := s.referralWhere(ctx, orgID, f)
	if err != nil {
		return 0, false, err
	}
	return s.count(ctx, "referrals", where, args)
}

func (s *Store) conversionWhere(ctx context.Context, orgID string, f store.ConversionFilter) (string, []any, error) {
	where, args := "org_id = ?", []any{orgID}
	if f.ProgramID != "" {
		where += " AND program_id = ?"
		args = append(args, f.ProgramID)
	}
	if f.ReferralID != "" {
		where += " AND referral_id = ?"
		args = append(args, f.ReferralID)
	}
	return s.matchWhere(ctx, orgID, f.Match, kindReferral, "referral_id", "occurred_at", formatTime, where, args)
}

// CountConversions counts the conversions ListConversions lists, up to
// store.MaxCount.
func (s *Store) CountConversions(ctx context.Context, orgID string, f store.ConversionFilter) (int, bool, error) {
	where, args, err := s.conversionWhere(ctx, orgID, f)
	if err != nil {
		return 0, false, err
	}
	return s.count(ctx, "conversions", where, args)
}

func (s *Store) referrerWhere(ctx context.Context, orgID string, f store.ReferrerFilter) (string, []any, error) {
	where, args := "org_id = ?", []any{orgID}
	if f.ProgramID != "" {
		where += " AND program_id = ?"
		args = append(args, f.ProgramID)
	}
	return s.matchWhere(ctx, orgID, f.Match, kindReferrer, "id", "json_extract(data, '$.createdAt')", jsonSecond, where, args)
}

// ListReferrersMatching lists the organization's referrers that match f,
// newest first.
func (s *Store) ListReferrersMatching(ctx context.Context, orgID string, f store.ReferrerFilter, p store.Page) ([]domain.Referrer, string, error) {
	where, args, err := s.referrerWhere(ctx, orgID, f)
	if err != nil {
		return nil, "", err
	}
	return listMatching(ctx, s.r, referrerCols, "referrers", where, args, f.Match, p, scanReferrer,
		func(r domain.Referrer) string { return r.ID })
}

// CountReferrers counts the referrers ListReferrersMatching lists, up to
// store.MaxCount.
func (s *Store) CountReferrers(ctx context.Context, orgID string, f store.ReferrerFilter) (int, bool, error) {
	where, args, err := s.referrerWhere(ctx, orgID, f)
	if err != nil {
		return 0, false, err
	}
	return s.count(ctx, "referrers", where, args)
}

// listMatching is listPage for a list narrowed by m. With a date range,
// the page's ids are chosen and sorted first — from the date index, which
// holds them with their rowids — and only the page's rows are read: a
// range of many rows sorts their ids, not their records.
func listMatching[T any](ctx context.Context, db *pool, cols, table, where string, args []any, m store.Match,
	p store.Page, scan func(rowScanner) (T, error), idOf func(T) string) ([]T, string, error) {
	if m.From.IsZero() && m.To.IsZero() {
		return listPage(ctx, db, cols, table, where, args, p, scan, idOf)
	}
	p = p.Clamp()
	if p.Cursor != "" {
		after, err := decodeCursor(p.Cursor)
		if err != nil {
			return nil, "", err
		}
		where += " AND id < ?"
		args = append(args, after)
	}
	// The page's rows by rowid: conversions are keyed (org_id, id), so
	// an id alone finds none through an index.
	query := "SELECT " + cols + " FROM " + table + " WHERE rowid IN (SELECT rowid FROM " + table + " WHERE " + where +
		" ORDER BY id DESC LIMIT ?) ORDER BY id DESC"
	return queryPage(ctx, db, query, append(args, p.Limit+1), p, scan, idOf)
}

// backfillBatch is how many records one transaction of the backfill
// indexes, so that the writer is never held long.
const backfillBatch = 500

// backfillSearchWords indexes the words of the referrals and referrers
// stored before search_words existed (the migration leaves a row per kind
// in search_backfill), batch after batch in id order, then forgets the
// kind. Run by Open after the migrations; a no-op once done.
func (s *Store) backfillSearchWords(ctx context.Context) error {
	for _, k := range []struct{ kind, table, name string }{
		{kindReferral, "referrals", "json_extract(data, '$.name')"},
		{kindReferrer, "referrers", "json_extract(data, '$.name')"},
	} {
		var pending int
		if err := s.w.QueryRowContext(ctx, `SELECT COUNT(*) FROM search_backfill WHERE kind = ?`, k.kind).Scan(&pending); err != nil {
			return mapErr(err)
		}
		if pending == 0 {
			continue
		}
		after := ""
		for {
			done := false
			err := s.write(ctx, func(tx *wtx) error {
				rows, err := tx.QueryContext(ctx, `SELECT id, org_id, COALESCE(`+k.name+`, ''), email FROM `+k.table+
					` WHERE id > ? ORDER BY id LIMIT ?`, after, backfillBatch)
				if err != nil {
					return err
				}
				type rec struct{ id, org, name, email string }
				var recs []rec
				for rows.Next() {
					var r rec
					if err := rows.Scan(&r.id, &r.org, &r.name, &r.email); err != nil {
						rows.Close()
						return err
					}
					recs = append(recs, r)
				}
				rows.Close()
				if err := rows.Err(); err != nil {
					return err
				}
				for _, r := range recs {
					if err := insertWords(ctx, tx, r.org, k.kind, r.id, r.name, r.email); err != nil {
						return err
					}
				}
				if len(recs) < backfillBatch {
					done = true
					_, err := tx.ExecContext(ctx, `DELETE FROM search_backfill WHERE kind = ?`, k.kind)
					return err
				}
				after = recs[len(recs)-1].id
				return nil
			})
			if err != nil {
				return err
			}
			if done {
				break
			}
		}
	}
	return nil
}
