package portal_test

import (
	"bytes"
	"encoding/csv"
	"errors"
	"fmt"
	"image"
	"image/color"
	"image/jpeg"
	"image/png"
	"math"
	"reflect"
	"strings"
	"testing"
	"time"

	"github.com/partnerloop/partnerloop/internal/commission"
	"github.com/partnerloop/partnerloop/internal/domain"
	"github.com/partnerloop/partnerloop/internal/portal"
	"github.com/partnerloop/partnerloop/internal/portal/statementpdf"
	"github.com/partnerloop/partnerloop/internal/portaltest"
)

var march = portal.Period{Year: 2026, Month: time.March}

func at(month time.Month, day, hour int) time.Time {
	return time.Date(2026, month, day, hour, 0, 0, 0, time.UTC)
}

// step is a status change of a test entry.
type step struct {
	at time.Time
	to commission.Status
}

// entry builds a ledger entry created pending at created, then moved
// through steps, with its audit trail.
func entry(id, cur string, amount int64, created time.Time, steps ...step) portal.Entry {
	c := commission.Commission{
		ID: id, Kind: commission.KindCommission, ProgramID: "prg_1", PartnerID: "prt_a", ConversionID: "cnv_" + id,
		Amount: domain.Money{Amount: amount, Currency: cur}, Status: commission.StatusPending,
		CreatedAt: created, UpdatedAt: created,
	}
	if amount < 0 {
		c.Kind = commission.KindClawback
	}
	audit := []commission.AuditEntry{{CommissionID: id, To: commission.StatusPending, At: created}}
	for _, s := range steps {
		audit = append(audit, commission.AuditEntry{CommissionID: id, From: c.Status, To: s.to, At: s.at})
		c.Status, c.UpdatedAt = s.to, s.at
		if s.to == commission.StatusPaid {
			c.PayoutReference = "PAY-" + id
		}
	}
	return portal.Entry{Commission: c, Audit: audit}
}

// withoutAudit drops the audit trail, as the service does for entries
// unchanged since before the period.
func withoutAudit(e portal.Entry) portal.Entry { e.Audit = nil; return e }

