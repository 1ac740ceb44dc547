package dynamo

import (
	"context"
	"errors"
	"strconv"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb/types"

	"github.com/partnerloop/partnerloop/internal/domain"
	"github.com/partnerloop/partnerloop/internal/store"
)

// Invitations: the record under INVITE#<token hash> (accepting names no
// organization), and a copy of each user's latest invitation in the
// organization's partition under INVITE#<user id>. Issuing revokes the
// previous latest one if open, so a user has at most one open invitation
// and only the latest can be open; every change writes both copies in one
// transaction, conditioned on the state it read (optimistic, retried).
//
// Rate-limit counters: RATE#<key>, incremented by UpdateItem ADD, removed
// by the table's TTL after their window.

const (
	typeInvitation       = "invitation"
	typeInvitationLatest = "invitation_latest"
	typeRateCounter      = "rate_counter"

	skInvitation = "INVITE#" // the latest invitation of a user, in the organization's partition
)

var (
	_ store.Invitations = (*Store)(nil)
	_ store.Counters    = (*Store)(nil)
)

func invitationKey(hash string) item { return key("INVITE#"+keyPart(hash), "INVITE") }
func latestInvitationKey(orgID, userID string) item {
	return key(orgPK(orgID), skInvitation+userID)
}
func rateCounterKey(k string) item { return key("RATE#"+keyPart(k), "RATE") }

// maxInvitationAttempts bounds the optimistic retries when a concurrent
// change moved the user or its latest invitation between read and write.
const maxInvitationAttempts = 5

// openCond holds while an invitation is neither used nor revoked.
const openCond = "attribute_not_exists(usedAt) AND attribute_not_exists(revokedAt)"

func decodeInvitation(it item) (domain.Invitation, error) {
	inv, err := decodeAs[domain.Invitation](it)
	inv.TokenHash = getS(it, attrTokenHash)
	return inv, err
}

func (s *Store) txUpdate(k item, update, cond string, names map[string]string, values item, onFail error) txItem {
	u := &types.Update{TableName: &s.table, Key: k, UpdateExpression: aws.String(update),
		ExpressionAttributeNames: names, ExpressionAttributeValues: values}
	if cond != "" {
		u.ConditionExpression = aws.String(cond)
	}
	return txItem{w: types.TransactWriteItem{Update: u}, onFail: onFail}
}

// txCheck is a transaction item that checks cond on the item with key; a
// failed check is store.ErrConflict (read again and retry).
func (s *Store) txCheck(k item, cond string, values item) txItem {
	return txItem{w: types.TransactWriteItem{ConditionCheck: &types.ConditionCheck{
		TableName: &s.table, Key: k, ConditionExpression: aws.String(cond), ExpressionAttributeValues: values,
	}}, onFail: store.ErrConflict}
}

// markInvitation sets attr (usedAt or revokedAt) on both copies of the open
// latest invitation inv.
func (s *Store) markInvitation(inv domain.Invitation, attr string, at time.Time) []txItem {
	values := item{":t": str(formatTime(at)), ":h": str(inv.TokenHash)}
	names := map[string]string{"#a": attr}
	return []txItem{
		s.txUpdate(invitationKey(inv.TokenHash), "SET #a = :t", "attribute_exists(PK) AND "+openCond, names, item{":t": values[":t"]}, store.ErrConflict),
		s.txUpdate(latestInvitationKey(inv.OrgID, inv.UserID), "SET #a = :t", "tokenHash = :h AND "+openCond, names, values, store.ErrConflict),
	}
}

func (s *Store) latestInvitation(ctx context.Context, orgID, userID string) (domain.Invitation, error) {
	it, err := s.getItem(ctx, latestInvitationKey(orgID, userID))
	if err != nil {
		return domain.Invitation{}, err
	}
	return decodeInvitation(it)
}

