package web_test

import (
	"net/http"
	"net/url"
	"regexp"
	"strings"
	"testing"

	"github.com/partnerloop/partnerloop/internal/apptest"
	"github.com/partnerloop/partnerloop/internal/domain"
	"github.com/partnerloop/partnerloop/internal/identity"
)

// TestOrganizationFormats: the organization's locale, colour and sender
// name are set on Settings → Organization (and through PATCH
// /v1/organization, which answers them); money on the pages follows the
// locale, the colour arrives as a stylesheet (no inline style under the
// CSP), and bad values are refused next to their fields.
func TestOrganizationFormats(t *testing.T) {
	e := apptest.New(t)
	b := withSession(t, e, e.AdminToken)
	page := b.do("GET", "/settings/organization", nil)
	if page.Status != http.StatusOK || !strings.Contains(body(page), "$48,000.00, €1,234.00") {
		t.Fatalf("organization page in en-US: %d\n%s", page.Status, page.Body)
	}

	r := b.submit("/settings/organization", "/settings/organization", url.Values{"name": {"Acme GmbH"}, "timeZone": {"Europe/Berlin"},
		"locale": {"xx-YY"}, "brandColor": {"red; } body { display: none"}, "mailSenderName": {"Acme\r\nBcc: x@example.com"}})
	if r.Status != http.StatusUnprocessableEntity {
		t.Fatalf("bad settings: %d", r.Status)
	}
	for _, id := range []string{"f-locale-error", "f-brandColor-error", "f-mailSenderName-error"} {
		if !strings.Contains(body(r), `id="`+id+`"`) {
			t.Errorf("no %s", id)
		}
	}

	r = b.submit("/settings/organization", "/settings/organization", url.Values{"name": {"Acme GmbH"}, "timeZone": {"Europe/Berlin"},
		"locale": {"de-DE"}, "brandColor": {"#0F766E"}, "mailSenderName": {"Acme Partnerprogramm"}})
	if r.Status != http.StatusSeeOther {
		t.Fatalf("save: %d\n%s", r.Status, r.Body)
	}
	page = b.do("GET", "/settings/organization", nil)
	if !strings.Contains(body(page), "48.000,00\u00a0$, 1.234,00\u00a0€") {
		t.Errorf("money in de-DE not on the page:\n%s", page.Body)
	}
	if !strings.Contains(body(page), `<link rel="stylesheet" href="/theme.css?c=0f766e">`) {
		t.Error("the brand colour's stylesheet is not linked")
	}
	css := b.do("GET", "/theme.css?c=0f766e", nil)
	if css.Status != http.StatusOK || !strings.Contains(body(css), "--brand: #0f766e;") || !strings.HasPrefix(css.Header.Get("Content-Type"), "text/css") {
		t.Errorf("theme: %d %q %s", css.Status, css.Header.Get("Content-Type"), css.Body)
	}
	if r := b.do("GET", "/theme.css?c=0f766e;}*{x:y", nil); r.Status != http.StatusNotFound {
		t.Errorf("a theme that is not a colour: %d", r.Status)
	}

	api := e.Do(t, "GET", "/v1/organization", e.AdminToken, nil)
	if api.String("locale") != "de-DE" || api.String("brandColor") != "#0f766e" || api.String("mailSenderName") != "Acme Partnerprogramm" {
		t.Errorf("GET /v1/organization: %s", api.Body)
	}
	api = e.Do(t, "PATCH", "/v1/organization", e.AdminToken, map[string]any{"locale": "en-GB", "brandColor": ""})
	if api.Status != http.StatusOK || api.String("locale") != "en-GB" || api.String("brandColor") != "" || api.String("timeZone") != "Europe/Berlin" {
		t.Errorf("PATCH /v1/organization: %d %s", api.Status, api.Body)
	}
	if api := e.Do(t, "PATCH", "/v1/organization", e.AdminToken, map[string]any{"locale": "klingon"}); api.Status != http.StatusUnprocessableEntity {
		t.Errorf("PATCH an unsupported locale: %d", api.Status)
	}
}

