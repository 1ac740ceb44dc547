package domain_test

import (
	"strings"
	"testing"

	"github.com/partnerloop/partnerloop/internal/domain"
)

// The code alphabet as users are told it: digits and capital letters except
// the ones that are easily confused when read aloud or written by hand.
const (
	wantCodeAlphabet = "23456789ABCDEFGHJKMNPQRSTVWXYZ"
	ambiguousChars   = "0O1ILU"
)

func TestGenerateCode(t *testing.T) {
	const n = 10000
	seen := make(map[string]bool, n)
	used := map[rune]bool{}
	for i := 0; i < n; i++ {
		c := domain.GenerateCode()
		if len(c) != 8 {
			t.Fatalf("code %q has length %d, want 8", c, len(c))
		}
		for _, r := range c {
			if !strings.ContainsRune(wantCodeAlphabet, r) {
				t.Fatalf("code %q contains %q, outside the alphabet %s", c, r, wantCodeAlphabet)
			}
			if strings.ContainsRune(ambiguousChars, r) {
				t.Fatalf("code %q contains the ambiguous character %q", c, r)
			}
			used[r] = true
		}
		if seen[c] {
			t.Fatalf("duplicate code %q after %d codes", c, i)
		}
		seen[c] = true
		if !domain.ValidVanityCode(c) {
			t.Fatalf("generated code %q is not accepted as a code", c)
		}
		if domain.CodeKey(c) != c {
			t.Fatalf("generated code %q is not already in key form (%q)", c, domain.CodeKey(c))
		}
	}
	// 80,000 draws from 30 characters: every one of them appears.
	if len(used) != len(wantCodeAlphabet) {
		t.Errorf("codes used %d distinct characters, want all %d", len(used), len(wantCodeAlphabet))
	}
}

func TestValidVanityCode(t *testing.T) {
	tests := []struct {
		code string
		want bool
	}{
		{"jane", true},
		{"JANE2026", true},
		{"abc", true},
		{"ab", false},
		{"", false},
		{strings.Repeat("a", 32), true},
		{strings.Repeat("a", 33), false},
		{"jane-doe", true},
		{"jane_doe", true},
		{"9lives", true},
		{"-jane", false},
		{"_jane", false},
		{"jane doe", false},
		{"jane/doe", false},
		{"jane.doe", false},
		{"jane?x=1", false},
		{"jane%20", false},
		{"../admin", false},
		{"jane\n", false},
		{"\njane", false},
		{"janë", false},
		{"ＪＡＮＥ", false}, // full-width letters
	}
	for _, tt := range tests {
		t.Run(tt.code, func(t *testing.T) {
			if got := domain.ValidVanityCode(tt.code); got != tt.want {
				t.Errorf("ValidVanityCode(%q) = %v, want %v", tt.code, got, tt.want)
			}
		})
	}
}

func TestCodeKey(t *testing.T) {
	tests := []struct{ a, b string }{
		{"jane", "JANE"},
		{"Jane-Doe_1", "jane-doe_1"},
		{"ABCD2345", "abcd2345"},
	}
	for _, tt := range tests {
		if domain.CodeKey(tt.a) != domain.CodeKey(tt.b) {
			t.Errorf("CodeKey(%q) = %q, CodeKey(%q) = %q; want the same key", tt.a, domain.CodeKey(tt.a), tt.b, domain.CodeKey(tt.b))
		}
	}
	if domain.CodeKey("jane") == domain.CodeKey("jane2") {
		t.Error("different codes share a key")
	}
	if got := domain.CodeKey("jane-doe"); got != "JANE-DOE" {
		t.Errorf("CodeKey(jane-doe) = %q, want JANE-DOE", got)
	}
}

