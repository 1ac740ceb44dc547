package store

import (
	"errors"
	"time"

	"github.com/partnerloop/partnerloop/internal/domain"
)

// Match narrows the staff lists of people (referrals, referrers, and
// conversions through their referral) by search and date, the same way on
// every adapter.
type Match struct {
	// Search is a term as domain.SearchTerm normalises it: a record
	// matches when the term is a prefix of one of its domain.SearchWords
	// (its normalised e-mail, or its name from any word on). "" matches
	// every record. Adapters serve it from an index of the words written
	// with the record; a term that matches more than MaxSearchMatches
	// records of the list's kind is ErrTooBroad.
	Search string
	// From and To bound the list's date (referrals and referrers:
	// CreatedAt; conversions: OccurredAt) to [From, To); zero: open.
	From, To time.Time
}

// MaxSearchMatches is the most records a search term may match (before
// the list's other filters): what a search reads and orders, bounded.
const MaxSearchMatches = 1000

// ErrTooBroad: the search term matches more than MaxSearchMatches records.
var ErrTooBroad = errors.New("store: search term too broad")

// MaxCount is where a count stops: Count* methods count up to MaxCount
// matches and then report more.
const MaxCount = 10000

// InRange reports whether t is in [m.From, m.To).
func (m Match) InRange(t time.Time) bool {
	return (m.From.IsZero() || !t.Before(m.From)) && (m.To.IsZero() || t.Before(m.To))
}

// Matches reports whether a record named name with the address email, at
// time t, matches m: what every adapter's index and filters compute.
func (m Match) Matches(name, email string, t time.Time) bool {
	return m.InRange(t) && domain.SearchMatch(m.Search, name, email)
}

// ReferrerFilter narrows ListReferrersMatching; empty fields match
// everything.
type ReferrerFilter struct {
	ProgramID string
	Match
}
