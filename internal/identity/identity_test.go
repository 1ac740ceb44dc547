package identity

import (
	"encoding/hex"
	"fmt"
	"strings"
	"testing"
)

func TestPasswordRoundTrip(t *testing.T) {
	passwords := []string{
		"correct horse battery staple",
		"p",
		"", // hashing never fails on content; policy is the caller's
		"ünïcødé-пароль-密码",
		strings.Repeat("long", 100),
	}
	for _, pw := range passwords {
		t.Run(fmt.Sprintf("len%d", len(pw)), func(t *testing.T) {
			h, err := HashPassword(pw)
			if err != nil {
				t.Fatalf("HashPassword: %v", err)
			}
			if !strings.HasPrefix(h, "$argon2id$v=19$m=19456,t=2,p=1$") {
				t.Errorf("hash %q is not an argon2id PHC string with the configured parameters", h)
			}
			if len(pw) >= 8 && strings.Contains(h, pw) {
				t.Errorf("hash %q contains the password", h)
			}
			ok, err := CheckPassword(h, pw)
			if err != nil || !ok {
				t.Errorf("CheckPassword(right password) = %v, %v; want true, nil", ok, err)
			}
			for _, wrong := range []string{pw + "x", strings.ToUpper(pw) + "X", pw + " ", "x" + pw} {
				ok, err := CheckPassword(h, wrong)
				if err != nil || ok {
					t.Errorf("CheckPassword(%q) = %v, %v; want false, nil", wrong, ok, err)
				}
			}
		})
	}
}

func TestPasswordHashesAreSalted(t *testing.T) {
	a, err := HashPassword("same password")
	if err != nil {
		t.Fatal(err)
	}
	b, err := HashPassword("same password")
	if err != nil {
		t.Fatal(err)
	}
	if a == b {
		t.Fatalf("two hashes of the same password are equal (%q): no salt", a)
	}
	pa, pb := strings.Split(a, "$"), strings.Split(b, "$")
	if pa[4] == pb[4] {
		t.Errorf("the two hashes share the salt %q", pa[4])
	}
	for _, h := range []string{a, b} {
		if ok, err := CheckPassword(h, "same password"); !ok || err != nil {
			t.Errorf("CheckPassword(%q) = %v, %v; want true, nil", h, ok, err)
		}
	}
}

func TestCheckPasswordTamperedHash(t *testing.T) {
	good, err := HashPassword("s3cret")
	if err != nil {
		t.Fatal(err)
	}
	parts := strings.Split(good, "$") // "", argon2id, v=19, m=..., salt, key
	with := func(i int, s string) string {
		p := append([]string(nil), parts...)
		p[i] = s
		return strings.Join(p, "$")
	}
	// flip changes the first base64 character of a field to another valid one.
	flip := func(s string) string {
		if s[0] == 'A' {
			return "B" + s[1:]
		}
		return "A" + s[1:]
	}

	malformed := []struct {
		name       string
		hash       string
		regression string // non-empty: the case currently panics instead of returning an error
	}{
		{"empty", "", ""},
		{"not a PHC string", "s3cret", ""},
		{"bcrypt hash", "$2a$10$N9qo8uLOickgx2ZMRZoMyeIjZAgcfl7p92ldGxad68LJZdL17lhWy", ""},
		{"argon2i instead of argon2id", with(1, "argon2i"), ""},
		{"other version", with(2, "v=16"), ""},
		{"version garbage", with(2, "v=x"), ""},
		{"parameters garbage", with(3, "m=a,t=b,p=c"), ""},
		{"parallelism out of range", with(3, "m=19456,t=2,p=300"), ""},
		{"salt not base64", with(4, "!!!!"), ""},
		{"key not base64", with(5, "****"), ""},
		{"missing field", strings.Join(parts[:5], "$"), ""},
		{"extra field", good + "$AAAA", ""},
		{"truncated", good[:len(good)/2], ""},
		{"empty key", with(5, ""), "identity/password.go CheckPassword: empty key reaches argon2.IDKey with keyLen 0 → nil pointer panic"},
		{"zero passes", with(3, "m=19456,t=0,p=1"), "identity/password.go CheckPassword: t=0 reaches argon2.IDKey → panic \"number of rounds too small\""},
		{"zero parallelism", with(3, "m=19456,t=2,p=0"), "identity/password.go CheckPassword: p=0 reaches argon2.IDKey → panic \"parallelism degree too low\""},
	}
	for _, tt := range malformed {
		t.Run(tt.name, func(t *testing.T) {
			ok, err := CheckPassword(tt.hash, "s3cret")
			if err == nil || ok {
				t.Errorf("CheckPassword(%q) = %v, %v; want false and an error", tt.hash, ok, err)
			}
		})
	}

	// Well-formed but altered: the right password no longer matches.
	altered := []struct {
		name string
		hash string
	}{
		{"key altered", with(5, flip(parts[5]))},
		{"salt altered", with(4, flip(parts[4]))},
		{"passes altered", with(3, "m=19456,t=3,p=1")},
		{"key shortened", with(5, parts[5][:len(parts[5])-4])},
	}
	for _, tt := range altered {
		t.Run(tt.name, func(t *testing.T) {
			ok, err := CheckPassword(tt.hash, "s3cret")
			if ok {
				t.Errorf("CheckPassword(%q) = true, want false (err %v)", tt.hash, err)
			}
		})
	}
}

