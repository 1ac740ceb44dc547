package web

import (
	"bytes"
	"strings"
	"testing"
	"time"

	"github.com/partnerloop/partnerloop/internal/domain"
	"github.com/partnerloop/partnerloop/internal/identity"
	"github.com/partnerloop/partnerloop/internal/money"
	"github.com/partnerloop/partnerloop/internal/payouts"
)

// The payout pages on made-up data with hostile text everywhere: every
// piece of it is escaped, and a hostile URL is neutralised.
func TestPayoutPagesEscapeWhatTheyShow(t *testing.T) {
	evil := `<script>alert(1)</script>"'&amp;`
	now := time.Date(2026, 3, 15, 13, 4, 0, 0, time.UTC)
	usd := func(n int64) domain.Money { return domain.Money{Amount: n, Currency: "USD"} }
	line := domain.PayoutLine{PartnerID: "prt_1", Amount: usd(1500), CommissionIDs: []string{"com_1", "com_2"}}
	open := domain.PayoutRun{ID: "pay_1", Status: domain.PayoutRunOpen, Lines: []domain.PayoutLine{line, {ReferrerID: "rfr_1", Amount: usd(99)}},
		Totals: []domain.Money{usd(1599)}, CommissionCount: 3, CreatedAt: now}
	paid := open
	paid.ID, paid.Status, paid.PayoutReference, paid.PaidAt = "pay_0", domain.PayoutRunPaid, evil, &now
	bad := newForm(nil)
	bad.Message, bad.Errors["payoutReference"] = evil, evil
	details := &domain.PayoutDetails{Method: "iban", AccountReference: "****" + evil}
	cases := []struct {
		page string
		data any
	}{
		{"payouts", payoutListData{Runs: []domain.PayoutRun{open, paid}, Pager: pager{Cursor: "c", Next: "/payouts?cursor=" + evil, FirstPage: "/payouts"}, Form: bad}},
		{"payouts", payoutListData{Form: newForm(nil), Open: &open}},
		{"payout", payoutRunData{Run: open, Form: bad, Lines: []payoutLineView{
			{PayoutLine: line, Payee: payouts.Payee{Name: evil, Email: "a@b.example"}, Method: "IBAN", Account: "****1234", TaxID: evil},
			{PayoutLine: domain.PayoutLine{ReferrerID: "rfr_1", Amount: usd(99)}, Payee: payouts.Payee{Email: evil}},
		}}},
		{"payout", payoutRunData{Run: paid, Form: newForm(nil)}},
		{"portal_payouts", portalPayoutsData{Form: bad, Methods: []Option{{"iban", "IBAN"}, {"paypal", evil}}, Details: details, Method: evil,
			Payouts: payouts.PartnerPayouts{Next: []domain.Money{usd(5)},
				Scheduled: []payouts.PartnerPayout{{PayoutRunID: "pay_1", Status: domain.PayoutRunOpen, Amount: usd(5), CommissionCount: 1, CreatedAt: now}},
				Past:      []payouts.PartnerPayout{{PayoutRunID: "pay_0", Status: domain.PayoutRunPaid, Amount: usd(7), PayoutReference: evil, PaidAt: &now}}}}},
		{"portal_payouts", portalPayoutsData{Form: newForm(nil)}},
	}
	for i, c := range cases {
		for _, role := range []domain.Role{domain.RoleAdmin, domain.RolePartner} {
			v := view{Title: evil, Org: domain.Organization{Name: evil}, User: &identity.Principal{Role: role, Name: evil}, CSRF: evil,
				Flash: evil, Asset: assetVersion(), Data: c.data, fm: money.For(""), zone: time.UTC}
			var a bytes.Buffer
			if err := layout(v, pageContent(c.page, v)).Render(t.Context(), &a); err != nil {
				t.Fatal(err)
			}
			out := a.String()
			if strings.Contains(out, "<script>alert") || strings.Contains(out, `"'&amp;"`) {
				t.Errorf("case %d (%s): hostile text not escaped:\n%s", i, c.page, out)
			}
			if !strings.Contains(out, "&lt;script&gt;alert(1)&lt;/script&gt;&#34;&#39;&amp;amp;") {
				t.Errorf("case %d (%s): the hostile text is not shown escaped:\n%s", i, c.page, out)
			}
		}
	}
}
