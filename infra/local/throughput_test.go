package main

import (
	"os/exec"
	"regexp"
	"strings"
	"testing"
)

// TestThroughputScript runs scripts/throughput.sh briefly (a few hundred
// requests per scenario and server) so that the script, the load tool and
// its bare server keep working: every scenario must answer only the
// expected status on both servers, the new-visitor scenario must have
// counted one click per redirect, and the table must list the three paths
// with both figures and the ratio. The figures themselves are not judged
// here (speed is measured, never asserted).
func TestThroughputScript(t *testing.T) {
	for _, tool := range []string{"bash", "curl", "python3", "go"} {
		if _, err := exec.LookPath(tool); err != nil {
			t.Fatalf("the throughput script needs %s: %v", tool, err)
		}
	}
	cmd := exec.Command("bash", "../../scripts/throughput.sh")
	cmd.Env = append(cmd.Environ(), "THROUGHPUT_DURATION=5s", "THROUGHPUT_MAX=300", "THROUGHPUT_CONCURRENCY=4", "THROUGHPUT_LOG_LEVEL=WARN")
	out, err := cmd.CombinedOutput()
	if err != nil {
		t.Fatalf("throughput.sh: %v\n%s", err, out)
	}
	t.Logf("%s", out)
	for _, want := range []string{
		`(?m)^bare repeat +\d+ req/s +300 requests .* 300×302$`,
		`(?m)^product repeat +\d+ req/s +300 requests .* 300×302$`,
		`(?m)^product new +\d+ req/s +300 requests .* 300×302$`,
		`(?m)^clicks +300 counted for 300 redirects \(want 300\), read [0-9.]+[µm]?s after the run$`,
		`(?m)^product conversion +\d+ req/s +300 requests .* 300×201$`,
		`(?m)^\| GET /r/\{code\}, repeat visitor +\| +\d+ \| +\d+ \| +\d+ % \|$`,
		`(?m)^\| GET /r/\{code\}, new visitor \(click write\) +\| +\d+ \| +\d+ \| +\d+ % \|$`,
		`(?m)^\| POST /v1/conversions +\| +\d+ \| +\d+ \| +\d+ % \|$`,
	} {
		if !regexp.MustCompile(want).Match(out) {
			t.Errorf("the output has no line matching %s", want)
		}
	}
	if strings.Contains(string(out), "error") {
		t.Errorf("the output reports errors")
	}
}