func TestComputeStatement(t *testing.T) {
	approved := func(at time.Time) step { return step{at, commission.StatusApproved} }
	paid := func(at time.Time) step { return step{at, commission.StatusPaid} }
	rejected := func(at time.Time) step { return step{at, commission.StatusRejected} }
	reversed := func(at time.Time) step { return step{at, commission.StatusReversed} }

	type totals struct {
		cur                                              string
		opening, earned, approved, paid, voided, closing int64
		lines                                            []string // "id status"
	}
	cases := []struct {
		name    string
		entries []portal.Entry
		want    []totals
	}{
		{"no entries: no sections", nil, nil},
		{"pending from before: opening and closing, no lines",
			[]portal.Entry{entry("a", "USD", 1000, at(2, 10, 9))},
			[]totals{{cur: "USD", opening: 1000, closing: 1000}}},
		{"settled before the period: not part of it",
			[]portal.Entry{
				entry("a", "USD", 1000, at(1, 10, 9), approved(at(2, 10, 0)), paid(at(2, 20, 0))),
				entry("b", "USD", 700, at(1, 10, 9), rejected(at(2, 1, 0))),
				withoutAudit(entry("c", "USD", 300, at(1, 10, 9), approved(at(2, 10, 0)), paid(at(2, 20, 0)))),
			}, nil},
		{"earned before, approved and paid this month",
			[]portal.Entry{entry("a", "USD", 1000, at(2, 10, 9), approved(at(3, 2, 0)), paid(at(3, 20, 0)))},
			[]totals{{cur: "USD", opening: 1000, approved: 1000, paid: 1000, closing: 0}}},
		{"approved before (no audit needed), paid later: owed at both ends",
			[]portal.Entry{withoutAudit(entry("a", "USD", 1000, at(1, 10, 9), approved(at(2, 10, 0))))},
			[]totals{{cur: "USD", opening: 1000, closing: 1000}}},
		{"earned this month: a line, owed at the end",
			[]portal.Entry{entry("a", "USD", 1234, at(3, 5, 9))},
			[]totals{{cur: "USD", earned: 1234, closing: 1234, lines: []string{"a pending"}}}},
		{"earned and rejected this month: a line, voided",
			[]portal.Entry{entry("a", "USD", 500, at(3, 5, 9), rejected(at(3, 6, 0)))},
			[]totals{{cur: "USD", earned: 500, voided: 500, closing: 0, lines: []string{"a rejected"}}}},
		{"reversed this month after being owed since before",
			[]portal.Entry{entry("a", "USD", 800, at(2, 5, 9), approved(at(3, 1, 0)), reversed(at(3, 9, 0)))},
			[]totals{{cur: "USD", opening: 800, approved: 800, voided: 800, closing: 0}}},
		{"a clawback nets against what is owed",
			[]portal.Entry{
				entry("a", "USD", 1000, at(2, 5, 9)),
				entry("b", "USD", -300, at(3, 7, 9)),
			},
			[]totals{{cur: "USD", opening: 1000, earned: -300, closing: 700, lines: []string{"b pending"}}}},
		{"entries after the period are ignored; the status is the one at the period's end",
			[]portal.Entry{
				entry("a", "USD", 100, at(4, 1, 0)),
				entry("b", "USD", 200, at(3, 30, 0), approved(at(4, 2, 0)), paid(at(4, 3, 0))),
			},
			[]totals{{cur: "USD", earned: 200, closing: 200, lines: []string{"b pending"}}}},
		{"boundaries: created at the first instant is a line; paid at End is still owed at End",
			[]portal.Entry{
				entry("a", "USD", 100, march.Start()),
				entry("b", "USD", 200, march.Start().Add(-time.Nanosecond)),
				entry("c", "USD", 400, at(2, 1, 0), approved(at(2, 2, 0)), paid(march.End())),
			},
			[]totals{{cur: "USD", opening: 600, earned: 100, closing: 700, lines: []string{"a pending"}}}},
		{"one section per currency, in currency order",
			[]portal.Entry{
				entry("u", "USD", 1000, at(3, 3, 0)),
				entry("e", "EUR", 999, at(3, 4, 0), approved(at(3, 5, 0)), paid(at(3, 6, 0))),
				entry("j", "JPY", 1500, at(2, 4, 0)),
			},
			[]totals{
				{cur: "EUR", earned: 999, approved: 999, paid: 999, closing: 0, lines: []string{"e paid"}},
				{cur: "JPY", opening: 1500, closing: 1500},
				{cur: "USD", earned: 1000, closing: 1000, lines: []string{"u pending"}},
			}},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			got, err := portal.Compute(march, tc.entries, map[string]string{"prg_1": "Spring"})
			if err != nil {
				t.Fatal(err)
			}
			var gotT []totals
			for _, s := range got {
				var lines []string
				for _, l := range s.Lines {
					lines = append(lines, l.CommissionID+" "+string(l.Status))
					if l.Program != "Spring" {
						t.Errorf("line %s: program %q, want the program's name", l.CommissionID, l.Program)
					}
				}
				gotT = append(gotT, totals{s.Currency, s.Opening, s.Earned, s.Approved, s.Paid, s.Voided, s.Closing, lines})
				if s.Closing != s.Opening+s.Earned-s.Paid-s.Voided {
					t.Errorf("%s: closing %d != opening %d + earned %d - paid %d - voided %d", s.Currency, s.Closing, s.Opening, s.Earned, s.Paid, s.Voided)
				}
			}
			if !reflect.DeepEqual(gotT, tc.want) {
				t.Errorf("statement:\n got %+v\nwant %+v", gotT, tc.want)
			}
		})
	}
}

