package mail

import (
	"bytes"
	"embed"
	"fmt"
	htmltemplate "html/template"
	"net/url"
	"strings"
	"sync"
	texttemplate "text/template"
	"time"
	"unicode"
)

//go:embed templates/*.tmpl
var templateFS embed.FS

// Template is one email: a subject and a plain-text body (text/template)
// and an HTML body (html/template), plus a check of its data. Its parts
// are parsed on first use, not at package initialisation: every Lambda
// function imports this package, few send mail (TestTemplatesParse keeps a
// broken template failing the tests).
type Template struct {
	name     string
	parsed   func() parts // sync.OnceValue
	validate func(data any) error
}

type parts struct {
	subject, text *texttemplate.Template
	html          *htmltemplate.Template
}

// Name is the template's name, e.g. "invitation".
func (t Template) Name() string { return t.name }

// InvitationData fills the Invitation template.
type InvitationData struct {
	OrganizationName string
	RecipientName    string // may be empty
	InviterName      string // may be empty
	AcceptURL        string // absolute http(s) URL, e.g. under PUBLIC_BASE_URL
	ExpiresAt        time.Time
	// Logo, when set, is the organization's logo: the HTML body shows it
	// above the text, sent inline with the message (LogoContentID).
	Logo *Image
}

// LogoContentID is the content ID of the organization's logo in the
// e-mails that show it.
const LogoContentID = "logo@partnerloop"

// Invitation invites a partner contact to the partner portal.
var Invitation = mustLoad("invitation", validateInvitation)

// UserInvitation invites an internal user (admin, program manager); it
// takes InvitationData too.
var UserInvitation = mustLoad("user_invitation", validateInvitation)

// PasswordReset sends a forgotten password's single-use link; it takes
// InvitationData too (AcceptURL is the reset link).
var PasswordReset = mustLoad("password_reset", validateInvitation)

// Render executes t with data. The returned Message has no recipient: the
// caller sets To.
func Render(t Template, data any) (Message, error) {
	if t.parsed == nil {
		return Message{}, fmt.Errorf("mail: render: zero Template")
	}
	p := t.parsed()
	if t.validate != nil {
		if err := t.validate(data); err != nil {
			return Message{}, fmt.Errorf("mail: render %s: %w", t.name, err)
		}
	}
	var subj, text, html bytes.Buffer
	if err := p.subject.Execute(&subj, data); err != nil {
		return Message{}, fmt.Errorf("mail: render %s subject: %w", t.name, err)
	}
	if err := p.text.Execute(&text, data); err != nil {
		return Message{}, fmt.Errorf("mail: render %s text: %w", t.name, err)
	}
	if err := p.html.Execute(&html, data); err != nil {
		return Message{}, fmt.Errorf("mail: render %s html: %w", t.name, err)
	}
	m := Message{Subject: oneLine(subj.String()), Text: text.String(), HTML: html.String()}
	if logo := logoOf(data); logo != nil {
		m.Inline = []Inline{{ContentID: LogoContentID, Image: *logo}}
	}
	return m, nil
}

// logoOf is the logo data asks for, if any.
func logoOf(data any) *Image {
	switch d := data.(type) {
	case InvitationData:
		return d.Logo
	case *InvitationData:
		return d.Logo
	}
	return nil
}

// RenderInvitation renders Invitation for d and addresses it to to.
func RenderInvitation(to string, d InvitationData) (Message, error) {
	m, err := Render(Invitation, d)
	m.To = to
	return m, err
}

// oneLine makes a header value: control characters (line breaks included)
// become spaces, runs of spaces collapse.
func oneLine(s string) string {
	s = strings.Map(func(r rune) rune {
		if unicode.IsControl(r) {
			return ' '
		}
		return r
	}, s)
	return strings.Join(strings.Fields(s), " ")
}

var funcs = map[string]any{
	// when formats an expiry for people, in UTC.
	"when": func(t time.Time) string { return t.UTC().Format("2 January 2006, 15:04 UTC") },
	// logoSrc is the inline logo's address in the HTML body (html/template
	// lets no cid: URL through unless it is marked as one).
	"logoSrc": func() htmltemplate.URL { return htmltemplate.URL("cid:" + LogoContentID) },
}

func mustLoad(name string, validate func(any) error) Template {
	read := func(part string) string {
		b, err := templateFS.ReadFile("templates/" + name + "." + part + ".tmpl")
		if err != nil {
			panic(err)
		}
		return string(b)
	}
	return Template{name: name, validate: validate, parsed: sync.OnceValue(func() parts {
		return parts{
			subject: texttemplate.Must(texttemplate.New(name + ".subject").Funcs(funcs).Option("missingkey=error").Parse(read("subject"))),
			text:    texttemplate.Must(texttemplate.New(name + ".text").Funcs(funcs).Option("missingkey=error").Parse(read("text"))),
			html:    htmltemplate.Must(htmltemplate.New(name + ".html").Funcs(funcs).Option("missingkey=error").Parse(read("html"))),
		}
	})}
}

func validateInvitation(data any) error {
	var d InvitationData
	switch v := data.(type) {
	case InvitationData:
		d = v
	case *InvitationData:
		if v == nil {
			return fmt.Errorf("%w: nil data", ErrInvalid)
		}
		d = *v
	default:
		return fmt.Errorf("%w: data is %T, want InvitationData", ErrInvalid, data)
	}
	if strings.TrimSpace(d.OrganizationName) == "" {
		return fmt.Errorf("%w: OrganizationName is empty", ErrInvalid)
	}
	return checkLinkURL("AcceptURL", d.AcceptURL)
}

// checkLinkURL accepts only absolute http(s) URLs with a host: no
// javascript:, data:, relative or protocol-relative links.
func checkLinkURL(field, s string) error {
	if s != strings.TrimSpace(s) || strings.ContainsFunc(s, unicode.IsControl) {
		return fmt.Errorf("%w: %s contains whitespace or control characters", ErrInvalid, field)
	}
	u, err := url.Parse(s)
	if err != nil {
		return fmt.Errorf("%w: %s: %v", ErrInvalid, field, err)
	}
	if scheme := strings.ToLower(u.Scheme); scheme != "https" && scheme != "http" {
		return fmt.Errorf("%w: %s must be an http(s) URL, got scheme %q", ErrInvalid, field, u.Scheme)
	}
	if u.Host == "" || u.User != nil {
		return fmt.Errorf("%w: %s must be an absolute URL with a host and no user info", ErrInvalid, field)
	}
	return nil
}
