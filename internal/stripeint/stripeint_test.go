package stripeint_test

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"sync"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/service/dynamodb"

	"github.com/partnerloop/partnerloop/internal/commission"
	"github.com/partnerloop/partnerloop/internal/domain"
	"github.com/partnerloop/partnerloop/internal/dynamolocal"
	"github.com/partnerloop/partnerloop/internal/ledger"
	"github.com/partnerloop/partnerloop/internal/pipeline"
	"github.com/partnerloop/partnerloop/internal/secretbox"
	"github.com/partnerloop/partnerloop/internal/store"
	"github.com/partnerloop/partnerloop/internal/store/dynamo"
	"github.com/partnerloop/partnerloop/internal/store/sqlite"
	"github.com/partnerloop/partnerloop/internal/stripeint"
	"github.com/partnerloop/partnerloop/internal/stripeint/stripetest"
	"github.com/partnerloop/partnerloop/internal/tracking"
)

var dynamoClient *dynamodb.Client

func TestMain(m *testing.M) {
	srv, err := dynamolocal.StartServer()
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		os.Exit(1)
	}
	dynamoClient = dynamolocal.Client(srv.Endpoint)
	code := m.Run()
	srv.Stop()
	os.Exit(code)
}

type testStore interface {
	store.Store
	store.Ledger
	store.PayoutRuns
	store.StripeIntegrations
}

func stores(testing.TB) map[string]func(t testing.TB) testStore {
	return map[string]func(t testing.TB) testStore{
		"sqlite": func(t testing.TB) testStore {
			s, err := sqlite.Open(filepath.Join(t.TempDir(), "stripe.db"))
			if err != nil {
				t.Fatal(err)
			}
			t.Cleanup(func() { s.Close() })
			return s
		},
		"dynamodb": func(t testing.TB) testStore {
			name := fmt.Sprintf("stripe-%d", time.Now().UnixNano())
			ctx := context.Background()
			if err := dynamo.CreateTable(ctx, dynamoClient, name); err != nil {
				t.Fatal(err)
			}
			t.Cleanup(func() { _ = dynamo.DeleteTable(context.Background(), dynamoClient, name) })
			return dynamo.New(dynamoClient, name)
		},
	}
}

type clock struct {
	mu  sync.Mutex
	now time.Time
}

func (c *clock) Now() time.Time  { c.mu.Lock(); defer c.mu.Unlock(); return c.now }
func (c *clock) Set(t time.Time) { c.mu.Lock(); defer c.mu.Unlock(); c.now = t }

const secret = "whsec_test_5f0c1a2b3c4d5e6f"

// env is one organization with a live program (10 %, renewals for 12
// months) and a referrer, and the integration over a store.
type env struct {
	t     testing.TB
	ctx   context.Context
	st    testStore
	clock *clock
	svc   *stripeint.Service
	track *tracking.Service
	calc  *pipeline.Calculator
	org   string
	code  string
	n     int
}

var start = time.Date(2026, 1, 31, 12, 0, 0, 0, time.UTC)

func newEnv(t testing.TB, st testStore) *env {
	c := &clock{now: start}
	seq := 0
	var mu sync.Mutex
	ids := func(p string) string { mu.Lock(); defer mu.Unlock(); seq++; return fmt.Sprintf("%s_%026d", p, seq) }
	e := &env{t: t, ctx: context.Background(), st: st, clock: c, org: "org_stripe", code: fmt.Sprintf("CASEY%d", time.Now().UnixNano()%1e9)}
	if err := st.CreateOrganization(e.ctx, domain.Organization{ID: e.org, Name: "Shop", CreatedAt: start}); err != nil {
		t.Fatal(err)
	}
	months := 12
	rate := int64(1000)
	spec := domain.ProgramSpec{Name: "Subscriptions", LandingURL: "https://shop.example/", Currency: "USD",
		StartsAt: start.AddDate(0, -1, 0), AttributionWindowDays: 30, QualifyingEvents: []string{domain.EventPurchase},
		Commission: domain.CommissionRule{Type: domain.RulePercentage, RateBps: &rate, Recurring: &domain.Recurring{Months: &months}}}
	p := domain.NewProgram(e.org, "prg_1", spec, start.AddDate(0, -1, 0))
	p, _ = p.Transition(domain.ProgramActive, start)
	if err := st.CreateProgram(e.ctx, p); err != nil {
		t.Fatal(err)
	}
	if err := st.CreateReferrer(e.ctx, domain.Referrer{ID: "rfr_1", OrgID: e.org, ProgramID: p.ID, Email: "jane@example.com",
		Name: "Jane", Code: e.code, CreatedAt: start}); err != nil {
		t.Fatal(err)
	}
	e.track = tracking.New(st, c.Now, ids)
	box, _ := secretbox.New(bytes.Repeat([]byte{9}, 32))
	e.svc = stripeint.New(st, box, e.track, ledger.New(st, st, c.Now), c.Now, "https://refer.example.com")
	e.calc = pipeline.NewCalculator(st, c.Now, nil)
	return e
}

