package mail

import (
	"bytes"
	"encoding/xml"
	"errors"
	htmltemplate "html/template"
	"io"
	"strings"
	"testing"
	texttemplate "text/template"
	"time"
)

func invitation() InvitationData {
	return InvitationData{
		OrganizationName: "Acme Corp",
		RecipientName:    "Dana Partner",
		InviterName:      "Sam Admin",
		AcceptURL:        "https://app.partnerloop.test/invitations/accept?token=abc123",
		ExpiresAt:        time.Date(2026, 3, 8, 9, 30, 0, 0, time.UTC),
	}
}

func TestRenderInvitation(t *testing.T) {
	d := invitation()
	m, err := RenderInvitation("dana@example.com", d)
	if err != nil {
		t.Fatal(err)
	}
	if m.To != "dana@example.com" {
		t.Errorf("To = %q", m.To)
	}
	if m.Subject != "Sam Admin invited you to the Acme Corp partner portal" {
		t.Errorf("Subject = %q", m.Subject)
	}
	for part, body := range map[string]string{"text": m.Text, "html": m.HTML} {
		for _, want := range []string{d.AcceptURL, "Dana Partner", "Sam Admin", "Acme Corp", "8 March 2026, 09:30 UTC"} {
			if !strings.Contains(body, want) {
				t.Errorf("%s part lacks %q:\n%s", part, want, body)
			}
		}
	}
	if !strings.Contains(m.HTML, `<a href="`+d.AcceptURL+`"`) {
		t.Errorf("HTML has no button linking to the accept URL:\n%s", m.HTML)
	}
	if strings.Contains(m.Text, "<") {
		t.Errorf("text part has markup:\n%s", m.Text)
	}
	// The HTML part is well-formed (XML-parsable after the doctype).
	dec := xml.NewDecoder(strings.NewReader(strings.TrimPrefix(m.HTML, "<!DOCTYPE html>")))
	dec.Strict = true
	for {
		_, err := dec.Token()
		if err == io.EOF {
			break
		}
		if err != nil {
			t.Fatalf("HTML part is not well-formed: %v\n%s", err, m.HTML)
		}
	}
}

func TestRenderInvitationOptionalFields(t *testing.T) {
	d := invitation()
	d.RecipientName, d.InviterName, d.ExpiresAt = "", "", time.Time{}
	m, err := Render(Invitation, &d)
	if err != nil {
		t.Fatal(err)
	}
	if m.Subject != "You are invited to the Acme Corp partner portal" {
		t.Errorf("Subject = %q", m.Subject)
	}
	if !strings.HasPrefix(m.Text, "Hello,\n") || strings.Contains(m.Text, "expires") || strings.Contains(m.HTML, "expires") {
		t.Errorf("optional fields rendered:\n%s\n%s", m.Text, m.HTML)
	}
}

func TestRenderInvitationEscapesHTML(t *testing.T) {
	d := invitation()
	d.RecipientName = `<script>alert(1)</script>`
	d.OrganizationName = `Evil "Org" <img src=x onerror=alert(2)>`
	d.AcceptURL = `https://app.partnerloop.test/accept?token=a&b="><script>`
	m, err := Render(Invitation, d)
	if err != nil {
		t.Fatal(err)
	}
	for _, bad := range []string{"<script", "<img"} {
		if strings.Contains(m.HTML, bad) {
			t.Errorf("HTML contains %q:\n%s", bad, m.HTML)
		}
	}
	for _, want := range []string{"&lt;script&gt;alert(1)&lt;/script&gt;", "&lt;img src=x onerror=alert(2)&gt;", `href="https://app.partnerloop.test/accept?token=a&amp;b=%22%3e%3cscript%3e"`} {
		if !strings.Contains(m.HTML, want) {
			t.Errorf("HTML lacks %q:\n%s", want, m.HTML)
		}
	}
	// The text part is plain text: the values appear as given.
	if !strings.Contains(m.Text, d.RecipientName) || !strings.Contains(m.Text, d.AcceptURL) {
		t.Errorf("text part:\n%s", m.Text)
	}
}

