package web_test

import (
	"encoding/csv"
	"html"
	"net/http"
	"net/url"
	"regexp"
	"strings"
	"testing"

	"github.com/partnerloop/partnerloop/internal/apptest"
	"github.com/partnerloop/partnerloop/internal/domain"
)

// listFixture: a live program (referrer Jane), three referred contacts,
// one of them named like a formula, and a conversion of the first.
func listFixture(t *testing.T) (e *apptest.Env, programID, conversionID string) {
	e = apptest.New(t)
	programID, code := e.LiveProgram(t, e.AdminToken)
	for _, c := range []struct{ email, name string }{
		{"amy.adams@example.org", "Amy Adams"}, {"bob@example.org", "=HYPERLINK(\"http://x\")"}, {"zed@example.org", "Janine Zed"},
	} {
		if r := e.Do(t, "POST", "/v1/referrals", e.AdminToken, map[string]any{"code": code, "email": c.email, "name": c.name}); r.Status != http.StatusCreated {
			t.Fatalf("referral %s: %d %s", c.email, r.Status, r.Body)
		}
	}
	r := e.Do(t, "POST", "/v1/conversions", e.AdminToken, map[string]any{
		"email": "amy.adams@example.org", "event": "purchase", "amount": 5000, "externalId": "order-1"})
	if r.Status != http.StatusCreated {
		t.Fatalf("conversion: %d %s", r.Status, r.Body)
	}
	return e, programID, r.String("id")
}

func readCSV(t *testing.T, r *apptest.Response) [][]string {
	t.Helper()
	if r.Status != http.StatusOK || !strings.HasPrefix(r.Header.Get("Content-Disposition"), "attachment; filename=") {
		t.Fatalf("export: %d %q\n%s", r.Status, r.Header.Get("Content-Disposition"), r.Body)
	}
	recs, err := csv.NewReader(strings.NewReader(body(r))).ReadAll()
	if err != nil {
		t.Fatal(err)
	}
	return recs
}

func TestReferralsListSearchesSortsCountsAndExports(t *testing.T) {
	e, programID, _ := listFixture(t)
	b := withSession(t, e, e.AdminToken)

	page := body(b.do("GET", "/referrals?q=AMY", nil))
	if !strings.Contains(page, "amy.adams@example.org") || strings.Contains(page, "zed@example.org") || !strings.Contains(page, "1 matching referral<") {
		t.Errorf("search AMY:\n%s", page)
	}
	// The search box says what it matches; the export link keeps the filters.
	if !strings.Contains(page, `placeholder="Start of the contact&#39;s name or e-mail"`) || !strings.Contains(page, `href="/referrals.csv?q=AMY"`) {
		t.Errorf("filter bar or export link missing:\n%s", page)
	}
	// A word of the name other than the first.
	if page := body(b.do("GET", "/referrals?q=zed&programId="+programID, nil)); !strings.Contains(page, "Janine Zed") || strings.Contains(page, "Amy Adams") {
		t.Errorf("search zed: %s", page)
	}
	// Sorted by contact: an ascending header, rows in name order (the
	// formula-looking name sorts first).
	page = body(b.do("GET", "/referrals?sort=contact", nil))
	if !strings.Contains(page, `aria-sort="ascending"><a href="/referrals?dir=desc&amp;sort=contact">Contact`) {
		t.Errorf("sort header:\n%s", page)
	}
	if a, j := strings.Index(page, "Amy Adams"), strings.Index(page, "Janine Zed"); a < 0 || j < a {
		t.Errorf("not in name order (Amy at %d, Janine at %d)", a, j)
	}
	if !strings.Contains(page, "3 matching referrals") {
		t.Errorf("count missing:\n%s", page)
	}
	// Dates: today's in, tomorrow's out; bad values are a message, not a 500.
	today := e.Clock.Now().UTC().Format("2006-01-02")
	if page := body(b.do("GET", "/referrals?from="+today+"&to="+today, nil)); !strings.Contains(page, "3 matching referrals") {
		t.Errorf("today's referrals:\n%s", page)
	}
	if page := body(b.do("GET", "/referrals?from="+e.Clock.Now().UTC().AddDate(0, 0, 1).Format("2006-01-02"), nil)); !strings.Contains(page, "No referrals match") {
		t.Errorf("tomorrow's referrals:\n%s", page)
	}
	for _, q := range []string{"from=yesterday", "to=2026-02-30", "sort=password", "dir=up", "status=lost"} {
		r := b.do("GET", "/referrals?"+q, nil)
		if r.Status != http.StatusUnprocessableEntity || !strings.Contains(body(r), `role="alert"`) {
			t.Errorf("/referrals?%s: %d, want 422 with a message", q, r.Status)
		}
		if r := b.do("GET", "/referrals.csv?"+q, nil); r.Status != http.StatusUnprocessableEntity {
			t.Errorf("/referrals.csv?%s: %d, want 422", q, r.Status)
		}
	}
	// The export: every matching row, names, program names, formulas neutralised.
	recs := readCSV(t, b.do("GET", "/referrals.csv", nil))
	if len(recs) != 4 || recs[0][1] != "contact_name" || recs[0][3] != "program" {
		t.Fatalf("referrals.csv = %q", recs)
	}
	var neutralised, program bool
	for _, rec := range recs[1:] {
		neutralised = neutralised || rec[1] == `'=HYPERLINK("http://x")`
		program = program || rec[3] != "" && rec[4] != ""
	}
	if !neutralised || !program {
		t.Errorf("referrals.csv: neutralised %v, program and referrer %v: %q", neutralised, program, recs)
	}
	if recs := readCSV(t, b.do("GET", "/referrals.csv?q=amy", nil)); len(recs) != 2 || recs[1][2] != "amy.adams@example.org" {
		t.Errorf("filtered referrals.csv = %q", recs)
	}
}

