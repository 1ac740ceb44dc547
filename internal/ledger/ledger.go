// Package ledger is the service behind the admin commission routes: listing
// and reading the commission ledger, the all-or-nothing status changes
// (approve, reject, mark paid), the payroll / accounts-payable CSV export,
// and recording a refund on a conversion.
//
// The state machine itself is the pure commission engine
// (internal/commission); this package loads entries, applies the engine with
// the service clock and the caller as the audit actor, and writes the result
// as one store.LedgerChange, so a batch either changes every entry or none.
//
// A refund only moves the conversion's refunded amount (a compare-and-set in
// a LedgerChange with no commission changes); the commission pipeline reacts
// to that conversion change and reverses or claws back its commissions.
package ledger

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"strings"
	"time"

	"github.com/partnerloop/partnerloop/internal/commission"
	"github.com/partnerloop/partnerloop/internal/domain"
	"github.com/partnerloop/partnerloop/internal/store"
)

// MaxBatch is the most commissions one approve, reject or mark-paid request
// may name (after duplicates are collapsed). A batch is one LedgerChange of
// an update and an audit entry per commission, which DynamoDB must write in
// one transaction of at most 100 items: hence 50, not 100.
const MaxBatch = 50

// refundAttempts bounds the re-reads of a conversion whose refunded amount
// changed between the read and the compare-and-set (concurrent refunds).
const refundAttempts = 3

// Conversions is the part of the store the service reads conversions from
// (store.Store satisfies it).
type Conversions interface {
	GetConversion(ctx context.Context, orgID, id string) (domain.Conversion, error)
}

// Service manages the commission ledger of every organization.
type Service struct {
	conversions Conversions
	ledger      store.Ledger
	runs        store.PayoutRuns // nil when the store keeps no payout runs
	now         domain.Clock
}

// New returns a ledger service. When l also keeps payout runs (both stores
// do), commissions an unsettled run holds are paid only through the run.
func New(c Conversions, l store.Ledger, now domain.Clock) *Service {
	s := &Service{conversions: c, ledger: l, now: now}
	s.runs, _ = l.(store.PayoutRuns)
	return s
}

// Statuses lists every commission status, in lifecycle order.
var Statuses = []commission.Status{
	commission.StatusPending, commission.StatusApproved, commission.StatusPaid,
	commission.StatusRejected, commission.StatusReversed,
}

// ValidateFilter refuses a filter the store cannot answer meaningfully: an
// unknown status, or a from bound that is not before the to bound.
func ValidateFilter(f store.CommissionFilter) error {
	var v domain.Validation
	v.Check(f.Status == "" || slices.Contains(Statuses, commission.Status(f.Status)), "status",
		"must be pending, approved, paid, rejected or reversed")
	v.Check(f.From.IsZero() || f.To.IsZero() || f.From.Before(f.To), "to", "must be after from")
	return v.Err()
}

// List pages through the organization's commissions, newest first.
func (s *Service) List(ctx context.Context, orgID string, f store.CommissionFilter, page store.Page) ([]commission.Commission, string, error) {
	if err := ValidateFilter(f); err != nil {
		return nil, "", err
	}
	return s.ledger.ListCommissions(ctx, orgID, f, page.Clamp())
}

// OfSource lists every entry of one conversion or deal — its commission,
// replacements and clawbacks — oldest first (one index lookup in both
// stores): what a won deal's page links to.
func (s *Service) OfSource(ctx context.Context, orgID, conversionOrDealID string) ([]commission.Commission, error) {
	return s.ledger.CommissionsOfSource(ctx, orgID, conversionOrDealID)
}

// Detail is one commission with its audit trail, oldest change first.
type Detail struct {
	commission.Commission
	Audit []commission.AuditEntry `json:"audit"`
}

