package dynamo

import (
	"cmp"
	"context"
	"errors"
	"fmt"
	"math/rand/v2"
	"slices"
	"strings"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb/types"

	"github.com/partnerloop/partnerloop/internal/commission"
	"github.com/partnerloop/partnerloop/internal/store"
)

// The commission ledger (store.Ledger); docs/dynamodb.md, "Ledger".
//
//   - An entry's record: ORG#<org> / COMMISSION#<createdAt>#<id>, in GSI2
//     under ORG#<org>#SOURCE#<conversion or deal> / the same sort key (no
//     GSI2 keys for an adjustment, which has no source).
//   - Its id guard: ORG#<org>#COMMISSION#<id> / ID, holding createdAt (so
//     GetCommission finds the record) and making creation exactly-once by
//     id whatever createdAt a redelivery computes.
//   - Its audit trail, in the guard's partition: AUDIT#<at>#<rank>#<to>.
//   - A running total: ORG#<org>#RUNNING#<key> / COUNTER ({count, revenue})
//     and one slot per conversion, SLOT#<conversionId>; and, written with
//     its first slot, ORG#<org> / RUNNING#<periodKey>#<key>, which lists it
//     under its period (RunningTotals).

var _ store.Ledger = (*Store)(nil)

// maxTransactItems is DynamoDB's limit of items per TransactWriteItems.
const maxTransactItems = 100

// --- running totals ------------------------------------------------------------

// Bounds of AssignSlot's compare-and-set loop on a running total's counter.
const (
	maxSlotAttempts  = 20
	firstSlotBackoff = 2 * time.Millisecond
	maxSlotBackoff   = 50 * time.Millisecond
)

// AssignSlot gives conversionID its slot in the running total key, once.
// Each attempt reads the slot and the counter (one consistent
// BatchGetItem): an existing slot is returned as it is; else one
// transaction puts the slot (attribute_not_exists) and the counter, on
// condition that its count is still the one read (attribute_not_exists for
// the first slot). When the transaction is cancelled (a racing call took
// the slot or moved the counter) the attempt starts over, at most 20 times
// with a small jittered backoff. A revenue that would pass math.MaxInt64 is
// refused (domain.ErrOverflow) and nothing is written.
func (s *Store) AssignSlot(ctx context.Context, orgID, key, conversionID string, value int64) (store.PeriodSlot, error) {
	ctx, done := s.op(ctx, "AssignSlot")
	defer done()
	sk, ck := slotKey(orgID, key, conversionID), counterKey(orgID, key)
	backoff := firstSlotBackoff
	for attempt := 1; ; attempt++ {
		got, err := s.batchGet(ctx, []item{sk, ck})
		if err != nil {
			return store.PeriodSlot{}, err
		}
		var counter item
		for _, it := range got {
			switch getS(it, attrSK) {
			case getS(sk, attrSK):
				return decodeAs[store.PeriodSlot](it)
			case skCounter:
				counter = it
			}
		}
		var state commission.RunningState
		if counter != nil {
			if state, err = decodeAs[commission.RunningState](counter); err != nil {
				return store.PeriodSlot{}, err
			}
		}
		slot, next, err := store.NextSlot(key, conversionID, state, value)
		if err != nil {
			return store.PeriodSlot{}, err
		}
		slotItem, err := record(slot, typePeriodSlot, sk)
		if err != nil {
			return store.PeriodSlot{}, err
		}
		slotItem["organizationId"] = str(orgID)
		counterItem, err := record(next, typePeriodCounter, ck)
		if err != nil {
			return store.PeriodSlot{}, err
		}
		counterItem["organizationId"], counterItem["key"] = str(orgID), str(key)
		put := &types.Put{TableName: &s.table, Item: counterItem, ConditionExpression: aws.String("attribute_not_exists(PK)")}
		items := []txItem{s.txPutNew(slotItem), {w: types.TransactWriteItem{Put: put}}}
		if counter != nil {
			put.ConditionExpression = aws.String("#count = :count")
			put.ExpressionAttributeNames = map[string]string{"#count": "count"}
			put.ExpressionAttributeValues = item{":count": num(state.Count)}
		} else {
			// The first slot creates the counter: list it under its period.
			period := store.PeriodOfKey(key)
			idx := runningTotalKey(orgID, period, key)
			idx[attrType], idx["organizationId"], idx["key"], idx["periodKey"] = str(typeRunningTotal), str(orgID), str(key), str(period)
			items = append(items, txItem{w: types.TransactWriteItem{Put: &types.Put{TableName: &s.table, Item: idx}}})
		}
		err = s.transactOnce(ctx, items)
		switch {
		case err == nil:
			return slot, nil
		case !errors.Is(err, store.ErrConflict) && !errors.Is(err, errRetryable):
			return store.PeriodSlot{}, err
		case attempt == maxSlotAttempts:
			return store.PeriodSlot{}, fmt.Errorf("dynamo: AssignSlot: the running total %q kept changing (%d attempts): %w", key, attempt, err)
		}
		// Another call took the slot or moved the counter: read again.
		select {
		case <-ctx.Done():
			return store.PeriodSlot{}, ctx.Err()
		case <-time.After(backoff/2 + rand.N(backoff)):
		}
		backoff = min(2*backoff, maxSlotBackoff)
	}
}

