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

	"github.com/partnerloop/partnerloop/internal/commission"
	"github.com/partnerloop/partnerloop/internal/domain"
	"github.com/partnerloop/partnerloop/internal/ledger"
	"github.com/partnerloop/partnerloop/internal/money"
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

// pdfText makes text printable in the PDF's core font: the no-break
// spaces locales put in money become plain spaces (Helvetica's
// Windows-1252 lacks the narrow one).
func pdfText(tr func(string) string, s string) string {
	return tr(strings.NewReplacer("\u202f", " ", "\u00a0", " ").Replace(s))
}

// column is one column of the statement's table, its width in mm.
type column struct {
	title string
	width float64
	align string
}

// WriteStatementPDF renders st as an A4 PDF: the organization, the partner
// and the period, then per currency the lines and the totals. Cells wrap
// to their measured column widths (nothing is cut or printed over its
// neighbour); dates are days in the organization's time zone and money is
// written in its locale. Text uses the PDF core font Helvetica (no font
// files to ship); characters outside Windows-1252 print as "?".
func WriteStatementPDF(w io.Writer, st Statement) error {
	loc, err := time.LoadLocation(st.TimeZone)
	if err != nil || st.TimeZone == "" {
		loc = time.UTC
	}
	fm := money.For(st.Locale)
	pdf := fpdf.New("P", "mm", "A4", "")
	pdf.SetCreationDate(st.AsOf)
	pdf.SetModificationDate(st.AsOf)
	pdf.SetTitle("Commission statement "+st.Period.String(), true)
	pdf.SetAuthor(st.Organization, true)
	pdf.SetCreator("PartnerLoop", false)
	pdf.SetMargins(15, 15, 15)
	pdf.SetAutoPageBreak(false, 0) // rows break pages themselves (see row)
	pdf.SetCellMargin(0)           // cells are padded here, measured exactly
	pdf.AliasNbPages("{nb}")
	tr := pdf.UnicodeTranslatorFromDescriptor("")
	txt := func(s string) string { return pdfText(tr, s) }
	month := st.Period.Start().Format("January 2006")
	pdf.SetFooterFunc(func() {
		pdf.SetY(-12)
		pdf.SetFont("Helvetica", "", 8)
		pdf.SetTextColor(100, 100, 100)
		pdf.CellFormat(0, 5, txt(fmt.Sprintf("%s - statement for %s - page %d of {nb}", st.Partner, month, pdf.PageNo())), "", 0, "C", false, 0, "")
		pdf.SetTextColor(0, 0, 0)
	})
	pdf.AddPage()
	pageW, pageH := pdf.GetPageSize()
	left, _, right, _ := pdf.GetMargins()
	width := pageW - left - right
	bottom := pageH - 18

	// para writes text across the page, wrapped to its width.
	para := func(style string, size, lh float64, text string) {
		pdf.SetFont("Helvetica", style, size)
		for _, line := range wrap(pdf, txt(text), width) {
			pdf.CellFormat(width, lh, line, "", 1, "L", false, 0, "")
		}
	}
	para("B", 16, 8, st.Organization)
	para("", 12, 7, "Commission statement for "+month)
	pdf.Ln(1)
	para("", 10, 5.5, "Partner: "+st.Partner)
	last := st.Period.End().Add(-time.Nanosecond)
	para("", 10, 5.5, fmt.Sprintf("Period: %s to %s", st.Period.Start().Format("2 January 2006"), last.Format("2 January 2006")))
	para("", 10, 5.5, "As of: "+st.AsOf.In(loc).Format("2 January 2006, 15:04 MST"))
	pdf.Ln(4)

	if len(st.Sections) == 0 {
		para("", 10, 6, "No commissions, payments or balance in this period.")
	}
	cols := []column{{"Date", 24, "L"}, {"For", 62, "L"}, {"Program", 42, "L"}, {"Status", 26, "L"}, {"Amount", 26, "R"}}
	scale := width / 180
	for i := range cols {
		cols[i].width *= scale
	}
	const pad, lh = 1.5, 4.6
	// row draws one table row, every cell wrapped to its column, on a new
	// page when it does not fit on this one.
	row := func(cells []string, style string, fill bool) {
		pdf.SetFont("Helvetica", style, 9)
		lines := make([][]string, len(cells))
		n := 1
		for i, c := range cells {
			for _, part := range strings.Split(txt(c), "\n") {
				lines[i] = append(lines[i], wrap(pdf, part, cols[i].width-2*pad)...)
			}
			n = max(n, len(lines[i]))
		}
		h := float64(n)*lh + 2*pad
		if pdf.GetY()+h > bottom {
			pdf.AddPage()
		}
		x, y := left, pdf.GetY()
		if fill {
			pdf.SetFillColor(232, 232, 236)
			pdf.Rect(left, y, width, h, "F")
		}
		for i, c := range cols {
			for k, line := range lines[i] {
				pdf.SetXY(x+pad, y+pad+float64(k)*lh)
				pdf.CellFormat(c.width-2*pad, lh, line, "", 0, c.align, false, 0, "")
			}
			x += c.width
		}
		pdf.SetDrawColor(210, 210, 216)
		pdf.Line(left, y+h, left+width, y+h)
		pdf.SetXY(left, y+h)
	}
	total := func(label string, amount int64, cur, style string) {
		pdf.SetFont("Helvetica", style, 10)
		if pdf.GetY()+6 > bottom {
			pdf.AddPage()
		}
		value := txt(fm.Format(domain.Money{Amount: amount, Currency: cur}))
		vw := pdf.GetStringWidth(value) + 2
		pdf.CellFormat(width-vw, 6, txt(label), "", 0, "L", false, 0, "")
		pdf.CellFormat(vw, 6, value, "", 1, "R", false, 0, "")
	}
	for _, s := range st.Sections {
		if pdf.GetY()+40 > bottom {
			pdf.AddPage()
		}
		pdf.SetFont("Helvetica", "B", 12)
		pdf.CellFormat(width, 8, txt(LabelSection+s.Currency), "", 1, "L", false, 0, "")
		total(LabelOpening, s.Opening, s.Currency, "")
		pdf.Ln(2)
		titles := make([]string, len(cols))
		for i, c := range cols {
			titles[i] = c.title
		}
		row(titles, "B", true)
		if len(s.Lines) == 0 {
			row([]string{"", "No entries this month.", "", "", ""}, "", false)
		}
		for _, l := range s.Lines {
			status := statusLabel(l.Status)
			if l.PayoutReference != "" {
				status += "\nRef. " + l.PayoutReference
			}
			program := l.Program
			if program == "" {
				program = "(program removed)"
			}
			row([]string{l.Date.In(loc).Format("2 Jan 2006"), l.Item(), program, status, fm.Format(l.Amount)}, "", false)
		}
		pdf.Ln(2)
		total(LabelEarned, s.Earned, s.Currency, "")
		total(LabelApproved, s.Approved, s.Currency, "")
		total(LabelPaid, s.Paid, s.Currency, "")
		total(LabelVoided, s.Voided, s.Currency, "")
		total(LabelClosing, s.Closing, s.Currency, "B")
		pdf.Ln(6)
	}
	return pdf.Output(w)
}

// wrap breaks text (already in the font's encoding) into lines no wider
// than w in the current font: at spaces, and inside a word only when the
// word alone is wider than w.
func wrap(pdf *fpdf.Fpdf, text string, w float64) []string {
	var lines []string
	line := ""
	for _, word := range strings.Fields(text) {
		try := word
		if line != "" {
			try = line + " " + word
		}
		if pdf.GetStringWidth(try) <= w {
			line = try
			continue
		}
		if line != "" {
			lines = append(lines, line)
		}
		for pdf.GetStringWidth(word) > w && len(word) > 1 {
			n := len(word) - 1
			for n > 1 && pdf.GetStringWidth(word[:n]) > w {
				n--
			}
			lines = append(lines, word[:n])
			word = word[n:]
		}
		line = word
	}
	if line != "" || len(lines) == 0 {
		lines = append(lines, line)
	}
	return lines
}

// statusLabel is a ledger status as the portal shows it: "Approved".
func statusLabel(s commission.Status) string {
	v := string(s)
	if v == "" {
		return ""
	}
	return strings.ToUpper(v[:1]) + v[1:]
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
