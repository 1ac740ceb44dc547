// Package webhooks delivers the product's events to the HTTP endpoints
// organizations register, following the Standard Webhooks specification
// (https://www.standardwebhooks.com): each request carries webhook-id (the
// event's ID, the same on every retry: receivers deduplicate by it),
// webhook-timestamp (Unix seconds of the attempt) and webhook-signature
// ("v1,<base64 HMAC-SHA256 of id.timestamp.body>" for each valid secret,
// space separated), and the body {type, timestamp, data}.
//
// The Service manages endpoints; the Dispatcher fans events out into
// deliveries, makes the attempts, retries failures with exponential backoff
// and jitter for up to three days, and disables an endpoint that keeps
// failing. Every target address is checked against SSRF when the endpoint
// is saved and again when each request dials (after DNS resolution).
package webhooks

import (
	"crypto/hmac"
	"crypto/rand"
	"crypto/sha256"
	"encoding/base64"
	"errors"
	"strconv"
	"strings"
	"time"
)

// SecretPrefix starts every signing secret; the rest is the base64 key.
const SecretPrefix = "whsec_"

// secretBytes is the key length of new secrets (Standard Webhooks: 24 to
// 64 bytes).
const secretBytes = 32

// NewSecret returns a new random signing secret, "whsec_<base64 key>".
func NewSecret() string {
	key := make([]byte, secretBytes)
	_, _ = rand.Read(key) // crypto/rand never fails on supported platforms
	return SecretPrefix + base64.StdEncoding.EncodeToString(key)
}

// secretKey returns the HMAC key of a "whsec_" secret.
func secretKey(secret string) ([]byte, error) {
	b64, ok := strings.CutPrefix(secret, SecretPrefix)
	if !ok {
		return nil, errors.New("webhooks: secret lacks the whsec_ prefix")
	}
	return base64.StdEncoding.DecodeString(b64)
}

// Sign returns the "v1,<signature>" of one message for one secret.
func Sign(secret, id string, ts time.Time, body []byte) (string, error) {
	key, err := secretKey(secret)
	if err != nil {
		return "", err
	}
	mac := hmac.New(sha256.New, key)
	mac.Write([]byte(id + "." + strconv.FormatInt(ts.Unix(), 10) + "."))
	mac.Write(body)
	return "v1," + base64.StdEncoding.EncodeToString(mac.Sum(nil)), nil
}

// SignatureHeader signs with every secret given (the current one and,
// during a rotation, the previous one), space separated.
func SignatureHeader(secrets []string, id string, ts time.Time, body []byte) (string, error) {
	sigs := make([]string, 0, len(secrets))
	for _, s := range secrets {
		sig, err := Sign(s, id, ts, body)
		if err != nil {
			return "", err
		}
		sigs = append(sigs, sig)
	}
	return strings.Join(sigs, " "), nil
}
