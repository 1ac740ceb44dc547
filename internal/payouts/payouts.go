// Package payouts is the service behind payout runs: an admin gathers the
// organization's approved commissions into a run (one line per partner, or
// per referrer without partner, and currency), exports it as CSV for
// accounts payable, pays it through the organization's own payment
// workflow, and marks it paid with one reference, which marks every
// commission of the run paid. Partners keep their payout details in the
// portal and see their next and past payouts there.
//
// Marking a run paid cannot be one store transaction (DynamoDB writes at
// most 100 items per transaction; a run may hold thousands of commissions),
// so it is made safe in steps instead:
//
//  1. every commission of the run is checked first: each must still be
//     approved, or already paid with this run's reference (an earlier,
//     interrupted call). Any other is a 409 naming them, and nothing is
//     written;
//  2. the run moves from open to paying with the reference, on its
//     revision: of two concurrent calls one wins, and the loser continues
//     only if it carries the same reference (else 409);
//  3. the commissions are marked paid in batches of ledger.MaxBatch, each
//     batch one atomic ledger change; a batch that races another change is
//     re-read and retried, skipping entries already paid with the reference;
//  4. the run moves to paid.
//
// Every step is idempotent, so repeating the call with the same reference
// finishes an interrupted run and then answers with the paid run; a
// different reference is refused once one is fixed.
//
// While a run is unsettled nothing else moves its commissions: a refund
// claws an approved one back instead of reversing it (internal/pipeline),
// and the ledger refuses to mark one paid on its own (409 in_payout_run).
package payouts

import (
	"cmp"
	"context"
	"errors"
	"slices"
	"strings"
	"time"

	"github.com/partnerloop/partnerloop/internal/commission"
	"github.com/partnerloop/partnerloop/internal/domain"
	"github.com/partnerloop/partnerloop/internal/ledger"
	"github.com/partnerloop/partnerloop/internal/secretbox"
	"github.com/partnerloop/partnerloop/internal/store"
)

// MaxRunCommissions bounds one run: its record lists every commission ID
// and must stay well inside DynamoDB's 400 KB item limit. Approved
// commissions beyond it (the newest) wait for the next run.
const MaxRunCommissions = 5000

// batchAttempts bounds the re-reads of a mark-paid batch that raced another
// change of the ledger.
const batchAttempts = 3

// Store is what the service reads and writes (the SQLite and DynamoDB
// stores satisfy it).
type Store interface {
	store.PayoutRuns
	store.Ledger
	GetPartner(ctx context.Context, orgID, id string) (domain.Partner, error)
	GetReferrer(ctx context.Context, orgID, id string) (domain.Referrer, error)
}

// Service manages payout runs.
type Service struct {
	st  Store
	now domain.Clock
	ids domain.IDs
	box *secretbox.Box // seals payout details; nil: they cannot be read or kept
}

// New returns a payout run service. box seals the partners' payout details
// (SECRETS_KEY); without one (nil) runs still work, but payout details can
// be neither kept nor read (503), and a run's CSV cannot be exported.
func New(st Store, now domain.Clock, ids domain.IDs, box *secretbox.Box) *Service {
	return &Service{st: st, now: now, ids: ids, box: box}
}

// Create gathers every approved commission of the organization into a new
// open run. Lines whose total is zero or less (a clawback larger than what
// is owed) are left out, and their entries wait for a later run. No line
// left is 422 nothing_to_pay; an unsettled run already there is 409
// run_open.
func (s *Service) Create(ctx context.Context, orgID, actor string) (domain.PayoutRun, error) {
	approved, err := s.approved(ctx, orgID, "")
	if err != nil {
		return domain.PayoutRun{}, err
	}
	now := s.now().UTC()
	run := domain.PayoutRun{
		ID: s.ids("pay"), OrgID: orgID, Status: domain.PayoutRunOpen, CreatedBy: actor, CreatedAt: now, UpdatedAt: now,
	}
	if run.Lines, err = Lines(approved); err != nil {
		return domain.PayoutRun{}, err
	}
	if len(run.Lines) == 0 {
		return domain.PayoutRun{}, domain.Errorf(domain.KindInvalid, "nothing_to_pay",
			"there are no approved commissions to pay: approve commissions first")
	}
	if run.Totals, err = Totals(run.Lines); err != nil {
		return domain.PayoutRun{}, err
	}
	for _, l := range run.Lines {
		run.CommissionCount += len(l.CommissionIDs)
	}
	err = s.st.CreatePayoutRun(ctx, run)
	if errors.Is(err, store.ErrConflict) {
		return domain.PayoutRun{}, s.runOpen(ctx, orgID)
	}
	return run, err
}

