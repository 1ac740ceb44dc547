package app

import (
	"context"
	"errors"
	"log/slog"
	"os"
	"path/filepath"

	"github.com/aws/aws-lambda-go/events"
	"github.com/aws/aws-lambda-go/lambda"

	"github.com/partnerloop/partnerloop/internal/domain"
	"github.com/partnerloop/partnerloop/internal/mail"
	"github.com/partnerloop/partnerloop/internal/secretbox"
	"github.com/partnerloop/partnerloop/internal/store"
	"github.com/partnerloop/partnerloop/internal/webhooks"
)

// OpenSecretBox returns the box that seals stored secrets (Stripe webhook
// signing secrets, outbound webhook secrets, partners' payout details): SECRETS_KEY when set, else
// for the embedded server the key file beside the database it protects,
// DATA_DIR/secrets.key, generated on first use. A Lambda function must be
// given the key (SECRETS_KEY): its file system is not kept. A process that
// opened no data directory (a test on an in-memory store) gets no key.
func OpenSecretBox(c Config) (*secretbox.Box, error) {
	key := c.SecretsKey
	if key == nil {
		if os.Getenv("AWS_LAMBDA_FUNCTION_NAME") != "" {
			return nil, errors.New("SECRETS_KEY is not set")
		}
		if fi, err := os.Stat(c.DataDir); err != nil || !fi.IsDir() {
			return nil, errors.New("SECRETS_KEY is not set and there is no data directory for a key file")
		}
		var err error
		if key, err = secretbox.KeyFile(filepath.Join(c.DataDir, "secrets.key")); err != nil {
			return nil, err
		}
	}
	return secretbox.New(key)
}

// newWebhooks wires the webhook service and dispatcher, or neither (the
// routes answer 503) when the store keeps no webhooks or no key opens.
func newWebhooks(c Config, st store.Store, now domain.Clock, ids domain.IDs, m mail.Mailer, log *slog.Logger) (*webhooks.Service, *webhooks.Dispatcher) {
	ws, ok := st.(webhooks.Store)
	if !ok {
		return nil, nil
	}
	box, err := OpenSecretBox(c)
	if err != nil {
		log.Error("outbound webhooks unavailable: no secrets key", "err", err)
		return nil, nil
	}
	return webhooks.NewService(ws, box, now, ids, c.WebhookAllowPrivate),
		webhooks.NewDispatcher(ws, box, m, now, c.WebhookAllowPrivate, log.With("component", "webhooks"))
}

// NewWebhookDispatcher returns the webhook-dispatcher handler for the SQS
// events queue (FIFO, grouped by subject): each message is fanned out into
// deliveries and attempted; a store failure reports the message, so SQS
// redelivers it (fan-out is idempotent). Failed attempts are not errors
// here: the schedule (NewWebhookRetry) retries them from the store.
func NewWebhookDispatcher(d *webhooks.Dispatcher, log *slog.Logger) QueueHandler {
	return func(ctx context.Context, ev events.SQSEvent) (events.SQSEventResponse, error) {
		var resp events.SQSEventResponse
		for _, r := range ev.Records {
			if err := handleQueued(ctx, d, r.Body); err != nil {
				log.ErrorContext(ctx, "event not dispatched", "err", err, "messageId", r.MessageId)
				resp.BatchItemFailures = append(resp.BatchItemFailures, events.SQSBatchItemFailure{ItemIdentifier: r.MessageId})
			}
		}
		return resp, nil
	}
}

// StartWebhookDispatcher is the whole main of the webhook-dispatcher
// function (newSES: sesmail.NewMailer, for the emails about disabled
// endpoints): SQS events from the events queue, and the retry schedule's
// EventBridge Scheduler invocations (any payload that is not an SQS event),
// which attempt the due deliveries.
func StartWebhookDispatcher(newSES NewSES) {
	cfg, log := mustConfig("webhook-dispatcher")
	st, err := OpenStore(context.Background(), cfg, os.Getenv, os.Environ())
	if err != nil {
		fail(log, "store", err)
	}
	m, err := openSES(context.Background(), cfg, os.Getenv, os.Environ(), newSES)
	if err != nil {
		fail(log, "mail", err)
	}
	_, d := newWebhooks(cfg, st, domain.SystemClock, domain.NewULIDs(domain.SystemClock), m, log)
	if d == nil {
		fail(log, "webhooks", errors.New("the store keeps no webhooks or SECRETS_KEY is missing"))
	}
	onQueue := NewWebhookDispatcher(d, log)
	lambda.Start(func(ctx context.Context, ev events.SQSEvent) (events.SQSEventResponse, error) {
		if len(ev.Records) > 0 {
			return onQueue(ctx, ev)
		}
		n, err := d.RetryDue(ctx, 500)
		log.InfoContext(ctx, "webhook retries attempted", "count", n)
		return events.SQSEventResponse{}, err
	})
}
