package analytics

import (
	"encoding/json"
	"fmt"
	"strconv"
	"time"

	"github.com/partnerloop/partnerloop/internal/commission"
	"github.com/partnerloop/partnerloop/internal/domain"
	"github.com/partnerloop/partnerloop/internal/store"
)

// The fold reads each image into a slim view: the record's own JSON names,
// only the fields the fold uses. A view is read by a small scanner that
// takes the common shape of the images the stores write (an object with
// exactly named members, ASCII strings without escapes) and declines
// anything else — a name that differs only in case, a repeated member, an
// escape, a value of an unexpected type, malformed JSON — for which the
// image is decoded with encoding/json into the same view, so every image
// gives what encoding/json gives (TestViewsDecodeAsEncodingJSON pins it).

// attribution is the program, referrer and partner of a record's image
// (domain.Click, Referral, Conversion, commission.Commission).
type attribution struct {
	ProgramID  string `json:"programId"`
	ReferrerID string `json:"referrerId"`
	PartnerID  string `json:"partnerId"`
}

func (r attribution) dims() dims { return dims{r.ProgramID, r.ReferrerID, r.PartnerID} }

// attributionKeys are attribution's members, first in every view's keys.
var attributionKeys = []string{"programId", "referrerId", "partnerId"}

func (r *attribution) member(s *scanner, k int) bool {
	switch k {
	case 0:
		return str(s, &r.ProgramID)
	case 1:
		return str(s, &r.ReferrerID)
	case 2:
		return str(s, &r.PartnerID)
	}
	return false
}

// clickView is what the fold reads of a domain.Click.
type clickView struct {
	attribution
	At time.Time `json:"at"`
}

var clickKeys = append(attributionKeys[:3:3], "at")

func (v *clickView) scan(s *scanner) bool {
	return s.object(clickKeys, func(k int) bool {
		if k < 3 {
			return v.member(s, k)
		}
		return s.time(&v.At)
	})
}

// referralView is what the fold reads of a domain.Referral.
type referralView struct {
	attribution
	Status    string    `json:"status"`
	CreatedAt time.Time `json:"createdAt"`
}

var referralKeys = append(attributionKeys[:3:3], "status", "createdAt")

func (v *referralView) scan(s *scanner) bool {
	return s.object(referralKeys, func(k int) bool {
		switch k {
		case 3:
			return str(s, &v.Status)
		case 4:
			return s.time(&v.CreatedAt)
		}
		return v.member(s, k)
	})
}

// conversionView is what the fold reads of a domain.Conversion.
type conversionView struct {
	attribution
	Amount         *domain.Money `json:"amount"`
	OccurredAt     time.Time     `json:"occurredAt"`
	RefundedAmount domain.Money  `json:"refundedAmount"`
}

var conversionKeys = append(attributionKeys[:3:3], "amount", "occurredAt", "refundedAmount")

func (v *conversionView) scan(s *scanner) bool {
	return s.object(conversionKeys, func(k int) bool {
		switch k {
		case 3:
			return s.moneyPtr(&v.Amount)
		case 4:
			return s.time(&v.OccurredAt)
		case 5:
			return s.money(&v.RefundedAmount)
		}
		return v.member(s, k)
	})
}

// dealView is what the fold reads of a domain.Deal; its close time is
// parsed only for a won deal.
type dealView struct {
	PartnerID string            `json:"partnerId"`
	Source    domain.DealSource `json:"source"`
	Value     domain.Money      `json:"value"`
	Status    domain.DealStatus `json:"status"`
	WonValue  *domain.Money     `json:"wonValue"`
	CreatedAt time.Time         `json:"createdAt"`
	ClosedAt  json.RawMessage   `json:"closedAt"`
}

var dealKeys = []string{"partnerId", "source", "value", "status", "wonValue", "createdAt", "closedAt"}

func (v *dealView) scan(s *scanner) bool {
	return s.object(dealKeys, func(k int) bool {
		switch k {
		case 0:
			return str(s, &v.PartnerID)
		case 1:
			return str(s, &v.Source)
		case 2:
			return s.money(&v.Value)
		case 3:
			return str(s, &v.Status)
		case 4:
			return s.moneyPtr(&v.WonValue)
		case 5:
			return s.time(&v.CreatedAt)
		case 6:
			return s.raw(&v.ClosedAt)
		}
		return false
	})
}

// commissionView is what the fold reads of a commission.Commission; its
// creation time is parsed only for an entry without occurredAt.
type commissionView struct {
	attribution
	Amount     domain.Money      `json:"amount"`
	Status     commission.Status `json:"status"`
	OccurredAt time.Time         `json:"occurredAt"`
	CreatedAt  json.RawMessage   `json:"createdAt"`
}

var commissionKeys = append(attributionKeys[:3:3], "amount", "status", "occurredAt", "createdAt")

