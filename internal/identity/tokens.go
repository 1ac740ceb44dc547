package identity

import (
	"crypto/rand"
	"crypto/sha256"
	"encoding/base64"
	"encoding/hex"
	"strings"
)

// Token prefixes tell sessions and API keys apart at a glance, and let secret
// scanners recognise a leaked key.
const (
	sessionPrefix = "pls_"
	apiKeyPrefix  = "plk_"
)

// newSecret returns prefix + 256 random bits, URL-safe.
func newSecret(prefix string) string {
	b := make([]byte, 32)
	if _, err := rand.Read(b); err != nil {
		panic("crypto/rand failed: " + err.Error())
	}
	return prefix + base64.RawURLEncoding.EncodeToString(b)
}

// HashToken is how tokens and keys are stored: SHA-256 is enough for
// 256-bit random secrets (no dictionary to resist), and keeps lookups a
// single indexed read.
func HashToken(token string) string {
	sum := sha256.Sum256([]byte(token))
	return hex.EncodeToString(sum[:])
}

func isAPIKey(token string) bool { return strings.HasPrefix(token, apiKeyPrefix) }

// GeneratePassword returns a random password for the bootstrap admin.
func GeneratePassword() string {
	b := make([]byte, 18)
	if _, err := rand.Read(b); err != nil {
		panic("crypto/rand failed: " + err.Error())
	}
	return base64.RawURLEncoding.EncodeToString(b)
}
