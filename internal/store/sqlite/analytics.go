package sqlite

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"slices"
	"strings"
	"time"

	"github.com/partnerloop/partnerloop/internal/domain"
	"github.com/partnerloop/partnerloop/internal/store"
)

// Analytics rollups on SQLite. The rollup reads two feeds, each behind its
// own cursor: the outbox (analytics_feed) and the clicks table by rowid
// (analytics_click_feed; counted clicks write no outbox row), and adds the
// deltas of what it read to analytics_cells in the same write transaction
// that moves both cursors, so every change and click is applied exactly
// once; the single writer serialises concurrent rollups. Clicks are never
// deleted (a trigger refuses it), so their rowids grow in commit order.
// PruneChanges keeps the changes the rollup has not read yet.

var _ store.Analytics = (*Store)(nil)

// entityClick is the entity of counted clicks in the rollup's feed. Clicks
// are not in the outbox (only those written before the click feed was;
// the outbox cursor folds those).
const entityClick = "click"

// analyticsEntities are the outbox entities the rollup counts.
var analyticsEntities = []string{entityClick, entityReferral, entityConversion, entityDeal, entityCommission}

// figureCols is the cells' figure columns in store.FigureNames order.
var figureCols = strings.Join(store.FigureNames, ", ")

// orgRollup is an organization's rollup state.
type orgRollup struct {
	loc                  *time.Location
	zone                 string
	rebuiltThrough       int64 // the outbox seq its last rebuild recounted through
	clicksRebuiltThrough int64 // the clicks rowid its last rebuild recounted through
	version              int64
}

func loadOrgRollup(ctx context.Context, q querier, orgID string) (orgRollup, bool, error) {
	var o orgRollup
	err := q.QueryRowContext(ctx, `SELECT time_zone, rebuilt_through, clicks_rebuilt_through, version FROM analytics_orgs WHERE org_id = ?`, orgID).
		Scan(&o.zone, &o.rebuiltThrough, &o.clicksRebuiltThrough, &o.version)
	if errors.Is(err, sql.ErrNoRows) {
		return o, false, nil
	}
	if err != nil {
		return o, false, err
	}
	if o.loc, err = time.LoadLocation(o.zone); err != nil {
		return o, false, fmt.Errorf("sqlite: analytics zone %q of %s: %w", o.zone, orgID, err)
	}
	return o, true, nil
}

// feedCursor is the rollup's position in the outbox (0 before its first run).
func feedCursor(ctx context.Context, q querier) (int64, time.Time, error) {
	var cursor int64
	var asOf string
	err := q.QueryRowContext(ctx, `SELECT cursor, as_of FROM analytics_feed WHERE id = 1`).Scan(&cursor, &asOf)
	if errors.Is(err, sql.ErrNoRows) {
		return 0, time.Time{}, nil
	}
	if err != nil {
		return 0, time.Time{}, err
	}
	t, err := parseTime(asOf)
	return cursor, t, err
}

func setFeedCursor(ctx context.Context, tx *wtx, cursor int64, asOf time.Time) error {
	_, err := tx.ExecContext(ctx, `INSERT INTO analytics_feed (id, cursor, as_of) VALUES (1, ?, ?)
		ON CONFLICT (id) DO UPDATE SET cursor = excluded.cursor, as_of = excluded.as_of`, cursor, formatTime(asOf))
	return err
}

// clickCursor is the rollup's position in the clicks table: the rowid of
// the last click it read (the migration set it past every click written
// before the click feed; those are in the outbox).
func clickCursor(ctx context.Context, q querier) (int64, error) {
	var cursor int64
	err := q.QueryRowContext(ctx, `SELECT cursor FROM analytics_click_feed WHERE id = 1`).Scan(&cursor)
	if errors.Is(err, sql.ErrNoRows) {
		return 0, nil
	}
	return cursor, err
}

// clicksHead is the rowid of the last click written.
func clicksHead(ctx context.Context, q querier) (int64, error) {
	var head int64
	err := q.QueryRowContext(ctx, `SELECT COALESCE(MAX(rowid), 0) FROM clicks`).Scan(&head)
	return head, err
}

