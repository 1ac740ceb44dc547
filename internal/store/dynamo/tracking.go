package dynamo

import (
	"context"
	"errors"
	"slices"
	"strings"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb/types"

	"github.com/partnerloop/partnerloop/internal/domain"
	"github.com/partnerloop/partnerloop/internal/store"
)

// Referrers: the record in the organization's partition, in GSI1 under
// its program and, when it belongs to a partner, in GSI2 under the partner
// (portal.go); a guard CODE#<code key> naming it (codes are unique across
// the installation, ignoring case) and a guard per (program, address). The
// click count is the record's clicks attribute plus the referrer's click
// counter shards (clickCountKey), which RecordClick adds to: one item
// taking every click of a viral link would exceed a partition's writes.

// CreateReferrer stores r; a code whose domain.CodeKey is taken anywhere in
// the installation, an email that already has a referrer in the program, or
// an id already taken is store.ErrConflict.
func (s *Store) CreateReferrer(ctx context.Context, r domain.Referrer) error {
	ctx, done := s.op(ctx, "CreateReferrer")
	defer done()
	it, err := record(r, typeReferrer, referrerKey(r.OrgID, r.ID), referrerIndexKeys(r))
	if err != nil {
		return err
	}
	code := codeKey(domain.CodeKey(r.Code))
	code[attrType], code["organizationId"], code["referrerId"] = str(typeCode), str(r.OrgID), str(r.ID)
	email := referrerEmailKey(r.OrgID, r.ProgramID, domain.NormalizeEmail(r.Email))
	email[attrType], email["referrerId"] = str(typeReferrerEmail), str(r.ID)
	items := []txItem{s.txPutNew(it), s.txPutNew(code), s.txPutNew(email)}
	items = append(items, s.wordItems(r.OrgID, kindReferrer, r.ID, r.Name, r.Email)...)
	for i := range clickCountShards {
		sh := clickCountKey(r.OrgID, r.ID, i)
		sh[attrType], sh["clicks"] = str(typeClickCount), num(0)
		items = append(items, s.txPutNew(sh))
	}
	return s.transact(ctx, items)
}

// GetReferrer returns the organization's referrer with id.
func (s *Store) GetReferrer(ctx context.Context, orgID, id string) (domain.Referrer, error) {
	ctx, done := s.op(ctx, "GetReferrer")
	defer done()
	return s.getReferrer(ctx, orgID, id)
}

// getReferrer reads the referrer and its click counter's shards in one
// consistent BatchGetItem.
func (s *Store) getReferrer(ctx context.Context, orgID, id string) (domain.Referrer, error) {
	refs, err := s.referrersWithClicks(ctx, orgID, []string{id}, true)
	if err != nil {
		return domain.Referrer{}, err
	}
	if len(refs) == 0 {
		return domain.Referrer{}, store.ErrNotFound
	}
	return refs[0], nil
}

// referrersWithClicks reads the organization's referrers with ids (those
// that exist) and their click counters' shards, in BatchGetItems,
// consistent or not. Lists read them eventually consistent, like the
// indexes they list.
func (s *Store) referrersWithClicks(ctx context.Context, orgID string, ids []string, consistent bool) ([]domain.Referrer, error) {
	var all []item
	for _, id := range ids {
		all = append(all, referrerKey(orgID, id))
		for i := range clickCountShards {
			all = append(all, clickCountKey(orgID, id, i))
		}
	}
	items, err := s.batchGetWith(ctx, all, consistent)
	if err != nil {
		return nil, err
	}
	clicks := map[string]int64{}
	var recs []item
	for _, it := range items {
		if getS(it, attrType) == typeClickCount {
			n, err := getN(it, "clicks")
			if err != nil {
				return nil, err
			}
			clicks[getS(it, attrPK)] += n
		} else {
			recs = append(recs, it)
		}
	}
	refs := make([]domain.Referrer, 0, len(recs))
	for _, it := range recs {
		r, err := decodeAs[domain.Referrer](it)
		if err != nil {
			return nil, err
		}
		for i := range clickCountShards {
			r.Clicks += clicks[getS(clickCountKey(r.OrgID, r.ID, i), attrPK)]
		}
		refs = append(refs, r)
	}
	return refs, nil
}

