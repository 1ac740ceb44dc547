package demo

import (
	"context"
	"fmt"
	"slices"
	"time"

	"github.com/partnerloop/partnerloop/internal/commission"
	"github.com/partnerloop/partnerloop/internal/ledger"
	"github.com/partnerloop/partnerloop/internal/pipeline"
	"github.com/partnerloop/partnerloop/internal/store"
)

// The finance team's routine, through the ledger service with the admin as
// the actor of every change (the audit trail says who, when and why):
//   - every Monday it reviews pending commissions: approves those out of
//     their hold period and rejects the odd one, with a reason;
//   - on the 10th of each month it pays what was approved at least a week
//     before, one payout reference per payee;
//   - on the 1st, the period-close job re-rates the retroactive tiers of
//     the month that ended (as the hourly job does).

func (w *world) scheduleFinance() {
	monday := w.dayAt(7, 10*time.Hour)
	for monday.Weekday() != time.Monday {
		monday = monday.Add(day)
	}
	w.every(monday, func(t time.Time) time.Time { return t.AddDate(0, 0, 7) }, w.review)
	first := time.Date(w.start.Year(), w.start.Month(), 1, 0, 0, 0, 0, time.UTC).AddDate(0, 1, 0)
	w.every(first.Add(2*time.Hour), func(t time.Time) time.Time { return t.AddDate(0, 1, 0) }, func(ctx context.Context) error {
		_, err := pipeline.ClosePeriods(ctx, w.ls, w.sim.now, nil)
		return err
	})
	w.every(first.AddDate(0, 0, 9).Add(14*time.Hour), func(t time.Time) time.Time { return t.AddDate(0, 1, 0) }, w.payout)
}

// every runs fn at first and then at each next(t), until the present.
func (w *world) every(first time.Time, next func(time.Time) time.Time, fn func(context.Context) error) {
	w.sim.at(first, func(ctx context.Context) error {
		if err := fn(ctx); err != nil {
			return err
		}
		w.every(next(first), next, fn)
		return nil
	})
}

// review approves every pending entry out of its hold period and rejects
// every rejectEvery-th commission seen for the first time.
func (w *world) review(ctx context.Context) error {
	pending, err := w.commissions(ctx, commission.StatusPending)
	if err != nil {
		return err
	}
	var approve []string
	for _, c := range pending {
		if !w.reviewed[c.ID] {
			w.reviewed[c.ID] = true
			if c.Kind == commission.KindCommission && c.OriginalID == "" {
				w.reviews++
				if w.reviews%rejectEvery == 0 {
					reason := commissionRejections[(w.reviews/rejectEvery)%len(commissionRejections)]
					if _, err := w.ledger.Reject(ctx, w.org, w.admin.UserID, []string{c.ID}, reason); err != nil {
						return fmt.Errorf("demo: reject %s: %w", c.ID, err)
					}
					continue
				}
			}
		}
		if !w.sim.now.Before(c.AvailableAt) {
			approve = append(approve, c.ID)
		}
	}
	for batch := range slices.Chunk(approve, ledger.MaxBatch) {
		if _, err := w.ledger.Approve(ctx, w.org, w.admin.UserID, batch); err != nil {
			return fmt.Errorf("demo: approve: %w", err)
		}
	}
	return nil
}

// payout marks paid what was approved at least payoutAfter ago, with one
// payout reference per payee (partner or referrer).
func (w *world) payout(ctx context.Context) error {
	approved, err := w.commissions(ctx, commission.StatusApproved)
	if err != nil {
		return err
	}
	byPayee := map[string][]string{}
	for _, c := range approved {
		if c.UpdatedAt.After(w.sim.now.Add(-payoutAfter)) {
			continue // approved this week: next month's run
		}
		payee := commission.Beneficiary(c.ReferrerID, c.PartnerID)
		byPayee[payee] = append(byPayee[payee], c.ID)
	}
	payees := make([]string, 0, len(byPayee))
	for p := range byPayee {
		payees = append(payees, p)
	}
	slices.Sort(payees)
	for i, p := range payees {
		ref := fmt.Sprintf("PAY-%s-%03d", w.sim.now.Format("2006-01"), i+1)
		for batch := range slices.Chunk(byPayee[p], ledger.MaxBatch) {
			if _, err := w.ledger.MarkPaid(ctx, w.org, w.admin.UserID, batch, ref); err != nil {
				return fmt.Errorf("demo: pay %s: %w", ref, err)
			}
		}
	}
	return nil
}

// commissions lists every ledger entry in status, oldest first.
func (w *world) commissions(ctx context.Context, status commission.Status) ([]commission.Commission, error) {
	out, err := allPages(func(p store.Page) ([]commission.Commission, string, error) {
		return w.ledger.List(ctx, w.org, store.CommissionFilter{Status: string(status)}, p)
	})
	slices.Reverse(out)
	return out, err
}

// allPages reads all pages of a list.
func allPages[T any](list func(store.Page) ([]T, string, error)) ([]T, error) {
	var all []T
	page := store.Page{Limit: store.MaxLimit}
	for {
		items, next, err := list(page)
		if err != nil {
			return nil, err
		}
		all = append(all, items...)
		if next == "" {
			return all, nil
		}
		page.Cursor = next
	}
}