// Get returns one commission of the organization with its audit trail.
func (s *Service) Get(ctx context.Context, orgID, id string) (Detail, error) {
	c, err := s.ledger.GetCommission(ctx, orgID, id)
	if errors.Is(err, store.ErrNotFound) || (err == nil && c.OrgID != orgID) {
		return Detail{}, domain.NotFound("commission")
	}
	if err != nil {
		return Detail{}, err
	}
	audit, err := s.ledger.ListAudit(ctx, orgID, id)
	if err != nil {
		return Detail{}, err
	}
	if audit == nil {
		audit = []commission.AuditEntry{}
	}
	return Detail{Commission: c, Audit: audit}, nil
}

// Approve moves every named commission from pending to approved, or none:
// each must be pending and out of its hold period.
func (s *Service) Approve(ctx context.Context, orgID, actor string, ids []string) ([]commission.Commission, error) {
	var v domain.Validation
	return s.batch(ctx, orgID, ids, &v, "approved", func(c commission.Commission, now time.Time) (commission.Commission, commission.AuditEntry, error) {
		return commission.Approve(c, actor, now)
	})
}

// Reject moves every named commission from pending to rejected with the
// reason, or none.
func (s *Service) Reject(ctx context.Context, orgID, actor string, ids []string, reason string) ([]commission.Commission, error) {
	var v domain.Validation
	reason = strings.TrimSpace(reason)
	checkText(&v, "reason", reason, commission.MaxReasonLen)
	return s.batch(ctx, orgID, ids, &v, "rejected", func(c commission.Commission, now time.Time) (commission.Commission, commission.AuditEntry, error) {
		return commission.Reject(c, reason, actor, now)
	})
}

// MarkPaid moves every named commission from approved to paid with the
// payout reference, or none. A commission that the organization's open or
// paying payout run holds is paid by marking the run paid: naming one is
// 409 in_payout_run with the run's ID, and nothing is marked paid (paid
// here, it would leave the run stale — and it is already in the CSV
// accounts payable pays from).
func (s *Service) MarkPaid(ctx context.Context, orgID, actor string, ids []string, payoutReference string) ([]commission.Commission, error) {
	var v domain.Validation
	payoutReference = strings.TrimSpace(payoutReference)
	checkText(&v, "payoutReference", payoutReference, commission.MaxPayoutReferenceLen)
	var idsOK domain.Validation // batch judges the IDs; this only reads them
	if named := CollapseIDs(&idsOK, ids); v.Err() == nil && idsOK.Err() == nil {
		if err := s.notInRun(ctx, orgID, named); err != nil {
			return nil, err
		}
	}
	return s.batch(ctx, orgID, ids, &v, "marked paid", func(c commission.Commission, now time.Time) (commission.Commission, commission.AuditEntry, error) {
		return commission.MarkPaid(c, payoutReference, actor, now)
	})
}

// notInRun is the 409 in_payout_run when the organization's unsettled
// payout run holds any of ids.
//
// It is a read before the write, not a condition of it: a ledger change of
// MaxBatch entries is already DynamoDB's 100 items, with no room for a
// check of the run guard. A run created in the instant between the two
// holds an entry paid here; marking that run paid then refuses it (409
// run_stale, nothing written), so it is cancelled and made again.
func (s *Service) notInRun(ctx context.Context, orgID string, ids []string) error {
	if s.runs == nil || len(ids) == 0 {
		return nil
	}
	run, err := store.UnsettledPayoutRun(ctx, s.runs, orgID)
	if err != nil || run == nil {
		return err
	}
	var held []string
	for _, id := range ids {
		if run.Holds(id) {
			held = append(held, id)
		}
	}
	if len(held) == 0 {
		return nil
	}
	e := domain.Errorf(domain.KindConflict, "in_payout_run",
		"%s %s in payout run %s, which is %s: mark the run paid (or cancel it first); nothing was marked paid",
		strings.Join(held, ", "), map[bool]string{true: "is", false: "are"}[len(held) == 1], run.ID, run.Status)
	e.Extra = map[string]any{"ids": held, "payoutRunId": run.ID}
	return e
}

