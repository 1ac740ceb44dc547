package httpapi_test

import (
	"fmt"
	"net/http"
	"strconv"
	"testing"
	"time"

	"github.com/partnerloop/partnerloop/internal/apptest"
	"github.com/partnerloop/partnerloop/internal/identity"
)

// Addresses of the sign-in tests: an attacker's and the admin's.
const (
	addrA = "203.0.113.10"
	addrB = "198.51.100.20"
)

func login(t *testing.T, e *apptest.Env, addr, email, password string) *apptest.Response {
	t.Helper()
	return e.DoFrom(t, addr, "POST", "/v1/auth/login", "", map[string]string{"email": email, "password": password})
}

// retryAfter checks a 429 rate_limited answer and returns its Retry-After.
func retryAfter(t *testing.T, r *apptest.Response) time.Duration {
	t.Helper()
	wantProblem(t, r, http.StatusTooManyRequests, "rate_limited")
	s, err := strconv.Atoi(r.Header.Get("Retry-After"))
	if err != nil || s < 1 {
		t.Fatalf("Retry-After = %q, want a positive number of seconds", r.Header.Get("Retry-After"))
	}
	if r.JSON()["retryAfter"] != float64(s) {
		t.Fatalf("retryAfter member %v, header %d", r.JSON()["retryAfter"], s)
	}
	return time.Duration(s) * time.Second
}

// guess is a wrong password from addr that waits out every 429 first, as a
// patient attacker would; it returns how long it waited.
func guess(t *testing.T, e *apptest.Env, addr, email string, i int) time.Duration {
	t.Helper()
	var waited time.Duration
	for {
		r := login(t, e, addr, email, fmt.Sprintf("guess-%d", i))
		if r.Status == http.StatusUnauthorized {
			return waited
		}
		w := retryAfter(t, r)
		waited += w
		e.Clock.Advance(w)
	}
}

// TestAttackerCannotLockTheAdminOut replays the security review's attack:
// wrong passwords for the admin used to lock the account for everyone.
// Fifty quick ones from address A are 5 tries and 45 refusals, and the
// admin still signs in from B at once. Fifty that wait out every slowdown,
// so that all fifty count, lock A — and B still signs in.
func TestAttackerCannotLockTheAdminOut(t *testing.T) {
	e := apptest.New(t)
	counts := map[int]int{}
	for i := range 50 {
		counts[login(t, e, addrA, apptest.AdminEmail, fmt.Sprint("guess-", i)).Status]++
	}
	wantStatus(t, login(t, e, addrB, apptest.AdminEmail, apptest.AdminPassword), http.StatusOK)
	free := int(identity.SignInPerAccountAddress.Free)
	if counts[http.StatusUnauthorized] != free || counts[http.StatusTooManyRequests] != 50-free {
		t.Fatalf("50 quick guesses: %v, want %d × 401 and the rest 429", counts, free)
	}

	e = apptest.New(t)
	for i := range 50 {
		guess(t, e, addrA, apptest.AdminEmail, i)
	}
	wantStatus(t, login(t, e, addrB, apptest.AdminEmail, apptest.AdminPassword), http.StatusOK)
	// A itself is locked: even the right password waits there.
	if w := retryAfter(t, login(t, e, addrA, apptest.AdminEmail, apptest.AdminPassword)); w != identity.SignInPerAccountAddress.Lock {
		t.Fatalf("A waits %v, want the lock (%v)", w, identity.SignInPerAccountAddress.Lock)
	}
}

// TestSuccessfulSignInsDoNotUseUpTheLimit: successes are not counted, and a
// success forgets the account's failures from that address.
func TestSuccessfulSignInsDoNotUseUpTheLimit(t *testing.T) {
	e := apptest.New(t)
	for i := range 30 {
		if r := login(t, e, addrA, apptest.AdminEmail, apptest.AdminPassword); r.Status != http.StatusOK {
			t.Fatalf("sign-in %d in a row: %d %s", i+1, r.Status, r.Body)
		}
	}
	// Typos now and then never add up: each success resets them, for the
	// account and for the address (15 × 4 typos are more than the
	// address's free failures).
	for round := range 15 {
		for i := range identity.SignInPerAccountAddress.Free - 1 {
			if r := login(t, e, addrA, apptest.AdminEmail, "typo"); r.Status != http.StatusUnauthorized {
				t.Fatalf("round %d, typo %d: %d %s", round, i+1, r.Status, r.Body)
			}
		}
		wantStatus(t, login(t, e, addrA, apptest.AdminEmail, apptest.AdminPassword), http.StatusOK)
	}
}

