package webhooks

import (
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"math/rand/v2"
	"net/http"
	"strconv"
	"sync"
	"time"

	"github.com/oklog/ulid/v2"

	"github.com/partnerloop/partnerloop/internal/domain"
	"github.com/partnerloop/partnerloop/internal/mail"
	"github.com/partnerloop/partnerloop/internal/pipeline"
	"github.com/partnerloop/partnerloop/internal/secretbox"
	"github.com/partnerloop/partnerloop/internal/store"
)

// Delivery policy.
const (
	// RetryWindow: a delivery is retried until this long after its first
	// attempt (or its replay), then it fails.
	RetryWindow = 72 * time.Hour
	// DisableAfter: an endpoint whose attempts have all failed for this
	// long is disabled and its admins are told.
	DisableAfter = 5 * 24 * time.Hour
	// firstRetry and maxRetry bound the exponential backoff.
	firstRetry = 5 * time.Second
	maxRetry   = 8 * time.Hour
	// DefaultTimeout is how long one attempt may take.
	DefaultTimeout = 10 * time.Second
	// orderWait is how long a delivery waits when an earlier one of the
	// same subject is still pending.
	orderWait = 2 * time.Second
	// maxAttemptsKept bounds the attempts a delivery's log keeps.
	maxAttemptsKept = 50
)

// Backoff is the delay after the n-th failed attempt: 5 s doubling up to 8
// h, with "equal jitter" (half fixed, half random) so that endpoints that
// fail together do not retry in lockstep. rnd returns [0,1).
func Backoff(n int, rnd func() float64) time.Duration {
	d := firstRetry
	for i := 1; i < n && d < maxRetry; i++ {
		d *= 2
	}
	d = min(d, maxRetry)
	return d/2 + time.Duration(rnd()*float64(d/2))
}

// Dispatcher turns events into deliveries and makes the attempts.
type Dispatcher struct {
	Store  Store
	Box    *secretbox.Box
	Client *http.Client
	Mailer mail.Mailer // nil: disabled endpoints are only logged
	Clock  domain.Clock
	// Rand is the jitter's source ([0,1)); nil is math/rand.
	Rand func() float64
	// OrderWait overrides orderWait (tests).
	OrderWait time.Duration
	Log       *slog.Logger
}

// NewDispatcher returns a dispatcher with the SSRF-safe client.
func NewDispatcher(st Store, box *secretbox.Box, mailer mail.Mailer, clock domain.Clock, allowPrivate bool, log *slog.Logger) *Dispatcher {
	if log == nil {
		log = slog.New(slog.NewTextHandler(io.Discard, nil))
	}
	return &Dispatcher{Store: st, Box: box, Client: NewClient(DefaultTimeout, allowPrivate), Mailer: mailer, Clock: clock, Log: log}
}

// deliveryID derives a delivery's ID from the endpoint and the event, so a
// redelivered event never makes a second delivery; it is a ULID at the
// event's time, so the log lists newest first by ID.
func deliveryID(endpointID, eventID string, at time.Time) string {
	sum := sha256.Sum256([]byte(endpointID + "\x00" + eventID))
	var id ulid.ULID
	_ = id.SetTime(ulid.Timestamp(at))
	_ = id.SetEntropy(sum[:10])
	return "whd_" + id.String()
}

// Payload is a delivery's body.
type Payload struct {
	Type      string          `json:"type"`
	Timestamp time.Time       `json:"timestamp"`
	Data      json.RawMessage `json:"data"`
}