// withClicks adds their click counters to a page of referrers.
func (s *Store) withClicks(ctx context.Context, refs []domain.Referrer, next string, err error) ([]domain.Referrer, string, error) {
	if err != nil || len(refs) == 0 {
		return refs, next, err
	}
	ids := make([]string, len(refs))
	for i, r := range refs {
		ids[i] = r.ID
	}
	got, err := s.referrersWithClicks(ctx, refs[0].OrgID, ids, false)
	if err != nil {
		return nil, "", err
	}
	byID := map[string]int64{}
	for _, r := range got {
		byID[r.ID] = r.Clicks
	}
	for i := range refs {
		refs[i].Clicks = byID[refs[i].ID]
	}
	return refs, next, nil
}

// GetReferrerByCode looks a code up across the installation, ignoring case
// (domain.CodeKey): the code's guard, then the referrer's record, without
// its click counter (Clicks is the record's own attribute, 0): the redirect
// reads every link's code, and the counter is 16 more reads.
func (s *Store) GetReferrerByCode(ctx context.Context, code string) (domain.Referrer, error) {
	ctx, done := s.op(ctx, "GetReferrerByCode")
	defer done()
	g, err := s.getItem(ctx, codeKey(domain.CodeKey(code)))
	if err != nil {
		return domain.Referrer{}, err
	}
	it, err := s.getItem(ctx, referrerKey(getS(g, "organizationId"), getS(g, "referrerId")))
	if err != nil {
		return domain.Referrer{}, err
	}
	return decodeAs[domain.Referrer](it)
}

// GetReferrerByEmail returns the program's referrer with the address: the
// (program, address) guard, then the referrer.
func (s *Store) GetReferrerByEmail(ctx context.Context, orgID, programID, email string) (domain.Referrer, error) {
	ctx, done := s.op(ctx, "GetReferrerByEmail")
	defer done()
	g, err := s.getItem(ctx, referrerEmailKey(orgID, programID, domain.NormalizeEmail(email)))
	if err != nil {
		return domain.Referrer{}, err
	}
	return s.getReferrer(ctx, orgID, getS(g, "referrerId"))
}

// ListReferrers lists the program's referrers (GSI1), or every referrer of
// the organization when programID is "" (the organization's partition),
// newest first.
func (s *Store) ListReferrers(ctx context.Context, orgID, programID string, p store.Page) ([]domain.Referrer, string, error) {
	ctx, done := s.op(ctx, "ListReferrers")
	defer done()
	q := one(orgID, "", orgPK(orgID), skReferrer)
	if programID != "" {
		q = one(orgID, indexGSI1, byProgram(orgID, programID), skReferrer)
	}
	refs, next, err := page(ctx, s, q, p, decodeAs[domain.Referrer])
	return s.withClicks(ctx, refs, next, err)
}

// Clicks: the record in its shard of the organization's clicks and in
// GSI2 in its shard of the referrer's clicks; a visit item per (code key,
// visitor) holding the visitor's last counted click, for de-duplication,
// and a source item per (code key, address, fixed window) counting the
// address's counted clicks, both expiring by TTL.

func decodeClick(it item) (domain.Click, error) {
	c, err := decodeAs[domain.Click](it)
	c.VisitorHash = getS(it, attrVisitorHash)
	return c, err
}

// visitRetention is how long a visit item outlives its window before TTL
// removes it (TTL is lazy and approximate; the condition does not rely on
// it, this only bounds the table's size).
const visitRetention = 24 * time.Hour

// RecordClick stores c and adds one to its referrer's click count unless
// lim rules it out (store.ClickLimits); it reports whether the click was
// counted. One transaction: the visit item put on condition
// attribute_not_exists(PK) OR lastAt <= c.At-window; with
// lim.PrevVisitorHash a condition check, the same, on the visitor's visit
// item under the previous salt; with lim.PerSource the source item of the
// window, ADD n 1 on condition n < PerSource; the click; and ADD clicks 1
// on the referrer on condition it exists in the click's organization (else
// store.ErrNotFound). An uncounted click writes nothing.
func (s *Store) RecordClick(ctx context.Context, c domain.Click, lim store.ClickLimits) (bool, error) {
	ctx, done := s.op(ctx, "RecordClick")
	defer done()
	items, err := s.clickWrites(c, lim)
	if err != nil {
		return false, err
	}
	err = s.transact(ctx, items)
	switch {
	case errors.Is(err, errDuplicateVisit):
		return false, nil
	case err != nil:
		return false, err
	}
	return true, nil
}

