package partners_test

import (
	"errors"
	"path/filepath"
	"testing"
	"time"

	"github.com/partnerloop/partnerloop/internal/domain"
	"github.com/partnerloop/partnerloop/internal/partners"
	"github.com/partnerloop/partnerloop/internal/store/sqlite"
)

type clock struct{ now time.Time }

func (c *clock) Now() time.Time { return c.now }

func setup(t *testing.T) (*partners.Service, partners.RuleSource, *clock) {
	t.Helper()
	st, err := sqlite.Open(filepath.Join(t.TempDir(), "test.db"))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { st.Close() })
	c := &clock{now: time.Date(2026, 3, 1, 12, 0, 0, 0, time.UTC)}
	return partners.New(st, c.Now, domain.NewULIDs(c.Now)), partners.NewRuleSource(st), c
}

func ptr[T any](v T) *T { return &v }

func pct(bps int64) domain.CommissionRule {
	return domain.CommissionRule{Type: domain.RulePercentage, RateBps: ptr(bps)}
}

func TestRuleSourceVersionsAndPrecedence(t *testing.T) {
	svc, rules, c := setup(t)
	ctx := t.Context()
	tier, err := svc.CreateTier(ctx, "org_1", domain.PartnerTierSpec{Name: "Gold", Commission: pct(1000), HoldDays: ptr(7)})
	if err != nil {
		t.Fatal(err)
	}
	p, err := svc.Create(ctx, "org_1", domain.PartnerSpec{CompanyName: "Acme", ContactName: "Ada", Email: "ada@example.com", TierID: tier.ID})
	if err != nil {
		t.Fatal(err)
	}
	created := c.now

	// No rule of its own: the tier's rule and hold period.
	terms, err := rules.PartnerTerms(ctx, "org_1", p.ID, c.now)
	if err != nil {
		t.Fatal(err)
	}
	if terms.Rule != nil || terms.TierID != tier.ID || terms.TierRule == nil || *terms.TierRule.RateBps != 1000 ||
		terms.HoldDays == nil || *terms.HoldDays != 7 {
		t.Fatalf("terms = %+v", terms)
	}

	// The tier's rule changes an hour later: earlier moments keep version 1.
	c.now = c.now.Add(time.Hour)
	if _, err := svc.UpdateTier(ctx, "org_1", tier.ID, func(s *domain.PartnerTierSpec) error { s.Commission = pct(2000); return nil }); err != nil {
		t.Fatal(err)
	}
	// The partner gets a rule of its own an hour after that.
	c.now = c.now.Add(time.Hour)
	up, err := svc.Update(ctx, "org_1", p.ID, func(s *domain.PartnerSpec) error { s.Commission = ptr(pct(3000)); return nil })
	if err != nil {
		t.Fatal(err)
	}
	if len(up.RuleVersions) != 2 || up.Revision != 1 {
		t.Fatalf("updated partner = %+v", up)
	}

	for _, tc := range []struct {
		at             time.Time
		partner, tierR int64 // 0: no rule
	}{
		{created.Add(-time.Hour), 0, 1000}, // backdated: the first versions
		{created.Add(30 * time.Minute), 0, 1000},
		{created.Add(90 * time.Minute), 0, 2000},
		{created.Add(2 * time.Hour), 3000, 2000},
	} {
		terms, err := rules.PartnerTerms(ctx, "org_1", p.ID, tc.at)
		if err != nil {
			t.Fatal(err)
		}
		gotP := int64(0)
		if terms.Rule != nil {
			gotP = *terms.Rule.RateBps
		}
		if gotP != tc.partner || *terms.TierRule.RateBps != tc.tierR {
			t.Errorf("at %s: partner rule %d, tier rule %d; want %d, %d", tc.at, gotP, *terms.TierRule.RateBps, tc.partner, tc.tierR)
		}
	}

	// Another organization's partner, or an unknown one, brings no terms.
	for _, org := range []string{"org_2", "org_1"} {
		id := p.ID
		if org == "org_1" {
			id = "prt_unknown"
		}
		terms, err := rules.PartnerTerms(ctx, org, id, c.now)
		if err != nil || terms.Rule != nil || terms.TierRule != nil || terms.TierID != "" || terms.HoldDays != nil {
			t.Errorf("PartnerTerms(%s, %s) = %+v, %v; want none", org, id, terms, err)
		}
	}
}

func TestServiceRefusals(t *testing.T) {
	svc, _, _ := setup(t)
	ctx := t.Context()
	tier, err := svc.CreateTier(ctx, "org_1", domain.PartnerTierSpec{Name: "Gold", Commission: pct(1000)})
	if err != nil {
		t.Fatal(err)
	}
	spec := domain.PartnerSpec{CompanyName: "Acme", ContactName: "Ada", Email: "ada@example.com", TierID: tier.ID}
	if _, err := svc.Create(ctx, "org_1", spec); err != nil {
		t.Fatal(err)
	}
	_, err = svc.Create(ctx, "org_1", spec)
	if e, ok := domain.AsError(err); !ok || e.Kind != domain.KindConflict {
		t.Fatalf("duplicate email: %v, want a conflict", err)
	}
	other := spec
	other.Email = "bob@example.com"
	other.TierID = "tir_unknown"
	_, err = svc.Create(ctx, "org_1", other)
	if e, ok := domain.AsError(err); !ok || e.Kind != domain.KindInvalid || len(e.Fields) != 1 || e.Fields[0].Field != "tierId" {
		t.Fatalf("unknown tier: %v", err)
	}
	// The tier exists, but in another organization.
	other.TierID = tier.ID
	_, err = svc.Create(ctx, "org_2", other)
	if e, ok := domain.AsError(err); !ok || e.Kind != domain.KindInvalid {
		t.Fatalf("another organization's tier: %v", err)
	}
	if ok, err := svc.Exists(ctx, "org_2", "prt_x"); ok || err != nil {
		t.Fatalf("Exists(unknown) = %v, %v", ok, err)
	}
	_, err = svc.Get(ctx, "org_2", "prt_x")
	if e, ok := domain.AsError(err); !ok || e.Kind != domain.KindNotFound {
		t.Fatalf("Get(unknown) = %v", err)
	}
	refuse := errors.New("refused")
	if _, err := svc.Update(ctx, "org_1", "prt_x", func(*domain.PartnerSpec) error { return refuse }); err == nil || errors.Is(err, refuse) {
		t.Fatalf("Update(unknown) = %v, want not found before the edit runs", err)
	}
}
