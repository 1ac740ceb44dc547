package main

import (
	"os/exec"
	"strings"
	"testing"
)

// TestStripeReplayScript runs scripts/stripe-replay.py — runnable by hand
// against `make run` — against the real server binary: embedded (the key
// sealing the webhook secret generated in the data directory) and AWS-local
// (DynamoDB Local's stream and local-aws-sqs; the key given as SECRETS_KEY,
// as on AWS). The script signs Stripe events, posts them to the webhook and
// checks the conversions and the commissions the pipeline made of them, and
// the signed outbound webhooks a loopback receiver got for them.
func TestStripeReplayScript(t *testing.T) {
	if _, err := exec.LookPath("python3"); err != nil {
		t.Fatalf("the Stripe replay script needs python3: %v", err)
	}
	bin := buildServer(t)
	for _, mode := range []struct {
		name string
		args []string
		env  []string
	}{
		{"embedded", nil, []string{"WEBHOOK_ALLOW_PRIVATE=true"}},
		{"aws-local", []string{"-aws"}, []string{"SECRETS_KEY=c3RyaXBlLXJlcGxheS10ZXN0LWtleS0zMi1ieXRlcyE=", "WEBHOOK_ALLOW_PRIVATE=true"}},
	} {
		t.Run(mode.name, func(t *testing.T) {
			s := startWith(t, bin, t.TempDir(), mode.args, append(mode.env, "BOOTSTRAP_ADMIN_PASSWORD=stripe-admin-password")...)
			cmd := exec.Command("python3", "../../scripts/stripe-replay.py", s.base)
			cmd.Env = append(cmd.Environ(), "BOOTSTRAP_ADMIN_EMAIL=owner@example.com", "BOOTSTRAP_ADMIN_PASSWORD=stripe-admin-password")
			out, err := cmd.CombinedOutput()
			// With WEBHOOK_ALLOW_PRIVATE the script also registers a loopback
			// receiver and checks the outbound webhooks it gets.
			if err != nil || !strings.Contains(string(out), "stripe replay: OK") || !strings.Contains(string(out), "webhooks: OK") {
				t.Fatalf("stripe replay: %v\n%s\nserver log:\n%s", err, out, s.stderr)
			}
			t.Logf("%s", out)
		})
	}
}
