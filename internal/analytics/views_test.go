package analytics

import (
	"encoding/json"
	"fmt"
	"reflect"
	"strings"
	"testing"
	"time"

	"github.com/partnerloop/partnerloop/internal/commission"
	"github.com/partnerloop/partnerloop/internal/domain"
	"github.com/partnerloop/partnerloop/internal/store"
)

// facts is everything the fold reads of a record: the same from a slim
// view as from the full record means the same figures.
type facts struct {
	Dims     dims
	At       time.Time // click at, referral createdAt, conversion occurredAt, deal createdAt, entry's time
	Status   string
	Amount   *domain.Money // conversion amount, entry amount, deal value
	Refunded domain.Money
	Won      *domain.Money
	Source   string
	ClosedAt *time.Time
}

func fullFacts(t *testing.T, entity string, img []byte) facts {
	t.Helper()
	var f facts
	var err error
	switch entity {
	case EntityClick:
		var k domain.Click
		err = json.Unmarshal(img, &k)
		f = facts{Dims: dims{k.ProgramID, k.ReferrerID, k.PartnerID}, At: k.At}
	case EntityReferral:
		var r domain.Referral
		err = json.Unmarshal(img, &r)
		f = facts{Dims: dims{r.ProgramID, r.ReferrerID, r.PartnerID}, At: r.CreatedAt, Status: r.Status}
	case EntityConversion:
		var v domain.Conversion
		err = json.Unmarshal(img, &v)
		f = facts{Dims: dims{v.ProgramID, v.ReferrerID, v.PartnerID}, At: v.OccurredAt, Amount: v.Amount, Refunded: v.RefundedAmount}
	case EntityDeal:
		var d domain.Deal
		err = json.Unmarshal(img, &d)
		f = facts{Dims: dims{partner: d.PartnerID}, At: d.CreatedAt, Status: string(d.Status), Amount: &d.Value, Won: d.WonValue,
			Source: string(d.Source), ClosedAt: d.ClosedAt}
	case EntityCommission:
		var e commission.Commission
		err = json.Unmarshal(img, &e)
		at := e.OccurredAt
		if at.IsZero() {
			at = e.CreatedAt
		}
		f = facts{Dims: dims{e.ProgramID, e.ReferrerID, e.PartnerID}, At: at, Status: string(e.Status), Amount: &e.Amount}
	}
	if err != nil {
		t.Fatalf("full %s %s: %v", entity, img, err)
	}
	return f
}

func slimFacts(t *testing.T, entity string, img []byte) facts {
	t.Helper()
	c := store.Change{Entity: entity}
	var f facts
	var err error
	switch entity {
	case EntityClick:
		var k clickView
		k, err = decodeView[clickView](c, img)
		f = facts{Dims: k.dims(), At: k.At}
	case EntityReferral:
		var r referralView
		r, err = decodeView[referralView](c, img)
		f = facts{Dims: r.dims(), At: r.CreatedAt, Status: r.Status}
	case EntityConversion:
		var v conversionView
		v, err = decodeView[conversionView](c, img)
		f = facts{Dims: v.dims(), At: v.OccurredAt, Amount: v.Amount, Refunded: v.RefundedAmount}
	case EntityDeal:
		var d dealView
		d, err = decodeView[dealView](c, img)
		f = facts{Dims: dims{partner: d.PartnerID}, At: d.CreatedAt, Status: string(d.Status), Amount: &d.Value, Won: d.WonValue, Source: string(d.Source)}
		if closed, ok, terr := rawTime(d.ClosedAt); ok {
			f.ClosedAt = &closed
		} else if terr != nil {
			err = terr
		}
	case EntityCommission:
		var e commissionView
		e, err = decodeView[commissionView](c, img)
		if err == nil {
			f = facts{Dims: e.dims(), Status: string(e.Status), Amount: &e.Amount}
			f.At, err = e.at()
		}
	}
	if err != nil {
		t.Fatalf("slim %s %s: %v", entity, img, err)
	}
	return f
}

