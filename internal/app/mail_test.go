package app_test

import (
	"context"
	"encoding/json"
	"net/http"
	"os"
	"strings"
	"testing"
	"time"

	"github.com/partnerloop/partnerloop/internal/app"
	"github.com/partnerloop/partnerloop/internal/apptest"
	"github.com/partnerloop/partnerloop/internal/emulators"
	"github.com/partnerloop/partnerloop/internal/mail"
	"github.com/partnerloop/partnerloop/internal/mail/sesmail"
)

// TestInvitationThroughSESEmulator wires the mailer the way the DynamoDB
// (AWS and AWS-local) mode does, against aws-ses-v2-local, invites a
// partner, reads the email back from the emulator's GET /store, and
// accepts the invitation with the link it carries. A missing emulator
// fails the test; it is never skipped.
func TestInvitationThroughSESEmulator(t *testing.T) {
	nm, err := emulators.NodeModules()
	if err != nil {
		t.Fatal(err)
	}
	proc, err := emulators.StartSES(nm, nil)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(proc.Stop)
	env := map[string]string{
		"STORE": "dynamodb", "TABLE_NAME": "unused", "MAIL_FROM": "PartnerLoop <noreply@partnerloop.test>",
		"AWS_ENDPOINT_URL_SESV2": proc.Endpoint, "AWS_ACCESS_KEY_ID": "local", "AWS_SECRET_ACCESS_KEY": "local", "AWS_REGION": "us-east-1",
	}
	for k, v := range env {
		t.Setenv(k, v) // the SDK reads service endpoints from the process environment
	}
	cfg, err := app.ConfigFromEnv(os.Getenv)
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	m, err := app.OpenMailer(ctx, cfg, time.Now, os.Getenv, os.Environ(), sesmail.NewMailer)
	if err != nil {
		t.Fatal(err)
	}
	if _, ok := m.(*sesmail.SES); !ok {
		t.Fatalf("STORE=dynamodb mailer is %T, want *sesmail.SES", m)
	}

	e := apptest.New(t)
	e.SetMailer(t, m)
	if r := e.InvitePartner(t, "dana@acme.example"); r.Status != http.StatusOK {
		t.Fatalf("invite: %d %s", r.Status, r.Body)
	}

	resp, err := http.Get(proc.Endpoint + "/store")
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	var stored struct {
		Emails []struct {
			From        string `json:"from"`
			Destination struct {
				To []string `json:"to"`
			} `json:"destination"`
			Body struct {
				Text string `json:"text"`
				HTML string `json:"html"`
			} `json:"body"`
		} `json:"emails"`
	}
	if err := json.NewDecoder(resp.Body).Decode(&stored); err != nil {
		t.Fatal(err)
	}
	if len(stored.Emails) != 1 {
		t.Fatalf("emulator has %d emails, want 1", len(stored.Emails))
	}
	got := stored.Emails[0]
	if len(got.Destination.To) != 1 || got.Destination.To[0] != "dana@acme.example" || !strings.Contains(got.From, "noreply@partnerloop.test") {
		t.Fatalf("email from %q to %v", got.From, got.Destination.To)
	}
	acceptDelivered(t, e, got.Body.Text, got.Body.HTML)
}

// acceptDelivered checks that both bodies of a delivered invitation carry
// the accept link, and that the link signs the partner in.
func acceptDelivered(t *testing.T, e *apptest.Env, text, html string) {
	t.Helper()
	const prefix = "https://refer.example.com/accept-invitation?token="
	token, ok := apptest.InvitationToken(t, text)
	if !ok || !strings.Contains(text, prefix) || !strings.Contains(html, prefix) {
		t.Fatalf("no accept link in the bodies:\n%s\n%s", text, html)
	}
	r := e.Do(t, "POST", "/v1/invitations/accept", "", map[string]string{"token": token, "password": "violet-harbour-lantern-42"})
	if r.Status != http.StatusOK {
		t.Fatalf("accept: %d %s", r.Status, r.Body)
	}
}

// TestOpenMailerFailsClosed: an SES endpoint override without local
// credentials refuses to start.
func TestOpenMailerFailsClosed(t *testing.T) {
	t.Setenv("AWS_ENDPOINT_URL_SESV2", "http://127.0.0.1:1")
	t.Setenv("AWS_ACCESS_KEY_ID", "")
	t.Setenv("AWS_SECRET_ACCESS_KEY", "")
	cfg := app.Config{Store: "dynamodb", TableName: "t", MailFrom: app.DefaultMailFrom}
	if _, err := app.OpenMailer(context.Background(), cfg, time.Now, os.Getenv, os.Environ(), sesmail.NewMailer); err == nil {
		t.Fatal("OpenMailer accepted an endpoint override without local credentials")
	}
	cfg.Store = "sqlite"
	m, err := app.OpenMailer(context.Background(), cfg, time.Now, os.Getenv, os.Environ(), sesmail.NewMailer)
	if _, ok := m.(*mail.Mailbox); err != nil || !ok {
		t.Fatalf("embedded mode mailer = %T, %v; want the mailbox", m, err)
	}
}
