package httpapi

import (
	"net/http"
	"time"

	"github.com/partnerloop/partnerloop/internal/domain"
)

// GroupPartners is the route group of partner tiers and partners (admin).
const GroupPartners = "partners"

// partnerTierInput is the body of POST /v1/partner-tiers.
type partnerTierInput struct {
	Name       optional[string]                `json:"name"`
	Commission optional[domain.CommissionRule] `json:"commission"`
	HoldDays   optional[int]                   `json:"holdDays"`
}

func (in partnerTierInput) apply(spec *domain.PartnerTierSpec, create bool) error {
	var v domain.Validation
	if create {
		v.Check(in.Name.Set, "name", "is required")
		v.Check(in.Commission.Set, "commission", "is required")
	}
	setRequired(&v, in.Name, "name", &spec.Name)
	setRequired(&v, in.Commission, "commission", &spec.Commission)
	if in.HoldDays.Set {
		spec.HoldDays = in.HoldDays.Value // null: the program's hold period
	}
	if err := v.Merge(spec.Validate()); err != nil {
		return err
	}
	return v.Err()
}

// agreementInput is one agreement of a partner's body.
type agreementInput struct {
	Name     string     `json:"name"`
	SignedAt *time.Time `json:"signedAt"`
	URL      string     `json:"url"`
}

// partnerInput is the body of POST and PATCH /v1/partners.
type partnerInput struct {
	CompanyName optional[string]                `json:"companyName"`
	ContactName optional[string]                `json:"contactName"`
	Email       optional[string]                `json:"email"`
	TierID      optional[string]                `json:"tierId"`
	Commission  optional[domain.CommissionRule] `json:"commission"`
	Agreements  optional[[]agreementInput]      `json:"agreements"`
}

// apply sets every member present in the input onto spec; on create the
// required members must be present. Whether the tier exists is the
// service's to check.
func (in partnerInput) apply(spec *domain.PartnerSpec, create bool) error {
	var v domain.Validation
	if create {
		v.Check(in.CompanyName.Set, "companyName", "is required")
		v.Check(in.ContactName.Set, "contactName", "is required")
		v.Check(in.Email.Set, "email", "is required")
		v.Check(in.TierID.Set, "tierId", "is required")
	}
	setRequired(&v, in.CompanyName, "companyName", &spec.CompanyName)
	setRequired(&v, in.ContactName, "contactName", &spec.ContactName)
	setRequired(&v, in.Email, "email", &spec.Email)
	setRequired(&v, in.TierID, "tierId", &spec.TierID)
	if in.Commission.Set {
		spec.Commission = in.Commission.Value // null: no rule of its own
	}
	if in.Agreements.Set {
		spec.Agreements = nil
		if in.Agreements.Value != nil {
			for _, a := range *in.Agreements.Value {
				ag := domain.Agreement{Name: a.Name, URL: a.URL}
				if a.SignedAt != nil {
					ag.SignedAt = *a.SignedAt
				}
				spec.Agreements = append(spec.Agreements, ag)
			}
		}
	}
	if err := v.Merge(spec.Validate()); err != nil {
		return err
	}
	return v.Err()
}

func (a *API) createTier(w http.ResponseWriter, r *http.Request, c *Caller) error {
	var in partnerTierInput
	if err := decode(w, r, &in); err != nil {
		return err
	}
	var spec domain.PartnerTierSpec
	if err := in.apply(&spec, true); err != nil {
		return err
	}
	t, err := a.Partners.CreateTier(r.Context(), c.OrgID, spec)
	if err != nil {
		return err
	}
	return writeJSON(w, http.StatusCreated, t)
}

func (a *API) listTiers(w http.ResponseWriter, r *http.Request, c *Caller) error {
	page, err := pageParams(r)
	if err != nil {
		return err
	}
	ts, next, err := a.Partners.ListTiers(r.Context(), c.OrgID, page)
	if err != nil {
		return err
	}
	return writeJSON(w, http.StatusOK, newList(ts, next))
}

func (a *API) createPartner(w http.ResponseWriter, r *http.Request, c *Caller) error {
	var in partnerInput
	if err := decode(w, r, &in); err != nil {
		return err
	}
	var spec domain.PartnerSpec
	if err := in.apply(&spec, true); err != nil {
		return err
	}
	p, err := a.Partners.Create(r.Context(), c.OrgID, spec)
	if err != nil {
		return err
	}
	w.Header().Set("Location", "/v1/partners/"+p.ID)
	return writeJSON(w, http.StatusCreated, partnerView{p, domain.PortalAccessOf(nil, nil)})
}

func (a *API) listPartners(w http.ResponseWriter, r *http.Request, c *Caller) error {
	page, err := pageParams(r)
	if err != nil {
		return err
	}
	ps, next, err := a.Partners.List(r.Context(), c.OrgID, r.URL.Query().Get("tierId"), page)
	if err != nil {
		return err
	}
	return writeJSON(w, http.StatusOK, newList(partnerViews(ps...), next))
}

func (a *API) getPartner(w http.ResponseWriter, r *http.Request, c *Caller) error {
	p, err := a.Partners.Get(r.Context(), c.OrgID, r.PathValue("id"))
	if err != nil {
		return err
	}
	return writeJSON(w, http.StatusOK, partnerViews(p)[0])
}

func (a *API) patchPartner(w http.ResponseWriter, r *http.Request, c *Caller) error {
	var in partnerInput
	if err := decode(w, r, &in); err != nil {
		return err
	}
	p, err := a.Partners.Update(r.Context(), c.OrgID, r.PathValue("id"), func(spec *domain.PartnerSpec) error {
		return in.apply(spec, false)
	})
	if err != nil {
		return err
	}
	return writeJSON(w, http.StatusOK, partnerViews(p)[0])
}

// setPartnerActive deactivates or reactivates a partner. Deactivating also
// revokes its portal access at once (its users are signed out); the
// partner then earns nothing on what happens from that moment on.
func (a *API) setPartnerActive(active bool) handlerFunc {
	return func(w http.ResponseWriter, r *http.Request, c *Caller) error {
		id := r.PathValue("id")
		p, err := a.Partners.SetActive(r.Context(), c.OrgID, id, active)
		if err != nil {
			return err
		}
		if !active {
			if err := a.Identity.RevokePartnerAccess(r.Context(), *c, id); err != nil {
				return err
			}
			// Read again: the partner's portal access changed with it.
			if p, err = a.Partners.Get(r.Context(), c.OrgID, id); err != nil {
				return err
			}
		}
		return writeJSON(w, http.StatusOK, partnerViews(p)[0])
	}
}
