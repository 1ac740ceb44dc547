package sqlite

import (
	"cmp"
	"context"
	"database/sql"
	"errors"
	"fmt"
	"slices"
	"strings"
	"time"

	"github.com/partnerloop/partnerloop/internal/commission"
	"github.com/partnerloop/partnerloop/internal/domain"
	"github.com/partnerloop/partnerloop/internal/store"
)

// The commission ledger (store.Ledger). Commissions are rows of the
// commissions table (their JSON in data, with the columns that filters and
// lookups need); every insert and update appends a "commission" change to
// the outbox in the same transaction, and a refund a "conversion" MODIFY.
// Audit entries, counters and slots are not in the outbox.

var _ store.Ledger = (*Store)(nil)

// entityCommission is the outbox entity of ledger entries.
const entityCommission = "commission"

// Running totals.

func scanSlot(sc rowScanner) (store.PeriodSlot, error) {
	var sl store.PeriodSlot
	err := sc.Scan(&sl.Key, &sl.ConversionID, &sl.Ordinal, &sl.RevenueBefore, &sl.Value)
	return sl, err
}

const slotCols = `key, conversion_id, ordinal, revenue_before, value`

// AssignSlot gives conversionID its slot in the running total key, once: in
// one write transaction it returns the slot if the conversion has one, else
// reads the counter, inserts the slot with ordinal count+1 and the revenue
// before it, and stores the counter with the value added (a total that
// would overflow is an error and nothing is written). Writes are serialised by the single writer connection.
func (s *Store) AssignSlot(ctx context.Context, orgID, key, conversionID string, value int64) (store.PeriodSlot, error) {
	const get = `SELECT ` + slotCols + ` FROM ledger_slots WHERE org_id = ? AND key = ? AND conversion_id = ?`
	// A repeat is answered from a reader connection without queueing behind
	// writers; the write transaction checks again.
	if sl, err := getOne(ctx, s.r, scanSlot, get, orgID, key, conversionID); err == nil || !errors.Is(err, store.ErrNotFound) {
		return sl, err
	}
	var slot store.PeriodSlot
	err := s.write(ctx, func(tx *wtx) error {
		sl, err := scanSlot(tx.QueryRowContext(ctx, get, orgID, key, conversionID))
		if err == nil {
			slot = sl
			return nil
		}
		if !errors.Is(err, sql.ErrNoRows) {
			return err
		}
		var count, revenue int64
		err = tx.QueryRowContext(ctx, `SELECT count, revenue FROM ledger_counters WHERE org_id = ? AND key = ?`,
			orgID, key).Scan(&count, &revenue)
		if err != nil && !errors.Is(err, sql.ErrNoRows) {
			return err
		}
		var next commission.RunningState
		slot, next, err = store.NextSlot(key, conversionID, commission.RunningState{Count: count, Revenue: revenue}, value)
		if err != nil {
			return err
		}
		if _, err := tx.ExecContext(ctx,
			`INSERT INTO ledger_slots (org_id, key, conversion_id, ordinal, revenue_before, value) VALUES (?, ?, ?, ?, ?, ?)`,
			orgID, key, conversionID, slot.Ordinal, slot.RevenueBefore, slot.Value); err != nil {
			return err
		}
		_, err = tx.ExecContext(ctx,
			`INSERT INTO ledger_counters (org_id, key, period_key, count, revenue) VALUES (?, ?, ?, ?, ?)
			 ON CONFLICT (org_id, key) DO UPDATE SET count = excluded.count, revenue = excluded.revenue`,
			orgID, key, store.PeriodOfKey(key), next.Count, next.Revenue)
		return err
	})
	if err != nil {
		return store.PeriodSlot{}, err
	}
	return slot, nil
}

// ListSlots returns the slots of the running total key in ordinal order.
func (s *Store) ListSlots(ctx context.Context, orgID, key string) ([]store.PeriodSlot, error) {
	return queryAll(ctx, s.r, scanSlot,
		`SELECT `+slotCols+` FROM ledger_slots WHERE org_id = ? AND key = ? ORDER BY ordinal`, orgID, key)
}

// RunningTotals lists the keys of the organization's running totals of the
// period, in ascending order: the counters of that period_key (a counter
// exists once its first slot does; the primary key makes each key appear
// once).
func (s *Store) RunningTotals(ctx context.Context, orgID, periodKey string) ([]string, error) {
	return queryAll(ctx, s.r, func(sc rowScanner) (string, error) {
		var key string
		err := sc.Scan(&key)
		return key, err
	}, `SELECT key FROM ledger_counters WHERE org_id = ? AND period_key = ? ORDER BY key`, orgID, periodKey)
}

