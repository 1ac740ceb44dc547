package domain_test

import (
	"strings"
	"testing"
	"time"

	"github.com/partnerloop/partnerloop/internal/domain"
)

var (
	d0     = time.Date(2026, 3, 1, 12, 0, 0, 0, time.UTC)
	window = 30 * 24 * time.Hour
	dusd   = func(a int64) domain.Money { return domain.Money{Amount: a, Currency: "USD"} }
)

func ptr[T any](v T) *T { return &v }

func partnerReg(partnerID, host string) domain.DealRegistration {
	return domain.DealRegistration{
		OrgID: "org_1", ID: "deal_new", PartnerID: partnerID, Source: domain.DealSourcePartner,
		CreatedBy: "usr_p", CustomerName: "Acme", CustomerDomain: host, Value: dusd(10000),
	}
}

func directReg(host string) domain.DealRegistration {
	return domain.DealRegistration{
		OrgID: "org_1", ID: "deal_new", Source: domain.DealSourceDirect,
		CreatedBy: "usr_admin", CustomerName: "Acme", CustomerDomain: host, Value: dusd(10000),
	}
}

// existing builds a stored deal on example.com registered at createdAt.
func existing(id, partnerID string, status domain.DealStatus, createdAt time.Time, exclusiveUntil *time.Time) domain.Deal {
	src := domain.DealSourcePartner
	if partnerID == "" {
		src = domain.DealSourceDirect
	}
	return domain.Deal{
		ID: id, OrgID: "org_1", PartnerID: partnerID, Source: src, CustomerName: "Acme",
		CustomerDomain: "example.com", Value: dusd(5000), Status: status,
		ExclusiveUntil: exclusiveUntil, CreatedAt: createdAt, UpdatedAt: createdAt,
	}
}

func wantErr(t *testing.T, err error, kind domain.Kind, code string) *domain.Error {
	t.Helper()
	e, ok := domain.AsError(err)
	if !ok {
		t.Fatalf("err = %v, want %v/%s", err, kind, code)
	}
	if e.Kind != kind || e.Code != code {
		t.Fatalf("err = %v/%q (%s), want %v/%q", e.Kind, e.Code, e.Message, kind, code)
	}
	return e
}

func TestRegisterValidation(t *testing.T) {
	long := make([]rune, 201)
	for i := range long {
		long[i] = 'é'
	}
	tests := []struct {
		name   string
		mutate func(*domain.DealRegistration)
		fields []string
	}{
		{"no name", func(d *domain.DealRegistration) { d.CustomerName = "  " }, []string{"customerName"}},
		{"name too long", func(d *domain.DealRegistration) { d.CustomerName = string(long) }, []string{"customerName"}},
		{"bad domain", func(d *domain.DealRegistration) { d.CustomerDomain = "example" }, []string{"customerDomain"}},
		{"no domain", func(d *domain.DealRegistration) { d.CustomerDomain = "" }, []string{"customerDomain"}},
		{"negative value", func(d *domain.DealRegistration) { d.Value.Amount = -1 }, []string{"value.amount"}},
		{"no currency", func(d *domain.DealRegistration) { d.Value.Currency = "" }, []string{"value.currency"}},
		{"bad currency", func(d *domain.DealRegistration) { d.Value.Currency = "dusd" }, []string{"value.currency"}},
		{"bad source", func(d *domain.DealRegistration) { d.Source = "referral" }, []string{"source"}},
		{"partner deal without partner", func(d *domain.DealRegistration) { d.PartnerID = "" }, []string{"partnerId"}},
		{"direct deal with partner", func(d *domain.DealRegistration) { d.Source = domain.DealSourceDirect }, []string{"partnerId"}},
		{"zero expected close date", func(d *domain.DealRegistration) { d.ExpectedCloseDate = &time.Time{} }, []string{"expectedCloseDate"}},
		{"everything", func(d *domain.DealRegistration) {
			d.CustomerName = ""
			d.CustomerDomain = "192.168.0.1"
			d.Value = domain.Money{Amount: -5}
		}, []string{"customerName", "customerDomain", "value.amount", "value.currency"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			in := partnerReg("ptn_a", "example.com")
			tt.mutate(&in)
			_, err := domain.RegisterDeal(in, nil, window, d0)
			e := wantErr(t, err, domain.KindInvalid, "validation_failed")
			var got []string
			for _, f := range e.Fields {
				got = append(got, f.Field)
			}
			if len(got) != len(tt.fields) {
				t.Fatalf("fields = %v, want %v", got, tt.fields)
			}
			for i := range got {
				if got[i] != tt.fields[i] {
					t.Fatalf("fields = %v, want %v", got, tt.fields)
				}
			}
		})
	}
}

