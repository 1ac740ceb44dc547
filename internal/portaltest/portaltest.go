// Package portaltest reads the partner portal's statements back for tests:
// the totals of a statement CSV, and the text and totals of a statement PDF
// as a PDF reader sees them (github.com/ledongthuc/pdf), so tests compare
// what a partner would read rather than what the renderer meant to draw.
package portaltest

import (
	"bytes"
	"encoding/csv"
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
		if c, ok := strings.CutPrefix(line, "Currency "); ok {
			cur = strings.TrimSpace(c)
			continue
		}
		for label, kind := range labels {
			if rest, ok := strings.CutPrefix(line, label); ok {
				amount, _ := strings.CutSuffix(strings.TrimSpace(rest), " "+cur)
				out[cur+" "+kind] = amount
			}
		}
	}
	return out
}
