package stripeint_test

import (
	"fmt"
	"testing"
	"time"

	"github.com/partnerloop/partnerloop/internal/stripeint"
	"github.com/partnerloop/partnerloop/internal/stripeint/stripetest"
)

// BenchmarkCheckoutEvent: one signed checkout.session.completed of a new
// customer, verified and recorded as a purchase (SQLite, without the
// commission pipeline), and one Stripe retry of an event already recorded.
func BenchmarkCheckoutEvent(b *testing.B) {
	e := newEnv(b, stores(b)["sqlite"](b))
	if _, err := e.svc.Configure(e.ctx, e.org, secret); err != nil {
		b.Fatal(err)
	}
	payload := func(i int) []byte {
		v := checkout(stripetest.Q(e.code), fmt.Sprintf("cus_%d", i), fmt.Sprintf("buyer%d@example.com", i), fmt.Sprintf("pi_%d", i), 4900)
		v["SESSION"], v["EVENT"], v["CREATED"] = fmt.Sprintf("cs_%d", i), fmt.Sprintf("evt_%d", i), stripetest.Unix(start)
		return stripetest.Event(b, "checkout.session.completed", v)
	}
	b.Run("new", func(b *testing.B) {
		for i := 0; b.Loop(); i++ {
			p := payload(i)
			res, err := e.svc.Handle(e.ctx, e.org, p, stripetest.Sign(p, secret, time.Now()))
			if err != nil || res.Outcome != stripeint.OutcomeRecorded {
				b.Fatalf("%+v %v", res, err)
			}
		}
	})
	b.Run("retry", func(b *testing.B) {
		p := payload(0)
		sig := stripetest.Sign(p, secret, time.Now())
		for b.Loop() {
			res, err := e.svc.Handle(e.ctx, e.org, p, sig)
			if err != nil || res.Outcome != stripeint.OutcomeDuplicate {
				b.Fatalf("%+v %v", res, err)
			}
		}
	})
}