// TestFailuresSlowDownThenLock: after the free failures each further
// attempt from the address waits, twice as long each time, up to the lock;
// the refusals themselves do not count; a success after the wait resets.
func TestFailuresSlowDownThenLock(t *testing.T) {
	e := apptest.New(t)
	p := identity.SignInPerAccountAddress
	for range p.Free {
		wantStatus(t, login(t, e, addrA, apptest.AdminEmail, "wrong"), http.StatusUnauthorized)
	}
	want := time.Second
	for n := p.Free; n < p.LockedAt()+2; n++ {
		r := login(t, e, addrA, apptest.AdminEmail, "wrong")
		if w := retryAfter(t, r); w != min(want, p.Lock) {
			t.Fatalf("after %d failures: Retry-After %v, want %v", n, w, min(want, p.Lock))
		}
		// Early retries, even with the right password, are refused and
		// not counted.
		retryAfter(t, login(t, e, addrA, apptest.AdminEmail, apptest.AdminPassword))
		e.Clock.Advance(min(want, p.Lock))
		wantStatus(t, login(t, e, addrA, apptest.AdminEmail, "wrong"), http.StatusUnauthorized)
		want *= 2
	}
	w := retryAfter(t, login(t, e, addrA, apptest.AdminEmail, apptest.AdminPassword))
	if w != p.Lock {
		t.Fatalf("locked: Retry-After %v, want %v", w, p.Lock)
	}
	e.Clock.Advance(w)
	wantStatus(t, login(t, e, addrA, apptest.AdminEmail, apptest.AdminPassword), http.StatusOK)
	// The slate is clean again.
	for range p.Free {
		wantStatus(t, login(t, e, addrA, apptest.AdminEmail, "typo"), http.StatusUnauthorized)
	}
}

// TestPasswordSprayingFromOneAddressIsSlowed: one guess at each of many
// accounts from one address is held up by the address's own record, and
// the accounts' owners elsewhere are not.
func TestPasswordSprayingFromOneAddressIsSlowed(t *testing.T) {
	e := apptest.New(t)
	free := int(identity.SignInPerAddress.Free)
	for i := range free {
		wantStatus(t, login(t, e, addrA, fmt.Sprintf("user%d@example.com", i), "Winter2026!"), http.StatusUnauthorized)
	}
	retryAfter(t, login(t, e, addrA, "another@example.com", "Winter2026!"))
	wantStatus(t, login(t, e, addrB, apptest.AdminEmail, apptest.AdminPassword), http.StatusOK)
	// A success from A gives its own attempt back but does not wipe the
	// address's record of guesses at other accounts: the next guess is
	// the 51st failure, and the one after it waits twice as long.
	e.Clock.Advance(identity.SignInPerAddress.Wait(int64(free)))
	wantStatus(t, login(t, e, addrA, apptest.AdminEmail, apptest.AdminPassword), http.StatusOK)
	wantStatus(t, login(t, e, addrA, "more@example.com", "Winter2026!"), http.StatusUnauthorized)
	if w := retryAfter(t, login(t, e, addrA, "yet-more@example.com", "Winter2026!")); w != 2*identity.SignInPerAddress.Base {
		t.Fatalf("after 51 failures from A: Retry-After %v, want %v", w, 2*identity.SignInPerAddress.Base)
	}
}

// TestDistributedAttackSlowsOnlyTheAttackingAddresses: when the account has
// many failures from many addresses, every address's failures on it are
// slowed from the first — but an address without failures, the owner's,
// signs in at once, and a success lifts the alert.
func TestDistributedAttackSlowsOnlyTheAttackingAddresses(t *testing.T) {
	e := apptest.New(t)
	for i := range identity.AccountUnderAttack {
		wantStatus(t, login(t, e, fmt.Sprintf("10.0.%d.%d", i/200, i%200+1), apptest.AdminEmail, "guess"), http.StatusUnauthorized)
	}
	wantStatus(t, login(t, e, addrA, apptest.AdminEmail, "guess"), http.StatusUnauthorized)
	if w := retryAfter(t, login(t, e, addrA, apptest.AdminEmail, "guess")); w != identity.SignInUnderAttack.Base {
		t.Fatalf("under attack, the 2nd failure from a new address waits %v, want %v", w, identity.SignInUnderAttack.Base)
	}
	wantStatus(t, login(t, e, addrB, apptest.AdminEmail, apptest.AdminPassword), http.StatusOK)
	// The alert is lifted: a fresh address gets its free failures again.
	for range identity.SignInPerAccountAddress.Free {
		wantStatus(t, login(t, e, "192.0.2.99", apptest.AdminEmail, "typo"), http.StatusUnauthorized)
	}
}