// IssueInvitation stores inv and its latest copy, revoking the previous
// open invitation and re-enabling a disabled user, in one transaction.
func (s *Store) IssueInvitation(ctx context.Context, inv domain.Invitation) error {
	ctx, done := s.op(ctx, "IssueInvitation")
	defer done()
	tok, err := record(inv, typeInvitation, invitationKey(inv.TokenHash))
	if err != nil {
		return err
	}
	latest, err := record(inv, typeInvitationLatest, latestInvitationKey(inv.OrgID, inv.UserID))
	if err != nil {
		return err
	}
	tok[attrTokenHash], latest[attrTokenHash] = str(inv.TokenHash), str(inv.TokenHash)
	for range maxInvitationAttempts {
		u, err := s.getUser(ctx, inv.OrgID, inv.UserID)
		if err != nil {
			return err
		}
		items := []txItem{s.txPutNew(tok)}
		put := &types.Put{TableName: &s.table, Item: latest}
		prev, err := s.latestInvitation(ctx, inv.OrgID, inv.UserID)
		switch {
		case errors.Is(err, store.ErrNotFound):
			put.ConditionExpression = aws.String("attribute_not_exists(PK)")
		case err != nil:
			return err
		default:
			put.ConditionExpression = aws.String("tokenHash = :prev")
			put.ExpressionAttributeValues = item{":prev": str(prev.TokenHash)}
			if prev.Open() {
				items = append(items, s.txUpdate(invitationKey(prev.TokenHash), "SET revokedAt = :t",
					"attribute_exists(PK) AND "+openCond, nil, item{":t": str(formatTime(inv.CreatedAt))}, store.ErrConflict))
			}
		}
		items = append(items, txItem{w: types.TransactWriteItem{Put: put}, onFail: store.ErrConflict})
		names := map[string]string{"#st": "status"}
		after := u
		if u.Status == domain.UserDisabled {
			after.Status = domain.UserInvited
		}
		portal, err := s.portalWrite(after, &inv)
		if err != nil {
			return err
		}
		items = append(items, portal...)
		if u.Status == domain.UserDisabled {
			items = append(items, s.txUpdate(userKey(u.OrgID, u.ID), "SET #st = :invited, updatedAt = :t", "#st = :cur", names,
				item{":invited": str(domain.UserInvited), ":t": str(formatTime(inv.CreatedAt)), ":cur": str(u.Status)}, store.ErrConflict))
		} else {
			items = append(items, txItem{w: types.TransactWriteItem{ConditionCheck: &types.ConditionCheck{
				TableName: &s.table, Key: userKey(u.OrgID, u.ID), ConditionExpression: aws.String("#st = :cur"),
				ExpressionAttributeNames: names, ExpressionAttributeValues: item{":cur": str(u.Status)},
			}}, onFail: store.ErrConflict})
		}
		err = s.transact(ctx, items)
		if !errors.Is(err, store.ErrConflict) {
			return err
		}
	}
	return store.ErrConflict
}

// GetInvitation returns the invitation whose token hashes to tokenHash.
func (s *Store) GetInvitation(ctx context.Context, tokenHash string) (domain.Invitation, error) {
	ctx, done := s.op(ctx, "GetInvitation")
	defer done()
	it, err := s.getItem(ctx, invitationKey(tokenHash))
	if err != nil {
		return domain.Invitation{}, err
	}
	return decodeInvitation(it)
}

// LatestInvitation returns the copy of the user's latest invitation.
func (s *Store) LatestInvitation(ctx context.Context, orgID, userID string) (domain.Invitation, error) {
	ctx, done := s.op(ctx, "LatestInvitation")
	defer done()
	return s.latestInvitation(ctx, orgID, userID)
}

