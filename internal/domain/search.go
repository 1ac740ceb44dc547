package domain

import (
	"slices"
	"strings"
	"unicode"
)

// Search of the staff lists (referrals, conversions, referrers, and any
// list of people or companies): a term matches a record when it is a
// case-insensitive prefix of the record's normalised e-mail address or of
// a word of its name ("jan" finds "Jane Doe" and "jan@x.com"; "doe" finds
// "Jane Doe"; "jane d" finds "Jane Doe" too). Prefixes, not substrings:
// a store can serve them from an index of the words (SearchWords), and
// they are what people type when they look someone up.

// maxSearchTerm bounds a term: longer input is cut, not refused.
const maxSearchTerm = 100

// SearchTerm normalises what someone typed into a search box: lower case,
// spaces trimmed and collapsed, at most 100 characters. "" searches
// nothing (every record matches).
func SearchTerm(q string) string {
	t := strings.Join(strings.Fields(strings.ToLower(q)), " ")
	if r := []rune(t); len(r) > maxSearchTerm {
		t = strings.TrimSpace(string(r[:maxSearchTerm]))
	}
	return t
}

// SearchWords are the index entries of a record named name with the
// address email: the normalised address, and each suffix of the
// normalised name that starts at a word ("jane doe", "doe"), so that a
// prefix search of the entries is SearchMatch. Sorted, no duplicates.
func SearchWords(name, email string) []string {
	var out []string
	if e := NormalizeEmail(email); e != "" {
		out = append(out, e)
	}
	words := strings.FieldsFunc(strings.ToLower(name), func(r rune) bool { return unicode.IsSpace(r) })
	for i := range words {
		out = append(out, strings.Join(words[i:], " "))
	}
	slices.Sort(out)
	return slices.Compact(out)
}

// SearchMatch reports whether term (SearchTerm's) matches the record
// named name with the address email; "" matches every record.
func SearchMatch(term, name, email string) bool {
	if term == "" {
		return true
	}
	for _, w := range SearchWords(name, email) {
		if strings.HasPrefix(w, term) {
			return true
		}
	}
	return false
}
