package dynamo

import (
	"encoding/json"
	"strings"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/service/dynamodb/types"

	"github.com/partnerloop/partnerloop/internal/domain"
	"github.com/partnerloop/partnerloop/internal/pipeline"
)

func TestChangeFromStream(t *testing.T) {
	at := time.Date(2026, 3, 1, 12, 0, 0, 0, time.UTC)
	p := domain.Program{ID: "prg_1", OrgID: "org_1", Name: "Spring", Status: domain.ProgramActive, Currency: "USD",
		StartsAt: at, CreatedAt: at, UpdatedAt: at, Revision: 2, QualifyingEvents: []string{"signup"}}
	progItem, err := record(p, typeProgram, item{"PK": str("ORG#org_1"), "SK": str("PROGRAM#prg_1")})
	if err != nil {
		t.Fatal(err)
	}
	old := p
	old.Status, old.Revision = domain.ProgramDraft, 1
	oldItem, _ := record(old, typeProgram)

	c, ok, err := ChangeFromStream("MODIFY", oldItem, progItem, at)
	if err != nil || !ok {
		t.Fatalf("ChangeFromStream: ok=%v err=%v", ok, err)
	}
	if c.Entity != "program" || c.Op != "MODIFY" || c.ID != "prg_1" || c.OrgID != "org_1" || !c.At.Equal(at) {
		t.Fatalf("change = %+v", c)
	}
	var got, gotOld domain.Program
	if err := json.Unmarshal(c.NewImage, &got); err != nil || got.Name != "Spring" || got.Status != domain.ProgramActive || got.Revision != 2 {
		t.Fatalf("new image %s (%v)", c.NewImage, err)
	}
	if err := json.Unmarshal(c.OldImage, &gotOld); err != nil || gotOld.Status != domain.ProgramDraft {
		t.Fatalf("old image %s (%v)", c.OldImage, err)
	}
	if strings.Contains(string(c.NewImage), `"PK"`) || strings.Contains(string(c.NewImage), `"SK"`) {
		t.Fatalf("keys leak into the image: %s", c.NewImage)
	}

	// Secrets stored beside a record never reach the image.
	u := domain.User{ID: "usr_1", OrgID: "org_1", Email: "a@example.com", PasswordHash: "$argon2id$secret", CreatedAt: at, UpdatedAt: at}
	uItem, _ := record(u, typeUser, item{"passwordHash": str(u.PasswordHash)})
	c, ok, err = ChangeFromStream("INSERT", nil, uItem, at)
	if err != nil || !ok || strings.Contains(string(c.NewImage), "argon2") || c.OldImage != nil {
		t.Fatalf("user change %+v ok=%v err=%v", c, ok, err)
	}

	// Guards, sessions and visits are not change-log records (clicks are:
	// the analytics rollup counts them).
	for _, typ := range []string{typeCode, typeSession, typeVisit} {
		if _, ok, err := ChangeFromStream("INSERT", nil, item{attrType: &types.AttributeValueMemberS{Value: typ}}, at); ok || err != nil {
			t.Errorf("%s: ok=%v err=%v, want ignored", typ, ok, err)
		}
	}
	// A removed record keeps its identity from the old image.
	c, ok, err = ChangeFromStream("REMOVE", progItem, nil, at)
	if err != nil || !ok || c.ID != "prg_1" || c.NewImage != nil {
		t.Fatalf("remove: %+v ok=%v err=%v", c, ok, err)
	}
}

// A deal's items reach the pipeline as on SQLite: the deal is a change-log
// record whose MODIFY to won routes to deal.won; its domain reference and
// claim are not.
func TestDealChangeFromStream(t *testing.T) {
	at := time.Date(2026, 3, 1, 12, 0, 0, 0, time.UTC)
	until := at.Add(90 * 24 * time.Hour)
	d := domain.Deal{ID: "dea_1", OrgID: "org_1", PartnerID: "prt_1", Source: domain.DealSourcePartner,
		CustomerName: "Acme", CustomerDomain: "acme.example", Value: domain.Money{Amount: 100000, Currency: "USD"},
		Status: domain.DealApproved, ExclusiveUntil: &until, CreatedAt: at, UpdatedAt: at, Revision: 1}
	oldItem, err := dealItem(d)
	if err != nil {
		t.Fatal(err)
	}
	won := d
	won.Status, won.ClosedAt, won.WonValue, won.Revision = domain.DealWon, &at, &domain.Money{Amount: 90000, Currency: "USD"}, 2
	newItem, _ := dealItem(won)
	c, ok, err := ChangeFromStream("MODIFY", oldItem, newItem, at)
	if err != nil || !ok || c.Entity != pipeline.EntityDeal || c.ID != "dea_1" || c.OrgID != "org_1" {
		t.Fatalf("ChangeFromStream = %+v ok=%v err=%v", c, ok, err)
	}
	msgs, err := pipeline.Route(c)
	if err != nil || len(msgs) != 1 || msgs[0].Type != pipeline.TypeDealWon || msgs[0].EntityID != "dea_1" {
		t.Fatalf("Route = %+v, %v; want one deal.won", msgs, err)
	}
	var got domain.Deal
	if err := json.Unmarshal(c.NewImage, &got); err != nil || got.WonValue == nil || got.WonValue.Amount != 90000 || got.ClosedAt == nil {
		t.Fatalf("new image %s (%v)", c.NewImage, err)
	}
	for _, typ := range []string{typeDealDomain, typeDealClaim} {
		if _, ok, err := ChangeFromStream("INSERT", nil, item{attrType: str(typ)}, at); ok || err != nil {
			t.Errorf("%s: ok=%v err=%v, want ignored", typ, ok, err)
		}
	}
}

// A partner's portal access is kept on its item outside the record: a
// change of it alone is no change of the partner (no partner.updated
// event), while a change of the record still is one.
func TestPortalAccessAloneIsNoPartnerChange(t *testing.T) {
	at := time.Date(2026, 3, 1, 12, 0, 0, 0, time.UTC)
	p := domain.Partner{ID: "prt_1", OrgID: "org_1", CompanyName: "Acme", Email: "a@example.com", TierID: "tir_1",
		Status: domain.PartnerActive, CreatedAt: at, UpdatedAt: at, Revision: 1}
	before, err := record(p, typePartner, partnerKey("org_1", "prt_1"))
	if err != nil {
		t.Fatal(err)
	}
	after := item{}
	for k, v := range before {
		after[k] = v
	}
	after[attrPortal] = str(`{"status":"invited","userId":"usr_prt_1"}`)
	if c, ok, err := ChangeFromStream("MODIFY", before, after, at); err != nil || ok {
		t.Errorf("ChangeFromStream(portal access set) = %+v, %v, %v; want no change", c, ok, err)
	}
	renamed := p
	renamed.CompanyName, renamed.Revision = "Acme Inc", 2
	changed, err := record(renamed, typePartner, partnerKey("org_1", "prt_1"))
	if err != nil {
		t.Fatal(err)
	}
	changed[attrPortal] = after[attrPortal]
	c, ok, err := ChangeFromStream("MODIFY", after, changed, at)
	if err != nil || !ok || c.Entity != "partner" || c.ID != "prt_1" {
		t.Errorf("ChangeFromStream(partner renamed) = %+v, %v, %v; want a partner change", c, ok, err)
	}
	msgs, err := pipeline.Events(c)
	if err != nil || len(msgs) != 1 || !strings.HasSuffix(msgs[0].Type, "partner.updated") {
		t.Errorf("Events(partner renamed) = %+v, %v; want partner.updated", msgs, err)
	}
}
