package web

import (
	"testing"

	"github.com/partnerloop/partnerloop/internal/domain"
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
