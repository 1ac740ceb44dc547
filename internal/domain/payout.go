package domain

import (
	"slices"
	"strings"
	"time"
	"unicode/utf8"
)

// PayoutRunStatus is where a payout run is in its life: open (created,
// exported to accounts payable), paying (a mark-paid has fixed its payout
// reference and is marking its commissions paid), paid, or cancelled.
// Open and paying runs are "unsettled": an organization has at most one.
type PayoutRunStatus string

// Payout run statuses.
const (
	PayoutRunOpen      PayoutRunStatus = "open"
	PayoutRunPaying    PayoutRunStatus = "paying"
	PayoutRunPaid      PayoutRunStatus = "paid"
	PayoutRunCancelled PayoutRunStatus = "cancelled"
)

// Unsettled reports whether the run still holds its commissions (open or
// paying): while it does, no other run of the organization may be created.
func (s PayoutRunStatus) Unsettled() bool { return s == PayoutRunOpen || s == PayoutRunPaying }

// PayoutLine is what one beneficiary (a partner, or a referrer that belongs
// to no partner) is paid in one currency by a run: the sum of the approved
// commissions it lists.
type PayoutLine struct {
	PartnerID     string   `json:"partnerId,omitempty"`
	ReferrerID    string   `json:"referrerId,omitempty"` // set only when the beneficiary is a referrer without partner
	Amount        Money    `json:"amount"`
	CommissionIDs []string `json:"commissionIds"`
}

// PayoutRun is a batch of approved commissions paid together through the
// organization's own payment workflow: created, exported as CSV for
// accounts payable, then marked paid with one reference.
type PayoutRun struct {
	ID              string          `json:"id"`
	OrgID           string          `json:"organizationId"`
	Status          PayoutRunStatus `json:"status"`
	Lines           []PayoutLine    `json:"lines"`
	Totals          []Money         `json:"totals"` // per currency, sorted by currency
	CommissionCount int             `json:"commissionCount"`
	PayoutReference string          `json:"payoutReference,omitempty"`
	CreatedBy       string          `json:"createdBy"`
	CreatedAt       time.Time       `json:"createdAt"`
	UpdatedAt       time.Time       `json:"updatedAt"`
	PaidAt          *time.Time      `json:"paidAt,omitempty"`
	Revision        int64           `json:"revision"`
}

// Holds reports whether the run lists the commission.
func (r PayoutRun) Holds(commissionID string) bool {
	for _, l := range r.Lines {
		if slices.Contains(l.CommissionIDs, commissionID) {
			return true
		}
	}
	return false
}

// Payout methods a partner may choose.
var PayoutMethods = []string{"bank_transfer", "paypal", "wise", "check", "other"}

// Limits of the payout details' free text.
const (
	MaxAccountReferenceLen = 200
	MaxTaxIDLen            = 50
)

// PayoutDetails is how a partner wants to be paid, kept in its portal. The
// account reference and tax ID are sensitive: the API and the pages show
// them masked (MaskSecret); only the admin's payout-run CSV carries them
// whole, for accounts payable.
type PayoutDetails struct {
	OrgID            string    `json:"organizationId"`
	PartnerID        string    `json:"partnerId"`
	Method           string    `json:"method"`
	AccountReference string    `json:"accountReference"`
	TaxID            string    `json:"taxId"`
	UpdatedAt        time.Time `json:"updatedAt"`
}

// Masked returns d with the account reference and tax ID masked.
func (d PayoutDetails) Masked() PayoutDetails {
	d.AccountReference = MaskSecret(d.AccountReference)
	d.TaxID = MaskSecret(d.TaxID)
	return d
}

// Validate checks the details a partner submits.
func (d PayoutDetails) Validate() error {
	var v Validation
	ok := false
	for _, m := range PayoutMethods {
		ok = ok || d.Method == m
	}
	v.Check(ok, "method", "must be one of %s", strings.Join(PayoutMethods, ", "))
	v.Check(strings.TrimSpace(d.AccountReference) != "", "accountReference", "is required")
	v.Check(len(d.AccountReference) <= MaxAccountReferenceLen, "accountReference", "must be at most %d characters", MaxAccountReferenceLen)
	v.Check(len(d.TaxID) <= MaxTaxIDLen, "taxId", "must be at most %d characters", MaxTaxIDLen)
	v.Check(utf8.ValidString(d.AccountReference) && utf8.ValidString(d.TaxID), "accountReference", "must be text")
	return v.Err()
}

// MaskSecret hides all but the last four characters of s ("•••• 6789");
// a value of six characters or fewer is hidden entirely, so that masking
// never shows most of a short value. "" stays "".
func MaskSecret(s string) string {
	r := []rune(strings.TrimSpace(s))
	switch {
	case len(r) == 0:
		return ""
	case len(r) <= 6:
		return "••••"
	}
	return "•••• " + string(r[len(r)-4:])
}
