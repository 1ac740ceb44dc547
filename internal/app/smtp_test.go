package app_test

import (
	"context"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/pem"
	"math/big"
	"net"
	"net/http"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/partnerloop/partnerloop/internal/app"
	"github.com/partnerloop/partnerloop/internal/apptest"
	"github.com/partnerloop/partnerloop/internal/emulators"
	"github.com/partnerloop/partnerloop/internal/mail"
)

// TestInvitationThroughSMTP wires the embedded server's mailer from SMTP_*
// settings against maildev, a real SMTP server (pinned in
// infra/local/package.json), invites a partner through the API, reads the
// email back from maildev's REST API and accepts the invitation with its
// link. It also shows the mailer failing closed: STARTTLS required of a
// server that offers none, a certificate nobody vouches for and a wrong
// password each deliver nothing and answer 503. A missing maildev fails the
// test; it is never skipped.
func TestInvitationThroughSMTP(t *testing.T) {
	nm, err := emulators.NodeModules()
	if err != nil {
		t.Fatal(err)
	}

	t.Run("plain relay", func(t *testing.T) {
		t.Parallel()
		md := startMaildev(t, nm, emulators.MaildevOptions{})
		env := map[string]string{"SMTP_HOST": "127.0.0.1", "SMTP_PORT": strconv.Itoa(md.SMTPPort), "SMTP_TLS": "none"}
		e := inviteAndAccept(t, md, env)

		// The default mode requires STARTTLS, which this server lacks:
		// nothing goes out in plain text.
		delete(env, "SMTP_TLS")
		refused(t, e, smtpMailer(t, env), "STARTTLS required", "does not support STARTTLS")
		if n := len(emails(t, md)); n != 1 {
			t.Fatalf("maildev has %d emails, want still 1", n)
		}
	})

	t.Run("TLS with authentication", func(t *testing.T) {
		t.Parallel()
		dir := t.TempDir()
		caFile, certFile, keyFile := selfSignedCert(t, dir)
		md := startMaildev(t, nm, emulators.MaildevOptions{User: "relay-user", Pass: "relay-secret", CertFile: certFile, KeyFile: keyFile})
		env := map[string]string{"SMTP_HOST": "127.0.0.1", "SMTP_PORT": strconv.Itoa(md.SMTPPort), "SMTP_TLS": "tls",
			"SMTP_USERNAME": "relay-user", "SMTP_PASSWORD": "relay-secret", "SMTP_CA_FILE": caFile}
		e := inviteAndAccept(t, md, env)

		for name, tc := range map[string]struct {
			change func(map[string]string)
			why    string // what the relay or the mailer said
		}{
			"wrong password": {func(env map[string]string) { env["SMTP_PASSWORD"] = "guessed" }, "535"},
			"untrusted cert": {func(env map[string]string) { delete(env, "SMTP_CA_FILE") }, "certificate signed by unknown authority"},
			"no credentials": {func(env map[string]string) { delete(env, "SMTP_USERNAME"); delete(env, "SMTP_PASSWORD") }, "530"},
		} {
			bad := map[string]string{}
			for k, v := range env {
				bad[k] = v
			}
			tc.change(bad)
			refused(t, e, smtpMailer(t, bad), name, tc.why)
		}
		if n := len(emails(t, md)); n != 1 {
			t.Fatalf("maildev has %d emails, want still 1", n)
		}
	})
}

// inviteAndAccept invites a partner through an app whose mailer is
// configured by env, checks maildev received exactly that email and
// accepts the invitation with its link.
func inviteAndAccept(t *testing.T, md *emulators.Maildev, env map[string]string) *apptest.Env {
	t.Helper()
	e := apptest.New(t)
	e.SetMailer(t, smtpMailer(t, env))
	if r := e.InvitePartner(t, "dana@acme.example"); r.Status != http.StatusOK {
		t.Fatalf("invite: %d %s", r.Status, r.Body)
	}
	got := onlyEmail(t, md, "dana@acme.example")
	acceptDelivered(t, e, got.Text, got.HTML)
	return e
}

