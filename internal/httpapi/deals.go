package httpapi

import (
	"bytes"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"time"

	"github.com/partnerloop/partnerloop/internal/deals"
	"github.com/partnerloop/partnerloop/internal/domain"
)

// dateInput is a date as requests give it: "2026-06-30" or an RFC 3339
// timestamp.
type dateInput struct{ time.Time }

func (d *dateInput) UnmarshalJSON(b []byte) error {
	var s string
	if err := json.Unmarshal(b, &s); err != nil {
		return fmt.Errorf("expectedCloseDate must be a date such as 2026-06-30")
	}
	if t, err := time.Parse(time.DateOnly, s); err == nil {
		d.Time = t
		return nil
	}
	t, err := time.Parse(time.RFC3339, s)
	if err != nil {
		return fmt.Errorf("expectedCloseDate must be a date such as 2026-06-30")
	}
	d.Time = t.UTC()
	return nil
}

// dealInput is the body of POST /v1/deals.
type dealInput struct {
	CustomerName      string             `json:"customerName"`
	CustomerDomain    string             `json:"customerDomain"`
	Value             *domain.MoneyInput `json:"value"`
	ExpectedCloseDate *dateInput         `json:"expectedCloseDate"`
	PartnerID         string             `json:"partnerId"`
}

// NewDeal is the registration the input asks for; partnerID, when not
// empty, replaces the body's (a partner registers for itself only).
func (in dealInput) NewDeal(partnerID string) deals.NewDeal {
	nd := deals.NewDeal{PartnerID: in.PartnerID, CustomerName: in.CustomerName, CustomerDomain: in.CustomerDomain, Value: in.Value}
	if partnerID != "" {
		nd.PartnerID = partnerID
	}
	if in.ExpectedCloseDate != nil {
		t := in.ExpectedCloseDate.Time
		nd.ExpectedCloseDate = &t
	}
	return nd
}

func (a *API) withDeals(h handlerFunc) handlerFunc {
	return whenAvailable(func() bool { return !(a.Deals == nil) }, "deals_unavailable", "deal registration is not available on this installation's store", h)
}

// decodeOptional reads a JSON body into v when there is one; an empty body
// leaves v as it is.
func decodeOptional(w http.ResponseWriter, r *http.Request, v any) error {
	body, err := io.ReadAll(http.MaxBytesReader(w, r.Body, MaxBodyBytes))
	if err != nil {
		return decodeError(err)
	}
	if len(bytes.TrimSpace(body)) == 0 {
		return nil
	}
	r.Body = io.NopCloser(bytes.NewReader(body))
	return decode(w, r, v)
}

func (a *API) createDeal(w http.ResponseWriter, r *http.Request, c *Caller) error {
	var in dealInput
	if err := decode(w, r, &in); err != nil {
		return err
	}
	d, err := a.Deals.Register(r.Context(), c.OrgID, c.UserID, in.NewDeal(""))
	if err != nil {
		return err
	}
	w.Header().Set("Location", "/v1/deals/"+d.ID)
	return writeJSON(w, http.StatusCreated, d)
}

func (a *API) listDeals(w http.ResponseWriter, r *http.Request, c *Caller) error {
	page, err := pageParams(r)
	if err != nil {
		return err
	}
	q := r.URL.Query()
	ds, next, err := a.Deals.List(r.Context(), c.OrgID, deals.Filter{
		Source: q.Get("source"), PartnerID: q.Get("partnerId"), Status: q.Get("status"),
	}, page)
	if err != nil {
		return err
	}
	return writeJSON(w, http.StatusOK, newList(ds, next))
}

func (a *API) getDeal(w http.ResponseWriter, r *http.Request, c *Caller) error {
	d, err := a.Deals.Get(r.Context(), c.OrgID, r.PathValue("id"))
	if err != nil {
		return err
	}
	return writeJSON(w, http.StatusOK, d)
}

func (a *API) approveDeal(w http.ResponseWriter, r *http.Request, c *Caller) error {
	d, err := a.Deals.Approve(r.Context(), c.OrgID, r.PathValue("id"))
	if err != nil {
		return err
	}
	return writeJSON(w, http.StatusOK, d)
}

func (a *API) rejectDeal(w http.ResponseWriter, r *http.Request, c *Caller) error {
	var in struct {
		Reason string `json:"reason"`
	}
	if err := decodeOptional(w, r, &in); err != nil {
		return err
	}
	d, err := a.Deals.Reject(r.Context(), c.OrgID, r.PathValue("id"), in.Reason)
	if err != nil {
		return err
	}
	return writeJSON(w, http.StatusOK, d)
}

func (a *API) wonDeal(w http.ResponseWriter, r *http.Request, c *Caller) error {
	var in struct {
		Value *domain.MoneyInput `json:"value"`
	}
	if err := decodeOptional(w, r, &in); err != nil {
		return err
	}
	d, err := a.Deals.Won(r.Context(), c.OrgID, r.PathValue("id"), in.Value)
	if err != nil {
		return err
	}
	return writeJSON(w, http.StatusOK, d)
}

func (a *API) lostDeal(w http.ResponseWriter, r *http.Request, c *Caller) error {
	d, err := a.Deals.Lost(r.Context(), c.OrgID, r.PathValue("id"))
	if err != nil {
		return err
	}
	return writeJSON(w, http.StatusOK, d)
}
