package app_test

import (
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"slices"
	"strings"
	"testing"
)

// TestFunctionsLinkOnlyWhatTheyUse keeps the Lambda functions small and
// quick to start (docs/performance.md, "Lambda footprint";
// scripts/lambda-footprint.sh prints sizes and init times). By each
// function's imports, as `make lambda` builds it (-tags lambda.norpc):
//   - no function links the SQLite engine (the embedded store is the
//     one-process server's);
//   - only the functions that serve statements (portal, web) link the PDF
//     library (internal/portal/statementpdf registers it);
//   - only web links the web UI (internal/app/webui wires it), and only
//     the functions that format money for people (portal's PDF, web) link
//     its decimal library (cockroachdb/apd, 1 ms of init);
//   - only the functions that send mail link the SES client, only the
//     stream-router the SQS client (internal/app/sqssend);
//   - none links the AWS SDK's default configuration chain (config, STS,
//     SSO, SSO-OIDC, sign-in): awsenv builds the configuration from the
//     environment.
//
// And each API function's main serves its own group's routes only
// (httpapi.<Group>Routes), passing the SES mailer only if it sends mail.
func TestFunctionsLinkOnlyWhatTheyUse(t *testing.T) {
	dirs, err := filepath.Glob("../../functions/*")
	if err != nil || len(dirs) == 0 {
		t.Fatalf("no functions found: %v", err)
	}
	only := map[string][]string{
		"github.com/go-pdf/fpdf":                           {"portal", "web"},
		"github.com/partnerloop/partnerloop/internal/web":  {"web"},
		"github.com/cockroachdb/apd/v3":                    {"portal", "web"},
		"github.com/aws/aws-sdk-go-v2/service/sesv2":       {"identity", "partners", "web", "webhook-dispatcher"},
		"github.com/aws/aws-sdk-go-v2/service/sqs":         {"stream-router"},
		"modernc.org/sqlite":                               nil,
		"github.com/aws/aws-sdk-go-v2/config":              nil,
		"github.com/aws/aws-sdk-go-v2/service/sts":         nil,
		"github.com/aws/aws-sdk-go-v2/service/sso":         nil,
		"github.com/aws/aws-sdk-go-v2/service/ssooidc":     nil,
		"github.com/aws/aws-sdk-go-v2/service/signin":      nil,
		"github.com/aws/aws-sdk-go-v2/feature/ec2/imds":    nil,
		"github.com/partnerloop/partnerloop/internal/demo": nil,
	}
	mailers := only["github.com/aws/aws-sdk-go-v2/service/sesv2"]
	start := regexp.MustCompile(`app\.StartHTTPFunction\(httpapi\.Group(\w+), httpapi\.(\w+)Routes, (\S+)\)`)
	for _, dir := range dirs {
		if fi, err := os.Stat(dir); err != nil || !fi.IsDir() {
			continue
		}
		name := filepath.Base(dir)
		out, err := exec.Command("go", "list", "-tags", "lambda.norpc", "-deps", "./"+filepath.ToSlash(dir)).CombinedOutput()
		if err != nil {
			t.Fatalf("go list -deps %s: %v\n%s", dir, err, out)
		}
		deps := strings.Fields(string(out))
		for pkg, allowed := range only {
			if got, want := slices.Contains(deps, pkg), slices.Contains(allowed, name); got != want {
				t.Errorf("functions/%s links %s: %v, want %v", name, pkg, got, want)
			}
		}
		src, err := os.ReadFile(filepath.Join(dir, "main.go"))
		if err != nil {
			t.Fatal(err)
		}
		if !strings.Contains(string(src), "StartHTTPFunction") {
			continue
		}
		m := start.FindStringSubmatch(string(src))
		if m == nil || !strings.EqualFold(m[1], name) || m[2] != m[1] {
			t.Errorf("functions/%s: main must be app.StartHTTPFunction(httpapi.Group<Name>, httpapi.<Name>Routes, …) for its own group; got %q", name, m)
			continue
		}
		if got, want := m[3] != "nil", slices.Contains(mailers, name); got != want {
			t.Errorf("functions/%s passes a mailer: %v, want %v", name, got, want)
		}
	}
}