// post signs and handles an event of template name at the env's clock; the
// calculator then reconciles the conversion it names (what the queue does).
func (e *env) post(name string, vars map[string]string) (stripeint.Result, error) {
	e.t.Helper()
	e.n++
	vars["EVENT"] = fmt.Sprintf("evt_%d", e.n)
	if _, ok := vars["CREATED"]; !ok {
		vars["CREATED"] = stripetest.Unix(e.clock.Now())
	}
	payload := stripetest.Event(e.t, name, vars)
	res, err := e.svc.Handle(e.ctx, e.org, payload, stripetest.Sign(payload, secret, time.Now()))
	if err == nil && res.ConversionID != "" {
		if err := e.calc.ReconcileConversion(e.ctx, e.org, res.ConversionID); err != nil {
			e.t.Fatalf("reconcile %s: %v", res.ConversionID, err)
		}
	}
	return res, err
}

func (e *env) mustPost(name string, vars map[string]string, outcome string) stripeint.Result {
	e.t.Helper()
	res, err := e.post(name, vars)
	if err != nil || res.Outcome != outcome {
		e.t.Fatalf("%s: %+v, %v; want outcome %s", name, res, err, outcome)
	}
	return res
}

func (e *env) conversions() []domain.Conversion {
	e.t.Helper()
	cs, _, err := e.st.ListConversions(e.ctx, e.org, store.ConversionFilter{}, store.Page{Limit: 200})
	if err != nil {
		e.t.Fatal(err)
	}
	return cs
}

// earned is the net of a conversion's entries that count, and the entries.
func (e *env) earned(convID string) (int64, []commission.Commission) {
	e.t.Helper()
	es, err := e.st.CommissionsOfSource(e.ctx, e.org, convID)
	if err != nil {
		e.t.Fatal(err)
	}
	var sum int64
	for _, c := range es {
		if c.Status != commission.StatusReversed && c.Status != commission.StatusRejected {
			sum += c.Amount.Amount
		}
	}
	return sum, es
}

func checkout(code, customer, email, pi string, amount int64) map[string]string {
	return map[string]string{"SESSION": "cs_test_" + customer, "CLIENT_REFERENCE_ID": code, "CUSTOMER": customer,
		"EMAIL": email, "AMOUNT": fmt.Sprint(amount), "INVOICE": "null", "METADATA": "{}", "MODE": "payment",
		"PAYMENT_INTENT": stripetest.Q(pi), "SUBSCRIPTION": "null"}
}

func invoicePaid(id, reason, customer, email, pi string, amount int64) map[string]string {
	return map[string]string{"INVOICE": id, "BILLING_REASON": reason, "CUSTOMER": customer, "EMAIL": email,
		"PAYMENT_INTENT": pi, "AMOUNT": fmt.Sprint(amount), "METADATA": "{}"}
}

func refund(pi string, amount, refunded int64) map[string]string {
	return map[string]string{"AMOUNT": fmt.Sprint(amount), "REFUNDED": fmt.Sprint(refunded), "FULLY_REFUNDED": fmt.Sprint(refunded >= amount),
		"PAYMENT_INTENT": stripetest.Q(pi), "CUSTOMER": "cus_any", "EMAIL": "x@example.com"}
}

