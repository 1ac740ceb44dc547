package analytics

import (
	"context"
	"errors"
	"io"
	"log/slog"
	"sync"
	"time"

	"github.com/partnerloop/partnerloop/internal/domain"
	"github.com/partnerloop/partnerloop/internal/store"
)

// RollupStore is what the rollup job needs of a store.
type RollupStore interface {
	store.Analytics
	ListOrganizations(ctx context.Context, p store.Page) ([]domain.Organization, string, error)
}

// Defaults of the rollup job.
const (
	DefaultBatch     = 1000
	DefaultHealEvery = 5 * time.Minute
	// DefaultHealDays is how many local days back a heal recounts:
	// yesterday and today.
	DefaultHealDays = 2
	// maxRounds bounds one run's RollUp calls, so a run ends even under a
	// steady stream of changes (the next run continues).
	maxRounds = 1000
)

// Rollup keeps the cells current: each run builds the cells of
// organizations that have none or changed their time zone, applies every
// change the feed has (Store.RollUp, exactly once however many runs
// overlap), and now and then recounts the recent days from the records to
// heal what a lost delivery left out. The embedded server runs it on a
// ticker, AWS on a schedule (functions/analytics-rollup).
type Rollup struct {
	Store RollupStore
	Now   domain.Clock
	Log   *slog.Logger
	// Batch is how many changes one RollUp reads (DefaultBatch).
	Batch int
	// HealEvery is how often a run also heals (DefaultHealEvery; negative:
	// never). HealDays is how many local days back it recounts.
	HealEvery time.Duration
	HealDays  int

	mu       sync.Mutex // guards lastHeal: runs may overlap
	lastHeal time.Time
}

// RunStats describes one run.
type RunStats struct {
	Rebuilt  int           `json:"rebuilt"`  // organizations whose cells were rebuilt
	Changes  int           `json:"changes"`  // feed changes read
	Cells    int           `json:"cells"`    // cell deltas applied
	Healed   int           `json:"healed"`   // cells a heal corrected
	CaughtUp bool          `json:"caughtUp"` // the feed was read to its end
	AsOf     time.Time     `json:"asOf"`
	Took     time.Duration `json:"took"`
}

// RunOnce runs the job once. An organization that fails to rebuild or heal
// is logged and left for the next run; a feed error ends the run.
func (r *Rollup) RunOnce(ctx context.Context) (RunStats, error) {
	now := r.now()
	start := time.Now()
	var st RunStats
	pending, err := r.Store.PendingRebuilds(ctx)
	if err != nil {
		return st, err
	}
	for _, org := range pending {
		if err := r.Store.RebuildAnalytics(ctx, org, Fold); err != nil {
			if ctx.Err() != nil {
				return st, ctx.Err()
			}
			r.log().Error("analytics rebuild failed", "organization", org.ID, "error", err)
			continue
		}
		st.Rebuilt++
		r.log().Info("analytics rebuilt", "organization", org.ID, "timeZone", org.Zone())
	}
	batch := r.Batch
	if batch <= 0 {
		batch = DefaultBatch
	}
	for round := 0; round < maxRounds && !nearDeadline(ctx); round++ {
		res, err := r.Store.RollUp(ctx, batch, Fold)
		if err != nil {
			return st, err
		}
		st.Changes += res.Changes
		st.Cells += res.Cells
		st.AsOf = res.AsOf
		if res.CaughtUp {
			st.CaughtUp = true
			break
		}
	}
	if !nearDeadline(ctx) && r.claimHeal(now) {
		n, err := r.healAll(ctx, now)
		st.Healed = n
		if err != nil {
			return st, err
		}
	}
	st.Took = time.Since(start)
	return st, nil
}

// claimHeal reports whether a heal is due, and if so marks it done now
// (a failed heal waits for the next period like a successful one).
func (r *Rollup) claimHeal(now time.Time) bool {
	every := r.HealEvery
	if every == 0 {
		every = DefaultHealEvery
	}
	r.mu.Lock()
	defer r.mu.Unlock()
	if every < 0 || (!r.lastHeal.IsZero() && now.Sub(r.lastHeal) < every) {
		return false
	}
	r.lastHeal = now
	return true
}

// healAll heals the recent days of every organization.
func (r *Rollup) healAll(ctx context.Context, now time.Time) (int, error) {
	days := r.HealDays
	if days <= 0 {
		days = DefaultHealDays
	}
	healed := 0
	page := store.Page{Limit: store.MaxLimit}
	for {
		orgs, next, err := r.Store.ListOrganizations(ctx, page)
		if err != nil {
			return healed, err
		}
		for _, org := range orgs {
			n, err := r.Heal(ctx, org.ID, now, days)
			healed += n
			if err != nil {
				if ctx.Err() != nil {
					return healed, ctx.Err()
				}
				r.log().Error("analytics heal failed", "organization", org.ID, "error", err)
			}
		}
		if next == "" {
			return healed, nil
		}
		page.Cursor = next
	}
}

// Heal recounts one organization's last days (today and the days-1 before
// it, in the zone its cells are in) and corrects drift.
func (r *Rollup) Heal(ctx context.Context, orgID string, now time.Time, days int) (int, error) {
	state, err := r.Store.AnalyticsState(ctx, orgID)
	if err != nil || state.TimeZone == "" {
		return 0, err
	}
	loc, err := zoneOf(state.TimeZone)
	if err != nil {
		return 0, err
	}
	today := DateOf(now, loc)
	n, err := r.Store.HealAnalytics(ctx, orgID, today.AddDays(-(days - 1)).String(), today.String(), Fold)
	if n > 0 {
		r.log().Warn("analytics drift corrected", "organization", orgID, "cells", n)
	}
	return n, err
}

// Run runs the job every interval until ctx ends (the embedded server's
// ticker). Failed runs are logged and retried on the next tick.
func (r *Rollup) Run(ctx context.Context, every time.Duration) {
	t := time.NewTicker(every)
	defer t.Stop()
	for {
		st, err := r.RunOnce(ctx)
		switch {
		case errors.Is(err, context.Canceled) || ctx.Err() != nil:
			return
		case err != nil:
			r.log().Error("analytics rollup failed", "error", err)
		case st.Changes > 0 || st.Rebuilt > 0:
			r.log().Debug("analytics rollup", "changes", st.Changes, "cells", st.Cells, "rebuilt", st.Rebuilt, "took", st.Took)
		}
		select {
		case <-ctx.Done():
			return
		case <-t.C:
		}
	}
}

// deadlineMargin is the time a run leaves itself before its context's
// deadline (a Lambda invocation's): enough to finish the RollUp under way.
const deadlineMargin = 20 * time.Second

// nearDeadline reports whether ctx ends within deadlineMargin: the run
// stops there, and the next one goes on.
func nearDeadline(ctx context.Context) bool {
	d, ok := ctx.Deadline()
	return ok && time.Until(d) < deadlineMargin
}

func (r *Rollup) now() time.Time {
	if r.Now != nil {
		return r.Now()
	}
	return time.Now()
}

func (r *Rollup) log() *slog.Logger {
	if r.Log == nil {
		return slog.New(slog.NewTextHandler(io.Discard, nil))
	}
	return r.Log
}
