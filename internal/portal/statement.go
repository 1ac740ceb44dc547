package portal

import (
	"fmt"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/partnerloop/partnerloop/internal/commission"
	"github.com/partnerloop/partnerloop/internal/domain"
)

// Period is one calendar month in UTC, the span of a statement.
type Period struct {
	Year  int
	Month time.Month
}

var periodRe = regexp.MustCompile(`^([0-9]{4})-([0-9]{2})$`)

// ParsePeriod reads "YYYY-MM". Anything else, or a month outside 01..12,
// is an error.
func ParsePeriod(s string) (Period, error) {
	m := periodRe.FindStringSubmatch(s)
	if m == nil {
		return Period{}, fmt.Errorf("must be a month written YYYY-MM, e.g. 2026-03")
	}
	y, _ := strconv.Atoi(m[1])
	mo, _ := strconv.Atoi(m[2])
	if mo < 1 || mo > 12 || y < 2000 {
		return Period{}, fmt.Errorf("must be a month written YYYY-MM, e.g. 2026-03")
	}
	return Period{Year: y, Month: time.Month(mo)}, nil
}

// Start is the period's first instant.
func (p Period) Start() time.Time { return time.Date(p.Year, p.Month, 1, 0, 0, 0, 0, time.UTC) }

// End is the first instant after the period (exclusive).
func (p Period) End() time.Time { return p.Start().AddDate(0, 1, 0) }

func (p Period) String() string { return fmt.Sprintf("%04d-%02d", p.Year, int(p.Month)) }

// Entry is one ledger entry of the partner with its status changes
// (commission.AuditEntry, oldest first). Audit may be empty for an entry
// that has not changed since before the period (UpdatedAt < Start): its
// history is then read from CreatedAt and UpdatedAt (see History).
type Entry struct {
	Commission commission.Commission
	Audit      []commission.AuditEntry
}

// change is one status reached at an instant.
type change struct {
	at time.Time
	to commission.Status
}

// history is an entry's status changes, oldest first, the first being its
// creation. Without an audit trail it is the creation (pending) and, when
// the entry is no longer pending, one change to its status at UpdatedAt —
// exact for every instant after UpdatedAt, which is all a statement of a
// later period asks.
func history(e Entry) []change {
	c := e.Commission
	var out []change
	for _, a := range e.Audit {
		out = append(out, change{a.At.UTC(), a.To})
	}
	if len(out) == 0 {
		out = append(out, change{c.CreatedAt.UTC(), commission.StatusPending})
		if c.Status != commission.StatusPending {
			out = append(out, change{c.UpdatedAt.UTC(), c.Status})
		}
	}
	slices.SortStableFunc(out, func(a, b change) int { return a.at.Compare(b.at) })
	return out
}

// statusBefore is the entry's status just before instant t ("" when it did
// not exist yet).
func statusBefore(h []change, t time.Time) commission.Status {
	var s commission.Status
	for _, ch := range h {
		if !ch.at.Before(t) {
			break
		}
		s = ch.to
	}
	return s
}

// owed says whether an entry in status s is money owed to the partner: it
// was earned and is neither paid out nor voided.
func owed(s commission.Status) bool {
	return s == commission.StatusPending || s == commission.StatusApproved
}

// Line is one ledger entry created in the period.
type Line struct {
	Date            time.Time         `json:"date"`
	CommissionID    string            `json:"commissionId"`
	Kind            commission.Kind   `json:"kind"`
	ProgramID       string            `json:"programId"`
	Program         string            `json:"program"` // the program's name when known
	ConversionID    string            `json:"conversionId,omitempty"`
	DealID          string            `json:"dealId,omitempty"`
	Status          commission.Status `json:"status"` // at the end of the period
	PayoutReference string            `json:"payoutReference,omitempty"`
	Amount          domain.Money      `json:"amount"`
	// Customer names who the line was earned on, for people: the deal's
	// customer, or the referred contact (name, else masked address).
	Customer string `json:"customer,omitempty"`
}

// Source is the conversion or deal the line was earned by.
func (l Line) Source() string {
	if l.DealID != "" {
		return "deal " + l.DealID
	}
	if l.ConversionID != "" {
		return "conversion " + l.ConversionID
	}
	return ""
}

// Section is the statement of one currency. Amounts are minor units of
// Currency; Closing = Opening + Earned − Paid − Voided, exactly.
type Section struct {
	Currency string `json:"currency"`
	// Opening is what was owed at the period's start: the entries created
	// before it that were then pending or approved.
	Opening int64 `json:"opening"`
	Lines   []Line
	// Earned is the sum of the lines: every entry created in the period
	// (commissions, negative clawbacks, adjustments of either sign).
	Earned int64 `json:"earned"`
	// Approved and Paid sum the entries approved, and paid, in the period.
	Approved int64 `json:"approved"`
	Paid     int64 `json:"paid"`
	// Voided sums the owed entries rejected or reversed in the period.
	Voided int64 `json:"voided"`
	// Closing is what is owed at the period's end.
	Closing int64 `json:"closing"`
}