func (v *commissionView) scan(s *scanner) bool {
	return s.object(commissionKeys, func(k int) bool {
		switch k {
		case 3:
			return s.money(&v.Amount)
		case 4:
			return str(s, &v.Status)
		case 5:
			return s.time(&v.OccurredAt)
		case 6:
			return s.raw(&v.CreatedAt)
		}
		return v.member(s, k)
	})
}

// at is when a ledger entry counts: its occurredAt (entries written before
// it was recorded fall back to their creation).
func (e commissionView) at() (time.Time, error) {
	if !e.OccurredAt.IsZero() {
		return e.OccurredAt, nil
	}
	t, _, err := rawTime(e.CreatedAt)
	return t, err
}

// rawTime decodes a time left raw, and whether there was one (not absent,
// not null: what a *time.Time field would tell).
func rawTime(raw json.RawMessage) (time.Time, bool, error) {
	var t time.Time
	if len(raw) == 0 || string(raw) == "null" {
		return t, false, nil
	}
	err := json.Unmarshal(raw, &t)
	return t, err == nil, err
}

// decodeView reads img into a view T: with the scanner, or where it
// declines, with encoding/json.
func decodeView[T any, P interface {
	*T
	scan(s *scanner) bool
}](c store.Change, img []byte) (T, error) {
	var v T
	s := scanner{b: img}
	if P(&v).scan(&s) && s.end() {
		return v, nil
	}
	var w T
	if err := json.Unmarshal(img, &w); err != nil {
		return w, decodeError(c, err)
	}
	return w, nil
}

func decodeError(c store.Change, err error) error {
	return fmt.Errorf("analytics: %s %s of %s: %w", c.Entity, c.ID, c.OrgID, err)
}

// scanner reads JSON from b at i. Its methods report false for anything
// they do not take (the caller then decodes with encoding/json), so they
// need not say why.
type scanner struct {
	b []byte
	i int
}

func (s *scanner) ws() {
	for s.i < len(s.b) {
		switch s.b[s.i] {
		case ' ', '\t', '\n', '\r':
			s.i++
		default:
			return
		}
	}
}

// end reports whether only white space is left.
func (s *scanner) end() bool {
	s.ws()
	return s.i == len(s.b)
}

// object reads an object whose members named keys[k] (exactly) are read
// by member(k), each at most once; other members are checked and skipped,
// unless their name matches one of keys but for case (encoding/json would
// take them: declined).
func (s *scanner) object(keys []string, member func(k int) bool) bool {
	s.ws()
	if s.i >= len(s.b) || s.b[s.i] != '{' {
		return false
	}
	s.i++
	var seen uint32
	return s.list('}', func() bool {
		name, ok := s.plainString()
		if !ok || !s.colon() {
			return false
		}
		for k, key := range keys {
			if string(name) == key {
				if seen&(1<<k) != 0 || !member(k) {
					return false
				}
				seen |= 1 << k
				return true
			}
		}
		for _, key := range keys {
			if asciiEqualFold(name, key) {
				return false
			}
		}
		return s.skip(0)
	})
}

// list reads the members of an object or the elements of an array, after
// its opening up to its close, each with item.
func (s *scanner) list(close byte, item func() bool) bool {
	s.ws()
	if s.i < len(s.b) && s.b[s.i] == close {
		s.i++
		return true
	}
	for {
		s.ws()
		if !item() {
			return false
		}
		s.ws()
		if s.i >= len(s.b) {
			return false
		}
		switch s.b[s.i] {
		case ',':
			s.i++
		case close:
			s.i++
			return true
		default:
			return false
		}
	}
}

// colon reads the colon after a member's name.
func (s *scanner) colon() bool {
	s.ws()
	if s.i >= len(s.b) || s.b[s.i] != ':' {
		return false
	}
	s.i++
	s.ws()
	return true
}

func asciiEqualFold(b []byte, key string) bool {
	if len(b) != len(key) {
		return false
	}
	for i := range len(b) {
		x, y := b[i], key[i]
		if 'A' <= x && x <= 'Z' {
			x += 'a' - 'A'
		}
		if 'A' <= y && y <= 'Z' {
			y += 'a' - 'A'
		}
		if x != y {
			return false
		}
	}
	return true
}

// plainString reads a string of printable ASCII without escapes and
// returns its content.
func (s *scanner) plainString() ([]byte, bool) {
	if s.i >= len(s.b) || s.b[s.i] != '"' {
		return nil, false
	}
	for j := s.i + 1; j < len(s.b); j++ {
		c := s.b[j]
		switch {
		case c == '"':
			out := s.b[s.i+1 : j]
			s.i = j + 1
			return out, true
		case c < 0x20 || c == '\\' || c >= 0x80:
			return nil, false
		}
	}
	return nil, false
}