func TestValidEmail(t *testing.T) {
	tests := []struct {
		email string
		want  bool
	}{
		{"jane@example.com", true},
		{"Jane.Doe+promo@mail.example.co.uk", true},
		{"j@x.io", true},
		{"o'brien@example.com", true},
		{"jane@sub-domain.example.com", true},
		{"", false},
		{"jane", false},
		{"jane@", false},
		{"@example.com", false},
		{"jane@example", false},
		{"jane@@example.com", false},
		{"ja@ne@example.com", false},
		{"jane doe@example.com", false},
		{" jane@example.com", false},
		{"jane@example.com ", false},
		{"jane@exa mple.com", false},
		{"jane@-example.com", false},
		{"jane@example-.com", false},
		{"jane@example..com", false},
		{"jane@.example.com", false},
		{"jane@example.com.", false},
		{"<jane@example.com>", false},
		{"Jane <jane@example.com>", false},
		{"jane@example.com,bob@example.com", false},
		{"jane;@example.com", false},
		{"jane@example.com\n", false},
		{"jane@example.com\r\nBcc: x@y.com", false},
		{strings.Repeat("a", 64) + "@" + strings.Repeat("b", 180) + ".com", true},        // 249 characters
		{strings.Repeat("a", 64) + "@" + strings.Repeat("b", 186) + ".com", false},       // 255 characters
		{strings.Repeat("a", 64) + "@" + strings.Repeat("b", 185) + ".com", true},        // 254 characters
		{strings.Repeat("a", 64) + "@" + strings.Repeat("b", 185) + ".com" + "x", false}, // 255 characters
	}
	for _, tt := range tests {
		name := tt.email
		if len(name) > 40 {
			name = name[:20] + "…" + name[len(name)-10:]
		}
		t.Run(name, func(t *testing.T) {
			if got := domain.ValidEmail(tt.email); got != tt.want {
				t.Errorf("ValidEmail(%q) (len %d) = %v, want %v", tt.email, len(tt.email), got, tt.want)
			}
		})
	}
}

func TestNormalizeEmail(t *testing.T) {
	if got := domain.NormalizeEmail("  Jane.Doe@Example.COM \n"); got != "jane.doe@example.com" {
		t.Errorf("NormalizeEmail = %q, want jane.doe@example.com", got)
	}
}

func TestSamePerson(t *testing.T) {
	tests := []struct {
		name string
		a, b string
		want bool
	}{
		{"identical", "jane@example.com", "jane@example.com", true},
		{"case", "Jane@Example.com", "jane@EXAMPLE.COM", true},
		{"surrounding space", " jane@example.com", "jane@example.com ", true},
		{"+tag", "jane@example.com", "jane+friend@example.com", true},
		{"+tag on both", "jane+a@example.com", "jane+b@example.com", true},
		{"+tag and case", "JANE+Promo@example.com", "jane@example.com", true},
		{"gmail dots", "jane.doe@gmail.com", "janedoe@gmail.com", true},
		{"gmail dots and +tag", "j.a.n.e+ref@gmail.com", "jane@gmail.com", true},
		{"googlemail is gmail", "jane.doe@googlemail.com", "janedoe@gmail.com", true},
		{"dots matter outside gmail", "jane.doe@example.com", "janedoe@example.com", false},
		{"different local part", "jane@example.com", "john@example.com", false},
		{"different domains", "jane@example.com", "jane@example.org", false},
		{"different gmail-like domain", "jane@gmail.com", "jane@gmail.co", false},
		{"subdomain differs", "jane@mail.example.com", "jane@example.com", false},
		{"prefix is not the same person", "jane@example.com", "janet@example.com", false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := domain.SamePerson(tt.a, tt.b); got != tt.want {
				t.Errorf("SamePerson(%q, %q) = %v, want %v", tt.a, tt.b, got, tt.want)
			}
			if got := domain.SamePerson(tt.b, tt.a); got != tt.want {
				t.Errorf("SamePerson(%q, %q) = %v, want %v (symmetry)", tt.b, tt.a, got, tt.want)
			}
		})
	}
}
