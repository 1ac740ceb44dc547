// Package snippet is the landing-page script (ref.js) that organizations put
// on their own site: it keeps the referral code of ?ref= in a first-party
// cookie and hands it to sign-up forms and Stripe links.
//
// Caching: /js/ref.<hash>.js (Path) is immutable and cached for a year;
// /js/ref.js is cached for 5 minutes and revalidated with an ETag, so a page
// that embeds the plain name picks up a new version within minutes at the
// cost of a 304 now and then.
package snippet

import (
	"crypto/sha256"
	_ "embed"
	"encoding/hex"
	"net/http"
	"strings"
)

//go:embed ref.js
var source []byte

// Hash is the first 12 hex digits of the script's SHA-256.
var Hash = func() string { s := sha256.Sum256(source); return hex.EncodeToString(s[:])[:12] }()

// Path is the script's content-addressed path.
var Path = "/js/ref." + Hash + ".js"

// Source returns the script.
func Source() []byte { return source }

// Serve answers GET /js/{file}: ref.js, or ref.<Hash>.js; anything else 404.
func Serve(w http.ResponseWriter, r *http.Request, file string) {
	h := w.Header()
	switch file {
	case "ref." + Hash + ".js":
		h.Set("Cache-Control", "public, max-age=31536000, immutable")
	case "ref.js":
		h.Set("Cache-Control", "public, max-age=300")
	default:
		http.NotFound(w, r)
		return
	}
	etag := `"` + Hash + `"`
	h.Set("ETag", etag)
	h.Set("Content-Type", "text/javascript; charset=utf-8")
	// Any site may load it; it reads nothing of ours.
	h.Set("Cross-Origin-Resource-Policy", "cross-origin")
	// A list header: any number of lines, each a comma-separated list.
	for _, t := range strings.Split(strings.Join(r.Header.Values("If-None-Match"), ","), ",") {
		if t = strings.TrimSpace(t); t == etag || t == "W/"+etag || t == "*" {
			w.WriteHeader(http.StatusNotModified)
			return
		}
	}
	_, _ = w.Write(source)
}
