// Package statementpdf renders partner statements as PDF. Importing it
// registers the renderer with package portal (portal.SendStatement); it is
// its own package so that only the programs serving statements link the
// PDF library.
package statementpdf

import (
	"fmt"
	"io"
	"time"

	"github.com/go-pdf/fpdf"

	"github.com/partnerloop/partnerloop/internal/portal"
)

func init() { portal.RegisterPDF(Write) }

// Write renders st as an A4 PDF: the organization, the partner
// and the period, then per currency the lines and the totals. Text uses
// the PDF core font Helvetica (no font files to ship); characters outside
// Windows-1252 print as "?".
func Write(w io.Writer, st portal.Statement) error {
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
		totalRow(pdf, tr, portal.LabelOpening, portal.Money(s.Opening, s.Currency))
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
			cells := []string{l.Date.UTC().Format(time.DateOnly), string(l.Kind), clip(program, 24), clip(l.Source(), 30), string(l.Status), portal.Money(l.Amount.Amount, l.Amount.Currency)}
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
		totalRow(pdf, tr, portal.LabelEarned, portal.Money(s.Earned, s.Currency))
		totalRow(pdf, tr, portal.LabelApproved, portal.Money(s.Approved, s.Currency))
		totalRow(pdf, tr, portal.LabelPaid, portal.Money(s.Paid, s.Currency))
		totalRow(pdf, tr, portal.LabelVoided, portal.Money(s.Voided, s.Currency))
		pdf.SetFont("Helvetica", "B", 10)
		totalRow(pdf, tr, portal.LabelClosing, portal.Money(s.Closing, s.Currency))
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
