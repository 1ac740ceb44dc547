package dynamo

import (
	"context"
	"encoding/base64"
	"errors"
	"fmt"
	"strings"
	"unicode"
	"unicode/utf8"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb/types"

	"github.com/partnerloop/partnerloop/internal/domain"
	"github.com/partnerloop/partnerloop/internal/store"
)

// Hidden fields (json:"-" in the domain) stored under their own attributes.
const (
	attrPasswordHash = "passwordHash"
	attrTokenHash    = "tokenHash"
	attrKeyHash      = "hash"
	attrVisitorHash  = "visitorHash"
)

// Organizations.

var errOtherLayout = fmt.Errorf("dynamo: the table holds another key layout than version %d (see docs/dynamodb.md, Migrations)", LayoutVersion)

// CreateOrganization stores o; an id already taken is store.ErrConflict.
// It first marks the table with the key layout it writes (LayoutVersion),
// and refuses a table marked with another: its records would be where this
// build does not look.
func (s *Store) CreateOrganization(ctx context.Context, o domain.Organization) error {
	ctx, done := s.op(ctx, "CreateOrganization")
	defer done()
	it, err := record(o, typeOrganization, orgKey(o.ID), orgListKeys(o.ID))
	if err != nil {
		return err
	}
	mark := layoutKey()
	mark[attrType], mark["version"] = str(typeLayout), num(LayoutVersion)
	err = s.putIf(ctx, mark, "attribute_not_exists(PK) OR version = :v", nil, item{":v": num(LayoutVersion)}, errOtherLayout)
	if err != nil {
		return err
	}
	return s.putNew(ctx, it)
}

// UpdateOrganization stores o if the stored revision is still o.Revision,
// with Revision+1: a conditional PutItem (organizations stored before they
// had a revision count as revision 0).
func (s *Store) UpdateOrganization(ctx context.Context, o domain.Organization) error {
	ctx, done := s.op(ctx, "UpdateOrganization")
	defer done()
	expected := o.Revision
	o.Revision++
	it, err := record(o, typeOrganization, orgKey(o.ID), orgListKeys(o.ID))
	if err != nil {
		return err
	}
	cond := "attribute_exists(PK) AND #revision = :expected"
	if expected == 0 {
		cond = "attribute_exists(PK) AND (attribute_not_exists(#revision) OR #revision = :expected)"
	}
	return s.putIf(ctx, it, cond, map[string]string{"#revision": "revision"}, item{":expected": num(expected)}, store.ErrConflict)
}

// GetOrganization returns the organization with id.
func (s *Store) GetOrganization(ctx context.Context, id string) (domain.Organization, error) {
	ctx, done := s.op(ctx, "GetOrganization")
	defer done()
	it, err := s.getItem(ctx, orgKey(id))
	if err != nil {
		return domain.Organization{}, err
	}
	return decodeAs[domain.Organization](it)
}

// ListOrganizations lists every organization, newest first: a Query of the
// GSI1 partition ORGS (eventually consistent, like every list on an
// index), Query after Query until the page is full. The cursor is the id of
// the page's last organization.
func (s *Store) ListOrganizations(ctx context.Context, p store.Page) ([]domain.Organization, string, error) {
	ctx, done := s.op(ctx, "ListOrganizations")
	defer done()
	p = p.Clamp()
	var start item
	if p.Cursor != "" {
		id, err := decodeOrgsCursor(p.Cursor)
		if err != nil {
			return nil, "", err
		}
		start = orgListKeys(id)
		start[attrPK], start[attrSK] = str(orgPK(id)), str(skOrg)
	}
	want := p.Limit + 1
	var items []item
	for len(items) < want {
		out, err := s.query(ctx, &dynamodb.QueryInput{
			IndexName:                 aws.String(indexGSI1),
			KeyConditionExpression:    aws.String("GSI1PK = :pk"),
			ExpressionAttributeValues: item{":pk": str(orgsPK)},
			ScanIndexForward:          aws.Bool(false),
			Limit:                     aws.Int32(int32(want - len(items))),
			ExclusiveStartKey:         start,
		})
		if err != nil {
			return nil, "", err
		}
		items = append(items, out.Items...)
		if len(out.LastEvaluatedKey) == 0 {
			break
		}
		start = out.LastEvaluatedKey
	}
	next := ""
	if len(items) > p.Limit {
		items = items[:p.Limit]
		next = encodeOrgsCursor(strings.TrimPrefix(getS(items[len(items)-1], attrGSI1SK), skOrg+"#"))
	}
	orgs, err := decodeAll[domain.Organization](items)
	if err != nil {
		return nil, "", err
	}
	return orgs, next, nil
}

// orgsCursorPrefix marks a ListOrganizations cursor, so a cursor of
// another list is refused.
const orgsCursorPrefix = "orgs\x00"

func encodeOrgsCursor(id string) string {
	return base64.RawURLEncoding.EncodeToString([]byte(orgsCursorPrefix + id))
}

