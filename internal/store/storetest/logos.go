package storetest

import (
	"bytes"
	"errors"
	"testing"

	"github.com/partnerloop/partnerloop/internal/store"
)

// LogoStore is a store with organizations' logos.
type LogoStore interface {
	store.Store
	store.Logos
}

// RunLogos runs the conformance suite of store.Logos; each subtest gets a
// new, empty store.
func RunLogos(t *testing.T, newStore func(t *testing.T) LogoStore) {
	t.Helper()
	t.Run("PutGetReplaceDelete", func(t *testing.T) {
		s := newStore(t)
		fx := newFixture(t, s, nil)
		a, b := fx.mustOrg(t).ID, fx.mustOrg(t).ID
		if _, err := s.GetLogo(fx.ctx, a); !errors.Is(err, store.ErrNotFound) {
			t.Fatalf("GetLogo before any: %v, want ErrNotFound", err)
		}
		// The largest logo allowed, every byte value in it.
		big := make([]byte, store.MaxLogoBytes)
		for i := range big {
			big[i] = byte(i * 7)
		}
		first := store.Logo{Data: big, ContentType: "image/png", Version: "v1", UpdatedAt: fx.tick()}
		must(t, s.PutLogo(fx.ctx, a, first), "PutLogo")
		got, err := s.GetLogo(fx.ctx, a)
		if err != nil || !bytes.Equal(got.Data, first.Data) || got.ContentType != "image/png" || got.Version != "v1" ||
			!got.UpdatedAt.Equal(first.UpdatedAt) {
			t.Fatalf("GetLogo = %d bytes %q %q %v, %v; want what was put", len(got.Data), got.ContentType, got.Version, got.UpdatedAt, err)
		}
		if _, err := s.GetLogo(fx.ctx, b); !errors.Is(err, store.ErrNotFound) {
			t.Fatalf("another organization's logo: %v, want ErrNotFound", err)
		}
		second := store.Logo{Data: []byte{0xff, 0xd8, 0xff, 0}, ContentType: "image/jpeg", Version: "v2", UpdatedAt: fx.tick()}
		must(t, s.PutLogo(fx.ctx, a, second), "PutLogo(replace)")
		if got, err := s.GetLogo(fx.ctx, a); err != nil || !bytes.Equal(got.Data, second.Data) || got.ContentType != "image/jpeg" || got.Version != "v2" {
			t.Fatalf("after replacing: %x %q %q, %v", got.Data, got.ContentType, got.Version, err)
		}
		must(t, s.DeleteLogo(fx.ctx, a), "DeleteLogo")
		if _, err := s.GetLogo(fx.ctx, a); !errors.Is(err, store.ErrNotFound) {
			t.Fatalf("GetLogo after delete: %v, want ErrNotFound", err)
		}
		must(t, s.DeleteLogo(fx.ctx, a), "DeleteLogo(none left)")
	})
}
