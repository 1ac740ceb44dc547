// Package sesmail is the Amazon SES (API v2) mail.Mailer, in its own
// package so that only the Lambda functions that send mail link (and
// initialise) the SES client.
package sesmail

import (
	"context"
	"fmt"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/sesv2"
	"github.com/aws/aws-sdk-go-v2/service/sesv2/types"

	"github.com/partnerloop/partnerloop/internal/mail"
)

// sendEmail is the SES v2 client's SendEmail. A method value, not an
// interface: a *sesv2.Client held in an interface keeps all of its hundred
// operations in the web function, whose html/template makes the linker keep
// every exported method of such types (docs/performance.md, "Lambda
// footprint").
type sendEmail func(ctx context.Context, in *sesv2.SendEmailInput, optFns ...func(*sesv2.Options)) (*sesv2.SendEmailOutput, error)

// SES sends through Amazon SES (API v2), or through aws-ses-v2-local when
// cfg points at it (see awsenv.Load).
type SES struct {
	send sendEmail
	from string
}

// NewSES returns an SES Mailer sending from the given sender
// ("noreply@example.com" or "Partnerloop <noreply@example.com>"), which
// must be an address or domain verified in SES.
func NewSES(cfg aws.Config, from string) (*SES, error) {
	f, err := mail.ParseSender(from)
	if err != nil {
		return nil, err
	}
	return &SES{send: sesv2.NewFromConfig(cfg).SendEmail, from: f}, nil
}

// From is the configured sender.
func (s *SES) From() string { return s.from }

// Send sends m as a simple message with both a plain-text and an HTML body,
// UTF-8 encoded, and its inline images.
func (s *SES) Send(ctx context.Context, m mail.Message) error {
	m, err := m.Validate()
	if err != nil {
		return err
	}
	body := &types.Body{}
	if m.Text != "" {
		body.Text = utf8(m.Text)
	}
	if m.HTML != "" {
		body.Html = utf8(m.HTML)
	}
	// Inline images go as SES attachments with an INLINE disposition and
	// their content ID, which the HTML body names (cid:…).
	var parts []types.Attachment
	for _, in := range m.Inline {
		parts = append(parts, types.Attachment{
			FileName: aws.String(in.FileName()), RawContent: in.Data, ContentType: aws.String(in.ContentType),
			ContentId: aws.String(in.ContentID), ContentDisposition: types.AttachmentContentDispositionInline,
			ContentTransferEncoding: types.AttachmentContentTransferEncodingBase64,
		})
	}
	_, err = s.send(ctx, &sesv2.SendEmailInput{
		FromEmailAddress: aws.String(m.Sender(s.from)),
		Destination:      &types.Destination{ToAddresses: []string{m.To}},
		Content: &types.EmailContent{Simple: &types.Message{
			Subject:     utf8(m.Subject),
			Body:        body,
			Attachments: parts,
		}},
	})
	if err != nil {
		return fmt.Errorf("mail: ses send email: %w", err)
	}
	return nil
}

func utf8(s string) *types.Content {
	return &types.Content{Data: aws.String(s), Charset: aws.String("UTF-8")}
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