// clickWrites is RecordClick's transaction (the scale test replays it).
func (s *Store) clickWrites(c domain.Click, lim store.ClickLimits) ([]txItem, error) {
	it, err := record(c, typeClick, clickKey(c.OrgID, c.ID),
		clickIndexKeys(orgRecord{org: c.OrgID, program: c.ProgramID, referrer: c.ReferrerID, id: c.ID}))
	if err != nil {
		return nil, err
	}
	it[attrVisitorHash] = str(c.VisitorHash)
	code := domain.CodeKey(c.Code)
	visit := visitKey(code, c.VisitorHash)
	visit[attrType] = str(typeVisit)
	visit["lastAt"] = num(c.At.UnixNano())
	visit["lastAtTime"] = str(formatTime(c.At))
	visit[attrTTL] = num(c.At.Add(lim.Window + visitRetention).Unix())
	notRecent := aws.String("attribute_not_exists(PK) OR lastAt <= :cutoff")
	cutoff := item{":cutoff": num(c.At.Add(-lim.Window).UnixNano())}
	items := []txItem{{w: types.TransactWriteItem{Put: &types.Put{
		TableName: &s.table, Item: visit, ConditionExpression: notRecent, ExpressionAttributeValues: cutoff,
	}}, onFail: errDuplicateVisit}}
	if lim.PrevVisitorHash != "" && lim.PrevVisitorHash != c.VisitorHash {
		items = append(items, txItem{w: types.TransactWriteItem{ConditionCheck: &types.ConditionCheck{
			TableName: &s.table, Key: visitKey(code, lim.PrevVisitorHash),
			ConditionExpression: notRecent, ExpressionAttributeValues: cutoff,
		}}, onFail: errDuplicateVisit})
	}
	if lim.PerSource > 0 {
		start := c.At.UTC().Truncate(lim.Window)
		items = append(items, txItem{w: types.TransactWriteItem{Update: &types.Update{
			TableName: &s.table, Key: clickSourceKey(code, lim.SourceHash, start),
			UpdateExpression:         aws.String("ADD #n :one SET #ttl = :ttl, #type = :type"),
			ConditionExpression:      aws.String("attribute_not_exists(#n) OR #n < :max"),
			ExpressionAttributeNames: map[string]string{"#n": "n", "#ttl": attrTTL, "#type": attrType},
			ExpressionAttributeValues: item{":one": num(1), ":max": num(int64(lim.PerSource)),
				":ttl": num(start.Add(lim.Window + visitRetention).Unix()), ":type": str(typeClickSource)},
		}}, onFail: errDuplicateVisit})
	}
	// The counter shard exists from CreateReferrer on: its condition is the
	// check that the referrer exists in the click's organization.
	items = append(items, s.txPutNew(it), txItem{w: types.TransactWriteItem{Update: &types.Update{
		TableName: &s.table, Key: clickCountKey(c.OrgID, c.ReferrerID, shardOf(c.ID, clickCountShards)),
		UpdateExpression:          aws.String("ADD clicks :one"),
		ConditionExpression:       aws.String("attribute_exists(PK)"),
		ExpressionAttributeValues: item{":one": num(1)},
	}}, onFail: store.ErrNotFound})
	return items, nil
}