// Statement is one partner's statement of one month.
type Statement struct {
	Organization string `json:"organization"`
	// Locale and TimeZone are the organization's: money and dates are
	// written for people in them.
	Locale    string    `json:"locale"`
	TimeZone  string    `json:"timeZone"`
	PartnerID string    `json:"partnerId"`
	Partner   string    `json:"partner"`
	Period    Period    `json:"-"`
	AsOf      time.Time `json:"asOf"` // when it was computed; before End for the running month
	Sections  []Section `json:"sections"`
	// Logo is the organization's logo for the PDF's header; nil when it
	// has none.
	Logo *Logo `json:"-"`
}

// Logo is an image: PNG or JPEG bytes and their media type.
type Logo struct {
	ContentType string
	Data        []byte
}

// Compute builds the statement of period from the partner's ledger entries
// (any entries: those created after the period are ignored). programs maps
// program IDs to names for the lines. It is a pure function of its inputs;
// sections are in currency order, lines oldest first (then by ID).
//
// Definitions, for instants in UTC and a period [Start, End):
//   - an entry is owed at instant t when it was created before t and its
//     status just before t was pending or approved;
//   - Opening = Σ amounts owed at Start; Closing = Σ amounts owed at End;
//   - lines = entries created in the period, with their status at End;
//   - Approved / Paid = Σ amounts of entries that became approved / paid in
//     the period; Voided = Σ amounts of entries that became rejected or
//     reversed in the period.
//
// Because every entry is created pending and leaves "owed" at most once
// (paid, rejected and reversed are final), Closing = Opening + Earned −
// Paid − Voided holds for every ledger.
//
// Every total is overflow-checked: a total that does not fit in an int64 is
// an error wrapping domain.ErrOverflow, never a wrapped, negative balance.
func Compute(period Period, entries []Entry, programs map[string]string) ([]Section, error) {
	start, end := period.Start(), period.End()
	byCur := map[string]*sectionSums{}
	section := func(cur string) *sectionSums {
		s := byCur[cur]
		if s == nil {
			s = &sectionSums{Section: Section{Currency: cur}}
			byCur[cur] = s
		}
		return s
	}
	for _, e := range entries {
		c := e.Commission
		if !c.CreatedAt.Before(end) {
			continue
		}
		h := history(e)
		amount := c.Amount.Amount
		before, after := statusBefore(h, start), statusBefore(h, end)
		var approved, paid, voided bool
		for _, ch := range h {
			if ch.at.Before(start) || !ch.at.Before(end) {
				continue
			}
			switch ch.to {
			case commission.StatusApproved:
				approved = true
			case commission.StatusPaid:
				paid = true
			case commission.StatusRejected, commission.StatusReversed:
				voided = true
			}
		}
		created := !c.CreatedAt.Before(start)
		if !created && !owed(before) && !approved && !paid && !voided {
			continue // settled before the period: not part of it
		}
		s := section(c.Amount.Currency)
		if owed(before) {
			s.opening.Add(amount)
		}
		if owed(after) {
			s.closing.Add(amount)
		}
		if approved {
			s.approved.Add(amount)
		}
		if paid {
			s.paid.Add(amount)
		}
		if voided {
			s.voided.Add(amount)
		}
		if created {
			s.earned.Add(amount)
			ref := ""
			if after == commission.StatusPaid {
				ref = c.PayoutReference
			}
			s.Lines = append(s.Lines, Line{
				Date: c.CreatedAt.UTC(), CommissionID: c.ID, Kind: c.Kind, ProgramID: c.ProgramID, Program: programs[c.ProgramID],
				ConversionID: c.ConversionID, DealID: c.DealID, Status: after, PayoutReference: ref,
				Amount: c.Amount,
			})
		}
	}
	out := make([]Section, 0, len(byCur))
	for _, s := range byCur {
		slices.SortFunc(s.Lines, func(a, b Line) int {
			if c := a.Date.Compare(b.Date); c != 0 {
				return c
			}
			return strings.Compare(a.CommissionID, b.CommissionID)
		})
		sec, err := s.totals()
		if err != nil {
			return nil, err
		}
		out = append(out, sec)
	}
	slices.SortFunc(out, func(a, b Section) int { return strings.Compare(a.Currency, b.Currency) })
	return out, nil
}

// sectionSums is a Section being computed, its totals in checked sums.
type sectionSums struct {
	Section
	opening, earned, approved, paid, voided, closing domain.Sum
}

// totals is the Section with its totals, or an error naming the first one
// that overflowed.
func (s *sectionSums) totals() (Section, error) {
	out := s.Section
	for _, t := range []struct {
		name string
		sum  domain.Sum
		dst  *int64
	}{
		{"opening balance", s.opening, &out.Opening}, {"earned", s.earned, &out.Earned},
		{"approved", s.approved, &out.Approved}, {"paid", s.paid, &out.Paid},
		{"voided", s.voided, &out.Voided}, {"closing balance", s.closing, &out.Closing},
	} {
		v, err := t.sum.Total()
		if err != nil {
			return Section{}, fmt.Errorf("portal: statement %s total in %s: %w", t.name, s.Currency, err)
		}
		*t.dst = v
	}
	return out, nil
}
