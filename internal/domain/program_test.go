package domain_test

import (
	"reflect"
	"strings"
	"testing"
	"time"

	"github.com/partnerloop/partnerloop/internal/domain"
)

var (
	t0 = time.Date(2026, 3, 1, 0, 0, 0, 0, time.UTC)
	t1 = t0.AddDate(0, 3, 0)
)

func validSpec() domain.ProgramSpec {
	end := t1
	return domain.ProgramSpec{
		Name:                  "Spring referrals",
		LandingURL:            "https://example.com/signup?utm_source=partner",
		Currency:              "USD",
		StartsAt:              t0,
		EndsAt:                &end,
		AttributionWindowDays: 30,
		QualifyingEvents:      []string{"signup", "purchase"},
		Eligibility:           domain.Eligibility{NewCustomersOnly: true, MinPurchaseAmount: i64(1000)},
		Commission:            domain.CommissionRule{Type: "percentage", RateBps: i64(1000)},
		HoldDays:              30,
	}
}

func TestProgramSpecValidate(t *testing.T) {
	before := t0.Add(-time.Second)
	same := t0
	after := t0.Add(time.Second)
	tests := []struct {
		name string
		edit func(*domain.ProgramSpec)
		want []string // nil: valid
	}{
		{"valid", func(*domain.ProgramSpec) {}, nil},
		{"valid minimal", func(s *domain.ProgramSpec) {
			s.EndsAt = nil
			s.QualifyingEvents = []string{"purchase"}
			s.Eligibility = domain.Eligibility{}
			s.HoldDays = 0
		}, nil},

		{"name missing", func(s *domain.ProgramSpec) { s.Name = "" }, []string{"name"}},
		{"name blank", func(s *domain.ProgramSpec) { s.Name = "  \t " }, []string{"name"}},
		{"name 200 characters", func(s *domain.ProgramSpec) { s.Name = strings.Repeat("n", 200) }, nil},
		{"name 201 characters", func(s *domain.ProgramSpec) { s.Name = strings.Repeat("n", 201) }, []string{"name"}},

		{"landing http", func(s *domain.ProgramSpec) { s.LandingURL = "http://example.com" }, nil},
		{"landing with port path query fragment", func(s *domain.ProgramSpec) { s.LandingURL = "https://example.com:8443/a/b?x=1#top" }, nil},
		{"landing missing", func(s *domain.ProgramSpec) { s.LandingURL = "" }, []string{"landingUrl"}},
		{"landing relative path", func(s *domain.ProgramSpec) { s.LandingURL = "/signup" }, []string{"landingUrl"}},
		{"landing scheme-relative", func(s *domain.ProgramSpec) { s.LandingURL = "//example.com/signup" }, []string{"landingUrl"}},
		{"landing host without scheme", func(s *domain.ProgramSpec) { s.LandingURL = "example.com/signup" }, []string{"landingUrl"}},
		{"landing javascript:", func(s *domain.ProgramSpec) { s.LandingURL = "javascript:alert(document.cookie)" }, []string{"landingUrl"}},
		{"landing JavaScript: mixed case", func(s *domain.ProgramSpec) { s.LandingURL = "JavaScript://example.com/%0aalert(1)" }, []string{"landingUrl"}},
		{"landing data:", func(s *domain.ProgramSpec) { s.LandingURL = "data:text/html,<script>alert(1)</script>" }, []string{"landingUrl"}},
		{"landing ftp", func(s *domain.ProgramSpec) { s.LandingURL = "ftp://example.com/file" }, []string{"landingUrl"}},
		{"landing credentials user:pw@", func(s *domain.ProgramSpec) { s.LandingURL = "https://user:pw@example.com/" }, []string{"landingUrl"}},
		{"landing user@ only", func(s *domain.ProgramSpec) { s.LandingURL = "https://evil.com@example.com/" }, []string{"landingUrl"}},
		{"landing http without host", func(s *domain.ProgramSpec) { s.LandingURL = "http:///path" }, []string{"landingUrl"}},
		{"landing too long", func(s *domain.ProgramSpec) { s.LandingURL = "https://example.com/" + strings.Repeat("a", 2048) }, []string{"landingUrl"}},

		{"currency lower case", func(s *domain.ProgramSpec) { s.Currency = "usd" }, []string{"currency"}},
		{"currency missing", func(s *domain.ProgramSpec) { s.Currency = "" }, []string{"currency"}},
		{"currency too long", func(s *domain.ProgramSpec) { s.Currency = "USDT" }, []string{"currency"}},
		{"currency three decimals", func(s *domain.ProgramSpec) { s.Currency = "KWD" }, nil},

		{"startsAt missing", func(s *domain.ProgramSpec) { s.StartsAt = time.Time{}; s.EndsAt = nil }, []string{"startsAt"}},
		{"endsAt before startsAt", func(s *domain.ProgramSpec) { s.EndsAt = &before }, []string{"endsAt"}},
		{"endsAt equal to startsAt", func(s *domain.ProgramSpec) { s.EndsAt = &same }, []string{"endsAt"}},
		{"endsAt one second after startsAt", func(s *domain.ProgramSpec) { s.EndsAt = &after }, nil},

		{"attribution window 0", func(s *domain.ProgramSpec) { s.AttributionWindowDays = 0 }, []string{"attributionWindowDays"}},
		{"attribution window negative", func(s *domain.ProgramSpec) { s.AttributionWindowDays = -1 }, []string{"attributionWindowDays"}},
		{"attribution window 1", func(s *domain.ProgramSpec) { s.AttributionWindowDays = 1 }, nil},
		{"attribution window 365", func(s *domain.ProgramSpec) { s.AttributionWindowDays = 365 }, nil},
		{"attribution window 366", func(s *domain.ProgramSpec) { s.AttributionWindowDays = 366 }, []string{"attributionWindowDays"}},

		{"events missing", func(s *domain.ProgramSpec) { s.QualifyingEvents = nil }, []string{"qualifyingEvents"}},
		{"events empty", func(s *domain.ProgramSpec) { s.QualifyingEvents = []string{} }, []string{"qualifyingEvents"}},
		{"events duplicate", func(s *domain.ProgramSpec) { s.QualifyingEvents = []string{"signup", "signup"} }, []string{"qualifyingEvents"}},
		{"events unknown", func(s *domain.ProgramSpec) { s.QualifyingEvents = []string{"signup", "click"} }, []string{"qualifyingEvents"}},
		{"events case-sensitive", func(s *domain.ProgramSpec) { s.QualifyingEvents = []string{"Purchase"} }, []string{"qualifyingEvents"}},

		{"min purchase zero", func(s *domain.ProgramSpec) { s.Eligibility.MinPurchaseAmount = i64(0) }, nil},
		{"min purchase negative", func(s *domain.ProgramSpec) { s.Eligibility.MinPurchaseAmount = i64(-1) }, []string{"eligibility.minPurchaseAmount"}},

		{"commission missing", func(s *domain.ProgramSpec) { s.Commission = domain.CommissionRule{} }, []string{"commission.type"}},
		{"commission invalid tier", func(s *domain.ProgramSpec) {
			s.Commission = domain.CommissionRule{Type: "tiered", Basis: "count", Period: "month",
				Tiers: []domain.Tier{tier(i64(10), i64(100), nil), tier(i64(20), i64(200), nil)}}
		}, []string{"commission.tiers[1].upTo"}},

		{"hold days 0", func(s *domain.ProgramSpec) { s.HoldDays = 0 }, nil},
		{"hold days 365", func(s *domain.ProgramSpec) { s.HoldDays = 365 }, nil},
		{"hold days 366", func(s *domain.ProgramSpec) { s.HoldDays = 366 }, []string{"holdDays"}},
		{"hold days negative", func(s *domain.ProgramSpec) { s.HoldDays = -1 }, []string{"holdDays"}},

		{"several problems at once", func(s *domain.ProgramSpec) {
			s.Name = ""
			s.LandingURL = "javascript:alert(1)"
			s.HoldDays = -1
		}, []string{"holdDays", "landingUrl", "name"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			s := validSpec()
			tt.edit(&s)
			got := errFields(t, s.Validate())
			// One problem may be reported once per offending entry (e.g.
			// qualifyingEvents); compare the distinct paths.
			got = distinct(got)
			if !reflect.DeepEqual(got, tt.want) {
				t.Errorf("Validate reported fields %v, want %v", got, tt.want)
			}
		})
	}
}

