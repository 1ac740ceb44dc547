package httpapi_test

import (
	"fmt"
	"net/http"
	"slices"
	"sort"
	"strings"
	"testing"
	"time"

	"github.com/partnerloop/partnerloop/internal/apptest"
	"github.com/partnerloop/partnerloop/internal/commission"
	"github.com/partnerloop/partnerloop/internal/domain"
	"github.com/partnerloop/partnerloop/internal/portal"
	_ "github.com/partnerloop/partnerloop/internal/portal/statementpdf" // registers the PDF statement renderer
	"github.com/partnerloop/partnerloop/internal/portaltest"
)

// portalWorld is an organization with two partners A and B, each with
// links in two programs, referred contacts and commissions, and a signed-in
// portal user per partner.
type portalWorld struct {
	e                  *apptest.Env
	partnerA, partnerB string
	tokenA, tokenB     string
	codesA, codesB     []string
	referralsA         []string // IDs
	referralsB         []string
	commissionsA       []commission.Commission
	commissionsB       []commission.Commission
}

func newPortalWorld(t *testing.T) *portalWorld {
	t.Helper()
	e := apptest.New(t)
	tok := e.AdminToken
	w := &portalWorld{e: e}
	p1, _ := e.LiveProgram(t, tok)
	p2, _ := e.LiveProgram(t, tok)
	gold := mustCreate(t, e, "/v1/partner-tiers", tok, tierBody("Gold"))["id"].(string)
	w.partnerA = mustCreate(t, e, "/v1/partners", tok, partnerBody(gold, "a@resellers.example"))["id"].(string)
	bBody := partnerBody(gold, "b@resellers.example")
	bBody["companyName"] = "Beta Agency"
	w.partnerB = mustCreate(t, e, "/v1/partners", tok, bBody)["id"].(string)

	for i, prog := range []string{p1, p2} {
		for _, x := range []struct {
			partner string
			codes   *[]string
			refs    *[]string
			n       int
		}{{w.partnerA, &w.codesA, &w.referralsA, 3}, {w.partnerB, &w.codesB, &w.referralsB, 1}} {
			r := mustCreate(t, e, "/v1/programs/"+prog+"/referrers", tok, map[string]any{
				"email": fmt.Sprintf("rep%d.%s@resellers.example", i, x.partner), "name": "Rep", "partnerId": x.partner})
			code := r["code"].(string)
			*x.codes = append(*x.codes, code)
			for j := range x.n {
				ref := mustCreate(t, e, "/v1/referrals", tok, map[string]any{"code": code, "email": fmt.Sprintf("lead%d.%d.%s@customer.example", i, j, x.partner)})
				*x.refs = append(*x.refs, ref["id"].(string))
			}
		}
	}
	// A customer referrer of no partner, with a referral: in nobody's portal.
	r := mustCreate(t, e, "/v1/programs/"+p1+"/referrers", tok, map[string]any{"email": "carl@example.com", "name": "Carl"})
	mustCreate(t, e, "/v1/referrals", tok, map[string]any{"code": r["code"], "email": "friend@example.org"})

	feb := time.Date(2026, 2, 10, 9, 0, 0, 0, time.UTC)
	mar := time.Date(2026, 3, 5, 9, 0, 0, 0, time.UTC)
	w.commissionsA = seed(t, e,
		earning{partner: w.partnerA, program: p1, amount: 1000, createdAt: feb}, // owed at the start of March, then paid in March
		earning{partner: w.partnerA, program: p1, amount: 700, createdAt: feb},  // owed all along
		earning{partner: w.partnerA, program: p2, amount: 2550, createdAt: mar}, // earned in March
		earning{partner: w.partnerA, program: p2, amount: 450, createdAt: mar},  // earned and rejected in March
	)
	w.commissionsB = seed(t, e, earning{partner: w.partnerB, program: p1, amount: 9999, createdAt: mar})
	if r := e.Do(t, "POST", "/v1/commissions/approve", tok, map[string]any{"ids": []string{w.commissionsA[0].ID}}); r.Status != http.StatusOK {
		t.Fatalf("approve: %d %s", r.Status, r.Body)
	}
	if r := e.Do(t, "POST", "/v1/commissions/mark-paid", tok, map[string]any{"ids": []string{w.commissionsA[0].ID}, "payoutReference": "=PAY-1"}); r.Status != http.StatusOK {
		t.Fatalf("mark paid: %d %s", r.Status, r.Body)
	}
	if r := e.Do(t, "POST", "/v1/commissions/reject", tok, map[string]any{"ids": []string{w.commissionsA[3].ID}, "reason": "duplicate"}); r.Status != http.StatusOK {
		t.Fatalf("reject: %d %s", r.Status, r.Body)
	}
	w.tokenA = e.NewUser(t, e.OrgID, domain.RolePartner, w.partnerA)
	w.tokenB = e.NewUser(t, e.OrgID, domain.RolePartner, w.partnerB)
	return w
}

