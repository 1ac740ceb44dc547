package httpapi

import (
	"io"
	"net/http"
	"time"

	"github.com/partnerloop/partnerloop/internal/commission"
	"github.com/partnerloop/partnerloop/internal/domain"
	"github.com/partnerloop/partnerloop/internal/download"
	"github.com/partnerloop/partnerloop/internal/ledger"
	"github.com/partnerloop/partnerloop/internal/store"
)

// GroupCommissions is the route group of the commission ledger (admin) and
// of conversion refunds.
const GroupCommissions = "commissions"

// withLedger answers 503 while the store has no commission ledger (an
// adapter without store.Ledger), instead of failing on a nil service.
func (a *API) withLedger(h handlerFunc) handlerFunc {
	return whenAvailable(func() bool { return !(a.Ledger == nil) }, "ledger_unavailable", "the commission ledger is not available on this installation's store yet", h)
}

func invalidQuery(field, message string) error {
	return &domain.Error{Kind: domain.KindMalformed, Code: "invalid_query", Message: "the query is not valid",
		Fields: []domain.FieldError{{Field: field, Message: message}}}
}

// commissionFilter reads partnerId, referrerId, programId, status, from and
// to. from and to are RFC 3339 timestamps or dates (ledger.ParseBound); a
// value that is neither is 400 naming the field. Status and the order of
// the bounds are checked by the service (422).
func commissionFilter(r *http.Request) (store.CommissionFilter, error) {
	q := r.URL.Query()
	f := store.CommissionFilter{
		PartnerID: q.Get("partnerId"), ReferrerID: q.Get("referrerId"), ProgramID: q.Get("programId"), Status: q.Get("status"),
	}
	var err error
	if f.From, err = bound(q.Get("from"), "from", false); err != nil {
		return f, err
	}
	if f.To, err = bound(q.Get("to"), "to", true); err != nil {
		return f, err
	}
	return f, nil
}

func bound(s, field string, upper bool) (time.Time, error) {
	if s == "" {
		return time.Time{}, nil
	}
	t, err := ledger.ParseBound(s, upper)
	if err != nil {
		return t, invalidQuery(field, err.Error())
	}
	return t, nil
}

func (a *API) listCommissions(w http.ResponseWriter, r *http.Request, c *Caller) error {
	page, err := pageParams(r)
	if err != nil {
		return err
	}
	f, err := commissionFilter(r)
	if err != nil {
		return err
	}
	items, next, err := a.Ledger.List(r.Context(), c.OrgID, f, page)
	if err != nil {
		return err
	}
	return writeJSON(w, http.StatusOK, newList(items, next))
}

func (a *API) getCommission(w http.ResponseWriter, r *http.Request, c *Caller) error {
	d, err := a.Ledger.Get(r.Context(), c.OrgID, r.PathValue("id"))
	if err != nil {
		return err
	}
	return writeJSON(w, http.StatusOK, d)
}

// batchResult is the answer of the batch status changes: every commission
// of the request as now stored, in request order.
type batchResult struct {
	Items []commission.Commission `json:"items"`
}

func (a *API) approveCommissions(w http.ResponseWriter, r *http.Request, c *Caller) error {
	var in struct {
		IDs []string `json:"ids"`
	}
	if err := decode(w, r, &in); err != nil {
		return err
	}
	items, err := a.Ledger.Approve(r.Context(), c.OrgID, c.ID(), in.IDs)
	if err != nil {
		return err
	}
	return writeJSON(w, http.StatusOK, batchResult{items})
}

func (a *API) rejectCommissions(w http.ResponseWriter, r *http.Request, c *Caller) error {
	var in struct {
		IDs    []string `json:"ids"`
		Reason string   `json:"reason"`
	}
	if err := decode(w, r, &in); err != nil {
		return err
	}
	items, err := a.Ledger.Reject(r.Context(), c.OrgID, c.ID(), in.IDs, in.Reason)
	if err != nil {
		return err
	}
	return writeJSON(w, http.StatusOK, batchResult{items})
}

func (a *API) markCommissionsPaid(w http.ResponseWriter, r *http.Request, c *Caller) error {
	var in struct {
		IDs             []string `json:"ids"`
		PayoutReference string   `json:"payoutReference"`
	}
	if err := decode(w, r, &in); err != nil {
		return err
	}
	items, err := a.Ledger.MarkPaid(r.Context(), c.OrgID, c.ID(), in.IDs, in.PayoutReference)
	if err != nil {
		return err
	}
	return writeJSON(w, http.StatusOK, batchResult{items})
}

// exportCommissions sends every matching commission as CSV for payroll /
// accounts payable. The whole file is built before the first byte is sent,
// so a failure is a problem document, never a truncated file.
func (a *API) exportCommissions(w http.ResponseWriter, r *http.Request, c *Caller) error {
	f, err := commissionFilter(r)
	if err != nil {
		return err
	}
	items, err := a.Ledger.Export(r.Context(), c.OrgID, f)
	if err != nil {
		return err
	}
	return download.CSV(w, ledger.ExportFilename(f, a.Ledger.Now()), func(out io.Writer) error { return ledger.WriteCSV(out, items) })
}

func (a *API) refundConversion(w http.ResponseWriter, r *http.Request, c *Caller) error {
	var in struct {
		Amount *domain.MoneyInput `json:"amount"`
	}
	if err := decode(w, r, &in); err != nil {
		return err
	}
	conv, err := a.Ledger.Refund(r.Context(), c.OrgID, r.PathValue("id"), in.Amount)
	if err != nil {
		return err
	}
	return writeJSON(w, http.StatusOK, conv)
}
