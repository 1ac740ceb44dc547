package browsertest

import (
	"context"
	"encoding/csv"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/chromedp/chromedp"

	"github.com/partnerloop/partnerloop/internal/demo"
	"github.com/partnerloop/partnerloop/internal/domain"
	"github.com/partnerloop/partnerloop/internal/store"
)

// TestListsThatScale walks the staff lists on demo data as an admin does:
// search referrals by a contact's e-mail, narrow them to the day they
// were referred, sort by contact (both ways), read the count, download
// the CSV of the filtered list and check its rows; open the referrers
// page, find the contact's referrer and follow the link to its
// referrals; then refund one of the contact's conversions from the
// filtered conversion list at phone width, and come back to the same
// filtered list. Every page is checked at 360 and 1280 px for sideways
// scrolling; screenshots go to .artifacts/screenshots/lists-*.png.
func TestListsThatScale(t *testing.T) {
	s := startSite(t)
	ctx := context.Background()
	if _, err := demo.Load(ctx, s.App, s.Org, demo.Options{Clicks: 300, Seed: 11}); err != nil {
		t.Fatal(err)
	}
	org, err := s.App.Store.GetOrganization(ctx, s.Org)
	if err != nil {
		t.Fatal(err)
	}
	loc, err := time.LoadLocation(org.Zone())
	if err != nil {
		t.Fatal(err)
	}
	// A purchase not refunded yet, and its referred contact.
	convs, _, err := s.App.Store.ListConversions(ctx, s.Org, store.ConversionFilter{}, store.Page{Limit: store.MaxLimit})
	if err != nil {
		t.Fatal(err)
	}
	var conv domain.Conversion
	var ref domain.Referral
	for _, c := range convs {
		if c.Amount == nil || c.Amount.Amount < 500 || c.RefundedAt != nil {
			continue
		}
		if r, err := s.App.Store.GetReferral(ctx, s.Org, c.ReferralID); err == nil && r.Email != "" {
			conv, ref = c, r
			break
		}
	}
	if conv.ID == "" {
		t.Fatal("the demo has no purchase of a known contact to refund")
	}
	referrer, err := s.App.Store.GetReferrer(ctx, s.Org, ref.ReferrerID)
	if err != nil {
		t.Fatal(err)
	}
	t.Logf("contact %s, conversion %s, referrer %s", ref.Email, conv.ID, referrer.Email)

	tb := newTabWithin(t, s.URL, 3*time.Minute)
	tb.signIn(adminEmail, adminPassword)
	width := func(w int64) { tb.do("viewport", chromedp.EmulateViewport(w, 800, chromedp.EmulateScale(1))) }
	both := func(name string) {
		t.Helper()
		for _, w := range []int64{360, 1280} {
			width(w)
			shot := name + "-" + map[int64]string{360: "360", 1280: "1280"}[w]
			tb.shot(shot)
			tb.checkFits(shot, w)
		}
	}
	location := func() string {
		t.Helper()
		u, err := chromedp.Run(tb.ctx, chromedp.Evaluate[string]("location.pathname + location.search"))
		if err != nil {
			t.Fatal(err)
		}
		return u
	}
	apply := `form[role=search] button[type=submit]`

	// Search: the contact's address, typed in capitals.
	width(1280)
	tb.open("/referrals")
	tb.fill("f-q", strings.ToUpper(ref.Email))
	if st := tb.submit(apply); st != http.StatusOK {
		t.Fatalf("search: %d", st)
	}
	if got := tb.text("#list-count span"); got != "1 matching referral" {
		t.Errorf("count after the search: %q", got)
	}
	if body := tb.text("#referrals tbody"); !strings.Contains(body, ref.Email) {
		t.Errorf("the contact is not listed:\n%s", body)
	}
	// Date range: the day it was referred, in the organization's zone.
	day := ref.CreatedAt.In(loc).Format(time.DateOnly)
	tb.do("dates", chromedp.SetValue(chromedp.ID("f-from"), day), chromedp.SetValue(chromedp.ID("f-to"), day))
	if st := tb.submit(apply); st != http.StatusOK {
		t.Fatalf("date range: %d", st)
	}
	if got := tb.text("#list-count span"); got != "1 matching referral" {
		t.Errorf("count on %s: %q", day, got)
	}
	next := ref.CreatedAt.In(loc).AddDate(0, 0, 1).Format(time.DateOnly)
	tb.do("later dates", chromedp.SetValue(chromedp.ID("f-from"), next), chromedp.SetValue(chromedp.ID("f-to"), next))
	tb.submit(apply)
	if got := tb.text("#list-count span"); got != "0 matching referrals" {
		t.Errorf("count on %s: %q", next, got)
	}
	// A wider search, a range of the whole demo year, sorted by contact.
	term := strings.ToLower(ref.Email[:1])
	tb.open("/referrals?q=" + url.QueryEscape(term) + "&from=" + ref.CreatedAt.In(loc).AddDate(-1, 0, 0).Format(time.DateOnly))
	count := tb.text("#list-count span")
	tb.do("sort by contact", chromedp.Click(chromedp.CSS(`#referrals th:first-child a`)))
	tb.do("wait", chromedp.WaitVisible(chromedp.CSS(`#referrals th[aria-sort="ascending"]`)))
	if !strings.Contains(location(), "sort=contact") || tb.text("#list-count span") != count {
		t.Errorf("sorted by contact: %s, count %q (was %q)", location(), tb.text("#list-count span"), count)
	}
	first := tb.text(`#referrals tbody tr:first-child td:first-child`)
	tb.do("sort descending", chromedp.Click(chromedp.CSS(`#referrals th:first-child a`)))
	tb.do("wait", chromedp.WaitVisible(chromedp.CSS(`#referrals th[aria-sort="descending"]`)))
	if last := tb.text(`#referrals tbody tr:first-child td:first-child`); strings.EqualFold(last, first) && count != "1 matching referral" {
		t.Errorf("descending starts with the same contact %q", first)
	}
	both("lists-referrals")
	width(1280)
	// The CSV: every matching row (not only the page), the filters applied.
	data := tb.download(`#list-count a[download]`)
	recs, err := csv.NewReader(strings.NewReader(string(data))).ReadAll()
	if err != nil {
		t.Fatal(err)
	}
	if len(recs) < 2 || recs[0][2] != "contact_email" {
		t.Fatalf("referrals.csv: %q", recs[:min(len(recs), 3)])
	}
	if want := strings.ReplaceAll(strings.Fields(count)[0], ",", ""); want != strconv.Itoa(len(recs)-1) {
		t.Errorf("referrals.csv has %d rows, the page says %s", len(recs)-1, count)
	}
	for _, rec := range recs[1:] {
		if !domain.SearchMatch(term, strings.TrimPrefix(rec[1], "'"), rec[2]) {
			t.Errorf("referrals.csv row does not match %q: %q", term, rec)
		}
	}

	// Referrers: find the contact's referrer, follow the link to its referrals.
	tb.open("/referrers")
	tb.fill("f-q", referrer.Email)
	tb.submit(apply)
	if got := tb.text("#list-count span"); !strings.HasSuffix(got, "matching referrer") && !strings.HasSuffix(got, "matching referrers") {
		t.Errorf("referrers count: %q", got)
	}
	both("lists-referrers")
	width(1280)
	if st := tb.submit(`#referrers a[href="/referrals?referrerId=` + referrer.ID + `"]`); st != http.StatusOK {
		t.Fatalf("the referrer's referrals: %d", st)
	}
	if !tb.has("#referrer-scope") || !strings.Contains(tb.text("#referrals tbody"), ref.Email) {
		t.Errorf("the referrer's referrals do not show the contact")
	}

	// Refund from the filtered conversion list, at phone width.
	list := "/conversions?q=" + url.QueryEscape(ref.Email) + "&sort=amount"
	width(360)
	tb.open(list)
	if !strings.Contains(tb.text("#conversion-"+conv.ID), ref.Email) {
		t.Fatalf("the conversion is not in the filtered list")
	}
	tb.checkFits("lists-conversions-360", 360)
	tb.shot("lists-conversions-360")
	tb.fill("refund-"+conv.ID, "1.00")
	if st := tb.submit(`#conversion-` + conv.ID + ` button[type=submit]`); st != http.StatusOK {
		t.Fatalf("refund: %d", st)
	}
	if got := location(); got != list {
		t.Errorf("after the refund: %s, want the filtered list %s", got, list)
	}
	if n := tb.text(".flash"); !strings.HasPrefix(n, "Refund recorded") {
		t.Errorf("notice: %q", n)
	}
	both("lists-conversions-refunded")
	got, err := s.App.Store.GetConversion(ctx, s.Org, conv.ID)
	if err != nil || got.RefundedAmount.Amount != 100 {
		t.Errorf("refunded %v (%v), want 1.00", got.RefundedAmount, err)
	}
	tb.check()
}
