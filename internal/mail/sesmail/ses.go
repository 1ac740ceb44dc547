// Package sesmail is the Amazon SES (API v2) mail.Mailer, in its own
// package so that only the Lambda functions that send mail link it.
//
// It calls the one operation it needs, SendEmail, as a SigV4-signed HTTPS
// request (POST /v2/email/outbound-emails with the API's JSON), not
// through the SDK's sesv2 client: that client and its generated schemas
// were 0.4 MB of each mail-sending function and 0.9 ms of its package
// initialisation (docs/performance.md, "Lambda footprint"). The signer is
// the SDK's (the DynamoDB client links it anyway).
package sesmail

import (
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"strings"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	v4 "github.com/aws/aws-sdk-go-v2/aws/signer/v4"

	"github.com/partnerloop/partnerloop/internal/mail"
)

// SES sends through Amazon SES (API v2), or through aws-ses-v2-local when
// cfg points at it (see awsenv.Load).
type SES struct {
	from string
	// post sends a SendEmail request body; a test replaces it.
	post func(ctx context.Context, body []byte) error
}

// NewSES returns an SES Mailer sending from the given sender
// ("noreply@example.com" or "Partnerloop <noreply@example.com>"), which
// must be an address or domain verified in SES.
func NewSES(cfg aws.Config, from string) (*SES, error) {
	f, err := mail.ParseSender(from)
	if err != nil {
		return nil, err
	}
	c := client{cfg: cfg, url: strings.TrimSuffix(endpoint(cfg), "/") + "/v2/email/outbound-emails", signer: v4.NewSigner()}
	return &SES{from: f, post: c.post}, nil
}

// endpoint is where SES is reached, as the SDK's client would choose it:
// the service's own override (AWS_ENDPOINT_URL_SESV2, which awsenv puts in
// cfg's configuration sources), else cfg's base endpoint, else the
// region's public endpoint.
func endpoint(cfg aws.Config) string {
	for _, src := range cfg.ConfigSources {
		if p, ok := src.(interface {
			GetServiceBaseEndpoint(context.Context, string) (string, bool, error)
		}); ok {
			if v, found, err := p.GetServiceBaseEndpoint(context.Background(), "SESv2"); err == nil && found && v != "" {
				return v
			}
		}
	}
	if cfg.BaseEndpoint != nil {
		return *cfg.BaseEndpoint
	}
	return "https://email." + cfg.Region + ".amazonaws.com"
}

// From is the configured sender.
func (s *SES) From() string { return s.from }

// The SendEmail request, as the SES v2 API's JSON names it.
type (
	sendEmailInput struct {
		FromEmailAddress string
		Destination      destination
		Content          emailContent
	}
	destination  struct{ ToAddresses []string }
	emailContent struct{ Simple message }
	message      struct {
		Subject     content
		Body        body
		Attachments []attachment `json:",omitempty"`
	}
	body struct {
		Text *content `json:",omitempty"`
		Html *content `json:",omitempty"`
	}
	content    struct{ Data, Charset string }
	attachment struct {
		FileName                string
		RawContent              []byte // base64 in the JSON, as the API's blobs
		ContentType             string
		ContentId               string
		ContentDisposition      string
		ContentTransferEncoding string
	}
)

// Send sends m as a simple message with both a plain-text and an HTML body,
// UTF-8 encoded, and its inline images.
func (s *SES) Send(ctx context.Context, m mail.Message) error {
	m, err := m.Validate()
	if err != nil {
		return err
	}
	in := sendEmailInput{
		FromEmailAddress: m.Sender(s.from),
		Destination:      destination{ToAddresses: []string{m.To}},
		Content:          emailContent{Simple: message{Subject: utf8(m.Subject)}},
	}
	b := &in.Content.Simple.Body
	if m.Text != "" {
		t := utf8(m.Text)
		b.Text = &t
	}
	if m.HTML != "" {
		h := utf8(m.HTML)
		b.Html = &h
	}
	// Inline images go as SES attachments with an INLINE disposition and
	// their content ID, which the HTML body names (cid:…).
	for _, img := range m.Inline {
		in.Content.Simple.Attachments = append(in.Content.Simple.Attachments, attachment{
			FileName: img.FileName(), RawContent: img.Data, ContentType: img.ContentType, ContentId: img.ContentID,
			ContentDisposition: "INLINE", ContentTransferEncoding: "BASE64",
		})
	}
	raw, err := json.Marshal(in)
	if err != nil {
		return fmt.Errorf("mail: ses send email: %w", err)
	}
	if err := s.post(ctx, raw); err != nil {
		return fmt.Errorf("mail: ses send email: %w", err)
	}
	return nil
}

func utf8(s string) content { return content{Data: s, Charset: "UTF-8"} }

// client posts signed SendEmail requests.
type client struct {
	cfg    aws.Config
	url    string
	signer *v4.Signer
}

// attempts bounds the tries of a request SES throttled or failed on its
// side (429, 5xx) or that did not reach it, as the SDK's standard retryer.
const attempts = 3

func (c client) post(ctx context.Context, payload []byte) error {
	var err error
	for i := range attempts {
		if i > 0 {
			select {
			case <-time.After(time.Duration(i) * 200 * time.Millisecond):
			case <-ctx.Done():
				return ctx.Err()
			}
		}
		var retry bool
		if retry, err = c.try(ctx, payload); !retry {
			return err
		}
	}
	return err
}

// try sends the request once; retry tells whether another try may succeed.
func (c client) try(ctx context.Context, payload []byte) (retry bool, err error) {
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, c.url, bytes.NewReader(payload))
	if err != nil {
		return false, err
	}
	req.Header.Set("Content-Type", "application/json")
	if c.cfg.Credentials == nil {
		return false, fmt.Errorf("no AWS credentials")
	}
	creds, err := c.cfg.Credentials.Retrieve(ctx)
	if err != nil {
		return false, err
	}
	sum := sha256.Sum256(payload)
	if err := c.signer.SignHTTP(ctx, creds, req, hex.EncodeToString(sum[:]), "ses", c.cfg.Region, time.Now()); err != nil {
		return false, err
	}
	var hc aws.HTTPClient = http.DefaultClient
	if c.cfg.HTTPClient != nil {
		hc = c.cfg.HTTPClient
	}
	resp, err := hc.Do(req)
	if err != nil {
		return ctx.Err() == nil, err
	}
	defer resp.Body.Close()
	msg, _ := io.ReadAll(io.LimitReader(resp.Body, 4096))
	if resp.StatusCode/100 == 2 {
		return false, nil
	}
	return resp.StatusCode == http.StatusTooManyRequests || resp.StatusCode >= 500,
		fmt.Errorf("%s: %s", resp.Status, strings.TrimSpace(string(msg)))
}

// NewMailer is NewSES as a mail.Mailer (app.NewSES), for the Lambda
// functions that send mail.
func NewMailer(cfg aws.Config, from string) (mail.Mailer, error) {
	s, err := NewSES(cfg, from)
	if err != nil {
		return nil, err
	}
	return s, nil
}
