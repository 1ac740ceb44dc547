package httpapi

import (
	"errors"
	"io"
	"net/http"
	"time"

	"github.com/partnerloop/partnerloop/internal/domain"
	"github.com/partnerloop/partnerloop/internal/store"
	"github.com/partnerloop/partnerloop/internal/tracking"
)

// RefCookie carries the referral code for the attribution window, so the
// organization's site (on a shared or custom domain) can read it at signup.
const RefCookie = "ref"

// inactiveLinkPage is static (no template: the tracking function links
// no template engine for it).
const inactiveLinkPage = `<!doctype html>
<html lang="en"><head><meta charset="utf-8"><meta name="viewport" content="width=device-width,initial-scale=1">
<meta name="robots" content="noindex"><title>Link not active</title>
<style>body{font:16px/1.5 system-ui,sans-serif;margin:0;display:grid;place-items:center;min-height:100vh;background:#f6f7f9;color:#1d2433}
main{max-width:28rem;padding:2rem;background:#fff;border-radius:12px;box-shadow:0 1px 3px #0002;text-align:center}h1{font-size:1.3rem}</style>
</head><body><main><h1>This referral link is not active</h1>
<p>The link you followed has expired, been paused, or does not exist. Please ask the person who shared it for a new one.</p></main></body></html>
`

// redirect sends a visitor on to the program's landing page. Only GET
// counts: HEAD requests come from link checkers and unfurlers.
func (a *API) redirect(w http.ResponseWriter, r *http.Request, _ *Caller) error {
	red, err := a.Tracking.Follow(r.Context(), r.PathValue("code"), tracking.Visitor{
		Addr: a.ClientAddr.Of(r), UserAgent: r.UserAgent(), Referer: r.Referer(),
	}, r.Method == http.MethodGet)
	if errors.Is(err, tracking.ErrLinkInactive) {
		w.Header().Set("Content-Type", "text/html; charset=utf-8")
		w.Header().Set("Cache-Control", "no-store")
		w.WriteHeader(http.StatusNotFound)
		_, err := io.WriteString(w, inactiveLinkPage)
		return err
	}
	if err != nil {
		return err
	}
	http.SetCookie(w, &http.Cookie{
		Name: RefCookie, Value: red.Code, Path: "/", MaxAge: int(red.CookieMaxAge / time.Second),
		Expires: red.At.Add(red.CookieMaxAge), SameSite: http.SameSiteLaxMode, Secure: a.SecureCookies,
	})
	// Each visit must reach us to be counted, so no caching of the redirect.
	w.Header().Set("Cache-Control", "no-store")
	w.Header().Set("Location", red.Target)
	w.WriteHeader(http.StatusFound)
	return nil
}

func (a *API) createReferral(w http.ResponseWriter, r *http.Request, c *Caller) error {
	var in struct {
		Code       string `json:"code"`
		Email      string `json:"email"`
		Name       string `json:"name"`
		ExternalID string `json:"externalId"`
	}
	if err := decode(w, r, &in); err != nil {
		return err
	}
	ref, created, err := a.Tracking.CreateReferral(r.Context(), c.OrgID, tracking.ReferralInput{
		Code: in.Code, Email: in.Email, Name: in.Name, ExternalID: in.ExternalID,
	})
	if err != nil {
		return err
	}
	status := http.StatusOK
	if created {
		status = http.StatusCreated
		w.Header().Set("Location", "/v1/referrals/"+ref.ID)
	}
	return writeJSON(w, status, ref)
}

func (a *API) listReferrals(w http.ResponseWriter, r *http.Request, c *Caller) error {
	page, err := pageParams(r)
	if err != nil {
		return err
	}
	q := r.URL.Query()
	refs, next, err := a.Tracking.ListReferrals(r.Context(), c.OrgID, store.ReferralFilter{
		ProgramID: q.Get("programId"), ReferrerID: q.Get("referrerId"), Status: q.Get("status"),
	}, page)
	if err != nil {
		return err
	}
	return writeJSON(w, http.StatusOK, newList(refs, next))
}

func (a *API) getReferral(w http.ResponseWriter, r *http.Request, c *Caller) error {
	ref, err := a.Tracking.GetReferral(r.Context(), c.OrgID, r.PathValue("id"))
	if err != nil {
		return err
	}
	return writeJSON(w, http.StatusOK, ref)
}

func (a *API) createConversion(w http.ResponseWriter, r *http.Request, c *Caller) error {
	var in struct {
		ReferralID string             `json:"referralId"`
		Code       string             `json:"code"`
		Email      string             `json:"email"`
		Event      string             `json:"event"`
		Amount     *domain.MoneyInput `json:"amount"`
		ExternalID string             `json:"externalId"`
		OccurredAt *time.Time         `json:"occurredAt"`
	}
	if err := decode(w, r, &in); err != nil {
		return err
	}
	conv, created, err := a.Tracking.RecordConversion(r.Context(), c.OrgID, tracking.ConversionInput{
		ReferralID: in.ReferralID, Code: in.Code, Email: in.Email, Event: in.Event,
		Amount: in.Amount, ExternalID: in.ExternalID, OccurredAt: in.OccurredAt,
	})
	if err != nil {
		return err
	}
	status := http.StatusOK
	if created {
		status = http.StatusCreated
		w.Header().Set("Location", "/v1/conversions/"+conv.ID)
	}
	return writeJSON(w, status, conv)
}

func (a *API) listConversions(w http.ResponseWriter, r *http.Request, c *Caller) error {
	page, err := pageParams(r)
	if err != nil {
		return err
	}
	q := r.URL.Query()
	cs, next, err := a.Tracking.ListConversions(r.Context(), c.OrgID, store.ConversionFilter{
		ProgramID: q.Get("programId"), ReferralID: q.Get("referralId"),
	}, page)
	if err != nil {
		return err
	}
	return writeJSON(w, http.StatusOK, newList(cs, next))
}

func (a *API) getConversion(w http.ResponseWriter, r *http.Request, c *Caller) error {
	conv, err := a.Tracking.GetConversion(r.Context(), c.OrgID, r.PathValue("id"))
	if err != nil {
		return err
	}
	return writeJSON(w, http.StatusOK, conv)
}
