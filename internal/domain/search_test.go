package domain

import (
	"slices"
	"testing"
)

func TestSearchMatchesPrefixesOfTheEmailAndOfNameWords(t *testing.T) {
	if got := SearchWords("  Jane  van DOE ", " Jane@Example.com"); !slices.Equal(got, []string{"doe", "jane van doe", "jane@example.com", "van doe"}) {
		t.Errorf("words = %q", got)
	}
	for term, want := range map[string]bool{
		"": true, "jan": true, "jane@ex": true, "van": true, "doe": true, "jane van d": true,
		"example": false, "ane": false, "oe": false, "jane doe": false,
	} {
		if got := SearchMatch(SearchTerm(term), "Jane van Doe", "jane@example.com"); got != want {
			t.Errorf("%q matches: %v, want %v", term, got, want)
		}
	}
	if got := SearchTerm("  JANE   Doe "); got != "jane doe" {
		t.Errorf("term = %q", got)
	}
	if got := len([]rune(SearchTerm(string(make([]rune, 300))))); got > maxSearchTerm {
		t.Errorf("term of %d runes", got)
	}
}
