// Package stripetest builds Stripe webhook events for tests: real event
// payload shapes (events/*.json, trimmed copies of what Stripe sends, in the
// API versions their api_version names) with the IDs, amounts and times of
// a scenario filled in, signed with stripe-go's own test helper.
// scripts/stripe-replay.py fills the same templates.
package stripetest

import (
	"embed"
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/stripe/stripe-go/v82/webhook"
)

//go:embed events/*.json
var events embed.FS

// Event returns the payload of the event template name (a file of events/
// without .json) with every {{KEY}} replaced by vars[KEY]. Values are put
// in as they are: quote strings with Q, or pass null. A placeholder left
// unfilled fails the test.
func Event(t testing.TB, name string, vars map[string]string) []byte {
	t.Helper()
	b, err := events.ReadFile("events/" + name + ".json")
	if err != nil {
		t.Fatalf("stripetest: no event template %q: %v", name, err)
	}
	s := string(b)
	for k, v := range vars {
		s = strings.ReplaceAll(s, "{{"+k+"}}", v)
	}
	if i := strings.Index(s, "{{"); i >= 0 {
		t.Fatalf("stripetest: %s: placeholder %s is not filled", name, s[i:i+strings.Index(s[i:], "}}")+2])
	}
	return []byte(s)
}

// Sign returns the Stripe-Signature header of payload signed with secret at
// the given time (webhook.GenerateTestSignedPayload).
func Sign(payload []byte, secret string, at time.Time) string {
	return webhook.GenerateTestSignedPayload(&webhook.UnsignedPayload{Payload: payload, Secret: secret, Timestamp: at}).Header
}

// Q quotes a string value for a template.
func Q(s string) string { return fmt.Sprintf("%q", s) }

// Unix renders a time for a template's created fields.
func Unix(t time.Time) string { return fmt.Sprint(t.Unix()) }