func checkText(v *domain.Validation, field, s string, maxLen int) {
	v.Check(s != "", field, "is required")
	v.Check(len(s) <= maxLen, field, "must be at most %d bytes", maxLen)
}

// CollapseIDs checks the IDs of a batch request (1..MaxBatch distinct,
// none empty) into v and returns them without duplicates, in request order.
func CollapseIDs(v *domain.Validation, ids []string) []string {
	var out []string
	seen := map[string]bool{}
	for i, id := range ids {
		id = strings.TrimSpace(id)
		if id == "" {
			v.Add(fmt.Sprintf("ids[%d]", i), "must not be empty")
			continue
		}
		if !seen[id] {
			seen[id] = true
			out = append(out, id)
		}
	}
	switch {
	case len(ids) == 0:
		v.Add("ids", "is required: name 1 to %d commissions", MaxBatch)
	case len(out) > MaxBatch:
		v.Add("ids", "must name at most %d commissions (got %d)", MaxBatch, len(out))
	}
	return out
}

// step is one engine transition of a batch.
type step func(c commission.Commission, now time.Time) (commission.Commission, commission.AuditEntry, error)

// batch loads every named commission, applies step to each with one clock
// reading, and writes all the changes in one LedgerChange. Any failure
// writes nothing: request problems are 422, an unknown ID (or another
// organization's) 404, a transition the engine refuses 409 naming every
// offending ID, and a concurrent change of any of them 409 as well.
func (s *Service) batch(ctx context.Context, orgID string, ids []string, v *domain.Validation, verb string, apply step) ([]commission.Commission, error) {
	ids = CollapseIDs(v, ids)
	if err := v.Err(); err != nil {
		return nil, err
	}
	loaded := make([]commission.Commission, 0, len(ids))
	var missing []string
	for _, id := range ids {
		c, err := s.ledger.GetCommission(ctx, orgID, id)
		switch {
		case errors.Is(err, store.ErrNotFound), err == nil && c.OrgID != orgID:
			missing = append(missing, id)
		case err != nil:
			return nil, err
		default:
			loaded = append(loaded, c)
		}
	}
	if len(missing) > 0 {
		e := domain.Errorf(domain.KindNotFound, "not_found", "commission not found: %s; nothing was %s", strings.Join(missing, ", "), verb)
		e.Extra = map[string]any{"ids": missing}
		return nil, e
	}

	now := s.now().UTC()
	ch := store.LedgerChange{OrgID: orgID}
	var refused []refusal
	for _, c := range loaded {
		u, a, err := apply(c, now)
		if err != nil {
			e, ok := domain.AsError(err)
			if !ok || e.Kind != domain.KindConflict {
				return nil, err
			}
			refused = append(refused, refusal{c, e})
			continue
		}
		ch.Updated = append(ch.Updated, u)
		ch.Audit = append(ch.Audit, a)
	}
	if len(refused) > 0 {
		return nil, refusedError(refused, verb)
	}
	if err := s.ledger.ApplyLedgerChange(ctx, ch); err != nil {
		if errors.Is(err, store.ErrConflict) {
			return nil, errConcurrentChange
		}
		return nil, err
	}
	// The store keeps each entry with its revision plus one.
	for i := range ch.Updated {
		ch.Updated[i].Revision++
	}
	return ch.Updated, nil
}

var errConcurrentChange = domain.Errorf(domain.KindConflict, "concurrent_change",
	"a commission changed while the request was processed; nothing was changed: reload and retry")

// refusal is one commission the engine would not move.
type refusal struct {
	c   commission.Commission
	err *domain.Error
}