// pages follows nextCursor through a portal list and returns every item.
func pages(t *testing.T, e *apptest.Env, path, token string, limit int) []map[string]any {
	t.Helper()
	var out []map[string]any
	cursor := ""
	sep := "?"
	if strings.Contains(path, "?") {
		sep = "&"
	}
	for range 100 {
		r := e.Do(t, "GET", fmt.Sprintf("%s%slimit=%d&cursor=%s", path, sep, limit, cursor), token, nil)
		wantStatus(t, r, http.StatusOK)
		items := r.Items()
		if len(items) > limit {
			t.Fatalf("%s: %d items on a page of %d", path, len(items), limit)
		}
		out = append(out, items...)
		next, _ := r.JSON()["nextCursor"].(string)
		if next == "" {
			return out
		}
		cursor = next
	}
	t.Fatalf("%s: the cursor does not end", path)
	return nil
}

func field(items []map[string]any, name string) []string {
	var out []string
	for _, it := range items {
		out = append(out, fmt.Sprint(it[name]))
	}
	sort.Strings(out)
	return out
}

func sorted(s []string) []string {
	s = slices.Clone(s)
	sort.Strings(s)
	return s
}

// TestPortalPartnersSeeOnlyTheirOwn: on every portal route partner A sees
// exactly its own records and partner B none of A's — whatever the query
// names.
func TestPortalPartnersSeeOnlyTheirOwn(t *testing.T) {
	w := newPortalWorld(t)
	e := w.e
	for _, x := range []struct {
		name                  string
		token, partner, other string
		codes, referrals      []string
		commissions           []commission.Commission
	}{
		{"A", w.tokenA, w.partnerA, w.partnerB, w.codesA, w.referralsA, w.commissionsA},
		{"B", w.tokenB, w.partnerB, w.partnerA, w.codesB, w.referralsB, w.commissionsB},
	} {
		t.Run(x.name, func(t *testing.T) {
			links := pages(t, e, "/v1/portal/links", x.token, 1)
			if got := field(links, "code"); !slices.Equal(got, sorted(x.codes)) {
				t.Errorf("links: codes %v, want %v", got, sorted(x.codes))
			}
			for _, l := range links {
				if !strings.HasPrefix(l["link"].(string), "https://refer.example.com/r/") || l["programName"] != "Spring referral" {
					t.Errorf("link %v", l)
				}
			}
			for _, limit := range []int{1, 2, 50} {
				refs := pages(t, e, "/v1/portal/referrals", x.token, limit)
				if got := field(refs, "id"); !slices.Equal(got, sorted(x.referrals)) {
					t.Errorf("referrals (limit %d): %v, want %v", limit, got, sorted(x.referrals))
				}
				for _, r := range refs {
					if email := r["email"].(string); !strings.HasPrefix(email, "l***@customer.example") {
						t.Errorf("referral email %q is not masked", email)
					}
					if _, ok := r["name"]; ok {
						t.Errorf("referral shows a name: %v", r)
					}
				}
			}
			// A partnerId in the query names nobody: the caller's partner it is.
			for _, q := range []string{"", "?partnerId=" + x.other} {
				coms := pages(t, e, "/v1/portal/commissions"+q, x.token, 2)
				if got, want := field(coms, "id"), sorted(ids(x.commissions...)); !slices.Equal(got, want) {
					t.Errorf("commissions%s: %v, want %v", q, got, want)
				}
			}

			r := e.Do(t, "GET", "/v1/portal/summary", x.token, nil)
			wantStatus(t, r, http.StatusOK)
			s := r.JSON()
			if p := s["partner"].(map[string]any); p["id"] != x.partner || p["tierName"] != "Gold" {
				t.Errorf("summary partner %v", p)
			}
			if s["links"] != float64(len(x.codes)) {
				t.Errorf("summary links %v, want %d", s["links"], len(x.codes))
			}
			if refs := s["referrals"].(map[string]any); refs["total"] != float64(len(x.referrals)) || refs["pending"] != float64(len(x.referrals)) {
				t.Errorf("summary referrals %v, want %d pending", refs, len(x.referrals))
			}

			for _, ext := range []string{"csv", "pdf"} {
				r := e.Do(t, "GET", "/v1/portal/statements/2026-03."+ext, x.token, nil)
				wantStatus(t, r, http.StatusOK)
				body := string(r.Body)
				if ext == "pdf" {
					body = portaltest.PDFText(t, r.Body)
				}
				for _, c := range w.commissionsA {
					mine := x.partner == w.partnerA
					if ext == "csv" && strings.Contains(body, c.ID) != (mine && c.CreatedAt.Month() == time.March) {
						t.Errorf("%s statement: lists %s = %v", ext, c.ID, !mine)
					}
				}
				for _, c := range w.commissionsB {
					if ext == "csv" && strings.Contains(body, c.ID) != (x.partner == w.partnerB) {
						t.Errorf("%s statement of %s: lists B's %s wrongly", ext, x.name, c.ID)
					}
				}
			}
		})
	}

	// A's earnings: 700 + 2550 pending, 1000 paid, the rejected 450 nowhere.
	r := e.Do(t, "GET", "/v1/portal/summary", w.tokenA, nil)
	earn := r.JSON()["earnings"].(map[string]any)
	want := map[string]string{"pending": "[map[amount:3250 currency:USD]]", "approved": "[]", "paid": "[map[amount:1000 currency:USD]]"}
	for k, v := range want {
		if got := fmt.Sprint(earn[k]); got != v {
			t.Errorf("earnings.%s = %s, want %s", k, got, v)
		}
	}
}

