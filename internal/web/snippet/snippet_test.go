package snippet_test

import (
	"bytes"
	"net/http"
	"net/http/httptest"
	"regexp"
	"testing"

	"github.com/partnerloop/partnerloop/internal/web/snippet"
)

func get(path, ifNoneMatch string) *httptest.ResponseRecorder {
	r := httptest.NewRequest("GET", path, nil)
	if ifNoneMatch != "" {
		r.Header.Set("If-None-Match", ifNoneMatch)
	}
	w := httptest.NewRecorder()
	snippet.Serve(w, r, path[len("/js/"):])
	return w
}

func TestCaching(t *testing.T) {
	hashed := get(snippet.Path, "")
	if hashed.Code != 200 || hashed.Header().Get("Cache-Control") != "public, max-age=31536000, immutable" ||
		!bytes.Equal(hashed.Body.Bytes(), snippet.Source()) || hashed.Header().Get("Content-Type") != "text/javascript; charset=utf-8" {
		t.Fatalf("hashed: %d %v", hashed.Code, hashed.Header())
	}
	plain := get("/js/ref.js", "")
	if plain.Code != 200 || plain.Header().Get("Cache-Control") != "public, max-age=300" || plain.Header().Get("ETag") != `"`+snippet.Hash+`"` {
		t.Fatalf("plain: %d %v", plain.Code, plain.Header())
	}
	if r := get("/js/ref.js", `W/"`+snippet.Hash+`"`); r.Code != http.StatusNotModified || r.Body.Len() != 0 {
		t.Fatalf("revalidation: %d", r.Code)
	}
	if r := get("/js/ref.js", `"old", "`+snippet.Hash+`"`); r.Code != http.StatusNotModified {
		t.Fatalf("revalidation with two tags: %d", r.Code)
	}
	if r := get("/js/ref.js", `"stale"`); r.Code != 200 {
		t.Fatalf("stale ETag: %d", r.Code)
	}
	for _, p := range []string{"/js/ref.0123456789ab.js", "/js/app.js", "/js/ref.js.map"} {
		if r := get(p, ""); r.Code != 404 {
			t.Errorf("%s: %d, want 404", p, r.Code)
		}
	}
	if !regexp.MustCompile(`^/js/ref\.[0-9a-f]{12}\.js$`).MatchString(snippet.Path) {
		t.Fatalf("Path = %s", snippet.Path)
	}
}

// TestNoThirdPartyRequests: the script loads, fetches and beacons nothing.
func TestNoThirdPartyRequests(t *testing.T) {
	for _, bad := range []string{"fetch(", "XMLHttpRequest", "sendBeacon", "import(", "createElement(\"script", "new Image", "http://"} {
		if bytes.Contains(snippet.Source(), []byte(bad)) {
			t.Errorf("ref.js contains %q", bad)
		}
	}
}
