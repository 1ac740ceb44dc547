// Package apptest builds a whole application on a temporary SQLite store for
// tests: a controllable clock, deterministic IDs, signed-in callers of every
// role, and a small HTTP client for the API.
package apptest

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
	"net/http/httptest"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/partnerloop/partnerloop/internal/app"
	_ "github.com/partnerloop/partnerloop/internal/app/webui" // the environments serve the web UI too
	"github.com/partnerloop/partnerloop/internal/domain"
	"github.com/partnerloop/partnerloop/internal/identity"
	"github.com/partnerloop/partnerloop/internal/mail"
	"github.com/partnerloop/partnerloop/internal/store/sqlite"
)

// Start is the fake clock's initial time.
var Start = time.Date(2026, 3, 15, 12, 0, 0, 0, time.UTC)

// Clock is a fake clock that moves only when told.
type Clock struct {
	mu  sync.Mutex
	now time.Time
}

// Now returns the current fake time.
func (c *Clock) Now() time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.now
}

// Advance moves the clock forward.
func (c *Clock) Advance(d time.Duration) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.now = c.now.Add(d)
}

// SeqIDs returns an ID source that counts: prefix_0000…1, prefix_0000…2. IDs
// still sort by creation, and two apps built alike mint the same IDs.
func SeqIDs() domain.IDs {
	var mu sync.Mutex
	n := 0
	return func(prefix string) string {
		mu.Lock()
		defer mu.Unlock()
		n++
		return fmt.Sprintf("%s_%026d", prefix, n)
	}
}

// Env is one application under test.
type Env struct {
	App        *app.App
	Clock      *Clock
	Handler    http.Handler
	OrgID      string
	AdminToken string

	ids domain.IDs
	log *slog.Logger
}

// AdminEmail and AdminPassword sign in the bootstrap admin.
const (
	AdminEmail    = "admin@example.com"
	AdminPassword = "a-long-test-password"
)

// New builds an application on a fresh store in t.TempDir, with the
// bootstrap admin signed in.
func New(t testing.TB) *Env {
	t.Helper()
	return NewWithEnv(t, nil)
}

// NewWithEnv is New with extra configuration variables (e.g.
// TRUSTED_PROXIES) on top of the defaults.
func NewWithEnv(t testing.TB, env map[string]string) *Env {
	t.Helper()
	st, err := sqlite.Open(filepath.Join(t.TempDir(), "test.db"))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { st.Close() })
	dataDir := t.TempDir() // e.g. the generated secrets key
	cfg, err := app.ConfigFromEnv(func(k string) string {
		if v, ok := env[k]; ok {
			return v
		}
		switch k {
		case "PUBLIC_BASE_URL":
			return "https://refer.example.com"
		case "DATA_DIR":
			return dataDir
		}
		return ""
	})
	if err != nil {
		t.Fatal(err)
	}
	clock := &Clock{now: Start}
	log := slog.New(slog.NewTextHandler(io.Discard, nil))
	ids := SeqIDs()
	a := app.New(cfg, st, clock.Now, ids, log)
	admin, _, _, err := a.Identity.Bootstrap(context.Background(), "Test Org", AdminEmail, AdminPassword)
	if err != nil {
		t.Fatal(err)
	}
	e := &Env{App: a, Clock: clock, Handler: a.API.Handler(), OrgID: admin.OrgID, ids: ids, log: log}
	e.AdminToken = e.Login(t, AdminEmail, AdminPassword)
	return e
}

// RollUp brings the analytics rollups up to date: what the one-process
// server's ticker does every second.
func (e *Env) RollUp(t testing.TB) {
	t.Helper()
	RollUp(t, e.App)
}

// Login signs in and returns the session token.
func (e *Env) Login(t testing.TB, email, password string) string {
	t.Helper()
	r := e.Do(t, "POST", "/v1/auth/login", "", map[string]string{"email": email, "password": password})
	if r.Status != http.StatusOK {
		t.Fatalf("login %s: %d %s", email, r.Status, r.Body)
	}
	return r.String("token")
}

