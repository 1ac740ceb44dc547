package secretbox_test

import (
	"bytes"
	"encoding/base64"
	"errors"
	"os"
	"path/filepath"
	"testing"

	"github.com/partnerloop/partnerloop/internal/secretbox"
)

func TestSealOpen(t *testing.T) {
	key := bytes.Repeat([]byte{7}, 32)
	b, err := secretbox.New(key)
	if err != nil {
		t.Fatal(err)
	}
	secret := []byte("whsec_abc123")
	s1, s2 := b.Seal(secret, "org_1"), b.Seal(secret, "org_1")
	if bytes.Equal(s1, s2) || bytes.Contains(s1, secret) {
		t.Fatal("sealing is deterministic or leaks the secret")
	}
	if got, err := b.Open(s1, "org_1"); err != nil || !bytes.Equal(got, secret) {
		t.Fatalf("Open = %q, %v", got, err)
	}
	if _, err := b.Open(s1, "org_2"); !errors.Is(err, secretbox.ErrOpen) {
		t.Fatalf("opened under another organization: %v", err)
	}
	other, _ := secretbox.New(bytes.Repeat([]byte{8}, 32))
	if _, err := other.Open(s1, "org_1"); !errors.Is(err, secretbox.ErrOpen) {
		t.Fatalf("opened with another key: %v", err)
	}
	s1[len(s1)-1] ^= 1
	if _, err := b.Open(s1, "org_1"); !errors.Is(err, secretbox.ErrOpen) {
		t.Fatalf("opened an altered value: %v", err)
	}
	if _, err := b.Open([]byte("short"), "org_1"); !errors.Is(err, secretbox.ErrOpen) {
		t.Fatalf("opened a short value: %v", err)
	}
	if _, err := secretbox.New([]byte("short")); err == nil {
		t.Fatal("a 5-byte key was accepted")
	}
}

func TestKeys(t *testing.T) {
	k := bytes.Repeat([]byte{0xfb}, 32)
	for _, s := range []string{base64.StdEncoding.EncodeToString(k), base64.RawURLEncoding.EncodeToString(k) + "\n"} {
		if got, err := secretbox.ParseKey(s); err != nil || !bytes.Equal(got, k) {
			t.Errorf("ParseKey(%q) = %x, %v", s, got, err)
		}
	}
	if _, err := secretbox.ParseKey(base64.StdEncoding.EncodeToString(k[:16])); err == nil {
		t.Error("a 16-byte key was accepted")
	}
	if _, err := secretbox.ParseKey("not base64!"); err == nil {
		t.Error("garbage was accepted")
	}

	path := filepath.Join(t.TempDir(), "data", "secrets.key")
	first, err := secretbox.KeyFile(path)
	if err != nil || len(first) != 32 {
		t.Fatalf("KeyFile (create) = %x, %v", first, err)
	}
	if fi, err := os.Stat(path); err != nil || fi.Mode().Perm() != 0o600 {
		t.Fatalf("key file mode: %v %v", fi.Mode(), err)
	}
	again, err := secretbox.KeyFile(path)
	if err != nil || !bytes.Equal(again, first) {
		t.Fatalf("KeyFile (read) = %x, %v; want the same key", again, err)
	}
	if err := os.WriteFile(path, []byte("garbage"), 0o600); err != nil {
		t.Fatal(err)
	}
	if _, err := secretbox.KeyFile(path); err == nil {
		t.Fatal("a corrupt key file was replaced or accepted")
	}
}