// A statement whose totals do not fit in an int64 is an error, never a
// wrapped, negative balance (the security review's eleven conversions of
// MaxInt64 made a partner's closing balance negative).
func TestComputeOverflowFailsLoudly(t *testing.T) {
	const big = math.MaxInt64 / 10 * 9
	cases := map[string][]portal.Entry{
		"earned and closing": {entry("a", "USD", big, at(3, 2, 9)), entry("b", "USD", big, at(3, 3, 9))},
		"opening":            {entry("a", "USD", big, at(2, 2, 9)), entry("b", "USD", big, at(2, 3, 9))},
		"paid": {
			entry("a", "USD", big, at(2, 2, 9), step{at(3, 2, 0), commission.StatusApproved}, step{at(3, 3, 0), commission.StatusPaid}),
			entry("b", "USD", big, at(2, 3, 9), step{at(3, 2, 0), commission.StatusApproved}, step{at(3, 3, 0), commission.StatusPaid}),
		},
	}
	for name, entries := range cases {
		if got, err := portal.Compute(march, entries, nil); !errors.Is(err, domain.ErrOverflow) {
			t.Errorf("%s: Compute = %+v, %v; want ErrOverflow", name, got, err)
		}
	}
	// Other currencies do not add to each other.
	if _, err := portal.Compute(march, []portal.Entry{entry("a", "USD", big, at(3, 2, 9)), entry("b", "EUR", big, at(3, 3, 9))}, nil); err != nil {
		t.Errorf("one large amount per currency: %v", err)
	}
}

func TestParsePeriod(t *testing.T) {
	for _, s := range []string{"2026-03", "2000-01", "2026-12"} {
		if p, err := portal.ParsePeriod(s); err != nil || p.String() != s {
			t.Errorf("ParsePeriod(%q) = %v, %v", s, p, err)
		}
	}
	for _, s := range []string{"", "2026-3", "2026-00", "2026-13", "26-03", "2026-03-01", "abcd-ef", "1999-12", "2026-03.csv"} {
		if _, err := portal.ParsePeriod(s); err == nil {
			t.Errorf("ParsePeriod(%q) accepted", s)
		}
	}
	p, _ := portal.ParsePeriod("2026-12")
	if !p.Start().Equal(time.Date(2026, 12, 1, 0, 0, 0, 0, time.UTC)) || !p.End().Equal(time.Date(2027, 1, 1, 0, 0, 0, 0, time.UTC)) {
		t.Errorf("2026-12 spans %v to %v", p.Start(), p.End())
	}
}

