package main

import (
	"fmt"
	"net"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/partnerloop/partnerloop/internal/apptest"
	"github.com/partnerloop/partnerloop/internal/emulators"
)

// TestInvitationSurvivesRestart runs the server binary as production would
// run it: mail over SMTP (maildev, a real SMTP server) from SMTP_*
// settings, so there is no development mailbox. An invitation is sent,
// the server restarts on the same data, and the link in the email already
// delivered still signs the partner in. The server listens on loopback
// only, as nothing configured another address.
func TestInvitationSurvivesRestart(t *testing.T) {
	nm, err := emulators.NodeModules()
	if err != nil {
		t.Fatal(err)
	}
	md, err := emulators.StartMaildev(nm, emulators.MaildevOptions{MailDir: t.TempDir()})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(md.Stop)
	bin, data := buildServer(t), t.TempDir()
	env := []string{"BOOTSTRAP_ADMIN_PASSWORD=restart-admin-password", "MAIL_FROM=PartnerLoop <noreply@partnerloop.test>",
		"SMTP_HOST=127.0.0.1", "SMTP_PORT=" + strconv.Itoa(md.SMTPPort), "SMTP_TLS=none"}

	first := start(t, bin, data, env...)
	listensOnLoopbackOnly(t, first)
	if strings.Contains(first.stderr.String(), "development mailbox") || strings.Contains(first.stderr.String(), "WARNING") {
		t.Errorf("with SMTP the server still speaks of the development mailbox:\n%s", first.stderr)
	}
	admin := first.login(t, "restart-admin-password")
	if status, _ := first.call(t, "GET", "/_dev/mail.json", admin, ""); status != 404 {
		t.Errorf("GET /_dev/mail.json with SMTP configured = %d, want 404", status)
	}
	status, tier := first.call(t, "POST", "/v1/partner-tiers", admin, `{"name":"Gold","commission":{"type":"flat","amount":500}}`)
	if status != 201 {
		t.Fatalf("tier: %d %v", status, tier)
	}
	status, partner := first.call(t, "POST", "/v1/partners", admin, fmt.Sprintf(`{"companyName":"Acme","contactName":"Dana","email":"dana@acme.example","tierId":%q}`, tier["id"]))
	if status != 201 {
		t.Fatalf("partner: %d %v", status, partner)
	}
	if status, m := first.call(t, "POST", "/v1/partners/"+partner["id"].(string)+"/invitation", admin, ""); status != 200 {
		t.Fatalf("invite: %d %v", status, m)
	}
	got, err := md.Emails()
	if err != nil || len(got) != 1 || len(got[0].To) != 1 || got[0].To[0].Address != "dana@acme.example" {
		t.Fatalf("maildev: %v %+v", err, got)
	}
	token, ok := apptest.InvitationToken(t, got[0].Text)
	if !ok {
		t.Fatalf("no invitation link in:\n%s", got[0].Text)
	}
	first.stop(t)

	second := start(t, bin, data, env...)
	status, accepted := second.call(t, "POST", "/v1/invitations/accept", "", fmt.Sprintf(`{"token":%q,"password":"violet-harbour-lantern-42"}`, token))
	if status != 200 || accepted["token"] == nil {
		t.Fatalf("accepting the emailed link after a restart: %d %v", status, accepted)
	}
	if status, _ := second.call(t, "GET", "/v1/portal/summary", accepted["token"].(string), ""); status != 200 {
		t.Errorf("the partner's session: %d", status)
	}
}

// listensOnLoopbackOnly checks the banner names a loopback address and that
// the port is closed on every other address of this machine.
func listensOnLoopbackOnly(t *testing.T, s *server) {
	t.Helper()
	port := s.base[strings.LastIndex(s.base, ":")+1:]
	if !strings.Contains(s.stderr.String(), "listening on 127.0.0.1:"+port) {
		t.Errorf("the banner does not say the server listens on 127.0.0.1:%s:\n%s", port, s.stderr)
	}
	addrs, err := net.InterfaceAddrs()
	if err != nil {
		t.Fatal(err)
	}
	for _, a := range addrs {
		ipn, ok := a.(*net.IPNet)
		if !ok || ipn.IP.IsLoopback() || ipn.IP.IsLinkLocalUnicast() {
			continue
		}
		if c, err := net.DialTimeout("tcp", net.JoinHostPort(ipn.IP.String(), port), time.Second); err == nil {
			c.Close()
			t.Errorf("the server answers on %s:%s", ipn.IP, port)
		}
	}
}