// TestPortalStatementTotalsAgree: the CSV, the PDF and the commissions the
// API lists for the month tell the same story.
func TestPortalStatementTotalsAgree(t *testing.T) {
	w := newPortalWorld(t)
	e := w.e
	csvR := e.Do(t, "GET", "/v1/portal/statements/2026-03.csv", w.tokenA, nil)
	wantStatus(t, csvR, http.StatusOK)
	if ct := csvR.Header.Get("Content-Type"); ct != "text/csv; charset=utf-8" {
		t.Errorf("CSV Content-Type %q", ct)
	}
	if cd := csvR.Header.Get("Content-Disposition"); cd != `attachment; filename="statement-acme-resellers-2026-03.csv"` {
		t.Errorf("CSV Content-Disposition %q", cd)
	}
	pdfR := e.Do(t, "GET", "/v1/portal/statements/2026-03.pdf", w.tokenA, nil)
	wantStatus(t, pdfR, http.StatusOK)
	if ct := pdfR.Header.Get("Content-Type"); ct != "application/pdf" {
		t.Errorf("PDF Content-Type %q", ct)
	}
	if cd := pdfR.Header.Get("Content-Disposition"); cd != `attachment; filename="statement-acme-resellers-2026-03.pdf"` {
		t.Errorf("PDF Content-Disposition %q", cd)
	}
	csvTotals := portaltest.CSVTotals(t, csvR.Body)
	pdfTotals := portaltest.PDFTotals(t, pdfR.Body)
	if fmt.Sprint(csvTotals) != fmt.Sprint(pdfTotals) {
		t.Errorf("PDF totals differ from the CSV's\n pdf %v\n csv %v", pdfTotals, csvTotals)
	}

	// The API's March commissions sum to the statement's earned total.
	var earned int64
	for _, c := range pages(t, e, "/v1/portal/commissions?from=2026-03-01&to=2026-03-31", w.tokenA, 50) {
		earned += int64(c["amount"].(map[string]any)["amount"].(float64))
	}
	want := map[string]string{
		"USD opening_balance": "17.00",                                             // 1000 + 700 owed on 1 March
		"USD earned":          domain.FormatMajor(earned, "USD"),                   // 2550 + 450
		"USD approved":        "10.00",                                             // the February 1000, approved in March
		"USD paid":            "10.00",                                             // and paid in March
		"USD voided":          "4.50",                                              // the rejected 450
		"USD closing_balance": domain.FormatMajor(1000+700+earned-1000-450, "USD"), // 700 + 2550
	}
	if earned != 3000 || fmt.Sprint(csvTotals) != fmt.Sprint(want) {
		t.Errorf("statement totals %v, want %v (API earned %d)", csvTotals, want, earned)
	}
	text := portaltest.PDFText(t, pdfR.Body)
	for _, s := range []string{"Test Org", "Acme Resellers", "March 2026"} {
		if !strings.Contains(text, s) {
			t.Errorf("the PDF does not show %q", s)
		}
	}
}