// refusedError is the 409 of a batch the engine refused. Its code is
// on_hold when every refusal is a hold period, else invalid_transition;
// "ids" lists every offending ID and "commissions" says why for each.
func refusedError(rs []refusal, verb string) error {
	code := "on_hold"
	ids := make([]string, len(rs))
	details := make([]map[string]any, len(rs))
	reasons := make([]string, len(rs))
	for i, r := range rs {
		ids[i] = r.c.ID
		d := map[string]any{"id": r.c.ID, "status": r.c.Status, "code": r.err.Code}
		if r.err.Code == "on_hold" {
			d["availableAt"] = r.c.AvailableAt.UTC()
		} else {
			code = "invalid_transition"
		}
		details[i] = d
		reasons[i] = r.err.Message
	}
	msg := strings.Join(reasons, "; ")
	if code == "on_hold" {
		msg = "still in the hold period: " + msg
	}
	e := domain.Errorf(domain.KindConflict, code, "%s; nothing was %s", msg, verb)
	e.Extra = map[string]any{"ids": ids, "commissions": details}
	return e
}

// Refund records a refund on a conversion of the organization and returns
// the conversion with its new refunded amount. amount (minor units, or
// Money in the conversion's currency) defaults to everything not yet
// refunded; a conversion without a value is only refunded in full, so its
// amount must be omitted. Only the conversion changes here: the commission
// pipeline reacts to that change.
func (s *Service) Refund(ctx context.Context, orgID, conversionID string, amount *domain.MoneyInput) (domain.Conversion, error) {
	conv, _, err := s.refund(ctx, orgID, conversionID, func(domain.Conversion) (*domain.MoneyInput, bool) { return amount, true })
	return conv, err
}

// RefundTo brings the conversion's refunded total up to total (minor units
// of its currency), for a payment provider that reports a charge's
// cumulative refunded amount: the same report delivered again, or a stale
// one, finds the total reached and changes nothing (refunded is false). A
// total above the conversion's value is capped at it.
func (s *Service) RefundTo(ctx context.Context, orgID, conversionID string, total int64) (conv domain.Conversion, refunded bool, err error) {
	return s.refund(ctx, orgID, conversionID, func(conv domain.Conversion) (*domain.MoneyInput, bool) {
		if conv.Amount == nil || conv.Amount.Amount <= 0 {
			return nil, false
		}
		already := conv.RefundedAmount.Amount
		if t := min(total, conv.Amount.Amount); t > already {
			return &domain.MoneyInput{Amount: t - already}, true
		}
		return nil, false
	})
}

// refund applies the refund plan returns for the conversion as it is read
// (ok false: none), re-reading and planning again when another refund
// moved the amount first — so a full refund takes what is left, an
// over-refund is refused, and a cumulative total is compared with the
// total reached.
func (s *Service) refund(ctx context.Context, orgID, conversionID string, plan func(domain.Conversion) (*domain.MoneyInput, bool)) (domain.Conversion, bool, error) {
	for attempt := 1; ; attempt++ {
		conv, err := s.conversions.GetConversion(ctx, orgID, conversionID)
		if errors.Is(err, store.ErrNotFound) || (err == nil && conv.OrgID != orgID) {
			return domain.Conversion{}, false, domain.NotFound("conversion")
		}
		if err != nil {
			return domain.Conversion{}, false, err
		}
		amount, ok := plan(conv)
		if !ok {
			return conv, false, nil
		}
		change, updated, err := PlanRefund(conv, amount)
		if err != nil {
			return domain.Conversion{}, false, err
		}
		now := s.now()
		change.At, updated.RefundedAt = now, &now
		err = s.ledger.ApplyLedgerChange(ctx, store.LedgerChange{OrgID: orgID, Refund: &change})
		if errors.Is(err, store.ErrConflict) {
			if attempt < refundAttempts {
				continue
			}
			return domain.Conversion{}, false, errConcurrentChange
		}
		if err != nil {
			return domain.Conversion{}, false, err
		}
		return updated, true, nil
	}
}

