package identity

import (
	"sync"
	"time"
)

// AuthCacheTTL is how long Authenticate answers a token it resolved from
// memory instead of reading the session (or API key) and its user again.
// A change made through this Service — sign-out, a deleted API key, a
// disabled user or a changed role, revoked portal access, a password set
// through an invitation — drops the cache at once; one made by another
// process (another Lambda instance) is seen within the TTL.
const AuthCacheTTL = time.Second

// maxAuthCache bounds the tokens remembered; past it the cache starts
// over.
const maxAuthCache = 10_000

// authCache remembers resolved tokens by their hash. Failures are never
// remembered: every unknown token is looked up.
type authCache struct {
	mu sync.Mutex
	m  map[string]cachedPrincipal
}

type cachedPrincipal struct {
	p     Principal
	until time.Time
}

func (c *authCache) get(hash string, now time.Time) (Principal, bool) {
	c.mu.Lock()
	defer c.mu.Unlock()
	e, ok := c.m[hash]
	if !ok || !now.Before(e.until) {
		return Principal{}, false
	}
	return e.p, true
}

// put remembers p for hash until AuthCacheTTL after now, or expires if
// that is earlier (the zero time: no expiry of its own).
func (c *authCache) put(hash string, p Principal, now, expires time.Time) {
	until := now.Add(AuthCacheTTL)
	if !expires.IsZero() && expires.Before(until) {
		until = expires
	}
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.m == nil || len(c.m) >= maxAuthCache {
		c.m = map[string]cachedPrincipal{}
	}
	c.m[hash] = cachedPrincipal{p: p, until: until}
}

// forget drops every remembered token.
func (c *authCache) forget() {
	c.mu.Lock()
	defer c.mu.Unlock()
	clear(c.m)
}
