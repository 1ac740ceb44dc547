package browsertest

import (
	"bytes"
	"encoding/json"
	"fmt"
	"html"
	"io"
	"net"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strings"
	"testing"
	"time"

	"github.com/chromedp/chromedp"
)

// api calls the product's JSON API and decodes the answer.
func api(t *testing.T, base, method, path, token string, body any) (int, map[string]any) {
	t.Helper()
	var rd io.Reader
	if body != nil {
		b, _ := json.Marshal(body)
		rd = bytes.NewReader(b)
	}
	req, _ := http.NewRequest(method, base+path, rd)
	req.Header.Set("Content-Type", "application/json")
	if token != "" {
		req.Header.Set("Authorization", "Bearer "+token)
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatalf("%s %s: %v", method, path, err)
	}
	defer resp.Body.Close()
	var out map[string]any
	_ = json.NewDecoder(resp.Body).Decode(&out)
	return resp.StatusCode, out
}

// landing is an organization's own site on another origin than the product
// (another host name, so not even the cookie jar is shared): a page with
// the snippet, a Stripe payment link and buy button, and a sign-up form
// whose backend posts the referral to the product's API with an API key —
// the integration an organization writes.
type landing struct {
	URL      string
	received chan url.Values
}

func startLanding(t *testing.T, product, apiKey string) *landing {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	_, port, _ := net.SplitHostPort(ln.Addr().String())
	l := &landing{URL: "http://localhost:" + port, received: make(chan url.Values, 1)}
	script := fmt.Sprintf(`<script src="%s/js/ref.js" data-window-days="45"></script>`, product)
	mux := http.NewServeMux()
	mux.HandleFunc("GET /{$}", func(w http.ResponseWriter, r *http.Request) {
		fmt.Fprintf(w, `<!doctype html><title>Shop</title>%s
<a id="pay" href="https://buy.stripe.com/test_8wM3fe?prefilled_email=a%%40b.c">Pay</a>
<stripe-buy-button id="bb" buy-button-id="buy_btn_1"></stripe-buy-button>
<a id="signup" href="/signup">Sign up</a>`, script)
	})
	mux.HandleFunc("GET /signup", func(w http.ResponseWriter, r *http.Request) {
		fmt.Fprintf(w, `<!doctype html><title>Sign up</title>%s
<form method="post" action="/signup"><input type="hidden" name="ref">
<input id="email" name="email" type="email"><button id="go" type="submit">Create account</button></form>`, script)
	})
	mux.HandleFunc("POST /signup", func(w http.ResponseWriter, r *http.Request) {
		if err := r.ParseForm(); err != nil {
			http.Error(w, err.Error(), 400)
			return
		}
		l.received <- r.PostForm
		status, ref := api(t, product, "POST", "/v1/referrals", apiKey, map[string]string{"code": r.PostForm.Get("ref"), "email": r.PostForm.Get("email")})
		fmt.Fprintf(w, `<!doctype html><title>Welcome</title><p id="result">%d %s</p>`, status, html.EscapeString(fmt.Sprint(ref["id"], " ", ref["status"])))
	})
	mux.HandleFunc("GET /favicon.ico", func(w http.ResponseWriter, r *http.Request) { w.WriteHeader(http.StatusNoContent) })
	srv := httptest.NewUnstartedServer(mux)
	srv.Listener.Close()
	srv.Listener = ln
	srv.Start()
	t.Cleanup(srv.Close)
	return l
}

