package main

import (
	"net/http"
	"testing"

	"github.com/partnerloop/partnerloop/internal/apptest"
	"github.com/partnerloop/partnerloop/internal/mail"
)

type nopMailer struct{ mail.Mailer }

// TestLocalHandlerMountsMailboxOnlyEmbedded: the embedded mode serves the
// mailbox next to the API; with another mailer (SES in AWS-local mode)
// /_dev/mail is not a route, and the Lambda functions never mount it.
func TestLocalHandlerMountsMailboxOnlyEmbedded(t *testing.T) {
	e := apptest.New(t)
	h := localHandler(e.App)
	for _, path := range []string{"/_dev/mail", "/_dev/mail.json"} {
		if r := apptest.Do(t, h, "GET", path, "", nil, nil); r.Status != http.StatusOK {
			t.Errorf("GET %s = %d", path, r.Status)
		}
	}
	if r := apptest.Do(t, h, "GET", "/healthz", "", nil, nil); r.Status != http.StatusOK {
		t.Errorf("API behind the mailbox: %d", r.Status)
	}
	e.SetMailer(t, nopMailer{})
	if r := apptest.Do(t, localHandler(e.App), "GET", "/_dev/mail.json", "", nil, nil); r.Status != http.StatusNotFound {
		t.Errorf("GET /_dev/mail.json without a mailbox = %d, want 404", r.Status)
	}
	for _, group := range []string{"identity", "partners"} {
		if r := apptest.Do(t, e.App.API.Handler(group), "GET", "/_dev/mail", "", nil, nil); r.Status != http.StatusNotFound {
			t.Errorf("function %s serves /_dev/mail: %d", group, r.Status)
		}
	}
}
