package storetest

import (
	"errors"
	"fmt"

	"slices"
	"testing"
	"time"

	"github.com/partnerloop/partnerloop/internal/domain"
	"github.com/partnerloop/partnerloop/internal/store"
)

// WebhookStore is a store with outbound webhooks.
type WebhookStore interface {
	store.Store
	store.Webhooks
}

// RunWebhooks runs the conformance suite of store.Webhooks. Each subtest
// gets a new, empty store.
func RunWebhooks(t *testing.T, newStore func(t *testing.T) WebhookStore) {
	t.Helper()
	for _, tc := range webhookTests() {
		t.Run(tc.name, func(t *testing.T) {
			s := newStore(t)
			tc.run(t, &webhookFixture{fixture: newFixture(t, s, nil), w: s})
		})
	}
}

type webhookFixture struct {
	*fixture
	w store.Webhooks
}

type webhookTest struct {
	name string
	run  func(t *testing.T, fx *webhookFixture)
}

func (fx *webhookFixture) newEndpoint(orgID string) domain.WebhookEndpoint {
	now := fx.tick()
	return domain.WebhookEndpoint{
		ID: fx.id("whe"), OrgID: orgID, URL: "https://hooks.example.com/" + fx.tag, Description: "CRM",
		Events: []string{"commission.*", "deal.won"}, Status: domain.WebhookEnabled, Secret: []byte("sealed-secret"),
		CreatedAt: now, UpdatedAt: now,
	}
}

func (fx *webhookFixture) mustEndpoint(t *testing.T, orgID string) domain.WebhookEndpoint {
	t.Helper()
	e := fx.newEndpoint(orgID)
	must(t, fx.w.CreateWebhookEndpoint(fx.ctx, e), "CreateWebhookEndpoint")
	return e
}

// newDelivery is a pending delivery of e about subject, due at due.
func (fx *webhookFixture) newDelivery(e domain.WebhookEndpoint, subject, orderKey string, due time.Time) domain.WebhookDelivery {
	now := fx.tick()
	return domain.WebhookDelivery{
		ID: fx.id("whd"), OrgID: e.OrgID, EndpointID: e.ID, EventID: fx.id("msg"), EventType: "commission.created",
		Subject: subject, OrderKey: orderKey, Payload: []byte(`{"type":"commission.created"}`),
		Status: domain.DeliveryPending, NextAttemptAt: &due, CreatedAt: now, UpdatedAt: now,
	}
}

func (fx *webhookFixture) mustDelivery(t *testing.T, d domain.WebhookDelivery) domain.WebhookDelivery {
	t.Helper()
	must(t, fx.w.CreateWebhookDelivery(fx.ctx, d), "CreateWebhookDelivery")
	return d
}

// dueIn lists the due deliveries of one organization (the store may be
// shared with other subtests).
func (fx *webhookFixture) dueIn(t *testing.T, orgID string, now time.Time) []string {
	t.Helper()
	ds, err := fx.w.DueWebhookDeliveries(fx.ctx, now, store.MaxLimit)
	must(t, err, "DueWebhookDeliveries")
	var ids []string
	for _, d := range ds {
		if d.OrgID == orgID {
			ids = append(ids, d.ID)
		}
	}
	return ids
}

// eventually retries check for a few seconds: DynamoDB's indexes are
// eventually consistent, and the port allows it for the due scan.
func eventually(t *testing.T, what string, check func() error) {
	t.Helper()
	deadline := time.Now().Add(5 * time.Second)
	for {
		err := check()
		if err == nil {
			return
		}
		if time.Now().After(deadline) {
			t.Fatalf("%s: %v", what, err)
		}
		time.Sleep(50 * time.Millisecond)
	}
}

func sameEndpoint(t *testing.T, got, want domain.WebhookEndpoint) {
	t.Helper()
	if fmt.Sprintf("%+v", normEndpointForCompare(got)) != fmt.Sprintf("%+v", normEndpointForCompare(want)) {
		t.Fatalf("endpoint read back\n got %+v\nwant %+v", got, want)
	}
}

