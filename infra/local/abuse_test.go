package main

import (
	"os/exec"
	"strings"
	"testing"
)

// TestAbuseScript runs scripts/abuse.sh — issue 11's four attacks, by hand
// against any server on this machine's loopback — against the real server
// binary, one attack per subtest (in the script's order: the login lockout
// last, since it locks the admin out): each must get what the issue says.
func TestAbuseScript(t *testing.T) {
	for _, tool := range []string{"bash", "curl", "python3"} {
		if _, err := exec.LookPath(tool); err != nil {
			t.Fatalf("the abuse script needs %s: %v", tool, err)
		}
	}
	const password = "abuse-admin-password"
	s := start(t, buildServer(t), t.TempDir(), "BOOTSTRAP_ADMIN_PASSWORD="+password)
	for _, attack := range []struct{ n, name string }{
		{"1", "anonymous mailbox"}, {"2", "money overflow"}, {"4", "click inflation"}, {"3", "login lockout"},
	} {
		t.Run(attack.n+" "+attack.name, func(t *testing.T) {
			cmd := exec.Command("bash", "../../scripts/abuse.sh", s.base, attack.n)
			cmd.Env = append(cmd.Environ(), "BOOTSTRAP_ADMIN_EMAIL=owner@example.com", "BOOTSTRAP_ADMIN_PASSWORD="+password)
			out, err := cmd.CombinedOutput()
			if err != nil || !strings.Contains(string(out), "attack "+attack.n+" — ") || !strings.HasSuffix(strings.TrimSpace(string(out)), "— ok") {
				t.Fatalf("abuse.sh %s: %v\n%s\nserver log:\n%s", attack.n, err, out, s.stderr)
			}
			t.Logf("%s", out)
		})
	}
}
