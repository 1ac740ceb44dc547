package webhooks

import (
	"context"
	"errors"
	"fmt"
	"net"
	"net/http"
	"net/netip"
	"net/url"
	"strings"
	"syscall"
	"time"
)

// ErrForbiddenTarget is wrapped by every refusal of a target address.
var ErrForbiddenTarget = errors.New("webhooks: forbidden target")

// CheckURL validates an endpoint URL when it is saved: absolute http or
// https, a host, no credentials, and — unless allowPrivate — a host that
// is not a literal private, loopback or otherwise non-public address, nor
// "localhost". Names are checked again, resolved, at every dial
// (SafeDialer), since DNS can change between saving and sending.
func CheckURL(raw string, allowPrivate bool) (*url.URL, error) {
	u, err := url.Parse(strings.TrimSpace(raw))
	if err != nil || !u.IsAbs() || u.Host == "" {
		return nil, fmt.Errorf("%w: %q is not an absolute URL", ErrForbiddenTarget, raw)
	}
	if u.Scheme != "http" && u.Scheme != "https" {
		return nil, fmt.Errorf("%w: scheme %q (only http and https)", ErrForbiddenTarget, u.Scheme)
	}
	if u.User != nil {
		return nil, fmt.Errorf("%w: credentials in the URL", ErrForbiddenTarget)
	}
	if len(raw) > 2000 {
		return nil, fmt.Errorf("%w: URL longer than 2000 characters", ErrForbiddenTarget)
	}
	host := u.Hostname()
	if allowPrivate {
		return u, nil
	}
	if h := strings.ToLower(strings.TrimSuffix(host, ".")); h == "localhost" || strings.HasSuffix(h, ".localhost") {
		return nil, fmt.Errorf("%w: %s is this machine", ErrForbiddenTarget, host)
	}
	if ip, err := netip.ParseAddr(host); err == nil {
		if err := checkAddr(ip); err != nil {
			return nil, err
		}
	}
	return u, nil
}

// checkAddr refuses every address that is not public unicast.
func checkAddr(ip netip.Addr) error {
	ip = ip.Unmap()
	if !ip.IsValid() || ip.IsLoopback() || ip.IsPrivate() || ip.IsLinkLocalUnicast() || ip.IsLinkLocalMulticast() ||
		ip.IsMulticast() || ip.IsInterfaceLocalMulticast() || ip.IsUnspecified() || !ip.IsGlobalUnicast() ||
		reserved(ip) {
		return fmt.Errorf("%w: %s is not a public address", ErrForbiddenTarget, ip)
	}
	return nil
}

// reservedPrefixes are ranges IsPrivate and friends do not cover: carrier-
// grade NAT, benchmarking, documentation, the IPv4 "this network" and
// reserved blocks, NAT64 and the IPv6 documentation prefix.
var reservedPrefixes = []netip.Prefix{
	netip.MustParsePrefix("0.0.0.0/8"),
	netip.MustParsePrefix("100.64.0.0/10"),
	netip.MustParsePrefix("192.0.0.0/24"),
	netip.MustParsePrefix("192.0.2.0/24"),
	netip.MustParsePrefix("198.18.0.0/15"),
	netip.MustParsePrefix("198.51.100.0/24"),
	netip.MustParsePrefix("203.0.113.0/24"),
	netip.MustParsePrefix("240.0.0.0/4"),
	netip.MustParsePrefix("64:ff9b::/96"),
	netip.MustParsePrefix("64:ff9b:1::/48"),
	netip.MustParsePrefix("2001:db8::/32"),
}

func reserved(ip netip.Addr) bool {
	for _, p := range reservedPrefixes {
		if p.Contains(ip) {
			return true
		}
	}
	return false
}

// SafeDialer returns a dialer whose Control refuses, after DNS resolution
// and for every address tried, connections to non-public addresses (unless
// allowPrivate) and to anything but TCP.
func SafeDialer(timeout time.Duration, allowPrivate bool) *net.Dialer {
	return &net.Dialer{
		Timeout: timeout,
		Control: func(network, address string, _ syscall.RawConn) error {
			if network != "tcp4" && network != "tcp6" {
				return fmt.Errorf("%w: network %s", ErrForbiddenTarget, network)
			}
			if allowPrivate {
				return nil
			}
			ap, err := netip.ParseAddrPort(address)
			if err != nil {
				return fmt.Errorf("%w: %s: %v", ErrForbiddenTarget, address, err)
			}
			return checkAddr(ap.Addr())
		},
	}
}

// NewClient returns the HTTP client deliveries use: the SafeDialer, no
// proxy (a proxy would dial on our behalf, unchecked), no redirects (a
// redirect could point anywhere; a 3xx counts as a failure), and timeout
// for the whole request.
func NewClient(timeout time.Duration, allowPrivate bool) *http.Client {
	d := SafeDialer(timeout, allowPrivate)
	tr := &http.Transport{
		Proxy:                 nil,
		DialContext:           func(ctx context.Context, n, a string) (net.Conn, error) { return d.DialContext(ctx, n, a) },
		TLSHandshakeTimeout:   timeout,
		ResponseHeaderTimeout: timeout,
		MaxIdleConnsPerHost:   4,
		IdleConnTimeout:       30 * time.Second,
	}
	return &http.Client{
		Transport:     tr,
		Timeout:       timeout,
		CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse },
	}
}