func distinct(sorted []string) []string {
	var out []string
	for i, s := range sorted {
		if i == 0 || s != sorted[i-1] {
			out = append(out, s)
		}
	}
	return out
}

func TestNewProgram(t *testing.T) {
	s := validSpec()
	s.Name = "  Spring  "
	s.Commission = domain.CommissionRule{Type: "tiered", Basis: "count", Period: "month",
		Tiers: []domain.Tier{tier(nil, i64(1000), nil)}}
	now := t0.Add(-24 * time.Hour)
	p := domain.NewProgram("org_1", "prg_1", s, now)
	if p.Status != domain.ProgramDraft {
		t.Errorf("status = %q, want draft", p.Status)
	}
	if p.Name != "Spring" {
		t.Errorf("name = %q, want it trimmed to %q", p.Name, "Spring")
	}
	if p.Commission.Mode != domain.ModeMarginal {
		t.Errorf("commission mode = %q, want marginal by default", p.Commission.Mode)
	}
	if len(p.RuleVersions) != 1 || p.RuleVersions[0].Version != 1 || !p.RuleVersions[0].EffectiveFrom.Equal(now) ||
		!reflect.DeepEqual(p.RuleVersions[0].Rule, p.Commission) {
		t.Errorf("rule versions = %+v, want one version 1 effective from %v with the program's rule", p.RuleVersions, now)
	}
}

