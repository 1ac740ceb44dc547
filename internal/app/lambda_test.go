package app_test

import (
	"context"
	"encoding/json"
	"net/http"
	"os"
	"path/filepath"
	"regexp"
	"sort"
	"strings"
	"testing"

	"github.com/aws/aws-lambda-go/events"

	"github.com/partnerloop/partnerloop/internal/app"
	"github.com/partnerloop/partnerloop/internal/apptest"
	"github.com/partnerloop/partnerloop/internal/domain"
	"github.com/partnerloop/partnerloop/internal/eventfile"
	"github.com/partnerloop/partnerloop/internal/httpapi"
	"github.com/partnerloop/partnerloop/internal/web"
)

// seeded builds an app with a live program whose referrer has the code
// SPRING26, and returns it with the values the sample events refer to.
func seeded(t *testing.T) (*apptest.Env, map[string]string) {
	e := apptest.New(t)
	programID, _ := e.LiveProgram(t, e.AdminToken)
	r := e.Do(t, "POST", "/v1/programs/"+programID+"/referrers", e.AdminToken, map[string]string{"email": "sam@example.com", "code": "SPRING26"})
	if r.Status != http.StatusCreated {
		t.Fatalf("seed referrer: %d %s", r.Status, r.Body)
	}
	// A partner with a portal user, for the portal's events.
	r = e.Do(t, "POST", "/v1/partner-tiers", e.AdminToken, map[string]any{"name": "Gold", "commission": map[string]any{"type": "flat", "amount": 1000}})
	if r.Status != http.StatusCreated {
		t.Fatalf("seed tier: %d %s", r.Status, r.Body)
	}
	r = e.Do(t, "POST", "/v1/partners", e.AdminToken, map[string]any{"companyName": "Acme Resellers", "contactName": "Ann",
		"email": "ann@acme.example", "tierId": r.String("id")})
	if r.Status != http.StatusCreated {
		t.Fatalf("seed partner: %d %s", r.Status, r.Body)
	}
	partnerToken := e.NewUser(t, e.OrgID, domain.RolePartner, r.String("id"))
	e.RollUp(t)
	return e, map[string]string{
		"TOKEN": e.AdminToken, "PARTNER_TOKEN": partnerToken, "CODE": "SPRING26", "PROGRAM_ID": programID,
		"EMAIL": apptest.AdminEmail, "PASSWORD": apptest.AdminPassword,
	}
}

// TestSampleEventsMatchLocalServer invokes every function's Lambda handler
// with every sample event in events/ and checks the answer is the one the
// local server gives for the same request.
func TestSampleEventsMatchLocalServer(t *testing.T) {
	files, err := filepath.Glob("../../events/*.json")
	if err != nil || len(files) == 0 {
		t.Fatalf("no sample events: %v", err)
	}
	// Run them in the order of the referral flow: a conversion after the
	// referral it converts.
	sort.SliceStable(files, func(i, j int) bool {
		return !strings.Contains(files[i], "conversion") && strings.Contains(files[j], "conversion")
	})
	lambdaEnv, lambdaVars := seeded(t)
	localEnv, localVars := seeded(t)
	groups := map[string]bool{}
	for _, rt := range lambdaEnv.App.API.Routes() {
		groups[rt.Group] = true
	}
	for _, g := range web.AllGroups() { // the web UI's page groups
		groups[g.Name] = true
	}
	fns, _ := os.ReadDir("../../functions")
	for _, file := range files {
		name := strings.TrimSuffix(filepath.Base(file), ".json")
		// The function is the longest folder name the file starts with
		// (analytics-rollup-minute is analytics-rollup's, not analytics').
		group := ""
		for _, fn := range fns {
			if strings.HasPrefix(name, fn.Name()+"-") && len(fn.Name()) > len(group) {
				group = fn.Name()
			}
		}
		if !groups[group] {
			continue // events of non-HTTP functions are tested with their function
		}
		t.Run(name, func(t *testing.T) {
			raw, err := eventfile.Load(file, func(k string) (string, bool) { v, ok := lambdaVars[k]; return v, ok })
			if err != nil {
				t.Fatal(err)
			}
			var ev events.APIGatewayV2HTTPRequest
			if err := json.Unmarshal(raw, &ev); err != nil {
				t.Fatal(err)
			}
			fn := lambdaEnv.App.NewHTTPFunction(group)
			got, err := fn(context.Background(), ev)
			if err != nil {
				t.Fatal(err)
			}

			// The same request, as an HTTP client would send it to the
			// local server.
			rawLocal, err := eventfile.Load(file, func(k string) (string, bool) { v, ok := localVars[k]; return v, ok })
			if err != nil {
				t.Fatal(err)
			}
			var lev events.APIGatewayV2HTTPRequest
			if err := json.Unmarshal(rawLocal, &lev); err != nil {
				t.Fatal(err)
			}
			hdr := http.Header{}
			for k, v := range lev.Headers {
				hdr.Set(k, v)
			}
			if len(lev.Cookies) > 0 {
				hdr.Set("Cookie", strings.Join(lev.Cookies, "; "))
			}
			path := lev.RawPath
			if lev.RawQueryString != "" {
				path += "?" + lev.RawQueryString
			}
			var body any
			if lev.Body != "" {
				body = lev.Body
			}
			// The one-process server: the API's paths to the API, the rest to the web UI.
			want := apptest.Do(t, localEnv.App.Handler(), lev.RequestContext.HTTP.Method, path, "", body, hdr)

			if got.StatusCode != want.Status {
				t.Fatalf("Lambda status %d, local %d\nLambda: %s\nlocal: %s", got.StatusCode, want.Status, got.Body, want.Body)
			}
			if strings.HasPrefix(name, web.Group+"-") && got.StatusCode != http.StatusOK {
				t.Fatalf("web sample event: %d, want the page", got.StatusCode)
			}
			if got.StatusCode >= 400 && name != "identity-healthz" {
				t.Fatalf("sample event fails: %d %s", got.StatusCode, got.Body)
			}
			if g, w := normalize(got.Body), normalize(string(want.Body)); g != w {
				t.Fatalf("bodies differ\nLambda: %s\nlocal:  %s", g, w)
			}
			for _, h := range []string{"Content-Type", "Location"} {
				if g, w := got.Headers[h], want.Header.Get(h); g != w {
					t.Fatalf("%s: Lambda %q, local %q", h, g, w)
				}
			}
			if g, w := normalizeCookies(strings.Join(got.Cookies, "; ")), normalizeCookies(strings.Join(want.Header.Values("Set-Cookie"), "; ")); g != w {
				t.Fatalf("cookies: Lambda %q, local %q", g, w)
			}
		})
	}
}