// queryAll runs a query and decodes every row.
func queryAll[T any](ctx context.Context, db *pool, scan func(rowScanner) (T, error), query string, args ...any) ([]T, error) {
	rows, err := db.QueryContext(ctx, query, args...)
	if err != nil {
		return nil, mapErr(err)
	}
	defer rows.Close()
	var out []T
	for rows.Next() {
		v, err := scan(rows)
		if err != nil {
			return nil, mapErr(err)
		}
		out = append(out, v)
	}
	return out, mapErr(rows.Err())
}

// Ledger entries.

const commissionCols = `data, revision`

func scanCommission(sc rowScanner) (commission.Commission, error) {
	return scanRevisioned(sc, func(v *commission.Commission, rev int64) { v.Revision = rev })
}

func normCommission(c commission.Commission) commission.Commission {
	c.AvailableAt = utc(c.AvailableAt)
	c.CreatedAt = utc(c.CreatedAt)
	c.UpdatedAt = utc(c.UpdatedAt)
	return c
}

// sourceOf is the conversion or deal a ledger entry belongs to ("" for an
// adjustment).
func sourceOf(c commission.Commission) string {
	if c.ConversionID != "" {
		return c.ConversionID
	}
	return c.DealID
}

// checkChange refuses a change whose entries belong to another organization
// or name one entry twice.
func checkChange(ch store.LedgerChange) error {
	seen := map[string]bool{}
	for _, list := range [][]commission.Commission{ch.Created, ch.Updated} {
		for _, c := range list {
			if c.OrgID != ch.OrgID {
				return fmt.Errorf("sqlite: ledger change of organization %q holds commission %s of organization %q", ch.OrgID, c.ID, c.OrgID)
			}
			if seen[c.ID] {
				return fmt.Errorf("%w: commission %s appears twice in one ledger change", store.ErrConflict, c.ID)
			}
			seen[c.ID] = true
		}
	}
	return nil
}

