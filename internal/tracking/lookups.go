package tracking

import (
	"context"
	"sync"
	"time"

	"github.com/partnerloop/partnerloop/internal/domain"
)

// LookupTTL is how long a process keeps a link's referrer and a program
// once read: the redirect and conversions then read them from memory. A
// program paused or edited elsewhere (another Lambda instance) is seen
// within this time; in the process that makes the change, Forget drops the
// copies at once.
const LookupTTL = 500 * time.Millisecond

// maxLookups bounds each cache's entries; when full it starts over.
const maxLookups = 10_000

// lookups caches referrers by code and programs by organization and ID.
// Misses are not cached: a code enrolled a moment ago works at once.
type lookups struct {
	mu       sync.Mutex
	referrer map[string]cached[domain.Referrer] // by domain.CodeKey
	program  map[[2]string]cached[domain.Program]
}

type cached[T any] struct {
	v  T
	at time.Time
}

// fresh reports whether an entry read at at may still be used at now (a
// clock that went back counts as stale).
func fresh(at, now time.Time) bool {
	age := now.Sub(at)
	return age >= 0 && age < LookupTTL
}

// Forget drops every cached referrer and program, so that a change made in
// this process is seen by its next request.
func (s *Service) Forget() {
	s.lookups.mu.Lock()
	defer s.lookups.mu.Unlock()
	s.lookups.referrer, s.lookups.program = nil, nil
}

func (s *Service) referrerByCode(ctx context.Context, code string) (domain.Referrer, error) {
	key, now := domain.CodeKey(code), s.now()
	l := &s.lookups
	l.mu.Lock()
	c, ok := l.referrer[key]
	l.mu.Unlock()
	if ok && fresh(c.at, now) {
		return c.v, nil
	}
	r, err := s.store.GetReferrerByCode(ctx, code)
	if err != nil {
		return r, err
	}
	l.mu.Lock()
	if l.referrer == nil || len(l.referrer) >= maxLookups {
		l.referrer = map[string]cached[domain.Referrer]{}
	}
	l.referrer[key] = cached[domain.Referrer]{r, now}
	l.mu.Unlock()
	return r, nil
}

func (s *Service) program(ctx context.Context, orgID, id string) (domain.Program, error) {
	key, now := [2]string{orgID, id}, s.now()
	l := &s.lookups
	l.mu.Lock()
	c, ok := l.program[key]
	l.mu.Unlock()
	if ok && fresh(c.at, now) {
		return c.v, nil
	}
	p, err := s.store.GetProgram(ctx, orgID, id)
	if err != nil {
		return p, err
	}
	l.mu.Lock()
	if l.program == nil || len(l.program) >= maxLookups {
		l.program = map[[2]string]cached[domain.Program]{}
	}
	l.program[key] = cached[domain.Program]{p, now}
	l.mu.Unlock()
	return p, nil
}