func TestRegisterNewDeal(t *testing.T) {
	in := partnerReg("ptn_a", "https://WWW.Example.com/pricing")
	in.CustomerName = "  Acme Inc  "
	in.ExpectedCloseDate = ptr(d0.AddDate(0, 2, 0))
	d, err := domain.RegisterDeal(in, nil, window, d0)
	if err != nil {
		t.Fatal(err)
	}
	if d.Status != domain.DealRegistered || d.ConflictsWith != "" {
		t.Errorf("status = %s/%q, want registered", d.Status, d.ConflictsWith)
	}
	if d.CustomerDomain != "example.com" || d.CustomerName != "Acme Inc" {
		t.Errorf("domain/name = %q/%q", d.CustomerDomain, d.CustomerName)
	}
	if d.ExclusiveUntil == nil || !d.ExclusiveUntil.Equal(d0.Add(window)) {
		t.Errorf("exclusiveUntil = %v, want %v", d.ExclusiveUntil, d0.Add(window))
	}
	if d.ID != "deal_new" || d.OrgID != "org_1" || d.PartnerID != "ptn_a" || d.CreatedBy != "usr_p" ||
		d.Value != dusd(10000) || !d.CreatedAt.Equal(d0) || !d.UpdatedAt.Equal(d0) || d.ClosedAt != nil {
		t.Errorf("deal = %+v", d)
	}
	if d.ExpectedCloseDate == in.ExpectedCloseDate || !d.ExpectedCloseDate.Equal(*in.ExpectedCloseDate) {
		t.Errorf("expectedCloseDate = %v, want a copy of %v", d.ExpectedCloseDate, in.ExpectedCloseDate)
	}

	dir, err := domain.RegisterDeal(directReg("example.com"), nil, window, d0)
	if err != nil {
		t.Fatal(err)
	}
	if dir.ExclusiveUntil != nil || dir.Status != domain.DealRegistered || dir.PartnerID != "" {
		t.Errorf("direct deal = %+v, want registered without exclusivity", dir)
	}
}

func TestRegisterDefaultWindow(t *testing.T) {
	if domain.DefaultDealExclusivity != 90*24*time.Hour {
		t.Fatalf("DefaultExclusivity = %v", domain.DefaultDealExclusivity)
	}
	for _, w := range []time.Duration{0, -time.Hour} {
		d, err := domain.RegisterDeal(partnerReg("ptn_a", "example.com"), nil, w, d0)
		if err != nil {
			t.Fatal(err)
		}
		if !d.ExclusiveUntil.Equal(d0.Add(domain.DefaultDealExclusivity)) {
			t.Errorf("window %v: exclusiveUntil = %v, want 90 days on", w, d.ExclusiveUntil)
		}
	}
}

