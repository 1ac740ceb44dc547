package httpapi_test

import (
	"log/slog"
	"net/http"
	"slices"
	"testing"
	"time"

	"github.com/partnerloop/partnerloop/internal/app"
	"github.com/partnerloop/partnerloop/internal/apptest"
	"github.com/partnerloop/partnerloop/internal/domain"
	"github.com/partnerloop/partnerloop/internal/pipeline"
)

// Referrals become expired when their attribution window passes without a
// conversion: the hourly job's sweep, so lists, their ?status= filter and
// the partner's portal agree with the window the conversions obey.
func TestReferralsExpireWhenTheAttributionWindowPasses(t *testing.T) {
	e := apptest.New(t)
	tok := e.AdminToken
	programID, _ := e.LiveProgram(t, tok) // attributionWindowDays: 30
	tier := mustCreate(t, e, "/v1/partner-tiers", tok, tierBody("Gold"))["id"].(string)
	partner := mustCreate(t, e, "/v1/partners", tok, partnerBody(tier, "a@resellers.example"))["id"].(string)
	code := mustCreate(t, e, "/v1/programs/"+programID+"/referrers", tok, map[string]any{
		"email": "rep@resellers.example", "name": "Rep", "partnerId": partner})["code"].(string)
	refer := func(email string) string {
		t.Helper()
		return mustCreate(t, e, "/v1/referrals", tok, map[string]any{"code": code, "email": email})["id"].(string)
	}
	converted, lapsed := refer("amy@customer.example"), refer("ben@customer.example")
	wantStatus(t, e.Do(t, "POST", "/v1/conversions", tok, map[string]any{
		"referralId": converted, "event": "purchase", "amount": 5000, "externalId": "order-1"}), http.StatusCreated)
	e.Clock.Advance(10 * 24 * time.Hour)
	tok = e.Login(t, apptest.AdminEmail, apptest.AdminPassword) // sessions end
	recent := refer("cid@customer.example")

	job := app.NewPeriodClose(e.App.Store.(pipeline.LedgerStore), e.Clock.Now, slog.New(slog.DiscardHandler), app.HourlySweeps(e.App.Tracking, e.App.Deals)...)
	run := func() {
		t.Helper()
		if _, err := job(t.Context(), nil); err != nil {
			t.Fatalf("hourly job: %v", err)
		}
	}
	// The window's last moment: nothing expires yet.
	e.Clock.Advance(20 * 24 * time.Hour)
	run()
	tok = e.Login(t, apptest.AdminEmail, apptest.AdminPassword)
	if got := referralIDs(t, e, tok, "?status=expired"); len(got) != 0 {
		t.Fatalf("expired at the window's end: %v, want none", got)
	}
	e.Clock.Advance(time.Minute)
	run()
	run() // again: nothing more
	for status, want := range map[string][]string{
		"expired": {lapsed}, "pending": {recent}, "converted": {converted}, "": {recent, lapsed, converted},
	} {
		if got := referralIDs(t, e, tok, "?status="+status); !slices.Equal(got, want) {
			t.Errorf("GET /v1/referrals?status=%s = %v, want %v", status, got, want)
		}
	}
	// The partner's portal counts them the same way.
	portalTok := e.NewUser(t, e.OrgID, domain.RolePartner, partner)
	counts, _ := e.Do(t, "GET", "/v1/portal/summary", portalTok, nil).JSON()["referrals"].(map[string]any)
	if counts["expired"] != 1.0 || counts["pending"] != 1.0 || counts["converted"] != 1.0 {
		t.Errorf("portal summary referrals = %v, want 1 expired, 1 pending, 1 converted", counts)
	}

	// A conversion that occurred after the window is refused, as before...
	late := e.Clock.Now().Format(time.RFC3339)
	wantProblem(t, e.Do(t, "POST", "/v1/conversions", tok, map[string]any{
		"referralId": lapsed, "event": "purchase", "amount": 5000, "externalId": "order-2", "occurredAt": late}),
		http.StatusUnprocessableEntity, domain.ReasonWindowExpired)
	// ... and one that occurred inside it, reported late, converts it.
	inside := apptest.Start.Add(29 * 24 * time.Hour).Format(time.RFC3339)
	wantStatus(t, e.Do(t, "POST", "/v1/conversions", tok, map[string]any{
		"referralId": lapsed, "event": "purchase", "amount": 5000, "externalId": "order-3", "occurredAt": inside}), http.StatusCreated)
	if got := e.Do(t, "GET", "/v1/referrals/"+lapsed, tok, nil).String("status"); got != "converted" {
		t.Errorf("the lapsed referral after a conversion inside its window: %q, want converted", got)
	}
}

func referralIDs(t *testing.T, e *apptest.Env, tok, query string) []string {
	t.Helper()
	r := e.Do(t, "GET", "/v1/referrals"+query, tok, nil)
	wantStatus(t, r, http.StatusOK)
	ids := []string{}
	for _, it := range r.Items() {
		ids = append(ids, it["id"].(string))
	}
	return ids
}
