package domain

import (
	"net/url"
	"strings"
	"time"
)

// ProgramStatus is where a program is in its life.
type ProgramStatus string

const (
	ProgramDraft    ProgramStatus = "draft"
	ProgramActive   ProgramStatus = "active"
	ProgramPaused   ProgramStatus = "paused"
	ProgramArchived ProgramStatus = "archived"
)

// Qualifying events a program may count.
const (
	EventSignup   = "signup"
	EventPurchase = "purchase"
	// EventRenewal is a later payment of a customer already referred (a
	// subscription invoice after the first). It is not a qualifying event
	// a program lists: whether it earns is the rule's Recurring setting.
	EventRenewal = "renewal"
)

// Limits on program settings, generous but finite.
const (
	MaxAttributionWindowDays = 365
	MaxHoldDays              = 365
)

// Eligibility says who may be referred.
type Eligibility struct {
	NewCustomersOnly  bool   `json:"newCustomersOnly"`
	AllowSelfReferral bool   `json:"allowSelfReferral"`
	MinPurchaseAmount *int64 `json:"minPurchaseAmount,omitempty"`
}

// Program is a referral program of one organization.
type Program struct {
	ID                    string         `json:"id"`
	OrgID                 string         `json:"organizationId"`
	Name                  string         `json:"name"`
	Status                ProgramStatus  `json:"status"`
	LandingURL            string         `json:"landingUrl"`
	Currency              string         `json:"currency"`
	StartsAt              time.Time      `json:"startsAt"`
	EndsAt                *time.Time     `json:"endsAt"`
	AttributionWindowDays int            `json:"attributionWindowDays"`
	QualifyingEvents      []string       `json:"qualifyingEvents"`
	Eligibility           Eligibility    `json:"eligibility"`
	Commission            CommissionRule `json:"commission"`
	RuleVersions          []RuleVersion  `json:"ruleVersions"`
	HoldDays              int            `json:"holdDays"`
	CreatedAt             time.Time      `json:"createdAt"`
	UpdatedAt             time.Time      `json:"updatedAt"`
	// Revision counts stored updates; stores use it for optimistic locking.
	Revision int64 `json:"revision"`
}

// ProgramSpec is every setting of a program a user may give.
type ProgramSpec struct {
	Name                  string
	LandingURL            string
	Currency              string
	StartsAt              time.Time
	EndsAt                *time.Time
	AttributionWindowDays int
	QualifyingEvents      []string
	Eligibility           Eligibility
	Commission            CommissionRule
	HoldDays              int
}

// Validate reports every invalid setting.
func (s ProgramSpec) Validate() error {
	var v Validation
	name := strings.TrimSpace(s.Name)
	v.Check(name != "", "name", "is required")
	v.Check(len(name) <= 200, "name", "must be at most 200 characters")
	v.Check(ValidLandingURL(s.LandingURL), "landingUrl", "must be an absolute http(s) URL")
	v.Check(ValidCurrency(s.Currency), "currency", "must be an ISO 4217 code such as USD")
	v.Check(!s.StartsAt.IsZero(), "startsAt", "is required (RFC 3339)")
	if s.EndsAt != nil {
		v.Check(s.EndsAt.After(s.StartsAt), "endsAt", "must be after startsAt")
	}
	v.Check(s.AttributionWindowDays >= 1 && s.AttributionWindowDays <= MaxAttributionWindowDays,
		"attributionWindowDays", "must be between 1 and %d", MaxAttributionWindowDays)
	if len(s.QualifyingEvents) == 0 {
		v.Add("qualifyingEvents", "at least one of signup, purchase is required")
	}
	seen := map[string]bool{}
	for _, e := range s.QualifyingEvents {
		v.Check(e == EventSignup || e == EventPurchase, "qualifyingEvents", "%q is not signup or purchase", e)
		v.Check(!seen[e], "qualifyingEvents", "%q is listed twice", e)
		seen[e] = true
	}
	if m := s.Eligibility.MinPurchaseAmount; m != nil {
		v.CheckAmount(*m, "eligibility.minPurchaseAmount", false)
	}
	s.Commission.Validate(&v, "commission")
	v.Check(s.HoldDays >= 0 && s.HoldDays <= MaxHoldDays, "holdDays", "must be between 0 and %d", MaxHoldDays)
	return v.Err()
}

// ValidLandingURL accepts absolute http and https URLs with a host and no
// credentials; it is where every redirect of the program goes.
func ValidLandingURL(s string) bool {
	if len(s) > 2048 {
		return false
	}
	u, err := url.Parse(s)
	if err != nil || u.Host == "" || u.User != nil {
		return false
	}
	return u.Scheme == "http" || u.Scheme == "https"
}

// NewProgram creates a draft program from a validated spec.
func NewProgram(orgID, id string, s ProgramSpec, now time.Time) Program {
	rule := s.Commission.Normalize()
	p := Program{
		ID: id, OrgID: orgID, Status: ProgramDraft, CreatedAt: now, UpdatedAt: now,
		RuleVersions: []RuleVersion{{Version: 1, EffectiveFrom: now, Rule: rule}},
	}
	p.apply(s)
	return p
}

// Spec returns the program's current settings, for read-modify-write edits.
func (p Program) Spec() ProgramSpec {
	return ProgramSpec{
		Name: p.Name, LandingURL: p.LandingURL, Currency: p.Currency, StartsAt: p.StartsAt,
		EndsAt: p.EndsAt, AttributionWindowDays: p.AttributionWindowDays,
		QualifyingEvents: p.QualifyingEvents, Eligibility: p.Eligibility,
		Commission: p.Commission, HoldDays: p.HoldDays,
	}
}