// DaySalt returns the day's salt: one UpdateItem that sets the salt only if
// the item has none (if_not_exists) and returns the item as it is after, so
// racing instances all get the first writer's salt. TTL forgets it.
func (s *Store) DaySalt(ctx context.Context, day time.Time, candidate []byte, expiresAt time.Time) ([]byte, error) {
	ctx, done := s.op(ctx, "DaySalt")
	defer done()
	var salt []byte
	err := retry(ctx, func() error {
		out, err := s.c.UpdateItem(ctx, &dynamodb.UpdateItemInput{
			TableName: &s.table, Key: daySaltKey(day),
			UpdateExpression:         aws.String("SET salt = if_not_exists(salt, :salt), #ttl = if_not_exists(#ttl, :ttl), #type = :type"),
			ExpressionAttributeNames: map[string]string{"#ttl": attrTTL, "#type": attrType},
			ExpressionAttributeValues: item{":salt": &types.AttributeValueMemberB{Value: candidate},
				":ttl": num(expiresAt.Unix()), ":type": str(typeDaySalt)},
			ReturnValues:           types.ReturnValueAllNew,
			ReturnConsumedCapacity: s.rcc(),
		})
		if err != nil {
			return mapErr(err)
		}
		s.consumedPtr(ctx, true, out.ConsumedCapacity)
		b, ok := out.Attributes["salt"].(*types.AttributeValueMemberB)
		if !ok {
			return errors.New("dynamo: DaySalt: no salt returned")
		}
		salt = b.Value
		return nil
	})
	return salt, err
}

// ListClicks lists the referrer's clicks (GSI2), or every click of the
// organization when referrerID is "" (the organization's partition),
// newest first.
func (s *Store) ListClicks(ctx context.Context, orgID, referrerID string, p store.Page) ([]domain.Click, string, error) {
	ctx, done := s.op(ctx, "ListClicks")
	defer done()
	q := sharded(orgID, "", orgClicks(orgID), skClick)
	if referrerID != "" {
		q = sharded(orgID, indexGSI2, referrerClicks(orgID, referrerID), skClick)
	}
	return page(ctx, s, q, p, decodeClick)
}

// Referrals: the record in the organization's partition, in GSI1 under its
// program and in GSI2 under its referrer; a guard per (program, address)
// unless the address is empty, kept in one partition per address so that
// ReferralsByEmail finds them all; a guard per externalId unless it is
// empty.

// referralWrites returns the transaction items that create r.
func (s *Store) referralWrites(r domain.Referral) ([]txItem, error) {
	it, err := record(r, typeReferral, referralKey(r.OrgID, r.ID),
		referralIndexKeys(orgRecord{org: r.OrgID, program: r.ProgramID, referrer: r.ReferrerID, id: r.ID}))
	if err != nil {
		return nil, err
	}
	items := append([]txItem{s.txPutNew(it)}, s.wordItems(r.OrgID, kindReferral, r.ID, r.Name, r.Email)...)
	if email := domain.NormalizeEmail(r.Email); email != "" {
		g := referralEmailKey(r.OrgID, r.ProgramID, email)
		g[attrType], g["referralId"] = str(typeReferralEmail), str(r.ID)
		items = append(items, s.txPutNew(g))
	}
	if r.ExternalID != "" {
		g := referralExtKey(r.OrgID, r.ExternalID)
		g[attrType], g["referralId"] = str(typeReferralExtID), str(r.ID)
		items = append(items, s.txPutNew(g))
	}
	return items, nil
}

// CreateReferral stores r; an email that already has a referral in the
// program, an externalId already used in the organization, or an id already
// taken is store.ErrConflict.
func (s *Store) CreateReferral(ctx context.Context, r domain.Referral) error {
	ctx, done := s.op(ctx, "CreateReferral")
	defer done()
	items, err := s.referralWrites(r)
	if err != nil {
		return err
	}
	return s.transact(ctx, items)
}

// GetReferral returns the organization's referral with id.
func (s *Store) GetReferral(ctx context.Context, orgID, id string) (domain.Referral, error) {
	ctx, done := s.op(ctx, "GetReferral")
	defer done()
	return s.getReferral(ctx, orgID, id)
}

func (s *Store) getReferral(ctx context.Context, orgID, id string) (domain.Referral, error) {
	it, err := s.getItem(ctx, referralKey(orgID, id))
	if err != nil {
		return domain.Referral{}, err
	}
	return decodeAs[domain.Referral](it)
}

