package browsertest

import (
	"bytes"
	"context"
	"image"
	"image/color"
	"image/png"
	"net/http"
	"os"
	"path/filepath"
	"regexp"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/chromedp/chromedp"

	"github.com/partnerloop/partnerloop/internal/apptest"
	"github.com/partnerloop/partnerloop/internal/domain"
	"github.com/partnerloop/partnerloop/internal/identity"
)

// TestOrganizationLogoAndChartAxes: an admin uploads the organization's
// logo in Settings → Organization (a text file named .png is refused with
// a clear message first); the console header shows it with the
// organization's name, and so does the partner's portal; after Remove
// both show the name with the ◎ mark again. The revenue chart's axis
// reads as money for people ($50K), its clicks axis as grouped counts.
// Each page is captured at 1280 and 360 px, and none scrolls sideways.
func TestOrganizationLogoAndChartAxes(t *testing.T) {
	s := startSite(t)
	now := time.Now()
	a := &apptest.Activity{T: t, App: s.App, Org: s.Org}
	acme := a.Partner("Acme Resellers", a.Tier("Gold").ID)
	prog := a.Program("Partner program", now.AddDate(0, 0, -40))
	ada := a.Referrer(prog.ID, "Ada Lovelace", acme.ID)
	a.Clicks(ada.Code, 3)
	a.Referrals(ada.Code, 2)
	a.Conversion(ada.Code, 4_800_000, now.Add(-time.Hour)) // USD 48,000.00
	seedPartnerCommission(t, s, prog.ID, ada.ID, acme.ID, 480_000)
	apptest.RollUp(t, s.App)

	dir := t.TempDir()
	logoFile, notImage := filepath.Join(dir, "acme-logo.png"), filepath.Join(dir, "notes.png")
	if err := os.WriteFile(logoFile, wideLogo(t), 0o600); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(notImage, []byte("these are meeting notes, not a picture"), 0o600); err != nil {
		t.Fatal(err)
	}

	tb := newTab(t, s.URL)
	t.Logf("screenshots: %s", tb.shots)
	tb.signIn(adminEmail, adminPassword)
	if tb.has("img.logo-img") {
		t.Fatal("a logo before any was uploaded")
	}

	// A text file named .png: refused next to the field.
	tb.open("/settings/organization")
	tb.expectError("/settings/organization/logo")
	tb.do("choose a text file", chromedp.SetUploadFiles(chromedp.ID("f-logo"), []string{notImage}))
	if st := tb.submit(`form[action="/settings/organization/logo"] button[type=submit]`); st != http.StatusUnprocessableEntity {
		t.Fatalf("upload a text file: %d, want 422", st)
	}
	if got := tb.text("#f-logo-error"); got != "Choose a PNG or JPEG image." {
		t.Errorf("the refusal says %q", got)
	}
	if got, _ := chromedp.Run(tb.ctx, chromedp.Evaluate[string](`document.getElementById("f-logo").getAttribute("aria-describedby")`)); !strings.Contains(got, "f-logo-error") {
		t.Errorf("the error is not tied to the field: aria-describedby %q", got)
	}
	tb.shot("logo-01-refused")

	// The logo.
	tb.do("choose the logo", chromedp.SetUploadFiles(chromedp.ID("f-logo"), []string{logoFile}))
	if st := tb.submit(`form[action="/settings/organization/logo"] button[type=submit]`); st != http.StatusOK {
		t.Fatalf("upload the logo: %d", st)
	}
	if got := tb.text(".flash"); !strings.HasPrefix(got, "Logo saved.") {
		t.Errorf("notice %q", got)
	}
	if !imageLoaded(t, tb, "img[data-logo-preview]") {
		t.Error("the settings page does not show the uploaded logo")
	}
	tb.shot("logo-02-settings")
	tb.shotNarrow("logo-03-settings-360")

	tb.open("/")
	if !imageLoaded(t, tb, ".sidebar img.logo-img") || tb.text(".sidebar .brand-name") != "Browser Org" || tb.has(".sidebar .logo") {
		t.Errorf("the console header: logo shown %v, name %q, ◎ shown %v", imageLoaded(t, tb, ".sidebar img.logo-img"), tb.text(".sidebar .brand-name"), tb.has(".sidebar .logo"))
	}
	tb.shot("logo-04-console")
	tb.shotNarrow("logo-05-console-360")

	// Referrals → Analytics: axes for people.
	tb.open("/analytics")
	revenue := axisLabels(t, tb, "Revenue (USD)")
	if !slices.Contains(revenue, "$50K") || !slices.Contains(revenue, "$0") {
		t.Errorf("revenue axis %q, want $50K … $0", revenue)
	}
	clicks := axisLabels(t, tb, "Clicks")
	raw := regexp.MustCompile(`^-?\d{4,}$|\.\d\d$|[a-z][A-Z]`)
	for _, l := range append(revenue, clicks...) {
		if raw.MatchString(l) {
			t.Errorf("axis label %q is not written for people (raw digits, cents or an internal name)", l)
		}
	}
	tb.shot("logo-06-analytics")
	tb.shotNarrow("logo-07-analytics-360")
	tb.check()
	tb.submit(`form[action="/logout"] button`)

	// The partner's portal.
	const email, password = "ada@acme.example", "a-long-partner-password"
	hash, err := identity.HashPassword(password)
	if err != nil {
		t.Fatal(err)
	}
	if err := s.App.Store.CreateUser(context.Background(), domain.User{ID: "usr_ada", OrgID: s.Org, Email: email, Name: "Ada",
		Role: domain.RolePartner, PartnerID: acme.ID, Status: domain.UserActive, PasswordHash: hash, CreatedAt: now, UpdatedAt: now}); err != nil {
		t.Fatal(err)
	}
	ptab := newTab(t, s.URL)
	ptab.signIn(email, password)
	if !imageLoaded(t, ptab, ".sidebar img.logo-img") || ptab.text(".sidebar .brand-name") != "Browser Org" {
		t.Errorf("the portal header shows no logo and name")
	}
	if earnings := axisLabels(t, ptab, "Earnings (USD)"); !slices.Contains(earnings, "$0") || len(earnings) < 2 {
		t.Errorf("portal earnings axis %q", earnings)
	}
	// Nothing approved or paid yet reads as money in the partner's
	// currency, like the pending figure beside it, not a bare "0".
	if got := ptab.text("main"); !strings.Contains(got, "$4,800.00\nPending") || !strings.Contains(got, "$0.00\nApproved") || !strings.Contains(got, "$0.00\nPaid") {
		t.Errorf("portal earnings %q, want $4,800.00 pending and $0.00 approved and paid", got)
	}
	ptab.shot("logo-08-portal")
	ptab.shotNarrow("logo-09-portal-360")
	ptab.check()

	// Remove: the name and the ◎ mark again, in the console and the portal.
	tb.signIn(adminEmail, adminPassword)
	tb.open("/settings/organization")
	if st := tb.submit(`button[data-remove-logo]`); st != http.StatusOK {
		t.Fatalf("remove: %d", st)
	}
	if tb.has("img.logo-img") || tb.has("img[data-logo-preview]") || !tb.has(".sidebar .logo") {
		t.Error("the logo is still shown after Remove")
	}
	tb.shot("logo-10-removed")
	ptab.open("/portal")
	if ptab.has("img.logo-img") || ptab.text(".sidebar .brand-name") != "Browser Org" {
		t.Error("the portal still shows the removed logo")
	}
	tb.check()
	ptab.check()
}