// TestRegisterConflicts covers the conflict rules and the window's edges.
func TestRegisterConflicts(t *testing.T) {
	now := d0
	past := now.Add(-10 * 24 * time.Hour)
	open := ptr(now.Add(time.Hour))
	exactlyNow := ptr(now)
	oneNsLater := ptr(now.Add(time.Nanosecond))
	oneNsEarlier := ptr(now.Add(-time.Nanosecond))

	won := func(d domain.Deal, closedAt time.Time) domain.Deal {
		d.ClosedAt = &closedAt
		return d
	}

	tests := []struct {
		name          string
		in            domain.DealRegistration
		existing      []domain.Deal
		wantStatus    domain.DealStatus
		wantConflicts string
		wantDuplicate string // existingId of a 409
	}{
		{"no deals", partnerReg("ptn_a", "example.com"), nil, domain.DealRegistered, "", ""},

		// Window edges: exclusivity ends at ExclusiveUntil.
		{"other partner, exclusivity ends exactly now", partnerReg("ptn_b", "example.com"),
			[]domain.Deal{existing("d1", "ptn_a", domain.DealRegistered, past, exactlyNow)}, domain.DealRegistered, "", ""},
		{"other partner, exclusivity ended 1ns ago", partnerReg("ptn_b", "example.com"),
			[]domain.Deal{existing("d1", "ptn_a", domain.DealApproved, past, oneNsEarlier)}, domain.DealRegistered, "", ""},
		{"other partner, exclusivity ends 1ns from now", partnerReg("ptn_b", "example.com"),
			[]domain.Deal{existing("d1", "ptn_a", domain.DealRegistered, past, oneNsLater)}, domain.DealConflict, "d1", ""},
		{"other partner, approved deal", partnerReg("ptn_b", "example.com"),
			[]domain.Deal{existing("d1", "ptn_a", domain.DealApproved, past, open)}, domain.DealConflict, "d1", ""},
		{"other partner, deal in conflict itself", partnerReg("ptn_b", "example.com"),
			[]domain.Deal{existing("d1", "ptn_a", domain.DealConflict, past, open)}, domain.DealConflict, "d1", ""},

		// Closed deals claim nothing, except a recent win.
		{"other partner, rejected", partnerReg("ptn_b", "example.com"),
			[]domain.Deal{existing("d1", "ptn_a", domain.DealRejected, past, open)}, domain.DealRegistered, "", ""},
		{"other partner, lost", partnerReg("ptn_b", "example.com"),
			[]domain.Deal{existing("d1", "ptn_a", domain.DealLost, past, open)}, domain.DealRegistered, "", ""},
		{"other partner, expired", partnerReg("ptn_b", "example.com"),
			[]domain.Deal{existing("d1", "ptn_a", domain.DealExpired, past, exactlyNow)}, domain.DealRegistered, "", ""},
		{"other partner, won inside its exclusivity", partnerReg("ptn_b", "example.com"),
			[]domain.Deal{won(existing("d1", "ptn_a", domain.DealWon, past, open), past)}, domain.DealConflict, "d1", ""},
		{"other partner, won one window ago less 1ns", partnerReg("ptn_b", "example.com"),
			[]domain.Deal{won(existing("d1", "ptn_a", domain.DealWon, past.Add(-window), ptr(past)), now.Add(-window).Add(time.Nanosecond))}, domain.DealConflict, "d1", ""},
		{"other partner, won exactly one window ago", partnerReg("ptn_b", "example.com"),
			[]domain.Deal{won(existing("d1", "ptn_a", domain.DealWon, past.Add(-window), ptr(past)), now.Add(-window))}, domain.DealRegistered, "", ""},
		{"partner after a recent direct win", partnerReg("ptn_b", "example.com"),
			[]domain.Deal{won(existing("d1", "", domain.DealWon, past, nil), past)}, domain.DealConflict, "d1", ""},

		// Same partner.
		{"same partner twice", partnerReg("ptn_a", "example.com"),
			[]domain.Deal{existing("d1", "ptn_a", domain.DealRegistered, past, open)}, "", "", "d1"},
		{"same partner, approved deal", partnerReg("ptn_a", "example.com"),
			[]domain.Deal{existing("d1", "ptn_a", domain.DealApproved, past, open)}, "", "", "d1"},
		{"same partner, deal in conflict past its window", partnerReg("ptn_a", "example.com"),
			[]domain.Deal{existing("d1", "ptn_a", domain.DealConflict, past, exactlyNow)}, "", "", "d1"},
		{"same partner, domain variant", partnerReg("ptn_a", "https://www.Example.com/x"),
			[]domain.Deal{existing("d1", "ptn_a", domain.DealRegistered, past, open)}, "", "", "d1"},
		{"same partner, duplicate wins over another's claim", partnerReg("ptn_a", "example.com"),
			[]domain.Deal{existing("d0", "ptn_b", domain.DealRegistered, past.Add(-time.Hour), open), existing("d1", "ptn_a", domain.DealRegistered, past, open)}, "", "", "d1"},
		{"same partner, due to expire", partnerReg("ptn_a", "example.com"),
			[]domain.Deal{existing("d1", "ptn_a", domain.DealRegistered, past, exactlyNow)}, domain.DealRegistered, "", ""},
		{"same partner, rejected before", partnerReg("ptn_a", "example.com"),
			[]domain.Deal{existing("d1", "ptn_a", domain.DealRejected, past, open)}, domain.DealRegistered, "", ""},
		{"same partner, won before", partnerReg("ptn_a", "example.com"),
			[]domain.Deal{won(existing("d1", "ptn_a", domain.DealWon, past, open), past)}, domain.DealRegistered, "", ""},

		// Direct versus partner, both ways.
		{"partner over an open direct deal", partnerReg("ptn_a", "example.com"),
			[]domain.Deal{existing("d1", "", domain.DealRegistered, past.AddDate(-1, 0, 0), nil)}, domain.DealConflict, "d1", ""},
		{"partner over a lost direct deal", partnerReg("ptn_a", "example.com"),
			[]domain.Deal{existing("d1", "", domain.DealLost, past, nil)}, domain.DealRegistered, "", ""},
		{"direct over a partner deal", directReg("example.com"),
			[]domain.Deal{existing("d1", "ptn_a", domain.DealRegistered, past, open)}, domain.DealConflict, "d1", ""},
		{"direct over a partner deal past its window", directReg("example.com"),
			[]domain.Deal{existing("d1", "ptn_a", domain.DealApproved, past, exactlyNow)}, domain.DealRegistered, "", ""},
		{"direct over a direct deal", directReg("example.com"),
			[]domain.Deal{existing("d1", "", domain.DealApproved, past, nil)}, domain.DealRegistered, "", ""},

		// Several claims: the earliest registered one is named.
		{"several conflicting deals", partnerReg("ptn_c", "example.com"),
			[]domain.Deal{
				existing("d3", "ptn_b", domain.DealConflict, past.Add(2*time.Hour), open),
				existing("d1", "", domain.DealLost, past.Add(-2*time.Hour), nil),
				existing("d2", "ptn_a", domain.DealRegistered, past, open),
				existing("d0", "ptn_d", domain.DealRegistered, past.Add(-time.Hour), exactlyNow),
			}, domain.DealConflict, "d2", ""},
		{"same registration time, lowest ID", partnerReg("ptn_c", "example.com"),
			[]domain.Deal{existing("d9", "ptn_a", domain.DealRegistered, past, open), existing("d5", "ptn_b", domain.DealRegistered, past, open)},
			domain.DealConflict, "d5", ""},

		// Domain variants collide after normalisation.
		{"variant domain collides", partnerReg("ptn_b", "https://www.Example.com/x"),
			[]domain.Deal{existing("d1", "ptn_a", domain.DealRegistered, past, open)}, domain.DealConflict, "d1", ""},
		{"variant with port, userinfo and root dot", partnerReg("ptn_b", "http://u:p@WWW.EXAMPLE.COM.:8080/?q#f"),
			[]domain.Deal{existing("d1", "ptn_a", domain.DealRegistered, past, open)}, domain.DealConflict, "d1", ""},
		{"subdomain is another customer", partnerReg("ptn_b", "shop.example.com"),
			[]domain.Deal{existing("d1", "ptn_a", domain.DealRegistered, past, open)}, domain.DealRegistered, "", ""},
		{"www2 is another customer", partnerReg("ptn_b", "www2.example.com"),
			[]domain.Deal{existing("d1", "ptn_a", domain.DealRegistered, past, open)}, domain.DealRegistered, "", ""},

		// Deals the caller should not have passed are ignored.
		{"other organization ignored", partnerReg("ptn_b", "example.com"),
			[]domain.Deal{func() domain.Deal {
				d := existing("d1", "ptn_a", domain.DealRegistered, past, open)
				d.OrgID = "org_2"
				return d
			}()},
			domain.DealRegistered, "", ""},
		{"same ID ignored", partnerReg("ptn_a", "example.com"),
			[]domain.Deal{existing("deal_new", "ptn_a", domain.DealRegistered, past, open)}, domain.DealRegistered, "", ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			d, err := domain.RegisterDeal(tt.in, tt.existing, window, now)
			if tt.wantDuplicate != "" {
				e := wantErr(t, err, domain.KindConflict, "duplicate_registration")
				if e.Extra["existingId"] != tt.wantDuplicate {
					t.Errorf("existingId = %v, want %s", e.Extra["existingId"], tt.wantDuplicate)
				}
				return
			}
			if err != nil {
				t.Fatalf("Register: %v", err)
			}
			if d.Status != tt.wantStatus || d.ConflictsWith != tt.wantConflicts {
				t.Errorf("status/conflictsWith = %s/%q, want %s/%q", d.Status, d.ConflictsWith, tt.wantStatus, tt.wantConflicts)
			}
			if tt.in.Source == domain.DealSourcePartner && (d.ExclusiveUntil == nil || !d.ExclusiveUntil.Equal(now.Add(window))) {
				t.Errorf("exclusiveUntil = %v, want now + window even in conflict", d.ExclusiveUntil)
			}
		})
	}
}

