package httpapi

import (
	"net/http"

	"github.com/partnerloop/partnerloop/internal/webhooks"
)

// Outbound webhook endpoints (admin): the handlers decode, call
// webhooks.Service, encode. Routes answer 503 when the store keeps no
// webhooks (a nil service).

func (a *API) withWebhooks(h handlerFunc) handlerFunc {
	return whenAvailable(func() bool { return a.Webhooks != nil }, "webhooks_unavailable",
		"outbound webhooks are not available on this installation's store", h)
}

func (a *API) createWebhook(w http.ResponseWriter, r *http.Request, c *Caller) error {
	var in webhooks.EndpointInput
	if err := decode(w, r, &in); err != nil {
		return err
	}
	e, err := a.Webhooks.Create(r.Context(), c.OrgID, in)
	if err != nil {
		return err
	}
	return writeJSON(w, http.StatusCreated, e)
}

func (a *API) listWebhooks(w http.ResponseWriter, r *http.Request, c *Caller) error {
	page, err := pageParams(r)
	if err != nil {
		return err
	}
	es, next, err := a.Webhooks.List(r.Context(), c.OrgID, page)
	if err != nil {
		return err
	}
	return writeJSON(w, http.StatusOK, newList(es, next))
}

func (a *API) getWebhook(w http.ResponseWriter, r *http.Request, c *Caller) error {
	e, err := a.Webhooks.Get(r.Context(), c.OrgID, r.PathValue("id"))
	if err != nil {
		return err
	}
	return writeJSON(w, http.StatusOK, e)
}

func (a *API) patchWebhook(w http.ResponseWriter, r *http.Request, c *Caller) error {
	var in webhooks.EndpointInput
	if err := decode(w, r, &in); err != nil {
		return err
	}
	e, err := a.Webhooks.Update(r.Context(), c.OrgID, r.PathValue("id"), in)
	if err != nil {
		return err
	}
	return writeJSON(w, http.StatusOK, e)
}

func (a *API) deleteWebhook(w http.ResponseWriter, r *http.Request, c *Caller) error {
	if err := a.Webhooks.Delete(r.Context(), c.OrgID, r.PathValue("id")); err != nil {
		return err
	}
	w.WriteHeader(http.StatusNoContent)
	return nil
}

func (a *API) rotateWebhookSecret(w http.ResponseWriter, r *http.Request, c *Caller) error {
	e, err := a.Webhooks.RotateSecret(r.Context(), c.OrgID, r.PathValue("id"))
	if err != nil {
		return err
	}
	return writeJSON(w, http.StatusOK, e)
}

func (a *API) listWebhookDeliveries(w http.ResponseWriter, r *http.Request, c *Caller) error {
	page, err := pageParams(r)
	if err != nil {
		return err
	}
	ds, next, err := a.Webhooks.Deliveries(r.Context(), c.OrgID, r.PathValue("id"), page)
	if err != nil {
		return err
	}
	return writeJSON(w, http.StatusOK, newList(ds, next))
}

func (a *API) replayWebhookDelivery(w http.ResponseWriter, r *http.Request, c *Caller) error {
	d, err := a.Webhooks.Replay(r.Context(), c.OrgID, r.PathValue("id"), r.PathValue("deliveryId"))
	if err != nil {
		return err
	}
	return writeJSON(w, http.StatusAccepted, d)
}