// ApplyLedgerChange writes ch in one transaction: inserts Created (an id
// already taken is store.ErrConflict), updates Updated where the stored
// revision is still the entry's Revision (else, or when there is no such
// entry or its createdAt differs, store.ErrConflict) storing Revision+1,
// appends Audit (an entry already appended is store.ErrConflict), and moves the
// conversion's refunded amount from Refund.From to Refund.To
// (store.ErrNotFound without such a conversion in the organization,
// store.ErrConflict when it is no longer From). Any error rolls everything
// back.
func (s *Store) ApplyLedgerChange(ctx context.Context, ch store.LedgerChange) error {
	if err := checkChange(ch); err != nil {
		return err
	}
	if len(ch.Created)+len(ch.Updated)+len(ch.Audit) == 0 && ch.Refund == nil && ch.UnsettledRun == nil {
		return nil
	}
	type row struct {
		c    commission.Commission
		data string
	}
	encode := func(list []commission.Commission, revision func(int64) int64) ([]row, error) {
		out := make([]row, len(list))
		for i, c := range list {
			c = normCommission(c)
			c.Revision = revision(c.Revision)
			data, err := marshal(c)
			if err != nil {
				return nil, err
			}
			out[i] = row{c, data}
		}
		return out, nil
	}
	created, err := encode(ch.Created, func(r int64) int64 { return r })
	if err != nil {
		return err
	}
	updated, err := encode(ch.Updated, func(r int64) int64 { return r + 1 })
	if err != nil {
		return err
	}
	audit := make([]string, len(ch.Audit))
	for i, a := range ch.Audit {
		a.At = utc(a.At)
		if audit[i], err = marshal(a); err != nil {
			return err
		}
	}
	return s.write(ctx, func(tx *wtx) error {
		if want := ch.UnsettledRun; want != nil {
			var run string
			err := tx.QueryRowContext(ctx, `SELECT id FROM payout_runs WHERE org_id = ? AND status IN ('open', 'paying')`, ch.OrgID).Scan(&run)
			if err != nil && !errors.Is(err, sql.ErrNoRows) {
				return err
			}
			if run != *want {
				return store.ErrConflict
			}
		}
		// The new entries and their changes in multi-row statements (the
		// calculator's batch creates many at once): a failing row fails
		// the whole change, as it would one by one.
		if len(created) > 0 {
			rows := make([]any, 0, len(created)*10)
			changes := make([]any, 0, len(created)*7)
			at := formatTime(time.Now())
			for _, r := range created {
				c := r.c
				rows = append(rows, c.OrgID, c.ID, sourceOf(c), c.ProgramID, c.ReferrerID, c.PartnerID, string(c.Status),
					formatTime(c.CreatedAt), c.Revision, r.data)
				changes = append(changes, entityCommission, opInsert, c.OrgID, c.ID, nil, r.data, at)
			}
			if err := insertRows(ctx, tx,
				`INSERT INTO commissions (org_id, id, source_id, program_id, referrer_id, partner_id, status, created_at, revision, data) VALUES `,
				`(?, ?, ?, ?, ?, ?, ?, ?, ?, ?)`, ``, 10, rows); err != nil {
				return err
			}
			if err := insertRows(ctx, tx, outboxInsert, outboxRow, ``, 7, changes); err != nil {
				return err
			}
		}
		for _, r := range updated {
			c := r.c
			var old string
			// createdAt is immutable (the DynamoDB adapter keys entries by it).
			err := tx.QueryRowContext(ctx,
				`SELECT data FROM commissions WHERE org_id = ? AND id = ? AND revision = ? AND created_at = ?`,
				c.OrgID, c.ID, c.Revision-1, formatTime(c.CreatedAt)).Scan(&old)
			if errors.Is(err, sql.ErrNoRows) {
				return store.ErrConflict // changed since it was read, or never stored
			}
			if err != nil {
				return err
			}
			if _, err := tx.ExecContext(ctx,
				`UPDATE commissions SET source_id = ?, program_id = ?, referrer_id = ?, partner_id = ?, status = ?,
				 revision = ?, data = ? WHERE org_id = ? AND id = ?`,
				sourceOf(c), c.ProgramID, c.ReferrerID, c.PartnerID, string(c.Status),
				c.Revision, r.data, c.OrgID, c.ID); err != nil {
				return err
			}
			if err := appendChange(ctx, tx, entityCommission, opModify, c.OrgID, c.ID, old, r.data); err != nil {
				return err
			}
		}
		if len(ch.Audit) > 0 {
			rows := make([]any, 0, len(ch.Audit)*5)
			for i, a := range ch.Audit {
				rows = append(rows, ch.OrgID, a.CommissionID, formatTime(a.At), string(a.To), audit[i])
			}
			if err := insertRows(ctx, tx, `INSERT INTO commission_audit (org_id, commission_id, at, to_status, data) VALUES `,
				`(?, ?, ?, ?, ?)`, ``, 5, rows); err != nil {
				return err
			}
		}
		if ch.Refund != nil {
			return refund(ctx, tx, ch.OrgID, *ch.Refund)
		}
		return nil
	})
}

// refund moves a conversion's refunded amount from rc.From to rc.To.
func refund(ctx context.Context, tx *wtx, orgID string, rc store.RefundChange) error {
	var old string
	if err := tx.QueryRowContext(ctx, `SELECT data FROM conversions WHERE org_id = ? AND id = ?`,
		orgID, rc.ConversionID).Scan(&old); err != nil {
		return err // no row: ErrNotFound
	}
	var c domain.Conversion
	if err := unmarshal(old, &c); err != nil {
		return err
	}
	if c.RefundedAmount.Amount != rc.From {
		return store.ErrConflict
	}
	c.RefundedAmount.Amount = rc.To
	at := rc.At.UTC()
	c.RefundedAt = &at
	data, err := marshal(normConversion(c))
	if err != nil {
		return err
	}
	if _, err := tx.ExecContext(ctx, `UPDATE conversions SET data = ? WHERE org_id = ? AND id = ?`,
		data, orgID, rc.ConversionID); err != nil {
		return err
	}
	return appendChange(ctx, tx, entityConversion, opModify, orgID, rc.ConversionID, old, data)
}

// GetCommission returns the organization's ledger entry with id.
func (s *Store) GetCommission(ctx context.Context, orgID, id string) (commission.Commission, error) {
	return getOne(ctx, s.r, scanCommission, `SELECT `+commissionCols+` FROM commissions WHERE org_id = ? AND id = ?`, orgID, id)
}

