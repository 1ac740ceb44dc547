package httpapi_test

import (
	"os"
	"sort"
	"strings"
	"testing"

	"go.yaml.in/yaml/v3"

	"github.com/partnerloop/partnerloop/api/apiops"
	"github.com/partnerloop/partnerloop/internal/apptest"
	"github.com/partnerloop/partnerloop/internal/httpapi"
	"github.com/partnerloop/partnerloop/internal/samtemplate"
)

// routeKeys returns "METHOD /path" for every route of the table, by group.
func routeKeys(t *testing.T) map[string]string {
	e := apptest.New(t)
	keys := map[string]string{}
	for _, rt := range e.App.API.Routes() {
		k := rt.Method + " " + rt.Pattern
		if _, dup := keys[k]; dup {
			t.Fatalf("route %s is in the table twice", k)
		}
		keys[k] = rt.Group
	}
	return keys
}

func diff(t *testing.T, what string, code map[string]string, other map[string]bool) {
	t.Helper()
	var missing, extra []string
	for k := range code {
		if !other[k] {
			missing = append(missing, k)
		}
	}
	for k := range other {
		if _, ok := code[k]; !ok {
			extra = append(extra, k)
		}
	}
	sort.Strings(missing)
	sort.Strings(extra)
	if len(missing) > 0 {
		t.Errorf("routes missing from %s: %s", what, strings.Join(missing, ", "))
	}
	if len(extra) > 0 {
		t.Errorf("%s has routes the code does not serve: %s", what, strings.Join(extra, ", "))
	}
}

// TestOpenAPIDocumentsEveryRoute: no route undocumented, no documented route
// missing.
func TestOpenAPIDocumentsEveryRoute(t *testing.T) {
	ops, err := apiops.Operations()
	if err != nil {
		t.Fatal(err)
	}
	doc := map[string]bool{}
	for _, op := range ops {
		doc[op.Method+" "+op.Path] = true
	}
	diff(t, "api/openapi.yaml", routeKeys(t), doc)
}

// TestOpenAPIStatesWhoMayCall: the document's security and "Roles:" line of
// every operation say what the route table enforces.
func TestOpenAPIStatesWhoMayCall(t *testing.T) {
	ops, err := apiops.Operations()
	if err != nil {
		t.Fatal(err)
	}
	byKey := map[string]apiops.Operation{}
	for _, op := range ops {
		byKey[op.Method+" "+op.Path] = op
	}
	names := map[string]string{"admin": "admin", "program_manager": "program_manager", "partner": "partner", "API key": "api_key"}
	e := apptest.New(t)
	for _, rt := range e.App.API.Routes() {
		op, ok := byKey[rt.Method+" "+rt.Pattern]
		if !ok {
			continue // reported by TestOpenAPIDocumentsEveryRoute
		}
		key := rt.Method + " " + rt.Pattern
		if op.Public != rt.Access.Public {
			t.Errorf("%s: document public=%v, route table public=%v", key, op.Public, rt.Access.Public)
			continue
		}
		line := ""
		for _, l := range strings.Split(op.Description, "\n") {
			if strings.HasPrefix(strings.TrimSpace(l), "Roles:") {
				line = strings.TrimSuffix(strings.TrimSpace(strings.TrimPrefix(strings.TrimSpace(l), "Roles:")), ".")
			}
		}
		switch {
		case line == "":
			t.Errorf("%s: description has no \"Roles:\" line", key)
		case rt.Access.Public:
			if !strings.HasPrefix(line, "public") {
				t.Errorf("%s: public route documented as %q", key, line)
			}
		case rt.Access.AnyRole:
			if !strings.HasPrefix(line, "any") {
				t.Errorf("%s: open to every caller, documented as %q", key, line)
			}
		default:
			var want, got []string
			for _, r := range rt.Access.Roles {
				want = append(want, string(r))
			}
			for _, n := range strings.Split(line, ", ") {
				got = append(got, names[n])
			}
			sort.Strings(want)
			sort.Strings(got)
			if strings.Join(got, ",") != strings.Join(want, ",") {
				t.Errorf("%s: documented roles %q, route table allows %v", key, line, want)
			}
		}
	}
}

