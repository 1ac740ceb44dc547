package secretbox

import (
	"bytes"
	"os"
	"path/filepath"
	"testing"
)

func TestSealOpen(t *testing.T) {
	b, err := FromFile(filepath.Join(t.TempDir(), "k", "secrets.key"))
	if err != nil {
		t.Fatal(err)
	}
	sealed, err := b.Seal([]byte("whsec_abc"), "whe_1")
	if err != nil {
		t.Fatal(err)
	}
	if bytes.Contains(sealed, []byte("whsec_abc")) {
		t.Fatal("sealed value contains the plain text")
	}
	got, err := b.Open(sealed, "whe_1")
	if err != nil || string(got) != "whsec_abc" {
		t.Fatalf("Open = %q, %v", got, err)
	}
	if _, err := b.Open(sealed, "whe_2"); err == nil {
		t.Fatal("a sealed value opened under another record's context")
	}
	other, _ := New(bytes.Repeat([]byte{7}, KeySize))
	if _, err := other.Open(sealed, "whe_1"); err == nil {
		t.Fatal("a sealed value opened with another key")
	}
}

func TestKeyFileCreatedOnceWithMode0600(t *testing.T) {
	path := filepath.Join(t.TempDir(), "secrets.key")
	a, err := FromFile(path)
	if err != nil {
		t.Fatal(err)
	}
	fi, err := os.Stat(path)
	if err != nil {
		t.Fatal(err)
	}
	if fi.Mode().Perm() != 0o600 {
		t.Fatalf("key file mode = %v, want 0600", fi.Mode().Perm())
	}
	sealed, _ := a.Seal([]byte("x"), "c")
	b, err := FromFile(path) // a restart reads the same key
	if err != nil {
		t.Fatal(err)
	}
	if got, err := b.Open(sealed, "c"); err != nil || string(got) != "x" {
		t.Fatalf("after reopening the key file: %q, %v", got, err)
	}
	if _, err := FromBase64("c2hvcnQ="); err == nil {
		t.Fatal("a short key was accepted")
	}
}
