package domain_test

import (
	"strings"
	"testing"

	"github.com/partnerloop/partnerloop/internal/domain"
)

func TestNormalizeDomain(t *testing.T) {
	long63 := strings.Repeat("a", 63)
	tests := []struct {
		in   string
		want string // "" means rejected
	}{
		// Case, scheme, www, path, query, fragment, trailing dot.
		{"Example.COM", "example.com"},
		{"  example.com  ", "example.com"},
		{"https://www.example.com/path?q#f", "example.com"},
		{"HTTPS://WWW.EXAMPLE.COM", "example.com"},
		{"http://example.com", "example.com"},
		{"ftp://example.com/file", "example.com"},
		{"git+ssh://example.com", "example.com"},
		{"//example.com/x", "example.com"},
		{"example.com/path", "example.com"},
		{"example.com?q=1", "example.com"},
		{"example.com#top", "example.com"},
		{"www.example.com.", "example.com"},
		{"example.com.", "example.com"},
		{"http://user:pw@example.com:8080/x", "example.com"},
		{"user@example.com", "example.com"},
		{"example.com:443", "example.com"},
		{"example.com:", "example.com"},
		{"WWW.Example.co.uk", "example.co.uk"},
		{"www.sub.example.com", "sub.example.com"},
		{"shop.example.com", "shop.example.com"},
		// Only the www label goes, once.
		{"www2.example.com", "www2.example.com"},
		{"wwwexample.com", "wwwexample.com"},
		{"www.www.example.com", "example.com"},
		{"www.www.com", "www.com"},
		{"www.com", "www.com"}, // stripping would leave no dotted name
		{"my-shop.example.com", "my-shop.example.com"},
		{"123.example.com", "123.example.com"},
		{"xn--bcher-kva.de", "xn--bcher-kva.de"}, // punycode is ASCII
		{"XN--BCHER-KVA.DE", "xn--bcher-kva.de"},
		{long63 + ".com", long63 + ".com"},

		// Rejected.
		{"", ""},
		{"   ", ""},
		{"example", ""},
		{"localhost:8080", ""},
		{"https://", ""},
		{"www.", ""},
		{"192.168.0.1", ""},
		{"http://192.168.0.1:8080/x", ""},
		{"10.0.0", ""},
		{"[::1]", ""},
		{"http://[2001:db8::1]/", ""},
		{"2001:db8::1", ""},
		{"-bad.com", ""},
		{"bad-.com", ""},
		{"example.-com", ""},
		{"exa mple.com", ""},
		{"exa\tmple.com", ""},
		{"exa_mple.com", ""},
		{"example..com", ""},
		{".example.com", ""},
		{"example.com..", ""},
		{"example.com:abc", ""},
		{"bücher.de", ""},
		{"https://BÜCHER.de/x", ""},
		{"例え.jp", ""},
		{strings.Repeat("a", 64) + ".com", ""},
		{strings.Repeat(long63+".", 4) + "com", ""}, // 259 characters
	}
	for _, tt := range tests {
		t.Run(tt.in, func(t *testing.T) {
			got, err := domain.NormalizeDomain(tt.in)
			if tt.want == "" {
				if err == nil {
					t.Fatalf("NormalizeDomain(%q) = %q, want an error", tt.in, got)
				}
				e, ok := domain.AsError(err)
				if !ok || e.Kind != domain.KindInvalid || e.Code != "invalid_domain" {
					t.Fatalf("err = %#v, want KindInvalid/invalid_domain", err)
				}
				if len(e.Fields) != 1 || e.Fields[0].Field != "customerDomain" {
					t.Errorf("fields = %+v, want one for customerDomain", e.Fields)
				}
				return
			}
			if err != nil {
				t.Fatalf("NormalizeDomain(%q): %v", tt.in, err)
			}
			if got != tt.want {
				t.Errorf("NormalizeDomain(%q) = %q, want %q", tt.in, got, tt.want)
			}
			// Normalising is idempotent.
			if again, err := domain.NormalizeDomain(got); err != nil || again != got {
				t.Errorf("NormalizeDomain(%q) = %q, %v; want it unchanged", got, again, err)
			}
		})
	}
}

func TestNormalizeDomainMaxLength(t *testing.T) {
	// 3 labels of 63 + 1 of 61 + 3 dots = 253 characters: the limit.
	l := strings.Repeat("a", 63)
	ok := l + "." + l + "." + l + "." + strings.Repeat("b", 57) + ".com"
	if len(ok) != 253 {
		t.Fatalf("test domain has %d characters", len(ok))
	}
	if _, err := domain.NormalizeDomain(ok); err != nil {
		t.Errorf("253 characters: %v", err)
	}
	if _, err := domain.NormalizeDomain("a" + ok); err == nil {
		t.Error("254 characters: want an error")
	}
}

func TestNormalizeDomainUnicodeMessage(t *testing.T) {
	_, err := domain.NormalizeDomain("bücher.de")
	if err == nil || !strings.Contains(err.Error(), "punycode") {
		t.Errorf("err = %v, want a message pointing to punycode", err)
	}
}