func normEndpointForCompare(e domain.WebhookEndpoint) domain.WebhookEndpoint {
	e.CreatedAt, e.UpdatedAt = e.CreatedAt.UTC(), e.UpdatedAt.UTC()
	if e.PreviousUntil != nil {
		u := e.PreviousUntil.UTC()
		e.PreviousUntil = &u
	}
	if e.FailingSince != nil {
		u := e.FailingSince.UTC()
		e.FailingSince = &u
	}
	if len(e.PreviousSecret) == 0 {
		e.PreviousSecret = nil
	}
	return e
}

func sameDelivery(t *testing.T, got, want domain.WebhookDelivery) {
	t.Helper()
	norm := func(d domain.WebhookDelivery) string {
		d.CreatedAt, d.UpdatedAt = d.CreatedAt.UTC(), d.UpdatedAt.UTC()
		if d.NextAttemptAt != nil {
			u := d.NextAttemptAt.UTC()
			d.NextAttemptAt = &u
		}
		if len(d.Attempts) == 0 {
			d.Attempts = nil
		}
		for i := range d.Attempts {
			d.Attempts[i].At = d.Attempts[i].At.UTC()
		}
		return fmt.Sprintf("%+v", d)
	}
	if norm(got) != norm(want) {
		t.Fatalf("delivery read back\n got %s\nwant %s", norm(got), norm(want))
	}
}