// transactOnce is one attempt of transact: a conflict with a concurrent
// transaction comes back as errRetryable for the caller, which must read
// again before it retries (AssignSlot's compare-and-set).
func (s *Store) transactOnce(ctx context.Context, items []txItem) error {
	ws := make([]types.TransactWriteItem, len(items))
	onFail := make([]error, len(items))
	for i, it := range items {
		ws[i], onFail[i] = it.w, it.onFail
	}
	out, err := s.c.TransactWriteItems(ctx, &dynamodb.TransactWriteItemsInput{
		TransactItems: ws, ReturnConsumedCapacity: s.rcc(),
	})
	if err != nil {
		return mapErr(err, onFail...)
	}
	s.consumed(ctx, true, out.ConsumedCapacity...)
	return nil
}

// ListSlots returns the slots of the running total key in ordinal order: a
// consistent Query of its partition, sorted by ordinal.
func (s *Store) ListSlots(ctx context.Context, orgID, key string) ([]store.PeriodSlot, error) {
	ctx, done := s.op(ctx, "ListSlots")
	defer done()
	items, err := s.queryAll(ctx, &dynamodb.QueryInput{
		KeyConditionExpression:    aws.String("PK = :pk AND begins_with(SK, :prefix)"),
		ExpressionAttributeValues: item{":pk": str(runningPK(orgID, key)), ":prefix": str(skSlot)},
		ConsistentRead:            aws.Bool(true),
	})
	if err != nil {
		return nil, err
	}
	slots, err := decodeAll[store.PeriodSlot](items)
	if err != nil {
		return nil, err
	}
	slices.SortFunc(slots, func(a, b store.PeriodSlot) int { return cmp.Compare(a.Ordinal, b.Ordinal) })
	return slots, nil
}

// RunningTotals lists the keys of the organization's running totals of the
// period, in ascending order: a consistent Query of the organization's
// partition, begins_with(SK, "RUNNING#<periodKey>#") — the items AssignSlot
// writes with each counter's first slot.
func (s *Store) RunningTotals(ctx context.Context, orgID, periodKey string) ([]string, error) {
	ctx, done := s.op(ctx, "RunningTotals")
	defer done()
	items, err := s.queryAll(ctx, &dynamodb.QueryInput{
		KeyConditionExpression:    aws.String("PK = :pk AND begins_with(SK, :prefix)"),
		ExpressionAttributeValues: item{":pk": str(orgPK(orgID)), ":prefix": str(runningPrefix(periodKey))},
		ConsistentRead:            aws.Bool(true),
	})
	if err != nil {
		return nil, err
	}
	var keys []string
	for _, it := range items {
		// A period key holding '#' could share the prefix: check.
		if k := getS(it, "key"); store.PeriodOfKey(k) == periodKey {
			keys = append(keys, k)
		}
	}
	slices.Sort(keys)
	return keys, nil
}

// queryAll runs a Query to its last page and returns every item.
func (s *Store) queryAll(ctx context.Context, in *dynamodb.QueryInput) ([]item, error) {
	var all []item
	for {
		out, err := s.query(ctx, in)
		if err != nil {
			return nil, err
		}
		all = append(all, out.Items...)
		if len(out.LastEvaluatedKey) == 0 {
			return all, nil
		}
		in.ExclusiveStartKey = out.LastEvaluatedKey
	}
}

func decodeAll[T any](items []item) ([]T, error) {
	out := make([]T, 0, len(items))
	for _, it := range items {
		v, err := decodeAs[T](it)
		if err != nil {
			return nil, err
		}
		out = append(out, v)
	}
	return out, nil
}

// --- ledger entries ----------------------------------------------------------------

