package main

import (
	"os/exec"
	"strings"
	"testing"
)

// TestAnalyticsSessionScript runs scripts/analytics-session.py — the
// issue's scripted analytics session, runnable by hand against `make run`
// and `make run-aws` — against the real server binary in both modes: it
// makes programs, a partner, clicks, referrals (one ineligible),
// conversions, a refund and a won deal, and checks the summary, the top
// referrers and the day series against its own hand count, through the
// rollups (the SQLite outbox, or DynamoDB Local's stream, on the rollup's
// ticker).
func TestAnalyticsSessionScript(t *testing.T) {
	if _, err := exec.LookPath("python3"); err != nil {
		t.Fatalf("the analytics session script needs python3: %v", err)
	}
	bin := buildServer(t)
	for _, mode := range []struct {
		name string
		args []string
	}{{"embedded", nil}, {"aws-local", []string{"-aws"}}} {
		t.Run(mode.name, func(t *testing.T) {
			s := startWith(t, bin, t.TempDir(), mode.args, "BOOTSTRAP_ADMIN_PASSWORD=analytics-admin-password")
			cmd := exec.Command("python3", "../../scripts/analytics-session.py", s.base)
			cmd.Env = append(cmd.Environ(), "BOOTSTRAP_ADMIN_EMAIL=owner@example.com", "BOOTSTRAP_ADMIN_PASSWORD=analytics-admin-password", "ANALYTICS_TIMEOUT=60")
			out, err := cmd.CombinedOutput()
			if err != nil || !strings.Contains(string(out), "analytics session: OK") {
				t.Fatalf("analytics session: %v\n%s\nserver log:\n%s", err, out, s.stderr)
			}
			t.Logf("%s", out)
		})
	}
}
