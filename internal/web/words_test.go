package web

import (
	"strings"
	"testing"

	"github.com/partnerloop/partnerloop/internal/domain"
	"github.com/partnerloop/partnerloop/internal/money"
)

// TestFormsSpeakPeoplesWords: a service error's field names and API
// words (rateBps, upTo, null) reach the forms as their labels.
func TestFormsSpeakPeoplesWords(t *testing.T) {
	var v domain.Validation
	v.Add("commission.tiers[1].upTo", "must be greater than the previous tier's upTo (and than 0)")
	v.Add("commission.tiers[2]", "give either rateBps or amount, not both")
	f := newForm(nil)
	f.fail(v.Err(), func(field string) bool { return field == "commission.tiers[1].upTo" })
	if got := f.Err("commission.tiers[1].upTo"); got != "must be greater than the previous tier's upper bound (and than 0)" {
		t.Errorf("field message %q", got)
	}
	if want := "Please correct the fields marked below. Also: Commission tier 3 give either rate (%) or amount, not both"; f.Message != want {
		t.Errorf("form message\n got %q\nwant %q", f.Message, want)
	}
	for path, want := range map[string]string{
		"eligibility.minPurchaseAmount": "Eligibility minimum purchase",
		"commission.tiers[0].rateBps":   "Commission tier 1 rate (%)",
		"customerDomain":                "Customer domain",
	} {
		if got := fieldWords(path); got != want {
			t.Errorf("fieldWords(%q) = %q, want %q", path, got, want)
		}
	}
}

// TestMessagesNameNoRawIDs: a service message that names a record by its
// ID (com_…, cnv_…) or a field by its API name reaches people as words.
func TestMessagesNameNoRawIDs(t *testing.T) {
	for msg, want := range map[string]string{
		"commission com_01J8ZK3Q4W5E6R7T8Y9U0I1O2P is on hold until 2 April":         "the commission is on hold until 2 April",
		"partner prt_01J8ZK3Q4W5E6R7T8Y9U0I1O2P has no portal user":                  "the partner has no portal user",
		"conversion cnv_01ABCDEF changed":                                            "the conversion changed",
		"dea_01ABCDEF conflicts with another registration":                           "the deal conflicts with another registration",
		"commission not found: com_01ABCDEFGH, com_01ABCDEFGJ; nothing was approved": "commission not found; nothing was approved",
		"must be after startsAt":                                                     "must be after start date",
		"a key_ring is not an ID":                                                    "a key_ring is not an ID",
		"see prt_abcdefghij":                                                         "see prt_abcdefghij",
	} {
		if got := humanWords(msg); got != want {
			t.Errorf("humanWords(%q) = %q, want %q", msg, got, want)
		}
	}
	var v domain.Validation
	v.Add("endsAt", "must be after startsAt")
	e, _ := domain.AsError(v.Err())
	if got := errorText(e); got != "End date must be after start date." {
		t.Errorf("errorText of a validation error: %q", got)
	}
	if got := errorText(domain.Errorf(domain.KindConflict, "x", "commission com_01ABCDEFGH is already reversed")); got != "The commission is already reversed." {
		t.Errorf("errorText of a conflict: %q", got)
	}
}

// TestRuleTextIsMoneyForPeople: a program's rule reads in its currency as
// the organization's locale writes it, and a tier's (which applies in each
// program's currency) as plain amounts that say so — not "USD 20.00".
func TestRuleTextIsMoneyForPeople(t *testing.T) {
	i64 := func(v int64) *int64 { return &v }
	flat := domain.CommissionRule{Type: domain.RuleFlat, Amount: i64(2000)}
	tiered := domain.CommissionRule{Type: domain.RuleTiered, Basis: domain.BasisRevenue, Period: "month", Mode: "marginal",
		Tiers: []domain.Tier{{UpTo: i64(2500000), RateBps: i64(1000)}, {Amount: i64(150000)}}}
	for _, c := range []struct {
		locale, currency string
		rule             domain.CommissionRule
		want             string
	}{
		{"en-US", "USD", flat, "$20.00 flat"},
		{"de-DE", "EUR", flat, "20,00\u00a0€ flat"},
		{"en-US", "", flat, "20.00 flat (amounts in the program's currency)"},
		{"en-US", "USD", tiered, "Tiered by revenue per month (marginal) — up to $25,000.00: 10%, then $1,500.00"},
		{"de-DE", "", tiered, "up to 25.000,00: 10%"},
	} {
		got := ruleText(money.For(c.locale), c.rule, c.currency)
		if !strings.Contains(got, c.want) {
			t.Errorf("%s %q: ruleText = %q, want it to contain %q", c.locale, c.currency, got, c.want)
		}
	}
}
