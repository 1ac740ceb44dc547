package domain

import (
	"strconv"
	"strings"
	"time"
)

// MaxPartnerNameLength bounds the names of partners, tiers and agreements.
const MaxPartnerNameLength = 200

// PartnerTier groups partners under one commission rule and hold period.
// Like a program's, the tier's rule is versioned: a changed rule becomes a
// new version effective from the change.
type PartnerTier struct {
	ID           string         `json:"id"`
	OrgID        string         `json:"organizationId"`
	Name         string         `json:"name"`
	Commission   CommissionRule `json:"commission"`
	RuleVersions []RuleVersion  `json:"ruleVersions"`
	// HoldDays replaces the program's hold period for the tier's partners;
	// nil keeps the program's.
	HoldDays  *int      `json:"holdDays"`
	CreatedAt time.Time `json:"createdAt"`
	UpdatedAt time.Time `json:"updatedAt"`
	// Revision counts stored updates; stores use it for optimistic locking.
	Revision int64 `json:"revision"`
}

// PartnerTierSpec is every setting of a tier a user may give.
type PartnerTierSpec struct {
	Name       string
	Commission CommissionRule
	HoldDays   *int
}

// Validate reports every invalid setting.
func (s PartnerTierSpec) Validate() error {
	var v Validation
	name := strings.TrimSpace(s.Name)
	v.Check(name != "", "name", "is required")
	v.Check(len(name) <= MaxPartnerNameLength, "name", "must be at most %d characters", MaxPartnerNameLength)
	s.Commission.Validate(&v, "commission")
	if s.HoldDays != nil {
		v.Check(*s.HoldDays >= 0 && *s.HoldDays <= MaxHoldDays, "holdDays", "must be between 0 and %d", MaxHoldDays)
	}
	return v.Err()
}

// NewPartnerTier creates a tier from a validated spec; its rule is version 1.
func NewPartnerTier(orgID, id string, s PartnerTierSpec, now time.Time) PartnerTier {
	rule := s.Commission.Normalize()
	t := PartnerTier{
		ID: id, OrgID: orgID, CreatedAt: now, UpdatedAt: now,
		RuleVersions: []RuleVersion{{Version: 1, EffectiveFrom: now, Rule: rule}},
	}
	t.apply(s)
	return t
}

// Spec returns the tier's current settings, for read-modify-write edits.
func (t PartnerTier) Spec() PartnerTierSpec {
	return PartnerTierSpec{Name: t.Name, Commission: t.Commission, HoldDays: t.HoldDays}
}

// Update applies new settings; a changed rule becomes a new version
// effective from now.
func (t PartnerTier) Update(s PartnerTierSpec, now time.Time) PartnerTier {
	rule := s.Commission.Normalize()
	if !rulesEqual(rule, t.Commission) {
		t.RuleVersions = append(append([]RuleVersion(nil), t.RuleVersions...),
			RuleVersion{Version: len(t.RuleVersions) + 1, EffectiveFrom: now, Rule: rule})
	}
	t.apply(s)
	t.UpdatedAt = now
	return t
}

func (t *PartnerTier) apply(s PartnerTierSpec) {
	t.Name = strings.TrimSpace(s.Name)
	t.Commission = s.Commission.Normalize()
	if s.HoldDays != nil {
		h := *s.HoldDays
		t.HoldDays = &h
	} else {
		t.HoldDays = nil
	}
}

// RuleAt returns the tier's rule in force at at. A moment before the first
// version (backdated) uses the first version.
func (t PartnerTier) RuleAt(at time.Time) CommissionRule {
	if len(t.RuleVersions) == 0 {
		return t.Commission
	}
	rule := t.RuleVersions[0].Rule
	for _, rv := range t.RuleVersions[1:] {
		if !rv.EffectiveFrom.After(at) {
			rule = rv.Rule
		}
	}
	return rule
}

// PartnerStatus is where a partner is in its life.
type PartnerStatus string