// ListCommissions lists the organization's entries that match f, newest
// first by createdAt (ties by id, descending). The cursor is the createdAt
// and id of the page's last entry.
func (s *Store) ListCommissions(ctx context.Context, orgID string, f store.CommissionFilter, p store.Page) ([]commission.Commission, string, error) {
	p = p.Clamp()
	where, args := []string{"org_id = ?"}, []any{orgID}
	for _, eq := range []struct{ col, v string }{
		{"partner_id", f.PartnerID}, {"referrer_id", f.ReferrerID}, {"program_id", f.ProgramID}, {"status", f.Status},
	} {
		if eq.v != "" {
			where = append(where, eq.col+" = ?")
			args = append(args, eq.v)
		}
	}
	if !f.From.IsZero() {
		where = append(where, "created_at >= ?")
		args = append(args, formatTime(f.From))
	}
	if !f.To.IsZero() {
		where = append(where, "created_at < ?")
		args = append(args, formatTime(f.To))
	}
	if p.Cursor != "" {
		at, id, err := decodeCommissionCursor(p.Cursor)
		if err != nil {
			return nil, "", err
		}
		where = append(where, "(created_at < ? OR (created_at = ? AND id < ?))")
		args = append(args, at, at, id)
	}
	args = append(args, p.Limit+1)
	out, err := queryAll(ctx, s.r, scanCommission, `SELECT `+commissionCols+` FROM commissions WHERE `+
		strings.Join(where, " AND ")+` ORDER BY created_at DESC, id DESC LIMIT ?`, args...)
	if err != nil {
		return nil, "", err
	}
	next := ""
	if len(out) > p.Limit {
		out = out[:p.Limit]
		last := out[len(out)-1]
		next = encodeCursor(formatTime(last.CreatedAt) + " " + last.ID)
	}
	return out, next, nil
}

// decodeCommissionCursor returns the createdAt (as stored) and id a
// ListCommissions cursor stands for, or store.ErrBadCursor.
func decodeCommissionCursor(c string) (string, string, error) {
	v, err := decodeCursor(c)
	if err != nil {
		return "", "", err
	}
	at, id, ok := strings.Cut(v, " ")
	if !ok || id == "" {
		return "", "", store.ErrBadCursor
	}
	t, err := time.Parse(tsLayout, at)
	if err != nil || formatTime(t) != at {
		return "", "", store.ErrBadCursor
	}
	return at, id, nil
}

// CommissionsOfSource lists every entry of the conversion or deal, oldest
// first (ties by id).
func (s *Store) CommissionsOfSource(ctx context.Context, orgID, conversionOrDealID string) ([]commission.Commission, error) {
	return queryAll(ctx, s.r, scanCommission, `SELECT `+commissionCols+` FROM commissions
		WHERE org_id = ? AND source_id = ? AND source_id <> '' ORDER BY created_at, id`, orgID, conversionOrDealID)
}

// CommissionsOfSources lists the entries of each of the conversions or
// deals, by source ID, each oldest first (ties by id): a statement per up
// to 64 sources.
func (s *Store) CommissionsOfSources(ctx context.Context, orgID string, sourceIDs []string) (map[string][]commission.Commission, error) {
	out := map[string][]commission.Commission{}
	err := queryIn(ctx, s.r, `SELECT source_id, `+commissionCols+` FROM commissions
		WHERE org_id = ? AND source_id <> '' AND source_id IN (`, []any{orgID}, slices.Clone(sourceIDs),
		func(sc rowScanner) error {
			var source string
			c, err := scanCommission(prefixScanner{sc, &source})
			if err == nil {
				out[source] = append(out[source], c)
			}
			return err
		})
	if err != nil {
		return nil, mapErr(err)
	}
	for _, cs := range out {
		slices.SortFunc(cs, func(a, b commission.Commission) int {
			return cmp.Or(a.CreatedAt.Compare(b.CreatedAt), cmp.Compare(a.ID, b.ID))
		})
	}
	return out, nil
}

// prefixScanner scans a row's first column into first and the rest as
// asked.
type prefixScanner struct {
	rowScanner
	first any
}

func (p prefixScanner) Scan(dest ...any) error {
	return p.rowScanner.Scan(append([]any{p.first}, dest...)...)
}

// ListAudit returns the audit trail of the entry, oldest first (entries of
// the same instant in the order they were appended).
func (s *Store) ListAudit(ctx context.Context, orgID, commissionID string) ([]commission.AuditEntry, error) {
	return queryAll(ctx, s.r, func(sc rowScanner) (commission.AuditEntry, error) {
		var data string
		var a commission.AuditEntry
		if err := sc.Scan(&data); err != nil {
			return a, err
		}
		return a, unmarshal(data, &a)
	}, `SELECT data FROM commission_audit WHERE org_id = ? AND commission_id = ? ORDER BY at, seq`, orgID, commissionID)
}
