package mail

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// TestNewSMTPRefusesWhatCannotBeMeant: settings that would send credentials
// in plain text, or that contradict each other, stop the server at start
// instead of failing (or leaking) at the first invitation.
func TestNewSMTPRefusesWhatCannotBeMeant(t *testing.T) {
	notPEM := filepath.Join(t.TempDir(), "ca.pem")
	if err := os.WriteFile(notPEM, []byte("not a certificate"), 0o600); err != nil {
		t.Fatal(err)
	}
	const from = "PartnerLoop <noreply@partnerloop.test>"
	for name, tc := range map[string]struct {
		c    SMTPConfig
		want string
	}{
		"no host":                  {SMTPConfig{}, "host"},
		"host with port":           {SMTPConfig{Host: "smtp.example.com:587"}, "host"},
		"port out of range":        {SMTPConfig{Host: "smtp.example.com", Port: 70000}, "port"},
		"unknown TLS mode":         {SMTPConfig{Host: "smtp.example.com", TLS: "ssl3"}, "TLS mode"},
		"user without password":    {SMTPConfig{Host: "smtp.example.com", Username: "u"}, "password"},
		"password without user":    {SMTPConfig{Host: "smtp.example.com", Password: "p"}, "user name"},
		"credentials in plaintext": {SMTPConfig{Host: "smtp.example.com", TLS: SMTPNoTLS, Username: "u", Password: "p"}, "never sent without TLS"},
		"CA file without TLS":      {SMTPConfig{Host: "smtp.example.com", TLS: SMTPNoTLS, CAFile: notPEM}, "CA file"},
		"missing CA file":          {SMTPConfig{Host: "smtp.example.com", CAFile: filepath.Join(t.TempDir(), "nope.pem")}, "CA file"},
		"CA file without a cert":   {SMTPConfig{Host: "smtp.example.com", CAFile: notPEM}, "no PEM certificate"},
	} {
		if _, err := NewSMTP(tc.c, from); err == nil || !strings.Contains(err.Error(), tc.want) {
			t.Errorf("%s: err = %v, want one mentioning %q", name, err, tc.want)
		}
	}
	if _, err := NewSMTP(SMTPConfig{Host: "smtp.example.com"}, "not an address"); err == nil {
		t.Error("a malformed sender was accepted")
	}
	for _, ok := range []SMTPConfig{
		{Host: "smtp.example.com"},
		{Host: "smtp.example.com", TLS: SMTPImplicitTLS, Username: "u", Password: "p"},
		{Host: "127.0.0.1", Port: 2525, TLS: SMTPNoTLS},
	} {
		if _, err := NewSMTP(ok, from); err != nil {
			t.Errorf("%+v refused: %v", ok, err)
		}
	}
}

// TestSMTPMessageCarriesTheLogoInline: with an inline image the message
// is multipart/related, the image a part with the content ID the HTML
// names; without one there is no such part.
func TestSMTPMessageCarriesTheLogoInline(t *testing.T) {
	s, err := NewSMTP(SMTPConfig{Host: "smtp.example.com"}, "PartnerLoop <noreply@partnerloop.test>")
	if err != nil {
		t.Fatal(err)
	}
	m := Message{To: "dana@example.com", Subject: "Hi", Text: "t", HTML: `<img src="cid:` + LogoContentID + `">`,
		Inline: []Inline{{ContentID: LogoContentID, Image: Image{ContentType: "image/png", Data: []byte("\x89PNG\r\n\x1a\nrest")}}}}
	for _, withLogo := range []bool{true, false} {
		if !withLogo {
			m.Inline = nil
		}
		msg, err := s.message(m)
		if err != nil {
			t.Fatal(err)
		}
		var b strings.Builder
		if _, err := msg.WriteTo(&b); err != nil {
			t.Fatal(err)
		}
		raw := b.String()
		has := strings.Contains(raw, "multipart/related") && strings.Contains(raw, "Content-Id: <"+LogoContentID+">") &&
			strings.Contains(raw, "Content-Type: image/png")
		if has != withLogo {
			t.Errorf("with the logo %v: inline part found %v\n%s", withLogo, has, raw)
		}
	}
}