func TestRenderInvitationSubjectIsOneLine(t *testing.T) {
	d := invitation()
	d.OrganizationName = "Acme\r\nBcc: attacker@example.com"
	m, err := Render(Invitation, d)
	if err != nil {
		t.Fatal(err)
	}
	if strings.ContainsAny(m.Subject, "\r\n") {
		t.Fatalf("Subject = %q", m.Subject)
	}
}

func TestRenderInvitationRejectsUnsafeURLs(t *testing.T) {
	for _, u := range []string{
		"javascript:alert(1)",
		"JavaScript:alert(1)",
		" javascript:alert(1)",
		"java\tscript:alert(1)",
		"data:text/html,<script>alert(1)</script>",
		"vbscript:msgbox",
		"//evil.test/accept",
		"/invitations/accept?token=x",
		"https:///nohost",
		"https://user:pass@evil.test/",
		"",
	} {
		d := invitation()
		d.AcceptURL = u
		if _, err := Render(Invitation, d); !errors.Is(err, ErrInvalid) {
			t.Errorf("AcceptURL %q: err = %v, want ErrInvalid", u, err)
		}
	}
	d := invitation()
	d.AcceptURL = "http://localhost:8080/invitations/accept?token=x"
	if _, err := Render(Invitation, d); err != nil {
		t.Errorf("http URL rejected: %v", err)
	}
}

func TestRenderRejectsWrongData(t *testing.T) {
	if _, err := Render(Invitation, map[string]string{"AcceptURL": "javascript:x"}); !errors.Is(err, ErrInvalid) {
		t.Errorf("map data: %v", err)
	}
	if _, err := Render(Invitation, (*InvitationData)(nil)); !errors.Is(err, ErrInvalid) {
		t.Errorf("nil data: %v", err)
	}
	if _, err := Render(Template{}, invitation()); err == nil {
		t.Error("zero Template rendered")
	}
}

// TestTemplatesParse: the templates are parsed on first use, so a broken
// one must fail here rather than at a user's first invitation.
func TestTemplatesParse(t *testing.T) {
	for _, tmpl := range []Template{Invitation, UserInvitation, PasswordReset} {
		tmpl.parsed() // panics on a parse error
	}
	pageTmpl()
}

// TestRenderWithLogo: an organization's logo goes with the message as an
// inline part that the HTML body shows by its content ID; without one the
// body names no image.
func TestRenderWithLogo(t *testing.T) {
	png := []byte("\x89PNG\r\n\x1a\nrest")
	for _, tmpl := range []Template{Invitation, UserInvitation, PasswordReset} {
		d := invitation()
		d.Logo = &Image{ContentType: "image/png", Data: png}
		m, err := Render(tmpl, d)
		if err != nil {
			t.Fatalf("%s: %v", tmpl.Name(), err)
		}
		if len(m.Inline) != 1 || m.Inline[0].ContentID != LogoContentID || m.Inline[0].ContentType != "image/png" || string(m.Inline[0].Data) != string(png) {
			t.Fatalf("%s: inline parts %+v", tmpl.Name(), m.Inline)
		}
		if !strings.Contains(m.HTML, `<img src="cid:`+LogoContentID+`" alt=""`) {
			t.Errorf("%s: HTML does not show the inline logo:\n%s", tmpl.Name(), m.HTML)
		}
		m.To = "dana@example.com"
		if _, err := m.Validate(); err != nil {
			t.Errorf("%s: Validate: %v", tmpl.Name(), err)
		}
		without, err := Render(tmpl, invitation())
		if err != nil || len(without.Inline) != 0 || strings.Contains(without.HTML, "<img") {
			t.Errorf("%s without a logo: %d inline parts, %v\n%s", tmpl.Name(), len(without.Inline), err, without.HTML)
		}
	}
	bad := Message{To: "a@example.com", Subject: "s", Text: "t", Inline: []Inline{{ContentID: "x\r\nBcc: y", Image: Image{ContentType: "image/png", Data: png}}}}
	if _, err := bad.Validate(); !errors.Is(err, ErrInvalid) {
		t.Errorf("a content ID with a line break: %v", err)
	}
	bad.Inline[0].ContentID, bad.Inline[0].ContentType = "ok", "image/svg+xml"
	if _, err := bad.Validate(); !errors.Is(err, ErrInvalid) {
		t.Errorf("an SVG inline image: %v", err)
	}
}

