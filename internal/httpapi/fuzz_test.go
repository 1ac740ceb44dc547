package httpapi_test

import (
	"encoding/json"
	"net/http"
	"net/url"
	"strings"
	"testing"

	"github.com/partnerloop/partnerloop/internal/apptest"
)

// bodyRoutes are the routes that decode a JSON body. {id} is a live program.
var bodyRoutes = []struct{ method, path string }{
	{"POST", "/v1/auth/login"},
	{"POST", "/v1/api-keys"},
	{"POST", "/v1/programs"},
	{"PATCH", "/v1/programs/{id}"},
	{"POST", "/v1/programs/{id}/referrers"},
	{"POST", "/v1/referrals"},
	{"POST", "/v1/conversions"},
}

// checkAnswer fails on any 5xx, and on a 4xx that is not a problem document.
func checkAnswer(t *testing.T, r *apptest.Response, what string) {
	t.Helper()
	if r.Status >= 500 {
		t.Fatalf("%s: %d %s", what, r.Status, r.Body)
	}
	if r.Status >= 400 && r.Header.Get("Content-Type") != "application/problem+json" && !strings.HasPrefix(r.Header.Get("Content-Type"), "text/html") {
		t.Fatalf("%s: %d without a problem document: %s", what, r.Status, r.Body)
	}
	if r.Status >= 400 && strings.HasPrefix(r.Header.Get("Content-Type"), "application/problem+json") && !json.Valid(r.Body) {
		t.Fatalf("%s: invalid problem JSON: %s", what, r.Body)
	}
}

// FuzzRequestBodies sends arbitrary bodies to every decoding route. Run
// longer with: go test -fuzz FuzzRequestBodies ./internal/httpapi
func FuzzRequestBodies(f *testing.F) {
	e := apptest.New(f)
	programID, code := e.LiveProgram(f, e.AdminToken)
	seeds := []string{
		`{"email":"a@example.com","password":"x"}`,
		`{"name":"key"}`,
		`{"name":"P","landingUrl":"https://example.com","currency":"USD","startsAt":"2026-01-01T00:00:00Z","attributionWindowDays":30,"qualifyingEvents":["signup"],"commission":{"type":"tiered","basis":"revenue","period":"month","tiers":[{"upTo":100,"rateBps":100},{"upTo":null,"rateBps":200}]}}`,
		`{"endsAt":null,"eligibility":{"minPurchaseAmount":{"amount":5,"currency":"USD"}}}`,
		`{"email":"b@example.com","code":"` + code + `x"}`,
		`{"code":"` + code + `","email":"c@example.org","externalId":"e"}`,
		`{"code":"` + code + `","event":"purchase","amount":{"amount":-1},"externalId":"o","occurredAt":"2026-03-01T00:00:00Z"}`,
		`{"amount": 1e400}`, `{"upTo": 9223372036854775808}`, `null`, `"str"`, `{"a":` + strings.Repeat("[", 200),
	}
	for i := range bodyRoutes {
		for _, s := range seeds {
			f.Add(uint8(i), []byte(s))
		}
	}
	f.Fuzz(func(t *testing.T, route uint8, body []byte) {
		rt := bodyRoutes[int(route)%len(bodyRoutes)]
		path := strings.ReplaceAll(rt.path, "{id}", programID)
		r := apptest.Do(t, e.Handler, rt.method, path, e.AdminToken, body, nil)
		checkAnswer(t, r, rt.method+" "+path+" "+string(body))
	})
}

// FuzzQueries sends arbitrary list queries and path values.
func FuzzQueries(f *testing.F) {
	e := apptest.New(f)
	programID, code := e.LiveProgram(f, e.AdminToken)
	f.Add("50", "", "pending", programID, code)
	f.Add("-1", "bad!", "won", "../x", "%00")
	f.Add("99999999999999999999", "AAAA", "", "", strings.Repeat("Z", 40))
	f.Fuzz(func(t *testing.T, limit, cursor, status, id, code string) {
		q := url.Values{"limit": {limit}, "cursor": {cursor}, "status": {status}, "programId": {id}}.Encode()
		for _, p := range []string{"/v1/programs?" + q, "/v1/referrals?" + q, "/v1/conversions?" + q,
			"/v1/programs/" + url.PathEscape(id), "/v1/programs/" + url.PathEscape(id) + "/referrers?" + q,
			"/v1/referrals/" + url.PathEscape(id), "/v1/conversions/" + url.PathEscape(id)} {
			checkAnswer(t, e.Do(t, "GET", p, e.AdminToken, nil), "GET "+p)
		}
		r := e.Do(t, "GET", "/r/"+url.PathEscape(code), "", nil)
		checkAnswer(t, r, "GET /r/"+code)
		if r.Status == http.StatusFound && !strings.HasPrefix(r.Header.Get("Location"), "https://example.com/pricing") {
			t.Fatalf("redirect left the program's landing page: %s", r.Header.Get("Location"))
		}
	})
}
