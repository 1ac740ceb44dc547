package identity

import (
	"context"
	"errors"
	"time"

	"github.com/partnerloop/partnerloop/internal/domain"
	"github.com/partnerloop/partnerloop/internal/ratelimit"
	"github.com/partnerloop/partnerloop/internal/store"
)

// Sign-in protection (README, "Sign-in protection"). Only failures count —
// a wrong password, an unknown email, a used or unknown invitation link, a
// refused new password — and each attempt is counted as a failure before it
// is tried and given back when it was not one, so that a burst of
// concurrent guesses cannot slip through on the same count.
//
// Sign-in keeps three records, each in the store:
//
//   - account × address: SignInPerAccountAddress. A success resets it. It
//     is what slows and then locks a guesser — and only the guesser's
//     address: the account is never locked for other addresses.
//   - address: SignInPerAddress, every account together (password
//     spraying). A success takes off the address's record its own attempt
//     and the account's earlier failures from that address (the owner's
//     typos), but not the failures on other accounts, or one valid account
//     would launder any number of guesses at others.
//   - account: failures from every address, a ceiling that never locks.
//     From AccountUnderAttack failures on, the account × address records
//     get no free failures (SignInUnderAttack), which slows an attacker
//     spread over many addresses, while an address with no failures for
//     the account — the owner's — still signs in at once. A success resets
//     it.
//
// Invitation acceptance keeps two: per address (AcceptPerAddress) and per
// link (AcceptPerToken); a success uses the link up and gives the address
// its attempt back.
var (
	SignInPerAccountAddress = ratelimit.Policy{Free: 5, Base: time.Second, Lock: 15 * time.Minute, Forget: 24 * time.Hour}
	SignInUnderAttack       = ratelimit.Policy{Free: 1, Base: time.Second, Lock: 15 * time.Minute, Forget: 24 * time.Hour}
	SignInPerAddress        = ratelimit.Policy{Free: 50, Base: time.Second, Lock: time.Hour, Forget: 24 * time.Hour}
	// SignInPerAccount only counts (Fail); its Forget is what matters.
	SignInPerAccount = ratelimit.Policy{Forget: 24 * time.Hour}

	AcceptPerAddress = ratelimit.Policy{Free: 20, Base: time.Second, Lock: time.Hour, Forget: 24 * time.Hour}
	AcceptPerToken   = ratelimit.Policy{Free: 10, Base: time.Second, Lock: 15 * time.Minute, Forget: 24 * time.Hour}
)

// AccountUnderAttack is how many failures of one account, from all
// addresses together, make its account × address records strict.
const AccountUnderAttack = 100

// protection holds the throttles of sign-in and invitation acceptance.
type protection struct {
	signInPair, signInAddr, signInAccount *ratelimit.Throttle
	acceptAddr, acceptToken               *ratelimit.Throttle
}

func newProtection(st store.Throttles, now domain.Clock) protection {
	return protection{
		signInPair:    ratelimit.NewThrottle(st, now, "signin-account-address", SignInPerAccountAddress),
		signInAddr:    ratelimit.NewThrottle(st, now, "signin-address", SignInPerAddress),
		signInAccount: ratelimit.NewThrottle(st, now, "signin-account", SignInPerAccount),
		acceptAddr:    ratelimit.NewThrottle(st, now, "accept-address", AcceptPerAddress),
		acceptToken:   ratelimit.NewThrottle(st, now, "accept-token", AcceptPerToken),
	}
}

// signInAttempt is one sign-in attempt under way: its address and
// account × address attempts, counted as failures until it ends.
type signInAttempt struct {
	p            *protection
	email, pair  string
	addr, inPair *ratelimit.Attempt
}

// beginSignIn refuses (429) an attempt that must wait, else counts it.
func (p *protection) beginSignIn(ctx context.Context, email, clientAddr string) (*signInAttempt, error) {
	addr := ratelimit.AddressKey(clientAddr)
	a := &signInAttempt{p: p, email: email, pair: email + "\x00" + addr}
	pair := p.signInPair
	n, err := p.signInAccount.Failures(ctx, email)
	if err != nil {
		return nil, err
	}
	if n >= AccountUnderAttack {
		pair = pair.With(SignInUnderAttack)
	}
	if a.addr, err = p.signInAddr.Begin(ctx, addr); err != nil {
		// Say the longest wait: the account × address may be locked longer.
		return nil, longestWait(ctx, err, pair, a.pair)
	}
	if a.inPair, err = pair.Begin(ctx, a.pair); err != nil {
		return nil, errors.Join(longestWait(ctx, err, p.signInAddr, addr), a.addr.Undo(ctx))
	}
	return a, nil
}

// longestWait is refused — a rate limit of one throttle — or the other
// throttle's wait under key when that is longer.
func longestWait(ctx context.Context, refused error, other *ratelimit.Throttle, key string) error {
	e, ok := domain.AsError(refused)
	if !ok || e.Kind != domain.KindRateLimited {
		return refused
	}
	w, err := other.Wait(ctx, key)
	if err != nil {
		return err
	}
	if secs, _ := e.Extra["retryAfter"].(int); w > time.Duration(secs)*time.Second {
		return ratelimit.Limited(w)
	}
	return refused
}

// failed ends the attempt as a failure: it stays counted, and the
// account's ceiling counts it too.
func (a *signInAttempt) failed(ctx context.Context) error {
	_, err := a.p.signInAccount.Fail(ctx, a.email)
	return err
}

// undo ends an attempt that failed on our side: nothing is counted.
func (a *signInAttempt) undo(ctx context.Context) error {
	return errors.Join(a.addr.Undo(ctx), a.inPair.Undo(ctx))
}

// succeeded ends a successful sign-in: the account's records are reset,
// and the address gets back this attempt and the account's earlier
// failures from it — the owner's own typos — but keeps every other.
func (a *signInAttempt) succeeded(ctx context.Context) error {
	return errors.Join(a.addr.UndoAnd(ctx, a.inPair.Before()),
		a.p.signInPair.Reset(ctx, a.pair), a.p.signInAccount.Reset(ctx, a.email))
}

// noThrottles is the store.Throttles of a store that keeps none: every
// protected call fails closed.
type noThrottles struct{}

var errNoThrottles = errors.New("identity: the store keeps no sign-in throttles")

func (noThrottles) GetThrottle(context.Context, string, time.Time) (store.Throttle, error) {
	return store.Throttle{}, errNoThrottles
}
func (noThrottles) SetThrottle(context.Context, string, int64, time.Time, store.Throttle) error {
	return errNoThrottles
}
func (noThrottles) DeleteThrottle(context.Context, string) error { return errNoThrottles }
