package tracking

import (
	"crypto/hmac"
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"net/url"
	"reflect"
	"strings"
	"testing"
	"time"
)

func TestLandingWithRef(t *testing.T) {
	tests := []struct {
		name      string
		landing   string
		code      string
		wantPath  string
		wantQuery url.Values
		wantFrag  string
	}{
		{"no query", "https://example.com/signup", "JANE2026",
			"/signup", url.Values{"ref": {"JANE2026"}}, ""},
		{"bare host", "https://example.com", "jane",
			"", url.Values{"ref": {"jane"}}, ""},
		{"keeps existing params", "https://example.com/signup?utm_source=partner&utm_medium=referral", "jane",
			"/signup", url.Values{"utm_source": {"partner"}, "utm_medium": {"referral"}, "ref": {"jane"}}, ""},
		{"keeps repeated params", "https://example.com/?tag=a&tag=b", "jane",
			"/", url.Values{"tag": {"a", "b"}, "ref": {"jane"}}, ""},
		{"keeps encoded values", "https://example.com/?next=%2Fpricing%3Fplan%3Dpro&q=a+b", "jane",
			"/", url.Values{"next": {"/pricing?plan=pro"}, "q": {"a b"}, "ref": {"jane"}}, ""},
		{"replaces an existing ref", "https://example.com/signup?ref=OLDCODE&utm_source=x", "NEWCODE",
			"/signup", url.Values{"ref": {"NEWCODE"}, "utm_source": {"x"}}, ""},
		{"replaces every existing ref", "https://example.com/?ref=a&ref=b", "NEW",
			"/", url.Values{"ref": {"NEW"}}, ""},
		{"keeps fragment", "https://example.com/app#/signup?step=1", "jane",
			"/app", url.Values{"ref": {"jane"}}, "/signup?step=1"},
		{"keeps query and fragment", "https://example.com/p?utm_source=news#pricing", "jane",
			"/p", url.Values{"utm_source": {"news"}, "ref": {"jane"}}, "pricing"},
		{"code with dash and underscore", "https://example.com/", "jane-doe_2",
			"/", url.Values{"ref": {"jane-doe_2"}}, ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := landingWithRef(tt.landing, tt.code)
			if err != nil {
				t.Fatalf("landingWithRef(%q): %v", tt.landing, err)
			}
			u, err := url.Parse(got)
			if err != nil {
				t.Fatalf("result %q does not parse: %v", got, err)
			}
			orig, _ := url.Parse(tt.landing)
			if u.Scheme != orig.Scheme || u.Host != orig.Host || u.Path != tt.wantPath {
				t.Errorf("landingWithRef(%q) = %q: scheme/host/path changed", tt.landing, got)
			}
			if q := u.Query(); !reflect.DeepEqual(q, tt.wantQuery) {
				t.Errorf("landingWithRef(%q) = %q: query %v, want %v", tt.landing, got, q, tt.wantQuery)
			}
			if u.Fragment != tt.wantFrag {
				t.Errorf("landingWithRef(%q) = %q: fragment %q, want %q", tt.landing, got, u.Fragment, tt.wantFrag)
			}
		})
	}
}

// The landing URL is the organization's: whatever it carries must reach the
// landing page unchanged, even parameters Go's query parser does not accept.
func TestLandingWithRefKeepsUnparsableParams(t *testing.T) {
	tests := []struct{ landing, keep string }{
		{"https://example.com/?a=1;b=2&c=3", "a=1;b=2"},
		{"https://example.com/?promo=50%off&c=3", "promo=50%off"},
	}
	for _, tt := range tests {
		got, err := landingWithRef(tt.landing, "jane")
		if err != nil {
			t.Fatalf("landingWithRef(%q): %v", tt.landing, err)
		}
		if !strings.Contains(got, tt.keep) || !strings.Contains(got, "ref=jane") {
			t.Errorf("landingWithRef(%q) = %q, want it to keep %q and add ref=jane", tt.landing, got, tt.keep)
		}
	}
}

// TestKeyedHashIsTheSaltedHMAC: keyed reuses pooled HMACs per salt; every
// answer must still be the HMAC-SHA256 of the parts, each ended by a zero
// byte, keyed with that salt — whichever salt was used before.
func TestKeyedHashIsTheSaltedHMAC(t *testing.T) {
	for i := range 3 * maxPooledSalts {
		salt := []byte(fmt.Sprintf("salt-%d", i%(maxPooledSalts+1)))
		parts := []string{"visitor", fmt.Sprint(i), "203.0.113.7", "Mozilla/5.0"}
		m := hmac.New(sha256.New, salt)
		for _, p := range parts {
			m.Write([]byte(p))
			m.Write([]byte{0})
		}
		if got, want := keyed(salt, parts...), hex.EncodeToString(m.Sum(nil)[:16]); got != want {
			t.Fatalf("keyed(%s, %q) = %s, want %s", salt, parts, got, want)
		}
	}
}

// TestKeysCarryTheAddressUnderYesterdaysSalt: in the first hour of a day
// the limits carry the visitor and its address hashed with the previous
// day's salt, exactly as they were hashed then (the store finds the
// visitor's last click under that address); later in the day neither.
func TestKeysCarryTheAddressUnderYesterdaysSalt(t *testing.T) {
	day := time.Date(2026, 3, 11, 0, 0, 0, 0, time.UTC)
	s := &Service{salts: &salts{byDay: map[time.Time][]byte{day: []byte("today"), day.Add(-24 * time.Hour): []byte("yesterday")}}}
	v := Visitor{Addr: "203.0.113.5", UserAgent: "Mozilla/5.0"}
	before, err := s.keys(t.Context(), "jane", v, day.Add(-20*time.Minute))
	if err != nil {
		t.Fatal(err)
	}
	after, err := s.keys(t.Context(), "JANE", v, day.Add(20*time.Minute))
	if err != nil {
		t.Fatal(err)
	}
	if after.limits.PrevVisitorHash != before.hash || after.limits.PrevSourceHash != before.limits.SourceHash {
		t.Errorf("at 00:20 the previous hashes are %q/%q, want 23:40's %q/%q",
			after.limits.PrevVisitorHash, after.limits.PrevSourceHash, before.hash, before.limits.SourceHash)
	}
	if after.hash == before.hash || after.limits.SourceHash == before.limits.SourceHash {
		t.Error("the salt did not change the hashes")
	}
	later, err := s.keys(t.Context(), "jane", v, day.Add(61*time.Minute))
	if err != nil {
		t.Fatal(err)
	}
	if later.limits.PrevVisitorHash != "" || later.limits.PrevSourceHash != "" {
		t.Errorf("at 01:01 the previous hashes are %q/%q, want none", later.limits.PrevVisitorHash, later.limits.PrevSourceHash)
	}
}
