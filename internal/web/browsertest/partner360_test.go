package browsertest

import (
	"context"
	"fmt"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/chromedp/chromedp"

	"github.com/partnerloop/partnerloop/internal/demo"
)

// TestPartner360OnDemoData opens the demo partner (a year of activity)
// from the partner list's search and reads every tab of its page as an
// admin does (issue 14, point 3): the figures, its links, referrals,
// deals, commissions and payouts, each with rows, and its portal access;
// at 360 px every tab is on screen (the tab bar wraps) and no tab scrolls
// sideways. Screenshots: partner360-<tab>-<width>.png.
func TestPartner360OnDemoData(t *testing.T) {
	s := startSite(t)
	if _, err := demo.Load(context.Background(), s.App, s.Org, demo.Options{Clicks: 1500, Seed: 7}); err != nil {
		t.Fatal(err)
	}
	tb := newTabWithin(t, s.URL, 4*time.Minute)
	tb.signIn(adminEmail, adminPassword)
	tb.do("1280 px", chromedp.EmulateViewport(1280, 900, chromedp.EmulateScale(1)))
	tb.open("/partners?q=" + demo.DemoPartnerEmail)
	if st := tb.text("tbody tr td:nth-child(4) .pill"); st != "Active" {
		t.Errorf("the list's portal access column: %q", st)
	}
	if st := tb.submit(`tbody tr td:first-child a`); st != http.StatusOK {
		t.Fatalf("open the partner: %d", st)
	}
	page := mustURLPath(t, tb)
	if h := tb.text("h1"); !strings.HasPrefix(h, "Northwind Resellers") {
		t.Fatalf("partner page: %q", h)
	}
	overview := tb.text("main")
	for _, want := range []string{"Clicks on 2 links", "Referrals", "Conversions", "won", "Pending", "Approved", "Paid", "Portal access"} {
		if !strings.Contains(overview, want) {
			t.Errorf("the overview lacks %q", want)
		}
	}
	if st := tb.text("#portal-access h2 .pill"); st != "Active" {
		t.Errorf("portal access: %q", st)
	}
	for _, tab := range []struct {
		key, rows, want string
	}{
		{"overview", ".stats .stat", "Clicks on"},
		{"links", "tbody tr", "/r/"},
		{"referrals", "tbody tr", "@"},
		{"deals", `tbody tr a[href^="/deals/"]`, ""},
		{"commissions", "tbody tr", "Approve, reject or export these"},
		{"payouts", ".stats .stat", "Next payout"},
		{"edit", "form input", "Save changes"},
	} {
		path := page
		if tab.key != "overview" {
			path += "?tab=" + tab.key
		}
		tb.do("1280 px", chromedp.EmulateViewport(1280, 900, chromedp.EmulateScale(1)))
		if st := tb.open(path); st != http.StatusOK {
			t.Fatalf("%s: %d", path, st)
		}
		if n := tb.count(tab.rows); n == 0 {
			t.Errorf("the %s tab has no %s", tab.key, tab.rows)
		}
		if !strings.Contains(tb.text("main"), tab.want) {
			t.Errorf("the %s tab lacks %q", tab.key, tab.want)
		}
		if cur := tb.text(`.tabs a[aria-current="page"]`); !strings.EqualFold(cur, tab.key) {
			t.Errorf("the %s tab is marked %q", tab.key, cur)
		}
		for _, w := range []int64{1280, 360} {
			tb.do("viewport", chromedp.EmulateViewport(w, 800, chromedp.EmulateScale(1)))
			name := fmt.Sprintf("partner360-%s-%d", tab.key, w)
			tb.shot(name)
			tb.checkFits(name, w)
			off, err := chromedp.Run(tb.ctx, chromedp.Evaluate[string](`[...document.querySelectorAll(".tabs a")].filter(a => a.getBoundingClientRect().right > innerWidth).map(a => a.textContent).join(", ")`))
			if err != nil || off != "" {
				t.Errorf("%s: tabs off screen: %q (%v)", name, off, err)
			}
		}
	}
	tb.check()
}