var allStatuses = []domain.ProgramStatus{domain.ProgramDraft, domain.ProgramActive, domain.ProgramPaused, domain.ProgramArchived}

func TestProgramTransitionMatrix(t *testing.T) {
	allowed := map[[2]domain.ProgramStatus]bool{
		{domain.ProgramDraft, domain.ProgramActive}:    true,
		{domain.ProgramPaused, domain.ProgramActive}:   true,
		{domain.ProgramActive, domain.ProgramPaused}:   true,
		{domain.ProgramDraft, domain.ProgramArchived}:  true,
		{domain.ProgramActive, domain.ProgramArchived}: true,
		{domain.ProgramPaused, domain.ProgramArchived}: true,
	}
	now := t0.Add(time.Hour)
	for _, from := range allStatuses {
		for _, to := range allStatuses {
			t.Run(string(from)+"→"+string(to), func(t *testing.T) {
				p := domain.NewProgram("org_1", "prg_1", validSpec(), t0.Add(-time.Hour))
				p.Status = from
				got, err := p.Transition(to, now)
				if allowed[[2]domain.ProgramStatus{from, to}] {
					if err != nil {
						t.Fatalf("Transition: %v, want success", err)
					}
					if got.Status != to {
						t.Errorf("status = %q, want %q", got.Status, to)
					}
					if !got.UpdatedAt.Equal(now) {
						t.Errorf("updatedAt = %v, want %v", got.UpdatedAt, now)
					}
					return
				}
				e, ok := domain.AsError(err)
				if !ok {
					t.Fatalf("Transition err = %v, want a *domain.Error", err)
				}
				if e.Kind != domain.KindConflict || e.Code != "invalid_transition" {
					t.Errorf("err kind/code = %v/%q, want KindConflict/invalid_transition", e.Kind, e.Code)
				}
				if got.Status != from {
					t.Errorf("status after refused transition = %q, want unchanged %q", got.Status, from)
				}
			})
		}
	}
}