// TestStatementRenderings: the CSV and the PDF of one statement carry the
// same totals, and the CSV neutralises formulas.
func TestStatementRenderings(t *testing.T) {
	entries := []portal.Entry{
		entry("a", "USD", 1000, at(2, 10, 9), step{at(3, 2, 0), commission.StatusApproved}),
		entry("b", "USD", 2550, at(3, 5, 9)),
		entry("c", "USD", -300, at(3, 7, 9)),
		entry("d", "EUR", 4999, at(3, 8, 9), step{at(3, 9, 0), commission.StatusRejected}),
	}
	sections, err := portal.Compute(march, entries, map[string]string{"prg_1": "@Spring, \"pro\""})
	if err != nil {
		t.Fatal(err)
	}
	st := portal.Statement{
		Organization: "Acme Corp", PartnerID: "prt_a", Partner: "=Evil Résellers, Inc.", Period: march, AsOf: at(4, 2, 0),
		Sections: sections,
	}
	var csvBuf bytes.Buffer
	if err := portal.WriteStatementCSV(&csvBuf, st); err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(csvBuf.String(), "\r\n") {
		t.Error("CSV lines do not end in CRLF")
	}
	csvBytes := csvBuf.Bytes()
	records, err := csv.NewReader(bytes.NewReader(csvBytes)).ReadAll()
	if err != nil {
		t.Fatalf("CSV does not parse: %v", err)
	}
	if !reflect.DeepEqual(records[0], portal.StatementColumns) {
		t.Errorf("header %v", records[0])
	}
	for _, r := range records[1:] {
		if r[0] == portal.RowEntry && r[5] != "'@Spring, \"pro\"" {
			t.Errorf("program cell %q is not neutralised", r[5])
		}
	}
	csvTotals := portaltest.CSVTotals(t, csvBytes)
	want := map[string]string{
		"USD " + portal.RowOpening: "10.00", "USD " + portal.RowEarned: "22.50", "USD " + portal.RowApproved: "10.00",
		"USD " + portal.RowPaid: "0.00", "USD " + portal.RowVoided: "0.00", "USD " + portal.RowClosing: "32.50",
		"EUR " + portal.RowOpening: "0.00", "EUR " + portal.RowEarned: "49.99", "EUR " + portal.RowApproved: "0.00",
		"EUR " + portal.RowPaid: "0.00", "EUR " + portal.RowVoided: "49.99", "EUR " + portal.RowClosing: "0.00",
	}
	if !reflect.DeepEqual(csvTotals, want) {
		t.Errorf("CSV totals\n got %v\nwant %v", csvTotals, want)
	}

	var pdfBuf bytes.Buffer
	if err := statementpdf.Write(&pdfBuf, st); err != nil {
		t.Fatal(err)
	}
	text := portaltest.PDFText(t, pdfBuf.Bytes())
	for _, s := range []string{"Acme Corp", "Commission statement for March 2026", "Partner: =Evil R", "As of: 2 April 2026, 00:00 UTC"} {
		if !strings.Contains(text, s) {
			t.Errorf("the PDF does not show %q:\n%s", s, text)
		}
	}
	if strings.Contains(text, "prt_a") || strings.Contains(text, "cnv_") {
		t.Errorf("the PDF shows raw IDs:\n%s", text)
	}
	if got := portaltest.PDFTotals(t, pdfBuf.Bytes()); !reflect.DeepEqual(got, csvTotals) {
		t.Logf("%q", portaltest.PDFLines(t, pdfBuf.Bytes()))
		t.Errorf("PDF totals differ from the CSV's\n pdf %v\n csv %v", got, csvTotals)
	}
}

func TestStatementFilename(t *testing.T) {
	st := portal.Statement{Partner: "Évil / Resellers, Inc.", Period: march}
	if got := portal.StatementFilename(st, "pdf"); got != "statement-vil-resellers-inc-2026-03.pdf" {
		t.Errorf("filename %q", got)
	}
}