// sourceOf is the conversion or deal a ledger entry belongs to ("" for an
// adjustment).
func sourceOf(c commission.Commission) string {
	if c.ConversionID != "" {
		return c.ConversionID
	}
	return c.DealID
}

func commissionItem(c commission.Commission) (item, error) {
	keys := []item{commissionKey(c.OrgID, c.CreatedAt, c.ID)}
	if src := sourceOf(c); src != "" {
		keys = append(keys, item{attrGSI2PK: str(bySource(c.OrgID, src)), attrGSI2SK: str(commissionSK(c.CreatedAt, c.ID))})
	}
	if c.PartnerID != "" {
		keys = append(keys, item{attrGSI1PK: str(partnerCommissions(c.OrgID, c.PartnerID).pk(c.ID)),
			attrGSI1SK: str(commissionSK(c.CreatedAt, c.ID))})
	}
	return record(c, typeCommission, keys...)
}

// checkChange refuses a change whose entries belong to another organization
// or name one entry twice.
func checkChange(ch store.LedgerChange) error {
	seen := map[string]bool{}
	for _, list := range [][]commission.Commission{ch.Created, ch.Updated} {
		for _, c := range list {
			if c.OrgID != ch.OrgID {
				return fmt.Errorf("dynamo: ledger change of organization %q holds commission %s of organization %q", ch.OrgID, c.ID, c.OrgID)
			}
			if seen[c.ID] {
				return fmt.Errorf("%w: commission %s appears twice in one ledger change", store.ErrConflict, c.ID)
			}
			seen[c.ID] = true
		}
	}
	return nil
}

// ApplyLedgerChange writes ch in one TransactWriteItems:
//
//   - each Created entry: its record and its id guard, both on condition
//     attribute_not_exists(PK) — an id stored before is store.ErrConflict,
//     whatever createdAt the repeat carries;
//   - each Updated entry: its record put at Revision+1 on condition
//     revision = Revision (a missing record fails it too: store.ErrConflict);
//   - each Audit entry: put on condition attribute_not_exists(PK) (the same
//     entry appended twice is store.ErrConflict);
//   - Refund: SET refundedAmount.amount = To on the conversion on condition
//     refundedAmount.amount = From. When only that condition failed, the
//     conversion is read to tell store.ErrNotFound (no such conversion in the
//     organization) from store.ErrConflict (its refunded amount moved);
//   - UnsettledRun: a condition check on the organization's unsettled-run
//     guard (payouts.go) that it still names that run (absent or "" for
//     none), else store.ErrConflict.
//
// A change of more than 100 items (DynamoDB's limit per transaction; an
// entry created counts 2) is refused before anything is written.
func (s *Store) ApplyLedgerChange(ctx context.Context, ch store.LedgerChange) error {
	ctx, done := s.op(ctx, "ApplyLedgerChange")
	defer done()
	items, err := s.ledgerWrites(ch)
	if err != nil || len(items) == 0 {
		return err
	}
	err = s.transact(ctx, items)
	if errors.Is(err, store.ErrNotFound) && ch.Refund != nil {
		// Only the refund's condition failed (every other failure outranks
		// it in mapErr): a missing conversion, or a refunded amount that moved.
		if _, gerr := s.getItem(ctx, conversionKey(ch.OrgID, ch.Refund.ConversionID)); gerr != nil {
			return gerr
		}
		return store.ErrConflict
	}
	return err
}

