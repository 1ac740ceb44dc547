package dynamo

import (
	"cmp"
	"context"
	"errors"
	"slices"
	"strings"
	"sync"
	"time"
	"unicode/utf8"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb"

	"github.com/partnerloop/partnerloop/internal/domain"
	"github.com/partnerloop/partnerloop/internal/store"
)

// Search and date ranges of the staff lists (store.Match).
//
// Search: each referral and referrer has a word item per
// domain.SearchWords entry, written in the transaction that creates the
// record (neither ever changes name or e-mail), in the sharded partition
// of its kind's words, sort key <word> #<id>: a term is one begins_with
// Query per shard, which yields the ids (at most store.MaxSearchMatches,
// else store.ErrTooBroad). The records are then read by BatchGetItem,
// filtered by the list's other fields, and ordered newest first by id.
// Conversions are searched through their referral: the matching
// referrals' conversions (GSI2, one partition per referral). Records
// stored before the word items existed have none, so a search does not
// find them until they are indexed again (docs/operations.md).
//
// Date ranges filter the listed records' createdAt (occurredAt) attribute
// with whole-second bounds (jsonSecond): exact, but the Query reads the
// newer records too, so a range far in the past costs the reads of what
// is newer than its end. Counts are Select=COUNT Queries with the same
// condition, stopped past store.MaxCount.

const (
	typeSearchWord = "search_word" // one domain.SearchWords entry of a record
	// wordShards spreads the words of a kind: a referral with a name of
	// two words has three, at the target's 1,000 referrals a second and 2
	// units each (a transaction), 6,000 units: about 400 per shard.
	wordShards = 16
	// maxWords bounds a record's word items (the transaction's size): a
	// name of more words is found by its first ones.
	maxWords = 8
	// maxWordBytes bounds a word in a sort key; longer ones are cut at a
	// character boundary (a prefix search of them still works).
	maxWordBytes = 200
	// wordSep ends the word in a word item's sort key: a term never ends
	// in a space, so begins_with(term) matches the words it prefixes.
	wordSep = " #"

	kindReferral = "referral"
	kindReferrer = "referrer"
)

func orgWords(orgID, kind string) shardSet {
	return shardSet{"ORG#" + orgID + "#WORDS#" + kind, wordShards}
}

// wordItems are the word items of a new record of kind.
func (s *Store) wordItems(orgID, kind, id, name, email string) []txItem {
	words := domain.SearchWords(name, email)
	if len(words) > maxWords {
		words = words[:maxWords]
	}
	out := make([]txItem, 0, len(words))
	for _, w := range words {
		for len(w) > maxWordBytes {
			_, n := utf8.DecodeLastRuneInString(w[:maxWordBytes])
			w = w[:maxWordBytes-n]
		}
		it := key(orgWords(orgID, kind).pk(id), w+wordSep+id)
		it[attrType], it["id"] = str(typeSearchWord), str(id)
		out = append(out, s.txPutNew(it))
	}
	return out
}

// IndexSearchWords writes the search words of the organization's
// referrals and referrers that were stored before the words existed (and
// of any other: a word item's key is computed from its record, so writing
// it again changes nothing). It reads every referral and referrer of the
// organization once; run it once per organization after deploying the
// search (docs/dynamodb.md). It returns how many records it indexed.
func (s *Store) IndexSearchWords(ctx context.Context, orgID string) (int, error) {
	ctx, done := s.op(ctx, "IndexSearchWords")
	defer done()
	n := 0
	index := func(kind, id, name, email string) error {
		for _, w := range s.wordItems(orgID, kind, id, name, email) {
			if err := s.put(ctx, w.w.Put.Item); err != nil {
				return err
			}
		}
		n++
		return nil
	}
	for _, q := range []struct {
		kind string
		list list
	}{{kindReferral, sharded(orgID, "", orgReferrals(orgID), skReferral)}, {kindReferrer, one(orgID, "", orgPK(orgID), skReferrer)}} {
		p := store.Page{Limit: store.MaxLimit}
		for {
			items, next, err := q.list.read(ctx, s, p)
			if err != nil {
				return n, err
			}
			for _, it := range items {
				var rec struct {
					ID    string `json:"id"`
					Name  string `json:"name"`
					Email string `json:"email"`
				}
				if err := decode(it, &rec); err != nil {
					return n, err
				}
				if err := index(q.kind, rec.ID, rec.Name, rec.Email); err != nil {
					return n, err
				}
			}
			if next == "" {
				break
			}
			p.Cursor = next
		}
	}
	return n, nil
}