func TestReferrersPageListsEveryReferrerWithItsReferrals(t *testing.T) {
	e, _, _ := listFixture(t)
	pid, _ := e.LiveProgram(t, e.AdminToken) // another program, another Jane
	if r := e.Do(t, "POST", "/v1/programs/"+pid+"/referrers", e.AdminToken, map[string]string{"email": "kim@example.com", "name": "Kim Lee"}); r.Status != http.StatusCreated {
		t.Fatalf("referrer: %d %s", r.Status, r.Body)
	}
	pm := withSession(t, e, e.NewUser(t, e.OrgID, domain.RoleProgramManager, ""))
	page := body(pm.do("GET", "/referrers", nil))
	if !strings.Contains(page, "3 matching referrers") || !strings.Contains(page, `aria-current="page">Referrers`) {
		t.Fatalf("referrers page:\n%s", page)
	}
	if page := body(pm.do("GET", "/referrers?q=lee", nil)); !strings.Contains(page, "kim@example.com") || strings.Contains(page, "jane@example.com") {
		t.Errorf("search lee:\n%s", page)
	}
	// Jane of the first program has three referrals, linked.
	page = body(pm.do("GET", "/referrers?q=jane&sort=clicks", nil))
	m := regexp.MustCompile(`href="(/referrals\?referrerId=[^"]+)">3</a>`).FindStringSubmatch(page)
	if m == nil {
		t.Fatalf("no link to Jane's three referrals:\n%s", page)
	}
	link := html.UnescapeString(m[1])
	if got := body(pm.do("GET", link, nil)); !strings.Contains(got, "3 matching referrals") || !strings.Contains(got, `id="referrer-scope"`) {
		t.Errorf("%s:\n%s", link, got)
	}
	recs := readCSV(t, pm.do("GET", "/referrers.csv?q=kim", nil))
	if len(recs) != 2 || recs[1][1] != "Kim Lee" || recs[1][2] != "kim@example.com" || !strings.Contains(recs[1][4], "/r/") {
		t.Errorf("referrers.csv = %q", recs)
	}
	// Partners do not see staff lists.
	if r := withSession(t, e, e.NewUser(t, e.OrgID, domain.RolePartner, "prt_x")).do("GET", "/referrers", nil); r.Status != http.StatusForbidden && r.Status != http.StatusSeeOther {
		t.Errorf("partner GET /referrers: %d", r.Status)
	}
}

func TestRefundFromAFilteredConversionList(t *testing.T) {
	e, _, id := listFixture(t)
	b := withSession(t, e, e.AdminToken)
	list := "/conversions?q=amy&sort=amount"
	page := body(b.do("GET", list, nil))
	if !strings.Contains(page, "1 matching conversion<") || !strings.Contains(page, "Amy Adams") {
		t.Fatalf("conversions by contact:\n%s", page)
	}
	if page := body(b.do("GET", "/conversions?q=bob", nil)); !strings.Contains(page, "No conversions match") {
		t.Errorf("conversions of bob:\n%s", page)
	}
	ret := "/conversions?q=amy&sort=amount"
	if !strings.Contains(page, `name="return" value="`+strings.ReplaceAll(ret, "&", "&amp;")+`"`) {
		t.Fatalf("the refund form does not come back to the list:\n%s", page)
	}
	// A failed refund shows the filtered list again, with its problem.
	r := b.submit(list, "/conversions/"+id+"/refund", url.Values{"amount": {"ten"}, "return": {ret}})
	if r.Status != http.StatusUnprocessableEntity || !strings.Contains(body(r), `id="refund-`+id+`-error"`) || !strings.Contains(body(r), "1 matching conversion<") {
		t.Fatalf("bad amount: %d\n%s", r.Status, r.Body)
	}
	r = b.submit(list, "/conversions/"+id+"/refund", url.Values{"amount": {"10.00"}, "return": {ret}})
	if r.Status != http.StatusSeeOther || r.Header.Get("Location") != ret {
		t.Fatalf("refund: %d to %q", r.Status, r.Header.Get("Location"))
	}
	recs := readCSV(t, b.do("GET", "/conversions.csv?q=amy", nil))
	if len(recs) != 2 || recs[1][3] != "Amy Adams" || recs[1][4] != "amy.adams@example.org" || recs[1][8] != "50.00" || recs[1][9] != "10.00" {
		t.Errorf("conversions.csv = %q", recs)
	}
}
