package mail

import (
	"context"
	"encoding/json"
	"html/template"
	"net/http"
	"sync"
	"time"
)

// DefaultMailboxLimit is how many messages a Mailbox keeps when no limit
// is given.
const DefaultMailboxLimit = 500

// Sent is a message a Mailbox accepted.
type Sent struct {
	To      string `json:"to"`
	From    string `json:"from"`
	Subject string `json:"subject"`
	Text    string `json:"text"`
	HTML    string `json:"html"`
	// Inline lists the message's inline images (their bytes are not
	// shown).
	Inline []SentInline `json:"inline,omitempty"`
	SentAt time.Time    `json:"sentAt"`
}

// SentInline is an inline image of a Sent message.
type SentInline struct {
	ContentID   string `json:"contentId"`
	ContentType string `json:"contentType"`
	Bytes       int    `json:"bytes"`
}

// Mailbox is the embedded mode's development Mailer, used when no SMTP
// server is configured: it keeps the most recent messages in memory
// (bounded) instead of delivering them, for developers to read through
// Handler. It is safe for concurrent use.
type Mailbox struct {
	from  string
	now   func() time.Time
	limit int

	mu   sync.Mutex
	ring []Sent // oldest first; trimmed to limit
}

// NewMailbox returns a Mailbox recording from as the sender, stamping each
// message with now(), and keeping at most limit messages (limit <= 0 means
// DefaultMailboxLimit). The sender is validated like SES's.
func NewMailbox(from string, now func() time.Time, limit int) (*Mailbox, error) {
	f, err := parseAddress("sender", from)
	if err != nil {
		return nil, err
	}
	if now == nil {
		now = time.Now
	}
	if limit <= 0 {
		limit = DefaultMailboxLimit
	}
	return &Mailbox{from: f, now: now, limit: limit}, nil
}

// Send records m. It validates m like SES does, so a message the embedded
// mode accepts is one AWS would accept too.
func (b *Mailbox) Send(ctx context.Context, m Message) error {
	if err := ctx.Err(); err != nil {
		return err
	}
	m, err := m.Validate()
	if err != nil {
		return err
	}
	s := Sent{To: m.To, From: m.Sender(b.from), Subject: m.Subject, Text: m.Text, HTML: m.HTML}
	for _, in := range m.Inline {
		s.Inline = append(s.Inline, SentInline{ContentID: in.ContentID, ContentType: in.ContentType, Bytes: len(in.Data)})
	}
	b.mu.Lock()
	defer b.mu.Unlock()
	s.SentAt = b.now().UTC()
	b.ring = append(b.ring, s)
	if over := len(b.ring) - b.limit; over > 0 {
		// Copy down instead of reslicing so the backing array does not
		// grow without bound.
		n := copy(b.ring, b.ring[over:])
		clear(b.ring[n:])
		b.ring = b.ring[:n]
	}
	return nil
}

// Messages returns the kept messages, newest first.
func (b *Mailbox) Messages() []Sent {
	b.mu.Lock()
	defer b.mu.Unlock()
	out := make([]Sent, len(b.ring))
	for i, s := range b.ring {
		out[len(b.ring)-1-i] = s
	}
	return out
}

// Handler serves the mailbox to developers:
//
//	GET /_dev/mail       an HTML page, newest first
//	GET /_dev/mail.json  {"items":[{"to","from","subject","text","html","sentAt"}]}
//
// Other methods get 405. It checks no credentials: the messages carry
// invitation links, which sign their reader in as the invited person, so
// mount it only in the local server and only behind an admin check.
func (b *Mailbox) Handler() http.Handler {
	mux := http.NewServeMux()
	mux.HandleFunc("GET /_dev/mail", b.servePage)
	mux.HandleFunc("GET /_dev/mail.json", b.serveJSON)
	return mux
}

func devHeaders(w http.ResponseWriter, contentType string) {
	h := w.Header()
	h.Set("Content-Type", contentType)
	h.Set("Cache-Control", "no-store")
	h.Set("X-Content-Type-Options", "nosniff")
	h.Set("Referrer-Policy", "no-referrer")
}

func (b *Mailbox) serveJSON(w http.ResponseWriter, r *http.Request) {
	devHeaders(w, "application/json")
	_ = json.NewEncoder(w).Encode(struct {
		Items []Sent `json:"items"`
	}{Items: b.Messages()})
}

func (b *Mailbox) servePage(w http.ResponseWriter, r *http.Request) {
	devHeaders(w, "text/html; charset=utf-8")
	// The messages' HTML is shown in sandboxed srcdoc frames, which inherit
	// this policy: no scripts anywhere, images and inline styles allowed so
	// emails look as they would in a mail client.
	w.Header().Set("Content-Security-Policy",
		"default-src 'none'; style-src 'unsafe-inline'; img-src https: http: data:; frame-src 'self'; base-uri 'none'; form-action 'none'; frame-ancestors 'none'")
	if err := pageTmpl().Execute(w, b.Messages()); err != nil {
		// Headers are gone; nothing useful to add for a dev page.
		return
	}
}

// pageTmpl escapes everything: the subject, addresses and text body as
// HTML text, the HTML body as an attribute value (srcdoc), which the
// browser decodes back into the document shown in the sandboxed frame.
// Parsed on first use: only the one-process server serves the page.
var pageTmpl = sync.OnceValue(func() *template.Template { return template.Must(template.New("page").Parse(pageSource)) })

const pageSource = `<!DOCTYPE html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>Development mailbox</title>
<style>
body { font-family: system-ui, sans-serif; margin: 0 auto; max-width: 960px; padding: 16px; color: #1f2933; }
article { border: 1px solid #d2d6dc; border-radius: 6px; margin: 16px 0; padding: 12px 16px; }
h2 { font-size: 1.1em; margin: 0 0 4px; }
dl { display: grid; grid-template-columns: max-content 1fr; gap: 2px 12px; margin: 0 0 8px; font-size: .9em; }
dt { color: #616e7c; }
dd { margin: 0; }
iframe { width: 100%; height: 480px; border: 1px solid #e4e7eb; background: #fff; }
pre { white-space: pre-wrap; background: #f5f7fa; padding: 8px; }
.warn { background: #fff8e1; border: 1px solid #f0c36d; border-radius: 6px; padding: 8px 12px; }
</style>
</head>
<body>
<h1>Development mailbox</h1>
<p class="warn"><strong>For development only.</strong> This server has no SMTP server configured, so the e-mail
it sends is kept here, in memory, instead of being delivered, and is lost on restart. Only admins can read it.
In production set <code>SMTP_HOST</code> and the other <code>SMTP_*</code> settings; this page then no longer exists.</p>
<p>{{len .}} message(s), newest first; <a href="/_dev/mail.json">JSON</a>.</p>
{{range .}}<article>
<h2>{{.Subject}}</h2>
<dl>
<dt>To</dt><dd>{{.To}}</dd>
<dt>From</dt><dd>{{.From}}</dd>
<dt>Sent</dt><dd><time datetime="{{.SentAt.Format "2006-01-02T15:04:05Z07:00"}}">{{.SentAt.Format "2006-01-02 15:04:05 MST"}}</time></dd>
</dl>
{{if .HTML}}<iframe title="HTML body" sandbox="allow-popups allow-top-navigation-by-user-activation" srcdoc="{{.HTML}}"></iframe>{{end}}
{{if .Text}}<details{{if not .HTML}} open{{end}}><summary>Plain text</summary><pre>{{.Text}}</pre></details>{{end}}
</article>
{{else}}<p>No mail yet.</p>
{{end}}</body>
</html>
`