// representativeImages are images of every kind of record in every state
// the fold tells apart, as the stores write them and as older versions
// wrote them (members missing, null, in another order, spaced out).
func representativeImages(t *testing.T) []store.Change {
	t.Helper()
	at := time.Date(2026, 3, 29, 0, 30, 0, 123456789, time.UTC) // the night Europe's clocks change
	later := at.Add(36 * time.Hour)
	var out []store.Change
	add := func(entity string, v any) {
		b, err := json.Marshal(v)
		if err != nil {
			t.Fatal(err)
		}
		out = append(out, store.Change{Entity: entity, OrgID: "org_1", ID: fmt.Sprint(len(out)), NewImage: b})
	}
	raw := func(entity, img string) {
		out = append(out, store.Change{Entity: entity, OrgID: "org_1", ID: fmt.Sprint("raw", len(out)), NewImage: []byte(img)})
	}
	usd := func(n int64) *domain.Money { return &domain.Money{Amount: n, Currency: "USD"} }
	for _, part := range []string{"", "prt_1"} {
		add(EntityClick, domain.Click{ID: "clk_1", OrgID: "org_1", ProgramID: "prg_1", ReferrerID: "rfr_1", PartnerID: part, Code: "abc",
			VisitorHash: "h", RefererHost: "example.com", At: at})
		for _, st := range []string{domain.ReferralPending, domain.ReferralConverted, "ineligible", "expired"} {
			add(EntityReferral, domain.Referral{ID: "ref_1", OrgID: "org_1", ProgramID: "prg_1", ReferrerID: "rfr_1", PartnerID: part,
				Email: "a@example.com", Name: "Ä \"quoted\" name", Status: st, Reason: "x", CreatedAt: at, ConvertedAt: &later, UpdatedAt: later})
		}
		for _, v := range []domain.Conversion{
			{Amount: usd(4999), RefundedAmount: domain.Money{Currency: "USD"}},
			{Amount: usd(4999), RefundedAmount: domain.Money{Amount: 1000, Currency: "USD"}, RefundedAt: &later},
			{Amount: usd(4999), RefundedAmount: domain.Money{Amount: 4999, Currency: "USD"}, RefundedAt: &later},
			{Amount: nil, RefundedAt: &later},
			{Amount: &domain.Money{Amount: 0, Currency: "JPY"}},
		} {
			v.ID, v.OrgID, v.ReferralID, v.ProgramID, v.ReferrerID, v.PartnerID = "cnv_1", "org_1", "ref_1", "prg_1", "rfr_1", part
			v.Event, v.ExternalID, v.OccurredAt, v.CreatedAt = domain.EventPurchase, "order-1", at, later
			add(EntityConversion, v)
		}
		for _, kind := range []commission.Kind{commission.KindCommission, commission.KindClawback, commission.KindAdjustment} {
			for _, st := range []commission.Status{commission.StatusPending, commission.StatusApproved, commission.StatusPaid,
				commission.StatusRejected, commission.StatusReversed} {
				for _, occurred := range []time.Time{at, {}} {
					amount := int64(500)
					if kind == commission.KindClawback {
						amount = -200
					}
					add(EntityCommission, commission.Commission{ID: "com_1", OrgID: "org_1", Kind: kind, ProgramID: "prg_1", ReferrerID: "rfr_1",
						PartnerID: part, ConversionID: "cnv_1", Amount: domain.Money{Amount: amount, Currency: "EUR"}, Status: st,
						AvailableAt: later, OccurredAt: occurred, CreatedAt: later, UpdatedAt: later, RuleSource: "tier", RuleVersion: 2,
						PeriodKey: "2026-03", Ordinal: 7, OriginalID: "com_0", OriginalAmount: 500, Revision: 3})
				}
			}
		}
	}
	for _, src := range []domain.DealSource{domain.DealSourcePartner, "direct"} {
		for _, part := range []string{"", "prt_1"} {
			for _, st := range []domain.DealStatus{"pending", "approved", domain.DealWon, "lost", "rejected"} {
				for _, won := range []*domain.Money{nil, usd(70000)} {
					d := domain.Deal{ID: "deal_1", OrgID: "org_1", PartnerID: part, Source: src, CreatedBy: "usr_1", CustomerName: "Acme",
						CustomerDomain: "acme.example", Value: domain.Money{Amount: 90000, Currency: "USD"}, Status: st, ExclusiveUntil: &later,
						WonValue: won, CreatedAt: at}
					if st != "pending" && st != "approved" {
						d.ClosedAt = &later
					}
					add(EntityDeal, d)
				}
			}
		}
	}
	// As older versions wrote them, or written by hand.
	raw(EntityCommission, `{"id":"com_2","programId":"prg_1","referrerId":"rfr_1","amount":{"amount":300,"currency":"USD"},"status":"approved","createdAt":"2025-01-02T03:04:05Z"}`)
	raw(EntityCommission, `{"id":"com_3","programId":"prg_1","referrerId":"rfr_1","amount":{"amount":300,"currency":"USD"},"status":"paid","occurredAt":null,"createdAt":"2025-01-02T03:04:05+01:00"}`)
	raw(EntityConversion, `{"id":"cnv_2","programId":"prg_1","referrerId":"rfr_1","amount":{"amount":100,"currency":"GBP"},"occurredAt":"2024-02-29T23:59:59.999999999-08:00"}`)
	raw(EntityConversion, `{"id":"cnv_3","programId":"prg_1","referrerId":"rfr_1","amount":null,"refundedAmount":null,"occurredAt":"2024-02-29T12:00:00Z"}`)
	raw(EntityConversion, " {\n \"occurredAt\" : \"2024-02-29T12:00:00Z\" ,\t\"amount\":{\"currency\":\"USD\",\"amount\":-0},\"partnerId\":\"prt_2\",\"extra\":[1,{\"a\":[true,false,null]},\"\\u00e9\\n\"],\"programId\":\"prg_2\",\"referrerId\":\"rfr_2\"}\n")
	raw(EntityReferral, `{"id":"ref_2","programId":"prg_1","referrerId":"rfr_1","status":"converted","createdAt":"2025-06-01T00:00:00Z"}`)
	raw(EntityReferral, `{"ProgramID":"prg_9","REFERRERID":"rfr_9","Status":"converted","createdat":"2025-06-01T00:00:00Z"}`)
	raw(EntityReferral, `{"programId":"prg_1","programId":"prg_2","referrerId":"rfr_\u00e9","status":"conv\"erted","createdAt":"2025-06-01T00:00:00Z"}`)
	raw(EntityDeal, `{"id":"deal_2","partnerId":"prt_1","source":"partner","value":{"amount":5000,"currency":"USD"},"status":"won","createdAt":"2025-01-01T00:00:00Z","closedAt":"2025-02-01T00:00:00Z"}`)
	raw(EntityDeal, `{"id":"deal_3","partnerId":"prt_1","source":"partner","value":{"amount":5000,"currency":"USD"},"status":"won","createdAt":"2025-01-01T00:00:00Z","closedAt":null}`)
	raw(EntityDeal, `{"id":"deal_4","partnerId":"prt_1","source":"partner","value":{"amount":5000,"currency":"USD"},"wonValue":{"amount":1},"status":"won","createdAt":"2025-01-01T00:00:00Z","closedAt":"0001-01-01T00:00:00Z"}`)
	raw(EntityClick, `{"id":"clk_2","programId":"prg_1","referrerId":"rfr_1","at":"2025-10-26T01:30:00+02:00"}`)
	return out
}