// outboxHead is the highest sequence number the outbox has handed out.
func outboxHead(ctx context.Context, q querier) (int64, error) {
	var head sql.NullInt64
	err := q.QueryRowContext(ctx, `SELECT seq FROM sqlite_sequence WHERE name = 'outbox'`).Scan(&head)
	if errors.Is(err, sql.ErrNoRows) {
		return 0, nil
	}
	return head.Int64, err
}

// RollUp applies the analytics deltas of up to limit outbox changes after
// the outbox cursor and up to limit clicks after the click cursor, and
// moves both cursors past them, in one transaction. Changes and clicks of
// an organization whose cells are not built, or that its last rebuild
// already recounted, are passed over.
func (s *Store) RollUp(ctx context.Context, limit int, fold store.FoldFunc) (store.RollUpResult, error) {
	if limit <= 0 {
		limit = 1000
	}
	var res store.RollUpResult
	err := s.write(ctx, func(tx *wtx) error {
		res = store.RollUpResult{}
		cursor, asOf, err := feedCursor(ctx, tx)
		if err != nil {
			return err
		}
		clicksFrom, err := clickCursor(ctx, tx)
		if err != nil {
			return err
		}
		changes, err := readChanges(ctx, tx, `seq > ?`, []any{cursor}, limit)
		if err != nil {
			return err
		}
		clicks, err := readClicks(ctx, tx, `rowid > ?`, []any{clicksFrom}, limit)
		if err != nil {
			return err
		}
		res.Changes = len(changes) + len(clicks)
		res.CaughtUp = len(changes) < limit && len(clicks) < limit
		orgs := map[string]*orgRollup{}
		org := func(orgID string) (*orgRollup, error) {
			o, ok := orgs[orgID]
			if !ok {
				st, found, err := loadOrgRollup(ctx, tx, orgID)
				if err != nil {
					return nil, err
				}
				if found {
					o = &st
				}
				orgs[orgID] = o
			}
			return o, nil
		}
		var counted []store.Change
		for _, c := range changes {
			if !isAnalyticsEntity(c.Entity) {
				continue
			}
			o, err := org(c.OrgID)
			if err != nil {
				return err
			}
			if o != nil && c.Seq > o.rebuiltThrough {
				counted = append(counted, c)
			}
		}
		for _, c := range clicks {
			o, err := org(c.OrgID)
			if err != nil {
				return err
			}
			if o != nil && c.Seq > o.clicksRebuiltThrough {
				counted = append(counted, c)
			}
		}
		cells, err := fold(counted, func(orgID string) *time.Location {
			if o := orgs[orgID]; o != nil {
				return o.loc
			}
			return nil
		})
		if err != nil {
			return err
		}
		if err := addCells(ctx, tx, cells); err != nil {
			return err
		}
		res.Cells = len(cells)
		// Nothing else can commit while this transaction holds the writer:
		// a feed read to its end has given everything made before now, one
		// that is not as far as its last item.
		at := time.Now()
		if len(changes) > 0 {
			cursor = changes[len(changes)-1].Seq
			if len(changes) == limit {
				at = changes[len(changes)-1].At
			}
		}
		if len(clicks) > 0 {
			last := clicks[len(clicks)-1]
			if len(clicks) == limit && last.At.Before(at) {
				at = last.At
			}
			if _, err := tx.ExecContext(ctx, `UPDATE analytics_click_feed SET cursor = ? WHERE id = 1`, last.Seq); err != nil {
				return err
			}
		}
		if at.After(asOf) {
			asOf = at
		}
		res.AsOf = asOf
		return setFeedCursor(ctx, tx, cursor, asOf)
	})
	return res, err
}

func isAnalyticsEntity(entity string) bool {
	for _, e := range analyticsEntities {
		if e == entity {
			return true
		}
	}
	return false
}

// readChanges reads outbox rows matching where, oldest first.
func readChanges(ctx context.Context, q querier, where string, args []any, limit int) ([]store.Change, error) {
	return readFeed(ctx, q, `SELECT seq, entity, op, org_id, id, old_image, new_image, at FROM outbox WHERE `+where+` ORDER BY seq`,
		args, limit, func(rows *sql.Rows, c *store.Change, at *string) error {
			// Straight into the images (NULL: nil), one copy each.
			return rows.Scan(&c.Seq, &c.Entity, &c.Op, &c.OrgID, &c.ID, &c.OldImage, &c.NewImage, at)
		})
}