// AcceptInvitation marks both copies of the open invitation used and
// activates the user, in one transaction whose conditions make it a
// compare-and-set.
func (s *Store) AcceptInvitation(ctx context.Context, tokenHash, passwordHash string, at time.Time) (domain.User, error) {
	ctx, done := s.op(ctx, "AcceptInvitation")
	defer done()
	it, err := s.getItem(ctx, invitationKey(tokenHash))
	if err != nil {
		return domain.User{}, err
	}
	inv, err := decodeInvitation(it)
	if err != nil {
		return domain.User{}, err
	}
	if !inv.Open() {
		return domain.User{}, store.ErrConflict
	}
	u, err := s.getUser(ctx, inv.OrgID, inv.UserID)
	if err != nil {
		return domain.User{}, err
	}
	u.Status = domain.UserActive
	used := inv
	used.UsedAt = &at
	portal, err := s.portalWrite(u, &used)
	if err != nil {
		return domain.User{}, err
	}
	items := append(s.markInvitation(inv, "usedAt", at), portal...)
	items = append(items,
		s.txUpdate(userKey(inv.OrgID, inv.UserID), "SET passwordHash = :ph, #st = :active, updatedAt = :t", "attribute_exists(PK)",
			map[string]string{"#st": "status"},
			item{":ph": str(passwordHash), ":active": str(domain.UserActive), ":t": str(formatTime(at))}, store.ErrNotFound))
	if err := s.transact(ctx, items); err != nil {
		return domain.User{}, err
	}
	return s.getUser(ctx, inv.OrgID, inv.UserID)
}

// DisableUser disables the user and revokes its open invitation in one
// transaction.
func (s *Store) DisableUser(ctx context.Context, orgID, userID string, at time.Time) (domain.User, error) {
	ctx, done := s.op(ctx, "DisableUser")
	defer done()
	for range maxInvitationAttempts {
		u, err := s.getUser(ctx, orgID, userID)
		if err != nil {
			return domain.User{}, err
		}
		witness, err := s.keepAnAdmin(ctx, u)
		if err != nil {
			return domain.User{}, err
		}
		// The user must still be as read: what keepAnAdmin judged.
		items := append([]txItem{s.txUpdate(userKey(orgID, userID), "SET #st = :disabled, updatedAt = :t", userAsRead,
			map[string]string{"#st": "status", "#role": "role"}, item{":disabled": str(domain.UserDisabled), ":t": str(formatTime(at)),
				":role": str(string(u.Role)), ":was": str(u.Status)}, store.ErrConflict)}, witness...)
		prev, err := s.latestInvitation(ctx, orgID, userID)
		var latest *domain.Invitation
		switch {
		case errors.Is(err, store.ErrNotFound):
		case err != nil:
			return domain.User{}, err
		case prev.Open():
			items = append(items, s.markInvitation(prev, "revokedAt", at)...)
			revoked := prev
			revoked.RevokedAt = &at
			latest = &revoked
		default:
			latest = &prev
		}
		if domain.IsPortalUser(u) {
			// The partner's copy is computed from the latest invitation
			// read: it must still be the latest (markInvitation checks it
			// when it revokes one).
			if latest == nil {
				items = append(items, s.txCheck(latestInvitationKey(orgID, userID), "attribute_not_exists(PK)", nil))
			} else if !prev.Open() {
				items = append(items, s.txCheck(latestInvitationKey(orgID, userID), "tokenHash = :h", item{":h": str(prev.TokenHash)}))
			}
			u.Status = domain.UserDisabled
			portal, err := s.portalWrite(u, latest)
			if err != nil {
				return domain.User{}, err
			}
			items = append(items, portal...)
		}
		err = s.transact(ctx, items)
		if errors.Is(err, store.ErrConflict) {
			continue
		}
		if err != nil {
			return domain.User{}, err
		}
		return s.getUser(ctx, orgID, userID)
	}
	return domain.User{}, store.ErrConflict
}