// TestInvitationPageNamesTheOrganizationAndAddress: the page an
// invitation link opens says who invites which address; a link that is
// not (or no longer) an invitation is 410 without either.
func TestInvitationPageNamesTheOrganizationAndAddress(t *testing.T) {
	e := apptest.New(t)
	if r := e.InvitePartner(t, "ada@acme.example"); r.Status >= 300 {
		t.Fatalf("invite: %d %s", r.Status, r.Body)
	}
	token := e.LastInvitationToken(t, "ada@acme.example")
	b := newBrowser(t, e)
	r := b.do("GET", "/accept-invitation?token="+url.QueryEscape(token), nil)
	if r.Status != http.StatusOK || !strings.Contains(body(r), "<strong>Test Org</strong> invites <strong>ada@acme.example</strong>") {
		t.Fatalf("invitation page: %d\n%s", r.Status, r.Body)
	}
	r = b.do("GET", "/accept-invitation?token=pli_not-a-token", nil)
	if r.Status != http.StatusGone || strings.Contains(body(r), "invites") {
		t.Errorf("unknown token: %d\n%s", r.Status, r.Body)
	}
}

// TestUsersPageChangesRolesAndDisables: Settings → Users changes a role
// and disables a user (whose session ends at once), and refuses to
// demote the last active admin with a message above the list.
func TestUsersPageChangesRolesAndDisables(t *testing.T) {
	e := apptest.New(t)
	pm := e.NewUser(t, e.OrgID, domain.RoleProgramManager, "")
	pmID := e.Do(t, "GET", "/v1/me", pm, nil).String("id")
	adminID := e.Do(t, "GET", "/v1/me", e.AdminToken, nil).String("id")
	b := withSession(t, e, e.AdminToken)
	if r := b.do("GET", "/settings/users", nil); !strings.Contains(body(r), `action="/settings/users/`+pmID+`/disable"`) {
		t.Fatalf("no Disable for the program manager:\n%s", r.Body)
	}
	r := b.submit("/settings/users", "/settings/users/"+adminID+"/role", url.Values{"role": {"program_manager"}})
	if r.Status != http.StatusConflict || !strings.Contains(body(r), "only active admin") {
		t.Fatalf("demote the last admin: %d\n%s", r.Status, r.Body)
	}
	if r := b.submit("/settings/users", "/settings/users/"+pmID+"/disable", url.Values{}); r.Status != http.StatusSeeOther {
		t.Fatalf("disable: %d\n%s", r.Status, r.Body)
	}
	if r := e.Do(t, "GET", "/v1/me", pm, nil); r.Status != http.StatusUnauthorized {
		t.Errorf("the disabled user's session still works: %d", r.Status)
	}
	if r := b.submit("/settings/users", "/settings/users/"+pmID+"/role", url.Values{"role": {"admin"}}); r.Status != http.StatusSeeOther {
		t.Fatalf("promote: %d\n%s", r.Status, r.Body)
	}
	if u, err := e.App.Store.GetUser(t.Context(), e.OrgID, pmID); err != nil || u.Role != domain.RoleAdmin || u.Status != domain.UserDisabled {
		t.Errorf("stored user %+v %v", u, err)
	}
}