// matchIDs returns the ids of the records of kind with a word that starts
// with term, newest first, or store.ErrTooBroad past
// store.MaxSearchMatches.
func (s *Store) matchIDs(ctx context.Context, orgID, kind, term string) ([]string, error) {
	pks := orgWords(orgID, kind).pks()
	var mu sync.Mutex
	seen := map[string]bool{}
	errs := make([]error, len(pks))
	var wg sync.WaitGroup
	for i, pk := range pks {
		wg.Add(1)
		go func() {
			defer wg.Done()
			var start item
			for {
				out, err := s.query(ctx, &dynamodb.QueryInput{
					KeyConditionExpression:    aws.String("PK = :pk AND begins_with(SK, :t)"),
					ExpressionAttributeValues: item{":pk": str(pk), ":t": str(term)},
					ProjectionExpression:      aws.String("id"),
					ConsistentRead:            aws.Bool(true),
					ExclusiveStartKey:         start,
				})
				if err != nil {
					errs[i] = err
					return
				}
				mu.Lock()
				for _, it := range out.Items {
					seen[getS(it, "id")] = true
				}
				broad := len(seen) > store.MaxSearchMatches
				mu.Unlock()
				if broad {
					errs[i] = store.ErrTooBroad
					return
				}
				if len(out.LastEvaluatedKey) == 0 {
					return
				}
				start = out.LastEvaluatedKey
			}
		}()
	}
	wg.Wait()
	if err := errors.Join(errs...); err != nil {
		if errors.Is(err, store.ErrTooBroad) {
			return nil, store.ErrTooBroad
		}
		return nil, err
	}
	ids := make([]string, 0, len(seen))
	for id := range seen {
		ids = append(ids, id)
	}
	slices.SortFunc(ids, func(a, b string) int { return strings.Compare(b, a) })
	return ids, nil
}

// jsonSecond is a whole-second bound compared with a stored time (RFC
// 3339 with a variable fraction, in UTC): every time of that second or
// later sorts at or above it, every earlier one below.
func jsonSecond(t time.Time) string {
	if t.IsZero() {
		return ""
	}
	return t.UTC().Format("2006-01-02T15:04:05")
}

// withDates filters q to m's date range on attr.
func withDates(q list, m store.Match, attr string) list {
	q.dateAttr, q.from, q.to = attr, jsonSecond(m.From), jsonSecond(m.To)
	return q
}

// matched is a search's result: every matching record of a list, newest
// first by id, filtered; paged by a cursor naming the query (q) and the
// last id.
func matched[T any](recs []T, idOf func(T) string, q list, p store.Page) ([]T, string, error) {
	p = p.Clamp()
	slices.SortFunc(recs, func(a, b T) int { return cmp.Compare(idOf(b), idOf(a)) })
	if p.Cursor != "" {
		after, err := q.decodeCursor(p.Cursor)
		if err != nil {
			return nil, "", err
		}
		after = strings.TrimPrefix(after, q.prefix)
		i, _ := slices.BinarySearchFunc(recs, after, func(r T, id string) int { return cmp.Compare(id, idOf(r)) })
		for i < len(recs) && idOf(recs[i]) >= after {
			i++
		}
		recs = recs[i:]
	}
	if len(recs) <= p.Limit {
		return recs, "", nil
	}
	recs = recs[:p.Limit]
	_, skA := q.keyAttrs()
	return recs, q.encodeCursor(item{skA: str(q.prefix + idOf(recs[len(recs)-1]))}), nil
}

// searchList names a search in its cursors: the term and every filter.
func searchList(orgID, kind, prefix string, filters map[string]string, m store.Match) list {
	f := map[string]string{"search": m.Search, "from": jsonSecond(m.From), "to": jsonSecond(m.To)}
	for k, v := range filters {
		f[k] = v
	}
	return list{orgID: orgID, pks: []string{"SEARCH#" + kind}, prefix: prefix, filters: f}
}

// getAll reads the records with ids by BatchGetItem (missing ones are
// left out).
func getAll[T any](ctx context.Context, s *Store, ids []string, keyOf func(string) item) ([]T, error) {
	keys := make([]item, len(ids))
	for i, id := range ids {
		keys[i] = keyOf(id)
	}
	items, err := s.batchGetWith(ctx, keys, false)
	if err != nil {
		return nil, err
	}
	out := make([]T, 0, len(items))
	for _, it := range items {
		r, err := decodeAs[T](it)
		if err != nil {
			return nil, err
		}
		out = append(out, r)
	}
	return out, nil
}

