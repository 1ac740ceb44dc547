package browsertest

import (
	"cmp"
	"net/http"
	"strings"
	"testing"

	"github.com/chromedp/chromedp"

	"github.com/partnerloop/partnerloop/internal/apptest"
)

// TestPayoutRunFlow walks a payout run from approval to paid as both sides
// see it: the partner gives its payout details (shown masked from then
// on); the admin approves its commissions, creates a run, downloads the CSV
// for accounts payable (the only place the details are whole); the partner
// sees it as its next payout, scheduled; the admin marks the run paid with
// one reference; the partner sees the past payout with that reference. The payout pages are checked at 1280 and 360 px wide.
func TestPayoutRunFlow(t *testing.T) {
	s := startSite(t)
	const (
		email    = "payee@acme.example"
		password = "a-long-partner-password-42"
		iban     = "DE89370400440532013000"
		taxID    = "DE123456789"
	)
	p := portalUser(t, s, "prt_payee", "Acme Payee GmbH", "Pia Payee", email, password)
	seedPartnerCommission(t, s, "prg_payout", "rfr_payout", p.ID, 4200)
	seedPartnerCommission(t, s, "prg_payout", "rfr_payout", p.ID, 1350)

	tb := newTab(t, s.URL)
	wide := func() { tb.do("1280 px", chromedp.EmulateViewport(1280, 900)) }
	narrow := func() { tb.do("360 px", chromedp.EmulateViewport(360, 800)) }
	// fits checks that the page does not scroll sideways at this width.
	fits := func(what string) {
		t.Helper()
		over, err := chromedp.Run(tb.ctx, chromedp.Evaluate[int]("document.documentElement.scrollWidth - window.innerWidth"))
		if err != nil || over > 0 {
			t.Errorf("%s scrolls sideways by %d px (%v)", what, over, err)
		}
	}

	// The partner gives its payout details.
	tb.signIn(email, password)
	tb.open("/portal/payouts")
	tb.do("choose bank transfer", chromedp.SetValue(chromedp.ID("f-method"), "bank_transfer"))
	tb.fill("f-accountReference", iban)
	tb.fill("f-taxId", taxID)
	if st := tb.submit(`form[action="/portal/payouts/details"] button[type=submit]`); st != http.StatusOK {
		t.Fatalf("save payout details: %d", st)
	}
	if n := tb.text(".flash"); n != "Payout details saved." {
		t.Errorf("notice: %q", n)
	}
	body := tb.text("main")
	if strings.Contains(body, iban) || strings.Contains(body, taxID) || !strings.Contains(body, "•••• 3000") {
		t.Errorf("the portal shows the payout details unmasked or not at all:\n%s", body)
	}
	if v, _ := chromedp.Run(tb.ctx, chromedp.Value(chromedp.ID("f-accountReference"))); v != "" {
		t.Errorf("the account field is filled in with %q after saving", v)
	}
	tb.shot("40-portal-payout-details")
	tb.check()
	tb.submit(`form[action="/logout"] button`)

	// The admin approves the commissions and creates a run.
	tb.signIn(adminEmail, adminPassword)
	tb.open("/payouts")
	tb.expectError("/payouts")
	if st := tb.submit(`form[action="/payouts"] button`); st != http.StatusUnprocessableEntity {
		t.Errorf("a run with nothing approved: %d, want 422", st)
	}
	if msg := tb.text(".alert-error"); !strings.Contains(msg, "no approved commissions") {
		t.Errorf("message: %q", msg)
	}
	tb.open("/commissions")
	tb.do("tick every commission", chromedp.Evaluate[chromedp.Void](`document.querySelectorAll('input[name="ids"]').forEach(c => c.checked = true)`))
	if st := tb.submit(`button[value="approve"]`); st != http.StatusOK {
		t.Fatalf("approve: %d", st)
	}
	tb.open("/payouts")
	tb.shot("41-payouts-empty")
	if st := tb.submit(`form[action="/payouts"] button`); st != http.StatusOK {
		t.Fatalf("create run: %d", st)
	}
	if n := tb.text(".flash"); n != "Payout run created: 2 commissions for 1 payee." {
		t.Errorf("notice: %q", n)
	}
	run := tb.text("main")
	for _, want := range []string{"Acme Payee GmbH", email, "Bank transfer", "•••• 3000", "55.50"} {
		if !strings.Contains(run, want) {
			t.Errorf("the run page lacks %q:\n%s", want, run)
		}
	}
	if strings.Contains(run, iban) || strings.Contains(run, taxID) {
		t.Errorf("the run page shows the payout details unmasked")
	}
	csv := string(tb.download(`a[href$="/export"]`))
	for _, want := range []string{iban, taxID, "Acme Payee GmbH", "55.50", "bank_transfer"} {
		if !strings.Contains(csv, want) {
			t.Errorf("the CSV lacks %q:\n%s", want, csv)
		}
	}
	tb.shot("42-payout-run-open")
	narrow()
	fits("the payout run page at 360 px")
	tb.shot("42-payout-run-open-360")
	wide()
	runPage := mustURLPath(t, tb)
	tb.submit(`form[action="/logout"] button`)

	// The partner sees the next payout, scheduled in the open run.
	tb.signIn(email, password)
	tb.open("/portal/payouts")
	if next := tb.text(".stats .stat"); !strings.Contains(next, "55.50") || !strings.Contains(next, "Next payout") {
		t.Errorf("next payout: %q", next)
	}
	if sched := tb.text("#scheduled-h + .table-wrap"); !strings.Contains(sched, "Open") || !strings.Contains(sched, "55.50") {
		t.Errorf("scheduled payouts: %q", sched)
	}
	if tb.has("#past-h + .table-wrap") {
		t.Error("a past payout before the run is paid")
	}
	tb.shot("42-portal-payouts-scheduled")
	tb.check()
	tb.submit(`form[action="/logout"] button`)
	tb.signIn(adminEmail, adminPassword)
	tb.open(runPage)
	tb.expectError(strings.TrimPrefix(mustURLPath(t, tb), "") + "/mark-paid")
	if st := tb.submit(`form[action$="/mark-paid"] button`); st != http.StatusUnprocessableEntity {
		t.Errorf("mark paid without a reference: %d, want 422", st)
	}
	tb.fill("f-payoutReference", "ACH-2026-12-001")
	if st := tb.submit(`form[action$="/mark-paid"] button`); st != http.StatusOK {
		t.Fatalf("mark paid: %d", st)
	}
	if st := tb.text("h1 .pill"); st != "Paid" {
		t.Errorf("run status after mark paid: %q", st)
	}
	tb.shot("43-payout-run-paid")
	tb.open("/payouts")
	tb.shot("44-payouts")
	narrow()
	fits("the payouts page at 360 px")
	tb.shot("44-payouts-360")
	wide()
	tb.open("/commissions?status=paid")
	if n := tb.count("tbody tr"); n != 2 {
		t.Errorf("%d paid commissions listed, want 2", n)
	}
	tb.check()
	tb.submit(`form[action="/logout"] button`)

	// The partner sees the payout.
	tb.signIn(email, password)
	tb.open("/portal/payouts")
	past := tb.text("#past-h + .table-wrap")
	if !strings.Contains(past, "ACH-2026-12-001") || !strings.Contains(past, "55.50") {
		t.Errorf("past payouts: %q", past)
	}
	tb.shot("45-portal-payouts")
	narrow()
	fits("the portal payouts page at 360 px")
	tb.shot("45-portal-payouts-360")
	tb.check()
	wide()
	tb.submit(`form[action="/logout"] button`)

	// Partner 360: the list finds it by e-mail with its portal access; each
	// tab of its page tells part of its story; deactivating revokes access.
	tb.signIn(adminEmail, adminPassword)
	apptest.RollUp(t, s.App) // the performance columns read the analytics
	tb.open("/partners?q=PAYEE%40acme")
	if n := tb.count("tbody tr"); n != 1 || !strings.Contains(tb.text("#list-count"), "1 matching partner") {
		t.Errorf("search by e-mail: %d rows, %q", n, tb.text("#list-count"))
	}
	if st := tb.text("tbody tr td:nth-child(4) .pill"); st != "Active" {
		t.Errorf("portal access column: %q, want Active", st)
	}
	if !tb.has(`a[href*="sort=commission"]`) {
		t.Error("no sortable commission column on the partner list")
	}
	tb.open("/partners?sort=commission")
	tb.shot("46-partners")
	if tb.open("/partners?q=nobody-matches") != http.StatusOK || tb.count("tbody tr") != 0 {
		t.Error("a search matching nobody lists partners")
	}
	for _, tab := range []struct{ key, want string }{
		{"", "Portal access"}, {"commissions", "ACH-2026-12-001"}, {"payouts", "ACH-2026-12-001"},
		{"links", "No links yet"}, {"referrals", "No referrals yet"}, {"deals", "No deals yet"}, {"edit", "Save changes"},
	} {
		path := "/partners/" + p.ID
		if tab.key != "" {
			path += "?tab=" + tab.key
		}
		if st := tb.open(path); st != http.StatusOK {
			t.Fatalf("%s: %d", path, st)
		}
		if body := tb.text("main"); !strings.Contains(body, tab.want) {
			t.Errorf("%s lacks %q", path, tab.want)
		}
		name := "47-partner-" + cmp.Or(tab.key, "overview")
		tb.shot(name)
		narrow()
		fits(path + " at 360 px")
		tb.shot(name + "-360")
		wide()
	}
	tb.open("/partners/" + p.ID)
	if st := tb.submit(`form[action$="/deactivate"] button`); st != http.StatusOK {
		t.Fatalf("deactivate: %d", st)
	}
	if st := tb.text("h1 .pill"); st != "Inactive" {
		t.Errorf("status after deactivating: %q", st)
	}
	if st := tb.text("#portal-access h2 .pill"); st != "Revoked" {
		t.Errorf("portal access after deactivating: %q", st)
	}
	tb.shot("48-partner-deactivated")
	tb.check()
}
