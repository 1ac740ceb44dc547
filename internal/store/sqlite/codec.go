package sqlite

import (
	"encoding/base64"
	"encoding/json"
	"fmt"
	"strings"
	"time"
	"unicode"
	"unicode/utf8"

	"github.com/partnerloop/partnerloop/internal/domain"
	"github.com/partnerloop/partnerloop/internal/store"
)

// tsLayout is RFC 3339 with nanoseconds at a fixed width, always in UTC, so
// stored timestamps sort lexically and read back equal to what was written.
const tsLayout = "2006-01-02T15:04:05.000000000Z07:00"

func formatTime(t time.Time) string { return t.UTC().Format(tsLayout) }

func parseTime(s string) (time.Time, error) {
	t, err := time.Parse(time.RFC3339Nano, s)
	if err != nil {
		return time.Time{}, fmt.Errorf("sqlite: bad timestamp %q: %w", s, err)
	}
	return t.UTC(), nil
}

// utc returns t in UTC without a monotonic reading: what the store hands
// back for any time it was given.
func utc(t time.Time) time.Time { return t.UTC() }

func utcPtr(t *time.Time) *time.Time {
	if t == nil {
		return nil
	}
	u := t.UTC()
	return &u
}

// cursorPrefix marks cursors this adapter issued, so a made-up string is
// refused instead of being read as an id.
const cursorPrefix = "sq1:"

// encodeCursor turns the last id of a page into an opaque cursor.
func encodeCursor(lastID string) string {
	return base64.RawURLEncoding.EncodeToString([]byte(cursorPrefix + lastID))
}

// decodeCursor returns the id a cursor stands for, or store.ErrBadCursor.
func decodeCursor(c string) (string, error) {
	b, err := base64.RawURLEncoding.DecodeString(c)
	if err != nil {
		return "", store.ErrBadCursor
	}
	s := string(b)
	id, ok := strings.CutPrefix(s, cursorPrefix)
	if !ok || id == "" || !utf8.ValidString(id) || strings.IndexFunc(id, unicode.IsControl) >= 0 {
		return "", store.ErrBadCursor
	}
	return id, nil
}

func marshal(v any) (string, error) {
	b, err := json.Marshal(v)
	if err != nil {
		return "", fmt.Errorf("sqlite: encode record: %w", err)
	}
	return string(b), nil
}

func unmarshal(data string, v any) error {
	if err := json.Unmarshal([]byte(data), v); err != nil {
		return fmt.Errorf("sqlite: decode record: %w", err)
	}
	return nil
}

// The norm* functions put every time of a record in UTC before it is stored,
// so what is read back is == to what was written (after .UTC()).

func normOrg(o domain.Organization) domain.Organization {
	o.CreatedAt = utc(o.CreatedAt)
	o.UpdatedAt = utc(o.UpdatedAt)
	return o
}

func normUser(u domain.User) domain.User {
	u.CreatedAt = utc(u.CreatedAt)
	u.UpdatedAt = utc(u.UpdatedAt)
	return u
}

func normSession(s domain.Session) domain.Session {
	s.CreatedAt = utc(s.CreatedAt)
	s.ExpiresAt = utc(s.ExpiresAt)
	return s
}

func normAPIKey(k domain.APIKey) domain.APIKey {
	k.CreatedAt = utc(k.CreatedAt)
	return k
}

func normProgram(p domain.Program) domain.Program {
	p.StartsAt = utc(p.StartsAt)
	p.EndsAt = utcPtr(p.EndsAt)
	p.CreatedAt = utc(p.CreatedAt)
	p.UpdatedAt = utc(p.UpdatedAt)
	if p.RuleVersions != nil {
		rv := make([]domain.RuleVersion, len(p.RuleVersions))
		copy(rv, p.RuleVersions)
		for i := range rv {
			rv[i].EffectiveFrom = utc(rv[i].EffectiveFrom)
		}
		p.RuleVersions = rv
	}
	return p
}

func normReferrer(r domain.Referrer) domain.Referrer {
	r.CreatedAt = utc(r.CreatedAt)
	return r
}

func normClick(c domain.Click) domain.Click {
	c.At = utc(c.At)
	return c
}

func normReferral(r domain.Referral) domain.Referral {
	r.CreatedAt = utc(r.CreatedAt)
	r.ConvertedAt = utcPtr(r.ConvertedAt)
	r.UpdatedAt = utc(r.UpdatedAt)
	return r
}

func normConversion(c domain.Conversion) domain.Conversion {
	c.OccurredAt = utc(c.OccurredAt)
	c.CreatedAt = utc(c.CreatedAt)
	return c
}