// ledgerWrites is ApplyLedgerChange's transaction (the scale test replays
// it); none for an empty change.
func (s *Store) ledgerWrites(ch store.LedgerChange) ([]txItem, error) {
	if err := checkChange(ch); err != nil {
		return nil, err
	}
	n := 2*len(ch.Created) + len(ch.Updated) + len(ch.Audit)
	if ch.Refund != nil {
		n++
	}
	if ch.UnsettledRun != nil {
		n++
	}
	if n > maxTransactItems {
		return nil, fmt.Errorf("dynamo: a ledger change of %d created, %d updated and %d audit entries needs %d transaction items; "+
			"DynamoDB allows %d: split it (at most 25 commissions per change)", len(ch.Created), len(ch.Updated), len(ch.Audit), n, maxTransactItems)
	}
	if n == 0 {
		return nil, nil
	}
	items := make([]txItem, 0, n)
	for _, c := range ch.Created {
		it, err := commissionItem(c)
		if err != nil {
			return nil, err
		}
		g := commissionIDKey(c.OrgID, c.ID)
		g[attrType], g["commissionId"], g["createdAt"] = str(typeCommissionID), str(c.ID), str(formatTime(c.CreatedAt))
		items = append(items, s.txPutNew(it), s.txPutNew(g))
	}
	for _, c := range ch.Updated {
		expected := c.Revision
		c.Revision++
		it, err := commissionItem(c)
		if err != nil {
			return nil, err
		}
		items = append(items, txItem{w: types.TransactWriteItem{Put: &types.Put{
			TableName: &s.table, Item: it,
			ConditionExpression:       aws.String("#revision = :expected"),
			ExpressionAttributeNames:  map[string]string{"#revision": "revision"},
			ExpressionAttributeValues: item{":expected": num(expected)},
		}}, onFail: store.ErrConflict})
	}
	for _, a := range ch.Audit {
		it, err := record(a, typeCommissionAudit, auditKey(ch.OrgID, a.CommissionID, a.At, string(a.To)))
		if err != nil {
			return nil, err
		}
		it["organizationId"] = str(ch.OrgID)
		items = append(items, s.txPutNew(it))
	}
	if rc := ch.Refund; rc != nil {
		items = append(items, txItem{w: types.TransactWriteItem{Update: &types.Update{
			TableName:                 &s.table,
			Key:                       conversionKey(ch.OrgID, rc.ConversionID),
			UpdateExpression:          aws.String("SET refundedAmount.#amount = :to, refundedAt = :at, " + attrWrittenAt + " = :now"),
			ConditionExpression:       aws.String("refundedAmount.#amount = :from"),
			ExpressionAttributeNames:  map[string]string{"#amount": "amount"},
			ExpressionAttributeValues: item{":from": num(rc.From), ":to": num(rc.To), ":at": str(formatTime(rc.At)), ":now": str(formatTime(time.Now()))},
		}}, onFail: store.ErrNotFound})
	}
	if run := ch.UnsettledRun; run != nil {
		cond := "#run = :run"
		if *run == "" {
			cond = "attribute_not_exists(PK) OR " + cond
		}
		items = append(items, txItem{w: types.TransactWriteItem{ConditionCheck: &types.ConditionCheck{
			TableName: &s.table, Key: payoutRunGuardKey(ch.OrgID), ConditionExpression: aws.String(cond),
			ExpressionAttributeNames: map[string]string{"#run": attrPayoutRunRef}, ExpressionAttributeValues: item{":run": str(*run)},
		}}, onFail: store.ErrConflict})
	}
	// One item twice (the same audit entry, say) is a request DynamoDB
	// refuses outright; it is a conflict of the change with itself.
	seen := make(map[string]bool, len(items))
	for _, it := range items {
		k := itemKey(it.w)
		if seen[k] {
			return nil, fmt.Errorf("%w: the ledger change writes the item %s twice", store.ErrConflict, k)
		}
		seen[k] = true
	}
	return items, nil
}

// itemKey names the item a transaction item writes, "PK|SK".
func itemKey(w types.TransactWriteItem) string {
	var k item
	switch {
	case w.Put != nil:
		k = w.Put.Item
	case w.Update != nil:
		k = w.Update.Key
	case w.Delete != nil:
		k = w.Delete.Key
	case w.ConditionCheck != nil:
		k = w.ConditionCheck.Key
	}
	return getS(k, attrPK) + "|" + getS(k, attrSK)
}

// GetCommission returns the organization's entry with id: its id guard,
// then its record (two consistent reads).
func (s *Store) GetCommission(ctx context.Context, orgID, id string) (commission.Commission, error) {
	ctx, done := s.op(ctx, "GetCommission")
	defer done()
	g, err := s.getItem(ctx, commissionIDKey(orgID, id))
	if err != nil {
		return commission.Commission{}, err
	}
	created, err := parseTime(getS(g, "createdAt"))
	if err != nil {
		return commission.Commission{}, err
	}
	it, err := s.getItem(ctx, commissionKey(orgID, created, id))
	if err != nil {
		return commission.Commission{}, err
	}
	return decodeAs[commission.Commission](it)
}

// byPartnerCommissions is the GSI1 partition of a partner's ledger entries
// (the portal's earnings and statements, the admin's ?partnerId=), so a
// partner's entries are read without the rest of the organization's.
func partnerCommissions(orgID, partnerID string) shardSet {
	return shardSet{"ORG#" + orgID + "#PARTNER_COMMISSIONS#" + partnerID, indexShards}
}

