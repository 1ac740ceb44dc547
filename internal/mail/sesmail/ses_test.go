package sesmail

import (
	"context"
	"encoding/json"
	"errors"
	"io"
	"net/http"
	"net/http/httptest"
	"os"
	"strings"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/credentials"

	"github.com/partnerloop/partnerloop/internal/emulators"
	"github.com/partnerloop/partnerloop/internal/mail"
)

// sent decodes the SendEmail requests s makes instead of posting them.
func sent(s *SES) *sendEmailInput {
	in := &sendEmailInput{}
	s.post = func(_ context.Context, body []byte) error { *in = sendEmailInput{}; return json.Unmarshal(body, in) }
	return in
}

func TestSESRequest(t *testing.T) {
	s := &SES{from: "noreply@partnerloop.test"}
	in := sent(s)
	if err := s.Send(context.Background(), mail.Message{To: "a@example.com", Subject: "Hi", Text: "t", HTML: "<p>h</p>"}); err != nil {
		t.Fatal(err)
	}
	if in.FromEmailAddress != "noreply@partnerloop.test" || len(in.Destination.ToAddresses) != 1 || in.Destination.ToAddresses[0] != "a@example.com" {
		t.Fatalf("addresses: %+v", in)
	}
	simple := in.Content.Simple
	for name, c := range map[string]string{"subject": simple.Subject.Charset, "text": simple.Body.Text.Charset, "html": simple.Body.Html.Charset} {
		if c != "UTF-8" {
			t.Errorf("%s charset %q", name, c)
		}
	}
	if simple.Body.Text.Data != "t" || simple.Body.Html.Data != "<p>h</p>" || simple.Subject.Data != "Hi" {
		t.Errorf("content: %+v", simple)
	}
	logo := mail.Inline{ContentID: mail.LogoContentID, Image: mail.Image{ContentType: "image/png", Data: []byte("\x89PNG\r\n\x1a\n")}}
	if err := s.Send(context.Background(), mail.Message{To: "a@example.com", Subject: "Hi", HTML: "<img src=\"cid:x\">", Inline: []mail.Inline{logo}}); err != nil {
		t.Fatal(err)
	}
	if a := in.Content.Simple.Attachments; len(a) != 1 || a[0].ContentId != mail.LogoContentID ||
		a[0].ContentDisposition != "INLINE" || a[0].ContentType != "image/png" || string(a[0].RawContent) != string(logo.Data) {
		t.Errorf("inline logo as SES attachments: %+v", a)
	}
	if in.Content.Simple.Body.Text != nil {
		t.Errorf("a message without text has a text body: %+v", in.Content.Simple.Body.Text)
	}
	if err := s.Send(context.Background(), mail.Message{To: "bad", Subject: "Hi", Text: "t"}); !errors.Is(err, mail.ErrInvalid) {
		t.Errorf("bad recipient: %v", err)
	}
}

// TestSESRequestIsSignedAndRetried posts to a test server: the request
// carries a SigV4 signature for the ses service, a throttled or failed
// request is tried again, a refused one is not.
func TestSESRequestIsSignedAndRetried(t *testing.T) {
	var calls []int
	codes := []int{http.StatusTooManyRequests, http.StatusInternalServerError, http.StatusOK}
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		auth := r.Header.Get("Authorization")
		if r.Method != http.MethodPost || r.URL.Path != "/v2/email/outbound-emails" || r.Header.Get("Content-Type") != "application/json" ||
			!strings.HasPrefix(auth, "AWS4-HMAC-SHA256 Credential=AKID/") || !strings.Contains(auth, "/eu-west-1/ses/aws4_request") {
			t.Errorf("request: %s %s %q %q", r.Method, r.URL.Path, r.Header.Get("Content-Type"), auth)
		}
		code := codes[len(calls)%len(codes)]
		calls = append(calls, code)
		w.WriteHeader(code)
		_, _ = io.WriteString(w, `{"message":"x"}`)
	}))
	defer srv.Close()
	cfg := aws.Config{Region: "eu-west-1", Credentials: credentials.NewStaticCredentialsProvider("AKID", "secret", ""), BaseEndpoint: aws.String(srv.URL + "/")}
	s, err := NewSES(cfg, "noreply@partnerloop.test")
	if err != nil {
		t.Fatal(err)
	}
	if err := s.Send(context.Background(), mail.Message{To: "a@example.com", Subject: "Hi", Text: "t"}); err != nil || len(calls) != 3 {
		t.Fatalf("send after a throttle and a failure: %v, %d calls", err, len(calls))
	}
	codes, calls = []int{http.StatusBadRequest}, nil
	if err := s.Send(context.Background(), mail.Message{To: "a@example.com", Subject: "Hi", Text: "t"}); err == nil || len(calls) != 1 ||
		!strings.Contains(err.Error(), "400 Bad Request") {
		t.Errorf("refused request: %v, %d calls", err, len(calls))
	}
}