// decodeOrgsCursor returns the organization id a ListOrganizations cursor
// names, or store.ErrBadCursor.
func decodeOrgsCursor(c string) (string, error) {
	raw, err := base64.RawURLEncoding.DecodeString(c)
	if err != nil {
		return "", store.ErrBadCursor
	}
	id, ok := strings.CutPrefix(string(raw), orgsCursorPrefix)
	if !ok || id == "" || !utf8.ValidString(id) || strings.IndexFunc(id, unicode.IsControl) >= 0 {
		return "", store.ErrBadCursor
	}
	return id, nil
}

// Users: the record in the organization's partition, and a guard item per
// normalized address (EMAIL#<email>) naming the user, which makes the
// address unique across the installation and is how login finds the user.

func decodeUser(it item) (domain.User, error) {
	u, err := decodeAs[domain.User](it)
	u.PasswordHash = getS(it, attrPasswordHash)
	return u, err
}

// CreateUser stores u; an email taken anywhere in the installation (or an
// id taken) is store.ErrConflict.
func (s *Store) CreateUser(ctx context.Context, u domain.User) error {
	ctx, done := s.op(ctx, "CreateUser")
	defer done()
	it, err := record(u, typeUser, userKey(u.OrgID, u.ID))
	if err != nil {
		return err
	}
	it[attrPasswordHash] = str(u.PasswordHash)
	guard := userEmailKey(domain.NormalizeEmail(u.Email))
	guard[attrType], guard["organizationId"], guard["userId"] = str(typeUserEmail), str(u.OrgID), str(u.ID)
	portal, err := s.portalWrite(u, nil)
	if err != nil {
		return err
	}
	return s.transact(ctx, append([]txItem{s.txPutNew(it), s.txPutNew(guard)}, portal...))
}

// GetUser returns the organization's user with id.
func (s *Store) GetUser(ctx context.Context, orgID, id string) (domain.User, error) {
	ctx, done := s.op(ctx, "GetUser")
	defer done()
	return s.getUser(ctx, orgID, id)
}

func (s *Store) getUser(ctx context.Context, orgID, id string) (domain.User, error) {
	it, err := s.getItem(ctx, userKey(orgID, id))
	if err != nil {
		return domain.User{}, err
	}
	return decodeUser(it)
}

// GetUserByEmail looks the address up across the installation, ignoring
// case and surrounding spaces: the guard item, then the user.
func (s *Store) GetUserByEmail(ctx context.Context, email string) (domain.User, error) {
	ctx, done := s.op(ctx, "GetUserByEmail")
	defer done()
	g, err := s.getItem(ctx, userEmailKey(domain.NormalizeEmail(email)))
	if err != nil {
		return domain.User{}, err
	}
	return s.getUser(ctx, getS(g, "organizationId"), getS(g, "userId"))
}

// ListUsers lists the organization's users, newest first.
func (s *Store) ListUsers(ctx context.Context, orgID string, p store.Page) ([]domain.User, string, error) {
	ctx, done := s.op(ctx, "ListUsers")
	defer done()
	return page(ctx, s, one(orgID, "", orgPK(orgID), skUser), p, decodeUser)
}

// Sessions: the session item SESSION#<token hash> (expiring by TTL at
// ExpiresAt), and a reference in the organization's partition under the
// user, so that DeleteUserSessions finds them with a consistent Query.

func decodeSession(it item) (domain.Session, error) {
	ss, err := decodeAs[domain.Session](it)
	ss.TokenHash = getS(it, attrTokenHash)
	return ss, err
}

// CreateSession stores ss; a token hash already stored is store.ErrConflict.
func (s *Store) CreateSession(ctx context.Context, ss domain.Session) error {
	ctx, done := s.op(ctx, "CreateSession")
	defer done()
	it, err := record(ss, typeSession, sessionKey(ss.TokenHash))
	if err != nil {
		return err
	}
	ttl := num(ss.ExpiresAt.Unix())
	it[attrTokenHash], it[attrTTL] = str(ss.TokenHash), ttl
	ref := sessionRefKey(ss.OrgID, ss.UserID, ss.TokenHash)
	ref[attrType], ref[attrTokenHash], ref["userId"], ref[attrTTL] = str(typeSessionRef), str(ss.TokenHash), str(ss.UserID), ttl
	return s.transact(ctx, []txItem{s.txPutNew(it), {w: types.TransactWriteItem{Put: &types.Put{TableName: &s.table, Item: ref}}}})
}

// GetSession returns the session whose token hashes to tokenHash, expired or
// not (the caller checks ExpiresAt; TTL removes expired sessions within
// days).
func (s *Store) GetSession(ctx context.Context, tokenHash string) (domain.Session, error) {
	ctx, done := s.op(ctx, "GetSession")
	defer done()
	it, err := s.getItem(ctx, sessionKey(tokenHash))
	if err != nil {
		return domain.Session{}, err
	}
	return decodeSession(it)
}