func TestPortalStatementPeriods(t *testing.T) {
	w := newPortalWorld(t)
	for _, tc := range []struct {
		seg    string
		status int
	}{
		{"2026-03.csv", http.StatusOK},
		{"2026-01.pdf", http.StatusOK},
		{"2026-13.csv", http.StatusNotFound},
		{"2026-3.csv", http.StatusNotFound},
		{"2026-03.txt", http.StatusNotFound},
		{"2026-03", http.StatusNotFound},
		{"march.csv", http.StatusNotFound},
		{"2026-04.csv", http.StatusUnprocessableEntity}, // the clock is in March 2026
		{"2030-01.pdf", http.StatusUnprocessableEntity},
	} {
		r := w.e.Do(t, "GET", "/v1/portal/statements/"+tc.seg, w.tokenA, nil)
		if r.Status != tc.status {
			t.Errorf("%s: %d, want %d: %s", tc.seg, r.Status, tc.status, r.Body)
		}
		if tc.status >= 400 && !strings.HasPrefix(r.Header.Get("Content-Type"), "application/problem+json") {
			t.Errorf("%s: Content-Type %q", tc.seg, r.Header.Get("Content-Type"))
		}
	}
	// An empty month is a statement with no sections, not an error.
	r := w.e.Do(t, "GET", "/v1/portal/statements/2026-01.csv", w.tokenA, nil)
	if got := strings.TrimSpace(string(r.Body)); got != strings.Join(portal.StatementColumns, ",") {
		t.Errorf("January statement: %q", got)
	}
}

// TestPortalRoles: the portal is for partners only.
func TestPortalRoles(t *testing.T) {
	w := newPortalWorld(t)
	e := w.e
	staff := map[string]string{
		"admin":           e.AdminToken,
		"program_manager": e.NewUser(t, e.OrgID, domain.RoleProgramManager, ""),
		"api key":         e.APIKey(t, e.AdminToken),
	}
	for _, rt := range e.App.API.Routes() {
		if rt.Group != "portal" {
			continue
		}
		path := strings.Replace(rt.Pattern, "{period}", "2026-03.csv", 1)
		for who, tok := range staff {
			if r := e.Do(t, rt.Method, path, tok, nil); r.Status != http.StatusForbidden {
				t.Errorf("%s %s as %s: %d, want 403", rt.Method, path, who, r.Status)
			}
		}
		if r := e.Do(t, rt.Method, path, "", nil); r.Status != http.StatusUnauthorized {
			t.Errorf("%s %s without credentials: %d, want 401", rt.Method, path, r.Status)
		}
		// A partner user whose partner does not exist (here: another
		// organization's partner ID) sees nothing.
		stray := e.NewUser(t, "org_other", domain.RolePartner, w.partnerA)
		if r := e.Do(t, rt.Method, path, stray, nil); r.Status != http.StatusNotFound {
			t.Errorf("%s %s as a partner of another organization: %d, want 404", rt.Method, path, r.Status)
		}
	}
}

