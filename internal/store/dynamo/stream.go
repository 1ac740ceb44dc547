package dynamo

import (
	"bytes"
	"encoding/json"
	"fmt"
	"time"

	"github.com/aws/aws-sdk-go-v2/service/dynamodb/types"

	"github.com/partnerloop/partnerloop/internal/commission"
	"github.com/partnerloop/partnerloop/internal/domain"
	"github.com/partnerloop/partnerloop/internal/store"
)

// changeDecoders lists the item types that are change-log records, with how
// to decode each into its domain record. Guards, sessions, visits and
// counters are not; clicks are for the analytics rollup only (the stream
// router's filter and Route leave them out).
var changeDecoders = map[string]func(item) (any, error){
	typeUser:        decodeChange[domain.User],
	typeClick:       decodeChange[domain.Click],
	typeProgram:     decodeChange[domain.Program],
	typeReferrer:    decodeChange[domain.Referrer],
	typeReferral:    decodeChange[domain.Referral],
	typeConversion:  decodeChange[domain.Conversion],
	typePartner:     decodeChange[domain.Partner],
	typePartnerTier: decodeChange[domain.PartnerTier],
	typeDeal:        decodeChange[domain.Deal],
	typeCommission:  decodeChange[commission.Commission],
}

func decodeChange[T any](it item) (any, error) { return decodeAs[T](it) }

// ChangeFromStream turns the images of one DynamoDB stream record into a
// store.Change — the shape the SQLite outbox writes — so the router has one
// input whichever store runs. eventName is the record's INSERT, MODIFY or
// REMOVE. ok is false for items that are not change-log records, and for a
// MODIFY that leaves the record as it was. Images are
// the records' JSON as the API shows them: hashes and keys never appear.
func ChangeFromStream(eventName string, oldImage, newImage map[string]types.AttributeValue, at time.Time) (c store.Change, ok bool, err error) {
	typ := getS(newImage, attrType)
	if typ == "" {
		typ = getS(oldImage, attrType)
	}
	dec, ok := changeDecoders[typ]
	if !ok {
		return store.Change{}, false, nil
	}
	c = store.Change{Entity: typ, Op: eventName, At: at.UTC()}
	image := func(it item) ([]byte, error) {
		if it == nil {
			return nil, nil
		}
		v, err := dec(it)
		if err != nil {
			return nil, err
		}
		return json.Marshal(v)
	}
	if c.OldImage, err = image(oldImage); err != nil {
		return c, false, fmt.Errorf("dynamo: stream %s old image: %w", typ, err)
	}
	if c.NewImage, err = image(newImage); err != nil {
		return c, false, fmt.Errorf("dynamo: stream %s new image: %w", typ, err)
	}
	if eventName == "MODIFY" && bytes.Equal(c.OldImage, c.NewImage) {
		// Only attributes outside the record changed (a partner's copy of
		// its portal access): the record did not, and the SQLite outbox
		// would have no change either (no partner.updated event).
		return store.Change{}, false, nil
	}
	var ids struct {
		ID    string `json:"id"`
		OrgID string `json:"organizationId"`
	}
	img := c.NewImage
	if img == nil {
		img = c.OldImage
	}
	if err := json.Unmarshal(img, &ids); err != nil {
		return c, false, fmt.Errorf("dynamo: stream %s image: %w", typ, err)
	}
	c.ID, c.OrgID = ids.ID, ids.OrgID
	return c, true, nil
}
