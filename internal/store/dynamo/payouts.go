package dynamo

import (
	"context"
	"errors"

	"github.com/aws/aws-sdk-go-v2/aws"

	"github.com/partnerloop/partnerloop/internal/domain"
	"github.com/partnerloop/partnerloop/internal/store"
)

// Payout runs and payout details (store.PayoutRuns); docs/dynamodb.md,
// "Payout runs".
//
//   - A run: ORG#<org> / PAYOUTRUN#<id> (ids are ULIDs: a Query of the
//     prefix lists them newest first).
//   - The organization's unsettled-run guard: ORG#<org> / PAYOUTRUN_OPEN,
//     whose runId is the id of its open or paying run ("" when none). It is
//     put with a new run on condition that it is absent or names no run,
//     and cleared in the same transaction that settles the run, so an
//     organization has at most one unsettled run and two runs never hold
//     the same commission. (Cleared, not deleted: the functions that write
//     it need no DeleteItem permission.)
//   - A partner's payout details: ORG#<org> / PAYOUTDETAILS#<partnerId>.

var _ store.PayoutRuns = (*Store)(nil)

const (
	typePayoutRun      = "payout_run"
	typePayoutRunGuard = "payout_run_open_guard"
	typePayoutDetails  = "payout_details"

	skPayoutRun      = "PAYOUTRUN#"
	skPayoutRunOpen  = "PAYOUTRUN_OPEN"
	skPayoutDetails  = "PAYOUTDETAILS#"
	attrPayoutRunRef = "runId"
)

func payoutRunKey(orgID, id string) item  { return key(orgPK(orgID), skPayoutRun+id) }
func payoutRunGuardKey(orgID string) item { return key(orgPK(orgID), skPayoutRunOpen) }
func payoutDetailsKey(orgID, partnerID string) item {
	return key(orgPK(orgID), skPayoutDetails+partnerID)
}

func payoutRunItem(r domain.PayoutRun) (item, error) {
	return record(r, typePayoutRun, payoutRunKey(r.OrgID, r.ID))
}

// CreatePayoutRun puts the run and the organization's unsettled-run guard
// in one transaction, each on condition attribute_not_exists: an id taken
// or another unsettled run is store.ErrConflict.
func (s *Store) CreatePayoutRun(ctx context.Context, r domain.PayoutRun) error {
	ctx, done := s.op(ctx, "CreatePayoutRun")
	defer done()
	it, err := payoutRunItem(r)
	if err != nil {
		return err
	}
	if !r.Status.Unsettled() {
		return s.putNew(ctx, it)
	}
	guard := s.putGuard(r.OrgID, r.ID, "")
	return s.transact(ctx, []txItem{s.txPutNew(it), guard})
}

// putGuard is the transaction item that sets the unsettled-run guard's
// runId to run on condition that it is absent or still names was.
func (s *Store) putGuard(orgID, run, was string) txItem {
	g := payoutRunGuardKey(orgID)
	g[attrType], g[attrPayoutRunRef] = str(typePayoutRunGuard), str(run)
	it := s.txPutNew(g)
	it.w.Put.ConditionExpression = aws.String("attribute_not_exists(PK) OR #run = :was")
	it.w.Put.ExpressionAttributeNames = map[string]string{"#run": attrPayoutRunRef}
	it.w.Put.ExpressionAttributeValues = item{":was": str(was)}
	return it
}

// GetPayoutRun returns the organization's run with id.
func (s *Store) GetPayoutRun(ctx context.Context, orgID, id string) (domain.PayoutRun, error) {
	ctx, done := s.op(ctx, "GetPayoutRun")
	defer done()
	it, err := s.getItem(ctx, payoutRunKey(orgID, id))
	if err != nil {
		return domain.PayoutRun{}, err
	}
	return decodeAs[domain.PayoutRun](it)
}

// UpdatePayoutRun replaces the run at Revision+1 on condition that its
// revision is still r.Revision. A run settled by the update (paid or
// cancelled) clears the unsettled-run guard in the same transaction, on
// condition that the guard is absent or names this run.
func (s *Store) UpdatePayoutRun(ctx context.Context, r domain.PayoutRun) error {
	ctx, done := s.op(ctx, "UpdatePayoutRun")
	defer done()
	expected := r.Revision
	r.Revision++
	it, err := payoutRunItem(r)
	if err != nil {
		return err
	}
	cond, names, values := "#revision = :expected", map[string]string{"#revision": "revision"}, item{":expected": num(expected)}
	if r.Status.Unsettled() {
		return s.putIf(ctx, it, cond, names, values, store.ErrConflict)
	}
	put := s.txPutNew(it)
	put.w.Put.ConditionExpression = &cond
	put.w.Put.ExpressionAttributeNames, put.w.Put.ExpressionAttributeValues = names, values
	err = s.transact(ctx, []txItem{put, s.putGuard(r.OrgID, "", r.ID)})
	if errors.Is(err, store.ErrConflict) {
		// A missing run fails the revision condition too: tell them apart.
		if _, gerr := s.getItem(ctx, payoutRunKey(r.OrgID, r.ID)); errors.Is(gerr, store.ErrNotFound) {
			return store.ErrNotFound
		}
	}
	return err
}

// ListPayoutRuns lists the organization's runs, newest first.
func (s *Store) ListPayoutRuns(ctx context.Context, orgID string, p store.Page) ([]domain.PayoutRun, string, error) {
	ctx, done := s.op(ctx, "ListPayoutRuns")
	defer done()
	return page(ctx, s, one(orgID, "", orgPK(orgID), skPayoutRun), p, decodeAs[domain.PayoutRun])
}

// PutPayoutDetails replaces the partner's payout details.
func (s *Store) PutPayoutDetails(ctx context.Context, d store.PayoutDetailsRecord) error {
	ctx, done := s.op(ctx, "PutPayoutDetails")
	defer done()
	it, err := record(d, typePayoutDetails, payoutDetailsKey(d.OrgID, d.PartnerID))
	if err != nil {
		return err
	}
	return s.put(ctx, it)
}

// SealPayoutDetails replaces the partner's record with d on condition
// that the stored one exists and has no sealed attribute (is still in
// clear); else store.ErrConflict.
func (s *Store) SealPayoutDetails(ctx context.Context, d store.PayoutDetailsRecord) error {
	ctx, done := s.op(ctx, "SealPayoutDetails")
	defer done()
	it, err := record(d, typePayoutDetails, payoutDetailsKey(d.OrgID, d.PartnerID))
	if err != nil {
		return err
	}
	err = s.putIf(ctx, it, "attribute_exists(PK) AND attribute_not_exists(#sealed)",
		map[string]string{"#sealed": "sealed"}, nil, store.ErrConflict)
	if errors.Is(err, store.ErrNotFound) { // gone since it was read
		return store.ErrConflict
	}
	return err
}

// GetPayoutDetails returns the partner's payout details.
func (s *Store) GetPayoutDetails(ctx context.Context, orgID, partnerID string) (store.PayoutDetailsRecord, error) {
	ctx, done := s.op(ctx, "GetPayoutDetails")
	defer done()
	it, err := s.getItem(ctx, payoutDetailsKey(orgID, partnerID))
	if err != nil {
		return store.PayoutDetailsRecord{}, err
	}
	return decodeAs[store.PayoutDetailsRecord](it)
}
