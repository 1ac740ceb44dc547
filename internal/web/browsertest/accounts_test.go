package browsertest

import (
	"context"
	"net/http"
	"regexp"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/chromedp/chromedp"

	"github.com/partnerloop/partnerloop/internal/apptest"
	"github.com/partnerloop/partnerloop/internal/identity"
)

var resetLinkRe = regexp.MustCompile(`https?://\S+(/reset-password\?token=[A-Za-z0-9_\-]+)`)

// TestAccountsTiersAndOrganizationSettings walks the rest of Settings
// (issue 14, point 6) as an admin and a program manager use it: the
// organization's name, time zone and e-mail sender name are saved and
// show on the pages and e-mails; the last admin cannot be demoted, a
// program manager is made an admin and then opens admin pages; a
// forgotten password is reset from the sign-in page through the e-mailed
// link, which works once, and a second link stops working after an hour;
// the tiers page counts each tier's partners, the count opens them, and a
// tier is renamed and its rate changed. Screenshots: accounts-*.png.
func TestAccountsTiersAndOrganizationSettings(t *testing.T) {
	var offset atomic.Int64 // how far the site's clock is ahead
	s := startSiteAt(t, func() time.Time { return time.Now().Add(time.Duration(offset.Load())) })
	a := &apptest.Activity{T: t, App: s.App, Org: s.Org}
	gold := a.Tier("Gold")
	a.Partner("Acme Resellers", gold.ID)
	a.Partner("Globex Partners", gold.ID)
	a.Tier("Silver")
	prog := a.Program("Partner program", time.Now().AddDate(0, 0, -10))
	ada := a.Referrer(prog.ID, "Ada Lovelace", "")
	bought := time.Now().UTC().Add(-24 * time.Hour).Truncate(time.Hour)
	a.Conversion(ada.Code, 12000, bought)
	berlin, err := time.LoadLocation("Europe/Berlin")
	if err != nil {
		t.Fatal(err)
	}

	tb := newTabWithin(t, s.URL, 3*time.Minute)
	tb.signIn(adminEmail, adminPassword)

	// The organization: name, time zone, sender name.
	tb.open("/settings/organization")
	tb.fill("f-name", "Acme Partner Network")
	tb.fill("f-timeZone", "Europe/Berlin")
	tb.fill("f-mailSenderName", "Acme Partnerprogramm")
	if st := tb.submit(`form[action="/settings/organization"] button[type=submit]`); st != http.StatusOK {
		t.Fatalf("save organization: %d", st)
	}
	tb.shot("accounts-organization")
	if v, _ := chromedp.Run(tb.ctx, chromedp.Value(chromedp.ID("f-timeZone"))); v != "Europe/Berlin" {
		t.Errorf("time zone after saving: %q", v)
	}
	tb.open("/conversions")
	if got, want := tb.text("#conversions tbody"), bought.In(berlin).Format("2 Jan 2006 15:04 MST"); !strings.Contains(got, want) {
		t.Errorf("the conversion is not told in Europe/Berlin (%s):\n%s", want, got)
	}

	// Roles: the last admin stays; the program manager becomes an admin.
	tb.open("/settings/users")
	admin, err := s.App.Store.GetUserByEmail(context.Background(), adminEmail)
	if err != nil {
		t.Fatal(err)
	}
	tb.do("demote myself", chromedp.SetValue(chromedp.ID("role-"+admin.ID), "program_manager"))
	tb.expectError("/settings/users/" + admin.ID + "/role")
	if st := tb.submit(`form[action="/settings/users/` + admin.ID + `/role"] button`); st != http.StatusConflict {
		t.Errorf("demote the only admin: %d, want 409", st)
	}
	if msg := tb.text("main"); !strings.Contains(msg, "only active admin") {
		t.Errorf("no message about the last admin:\n%s", msg)
	}
	tb.open("/settings/users")
	tb.do("promote Pat", chromedp.SetValue(chromedp.ID("role-usr_pm"), "admin"))
	if st := tb.submit(`form[action="/settings/users/usr_pm/role"] button`); st != http.StatusOK {
		t.Fatalf("change role: %d", st)
	}
	if n := tb.text(".flash"); n != pmEmail+": Role changed to admin." {
		t.Errorf("notice after changing the role: %q", n)
	}
	if row := tb.text(`tr:has(form[action="/settings/users/usr_pm/role"])`); !strings.Contains(row, "Admin") {
		t.Errorf("Pat's row after the change: %q", row)
	}
	tb.shot("accounts-users-role-changed")
	tb.submit(`form[action="/logout"] button`)

	// Pat forgot the password: the link from the sign-in page, the mail,
	// the page naming the address and the organization, a new password.
	tb.open("/login")
	tb.do("Forgot your password?", chromedp.Click(chromedp.CSS(`a[href="/forgot-password"]`)), chromedp.WaitVisible(chromedp.ID("f-email")))
	tb.fill("f-email", pmEmail)
	if st := tb.submit(`form[action="/forgot-password"] button[type=submit]`); st != http.StatusOK {
		t.Fatalf("forgot password: %d", st)
	}
	if h := tb.text("h1"); h != "Check your email" {
		t.Errorf("after asking for a link: %q", h)
	}
	tb.shot("accounts-forgot-sent")
	link, from := resetLink(t, s, "")
	if !strings.HasPrefix(from, `"Acme Partnerprogramm" <`) {
		t.Errorf("the reset e-mail is from %q, want the sender name", from)
	}
	tb.open(link)
	if h := tb.text("h1"); h != "Choose a new password" {
		t.Fatalf("reset page: %q", h)
	}
	if p := tb.text(".auth-card p"); p != "For "+pmEmail+" at Acme Partner Network." {
		t.Errorf("the reset page says %q", p)
	}
	tb.shot("accounts-reset-password")
	const newPassword = "a brand new passphrase for Pat"
	tb.fill("f-password", newPassword)
	tb.fill("f-passwordConfirm", newPassword)
	if st := tb.submit(`form[action="/reset-password"] button[type=submit]`); st != http.StatusOK {
		t.Fatalf("save the new password: %d", st)
	}
	if n := tb.text(".flash"); !strings.HasPrefix(n, "Your new password is saved") {
		t.Errorf("notice after the reset: %q", n)
	}
	// Pat is an admin now: the admin pages open.
	if st := tb.open("/partners"); st != http.StatusOK {
		t.Errorf("the promoted admin opens Partners: %d", st)
	}
	tb.submit(`form[action="/logout"] button`)
	tb.expectError("/login")
	tb.fill("f-email", pmEmail)
	tb.fill("f-password", pmPassword)
	if st := tb.submit(`form[action="/login"] button[type=submit]`); st != http.StatusUnauthorized {
		t.Errorf("the old password after the reset: %d, want 401", st)
	}
	// The link works once.
	tb.expectError(link)
	if st := tb.open(link); st != http.StatusGone || !strings.Contains(tb.text("main"), "expired or was already used") {
		t.Errorf("the link used again: %d %q", st, tb.text("main"))
	}
	tb.shot("accounts-reset-used")
	// A second link, opened an hour and a minute later, has expired.
	tb.open("/forgot-password")
	tb.fill("f-email", pmEmail)
	tb.submit(`form[action="/forgot-password"] button[type=submit]`)
	late, _ := resetLink(t, s, link)
	offset.Store(int64(identity.PasswordResetTTL + time.Minute))
	tb.expectError(late)
	if st := tb.open(late); st != http.StatusGone {
		t.Errorf("a reset link after %s: %d, want 410", identity.PasswordResetTTL+time.Minute, st)
	}
	offset.Store(0)
	tb.signIn(pmEmail, newPassword)

	// Tiers: partner counts that open the partners, a tier edited.
	tb.open("/partner-tiers")
	count := `a[href="/partners?tierId=` + gold.ID + `"]`
	if got := tb.text(count); got != "2" {
		t.Errorf("Gold's partner count: %q, want 2", got)
	}
	if label := tb.attr(count, "aria-label"); label != "2 partners in Gold" {
		t.Errorf("the count's label: %q", label)
	}
	tb.shot("accounts-tiers")
	tb.do("Gold's partners", chromedp.Click(chromedp.CSS(count)), chromedp.WaitVisible(chromedp.ID("list-count")))
	if got := tb.text("#list-count span"); got != "2 matching partners" {
		t.Errorf("Gold's partners: %q", got)
	}
	tb.open("/partner-tiers")
	tb.do("edit Gold", chromedp.Click(chromedp.CSS(`a[aria-label="Edit Gold"]`)), chromedp.WaitVisible(chromedp.ID("f-name")))
	tb.fill("f-name", "Gold resellers")
	tb.do("percentage", chromedp.Click(chromedp.CSS(`input[name="commission.type"][value="percentage"]`)))
	tb.fill("f-commission-rateBps", "12.5")
	if st := tb.submit(`form[action="/partner-tiers/` + gold.ID + `"] button[type=submit]`); st != http.StatusOK {
		t.Fatalf("save tier: %d", st)
	}
	if got := tb.text(`a[href="/partner-tiers/` + gold.ID + `"]`); got != "Gold resellers" {
		t.Errorf("the tier after renaming: %q", got)
	}
	if row := tb.text(`tr:has(` + count + `)`); !strings.Contains(row, "12.5%") || !strings.Contains(row, "2") {
		t.Errorf("Gold's row after the edit: %q", row)
	}
	tb.shot("accounts-tier-edited")
	tb.check()
}

// resetLink waits for a password reset e-mail to Pat with a link other
// than except, and returns the link (path and query) and the sender.
func resetLink(t *testing.T, s *site, except string) (link, from string) {
	t.Helper()
	deadline := time.Now().Add(5 * time.Second)
	for time.Now().Before(deadline) {
		for _, m := range s.App.Mailbox.Messages() {
			if l := resetLinkRe.FindStringSubmatch(m.Text); l != nil && strings.Contains(m.To, pmEmail) && l[1] != except {
				return l[1], m.From
			}
		}
		time.Sleep(50 * time.Millisecond)
	}
	t.Fatalf("no new password reset e-mail in the mailbox")
	return "", ""
}