// TestTemplateDeploysEveryRoute: template.yaml gives every route to the
// function of its group, and nothing else.
func TestTemplateDeploysEveryRoute(t *testing.T) {
	fns, err := samtemplate.HTTPRoutes("../../template.yaml")
	if err != nil {
		t.Fatal(err)
	}
	code := routeKeys(t)
	deployed := map[string]bool{}
	webDefault := false
	for id, routes := range fns {
		// The web UI's other page groups (internal/web.WebGroupPrefixes):
		// TestWebPagesAreOneGroupEach (internal/app) checks their routes.
		if id == "WebPartnersFunction" || id == "WebAdminFunction" || id == "WebPortalFunction" {
			continue
		}
		for _, ev := range routes {
			// The web UI (internal/web) takes every request no route of
			// the table matches: API Gateway's $default route, on the web
			// function only, for every method.
			if ev.Path == "$default" || id == "WebFunction" {
				if id != "WebFunction" || ev.Path != "$default" || ev.Method != "ANY" || webDefault {
					t.Errorf("%s: %s %s; only WebFunction serves $default, once, with Method ANY", id, ev.Method, ev.Path)
				}
				webDefault = true
				continue
			}
			k := strings.ToUpper(ev.Method) + " " + ev.Path
			deployed[k] = true
			if g, ok := code[k]; ok && !strings.EqualFold(id, g+"Function") {
				t.Errorf("%s is deployed on %s, but its group is %s", k, id, g)
			}
		}
	}
	diff(t, "template.yaml", code, deployed)
	if !webDefault {
		t.Error("template.yaml: WebFunction does not serve the $default route (the web UI)")
	}
}

// TestTemplatePermissionsAreNarrow: functions get the table actions they
// use, never wildcards, scans or table administration.
func TestTemplatePermissionsAreNarrow(t *testing.T) {
	b, err := os.ReadFile("../../template.yaml")
	if err != nil {
		t.Fatal(err)
	}
	var root yaml.Node
	if err := yaml.Unmarshal(b, &root); err != nil {
		t.Fatal(err)
	}
	samtemplate.StripTags(&root)
	var tpl struct {
		Resources map[string]struct {
			Type       string `yaml:"Type"`
			Properties struct {
				Policies []map[string]any `yaml:"Policies"`
			} `yaml:"Properties"`
		} `yaml:"Resources"`
	}
	if err := root.Decode(&tpl); err != nil {
		t.Fatal(err)
	}
	forbidden := map[string]bool{"dynamodb:*": true, "dynamodb:Scan": true, "dynamodb:DeleteTable": true,
		"dynamodb:CreateTable": true, "dynamodb:UpdateTable": true, "*": true}
	functions := 0
	for id, res := range tpl.Resources {
		if res.Type != "AWS::Serverless::Function" {
			continue
		}
		functions++
		if len(res.Properties.Policies) == 0 {
			t.Errorf("%s has no policy", id)
		}
		for _, p := range res.Properties.Policies {
			for name, v := range p {
				if name != "Statement" {
					t.Errorf("%s uses the broad managed policy %s; list the actions instead", id, name)
					continue
				}
				stmts, _ := v.([]any)
				for _, st := range stmts {
					actions, _ := st.(map[string]any)["Action"].([]any)
					for _, a := range actions {
						if forbidden[a.(string)] {
							t.Errorf("%s is allowed %s", id, a)
						}
					}
				}
			}
		}
	}
	if functions == 0 {
		t.Fatal("no functions in template.yaml")
	}
}

// TestGroupRoutesAreOneGroupEach: a group's route constructor (what its
// function's main serves) returns exactly that group's routes, every group
// has one, and together they are the table.
func TestGroupRoutesAreOneGroupEach(t *testing.T) {
	e := apptest.New(t)
	seen, n := map[string]bool{}, 0
	for _, g := range httpapi.Groups() {
		rs := g(e.App.API)
		if len(rs) == 0 {
			t.Fatal("a group constructor returned no routes")
		}
		group := rs[0].Group
		if seen[group] {
			t.Errorf("two constructors return group %s", group)
		}
		seen[group] = true
		for _, rt := range rs {
			if rt.Group != group {
				t.Errorf("%s %s is group %s, returned with group %s", rt.Method, rt.Pattern, rt.Group, group)
			}
		}
		n += len(rs)
	}
	if n != len(e.App.API.Routes()) {
		t.Errorf("the groups have %d routes, the table %d", n, len(e.App.API.Routes()))
	}
}