// Handle is the events queue's consumer: it creates a delivery of the event
// for every enabled endpoint of the organization subscribed to its type
// (idempotently), then attempts each, in parallel. Messages that are not public events
// are acknowledged. An error (the store's) makes the queue retry.
func (d *Dispatcher) Handle(ctx context.Context, m pipeline.Message) error {
	typ, data, ok := pipeline.PublicEvent(m)
	if !ok {
		return nil
	}
	body, err := json.Marshal(Payload{Type: typ, Timestamp: m.At.UTC(), Data: data})
	if err != nil {
		return pipeline.Permanent(err)
	}
	var created []domain.WebhookDelivery
	cursor := ""
	for {
		es, next, err := d.Store.ListWebhookEndpoints(ctx, m.OrgID, store.Page{Limit: store.MaxLimit, Cursor: cursor})
		if err != nil {
			return err
		}
		for _, e := range es {
			if e.Status != domain.WebhookEnabled || !Matches(e.Events, typ) {
				continue
			}
			now := d.Clock()
			del := domain.WebhookDelivery{
				ID: deliveryID(e.ID, m.ID, m.At), OrgID: m.OrgID, EndpointID: e.ID, EventID: m.ID, EventType: typ,
				Subject: m.EntityID, OrderKey: m.OrderKey(), Payload: body, Status: domain.DeliveryPending,
				NextAttemptAt: &now, RetryFrom: &now, CreatedAt: now, UpdatedAt: now,
			}
			err := d.Store.CreateWebhookDelivery(ctx, del)
			switch {
			case errors.Is(err, store.ErrConflict):
				continue // made by an earlier delivery of this event; the schedule retries it
			case err != nil:
				return err
			}
			created = append(created, del)
		}
		if next == "" {
			break
		}
		cursor = next
	}
	// First attempts, one per endpoint, in parallel: a slow endpoint must
	// not hold up the others (each attempt is bounded by the client's
	// timeout). Deliveries of one endpoint keep their order through
	// EarlierPendingWebhookDelivery, not through this loop.
	var wg sync.WaitGroup
	for _, del := range created {
		wg.Add(1)
		go func() {
			defer wg.Done()
			if _, err := d.Attempt(ctx, del); err != nil {
				d.Log.WarnContext(ctx, "webhook attempt not recorded; the schedule retries it", "delivery", del.ID, "err", err)
			}
		}()
	}
	wg.Wait()
	return nil
}

// HasEndpoints reports whether the organization has an enabled endpoint:
// without one, its events are delivered to nobody (the embedded pipeline
// does not queue them, pipeline.Pump.Wanted).
func (d *Dispatcher) HasEndpoints(ctx context.Context, orgID string) (bool, error) {
	cursor := ""
	for {
		es, next, err := d.Store.ListWebhookEndpoints(ctx, orgID, store.Page{Limit: store.MaxLimit, Cursor: cursor})
		if err != nil {
			return false, err
		}
		for _, e := range es {
			if e.Status == domain.WebhookEnabled {
				return true, nil
			}
		}
		if next == "" {
			return false, nil
		}
		cursor = next
	}
}

// RetryDue attempts up to limit due deliveries; it returns how many it
// attempted. The retry schedule: run it every few seconds (embedded) or
// every minute (AWS).
func (d *Dispatcher) RetryDue(ctx context.Context, limit int) (int, error) {
	due, err := d.Store.DueWebhookDeliveries(ctx, d.Clock(), limit)
	if err != nil {
		return 0, err
	}
	n := 0
	var errs []error
	for _, del := range due {
		tried, err := d.Attempt(ctx, del)
		if tried {
			n++
		}
		errs = append(errs, err)
	}
	return n, errors.Join(errs...)
}

