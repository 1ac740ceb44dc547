package portal

import (
	"encoding/csv"
	"fmt"
	"io"
	"net/http"
	"regexp"
	"strings"
	"time"

	"github.com/partnerloop/partnerloop/internal/commission"
	"github.com/partnerloop/partnerloop/internal/domain"
	"github.com/partnerloop/partnerloop/internal/download"
	"github.com/partnerloop/partnerloop/internal/ledger"
)

// The CSV and the PDF are both renderings of one computed Statement, so
// their figures cannot disagree.

// StatementColumns is the statement CSV's header row (only ever append).
// Each row is one of the kinds in the "row" column: opening_balance, entry
// (one per line), earned, approved, paid, voided, closing_balance — per
// currency section, in that order.
var StatementColumns = []string{
	"row", "date", "commissionId", "kind", "programId", "program", "source", "status", "payoutReference", "amount", "currency",
}

// Row kinds of the statement CSV.
const (
	RowOpening  = "opening_balance"
	RowEntry    = "entry"
	RowEarned   = "earned"
	RowApproved = "approved"
	RowPaid     = "paid"
	RowVoided   = "voided"
	RowClosing  = "closing_balance"
)

// WriteStatementCSV writes st as RFC 4180 CSV (CRLF line ends) with every
// text cell neutralised against spreadsheet formula injection, like the
// payroll export (ledger.Neutralize); amounts are decimal numbers in major
// units (ledger.Amount).
func WriteStatementCSV(w io.Writer, st Statement) error {
	cw := csv.NewWriter(w)
	cw.UseCRLF = true
	if err := cw.Write(StatementColumns); err != nil {
		return err
	}
	start, end := st.Period.Start().Format(time.DateOnly), st.Period.End().Add(-time.Nanosecond).Format(time.DateOnly)
	total := func(kind, date string, amount int64, cur string) []string {
		return []string{kind, date, "", "", "", "", "", "", "", ledger.Amount(domain.Money{Amount: amount, Currency: cur}), ledger.Neutralize(cur)}
	}
	for _, s := range st.Sections {
		rows := [][]string{total(RowOpening, start, s.Opening, s.Currency)}
		for _, l := range s.Lines {
			rows = append(rows, []string{
				RowEntry, l.Date.UTC().Format(time.RFC3339), ledger.Neutralize(l.CommissionID), ledger.Neutralize(string(l.Kind)),
				ledger.Neutralize(l.ProgramID), ledger.Neutralize(l.Program), ledger.Neutralize(l.Source()),
				ledger.Neutralize(string(l.Status)), ledger.Neutralize(l.PayoutReference),
				ledger.Amount(l.Amount), ledger.Neutralize(l.Amount.Currency),
			})
		}
		rows = append(rows,
			total(RowEarned, end, s.Earned, s.Currency),
			total(RowApproved, end, s.Approved, s.Currency),
			total(RowPaid, end, s.Paid, s.Currency),
			total(RowVoided, end, s.Voided, s.Currency),
			total(RowClosing, end, s.Closing, s.Currency))
		if err := cw.WriteAll(rows); err != nil {
			return err
		}
	}
	cw.Flush()
	return cw.Error()
}

// StatementFilename names a statement's file: statement-<partner>-<YYYY-MM>.<ext>,
// with the partner's company name reduced to safe characters.
func StatementFilename(st Statement, ext string) string {
	name := strings.Trim(unsafeChars.ReplaceAllString(strings.ToLower(st.Partner), "-"), "-")
	if len(name) > 40 {
		name = strings.Trim(name[:40], "-")
	}
	if name == "" {
		name = "partner"
	}
	return "statement-" + name + "-" + st.Period.String() + "." + ext
}

var unsafeChars = regexp.MustCompile(`[^a-z0-9]+`)

// Labels of the totals, the same in the PDF and in the portal's UI.
const (
	LabelOpening  = "Opening balance"
	LabelEarned   = "Earned this month"
	LabelApproved = "Approved this month"
	LabelPaid     = "Paid this month"
	LabelVoided   = "Rejected or reversed this month"
	LabelClosing  = "Closing balance"
	// LabelSection starts each currency's part: "Amounts in USD".
	LabelSection = "Amounts in "
)

// Item says what a line is for, for people: "Deal: Globex", "Sale:
// Jane Doe", "Refund clawback: j***@example.com", "Adjustment".
func (l Line) Item() string {
	what := "Sale"
	if l.DealID != "" {
		what = "Deal"
	}
	switch l.Kind {
	case commission.KindClawback:
		what = "Refund clawback"
	case commission.KindAdjustment:
		what = "Tier adjustment"
	}
	switch {
	case l.Customer != "":
		return what + ": " + l.Customer
	case l.DealID != "" || l.ConversionID != "":
		return what + " (customer not on record)"
	}
	return what
}

// pdfWriter renders statements as PDF. It is registered by importing
// internal/portal/statementpdf (as image formats register with package
// image), so that only the programs that serve statements — the portal
// and web functions, the one-process server — link the PDF library.
var pdfWriter func(io.Writer, Statement) error

// RegisterPDF sets the PDF renderer of SendStatement.
func RegisterPDF(write func(io.Writer, Statement) error) { pdfWriter = write }

// ParseStatementFile splits a statement's file name ("2026-03.csv" or
// "2026-03.pdf") into its month and format.
func ParseStatementFile(name string) (period, ext string, ok bool) {
	period, ext, ok = strings.Cut(name, ".")
	return period, ext, ok && (ext == "csv" || ext == "pdf")
}

// SendStatement answers with st as an attachment in format ext ("csv" or
// "pdf"). The whole file is built before the first byte is sent, so a
// failure is still the caller's to report; statements are never cached.
func SendStatement(w http.ResponseWriter, st Statement, ext string) error {
	name := StatementFilename(st, ext)
	if ext != "pdf" {
		return download.CSV(w, name, func(out io.Writer) error { return WriteStatementCSV(out, st) })
	}
	if pdfWriter == nil {
		return fmt.Errorf("portal: no PDF renderer registered (import internal/portal/statementpdf)")
	}
	return download.Send(w, "application/pdf", name, func(out io.Writer) error { return pdfWriter(out, st) })
}