func TestProgramActivateAfterEnd(t *testing.T) {
	tests := []struct {
		name     string
		from     domain.ProgramStatus
		now      time.Time
		wantKind domain.Kind
		wantCode string
	}{
		{"draft, before start (scheduled)", domain.ProgramDraft, t0.Add(-time.Hour), 0, ""},
		{"draft, one second before end", domain.ProgramDraft, t1.Add(-time.Second), 0, ""},
		{"draft, exactly at end", domain.ProgramDraft, t1, domain.KindInvalid, "program_ended"},
		{"draft, after end", domain.ProgramDraft, t1.Add(time.Hour), domain.KindInvalid, "program_ended"},
		{"paused, after end", domain.ProgramPaused, t1.Add(time.Hour), domain.KindInvalid, "program_ended"},
		{"archived, after end is still an invalid transition", domain.ProgramArchived, t1.Add(time.Hour), domain.KindConflict, "invalid_transition"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			p := domain.NewProgram("org_1", "prg_1", validSpec(), t0.Add(-48*time.Hour))
			p.Status = tt.from
			got, err := p.Transition(domain.ProgramActive, tt.now)
			if tt.wantCode == "" {
				if err != nil || got.Status != domain.ProgramActive {
					t.Fatalf("Transition = %q, %v; want active", got.Status, err)
				}
				return
			}
			e, ok := domain.AsError(err)
			if !ok || e.Kind != tt.wantKind || e.Code != tt.wantCode {
				t.Fatalf("Transition err = %#v, want kind %v code %q", err, tt.wantKind, tt.wantCode)
			}
			if got.Status != tt.from {
				t.Errorf("status = %q, want unchanged %q", got.Status, tt.from)
			}
		})
	}
	t.Run("no end date", func(t *testing.T) {
		s := validSpec()
		s.EndsAt = nil
		p := domain.NewProgram("org_1", "prg_1", s, t0)
		if _, err := p.Transition(domain.ProgramActive, t0.AddDate(10, 0, 0)); err != nil {
			t.Fatalf("Transition: %v, want success for a program without endsAt", err)
		}
	})
	t.Run("pausing after end is allowed", func(t *testing.T) {
		p := domain.NewProgram("org_1", "prg_1", validSpec(), t0)
		p.Status = domain.ProgramActive
		if _, err := p.Transition(domain.ProgramPaused, t1.Add(time.Hour)); err != nil {
			t.Fatalf("Transition: %v", err)
		}
	})
}

func TestProgramLive(t *testing.T) {
	tests := []struct {
		name     string
		status   domain.ProgramStatus
		noEnd    bool
		at       time.Time
		want     bool
		wantCode string
	}{
		{"active, before start", domain.ProgramActive, false, t0.Add(-time.Nanosecond), false, "program_not_started"},
		{"active, exactly at start", domain.ProgramActive, false, t0, true, ""},
		{"active, inside range", domain.ProgramActive, false, t0.Add(24 * time.Hour), true, ""},
		{"active, just before end", domain.ProgramActive, false, t1.Add(-time.Nanosecond), true, ""},
		{"active, exactly at end", domain.ProgramActive, false, t1, false, "program_ended"},
		{"active, after end", domain.ProgramActive, false, t1.Add(time.Hour), false, "program_ended"},
		{"active, no end, far future", domain.ProgramActive, true, t0.AddDate(50, 0, 0), true, ""},
		{"draft, inside range", domain.ProgramDraft, false, t0.Add(time.Hour), false, "program_not_active"},
		{"paused, inside range", domain.ProgramPaused, false, t0.Add(time.Hour), false, "program_not_active"},
		{"archived, inside range", domain.ProgramArchived, false, t0.Add(time.Hour), false, "program_not_active"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			s := validSpec()
			if tt.noEnd {
				s.EndsAt = nil
			}
			p := domain.NewProgram("org_1", "prg_1", s, t0.Add(-time.Hour))
			p.Status = tt.status
			if got := p.Live(tt.at); got != tt.want {
				t.Errorf("Live(%v) = %v, want %v", tt.at, got, tt.want)
			}
			err := p.NotLiveError(tt.at)
			if tt.wantCode == "" {
				if err != nil {
					t.Errorf("NotLiveError = %v, want nil", err)
				}
				return
			}
			if e, ok := domain.AsError(err); !ok || e.Code != tt.wantCode || e.Kind != domain.KindInvalid {
				t.Errorf("NotLiveError = %#v, want KindInvalid %q", err, tt.wantCode)
			}
		})
	}
}