// TestAPIKeysPage: Settings → API keys creates a key and shows its secret
// on that answer only (the list shows its prefix), the key works against
// the API, and Revoke stops it at once.
func TestAPIKeysPage(t *testing.T) {
	e := apptest.New(t)
	b := withSession(t, e, e.AdminToken)
	r := b.submit("/settings/api-keys", "/settings/api-keys", url.Values{"name": {""}})
	if r.Status != http.StatusUnprocessableEntity || !strings.Contains(body(r), `id="f-name-error"`) {
		t.Fatalf("nameless key: %d", r.Status)
	}
	r = b.submit("/settings/api-keys", "/settings/api-keys", url.Values{"name": {"Checkout backend"}})
	m := regexp.MustCompile(`id="new-secret"|value="(plk_[^"]+)"`).FindAllStringSubmatch(body(r), -1)
	secret := ""
	for _, x := range m {
		if x[1] != "" {
			secret = x[1]
		}
	}
	if r.Status != http.StatusCreated || secret == "" {
		t.Fatalf("create: %d\n%s", r.Status, r.Body)
	}
	if got := e.Do(t, "GET", "/v1/referrals", secret, nil); got.Status != http.StatusOK {
		t.Fatalf("the new key does not work: %d", got.Status)
	}
	list := b.do("GET", "/settings/api-keys", nil)
	if strings.Contains(body(list), secret) || !strings.Contains(body(list), "Checkout backend") || !strings.Contains(body(list), secret[:10]) {
		t.Fatalf("the list shows the secret, or not the key:\n%s", list.Body)
	}
	id := regexp.MustCompile(`/settings/api-keys/([^/"]+)/revoke`).FindStringSubmatch(body(list))
	if id == nil {
		t.Fatal("no Revoke")
	}
	if r := b.submit("/settings/api-keys", "/settings/api-keys/"+id[1]+"/revoke", url.Values{}); r.Status != http.StatusSeeOther {
		t.Fatalf("revoke: %d", r.Status)
	}
	if got := e.Do(t, "GET", "/v1/referrals", secret, nil); got.Status != http.StatusUnauthorized {
		t.Errorf("the revoked key still works: %d", got.Status)
	}
	if r := b.submit("/settings/api-keys", "/settings/api-keys/"+id[1]+"/revoke", url.Values{}); r.Status != http.StatusNotFound {
		t.Errorf("revoke twice: %d", r.Status)
	}
}

// TestForgotPassword: the form answers the same for an unknown address
// and a known one; the known one gets a single-use link whose new password
// signs out every other session; asking too often is 429.
func TestForgotPassword(t *testing.T) {
	e := apptest.New(t)
	b := newBrowser(t, e)
	if r := b.do("GET", "/login", nil); !strings.Contains(body(r), `href="/forgot-password"`) {
		t.Error("the sign-in page does not offer Forgot your password?")
	}
	before := len(e.App.Mailbox.Messages())
	unknown := b.submit("/forgot-password", "/forgot-password", url.Values{"email": {"nobody@example.com"}})
	known := b.submit("/forgot-password", "/forgot-password", url.Values{"email": {apptest.AdminEmail}})
	clean := func(r *apptest.Response, email string) string {
		return regexp.MustCompile(`name="csrf" value="[^"]*"`).ReplaceAllString(strings.ReplaceAll(body(r), email, "EMAIL"), "")
	}
	if unknown.Status != http.StatusOK || known.Status != http.StatusOK || clean(unknown, "nobody@example.com") != clean(known, apptest.AdminEmail) {
		t.Fatalf("the answers differ: %d / %d", unknown.Status, known.Status)
	}
	msgs := e.App.Mailbox.Messages()
	if len(msgs) != before+1 || msgs[len(msgs)-1].To != apptest.AdminEmail {
		t.Fatalf("mail: %+v", msgs[before:])
	}
	link := regexp.MustCompile(`https?://\S+(/reset-password\?token=[A-Za-z0-9_\-]+)`).FindStringSubmatch(msgs[len(msgs)-1].Text)
	if link == nil {
		t.Fatalf("no reset link in %q", msgs[len(msgs)-1].Text)
	}
	page := b.do("GET", link[1], nil)
	if page.Status != http.StatusOK || !strings.Contains(body(page), "Choose a new password") || !strings.Contains(body(page), apptest.AdminEmail) {
		t.Fatalf("reset page: %d\n%s", page.Status, page.Body)
	}
	token := strings.TrimPrefix(link[1], "/reset-password?token=")
	const pw = "a brand new passphrase 2026"
	r := b.submit(link[1], "/reset-password", url.Values{"token": {token}, "password": {pw}, "passwordConfirm": {pw}})
	if r.Status != http.StatusSeeOther {
		t.Fatalf("reset: %d\n%s", r.Status, r.Body)
	}
	if r := e.Do(t, "GET", "/v1/me", e.AdminToken, nil); r.Status != http.StatusUnauthorized {
		t.Errorf("the session from before the reset still works: %d", r.Status)
	}
	e.Login(t, apptest.AdminEmail, pw)
	if r := b.do("GET", link[1], nil); r.Status != http.StatusGone {
		t.Errorf("the link used twice: %d", r.Status)
	}
	var last int
	for range identity.ResetsPerEmailPerHour + 1 {
		last = b.submit("/forgot-password", "/forgot-password", url.Values{"email": {"someone@example.com"}}).Status
	}
	if last != http.StatusTooManyRequests {
		t.Errorf("request %d for one address within the hour: %d, want 429", identity.ResetsPerEmailPerHour+1, last)
	}
}

