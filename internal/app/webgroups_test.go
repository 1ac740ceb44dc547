package app_test

import (
	"context"
	"net/http"
	"regexp"
	"slices"
	"sort"
	"strings"
	"testing"

	"github.com/aws/aws-lambda-go/events"
	"github.com/partnerloop/partnerloop/internal/apptest"
	"github.com/partnerloop/partnerloop/internal/samtemplate"
	"github.com/partnerloop/partnerloop/internal/web"
)

// TestWebPagesAreOneGroupEach: every page of the web UI's table belongs to
// exactly one page group (internal/web.AllGroups), each group's function
// in template.yaml is routed exactly its group's prefixes
// (web.WebGroupPrefixes, method ANY, "{proxy+}" under a prefix ending in
// "/"), the web function keeps $default, and API Gateway, matching the
// most specific route, sends every page's path to its group's function.
func TestWebPagesAreOneGroupEach(t *testing.T) {
	e := apptest.New(t)
	s := e.App.Web.(*web.Server)
	owner := map[string]string{} // "METHOD pattern" → group
	n := 0
	for _, g := range web.AllGroups() {
		ps := g.Pages(s)
		if len(ps) == 0 {
			t.Errorf("group %s has no pages", g.Name)
		}
		for _, p := range ps {
			k := p.Method + " " + p.Pattern
			if o, ok := owner[k]; ok {
				t.Errorf("%s is in groups %s and %s", k, o, g.Name)
			}
			owner[k] = g.Name
		}
		n += len(ps)
	}
	if n != len(s.Pages()) {
		t.Errorf("the groups have %d pages, the one-process server's table %d", n, len(s.Pages()))
	}

	routes := webRoutes(t) // path → function (group), from template.yaml
	for g, prefixes := range web.WebGroupPrefixes {
		var want []string
		for _, p := range prefixes {
			if strings.HasSuffix(p, "/") {
				p += "{proxy+}"
			}
			want = append(want, p)
		}
		var got []string
		for path, fn := range routes {
			if fn == g {
				got = append(got, path)
			}
		}
		sort.Strings(want)
		sort.Strings(got)
		if !slices.Equal(got, want) {
			t.Errorf("template.yaml routes %v to %s, want %v (web.WebGroupPrefixes)", got, g, want)
		}
	}
	if routes["$default"] != web.Group {
		t.Errorf("$default is routed to %q, want %s", routes["$default"], web.Group)
	}
	for k, g := range owner {
		_, pattern, _ := strings.Cut(k, " ")
		if got := routedTo(routes, samplePath(pattern)); got != g {
			t.Errorf("%s (group %s) reaches the %s function", k, g, got)
		}
	}
}

// webRoutes reads template.yaml's HttpApi routes of the web functions
// (WebFunction, Web<Name>Function: group web, web-<name>): path → group.
// Every one must be for method ANY.
func webRoutes(t *testing.T) map[string]string {
	t.Helper()
	fns, err := samtemplate.HTTPRoutes("../../template.yaml")
	if err != nil {
		t.Fatal(err)
	}
	webFn := regexp.MustCompile(`^Web([A-Z]\w*)?Function$`)
	routes := map[string]string{}
	for id, rs := range fns {
		m := webFn.FindStringSubmatch(id)
		if m == nil || strings.HasPrefix(id, "Webhook") {
			continue
		}
		group := web.Group
		if m[1] != "" {
			group += "-" + strings.ToLower(m[1])
		}
		for _, r := range rs {
			if r.Method != "ANY" {
				t.Errorf("%s: %s %s, want method ANY", id, r.Method, r.Path)
			}
			if o, ok := routes[r.Path]; ok {
				t.Errorf("%s is routed to %s and %s", r.Path, o, group)
			}
			routes[r.Path] = group
		}
	}
	return routes
}

// samplePath is a path pattern's page with its wildcards filled in.
func samplePath(pattern string) string {
	pattern = strings.TrimSuffix(pattern, "{$}")
	return regexp.MustCompile(`\{[^}]*\}`).ReplaceAllString(pattern, "x1")
}

// routedTo is the group of the route API Gateway picks for path: an exact
// route first, else the greedy ("{proxy+}") route with the longest prefix,
// else $default.
func routedTo(routes map[string]string, path string) string {
	if g, ok := routes[path]; ok {
		return g
	}
	best, group := -1, routes["$default"]
	for r, g := range routes {
		prefix, ok := strings.CutSuffix(r, "{proxy+}")
		if ok && strings.HasPrefix(path, prefix) && len(path) > len(prefix) && len(prefix) > best {
			best, group = len(prefix), g
		}
	}
	return group
}

// TestWebFunctionsServeOnlyTheirGroup: each web function answers its own
// pages and "page not found" for the others' (and for unknown paths under
// its prefixes), so a routing mistake cannot reach a page through the
// wrong function.
func TestWebFunctionsServeOnlyTheirGroup(t *testing.T) {
	e, vars := seeded(t)
	get := func(group, path, token string) int {
		ev := events.APIGatewayV2HTTPRequest{
			RawPath: path, Cookies: []string{"pl_session=" + token},
			RequestContext: events.APIGatewayV2HTTPRequestContext{HTTP: events.APIGatewayV2HTTPRequestContextHTTPDescription{Method: "GET", Path: path, SourceIP: "203.0.113.9"}},
		}
		got, err := e.App.NewHTTPFunction(group)(context.Background(), ev)
		if err != nil {
			t.Fatal(err)
		}
		return got.StatusCode
	}
	pages := map[string]struct{ path, token string }{
		web.Group:         {"/programs", vars["TOKEN"]},
		web.GroupPartners: {"/partners", vars["TOKEN"]},
		web.GroupAdmin:    {"/commissions", vars["TOKEN"]},
		web.GroupPortal:   {"/portal", vars["PARTNER_TOKEN"]},
	}
	for _, g := range web.AllGroups() {
		for owner, p := range pages {
			want := http.StatusNotFound
			if owner == g.Name {
				want = http.StatusOK
			}
			if got := get(g.Name, p.path, p.token); got != want {
				t.Errorf("%s function: GET %s → %d, want %d", g.Name, p.path, got, want)
			}
		}
		for _, prefix := range web.WebGroupPrefixes[g.Name] {
			if strings.HasSuffix(prefix, "/") {
				if got := get(g.Name, prefix+"no-such-page/x", vars["TOKEN"]); got != http.StatusNotFound {
					t.Errorf("%s function: GET %sno-such-page/x → %d, want 404", g.Name, prefix, got)
				}
			}
		}
	}
}