func TestProgramUpdateRuleVersions(t *testing.T) {
	created := t0.Add(-time.Hour)
	edit1 := t0.Add(24 * time.Hour)
	edit2 := t0.Add(48 * time.Hour)
	rule1 := domain.CommissionRule{Type: "percentage", RateBps: i64(1000)}
	rule2 := domain.CommissionRule{Type: "flat", Amount: i64(2500)}

	p := domain.NewProgram("org_1", "prg_1", validSpec(), created)
	p.Status = domain.ProgramActive

	// Same rule (a fresh copy, not the same pointers), other settings changed:
	// no new version.
	s := p.Spec()
	s.Name = "Renamed"
	s.Commission = domain.CommissionRule{Type: "percentage", RateBps: i64(1000)}
	p, err := p.Update(s, edit1)
	if err != nil {
		t.Fatalf("Update: %v", err)
	}
	if p.Name != "Renamed" || !p.UpdatedAt.Equal(edit1) {
		t.Errorf("name/updatedAt = %q/%v, want Renamed/%v", p.Name, p.UpdatedAt, edit1)
	}
	if len(p.RuleVersions) != 1 {
		t.Fatalf("after an edit without rule change: %d rule versions, want 1", len(p.RuleVersions))
	}

	// Changed rule: a new version from now, the old one kept.
	s = p.Spec()
	s.Commission = rule2
	old := p
	p, err = p.Update(s, edit2)
	if err != nil {
		t.Fatalf("Update: %v", err)
	}
	if len(p.RuleVersions) != 2 {
		t.Fatalf("after a rule change: %d rule versions, want 2", len(p.RuleVersions))
	}
	v1, v2 := p.RuleVersions[0], p.RuleVersions[1]
	if v1.Version != 1 || !v1.EffectiveFrom.Equal(created) || !reflect.DeepEqual(v1.Rule, rule1) {
		t.Errorf("version 1 = %+v, want the original rule from %v", v1, created)
	}
	if v2.Version != 2 || !v2.EffectiveFrom.Equal(edit2) || !reflect.DeepEqual(v2.Rule, rule2) {
		t.Errorf("version 2 = %+v, want the new rule from %v", v2, edit2)
	}
	if !reflect.DeepEqual(p.Commission, rule2) {
		t.Errorf("current commission = %+v, want %+v", p.Commission, rule2)
	}
	if len(old.RuleVersions) != 1 {
		t.Errorf("Update modified the receiver's rule versions: %+v", old.RuleVersions)
	}
}