// TestMailSenderName: the organization's e-mails carry its sender name
// (the configured address stays), and its name when it chose none.
func TestMailSenderName(t *testing.T) {
	e := apptest.New(t)
	e.InvitePartner(t, "ada@acme.example")
	msgs := e.App.Mailbox.Messages()
	if from := msgs[0].From; !strings.Contains(from, `"Test Org" <`) {
		t.Errorf("From without a sender name: %q, want the organization's name", from)
	}
	e.Do(t, "PATCH", "/v1/organization", e.AdminToken, map[string]any{"mailSenderName": "Acme Partnerprogramm"})
	e.InvitePartner(t, "bob@acme.example")
	msgs = e.App.Mailbox.Messages()
	if from := msgs[0].From; !strings.HasPrefix(from, `"Acme Partnerprogramm" <`) {
		t.Errorf("From %q, want the sender name", from)
	}
}

// TestTiersShowPartnerCountsAndCanBeEdited: the tiers page counts each
// tier's partners; a tier's form changes its name and rule, and keeps a
// bad value next to its field.
func TestTiersShowPartnerCountsAndCanBeEdited(t *testing.T) {
	e := apptest.New(t)
	pid := newPartner(t, e, "ada@acme.example")
	p, err := e.App.Partners.Get(t.Context(), e.OrgID, pid)
	if err != nil {
		t.Fatal(err)
	}
	b := withSession(t, e, e.AdminToken)
	list := b.do("GET", "/partner-tiers", nil)
	if !strings.Contains(body(list), `aria-label="1 partner in Tier ada@acme.example">1</a>`) {
		t.Fatalf("no partner count:\n%s", list.Body)
	}
	page := "/partner-tiers/" + p.TierID
	if r := b.do("GET", page, nil); r.Status != http.StatusOK || !strings.Contains(body(r), `value="10"`) {
		t.Fatalf("edit form: %d (want the 10%% rate filled in)\n%s", r.Status, r.Body)
	}
	r := b.submit(page, page, url.Values{"name": {"Gold"}, "commission.type": {"percentage"}, "commission.rateBps": {"250"}})
	if r.Status != http.StatusUnprocessableEntity || !strings.Contains(body(r), `id="f-commission-rateBps-error"`) {
		t.Fatalf("a 250%% rate: %d", r.Status)
	}
	r = b.submit(page, page, url.Values{"name": {"Gold"}, "commission.type": {"percentage"}, "commission.rateBps": {"12.5"}, "holdDays": {"30"}})
	if r.Status != http.StatusSeeOther {
		t.Fatalf("save: %d\n%s", r.Status, r.Body)
	}
	tier, err := e.App.Partners.GetTier(t.Context(), e.OrgID, p.TierID)
	if err != nil || tier.Name != "Gold" || tier.Commission.RateBps == nil || *tier.Commission.RateBps != 1250 || tier.HoldDays == nil || *tier.HoldDays != 30 {
		t.Errorf("stored tier %+v %v", tier, err)
	}
}