// Partner statuses. A deactivated partner keeps its records and what it
// earned, but earns nothing on conversions and won deals that happen from
// its deactivation on (docs/commissions.md, "Deactivated partners").
const (
	PartnerActive   PartnerStatus = "active"
	PartnerInactive PartnerStatus = "inactive"
)

// Agreement is a contract a partner signed.
type Agreement struct {
	Name     string    `json:"name"`
	SignedAt time.Time `json:"signedAt"`
	URL      string    `json:"url,omitempty"`
}

// PartnerRuleVersion is a version of a partner's own rule; Rule is nil for a
// version in which the partner had no rule of its own (its tier's applies).
type PartnerRuleVersion struct {
	Version       int             `json:"version"`
	EffectiveFrom time.Time       `json:"effectiveFrom"`
	Rule          *CommissionRule `json:"rule"`
}

// Partner is a company that refers business under a tier's terms, or its
// own.
type Partner struct {
	ID          string `json:"id"`
	OrgID       string `json:"organizationId"`
	CompanyName string `json:"companyName"`
	ContactName string `json:"contactName"`
	// Email is normalized (NormalizeEmail) and unique in the organization.
	Email  string `json:"email"`
	TierID string `json:"tierId"`
	// Commission is the partner's own rule, which wins over its tier's; nil
	// when it has none.
	Commission   *CommissionRule      `json:"commission"`
	RuleVersions []PartnerRuleVersion `json:"ruleVersions"`
	Agreements   []Agreement          `json:"agreements"`
	Status       PartnerStatus        `json:"status"`
	// DeactivatedAt is when the partner was deactivated (nil while active).
	DeactivatedAt *time.Time `json:"deactivatedAt,omitempty"`
	CreatedAt     time.Time  `json:"createdAt"`
	UpdatedAt     time.Time  `json:"updatedAt"`
	// Revision counts stored updates; stores use it for optimistic locking.
	Revision int64 `json:"revision"`

	// Portal is the partner's portal access (PortalAccessOf its portal user
	// and that user's latest invitation) as the store reads it with the
	// partner, so that listing partners costs no read per partner: GetPartner
	// and ListPartners fill it, and the store keeps it in step with every
	// change of the portal user or its invitations. The zero value means the
	// partner has no portal user (PortalAccess says "none"). It is not part
	// of the record (writes ignore it).
	Portal PortalAccess `json:"-"`
}

// PortalAccess is the partner's portal access summary.
func (p Partner) PortalAccess() PortalAccess {
	if p.Portal.Status == "" {
		return PortalAccessOf(nil, nil)
	}
	return p.Portal
}

// IsPortalUser reports whether u is its partner's portal user (the user
// whose portal access the partner's record shows).
func IsPortalUser(u User) bool { return u.PartnerID != "" && u.ID == PortalUserID(u.PartnerID) }

// PartnerSpec is every setting of a partner a user may give.
type PartnerSpec struct {
	CompanyName string
	ContactName string
	Email       string
	TierID      string
	Commission  *CommissionRule
	Agreements  []Agreement
}

// Validate reports every invalid setting. Whether the tier exists in the
// organization is for the service to check.
func (s PartnerSpec) Validate() error {
	var v Validation
	company, contact := strings.TrimSpace(s.CompanyName), strings.TrimSpace(s.ContactName)
	v.Check(company != "", "companyName", "is required")
	v.Check(len(company) <= MaxPartnerNameLength, "companyName", "must be at most %d characters", MaxPartnerNameLength)
	v.Check(contact != "", "contactName", "is required")
	v.Check(len(contact) <= MaxPartnerNameLength, "contactName", "must be at most %d characters", MaxPartnerNameLength)
	v.Check(ValidEmail(NormalizeEmail(s.Email)), "email", "must be a valid email address")
	v.Check(strings.TrimSpace(s.TierID) != "", "tierId", "is required")
	if s.Commission != nil {
		s.Commission.Validate(&v, "commission")
	}
	v.Check(len(s.Agreements) <= 100, "agreements", "must have at most 100 entries")
	for i, a := range s.Agreements {
		f := "agreements[" + strconv.Itoa(i) + "]"
		name := strings.TrimSpace(a.Name)
		v.Check(name != "", f+".name", "is required")
		v.Check(len(name) <= MaxPartnerNameLength, f+".name", "must be at most %d characters", MaxPartnerNameLength)
		v.Check(!a.SignedAt.IsZero(), f+".signedAt", "is required (RFC 3339)")
		v.Check(a.URL == "" || ValidLandingURL(a.URL), f+".url", "must be an absolute http(s) URL")
	}
	return v.Err()
}

