// Package statementpdf renders partner statements as PDF. Importing it
// registers the renderer with package portal (portal.SendStatement); it is
// its own package so that only the programs serving statements link the
// PDF library.
package statementpdf

import (
	"bytes"
	"fmt"
	"io"
	"strings"
	"time"

	"github.com/go-pdf/fpdf"

	"github.com/partnerloop/partnerloop/internal/commission"
	"github.com/partnerloop/partnerloop/internal/domain"
	"github.com/partnerloop/partnerloop/internal/money"
	"github.com/partnerloop/partnerloop/internal/portal"
)

func init() { portal.RegisterPDF(Write) }

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

// Write renders st as an A4 PDF: the organization, the partner
// and the period, then per currency the lines and the totals. Cells wrap
// to their measured column widths (nothing is cut or printed over its
// neighbour); dates are days in the organization's time zone and money is
// written in its locale. Text uses the PDF core font Helvetica (no font
// files to ship); characters outside Windows-1252 print as "?".
func Write(w io.Writer, st portal.Statement) error {
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
	if name, w, h, ok := logo(pdf, st.Logo, 60, 16); ok {
		_, top := pdf.GetXY()
		pdf.ImageOptions(name, left, top, w, h, false, fpdf.ImageOptions{}, 0, "")
		pdf.SetY(top + h + 3)
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
		pdf.CellFormat(width, 8, txt(portal.LabelSection+s.Currency), "", 1, "L", false, 0, "")
		total(portal.LabelOpening, s.Opening, s.Currency, "")
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
		total(portal.LabelEarned, s.Earned, s.Currency, "")
		total(portal.LabelApproved, s.Approved, s.Currency, "")
		total(portal.LabelPaid, s.Paid, s.Currency, "")
		total(portal.LabelVoided, s.Voided, s.Currency, "")
		total(portal.LabelClosing, s.Closing, s.Currency, "B")
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

// logo registers the organization's logo with pdf and returns its name
// and its size in mm within maxW × maxH, keeping its proportions. An image
// fpdf cannot embed is left out (ok false) without spoiling the document:
// it is tried on a scratch document first, as fpdf's errors are sticky.
func logo(pdf *fpdf.Fpdf, l *portal.Logo, maxW, maxH float64) (name string, w, h float64, ok bool) {
	if l == nil || len(l.Data) == 0 {
		return "", 0, 0, false
	}
	opts := fpdf.ImageOptions{ImageType: "PNG"}
	if l.ContentType == "image/jpeg" {
		opts.ImageType = "JPG"
	}
	probe := fpdf.New("P", "mm", "A4", "")
	if info := probe.RegisterImageOptionsReader("logo", opts, bytes.NewReader(l.Data)); info == nil || !probe.Ok() {
		return "", 0, 0, false
	}
	info := pdf.RegisterImageOptionsReader("logo", opts, bytes.NewReader(l.Data))
	if info == nil || !pdf.Ok() || info.Width() <= 0 || info.Height() <= 0 {
		return "", 0, 0, false
	}
	w, h = info.Width(), info.Height()
	scale := min(maxW/w, maxH/h)
	return "logo", w * scale, h * scale, true
}