// TestStripeEventsEndToEnd: a purchase, renewals found by customer and by
// e-mail across API versions, a refund of one renewal reversing only its
// commission, retries changing nothing, a renewal after the window earning
// nothing — on both stores.
func TestStripeEventsEndToEnd(t *testing.T) {
	for name, open := range stores(t) {
		t.Run(name, func(t *testing.T) {
			e := newEnv(t, open(t))
			if _, err := e.svc.Configure(e.ctx, e.org, secret); err != nil {
				t.Fatal(err)
			}

			// The purchase, credited to the code Checkout carried.
			buy := e.mustPost("checkout.session.completed", checkout(stripetest.Q(e.code), "cus_A", "casey@shop.example", "pi_1", 10000), stripeint.OutcomeRecorded)
			if amt, _ := e.earned(buy.ConversionID); amt != 1000 {
				t.Fatalf("purchase earned %d, want 1000", amt)
			}
			// Stripe retries it: nothing new.
			again := e.mustPost("checkout.session.completed", checkout(stripetest.Q(e.code), "cus_A", "casey@shop.example", "pi_1", 10000), stripeint.OutcomeDuplicate)
			if again.ConversionID != buy.ConversionID || len(e.conversions()) != 1 {
				t.Fatalf("a retried checkout recorded again: %+v, %d conversions", again, len(e.conversions()))
			}

			// A month later the subscription renews (basil shape): found by the customer.
			e.clock.Set(start.AddDate(0, 1, 0))
			r1 := e.mustPost("invoice.paid", invoicePaid("in_2", "subscription_cycle", "cus_A", "casey@shop.example", "pi_2", 10000), stripeint.OutcomeRecorded)
			// An older API version's invoice of another customer object with the same e-mail.
			e.clock.Set(start.AddDate(0, 2, 0))
			r2 := e.mustPost("invoice.paid.2024-06-20", invoicePaid("in_3", "subscription_cycle", "cus_B", "Casey@Shop.example", "pi_3", 12000), stripeint.OutcomeRecorded)
			for _, c := range []struct {
				id   string
				want int64
			}{{r1.ConversionID, 1000}, {r2.ConversionID, 1200}} {
				if amt, es := e.earned(c.id); amt != c.want || len(es) != 1 {
					t.Fatalf("renewal %s earned %d (%+v), want %d", c.id, amt, es, c.want)
				}
			}
			conv, err := e.st.GetConversion(e.ctx, e.org, r1.ConversionID)
			if err != nil || conv.Event != domain.EventRenewal || conv.ExternalID != "in_2" || conv.ReferralID == "" {
				t.Fatalf("renewal conversion %+v, %v", conv, err)
			}

			// The first renewal's charge is refunded in full: only its commission is reversed.
			rf := e.mustPost("charge.refunded", refund("pi_2", 10000, 10000), stripeint.OutcomeRecorded)
			if rf.ConversionID != r1.ConversionID {
				t.Fatalf("the refund hit %s, want the renewal %s", rf.ConversionID, r1.ConversionID)
			}
			if amt, es := e.earned(r1.ConversionID); amt != 0 || len(es) != 1 || es[0].Status != commission.StatusReversed {
				t.Fatalf("refunded renewal: %d %+v", amt, es)
			}
			for id, want := range map[string]int64{buy.ConversionID: 1000, r2.ConversionID: 1200} {
				if amt, _ := e.earned(id); amt != want {
					t.Fatalf("conversion %s changed to %d by another's refund", id, amt)
				}
			}
			e.mustPost("charge.refunded", refund("pi_2", 10000, 10000), stripeint.OutcomeDuplicate)

			// Half of the purchase is refunded: half its commission comes back.
			e.mustPost("charge.refunded", refund("pi_1", 10000, 5000), stripeint.OutcomeRecorded)
			if amt, _ := e.earned(buy.ConversionID); amt != 500 {
				t.Fatalf("after a half refund the purchase earns %d, want 500", amt)
			}

			// Twelve months after the first payment the window has closed:
			// the renewal is recorded (revenue) but earns nothing.
			e.clock.Set(start.AddDate(1, 0, 0))
			late := e.mustPost("invoice.paid", invoicePaid("in_13", "subscription_cycle", "cus_A", "casey@shop.example", "pi_13", 10000), stripeint.OutcomeRecorded)
			if amt, es := e.earned(late.ConversionID); amt != 0 || len(es) != 0 {
				t.Fatalf("a renewal after the window earned %d %+v", amt, es)
			}

			// Other event types are acknowledged and ignored; unknown payments too.
			e.mustPost("customer.created", map[string]string{"CUSTOMER": "cus_Z", "EMAIL": "z@example.com"}, stripeint.OutcomeIgnored)
			e.mustPost("charge.refunded", refund("pi_unknown", 100, 100), stripeint.OutcomeIgnored)
			// A renewal of a customer never referred records nothing.
			e.mustPost("invoice.paid", invoicePaid("in_x", "subscription_cycle", "cus_X", "stranger@example.com", "pi_x", 900), stripeint.OutcomeIgnored)
			if n := len(e.conversions()); n != 4 {
				t.Fatalf("%d conversions, want 4 (purchase and three renewals)", n)
			}
		})
	}
}

