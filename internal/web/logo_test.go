package web_test

import (
	"bytes"
	"image"
	"image/color"
	"image/jpeg"
	"image/png"
	"mime/multipart"
	"net/http"
	"net/url"
	"regexp"
	"strings"
	"testing"

	"github.com/partnerloop/partnerloop/internal/apptest"
)

// testPNG is a w×h PNG with a transparent corner.
func testPNG(t *testing.T, w, h int) []byte {
	t.Helper()
	img := image.NewNRGBA(image.Rect(0, 0, w, h))
	for y := range h {
		for x := range w {
			img.Set(x, y, color.NRGBA{R: uint8(x), G: 0x76, B: 0x6e, A: 0xff})
		}
	}
	img.Set(0, 0, color.NRGBA{})
	var buf bytes.Buffer
	if err := png.Encode(&buf, img); err != nil {
		t.Fatal(err)
	}
	return buf.Bytes()
}

// upload posts file as the logo form would, with the settings page's
// CSRF token.
func (b *browser) upload(action, field, name string, file []byte) *apptest.Response {
	b.t.Helper()
	b.do("GET", "/settings/organization", nil)
	var body bytes.Buffer
	mw := multipart.NewWriter(&body)
	mw.WriteField("csrf", b.csrf())
	fw, _ := mw.CreateFormFile(field, name)
	fw.Write(file)
	mw.Close()
	hdr := http.Header{"Content-Type": {mw.FormDataContentType()}}
	var parts []string
	for _, c := range b.cookies {
		parts = append(parts, c.Name+"="+c.Value)
	}
	hdr.Set("Cookie", strings.Join(parts, "; "))
	r := apptest.Do(b.t, b.h, "POST", action, "", body.Bytes(), hdr)
	b.last = r
	return r
}

var logoSrc = regexp.MustCompile(`<img class="logo-img" src="(/logo/[^"]+)"`)

