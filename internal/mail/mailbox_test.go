package mail

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"net/http/httptest"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"
)

// stepClock returns t0, t0+1s, t0+2s, ...; safe for concurrent use.
func stepClock(t0 time.Time) func() time.Time {
	var mu sync.Mutex
	n := 0
	return func() time.Time {
		mu.Lock()
		defer mu.Unlock()
		n++
		return t0.Add(time.Duration(n-1) * time.Second)
	}
}

var t0 = time.Date(2026, 3, 1, 9, 30, 0, 0, time.UTC)

func newBox(t *testing.T, limit int) *Mailbox {
	t.Helper()
	b, err := NewMailbox("Partnerloop <noreply@partnerloop.test>", stepClock(t0), limit)
	if err != nil {
		t.Fatal(err)
	}
	return b
}

func msg(i int) Message {
	return Message{To: fmt.Sprintf("user%d@example.com", i), Subject: fmt.Sprintf("subject %d", i), Text: "text", HTML: "<p>html</p>"}
}

func TestMailboxKeepsNewestFirstWithinBound(t *testing.T) {
	b := newBox(t, 3)
	for i := range 5 {
		if err := b.Send(context.Background(), msg(i)); err != nil {
			t.Fatal(err)
		}
	}
	got := b.Messages()
	if len(got) != 3 {
		t.Fatalf("kept %d messages, want 3", len(got))
	}
	for i, want := range []int{4, 3, 2} {
		if got[i].To != fmt.Sprintf("user%d@example.com", want) {
			t.Errorf("message %d is to %s, want user%d", i, got[i].To, want)
		}
		if !got[i].SentAt.Equal(t0.Add(time.Duration(want) * time.Second)) {
			t.Errorf("message %d SentAt %v", i, got[i].SentAt)
		}
		if got[i].From != `"Partnerloop" <noreply@partnerloop.test>` {
			t.Errorf("From = %q", got[i].From)
		}
	}
	// Messages returns a copy.
	got[0].Subject = "changed"
	if b.Messages()[0].Subject != "subject 4" {
		t.Error("Messages exposes the mailbox's storage")
	}
}

func TestMailboxDefaultLimit(t *testing.T) {
	b := newBox(t, 0)
	for i := range DefaultMailboxLimit + 10 {
		if err := b.Send(context.Background(), msg(i)); err != nil {
			t.Fatal(err)
		}
	}
	got := b.Messages()
	if len(got) != DefaultMailboxLimit || got[0].Subject != fmt.Sprintf("subject %d", DefaultMailboxLimit+9) {
		t.Fatalf("len %d, newest %q", len(got), got[0].Subject)
	}
	if cap(b.ring) > 2*DefaultMailboxLimit {
		t.Errorf("backing array grew to %d", cap(b.ring))
	}
}

func TestMailboxConcurrentSends(t *testing.T) {
	const workers, each, limit = 16, 50, 100
	b := newBox(t, limit)
	var wg sync.WaitGroup
	for w := range workers {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := range each {
				if err := b.Send(context.Background(), msg(w*each+i)); err != nil {
					t.Error(err)
				}
				_ = b.Messages()
			}
		}()
	}
	// Readers while writing: the handler too.
	h := b.Handler()
	for range 10 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			rec := httptest.NewRecorder()
			h.ServeHTTP(rec, httptest.NewRequest("GET", "/_dev/mail.json", nil))
			if rec.Code != 200 {
				t.Errorf("status %d", rec.Code)
			}
		}()
	}
	wg.Wait()
	got := b.Messages()
	if len(got) != limit {
		t.Fatalf("kept %d, want %d", len(got), limit)
	}
	// Newest first, strictly, and exactly the last `limit` clock ticks.
	for i, s := range got {
		want := t0.Add(time.Duration(workers*each-1-i) * time.Second)
		if !s.SentAt.Equal(want) {
			t.Fatalf("message %d SentAt %v, want %v", i, s.SentAt, want)
		}
	}
}

func TestMailboxRejectsInvalid(t *testing.T) {
	b := newBox(t, 0)
	for name, m := range map[string]Message{
		"no recipient":    {Subject: "s", Text: "t"},
		"two recipients":  {To: "a@example.com, b@example.com", Subject: "s", Text: "t"},
		"header inject":   {To: "a@example.com\r\nBcc: x@example.com", Subject: "s", Text: "t"},
		"subject newline": {To: "a@example.com", Subject: "s\r\nBcc: x@example.com", Text: "t"},
		"no subject":      {To: "a@example.com", Text: "t"},
		"no body":         {To: "a@example.com", Subject: "s"},
	} {
		if err := b.Send(context.Background(), m); !errors.Is(err, ErrInvalid) {
			t.Errorf("%s: err = %v, want ErrInvalid", name, err)
		}
	}
	if n := len(b.Messages()); n != 0 {
		t.Errorf("kept %d invalid messages", n)
	}
	if _, err := NewMailbox("not an address", nil, 0); !errors.Is(err, ErrInvalid) {
		t.Errorf("NewMailbox with a bad sender: %v", err)
	}
}

