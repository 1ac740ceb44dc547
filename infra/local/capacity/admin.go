package main

import (
	"context"
	"fmt"
	"net/http"
	"time"

	"github.com/partnerloop/partnerloop/internal/identity"
	"github.com/partnerloop/partnerloop/internal/mail"
	"github.com/partnerloop/partnerloop/internal/pipeline"
)

// flowEnv is what the admin and portal flows need of run's setup.
type flowEnv struct {
	call      func(step, method, path, token, body, ua string) (int, map[string]any)
	token     string // the admin's session
	apiKey    string
	programID string
	n         int
	calc      *pipeline.Calculator
	recorded  func(conv map[string]any) (pipeline.Message, error)
	mailbox   *mail.Mailbox
	runs      map[string]int // step → how many requests its mean is over
	setStep   func(string)
	advance   func(time.Duration) // moves the app's clock on
}

// adminFlows measures the operations of admins and partners that are not
// on the tracking path: partners and their portal access (invitation,
// acceptance), the partner list, the portal's pages, deal registration
// (with its rate-limit counter) and approval, commission approval, and the
// admin's lists. Each step's mean is per request; a list step reads one
// page of n records. It returns the steps in the order to print.
func adminFlows(ctx context.Context, e flowEnv) ([]string, error) {
	do := func(step, method, path, token, body string, want int) (map[string]any, error) {
		st, out := e.call(step, method, path, token, body, "cli")
		if st != want {
			return nil, fmt.Errorf("%s: %s %s: %d %v", step, method, path, st, out)
		}
		e.runs[step]++
		return out, nil
	}
	setup := func(method, path, token, body string, want int) (map[string]any, error) {
		st, out := e.call("setup", method, path, token, body, "cli")
		if st != want {
			return nil, fmt.Errorf("setup: %s %s: %d %v", method, path, st, out)
		}
		return out, nil
	}
	steps := []string{
		"create partner", "invite partner (portal access)", "accept invitation",
		"register referrer for a partner",
		"portal: summary", "portal: links", "portal: referrals", "portal: commissions",
		"portal: register deal", "portal: deals", "approve deal",
		"approve commission",
		"list partners (page)", "list referrers of a program (page)", "list referrals (page)",
		"list conversions (page)", "list commissions (page)", "get referrer",
	}
	tier, err := setup("POST", "/v1/partner-tiers", e.token, `{"name":"Capacity tier","commission":{"type":"percentage","rateBps":1000}}`, http.StatusCreated)
	if err != nil {
		return nil, err
	}
	var commissionIDs []string
	for i := 0; i < e.n; i++ {
		email := fmt.Sprintf("partner%d@example.com", i)
		p, err := do(steps[0], "POST", "/v1/partners", e.token,
			fmt.Sprintf(`{"companyName":"Partner %d","contactName":"Dana","email":%q,"tierId":%q}`, i, email, tier["id"]), http.StatusCreated)
		if err != nil {
			return nil, err
		}
		partnerID, _ := p["id"].(string)
		if _, err := do(steps[1], "POST", "/v1/partners/"+partnerID+"/invitation", e.token, "", http.StatusOK); err != nil {
			return nil, err
		}
		token := ""
		for _, m := range e.mailbox.Messages() {
			if m.To == email || m.To == "Dana <"+email+">" {
				if t, ok := identity.InvitationToken(m.Text); ok {
					token = t
					break
				}
			}
		}
		if token == "" {
			return nil, fmt.Errorf("no invitation email to %s", email)
		}
		login, err := do(steps[2], "POST", "/v1/invitations/accept", "", fmt.Sprintf(`{"token":%q,"password":"Velvet-Harbor-%d-Lantern"}`, token, i), http.StatusOK)
		if err != nil {
			return nil, err
		}
		session, _ := login["token"].(string)
		ref, err := do(steps[3], "POST", "/v1/programs/"+e.programID+"/referrers", e.apiKey,
			fmt.Sprintf(`{"email":"p%d@example.com","partnerId":%q}`, i, partnerID), http.StatusCreated)
		if err != nil {
			return nil, err
		}
		code, _ := ref["code"].(string)
		rfl, err := setup("POST", "/v1/referrals", e.apiKey, fmt.Sprintf(`{"code":%q,"email":"pf%d@example.org"}`, code, i), http.StatusCreated)
		if err != nil {
			return nil, err
		}
		conv, err := setup("POST", "/v1/conversions", e.apiKey,
			fmt.Sprintf(`{"referralId":%q,"event":"purchase","amount":4999,"externalId":"partner-order-%d"}`, rfl["id"], i), http.StatusCreated)
		if err != nil {
			return nil, err
		}
		msg, err := e.recorded(conv)
		if err != nil {
			return nil, err
		}
		e.setStep("setup")
		if err := e.calc.Handle(ctx, msg); err != nil {
			return nil, err
		}
		for _, page := range []struct{ step, path string }{
			{steps[4], "/v1/portal/summary"}, {steps[5], "/v1/portal/links"},
			{steps[6], "/v1/portal/referrals"}, {steps[7], "/v1/portal/commissions"},
		} {
			out, err := do(page.step, "GET", page.path, session, "", http.StatusOK)
			if err != nil {
				return nil, err
			}
			if page.step == steps[7] {
				for _, it := range items(out) {
					if id, _ := it["id"].(string); id != "" {
						commissionIDs = append(commissionIDs, id)
					}
				}
			}
		}
		deal, err := do(steps[8], "POST", "/v1/portal/deals", session,
			fmt.Sprintf(`{"customerName":"Customer %d","customerDomain":"customer%d.example","value":100000}`, i, i), http.StatusCreated)
		if err != nil {
			return nil, err
		}
		if _, err := do(steps[9], "GET", "/v1/portal/deals", session, "", http.StatusOK); err != nil {
			return nil, err
		}
		if _, err := do(steps[10], "POST", fmt.Sprintf("/v1/deals/%s/approve", deal["id"]), e.token, "", http.StatusOK); err != nil {
			return nil, err
		}
	}
	// Past every hold period: approve the partners' commissions one by one
	// (an admin's session has expired by then: sign in again).
	e.advance(400 * 24 * time.Hour)
	login, err := setup("POST", "/v1/auth/login", "", `{"email":"admin@example.com","password":"capacity-password"}`, http.StatusOK)
	if err != nil {
		return nil, err
	}
	admin, _ := login["token"].(string)
	if len(commissionIDs) == 0 {
		return nil, fmt.Errorf("the partners have no commissions to approve")
	}
	for _, id := range commissionIDs {
		if _, err := do(steps[11], "POST", "/v1/commissions/approve", admin, fmt.Sprintf(`{"ids":[%q]}`, id), http.StatusOK); err != nil {
			return nil, err
		}
	}
	limit := fmt.Sprintf("limit=%d", e.n)
	refs, err := do(steps[13], "GET", "/v1/programs/"+e.programID+"/referrers?"+limit, admin, "", http.StatusOK)
	if err != nil {
		return nil, err
	}
	referrerID := ""
	if it := items(refs); len(it) > 0 {
		referrerID, _ = it[0]["id"].(string)
	}
	for _, l := range []struct{ step, path string }{
		{steps[12], "/v1/partners?" + limit}, {steps[14], "/v1/referrals?" + limit},
		{steps[15], "/v1/conversions?" + limit}, {steps[16], "/v1/commissions?" + limit},
		{steps[17], "/v1/referrers/" + referrerID},
	} {
		if _, err := do(l.step, "GET", l.path, admin, "", http.StatusOK); err != nil {
			return nil, err
		}
	}
	return steps, nil
}

// items are the records of a list response.
func items(out map[string]any) []map[string]any {
	raw, _ := out["items"].([]any)
	var its []map[string]any
	for _, r := range raw {
		if m, ok := r.(map[string]any); ok {
			its = append(its, m)
		}
	}
	return its
}
