// Package portaltest reads the partner portal's statements back for tests:
// the totals of a statement CSV, and the text and totals of a statement PDF
// as a PDF reader sees them (github.com/ledongthuc/pdf), so tests compare
// what a partner would read rather than what the renderer meant to draw.
package portaltest

import (
	"bytes"
	"encoding/csv"
	"fmt"
	"math"
	"sort"
	"strings"
	"testing"

	"github.com/ledongthuc/pdf"

	"github.com/partnerloop/partnerloop/internal/portal"
)

// CSVTotals returns the totals rows of a statement CSV as
// "<currency> <row kind>" → amount (major units, as written).
func CSVTotals(t testing.TB, b []byte) map[string]string {
	t.Helper()
	records, err := csv.NewReader(bytes.NewReader(b)).ReadAll()
	if err != nil {
		t.Fatalf("statement CSV does not parse: %v", err)
	}
	out := map[string]string{}
	for _, r := range records[1:] {
		if r[0] != portal.RowEntry {
			out[r[10]+" "+r[0]] = r[9]
		}
	}
	return out
}

// PDFLines returns the text of every line of every page of a PDF, top to
// bottom, each line's pieces joined left to right.
func PDFLines(t testing.TB, b []byte) []string {
	t.Helper()
	r, err := pdf.NewReader(bytes.NewReader(b), int64(len(b)))
	if err != nil {
		t.Fatalf("the statement is not a PDF a reader can open: %v", err)
	}
	var lines []string
	for i := 1; i <= r.NumPage(); i++ {
		// Group the page's text pieces into lines by their baseline, top
		// to bottom, and each line's pieces left to right.
		byY := map[int][]pdf.Text{}
		for _, tx := range r.Page(i).Content().Text {
			y := int(math.Round(tx.Y * 10))
			byY[y] = append(byY[y], tx)
		}
		ys := make([]int, 0, len(byY))
		for y := range byY {
			ys = append(ys, y)
		}
		sort.Sort(sort.Reverse(sort.IntSlice(ys)))
		for _, y := range ys {
			row := byY[y]
			sort.SliceStable(row, func(a, b int) bool { return row[a].X < row[b].X })
			var sb strings.Builder
			for _, tx := range row {
				sb.WriteString(tx.S)
			}
			lines = append(lines, sb.String())
		}
	}
	return lines
}

// PDFText is the PDF's text, one line per row.
func PDFText(t testing.TB, b []byte) string {
	t.Helper()
	return strings.Join(PDFLines(t, b), "\n")
}

// PDFTotals returns the totals printed in a statement PDF in the form of
// CSVTotals: "<currency> <row kind>" → amount.
func PDFTotals(t testing.TB, b []byte) map[string]string {
	t.Helper()
	labels := map[string]string{
		portal.LabelOpening: portal.RowOpening, portal.LabelEarned: portal.RowEarned, portal.LabelApproved: portal.RowApproved,
		portal.LabelPaid: portal.RowPaid, portal.LabelVoided: portal.RowVoided, portal.LabelClosing: portal.RowClosing,
	}
	out := map[string]string{}
	cur := ""
	for _, line := range PDFLines(t, b) {
		if c, ok := strings.CutPrefix(line, portal.LabelSection); ok {
			cur = strings.TrimSpace(c)
			continue
		}
		for label, kind := range labels {
			if rest, ok := strings.CutPrefix(line, label); ok {
				out[cur+" "+kind] = plainAmount(rest)
			}
		}
	}
	return out
}

// plainAmount reads money written for people in an English locale
// ("-$1,234.50", "€5.00") as the CSV writes it ("-1234.50").
func plainAmount(s string) string {
	var b strings.Builder
	for _, r := range s {
		if r == '-' || r == '.' || (r >= '0' && r <= '9') {
			b.WriteRune(r)
		}
	}
	return b.String()
}

// Glyph is one character a PDF reader finds, with its box in points.
type Glyph struct {
	Page       int
	X, Y, W, H float64
	S          string
}

// PDFGlyphs returns every printed character of a PDF with its position.
func PDFGlyphs(t testing.TB, b []byte) []Glyph {
	t.Helper()
	r, err := pdf.NewReader(bytes.NewReader(b), int64(len(b)))
	if err != nil {
		t.Fatalf("the statement is not a PDF a reader can open: %v", err)
	}
	var out []Glyph
	for i := 1; i <= r.NumPage(); i++ {
		for _, tx := range r.Page(i).Content().Text {
			if strings.TrimSpace(tx.S) == "" {
				continue
			}
			out = append(out, Glyph{Page: i, X: tx.X, Y: tx.Y, W: tx.W, H: tx.FontSize, S: tx.S})
		}
	}
	return out
}

// Overlaps lists the pairs of characters printed over each other: on the
// same page, their boxes (advance width × 0.7 of the font size above the
// baseline) intersecting by more than a hair.
func Overlaps(gs []Glyph) []string {
	const eps = 0.2
	var out []string
	for i := range gs {
		for j := i + 1; j < len(gs); j++ {
			a, b := gs[i], gs[j]
			if a.Page != b.Page {
				continue
			}
			xo := math.Min(a.X+a.W, b.X+b.W) - math.Max(a.X, b.X)
			yo := math.Min(a.Y+0.7*a.H, b.Y+0.7*b.H) - math.Max(a.Y, b.Y)
			if xo > eps && yo > eps {
				out = append(out, fmt.Sprintf("page %d: %q at (%.1f, %.1f) and %q at (%.1f, %.1f)", a.Page, a.S, a.X, a.Y, b.S, b.X, b.Y))
			}
		}
	}
	return out
}
