package commission

import (
	"time"

	"github.com/partnerloop/partnerloop/internal/domain"
)

// Where the rule that priced a commission came from (Commission.RuleSource).
const (
	SourcePartner = "partner"
	SourceTier    = "tier"
	SourceProgram = "program"
)

// Select picks the rule that prices a conversion or won deal credited to a
// referrer (COMMISSIONS.md, "Which rule applies"): the partner's own rule,
// else the rule of the partner's tier, else — for conversions only — the
// program's rule in force when the conversion occurred (program.RuleAt).
// A won deal with neither a partner nor a tier rule earns nothing: ok is
// false. A rule pointer that is nil or has no type counts as "no rule".
//
// partnerRule and tierRule are the rules in force at occurredAt; partners
// and tiers do not keep versions yet, so the caller passes their current
// rule. The returned rule is normalized (tiered mode defaults to marginal).
// source is SourcePartner, SourceTier or SourceProgram.
func Select(partnerRule, tierRule *domain.CommissionRule, program domain.Program, forDeal bool, occurredAt time.Time) (rule domain.CommissionRule, source string, ok bool) {
	switch {
	case present(partnerRule):
		return partnerRule.Normalize(), SourcePartner, true
	case present(tierRule):
		return tierRule.Normalize(), SourceTier, true
	case forDeal:
		return domain.CommissionRule{}, "", false
	}
	r := program.RuleAt(occurredAt)
	if r.Type == "" {
		return domain.CommissionRule{}, "", false
	}
	return r.Normalize(), SourceProgram, true
}

func present(r *domain.CommissionRule) bool { return r != nil && r.Type != "" }

// VersionAt returns the rule version in force at t, with the same semantics
// as domain.Program.RuleAt: the last version whose EffectiveFrom is not after
// t, and the first version for a conversion that occurred before it
// (backdated). ok is false when there are no versions. Use it to record
// Commission.RuleVersion: VersionAt(program.RuleVersions, occurredAt).
func VersionAt(versions []domain.RuleVersion, t time.Time) (domain.RuleVersion, bool) {
	if len(versions) == 0 {
		return domain.RuleVersion{}, false
	}
	v := versions[0]
	for _, rv := range versions[1:] {
		if !rv.EffectiveFrom.After(t) {
			v = rv
		}
	}
	return v, true
}