// GetReferralByExternalID returns the organization's referral with the
// externalId (its guard, then the referral); "" matches nothing.
func (s *Store) GetReferralByExternalID(ctx context.Context, orgID, externalID string) (domain.Referral, error) {
	ctx, done := s.op(ctx, "GetReferralByExternalID")
	defer done()
	if externalID == "" {
		return domain.Referral{}, store.ErrNotFound
	}
	g, err := s.getItem(ctx, referralExtKey(orgID, externalID))
	if err != nil {
		return domain.Referral{}, err
	}
	return s.getReferral(ctx, orgID, getS(g, "referralId"))
}

// maxReferralsByEmail bounds ReferralsByEmail (one referral per program).
const maxReferralsByEmail = 100

// ReferralsByEmail lists the address's referrals in the organization,
// newest first, at most 100: a consistent Query of the address's guards
// (one per program), then BatchGetItem of the newest 100 referrals. An
// empty address has no guards, so anonymous referrals are never listed.
func (s *Store) ReferralsByEmail(ctx context.Context, orgID, email string) ([]domain.Referral, error) {
	ctx, done := s.op(ctx, "ReferralsByEmail")
	defer done()
	email = domain.NormalizeEmail(email)
	if email == "" {
		return nil, nil
	}
	var ids []string
	var start item
	for {
		out, err := s.query(ctx, &dynamodb.QueryInput{
			KeyConditionExpression:    aws.String("PK = :pk"),
			ExpressionAttributeValues: item{":pk": str(referralEmailPK(orgID, email))},
			ConsistentRead:            aws.Bool(true),
			ExclusiveStartKey:         start,
		})
		if err != nil {
			return nil, err
		}
		for _, g := range out.Items {
			ids = append(ids, getS(g, "referralId"))
		}
		if len(out.LastEvaluatedKey) == 0 {
			break
		}
		start = out.LastEvaluatedKey
	}
	if len(ids) == 0 {
		return nil, nil
	}
	// Newest first: ids are ULID-based and sort by creation.
	slices.SortFunc(ids, func(a, b string) int { return strings.Compare(b, a) })
	ids = ids[:min(len(ids), maxReferralsByEmail)]
	keys := make([]item, len(ids))
	for i, id := range ids {
		keys[i] = referralKey(orgID, id)
	}
	items, err := s.batchGet(ctx, keys)
	if err != nil {
		return nil, err
	}
	refs := make([]domain.Referral, 0, len(items))
	for _, it := range items {
		r, err := decodeAs[domain.Referral](it)
		if err != nil {
			return nil, err
		}
		refs = append(refs, r)
	}
	slices.SortFunc(refs, func(a, b domain.Referral) int { return strings.Compare(b.ID, a.ID) })
	return refs, nil
}

// ListReferrals lists the organization's referrals that match f, newest
// first: by referrer (GSI2) when f names one, else by program (GSI1) when
// f names one, else the organization's partition; the other fields of f
// are filter expressions.
func (s *Store) ListReferrals(ctx context.Context, orgID string, f store.ReferralFilter, p store.Page) ([]domain.Referral, string, error) {
	ctx, done := s.op(ctx, "ListReferrals")
	defer done()
	if f.Search != "" { // lists.go
		recs, err := s.searchReferrals(ctx, orgID, f)
		if err != nil {
			return nil, "", err
		}
		return matched(recs, func(r domain.Referral) string { return r.ID }, referralSearchList(orgID, f), p)
	}
	return page(ctx, s, referralList(orgID, f), p, decodeAs[domain.Referral])
}

