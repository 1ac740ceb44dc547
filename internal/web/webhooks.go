package web

import (
	"net/http"
	"net/url"
	"strings"

	"github.com/partnerloop/partnerloop/internal/store"
	"github.com/partnerloop/partnerloop/internal/webhooks"
)

// Settings → Webhooks: the same webhooks.Service as /v1/webhooks.

type webhooksData struct {
	Form      *Form
	Endpoints []webhooks.Endpoint
	// Secret is a new endpoint's (or a rotated) secret, shown this once.
	Secret   string
	Families []string
}

type webhookData struct {
	Endpoint   webhooks.Endpoint
	Deliveries []webhooks.Delivery
	Secret     string
}

var webhookFamilies = []string{"referral.*", "conversion.*", "commission.*", "deal.*", "partner.*"}

func (s *Server) webhooksAvailable(rq *request) error {
	if s.cfg.Webhooks == nil {
		return s.errorPage(rq, http.StatusServiceUnavailable, "Webhooks unavailable", "This installation's store keeps no webhooks, or no secrets key is configured.")
	}
	return nil
}

func (s *Server) renderWebhooks(rq *request, status int, f *Form, secret string) error {
	es, _, err := s.cfg.Webhooks.List(rq.r.Context(), rq.p.OrgID, store.Page{Limit: store.MaxLimit})
	if err != nil {
		return err
	}
	return s.render(rq, status, "webhooks", "Webhooks", "webhooks",
		webhooksData{Form: f, Endpoints: es, Secret: secret, Families: webhookFamilies})
}

// webhookList lists the endpoints and offers the form that adds one.
func (s *Server) webhookList(rq *request) error {
	if err := s.webhooksAvailable(rq); err != nil {
		return err
	}
	return s.renderWebhooks(rq, http.StatusOK, newForm(url.Values{"events": {"commission.*"}}), "")
}

// webhookCreate registers an endpoint and shows its secret once (rendered,
// never put in a redirect or a cookie).
func (s *Server) webhookCreate(rq *request) error {
	if err := s.webhooksAvailable(rq); err != nil {
		return err
	}
	f := newForm(rq.r.PostForm)
	u, desc := f.Get("url"), f.Get("description")
	var events []string
	for _, e := range strings.FieldsFunc(f.Get("events"), func(r rune) bool { return r == ',' || r == ' ' || r == '\n' }) {
		events = append(events, strings.TrimSpace(e))
	}
	e, err := s.cfg.Webhooks.Create(rq.r.Context(), rq.p.OrgID, webhooks.EndpointInput{URL: &u, Events: &events, Description: &desc})
	if err != nil {
		if !f.fail(err, nil) {
			return err
		}
		return s.renderWebhooks(rq, errorStatus(err), f, "")
	}
	return s.renderWebhooks(rq, http.StatusCreated, newForm(url.Values{"events": {"commission.*"}}), e.Secret)
}

func (s *Server) renderWebhook(rq *request, status int, id, secret string) error {
	e, err := s.cfg.Webhooks.Get(rq.r.Context(), rq.p.OrgID, id)
	if err != nil {
		return err
	}
	ds, _, err := s.cfg.Webhooks.Deliveries(rq.r.Context(), rq.p.OrgID, id, store.Page{Limit: 50})
	if err != nil {
		return err
	}
	return s.render(rq, status, "webhook", "Webhook "+e.URL, "webhooks", webhookData{Endpoint: e, Deliveries: ds, Secret: secret})
}

// webhookShow is one endpoint with its latest deliveries.
func (s *Server) webhookShow(rq *request) error {
	if err := s.webhooksAvailable(rq); err != nil {
		return err
	}
	return s.renderWebhook(rq, http.StatusOK, rq.r.PathValue("id"), "")
}

// webhookAction enables, disables, rotates the secret of or deletes an
// endpoint.
func (s *Server) webhookAction(rq *request) error {
	if err := s.webhooksAvailable(rq); err != nil {
		return err
	}
	ctx, org, id := rq.r.Context(), rq.p.OrgID, rq.r.PathValue("id")
	switch action := rq.r.PathValue("action"); action {
	case "enable", "disable":
		status := action + "d"
		if _, err := s.cfg.Webhooks.Update(ctx, org, id, webhooks.EndpointInput{Status: &status}); err != nil {
			return err
		}
		return s.redirect(rq, "/settings/webhooks/"+id, "Endpoint "+status+".")
	case "rotate":
		e, err := s.cfg.Webhooks.RotateSecret(ctx, org, id)
		if err != nil {
			return err
		}
		return s.renderWebhook(rq, http.StatusOK, id, e.Secret)
	case "delete":
		if err := s.cfg.Webhooks.Delete(ctx, org, id); err != nil {
			return err
		}
		return s.redirect(rq, "/settings/webhooks", "Endpoint deleted.")
	}
	return s.errorPage(rq, http.StatusNotFound, "Page not found", "There is no such action.")
}

// webhookReplay sends a delivery again.
func (s *Server) webhookReplay(rq *request) error {
	if err := s.webhooksAvailable(rq); err != nil {
		return err
	}
	id := rq.r.PathValue("id")
	if _, err := s.cfg.Webhooks.Replay(rq.r.Context(), rq.p.OrgID, id, rq.r.PathValue("deliveryId")); err != nil {
		return err
	}
	return s.redirect(rq, "/settings/webhooks/"+id, "Delivery queued again.")
}
