package web_test

import (
	"fmt"
	"math"
	"net/http"
	"net/url"
	"strings"
	"testing"
	"time"

	"github.com/partnerloop/partnerloop/internal/apptest"
	"github.com/partnerloop/partnerloop/internal/commission"
	"github.com/partnerloop/partnerloop/internal/domain"
	"github.com/partnerloop/partnerloop/internal/identity"
	"github.com/partnerloop/partnerloop/internal/store"
)

// TestPortalTotalsThatOverflowFailLoudly: the partner's overview and
// earnings pages total its ledger; totals that do not fit in an int64 (data
// that bounded inputs cannot build but an older installation may hold) give
// the logged error page, never a wrapped, negative balance.
func TestPortalTotalsThatOverflowFailLoudly(t *testing.T) {
	e := apptest.New(t)
	partnerID := newPartner(t, e, "ada@acme.example")
	l, ok := e.App.Store.(store.Ledger)
	if !ok {
		t.Fatal("the store has no ledger")
	}
	ch := store.LedgerChange{OrgID: e.OrgID}
	for _, cnv := range []string{"cnv_1", "cnv_2"} {
		c, a, err := commission.NewCommission(commission.Earning{
			OrgID: e.OrgID, ProgramID: "prg_1", ReferrerID: "rfr_1", PartnerID: partnerID, ConversionID: cnv,
			Currency: "USD", Amount: math.MaxInt64/2 + 1, RuleSource: commission.SourceProgram, OccurredAt: e.Clock.Now(),
		}, commission.ActorSystem, e.Clock.Now())
		if err != nil {
			t.Fatal(err)
		}
		ch.Created, ch.Audit = append(ch.Created, c), append(ch.Audit, a)
	}
	if err := l.ApplyLedgerChange(t.Context(), ch); err != nil {
		t.Fatal(err)
	}
	b := withSession(t, e, e.NewUser(t, e.OrgID, domain.RolePartner, partnerID))
	for _, page := range []string{"/portal", "/portal/earnings"} {
		r := b.do("GET", page, nil)
		if r.Status != http.StatusInternalServerError || strings.Contains(body(r), "-92") {
			t.Errorf("%s: %d, want the 500 page without a wrapped total\n%s", page, r.Status, r.Body)
		}
	}
}

// TestSignInPageSaysHowLongToWait: after the free failures the sign-in form
// answers 429 with Retry-After and says so; the wait is per address, and a
// success after it signs in.
func TestSignInPageSaysHowLongToWait(t *testing.T) {
	e := apptest.New(t)
	b := newBrowser(t, e)
	for range identity.SignInPerAccountAddress.Free {
		if r := b.submit("/login", "/login", url.Values{"email": {apptest.AdminEmail}, "password": {"wrong password"}}); r.Status != http.StatusUnauthorized {
			t.Fatalf("wrong password: %d", r.Status)
		}
	}
	r := b.submit("/login", "/login", url.Values{"email": {apptest.AdminEmail}, "password": {apptest.AdminPassword}})
	if r.Status != http.StatusTooManyRequests || r.Header.Get("Retry-After") != "1" || !strings.Contains(body(r), "try again in 1 seconds") {
		t.Fatalf("after %d failures: %d Retry-After %q\n%s", identity.SignInPerAccountAddress.Free, r.Status, r.Header.Get("Retry-After"), r.Body)
	}
	e.Clock.Advance(time.Second)
	b.signIn(apptest.AdminEmail, apptest.AdminPassword)
}

// TestApproveAllMatching: the commissions page totals every matching
// commission (all pages) per currency, and approves all matching pending
// ones — beyond the page and beyond one batch — not others.
func TestApproveAllMatching(t *testing.T) {
	e := apptest.New(t)
	partnerID := newPartner(t, e, "ada@acme.example")
	l := e.App.Store.(store.Ledger)
	for batch := range 3 {
		ch := store.LedgerChange{OrgID: e.OrgID}
		for i := range 25 {
			partner := partnerID
			if batch == 2 && i >= 20 {
				partner = "" // 5 entries of no partner: not matching
			}
			c, a, err := commission.NewCommission(commission.Earning{
				OrgID: e.OrgID, ProgramID: "prg_1", ReferrerID: "rfr_1", PartnerID: partner, ConversionID: fmt.Sprintf("cnv_%d_%d", batch, i),
				Currency: "USD", Amount: 100, RuleSource: commission.SourceProgram, OccurredAt: e.Clock.Now(),
			}, commission.ActorSystem, e.Clock.Now())
			if err != nil {
				t.Fatal(err)
			}
			ch.Created, ch.Audit = append(ch.Created, c), append(ch.Audit, a)
		}
		if err := l.ApplyLedgerChange(t.Context(), ch); err != nil {
			t.Fatal(err)
		}
	}
	b := withSession(t, e, e.AdminToken)
	page := body(b.do("GET", "/commissions?partnerId="+partnerID, nil))
	if !strings.Contains(page, "70 matching commissions") || !strings.Contains(page, "70.00") {
		t.Fatalf("no totals of the 70 matching commissions:\n%s", page)
	}
	// First it states the count and the totals, and changes nothing.
	r := b.submit("/commissions?partnerId="+partnerID, "/commissions/approve-matching", url.Values{"partnerId": {partnerID}})
	if r.Status != http.StatusOK || !strings.Contains(body(r), "<strong>70 pending commissions</strong> totalling <strong>") ||
		!strings.Contains(body(r), `name="confirm" value="yes"`) {
		t.Fatalf("approve all matching, the confirmation: %d\n%s", r.Status, r.Body)
	}
	if pending, _, _ := l.ListCommissions(t.Context(), e.OrgID, store.CommissionFilter{Status: "pending"}, store.Page{Limit: 200}); len(pending) != 75 {
		t.Fatalf("the confirmation changed commissions: %d pending, want 75", len(pending))
	}
	r = b.submit("/commissions?partnerId="+partnerID, "/commissions/approve-matching", url.Values{"partnerId": {partnerID}, "confirm": {"yes"}})
	if r.Status != http.StatusSeeOther {
		t.Fatalf("approve all matching: %d\n%s", r.Status, r.Body)
	}
	all, _, err := l.ListCommissions(t.Context(), e.OrgID, store.CommissionFilter{}, store.Page{Limit: 200})
	if err != nil {
		t.Fatal(err)
	}
	approved := 0
	for _, c := range all {
		if c.Status == commission.StatusApproved {
			approved++
			if c.PartnerID != partnerID {
				t.Errorf("%s of another partner was approved", c.ID)
			}
		}
	}
	if approved != 70 {
		t.Errorf("%d approved, want 70", approved)
	}
}