// TestOrganizationLogo: an admin uploads a logo on Settings →
// Organization; the pages' header shows it, it is served with its stored
// type, nosniff and a long cache life at an address that names its
// version; what is not a PNG or JPEG, whatever its name, is refused next
// to the field; Remove takes it away.
func TestOrganizationLogo(t *testing.T) {
	e := apptest.New(t)
	b := withSession(t, e, e.AdminToken)
	if page := b.do("GET", "/", nil); logoSrc.Match(page.Body) {
		t.Fatal("a logo before any was uploaded")
	}

	// Not images: text named .png, a GIF, a huge canvas, and no file.
	gif := []byte("GIF89a\x01\x00\x01\x00\x80\x00\x00\x00\x00\x00\xff\xff\xff!\xf9\x04\x01\x00\x00\x00\x00,\x00\x00\x00\x00\x01\x00\x01\x00\x00\x02\x02D\x01\x00;")
	for _, c := range []struct {
		name string
		file []byte
		want string
	}{
		{"notes.png", []byte("just some text, not a picture"), "Choose a PNG or JPEG image."},
		{"anim.gif", gif, "Choose a PNG or JPEG image."},
		{"tiny.png", testPNG(t, 8, 8), "between 16 and 2,000 pixels"},
		{"", nil, "Choose an image file to upload."},
	} {
		r := b.upload("/settings/organization/logo", "logo", c.name, c.file)
		if r.Status != http.StatusUnprocessableEntity || !strings.Contains(body(r), c.want) || !strings.Contains(body(r), `id="f-logo-error"`) {
			t.Errorf("%s: %d, want 422 saying %q\n%s", c.name, r.Status, c.want, r.Body)
		}
	}

	// A file over the upload limit is refused before it is read whole.
	if r := b.upload("/settings/organization/logo", "logo", "huge.png", make([]byte, 2<<20)); r.Status != http.StatusRequestEntityTooLarge ||
		!strings.Contains(body(r), "at most 1 MB") {
		t.Errorf("a 2 MB upload: %d\n%s", r.Status, r.Body)
	}

	r := b.upload("/settings/organization/logo", "logo", "logo.bin", testPNG(t, 400, 100))
	if r.Status != http.StatusSeeOther {
		t.Fatalf("upload: %d\n%s", r.Status, r.Body)
	}
	page := b.do("GET", "/", nil)
	m := logoSrc.FindSubmatch(page.Body)
	if m == nil || !strings.Contains(body(page), `<span class="brand-name">Test Org</span>`) {
		t.Fatalf("the console header shows no logo and name:\n%s", page.Body)
	}
	src := string(m[1])
	img := apptest.Do(t, e.App.Handler(), "GET", src, "", nil, nil) // no session: public by its version
	if img.Status != http.StatusOK || img.Header.Get("Content-Type") != "image/png" || img.Header.Get("X-Content-Type-Options") != "nosniff" ||
		!strings.Contains(img.Header.Get("Cache-Control"), "immutable") {
		t.Fatalf("logo: %d %v", img.Status, img.Header)
	}
	if cfg, err := png.DecodeConfig(bytes.NewReader(img.Body)); err != nil || cfg.Width != 400 || cfg.Height != 100 {
		t.Errorf("served logo: %+v, %v", cfg, err)
	}
	other := apptest.Do(t, e.App.Handler(), "GET", src[:strings.LastIndex(src, "/")]+"/0123456789abcdef01234567", "", nil, nil)
	if other.Status != http.StatusNotFound {
		t.Errorf("a logo under another version: %d", other.Status)
	}
	for _, bad := range []string{"/logo/org%23x/0123456789abcdef01234567", "/logo/" + e.OrgID + "/not-a-version"} {
		if r := apptest.Do(t, e.App.Handler(), "GET", bad, "", nil, nil); r.Status != http.StatusNotFound {
			t.Errorf("%s: %d", bad, r.Status)
		}
	}

	// A JPEG replaces it, under a new address.
	var jp bytes.Buffer
	jpeg.Encode(&jp, image.NewRGBA(image.Rect(0, 0, 64, 64)), nil)
	if r := b.upload("/settings/organization/logo", "logo", "logo.png", jp.Bytes()); r.Status != http.StatusSeeOther {
		t.Fatalf("upload a JPEG: %d\n%s", r.Status, r.Body)
	}
	m = logoSrc.FindSubmatch(b.do("GET", "/settings/organization", nil).Body)
	if m == nil || string(m[1]) == src {
		t.Fatalf("the new logo's address: %q (was %s)", m, src)
	}
	if got := apptest.Do(t, e.App.Handler(), "GET", string(m[1]), "", nil, nil); got.Header.Get("Content-Type") != "image/jpeg" {
		t.Errorf("JPEG served as %q", got.Header.Get("Content-Type"))
	}
	if old := apptest.Do(t, e.App.Handler(), "GET", src, "", nil, nil); old.Status != http.StatusNotFound {
		t.Errorf("the replaced logo is still served: %d", old.Status)
	}

	// The invitation e-mail carries it inline, shown by its content ID.
	if r := e.InvitePartner(t, "dana@partner.example"); r.Status >= 300 {
		t.Fatalf("invite: %d %s", r.Status, r.Body)
	}
	msgs := e.App.Mailbox.Messages()
	last := msgs[len(msgs)-1]
	if len(last.Inline) != 1 || last.Inline[0].ContentType != "image/jpeg" || last.Inline[0].Bytes != jp.Len() ||
		!strings.Contains(last.HTML, `src="cid:`+last.Inline[0].ContentID+`"`) {
		t.Errorf("invitation e-mail: inline %+v\n%s", last.Inline, last.HTML)
	}

	// The page the invitation's link opens shows it too, before sign-in.
	tok := e.LastInvitationToken(t, "dana@partner.example")
	if accept := newBrowser(t, e).do("GET", "/accept-invitation?token="+url.QueryEscape(tok), nil); !strings.Contains(body(accept), `<img class="auth-logo" src="`+string(m[1])+`" alt="Test Org"`) {
		t.Errorf("the invitation page shows no logo:\n%s", accept.Body)
	}

	// The partner's portal shows it in its header, and its statement PDF
	// carries it.
	tier := e.Do(t, "POST", "/v1/partner-tiers", e.AdminToken, map[string]any{"name": "Gold", "commission": map[string]any{"type": "flat", "amount": 500}})
	prt := e.Do(t, "POST", "/v1/partners", e.AdminToken, map[string]any{"companyName": "Northwind", "contactName": "Nia", "email": "nia@northwind.example", "tierId": tier.String("id")})
	pp := withSession(t, e, e.NewUser(t, e.OrgID, "partner", prt.String("id")))
	if portal := pp.do("GET", "/portal", nil); !logoSrc.Match(portal.Body) {
		t.Errorf("the portal header shows no logo: %d\n%s", portal.Status, portal.Body)
	}
	if pdf := pp.do("GET", "/portal/statements/2026-03.pdf", nil); pdf.Status != http.StatusOK || !bytes.Contains(pdf.Body, []byte("/Subtype /Image")) {
		t.Errorf("the statement PDF has no logo: %d %q", pdf.Status, pdf.Header.Get("Content-Type"))
	}

	// Only admins change it.
	pm := e.NewUser(t, e.OrgID, "program_manager", "")
	pb := withSession(t, e, pm)
	if r := pb.upload("/settings/organization/logo", "logo", "x.png", testPNG(t, 40, 40)); r.Status != http.StatusForbidden {
		t.Errorf("a program manager's upload: %d", r.Status)
	}

	if r := b.submit("/settings/organization", "/settings/organization/logo/remove", url.Values{}); r.Status != http.StatusSeeOther {
		t.Fatalf("remove: %d\n%s", r.Status, r.Body)
	}
	if page := b.do("GET", "/", nil); logoSrc.Match(page.Body) || !strings.Contains(body(page), `<span class="logo" aria-hidden="true">◎</span>`) {
		t.Errorf("the logo is still shown after Remove:\n%s", page.Body)
	}
	if got := apptest.Do(t, e.App.Handler(), "GET", string(m[1]), "", nil, nil); got.Status != http.StatusNotFound {
		t.Errorf("the removed logo is still served: %d", got.Status)
	}
}