// runOpen is the 409 of a creation refused because a run is unsettled.
func (s *Service) runOpen(ctx context.Context, orgID string) error {
	e := domain.Errorf(domain.KindConflict, "run_open", "a payout run is still open: mark it paid or cancel it before creating another")
	if open, err := s.Unsettled(ctx, orgID); err == nil && open != nil {
		e.Extra = map[string]any{"payoutRunId": open.ID}
	}
	return e
}

// approved lists the organization's (or one partner's) approved
// commissions, oldest first, at most MaxRunCommissions.
func (s *Service) approved(ctx context.Context, orgID, partnerID string) ([]commission.Commission, error) {
	var all []commission.Commission
	page := store.Page{Limit: store.MaxLimit}
	for {
		items, next, err := s.st.ListCommissions(ctx, orgID, store.CommissionFilter{PartnerID: partnerID, Status: string(commission.StatusApproved)}, page)
		if err != nil {
			return nil, err
		}
		all = append(all, items...)
		if next == "" || next == page.Cursor {
			break
		}
		page.Cursor = next
	}
	slices.SortStableFunc(all, func(a, b commission.Commission) int {
		return cmp.Or(a.CreatedAt.Compare(b.CreatedAt), strings.Compare(a.ID, b.ID))
	})
	if len(all) > MaxRunCommissions {
		all = all[:MaxRunCommissions]
	}
	return all, nil
}

// Lines groups commissions by beneficiary (the partner, else the referrer)
// and currency, summing each group with overflow checks, and drops groups
// whose total is not positive. Lines are ordered by partner, referrer and
// currency; each lists its commission IDs in the order given.
func Lines(cs []commission.Commission) ([]domain.PayoutLine, error) {
	type key struct{ partner, referrer, currency string }
	sums := map[key]*domain.Sum{}
	ids := map[key][]string{}
	var keys []key
	for _, c := range cs {
		k := key{c.PartnerID, "", c.Amount.Currency}
		if c.PartnerID == "" {
			k.referrer = c.ReferrerID
		}
		if sums[k] == nil {
			sums[k] = &domain.Sum{}
			keys = append(keys, k)
		}
		sums[k].Add(c.Amount.Amount)
		ids[k] = append(ids[k], c.ID)
	}
	slices.SortFunc(keys, func(a, b key) int {
		return cmp.Or(strings.Compare(a.partner, b.partner), strings.Compare(a.referrer, b.referrer), strings.Compare(a.currency, b.currency))
	})
	var lines []domain.PayoutLine
	for _, k := range keys {
		total, err := sums[k].Total()
		if err != nil {
			return nil, err
		}
		if total <= 0 {
			continue
		}
		lines = append(lines, domain.PayoutLine{PartnerID: k.partner, ReferrerID: k.referrer,
			Amount: domain.Money{Amount: total, Currency: k.currency}, CommissionIDs: ids[k]})
	}
	return lines, nil
}

// Totals sums lines per currency (overflow-checked), sorted by currency.
func Totals(lines []domain.PayoutLine) ([]domain.Money, error) {
	sums := map[string]*domain.Sum{}
	for _, l := range lines {
		if sums[l.Amount.Currency] == nil {
			sums[l.Amount.Currency] = &domain.Sum{}
		}
		sums[l.Amount.Currency].Add(l.Amount.Amount)
	}
	out := []domain.Money{}
	for cur, sum := range sums {
		total, err := sum.Total()
		if err != nil {
			return nil, err
		}
		out = append(out, domain.Money{Amount: total, Currency: cur})
	}
	slices.SortFunc(out, func(a, b domain.Money) int { return strings.Compare(a.Currency, b.Currency) })
	return out, nil
}

// Get returns one run of the organization.
func (s *Service) Get(ctx context.Context, orgID, id string) (domain.PayoutRun, error) {
	r, err := s.st.GetPayoutRun(ctx, orgID, id)
	if errors.Is(err, store.ErrNotFound) || (err == nil && r.OrgID != orgID) {
		return domain.PayoutRun{}, domain.NotFound("payout run")
	}
	return r, err
}