func TestTransitions(t *testing.T) {
	now := d0.Add(48 * time.Hour)
	statuses := []domain.DealStatus{
		domain.DealRegistered, domain.DealConflict, domain.DealApproved,
		domain.DealRejected, domain.DealWon, domain.DealLost, domain.DealExpired,
	}
	type action struct {
		name string
		to   domain.DealStatus
		from []domain.DealStatus
		do   func(domain.Deal) (domain.Deal, error)
	}
	actions := []action{
		{"approve", domain.DealApproved, []domain.DealStatus{domain.DealRegistered, domain.DealConflict},
			func(d domain.Deal) (domain.Deal, error) { return d.Approve(now) }},
		{"reject", domain.DealRejected, []domain.DealStatus{domain.DealRegistered, domain.DealConflict},
			func(d domain.Deal) (domain.Deal, error) { return d.Reject("  not our customer ", now) }},
		{"won", domain.DealWon, []domain.DealStatus{domain.DealApproved},
			func(d domain.Deal) (domain.Deal, error) { return d.Won(nil, now) }},
		{"lost", domain.DealLost, []domain.DealStatus{domain.DealRegistered, domain.DealConflict, domain.DealApproved},
			func(d domain.Deal) (domain.Deal, error) { return d.Lost(now) }},
		{"expire", domain.DealExpired, []domain.DealStatus{domain.DealRegistered, domain.DealApproved},
			func(d domain.Deal) (domain.Deal, error) { return d.Expire(now) }},
	}
	for _, a := range actions {
		for _, from := range statuses {
			allowed := false
			for _, f := range a.from {
				allowed = allowed || f == from
			}
			t.Run(a.name+"/from "+string(from), func(t *testing.T) {
				// Exclusivity ended an hour ago, so expiry is due.
				d := existing("d1", "ptn_a", from, d0, ptr(now.Add(-time.Hour)))
				d.ConflictsWith = "d0"
				d.Revision = 3
				got, err := a.do(d)
				if !allowed {
					wantErr(t, err, domain.KindConflict, "invalid_transition")
					if got.Status != from {
						t.Errorf("status changed to %s on error", got.Status)
					}
					return
				}
				if err != nil {
					t.Fatalf("%s: %v", a.name, err)
				}
				if got.Status != a.to || !got.UpdatedAt.Equal(now) || got.Revision != 3 || got.ConflictsWith != "d0" {
					t.Errorf("deal = %+v, want %s updated at %v, revision and conflictsWith kept", got, a.to, now)
				}
				if d.Status != from {
					t.Errorf("receiver changed")
				}
				switch a.to {
				case domain.DealApproved:
					if got.ClosedAt != nil {
						t.Errorf("closedAt = %v, want nil", got.ClosedAt)
					}
				case domain.DealExpired:
					if got.ClosedAt == nil || !got.ClosedAt.Equal(*d.ExclusiveUntil) {
						t.Errorf("closedAt = %v, want the end of exclusivity %v", got.ClosedAt, d.ExclusiveUntil)
					}
				default:
					if got.ClosedAt == nil || !got.ClosedAt.Equal(now) {
						t.Errorf("closedAt = %v, want %v", got.ClosedAt, now)
					}
				}
				if a.to == domain.DealRejected && got.Reason != "not our customer" {
					t.Errorf("reason = %q", got.Reason)
				}
				if a.to == domain.DealWon && (got.WonValue == nil || *got.WonValue != d.Value) {
					t.Errorf("wonValue = %v, want the registered value %v", got.WonValue, d.Value)
				}
			})
		}
	}
}