// PlanRefund computes the refund of amount (nil: all that is left) on conv:
// the compare-and-set of its refunded amount and the conversion after it.
//
//   - A conversion with a value: amount must be positive, in the
//     conversion's currency and at most value − refunded (422 otherwise); a
//     full refund of a conversion already refunded in full is 409
//     already_refunded.
//   - A conversion without a value (or of value 0): the refund is full and
//     amount must be omitted; its refunded amount stays 0 and RefundedAt
//     marks it (a second refund is 409 already_refunded).
func PlanRefund(conv domain.Conversion, amount *domain.MoneyInput) (store.RefundChange, domain.Conversion, error) {
	currency := conv.RefundedAmount.Currency
	var value int64
	if conv.Amount != nil {
		value = conv.Amount.Amount
		currency = conv.Amount.Currency
	}
	already := conv.RefundedAmount.Amount
	change := store.RefundChange{ConversionID: conv.ID, From: already, To: already}

	if value <= 0 {
		if conv.RefundedAt != nil {
			return change, conv, domain.Errorf(domain.KindConflict, "already_refunded",
				"conversion %s is already refunded in full", conv.ID)
		}
		if amount != nil {
			return change, conv, &domain.Error{Kind: domain.KindInvalid, Code: "validation_failed", Message: "the request has invalid fields",
				Fields: []domain.FieldError{{Field: "amount", Message: "must be omitted: a conversion without a value is only refunded in full"}}}
		}
		conv.RefundedAmount = domain.Money{Amount: already, Currency: currency}
		return change, conv, nil
	}

	remaining := value - already
	refund := remaining
	if amount == nil {
		if remaining <= 0 {
			return change, conv, domain.Errorf(domain.KindConflict, "already_refunded",
				"conversion %s is already refunded in full (%s %s)", conv.ID, domain.FormatMajor(already, currency), currency)
		}
	} else {
		m, ok := amount.In(currency)
		if !ok {
			return change, conv, &domain.Error{Kind: domain.KindInvalid, Code: domain.ReasonCurrencyMismatch,
				Message: "the refund must be in the conversion's currency (" + currency + ")",
				Fields:  []domain.FieldError{{Field: "amount", Message: "must be in " + currency}}}
		}
		refund = m.Amount
		var v domain.Validation
		v.CheckAmount(refund, "amount", true)
		if err := v.Err(); err != nil {
			return change, conv, err
		}
		if refund > remaining {
			e := &domain.Error{Kind: domain.KindInvalid, Code: "refund_exceeds_value",
				Message: fmt.Sprintf("the refund of %s %s exceeds the %s %s not yet refunded", domain.FormatMajor(refund, currency), currency,
					domain.FormatMajor(max(remaining, 0), currency), currency),
				Fields: []domain.FieldError{{Field: "amount", Message: fmt.Sprintf("must not exceed the %d not yet refunded", max(remaining, 0))}}}
			e.Extra = map[string]any{"refundable": domain.Money{Amount: max(remaining, 0), Currency: currency}}
			return change, conv, e
		}
	}
	change.To = already + refund
	conv.RefundedAmount = domain.Money{Amount: change.To, Currency: currency}
	return change, conv, nil
}

// Export returns every commission matching f — all pages, not one — oldest
// first (then by ID), for the CSV export. More than MaxExportRows is refused
// (422 export_too_large): narrow the date range.
func (s *Service) Export(ctx context.Context, orgID string, f store.CommissionFilter) ([]commission.Commission, error) {
	if err := ValidateFilter(f); err != nil {
		return nil, err
	}
	var all []commission.Commission
	page := store.Page{Limit: store.MaxLimit}
	for {
		items, next, err := s.ledger.ListCommissions(ctx, orgID, f, page)
		if err != nil {
			return nil, err
		}
		all = append(all, items...)
		if len(all) > MaxExportRows {
			return nil, domain.Errorf(domain.KindInvalid, "export_too_large",
				"more than %d commissions match; narrow the range with from and to", MaxExportRows)
		}
		if next == "" || next == page.Cursor {
			break
		}
		page.Cursor = next
	}
	slices.SortStableFunc(all, func(a, b commission.Commission) int {
		if c := a.CreatedAt.Compare(b.CreatedAt); c != 0 {
			return c
		}
		return strings.Compare(a.ID, b.ID)
	})
	return all, nil
}