// csrfField and presession match what is random by design in web pages:
// the form token, and the pre-session cookie it is derived from.
var (
	csrfField  = regexp.MustCompile(`name="csrf" value="[^"]*"`)
	presession = regexp.MustCompile(`pl_presession=[^;]*`)
)

func normalizeCookies(s string) string {
	return presession.ReplaceAllString(s, "pl_presession=<random>")
}

// dataAsOf is the time a page's analytics are as of (dataAsOf's first
// group is what comes before it).
var dataAsOf = regexp.MustCompile(`(?i)(data-as-of>[^<]*data as of )[^<]*`)

// normalize blanks the members that are random by design (session tokens,
// form tokens) or by the clock (the analytics' as-of time).
func normalize(body string) string {
	var m map[string]any
	if json.Unmarshal([]byte(body), &m) != nil {
		// A page's "data as of" is the rollup's last run, in minutes: the
		// two requests may fall on either side of a minute.
		body = dataAsOf.ReplaceAllString(body, "${1}<the rollup's last run>")
		return csrfField.ReplaceAllString(body, `name="csrf" value="<token>"`)
	}
	if _, ok := m["token"]; ok {
		m["token"] = "<token>"
	}
	for _, r := range []map[string]any{m, asMap(m["previous"])} {
		if _, ok := r["asOf"]; ok {
			r["asOf"] = "<the rollup's last run>"
		}
	}
	b, _ := json.Marshal(m)
	return string(b)
}

func asMap(v any) map[string]any {
	m, _ := v.(map[string]any)
	return m
}

// TestFunctionServesOnlyItsGroup: a function answers its own routes and
// 404s the others, so a routing mistake in the template cannot reach a
// handler through the wrong function.
func TestFunctionServesOnlyItsGroup(t *testing.T) {
	e, _ := seeded(t)
	ev := events.APIGatewayV2HTTPRequest{
		RawPath: "/v1/programs", Headers: map[string]string{"authorization": "Bearer " + e.AdminToken},
		RequestContext: events.APIGatewayV2HTTPRequestContext{HTTP: events.APIGatewayV2HTTPRequestContextHTTPDescription{Method: "GET", Path: "/v1/programs", SourceIP: "203.0.113.9"}},
	}
	for group, status := range map[string]int{httpapi.GroupPrograms: 200, httpapi.GroupTracking: 404, httpapi.GroupIdentity: 404} {
		got, err := e.App.NewHTTPFunction(group)(context.Background(), ev)
		if err != nil {
			t.Fatal(err)
		}
		if got.StatusCode != status {
			t.Errorf("%s function: GET /v1/programs → %d, want %d", group, got.StatusCode, status)
		}
	}
}

func TestEverySampleEventFileIsNamedAfterAFunction(t *testing.T) {
	files, _ := filepath.Glob("../../events/*.json")
	fns, _ := os.ReadDir("../../functions")
	for _, f := range files {
		ok := false
		for _, fn := range fns {
			ok = ok || strings.HasPrefix(filepath.Base(f), fn.Name()+"-")
		}
		if !ok {
			t.Errorf("%s is not named <function>-<case>.json", f)
		}
	}
	for _, fn := range fns {
		if m, _ := filepath.Glob("../../events/" + fn.Name() + "-*.json"); len(m) == 0 {
			t.Errorf("function %s has no sample event", fn.Name())
		}
	}
}

// TestAPIAndWebPathsDoNotOverlap: the one-process server sends each path
// to the API or to the web UI as API Gateway does (routes of the table to
// their functions, the rest to the web function's $default route).
func TestAPIAndWebPathsDoNotOverlap(t *testing.T) {
	e := apptest.New(t)
	for _, rt := range e.App.API.Routes() {
		if !app.IsAPIPath(rt.Pattern) {
			t.Errorf("API route %s %s would be served by the web UI locally", rt.Method, rt.Pattern)
		}
	}
	for _, p := range e.App.Web.(*web.Server).Pages() {
		if app.IsAPIPath(p.Pattern) {
			t.Errorf("web page %s %s would be served by the API locally", p.Method, p.Pattern)
		}
	}
}
