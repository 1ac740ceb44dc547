package main

import (
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
)

// TestInstallDepsCheckListsEveryMissingTool runs scripts/install-deps.sh
// --check (the first step of make test) on a PATH that has only some of the
// tools: it must fail at once with one message naming each missing tool
// with its install command, and nothing about the tools that are there.
func TestInstallDepsCheckListsEveryMissingTool(t *testing.T) {
	// A bare PATH: bash for the script, and the given tools linked in.
	pathWith := func(tools ...string) string {
		dir := t.TempDir()
		for _, tool := range append([]string{"bash"}, tools...) {
			p, err := exec.LookPath(tool)
			if err != nil {
				t.Fatalf("this test needs %s: %v", tool, err)
			}
			if err := os.Symlink(p, filepath.Join(dir, tool)); err != nil {
				t.Fatal(err)
			}
		}
		return dir
	}
	for _, tc := range []struct {
		name          string
		path          string
		missing, have []string
	}{
		{"nothing", pathWith(), []string{"Go 1.21+", "Java 17+", "Node 20+ and npm", "Chromium", "cfn-lint"}, nil},
		{"no browser, no linter", pathWith("go", "java", "node", "npm"),
			[]string{"Chromium:", "apt-get install -y chromium", "cfn-lint:", "pipx install cfn-lint"},
			[]string{"Go 1.21+", "Java", "Node"}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			cmd := exec.Command("../../scripts/install-deps.sh", "--check")
			cmd.Env = []string{"PATH=" + tc.path, "HOME=" + t.TempDir(), "CHROME_PATH="}
			out, err := cmd.CombinedOutput()
			if exit, ok := err.(*exec.ExitError); !ok || exit.ExitCode() != 1 {
				t.Fatalf("install-deps.sh --check: %v, want exit status 1\n%s", err, out)
			}
			msg := string(out)
			if strings.Count(msg, "make test needs tools") != 1 {
				t.Errorf("want one message:\n%s", msg)
			}
			for _, want := range tc.missing {
				if !strings.Contains(msg, want) {
					t.Errorf("the message does not mention %q:\n%s", want, msg)
				}
			}
			for _, there := range tc.have {
				if strings.Contains(msg, there) {
					t.Errorf("the message mentions %q, which is there:\n%s", there, msg)
				}
			}
		})
	}
	// And on this machine (what make test runs on), every tool is there.
	out, err := exec.Command("../../scripts/install-deps.sh", "--check").CombinedOutput()
	if err != nil || !strings.HasPrefix(string(out), "tools: ") {
		t.Fatalf("install-deps.sh --check here: %v\n%s", err, out)
	}
}
