package mail

import (
	"bytes"
	"context"
	"crypto/tls"
	"crypto/x509"
	"fmt"
	"os"
	"strings"
	"time"

	gomail "github.com/wneessen/go-mail"
)

// SMTPTLS is how an SMTP connection is protected.
type SMTPTLS string

const (
	// SMTPStartTLS connects in plain text and requires the server to
	// upgrade with STARTTLS before anything else is sent (port 587). A
	// server that does not offer STARTTLS gets nothing.
	SMTPStartTLS SMTPTLS = "starttls"
	// SMTPImplicitTLS speaks TLS from the first byte (port 465).
	SMTPImplicitTLS SMTPTLS = "tls"
	// SMTPNoTLS sends in plain text: only for a relay on a trusted network,
	// and never with credentials.
	SMTPNoTLS SMTPTLS = "none"
)

// defaultPort is the usual port of each mode.
func (t SMTPTLS) defaultPort() int {
	switch t {
	case SMTPImplicitTLS:
		return 465
	case SMTPNoTLS:
		return 25
	}
	return 587
}

// SMTPConfig says how to reach an SMTP server (a relay or submission
// service). The zero TLS mode is SMTPStartTLS; the zero port is the mode's
// usual one.
type SMTPConfig struct {
	Host     string
	Port     int
	Username string
	Password string
	TLS      SMTPTLS
	// CAFile is a PEM file of certificate authorities to trust instead of
	// the system's (a private relay's own CA); empty means the system's.
	CAFile string
	// Timeout bounds connecting and each command; zero means 15 seconds.
	Timeout time.Duration
}

// SMTP delivers through an SMTP server with github.com/wneessen/go-mail.
// Each Send opens its own connection, so it is safe for concurrent use.
type SMTP struct {
	client *gomail.Client
	from   string
}

// NewSMTP checks c and returns a Mailer sending from the given sender. It
// refuses settings that cannot be meant: no host, a port out of range, an
// unknown TLS mode, a user name without a password or the reverse,
// credentials or a CA file on a connection without TLS, or a CA file that
// holds no certificate. Nothing is sent in plain text that could be
// protected: STARTTLS is required, not attempted.
func NewSMTP(c SMTPConfig, from string) (*SMTP, error) {
	f, err := parseAddress("sender", from)
	if err != nil {
		return nil, err
	}
	if c.TLS == "" {
		c.TLS = SMTPStartTLS
	}
	if c.Port == 0 {
		c.Port = c.TLS.defaultPort()
	}
	switch {
	case strings.TrimSpace(c.Host) == "" || strings.ContainsAny(c.Host, " /:\r\n"):
		return nil, fmt.Errorf("smtp: host %q must be a host name or IP address", c.Host)
	case c.Port < 1 || c.Port > 65535:
		return nil, fmt.Errorf("smtp: port %d is not a port number", c.Port)
	case c.TLS != SMTPStartTLS && c.TLS != SMTPImplicitTLS && c.TLS != SMTPNoTLS:
		return nil, fmt.Errorf("smtp: TLS mode %q: use starttls, tls or none", c.TLS)
	case (c.Username == "") != (c.Password == ""):
		return nil, fmt.Errorf("smtp: a user name needs a password and a password a user name")
	case c.TLS == SMTPNoTLS && c.Username != "":
		return nil, fmt.Errorf("smtp: credentials are never sent without TLS; use starttls or tls")
	case c.TLS == SMTPNoTLS && c.CAFile != "":
		return nil, fmt.Errorf("smtp: a CA file is for TLS, but the TLS mode is none")
	}
	if c.Timeout <= 0 {
		c.Timeout = 15 * time.Second
	}
	tlsConfig := &tls.Config{ServerName: c.Host, MinVersion: tls.VersionTLS12}
	if c.CAFile != "" {
		pem, err := os.ReadFile(c.CAFile)
		if err != nil {
			return nil, fmt.Errorf("smtp: CA file: %w", err)
		}
		tlsConfig.RootCAs = x509.NewCertPool()
		if !tlsConfig.RootCAs.AppendCertsFromPEM(pem) {
			return nil, fmt.Errorf("smtp: CA file %s holds no PEM certificate", c.CAFile)
		}
	}
	opts := []gomail.Option{gomail.WithPort(c.Port), gomail.WithTimeout(c.Timeout), gomail.WithTLSConfig(tlsConfig)}
	switch c.TLS {
	case SMTPImplicitTLS:
		opts = append(opts, gomail.WithSSL())
	case SMTPStartTLS:
		opts = append(opts, gomail.WithTLSPolicy(gomail.TLSMandatory))
	case SMTPNoTLS:
		opts = append(opts, gomail.WithTLSPolicy(gomail.NoTLS))
	}
	if c.Username != "" {
		// Auto-discovery picks the strongest mechanism the server offers;
		// the connection is always encrypted by now (see above).
		opts = append(opts, gomail.WithSMTPAuth(gomail.SMTPAuthAutoDiscover),
			gomail.WithUsername(c.Username), gomail.WithPassword(c.Password))
	}
	client, err := gomail.NewClient(c.Host, opts...)
	if err != nil {
		return nil, fmt.Errorf("smtp: %w", err)
	}
	return &SMTP{client: client, from: f}, nil
}

// Send delivers m as a multipart/alternative message (plain text and
// HTML), validated like every other Mailer's.
func (s *SMTP) Send(ctx context.Context, m Message) error {
	msg, err := s.message(m)
	if err != nil {
		return err
	}
	if err := s.client.DialAndSendWithContext(ctx, msg); err != nil {
		return fmt.Errorf("mail: smtp send: %w", err)
	}
	return nil
}

// message is m as the MIME message Send delivers: its bodies as
// multipart/alternative, and its inline images, if any, with it as
// multipart/related.
func (s *SMTP) message(m Message) (*gomail.Msg, error) {
	m, err := m.Validate()
	if err != nil {
		return nil, err
	}
	msg := gomail.NewMsg()
	if err := msg.From(m.Sender(s.from)); err != nil {
		return nil, fmt.Errorf("%w: sender: %v", ErrInvalid, err)
	}
	if err := msg.To(m.To); err != nil {
		return nil, fmt.Errorf("%w: recipient: %v", ErrInvalid, err)
	}
	msg.Subject(m.Subject)
	switch {
	case m.Text != "" && m.HTML != "":
		msg.SetBodyString(gomail.TypeTextPlain, m.Text)
		msg.AddAlternativeString(gomail.TypeTextHTML, m.HTML)
	case m.Text != "":
		msg.SetBodyString(gomail.TypeTextPlain, m.Text)
	default:
		msg.SetBodyString(gomail.TypeTextHTML, m.HTML)
	}
	for _, in := range m.Inline {
		if err := msg.EmbedReader(in.FileName(), bytes.NewReader(in.Data), gomail.WithFileContentID("<"+in.ContentID+">"), // RFC 2392: in angle brackets
			gomail.WithFileContentType(gomail.ContentType(in.ContentType))); err != nil {
			return nil, fmt.Errorf("%w: inline image: %v", ErrInvalid, err)
		}
	}
	return msg, nil
}
