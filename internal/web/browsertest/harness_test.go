package browsertest

import (
	"context"
	"fmt"
	"log/slog"
	"net"
	"net/http/httptest"
	"net/url"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/chromedp/cdproto/browser"
	"github.com/chromedp/cdproto/cdp"
	cdplog "github.com/chromedp/cdproto/log"
	"github.com/chromedp/cdproto/runtime"
	"github.com/chromedp/chromedp"

	"github.com/partnerloop/partnerloop/internal/app"
	_ "github.com/partnerloop/partnerloop/internal/app/webui" // the site serves the web UI
	"github.com/partnerloop/partnerloop/internal/domain"
	"github.com/partnerloop/partnerloop/internal/identity"
	_ "github.com/partnerloop/partnerloop/internal/portal/statementpdf" // registers the PDF statement renderer
	"github.com/partnerloop/partnerloop/internal/store/sqlite"
)

const (
	adminEmail    = "admin@example.com"
	adminPassword = "a-long-browser-test-password"
	pmEmail       = "pm@example.com"
	pmPassword    = "another-long-test-password"
)

// site is the whole application on a loopback server.
type site struct {
	App *app.App
	URL string
	Org string
}

func startSite(t *testing.T) *site {
	t.Helper()
	return startSiteAt(t, domain.SystemClock)
}

// startSiteAt is startSite on a clock the test may move (expiring links).
func startSiteAt(t *testing.T, clock domain.Clock) *site {
	t.Helper()
	st, err := sqlite.Open(filepath.Join(t.TempDir(), "browser.db"))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { st.Close() })
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	base := "http://" + ln.Addr().String()
	cfg, err := app.ConfigFromEnv(func(k string) string {
		if k == "PUBLIC_BASE_URL" {
			return base
		}
		return ""
	})
	if err != nil {
		t.Fatal(err)
	}
	cfg.DataDir = t.TempDir() // the generated secrets key goes here
	a := app.New(cfg, st, clock, domain.NewULIDs(clock), slog.New(slog.DiscardHandler))
	ctx := context.Background()
	admin, _, _, err := a.Identity.Bootstrap(ctx, "Browser Org", adminEmail, adminPassword)
	if err != nil {
		t.Fatal(err)
	}
	hash, err := identity.HashPassword(pmPassword)
	if err != nil {
		t.Fatal(err)
	}
	now := clock()
	if err := st.CreateUser(ctx, domain.User{ID: "usr_pm", OrgID: admin.OrgID, Email: pmEmail, Name: "Pat Manager",
		Role: domain.RoleProgramManager, Status: domain.UserActive, PasswordHash: hash, CreatedAt: now, UpdatedAt: now}); err != nil {
		t.Fatal(err)
	}
	srv := httptest.NewUnstartedServer(a.Handler())
	srv.Listener.Close()
	srv.Listener = ln
	srv.Start()
	t.Cleanup(srv.Close)
	return &site{App: a, URL: base, Org: admin.OrgID}
}

// chromiumPath finds the browser: $CHROME_PATH, else Debian's chromium.
func chromiumPath(t *testing.T) string {
	if p := os.Getenv("CHROME_PATH"); p != "" {
		return p
	}
	for _, name := range []string{"chromium", "chromium-browser", "google-chrome"} {
		if p, err := exec.LookPath(name); err == nil {
			return p
		}
	}
	t.Fatal("Chromium is not installed: the browser tests need it. Install it with " +
		"`sudo apt-get install -y chromium` (Debian; .ci/run does this in CI), or set CHROME_PATH to a Chrome binary.")
	return ""
}

// tab is one browser tab with the problems the pages reported.
type tab struct {
	t        *testing.T
	ctx      context.Context
	base     string
	shots    string
	mu       sync.Mutex
	problems []string
	// expected are document URLs (path and query) answered with an error
	// status on purpose, whose "failed to load" log entry is not a problem.
	expected map[string]bool
}

func newTab(t *testing.T, base string) *tab {
	t.Helper()
	return newTabWithin(t, base, 90*time.Second)
}

