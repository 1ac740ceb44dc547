package commission_test

import (
	"reflect"
	"testing"
	"time"

	"github.com/partnerloop/partnerloop/internal/commission"
	"github.com/partnerloop/partnerloop/internal/domain"
)

// versionedProgram has three rule versions effective at e1, e2 and e3.
func versionedProgram() (p domain.Program, e1, e2, e3 time.Time, r1, r2, r3 domain.CommissionRule) {
	r1 = domain.CommissionRule{Type: domain.RulePercentage, RateBps: i64(1000)}
	r2 = domain.CommissionRule{Type: domain.RulePercentage, RateBps: i64(1500)}
	r3 = tiered(domain.BasisCount, domain.ModeMarginal, docCountTiers()...)
	e1, e2, e3 = t0, t0.Add(24*time.Hour), t0.Add(48*time.Hour)
	p = domain.Program{ID: "prg_1", Commission: r3, RuleVersions: []domain.RuleVersion{
		{Version: 1, EffectiveFrom: e1, Rule: r1},
		{Version: 2, EffectiveFrom: e2, Rule: r2},
		{Version: 3, EffectiveFrom: e3, Rule: r3},
	}}
	return
}

func TestSelectPrecedence(t *testing.T) {
	program, _, _, _, programRule, _, _ := versionedProgram()
	partnerRule := domain.CommissionRule{Type: domain.RuleFlat, Amount: i64(5000)}
	tierRule := tiered(domain.BasisRevenue, "", docRevenueTiers()...) // mode left empty
	tierNormalized := tierRule.Normalize()
	empty := domain.CommissionRule{}
	at := t0.Add(time.Hour)

	tests := []struct {
		name          string
		partner, tier *domain.CommissionRule
		forDeal       bool
		want          domain.CommissionRule
		wantSrc       string
		wantOK        bool
	}{
		{"partner beats tier and program", &partnerRule, &tierRule, false, partnerRule, commission.SourcePartner, true},
		{"partner rule for a deal", &partnerRule, nil, true, partnerRule, commission.SourcePartner, true},
		{"tier beats program (normalized to marginal)", nil, &tierRule, false, tierNormalized, commission.SourceTier, true},
		{"tier rule for a deal", nil, &tierRule, true, tierNormalized, commission.SourceTier, true},
		{"program rule for a conversion", nil, nil, false, programRule, commission.SourceProgram, true},
		{"a deal never uses the program's rule", nil, nil, true, domain.CommissionRule{}, "", false},
		{"an empty partner rule counts as none", &empty, &tierRule, false, tierNormalized, commission.SourceTier, true},
		{"empty partner and tier rules: program", &empty, &empty, false, programRule, commission.SourceProgram, true},
		{"empty rules and a deal: nothing", &empty, &empty, true, domain.CommissionRule{}, "", false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, src, ok := commission.Select(tt.partner, tt.tier, program, tt.forDeal, at)
			if !reflect.DeepEqual(got, tt.want) || src != tt.wantSrc || ok != tt.wantOK {
				t.Errorf("Select = %+v, %q, %v; want %+v, %q, %v", got, src, ok, tt.want, tt.wantSrc, tt.wantOK)
			}
		})
	}
	t.Run("a program without any rule earns nothing", func(t *testing.T) {
		if _, _, ok := commission.Select(nil, nil, domain.Program{}, false, at); ok {
			t.Error("ok = true")
		}
	})
}

func TestSelectUsesTheRuleInForceWhenTheConversionOccurred(t *testing.T) {
	p, e1, e2, e3, r1, r2, r3 := versionedProgram()
	r3n := r3.Normalize()
	tests := []struct {
		name        string
		at          time.Time
		want        domain.CommissionRule
		wantVersion int
	}{
		{"backdated before the first version", e1.AddDate(0, -1, 0), r1, 1},
		{"exactly at the first", e1, r1, 1},
		{"one ns before the second", e2.Add(-time.Nanosecond), r1, 1},
		{"exactly at the second", e2, r2, 2},
		{"between second and third", e2.Add(time.Hour), r2, 2},
		{"exactly at the third", e3, r3n, 3},
		{"long after", e3.AddDate(1, 0, 0), r3n, 3},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, src, ok := commission.Select(nil, nil, p, false, tt.at)
			if !ok || src != commission.SourceProgram || !reflect.DeepEqual(got, tt.want) {
				t.Errorf("Select = %+v, %q, %v; want %+v", got, src, ok, tt.want)
			}
			v, ok := commission.VersionAt(p.RuleVersions, tt.at)
			if !ok || v.Version != tt.wantVersion {
				t.Errorf("VersionAt = %d, %v; want %d", v.Version, ok, tt.wantVersion)
			}
			if !reflect.DeepEqual(v.Rule, p.RuleAt(tt.at)) {
				t.Errorf("VersionAt's rule %+v differs from RuleAt's %+v", v.Rule, p.RuleAt(tt.at))
			}
		})
	}
	t.Run("editing a rule does not change the rule of an earlier conversion", func(t *testing.T) {
		s := domain.ProgramSpec{Commission: r1}
		q := domain.NewProgram("org_1", "prg_2", s, e1)
		q.Status = domain.ProgramActive
		s = q.Spec()
		s.Commission = r2
		q, err := q.Update(s, e3)
		if err != nil {
			t.Fatal(err)
		}
		if got, _, _ := commission.Select(nil, nil, q, false, e2); !reflect.DeepEqual(got, r1) {
			t.Errorf("conversion before the edit priced by %+v, want %+v", got, r1)
		}
		if got, _, _ := commission.Select(nil, nil, q, false, e3); !reflect.DeepEqual(got, r2) {
			t.Errorf("conversion after the edit priced by %+v, want %+v", got, r2)
		}
	})
	t.Run("no versions", func(t *testing.T) {
		if _, ok := commission.VersionAt(nil, e1); ok {
			t.Error("ok = true")
		}
	})
}
