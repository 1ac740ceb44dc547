package web_test

import (
	"encoding/csv"
	"fmt"
	"net/http"
	"net/url"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/partnerloop/partnerloop/internal/apptest"
	"github.com/partnerloop/partnerloop/internal/commission"
	"github.com/partnerloop/partnerloop/internal/deals"
	"github.com/partnerloop/partnerloop/internal/domain"
	"github.com/partnerloop/partnerloop/internal/store"
)

// seedCommissions records one pending commission of partnerID per amount,
// each created a day after the one before, from at.
func seedCommissions(t *testing.T, e *apptest.Env, partnerID string, at time.Time, amounts ...int64) {
	t.Helper()
	ch := store.LedgerChange{OrgID: e.OrgID}
	for i, amount := range amounts {
		created := at.AddDate(0, 0, i)
		c, a, err := commission.NewCommission(commission.Earning{
			OrgID: e.OrgID, ProgramID: "prg_1", ReferrerID: "rfr_1", PartnerID: partnerID, ConversionID: fmt.Sprintf("cnv_%s_%d", partnerID, i),
			Currency: "USD", Amount: amount, RuleSource: commission.SourceProgram, OccurredAt: created,
		}, commission.ActorSystem, created)
		if err != nil {
			t.Fatal(err)
		}
		ch.Created, ch.Audit = append(ch.Created, c), append(ch.Audit, a)
	}
	if err := e.App.Store.(store.Ledger).ApplyLedgerChange(t.Context(), ch); err != nil {
		t.Fatal(err)
	}
}

var amountCell = regexp.MustCompile(`<td class="num">\$([0-9.,]+)</td>`)

// amounts are the amounts of a commission list's rows, in order.
func amounts(page string) []string {
	var out []string
	for _, m := range amountCell.FindAllStringSubmatch(page, -1) {
		out = append(out, m[1])
	}
	return out
}

// TestCommissionListSearchDatesSortAndCSV: the commission list searches
// by partner (one match narrows the list to it, several are offered to
// choose from, none lists nothing), bounds the creation date by days of
// the organization's zone, sorts by its columns, counts and totals every
// match, and exports exactly the rows of its filters.
func TestCommissionListSearchDatesSortAndCSV(t *testing.T) {
	e := apptest.New(t)
	act := &apptest.Activity{T: t, App: e.App, Org: e.OrgID}
	tier := act.Tier("Gold")
	contoso := act.Partner("Contoso Agency", tier.ID)
	northwind, northstar := act.Partner("Northwind Resellers", tier.ID), act.Partner("Northstar Media", tier.ID)
	day := time.Date(2026, 3, 1, 12, 0, 0, 0, time.UTC)
	seedCommissions(t, e, contoso.ID, day, 300, 100, 200) // 1, 2 and 3 March
	seedCommissions(t, e, northwind.ID, day, 5000)
	seedCommissions(t, e, northstar.ID, day, 7000)
	b := withSession(t, e, e.AdminToken)

	// One partner matches: its commissions, counted and totalled.
	page := body(b.do("GET", "/commissions?q=contoso", nil))
	if !strings.Contains(page, "3 matching commissions") || !strings.Contains(page, "<strong>$6.00</strong>") ||
		!strings.Contains(page, `name="partnerId" value="`+contoso.ID+`"`) {
		t.Errorf("search contoso:\n%s", page)
	}
	if got := amounts(page); strings.Join(got, " ") != "2.00 1.00 3.00" { // newest first
		t.Errorf("contoso's amounts, newest first: %v", got)
	}
	// By amount, both ways; the header says how it is sorted.
	page = body(b.do("GET", "/commissions?q=contoso&sort=amount", nil))
	if got := amounts(page); strings.Join(got, " ") != "3.00 2.00 1.00" || !strings.Contains(page, `aria-sort="descending"><a href="/commissions?dir=asc&amp;q=contoso&amp;sort=amount">Amount`) {
		t.Errorf("by amount: %v\n%s", got, page)
	}
	if got := amounts(body(b.do("GET", "/commissions?q=contoso&sort=amount&dir=asc", nil))); strings.Join(got, " ") != "1.00 2.00 3.00" {
		t.Errorf("by amount, ascending: %v", got)
	}
	// The dates are whole days: 2 March only.
	page = body(b.do("GET", "/commissions?q=contoso&from=2026-03-02&to=2026-03-02", nil))
	if got := amounts(page); strings.Join(got, " ") != "1.00" || !strings.Contains(page, "1 matching commission") {
		t.Errorf("2 March: %v", got)
	}
	// An e-mail address finds its partner too.
	if page := body(b.do("GET", "/commissions?q="+url.QueryEscape(northwind.Email), nil)); !strings.Contains(page, "1 matching commission") || !strings.Contains(page, "$50.00") {
		t.Errorf("search by e-mail:\n%s", page)
	}
	// Several partners match: the page offers them, each narrowing the list.
	r := b.do("GET", "/commissions?q=north", nil)
	page = body(r)
	if r.Status != http.StatusOK || !strings.Contains(page, "2 partners match “north”") || !strings.Contains(page, `href="/commissions?partnerId=`+northwind.ID+`"`) ||
		strings.Contains(page, "<tbody>") {
		t.Errorf("search north: %d\n%s", r.Status, page)
	}
	// None: nothing, and said so.
	if page := body(b.do("GET", "/commissions?q=initech", nil)); !strings.Contains(page, "0 matching commissions") || !strings.Contains(page, "No commissions match.") {
		t.Errorf("search initech:\n%s", page)
	}
	// A bad sort or date is a message on the page, not an error page.
	r = b.do("GET", "/commissions?sort=bogus&from=March", nil)
	if r.Status != http.StatusUnprocessableEntity || !strings.Contains(body(r), "sort must be one of created, amount, status, available, partner") ||
		!strings.Contains(body(r), "must be a date") {
		t.Errorf("bad sort and date: %d\n%s", r.Status, r.Body)
	}

	// The CSV has the rows of the filters, all of them.
	page = body(b.do("GET", "/commissions?q=contoso&from=2026-03-02", nil))
	if !strings.Contains(page, `href="/commissions.csv?from=2026-03-02&amp;q=contoso"`) {
		t.Fatalf("no export link with the filters:\n%s", page)
	}
	r = b.do("GET", "/commissions.csv?from=2026-03-02&q=contoso", nil)
	rows, err := csv.NewReader(strings.NewReader(body(r))).ReadAll()
	if err != nil || r.Status != http.StatusOK || len(rows) != 3 {
		t.Fatalf("the CSV: %d %v\n%s", r.Status, err, r.Body)
	}
	for _, row := range rows[1:] {
		if row[3] != contoso.ID || (row[8] != "1.00" && row[8] != "2.00") {
			t.Errorf("a CSV row not of the filters: %v", row)
		}
	}
	// Approve all matching acts on the partner the search found.
	r = b.submit("/commissions?q=contoso", "/commissions/approve-matching", url.Values{"partnerId": {contoso.ID}})
	if !strings.Contains(body(r), "3 pending commissions</strong> totalling <strong>$6.00") {
		t.Errorf("the confirmation of contoso's:\n%s", r.Body)
	}
}