// countOf is a search's count, capped like the counted lists'.
func countOf[T any](recs []T, err error) (int, bool, error) {
	if err != nil {
		return 0, false, err
	}
	return min(len(recs), store.MaxCount), len(recs) > store.MaxCount, nil
}

// Referrals.

func referralKeep(f store.ReferralFilter) func(domain.Referral) bool {
	return func(r domain.Referral) bool {
		return (f.ProgramID == "" || r.ProgramID == f.ProgramID) && (f.ReferrerID == "" || r.ReferrerID == f.ReferrerID) &&
			(f.Status == "" || r.Status == f.Status) && f.Match.Matches(r.Name, r.Email, r.CreatedAt)
	}
}

// searchReferrals is every referral matching f, whose Search is set.
func (s *Store) searchReferrals(ctx context.Context, orgID string, f store.ReferralFilter) ([]domain.Referral, error) {
	ids, err := s.matchIDs(ctx, orgID, kindReferral, f.Search)
	if err != nil {
		return nil, err
	}
	recs, err := getAll[domain.Referral](ctx, s, ids, func(id string) item { return referralKey(orgID, id) })
	if err != nil {
		return nil, err
	}
	return slices.DeleteFunc(recs, func(r domain.Referral) bool { return !referralKeep(f)(r) }), nil
}

func referralSearchList(orgID string, f store.ReferralFilter) list {
	return searchList(orgID, kindReferral, skReferral, map[string]string{"programId": f.ProgramID, "referrerId": f.ReferrerID, "status": f.Status}, f.Match)
}

// referralList is ListReferrals' query without a search.
func referralList(orgID string, f store.ReferralFilter) list {
	q := sharded(orgID, "", orgReferrals(orgID), skReferral)
	switch {
	case f.ReferrerID != "":
		q = sharded(orgID, indexGSI2, referrerReferrals(orgID, f.ReferrerID), skReferral)
	case f.ProgramID != "":
		q = sharded(orgID, indexGSI1, programReferrals(orgID, f.ProgramID), skReferral)
	}
	q.filters = map[string]string{}
	if f.ReferrerID != "" && f.ProgramID != "" {
		q.filters["programId"] = f.ProgramID
	}
	if f.Status != "" {
		q.filters["status"] = f.Status
	}
	return withDates(q, f.Match, "createdAt")
}

// CountReferrals counts the referrals ListReferrals lists, up to
// store.MaxCount.
func (s *Store) CountReferrals(ctx context.Context, orgID string, f store.ReferralFilter) (int, bool, error) {
	ctx, done := s.op(ctx, "CountReferrals")
	defer done()
	if f.Search != "" {
		return countOf(s.searchReferrals(ctx, orgID, f))
	}
	return referralList(orgID, f).count(ctx, s)
}

// Conversions.

func conversionKeep(f store.ConversionFilter) func(domain.Conversion) bool {
	return func(c domain.Conversion) bool {
		return (f.ProgramID == "" || c.ProgramID == f.ProgramID) && (f.ReferralID == "" || c.ReferralID == f.ReferralID) &&
			f.Match.InRange(c.OccurredAt)
	}
}

// searchConversions is every conversion matching f, whose Search is set:
// the conversions of the matching referrals, a Query per referral (in
// parallel, 16 at a time).
func (s *Store) searchConversions(ctx context.Context, orgID string, f store.ConversionFilter) ([]domain.Conversion, error) {
	ids, err := s.matchIDs(ctx, orgID, kindReferral, f.Search)
	if err != nil {
		return nil, err
	}
	if f.ReferralID != "" {
		ids = slices.DeleteFunc(ids, func(id string) bool { return id != f.ReferralID })
	}
	var mu sync.Mutex
	var out []domain.Conversion
	errs := make([]error, len(ids))
	sem := make(chan struct{}, 16)
	var wg sync.WaitGroup
	keep := conversionKeep(f)
	for i, id := range ids {
		wg.Add(1)
		sem <- struct{}{}
		go func() {
			defer func() { <-sem; wg.Done() }()
			q := one(orgID, indexGSI2, byReferral(orgID, id), skConversion)
			page := store.Page{Limit: store.MaxLimit}
			for {
				cs, next, err := conversionPage(ctx, s, q, page)
				if err != nil {
					errs[i] = err
					return
				}
				mu.Lock()
				for _, c := range cs {
					if keep(c) {
						out = append(out, c)
					}
				}
				mu.Unlock()
				if next == "" {
					return
				}
				page.Cursor = next
			}
		}()
	}
	wg.Wait()
	return out, errors.Join(errs...)
}