func TestProgramUpdateNormalizedRuleIsUnchanged(t *testing.T) {
	s := validSpec()
	s.Commission = domain.CommissionRule{Type: "tiered", Basis: "count", Period: "month",
		Tiers: []domain.Tier{tier(i64(10), i64(1000), nil), tier(nil, i64(2000), nil)}}
	p := domain.NewProgram("org_1", "prg_1", s, t0)
	// The same rule with the default mode written out is not a change.
	s.Commission.Mode = domain.ModeMarginal
	p, err := p.Update(s, t0.Add(time.Hour))
	if err != nil {
		t.Fatal(err)
	}
	if len(p.RuleVersions) != 1 {
		t.Errorf("%d rule versions, want 1: spelling out the default mode is not a rule change", len(p.RuleVersions))
	}
	// Changing one tier's rate is.
	s.Commission.Tiers = []domain.Tier{tier(i64(10), i64(1000), nil), tier(nil, i64(2500), nil)}
	p, err = p.Update(s, t0.Add(2*time.Hour))
	if err != nil {
		t.Fatal(err)
	}
	if len(p.RuleVersions) != 2 {
		t.Errorf("%d rule versions, want 2 after changing a tier's rate", len(p.RuleVersions))
	}
}

func TestProgramUpdateCurrency(t *testing.T) {
	for _, st := range allStatuses {
		t.Run(string(st), func(t *testing.T) {
			p := domain.NewProgram("org_1", "prg_1", validSpec(), t0)
			p.Status = st
			s := p.Spec()
			s.Currency = "EUR"
			got, err := p.Update(s, t0.Add(time.Hour))
			if st == domain.ProgramDraft {
				if err != nil || got.Currency != "EUR" {
					t.Fatalf("Update in draft = %q, %v; want EUR, nil", got.Currency, err)
				}
				return
			}
			if f := errFields(t, err); !reflect.DeepEqual(f, []string{"currency"}) {
				t.Fatalf("Update after draft reported %v, want [currency]", f)
			}
			if got.Currency != "USD" {
				t.Errorf("currency = %q, want unchanged USD", got.Currency)
			}
			// Keeping the currency is fine.
			s.Currency = "USD"
			if _, err := p.Update(s, t0.Add(time.Hour)); err != nil {
				t.Errorf("Update with the same currency: %v", err)
			}
		})
	}
}

func TestProgramRuleAt(t *testing.T) {
	r1 := domain.CommissionRule{Type: "percentage", RateBps: i64(1000)}
	r2 := domain.CommissionRule{Type: "percentage", RateBps: i64(1500)}
	r3 := domain.CommissionRule{Type: "flat", Amount: i64(500)}
	e1, e2, e3 := t0, t0.Add(24*time.Hour), t0.Add(48*time.Hour)

	s := validSpec()
	s.Commission = r1
	p := domain.NewProgram("org_1", "prg_1", s, e1)
	p.Status = domain.ProgramActive
	var err error
	for _, step := range []struct {
		r  domain.CommissionRule
		at time.Time
	}{{r2, e2}, {r3, e3}} {
		s = p.Spec()
		s.Commission = step.r
		if p, err = p.Update(s, step.at); err != nil {
			t.Fatal(err)
		}
	}
	if len(p.RuleVersions) != 3 {
		t.Fatalf("%d rule versions, want 3", len(p.RuleVersions))
	}

	tests := []struct {
		name string
		at   time.Time
		want domain.CommissionRule
	}{
		{"before the first version (backdated)", e1.AddDate(0, -1, 0), r1},
		{"exactly at the first version", e1, r1},
		{"between first and second", e2.Add(-time.Nanosecond), r1},
		{"exactly at the second", e2, r2},
		{"between second and third", e2.Add(time.Hour), r2},
		{"exactly at the third", e3, r3},
		{"long after", e3.AddDate(1, 0, 0), r3},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := p.RuleAt(tt.at); !reflect.DeepEqual(got, tt.want) {
				t.Errorf("RuleAt(%v) = %+v, want %+v", tt.at, got, tt.want)
			}
		})
	}
	t.Run("no versions falls back to the current rule", func(t *testing.T) {
		q := p
		q.RuleVersions = nil
		if got := q.RuleAt(e1); !reflect.DeepEqual(got, r3) {
			t.Errorf("RuleAt = %+v, want %+v", got, r3)
		}
	})
}
