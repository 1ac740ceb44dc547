package tracking

import (
	"context"
	"crypto/hmac"
	"crypto/rand"
	"crypto/sha256"
	"encoding/hex"
	"hash"
	"io"
	"net/netip"
	"sync"
	"time"

	"github.com/partnerloop/partnerloop/internal/domain"
	"github.com/partnerloop/partnerloop/internal/store"
)

// Limits on counting clicks, against inflated counts. A redirect always
// happens; these only decide whether it counts.
const (
	// ClicksPerAddress is how many clicks one address counts per link in
	// each (clock) hour, however many browsers it claims to be.
	ClicksPerAddress = 10
	// CountedRedirectsPerAddress bounds the counting attempts one address
	// makes one process perform per RedirectWindow, across every link.
	CountedRedirectsPerAddress = 60
	RedirectWindow             = time.Minute
	// maxLimitedAddresses bounds the in-process limiter's memory.
	maxLimitedAddresses = 100_000
)

// saltLife is how long a day's salt is kept: through the next day, whose
// first hour still needs it to recognise a visitor counted before
// midnight. After that it is deleted, and hashes made with it can no
// longer be linked to an address.
const saltLife = 48 * time.Hour

// salts are the random daily salts of visitor hashes. The store holds one
// per day (the first process to ask creates it, every other one gets the
// same); each process keeps the two it needs in memory, so the redirect
// asks the store about a salt once per day per process.
type salts struct {
	store store.Store

	mu    sync.Mutex
	byDay map[time.Time][]byte
}

// of returns the salt of the UTC day starting at day.
func (s *salts) of(ctx context.Context, day time.Time) ([]byte, error) {
	s.mu.Lock()
	b, ok := s.byDay[day]
	s.mu.Unlock()
	if ok {
		return b, nil
	}
	candidate := make([]byte, 32)
	rand.Read(candidate) // never fails (crypto/rand)
	b, err := s.store.DaySalt(ctx, day, candidate, day.Add(saltLife))
	if err != nil {
		return nil, err
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.byDay == nil {
		s.byDay = map[time.Time][]byte{}
	}
	for d := range s.byDay {
		if d.Before(day.Add(-24 * time.Hour)) {
			delete(s.byDay, d)
		}
	}
	s.byDay[day] = b
	return b, nil
}

// visitorKeys are what RecordClick needs to know about a visitor: its hash
// and the limits, with the address's hash.
type visitorKeys struct {
	hash   string
	limits store.ClickLimits
}

// keys hashes the visitor with today's salt and, in the first ClickWindow
// of a day, with yesterday's too, so that a visit straddling midnight is
// still one visitor.
func (s *Service) keys(ctx context.Context, code string, v Visitor, now time.Time) (visitorKeys, error) {
	day := now.UTC().Truncate(24 * time.Hour)
	salt, err := s.salts.of(ctx, day)
	if err != nil {
		return visitorKeys{}, err
	}
	k := visitorKeys{hash: visitorHash(salt, code, v), limits: store.ClickLimits{
		Window: ClickWindow, SourceHash: sourceHash(salt, code, v), PerSource: ClicksPerAddress,
	}}
	if now.Sub(day) < ClickWindow {
		prev, err := s.salts.of(ctx, day.Add(-24*time.Hour))
		if err != nil {
			return visitorKeys{}, err
		}
		k.limits.PrevVisitorHash = visitorHash(prev, code, v)
		k.limits.PrevSourceHash = sourceHash(prev, code, v)
	}
	return k, nil
}

// visitorHash identifies a visitor for click de-duplication without storing
// their address or browser: a keyed hash of code, address and user agent.
func visitorHash(salt []byte, code string, v Visitor) string {
	return keyed(salt, "visitor", domain.CodeKey(code), v.Addr, v.UserAgent)
}

// sourceHash identifies the visitor's address (whatever its browser) for
// the per-address limit.
func sourceHash(salt []byte, code string, v Visitor) string {
	return keyed(salt, "source", domain.CodeKey(code), sourceOf(v.Addr))
}

func keyed(salt []byte, parts ...string) string {
	pool := hmacsOf(salt)
	m := pool.Get().(hash.Hash)
	m.Reset()
	for _, p := range parts {
		io.WriteString(m, p)
		m.Write([]byte{0})
	}
	var sum [sha256.Size]byte
	out := hex.EncodeToString(m.Sum(sum[:0])[:16])
	pool.Put(m)
	return out
}

// hmacs pools each salt's keyed hashes: hmac.New hashes the key into its
// pads on every call, a Reset returns a used one to that state. A process
// uses two salts a day; older ones are dropped.
var hmacs struct {
	mu     sync.Mutex
	bySalt map[string]*sync.Pool
}

const maxPooledSalts = 4

func hmacsOf(salt []byte) *sync.Pool {
	hmacs.mu.Lock()
	defer hmacs.mu.Unlock()
	if p, ok := hmacs.bySalt[string(salt)]; ok {
		return p
	}
	if hmacs.bySalt == nil || len(hmacs.bySalt) >= maxPooledSalts {
		hmacs.bySalt = map[string]*sync.Pool{}
	}
	key := append([]byte(nil), salt...)
	p := &sync.Pool{New: func() any { return hmac.New(sha256.New, key) }}
	hmacs.bySalt[string(salt)] = p
	return p
}

// sourceOf is the address that limits count against: an IPv4 address, or
// the /64 an IPv6 address is in (one subscriber usually has a whole /64,
// so per-address limits on single IPv6 addresses would not hold).
func sourceOf(addr string) string {
	a, err := netip.ParseAddr(addr)
	if err != nil {
		return addr
	}
	a = a.Unmap()
	if a.Is6() {
		p, _ := a.Prefix(64)
		return p.String()
	}
	return a.String()
}