// TestBadSignaturesRecordNothing: unsigned, wrongly signed, stale, altered,
// another organization's and a removed secret's events are all refused
// with ErrBadSignature and leave no trace.
func TestBadSignaturesRecordNothing(t *testing.T) {
	for name, open := range stores(t) {
		t.Run(name, func(t *testing.T) {
			e := newEnv(t, open(t))
			payload := stripetest.Event(t, "checkout.session.completed", mergeVars(checkout(stripetest.Q(e.code), "cus_A", "casey@shop.example", "pi_1", 10000),
				map[string]string{"EVENT": "evt_1", "CREATED": stripetest.Unix(start)}))
			if _, err := e.svc.Handle(e.ctx, e.org, payload, stripetest.Sign(payload, secret, time.Now())); !errors.Is(err, stripeint.ErrBadSignature) {
				t.Fatalf("before any secret is stored: %v", err)
			}
			if _, err := e.svc.Configure(e.ctx, e.org, secret); err != nil {
				t.Fatal(err)
			}
			altered := bytes.Replace(payload, []byte(`"amount_total": 10000`), []byte(`"amount_total": 99999`), 1)
			for what, c := range map[string]struct {
				org, sig string
				body     []byte
			}{
				"missing":      {e.org, "", payload},
				"other secret": {e.org, stripetest.Sign(payload, "whsec_other", time.Now()), payload},
				"stale":        {e.org, stripetest.Sign(payload, secret, time.Now().Add(-time.Hour)), payload},
				"altered body": {e.org, stripetest.Sign(payload, secret, time.Now()), altered},
				"garbage":      {e.org, "t=1,v1=zz", payload},
				"another org":  {"org_other", stripetest.Sign(payload, secret, time.Now()), payload},
			} {
				if _, err := e.svc.Handle(e.ctx, c.org, c.body, c.sig); !errors.Is(err, stripeint.ErrBadSignature) {
					t.Errorf("%s signature: %v, want ErrBadSignature", what, err)
				}
			}
			if err := e.svc.Remove(e.ctx, e.org); err != nil {
				t.Fatal(err)
			}
			if _, err := e.svc.Handle(e.ctx, e.org, payload, stripetest.Sign(payload, secret, time.Now())); !errors.Is(err, stripeint.ErrBadSignature) {
				t.Fatalf("after removal: %v", err)
			}
			if n := len(e.conversions()); n != 0 {
				t.Fatalf("%d conversions recorded from refused events", n)
			}
		})
	}
}

// TestSecretIsEncryptedAtRest: the store holds no trace of the secret.
func TestSecretIsEncryptedAtRest(t *testing.T) {
	e := newEnv(t, stores(t)["sqlite"](t))
	st, err := e.svc.Configure(e.ctx, e.org, secret)
	if err != nil || !st.Configured || st.WebhookURL != "https://refer.example.com/v1/integrations/stripe/org_stripe/webhook" {
		t.Fatalf("Configure = %+v, %v", st, err)
	}
	sealed, err := e.st.StripeSecret(e.ctx, e.org)
	if err != nil || bytes.Contains(sealed, []byte(secret)) || bytes.Contains(sealed, []byte("5f0c1a2b")) {
		t.Fatalf("stored secret %q, %v", sealed, err)
	}
	for _, bad := range []string{"", "sk_live_123", "whsec_", "whsec_" + string(bytes.Repeat([]byte("a"), 300))} {
		if _, err := e.svc.Configure(e.ctx, e.org, bad); err == nil {
			t.Errorf("secret %.20q accepted", bad)
		}
	}
}

