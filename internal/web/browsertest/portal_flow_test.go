package browsertest

import (
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/chromedp/chromedp"

	"github.com/partnerloop/partnerloop/internal/commission"
	"github.com/partnerloop/partnerloop/internal/domain"
	"github.com/partnerloop/partnerloop/internal/portaltest"
	"github.com/partnerloop/partnerloop/internal/store"
)

const partnerEmail = "ada@acme.example"

var inviteLinkRe = regexp.MustCompile(`https?://\S+/accept-invitation\?token=[A-Za-z0-9_\-]+`)

// TestPartnerPortalFlow is the whole flow: an admin creates a
// program and a partner (with a tier) and invites it; the partner opens
// the link from the local mailbox, sets a password (a weak one first),
// copies its link and registers a deal; the admin approves it and marks
// it won; the partner sees it won and downloads its statement, whose PDF
// totals equal the CSV's and the API's.
func TestPartnerPortalFlow(t *testing.T) {
	s := startSite(t)
	tb := newTab(t, s.URL)
	t.Logf("screenshots: %s", tb.shots)
	tb.signIn(adminEmail, adminPassword)

	// A tier, a partner in it, invited from its page.
	tb.open("/partner-tiers")
	tb.fill("f-name", "Silver")
	tb.fill("f-commission-rateBps", "10")
	tb.submit(`form[action="/partner-tiers"] button[type=submit]`)
	tiers, _, err := s.App.Partners.ListTiers(context.Background(), s.Org, store.Page{Limit: 10})
	if err != nil || len(tiers) != 1 {
		t.Fatalf("tiers: %v %v", tiers, err)
	}
	tb.open("/partners/new")
	tb.fill("f-companyName", "Acme Resellers")
	tb.fill("f-contactName", "Ada Lovelace")
	tb.fill("f-email", partnerEmail)
	tb.do("choose the tier", chromedp.SetValue(chromedp.ID("f-tierId"), tiers[0].ID))
	tb.submit(`form[action="/partners"] button[type=submit]`)
	if st := tb.text("#portal-access h2 .pill"); st != "None" {
		t.Fatalf("portal access before inviting: %q", st)
	}
	if st := tb.submit(`form[action$="/invitation"] button`); st != http.StatusOK {
		t.Fatalf("invite: %d", st)
	}
	if n := tb.text(".flash"); n != "Invitation sent to "+partnerEmail+"." {
		t.Errorf("notice after inviting: %q", n)
	}
	if st := tb.text("#portal-access h2 .pill"); st != "Invited" {
		t.Errorf("portal access after inviting: %q", st)
	}
	tb.shot("10-partner-portal-access")
	partnerID := strings.TrimPrefix(mustURLPath(t, tb), "/partners/")

	// A program with a flat rule, active, with a referrer for the partner.
	tb.open("/programs/new")
	tb.fill("f-name", "Partner program")
	tb.fill("f-landingUrl", "https://example.com/partners")
	tb.do("choose flat", chromedp.Click(chromedp.CSS(`input[name="commission.type"][value="flat"]`)))
	tb.fill("f-commission-amount", "50")
	if st := tb.submit(`form[action="/programs"] button[type=submit]`); st != http.StatusOK {
		t.Fatalf("create program: %d", st)
	}
	tb.submit(`form[action$="/status"] input[value="active"] ~ button`)
	tb.fill("f-email", partnerEmail)
	tb.fill("f-name", "Ada Lovelace")
	tb.do("choose the partner", chromedp.SetValue(chromedp.ID("f-partnerId"), partnerID))
	if st := tb.submit(`form[action$="/referrers"] button[type=submit]`); st != http.StatusOK {
		t.Fatalf("enrol: %d", st)
	}
	tb.check()
	tb.submit(`form[action="/logout"] button`)

	// The partner opens the link from the mailbox.
	var link string
	for _, m := range s.App.Mailbox.Messages() {
		if strings.Contains(m.To, partnerEmail) {
			link = inviteLinkRe.FindString(m.Text)
			break
		}
	}
	if link == "" {
		t.Fatalf("no invitation link in the mailbox: %+v", s.App.Mailbox.Messages())
	}
	tb.open(strings.TrimPrefix(link, s.URL))
	tb.shot("11-accept-invitation")
	tb.fill("f-password", "short")
	tb.fill("f-passwordConfirm", "short")
	tb.expectError("/accept-invitation")
	if st := tb.submit(`form[action^="/accept-invitation"] button[type=submit]`); st != http.StatusUnprocessableEntity {
		t.Fatalf("weak password: %d, want 422", st)
	}
	if msg := tb.text("#f-password-error"); msg == "" {
		t.Fatal("no error next to the password field")
	}
	const partnerPassword = "correct horse battery staple 42"
	tb.fill("f-password", partnerPassword)
	tb.fill("f-passwordConfirm", partnerPassword)
	if st := tb.submit(`form[action^="/accept-invitation"] button[type=submit]`); st != http.StatusOK {
		t.Fatalf("accept: %d", st)
	}
	if p := mustURLPath(t, tb); p != "/portal" {
		t.Fatalf("after accepting: %s, want /portal", p)
	}
	tb.shot("12-portal-dashboard")

	// Copy the link.
	tb.open("/portal/links")
	want, err := chromedp.Run(tb.ctx, chromedp.Value(chromedp.CSS(".copy input")))
	if err != nil || !strings.HasPrefix(want, s.URL+"/r/") {
		t.Fatalf("partner's link %q (%v)", want, err)
	}
	tb.grantClipboard()
	tb.do("copy", chromedp.Click(chromedp.CSS("[data-copy]")), chromedp.WaitVisible(chromedp.CSS(`[data-copied="true"]`)))
	copied, err := chromedp.Run(tb.ctx, chromedp.Evaluate[string]("navigator.clipboard.readText()", chromedp.EvalAwaitPromise))
	if err != nil || copied != want {
		t.Errorf("clipboard holds %q (%v), want %q", copied, err, want)
	}
	tb.shot("13-portal-links")

	// Register a deal.
	tb.open("/portal/deals")
	tb.fill("f-customerName", "Globex")
	tb.fill("f-customerDomain", "globex.example")
	tb.fill("f-value", "12000")
	if st := tb.submit(`form[action="/portal/deals"] button[type=submit]`); st != http.StatusOK {
		t.Fatalf("register deal: %d", st)
	}
	if st := tb.text("tbody .pill"); st != "Registered" {
		t.Errorf("deal status: %q", st)
	}
	tb.shot("14-portal-deals")
	tb.open("/portal/referrals")
	tb.shot("15-portal-referrals")
	tb.check()
	tb.submit(`form[action="/logout"] button`)

	// The admin approves it and marks it won.
	tb.signIn(adminEmail, adminPassword)
	tb.open("/deals")
	tb.shot("16-deals")
	if st := tb.submit(`form[action$="/approve"] button`); st != http.StatusOK {
		t.Fatalf("approve: %d", st)
	}
	tb.open("/deals")
	tb.fill(tb.attr(`form[action$="/won"] input[name="value"]`, "id"), "15000")
	if st := tb.submit(`form[action$="/won"] button`); st != http.StatusOK {
		t.Fatalf("won: %d", st)
	}
	if n := tb.text(".flash"); n != "Deal for Globex marked won." {
		t.Errorf("notice after won: %q", n)
	}
	tb.open("/settings/users")
	tb.shot("17-users")
	tb.check()
	tb.submit(`form[action="/logout"] button`)

	// The partner sees it won, and its statement.
	tb.signIn(partnerEmail, partnerPassword)
	tb.open("/portal/deals")
	if st := tb.text("tbody .pill"); st != "Won" {
		t.Errorf("the partner sees its deal as %q, want Won", st)
	}
	refs, _, _ := s.App.Programs.ListReferrers(context.Background(), s.Org, firstProgram(t, s), store.Page{Limit: 10})
	seedPartnerCommission(t, s, refs[0].ProgramID, refs[0].ID, partnerID, 5000)
	seedPartnerCommission(t, s, refs[0].ProgramID, refs[0].ID, partnerID, 2550)
	tb.open("/portal/earnings")
	tb.shot("18-portal-earnings")
	month := time.Now().UTC().Format("2006-01")
	pdf := tb.download(`a[href="/portal/statements/` + month + `.pdf"]`)
	csv := tb.download(`a[href="/portal/statements/` + month + `.csv"]`)
	pdfTotals, csvTotals := portaltest.PDFTotals(t, pdf), portaltest.CSVTotals(t, csv)
	if len(csvTotals) == 0 || fmt.Sprint(pdfTotals) != fmt.Sprint(csvTotals) {
		t.Errorf("PDF totals %v differ from the CSV's %v", pdfTotals, csvTotals)
	}
	var earned int64
	for _, c := range apiCommissions(t, s, partnerEmail, partnerPassword) {
		earned += c.Amount.Amount
	}
	if got, want := csvTotals["USD earned"], domain.FormatMajor(earned, "USD"); earned == 0 || got != want {
		t.Errorf("statement earned %q, the API's commissions sum to %q", got, want)
	}
	tb.check()
}