// Attempt makes one attempt of a delivery if it is still pending, due and
// first in its subject's order, and records the outcome. It reports
// whether a request was made.
func (d *Dispatcher) Attempt(ctx context.Context, del domain.WebhookDelivery) (bool, error) {
	del, err := d.Store.GetWebhookDelivery(ctx, del.OrgID, del.EndpointID, del.ID)
	if err != nil {
		return false, err
	}
	now := d.Clock()
	if del.Status != domain.DeliveryPending || (del.NextAttemptAt != nil && del.NextAttemptAt.After(now)) {
		return false, nil
	}
	e, err := d.Store.GetWebhookEndpoint(ctx, del.OrgID, del.EndpointID)
	switch {
	case errors.Is(err, store.ErrNotFound):
		return false, d.finish(ctx, del, domain.DeliveryFailed, "endpoint deleted")
	case err != nil:
		return false, err
	case e.Status != domain.WebhookEnabled:
		return false, d.finish(ctx, del, domain.DeliveryFailed, "endpoint disabled")
	}
	earlier, err := d.Store.EarlierPendingWebhookDelivery(ctx, del.OrgID, del.EndpointID, del.Subject, del.OrderKey)
	if err != nil {
		return false, err
	}
	if earlier {
		wait := d.OrderWait
		if wait <= 0 {
			wait = orderWait
		}
		at := now.Add(wait)
		del.NextAttemptAt, del.UpdatedAt = &at, now
		return false, ignoreConflict(d.Store.UpdateWebhookDelivery(ctx, del))
	}
	// Claim the attempt: another dispatcher reading the same due delivery
	// fails the revision check. Should this process die mid-request, the
	// delivery is due again after the lease.
	lease := now.Add(2*DefaultTimeout + time.Minute)
	del.NextAttemptAt = &lease
	if err := d.Store.UpdateWebhookDelivery(ctx, del); err != nil {
		return false, ignoreConflict(err)
	}
	del.Revision++

	attempt := d.send(ctx, e, del)
	now = d.Clock()
	del.Attempts = append(del.Attempts, attempt)
	if len(del.Attempts) > maxAttemptsKept {
		del.Attempts = del.Attempts[len(del.Attempts)-maxAttemptsKept:]
	}
	del.UpdatedAt = now
	ok := attempt.StatusCode >= 200 && attempt.StatusCode < 300
	from := del.CreatedAt
	if del.RetryFrom != nil {
		from = *del.RetryFrom
	}
	switch {
	case ok:
		del.Status, del.NextAttemptAt = domain.DeliverySucceeded, nil
	case now.Sub(from) >= RetryWindow:
		del.Status, del.NextAttemptAt = domain.DeliveryFailed, nil
	default:
		rnd := d.Rand
		if rnd == nil {
			rnd = rand.Float64
		}
		at := now.Add(Backoff(failuresSince(del.Attempts), rnd))
		del.NextAttemptAt = &at
	}
	if err := d.Store.UpdateWebhookDelivery(ctx, del); err != nil {
		return true, err
	}
	return true, d.recordHealth(ctx, e, ok, now)
}

// failuresSince counts the failed attempts at the end of the log.
func failuresSince(as []domain.WebhookAttempt) int {
	n := 0
	for i := len(as) - 1; i >= 0 && (as[i].StatusCode < 200 || as[i].StatusCode >= 300); i-- {
		n++
	}
	return n
}

func ignoreConflict(err error) error {
	if errors.Is(err, store.ErrConflict) {
		return nil // someone else moved it on
	}
	return err
}

func (d *Dispatcher) finish(ctx context.Context, del domain.WebhookDelivery, status domain.WebhookDeliveryStatus, why string) error {
	now := d.Clock()
	del.Status, del.NextAttemptAt, del.UpdatedAt = status, nil, now
	del.Attempts = append(del.Attempts, domain.WebhookAttempt{At: now, Error: why})
	return ignoreConflict(d.Store.UpdateWebhookDelivery(ctx, del))
}

// send makes the request. The secrets are opened only here.
func (d *Dispatcher) send(ctx context.Context, e domain.WebhookEndpoint, del domain.WebhookDelivery) domain.WebhookAttempt {
	start := d.Clock()
	a := domain.WebhookAttempt{At: start}
	fail := func(err error) domain.WebhookAttempt {
		a.Error = truncate(err.Error(), 500)
		a.DurationMS = d.Clock().Sub(start).Milliseconds()
		return a
	}
	secrets, err := d.secrets(e, start)
	if err != nil {
		return fail(err)
	}
	sig, err := SignatureHeader(secrets, del.EventID, start, del.Payload)
	if err != nil {
		return fail(err)
	}
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, e.URL, bytes.NewReader(del.Payload))
	if err != nil {
		return fail(err)
	}
	req.Header.Set("Content-Type", "application/json")
	req.Header.Set("User-Agent", "PartnerLoop-Webhooks/1")
	req.Header.Set("webhook-id", del.EventID)
	req.Header.Set("webhook-timestamp", strconv.FormatInt(start.Unix(), 10))
	req.Header.Set("webhook-signature", sig)
	resp, err := d.Client.Do(req)
	if err != nil {
		return fail(err)
	}
	defer resp.Body.Close()
	_, _ = io.Copy(io.Discard, io.LimitReader(resp.Body, 64<<10))
	a.StatusCode = resp.StatusCode
	a.DurationMS = d.Clock().Sub(start).Milliseconds()
	if resp.StatusCode < 200 || resp.StatusCode >= 300 {
		a.Error = "HTTP " + strconv.Itoa(resp.StatusCode)
	}
	return a
}

