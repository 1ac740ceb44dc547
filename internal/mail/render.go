package mail

import (
	"embed"
	"fmt"
	"net/url"
	"strings"
	"sync"
	"time"
	"unicode"
)

//go:embed templates/*.tmpl
var templateFS embed.FS

// Template is one email: a subject, a plain-text body and an HTML body,
// from the embedded templates (see tmpl.go for their language and why it
// is not text/template), plus a check of its data. Its parts are parsed on
// first use, not at package initialisation: every Lambda function imports
// this package, few send mail (TestTemplatesParse keeps a broken template
// failing the tests).
type Template struct {
	name     string
	parsed   func() parts // sync.OnceValue
	validate func(d InvitationData) error
}

type parts struct {
	subject, text, html []tnode
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

// HasLogo reports whether d has a logo (the templates' {{if .HasLogo}}).
func (d InvitationData) HasLogo() bool { return d.Logo != nil }

// LogoContentID is the content ID of the organization's logo in the
// e-mails that show it; the HTML templates name it (src="cid:…").
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
	d, err := invitationData(data)
	if err == nil {
		err = t.validate(d)
	}
	if err != nil {
		return Message{}, fmt.Errorf("mail: render %s: %w", t.name, err)
	}
	var subj, text, html strings.Builder
	execute(&subj, p.subject, d, false)
	execute(&text, p.text, d, false)
	execute(&html, p.html, d, true)
	m := Message{Subject: oneLine(subj.String()), Text: text.String(), HTML: html.String()}
	if d.Logo != nil {
		m.Inline = []Inline{{ContentID: LogoContentID, Image: *d.Logo}}
	}
	return m, nil
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

func mustLoad(name string, validate func(InvitationData) error) Template {
	read := func(part string) string {
		b, err := templateFS.ReadFile("templates/" + name + "." + part + ".tmpl")
		if err != nil {
			panic(err)
		}
		return string(b)
	}
	return Template{name: name, validate: validate, parsed: sync.OnceValue(func() parts {
		return parts{
			subject: parseTemplate(name+".subject", read("subject"), false),
			text:    parseTemplate(name+".text", read("text"), false),
			html:    parseTemplate(name+".html", read("html"), true),
		}
	})}
}

// invitationData is data as an InvitationData.
func invitationData(data any) (InvitationData, error) {
	switch v := data.(type) {
	case InvitationData:
		return v, nil
	case *InvitationData:
		if v == nil {
			return InvitationData{}, fmt.Errorf("%w: nil data", ErrInvalid)
		}
		return *v, nil
	}
	return InvitationData{}, fmt.Errorf("%w: data is %T, want InvitationData", ErrInvalid, data)
}

func validateInvitation(d InvitationData) error {
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