// ExpireReferral sets a pending referral's status to expired, changed at
// at: UpdateItem on condition status = pending, returning the item after.
func (s *Store) ExpireReferral(ctx context.Context, orgID, id string, at time.Time) (domain.Referral, error) {
	ctx, done := s.op(ctx, "ExpireReferral")
	defer done()
	var r domain.Referral
	err := retry(ctx, func() error {
		out, err := s.c.UpdateItem(ctx, &dynamodb.UpdateItemInput{
			TableName: &s.table, Key: referralKey(orgID, id),
			UpdateExpression:         aws.String("SET #status = :expired, updatedAt = :at, " + attrWrittenAt + " = :now"),
			ConditionExpression:      aws.String("#status = :pending"),
			ExpressionAttributeNames: map[string]string{"#status": "status"},
			ExpressionAttributeValues: item{":expired": str(domain.ReferralExpired), ":pending": str(domain.ReferralPending),
				":at": str(formatTime(at)), ":now": str(formatTime(time.Now()))},
			ReturnValues:                        types.ReturnValueAllNew,
			ReturnValuesOnConditionCheckFailure: types.ReturnValuesOnConditionCheckFailureAllOld,
			ReturnConsumedCapacity:              s.rcc(),
		})
		var ccf *types.ConditionalCheckFailedException
		if errors.As(err, &ccf) {
			if len(ccf.Item) == 0 { // no such referral (or an emulator that does not say)
				if _, gerr := s.getReferral(ctx, orgID, id); gerr != nil {
					return gerr
				}
			}
			return store.ErrConflict
		}
		if err != nil {
			return mapErr(err)
		}
		s.consumedPtr(ctx, true, out.ConsumedCapacity)
		r, err = decodeAs[domain.Referral](out.Attributes)
		return err
	})
	return r, err
}

// Conversions: the record in the organization's partition, in GSI1 under
// its program and in GSI2 under its referral; a guard per externalId
// unless it is empty.

// maxConversionAttempts bounds RecordConversion's re-reads of a referral
// that stopped being pending between the read and the transaction.
const maxConversionAttempts = 3

// RecordConversion, in one transaction, stores newReferral if it is not nil
// (with its guards), stores c with its externalId guard, and marks the
// referral c.ReferralID converted at c.OccurredAt if it is pending or
// expired. The referral is read first, and the update (conditioned on the
// status read) is in the transaction only if it was one of them; when that
// condition fails
// the referral is read again and the transaction retried. A new referral
// that is c's own referral is stored converted. An externalId (or id)
// already used in the organization is store.ErrConflict and nothing is
// written. A referral the organization does not have is left alone.
func (s *Store) RecordConversion(ctx context.Context, c domain.Conversion, newReferral *domain.Referral) error {
	ctx, done := s.op(ctx, "RecordConversion")
	defer done()
	base, ownReferral, err := s.conversionWrites(c, newReferral)
	if err != nil {
		return err
	}
	for attempt := 1; ; attempt++ {
		items := slices.Clone(base)
		if !ownReferral {
			ref, err := s.getReferral(ctx, c.OrgID, c.ReferralID)
			switch {
			case errors.Is(err, store.ErrNotFound):
			case err != nil:
				return err
			case ref.Status == domain.ReferralPending || ref.Status == domain.ReferralExpired:
				items = append(items, s.convertReferral(c, ref.Status))
			}
		}
		err := s.transact(ctx, items)
		if errors.Is(err, errNotPending) && attempt < maxConversionAttempts {
			continue
		}
		if errors.Is(err, errNotPending) {
			return errors.New("dynamo: RecordConversion: the referral kept changing; try again")
		}
		return err
	}
}

// conversionWrites are the items of RecordConversion's transaction that
// do not depend on the referral read: the conversion, its externalId guard
// and newReferral's items; ownReferral reports whether newReferral is c's
// referral (stored converted).
func (s *Store) conversionWrites(c domain.Conversion, newReferral *domain.Referral) (items []txItem, ownReferral bool, err error) {
	it, err := record(c, typeConversion, conversionKey(c.OrgID, c.ID),
		conversionIndexKeys(orgRecord{org: c.OrgID, program: c.ProgramID, referrer: c.ReferrerID, id: c.ID}, c.ReferralID))
	if err != nil {
		return nil, false, err
	}
	items = []txItem{s.txPutNew(it)}
	if c.ExternalID != "" {
		g := conversionExtKey(c.OrgID, c.ExternalID)
		g[attrType], g["conversionId"] = str(typeConversionExtI), str(c.ID)
		items = append(items, s.txPutNew(g))
	}
	ownReferral = newReferral != nil && newReferral.OrgID == c.OrgID && newReferral.ID == c.ReferralID
	if newReferral != nil {
		nr := *newReferral
		if ownReferral && nr.Status == domain.ReferralPending {
			at := c.OccurredAt
			nr.Status, nr.ConvertedAt, nr.UpdatedAt = domain.ReferralConverted, &at, c.CreatedAt
		}
		writes, err := s.referralWrites(nr)
		if err != nil {
			return nil, false, err
		}
		items = append(writes, items...)
	}
	return items, ownReferral, nil
}