// TestEngineMatchesTextAndHTMLTemplate holds the mail templates' engine
// (tmpl.go) to text/template and html/template: the same template files
// and data, the same output byte for byte, hostile values included.
func TestEngineMatchesTextAndHTMLTemplate(t *testing.T) {
	funcs := map[string]any{"when": when}
	var datas []InvitationData
	base := invitation()
	datas = append(datas, base, InvitationData{OrganizationName: "Acme"})
	hostile := []string{
		`<script>alert(1)</script>`, `Evil "Org" <img src=x onerror=alert(2)>`, `O'Brien & Sons + Co`,
		"nul\x00byte", "invalid \xff\xfe utf-8", "Zoë 日本 🎉", "\r\n\t line\nbreaks ",
		`javascript:alert(1)`, `JavaScript:x`, `mailto:a@b.test`, `https://h.test/a b?c="d"&e='f'(g)<h>`,
		`https://h.test/%41%zz%4`, `//evil.test/x`, `/relative?x=1#frag`, `https://h.test/é?q=日本`,
		"https://h.test/\x00\x7f\xff", "", " ",
	}
	withLogo := base
	withLogo.Logo = &Image{ContentType: "image/png", Data: []byte("\x89PNG\r\n\x1a\n")}
	datas = append(datas, withLogo)
	for i, s := range hostile {
		d := base
		d.OrganizationName, d.RecipientName, d.InviterName, d.AcceptURL = s, hostile[(i+1)%len(hostile)], hostile[(i+2)%len(hostile)], s
		if i%2 == 0 {
			d.ExpiresAt = time.Time{}
		}
		datas = append(datas, d)
	}
	for _, name := range []string{"invitation", "user_invitation", "password_reset"} {
		read := func(part string) string {
			b, err := templateFS.ReadFile("templates/" + name + "." + part + ".tmpl")
			if err != nil {
				t.Fatal(err)
			}
			return string(b)
		}
		for _, part := range []string{"subject", "text", "html"} {
			src := read(part)
			nodes := parseTemplate(name+"."+part, src, part == "html")
			var ref interface {
				Execute(io.Writer, any) error
			}
			if part == "html" {
				ref = htmltemplate.Must(htmltemplate.New(name).Funcs(funcs).Option("missingkey=error").Parse(src))
			} else {
				ref = texttemplate.Must(texttemplate.New(name).Funcs(funcs).Option("missingkey=error").Parse(src))
			}
			for i, d := range datas {
				var want bytes.Buffer
				if err := ref.Execute(&want, d); err != nil {
					t.Fatalf("%s.%s, data %d: %v", name, part, i, err)
				}
				var got strings.Builder
				execute(&got, nodes, d, part == "html")
				if got.String() != want.String() {
					t.Errorf("%s.%s, data %d (%+v):\ngot  %q\nwant %q", name, part, i, d, got.String(), want.String())
				}
			}
		}
	}
}

// TestEngineRefusesWhatItDoesNotEscape: the engine parses only the subset
// it implements, and in HTML only the contexts it escapes for.
func TestEngineRefusesWhatItDoesNotEscape(t *testing.T) {
	for _, c := range []struct {
		src  string
		html bool
	}{
		{"{{.Nope}}", false},
		{"{{.ExpiresAt}}", false},
		{"{{when .AcceptURL}}", false},
		{"{{if .ExpiresAt}}x{{end}}", false},
		{"{{if .AcceptURL}}x", false},
		{"x{{end}}", false},
		{"{{range .AcceptURL}}{{end}}", false},
		{"{{.AcceptURL | html}}", false},
		{"{{.AcceptURL", false},
		{`<a title="{{.RecipientName}}">`, true},
		{`<a href="x{{.AcceptURL}}">`, true},
		{`<a href='{{.AcceptURL}}'>`, true},
		{`<a {{if .AcceptURL}}href="x"{{end}}>`, true},
		{`<script>var x = "{{.RecipientName}}"</script>`, true},
		{`<style>p { color: {{.RecipientName}} }</style>`, true},
		{`<!-- {{.RecipientName}} -->`, true},
	} {
		func() {
			defer func() {
				if recover() == nil {
					t.Errorf("parsed %q (html %v)", c.src, c.html)
				}
			}()
			parseTemplate("t", c.src, c.html)
		}()
	}
}
