package dynamo

import (
	"context"
	"errors"

	"github.com/aws/aws-sdk-go-v2/service/dynamodb/types"

	"github.com/partnerloop/partnerloop/internal/store"
)

// An organization's logo is one item in its partition, LOGO, the image a
// binary attribute (at most store.MaxLogoBytes, well inside the 400 KB an
// item may hold). It is no record the stream consumers know: they pass it
// by.

var _ store.Logos = (*Store)(nil)

func logoKey(orgID string) item { return key(orgPK(orgID), "LOGO") }

// PutLogo stores or replaces the organization's logo.
func (s *Store) PutLogo(ctx context.Context, orgID string, l store.Logo) error {
	ctx, done := s.op(ctx, "PutLogo")
	defer done()
	it := logoKey(orgID)
	it[attrType] = str(typeLogo)
	it["data"] = &types.AttributeValueMemberB{Value: l.Data}
	it["contentType"] = str(l.ContentType)
	it["version"] = str(l.Version)
	it["updatedAt"] = str(formatTime(l.UpdatedAt))
	return s.put(ctx, it)
}

// GetLogo returns the organization's logo.
func (s *Store) GetLogo(ctx context.Context, orgID string) (store.Logo, error) {
	ctx, done := s.op(ctx, "GetLogo")
	defer done()
	it, err := s.getItem(ctx, logoKey(orgID))
	if err != nil {
		return store.Logo{}, err
	}
	b, ok := it["data"].(*types.AttributeValueMemberB)
	if !ok {
		return store.Logo{}, errors.New("dynamo: logo item without image data")
	}
	at, err := parseTime(getS(it, "updatedAt"))
	if err != nil {
		return store.Logo{}, err
	}
	return store.Logo{Data: b.Value, ContentType: getS(it, "contentType"), Version: getS(it, "version"), UpdatedAt: at}, nil
}

// DeleteLogo removes the organization's logo, if any.
func (s *Store) DeleteLogo(ctx context.Context, orgID string) error {
	ctx, done := s.op(ctx, "DeleteLogo")
	defer done()
	return s.del(ctx, logoKey(orgID))
}
