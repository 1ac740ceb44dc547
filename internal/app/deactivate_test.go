package app_test

import (
	"context"
	"net/http"
	"testing"
	"time"

	"github.com/partnerloop/partnerloop/internal/apptest"
	"github.com/partnerloop/partnerloop/internal/domain"
	"github.com/partnerloop/partnerloop/internal/identity"
	"github.com/partnerloop/partnerloop/internal/partners"
	"github.com/partnerloop/partnerloop/internal/pipeline"
)

// TestDeactivatedPartnerEarnsNothingFromThenOn: a partner's conversion
// before its deactivation earns its commission even when priced after it;
// one occurring after earns nothing though its link still works; deactivating
// revokes the portal access, and an inactive partner cannot be invited.
// Reactivating restores earning from then on.
func TestDeactivatedPartnerEarnsNothingFromThenOn(t *testing.T) {
	e := apptest.New(t)
	adm := e.AdminToken
	programID, _ := e.LiveProgram(t, adm)
	tier := e.Do(t, "POST", "/v1/partner-tiers", adm, map[string]any{"name": "Std", "commission": map[string]any{"type": "flat", "amount": 1000}}).String("id")
	partner := e.Do(t, "POST", "/v1/partners", adm, map[string]any{"companyName": "Gone Ltd", "contactName": "G", "email": "gone@partners.example", "tierId": tier}).String("id")
	code := e.Do(t, "POST", "/v1/programs/"+programID+"/referrers", adm, map[string]any{"email": "gone@partners.example", "name": "G", "partnerId": partner}).String("code")
	// The partner's portal user, as an accepted invitation leaves it.
	hash, err := identity.HashPassword("a-long-partner-password")
	if err != nil {
		t.Fatal(err)
	}
	now := e.Clock.Now()
	if err := e.App.Store.CreateUser(context.Background(), domain.User{ID: domain.PortalUserID(partner), OrgID: e.OrgID,
		Email: "gone@partners.example", Role: domain.RolePartner, PartnerID: partner, Status: domain.UserActive,
		PasswordHash: hash, CreatedAt: now, UpdatedAt: now}); err != nil {
		t.Fatal(err)
	}
	ptok := e.Login(t, "gone@partners.example", "a-long-partner-password")
	ls := e.App.Store.(pipeline.LedgerStore)
	calc := pipeline.NewCalculator(ls, e.Clock.Now, partners.NewRuleSource(e.App.Store))
	convert := func(n string) string {
		t.Helper()
		r := e.Do(t, "POST", "/v1/conversions", adm, map[string]any{"code": code, "email": n + "@buyers.example", "event": "purchase", "amount": 5000, "externalId": n})
		if r.Status != http.StatusCreated {
			t.Fatalf("conversion %s: %d %s", n, r.Status, r.Body)
		}
		return r.String("id")
	}
	earned := func(conv string) bool {
		t.Helper()
		cs, err := ls.CommissionsOfSource(context.Background(), e.OrgID, conv)
		if err != nil {
			t.Fatal(err)
		}
		return len(cs) > 0
	}

	before := convert("before")
	e.Clock.Advance(time.Minute)
	r := e.Do(t, "POST", "/v1/partners/"+partner+"/deactivate", adm, nil)
	if r.Status != http.StatusOK || r.String("status") != "inactive" || r.String("deactivatedAt") == "" {
		t.Fatalf("deactivate: %d %s", r.Status, r.Body)
	}
	if r := e.Do(t, "GET", "/v1/portal/summary", ptok, nil); r.Status != http.StatusUnauthorized {
		t.Errorf("the deactivated partner's session still works: %d", r.Status)
	}
	if r := e.Do(t, "POST", "/v1/partners/"+partner+"/invitation", adm, nil); r.Status != http.StatusConflict {
		t.Errorf("inviting an inactive partner: %d %s, want 409", r.Status, r.Body)
	}
	e.Clock.Advance(time.Minute)
	after := convert("after") // the link still records the conversion
	for _, id := range []string{before, after} {
		if err := calc.ReconcileConversion(context.Background(), e.OrgID, id); err != nil {
			t.Fatal(err)
		}
	}
	if !earned(before) {
		t.Error("the conversion from before the deactivation earned nothing")
	}
	if earned(after) {
		t.Error("a conversion after the deactivation earned a commission")
	}

	if r := e.Do(t, "POST", "/v1/partners/"+partner+"/reactivate", adm, nil); r.Status != http.StatusOK || r.String("status") != "active" {
		t.Fatalf("reactivate: %d %s", r.Status, r.Body)
	}
	e.Clock.Advance(time.Minute)
	again := convert("again")
	if err := calc.ReconcileConversion(context.Background(), e.OrgID, again); err != nil {
		t.Fatal(err)
	}
	if !earned(again) {
		t.Error("a conversion after reactivation earned nothing")
	}
}
