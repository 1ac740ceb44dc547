// Package clientaddr says which address a request came from, for the
// per-address protections (sign-in throttles, click counting).
//
// By default it is the request's peer: the TCP peer of the one-process
// server, or the source IP API Gateway saw (the Lambda adapter puts it in
// RemoteAddr). X-Forwarded-For is trusted only from configured proxies
// (TRUSTED_PROXIES): a client could otherwise name any address it likes
// and escape every per-address limit, or pin its failures on someone
// else's address.
package clientaddr

import (
	"fmt"
	"net"
	"net/http"
	"net/netip"
	"strings"
)

// Resolver finds a request's client address. The zero Resolver trusts no
// proxy.
type Resolver struct {
	trusted []netip.Prefix
}

// Parse reads a comma-separated list of trusted proxies, each an address
// or a CIDR prefix ("127.0.0.1, 10.0.0.0/8"); empty trusts none.
func Parse(list string) (Resolver, error) {
	var r Resolver
	for _, s := range strings.Split(list, ",") {
		s = strings.TrimSpace(s)
		if s == "" {
			continue
		}
		if !strings.Contains(s, "/") {
			a, err := netip.ParseAddr(s)
			if err != nil {
				return Resolver{}, fmt.Errorf("%q is not an address or a prefix such as 10.0.0.0/8", s)
			}
			a = a.Unmap()
			s = netip.PrefixFrom(a, a.BitLen()).String()
		}
		p, err := netip.ParsePrefix(s)
		if err != nil {
			return Resolver{}, fmt.Errorf("%q is not an address or a prefix such as 10.0.0.0/8", s)
		}
		r.trusted = append(r.trusted, p.Masked())
	}
	return r, nil
}

func (r Resolver) isTrusted(a netip.Addr) bool {
	a = a.Unmap()
	for _, p := range r.trusted {
		if p.Contains(a) {
			return true
		}
	}
	return false
}

// Of is the client address of req: its peer, unless the peer is a trusted
// proxy — then the nearest address in X-Forwarded-For (read from the
// right) that is not a trusted proxy itself. A proxy appends the address
// it saw, so entries to the left of it are whatever the client sent.
func (r Resolver) Of(req *http.Request) string {
	peer := req.RemoteAddr
	if host, _, err := net.SplitHostPort(peer); err == nil {
		peer = host
	}
	p, err := netip.ParseAddr(peer)
	if err != nil || !r.isTrusted(p) {
		return peer
	}
	hops := strings.Split(strings.Join(req.Header.Values("X-Forwarded-For"), ","), ",")
	for i := len(hops) - 1; i >= 0; i-- {
		a, err := netip.ParseAddr(strings.TrimSpace(hops[i]))
		if err != nil {
			break // not an address: nothing further left can be trusted
		}
		if !r.isTrusted(a) {
			return a.Unmap().String()
		}
		peer = a.Unmap().String()
	}
	return peer
}
