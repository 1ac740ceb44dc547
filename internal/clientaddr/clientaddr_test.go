package clientaddr_test

import (
	"net/http/httptest"
	"testing"

	"github.com/partnerloop/partnerloop/internal/clientaddr"
)

func TestOf(t *testing.T) {
	proxies, err := clientaddr.Parse("127.0.0.1, 10.0.0.0/8, ::1")
	if err != nil {
		t.Fatal(err)
	}
	for _, tc := range []struct {
		name string
		r    clientaddr.Resolver
		peer string
		xff  []string
		want string
	}{
		{"no proxy configured: the peer, whatever the header says", clientaddr.Resolver{}, "203.0.113.9:5000", []string{"198.51.100.1"}, "203.0.113.9"},
		{"Lambda: the source IP without a port", clientaddr.Resolver{}, "203.0.113.9", nil, "203.0.113.9"},
		{"an untrusted peer's header is ignored", proxies, "203.0.113.9:5000", []string{"198.51.100.1"}, "203.0.113.9"},
		{"a trusted proxy: the address it saw", proxies, "127.0.0.1:5000", []string{"198.51.100.1"}, "198.51.100.1"},
		{"a forged left part is skipped", proxies, "127.0.0.1:5000", []string{"192.0.2.66, 198.51.100.1"}, "198.51.100.1"},
		{"through two trusted proxies", proxies, "[::1]:5000", []string{"198.51.100.1, 10.1.2.3"}, "198.51.100.1"},
		{"several header lines", proxies, "127.0.0.1:5000", []string{"192.0.2.66", "198.51.100.1"}, "198.51.100.1"},
		{"a trusted proxy without the header: the proxy", proxies, "127.0.0.1:5000", nil, "127.0.0.1"},
		{"garbage stops the walk", proxies, "127.0.0.1:5000", []string{"198.51.100.1, nonsense, 10.0.0.2"}, "10.0.0.2"},
		{"IPv4-mapped IPv6", proxies, "[::ffff:127.0.0.1]:5000", []string{"::ffff:198.51.100.1"}, "198.51.100.1"},
	} {
		req := httptest.NewRequest("GET", "/", nil)
		req.RemoteAddr = tc.peer
		for _, v := range tc.xff {
			req.Header.Add("X-Forwarded-For", v)
		}
		if got := tc.r.Of(req); got != tc.want {
			t.Errorf("%s: Of = %q, want %q", tc.name, got, tc.want)
		}
	}
}

func TestParse(t *testing.T) {
	if _, err := clientaddr.Parse(""); err != nil {
		t.Errorf("empty: %v", err)
	}
	for _, bad := range []string{"localhost", "10.0.0.0/33", "1.2.3"} {
		if _, err := clientaddr.Parse(bad); err == nil {
			t.Errorf("Parse(%q) accepted", bad)
		}
	}
}
