package analytics

import (
	"encoding/csv"
	"io"
	"sort"
	"strconv"
	"time"

	"github.com/partnerloop/partnerloop/internal/domain"
	"github.com/partnerloop/partnerloop/internal/ledger"
)

// CSV renderings of the reports (RFC 4180, CRLF). Text cells are
// neutralised against spreadsheet formulas; amounts are in major units
// with the currency's decimals, one column per currency ("revenue USD").

func writeAll(w io.Writer, rows [][]string) error {
	cw := csv.NewWriter(w)
	cw.UseCRLF = true
	if err := cw.WriteAll(rows); err != nil {
		return err
	}
	return cw.Error()
}

func itoa(n int64) string { return strconv.FormatInt(n, 10) }

// currencies lists the currencies of every money list given, sorted.
func currencies(lists ...[]domain.Money) []string {
	seen := map[string]bool{}
	for _, l := range lists {
		for _, m := range l {
			seen[m.Currency] = true
		}
	}
	out := make([]string, 0, len(seen))
	for c := range seen {
		out = append(out, c)
	}
	sort.Strings(out)
	return out
}

// amountIn is the amount of currency in l as a CSV cell ("0" when none).
func amountIn(l []domain.Money, currency string) string {
	for _, m := range l {
		if m.Currency == currency {
			return ledger.Amount(m)
		}
	}
	return ledger.Amount(domain.Money{Currency: currency})
}

// WriteSummaryCSV writes one row per figure (and currency):
// figure,currency,value[,previous].
func WriteSummaryCSV(w io.Writer, s Summary) error {
	header := []string{"figure", "currency", "value"}
	if s.Previous != nil {
		header = append(header, "previous")
	}
	rows := [][]string{header}
	count := func(name string, pick func(Summary) int64) {
		row := []string{name, "", itoa(pick(s))}
		if s.Previous != nil {
			row = append(row, itoa(pick(*s.Previous)))
		}
		rows = append(rows, row)
	}
	money := func(name string, pick func(Summary) []domain.Money) {
		lists := [][]domain.Money{pick(s)}
		if s.Previous != nil {
			lists = append(lists, pick(*s.Previous))
		}
		for _, cur := range currencies(lists...) {
			row := []string{name, ledger.Neutralize(cur), amountIn(pick(s), cur)}
			if s.Previous != nil {
				row = append(row, amountIn(pick(*s.Previous), cur))
			}
			rows = append(rows, row)
		}
	}
	count("clicks", func(s Summary) int64 { return s.Clicks })
	count("totalReferrals", func(s Summary) int64 { return s.TotalReferrals })
	count("convertedReferrals", func(s Summary) int64 { return s.ConvertedReferrals })
	rate := []string{"conversionRate", "", strconv.FormatFloat(s.ConversionRate, 'f', 4, 64)}
	if s.Previous != nil {
		rate = append(rate, strconv.FormatFloat(s.Previous.ConversionRate, 'f', 4, 64))
	}
	rows = append(rows, rate)
	count("conversions", func(s Summary) int64 { return s.Conversions })
	money("revenue", func(s Summary) []domain.Money { return s.Revenue })
	money("commission", func(s Summary) []domain.Money { return s.Commission })
	money("commissionAccrued.pending", func(s Summary) []domain.Money { return s.CommissionAccrued.Pending })
	money("commissionAccrued.approved", func(s Summary) []domain.Money { return s.CommissionAccrued.Approved })
	money("commissionAccrued.paid", func(s Summary) []domain.Money { return s.CommissionAccrued.Paid })
	money("commissionAccrued.reversed", func(s Summary) []domain.Money { return s.CommissionAccrued.Reversed })
	count("partnerContribution.dealsRegistered", func(s Summary) int64 { return s.PartnerContribution.DealsRegistered })
	count("partnerContribution.dealCount", func(s Summary) int64 { return s.PartnerContribution.DealCount })
	money("partnerContribution.dealValue", func(s Summary) []domain.Money { return s.PartnerContribution.DealValue })
	count("partnerContribution.conversions", func(s Summary) int64 { return s.PartnerContribution.Conversions })
	money("partnerContribution.revenue", func(s Summary) []domain.Money { return s.PartnerContribution.Revenue })
	money("epc", func(s Summary) []domain.Money { return s.EPC })
	meta := func(name, value, previous string) {
		row := []string{name, "", ledger.Neutralize(value)}
		if s.Previous != nil {
			row = append(row, ledger.Neutralize(previous))
		}
		rows = append(rows, row)
	}
	prevFrom, prevTo := "", ""
	if s.Previous != nil {
		prevFrom, prevTo = s.Previous.From.String(), s.Previous.To.String()
	}
	meta("from", s.From.String(), prevFrom)
	meta("to", s.To.String(), prevTo)
	meta("timeZone", s.TimeZone, s.TimeZone)
	meta("asOf", s.AsOf.UTC().Format(time.RFC3339), s.AsOf.UTC().Format(time.RFC3339))
	return writeAll(w, rows)
}