func (d *Dispatcher) secrets(e domain.WebhookEndpoint, now time.Time) ([]string, error) {
	cur, err := d.Box.Open(e.Secret, e.ID)
	if err != nil {
		return nil, err
	}
	out := []string{string(cur)}
	if len(e.PreviousSecret) > 0 && e.PreviousUntil != nil && now.Before(*e.PreviousUntil) {
		prev, err := d.Box.Open(e.PreviousSecret, e.ID)
		if err != nil {
			return nil, err
		}
		out = append(out, string(prev))
	}
	return out, nil
}

// recordHealth keeps the endpoint's failure streak: a success ends it; a
// failure starts it, or — once it has lasted DisableAfter — disables the
// endpoint and tells the organization's admins.
func (d *Dispatcher) recordHealth(ctx context.Context, e domain.WebhookEndpoint, ok bool, now time.Time) error {
	switch {
	case ok && e.FailingSince == nil:
		return nil
	case ok:
		e.FailingSince = nil
	case e.FailingSince == nil:
		e.FailingSince = &now
	case now.Sub(*e.FailingSince) >= DisableAfter:
		e.Status = domain.WebhookDisabled
		e.DisabledReason = fmt.Sprintf("every delivery failed since %s", e.FailingSince.UTC().Format(time.RFC3339))
	default:
		return nil
	}
	e.UpdatedAt = now
	if err := ignoreConflict(d.Store.UpdateWebhookEndpoint(ctx, e)); err != nil || e.Status != domain.WebhookDisabled {
		return err
	}
	d.Log.WarnContext(ctx, "webhook endpoint disabled after failing for days", "organization", e.OrgID, "endpoint", e.ID, "url", e.URL)
	return d.notifyAdmins(ctx, e)
}

func (d *Dispatcher) notifyAdmins(ctx context.Context, e domain.WebhookEndpoint) error {
	if d.Mailer == nil {
		return nil
	}
	var errs []error
	cursor := ""
	for {
		us, next, err := d.Store.ListUsers(ctx, e.OrgID, store.Page{Limit: store.MaxLimit, Cursor: cursor})
		if err != nil {
			return err
		}
		for _, u := range us {
			if u.Role != domain.RoleAdmin {
				continue
			}
			errs = append(errs, d.Mailer.Send(ctx, mail.Message{
				To:      u.Email,
				Subject: "Webhook endpoint disabled: " + truncate(e.URL, 100),
				Text: fmt.Sprintf("Every delivery to your webhook endpoint %s failed for more than %d days (%s), so it has been disabled.\n\n"+
					"Fix the receiver, then enable the endpoint again in Settings → Webhooks and replay the deliveries you need from its log.\n",
					e.URL, int(DisableAfter.Hours()/24), e.DisabledReason),
			}))
		}
		if next == "" {
			break
		}
		cursor = next
	}
	return errors.Join(errs...)
}

func truncate(s string, n int) string {
	if len(s) <= n {
		return s
	}
	return s[:n] + "…"
}

// RunRetries runs the retry schedule every interval until ctx ends (the
// embedded server; on AWS a schedule invokes the dispatcher).
func (d *Dispatcher) RunRetries(ctx context.Context, every time.Duration) {
	t := time.NewTicker(every)
	defer t.Stop()
	for {
		select {
		case <-ctx.Done():
			return
		case <-t.C:
		}
		for {
			n, err := d.RetryDue(ctx, 100)
			if err != nil && ctx.Err() == nil {
				d.Log.ErrorContext(ctx, "webhook retries failed", "err", err)
			}
			if n < 100 || err != nil {
				break
			}
		}
	}
}