func (tb *tab) signIn(email, password string) {
	tb.t.Helper()
	tb.open("/login")
	tb.fill("f-email", email)
	tb.fill("f-password", password)
	if st := tb.submit(`form[action="/login"] button[type=submit]`); st != http.StatusOK {
		tb.t.Fatalf("sign in %s: %d", email, st)
	}
}

func (tb *tab) attr(sel, name string) string {
	tb.t.Helper()
	v, err := chromedp.Run(tb.ctx, chromedp.AttributeValue(chromedp.CSS(sel), name))
	if err != nil || !v.Exists {
		tb.t.Fatalf("attribute %s of %s: %v", name, sel, err)
	}
	return v.Value
}

func mustURLPath(t *testing.T, tb *tab) string {
	t.Helper()
	p, err := chromedp.Run(tb.ctx, chromedp.Evaluate[string]("location.pathname"))
	if err != nil {
		t.Fatal(err)
	}
	return p
}

func firstProgram(t *testing.T, s *site) string {
	t.Helper()
	ps, _, err := s.App.Programs.List(context.Background(), s.Org, store.Page{Limit: 10})
	if err != nil || len(ps) == 0 {
		t.Fatalf("programs: %v %v", ps, err)
	}
	return ps[0].ID
}

var seq int

// seedPartnerCommission records a pending commission of the partner, as
// the calculator would for one of its conversions.
func seedPartnerCommission(t *testing.T, s *site, programID, referrerID, partnerID string, amount int64) {
	t.Helper()
	seq++
	now := time.Now().UTC().Add(-time.Minute)
	c, a, err := commission.NewCommission(commission.Earning{
		OrgID: s.Org, ProgramID: programID, ReferrerID: referrerID, PartnerID: partnerID,
		ConversionID: fmt.Sprintf("cnv_portal_%d", seq), Currency: "USD",
		Amount: amount, RuleSource: "program", RuleVersion: 1, OccurredAt: now,
	}, commission.ActorSystem, now)
	if err != nil {
		t.Fatal(err)
	}
	if err := s.App.Store.(store.Ledger).ApplyLedgerChange(context.Background(),
		store.LedgerChange{OrgID: s.Org, Created: []commission.Commission{c}, Audit: []commission.AuditEntry{a}}); err != nil {
		t.Fatal(err)
	}
}

// apiCommissions is GET /v1/portal/commissions as the partner, all pages.
func apiCommissions(t *testing.T, s *site, email, password string) []commission.Commission {
	t.Helper()
	token, _, _, err := s.App.Identity.Login(context.Background(), email, password, "127.0.0.1")
	if err != nil {
		t.Fatal(err)
	}
	var out []commission.Commission
	next := ""
	for {
		req, _ := http.NewRequest("GET", s.URL+"/v1/portal/commissions?limit=100&cursor="+next, nil)
		req.Header.Set("Authorization", "Bearer "+token)
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		var page struct {
			Items      []commission.Commission `json:"items"`
			NextCursor string                  `json:"nextCursor"`
		}
		err = json.NewDecoder(resp.Body).Decode(&page)
		resp.Body.Close()
		if err != nil || resp.StatusCode != http.StatusOK {
			t.Fatalf("GET /v1/portal/commissions: %d %v", resp.StatusCode, err)
		}
		out = append(out, page.Items...)
		if page.NextCursor == "" {
			return out
		}
		next = page.NextCursor
	}
}