// WriteSeriesCSV writes one row per point: start (RFC 3339 with the zone's
// offset), counts, then revenue and commission per currency.
func WriteSeriesCSV(w io.Writer, s Series) error {
	var lists [][]domain.Money
	for _, p := range s.Points {
		lists = append(lists, p.Revenue, p.Commission)
	}
	curs := currencies(lists...)
	header := []string{"start", "clicks", "referrals", "conversions"}
	for _, c := range curs {
		header = append(header, "revenue "+ledger.Neutralize(c), "commission "+ledger.Neutralize(c))
	}
	rows := [][]string{header}
	for _, p := range s.Points {
		row := []string{p.Start.Format(time.RFC3339), itoa(p.Clicks), itoa(p.Referrals), itoa(p.Conversions)}
		for _, c := range curs {
			row = append(row, amountIn(p.Revenue, c), amountIn(p.Commission, c))
		}
		rows = append(rows, row)
	}
	return writeAll(w, rows)
}

// WriteReferrersCSV writes the top referrers, one row each.
func WriteReferrersCSV(w io.Writer, l TopList[ReferrerRow]) error {
	var lists [][]domain.Money
	for _, r := range l.Items {
		lists = append(lists, r.Revenue, r.Commission)
	}
	curs := currencies(lists...)
	header := []string{"referrerId", "name", "programId", "partnerId", "clicks", "referrals", "conversions"}
	for _, c := range curs {
		header = append(header, "revenue "+ledger.Neutralize(c), "commission "+ledger.Neutralize(c))
	}
	rows := [][]string{header}
	for _, r := range l.Items {
		row := []string{ledger.Neutralize(r.ReferrerID), ledger.Neutralize(r.Name), ledger.Neutralize(r.ProgramID), ledger.Neutralize(r.PartnerID),
			itoa(r.Clicks), itoa(r.Referrals), itoa(r.Conversions)}
		for _, c := range curs {
			row = append(row, amountIn(r.Revenue, c), amountIn(r.Commission, c))
		}
		rows = append(rows, row)
	}
	return writeAll(w, rows)
}

// WritePartnersCSV writes the partner contribution table, one row each.
func WritePartnersCSV(w io.Writer, l TopList[PartnerRow]) error {
	var lists [][]domain.Money
	for _, r := range l.Items {
		lists = append(lists, r.Revenue, r.DealValue, r.Commission, r.EPC)
	}
	curs := currencies(lists...)
	header := []string{"partnerId", "companyName", "tierId", "clicks", "referrals", "conversions", "dealsRegistered", "dealCount"}
	for _, c := range curs {
		c = ledger.Neutralize(c)
		header = append(header, "revenue "+c, "dealValue "+c, "commission "+c, "epc "+c)
	}
	rows := [][]string{header}
	for _, r := range l.Items {
		row := []string{ledger.Neutralize(r.PartnerID), ledger.Neutralize(r.CompanyName), ledger.Neutralize(r.TierID),
			itoa(r.Clicks), itoa(r.Referrals), itoa(r.Conversions), itoa(r.DealsRegistered), itoa(r.DealCount)}
		for _, c := range curs {
			row = append(row, amountIn(r.Revenue, c), amountIn(r.DealValue, c), amountIn(r.Commission, c), amountIn(r.EPC, c))
		}
		rows = append(rows, row)
	}
	return writeAll(w, rows)
}
