package storetest

import (
	"bytes"
	"errors"
	"strings"
	"sync"
	"testing"

	"github.com/partnerloop/partnerloop/internal/store"
)

// StripeStore is a store with the Stripe integration's records.
type StripeStore interface {
	store.Store
	store.StripeIntegrations
}

// RunStripe runs the conformance suite of store.StripeIntegrations; each
// subtest gets a new, empty store.
func RunStripe(t *testing.T, newStore func(t *testing.T) StripeStore) {
	t.Helper()
	t.Run("Secret", func(t *testing.T) {
		s := newStore(t)
		fx := newFixture(t, s, nil)
		a, b := fx.mustOrg(t).ID, fx.mustOrg(t).ID
		if _, err := s.StripeSecret(fx.ctx, a); !errors.Is(err, store.ErrNotFound) {
			t.Fatalf("StripeSecret before any: %v, want ErrNotFound", err)
		}
		first, second := []byte{0, 1, 2, 0xff, 'x'}, bytes.Repeat([]byte{0xa5}, 300)
		must(t, s.PutStripeSecret(fx.ctx, a, first, fx.tick()), "PutStripeSecret")
		got, err := s.StripeSecret(fx.ctx, a)
		if err != nil || !bytes.Equal(got, first) {
			t.Fatalf("StripeSecret = %x, %v; want %x", got, err, first)
		}
		if _, err := s.StripeSecret(fx.ctx, b); !errors.Is(err, store.ErrNotFound) {
			t.Fatalf("another organization's secret: %v, want ErrNotFound", err)
		}
		must(t, s.PutStripeSecret(fx.ctx, a, second, fx.tick()), "PutStripeSecret(replace)")
		if got, _ := s.StripeSecret(fx.ctx, a); !bytes.Equal(got, second) {
			t.Fatalf("after replacing: %x", got)
		}
		must(t, s.DeleteStripeSecret(fx.ctx, a), "DeleteStripeSecret")
		if _, err := s.StripeSecret(fx.ctx, a); !errors.Is(err, store.ErrNotFound) {
			t.Fatalf("StripeSecret after delete: %v, want ErrNotFound", err)
		}
		must(t, s.DeleteStripeSecret(fx.ctx, a), "DeleteStripeSecret(none left)")
	})
	t.Run("LinksKeepTheirFirstTarget", func(t *testing.T) {
		s := newStore(t)
		fx := newFixture(t, s, nil)
		a, b := fx.mustOrg(t).ID, fx.mustOrg(t).ID
		long := "customer:" + strings.Repeat("c", 900) // longer than a key part
		if _, err := s.StripeLink(fx.ctx, a, "customer:cus_1"); !errors.Is(err, store.ErrNotFound) {
			t.Fatalf("StripeLink before any: %v, want ErrNotFound", err)
		}
		must(t, s.PutStripeLink(fx.ctx, a, "customer:cus_1", "ref_1"), "PutStripeLink")
		must(t, s.PutStripeLink(fx.ctx, a, "customer:cus_1", "ref_2"), "PutStripeLink(again, other target)")
		must(t, s.PutStripeLink(fx.ctx, a, long, "ref_3"), "PutStripeLink(long key)")
		must(t, s.PutStripeLink(fx.ctx, b, "customer:cus_1", "ref_b"), "PutStripeLink(other org)")
		for _, c := range []struct{ org, key, want string }{
			{a, "customer:cus_1", "ref_1"}, {a, long, "ref_3"}, {b, "customer:cus_1", "ref_b"},
		} {
			got, err := s.StripeLink(fx.ctx, c.org, c.key)
			if err != nil || got != c.want {
				t.Errorf("StripeLink(%s, %.20s) = %q, %v; want %q", c.org, c.key, got, err, c.want)
			}
		}
		// Racing first links: one target wins, everyone reads it.
		var wg sync.WaitGroup
		for i := range 8 {
			wg.Add(1)
			go func() {
				defer wg.Done()
				if err := s.PutStripeLink(fx.ctx, a, "invoice:in_race", "cnv_"+string(rune('a'+i))); err != nil {
					t.Errorf("racing PutStripeLink: %v", err)
				}
			}()
		}
		wg.Wait()
		first, err := s.StripeLink(fx.ctx, a, "invoice:in_race")
		must(t, err, "StripeLink(raced)")
		for range 3 {
			if again, _ := s.StripeLink(fx.ctx, a, "invoice:in_race"); again != first {
				t.Fatalf("raced link moved: %q then %q", first, again)
			}
		}
	})
}
