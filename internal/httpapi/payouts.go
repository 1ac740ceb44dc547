package httpapi

import (
	"io"
	"net/http"
	"strings"

	"github.com/partnerloop/partnerloop/internal/domain"
	"github.com/partnerloop/partnerloop/internal/download"
	"github.com/partnerloop/partnerloop/internal/payouts"
)

// withPayouts answers 503 while the store keeps no payout runs, instead of
// failing on a nil service.
func (a *API) withPayouts(h handlerFunc) handlerFunc {
	return whenAvailable(func() bool { return a.Payouts != nil }, "payouts_unavailable", "payout runs are not available on this installation's store yet", h)
}

// createPayoutRun gathers every approved commission into a new open run.
func (a *API) createPayoutRun(w http.ResponseWriter, r *http.Request, c *Caller) error {
	run, err := a.Payouts.Create(r.Context(), c.OrgID, c.ID())
	if err != nil {
		return err
	}
	return writeJSON(w, http.StatusCreated, run)
}

func (a *API) listPayoutRuns(w http.ResponseWriter, r *http.Request, c *Caller) error {
	page, err := pageParams(r)
	if err != nil {
		return err
	}
	items, next, err := a.Payouts.List(r.Context(), c.OrgID, page)
	if err != nil {
		return err
	}
	return writeJSON(w, http.StatusOK, newList(items, next))
}

// getPayoutRun answers one run as JSON, or "/v1/payout-runs/<id>.csv" as
// the CSV for accounts payable (the only answer holding partners' payout
// details unmasked). The whole file is built before the first byte is sent.
func (a *API) getPayoutRun(w http.ResponseWriter, r *http.Request, c *Caller) error {
	id, csv := strings.CutSuffix(r.PathValue("id"), ".csv")
	run, err := a.Payouts.Get(r.Context(), c.OrgID, id)
	if err != nil {
		return err
	}
	if !csv {
		return writeJSON(w, http.StatusOK, run)
	}
	payees, err := a.Payouts.Payees(r.Context(), run)
	if err != nil {
		return err
	}
	return download.CSV(w, payouts.Filename(run), func(out io.Writer) error { return payouts.WriteCSV(out, run, payees) })
}

func (a *API) markPayoutRunPaid(w http.ResponseWriter, r *http.Request, c *Caller) error {
	var in struct {
		PayoutReference string `json:"payoutReference"`
	}
	if err := decode(w, r, &in); err != nil {
		return err
	}
	run, err := a.Payouts.MarkPaid(r.Context(), c.OrgID, c.ID(), r.PathValue("id"), in.PayoutReference)
	if err != nil {
		return err
	}
	return writeJSON(w, http.StatusOK, run)
}

func (a *API) cancelPayoutRun(w http.ResponseWriter, r *http.Request, c *Caller) error {
	run, err := a.Payouts.Cancel(r.Context(), c.OrgID, c.ID(), r.PathValue("id"))
	if err != nil {
		return err
	}
	return writeJSON(w, http.StatusOK, run)
}

// payoutDetailsView is the portal's answer about payout details: masked,
// and configured false when the partner has given none.
type payoutDetailsView struct {
	Configured bool `json:"configured"`
	*domain.PayoutDetails
}

func (a *API) portalPayoutDetails(w http.ResponseWriter, r *http.Request, c *Caller) error {
	if _, err := a.Portal.Partner(r.Context(), c.OrgID, c.PartnerID); err != nil {
		return err
	}
	d, err := a.Payouts.Details(r.Context(), c.OrgID, c.PartnerID)
	if err != nil {
		return err
	}
	return writeJSON(w, http.StatusOK, payoutDetailsView{Configured: d != nil, PayoutDetails: d})
}

func (a *API) portalPutPayoutDetails(w http.ResponseWriter, r *http.Request, c *Caller) error {
	if _, err := a.Portal.Partner(r.Context(), c.OrgID, c.PartnerID); err != nil {
		return err
	}
	var in payouts.DetailsInput
	if err := decode(w, r, &in); err != nil {
		return err
	}
	d, err := a.Payouts.SetDetails(r.Context(), c.OrgID, c.PartnerID, in)
	if err != nil {
		return err
	}
	return writeJSON(w, http.StatusOK, payoutDetailsView{Configured: true, PayoutDetails: &d})
}

func (a *API) portalPayouts(w http.ResponseWriter, r *http.Request, c *Caller) error {
	if _, err := a.Portal.Partner(r.Context(), c.OrgID, c.PartnerID); err != nil {
		return err
	}
	p, err := a.Payouts.ForPartner(r.Context(), c.OrgID, c.PartnerID)
	if err != nil {
		return err
	}
	return writeJSON(w, http.StatusOK, p)
}