// TestSubscriptionCheckoutAndItsFirstInvoice: a subscription bought through
// Checkout sends both checkout.session.completed and invoice.paid
// (subscription_create), in either order: one purchase (externalId the
// subscription), with the invoice's payment linked to it so that refunding
// it reverses the purchase; the next invoice is a renewal.
func TestSubscriptionCheckoutAndItsFirstInvoice(t *testing.T) {
	for _, invoiceFirst := range []bool{false, true} {
		t.Run(fmt.Sprint("invoice first ", invoiceFirst), func(t *testing.T) {
			e := newEnv(t, stores(t)["sqlite"](t))
			if _, err := e.svc.Configure(e.ctx, e.org, secret); err != nil {
				t.Fatal(err)
			}
			vars := checkout("null", "cus_S", "sub@shop.example", "", 4900)
			vars["PAYMENT_INTENT"], vars["MODE"], vars["INVOICE"], vars["SUBSCRIPTION"] = "null", "subscription", stripetest.Q("in_first"), stripetest.Q("sub_1RNqK2AbCdEf")
			vars["METADATA"] = fmt.Sprintf(`{"ref": %q}`, e.code)
			first := invoicePaid("in_first", "subscription_create", "cus_S", "sub@shop.example", "pi_first", 4900)
			first["METADATA"] = fmt.Sprintf(`{"ref": %q}`, e.code)
			var a, b stripeint.Result
			if invoiceFirst {
				a = e.mustPost("invoice.paid", first, stripeint.OutcomeRecorded)
				b = e.mustPost("checkout.session.completed", vars, stripeint.OutcomeDuplicate)
			} else {
				a = e.mustPost("checkout.session.completed", vars, stripeint.OutcomeRecorded)
				b = e.mustPost("invoice.paid", first, stripeint.OutcomeDuplicate)
			}
			if a.ConversionID != b.ConversionID || len(e.conversions()) != 1 {
				t.Fatalf("checkout and first invoice: %+v %+v, %d conversions", a, b, len(e.conversions()))
			}
			if c := e.conversions()[0]; c.ExternalID != "sub_1RNqK2AbCdEf" || c.Event != domain.EventPurchase {
				t.Fatalf("the purchase: %+v", c)
			}
			e.clock.Set(start.AddDate(0, 1, 0))
			e.mustPost("invoice.paid", invoicePaid("in_second", "subscription_cycle", "cus_S", "sub@shop.example", "pi_second", 4900), stripeint.OutcomeRecorded)
			e.mustPost("charge.refunded", refund("pi_first", 4900, 4900), stripeint.OutcomeRecorded)
			if amt, _ := e.earned(a.ConversionID); amt != 0 {
				t.Fatalf("the refunded purchase still earns %d", amt)
			}
		})
	}
}

func mergeVars(a, b map[string]string) map[string]string {
	for k, v := range b {
		a[k] = v
	}
	return a
}

// TestEventsThatRecordNothingSayWhy: verified events that find no referral,
// or one they cannot be credited to, are acknowledged with the reason.
func TestEventsThatRecordNothingSayWhy(t *testing.T) {
	e := newEnv(t, stores(t)["sqlite"](t))
	if _, err := e.svc.Configure(e.ctx, e.org, secret); err != nil {
		t.Fatal(err)
	}
	// The merchant's own user ID in client_reference_id, a stranger's e-mail.
	res := e.mustPost("checkout.session.completed", checkout(stripetest.Q("user_4711"), "cus_N", "nobody@example.com", "pi_n", 1000), stripeint.OutcomeIgnored)
	if res.Reason != "no_referral" {
		t.Fatalf("reason %q, want no_referral", res.Reason)
	}
	// A renewal of a customer whose referral has not paid yet.
	if _, _, err := e.track.RecordConversion(e.ctx, e.org, tracking.ConversionInput{Code: e.code, Email: "lead@example.com",
		Event: domain.EventSignup, ExternalID: "signup-1"}); err == nil {
		t.Fatal("a signup qualified in a program that counts purchases only")
	}
	inv := invoicePaid("in_lead", "subscription_cycle", "cus_L", "lead@example.com", "pi_l", 900)
	inv["METADATA"] = fmt.Sprintf(`{"ref": %q}`, e.code)
	if res := e.mustPost("invoice.paid", inv, stripeint.OutcomeIgnored); res.Reason != domain.ReasonNoFirstPayment {
		t.Fatalf("reason %q, want %s", res.Reason, domain.ReasonNoFirstPayment)
	}
	// A purchase long after the referral's attribution window.
	e.mustPost("checkout.session.completed", checkout(stripetest.Q(e.code), "cus_W", "w@example.com", "pi_w", 1000), stripeint.OutcomeRecorded)
	e.clock.Set(start.AddDate(0, 3, 0))
	late := checkout("null", "cus_W2", "w@example.com", "pi_w2", 1000)
	late["SESSION"] = "cs_test_late"
	if res := e.mustPost("checkout.session.completed", late, stripeint.OutcomeIgnored); res.Reason != domain.ReasonWindowExpired {
		t.Fatalf("reason %q, want %s", res.Reason, domain.ReasonWindowExpired)
	}
	if n := len(e.conversions()); n != 1 {
		t.Fatalf("%d conversions, want 1", n)
	}
}