// readClicks reads clicks matching where as changes (click INSERTs whose
// Seq is the rowid), oldest first.
func readClicks(ctx context.Context, q querier, where string, args []any, limit int) ([]store.Change, error) {
	return readFeed(ctx, q, `SELECT rowid, org_id, id, data, at FROM clicks WHERE `+where+` ORDER BY rowid`,
		args, limit, func(rows *sql.Rows, c *store.Change, at *string) error {
			var data string
			c.Entity, c.Op = entityClick, opInsert
			if err := rows.Scan(&c.Seq, &c.OrgID, &c.ID, &data, at); err != nil {
				return err
			}
			c.NewImage = []byte(data)
			return nil
		})
}

// readFeed runs query (with a LIMIT if limit > 0) and scans each row into
// a change with scan, which also gives the row's time.
func readFeed(ctx context.Context, q querier, query string, args []any, limit int,
	scan func(rows *sql.Rows, c *store.Change, at *string) error) ([]store.Change, error) {
	if limit > 0 {
		query += ` LIMIT ?`
		args = append(args, limit)
	}
	rows, err := q.QueryContext(ctx, query, args...)
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	var out []store.Change
	for rows.Next() {
		var c store.Change
		var at string
		if err := scan(rows, &c, &at); err != nil {
			return nil, err
		}
		if c.At, err = parseTime(at); err != nil {
			return nil, err
		}
		out = append(out, c)
	}
	return out, rows.Err()
}

// addCells adds each delta to its cell, creating it at zero.
func addCells(ctx context.Context, tx *wtx, cells []store.Cell) error {
	if len(cells) == 0 {
		return nil
	}
	sets := make([]string, len(store.FigureNames))
	for i, n := range store.FigureNames {
		sets[i] = n + " = " + n + " + excluded." + n
	}
	stmt, err := tx.PrepareContext(ctx, `INSERT INTO analytics_cells
		(org_id, level, grain, dim_id, start, currency, program_id, partner_id, `+figureCols+`)
		VALUES (?, ?, ?, ?, ?, ?, ?, ?`+strings.Repeat(", ?", len(store.FigureNames))+`)
		ON CONFLICT (org_id, level, grain, dim_id, start, currency) DO UPDATE SET `+strings.Join(sets, ", "))
	if err != nil {
		return err
	}
	defer stmt.Close()
	for _, c := range cells {
		args := []any{c.OrgID, c.Level, c.Grain, c.DimID, c.Start, c.Currency, c.ProgramID, c.PartnerID}
		for _, v := range c.Figures.Values() {
			args = append(args, *v)
		}
		if _, err := stmt.ExecContext(ctx, args...); err != nil {
			if strings.Contains(err.Error(), "CHECK constraint failed") {
				return fmt.Errorf("%w: cell %s/%s/%s/%s/%s of %s", store.ErrOverflow, c.Level, c.DimID, c.Grain, c.Start, c.Currency, c.OrgID)
			}
			return err
		}
	}
	return nil
}

// PendingRebuilds lists organizations without cells or with cells in
// another zone than their own.
func (s *Store) PendingRebuilds(ctx context.Context) ([]domain.Organization, error) {
	rows, err := s.r.QueryContext(ctx, `SELECT o.data FROM organizations o
		LEFT JOIN analytics_orgs a ON a.org_id = o.id
		WHERE a.org_id IS NULL OR a.time_zone <> COALESCE(NULLIF(json_extract(o.data, '$.timeZone'), ''), 'UTC')
		ORDER BY o.id`)
	if err != nil {
		return nil, mapErr(err)
	}
	defer rows.Close()
	var out []domain.Organization
	for rows.Next() {
		o, err := scanOrg(rows)
		if err != nil {
			return nil, mapErr(err)
		}
		out = append(out, o)
	}
	return out, mapErr(rows.Err())
}

// recordSource is one kind of record the rollups count, as the outbox
// names it, with the query listing an organization's records of it.
type recordSource struct {
	entity string
	query  string // selects id, data; one ? for the organization
}

var rebuildSources = []recordSource{
	{entityClick, `SELECT id, data FROM clicks WHERE org_id = ?`},
	{entityReferral, `SELECT id, data FROM referrals WHERE org_id = ?`},
	{entityConversion, `SELECT id, data FROM conversions WHERE org_id = ?`},
	{entityDeal, `SELECT id, data FROM deals WHERE org_id = ?`},
	{entityCommission, `SELECT id, data FROM commissions WHERE org_id = ?`},
}

