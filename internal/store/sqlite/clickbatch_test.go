package sqlite

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"math/rand/v2"
	"path/filepath"
	"slices"
	"testing"
	"time"

	"github.com/partnerloop/partnerloop/internal/domain"
	"github.com/partnerloop/partnerloop/internal/store"
)

// TestClickBatchDecidesAsOneAtATime: a commit group's clicks are decided
// and written together (clickbatch.go). For random groups — repeats of a
// visitor inside the group and across groups, the previous day's hash,
// addresses at their limit, windows that roll over, unknown referrers,
// several codes, a click whose id is taken — the batched store must answer
// every click and end with exactly the rows of a store that recorded them
// one at a time, each in its own transaction. Half the groups hold another
// write too (the clicks then run in a savepoint), which must commit.
func TestClickBatchDecidesAsOneAtATime(t *testing.T) {
	ctx := context.Background()
	batched, single := openT(t, filepath.Join(t.TempDir(), "a")), openT(t, filepath.Join(t.TempDir(), "b"))
	for _, s := range []*Store{batched, single} {
		for i, code := range []string{"jane", "john", "jill"} {
			if err := s.CreateReferrer(ctx, domain.Referrer{ID: fmt.Sprintf("rfr_%d", i), OrgID: "org_a", ProgramID: "prg_1",
				Email: code + "@x.io", Code: code}); err != nil {
				t.Fatal(err)
			}
		}
	}
	rng := rand.New(rand.NewPCG(1, 2))
	at := t0
	n := 0
	for group := range 60 {
		var clicks, twins []*pendingClick
		for range 1 + rng.IntN(maxGroup) {
			n++
			at = at.Add(time.Duration(rng.IntN(300)) * time.Second)
			r := rng.IntN(3)
			c := domain.Click{ID: fmt.Sprintf("clk_%05d", n), OrgID: "org_a", ReferrerID: fmt.Sprintf("rfr_%d", r),
				Code: []string{"jane", "john", "jill"}[r], VisitorHash: fmt.Sprintf("v%d", rng.IntN(40)), At: at}
			switch rng.IntN(20) {
			case 0:
				c.ReferrerID = "rfr_gone" // not the organization's
			case 1:
				c.ID = "clk_00001" // taken: fails alone
			case 2:
				c.Code = "JANE" // the same code by CodeKey
				c.ReferrerID = "rfr_0"
			}
			lim := store.ClickLimits{Window: time.Hour}
			if rng.IntN(3) > 0 {
				lim.SourceHash, lim.PerSource = fmt.Sprintf("s%d", rng.IntN(8)), 1+rng.IntN(4)
			}
			if rng.IntN(4) == 0 {
				lim.PrevVisitorHash = fmt.Sprintf("v%d", rng.IntN(40))
				if rng.IntN(2) == 0 {
					lim.PrevSourceHash = fmt.Sprintf("s%d", rng.IntN(8))
				}
			}
			c = normClick(c)
			data, err := marshal(c)
			if err != nil {
				t.Fatal(err)
			}
			p := &pendingClick{c: c, data: data, key: domain.CodeKey(c.Code), lim: lim}
			if rng.IntN(2) == 0 {
				p.boxRows() // as RecordClick does when groups are forming
			}
			twin := *p
			clicks, twins = append(clicks, p), append(twins, &twin)
		}
		reqs := make([]groupReq, len(clicks))
		for i, p := range clicks {
			reqs[i] = groupReq{click: p}
		}
		if group%2 == 1 {
			// Another write in the group: the batch runs in a savepoint.
			reqs = append(reqs, groupReq{fn: func(ctx context.Context, tx *wtx) error {
				_, err := tx.ExecContext(ctx, `INSERT INTO day_salts (day, salt, expires_at) VALUES (?, x'00', ?)`, fmt.Sprint(group), formatTime(t0))
				return err
			}})
		}
		errs := batched.commitGroup(reqs)
		if group%2 == 1 && errs[len(errs)-1] != nil {
			t.Fatalf("group %d: the other write: %v", group, errs[len(errs)-1])
		}
		for i, twin := range twins {
			lt := single.limits.begin()
			err := single.write(ctx, func(tx *wtx) error {
				var err error
				twin.counted, err = recordClickTx(ctx, tx, lt, twin)
				return err
			})
			if err == nil {
				lt.committed(nil)
			}
			if twin.counted = twin.counted && err == nil; !errors.Is(errs[i], err) || clicks[i].counted != twin.counted {
				t.Fatalf("group %d, click %d (%+v, %+v): batched %v, %v; alone %v, %v",
					group, i, twin.c, twin.lim, clicks[i].counted, errs[i], twin.counted, err)
			}
		}
	}
	for _, q := range []string{
		`SELECT code_key, source_hash, window_start, visitor_hash, last_at FROM click_limits ORDER BY 1, 2, 3, 4`,
		`SELECT id, org_id, referrer_id, visitor_hash, at, data FROM clicks ORDER BY id`,
		`SELECT id, clicks FROM referrers ORDER BY id`,
		// The rollup's click feed: the clicks in rowid order.
		`SELECT rowid, id FROM clicks ORDER BY rowid`,
	} {
		a, b := dumpRows(t, batched.r.DB, q), dumpRows(t, single.r.DB, q)
		if !slices.Equal(a, b) {
			t.Errorf("%s:\nbatched %d rows %v\nalone   %d rows %v", q, len(a), a, len(b), b)
		}
		if len(a) < 3 {
			t.Errorf("%s: only %d rows (the test writes too little)", q, len(a))
		}
	}
	for _, s := range []*Store{batched, single} {
		if rows := dumpRows(t, s.r.DB, `SELECT seq FROM outbox WHERE entity = 'click'`); len(rows) != 0 {
			t.Errorf("%d click rows in the outbox, want none (the rollup reads the clicks table)", len(rows))
		}
	}
}

func dumpRows(t *testing.T, db *sql.DB, q string) []string {
	t.Helper()
	rows, err := db.Query(q)
	if err != nil {
		t.Fatal(err)
	}
	defer rows.Close()
	cols, _ := rows.Columns()
	var out []string
	for rows.Next() {
		vals := make([]any, len(cols))
		ptrs := make([]any, len(cols))
		for i := range vals {
			ptrs[i] = &vals[i]
		}
		if err := rows.Scan(ptrs...); err != nil {
			t.Fatal(err)
		}
		out = append(out, fmt.Sprint(vals...))
	}
	if err := rows.Err(); err != nil {
		t.Fatal(err)
	}
	return out
}