func TestNewSESValidatesSender(t *testing.T) {
	for _, from := range []string{"", "noreply", "a@example.com, b@example.com", "a@example.com\r\nBcc: x@example.com"} {
		if _, err := NewSES(aws.Config{}, from); !errors.Is(err, mail.ErrInvalid) {
			t.Errorf("NewSES(%q): %v", from, err)
		}
	}
	s, err := NewSES(aws.Config{Region: "us-east-1"}, "Partnerloop <noreply@partnerloop.test>")
	if err != nil || s.From() != `"Partnerloop" <noreply@partnerloop.test>` {
		t.Fatalf("NewSES: %v %q", err, s.From())
	}
}

// TestSESAgainstEmulator sends a rendered invitation through the SES v2
// API of aws-ses-v2-local and reads it back from GET /store. A missing
// emulator fails the test; it is never skipped.
func TestSESAgainstEmulator(t *testing.T) {
	nm, err := emulators.NodeModules()
	if err != nil {
		t.Fatal(err)
	}
	proc, err := emulators.StartSES(nm, testLog(t))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(proc.Stop)

	cfg := aws.Config{
		Region:       "us-east-1",
		Credentials:  credentials.NewStaticCredentialsProvider("local", "local", ""),
		BaseEndpoint: aws.String(proc.Endpoint),
	}
	s, err := NewSES(cfg, "Partnerloop <noreply@partnerloop.test>")
	if err != nil {
		t.Fatal(err)
	}
	d := mail.InvitationData{OrganizationName: "Acme Corp", RecipientName: "Dana Partner", InviterName: "Sam Admin",
		AcceptURL: "https://app.partnerloop.test/invitations/accept?token=abc&org=acme", ExpiresAt: time.Date(2026, 3, 8, 9, 30, 0, 0, time.UTC),
		// The organization's logo goes as an inline attachment: the SES v2
		// API takes it.
		Logo: &mail.Image{ContentType: "image/png", Data: []byte("\x89PNG\r\n\x1a\n\x00\x00\x00\rIHDR")}}
	m, err := mail.RenderInvitation("dana@example.com", d)
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	if err := s.Send(ctx, m); err != nil {
		t.Fatal(err)
	}

	resp, err := http.Get(proc.Endpoint + "/store")
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	var store struct {
		Emails []struct {
			MessageID   string `json:"messageId"`
			From        string `json:"from"`
			Destination struct {
				To []string `json:"to"`
			} `json:"destination"`
			Subject string `json:"subject"`
			Body    struct {
				Text string `json:"text"`
				HTML string `json:"html"`
			} `json:"body"`
			Attachments []struct {
				ContentType        string `json:"contentType"`
				ContentDisposition string `json:"contentDisposition"`
				ContentID          string `json:"contentId"`
			} `json:"attachments"`
			At int64 `json:"at"`
		} `json:"emails"`
	}
	raw, err := io.ReadAll(resp.Body)
	if err != nil || resp.StatusCode != 200 {
		t.Fatalf("/store: %d %v", resp.StatusCode, err)
	}
	t.Logf("GET /store: %s", raw)
	if err := json.Unmarshal(raw, &store); err != nil {
		t.Fatalf("/store: %v", err)
	}
	if len(store.Emails) != 1 {
		t.Fatalf("/store has %d emails, want 1", len(store.Emails))
	}
	got := store.Emails[0]
	if len(got.Destination.To) != 1 || got.Destination.To[0] != "dana@example.com" {
		t.Errorf("to = %v", got.Destination.To)
	}
	if got.From != `"Partnerloop" <noreply@partnerloop.test>` {
		t.Errorf("from = %q", got.From)
	}
	if got.Subject != m.Subject || got.Body.Text != m.Text || got.Body.HTML != m.HTML {
		t.Errorf("content differs:\nsubject %q\ntext %q\nhtml %q", got.Subject, got.Body.Text, got.Body.HTML)
	}
	if a := got.Attachments; len(a) != 1 || a[0].ContentID != mail.LogoContentID || a[0].ContentDisposition != "INLINE" || a[0].ContentType != "image/png" {
		t.Errorf("the logo as an inline attachment: %+v", a)
	}
	if got.MessageID == "" || got.At == 0 {
		t.Errorf("messageId %q at %d", got.MessageID, got.At)
	}
}

// testLog shows the emulator's output only with -v.
func testLog(t *testing.T) *os.File {
	if testing.Verbose() {
		return os.Stderr
	}
	return nil
}

func TestSESEndpoint(t *testing.T) {
	if got := endpoint(aws.Config{Region: "eu-west-1"}); got != "https://email.eu-west-1.amazonaws.com" {
		t.Errorf("on AWS: %s", got)
	}
	if got := endpoint(aws.Config{Region: "eu-west-1", BaseEndpoint: aws.String("http://127.0.0.1:1")}); got != "http://127.0.0.1:1" {
		t.Errorf("base endpoint: %s", got)
	}
}