func TestPortalReferralsRefusesBadInput(t *testing.T) {
	w := newPortalWorld(t)
	if r := w.e.Do(t, "GET", "/v1/portal/referrals?status=won", w.tokenA, nil); r.Status != http.StatusUnprocessableEntity {
		t.Errorf("status=won: %d", r.Status)
	}
	if r := w.e.Do(t, "GET", "/v1/portal/referrals?cursor=bogus", w.tokenA, nil); r.Status != http.StatusBadRequest {
		t.Errorf("bogus cursor: %d %s", r.Status, r.Body)
	}
	// B cannot resume A's cursor: it names a referrer B does not have.
	r := w.e.Do(t, "GET", "/v1/portal/referrals?limit=1", w.tokenA, nil)
	next, _ := r.JSON()["nextCursor"].(string)
	if next == "" {
		t.Fatal("no next cursor")
	}
	if r := w.e.Do(t, "GET", "/v1/portal/referrals?limit=1&cursor="+next, w.tokenB, nil); r.Status != http.StatusBadRequest {
		t.Errorf("A's cursor used by B: %d %s", r.Status, r.Body)
	}
	conv := w.e.Do(t, "GET", "/v1/portal/referrals?status=converted", w.tokenA, nil)
	if len(conv.Items()) != 0 {
		t.Errorf("converted referrals: %s", conv.Body)
	}
}

// TestPortalDeals: a partner registers deals for itself only, sees only its
// own, learns of a conflict without learning whose deal it collides with,
// and its summary counts them.
func TestPortalDeals(t *testing.T) {
	w := newPortalWorld(t)
	e := w.e
	mine := e.Do(t, "POST", "/v1/portal/deals", w.tokenA, map[string]any{
		"customerName": "Umbrella", "customerDomain": "https://WWW.umbrella.example/x", "value": 900000,
		"partnerId": w.partnerB, // ignored: a partner registers for itself
	})
	wantStatus(t, mine, http.StatusCreated)
	if mine.String("partnerId") != w.partnerA || mine.String("source") != "partner" || mine.String("status") != "registered" ||
		mine.String("customerDomain") != "umbrella.example" {
		t.Fatalf("registered deal = %s", mine.Body)
	}
	wantProblem(t, e.Do(t, "POST", "/v1/portal/deals", w.tokenA, map[string]any{
		"customerName": "Umbrella again", "customerDomain": "umbrella.example", "value": 1}), http.StatusConflict, "duplicate_registration")
	wantFields(t, wantProblem(t, e.Do(t, "POST", "/v1/portal/deals", w.tokenA, map[string]any{
		"customerDomain": "not a domain", "value": 1}), http.StatusUnprocessableEntity, "validation_failed"), "customerName", "customerDomain")

	// B registers the same customer: a conflict, without A's deal ID.
	theirs := e.Do(t, "POST", "/v1/portal/deals", w.tokenB, map[string]any{
		"customerName": "Umbrella Corp", "customerDomain": "umbrella.example", "value": 5})
	wantStatus(t, theirs, http.StatusCreated)
	if theirs.String("status") != "conflict" || theirs.String("conflictsWith") != "" || strings.Contains(string(theirs.Body), mine.String("id")) {
		t.Fatalf("B's conflicting deal shows A's deal: %s", theirs.Body)
	}
	// The admin sees whose.
	if r := e.Do(t, "GET", "/v1/deals/"+theirs.String("id"), e.AdminToken, nil); r.String("conflictsWith") != mine.String("id") {
		t.Fatalf("admin view of the conflict: %s", r.Body)
	}
	for tok, want := range map[string]string{w.tokenA: mine.String("id"), w.tokenB: theirs.String("id")} {
		got := field(pages(t, e, "/v1/portal/deals", tok, 1), "id")
		if len(got) != 1 || got[0] != want {
			t.Fatalf("portal deals = %v, want only %s", got, want)
		}
	}
	if got := field(pages(t, e, "/v1/portal/deals?status=conflict", w.tokenA, 50), "id"); len(got) != 0 {
		t.Fatalf("A's conflicting deals = %v, want none", got)
	}
	sum := e.Do(t, "GET", "/v1/portal/summary", w.tokenB, nil).JSON()
	if d := sum["deals"].(map[string]any); d["total"] != float64(1) || d["conflict"] != float64(1) {
		t.Fatalf("B's summary deals = %v", d)
	}
}
