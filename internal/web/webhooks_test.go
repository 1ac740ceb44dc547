package web_test

import (
	"net/http"
	"net/url"
	"regexp"
	"strings"
	"testing"

	"github.com/partnerloop/partnerloop/internal/apptest"
	"github.com/partnerloop/partnerloop/internal/domain"
	"github.com/partnerloop/partnerloop/internal/store"
)

// Settings → Webhooks: an admin adds an endpoint and sees its secret once;
// a refused URL is shown next to its field; the endpoint's page rotates
// the secret and disables it; a program manager may not see the pages.
func TestWebhookSettings(t *testing.T) {
	e := apptest.New(t)
	b := withSession(t, e, e.AdminToken)
	r := b.submit("/settings/webhooks", "/settings/webhooks", url.Values{"url": {"http://169.254.169.254/latest"}, "events": {"deal.*"}})
	if r.Status != http.StatusUnprocessableEntity || !strings.Contains(body(r), `id="f-url-error"`) {
		t.Fatalf("metadata address: %d\n%s", r.Status, r.Body)
	}
	r = b.submit("/settings/webhooks", "/settings/webhooks", url.Values{"url": {"https://hooks.example.com/in"},
		"events": {"deal.*, commission.paid"}, "description": {"CRM"}})
	secret := regexp.MustCompile(`data-webhook-secret>(whsec_[^<]+)<`).FindStringSubmatch(body(r))
	if r.Status != http.StatusCreated || secret == nil {
		t.Fatalf("create: %d, secret shown: %v\n%s", r.Status, secret, r.Body)
	}
	es, _, err := e.App.Store.(store.Webhooks).ListWebhookEndpoints(t.Context(), e.OrgID, store.Page{})
	if err != nil || len(es) != 1 || strings.Join(es[0].Events, ",") != "commission.paid,deal.*" {
		t.Fatalf("stored endpoints %+v %v", es, err)
	}
	if strings.Contains(string(es[0].Secret), secret[1]) {
		t.Fatal("the secret is stored in the clear")
	}
	page := body(b.do("GET", "/settings/webhooks", nil))
	if strings.Contains(page, secret[1]) || !strings.Contains(page, "https://hooks.example.com/in") {
		t.Fatal("the list shows the secret again, or not the endpoint")
	}
	show := "/settings/webhooks/" + es[0].ID
	r = b.submit(show, show+"/rotate", url.Values{})
	rotated := regexp.MustCompile(`data-webhook-secret>(whsec_[^<]+)<`).FindStringSubmatch(body(r))
	if r.Status != http.StatusOK || rotated == nil || rotated[1] == secret[1] {
		t.Fatalf("rotate: %d %v", r.Status, rotated)
	}
	if r := b.submit(show, show+"/disable", url.Values{}); r.Status != http.StatusSeeOther {
		t.Fatalf("disable: %d", r.Status)
	}
	if got, _ := e.App.Store.(store.Webhooks).GetWebhookEndpoint(t.Context(), e.OrgID, es[0].ID); got.Status != domain.WebhookDisabled {
		t.Fatalf("after disable: %s", got.Status)
	}
	pm := withSession(t, e, e.NewUser(t, e.OrgID, domain.RoleProgramManager, ""))
	for _, path := range []string{"/settings/webhooks", show} {
		if r := pm.do("GET", path, nil); r.Status != http.StatusForbidden {
			t.Errorf("program manager GET %s: %d, want 403", path, r.Status)
		}
	}
}