// TestLandingPageSnippetRoundTrip is the round trip: a referral
// link → the product's redirect → the organization's landing page on
// another origin, whose snippet keeps the code in a first-party cookie,
// exposes it and adds it to Stripe links → the sign-up page (no ?ref any
// more) has the code in its form → the page's backend posts the referral →
// the product has recorded it, credited to the link's referrer.
func TestLandingPageSnippetRoundTrip(t *testing.T) {
	s := startSite(t)
	status, login := api(t, s.URL, "POST", "/v1/auth/login", "", map[string]string{"email": adminEmail, "password": adminPassword})
	if status != 200 {
		t.Fatalf("login: %d %v", status, login)
	}
	admin := login["token"].(string)
	_, key := api(t, s.URL, "POST", "/v1/api-keys", admin, map[string]string{"name": "shop backend"})
	apiKey, _ := key["key"].(string)
	l := startLanding(t, s.URL, apiKey)

	_, prog := api(t, s.URL, "POST", "/v1/programs", admin, map[string]any{
		"name": "Shop referrals", "landingUrl": l.URL + "/", "currency": "USD",
		"startsAt": time.Now().Add(-time.Hour).UTC().Format(time.RFC3339), "attributionWindowDays": 45,
		"qualifyingEvents": []string{"signup"}, "eligibility": map[string]any{"newCustomersOnly": false, "allowSelfReferral": false},
		"commission": map[string]any{"type": "flat", "amount": 500}, "holdDays": 0})
	programID, _ := prog["id"].(string)
	if st, _ := api(t, s.URL, "POST", "/v1/programs/"+programID+"/activate", admin, nil); st != 200 {
		t.Fatalf("activate: %d", st)
	}
	st, rfr := api(t, s.URL, "POST", "/v1/programs/"+programID+"/referrers", admin, map[string]string{"email": "jane@example.com", "name": "Jane", "code": "JANE-2026"})
	if st != 201 {
		t.Fatalf("referrer: %d %v", st, rfr)
	}

	tb := newTab(t, s.URL)
	// The referral link, followed in the browser: it lands on the shop.
	if code := tb.open("/r/JANE-2026"); code != 200 {
		t.Fatalf("the link's landing page answered %d", code)
	}
	eval := func(expr string) string {
		t.Helper()
		v, err := chromedp.Run(tb.ctx, chromedp.Evaluate[string](expr))
		if err != nil {
			t.Fatalf("%s: %v", expr, err)
		}
		return v
	}
	if loc := eval("location.href"); !strings.HasPrefix(loc, l.URL+"/?ref=JANE-2026") {
		t.Fatalf("landed on %s, want the shop with ?ref=JANE-2026", loc)
	}
	if got := eval("String(window.PartnerLoop && window.PartnerLoop.ref)"); got != "JANE-2026" {
		t.Fatalf("window.PartnerLoop.ref = %q", got)
	}
	if c := eval("document.cookie"); !strings.Contains(c, "partnerloop_ref=JANE-2026") {
		t.Fatalf("the shop's first-party cookie: %q", c)
	}
	if href := eval(`document.getElementById("pay").href`); href != "https://buy.stripe.com/test_8wM3fe?prefilled_email=a%40b.c&client_reference_id=JANE-2026" {
		t.Fatalf("payment link = %s", href)
	}
	if v := eval(`document.getElementById("bb").getAttribute("client-reference-id")`); v != "JANE-2026" {
		t.Fatalf("buy button client-reference-id = %q", v)
	}
	tb.shot("snippet-landing")

	// Later, on the sign-up page (no ?ref): the cookie fills the form.
	tb.do("open the sign-up page", chromedp.Navigate(l.URL+"/signup"))
	if v := eval(`document.querySelector('input[name="ref"]').value`); v != "JANE-2026" {
		t.Fatalf("the sign-up form's ref = %q", v)
	}
	tb.fill("email", "new.customer@shop-buyers.example")
	if code := tb.submit("#go"); code != 200 {
		t.Fatalf("sign-up answered %d", code)
	}
	form := <-l.received
	if form.Get("ref") != "JANE-2026" || form.Get("email") != "new.customer@shop-buyers.example" {
		t.Fatalf("the shop's backend received %v", form)
	}
	if res := tb.text("#result"); !strings.HasPrefix(res, "201 ") || !strings.HasSuffix(res, " pending") {
		t.Fatalf("the shop's backend got %q from the product", res)
	}
	tb.check()

	// The product recorded the referral, credited to Jane's link.
	_, list := api(t, s.URL, "GET", "/v1/referrals?programId="+programID, admin, nil)
	items, _ := list["items"].([]any)
	if len(items) != 1 {
		t.Fatalf("referrals: %v", list)
	}
	got := items[0].(map[string]any)
	if got["email"] != "new.customer@shop-buyers.example" || got["referrerId"] != rfr["id"] || got["status"] != "pending" {
		t.Fatalf("referral recorded: %v", got)
	}
}