// List pages through the organization's runs, newest first.
func (s *Service) List(ctx context.Context, orgID string, p store.Page) ([]domain.PayoutRun, string, error) {
	return s.st.ListPayoutRuns(ctx, orgID, p.Clamp())
}

// Unsettled returns the organization's open or paying run, nil when none.
func (s *Service) Unsettled(ctx context.Context, orgID string) (*domain.PayoutRun, error) {
	return store.UnsettledPayoutRun(ctx, s.st, orgID)
}

// Cancel settles an open run without paying it: its commissions stay
// approved, for the next run. A run being paid or paid is 409.
func (s *Service) Cancel(ctx context.Context, orgID, actor, id string) (domain.PayoutRun, error) {
	for range store.ModifyAttempts {
		r, err := s.Get(ctx, orgID, id)
		if err != nil {
			return r, err
		}
		switch r.Status {
		case domain.PayoutRunCancelled:
			return r, nil
		case domain.PayoutRunOpen:
		default:
			return r, domain.Errorf(domain.KindConflict, "invalid_transition", "a payout run that is %s cannot be cancelled", r.Status)
		}
		r.Status, r.UpdatedAt = domain.PayoutRunCancelled, s.now().UTC()
		err = s.st.UpdatePayoutRun(ctx, r)
		if errors.Is(err, store.ErrConflict) {
			continue
		}
		if err != nil {
			return r, err
		}
		r.Revision++
		return r, nil
	}
	return domain.PayoutRun{}, errConcurrent
}

var errConcurrent = domain.Errorf(domain.KindConflict, "concurrent_change",
	"the payout run changed while the request was processed: reload and retry")

// MarkPaid marks the run and every commission in it paid with reference
// (see the package comment for how it stays all-or-nothing and
// idempotent).
func (s *Service) MarkPaid(ctx context.Context, orgID, actor, id, reference string) (domain.PayoutRun, error) {
	// An unknown run is 404 before the request's fields are judged.
	if _, err := s.Get(ctx, orgID, id); err != nil {
		return domain.PayoutRun{}, err
	}
	reference = strings.TrimSpace(reference)
	var v domain.Validation
	v.Check(reference != "", "payoutReference", "is required")
	v.Check(len(reference) <= commission.MaxPayoutReferenceLen, "payoutReference", "must be at most %d characters", commission.MaxPayoutReferenceLen)
	if err := v.Err(); err != nil {
		return domain.PayoutRun{}, err
	}
	for range store.ModifyAttempts {
		r, err := s.Get(ctx, orgID, id)
		if err != nil {
			return r, err
		}
		switch r.Status {
		case domain.PayoutRunPaid:
			if r.PayoutReference == reference {
				return r, nil // repeated: already done
			}
			return r, domain.Errorf(domain.KindConflict, "already_paid", "this payout run was already marked paid with another reference (%s)", r.PayoutReference)
		case domain.PayoutRunCancelled:
			return r, domain.Errorf(domain.KindConflict, "invalid_transition", "a cancelled payout run cannot be marked paid")
		case domain.PayoutRunPaying:
			if r.PayoutReference != reference {
				return r, domain.Errorf(domain.KindConflict, "already_paying", "this payout run is being marked paid with another reference (%s)", r.PayoutReference)
			}
		}
		todo, err := s.toPay(ctx, r, reference)
		if err != nil {
			return r, err
		}
		if r.Status == domain.PayoutRunOpen {
			r.Status, r.PayoutReference, r.UpdatedAt = domain.PayoutRunPaying, reference, s.now().UTC()
			if err := s.st.UpdatePayoutRun(ctx, r); errors.Is(err, store.ErrConflict) {
				continue // another call moved it: look again
			} else if err != nil {
				return r, err
			}
			r.Revision++
		}
		if err := s.payAll(ctx, orgID, actor, reference, todo); err != nil {
			return r, err
		}
		now := s.now().UTC()
		r.Status, r.PaidAt, r.UpdatedAt = domain.PayoutRunPaid, &now, now
		if err := s.st.UpdatePayoutRun(ctx, r); errors.Is(err, store.ErrConflict) {
			continue // a concurrent call with the same reference finished first
		} else if err != nil {
			return r, err
		}
		r.Revision++
		return r, nil
	}
	return domain.PayoutRun{}, errConcurrent
}