// TestPartnerListDatesCountAndCSV: All Partners bounds "partner since"
// by days of the organization's zone, counts the matches, sorts both ways
// and exports exactly the partners of its filters.
func TestPartnerListDatesCountAndCSV(t *testing.T) {
	e := apptest.New(t)
	act := &apptest.Activity{T: t, App: e.App, Org: e.OrgID}
	tier := act.Tier("Gold")
	var ids []string
	for _, name := range []string{"Contoso Agency", "Northwind Resellers", "Northstar Media"} {
		ids = append(ids, act.Partner(name, tier.ID).ID)
		e.Clock.Advance(24 * time.Hour) // 15, 16 and 17 March
	}
	b := withSession(t, e, e.Login(t, apptest.AdminEmail, apptest.AdminPassword))
	names := regexp.MustCompile(`<a href="/partners/prt_[^"]+">([^<]+)</a>`)
	list := func(path string) (string, []string) {
		t.Helper()
		r := b.do("GET", path, nil)
		if r.Status != http.StatusOK {
			t.Fatalf("%s: %d\n%s", path, r.Status, r.Body)
		}
		var out []string
		for _, m := range names.FindAllStringSubmatch(body(r), -1) {
			out = append(out, m[1])
		}
		return body(r), out
	}
	page, got := list("/partners")
	if strings.Join(got, ", ") != "Contoso Agency, Northstar Media, Northwind Resellers" || !strings.Contains(page, "3 matching partners") ||
		!strings.Contains(page, `href="/partners.csv"`) {
		t.Errorf("all partners by name: %v\n%s", got, page)
	}
	if _, got = list("/partners?sort=since&dir=asc"); strings.Join(got, ", ") != "Contoso Agency, Northwind Resellers, Northstar Media" {
		t.Errorf("oldest first: %v", got)
	}
	page, got = list("/partners?q=north&from=2026-03-16&to=2026-03-16")
	if strings.Join(got, ", ") != "Northwind Resellers" || !strings.Contains(page, "1 matching partner") ||
		!strings.Contains(page, `href="/partners.csv?from=2026-03-16&amp;q=north&amp;to=2026-03-16"`) {
		t.Errorf("north, 16 March: %v\n%s", got, page)
	}
	r := b.do("GET", "/partners.csv?from=2026-03-16&q=north", nil)
	rows, err := csv.NewReader(strings.NewReader(body(r))).ReadAll()
	if err != nil || r.Status != http.StatusOK || len(rows) != 3 || rows[0][1] != "companyName" {
		t.Fatalf("the CSV: %d %v\n%s", r.Status, err, r.Body)
	}
	if rows[1][0] != ids[2] || rows[1][1] != "Northstar Media" || rows[2][1] != "Northwind Resellers" || rows[2][4] != "Gold" {
		t.Errorf("the CSV rows: %v", rows[1:])
	}
	if r := b.do("GET", "/partners?from=yesterday", nil); r.Status != http.StatusUnprocessableEntity || !strings.Contains(body(r), "must be a date") {
		t.Errorf("a bad date: %d", r.Status)
	}
}

