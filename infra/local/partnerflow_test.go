package main

import (
	"os/exec"
	"regexp"
	"strings"
	"testing"
)

// TestPartnerFlowScript runs scripts/partner-flow.sh — the scripted
// partner flow, runnable by hand against `make run` and `make run-aws` —
// against the real server binary in both modes: tier and partner, the
// invitation read from the local mailbox (embedded) or from
// aws-ses-v2-local's store (AWS-local), the link's page, acceptance, the
// partner's deal and isolation, approval and a won deal's commission, and
// re-sent and revoked invitations that stop working.
func TestPartnerFlowScript(t *testing.T) {
	for _, tool := range []string{"bash", "curl", "python3"} {
		if _, err := exec.LookPath(tool); err != nil {
			t.Fatalf("the partner flow script needs %s: %v", tool, err)
		}
	}
	bin := buildServer(t)
	for _, mode := range []struct {
		name string
		args []string
	}{{"embedded", nil}, {"aws-local", []string{"-aws"}}} {
		t.Run(mode.name, func(t *testing.T) {
			s := startWith(t, bin, t.TempDir(), mode.args, "BOOTSTRAP_ADMIN_PASSWORD=flow-admin-password")
			args := []string{"../../scripts/partner-flow.sh", s.base}
			if mode.name == "aws-local" {
				ses := regexp.MustCompile(`SES (http://127\.0\.0\.1:\d+)`).FindStringSubmatch(s.stderr.String())
				if ses == nil {
					t.Fatalf("the AWS-local server did not say where aws-ses-v2-local listens:\n%s", s.stderr)
				}
				args = append(args, ses[1]+"/store")
			}
			cmd := exec.Command("bash", args...)
			cmd.Env = append(cmd.Environ(), "BOOTSTRAP_ADMIN_EMAIL=owner@example.com", "BOOTSTRAP_ADMIN_PASSWORD=flow-admin-password")
			out, err := cmd.CombinedOutput()
			if err != nil || !strings.Contains(string(out), "partner flow: OK") {
				t.Fatalf("partner flow: %v\n%s\nserver log:\n%s", err, out, s.stderr)
			}
			t.Logf("%s", out)
		})
	}
}