// ListCommissions lists the organization's entries that match f, newest
// first by createdAt (ties by id, descending): a Query with SK BETWEEN
// COMMISSION#<from> and COMMISSION#<to> (createdAt < to, since every sort
// key of that instant continues past it) — of the partner's GSI1 partition
// when f names a partner (eventually consistent, like every index), else a
// consistent one of the organization's partition — each of their shards,
// merged (page.go) — with the other fields of f as a filter expression.
func (s *Store) ListCommissions(ctx context.Context, orgID string, f store.CommissionFilter, p store.Page) ([]commission.Commission, string, error) {
	ctx, done := s.op(ctx, "ListCommissions")
	defer done()
	p = p.Clamp()
	filters := map[string]string{}
	for name, v := range map[string]string{"referrerId": f.ReferrerID, "programId": f.ProgramID, "status": f.Status} {
		if v != "" {
			filters[name] = v
		}
	}
	q := sharded(orgID, "", orgCommissions(orgID), skCommission)
	if f.PartnerID != "" {
		q = sharded(orgID, indexGSI1, partnerCommissions(orgID, f.PartnerID), skCommission)
	}
	q.filters = filters
	// The range is part of the query's identity (its cursors' q).
	q.lo, q.hi = skCommission, strings.TrimSuffix(skCommission, "#")+"$" // '$' follows '#'
	if !f.From.IsZero() {
		q.lo = skCommission + skTime(f.From)
	}
	if !f.To.IsZero() {
		q.hi = skCommission + skTime(f.To)
	}
	if q.lo > q.hi {
		if p.Cursor != "" {
			if _, err := q.decodeCursor(p.Cursor); err != nil {
				return nil, "", err
			}
		}
		return nil, "", nil // From after To: nothing matches
	}
	return page(ctx, s, q, p, decodeAs[commission.Commission])
}

// CommissionsOfSource lists every entry of the conversion or deal, oldest
// first (ties by id): a Query of GSI2 (eventually consistent, like every
// list on an index).
func (s *Store) CommissionsOfSource(ctx context.Context, orgID, conversionOrDealID string) ([]commission.Commission, error) {
	ctx, done := s.op(ctx, "CommissionsOfSource")
	defer done()
	return s.commissionsOfSource(ctx, orgID, conversionOrDealID)
}

// CommissionsOfSources lists the entries of each source, by source ID: a
// Query of GSI2 per source, as CommissionsOfSource. (The AWS calculator
// prices one message at a time; the batch is the embedded pipeline's.)
func (s *Store) CommissionsOfSources(ctx context.Context, orgID string, sourceIDs []string) (map[string][]commission.Commission, error) {
	ctx, done := s.op(ctx, "CommissionsOfSources")
	defer done()
	out := map[string][]commission.Commission{}
	for _, id := range sourceIDs {
		if _, ok := out[id]; ok {
			continue
		}
		cs, err := s.commissionsOfSource(ctx, orgID, id)
		if err != nil {
			return nil, err
		}
		if len(cs) > 0 {
			out[id] = cs
		}
	}
	return out, nil
}

func (s *Store) commissionsOfSource(ctx context.Context, orgID, conversionOrDealID string) ([]commission.Commission, error) {
	if conversionOrDealID == "" {
		return nil, nil
	}
	items, err := s.queryAll(ctx, &dynamodb.QueryInput{
		IndexName:                 aws.String(indexGSI2),
		KeyConditionExpression:    aws.String("GSI2PK = :pk AND begins_with(GSI2SK, :prefix)"),
		ExpressionAttributeValues: item{":pk": str(bySource(orgID, conversionOrDealID)), ":prefix": str(skCommission)},
	})
	if err != nil {
		return nil, err
	}
	return decodeAll[commission.Commission](items)
}

// ListAudit returns the audit trail of the entry, oldest first: a
// consistent Query of the entry's partition.
func (s *Store) ListAudit(ctx context.Context, orgID, commissionID string) ([]commission.AuditEntry, error) {
	ctx, done := s.op(ctx, "ListAudit")
	defer done()
	items, err := s.queryAll(ctx, &dynamodb.QueryInput{
		KeyConditionExpression:    aws.String("PK = :pk AND begins_with(SK, :prefix)"),
		ExpressionAttributeValues: item{":pk": str(commissionPK(orgID, commissionID)), ":prefix": str(skAudit)},
		ConsistentRead:            aws.Bool(true),
	})
	if err != nil {
		return nil, err
	}
	return decodeAll[commission.AuditEntry](items)
}