// NewPartner creates an active partner from a validated spec. Its own rule
// (possibly none) is version 1.
func NewPartner(orgID, id string, s PartnerSpec, now time.Time) Partner {
	p := Partner{ID: id, OrgID: orgID, Status: PartnerActive, CreatedAt: now, UpdatedAt: now}
	p.apply(s)
	p.RuleVersions = []PartnerRuleVersion{{Version: 1, EffectiveFrom: now, Rule: copyRule(p.Commission)}}
	return p
}

// Spec returns the partner's current settings, for read-modify-write edits.
func (p Partner) Spec() PartnerSpec {
	return PartnerSpec{
		CompanyName: p.CompanyName, ContactName: p.ContactName, Email: p.Email, TierID: p.TierID,
		Commission: copyRule(p.Commission), Agreements: append([]Agreement(nil), p.Agreements...),
	}
}

// Update applies new settings; a changed (set, edited or removed) rule
// becomes a new version effective from now.
func (p Partner) Update(s PartnerSpec, now time.Time) Partner {
	old := p.Commission
	p.apply(s)
	if (old == nil) != (p.Commission == nil) || (old != nil && !rulesEqual(*old, *p.Commission)) {
		p.RuleVersions = append(append([]PartnerRuleVersion(nil), p.RuleVersions...),
			PartnerRuleVersion{Version: len(p.RuleVersions) + 1, EffectiveFrom: now, Rule: copyRule(p.Commission)})
	}
	p.UpdatedAt = now
	return p
}

func (p *Partner) apply(s PartnerSpec) {
	p.CompanyName = strings.TrimSpace(s.CompanyName)
	p.ContactName = strings.TrimSpace(s.ContactName)
	p.Email = NormalizeEmail(s.Email)
	p.TierID = strings.TrimSpace(s.TierID)
	p.Commission = nil
	if s.Commission != nil {
		r := s.Commission.Normalize()
		p.Commission = &r
	}
	p.Agreements = make([]Agreement, len(s.Agreements))
	for i, a := range s.Agreements {
		p.Agreements[i] = Agreement{Name: strings.TrimSpace(a.Name), SignedAt: a.SignedAt.UTC(), URL: a.URL}
	}
}

// RuleAt returns the partner's own rule in force at at, nil when it had
// none then. A moment before the first version uses the first version.
func (p Partner) RuleAt(at time.Time) *CommissionRule {
	if len(p.RuleVersions) == 0 {
		return copyRule(p.Commission)
	}
	rule := p.RuleVersions[0].Rule
	for _, rv := range p.RuleVersions[1:] {
		if !rv.EffectiveFrom.After(at) {
			rule = rv.Rule
		}
	}
	return copyRule(rule)
}

func copyRule(r *CommissionRule) *CommissionRule {
	if r == nil {
		return nil
	}
	c := *r
	return &c
}

// EarnsAt reports whether the partner earns commissions on what happens at
// at: always while active; when deactivated, only before its deactivation.
func (p Partner) EarnsAt(at time.Time) bool {
	return p.DeactivatedAt == nil || at.Before(*p.DeactivatedAt)
}
