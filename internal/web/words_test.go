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