// convertReferral marks c's referral converted, on condition its status is
// still the one read.
func (s *Store) convertReferral(c domain.Conversion, read string) txItem {
	return txItem{w: types.TransactWriteItem{Update: &types.Update{
		TableName:                &s.table,
		Key:                      referralKey(c.OrgID, c.ReferralID),
		UpdateExpression:         aws.String("SET #status = :converted, convertedAt = :at, updatedAt = :changed, " + attrWrittenAt + " = :now"),
		ConditionExpression:      aws.String("#status = :read"),
		ExpressionAttributeNames: map[string]string{"#status": "status"},
		ExpressionAttributeValues: item{":converted": str(domain.ReferralConverted), ":read": str(read),
			":at": str(formatTime(c.OccurredAt)), ":changed": str(formatTime(c.CreatedAt)), ":now": str(formatTime(time.Now()))},
	}}, onFail: errNotPending}
}

// GetConversion returns the organization's conversion with id.
func (s *Store) GetConversion(ctx context.Context, orgID, id string) (domain.Conversion, error) {
	ctx, done := s.op(ctx, "GetConversion")
	defer done()
	return s.getConversion(ctx, orgID, id)
}

// GetConversions returns the organization's conversions among ids, by ID
// (one consistent BatchGetItem per 100).
func (s *Store) GetConversions(ctx context.Context, orgID string, ids []string) (map[string]domain.Conversion, error) {
	ctx, done := s.op(ctx, "GetConversions")
	defer done()
	var keys []item
	seen := map[string]bool{}
	for _, id := range ids {
		if id != "" && !seen[id] {
			seen[id] = true
			keys = append(keys, conversionKey(orgID, id))
		}
	}
	items, err := s.batchGet(ctx, keys)
	if err != nil {
		return nil, err
	}
	out := make(map[string]domain.Conversion, len(items))
	for _, it := range items {
		c, err := decodeAs[domain.Conversion](it)
		if err != nil {
			return nil, err
		}
		out[c.ID] = c
	}
	return out, nil
}

func (s *Store) getConversion(ctx context.Context, orgID, id string) (domain.Conversion, error) {
	it, err := s.getItem(ctx, conversionKey(orgID, id))
	if err != nil {
		return domain.Conversion{}, err
	}
	return decodeAs[domain.Conversion](it)
}

// GetConversionByExternalID returns the organization's conversion with the
// externalId (its guard, then the conversion); "" matches nothing.
func (s *Store) GetConversionByExternalID(ctx context.Context, orgID, externalID string) (domain.Conversion, error) {
	ctx, done := s.op(ctx, "GetConversionByExternalID")
	defer done()
	if externalID == "" {
		return domain.Conversion{}, store.ErrNotFound
	}
	g, err := s.getItem(ctx, conversionExtKey(orgID, externalID))
	if err != nil {
		return domain.Conversion{}, err
	}
	return s.getConversion(ctx, orgID, getS(g, "conversionId"))
}

// ListConversions lists the organization's conversions that match f,
// newest first: by referral (GSI2) when f names one, else by program
// (GSI1) when f names one, else the organization's partition; a program
// given with a referral is a filter expression.
func (s *Store) ListConversions(ctx context.Context, orgID string, f store.ConversionFilter, p store.Page) ([]domain.Conversion, string, error) {
	ctx, done := s.op(ctx, "ListConversions")
	defer done()
	if f.Search != "" { // lists.go
		recs, err := s.searchConversions(ctx, orgID, f)
		if err != nil {
			return nil, "", err
		}
		return matched(recs, func(c domain.Conversion) string { return c.ID }, conversionSearchList(orgID, f), p)
	}
	return page(ctx, s, conversionList(orgID, f), p, decodeAs[domain.Conversion])
}