// foldRecords folds rows of (id, data) as INSERTs of entity in chunks,
// handing each chunk's cells to sink.
func foldRecords(ctx context.Context, q querier, orgID, entity, query string, args []any, loc *time.Location,
	fold store.FoldFunc, sink func([]store.Cell) error) error {
	rows, err := q.QueryContext(ctx, query, args...)
	if err != nil {
		return err
	}
	defer rows.Close()
	const chunk = 2000
	batch := make([]store.Change, 0, chunk)
	zone := func(string) *time.Location { return loc }
	flush := func() error {
		if len(batch) == 0 {
			return nil
		}
		cells, err := fold(batch, zone)
		if err != nil {
			return err
		}
		batch = batch[:0]
		return sink(cells)
	}
	for rows.Next() {
		var id, data string
		if err := rows.Scan(&id, &data); err != nil {
			return err
		}
		batch = append(batch, store.Change{Entity: entity, Op: opInsert, OrgID: orgID, ID: id, NewImage: []byte(data)})
		if len(batch) == chunk {
			if err := flush(); err != nil {
				return err
			}
		}
	}
	if err := rows.Err(); err != nil {
		return err
	}
	return flush()
}

// RebuildAnalytics recounts every cell of org from its records in org's
// zone, in one write transaction: the recount is exactly the state of the
// records at that moment, and the changes up to the outbox's head and the
// clicks up to the clicks' last rowid — the ones the recount includes —
// are marked as rebuilt through, so the feeds skip them.
func (s *Store) RebuildAnalytics(ctx context.Context, org domain.Organization, fold store.FoldFunc) error {
	loc, err := time.LoadLocation(org.Zone())
	if err != nil {
		return fmt.Errorf("sqlite: rebuild analytics of %s: %w", org.ID, err)
	}
	return s.write(ctx, func(tx *wtx) error {
		head, err := outboxHead(ctx, tx)
		if err != nil {
			return err
		}
		clicks, err := clicksHead(ctx, tx)
		if err != nil {
			return err
		}
		if _, err := tx.ExecContext(ctx, `DELETE FROM analytics_cells WHERE org_id = ?`, org.ID); err != nil {
			return err
		}
		for _, src := range rebuildSources {
			if err := foldRecords(ctx, tx, org.ID, src.entity, src.query, []any{org.ID}, loc, fold,
				func(cells []store.Cell) error { return addCells(ctx, tx, cells) }); err != nil {
				return err
			}
		}
		_, err = tx.ExecContext(ctx, `INSERT INTO analytics_orgs (org_id, time_zone, rebuilt_through, clicks_rebuilt_through, version)
			VALUES (?, ?, ?, ?, 1)
			ON CONFLICT (org_id) DO UPDATE SET time_zone = excluded.time_zone, rebuilt_through = excluded.rebuilt_through,
				clicks_rebuilt_through = excluded.clicks_rebuilt_through, version = analytics_orgs.version + 1`,
			org.ID, org.Zone(), head, clicks)
		return err
	})
}

