package httpapi_test

import (
	"fmt"
	"net/http"
	"net/http/httptest"
	"testing"
	"time"

	"github.com/partnerloop/partnerloop/internal/apptest"
	"github.com/partnerloop/partnerloop/internal/domain"
	"github.com/partnerloop/partnerloop/internal/store"
)

// Issue 11, finding 4: click counts could be inflated freely. These tests
// repeat the attack over HTTP; every request must still be redirected.

// clickEnv is an application with one live program and ways to follow its
// referrers' links from a chosen address and browser.
type clickEnv struct {
	*apptest.Env
	programID string
}

func newClickEnv(t *testing.T) *clickEnv {
	e := apptest.New(t)
	programID, _ := e.LiveProgram(t, e.AdminToken)
	return &clickEnv{Env: e, programID: programID}
}

// referrer enrols a referrer and returns its id and code.
func (e *clickEnv) referrer(t *testing.T, email string) (id, code string) {
	t.Helper()
	r := e.Do(t, "POST", "/v1/programs/"+e.programID+"/referrers", e.AdminToken, map[string]string{"email": email})
	wantStatus(t, r, http.StatusCreated)
	return r.String("id"), r.String("code")
}

// follow requests the link as the address and browser, and checks the
// visitor was sent on to the landing page.
func (e *clickEnv) follow(t *testing.T, code, addr, ua string) {
	t.Helper()
	req := httptest.NewRequest("GET", "/r/"+code, nil)
	req.RemoteAddr = addr
	req.Header.Set("User-Agent", ua)
	rec := httptest.NewRecorder()
	e.Handler.ServeHTTP(rec, req)
	if rec.Code != http.StatusFound || rec.Header().Get("Location") == "" {
		t.Fatalf("GET /r/%s from %s as %q: %d, Location %q; want a redirect", code, addr, ua, rec.Code, rec.Header().Get("Location"))
	}
}

// clicks reads the referrer's count from the store (the admin's session
// would not outlive the tests' clock jumps).
func (e *clickEnv) clicks(t *testing.T, referrerID string) int {
	t.Helper()
	r, err := e.App.Store.GetReferrer(t.Context(), e.OrgID, referrerID)
	if err != nil {
		t.Fatal(err)
	}
	return int(r.Clicks)
}

func browser(i int) string {
	return fmt.Sprintf("Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/124.0.%d.0 Safari/537.36", i)
}

func TestClicksFromOneAddressWithManyBrowsersCountAtMostTen(t *testing.T) {
	e := newClickEnv(t)
	id, code := e.referrer(t, "jen@example.com")
	for i := range 100 {
		e.follow(t, code, "203.0.113.5:4000", browser(i))
	}
	if got := e.clicks(t, id); got != 10 {
		t.Fatalf("100 browsers from one address counted %d clicks, want 10", got)
	}
	// The cap is per address: another address still counts, and so does
	// one more IPv6 subscriber. Addresses in one IPv6 /64 are one address.
	e.follow(t, code, "198.51.100.20:4000", browser(0))
	for i := range 20 {
		e.follow(t, code, fmt.Sprintf("[2001:db8:1:2::%x]:4000", i+1), browser(i))
	}
	if got := e.clicks(t, id); got != 21 {
		t.Fatalf("after another IPv4 address and 20 from one IPv6 /64: %d clicks, want 10+1+10", got)
	}
	// ... and per link: the first address counts on another referrer's link
	// (a minute on: its 100 requests used up its redirects of the minute).
	e.Clock.Advance(time.Minute)
	otherID, otherCode := e.referrer(t, "joanna@example.com")
	e.follow(t, otherCode, "203.0.113.5:4000", browser(0))
	if got := e.clicks(t, otherID); got != 1 {
		t.Fatalf("the capped address on another link: %d clicks, want 1", got)
	}
	// ... and per hour.
	e.Clock.Advance(time.Hour)
	for i := range 15 {
		e.follow(t, code, "203.0.113.5:4000", browser(100+i))
	}
	if got := e.clicks(t, id); got != 31 {
		t.Fatalf("the next hour: %d clicks, want 21+10", got)
	}
}