// NewUser adds a person with role to orgID (creating the organization when
// it does not exist) and returns their session token.
func (e *Env) NewUser(t testing.TB, orgID string, role domain.Role, partnerID string) string {
	t.Helper()
	ctx := context.Background()
	if _, err := e.App.Store.GetOrganization(ctx, orgID); err != nil {
		if err := e.App.Store.CreateOrganization(ctx, domain.Organization{ID: orgID, Name: orgID, CreatedAt: e.Clock.Now()}); err != nil {
			t.Fatal(err)
		}
	}
	hash, err := identity.HashPassword("password-" + orgID)
	if err != nil {
		t.Fatal(err)
	}
	email := fmt.Sprintf("%s.%s.%d@example.com", role, orgID, time.Now().UnixNano())
	u := domain.User{ID: "usr_" + email, OrgID: orgID, Email: email, Name: string(role), Role: role, PartnerID: partnerID,
		Status: domain.UserActive, PasswordHash: hash, CreatedAt: e.Clock.Now(), UpdatedAt: e.Clock.Now()}
	if err := e.App.Store.CreateUser(ctx, u); err != nil {
		t.Fatal(err)
	}
	return e.Login(t, email, "password-"+orgID)
}

// APIKey creates an API key with the admin token and returns its secret.
func (e *Env) APIKey(t testing.TB, adminToken string) string {
	t.Helper()
	r := e.Do(t, "POST", "/v1/api-keys", adminToken, map[string]string{"name": "backend"})
	if r.Status != http.StatusCreated {
		t.Fatalf("create API key: %d %s", r.Status, r.Body)
	}
	return r.String("key")
}

// Response is a recorded answer.
type Response struct {
	Status int
	Header http.Header
	Body   []byte
}

// JSON decodes the body as an object (nil when it is not one).
func (r *Response) JSON() map[string]any {
	var m map[string]any
	_ = json.Unmarshal(r.Body, &m)
	return m
}

// String returns a top-level string member of the body.
func (r *Response) String(key string) string {
	s, _ := r.JSON()[key].(string)
	return s
}

// Items returns the items of a list response.
func (r *Response) Items() []map[string]any {
	var l struct {
		Items []map[string]any `json:"items"`
	}
	_ = json.Unmarshal(r.Body, &l)
	return l.Items
}

// Do sends a request to the handler. body may be nil, a string or []byte
// (sent as is) or any value (sent as JSON).
func (e *Env) Do(t testing.TB, method, path, token string, body any) *Response {
	t.Helper()
	return Do(t, e.Handler, method, path, token, body, nil)
}

// DefaultAddr is the client address of requests sent with Do.
const DefaultAddr = "198.51.100.7"

// DoFrom sends a request to the handler from the client address addr.
func (e *Env) DoFrom(t testing.TB, addr, method, path, token string, body any) *Response {
	t.Helper()
	return DoFrom(t, e.Handler, addr, method, path, token, body, nil)
}

// Do sends a request to h with optional extra headers.
func Do(t testing.TB, h http.Handler, method, path, token string, body any, header http.Header) *Response {
	t.Helper()
	return DoFrom(t, h, DefaultAddr, method, path, token, body, header)
}

// DoFrom sends a request to h from the client address addr (an IPv4 or
// IPv6 address; its TCP peer address, as the local server sees it).
func DoFrom(t testing.TB, h http.Handler, addr, method, path, token string, body any, header http.Header) *Response {
	t.Helper()
	var rd io.Reader
	switch b := body.(type) {
	case nil:
	case string:
		rd = strings.NewReader(b)
	case []byte:
		rd = bytes.NewReader(b)
	default:
		j, err := json.Marshal(b)
		if err != nil {
			t.Fatal(err)
		}
		rd = bytes.NewReader(j)
	}
	req := httptest.NewRequest(method, path, rd)
	req.RemoteAddr = net.JoinHostPort(addr, "40000")
	req.Header.Set("User-Agent", "Mozilla/5.0 (test)")
	if body != nil {
		req.Header.Set("Content-Type", "application/json")
	}
	if token != "" {
		req.Header.Set("Authorization", "Bearer "+token)
	}
	for k, vs := range header {
		req.Header[k] = vs
	}
	rec := httptest.NewRecorder()
	h.ServeHTTP(rec, req)
	return &Response{Status: rec.Code, Header: rec.Header(), Body: rec.Body.Bytes()}
}

