package browsertest

import (
	"context"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/chromedp/chromedp"

	"github.com/partnerloop/partnerloop/internal/commission"
	"github.com/partnerloop/partnerloop/internal/store"
)

// TestAdminConsole: an admin signs in, creates a program with a tiered
// rule (first with a mistake, shown next to its field), activates it,
// enrols a referrer and copies its link, creates a tier and a partner,
// approves a commission and downloads the CSV; a program manager sees
// neither Partners nor Commissions and is refused those pages.
func TestAdminConsole(t *testing.T) {
	s := startSite(t)
	tb := newTab(t, s.URL)
	t.Logf("screenshots: %s", tb.shots)

	// Sign in, coming from a page that needs it.
	tb.open("/programs")
	tb.do("wait for sign-in", chromedp.WaitVisible(chromedp.ID("f-email")))
	tb.shot("01-sign-in")
	tb.fill("f-email", adminEmail)
	tb.fill("f-password", adminPassword)
	if st := tb.submit(`form[action="/login"] button[type=submit]`); st != http.StatusOK {
		t.Fatalf("sign in: %d", st)
	}
	if h := tb.text("h1"); h != "Programs" {
		t.Fatalf("after sign-in: %q, want the page asked for", h)
	}

	// A program with a tiered rule; the last tier wrongly bounded first.
	tb.open("/programs/new")
	tb.fill("f-name", "Spring referral")
	tb.fill("f-landingUrl", "https://example.com/pricing")
	tb.do("choose tiered", chromedp.Click(chromedp.CSS(`input[name="commission.type"][value="tiered"]`)))
	if !tb.has(`[data-rule-section="tiered"]:not([hidden])`) || tb.has(`[data-rule-section="flat"]:not([hidden])`) {
		t.Error("the rule editor does not show only the tiered rule's fields")
	}
	tb.do("add a tier row", chromedp.Click(chromedp.CSS("[data-add-tier]")))
	if !tb.has(`#f-commission-tiers-3-upTo`) {
		t.Error("Add tier did not add a fourth row")
	}
	tb.fill("f-commission-tiers-0-upTo", "10")
	tb.fill("f-commission-tiers-0-rateBps", "5")
	tb.fill("f-commission-tiers-1-upTo", "20")
	tb.fill("f-commission-tiers-1-rateBps", "10")
	tb.expectError("/programs")
	if st := tb.submit(`form[action="/programs"] button[type=submit]`); st != http.StatusUnprocessableEntity {
		t.Fatalf("invalid program: %d, want 422", st)
	}
	msg := tb.text("#f-commission-tiers-1-upTo-error")
	if !strings.Contains(msg, "last tier must be unbounded") {
		t.Fatalf("error next to tier 2's upper bound: %q", msg)
	}
	if v, _ := chromedp.Run(tb.ctx, chromedp.AttributeValue(chromedp.ID("f-commission-tiers-1-upTo"), "aria-invalid")); v.Value != "true" {
		t.Error("the invalid field is not marked aria-invalid")
	}
	if v, _ := chromedp.Run(tb.ctx, chromedp.Value(chromedp.ID("f-name"))); v != "Spring referral" {
		t.Errorf("the name typed was not kept: %q", v)
	}
	tb.shot("02-program-form-error")
	tb.do("clear the bound", chromedp.Clear(chromedp.ID("f-commission-tiers-1-upTo")))
	if st := tb.submit(`form[action="/programs"] button[type=submit]`); st != http.StatusOK {
		t.Fatalf("create program: %d", st)
	}
	if !strings.Contains(tb.text(".flash"), "created as a draft") {
		t.Error("no notice after creating the program")
	}

	// Activate, enrol a referrer, copy its link.
	tb.submit(`form[action$="/status"] input[value="active"] ~ button`)
	if st := tb.text("h1 .pill"); st != "Active" {
		t.Fatalf("status after Activate: %q", st)
	}
	tb.fill("f-email", "jane@example.com")
	tb.fill("f-name", "Jane Doe")
	if st := tb.submit(`form[action$="/referrers"] button[type=submit]`); st != http.StatusOK {
		t.Fatalf("enrol: %d", st)
	}
	link, err := chromedp.Run(tb.ctx, chromedp.Value(chromedp.CSS(".copy input")))
	if err != nil || !strings.HasPrefix(link, s.URL+"/r/") {
		t.Fatalf("referral link %q (%v)", link, err)
	}
	tb.grantClipboard()
	tb.do("copy", chromedp.Click(chromedp.CSS("[data-copy]")), chromedp.WaitVisible(chromedp.CSS(`[data-copied="true"]`)))
	copied, err := chromedp.Run(tb.ctx, chromedp.Evaluate[string]("navigator.clipboard.readText()", chromedp.EvalAwaitPromise))
	if err != nil || copied != link {
		t.Errorf("clipboard holds %q (%v), want %q", copied, err, link)
	}
	tb.shot("03-program")

	// A tier and a partner in it.
	tb.open("/partner-tiers")
	tb.fill("f-name", "Gold")
	tb.fill("f-commission-rateBps", "15")
	if st := tb.submit(`form[action="/partner-tiers"] button[type=submit]`); st != http.StatusOK {
		t.Fatalf("create tier: %d", st)
	}
	tb.shot("04-tiers")
	ctx := context.Background()
	tiers, _, err := s.App.Partners.ListTiers(ctx, s.Org, store.Page{Limit: 10})
	if err != nil || len(tiers) != 1 {
		t.Fatalf("tiers: %v %v", tiers, err)
	}
	tb.open("/partners/new")
	tb.fill("f-companyName", "Acme Resellers")
	tb.fill("f-contactName", "Road Runner")
	tb.fill("f-email", "partners@acme.example")
	tb.do("choose the tier", chromedp.SetValue(chromedp.ID("f-tierId"), tiers[0].ID))
	tb.fill("f-agreements-0-name", "Reseller agreement 2026")
	tb.do("signed on", chromedp.SetValue(chromedp.ID("f-agreements-0-signedAt"), "2026-01-15"))
	if st := tb.submit(`form[action="/partners"] button[type=submit]`); st != http.StatusOK {
		t.Fatalf("create partner: %d", st)
	}
	if h := tb.text("h1"); !strings.HasPrefix(h, "Acme Resellers") {
		t.Fatalf("partner page: %q", h)
	}
	tb.shot("05-partner")
	tb.open("/partners")
	tb.shot("06-partners")

	// A commission (as the pipeline would record it), approved here.
	progs, _, _ := s.App.Programs.List(ctx, s.Org, store.Page{Limit: 10})
	refs, _, _ := s.App.Programs.ListReferrers(ctx, s.Org, progs[0].ID, store.Page{Limit: 10})
	c := seedCommission(t, s, progs[0].ID, refs[0].ID)
	tb.open("/commissions?status=pending")
	tb.shot("07-commissions")
	tb.do("tick", chromedp.Click(chromedp.ID("c-"+c.ID)))
	if st := tb.submit(`button[value="approve"]`); st != http.StatusOK {
		t.Fatalf("approve: %d", st)
	}
	if n := tb.text(".flash"); n != "1 commission approved." {
		t.Errorf("notice after approving: %q", n)
	}
	tb.open("/commissions")
	if st := tb.text("tbody .pill"); st != "Approved" {
		t.Errorf("status after approving: %q", st)
	}
	csv := string(tb.download(`a[href^="/commissions.csv"]`))
	if !strings.Contains(csv, c.ID) || !strings.Contains(csv, "approved") {
		t.Errorf("downloaded CSV lacks the approved commission:\n%s", csv)
	}
	tb.open("/")
	tb.shot("08-dashboard")
	tb.check()

	// Sign out; a program manager signs in.
	tb.submit(`form[action="/logout"] button`)
	tb.fill("f-email", pmEmail)
	tb.fill("f-password", pmPassword)
	tb.submit(`form[action="/login"] button[type=submit]`)
	if tb.has(`nav a[href="/partners"]`) || tb.has(`nav a[href="/commissions"]`) {
		t.Error("a program manager's navigation shows Partners or Commissions")
	}
	if !tb.has(`nav a[href="/programs"]`) {
		t.Error("a program manager's navigation lacks Programs")
	}
	for _, path := range []string{"/partners", "/commissions"} {
		tb.expectError(path)
		if st := tb.open(path); st != http.StatusForbidden {
			t.Errorf("program manager GET %s: %d, want 403", path, st)
		}
	}
	tb.shot("09-program-manager-forbidden")
	tb.check()
}

func seedCommission(t *testing.T, s *site, programID, referrerID string) commission.Commission {
	t.Helper()
	l, ok := s.App.Store.(store.Ledger)
	if !ok {
		t.Fatal("the SQLite store has no ledger")
	}
	now := time.Now().UTC().Add(-time.Minute)
	c, a, err := commission.NewCommission(commission.Earning{
		OrgID: s.Org, ProgramID: programID, ReferrerID: referrerID, ConversionID: "cnv_browser_1", Currency: "USD",
		Amount: 1250, RuleSource: "program", RuleVersion: 1, OccurredAt: now,
	}, commission.ActorSystem, now)
	if err != nil {
		t.Fatal(err)
	}
	if err := l.ApplyLedgerChange(context.Background(), store.LedgerChange{OrgID: s.Org, Created: []commission.Commission{c}, Audit: []commission.AuditEntry{a}}); err != nil {
		t.Fatal(err)
	}
	return c
}
