package identity

import (
	_ "embed"
	"strings"
	"sync"
	"unicode"
	"unicode/utf8"

	"github.com/partnerloop/partnerloop/internal/domain"
)

// Password rules for passwords people choose (accepting an invitation).
// Length does most of the work (NIST SP 800-63B): at least 12 characters,
// at most 256 (argon2 hashes anything, but a bound keeps requests small),
// and nothing an attacker tries first.
const (
	MinPasswordLength = 12
	MaxPasswordLength = 256
)

//go:embed common-passwords.txt
var commonPasswordList string

// commonPasswords is built on first use, not at every cold start.
var commonPasswords = sync.OnceValue(func() map[string]bool {
	m := map[string]bool{}
	for _, line := range strings.Split(commonPasswordList, "\n") {
		if line = strings.TrimSpace(line); line != "" && !strings.HasPrefix(line, "#") {
			m[strings.ToLower(line)] = true
		}
	}
	return m
})

// sequences are runs people type instead of a password, forwards and
// backwards: the alphabet, digits and keyboard rows.
var sequences = func() []string {
	base := []string{"abcdefghijklmnopqrstuvwxyzabcdefghijklmnopqrstuvwxyz", "012345678901234567890123456789", "qwertyuiopasdfghjklzxcvbnm", "1qaz2wsx3edc4rfv5tgb6yhn7ujm8ik9ol0p"}
	var out []string
	for _, s := range base {
		r := []rune(s)
		for i, j := 0, len(r)-1; i < j; i, j = i+1, j-1 {
			r[i], r[j] = r[j], r[i]
		}
		out = append(out, s, string(r))
	}
	return out
}()

// CheckNewPassword reports why password may not be chosen by the person
// with email in the organization named orgName, as a validation error on
// the field "password"; nil when it is acceptable.
func CheckNewPassword(password, email, orgName string) error {
	var v domain.Validation
	if msg := passwordProblem(password, email, orgName); msg != "" {
		v.Add("password", "%s", msg)
	}
	return v.Err()
}

func passwordProblem(password, email, orgName string) string {
	n := utf8.RuneCountInString(password)
	switch {
	case !utf8.ValidString(password):
		return "must be valid UTF-8 text"
	case n < MinPasswordLength:
		return "must be at least 12 characters"
	case len(password) > MaxPasswordLength:
		return "must be at most 256 characters"
	}
	lower := strings.ToLower(password)
	folded := alnum(lower)
	if common := commonPasswords(); common[lower] || common[folded] {
		return "is one of the most common passwords; choose another"
	}
	email = domain.NormalizeEmail(email)
	local, _, _ := strings.Cut(email, "@")
	if email != "" && (strings.Contains(lower, email) || containsWord(folded, alnum(local))) {
		return "must not contain your email address"
	}
	if containsWord(folded, alnum(strings.ToLower(orgName))) {
		return "must not contain the company's name"
	}
	if repeated(lower) {
		return "must not be one character repeated, or a short pattern repeated"
	}
	for _, seq := range sequences {
		if strings.Contains(seq, folded) && len(folded) >= MinPasswordLength-2 {
			return "must not be a simple sequence such as abcdef or 123456"
		}
	}
	return ""
}

// alnum keeps letters and digits only, so "Acme, Inc." matches "acmeinc".
func alnum(s string) string {
	return strings.Map(func(r rune) rune {
		if unicode.IsLetter(r) || unicode.IsDigit(r) {
			return r
		}
		return -1
	}, s)
}

// containsWord reports whether password contains word, for words long
// enough (4+) not to match by accident; shorter ones only when they are
// the whole password.
func containsWord(password, word string) bool {
	if word == "" {
		return false
	}
	if utf8.RuneCountInString(word) < 4 {
		return password == word
	}
	return strings.Contains(password, word)
}

// repeated reports whether s is a unit of at most 4 characters repeated
// ("aaaaaaaaaaaa", "abcabcabcabc").
func repeated(s string) bool {
	r := []rune(s)
	for unit := 1; unit <= 4 && unit < len(r); unit++ {
		if len(r)%unit != 0 {
			continue
		}
		same := true
		for i := unit; i < len(r) && same; i++ {
			same = r[i] == r[i-unit]
		}
		if same {
			return true
		}
	}
	return false
}
