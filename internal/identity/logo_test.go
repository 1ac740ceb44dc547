package identity_test

import (
	"bytes"
	"testing"

	"github.com/partnerloop/partnerloop/internal/apptest"
	"github.com/partnerloop/partnerloop/internal/domain"
	"github.com/partnerloop/partnerloop/internal/store"
)

// TestSetLogoChecksWhatItStores: whatever calls it, SetLogo stores only
// bytes that begin as the type they claim, up to store.MaxLogoBytes; the
// organization then names the logo's version, which Logo requires.
func TestSetLogoChecksWhatItStores(t *testing.T) {
	e := apptest.New(t)
	ctx := t.Context()
	p, err := e.App.Identity.Authenticate(ctx, e.AdminToken)
	if err != nil {
		t.Fatal(err)
	}
	png := append([]byte("\x89PNG\r\n\x1a\n"), bytes.Repeat([]byte{1}, 100)...)
	for name, c := range map[string]struct {
		data []byte
		typ  string
	}{
		"a GIF said to be a PNG":  {[]byte("GIF89a...."), "image/png"},
		"a PNG said to be a JPEG": {png, "image/jpeg"},
		"an SVG":                  {[]byte("<svg/>"), "image/svg+xml"},
		"too large":               {append(png, make([]byte, store.MaxLogoBytes)...), "image/png"},
	} {
		if _, err := e.App.Identity.SetLogo(ctx, p, c.data, c.typ); err == nil {
			t.Errorf("%s: stored", name)
		} else if de, ok := domain.AsError(err); !ok || de.Kind != domain.KindInvalid {
			t.Errorf("%s: %v, want a validation error", name, err)
		}
	}
	o, err := e.App.Identity.SetLogo(ctx, p, png, "image/png")
	if err != nil || len(o.LogoVersion) != 24 {
		t.Fatalf("SetLogo: %q, %v", o.LogoVersion, err)
	}
	if l, err := e.App.Identity.Logo(ctx, o.ID, o.LogoVersion); err != nil || !bytes.Equal(l.Data, png) {
		t.Errorf("Logo: %d bytes, %v", len(l.Data), err)
	}
	if _, err := e.App.Identity.Logo(ctx, o.ID, "x"+o.LogoVersion[1:]); err == nil {
		t.Error("Logo under another version")
	}
	if o, err = e.App.Identity.RemoveLogo(ctx, p); err != nil || o.LogoVersion != "" {
		t.Fatalf("RemoveLogo: %q, %v", o.LogoVersion, err)
	}
}
