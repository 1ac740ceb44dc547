package app_test

import (
	"strings"
	"testing"

	"github.com/partnerloop/partnerloop/internal/app"
)

func envOf(vars map[string]string) func(string) string {
	return func(k string) string { return vars[k] }
}

// TestServerListensOnLoopbackUnlessTold: a server started without HOST or
// ADDR is reachable from this machine only; an address exposes it only
// when configured, and contradictory settings stop it.
func TestServerListensOnLoopbackUnlessTold(t *testing.T) {
	for _, tc := range []struct {
		env      map[string]string
		addr     string
		port     int
		publicIn string
	}{
		{nil, "127.0.0.1:3000", 3000, "http://localhost:3000"},
		{map[string]string{"PORT": "4000"}, "127.0.0.1:4000", 4000, "http://localhost:4000"},
		{map[string]string{"HOST": "0.0.0.0"}, "0.0.0.0:3000", 3000, "http://localhost:3000"},
		{map[string]string{"HOST": "::1", "PORT": "4000"}, "[::1]:4000", 4000, "http://localhost:4000"},
		{map[string]string{"ADDR": "0.0.0.0:8080"}, "0.0.0.0:8080", 8080, "http://localhost:8080"},
		{map[string]string{"ADDR": "0.0.0.0:8080", "PORT": "8080"}, "0.0.0.0:8080", 8080, "http://localhost:8080"},
		{map[string]string{"ADDR": ":8080"}, ":8080", 8080, "http://localhost:8080"},
	} {
		c, err := app.ConfigFromEnv(envOf(tc.env))
		if err != nil {
			t.Errorf("%v: %v", tc.env, err)
			continue
		}
		if c.Addr != tc.addr || c.Port != tc.port || c.PublicBaseURL != tc.publicIn {
			t.Errorf("%v: Addr %q Port %d PublicBaseURL %q; want %q %d %q", tc.env, c.Addr, c.Port, c.PublicBaseURL, tc.addr, tc.port, tc.publicIn)
		}
	}
	for _, env := range []map[string]string{
		{"ADDR": "0.0.0.0"},
		{"ADDR": "0.0.0.0:http"},
		{"ADDR": "0.0.0.0:70000"},
		{"ADDR": "0.0.0.0:8080", "HOST": "127.0.0.1"},
		{"ADDR": "0.0.0.0:8080", "PORT": "3000"},
		{"HOST": "http://example.com"},
		{"PORT": "x"},
	} {
		if _, err := app.ConfigFromEnv(envOf(env)); err == nil {
			t.Errorf("%v accepted", env)
		}
	}
}

// TestSMTPSettingsFailClosed: a half-written or contradictory SMTP setup
// stops the server at start; it never falls back to the development
// mailbox or sends credentials in plain text.
func TestSMTPSettingsFailClosed(t *testing.T) {
	from := "PartnerLoop <noreply@example.com>"
	for _, tc := range []struct {
		env  map[string]string
		want string
	}{
		{map[string]string{"SMTP_PORT": "587"}, "SMTP_HOST is not"},
		{map[string]string{"SMTP_USERNAME": "u", "SMTP_PASSWORD": "p"}, "SMTP_HOST is not"},
		{map[string]string{"SMTP_HOST": "smtp.example.com"}, "set MAIL_FROM"},
		{map[string]string{"SMTP_HOST": "smtp.example.com", "MAIL_FROM": from, "SMTP_PORT": "0"}, "SMTP_PORT"},
		{map[string]string{"SMTP_HOST": "smtp.example.com", "MAIL_FROM": from, "SMTP_TLS": "ssl"}, "starttls, tls or none"},
		{map[string]string{"SMTP_HOST": "smtp.example.com", "MAIL_FROM": from, "SMTP_USERNAME": "u"}, "password"},
		{map[string]string{"SMTP_HOST": "smtp.example.com", "MAIL_FROM": from, "SMTP_TLS": "none", "SMTP_USERNAME": "u", "SMTP_PASSWORD": "p"}, "without TLS"},
		{map[string]string{"SMTP_HOST": "smtp.example.com", "MAIL_FROM": from, "STORE": "dynamodb", "TABLE_NAME": "t"}, "SES"},
	} {
		if _, err := app.ConfigFromEnv(envOf(tc.env)); err == nil || !strings.Contains(err.Error(), tc.want) {
			t.Errorf("%v: err = %v, want one mentioning %q", tc.env, err, tc.want)
		}
	}
	c, err := app.ConfigFromEnv(envOf(map[string]string{"SMTP_HOST": "smtp.example.com", "MAIL_FROM": from,
		"SMTP_USERNAME": "u", "SMTP_PASSWORD": " secret with spaces "}))
	if err != nil {
		t.Fatal(err)
	}
	if c.SMTP.Host != "smtp.example.com" || c.SMTP.Password != " secret with spaces " || c.SMTP.TLS != "" {
		t.Errorf("SMTP config %+v", c.SMTP)
	}
}
