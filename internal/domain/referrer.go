package domain

import (
	"crypto/rand"
	"regexp"
	"strings"
	"sync"
	"time"
)

// Referrer is someone (a customer or a partner's person) who refers others in
// one program through a unique code.
type Referrer struct {
	ID        string    `json:"id"`
	OrgID     string    `json:"organizationId"`
	ProgramID string    `json:"programId"`
	Email     string    `json:"email"`
	Name      string    `json:"name"`
	PartnerID string    `json:"partnerId"`
	Code      string    `json:"code"`
	Clicks    int64     `json:"clicks"`
	CreatedAt time.Time `json:"createdAt"`
}

// codeAlphabet leaves out 0/O, 1/I/L and U so codes survive being read
// aloud, typed from print or written by hand.
const codeAlphabet = "23456789ABCDEFGHJKMNPQRSTVWXYZ"

// GeneratedCodeLength gives 30^8 ≈ 6.6e11 codes: too many to guess one with
// the redirect's rate of answers, short enough to type.
const GeneratedCodeLength = 8

// GenerateCode returns a random code from crypto/rand, without modulo bias.
func GenerateCode() string {
	b := make([]byte, 0, GeneratedCodeLength)
	buf := make([]byte, 16)
	for len(b) < GeneratedCodeLength {
		if _, err := rand.Read(buf); err != nil {
			panic("crypto/rand failed: " + err.Error())
		}
		for _, x := range buf {
			// 240 = 8*30: bytes at or above it would bias the first letters.
			if x < 240 && len(b) < GeneratedCodeLength {
				b = append(b, codeAlphabet[int(x)%len(codeAlphabet)])
			}
		}
	}
	return string(b)
}

// The regular expressions are compiled on first use, not at package
// initialisation: every Lambda function imports this package.
var vanityCodeRe = sync.OnceValue(func() *regexp.Regexp { return regexp.MustCompile(`^[A-Za-z0-9][A-Za-z0-9_-]{2,31}$`) })

// ValidVanityCode reports whether a requested code is acceptable: 3 to 32
// letters, digits, '-' or '_', starting with a letter or digit, so it is safe
// in a URL path without escaping.
func ValidVanityCode(code string) bool { return vanityCodeRe().MatchString(code) }

// CodeKey is the form under which codes are unique and looked up: codes are
// case-insensitive, so "JANE" and "jane" are the same code.
func CodeKey(code string) string { return strings.ToUpper(code) }

// NormalizeEmail trims and lower-cases an address.
func NormalizeEmail(e string) string { return strings.ToLower(strings.TrimSpace(e)) }

var emailRe = sync.OnceValue(func() *regexp.Regexp {
	return regexp.MustCompile(`^[^\s@<>()\[\],;:"]+@[A-Za-z0-9](?:[A-Za-z0-9-]*[A-Za-z0-9])?(?:\.[A-Za-z0-9](?:[A-Za-z0-9-]*[A-Za-z0-9])?)+$`)
})

// ValidEmail is a pragmatic check: one @, a dotted domain, no spaces.
func ValidEmail(e string) bool { return len(e) <= 254 && emailRe().MatchString(e) }

// SamePerson reports whether two addresses reach the same mailbox, ignoring
// case and "+tag" sub-addressing — the usual trick for self-referral.
func SamePerson(a, b string) bool {
	base := func(e string) string {
		e = NormalizeEmail(e)
		at := strings.LastIndexByte(e, '@')
		if at < 0 {
			return e
		}
		local, domain := e[:at], e[at+1:]
		if plus := strings.IndexByte(local, '+'); plus >= 0 {
			local = local[:plus]
		}
		if domain == "gmail.com" || domain == "googlemail.com" {
			local = strings.ReplaceAll(local, ".", "")
			domain = "gmail.com"
		}
		return local + "@" + domain
	}
	return base(a) == base(b)
}
