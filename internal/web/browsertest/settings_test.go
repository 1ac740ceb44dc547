package browsertest

import (
	"context"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/chromedp/chromedp"

	"github.com/partnerloop/partnerloop/internal/apptest"
	"github.com/partnerloop/partnerloop/internal/domain"
	"github.com/partnerloop/partnerloop/internal/identity"
)

// TestSettingsAndAccounts walks Settings as an admin: the organization's
// money format switches the commissions page from $ to German notation;
// an API key is created (its secret shown once, copied) and revoked; the
// program manager is disabled and is signed out at once; the invitation
// page names the organization and the address.
func TestSettingsAndAccounts(t *testing.T) {
	s := startSite(t)
	now := time.Now()
	a := &apptest.Activity{T: t, App: s.App, Org: s.Org}
	acme := a.Partner("Acme Resellers", a.Tier("Gold").ID)
	prog := a.Program("Partner program", now.AddDate(0, 0, -10))
	ada := a.Referrer(prog.ID, "Ada Lovelace", acme.ID)
	seedPartnerCommission(t, s, prog.ID, ada.ID, acme.ID, 4800000)

	pmTab := newTab(t, s.URL)
	pmTab.signIn(pmEmail, pmPassword)
	tb := newTab(t, s.URL)
	tb.grantClipboard()
	tb.signIn(adminEmail, adminPassword)

	tb.open("/commissions")
	if got := tb.text("td.num"); got != "$48,000.00" {
		t.Errorf("commission in en-US: %q, want $48,000.00", got)
	}
	tb.open("/settings/organization")
	tb.do("choose de-DE", chromedp.SetValue(chromedp.ID("f-locale"), "de-DE"))
	tb.fill("f-brandColor", "#0f766e")
	if st := tb.submit(`form[action="/settings/organization"] button[type=submit]`); st != http.StatusOK {
		t.Fatalf("save organization: %d", st)
	}
	tb.shot("settings-organization-de")
	tb.open("/commissions")
	if got := tb.text("td.num"); got != "48.000,00\u00a0$" {
		t.Errorf("commission in de-DE: %q, want 48.000,00 $", got)
	}
	if brand, _ := chromedp.Run(tb.ctx, chromedp.Evaluate[string](`getComputedStyle(document.documentElement).getPropertyValue("--brand").trim()`)); brand != "#0f766e" {
		t.Errorf("brand colour %q", brand)
	}

	// An API key: the secret once, copied; then revoked.
	tb.open("/settings/api-keys")
	tb.fill("f-name", "Checkout backend")
	if st := tb.submit(`form[action="/settings/api-keys"] button[type=submit]`); st != http.StatusCreated {
		t.Fatalf("create key: %d", st)
	}
	secret := tb.attr("#new-secret", "value")
	tb.do("copy", chromedp.Click(chromedp.CSS(`[data-copy="new-secret"]`)), chromedp.WaitVisible(chromedp.CSS(`[data-copied="true"]`)))
	if got, _ := chromedp.Run(tb.ctx, chromedp.Evaluate[string]("navigator.clipboard.readText()", chromedp.EvalAwaitPromise)); got != secret {
		t.Errorf("clipboard %q, want the secret", got)
	}
	tb.shot("settings-api-key-created")
	if _, err := s.App.Identity.Authenticate(context.Background(), secret); err != nil {
		t.Fatalf("the new key does not authenticate: %v", err)
	}
	tb.open("/settings/api-keys")
	if tb.has("#new-secret") || strings.Contains(tb.text("main"), secret) {
		t.Error("the secret is shown again")
	}
	tb.submit(`form[action$="/revoke"] button`)
	if _, err := s.App.Identity.Authenticate(context.Background(), secret); err == nil {
		t.Error("the revoked key still authenticates")
	}

	// Disable the program manager: its next page is the sign-in page.
	tb.open("/settings/users")
	tb.submit(`form[action="/settings/users/usr_pm/disable"] button`)
	if !strings.Contains(tb.text(".flash"), "User disabled") {
		t.Errorf("notice: %q", tb.text(".flash"))
	}
	tb.shot("settings-users-disabled")
	pmTab.open("/programs")
	if !pmTab.has("#f-password") {
		t.Error("the disabled program manager still sees pages")
	}

	// The invitation page says who invites whom.
	admin, err := s.App.Store.GetUserByEmail(context.Background(), adminEmail)
	if err != nil {
		t.Fatal(err)
	}
	p := identity.Principal{OrgID: s.Org, Role: domain.RoleAdmin, UserID: admin.ID, Email: admin.Email}
	if _, _, err := s.App.Identity.InviteUser(context.Background(), p, "grace@example.com", "Grace", domain.RoleProgramManager); err != nil {
		t.Fatal(err)
	}
	var token string
	for _, m := range s.App.Mailbox.Messages() {
		if strings.Contains(m.To, "grace@example.com") {
			token, _ = identity.InvitationToken(m.Text)
		}
	}
	tb.submit(`form[action="/logout"] button`)
	tb.open("/accept-invitation?token=" + token)
	if got := tb.text(".auth-card p"); got != "Browser Org invites grace@example.com." {
		t.Errorf("invitation page: %q", got)
	}
	tb.check()
	pmTab.check()
}