func webhookTests() []webhookTest {
	return []webhookTest{
		{"EndpointRoundTripUpdateDelete", func(t *testing.T, fx *webhookFixture) {
			org := fx.mustOrg(t)
			e := fx.mustEndpoint(t, org.ID)
			got, err := fx.w.GetWebhookEndpoint(fx.ctx, org.ID, e.ID)
			must(t, err, "GetWebhookEndpoint")
			sameEndpoint(t, got, e)

			other := fx.mustOrg(t)
			_, err = fx.w.GetWebhookEndpoint(fx.ctx, other.ID, e.ID)
			wantErr(t, err, store.ErrNotFound, "GetWebhookEndpoint of another organization")
			taken := fx.newEndpoint(org.ID)
			taken.ID = e.ID
			wantErr(t, fx.w.CreateWebhookEndpoint(fx.ctx, taken), store.ErrConflict, "CreateWebhookEndpoint with a taken id")

			until := fx.tick()
			next := got
			next.Status, next.DisabledReason = domain.WebhookDisabled, "failing since forever"
			next.PreviousSecret, next.PreviousUntil, next.FailingSince = []byte("old"), &until, &until
			must(t, fx.w.UpdateWebhookEndpoint(fx.ctx, next), "UpdateWebhookEndpoint")
			stale := next
			stale.Description = "stale"
			wantErr(t, fx.w.UpdateWebhookEndpoint(fx.ctx, stale), store.ErrConflict, "UpdateWebhookEndpoint at a stale revision")
			got, err = fx.w.GetWebhookEndpoint(fx.ctx, org.ID, e.ID)
			must(t, err, "GetWebhookEndpoint after update")
			next.Revision++
			sameEndpoint(t, got, next)

			missing := fx.newEndpoint(org.ID)
			wantErr(t, fx.w.UpdateWebhookEndpoint(fx.ctx, missing), store.ErrNotFound, "UpdateWebhookEndpoint of an unknown endpoint")

			wantErr(t, fx.w.DeleteWebhookEndpoint(fx.ctx, other.ID, e.ID), store.ErrNotFound, "DeleteWebhookEndpoint from another organization")
			must(t, fx.w.DeleteWebhookEndpoint(fx.ctx, org.ID, e.ID), "DeleteWebhookEndpoint")
			_, err = fx.w.GetWebhookEndpoint(fx.ctx, org.ID, e.ID)
			wantErr(t, err, store.ErrNotFound, "GetWebhookEndpoint after delete")
			wantErr(t, fx.w.DeleteWebhookEndpoint(fx.ctx, org.ID, e.ID), store.ErrNotFound, "DeleteWebhookEndpoint twice")
		}},
		{"ListEndpointsNewestFirstPaged", func(t *testing.T, fx *webhookFixture) {
			org, other := fx.mustOrg(t), fx.mustOrg(t)
			var want []string
			for range 3 {
				want = append([]string{fx.mustEndpoint(t, org.ID).ID}, want...)
			}
			fx.mustEndpoint(t, other.ID)
			var got []string
			cursor := ""
			for {
				es, next, err := fx.w.ListWebhookEndpoints(fx.ctx, org.ID, store.Page{Limit: 2, Cursor: cursor})
				must(t, err, "ListWebhookEndpoints")
				for _, e := range es {
					got = append(got, e.ID)
				}
				if next == "" {
					break
				}
				cursor = next
			}
			if !slices.Equal(got, want) {
				t.Fatalf("endpoints = %v, want %v", got, want)
			}
		}},
		{"DeliveryRoundTripIdempotentCreate", func(t *testing.T, fx *webhookFixture) {
			org := fx.mustOrg(t)
			e := fx.mustEndpoint(t, org.ID)
			d := fx.mustDelivery(t, fx.newDelivery(e, "com_1", "k1", fx.tick()))
			again := fx.newDelivery(e, "com_1", "k1", fx.tick())
			again.ID = d.ID
			wantErr(t, fx.w.CreateWebhookDelivery(fx.ctx, again), store.ErrConflict, "CreateWebhookDelivery with a taken id")
			got, err := fx.w.GetWebhookDelivery(fx.ctx, org.ID, e.ID, d.ID)
			must(t, err, "GetWebhookDelivery")
			sameDelivery(t, got, d)
			_, err = fx.w.GetWebhookDelivery(fx.ctx, fx.mustOrg(t).ID, e.ID, d.ID)
			wantErr(t, err, store.ErrNotFound, "GetWebhookDelivery of another organization")

			next := got
			next.Status, next.NextAttemptAt = domain.DeliverySucceeded, nil
			next.Attempts = []domain.WebhookAttempt{{At: fx.tick(), StatusCode: 503, DurationMS: 12}, {At: fx.tick(), StatusCode: 200, DurationMS: 3}}
			must(t, fx.w.UpdateWebhookDelivery(fx.ctx, next), "UpdateWebhookDelivery")
			staleD := next
			staleD.EventType = "stale"
			wantErr(t, fx.w.UpdateWebhookDelivery(fx.ctx, staleD), store.ErrConflict, "UpdateWebhookDelivery at a stale revision")
			got, err = fx.w.GetWebhookDelivery(fx.ctx, org.ID, e.ID, d.ID)
			must(t, err, "GetWebhookDelivery after update")
			next.Revision++
			sameDelivery(t, got, next)
			missing := fx.newDelivery(e, "com_1", "k2", fx.tick())
			wantErr(t, fx.w.UpdateWebhookDelivery(fx.ctx, missing), store.ErrNotFound, "UpdateWebhookDelivery of an unknown delivery")
		}},
		{"DeliveriesListedPerEndpoint", func(t *testing.T, fx *webhookFixture) {
			org := fx.mustOrg(t)
			e, f := fx.mustEndpoint(t, org.ID), fx.mustEndpoint(t, org.ID)
			var want []string
			for i := range 3 {
				want = append([]string{fx.mustDelivery(t, fx.newDelivery(e, "s", fmt.Sprint(i), fx.tick())).ID}, want...)
			}
			fx.mustDelivery(t, fx.newDelivery(f, "s", "0", fx.tick()))
			var got []string
			cursor := ""
			for {
				ds, next, err := fx.w.ListWebhookDeliveries(fx.ctx, org.ID, e.ID, store.Page{Limit: 2, Cursor: cursor})
				must(t, err, "ListWebhookDeliveries")
				for _, d := range ds {
					got = append(got, d.ID)
				}
				if next == "" {
					break
				}
				cursor = next
			}
			if !slices.Equal(got, want) {
				t.Fatalf("deliveries of the endpoint = %v, want %v", got, want)
			}
		}},
		{"DueDeliveriesEarliestFirstOnlyPending", func(t *testing.T, fx *webhookFixture) {
			org := fx.mustOrg(t)
			e := fx.mustEndpoint(t, org.ID)
			base := fx.tick()
			late := fx.mustDelivery(t, fx.newDelivery(e, "a", "1", base.Add(2*time.Minute)))
			early := fx.mustDelivery(t, fx.newDelivery(e, "b", "1", base.Add(time.Minute)))
			future := fx.mustDelivery(t, fx.newDelivery(e, "c", "1", base.Add(time.Hour)))
			done := fx.mustDelivery(t, fx.newDelivery(e, "d", "1", base))
			done.Status, done.NextAttemptAt = domain.DeliverySucceeded, nil
			must(t, fx.w.UpdateWebhookDelivery(fx.ctx, done), "UpdateWebhookDelivery(succeeded)")
			now := base.Add(30 * time.Minute)
			eventually(t, "due deliveries", func() error {
				if got, want := fx.dueIn(t, org.ID, now), []string{early.ID, late.ID}; !slices.Equal(got, want) {
					return fmt.Errorf("due at %v = %v, want %v (future %s)", now, got, want, future.ID)
				}
				return nil
			})
			// Rescheduled later, a delivery leaves the due list.
			got, err := fx.w.GetWebhookDelivery(fx.ctx, org.ID, e.ID, early.ID)
			must(t, err, "GetWebhookDelivery")
			later := base.Add(2 * time.Hour)
			got.NextAttemptAt = &later
			must(t, fx.w.UpdateWebhookDelivery(fx.ctx, got), "UpdateWebhookDelivery(reschedule)")
			eventually(t, "due deliveries after a reschedule", func() error {
				if got, want := fx.dueIn(t, org.ID, now), []string{late.ID}; !slices.Equal(got, want) {
					return fmt.Errorf("due = %v, want %v", got, want)
				}
				return nil
			})
		}},
		{"EarlierPendingPerSubject", func(t *testing.T, fx *webhookFixture) {
			org := fx.mustOrg(t)
			e, f := fx.mustEndpoint(t, org.ID), fx.mustEndpoint(t, org.ID)
			first := fx.mustDelivery(t, fx.newDelivery(e, "com_1", "0001", fx.tick()))
			fx.mustDelivery(t, fx.newDelivery(e, "com_1", "0002", fx.tick()))
			check := func(endpointID, subject, key string, want bool) error {
				got, err := fx.w.EarlierPendingWebhookDelivery(fx.ctx, org.ID, endpointID, subject, key)
				if err != nil {
					return err
				}
				if got != want {
					return fmt.Errorf("earlier pending before %s/%s/%s = %v, want %v", endpointID, subject, key, got, want)
				}
				return nil
			}
			eventually(t, "earlier pending", func() error {
				return errors.Join(
					check(e.ID, "com_1", "0002", true),
					check(e.ID, "com_1", "0001", false),
					check(e.ID, "com_2", "0009", false),
					check(f.ID, "com_1", "0009", false),
				)
			})
			first.Status, first.NextAttemptAt = domain.DeliveryFailed, nil
			must(t, fx.w.UpdateWebhookDelivery(fx.ctx, first), "UpdateWebhookDelivery(failed)")
			eventually(t, "earlier pending once the first is done", func() error {
				return check(e.ID, "com_1", "0002", false)
			})
		}},
	}
}