// newTabWithin is newTab for a test that needs longer than 90 s in all.
func newTabWithin(t *testing.T, base string, limit time.Duration) *tab {
	t.Helper()
	opts := append(chromedp.DefaultExecAllocatorOptions[:],
		chromedp.ExecPath(chromiumPath(t)),
		chromedp.NoSandbox, chromedp.DisableGPU, chromedp.NoFirstRun, chromedp.Headless,
		chromedp.Flag("disable-background-networking", true),
		chromedp.Flag("disable-component-update", true),
		chromedp.Flag("disable-sync", true),
		chromedp.UserDataDir(t.TempDir()),
		chromedp.WindowSize(1280, 900),
	)
	allocCtx, cancelAlloc := chromedp.NewExecAllocator(context.Background(), opts...)
	ctx, cancelTab := chromedp.NewContext(allocCtx)
	ctx, cancelTime := context.WithTimeout(ctx, limit)
	t.Cleanup(func() { cancelTime(); cancelTab(); cancelAlloc() })

	tb := &tab{t: t, ctx: ctx, base: base, shots: screenshotDir(t), expected: map[string]bool{}}
	if err := chromedp.Listen(ctx, tb.record); err != nil {
		t.Fatal(err)
	}
	if _, err := chromedp.Call(ctx, cdplog.Enable, cdp.Empty{}); err != nil {
		t.Fatalf("start Chromium: %v", err)
	}
	return tb
}

// record keeps console errors, uncaught exceptions and error log entries.
func (tb *tab) record(ev any) {
	tb.mu.Lock()
	defer tb.mu.Unlock()
	switch ev := ev.(type) {
	case *runtime.EventConsoleAPICalled:
		if ev.Type == runtime.ConsoleAPICalledTypeError {
			var parts []string
			for _, a := range ev.Args {
				parts = append(parts, string(a.Value)+a.Description)
			}
			tb.problems = append(tb.problems, "console.error: "+strings.Join(parts, " "))
		}
	case *runtime.EventExceptionThrown:
		d := ev.ExceptionDetails
		msg := d.Text
		if d.Exception != nil {
			msg += " " + d.Exception.Description
		}
		tb.problems = append(tb.problems, fmt.Sprintf("uncaught exception at %s:%d: %s", d.URL, d.LineNumber+1, msg))
	case *cdplog.EventEntryAdded:
		e := ev.Entry
		if e.Level != cdplog.EntryLevelError {
			return
		}
		if u, err := url.Parse(e.URL); err == nil && e.Source == cdplog.EntrySourceNetwork && tb.expected[u.RequestURI()] {
			return
		}
		tb.problems = append(tb.problems, fmt.Sprintf("log error (%s) %s: %s", e.Source, e.URL, e.Text))
	}
}

// check fails the test on every problem the pages reported so far.
func (tb *tab) check() {
	tb.t.Helper()
	tb.mu.Lock()
	defer tb.mu.Unlock()
	for _, p := range tb.problems {
		tb.t.Error(p)
	}
	tb.problems = nil
}

func (tb *tab) do(what string, actions ...chromedp.Action[chromedp.Void]) {
	tb.t.Helper()
	if err := chromedp.Do(tb.ctx, actions...); err != nil {
		tb.t.Fatalf("%s: %v", what, err)
	}
}

// open loads path and returns the HTTP status of the page.
func (tb *tab) open(path string) int64 {
	tb.t.Helper()
	resp, err := chromedp.Run(tb.ctx, chromedp.NavigateResponse(tb.base+path))
	if err != nil {
		tb.t.Fatalf("open %s: %v", path, err)
	}
	return resp.Status
}

// submit clicks sel (a submit button) and returns the status of the page
// the form leads to.
func (tb *tab) submit(sel string) int64 {
	tb.t.Helper()
	resp, err := chromedp.RunResponse(tb.ctx, chromedp.Click(chromedp.CSS(sel)))
	if err != nil {
		tb.t.Fatalf("submit %s: %v", sel, err)
	}
	return resp.Status
}