func TestDummyHashIsUsable(t *testing.T) {
	// Unknown emails are checked against dummyHash so that they take as
	// long as known ones; it must be a valid hash for that to hold.
	ok, err := CheckPassword(dummyHash, "guess")
	if err != nil || ok {
		t.Errorf("CheckPassword(dummyHash) = %v, %v; want false, nil", ok, err)
	}
}

func TestHashToken(t *testing.T) {
	tests := []string{"", "pls_abc", "plk_" + strings.Repeat("x", 43)}
	seen := map[string]string{}
	for _, tok := range tests {
		h := HashToken(tok)
		if len(h) != 64 {
			t.Errorf("HashToken(%q) has length %d, want 64", tok, len(h))
		}
		if _, err := hex.DecodeString(h); err != nil || strings.ToLower(h) != h {
			t.Errorf("HashToken(%q) = %q, want lower-case hex", tok, h)
		}
		if HashToken(tok) != h {
			t.Errorf("HashToken(%q) is not stable", tok)
		}
		if other, dup := seen[h]; dup {
			t.Errorf("HashToken(%q) == HashToken(%q)", tok, other)
		}
		seen[h] = tok
	}
	// SHA-256 of the empty string: the hash is the standard one, so stored
	// hashes stay valid across versions.
	if got, want := HashToken(""), "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855"; got != want {
		t.Errorf("HashToken(\"\") = %s, want %s", got, want)
	}
}

func TestNewSecret(t *testing.T) {
	tests := []struct {
		prefix string
		apiKey bool
	}{
		{sessionPrefix, false},
		{apiKeyPrefix, true},
	}
	for _, tt := range tests {
		t.Run(tt.prefix, func(t *testing.T) {
			seen := map[string]bool{}
			for i := 0; i < 1000; i++ {
				s := newSecret(tt.prefix)
				if !strings.HasPrefix(s, tt.prefix) {
					t.Fatalf("secret %q lacks prefix %q", s, tt.prefix)
				}
				body := s[len(tt.prefix):]
				if len(body) != 43 { // 32 bytes, unpadded base64
					t.Fatalf("secret %q has a %d-character body, want 43 (256 bits)", s, len(body))
				}
				if strings.Trim(body, "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_") != "" {
					t.Fatalf("secret %q is not URL-safe", s)
				}
				if isAPIKey(s) != tt.apiKey {
					t.Fatalf("isAPIKey(%q) = %v, want %v", s, !tt.apiKey, tt.apiKey)
				}
				if seen[s] {
					t.Fatalf("duplicate secret %q", s)
				}
				seen[s] = true
			}
		})
	}
	if sessionPrefix != "pls_" || apiKeyPrefix != "plk_" {
		t.Errorf("prefixes = %q, %q; want pls_, plk_ (secret scanners rely on them)", sessionPrefix, apiKeyPrefix)
	}
}

func TestGeneratePassword(t *testing.T) {
	a, b := GeneratePassword(), GeneratePassword()
	if len(a) < 24 || a == b {
		t.Errorf("GeneratePassword = %q, %q; want two different passwords of at least 24 characters", a, b)
	}
}