// Update applies new settings. A changed commission rule becomes a new
// version effective from now; earlier versions stay for earlier conversions.
// The currency cannot change once the program has left draft, because
// amounts already recorded are in the old currency.
func (p Program) Update(s ProgramSpec, now time.Time) (Program, error) {
	if s.Currency != p.Currency && p.Status != ProgramDraft {
		return p, &Error{Kind: KindInvalid, Code: "validation_failed", Message: "the request has invalid fields",
			Fields: []FieldError{{Field: "currency", Message: "cannot change after the program has been activated"}}}
	}
	rule := s.Commission.Normalize()
	if !rulesEqual(rule, p.Commission) {
		n := len(p.RuleVersions) + 1
		p.RuleVersions = append(append([]RuleVersion(nil), p.RuleVersions...),
			RuleVersion{Version: n, EffectiveFrom: now, Rule: rule})
	}
	p.apply(s)
	p.UpdatedAt = now
	return p, nil
}

func (p *Program) apply(s ProgramSpec) {
	p.Name = strings.TrimSpace(s.Name)
	p.LandingURL = s.LandingURL
	p.Currency = s.Currency
	p.StartsAt = s.StartsAt.UTC()
	if s.EndsAt != nil {
		e := s.EndsAt.UTC()
		p.EndsAt = &e
	} else {
		p.EndsAt = nil
	}
	p.AttributionWindowDays = s.AttributionWindowDays
	p.QualifyingEvents = append([]string(nil), s.QualifyingEvents...)
	p.Eligibility = s.Eligibility
	p.Commission = s.Commission.Normalize()
	p.HoldDays = s.HoldDays
}

// RuleAt returns the commission rule in force at t. A conversion that
// occurred before the first version (backdated) uses the first version.
func (p Program) RuleAt(t time.Time) CommissionRule {
	if len(p.RuleVersions) == 0 {
		return p.Commission
	}
	rule := p.RuleVersions[0].Rule
	for _, rv := range p.RuleVersions[1:] {
		if !rv.EffectiveFrom.After(t) {
			rule = rv.Rule
		}
	}
	return rule
}

// Transition moves the program to status to, or says why it cannot.
func (p Program) Transition(to ProgramStatus, now time.Time) (Program, error) {
	allowed := map[ProgramStatus][]ProgramStatus{
		ProgramActive:   {ProgramDraft, ProgramPaused},
		ProgramPaused:   {ProgramActive},
		ProgramArchived: {ProgramDraft, ProgramActive, ProgramPaused},
	}
	ok := false
	for _, from := range allowed[to] {
		ok = ok || p.Status == from
	}
	if !ok {
		return p, Errorf(KindConflict, "invalid_transition", "a %s program cannot become %s", p.Status, to)
	}
	if to == ProgramActive && p.EndsAt != nil && !now.Before(*p.EndsAt) {
		return p, Errorf(KindInvalid, "program_ended", "the program ended at %s; extend endsAt before activating it", p.EndsAt.Format(time.RFC3339))
	}
	p.Status = to
	p.UpdatedAt = now
	return p, nil
}

// Live reports whether the program accepts clicks, referrals and new
// referrers at t: it is active and t is inside its date range.
func (p Program) Live(t time.Time) bool {
	return p.Status == ProgramActive && !t.Before(p.StartsAt) && (p.EndsAt == nil || t.Before(*p.EndsAt))
}

// NotLiveError explains why a program does not accept traffic at t.
func (p Program) NotLiveError(t time.Time) error {
	switch {
	case p.Status != ProgramActive:
		return Errorf(KindInvalid, "program_not_active", "the program is %s", p.Status)
	case t.Before(p.StartsAt):
		return Errorf(KindInvalid, "program_not_started", "the program starts at %s", p.StartsAt.Format(time.RFC3339))
	case p.EndsAt != nil && !t.Before(*p.EndsAt):
		return Errorf(KindInvalid, "program_ended", "the program ended at %s", p.EndsAt.Format(time.RFC3339))
	}
	return nil
}

// Qualifies reports whether event is one the program counts.
func (p Program) Qualifies(event string) bool {
	for _, e := range p.QualifyingEvents {
		if e == event {
			return true
		}
	}
	return false
}

func rulesEqual(a, b CommissionRule) bool {
	eq := func(x, y *int64) bool { return (x == nil) == (y == nil) && (x == nil || *x == *y) }
	if a.Type != b.Type || a.Basis != b.Basis || a.Period != b.Period || a.Mode != b.Mode ||
		!eq(a.Amount, b.Amount) || !eq(a.RateBps, b.RateBps) || len(a.Tiers) != len(b.Tiers) {
		return false
	}
	if (a.Recurring == nil) != (b.Recurring == nil) ||
		(a.Recurring != nil && !eqInt(a.Recurring.Months, b.Recurring.Months)) {
		return false
	}
	for i := range a.Tiers {
		if !eq(a.Tiers[i].UpTo, b.Tiers[i].UpTo) || !eq(a.Tiers[i].RateBps, b.Tiers[i].RateBps) || !eq(a.Tiers[i].Amount, b.Tiers[i].Amount) {
			return false
		}
	}
	return true
}

func eqInt(x, y *int) bool { return (x == nil) == (y == nil) && (x == nil || *x == *y) }
