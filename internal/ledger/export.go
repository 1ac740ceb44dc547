package ledger

import (
	"encoding/csv"
	"fmt"
	"io"
	"regexp"
	"strings"
	"time"

	"github.com/partnerloop/partnerloop/internal/commission"
	"github.com/partnerloop/partnerloop/internal/domain"
	"github.com/partnerloop/partnerloop/internal/store"
)

// MaxExportRows bounds one export. On AWS a Lambda response is at most
// 6 MB, which a CSV of this many rows (~250 bytes each, JSON-escaped in the
// Lambda response) stays under; a larger export is refused with a hint to
// narrow the date range rather than failing in the gateway.
const MaxExportRows = 20000

// Columns is the export's header row. The order is part of the contract
// (payroll imports map columns by position): only ever append.
var Columns = []string{
	"id", "kind", "status", "partnerId", "referrerId", "programId", "conversionId", "dealId",
	"amount", "currency", "availableAt", "payoutReference", "createdAt",
}

// formulaTriggers are the first characters that make a spreadsheet read a
// cell as a formula (OWASP "CSV injection"): = + - @, and tab, CR and LF,
// which some applications skip before looking for one.
const formulaTriggers = "=+-@\t\r\n"

// amountCell is what the amount column always holds: a decimal number.
var amountCell = regexp.MustCompile(`^-?[0-9]+(\.[0-9]+)?$`)

// Neutralize makes a text cell inert in spreadsheets: a cell beginning with
// = + - @ (or tab, CR, LF) gets a leading single quote, so "=HYPERLINK(...)"
// is exported as "'=HYPERLINK(...)" and shown as text. Every other cell is
// returned unchanged.
func Neutralize(s string) string {
	if s != "" && strings.IndexByte(formulaTriggers, s[0]) >= 0 {
		return "'" + s
	}
	return s
}

// Amount renders a commission amount for the export: major units with the
// currency's decimals ("5.00", "-12.50", "1500" for JPY). It is the one
// numeric column and is not neutralised — a clawback's leading minus is a
// sign, not a formula — because it is generated from an integer and so can
// only ever be a number; anything else (impossible) would be neutralised.
func Amount(m domain.Money) string {
	return Cell(domain.FormatMajor(m.Amount, m.Currency))
}

// Cell is a CSV cell of any export: a decimal number as it is (its
// leading minus is a sign, and a number cannot be a formula), any other
// text through Neutralize.
func Cell(s string) string {
	if amountCell.MatchString(s) {
		return s
	}
	return Neutralize(s)
}

// Row is one commission as a CSV record in Columns order. Every cell but
// the amount is a text cell and is neutralised; times are RFC 3339 UTC
// ("" when unset).
func Row(c commission.Commission) []string {
	return []string{
		Neutralize(c.ID),
		Neutralize(string(c.Kind)),
		Neutralize(string(c.Status)),
		Neutralize(c.PartnerID),
		Neutralize(c.ReferrerID),
		Neutralize(c.ProgramID),
		Neutralize(c.ConversionID),
		Neutralize(c.DealID),
		Amount(c.Amount),
		Neutralize(c.Amount.Currency),
		timeCell(c.AvailableAt),
		Neutralize(c.PayoutReference),
		timeCell(c.CreatedAt),
	}
}

func timeCell(t time.Time) string {
	if t.IsZero() {
		return ""
	}
	return Neutralize(t.UTC().Format(time.RFC3339))
}

// WriteCSV writes the header row and one row per commission as RFC 4180
// CSV: fields quoted when they hold a comma, quote or line break, and CRLF
// line ends.
func WriteCSV(w io.Writer, cs []commission.Commission) error {
	cw := csv.NewWriter(w)
	cw.UseCRLF = true
	if err := cw.Write(Columns); err != nil {
		return err
	}
	for _, c := range cs {
		if err := cw.Write(Row(c)); err != nil {
			return err
		}
	}
	cw.Flush()
	return cw.Error()
}

// ParseBound reads a from or to bound on createdAt: an RFC 3339 timestamp,
// or a date YYYY-MM-DD meaning that day in UTC. A from date starts at the
// day's first instant; a to date (upper) includes the whole day, so it
// becomes the next day's midnight (the filter's To is exclusive). A to
// timestamp is used as is, exclusive.
func ParseBound(s string, upper bool) (time.Time, error) {
	if t, err := time.Parse(time.RFC3339Nano, s); err == nil {
		return t.UTC(), nil
	}
	d, err := time.ParseInLocation(time.DateOnly, s, time.UTC)
	if err != nil {
		return time.Time{}, fmt.Errorf("must be an RFC 3339 timestamp (2026-03-01T00:00:00Z) or a date (2026-03-01)")
	}
	if upper {
		d = d.AddDate(0, 0, 1)
	}
	return d, nil
}

// ExportFilename names an export after its range:
// commissions-<from>-<to>.csv with the first and last day included
// (YYYY-MM-DD, UTC); "start" when there is no from bound, today's date
// when there is no to bound.
func ExportFilename(f store.CommissionFilter, now time.Time) string {
	from := "start"
	if !f.From.IsZero() {
		from = f.From.UTC().Format(time.DateOnly)
	}
	to := now.UTC().Format(time.DateOnly)
	if !f.To.IsZero() {
		to = f.To.UTC().Add(-time.Nanosecond).Format(time.DateOnly)
	}
	return "commissions-" + from + "-" + to + ".csv"
}
