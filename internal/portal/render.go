package portal

import (
	"bytes"
	"encoding/csv"
	"fmt"
	"io"
	"net/http"
	"regexp"
	"strings"
	"time"

	"github.com/go-pdf/fpdf"

	"github.com/partnerloop/partnerloop/internal/domain"
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

// Money renders an amount for people: "1234.50 USD".
func Money(amount int64, currency string) string {
	return domain.FormatMajor(amount, currency) + " " + currency
}

// Labels of the totals, the same in the PDF and in the portal's UI.
const (
	LabelOpening  = "Opening balance"
	LabelEarned   = "Earned this month"
	LabelApproved = "Approved this month"
	LabelPaid     = "Paid this month"
	LabelVoided   = "Rejected or reversed this month"
	LabelClosing  = "Closing balance"
)

// WriteStatementPDF renders st as an A4 PDF: the organization, the partner
// and the period, then per currency the lines and the totals. Text uses
// the PDF core font Helvetica (no font files to ship); characters outside
// Windows-1252 print as "?".
func WriteStatementPDF(w io.Writer, st Statement) error {
	pdf := fpdf.New("P", "mm", "A4", "")
	pdf.SetCreationDate(st.AsOf)
	pdf.SetModificationDate(st.AsOf)
	pdf.SetTitle("Commission statement "+st.Period.String(), true)
	pdf.SetAuthor(st.Organization, true)
	pdf.SetCreator("PartnerLoop", false)
	pdf.SetAutoPageBreak(true, 15)
	pdf.AliasNbPages("{nb}")
	tr := pdf.UnicodeTranslatorFromDescriptor("")
	pdf.SetFooterFunc(func() {
		pdf.SetY(-12)
		pdf.SetFont("Helvetica", "", 8)
		pdf.CellFormat(0, 5, tr(fmt.Sprintf("%s - %s - page %d of {nb}", st.Partner, st.Period, pdf.PageNo())), "", 0, "C", false, 0, "")
	})
	pdf.AddPage()

	pdf.SetFont("Helvetica", "B", 16)
	pdf.CellFormat(0, 9, tr(st.Organization), "", 1, "L", false, 0, "")
	pdf.SetFont("Helvetica", "", 12)
	pdf.CellFormat(0, 7, tr("Commission statement "+st.Period.String()), "", 1, "L", false, 0, "")
	pdf.SetFont("Helvetica", "", 10)
	pdf.CellFormat(0, 6, tr("Partner: "+st.Partner+" ("+st.PartnerID+")"), "", 1, "L", false, 0, "")
	pdf.CellFormat(0, 6, tr(fmt.Sprintf("Period: %s to %s (UTC)", st.Period.Start().Format(time.DateOnly),
		st.Period.End().Add(-time.Nanosecond).Format(time.DateOnly))), "", 1, "L", false, 0, "")
	pdf.CellFormat(0, 6, tr("As of: "+st.AsOf.UTC().Format(time.RFC3339)), "", 1, "L", false, 0, "")
	pdf.Ln(4)

	if len(st.Sections) == 0 {
		pdf.CellFormat(0, 6, tr("No commissions, payments or balance in this period."), "", 1, "L", false, 0, "")
	}
	cols := []struct {
		title string
		width float64
		align string
	}{{"Date", 22, "L"}, {"Kind", 22, "L"}, {"Program", 40, "L"}, {"Source", 46, "L"}, {"Status", 20, "L"}, {"Amount", 30, "R"}}
	for _, s := range st.Sections {
		pdf.SetFont("Helvetica", "B", 12)
		pdf.CellFormat(0, 8, tr("Currency "+s.Currency), "", 1, "L", false, 0, "")
		pdf.SetFont("Helvetica", "", 10)
		totalRow(pdf, tr, LabelOpening, Money(s.Opening, s.Currency))
		pdf.Ln(2)
		pdf.SetFont("Helvetica", "B", 9)
		pdf.SetFillColor(230, 230, 230)
		for i, c := range cols {
			ln := 0
			if i == len(cols)-1 {
				ln = 1
			}
			pdf.CellFormat(c.width, 6, c.title, "B", ln, c.align, true, 0, "")
		}
		pdf.SetFont("Helvetica", "", 9)
		if len(s.Lines) == 0 {
			pdf.CellFormat(0, 6, "No entries this month.", "", 1, "L", false, 0, "")
		}
		for _, l := range s.Lines {
			program := l.Program
			if program == "" {
				program = l.ProgramID
			}
			cells := []string{l.Date.UTC().Format(time.DateOnly), string(l.Kind), clip(program, 24), clip(l.Source(), 30), string(l.Status), Money(l.Amount.Amount, l.Amount.Currency)}
			for i, c := range cols {
				ln := 0
				if i == len(cols)-1 {
					ln = 1
				}
				pdf.CellFormat(c.width, 5.5, tr(cells[i]), "", ln, c.align, false, 0, "")
			}
		}
		pdf.Ln(2)
		pdf.SetFont("Helvetica", "", 10)
		totalRow(pdf, tr, LabelEarned, Money(s.Earned, s.Currency))
		totalRow(pdf, tr, LabelApproved, Money(s.Approved, s.Currency))
		totalRow(pdf, tr, LabelPaid, Money(s.Paid, s.Currency))
		totalRow(pdf, tr, LabelVoided, Money(s.Voided, s.Currency))
		pdf.SetFont("Helvetica", "B", 10)
		totalRow(pdf, tr, LabelClosing, Money(s.Closing, s.Currency))
		pdf.Ln(6)
	}
	return pdf.Output(w)
}

func totalRow(pdf *fpdf.Fpdf, tr func(string) string, label, value string) {
	pdf.CellFormat(150, 6, tr(label), "", 0, "L", false, 0, "")
	pdf.CellFormat(30, 6, tr(value), "", 1, "R", false, 0, "")
}

// clip shortens s to n characters for a table cell.
func clip(s string, n int) string {
	r := []rune(s)
	if len(r) <= n {
		return s
	}
	return string(r[:n-1]) + "..."
}

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
	var buf bytes.Buffer
	contentType := "text/csv; charset=utf-8"
	var err error
	if ext == "pdf" {
		contentType = "application/pdf"
		err = WriteStatementPDF(&buf, st)
	} else {
		err = WriteStatementCSV(&buf, st)
	}
	if err != nil {
		return err
	}
	h := w.Header()
	h.Set("Content-Type", contentType)
	h.Set("Content-Disposition", `attachment; filename="`+StatementFilename(st, ext)+`"`)
	h.Set("Cache-Control", "no-store")
	w.WriteHeader(http.StatusOK)
	_, err = w.Write(buf.Bytes())
	return err
}