// DeleteSession ends a session; ending one that does not exist is not an
// error.
func (s *Store) DeleteSession(ctx context.Context, tokenHash string) error {
	ctx, done := s.op(ctx, "DeleteSession")
	defer done()
	it, err := s.getItem(ctx, sessionKey(tokenHash))
	if errors.Is(err, store.ErrNotFound) {
		return nil
	}
	if err != nil {
		return err
	}
	return s.transact(ctx, []txItem{
		s.txDelete(sessionKey(tokenHash), "", nil),
		s.txDelete(sessionRefKey(getS(it, "organizationId"), getS(it, "userId"), tokenHash), "", nil),
	})
}

// maxSessionsPerTx is how many sessions one transaction deletes (two items
// each, of TransactWriteItems' 100).
const maxSessionsPerTx = 50

// DeleteUserSessions ends every session of a user of the organization; a
// user without sessions is not an error. Up to 50 sessions go in one
// transaction, more in several.
func (s *Store) DeleteUserSessions(ctx context.Context, orgID, userID string) error {
	ctx, done := s.op(ctx, "DeleteUserSessions")
	defer done()
	var refs []item
	var start item
	for {
		out, err := s.query(ctx, &dynamodb.QueryInput{
			KeyConditionExpression:    aws.String("PK = :pk AND begins_with(SK, :prefix)"),
			ExpressionAttributeValues: item{":pk": str(orgPK(orgID)), ":prefix": str(sessionRefPrefix(userID))},
			ConsistentRead:            aws.Bool(true),
			ExclusiveStartKey:         start,
		})
		if err != nil {
			return err
		}
		for _, it := range out.Items {
			if getS(it, "userId") == userID { // a user id that extends this one shares its prefix
				refs = append(refs, it)
			}
		}
		if len(out.LastEvaluatedKey) == 0 {
			break
		}
		start = out.LastEvaluatedKey
	}
	for len(refs) > 0 {
		n := min(len(refs), maxSessionsPerTx)
		var items []txItem
		for _, ref := range refs[:n] {
			items = append(items,
				s.txDelete(sessionKey(getS(ref, attrTokenHash)), "", nil),
				s.txDelete(key(getS(ref, attrPK), getS(ref, attrSK)), "", nil))
		}
		if err := s.transact(ctx, items); err != nil {
			return err
		}
		refs = refs[n:]
	}
	return nil
}

// API keys: the record in the organization's partition, and a copy under
// APIKEY#<hash> (keys never change, only go), which makes the hash unique
// and authenticates a request with one read.

func decodeAPIKey(it item) (domain.APIKey, error) {
	k, err := decodeAs[domain.APIKey](it)
	k.Hash = getS(it, attrKeyHash)
	return k, err
}

// CreateAPIKey stores k; a hash or id already stored is store.ErrConflict.
func (s *Store) CreateAPIKey(ctx context.Context, k domain.APIKey) error {
	ctx, done := s.op(ctx, "CreateAPIKey")
	defer done()
	it, err := record(k, typeAPIKey, apiKeyKey(k.OrgID, k.ID))
	if err != nil {
		return err
	}
	it[attrKeyHash] = str(k.Hash)
	lookup, err := record(k, typeAPIKeyLookup, apiKeyLookupKey(k.Hash))
	if err != nil {
		return err
	}
	lookup[attrKeyHash] = str(k.Hash)
	return s.transact(ctx, []txItem{s.txPutNew(it), s.txPutNew(lookup)})
}

// GetAPIKeyByHash looks a key up across the installation by its hash.
func (s *Store) GetAPIKeyByHash(ctx context.Context, hash string) (domain.APIKey, error) {
	ctx, done := s.op(ctx, "GetAPIKeyByHash")
	defer done()
	it, err := s.getItem(ctx, apiKeyLookupKey(hash))
	if err != nil {
		return domain.APIKey{}, err
	}
	return decodeAPIKey(it)
}

// ListAPIKeys lists the organization's keys, newest first.
func (s *Store) ListAPIKeys(ctx context.Context, orgID string, p store.Page) ([]domain.APIKey, string, error) {
	ctx, done := s.op(ctx, "ListAPIKeys")
	defer done()
	return page(ctx, s, one(orgID, "", orgPK(orgID), skAPIKey), p, decodeAPIKey)
}

// DeleteAPIKey deletes the organization's key with id and its lookup copy;
// store.ErrNotFound if the organization has no such key.
func (s *Store) DeleteAPIKey(ctx context.Context, orgID, id string) error {
	ctx, done := s.op(ctx, "DeleteAPIKey")
	defer done()
	it, err := s.getItem(ctx, apiKeyKey(orgID, id))
	if err != nil {
		return err
	}
	return s.transact(ctx, []txItem{
		s.txDelete(apiKeyKey(orgID, id), "attribute_exists(PK)", store.ErrNotFound),
		s.txDelete(apiKeyLookupKey(getS(it, attrKeyHash)), "", nil),
	})
}
