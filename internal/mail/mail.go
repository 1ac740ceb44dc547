// Package mail sends the platform's email. One Mailer interface has three
// implementations: SES (AWS, and aws-ses-v2-local in the AWS-local mode),
// SMTP (the embedded server in production: any SMTP relay, over STARTTLS or
// TLS), and Mailbox, an in-process mailbox for developing with the
// embedded server when no SMTP server is configured, which admins read in
// the browser at /_dev/mail. Render builds a Message (subject, plain text
// and HTML) from the embedded templates.
package mail

import (
	"context"
	"errors"
	"fmt"
	"net/mail"
	"strings"
)

// Message is one email to one recipient. Text and HTML are alternative
// bodies of the same content; senders send both.
type Message struct {
	To      string // one address, "user@example.com" or "Name <user@example.com>"
	Subject string
	Text    string
	HTML    string
	// FromName, when set, is the sender's display name (an organization's
	// mail sender name); the address stays the configured sender's.
	FromName string
	// Inline holds the images the HTML body shows by content ID
	// (src="cid:<ContentID>"): the organization's logo.
	Inline []Inline
}

// Image is a picture to put in an e-mail: PNG or JPEG bytes.
type Image struct {
	ContentType string // "image/png" or "image/jpeg"
	Data        []byte
}

// Inline is an Image sent with the message, named by its content ID.
type Inline struct {
	ContentID string `json:"contentId"`
	Image
}

// FileName is a name for the inline part ("logo.png"), for mail clients
// that list it.
func (in Inline) FileName() string {
	if in.ContentType == "image/jpeg" {
		return "logo.jpg"
	}
	return "logo.png"
}

// maxInlineBytes bounds the inline images of one message.
const maxInlineBytes = 512 << 10

// Sender is the From of m sent by a mailer configured with from: from's
// address under m's FromName when it has one.
func (m Message) Sender(from string) string {
	if m.FromName == "" {
		return from
	}
	a, err := mail.ParseAddress(from)
	if err != nil {
		return from
	}
	return (&mail.Address{Name: m.FromName, Address: a.Address}).String()
}

// Mailer sends a Message from the sender it was configured with.
type Mailer interface {
	Send(ctx context.Context, m Message) error
}

// ErrInvalid is wrapped by every error about a malformed message or
// address (as opposed to a delivery failure).
var ErrInvalid = errors.New("mail: invalid")

// parseAddress accepts exactly one RFC 5322 address and returns it in the
// form to put in a header: the bare address, or "Name <address>" with the
// name encoded as needed.
func parseAddress(field, s string) (string, error) {
	if strings.ContainsAny(s, "\r\n") {
		return "", fmt.Errorf("%w: %s address contains a line break", ErrInvalid, field)
	}
	a, err := mail.ParseAddress(strings.TrimSpace(s))
	if err != nil {
		return "", fmt.Errorf("%w: %s address %q: %v", ErrInvalid, field, s, err)
	}
	if a.Name == "" {
		return a.Address, nil
	}
	return a.String(), nil
}

// Validate checks m and returns it with the recipient normalised; every
// Mailer does before sending, so what one accepts the others accept too.
func (m Message) Validate() (Message, error) {
	to, err := parseAddress("recipient", m.To)
	if err != nil {
		return m, err
	}
	m.To = to
	if strings.TrimSpace(m.Subject) == "" {
		return m, fmt.Errorf("%w: empty subject", ErrInvalid)
	}
	if strings.ContainsAny(m.Subject, "\r\n") {
		return m, fmt.Errorf("%w: subject contains a line break", ErrInvalid)
	}
	if m.Text == "" && m.HTML == "" {
		return m, fmt.Errorf("%w: no body", ErrInvalid)
	}
	if strings.ContainsAny(m.FromName, "\r\n") || len(m.FromName) > 200 {
		return m, fmt.Errorf("%w: sender name contains a line break or is too long", ErrInvalid)
	}
	total := 0
	for _, in := range m.Inline {
		total += len(in.Data)
		switch {
		case in.ContentType != "image/png" && in.ContentType != "image/jpeg":
			return m, fmt.Errorf("%w: inline image of type %q", ErrInvalid, in.ContentType)
		case in.ContentID == "" || strings.ContainsAny(in.ContentID, "\r\n<>\" ") || len(in.ContentID) > 100:
			return m, fmt.Errorf("%w: inline image content ID %q", ErrInvalid, in.ContentID)
		case len(in.Data) == 0 || total > maxInlineBytes:
			return m, fmt.Errorf("%w: inline images empty or too large", ErrInvalid)
		}
	}
	return m, nil
}

// ParseSender checks a mailer's configured sender ("noreply@example.com"
// or "Name <noreply@example.com>") and returns it in header form.
func ParseSender(from string) (string, error) { return parseAddress("sender", from) }
