package httpapi

import (
	"net/http"

	"github.com/partnerloop/partnerloop/internal/deals"
	"github.com/partnerloop/partnerloop/internal/domain"
	"github.com/partnerloop/partnerloop/internal/portal"
)

// GroupPortal is the route group of the partner portal: every route is for
// partners only and scoped to the caller's own partner (Caller.PartnerID),
// never to a partner named in the request.
const GroupPortal = "portal"

// withPortal answers 503 while the store lacks the portal's queries,
// instead of failing on a nil service.
func (a *API) withPortal(h handlerFunc) handlerFunc {
	return whenAvailable(func() bool { return !(a.Portal == nil) }, "portal_unavailable", "the partner portal is not available on this installation's store yet", h)
}

func (a *API) portalSummary(w http.ResponseWriter, r *http.Request, c *Caller) error {
	s, err := a.Portal.Summary(r.Context(), c.OrgID, c.PartnerID)
	if err != nil {
		return err
	}
	return writeJSON(w, http.StatusOK, s)
}

func (a *API) portalLinks(w http.ResponseWriter, r *http.Request, c *Caller) error {
	page, err := pageParams(r)
	if err != nil {
		return err
	}
	items, next, err := a.Portal.Links(r.Context(), c.OrgID, c.PartnerID, page)
	if err != nil {
		return err
	}
	return writeJSON(w, http.StatusOK, newList(items, next))
}

func (a *API) portalReferrals(w http.ResponseWriter, r *http.Request, c *Caller) error {
	page, err := pageParams(r)
	if err != nil {
		return err
	}
	items, next, err := a.Portal.Referrals(r.Context(), c.OrgID, c.PartnerID, r.URL.Query().Get("status"), page)
	if err != nil {
		return err
	}
	return writeJSON(w, http.StatusOK, newList(items, next))
}

// portalCommissions lists the caller's commissions; a partnerId in the
// query is ignored (the partner is always the caller's).
func (a *API) portalCommissions(w http.ResponseWriter, r *http.Request, c *Caller) error {
	page, err := pageParams(r)
	if err != nil {
		return err
	}
	f, err := commissionFilter(r)
	if err != nil {
		return err
	}
	items, next, err := a.Portal.Commissions(r.Context(), c.OrgID, c.PartnerID, f, page)
	if err != nil {
		return err
	}
	return writeJSON(w, http.StatusOK, newList(items, next))
}

// portalStatement sends the statement of the month in the path
// ("2026-03.csv" or "2026-03.pdf") as an attachment. The whole file is
// built before the first byte is sent, so a failure is a problem document.
func (a *API) portalStatement(w http.ResponseWriter, r *http.Request, c *Caller) error {
	seg := r.PathValue("period")
	period, ext, ok := portal.ParseStatementFile(seg)
	if !ok {
		return domain.Errorf(domain.KindNotFound, "not_found", "no statement %q: ask for YYYY-MM.csv or YYYY-MM.pdf", seg)
	}
	st, err := a.Portal.Statement(r.Context(), c.OrgID, c.PartnerID, period)
	if err != nil {
		return err
	}
	return portal.SendStatement(w, st, ext)
}

// portalDeals lists the caller's own deals (?status= narrows them).
func (a *API) portalDeals(w http.ResponseWriter, r *http.Request, c *Caller) error {
	if _, err := a.Portal.Partner(r.Context(), c.OrgID, c.PartnerID); err != nil {
		return err
	}
	page, err := pageParams(r)
	if err != nil {
		return err
	}
	ds, next, err := a.Deals.List(r.Context(), c.OrgID, deals.Filter{
		Source: string(domain.DealSourcePartner), PartnerID: c.PartnerID, Status: r.URL.Query().Get("status"),
	}, page)
	if err != nil {
		return err
	}
	return writeJSON(w, http.StatusOK, newList(portal.DealViews(ds), next))
}

// portalRegisterDeal registers a deal for the caller's own partner; a
// partnerId in the body is ignored.
func (a *API) portalRegisterDeal(w http.ResponseWriter, r *http.Request, c *Caller) error {
	if _, err := a.Portal.Partner(r.Context(), c.OrgID, c.PartnerID); err != nil {
		return err
	}
	var in dealInput
	if err := decode(w, r, &in); err != nil {
		return err
	}
	d, err := a.Deals.Register(r.Context(), c.OrgID, c.UserID, in.NewDeal(c.PartnerID))
	if err != nil {
		return err
	}
	return writeJSON(w, http.StatusCreated, portal.DealView(d))
}

// portalDeal is one of the caller's own deals; another partner's deal (or a
// direct one) is as unknown as a made-up ID: 404.
func (a *API) portalDeal(w http.ResponseWriter, r *http.Request, c *Caller) error {
	if _, err := a.Portal.Partner(r.Context(), c.OrgID, c.PartnerID); err != nil {
		return err
	}
	d, err := a.Deals.Get(r.Context(), c.OrgID, r.PathValue("id"))
	if err != nil {
		return err
	}
	if d.Source != domain.DealSourcePartner || d.PartnerID != c.PartnerID {
		return domain.NotFound("deal")
	}
	return writeJSON(w, http.StatusOK, portal.DealView(d))
}
