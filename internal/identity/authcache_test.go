package identity

import (
	"testing"
	"time"
)

func TestAuthCacheTTLExpiryAndForget(t *testing.T) {
	var c authCache
	now := time.Date(2026, 3, 1, 12, 0, 0, 0, time.UTC)
	p := Principal{OrgID: "org_1", UserID: "usr_1"}
	if _, ok := c.get("h", now); ok {
		t.Fatal("an empty cache answered")
	}
	c.put("h", p, now, time.Time{})
	if got, ok := c.get("h", now.Add(AuthCacheTTL-time.Millisecond)); !ok || got != p {
		t.Fatalf("within the TTL: %+v, %v", got, ok)
	}
	if _, ok := c.get("h", now.Add(AuthCacheTTL)); ok {
		t.Fatal("answered after the TTL")
	}
	// A session that expires sooner is not answered past its expiry.
	c.put("s", p, now, now.Add(100*time.Millisecond))
	if _, ok := c.get("s", now.Add(100*time.Millisecond)); ok {
		t.Fatal("answered past the session's expiry")
	}
	c.put("h", p, now, time.Time{})
	c.forget()
	if _, ok := c.get("h", now); ok {
		t.Fatal("answered after forget")
	}
}
