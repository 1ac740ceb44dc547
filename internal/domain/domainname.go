package domain

import (
	"fmt"
	"net/netip"
	"strings"
)

// Limits of a hostname (RFC 1035 §2.3.4, RFC 1123 §2.1).
const (
	maxDomainLength = 253
	maxLabelLength  = 63
)

// NormalizeDomain turns what a person typed as a customer's domain into the
// form under which registrations are compared, so "https://www.Example.com/x"
// and "example.com" are the same customer:
//
//   - surrounding space is trimmed and the result lower-cased;
//   - a scheme ("https://", "http://", any "<scheme>://", or a bare "//") is
//     dropped, and so are userinfo ("user:pw@"), a port (":8080"), a path,
//     a query and a fragment;
//   - one trailing dot (the DNS root: "example.com.") is dropped;
//   - leading "www." labels are dropped while a dotted name remains
//     ("www.example.com" → "example.com", but "www.com" stays and "www2."
//     or "wwwexample." are other labels and stay), so normalising twice
//     changes nothing.
//
// The result must be an ASCII hostname with at least one dot, of at most 253
// characters, whose labels are 1 to 63 characters of [a-z0-9-] neither
// starting nor ending with '-', and whose last label is not all digits. IP
// addresses are refused: a deal is registered for a company, which a domain
// names. Internationalised names must be given in their ASCII (punycode)
// form ("xn--bcher-kva.de", not "bücher.de"): no IDNA library is a
// dependency, and converting by hand risks two spellings of one customer.
//
// Errors are *Error of KindInvalid with code "invalid_domain" and one
// field error for "customerDomain".
func NormalizeDomain(input string) (string, error) {
	s := strings.TrimSpace(input)
	if s == "" {
		return "", invalidDomain("is required")
	}
	for i := 0; i < len(s); i++ {
		switch c := s[i]; {
		case c >= 0x80:
			return "", invalidDomain("must be ASCII; give an internationalised domain in its punycode form (xn--…)")
		case c <= ' ' || c == 0x7f:
			return "", invalidDomain("must not contain spaces or control characters")
		}
	}
	s = strings.ToLower(s)

	// Scheme: "<scheme>://" where scheme is a letter then letters, digits,
	// '+', '-' or '.' (RFC 3986 §3.1); a protocol-relative "//" too.
	if i := strings.Index(s, "://"); i > 0 && validScheme(s[:i]) {
		s = s[i+3:]
	} else if strings.HasPrefix(s, "//") {
		s = s[2:]
	}
	// The authority ends at the first path, query or fragment delimiter.
	if i := strings.IndexAny(s, "/?#"); i >= 0 {
		s = s[:i]
	}
	// Userinfo ends at the last '@' of the authority.
	if i := strings.LastIndexByte(s, '@'); i >= 0 {
		s = s[i+1:]
	}
	if strings.HasPrefix(s, "[") {
		return "", invalidDomain("must be a domain name, not an IP address")
	}
	if i := strings.IndexByte(s, ':'); i >= 0 {
		port := s[i+1:]
		if strings.Contains(port, ":") {
			if _, err := netip.ParseAddr(s); err == nil {
				return "", invalidDomain("must be a domain name, not an IP address")
			}
			return "", invalidDomain("is not a valid domain name")
		}
		if !allDigits(port) && port != "" {
			return "", invalidDomain("has an invalid port")
		}
		s = s[:i]
	}
	s = strings.TrimSuffix(s, ".")
	for {
		rest, ok := strings.CutPrefix(s, "www.")
		if !ok || !strings.Contains(rest, ".") {
			break
		}
		s = rest
	}

	if s == "" {
		return "", invalidDomain("must contain a domain name")
	}
	if _, err := netip.ParseAddr(s); err == nil {
		return "", invalidDomain("must be a domain name, not an IP address")
	}
	if len(s) > maxDomainLength {
		return "", invalidDomain("must be at most %d characters", maxDomainLength)
	}
	labels := strings.Split(s, ".")
	if len(labels) < 2 {
		return "", invalidDomain("must be a full domain name such as example.com")
	}
	for _, l := range labels {
		if msg := labelProblem(l); msg != "" {
			return "", invalidDomain("%s", msg)
		}
	}
	if allDigits(labels[len(labels)-1]) {
		// "10.0.0" or "1.2.3.4.5": not an address ParseAddr takes, and no
		// top-level domain is numeric.
		return "", invalidDomain("must be a domain name, not an IP address")
	}
	return s, nil
}

func labelProblem(l string) string {
	switch {
	case l == "":
		return "must not contain empty labels (\"..\", or a leading dot)"
	case len(l) > maxLabelLength:
		return "has a label longer than 63 characters"
	case l[0] == '-' || l[len(l)-1] == '-':
		return "has a label that starts or ends with '-'"
	}
	for i := 0; i < len(l); i++ {
		c := l[i]
		if !(c >= 'a' && c <= 'z' || c >= '0' && c <= '9' || c == '-') {
			return "may contain only letters, digits, '-' and '.'"
		}
	}
	return ""
}

func validScheme(s string) bool {
	if s == "" || s[0] < 'a' || s[0] > 'z' {
		return false
	}
	for i := 1; i < len(s); i++ {
		c := s[i]
		if !(c >= 'a' && c <= 'z' || c >= '0' && c <= '9' || c == '+' || c == '-' || c == '.') {
			return false
		}
	}
	return true
}

func allDigits(s string) bool {
	if s == "" {
		return false
	}
	for i := 0; i < len(s); i++ {
		if s[i] < '0' || s[i] > '9' {
			return false
		}
	}
	return true
}

// invalidDomain is a KindInvalid error that also names the field, so that
// a caller validating a whole request can Validation.Merge it.
func invalidDomain(format string, args ...any) *Error {
	msg := fmt.Sprintf(format, args...)
	return &Error{
		Kind:    KindInvalid,
		Code:    "invalid_domain",
		Message: "the customer domain " + msg,
		Fields:  []FieldError{{Field: "customerDomain", Message: msg}},
	}
}