// TestSlimViewsReadWhatTheFullRecordsSay: every image gives the fold the
// same facts through its slim view as through the full record, and the
// same cells as its canonical re-encoding (json.Marshal of the full
// record).
func TestSlimViewsReadWhatTheFullRecordsSay(t *testing.T) {
	changes := representativeImages(t)
	for _, c := range changes {
		full, slim := fullFacts(t, c.Entity, c.NewImage), slimFacts(t, c.Entity, c.NewImage)
		if !reflect.DeepEqual(full, slim) {
			t.Errorf("%s %s:\nfull %+v\nslim %+v", c.Entity, c.NewImage, full, slim)
		}
	}
	paris, err := time.LoadLocation("Europe/Paris")
	if err != nil {
		t.Fatal(err)
	}
	zone := func(string) *time.Location { return paris }
	canonical := make([]store.Change, len(changes))
	for i, c := range changes {
		var v any
		switch c.Entity {
		case EntityClick:
			v = new(domain.Click)
		case EntityReferral:
			v = new(domain.Referral)
		case EntityConversion:
			v = new(domain.Conversion)
		case EntityDeal:
			v = new(domain.Deal)
		case EntityCommission:
			v = new(commission.Commission)
		}
		if err := json.Unmarshal(c.NewImage, v); err != nil {
			t.Fatal(err)
		}
		b, err := json.Marshal(v)
		if err != nil {
			t.Fatal(err)
		}
		canonical[i] = c
		canonical[i].NewImage = b
		// Every other change as a MODIFY from the previous image.
		if i%2 == 1 {
			changes[i].OldImage, canonical[i].OldImage = changes[i-1].NewImage, canonical[i-1].NewImage
		}
	}
	for _, c := range canonical {
		if !strings.HasPrefix(c.ID, "raw") && !scans(c.Entity, c.NewImage) {
			t.Errorf("the scanner declines the %s image the stores write: %s", c.Entity, c.NewImage)
		}
	}
	got, err := Fold(changes, zone)
	if err != nil {
		t.Fatal(err)
	}
	want, err := Fold(canonical, zone)
	if err != nil {
		t.Fatal(err)
	}
	if !reflect.DeepEqual(got, want) {
		t.Errorf("the images and their canonical encodings fold differently:\n%+v\n%+v", got, want)
	}
	if len(got) < 50 {
		t.Errorf("only %d cells: the images do not cover the fold", len(got))
	}
}

// scans reports whether the scanner takes img (without encoding/json).
func scans(entity string, img []byte) bool {
	s := scanner{b: img}
	var ok bool
	switch entity {
	case EntityClick:
		ok = new(clickView).scan(&s)
	case EntityReferral:
		ok = new(referralView).scan(&s)
	case EntityConversion:
		ok = new(conversionView).scan(&s)
	case EntityDeal:
		ok = new(dealView).scan(&s)
	case EntityCommission:
		ok = new(commissionView).scan(&s)
	}
	return ok && s.end()
}