// Totals sums every commission matching f per currency (overflow-checked),
// with their count: the figures above a filtered list. It reads what
// Export reads (at most MaxExportRows entries, else 422).
func (s *Service) Totals(ctx context.Context, orgID string, f store.CommissionFilter) ([]domain.Money, int, error) {
	all, err := s.Export(ctx, orgID, f)
	if err != nil {
		return nil, 0, err
	}
	sums := map[string]*domain.Sum{}
	var currencies []string
	for _, c := range all {
		if sums[c.Amount.Currency] == nil {
			sums[c.Amount.Currency] = &domain.Sum{}
			currencies = append(currencies, c.Amount.Currency)
		}
		sums[c.Amount.Currency].Add(c.Amount.Amount)
	}
	slices.Sort(currencies)
	out := make([]domain.Money, 0, len(currencies))
	for _, cur := range currencies {
		total, err := sums[cur].Total()
		if err != nil {
			return nil, 0, err
		}
		out = append(out, domain.Money{Amount: total, Currency: cur})
	}
	return out, len(all), nil
}

// ApproveMatching approves every pending commission matching f whose hold
// period is over ("select all matching", not just one page), in batches of
// MaxBatch: each batch is all-or-nothing, the whole is not (a batch that
// races another change is reported, the batches before it stay approved).
// It returns how many were approved and how many are still on hold.
func (s *Service) ApproveMatching(ctx context.Context, orgID, actor string, f store.CommissionFilter) (approved, onHold int, err error) {
	due, onHold, err := s.dueMatching(ctx, orgID, f)
	if err != nil {
		return 0, 0, err
	}
	ids := make([]string, 0, len(due))
	for _, c := range due {
		ids = append(ids, c.ID)
	}
	for batch := range slices.Chunk(ids, MaxBatch) {
		if _, err := s.Approve(ctx, orgID, actor, batch); err != nil {
			return approved, onHold, err
		}
		approved += len(batch)
	}
	return approved, onHold, nil
}

// dueMatching splits the pending commissions matching f into those whose
// hold period is over and how many are still on hold.
func (s *Service) dueMatching(ctx context.Context, orgID string, f store.CommissionFilter) (due []commission.Commission, onHold int, err error) {
	f.Status = string(commission.StatusPending)
	all, err := s.Export(ctx, orgID, f)
	if err != nil {
		return nil, 0, err
	}
	now := s.now()
	for _, c := range all {
		if c.AvailableAt.After(now) {
			onHold++
			continue
		}
		due = append(due, c)
	}
	return due, onHold, nil
}

// MatchingPreview is what ApproveMatching would do now: approve Count
// commissions worth Totals (per currency), leaving OnHold pending.
type MatchingPreview struct {
	Count  int
	Totals []domain.Money
	OnHold int
}

// PreviewApproveMatching tells what ApproveMatching with f would approve,
// for the confirmation that states the count and the totals first.
func (s *Service) PreviewApproveMatching(ctx context.Context, orgID string, f store.CommissionFilter) (MatchingPreview, error) {
	due, onHold, err := s.dueMatching(ctx, orgID, f)
	if err != nil {
		return MatchingPreview{}, err
	}
	var t domain.Totals
	for _, c := range due {
		t.Add(c.Amount)
	}
	totals, err := t.Money()
	return MatchingPreview{Count: len(due), Totals: totals, OnHold: onHold}, err
}

// Now is the service clock's current time.
func (s *Service) Now() time.Time { return s.now() }