// wideLogo is a 400×100 PNG: a teal mark on a transparent ground.
func wideLogo(t *testing.T) []byte {
	t.Helper()
	img := image.NewNRGBA(image.Rect(0, 0, 400, 100))
	for y := 10; y < 90; y++ {
		for x := 10; x < 390; x++ {
			if (x/40)%2 == 0 || y > 70 {
				img.Set(x, y, color.NRGBA{R: 0x0f, G: 0x76, B: 0x6e, A: 0xff})
			}
		}
	}
	var buf bytes.Buffer
	if err := png.Encode(&buf, img); err != nil {
		t.Fatal(err)
	}
	return buf.Bytes()
}

// imageLoaded reports whether the image sel is on the page and was loaded and
// decoded by the browser.
func imageLoaded(t *testing.T, tb *tab, sel string) bool {
	t.Helper()
	ok, err := chromedp.Run(tb.ctx, chromedp.Evaluate[bool](`(async () => {
		const img = document.querySelector(`+"`"+sel+"`"+`);
		if (!img) return false;
		try { await img.decode(); } catch (e) { return false; }
		return img.naturalWidth > 0;
	})()`, chromedp.EvalAwaitPromise))
	if err != nil {
		t.Fatal(err)
	}
	return ok
}

// axisLabels are the y-axis labels of the chart titled title.
func axisLabels(t *testing.T, tb *tab, title string) []string {
	t.Helper()
	labels, err := chromedp.Run(tb.ctx, chromedp.Evaluate[[]string](`[...document.querySelectorAll('svg.chart-svg[data-chart="`+title+`"] text.chart-tick[text-anchor="end"]')].map(e => e.textContent.trim())`))
	if err != nil {
		t.Fatal(err)
	}
	return labels
}

// shotNarrow captures the page at 360 px as name, checks that it does not
// scroll sideways, and goes back to the desktop size.
func (tb *tab) shotNarrow(name string) {
	tb.t.Helper()
	tb.do("360 px", chromedp.EmulateViewport(360, 780, chromedp.EmulateScale(1)))
	tb.shot(name)
	fits, err := chromedp.Run(tb.ctx, chromedp.Evaluate[bool]("document.documentElement.scrollWidth <= window.innerWidth"))
	if err != nil {
		tb.t.Fatal(err)
	}
	if !fits {
		tb.t.Errorf("%s scrolls sideways at 360 px", name)
	}
	tb.do("desktop width", chromedp.EmulateViewport(1280, 900))
}