// oddImages are images the scanner must decline or read exactly as
// encoding/json does.
var oddImages = []string{
	``, ` `, `null`, `{}`, `[]`, `"x"`, `{`, `{"programId"}`, `{"programId":}`, `{"programId":"a",}`, `{"programId":"a"} x`,
	`{"programId":"a"}{}`, `{"programId":1}`, `{"programId":true}`, `{"programId":null}`, `{"programId":"a\u0000"}`,
	"{\"programId\":\"a\x01\"}", "{\"programId\":\"\xff\"}", `{"programId":"\ud800"}`, `{"programId":"é"}`,
	`{"PROGRAMID":"a"}`, `{"programid":"a","programId":"b"}`, `{"programId":"b","programid":"a"}`, `{"ſtatus":"converted"}`,
	`{"\u0070rogramId":"a"}`, `{"programId":"a","programId":"b"}`, `{"x":"\q"}`, `{"x":"\u12"}`, `{"x":01}`, `{"x":-}`, `{"x":1.}`,
	`{"x":1e}`, `{"x":.5}`, `{"x":1.5e+3}`, `{"x":tru}`, `{"x":nul}`, `{"x":[1,]}`, `{"x":[1 2]}`, `{"x":{"a" 1}}`, `{"x":{1:2}}`,
	`{"amount":{"amount":1.0,"currency":"USD"}}`, `{"amount":{"amount":1e2}}`, `{"amount":{"amount":9223372036854775808}}`,
	`{"amount":{"amount":-9223372036854775808}}`, `{"amount":{"amount":"1"}}`, `{"amount":{"Amount":5,"amount":6}}`,
	`{"amount":{"amount":5,"amount":6}}`, `{"amount":[]}`, `{"amount":"x"}`, `{"amount":null,"amount":{"amount":3}}`,
	`{"amount":{"amount":3},"amount":null}`, `{"amount":{"amount":3},"amount":{"currency":"EUR"}}`,
	`{"refundedAmount":{"amount":3},"refundedAmount":{"currency":"EUR"}}`, `{"value":{"amount":null,"currency":null}}`,
	`{"occurredAt":"2024-02-30T00:00:00Z"}`, `{"occurredAt":"2024-02-29"}`, `{"occurredAt":12}`, `{"occurredAt":"2024-02-29T12:00:00\u005a"}`,
	`{"at":"2024-02-29T12:00:00Z","at":null}`, `{"createdAt":{"x":1}}`, `{"createdAt":"garbage"}`, `{"closedAt":[1,2]}`,
	`{"closedAt":"2024-02-29T12:00:00Z","closedAt":null}`, `{"status":"won","source":"partner","partnerId":"p","closedAt":"x"}`,
	`{"x":` + strings.Repeat(`[`, 150) + strings.Repeat(`]`, 150) + `}`, `{"x":"` + strings.Repeat(`\\`, 3) + `"}`,
}

// TestViewsDecodeAsEncodingJSON: whatever the image, a view reads what
// encoding/json reads into it, and fails where it fails.
func TestViewsDecodeAsEncodingJSON(t *testing.T) {
	for _, c := range representativeImages(t) {
		checkViews(t, c.NewImage)
	}
	for _, img := range oddImages {
		checkViews(t, []byte(img))
	}
}

func FuzzViews(f *testing.F) {
	for _, img := range oddImages {
		f.Add([]byte(img))
	}
	for _, c := range conversionRunChanges(f, 2) {
		f.Add(c.NewImage)
	}
	f.Fuzz(func(t *testing.T, img []byte) { checkViews(t, img) })
}

func checkViews(t *testing.T, img []byte) {
	t.Helper()
	checkView[clickView](t, img)
	checkView[referralView](t, img)
	checkView[conversionView](t, img)
	checkView[dealView](t, img)
	checkView[commissionView](t, img)
}

func checkView[T any, P interface {
	*T
	scan(s *scanner) bool
}](t *testing.T, img []byte) {
	t.Helper()
	got, err := decodeView[T, P](store.Change{Entity: "x", ID: "1", OrgID: "org_1"}, img)
	var want T
	wantErr := json.Unmarshal(img, &want)
	switch {
	case (err == nil) != (wantErr == nil):
		t.Errorf("%T of %q: error %v, encoding/json says %v", got, img, err, wantErr)
	case err != nil && !strings.HasSuffix(err.Error(), wantErr.Error()):
		t.Errorf("%T of %q: error %v, encoding/json says %v", got, img, err, wantErr)
	case err == nil && !reflect.DeepEqual(got, want):
		t.Errorf("%T of %q:\n got %+v\nwant %+v", got, img, got, want)
	}
}
