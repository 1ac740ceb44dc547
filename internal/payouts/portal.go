package payouts

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"strings"
	"time"

	"github.com/partnerloop/partnerloop/internal/domain"
	"github.com/partnerloop/partnerloop/internal/store"
)

// maxPortalRuns bounds how many of the organization's runs (newest first)
// the portal looks through for a partner's past payouts: runs are made
// about monthly, so this is years of them.
const maxPortalRuns = 1000

// PartnerPayout is one payout of a run to the partner, in one currency.
type PartnerPayout struct {
	PayoutRunID     string                 `json:"payoutRunId"`
	Status          domain.PayoutRunStatus `json:"status"`
	Amount          domain.Money           `json:"amount"`
	CommissionCount int                    `json:"commissionCount"`
	PayoutReference string                 `json:"payoutReference,omitempty"`
	CreatedAt       time.Time              `json:"createdAt"`
	PaidAt          *time.Time             `json:"paidAt,omitempty"`
}

// PartnerPayouts is what the portal shows about a partner's payouts.
type PartnerPayouts struct {
	// Next is what the partner's approved, unpaid commissions add up to,
	// per currency: the next payout (scheduled when a run holds them).
	Next []domain.Money `json:"next"`
	// Scheduled lists the partner's lines of the organization's open or
	// paying run.
	Scheduled []PartnerPayout `json:"scheduled"`
	// Past lists the partner's lines of paid runs, newest first.
	Past []PartnerPayout `json:"past"`
}

// ForPartner returns the partner's next and past payouts.
func (s *Service) ForPartner(ctx context.Context, orgID, partnerID string) (PartnerPayouts, error) {
	out := PartnerPayouts{Next: []domain.Money{}, Scheduled: []PartnerPayout{}, Past: []PartnerPayout{}}
	if partnerID == "" {
		return out, nil
	}
	approved, err := s.approved(ctx, orgID, partnerID)
	if err != nil {
		return out, err
	}
	lines, err := Lines(approved)
	if err != nil {
		return out, err
	}
	if out.Next, err = Totals(lines); err != nil {
		return out, err
	}
	page := store.Page{Limit: store.MaxLimit}
	for seen := 0; seen < maxPortalRuns; {
		runs, next, err := s.st.ListPayoutRuns(ctx, orgID, page)
		if err != nil {
			return out, err
		}
		seen += len(runs)
		for _, r := range runs {
			for _, l := range r.Lines {
				if l.PartnerID != partnerID {
					continue
				}
				p := PartnerPayout{PayoutRunID: r.ID, Status: r.Status, Amount: l.Amount, CommissionCount: len(l.CommissionIDs),
					PayoutReference: r.PayoutReference, CreatedAt: r.CreatedAt, PaidAt: r.PaidAt}
				switch {
				case r.Status == domain.PayoutRunPaid:
					out.Past = append(out.Past, p)
				case r.Status.Unsettled():
					p.PayoutReference = "" // not paid yet
					out.Scheduled = append(out.Scheduled, p)
				}
			}
		}
		if next == "" || next == page.Cursor {
			break
		}
		page.Cursor = next
	}
	return out, nil
}

// Details returns the partner's payout details, masked; nil when it has
// given none.
func (s *Service) Details(ctx context.Context, orgID, partnerID string) (*domain.PayoutDetails, error) {
	d, err := s.details(ctx, orgID, partnerID)
	if d == nil || err != nil {
		return nil, err
	}
	m := d.Masked()
	return &m, nil
}

// DetailsInput is what a partner submits.
type DetailsInput struct {
	Method           string `json:"method"`
	AccountReference string `json:"accountReference"`
	TaxID            string `json:"taxId"`
}