// TestDealListSearchDatesSortAndCSV: the pipeline searches deals by
// customer, domain or party, bounds their registration by days of the
// organization's zone, counts them (the stages count every stage of the
// other filters), sorts them and exports exactly its rows, each conflict
// naming the other customer and party.
func TestDealListSearchDatesSortAndCSV(t *testing.T) {
	e := apptest.New(t)
	act := &apptest.Activity{T: t, App: e.App, Org: e.OrgID}
	contoso := act.Partner("Contoso Agency", act.Tier("Gold").ID)
	register := func(partnerID, customer, domainName string, value int64) domain.Deal {
		t.Helper()
		d, err := e.App.Deals.Register(t.Context(), e.OrgID, "usr_test", deals.NewDeal{PartnerID: partnerID, CustomerName: customer,
			CustomerDomain: domainName, Value: &domain.MoneyInput{Amount: value, Currency: "USD"}})
		if err != nil {
			t.Fatal(err)
		}
		e.Clock.Advance(24 * time.Hour)
		return d
	}
	initech := register(contoso.ID, "Initech", "initech.com", 800000) // 15 March
	register("", "Initech Europe", "www.initech.com", 250000)         // 16 March: a conflict
	register(contoso.ID, "Globex Corporation", "globex.com", 1200000) // 17 March
	register("", "Umbrella", "umbrella.example", 50000)               // 18 March
	b := withSession(t, e, e.Login(t, apptest.AdminEmail, apptest.AdminPassword))
	customers := regexp.MustCompile(`<h3 id="deal-[^"]+-h"><a href="/deals/[^"]+">([^<]+)</a></h3>`)
	list := func(path string) (string, []string) {
		t.Helper()
		r := b.do("GET", path, nil)
		if r.Status != http.StatusOK {
			t.Fatalf("%s: %d\n%s", path, r.Status, r.Body)
		}
		var out []string
		for _, m := range customers.FindAllStringSubmatch(body(r), -1) {
			out = append(out, m[1])
		}
		return body(r), out
	}
	page, got := list("/deals?q=initech")
	if strings.Join(got, ", ") != "Initech, Initech Europe" || !strings.Contains(page, "2 matching deals") {
		t.Errorf("initech: %v\n%s", got, page)
	}
	if _, got = list("/deals?q=contoso"); strings.Join(got, ", ") != "Globex Corporation, Initech" {
		t.Errorf("contoso's deals: %v", got)
	}
	if _, got = list("/deals?q=direct"); strings.Join(got, ", ") != "Umbrella, Initech Europe" {
		t.Errorf("direct deals: %v", got)
	}
	// The stages count every stage of the other filters; the stage filter
	// narrows the rows only.
	page, got = list("/deals?q=initech&status=conflict")
	if strings.Join(got, ", ") != "Initech Europe" || !strings.Contains(page, "1 matching deal") ||
		!strings.Contains(squash(page), `<span class="stat-label">Registered</span><span class="stat-value">1</span>`) {
		t.Errorf("initech in conflict: %v\n%s", got, page)
	}
	// Dates are whole days; the value order puts the largest first (the
	// partner column lists before the direct one).
	if _, got = list("/deals?from=2026-03-16&to=2026-03-17&sort=value"); strings.Join(got, ", ") != "Globex Corporation, Initech Europe" {
		t.Errorf("16–17 March by value: %v", got)
	}
	if _, got = list("/deals?sort=customer"); strings.Join(got, ", ") != "Globex Corporation, Initech, Initech Europe, Umbrella" {
		t.Errorf("by customer: %v", got)
	}
	if _, got = list("/deals?sort=registered&dir=asc"); strings.Join(got, ", ") != "Initech, Globex Corporation, Initech Europe, Umbrella" {
		t.Errorf("oldest first: %v", got)
	}
	// The CSV: the rows of the filters, the conflict named.
	page, _ = list("/deals?q=initech")
	if !strings.Contains(page, `href="/deals.csv?q=initech"`) {
		t.Fatalf("no export link with the filters:\n%s", page)
	}
	r := b.do("GET", "/deals.csv?q=initech", nil)
	rows, err := csv.NewReader(strings.NewReader(body(r))).ReadAll()
	if err != nil || r.Status != http.StatusOK || len(rows) != 3 {
		t.Fatalf("the CSV: %d %v\n%s", r.Status, err, r.Body)
	}
	want := map[string]string{"customerName": "Initech Europe", "partner": "Direct", "status": "conflict", "value": "2500.00",
		"conflictsWith": initech.ID, "conflictsWithCustomer": "Initech", "conflictsWithParty": "Contoso Agency"}
	for i, col := range rows[0] {
		if w, ok := want[col]; ok && rows[1][i] != w {
			t.Errorf("CSV %s = %q, want %q", col, rows[1][i], w)
		}
	}
	if r := b.do("GET", "/deals?sort=stage", nil); r.Status != http.StatusUnprocessableEntity || !strings.Contains(body(r), "sort must be one of") {
		t.Errorf("a bad sort: %d", r.Status)
	}
}