// SetUserRole gives the user role: one conditional update of the user's
// item.
func (s *Store) SetUserRole(ctx context.Context, orgID, userID string, role domain.Role, at time.Time) (domain.User, error) {
	ctx, done := s.op(ctx, "SetUserRole")
	defer done()
	for range maxInvitationAttempts {
		u, err := s.getUser(ctx, orgID, userID)
		if err != nil {
			return domain.User{}, err
		}
		var witness []txItem
		if role != domain.RoleAdmin {
			if witness, err = s.keepAnAdmin(ctx, u); err != nil {
				return domain.User{}, err
			}
		}
		// The user must still be as read: what keepAnAdmin judged.
		items := append([]txItem{s.txUpdate(userKey(orgID, userID), "SET #role = :new, updatedAt = :t", userAsRead,
			map[string]string{"#role": "role", "#st": "status"}, item{":new": str(string(role)), ":t": str(formatTime(at)),
				":role": str(string(u.Role)), ":was": str(u.Status)}, store.ErrConflict)}, witness...)
		err = s.transact(ctx, items)
		if errors.Is(err, store.ErrConflict) {
			continue // the user or the witness changed: read again
		}
		if err != nil {
			return domain.User{}, err
		}
		return s.getUser(ctx, orgID, userID)
	}
	return domain.User{}, store.ErrConflict
}

// userAsRead is the condition that a user item still has the role (:role)
// and status (:was) it was read with.
const userAsRead = "attribute_exists(PK) AND #role = :role AND #st = :was"

// keepAnAdmin returns what a transaction taking away u's admin rights must
// also hold so that the organization keeps an active admin: nothing when u
// is not an active admin; else a check that another active admin — the
// witness — still is one, or store.ErrLastAdmin when there is none.
//
// DynamoDB transactions are serializable and a condition check takes part
// in conflict detection, so two admins demoting each other at once cannot
// both succeed: whichever commits second finds its witness demoted (or the
// transactions conflict), reads again and finds no other admin.
func (s *Store) keepAnAdmin(ctx context.Context, u domain.User) ([]txItem, error) {
	if u.Role != domain.RoleAdmin || u.Status != domain.UserActive {
		return nil, nil
	}
	p := store.Page{Limit: store.MaxLimit}
	for {
		us, next, err := s.ListUsers(ctx, u.OrgID, p)
		if err != nil {
			return nil, err
		}
		for _, o := range us {
			if o.ID != u.ID && o.Role == domain.RoleAdmin && o.Status == domain.UserActive {
				return []txItem{{w: types.TransactWriteItem{ConditionCheck: &types.ConditionCheck{
					TableName: &s.table, Key: userKey(o.OrgID, o.ID),
					ConditionExpression:       aws.String("#role = :admin AND #st = :active"),
					ExpressionAttributeNames:  map[string]string{"#role": "role", "#st": "status"},
					ExpressionAttributeValues: item{":admin": str(string(domain.RoleAdmin)), ":active": str(domain.UserActive)},
				}}, onFail: store.ErrConflict}}, nil
			}
		}
		if next == "" || next == p.Cursor {
			return nil, store.ErrLastAdmin
		}
		p.Cursor = next
	}
}

// IncrementCounter adds one to the counter key (UpdateItem ADD, creating
// it at 1) and sets its TTL to expiresAt.
func (s *Store) IncrementCounter(ctx context.Context, k string, expiresAt time.Time) (int64, error) {
	ctx, done := s.op(ctx, "IncrementCounter")
	defer done()
	var n int64
	err := retry(ctx, func() error {
		out, err := s.c.UpdateItem(ctx, &dynamodb.UpdateItemInput{
			TableName: &s.table, Key: rateCounterKey(k),
			UpdateExpression:         aws.String("ADD #n :one SET #ttl = :ttl, #type = :type"),
			ExpressionAttributeNames: map[string]string{"#n": "count", "#ttl": attrTTL, "#type": attrType},
			ExpressionAttributeValues: item{":one": num(1), ":ttl": num(expiresAt.Unix()),
				":type": str(typeRateCounter)},
			ReturnValues:           types.ReturnValueUpdatedNew,
			ReturnConsumedCapacity: s.rcc(),
		})
		if err != nil {
			return mapErr(err)
		}
		s.consumedPtr(ctx, true, out.ConsumedCapacity)
		v, ok := out.Attributes["count"].(*types.AttributeValueMemberN)
		if !ok {
			return errors.New("dynamo: IncrementCounter: no count returned")
		}
		n, err = strconv.ParseInt(v.Value, 10, 64)
		return err
	})
	return n, err
}