func TestRejectNeedsReason(t *testing.T) {
	d := existing("d1", "ptn_a", domain.DealRegistered, d0, ptr(d0.Add(window)))
	for _, reason := range []string{"", "  \t ", strings.Repeat("é", domain.MaxDealReasonLength+1)} {
		got, err := d.Reject(reason, d0)
		if got.Status != domain.DealRegistered {
			t.Errorf("status = %s after a refused rejection", got.Status)
		}
		e := wantErr(t, err, domain.KindInvalid, "validation_failed")
		if len(e.Fields) == 0 || e.Fields[0].Field != "reason" {
			t.Errorf("fields = %+v, want reason", e.Fields)
		}
	}
}

func TestWonValue(t *testing.T) {
	d := existing("d1", "ptn_a", domain.DealApproved, d0, ptr(d0.Add(window)))
	tests := []struct {
		name  string
		value *domain.Money
		want  domain.Money
		field string
	}{
		{"registered value", nil, dusd(5000), ""},
		{"given value", ptr(dusd(7500)), dusd(7500), ""},
		{"zero", ptr(dusd(0)), dusd(0), ""},
		{"currency defaults to the deal's", &domain.Money{Amount: 9000}, dusd(9000), ""},
		{"negative", ptr(dusd(-1)), domain.Money{}, "value.amount"},
		{"other currency", &domain.Money{Amount: 100, Currency: "EUR"}, domain.Money{}, "value.currency"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := d.Won(tt.value, d0.Add(time.Hour))
			if tt.field != "" {
				e := wantErr(t, err, domain.KindInvalid, "validation_failed")
				if e.Fields[0].Field != tt.field {
					t.Errorf("fields = %+v, want %s", e.Fields, tt.field)
				}
				if got.Status != domain.DealApproved {
					t.Errorf("status = %s after a refused win", got.Status)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if *got.WonValue != tt.want || got.Value != dusd(5000) {
				t.Errorf("wonValue/value = %v/%v, want %v/registered", *got.WonValue, got.Value, tt.want)
			}
			if !got.EarnsCommission() {
				t.Error("a won partner deal must earn a commission")
			}
		})
	}
}

func TestEarnsCommission(t *testing.T) {
	won := existing("d1", "ptn_a", domain.DealWon, d0, nil)
	direct := existing("d2", "", domain.DealWon, d0, nil)
	approved := existing("d3", "ptn_a", domain.DealApproved, d0, nil)
	if !won.EarnsCommission() || direct.EarnsCommission() || approved.EarnsCommission() {
		t.Errorf("EarnsCommission: partner won %v, direct won %v, approved %v; want true, false, false",
			won.EarnsCommission(), direct.EarnsCommission(), approved.EarnsCommission())
	}
}

func TestExpireEdges(t *testing.T) {
	until := d0.Add(window)
	d := existing("d1", "ptn_a", domain.DealRegistered, d0, &until)

	if d.ExpiryDue(until.Add(-time.Nanosecond)) {
		t.Error("ExpiryDue 1ns before the end")
	}
	_, err := d.Expire(until.Add(-time.Nanosecond))
	wantErr(t, err, domain.KindConflict, "exclusivity_active")

	if !d.ExpiryDue(until) {
		t.Error("not ExpiryDue exactly at the end")
	}
	got, err := d.Expire(until)
	if err != nil || got.Status != domain.DealExpired {
		t.Fatalf("Expire at the end = %s, %v", got.Status, err)
	}
	late := until.Add(72 * time.Hour)
	got, err = d.Expire(late)
	if err != nil || !got.ClosedAt.Equal(until) || !got.UpdatedAt.Equal(late) {
		t.Errorf("late sweep: closedAt/updatedAt = %v/%v, %v; want %v/%v", got.ClosedAt, got.UpdatedAt, err, until, late)
	}

	direct := existing("d2", "", domain.DealRegistered, d0, nil)
	if direct.ExpiryDue(late) {
		t.Error("a direct deal is never due to expire")
	}
	_, err = direct.Expire(late)
	wantErr(t, err, domain.KindConflict, "invalid_transition")

	conflict := existing("d3", "ptn_b", domain.DealConflict, d0, &until)
	if conflict.ExpiryDue(late) {
		t.Error("a deal in conflict waits for an admin, it does not expire")
	}
}

func TestClaims(t *testing.T) {
	until := d0.Add(window)
	closed := d0.Add(24 * time.Hour)
	tests := []struct {
		name string
		deal domain.Deal
		at   time.Time
		want bool
	}{
		{"open partner inside", existing("d", "p", domain.DealRegistered, d0, &until), until.Add(-time.Nanosecond), true},
		{"open partner at end", existing("d", "p", domain.DealApproved, d0, &until), until, false},
		{"open direct, years later", existing("d", "", domain.DealApproved, d0, nil), d0.AddDate(5, 0, 0), true},
		{"rejected", existing("d", "p", domain.DealRejected, d0, &until), d0, false},
		{"lost direct", existing("d", "", domain.DealLost, d0, nil), d0, false},
		{"expired", existing("d", "p", domain.DealExpired, d0, &until), d0, false},
		{"won, before closedAt+window", func() domain.Deal {
			d := existing("d", "p", domain.DealWon, d0, &until)
			d.ClosedAt = &closed
			return d
		}(), closed.Add(window - time.Nanosecond), true},
		{"won, at closedAt+window", func() domain.Deal {
			d := existing("d", "p", domain.DealWon, d0, &until)
			d.ClosedAt = &closed
			return d
		}(), closed.Add(window), false},
		{"won direct, inside", func() domain.Deal {
			d := existing("d", "", domain.DealWon, d0, nil)
			d.ClosedAt = &closed
			return d
		}(), closed.Add(time.Hour), true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := tt.deal.Claims(tt.at, window); got != tt.want {
				t.Errorf("Claims = %v, want %v", got, tt.want)
			}
		})
	}
}