// expectError marks a page that answers an error status on purpose.
func (tb *tab) expectError(pathAndQuery string) {
	tb.mu.Lock()
	defer tb.mu.Unlock()
	tb.expected[pathAndQuery] = true
}

func (tb *tab) text(sel string) string {
	tb.t.Helper()
	s, err := chromedp.Run(tb.ctx, chromedp.Text(chromedp.CSS(sel)))
	if err != nil {
		tb.t.Fatalf("text of %s: %v", sel, err)
	}
	return strings.TrimSpace(s)
}

func (tb *tab) has(sel string) bool {
	tb.t.Helper()
	return tb.count(sel) > 0
}

// count is how many elements match sel.
func (tb *tab) count(sel string) int {
	tb.t.Helper()
	n, err := chromedp.Run(tb.ctx, chromedp.Evaluate[int](fmt.Sprintf("document.querySelectorAll(%q).length", sel)))
	if err != nil {
		tb.t.Fatal(err)
	}
	return n
}

func (tb *tab) fill(id, value string) {
	tb.t.Helper()
	tb.do("fill "+id, chromedp.Clear(chromedp.ID(id)), chromedp.SendKeys(chromedp.ID(id), value))
}

// shot saves a full-page screenshot as <name>.png.
func (tb *tab) shot(name string) {
	tb.t.Helper()
	buf, err := chromedp.Run(tb.ctx, chromedp.FullScreenshot(100))
	if err != nil {
		tb.t.Fatalf("screenshot %s: %v", name, err)
	}
	if err := os.WriteFile(filepath.Join(tb.shots, name+".png"), buf, 0o644); err != nil {
		tb.t.Fatal(err)
	}
}

func (tb *tab) grantClipboard() {
	tb.t.Helper()
	for _, name := range []string{"clipboard-read", "clipboard-write"} {
		if _, err := chromedp.CallBrowser(tb.ctx, browser.SetPermission, browser.SetPermissionParams{
			Permission: &browser.PermissionDescriptor{Name: name}, Setting: browser.PermissionSettingGranted, Origin: tb.base,
		}); err != nil {
			tb.t.Fatalf("grant %s: %v", name, err)
		}
	}
}

// download clicks sel and returns the downloaded file's content.
func (tb *tab) download(sel string) []byte {
	tb.t.Helper()
	dir := tb.t.TempDir()
	if _, err := chromedp.CallBrowser(tb.ctx, browser.SetDownloadBehavior, browser.SetDownloadBehaviorParams{
		Behavior: browser.SetDownloadBehaviorBehaviorAllowAndName, DownloadPath: dir, EventsEnabled: new(true),
	}); err != nil {
		tb.t.Fatal(err)
	}
	progress := chromedp.BrowserEvents(tb.ctx, browser.DownloadProgress)
	tb.do("click "+sel, chromedp.Click(chromedp.CSS(sel)))
	for ev, err := range progress {
		if err != nil {
			tb.t.Fatalf("download: %v", err)
		}
		switch ev.State {
		case browser.DownloadProgressStateCompleted:
			b, err := os.ReadFile(filepath.Join(dir, ev.GUID))
			if err != nil {
				tb.t.Fatal(err)
			}
			return b
		case browser.DownloadProgressStateCanceled:
			tb.t.Fatal("download cancelled")
		}
	}
	tb.t.Fatal("no download")
	return nil
}

// screenshotDir is $SCREENSHOT_DIR or .artifacts/screenshots at the
// repository root.
func screenshotDir(t *testing.T) string {
	dir := os.Getenv("SCREENSHOT_DIR")
	if dir == "" {
		root, err := filepath.Abs("../../..")
		if err != nil {
			t.Fatal(err)
		}
		dir = filepath.Join(root, ".artifacts", "screenshots")
	}
	if err := os.MkdirAll(dir, 0o755); err != nil {
		t.Fatal(err)
	}
	return dir
}