// TestStatementPDFLayout: a statement with long program and customer
// names, a payout reference and a deal, in de-DE and Europe/Berlin, is
// laid out in measured columns: no two characters are printed over each
// other, every label is whole (wrapped, never cut), dates are the
// organization's days and money its locale's.
func TestStatementPDFLayout(t *testing.T) {
	long := "Partner programme for resellers in Germany, Austria and Switzerland — Enterprise"
	var entries []portal.Entry
	for i := range 30 {
		e := entry(fmt.Sprintf("e%02d", i), "EUR", int64(123456+i), at(3, 1+i%28, 23), step{at(3, 29, 10), commission.StatusApproved}, step{at(3, 30, 10), commission.StatusPaid})
		if i%3 == 0 {
			e.Commission.ConversionID, e.Commission.DealID = "", "dea_"+e.Commission.ID
		}
		entries = append(entries, e)
	}
	sections, err := portal.Compute(march, entries, map[string]string{"prg_1": long})
	if err != nil {
		t.Fatal(err)
	}
	for i := range sections[0].Lines {
		l := &sections[0].Lines[i]
		l.Customer = "Müller Maschinenbau Gesellschaft mit beschränkter Haftung Niederlassung Süd"
		if l.DealID == "" {
			l.Customer = "j***@example.com"
		}
	}
	st := portal.Statement{Organization: "Acme Deutschland GmbH", Locale: "de-DE", TimeZone: "Europe/Berlin",
		PartnerID: "prt_a", Partner: "Kraftwerk Digital GmbH", Period: march, AsOf: at(3, 31, 22), Sections: sections}
	// Without a logo, with a PNG (transparent pixels included) and with a
	// JPEG one, and with one fpdf cannot read (left out, not fatal).
	for _, logo := range []*portal.Logo{nil, testLogo(t, "image/png"), testLogo(t, "image/jpeg"), {ContentType: "image/png", Data: []byte("\x89PNG\r\n\x1a\nbroken")}} {
		name := "no logo"
		if logo != nil {
			name = logo.ContentType + fmt.Sprintf(" logo of %d bytes", len(logo.Data))
		}
		t.Run(name, func(t *testing.T) {
			st.Logo = logo
			var buf bytes.Buffer
			if err := statementpdf.Write(&buf, st); err != nil {
				t.Fatal(err)
			}
			b := buf.Bytes()
			if portaltest.Overlaps([]portaltest.Glyph{{Page: 1, X: 10, W: 5, H: 9, S: "a"}, {Page: 1, X: 13, Y: 1, W: 5, H: 9, S: "b"}}) == nil {
				t.Fatal("Overlaps does not see two characters printed over each other")
			}
			if o := portaltest.Overlaps(portaltest.PDFGlyphs(t, b)); len(o) > 0 {
				t.Errorf("%d characters printed over others, e.g. %v", len(o), o[:min(len(o), 5)])
			}
			text := portaltest.PDFText(t, b)
			flat := strings.Join(strings.Fields(text), " ")
			for _, want := range []string{
				"As of: 1 April 2026, 00:00 CEST", // 22:00 UTC on 31 March is 1 April in Berlin
				"Ref. PAY-e00", "Deal: Müller Maschinenbau", "Sale: j***@example.com",
				"1.234,56 €", "Amounts in EUR", "2 Mar 2026", // created 23:00 UTC on 1 March: 2 March in Berlin
			} {
				if !strings.Contains(flat, want) {
					t.Errorf("the PDF does not show %q:\n%s", want, text)
				}
			}
			// The long program name is wrapped whole, never cut short.
			if !strings.Contains(flat, "Switzerland") || strings.Contains(flat, "...") {
				t.Errorf("a long program name is cut:\n%s", text)
			}
			if strings.Contains(flat, "dea_") || strings.Contains(flat, "cnv_") {
				t.Errorf("raw IDs in the PDF:\n%s", text)
			}
			if got := portaltest.PDFLines(t, b); len(got) < 60 {
				t.Errorf("only %d lines: the 30 entries did not print", len(got))
			}
			// A PNG with transparency is two images: the colours and
			// their alpha mask.
			images := bytes.Count(b, []byte("/Subtype /Image"))
			if shown := logo != nil && len(logo.Data) > 100; (images > 0) != shown {
				t.Errorf("%d images in the PDF; the logo shown: %v", images, shown)
			}
		})
	}
}

// testLogo is a 300×80 logo of the given type, with transparent pixels
// when it is a PNG.
func testLogo(t *testing.T, contentType string) *portal.Logo {
	t.Helper()
	img := image.NewNRGBA(image.Rect(0, 0, 300, 80))
	for y := range 80 {
		for x := range 300 {
			img.Set(x, y, color.NRGBA{R: 0x0f, G: 0x76, B: 0x6e, A: uint8(255 * ((x / 20) % 2))})
		}
	}
	var buf bytes.Buffer
	var err error
	if contentType == "image/jpeg" {
		err = jpeg.Encode(&buf, img, nil)
	} else {
		err = png.Encode(&buf, img)
	}
	if err != nil {
		t.Fatal(err)
	}
	return &portal.Logo{ContentType: contentType, Data: buf.Bytes()}
}