func TestMailboxPageEscapes(t *testing.T) {
	b := newBox(t, 0)
	hostile := Message{
		To:      "victim@example.com",
		Subject: `<script>alert("subject")</script>`,
		Text:    `</pre><script>alert("text")</script>`,
		HTML:    `<p>Hi <a href="https://app.test/accept?t=1&x=2">accept</a></p><script>alert("html")</script>"><img src=x onerror=alert(1)>`,
	}
	if err := b.Send(context.Background(), hostile); err != nil {
		t.Fatal(err)
	}
	rec := httptest.NewRecorder()
	b.Handler().ServeHTTP(rec, httptest.NewRequest("GET", "/_dev/mail", nil))
	if rec.Code != 200 || !strings.HasPrefix(rec.Header().Get("Content-Type"), "text/html") {
		t.Fatalf("status %d, type %q", rec.Code, rec.Header().Get("Content-Type"))
	}
	page := rec.Body.String()
	if strings.Contains(strings.ToLower(page), "<script") {
		t.Fatalf("page contains an unescaped script tag:\n%s", page)
	}
	if strings.Contains(page, "<img") {
		t.Fatalf("page contains an unescaped img tag:\n%s", page)
	}
	for _, want := range []string{
		`&lt;script&gt;alert(&#34;subject&#34;)&lt;/script&gt;`,
		`&lt;/pre&gt;&lt;script&gt;alert(&#34;text&#34;)`,
		`<iframe title="HTML body" sandbox="allow-popups allow-top-navigation-by-user-activation" srcdoc="&lt;p&gt;Hi &lt;a href=&#34;https://app.test/accept?t=1&amp;x=2&#34;&gt;accept&lt;/a&gt;`,
		`victim@example.com`,
		`2026-03-01 09:30:00 UTC`,
	} {
		if !strings.Contains(page, want) {
			t.Errorf("page lacks %s\n%s", want, page)
		}
	}
	if csp := rec.Header().Get("Content-Security-Policy"); !strings.Contains(csp, "default-src 'none'") {
		t.Errorf("CSP = %q", csp)
	}
}

func TestMailboxPageNewestFirst(t *testing.T) {
	b := newBox(t, 0)
	for i := range 3 {
		_ = b.Send(context.Background(), msg(i))
	}
	rec := httptest.NewRecorder()
	b.Handler().ServeHTTP(rec, httptest.NewRequest("GET", "/_dev/mail", nil))
	page := rec.Body.String()
	i2, i1, i0 := strings.Index(page, "subject 2"), strings.Index(page, "subject 1"), strings.Index(page, "subject 0")
	if i2 < 0 || i1 < i2 || i0 < i1 {
		t.Fatalf("not newest first: %d %d %d", i2, i1, i0)
	}
}

func TestMailboxJSONShape(t *testing.T) {
	b := newBox(t, 0)
	rec := httptest.NewRecorder()
	b.Handler().ServeHTTP(rec, httptest.NewRequest("GET", "/_dev/mail.json", nil))
	if got := strings.TrimSpace(rec.Body.String()); got != `{"items":[]}` {
		t.Fatalf("empty mailbox: %s", got)
	}
	_ = b.Send(context.Background(), Message{To: "a@example.com", Subject: "Hello <b>", Text: "plain", HTML: "<p>rich</p>"})
	rec = httptest.NewRecorder()
	b.Handler().ServeHTTP(rec, httptest.NewRequest("GET", "/_dev/mail.json", nil))
	if rec.Code != 200 || rec.Header().Get("Content-Type") != "application/json" {
		t.Fatalf("status %d, type %q", rec.Code, rec.Header().Get("Content-Type"))
	}
	var doc map[string][]map[string]any
	if err := json.Unmarshal(rec.Body.Bytes(), &doc); err != nil {
		t.Fatal(err)
	}
	if len(doc) != 1 || len(doc["items"]) != 1 {
		t.Fatalf("document: %s", rec.Body)
	}
	item := doc["items"][0]
	var keys []string
	for k := range item {
		keys = append(keys, k)
	}
	slices.Sort(keys)
	if want := []string{"from", "html", "sentAt", "subject", "text", "to"}; !slices.Equal(keys, want) {
		t.Fatalf("keys %v, want %v", keys, want)
	}
	want := map[string]any{"to": "a@example.com", "from": `"Partnerloop" <noreply@partnerloop.test>`, "subject": "Hello <b>",
		"text": "plain", "html": "<p>rich</p>", "sentAt": "2026-03-01T09:30:00Z"}
	for k, v := range want {
		if item[k] != v {
			t.Errorf("%s = %#v, want %#v", k, item[k], v)
		}
	}
}

func TestMailboxHandlerMethodsAndPaths(t *testing.T) {
	h := newBox(t, 0).Handler()
	for _, tc := range []struct {
		method, path string
		status       int
	}{
		{"GET", "/_dev/mail", 200},
		{"GET", "/_dev/mail.json", 200},
		{"POST", "/_dev/mail", http.StatusMethodNotAllowed},
		{"DELETE", "/_dev/mail.json", http.StatusMethodNotAllowed},
		{"PUT", "/_dev/mail.json", http.StatusMethodNotAllowed},
		{"GET", "/_dev/mail/x", http.StatusNotFound},
	} {
		rec := httptest.NewRecorder()
		h.ServeHTTP(rec, httptest.NewRequest(tc.method, tc.path, nil))
		if rec.Code != tc.status {
			t.Errorf("%s %s: %d, want %d", tc.method, tc.path, rec.Code, tc.status)
		}
		if tc.status == http.StatusMethodNotAllowed && !strings.Contains(rec.Header().Get("Allow"), "GET") {
			t.Errorf("%s %s: Allow = %q", tc.method, tc.path, rec.Header().Get("Allow"))
		}
	}
}
