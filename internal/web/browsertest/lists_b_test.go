package browsertest

import (
	"context"
	"encoding/csv"
	"fmt"
	"net/http"
	"strings"
	"testing"

	"github.com/chromedp/chromedp"

	"github.com/partnerloop/partnerloop/internal/apptest"
	"github.com/partnerloop/partnerloop/internal/deals"
	"github.com/partnerloop/partnerloop/internal/domain"
	"github.com/partnerloop/partnerloop/internal/partners"
	"github.com/partnerloop/partnerloop/internal/pipeline"
)

// TestDealsAndCommissionLists walks the deals and commissions lists
// (issue 14.4): the deals by stage with their counts and values, a won
// deal's link to the commission it earned, a conflict naming the other
// customer and party, "approve all matching" stating the count and the
// totals before it approves every matching commission (not one page), and
// the CSV of the active filters. Each page is checked at 1280 and 360 px.
func TestDealsAndCommissionLists(t *testing.T) {
	s := startSite(t)
	ctx := context.Background()
	act := &apptest.Activity{T: t, App: s.App, Org: s.Org}
	tier := act.Tier("Gold")
	northwind, contoso := act.Partner("Northwind Resellers", tier.ID), act.Partner("Contoso Agency", tier.ID)
	won := act.WonDeal(northwind.ID, "Globex", 1500000)
	calc := pipeline.NewCalculator(s.App.Store.(pipeline.LedgerStore), domain.SystemClock, partners.NewRuleSource(s.App.Store))
	if err := calc.ReconcileDeal(ctx, s.Org, won.ID); err != nil {
		t.Fatal(err)
	}
	theirs, err := s.App.Deals.Register(ctx, s.Org, "usr_test", deals.NewDeal{PartnerID: contoso.ID, CustomerName: "Initech",
		CustomerDomain: "initech.com", Value: &domain.MoneyInput{Amount: 800000, Currency: "USD"}})
	if err != nil {
		t.Fatal(err)
	}
	direct, err := s.App.Deals.Register(ctx, s.Org, "usr_test", deals.NewDeal{CustomerName: "Initech Europe",
		CustomerDomain: "www.initech.com", Value: &domain.MoneyInput{Amount: 250000, Currency: "USD"}})
	if err != nil || direct.Status != domain.DealConflict {
		t.Fatalf("the direct deal: %v, status %s", err, direct.Status)
	}
	// Contoso's conversions earned 60 commissions: more than a page.
	for i := range 60 {
		seedPartnerCommission(t, s, "prg_lists", "rfr_lists", contoso.ID, int64(100+i))
	}

	tb := newTab(t, s.URL)
	both := func(name string) {
		t.Helper()
		for _, w := range []int64{1280, 360} {
			tb.do("viewport", chromedp.EmulateViewport(w, 900, chromedp.EmulateScale(1)))
			tb.shot(fmt.Sprintf("%s-%d", name, w))
			tb.checkFits(name, w)
		}
		tb.do("viewport", chromedp.EmulateViewport(1280, 900, chromedp.EmulateScale(1)))
	}
	tb.signIn(adminEmail, adminPassword)

	// Deals by stage: every stage's count and value, each a link to its list.
	tb.open("/deals")
	if got := tb.text(`[data-stage="won"]`); !strings.Contains(got, "1") || !strings.Contains(got, "$15,000.00") {
		t.Errorf("the won stage says %q", got)
	}
	if got := tb.text(`[data-stage="registered"]`); !strings.Contains(got, "1") || !strings.Contains(got, "$8,000.00") {
		t.Errorf("the registered stage says %q", got)
	}
	both("50-deals-by-stage")
	tb.do("the won stage", chromedp.Click(chromedp.CSS(`[data-stage="won"] a`)), chromedp.WaitVisible(chromedp.CSS(`a.kpi-current`)))
	if n := tb.count(".deal"); n != 1 || !strings.Contains(tb.text(".deal"), "Globex") {
		t.Errorf("the won stage lists %d deals: %s", n, tb.text(".pipeline"))
	}

	// The won deal links to its commission; that list to the deal.
	tb.do("the won deal", chromedp.Click(chromedp.CSS(`.deal h3 a`)), chromedp.WaitVisible(chromedp.CSS(`.deal-earned`)))
	if got := tb.text(".deal-earned"); got != "Commission: $1,500.00 (pending)" {
		t.Errorf("the won deal's commission: %q", got)
	}
	both("51-deal-won")
	tb.do("its commission", chromedp.Click(chromedp.CSS(`.deal-earned a`)), chromedp.WaitVisible(chromedp.CSS(`.deal-filter`)))
	if got := tb.text("#commission-totals"); !strings.Contains(got, "1 matching commission") || !strings.Contains(got, "$1,500.00") {
		t.Errorf("the deal's commissions: %q", got)
	}
	if !tb.has(`tbody a[href="/deals/` + won.ID + `"]`) {
		t.Error("the deal's commission does not link back to the deal")
	}
	both("52-deal-commissions")

	// The conflict names the other deal's customer and party, with a link.
	tb.open("/deals?status=conflict")
	note := tb.text(".conflict-note")
	if !strings.Contains(note, "Initech’s deal") || !strings.Contains(note, "Contoso Agency") || strings.Contains(note, theirs.ID) {
		t.Errorf("the conflict says %q", note)
	}
	both("53-deal-conflict")
	tb.open("/deals?q=initech")
	deals, err := csv.NewReader(strings.NewReader(string(tb.download(`#list-count a[download]`)))).ReadAll()
	if err != nil || len(deals) != 3 {
		t.Fatalf("the deals CSV of initech: %v, %d rows", err, len(deals))
	}
	if got := strings.Join(deals[1], ","); !strings.Contains(got, "Initech Europe,www.initech.com") && !strings.Contains(got, "Initech Europe,initech.com") ||
		!strings.Contains(got, "Initech,Contoso Agency") {
		t.Errorf("the conflicting deal's CSV row: %s", got)
	}
	tb.open("/deals?status=conflict")
	tb.do("the other deal", chromedp.Click(chromedp.CSS(`.conflict-note a`)), chromedp.WaitVisible(chromedp.CSS(`h1`)))
	if h := tb.text("h1"); h != "Initech" {
		t.Errorf("the conflict links to %q", h)
	}

	// Approve all matching: the count and the totals first, then all 60.
	tb.open("/commissions")
	tb.fill("f-q", "contoso")
	if st := tb.submit(`form[role="search"] button[type=submit]`); st != http.StatusOK {
		t.Fatalf("search: %d", st)
	}
	if got := tb.text("#commission-totals"); !strings.Contains(got, "60 matching commissions") || !strings.Contains(got, "$77.70") {
		t.Errorf("the totals: %q", got)
	}
	if n := tb.count(`tbody tr`); n >= 60 {
		t.Errorf("%d rows on one page: the test needs more than a page", n)
	}
	if st := tb.submit(`form[action="/commissions/approve-matching"] button`); st != http.StatusOK {
		t.Fatalf("approve all matching: %d", st)
	}
	if got := tb.text("#approve-matching-confirm"); !strings.Contains(got, "60 pending commissions totalling $77.70") {
		t.Errorf("the confirmation says %q", got)
	}
	both("54-approve-matching-confirm")
	if st := tb.submit(`#approve-matching-confirm button[type=submit]`); st != http.StatusOK {
		t.Fatalf("confirm: %d", st)
	}
	if got := tb.text(".flash"); got != "60 commissions approved." {
		t.Errorf("notice: %q", got)
	}

	// The CSV of the active filters: Contoso's approved commissions only.
	tb.open("/commissions?status=approved&q=contoso")
	rows, err := csv.NewReader(strings.NewReader(string(tb.download(`#list-count a[download]`)))).ReadAll()
	if err != nil {
		t.Fatal(err)
	}
	if len(rows) != 61 {
		t.Fatalf("the CSV has %d rows, want a header and 60", len(rows))
	}
	for _, r := range rows[1:] {
		line := strings.Join(r, ",")
		if !strings.Contains(line, "approved") || !strings.Contains(line, contoso.ID) {
			t.Errorf("the CSV has a row not matching the filters: %s", line)
		}
	}
	if got := apiStatus(t, s, won.ID); got != "pending" {
		t.Errorf("the other partner's deal commission is %s, want still pending", got)
	}
	both("55-commissions-approved")
	tb.check()
}

// apiStatus is the status of the commission of a deal (the store's view).
func apiStatus(t *testing.T, s *site, dealID string) string {
	t.Helper()
	es, err := s.App.Store.(pipeline.LedgerStore).CommissionsOfSource(context.Background(), s.Org, dealID)
	if err != nil || len(es) == 0 {
		t.Fatalf("the deal's commission: %v (%d)", err, len(es))
	}
	return string(es[0].Status)
}
