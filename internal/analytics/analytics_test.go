package analytics

import (
	"fmt"
	"testing"
	"time"

	"github.com/partnerloop/partnerloop/internal/domain"
	"github.com/partnerloop/partnerloop/internal/store"
)

func TestRateRoundsHalfAwayFromZeroToFourPlaces(t *testing.T) {
	for _, tc := range []struct {
		num, den int64
		want     float64
	}{
		{0, 0, 0}, {0, 7, 0}, {1, 3, 0.3333}, {2, 3, 0.6667}, {1, 8, 0.125},
		{1, 20000, 0.0001},            // 0.00005 rounds up
		{1, 20001, 0},                 // 0.0000499… rounds down
		{7, 7, 1},                     // all converted
		{123456789, 987654321, 0.125}, // big counts, exact integer arithmetic
	} {
		if got := Rate(tc.num, tc.den); got != tc.want {
			t.Errorf("Rate(%d, %d) = %v, want %v", tc.num, tc.den, got, tc.want)
		}
	}
}

func TestEPCRoundsEachCurrencyHalfAwayFromZero(t *testing.T) {
	got := EPC([]domain.Money{{Amount: 5, Currency: "EUR"}, {Amount: -5, Currency: "USD"}, {Amount: 100, Currency: "JPY"}}, 2)
	want := "[3 EUR -3 USD 50 JPY]" // 2.5 → 3, −2.5 → −3
	if s := fmt.Sprint(moneyStrings(got)); s != want {
		t.Errorf("EPC = %s, want %s", s, want)
	}
	if got := EPC([]domain.Money{{Amount: 5, Currency: "EUR"}}, 0); len(got) != 0 {
		t.Errorf("EPC without clicks = %v, want an empty list", got)
	}
}

func moneyStrings(ms []domain.Money) []string {
	out := make([]string, len(ms))
	for i, m := range ms {
		out[i] = fmt.Sprintf("%d %s", m.Amount, m.Currency)
	}
	return out
}

// TestSpans: a range is read at month grain for its whole months and at
// day grain for its ends, covering every day once.
func TestSpans(t *testing.T) {
	for _, tc := range []struct {
		from, to string
		want     string
	}{
		{"2026-03-05", "2026-03-20", "[day 2026-03-05..2026-03-20]"},
		{"2026-03-01", "2026-03-31", "[month 2026-03-01..2026-03-01]"},
		{"2026-02-27", "2026-04-02", "[day 2026-02-27..2026-02-28 month 2026-03-01..2026-03-01 day 2026-04-01..2026-04-02]"},
		{"2026-01-01", "2026-12-31", "[month 2026-01-01..2026-12-01]"},
		{"2026-01-31", "2026-03-01", "[day 2026-01-31..2026-01-31 month 2026-02-01..2026-02-01 day 2026-03-01..2026-03-01]"},
		{"2024-02-29", "2024-02-29", "[day 2024-02-29..2024-02-29]"},
	} {
		r := Range{From: MustDate(tc.from), To: MustDate(tc.to), Loc: time.UTC}
		var got []string
		days := 0
		for _, sp := range spans(r) {
			got = append(got, fmt.Sprintf("%s %s..%s", sp.grain, sp.from, sp.to))
			if sp.grain == store.GrainDay {
				days += sp.from.DaysUntil(sp.to) + 1
			} else {
				for m := sp.from; !m.After(sp.to); m = m.NextMonth() {
					days += m.DaysUntil(m.MonthEnd()) + 1
				}
			}
		}
		if s := fmt.Sprint(got); s != tc.want {
			t.Errorf("spans(%s..%s) = %s, want %s", tc.from, tc.to, s, tc.want)
		}
		if days != r.Days() {
			t.Errorf("spans(%s..%s) cover %d days, the range has %d", tc.from, tc.to, days, r.Days())
		}
	}
}