// HealAnalytics recounts org's day cells of the days from..to and corrects
// them and their months by the difference, in one write transaction: the
// expected cells are the stored ones plus the changes the feed has not
// applied yet, so only what the feed lost is corrected.
func (s *Store) HealAnalytics(ctx context.Context, orgID, from, to string, fold store.FoldFunc) (int, error) {
	if !store.ValidDate(from) || !store.ValidDate(to) || to < from {
		return 0, fmt.Errorf("sqlite: heal analytics: bad days %q..%q", from, to)
	}
	corrected := 0
	err := s.write(ctx, func(tx *wtx) error {
		corrected = 0
		o, ok, err := loadOrgRollup(ctx, tx, orgID)
		if err != nil || !ok {
			return err // not built yet: the rebuild will count everything
		}
		first, _ := time.ParseInLocation(store.DateLayout, from, o.loc)
		last, _ := time.ParseInLocation(store.DateLayout, to, o.loc)
		start, end := first, last.AddDate(0, 0, 1)
		inDays := func(c store.Cell) bool { return c.Grain == store.GrainDay && c.Start >= from && c.Start <= to }
		key := func(c store.Cell) store.CellKey { return c.CellKey }

		// What the records say now.
		recount := map[store.CellKey]store.Cell{}
		collect := func(into map[store.CellKey]store.Cell, sign bool) func([]store.Cell) error {
			return func(cells []store.Cell) error {
				for _, c := range cells {
					if !inDays(c) {
						continue
					}
					if !sign {
						c.Figures = c.Figures.Neg()
					}
					cur, ok := into[key(c)]
					if !ok {
						into[key(c)] = c
						continue
					}
					if err := cur.Figures.Add(c.Figures); err != nil {
						return err
					}
					into[key(c)] = cur
				}
				return nil
			}
		}
		// Records by the time they count at; ledger entries by creation
		// (an entry is created after the moment it belongs to).
		lo, hi := formatTime(start), formatTime(end)
		sources := []struct {
			entity, query string
			args          []any
		}{
			{entityClick, `SELECT id, data FROM clicks WHERE org_id = ? AND at >= ? AND at < ?`, []any{orgID, lo, hi}},
			{entityReferral, `SELECT id, data FROM referrals WHERE org_id = ? AND created_at >= ? AND created_at < ?`, []any{orgID, lo, hi}},
			{entityConversion, `SELECT id, data FROM conversions WHERE org_id = ? AND occurred_at >= ? AND occurred_at < ?`, []any{orgID, lo, hi}},
			{entityDeal, `SELECT id, data FROM deals WHERE org_id = ?`, []any{orgID}},
			{entityCommission, `SELECT id, data FROM commissions WHERE org_id = ? AND created_at >= ?`, []any{orgID, formatTime(start.Add(-time.Minute))}},
		}
		for _, src := range sources {
			if err := foldRecords(ctx, tx, orgID, src.entity, src.query, src.args, o.loc, fold, collect(recount, true)); err != nil {
				return err
			}
		}

		// What the cells will say once the feed has applied what it has not
		// read yet: the stored cells minus that (so recount − expected is
		// only what was lost).
		cursor, _, err := feedCursor(ctx, tx)
		if err != nil {
			return err
		}
		pending, err := readChanges(ctx, tx, `seq > ? AND org_id = ?`, []any{max(cursor, o.rebuiltThrough), orgID}, 0)
		if err != nil {
			return err
		}
		var counted []store.Change
		for _, c := range pending {
			if isAnalyticsEntity(c.Entity) {
				counted = append(counted, c)
			}
		}
		clicksFrom, err := clickCursor(ctx, tx)
		if err != nil {
			return err
		}
		// By rowid, not the organization's index: the clicks the feed has
		// not read are the table's last few.
		pendingClicks, err := readClicks(ctx, tx, `rowid > ? AND +org_id = ?`, []any{max(clicksFrom, o.clicksRebuiltThrough), orgID}, 0)
		if err != nil {
			return err
		}
		counted = append(counted, pendingClicks...)
		pendingCells, err := fold(counted, func(string) *time.Location { return o.loc })
		if err != nil {
			return err
		}
		diff := recount
		if err := collect(diff, false)(pendingCells); err != nil {
			return err
		}
		stored, err := s.cellsIn(ctx, tx, orgID, from, to)
		if err != nil {
			return err
		}
		if err := collect(diff, false)(stored); err != nil {
			return err
		}

		var fixes []store.Cell
		for _, c := range diff {
			if c.Figures.IsZero() {
				continue
			}
			fixes = append(fixes, c)
			d, err := time.Parse(store.DateLayout, c.Start)
			if err != nil {
				return err
			}
			m := c
			m.Grain = store.GrainMonth
			m.Start = time.Date(d.Year(), d.Month(), 1, 0, 0, 0, 0, time.UTC).Format(store.DateLayout)
			fixes = append(fixes, m)
		}
		corrected = len(fixes) / 2
		return addCells(ctx, tx, fixes)
	})
	return corrected, err
}

// cellsIn reads every day cell of org within the days from..to.
func (s *Store) cellsIn(ctx context.Context, q querier, orgID, from, to string) ([]store.Cell, error) {
	rows, err := q.QueryContext(ctx, `SELECT org_id, level, grain, dim_id, start, currency, program_id, partner_id, `+figureCols+`
		FROM analytics_cells WHERE org_id = ? AND grain = ? AND start >= ? AND start <= ?`, orgID, store.GrainDay, from, to)
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	var out []store.Cell
	for rows.Next() {
		c, err := scanCell(rows)
		if err != nil {
			return nil, err
		}
		out = append(out, c)
	}
	return out, rows.Err()
}