// null reads a null if there is one.
func (s *scanner) null() bool {
	if len(s.b)-s.i >= 4 && string(s.b[s.i:s.i+4]) == "null" {
		s.i += 4
		return true
	}
	return false
}

// str reads a string member (null leaves it as it is, as encoding/json
// does).
func str[T ~string](s *scanner, p *T) bool {
	if s.null() {
		return true
	}
	b, ok := s.plainString()
	if ok {
		*p = T(b)
	}
	return ok
}

// time reads a time member with time.Time's own UnmarshalJSON (which
// takes null as nothing).
func (s *scanner) time(t *time.Time) bool {
	start := s.i
	if !s.null() {
		if _, ok := s.plainString(); !ok {
			return false
		}
	}
	return t.UnmarshalJSON(s.b[start:s.i]) == nil
}

// raw keeps a member's value as it is, as json.RawMessage does.
func (s *scanner) raw(r *json.RawMessage) bool {
	start := s.i
	if !s.skip(0) {
		return false
	}
	*r = append((*r)[:0], s.b[start:s.i]...)
	return true
}

var moneyKeys = []string{"amount", "currency"}

// money reads a domain.Money (null leaves it as it is).
func (s *scanner) money(m *domain.Money) bool {
	if s.null() {
		return true
	}
	return s.object(moneyKeys, func(k int) bool {
		if k == 1 {
			return str(s, &m.Currency)
		}
		return s.int64(&m.Amount)
	})
}

// moneyPtr reads a *domain.Money (null: nil).
func (s *scanner) moneyPtr(p **domain.Money) bool {
	if s.null() {
		*p = nil
		return true
	}
	m := new(domain.Money)
	*p = m
	return s.money(m)
}

// int64 reads an integer (null leaves it as it is).
func (s *scanner) int64(p *int64) bool {
	if s.null() {
		return true
	}
	start := s.i
	if !s.number() {
		return false
	}
	n, err := strconv.ParseInt(string(s.b[start:s.i]), 10, 64)
	if err != nil {
		return false
	}
	*p = n
	return true
}

// number reads a JSON number.
func (s *scanner) number() bool {
	b, i := s.b, s.i
	if i < len(b) && b[i] == '-' {
		i++
	}
	digits := func() bool {
		j := i
		for i < len(b) && '0' <= b[i] && b[i] <= '9' {
			i++
		}
		return i > j
	}
	switch {
	case i < len(b) && b[i] == '0':
		i++
	case !digits():
		return false
	}
	if i < len(b) && b[i] == '.' {
		i++
		if !digits() {
			return false
		}
	}
	if i < len(b) && (b[i] == 'e' || b[i] == 'E') {
		i++
		if i < len(b) && (b[i] == '+' || b[i] == '-') {
			i++
		}
		if !digits() {
			return false
		}
	}
	s.i = i
	return true
}

// maxDepth bounds how deep skip goes (encoding/json takes 10,000 levels;
// deeper images are declined and left to it).
const maxDepth = 100

// skip checks and passes over any JSON value.
func (s *scanner) skip(depth int) bool {
	if depth > maxDepth || s.i >= len(s.b) {
		return false
	}
	switch c := s.b[s.i]; {
	case c == '"':
		return s.skipString()
	case c == '{':
		s.i++
		return s.list('}', func() bool { return s.skipString() && s.colon() && s.skip(depth+1) })
	case c == '[':
		s.i++
		return s.list(']', func() bool { return s.skip(depth + 1) })
	case c == '-' || '0' <= c && c <= '9':
		return s.number()
	default:
		for _, lit := range [...]string{"true", "false", "null"} {
			if len(s.b)-s.i >= len(lit) && string(s.b[s.i:s.i+len(lit)]) == lit {
				s.i += len(lit)
				return true
			}
		}
		return false
	}
}

// skipString passes over a string, checking its escapes (encoding/json
// takes any bytes but control characters otherwise).
func (s *scanner) skipString() bool {
	b := s.b
	if s.i >= len(b) || b[s.i] != '"' {
		return false
	}
	for i := s.i + 1; i < len(b); i++ {
		switch c := b[i]; {
		case c == '"':
			s.i = i + 1
			return true
		case c < 0x20:
			return false
		case c == '\\':
			i++
			if i >= len(b) {
				return false
			}
			switch b[i] {
			case '"', '\\', '/', 'b', 'f', 'n', 'r', 't':
			case 'u':
				if i+4 >= len(b) {
					return false
				}
				for _, h := range b[i+1 : i+5] {
					if !('0' <= h && h <= '9' || 'a' <= h && h <= 'f' || 'A' <= h && h <= 'F') {
						return false
					}
				}
				i += 4
			default:
				return false
			}
		}
	}
	return false
}