func TestParseRange(t *testing.T) {
	ny, _ := time.LoadLocation("America/New_York")
	now := time.Date(2026, 3, 10, 3, 0, 0, 0, time.UTC) // the 9th in New York
	for _, tc := range []struct {
		from, to, want string
	}{
		{"", "", "2026-02-08..2026-03-09"}, // the last 30 days including today, in the zone
		{"2026-03-01", "", "2026-03-01..2026-03-30"},
		{"", "2026-03-31", "2026-03-02..2026-03-31"},
		{"2026-03-01T04:59:59Z", "2026-03-02T05:00:00Z", "2026-02-28..2026-03-02"}, // instants: their local days
		{"2026-03-08", "2026-03-08", "2026-03-08..2026-03-08"},                     // a 23-hour day
	} {
		r, err := ParseRange(tc.from, tc.to, ny, now)
		if err != nil {
			t.Errorf("ParseRange(%q, %q): %v", tc.from, tc.to, err)
			continue
		}
		if got := r.From.String() + ".." + r.To.String(); got != tc.want {
			t.Errorf("ParseRange(%q, %q) = %s, want %s", tc.from, tc.to, got, tc.want)
		}
	}
	r, _ := ParseRange("2026-03-08", "2026-03-08", ny, now)
	if h := r.End().Sub(r.Start()); h != 23*time.Hour {
		t.Errorf("2026-03-08 in New York lasts %s, want 23h", h)
	}
	r, _ = ParseRange("2026-11-01", "2026-11-01", ny, now)
	if h := r.End().Sub(r.Start()); h != 25*time.Hour {
		t.Errorf("2026-11-01 in New York lasts %s, want 25h", h)
	}
	if p := r.Previous(); p.From.String() != "2026-10-31" || p.To.String() != "2026-10-31" {
		t.Errorf("previous of 2026-11-01 = %s..%s", p.From, p.To)
	}
	for _, bad := range [][2]string{{"2026-03-02", "2026-03-01"}, {"2023-03-01", "2026-03-01"}} {
		if _, err := ParseRange(bad[0], bad[1], ny, now); !isKind(err, domain.KindInvalid) {
			t.Errorf("ParseRange(%s, %s) = %v, want a 422 error", bad[0], bad[1], err)
		}
	}
	if _, err := ParseRange("2023-03-02", "2026-03-01", ny, now); err != nil {
		t.Errorf("a range just under three years: %v", err)
	}
	if _, err := ParseRange("yesterday", "", ny, now); !isKind(err, domain.KindMalformed) {
		t.Errorf("ParseRange(yesterday) = %v, want a 400 error", err)
	}
}

func isKind(err error, k domain.Kind) bool {
	e, ok := domain.AsError(err)
	return ok && e.Kind == k
}

// TestFoldOfAChangeIsNewMinusOld: a refund changes only the revenue of the
// conversion's own day; a duplicate of an INSERT applied twice would count
// twice (which the stores prevent), and an old image cancels exactly.
func TestFoldOfAChangeIsNewMinusOld(t *testing.T) {
	at := time.Date(2026, 3, 1, 23, 30, 0, 0, time.UTC) // the 1st in UTC, the 2nd in Berlin
	before := fmt.Sprintf(`{"id":"cnv_1","organizationId":"org_1","programId":"prg_1","referrerId":"rfr_1","partnerId":"prt_1",
		"event":"purchase","amount":{"amount":10000,"currency":"EUR"},"occurredAt":%q,"refundedAmount":{"amount":0,"currency":"EUR"}}`, at.Format(time.RFC3339))
	after := fmt.Sprintf(`{"id":"cnv_1","organizationId":"org_1","programId":"prg_1","referrerId":"rfr_1","partnerId":"prt_1",
		"event":"purchase","amount":{"amount":10000,"currency":"EUR"},"occurredAt":%q,"refundedAmount":{"amount":2500,"currency":"EUR"}}`, at.Format(time.RFC3339))
	berlin, _ := time.LoadLocation("Europe/Berlin")
	cells, err := Fold([]store.Change{{Entity: EntityConversion, Op: "MODIFY", OrgID: "org_1", ID: "cnv_1", OldImage: []byte(before), NewImage: []byte(after)}},
		func(string) *time.Location { return berlin })
	if err != nil {
		t.Fatal(err)
	}
	// Five levels (org, program, referrer, partner, program × partner) × day and month, EUR only.
	if len(cells) != 10 {
		t.Fatalf("%d cells changed, want 10: %+v", len(cells), cells)
	}
	for _, c := range cells {
		if c.Currency != "EUR" || c.Revenue != -2500 || c.PartnerRevenue != -2500 || c.Conversions != 0 {
			t.Errorf("cell %+v: want only revenue −2500 EUR", c)
		}
		if c.Grain == store.GrainDay && c.Start != "2026-03-02" {
			t.Errorf("day cell on %s, want the conversion's day in Berlin, 2026-03-02", c.Start)
		}
	}
	// An unknown entity and a zone-less organization.
	if cells, err := Fold([]store.Change{{Entity: "program", OrgID: "org_1", NewImage: []byte(`{}`)}}, nil); err != nil || len(cells) != 0 {
		t.Errorf("a program change gave %v, %v; want nothing", cells, err)
	}
	if _, err := Fold([]store.Change{{Entity: EntityConversion, OrgID: "org_2", NewImage: []byte(after)}},
		func(string) *time.Location { return nil }); err == nil {
		t.Error("a change of an organization without a zone folded without error")
	}
}
