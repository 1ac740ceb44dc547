package storetest

import (
	"strings"
	"testing"
	"time"

	"github.com/partnerloop/partnerloop/internal/domain"
)

// The comparison is what makes the suite fail: it must see every difference
// a store can introduce, and only those.
func TestDiff(t *testing.T) {
	at := time.Date(2025, 3, 1, 9, 30, 15, 123_000_000, time.UTC)
	base := domain.Program{
		ID: "prg_1", Name: "P", StartsAt: at, EndsAt: ptr(at.Add(time.Hour)),
		QualifyingEvents: []string{"signup"},
		Commission: domain.CommissionRule{Type: domain.RuleTiered, Tiers: []domain.Tier{
			{UpTo: ptr(int64(10)), RateBps: ptr(int64(100))}, {RateBps: ptr(int64(200))},
		}},
	}
	clone := func(f func(p *domain.Program)) domain.Program {
		p := base
		p.EndsAt = ptr(*base.EndsAt)
		p.QualifyingEvents = append([]string(nil), base.QualifyingEvents...)
		p.Commission.Tiers = []domain.Tier{
			{UpTo: ptr(int64(10)), RateBps: ptr(int64(100))}, {RateBps: ptr(int64(200))},
		}
		f(&p)
		return p
	}
	berlin := time.FixedZone("CET", 3600)
	for _, tc := range []struct {
		name string
		got  domain.Program
		path string // "" when equal
	}{
		{"identical copy", clone(func(*domain.Program) {}), ""},
		{"same instant in another zone", clone(func(p *domain.Program) { p.StartsAt = at.In(berlin) }), ""},
		{"nil and empty slice", clone(func(p *domain.Program) { p.RuleVersions = []domain.RuleVersion{} }), ""},
		{"millisecond lost", clone(func(p *domain.Program) { p.StartsAt = at.Truncate(time.Second) }), "StartsAt"},
		{"pointer lost", clone(func(p *domain.Program) { p.EndsAt = nil }), "EndsAt"},
		{"pointed-to time", clone(func(p *domain.Program) { p.EndsAt = ptr(at) }), "EndsAt"},
		{"string", clone(func(p *domain.Program) { p.Name = "Q" }), "Name"},
		{"revision", clone(func(p *domain.Program) { p.Revision = 1 }), "Revision"},
		{"slice length", clone(func(p *domain.Program) { p.QualifyingEvents = nil }), "QualifyingEvents"},
		{"nested pointer", clone(func(p *domain.Program) { p.Commission.Tiers[1].UpTo = ptr(int64(5)) }), "Commission.Tiers[1].UpTo"},
		{"nested value", clone(func(p *domain.Program) { *p.Commission.Tiers[0].RateBps = 101 }), "Commission.Tiers[0].RateBps"},
	} {
		d := diff(base, tc.got)
		switch {
		case tc.path == "" && len(d) > 0:
			t.Errorf("%s: diff reports %q, want no difference", tc.name, d)
		case tc.path != "" && (len(d) != 1 || !strings.HasPrefix(d[0], tc.path+":")):
			t.Errorf("%s: diff reports %q, want one difference at %s", tc.name, d, tc.path)
		}
	}
	// Fields kept out of JSON are compared like any other.
	u := domain.User{ID: "usr_1", PasswordHash: "h1"}
	if d := diff(u, domain.User{ID: "usr_1"}); len(d) != 1 || !strings.HasPrefix(d[0], "PasswordHash:") {
		t.Errorf("diff of a lost password hash = %q, want one difference at PasswordHash", d)
	}
}
