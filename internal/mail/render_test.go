package mail

import (
	"encoding/xml"
	"errors"
	"io"
	"strings"
	"testing"
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