// SetDetails stores the partner's payout details, sealed, and returns them
// masked.
func (s *Service) SetDetails(ctx context.Context, orgID, partnerID string, in DetailsInput) (domain.PayoutDetails, error) {
	d := domain.PayoutDetails{
		OrgID: orgID, PartnerID: partnerID, Method: strings.TrimSpace(in.Method),
		AccountReference: strings.TrimSpace(in.AccountReference), TaxID: strings.TrimSpace(in.TaxID), UpdatedAt: s.now().UTC(),
	}
	if err := d.Validate(); err != nil {
		return domain.PayoutDetails{}, err
	}
	rec, err := s.seal(d)
	if err != nil {
		return domain.PayoutDetails{}, err
	}
	if err := s.st.PutPayoutDetails(ctx, rec); err != nil {
		return domain.PayoutDetails{}, err
	}
	return d.Masked(), nil
}

// sealedDetails is what is sealed of a partner's payout details.
type sealedDetails struct {
	Method           string `json:"method"`
	AccountReference string `json:"accountReference"`
	TaxID            string `json:"taxId"`
}

// detailsContext binds sealed details to their organization and partner:
// a sealed value copied into another partner's record does not open there.
func detailsContext(orgID, partnerID string) string {
	return "payout-details\x00" + orgID + "\x00" + partnerID
}

var errNoKey = domain.Errorf(domain.KindUnavailable, "payout_details_unavailable",
	"payout details are unavailable: the server has no secrets key (SECRETS_KEY)")

// seal returns d as stored: sealed, with no detail in clear.
func (s *Service) seal(d domain.PayoutDetails) (store.PayoutDetailsRecord, error) {
	if s.box == nil {
		return store.PayoutDetailsRecord{}, errNoKey
	}
	plain, err := json.Marshal(sealedDetails{Method: d.Method, AccountReference: d.AccountReference, TaxID: d.TaxID})
	if err != nil {
		return store.PayoutDetailsRecord{}, err
	}
	return store.PayoutDetailsRecord{OrgID: d.OrgID, PartnerID: d.PartnerID, UpdatedAt: d.UpdatedAt,
		Sealed: s.box.Seal(plain, detailsContext(d.OrgID, d.PartnerID))}, nil
}

// details reads and opens the partner's payout details, whole; nil when it
// has given none. A record still kept in clear (written before details were
// sealed) is sealed on the way and written back, unless another write
// replaced it meanwhile (docs/commissions.md, "Payout runs").
func (s *Service) details(ctx context.Context, orgID, partnerID string) (*domain.PayoutDetails, error) {
	if s.box == nil {
		return nil, errNoKey
	}
	for range store.ModifyAttempts {
		rec, err := s.st.GetPayoutDetails(ctx, orgID, partnerID)
		if errors.Is(err, store.ErrNotFound) {
			return nil, nil
		}
		if err != nil {
			return nil, err
		}
		d := domain.PayoutDetails{OrgID: rec.OrgID, PartnerID: rec.PartnerID, UpdatedAt: rec.UpdatedAt}
		if rec.Sealed != nil {
			plain, err := s.box.Open(rec.Sealed, detailsContext(orgID, partnerID))
			if err != nil {
				return nil, fmt.Errorf("payouts: details of partner %s: %w", partnerID, err)
			}
			var sd sealedDetails
			if err := json.Unmarshal(plain, &sd); err != nil {
				return nil, fmt.Errorf("payouts: details of partner %s: %w", partnerID, err)
			}
			d.Method, d.AccountReference, d.TaxID = sd.Method, sd.AccountReference, sd.TaxID
			return &d, nil
		}
		d.Method, d.AccountReference, d.TaxID = rec.Method, rec.AccountReference, rec.TaxID
		sealed, err := s.seal(d)
		if err != nil {
			return nil, err
		}
		switch err := s.st.SealPayoutDetails(ctx, sealed); {
		case err == nil:
			return &d, nil
		case !errors.Is(err, store.ErrConflict):
			return nil, err
		}
		// Replaced meanwhile: read what is there now.
	}
	return nil, errConcurrent
}

// MethodLabel is a payout method as people read it.
func MethodLabel(m string) string {
	switch m {
	case "bank_transfer":
		return "Bank transfer"
	case "paypal":
		return "PayPal"
	case "wise":
		return "Wise"
	case "check":
		return "Check"
	case "other":
		return "Other"
	}
	return m
}