// refused checks that m delivers nothing, for the reason why, and that an
// invitation sent through it answers 503 (it can be sent again).
func refused(t *testing.T, e *apptest.Env, m mail.Mailer, name, why string) {
	t.Helper()
	if err := m.Send(context.Background(), mail.Message{To: "erin@acme.example", Subject: "s", Text: "t"}); err == nil || !strings.Contains(err.Error(), why) {
		t.Errorf("%s: send err = %v, want one saying %q", name, err, why)
	}
	e.SetMailer(t, m)
	if r := e.InvitePartner(t, "erin."+strings.ReplaceAll(name, " ", "-")+"@acme.example"); r.Status != http.StatusServiceUnavailable {
		t.Errorf("%s: invite answered %d %s, want 503", name, r.Status, r.Body)
	}
}

// smtpMailer is the mailer the embedded server opens with env (plus a
// MAIL_FROM): configuration and wiring exactly as at start-up.
func smtpMailer(t *testing.T, env map[string]string) mail.Mailer {
	t.Helper()
	getenv := func(k string) string {
		if k == "MAIL_FROM" {
			return "PartnerLoop <noreply@partnerloop.test>"
		}
		return env[k]
	}
	cfg, err := app.ConfigFromEnv(getenv)
	if err != nil {
		t.Fatal(err)
	}
	m, err := app.OpenMailer(context.Background(), cfg, time.Now, getenv, nil, nil)
	if err != nil {
		t.Fatal(err)
	}
	if _, ok := m.(*mail.SMTP); !ok {
		t.Fatalf("with SMTP_HOST the mailer is %T, want *mail.SMTP", m)
	}
	return m
}

func startMaildev(t *testing.T, nodeModules string, o emulators.MaildevOptions) *emulators.Maildev {
	t.Helper()
	o.MailDir = t.TempDir()
	md, err := emulators.StartMaildev(nodeModules, o)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(md.Stop)
	return md
}

func emails(t *testing.T, md *emulators.Maildev) []emulators.MaildevEmail {
	t.Helper()
	got, err := md.Emails()
	if err != nil {
		t.Fatal(err)
	}
	return got
}

// onlyEmail returns maildev's one email, checking it went from the
// configured sender to to, as a message with both bodies.
func onlyEmail(t *testing.T, md *emulators.Maildev, to string) emulators.MaildevEmail {
	t.Helper()
	got := emails(t, md)
	if len(got) != 1 {
		t.Fatalf("maildev has %d emails, want 1", len(got))
	}
	m := got[0]
	if len(m.To) != 1 || m.To[0].Address != to || len(m.From) != 1 || m.From[0].Address != "noreply@partnerloop.test" {
		t.Fatalf("email from %v to %v", m.From, m.To)
	}
	if !strings.Contains(m.Subject, "invit") && !strings.Contains(m.Subject, "Invit") {
		t.Errorf("subject %q", m.Subject)
	}
	return m
}

// selfSignedCert writes a certificate for 127.0.0.1 that is its own
// authority: the CA file the mailer trusts (SMTP_CA_FILE) and the server's
// certificate are the same PEM.
func selfSignedCert(t *testing.T, dir string) (caFile, certFile, keyFile string) {
	t.Helper()
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	tmpl := &x509.Certificate{
		SerialNumber:          big.NewInt(1),
		Subject:               pkix.Name{CommonName: "maildev test"},
		NotBefore:             time.Now().Add(-time.Hour),
		NotAfter:              time.Now().Add(24 * time.Hour),
		IPAddresses:           []net.IP{net.ParseIP("127.0.0.1")},
		KeyUsage:              x509.KeyUsageDigitalSignature | x509.KeyUsageCertSign,
		ExtKeyUsage:           []x509.ExtKeyUsage{x509.ExtKeyUsageServerAuth},
		BasicConstraintsValid: true,
		IsCA:                  true,
	}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, tmpl, &key.PublicKey, key)
	if err != nil {
		t.Fatal(err)
	}
	pkcs8, err := x509.MarshalPKCS8PrivateKey(key)
	if err != nil {
		t.Fatal(err)
	}
	certFile, keyFile = filepath.Join(dir, "cert.pem"), filepath.Join(dir, "key.pem")
	write := func(path, blockType string, b []byte) {
		if err := os.WriteFile(path, pem.EncodeToMemory(&pem.Block{Type: blockType, Bytes: b}), 0o600); err != nil {
			t.Fatal(err)
		}
	}
	write(certFile, "CERTIFICATE", der)
	write(keyFile, "PRIVATE KEY", pkcs8)
	return certFile, certFile, keyFile
}