// toPay loads the run's commissions and returns those still to be marked
// paid. Each must be approved or already paid with reference; any other is
// a 409 run_stale naming them all, before anything is written.
func (s *Service) toPay(ctx context.Context, r domain.PayoutRun, reference string) ([]commission.Commission, error) {
	var todo []commission.Commission
	var stale []string
	for _, l := range r.Lines {
		for _, id := range l.CommissionIDs {
			c, err := s.st.GetCommission(ctx, r.OrgID, id)
			if err != nil {
				return nil, err
			}
			switch {
			case c.Status == commission.StatusApproved:
				todo = append(todo, c)
			case c.Status == commission.StatusPaid && c.PayoutReference == reference:
			default:
				stale = append(stale, id)
			}
		}
	}
	if len(stale) > 0 {
		e := domain.Errorf(domain.KindConflict, "run_stale",
			"%d commission(s) of this payout run changed since it was created (no longer approved); nothing was marked paid: cancel the run and create a new one", len(stale))
		e.Extra = map[string]any{"ids": stale}
		return nil, e
	}
	return todo, nil
}

// payAll marks cs paid in batches of ledger.MaxBatch, each one ledger
// change. A batch refused for a concurrent change is read again: entries
// now paid with reference are done, approved ones are retried, any other
// is a 409 run_stale (the run stays paying; the entries already paid are
// paid).
func (s *Service) payAll(ctx context.Context, orgID, actor, reference string, cs []commission.Commission) error {
	for chunk := range slices.Chunk(cs, ledger.MaxBatch) {
		batch := chunk
		for attempt := 1; len(batch) > 0; attempt++ {
			now := s.now().UTC()
			ch := store.LedgerChange{OrgID: orgID}
			for _, c := range batch {
				u, a, err := commission.MarkPaid(c, reference, actor, now)
				if err != nil {
					return err
				}
				ch.Updated, ch.Audit = append(ch.Updated, u), append(ch.Audit, a)
			}
			err := s.st.ApplyLedgerChange(ctx, ch)
			if err == nil {
				break
			}
			if !errors.Is(err, store.ErrConflict) || attempt == batchAttempts {
				return err
			}
			var again []commission.Commission
			for _, c := range batch {
				cur, err := s.st.GetCommission(ctx, orgID, c.ID)
				if err != nil {
					return err
				}
				switch {
				case cur.Status == commission.StatusApproved:
					again = append(again, cur)
				case cur.Status == commission.StatusPaid && cur.PayoutReference == reference:
				default:
					e := domain.Errorf(domain.KindConflict, "run_stale", "commission %s changed to %s while the run was being paid", cur.ID, cur.Status)
					e.Extra = map[string]any{"ids": []string{cur.ID}}
					return e
				}
			}
			batch = again
		}
	}
	return nil
}

// Payee is who a line pays: its name, email and payout details.
type Payee struct {
	Name    string // the partner's company, or the referrer's name
	Contact string // the partner's contact person
	Email   string
	Details *domain.PayoutDetails // nil when the partner has given none (or the line pays a referrer)
}

// Payees looks up the payee of each of the run's lines, in line order.
func (s *Service) Payees(ctx context.Context, r domain.PayoutRun) ([]Payee, error) {
	out := make([]Payee, len(r.Lines))
	for i, l := range r.Lines {
		if l.PartnerID == "" {
			ref, err := s.st.GetReferrer(ctx, r.OrgID, l.ReferrerID)
			if err != nil && !errors.Is(err, store.ErrNotFound) {
				return nil, err
			}
			out[i] = Payee{Name: ref.Name, Email: ref.Email}
			continue
		}
		p, err := s.st.GetPartner(ctx, r.OrgID, l.PartnerID)
		if err != nil && !errors.Is(err, store.ErrNotFound) {
			return nil, err
		}
		out[i] = Payee{Name: p.CompanyName, Contact: p.ContactName, Email: p.Email}
		if out[i].Details, err = s.details(ctx, r.OrgID, l.PartnerID); err != nil {
			return nil, err
		}
	}
	return out, nil
}

// Now is the service clock's current time.
func (s *Service) Now() time.Time { return s.now() }