func scanCell(sc rowScanner) (store.Cell, error) {
	var c store.Cell
	dst := []any{&c.OrgID, &c.Level, &c.Grain, &c.DimID, &c.Start, &c.Currency, &c.ProgramID, &c.PartnerID}
	for _, v := range c.Figures.Values() {
		dst = append(dst, v)
	}
	return c, sc.Scan(dst...)
}

// SumCells sums the cells q selects with SQLite's SUM, which fails on an
// integer overflow instead of wrapping.
func (s *Store) SumCells(ctx context.Context, q store.CellQuery) ([]store.Cell, error) {
	where := []string{"org_id = ?", "level = ?", "grain = ?", "start >= ?", "start <= ?"}
	args := []any{q.OrgID, q.Level, q.Grain, q.From, q.To}
	if q.DimIDs != nil {
		if len(q.DimIDs) == 0 {
			return nil, nil
		}
		where = append(where, "dim_id IN (?"+strings.Repeat(", ?", len(q.DimIDs)-1)+")")
		for _, d := range q.DimIDs {
			args = append(args, d)
		}
	}
	if q.ProgramID != "" {
		where = append(where, "program_id = ?")
		args = append(args, q.ProgramID)
	}
	if q.PartnerIDs != nil {
		if len(q.PartnerIDs) == 0 {
			return nil, nil
		}
		where = append(where, "partner_id IN (?"+strings.Repeat(", ?", len(q.PartnerIDs)-1)+")")
		for _, p := range q.PartnerIDs {
			args = append(args, p)
		}
	}
	// Figures not asked for are selected as 0, so that a query asking for
	// the few the covering index holds (analytics_cells_top) reads only
	// the index.
	sums := make([]string, len(store.FigureNames))
	for i, n := range store.FigureNames {
		sums[i] = "0"
		if q.Figures == nil || slices.Contains(q.Figures, n) {
			sums[i] = "SUM(" + n + ")"
		}
	}
	var sel, group string
	switch q.GroupBy {
	case store.GroupByStart:
		sel, group = `'', start, currency, '', ''`, `start, currency`
	case store.GroupByDim:
		sel, group = `dim_id, '', currency, MAX(program_id), MAX(partner_id)`, `dim_id, currency`
	default:
		sel, group = `'', '', currency, '', ''`, `currency`
	}
	rows, err := s.r.QueryContext(ctx, `SELECT `+sel+`, `+strings.Join(sums, ", ")+` FROM analytics_cells
		WHERE `+strings.Join(where, " AND ")+` GROUP BY `+group+` ORDER BY `+group, args...)
	if err != nil {
		if strings.Contains(err.Error(), "integer overflow") {
			return nil, store.ErrOverflow
		}
		return nil, mapErr(err)
	}
	defer rows.Close()
	var out []store.Cell
	for rows.Next() {
		c := store.Cell{OrgID: q.OrgID, CellKey: store.CellKey{Level: q.Level, Grain: q.Grain}}
		dst := []any{&c.DimID, &c.Start, &c.Currency, &c.ProgramID, &c.PartnerID}
		for _, v := range c.Figures.Values() {
			dst = append(dst, v)
		}
		if err := rows.Scan(dst...); err != nil {
			return nil, mapErr(err)
		}
		out = append(out, c)
	}
	if err := rows.Err(); err != nil {
		if strings.Contains(err.Error(), "integer overflow") {
			return nil, store.ErrOverflow
		}
		return nil, mapErr(err)
	}
	return out, nil
}

// AnalyticsState reports org's zone and the feed's position in time.
func (s *Store) AnalyticsState(ctx context.Context, orgID string) (store.AnalyticsState, error) {
	st := store.AnalyticsState{OrgID: orgID}
	o, ok, err := loadOrgRollup(ctx, s.r, orgID)
	if err != nil || !ok {
		return st, mapErr(err)
	}
	_, asOf, err := feedCursor(ctx, s.r)
	if err != nil {
		return st, mapErr(err)
	}
	st.TimeZone, st.AsOf = o.zone, asOf
	return st, nil
}