func conversionPage(ctx context.Context, s *Store, q list, p store.Page) ([]domain.Conversion, string, error) {
	return page(ctx, s, q, p, decodeAs[domain.Conversion])
}

func conversionSearchList(orgID string, f store.ConversionFilter) list {
	return searchList(orgID, kindReferral, skConversion, map[string]string{"programId": f.ProgramID, "referralId": f.ReferralID}, f.Match)
}

// conversionList is ListConversions' query without a search.
func conversionList(orgID string, f store.ConversionFilter) list {
	q := sharded(orgID, "", orgConversions(orgID), skConversion)
	switch {
	case f.ReferralID != "":
		q = one(orgID, indexGSI2, byReferral(orgID, f.ReferralID), skConversion)
	case f.ProgramID != "":
		q = sharded(orgID, indexGSI1, programConversions(orgID, f.ProgramID), skConversion)
	}
	q.filters = map[string]string{}
	if f.ReferralID != "" && f.ProgramID != "" {
		q.filters["programId"] = f.ProgramID
	}
	return withDates(q, f.Match, "occurredAt")
}

// CountConversions counts the conversions ListConversions lists, up to
// store.MaxCount.
func (s *Store) CountConversions(ctx context.Context, orgID string, f store.ConversionFilter) (int, bool, error) {
	ctx, done := s.op(ctx, "CountConversions")
	defer done()
	if f.Search != "" {
		return countOf(s.searchConversions(ctx, orgID, f))
	}
	return conversionList(orgID, f).count(ctx, s)
}

// Referrers.

func (s *Store) searchReferrers(ctx context.Context, orgID string, f store.ReferrerFilter) ([]domain.Referrer, error) {
	ids, err := s.matchIDs(ctx, orgID, kindReferrer, f.Search)
	if err != nil {
		return nil, err
	}
	recs, err := getAll[domain.Referrer](ctx, s, ids, func(id string) item { return referrerKey(orgID, id) })
	if err != nil {
		return nil, err
	}
	return slices.DeleteFunc(recs, func(r domain.Referrer) bool {
		return (f.ProgramID != "" && r.ProgramID != f.ProgramID) || !f.Match.Matches(r.Name, r.Email, r.CreatedAt)
	}), nil
}

func referrerList(orgID string, f store.ReferrerFilter) list {
	q := one(orgID, "", orgPK(orgID), skReferrer)
	if f.ProgramID != "" {
		q = one(orgID, indexGSI1, byProgram(orgID, f.ProgramID), skReferrer)
	}
	return withDates(q, f.Match, "createdAt")
}

// ListReferrersMatching lists the organization's referrers that match f,
// newest first, with their click counts.
func (s *Store) ListReferrersMatching(ctx context.Context, orgID string, f store.ReferrerFilter, p store.Page) ([]domain.Referrer, string, error) {
	ctx, done := s.op(ctx, "ListReferrersMatching")
	defer done()
	if f.Search != "" {
		recs, err := s.searchReferrers(ctx, orgID, f)
		if err != nil {
			return nil, "", err
		}
		refs, next, err := matched(recs, func(r domain.Referrer) string { return r.ID },
			searchList(orgID, kindReferrer, skReferrer, map[string]string{"programId": f.ProgramID}, f.Match), p)
		return s.withClicks(ctx, refs, next, err)
	}
	refs, next, err := page(ctx, s, referrerList(orgID, f), p, decodeAs[domain.Referrer])
	return s.withClicks(ctx, refs, next, err)
}

// CountReferrers counts the referrers ListReferrersMatching lists, up to
// store.MaxCount.
func (s *Store) CountReferrers(ctx context.Context, orgID string, f store.ReferrerFilter) (int, bool, error) {
	ctx, done := s.op(ctx, "CountReferrers")
	defer done()
	if f.Search != "" {
		return countOf(s.searchReferrers(ctx, orgID, f))
	}
	return referrerList(orgID, f).count(ctx, s)
}
