package payouts

import (
	"encoding/csv"
	"io"
	"strconv"

	"github.com/partnerloop/partnerloop/internal/domain"
	"github.com/partnerloop/partnerloop/internal/ledger"
)

// Columns is the header of a run's CSV for accounts payable: one row per
// line. The order is part of the contract: only ever append.
var Columns = []string{
	"payoutRunId", "partnerId", "referrerId", "name", "contact", "email", "currency", "amount", "commissions",
	"payoutMethod", "accountReference", "taxId", "payoutReference",
}

// WriteCSV writes the run's lines with their payees (Payees, same order) as
// RFC 4180 CSV with CRLF line ends. Every text cell is neutralised against
// formula injection (ledger.Neutralize); the amount is a number in major
// units (ledger.Amount). The payout details are whole here — the one place
// they leave the store unmasked.
func WriteCSV(w io.Writer, r domain.PayoutRun, payees []Payee) error {
	cw := csv.NewWriter(w)
	cw.UseCRLF = true
	if err := cw.Write(Columns); err != nil {
		return err
	}
	for i, l := range r.Lines {
		p := payees[i]
		var d domain.PayoutDetails
		if p.Details != nil {
			d = *p.Details
		}
		row := []string{r.ID, l.PartnerID, l.ReferrerID, p.Name, p.Contact, p.Email, l.Amount.Currency}
		for j := range row {
			row[j] = ledger.Neutralize(row[j])
		}
		row = append(row, ledger.Amount(l.Amount), strconv.Itoa(len(l.CommissionIDs)))
		for _, s := range []string{d.Method, d.AccountReference, d.TaxID, r.PayoutReference} {
			row = append(row, ledger.Neutralize(s))
		}
		if err := cw.Write(row); err != nil {
			return err
		}
	}
	cw.Flush()
	return cw.Error()
}

// Filename names a run's CSV.
func Filename(r domain.PayoutRun) string { return "payout-run-" + r.ID + ".csv" }
