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
//   - only the functions that serve statements (portal, web-portal) link
//     the PDF library (internal/portal/statementpdf registers it);
//   - only the web functions (web, web-partners, web-admin, web-portal)
//     link the web UI (internal/app/webfn serves one page group of it) and
//     the templ runtime its pages are rendered with, and only the functions
//     that format money for people (portal's PDF, the web functions) link
//     its decimal library (cockroachdb/apd, 1 ms of init);
//   - only the functions that send mail link the SES mailer (sesmail,
//     which signs its one SendEmail request itself: none links the SDK's
//     SES client), only the stream-router the SQS client
//     (internal/app/sqssend);
//   - none links the AWS SDK's default configuration chain (config, STS,
//     SSO, SSO-OIDC, sign-in): awsenv builds the configuration from the
//     environment;
//   - none links the YAML parser (api imports only embed; api/apiops,
//     which parses the OpenAPI document, is the tests').
//
// And each API function's main serves its own group's routes only
// (httpapi.<Group>Routes), each web function's its own page group only
// (webfn.Start(web.<Group>Group(), …)), passing the SES mailer only if it
// sends mail.
func TestFunctionsLinkOnlyWhatTheyUse(t *testing.T) {
	dirs, err := filepath.Glob("../../functions/*")
	if err != nil || len(dirs) == 0 {
		t.Fatalf("no functions found: %v", err)
	}
	webFunctions := []string{"web", "web-partners", "web-admin", "web-portal"}
	only := map[string][]string{
		"github.com/go-pdf/fpdf":                                   {"portal", "web-portal"},
		"github.com/partnerloop/partnerloop/internal/web":          webFunctions,
		"github.com/a-h/templ":                                     webFunctions,
		"github.com/cockroachdb/apd/v3":                            append([]string{"portal"}, webFunctions...),
		"github.com/partnerloop/partnerloop/internal/mail/sesmail": {"identity", "partners", "web", "web-partners", "web-admin", "webhook-dispatcher"},
		"github.com/aws/aws-sdk-go-v2/service/sesv2":               nil,
		"github.com/aws/aws-sdk-go-v2/service/sqs":                 {"stream-router"},
		"modernc.org/sqlite":                                       nil,
		"github.com/aws/aws-sdk-go-v2/config":                      nil,
		"github.com/aws/aws-sdk-go-v2/service/sts":                 nil,
		"github.com/aws/aws-sdk-go-v2/service/sso":                 nil,
		"github.com/aws/aws-sdk-go-v2/service/ssooidc":             nil,
		"github.com/aws/aws-sdk-go-v2/service/signin":              nil,
		"github.com/aws/aws-sdk-go-v2/feature/ec2/imds":            nil,
		"github.com/partnerloop/partnerloop/internal/demo":         nil,
		"go.yaml.in/yaml/v3":                                       nil,
	}
	mailers := only["github.com/partnerloop/partnerloop/internal/mail/sesmail"]
	start := regexp.MustCompile(`app\.StartHTTPFunction\(httpapi\.Group(\w+), httpapi\.(\w+)Routes, (\S+)\)`)
	webStart := regexp.MustCompile(`webfn\.Start\(web\.(\w+)Group\(\), (\S+)\)`)
	webGroupOf := map[string]string{"Console": "web", "Partners": "web-partners", "Admin": "web-admin", "Portal": "web-portal"}
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
		if slices.Contains(webFunctions, name) {
			m := webStart.FindStringSubmatch(string(src))
			if m == nil || webGroupOf[m[1]] != name {
				t.Errorf("functions/%s: main must be webfn.Start(web.<Name>Group(), …) for its own page group; got %q", name, m)
			} else if got, want := m[2] != "nil", slices.Contains(mailers, name); got != want {
				t.Errorf("functions/%s passes a mailer: %v, want %v", name, got, want)
			}
			continue
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

// TestFunctionsKeepMethodDeadCodeElimination builds the functions that
// render email (identity, partners) and the web UI's four, as `make lambda` does
// but for this machine, and reads their symbols. A binary that calls
// methods by name through reflection (text/template and html/template do)
// makes the linker keep every exported method of every type held in an
// interface, and the types of their fields: identity and partners were 17
// MB instead of 11 for rendering email with text/template, web 16.3
// instead of 14 for its pages in html/template. So:
//   - none of them calls a method by name nor executes a text or HTML
//     template (internal/mail renders the emails with its own engine, the
//     web UI's pages are templ components: Go code);
//   - in all of them the DynamoDB client keeps only the operations the code
//     calls: the store holds the client's methods, not the client, and the
//     emulator table's wait polls DescribeTable instead of holding the
//     client in the SDK's waiter interface;
//   - each web function links the templ components of its own page group
//     only (internal/web.PageGroup).
func TestFunctionsKeepMethodDeadCodeElimination(t *testing.T) {
	if testing.Short() && os.Getenv("CI") != "true" { // CI never skips it
		t.Skip("builds six functions (never skipped when CI=true)")
	}
	dir := t.TempDir()
	cmd := exec.Command("go", "build", "-tags", "lambda.norpc", "-trimpath", "-o", dir+string(filepath.Separator),
		"../../functions/identity", "../../functions/partners", "../../functions/web", "../../functions/web-partners",
		"../../functions/web-admin", "../../functions/web-portal")
	cmd.Env = append(os.Environ(), "CGO_ENABLED=0")
	if out, err := cmd.CombinedOutput(); err != nil {
		t.Fatalf("go build: %v\n%s", err, out)
	}
	// A page of each web function's group, rendered by its templ component:
	// each function links its own group's and no other's (the components
	// are chosen by a method of each page's data, not one switch over all).
	pageOf := map[string]string{"web": "dashboardPage", "web-partners": "partnerPage", "web-admin": "commissionsPage", "web-portal": "portalPage"}
	for _, name := range []string{"identity", "partners", "web", "web-partners", "web-admin", "web-portal"} {
		out, err := exec.Command("go", "tool", "nm", filepath.Join(dir, name)).Output()
		if err != nil {
			t.Fatalf("go tool nm %s: %v", name, err)
		}
		syms := map[string]bool{}
		for _, line := range strings.Split(string(out), "\n") {
			if f := strings.Fields(line); len(f) >= 3 {
				syms[f[len(f)-1]] = true
			}
		}
		// A control, so that a change in how symbols are named cannot make
		// the checks below pass vacuously.
		if !syms["github.com/aws/aws-sdk-go-v2/service/dynamodb.(*Client).GetItem"] {
			t.Fatalf("functions/%s: no symbol dynamodb.(*Client).GetItem in go tool nm's output", name)
		}
		for _, sym := range []string{"reflect.Value.MethodByName", "reflect.Value.Method", "text/template.(*Template).Execute",
			"html/template.(*Template).Execute", "html/template.(*Template).ExecuteTemplate"} {
			if syms[sym] {
				t.Errorf("functions/%s links %s: the linker keeps every exported method of every type in an interface", name, sym)
			}
		}
		// A positive control for the web UI: its pages are there, as Go.
		if _, ok := pageOf[name]; ok && !syms["github.com/partnerloop/partnerloop/internal/web.layout"] {
			t.Errorf("functions/%s: no symbol internal/web.layout: the check above may pass vacuously", name)
		}
		for fn, page := range pageOf {
			if _, web := pageOf[name]; !web {
				break
			}
			if got, want := syms["github.com/partnerloop/partnerloop/internal/web."+page], fn == name; got != want {
				t.Errorf("functions/%s links internal/web.%s (a page of functions/%s): %v, want %v", name, page, fn, got, want)
			}
		}
		for _, sym := range []string{
			"github.com/aws/aws-sdk-go-v2/service/dynamodb.(*Client).DeleteBackup",
			"github.com/aws/aws-sdk-go-v2/service/dynamodb.(*Client).ListTables",
		} {
			if syms[sym] {
				t.Errorf("functions/%s links %s, an operation it never calls", name, sym)
			}
		}
	}
}