// TestIPv6SignInsAreThrottledPerSlash64: rotating through the addresses of
// one /64 does not escape the account × address record.
func TestIPv6SignInsAreThrottledPerSlash64(t *testing.T) {
	e := apptest.New(t)
	for i := range identity.SignInPerAccountAddress.Free {
		wantStatus(t, login(t, e, fmt.Sprintf("2001:db8:7:7::%x", i+1), apptest.AdminEmail, "guess"), http.StatusUnauthorized)
	}
	retryAfter(t, login(t, e, "2001:db8:7:7:ffff::1", apptest.AdminEmail, "guess"))
	wantStatus(t, login(t, e, "2001:db8:7:8::1", apptest.AdminEmail, apptest.AdminPassword), http.StatusOK)
}

// TestInvitationAcceptanceCountsFailuresOnly: refused passwords count
// against the link, unknown links against the address; an attacker's
// failures from A hold up neither the invitee at B nor another link.
func TestInvitationAcceptanceCountsFailuresOnly(t *testing.T) {
	e := apptest.New(t)
	acceptFrom := func(addr, token, password string) *apptest.Response {
		t.Helper()
		return e.DoFrom(t, addr, "POST", "/v1/invitations/accept", "", map[string]string{"token": token, "password": password})
	}
	// Probing links from A: the address is slowed after its free failures.
	for i := range identity.AcceptPerAddress.Free {
		wantProblem(t, acceptFrom(addrA, fmt.Sprintf("pli_guess-%d", i), goodPassword), http.StatusGone, "invitation_gone")
	}
	retryAfter(t, acceptFrom(addrA, "pli_guess-more", goodPassword))

	id := newPartner(t, e, "ada@acme.example")
	wantStatus(t, e.Do(t, "POST", "/v1/partners/"+id+"/invitation", e.AdminToken, nil), http.StatusOK)
	token := e.LastInvitationToken(t, "ada@acme.example")
	// The invitee at B: refused passwords count against the link, then wait.
	for range identity.AcceptPerToken.Free {
		wantProblem(t, acceptFrom(addrB, token, "short"), http.StatusUnprocessableEntity, "validation_failed")
	}
	w := retryAfter(t, acceptFrom(addrB, token, goodPassword))
	e.Clock.Advance(w)
	r := acceptFrom(addrB, token, goodPassword)
	wantStatus(t, r, http.StatusOK)
	if r.String("token") == "" {
		t.Fatal("no session token")
	}
	// Used: gone, whoever asks.
	wantProblem(t, acceptFrom("192.0.2.50", token, goodPassword), http.StatusGone, "invitation_gone")
}

// TestForwardedForIsTrustedOnlyFromConfiguredProxies: a client cannot pick
// its address with X-Forwarded-For; behind a configured proxy (TLS in front
// of the one-process server) each client keeps its own address, so an
// attacker behind the proxy cannot lock the admin out either.
func TestForwardedForIsTrustedOnlyFromConfiguredProxies(t *testing.T) {
	from := func(e *apptest.Env, peer, xff, password string) *apptest.Response {
		t.Helper()
		return apptest.DoFrom(t, e.Handler, peer, "POST", "/v1/auth/login", "",
			map[string]string{"email": apptest.AdminEmail, "password": password}, http.Header{"X-Forwarded-For": {xff}})
	}
	e := apptest.New(t)
	for i := range identity.SignInPerAccountAddress.Free {
		wantStatus(t, from(e, addrA, fmt.Sprintf("192.0.2.%d", i+1), "guess"), http.StatusUnauthorized)
	}
	retryAfter(t, from(e, addrA, "192.0.2.200", "guess")) // a new forwarded address changes nothing

	e = apptest.NewWithEnv(t, map[string]string{"TRUSTED_PROXIES": "127.0.0.1"})
	for i := range 50 {
		from(e, "127.0.0.1", addrB+", "+addrA, fmt.Sprint("guess-", i)) // forging B on the left does not make it B
	}
	retryAfter(t, from(e, "127.0.0.1", addrA, apptest.AdminPassword))
	wantStatus(t, from(e, "127.0.0.1", addrB, apptest.AdminPassword), http.StatusOK)
}
