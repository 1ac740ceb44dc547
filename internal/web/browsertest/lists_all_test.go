package browsertest

import (
	"context"
	"encoding/csv"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/chromedp/chromedp"

	"github.com/partnerloop/partnerloop/internal/demo"
)

// TestEveryListSearchesDatesSortsCountsAndExports walks the same five
// steps on each of the six staff lists of issue 14, point 4 (referrals,
// conversions, referrers, partners, deals, commissions), on demo data:
// a search (a name from the list itself, or the demo partner), a date
// range (a range before the demo is empty, the last 90 days hold no more
// than the search found, the demo's year all of it), a sortable column clicked both ways (the count stays),
// the total count, and the CSV export of exactly the active filters (its
// link carries the search and the dates; it has as many rows as the count
// says).
func TestEveryListSearchesDatesSortsCountsAndExports(t *testing.T) {
	s := startSite(t)
	if _, err := demo.Load(context.Background(), s.App, s.Org, demo.Options{Clicks: 300, Seed: 11}); err != nil {
		t.Fatal(err)
	}
	tb := newTabWithin(t, s.URL, 8*time.Minute) // slow on a busy 2-core machine
	tb.signIn(adminEmail, adminPassword)
	tb.do("1280 px", chromedp.EmulateViewport(1280, 900, chromedp.EmulateScale(1)))

	lists := []struct {
		path, nouns string
		// term is the search: fixed, or the first word of the first
		// row's cell matched by termFrom.
		term, termFrom string
		// sort is a column other than the default; table is the list's
		// table (empty: the deals' cards, sorted by links).
		sort, table string
	}{
		{path: "/referrals", nouns: "referrals", termFrom: "#referrals tbody tr td:first-child", sort: "contact", table: "#referrals"},
		{path: "/conversions", nouns: "conversions", termFrom: "#conversions tbody tr td:nth-child(2) a", sort: "amount", table: "#conversions"},
		{path: "/referrers", nouns: "referrers", termFrom: "#referrers tbody tr td:first-child", sort: "clicks", table: "#referrers"},
		{path: "/partners", nouns: "partners", term: "northwind", sort: "since", table: "table.sortable"},
		{path: "/deals", nouns: "deals", term: "northwind", sort: "value"},
		{path: "/commissions", nouns: "commissions", term: "northwind", sort: "amount", table: "table.selectable"},
	}
	today := time.Now().UTC()
	for _, l := range lists {
		tb.open(l.path)
		all := countOf(t, tb, l.nouns)
		if all < 2 {
			t.Errorf("%s: %d rows in the demo, too few to check", l.path, all)
			continue
		}
		// Search.
		term := l.term
		if term == "" {
			term = strings.ToLower(strings.Fields(tb.text(l.termFrom))[0])
		}
		tb.fill("f-q", term)
		if st := tb.submit(`form[role=search] button[type=submit]`); st != http.StatusOK {
			t.Fatalf("%s search %q: %d", l.path, term, st)
		}
		found := countOf(t, tb, l.nouns)
		if found < 1 || found > all {
			t.Errorf("%s search %q: %d of %d", l.path, term, found, all)
		}
		// A range before the demo holds nothing; the last 90 days at most
		// what the search found.
		tb.do("old dates", chromedp.SetValue(chromedp.ID("f-from"), "2000-01-01"), chromedp.SetValue(chromedp.ID("f-to"), "2000-12-31"))
		tb.submit(`form[role=search] button[type=submit]`)
		if got := tb.text("#list-count span"); got != "0 matching "+l.nouns {
			t.Errorf("%s in 2000: %q", l.path, got)
		}
		recentFrom, to := today.AddDate(0, 0, -90).Format(time.DateOnly), today.Format(time.DateOnly)
		tb.do("last 90 days", chromedp.SetValue(chromedp.ID("f-from"), recentFrom), chromedp.SetValue(chromedp.ID("f-to"), to))
		tb.submit(`form[role=search] button[type=submit]`)
		if recent := countOf(t, tb, l.nouns); recent > found {
			t.Errorf("%s: %d in the last 90 days, more than the %d found", l.path, recent, found)
		}
		// The demo's whole year (and a month): all the search found.
		from := today.AddDate(0, 0, -400).Format(time.DateOnly)
		tb.do("the demo's year", chromedp.SetValue(chromedp.ID("f-from"), from))
		tb.submit(`form[role=search] button[type=submit]`)
		if got := countOf(t, tb, l.nouns); got != found {
			t.Errorf("%s: %d from %s, want all %d found", l.path, got, from, found)
		}
		if v, _ := chromedp.Run(tb.ctx, chromedp.Value(chromedp.ID("f-q"))); v != term {
			t.Errorf("%s: the search box says %q after the dates, want %q", l.path, v, term)
		}
		// Sort by another column, both ways; the count stays.
		sortBy := `a[href*="sort=` + l.sort + `"]`
		if l.table != "" {
			sortBy = l.table + ` thead ` + sortBy
		} else {
			sortBy = `.sort-links ` + sortBy
		}
		var orders []string
		for range 2 {
			if !tb.has(sortBy) {
				t.Errorf("%s: no sortable %s column", l.path, l.sort)
				break
			}
			tb.do("sort", chromedp.Click(chromedp.CSS(sortBy)), chromedp.WaitVisible(chromedp.ID("list-count")))
			loc := location(t, tb)
			if !strings.Contains(loc, "sort="+l.sort) || !strings.Contains(loc, "q="+url.QueryEscape(term)) || !strings.Contains(loc, "from="+from) {
				t.Errorf("%s sorted by %s: %s lost the filters", l.path, l.sort, loc)
			}
			if got := countOf(t, tb, l.nouns); got != found {
				t.Errorf("%s sorted by %s: %d, was %d", l.path, l.sort, got, found)
			}
			if l.table != "" {
				orders = append(orders, tb.attr(l.table+` th[aria-sort]`, "aria-sort"))
			}
		}
		if l.table != "" && (len(orders) != 2 || orders[0] == orders[1]) {
			t.Errorf("%s: clicking %s twice sorts %v, want both ways", l.path, l.sort, orders)
		}
		tb.shot("lists-all-" + strings.TrimPrefix(l.path, "/"))
		// The CSV of the active filters.
		href := tb.attr("#list-count a[download]", "href")
		for _, want := range []string{"q=" + url.QueryEscape(term), "from=" + from, "to=" + to} {
			if !strings.Contains(href, want) {
				t.Errorf("%s: the export link %s lacks %s", l.path, href, want)
			}
		}
		rows, err := csv.NewReader(strings.NewReader(string(tb.download("#list-count a[download]")))).ReadAll()
		if err != nil {
			t.Fatalf("%s CSV: %v", l.path, err)
		}
		if len(rows)-1 != found {
			t.Errorf("%s CSV: %d rows, the page counts %d", l.path, len(rows)-1, found)
		}
		t.Logf("%s: %d in all, %d matching %q", l.path, all, found, term)
	}
	tb.check()
}

// countOf reads the "N matching …" line.
func countOf(t *testing.T, tb *tab, nouns string) int {
	t.Helper()
	got := tb.text("#list-count span")
	n, rest, _ := strings.Cut(got, " ")
	v, err := strconv.Atoi(strings.ReplaceAll(n, ",", ""))
	if err != nil || !strings.HasPrefix(rest, "matching "+strings.TrimSuffix(nouns, "s")) {
		t.Fatalf("count line %q", got)
	}
	return v
}

func location(t *testing.T, tb *tab) string {
	t.Helper()
	u, err := chromedp.Run(tb.ctx, chromedp.Evaluate[string]("location.pathname + location.search"))
	if err != nil {
		t.Fatal(err)
	}
	return u
}