// ProgramBody is a valid program creation request, starting a month
// before the fake clock.
func ProgramBody() map[string]any {
	return map[string]any{
		"name": "Spring referral", "landingUrl": "https://example.com/pricing?plan=pro", "currency": "USD",
		"startsAt": Start.AddDate(0, -1, 0).Format(time.RFC3339), "attributionWindowDays": 30,
		"qualifyingEvents": []string{"signup", "purchase"},
		"eligibility":      map[string]any{"newCustomersOnly": true, "allowSelfReferral": false, "minPurchaseAmount": 1000},
		"commission":       map[string]any{"type": "percentage", "rateBps": 1000}, "holdDays": 30,
	}
}

// LiveProgram creates and activates a program and enrols one referrer;
// it returns the program ID and the referrer's code.
func (e *Env) LiveProgram(t testing.TB, token string) (programID, code string) {
	t.Helper()
	r := e.Do(t, "POST", "/v1/programs", token, ProgramBody())
	if r.Status != http.StatusCreated {
		t.Fatalf("create program: %d %s", r.Status, r.Body)
	}
	programID = r.String("id")
	if r := e.Do(t, "POST", "/v1/programs/"+programID+"/activate", token, nil); r.Status != http.StatusOK {
		t.Fatalf("activate: %d %s", r.Status, r.Body)
	}
	r = e.Do(t, "POST", "/v1/programs/"+programID+"/referrers", token, map[string]string{"email": "jane@example.com", "name": "Jane"})
	if r.Status != http.StatusCreated {
		t.Fatalf("create referrer: %d %s", r.Status, r.Body)
	}
	return programID, r.String("code")
}

// InvitePartner creates a partner (and a tier for it) with the given email
// and sends it the portal invitation; it returns the invitation's answer.
func (e *Env) InvitePartner(t testing.TB, email string) *Response {
	t.Helper()
	tier := e.Do(t, "POST", "/v1/partner-tiers", e.AdminToken, map[string]any{"name": "Tier " + email, "commission": map[string]any{"type": "flat", "amount": 500}})
	p := e.Do(t, "POST", "/v1/partners", e.AdminToken, map[string]any{"companyName": "Company " + email, "contactName": "Dana", "email": email, "tierId": tier.String("id")})
	if p.Status != http.StatusCreated {
		t.Fatalf("create partner: %d %s", p.Status, p.Body)
	}
	return e.Do(t, "POST", "/v1/partners/"+p.String("id")+"/invitation", e.AdminToken, nil)
}

// LastInvitationToken returns the token of the newest invitation link
// emailed to email through the app's mailbox; it fails the test when there
// is none.
func (e *Env) LastInvitationToken(t testing.TB, email string) string {
	t.Helper()
	if e.App.Mailbox == nil {
		t.Fatal("the app has no mailbox")
	}
	for _, m := range e.App.Mailbox.Messages() {
		if !strings.EqualFold(m.To, email) && !strings.HasSuffix(strings.ToLower(m.To), "<"+strings.ToLower(email)+">") {
			continue
		}
		if tok, ok := InvitationToken(t, m.Text); ok {
			return tok
		}
	}
	t.Fatalf("no invitation email to %s", email)
	return ""
}

// InvitationToken returns the token of the invitation link in an email's
// plain-text body, wherever it was delivered (the mailbox, an SMTP server,
// the SES emulator).
func InvitationToken(t testing.TB, text string) (string, bool) {
	t.Helper()
	return identity.InvitationToken(text)
}

// SetMailer rewires the application on the same store, clock and IDs to
// send email through m (e.g. one that fails); pass the old App.Mail back
// to restore the mailbox.
func (e *Env) SetMailer(t testing.TB, m mail.Mailer) {
	t.Helper()
	e.App = app.New(e.App.Config, e.App.Store, e.Clock.Now, e.ids, e.log, app.WithMailer(m))
	e.Handler = e.App.API.Handler()
}