func TestAutomationClientsAreRedirectedButNotCounted(t *testing.T) {
	e := newClickEnv(t)
	id, code := e.referrer(t, "jen@example.com")
	for i, ua := range []string{
		"curl/8.5.0",
		"Mozilla/5.0 (X11; Linux x86_64) AppleWebKit/537.36 (KHTML, like Gecko) HeadlessChrome/124.0.6367.60 Safari/537.36",
		"Go-http-client/1.1",
		"python-requests/2.32.3",
		"Wget/1.21.4",
		"axios/1.7.2",
		"okhttp/4.12.0",
		"Java/17.0.10",
	} {
		e.follow(t, code, fmt.Sprintf("203.0.113.%d:4000", i+1), ua)
	}
	if got := e.clicks(t, id); got != 0 {
		t.Fatalf("automation clients counted %d clicks, want 0", got)
	}
	e.follow(t, code, "203.0.113.99:4000", browser(0))
	if got := e.clicks(t, id); got != 1 {
		t.Fatalf("a browser after them: %d clicks, want 1", got)
	}
}

// One address spreading its requests over many links is limited too: after
// 60 counting attempts in a minute its redirects stop counting, whatever
// the link, until the next minute.
func TestRedirectsCountAtMostSixtyPerAddressAndMinute(t *testing.T) {
	e := newClickEnv(t)
	type link struct{ id, code string }
	var links []link
	for i := range 7 {
		id, code := e.referrer(t, fmt.Sprintf("r%d@example.com", i))
		links = append(links, link{id, code})
	}
	for _, l := range links {
		for i := range 10 {
			e.follow(t, l.code, "203.0.113.5:4000", browser(i))
		}
	}
	for i, l := range links {
		want := 10
		if i == 6 {
			want = 0 // attempts 61-70
		}
		if got := e.clicks(t, l.id); got != want {
			t.Errorf("link %d: %d clicks, want %d", i, got, want)
		}
	}
	// Others are not limited by it, and neither is the address a minute on.
	e.follow(t, links[6].code, "198.51.100.20:4000", browser(0))
	e.Clock.Advance(time.Minute)
	e.follow(t, links[6].code, "203.0.113.5:4000", browser(0))
	if got := e.clicks(t, links[6].id); got != 2 {
		t.Fatalf("link 6 after another address and a minute later: %d clicks, want 2", got)
	}
}

// Visitor hashes are salted with a salt that changes every day, and a
// visit whose hour straddles the change still counts once.
func TestVisitorSaltRotatesDailyWithoutBreakingTheHour(t *testing.T) {
	e := newClickEnv(t)
	id, code := e.referrer(t, "jen@example.com")
	// apptest.Start is 12:00 UTC: go to 23:40.
	e.Clock.Advance(11*time.Hour + 40*time.Minute)
	e.follow(t, code, "203.0.113.5:4000", browser(0))
	e.Clock.Advance(40 * time.Minute) // 00:20, the next day
	e.follow(t, code, "203.0.113.5:4000", browser(0))
	if got := e.clicks(t, id); got != 1 {
		t.Fatalf("a visitor at 23:40 and again at 00:20: %d clicks, want 1", got)
	}
	e.Clock.Advance(21 * time.Minute) // 00:41: an hour after 23:40
	e.follow(t, code, "203.0.113.5:4000", browser(0))
	if got := e.clicks(t, id); got != 2 {
		t.Fatalf("the visitor an hour after its counted click: %d clicks, want 2", got)
	}
	// The two counted clicks of one visitor carry unrelated hashes.
	clicks, _, err := e.App.Store.ListClicks(t.Context(), e.OrgID, id, store.Page{Limit: 10})
	if err != nil {
		t.Fatal(err)
	}
	if len(clicks) != 2 || clicks[0].VisitorHash == clicks[1].VisitorHash || clicks[0].VisitorHash == "" {
		t.Fatalf("the visitor's clicks on two days: %v, want two different hashes", hashes(clicks))
	}
}

func hashes(cs []domain.Click) []string {
	var out []string
	for _, c := range cs {
		out = append(out, c.VisitorHash)
	}
	return out
}
