package httpapi

import (
	"encoding/json"
	"net/http"
	"time"

	"github.com/partnerloop/partnerloop/internal/domain"
	"github.com/partnerloop/partnerloop/internal/programs"
)

// optional tells an absent JSON member from an explicit null, which PATCH
// needs (endsAt: null removes the end date).
type optional[T any] struct {
	Set   bool
	Value *T
}

func (o *optional[T]) UnmarshalJSON(b []byte) error {
	o.Set = true
	if string(b) == "null" {
		o.Value = nil
		return nil
	}
	var v T
	if err := json.Unmarshal(b, &v); err != nil {
		return err
	}
	o.Value = &v
	return nil
}

// eligibilityInput accepts minPurchaseAmount as minor units or as Money.
type eligibilityInput struct {
	NewCustomersOnly  bool               `json:"newCustomersOnly"`
	AllowSelfReferral bool               `json:"allowSelfReferral"`
	MinPurchaseAmount *domain.MoneyInput `json:"minPurchaseAmount"`
}

// programInput is the body of POST and PATCH /v1/programs.
type programInput struct {
	Name                  optional[string]                `json:"name"`
	LandingURL            optional[string]                `json:"landingUrl"`
	Currency              optional[string]                `json:"currency"`
	StartsAt              optional[time.Time]             `json:"startsAt"`
	EndsAt                optional[time.Time]             `json:"endsAt"`
	AttributionWindowDays optional[int]                   `json:"attributionWindowDays"`
	QualifyingEvents      optional[[]string]              `json:"qualifyingEvents"`
	Eligibility           optional[eligibilityInput]      `json:"eligibility"`
	Commission            optional[domain.CommissionRule] `json:"commission"`
	HoldDays              optional[int]                   `json:"holdDays"`
}

// apply sets every member present in the input onto spec. On create, the
// required members must be present; absent optional ones keep spec's
// defaults. The error lists the input's problems together with those of the
// resulting settings.
func (in programInput) apply(spec *domain.ProgramSpec, create bool) error {
	var v domain.Validation
	need := func(set bool, field string) {
		if create && !set {
			v.Add(field, "is required")
		}
	}
	need(in.Name.Set, "name")
	need(in.LandingURL.Set, "landingUrl")
	need(in.Currency.Set, "currency")
	need(in.StartsAt.Set, "startsAt")
	need(in.AttributionWindowDays.Set, "attributionWindowDays")
	need(in.QualifyingEvents.Set, "qualifyingEvents")
	need(in.Commission.Set, "commission")
	setRequired(&v, in.Name, "name", &spec.Name)
	setRequired(&v, in.LandingURL, "landingUrl", &spec.LandingURL)
	setRequired(&v, in.Currency, "currency", &spec.Currency)
	setRequired(&v, in.StartsAt, "startsAt", &spec.StartsAt)
	setRequired(&v, in.AttributionWindowDays, "attributionWindowDays", &spec.AttributionWindowDays)
	setRequired(&v, in.QualifyingEvents, "qualifyingEvents", &spec.QualifyingEvents)
	setRequired(&v, in.Commission, "commission", &spec.Commission)
	setRequired(&v, in.HoldDays, "holdDays", &spec.HoldDays)
	if in.EndsAt.Set {
		spec.EndsAt = in.EndsAt.Value
	}
	if in.Eligibility.Set {
		e := in.Eligibility.Value
		if e == nil {
			v.Add("eligibility", "must be an object, not null")
		} else {
			spec.Eligibility = domain.Eligibility{NewCustomersOnly: e.NewCustomersOnly, AllowSelfReferral: e.AllowSelfReferral}
			if m := e.MinPurchaseAmount; m != nil {
				amount := m.Amount
				spec.Eligibility.MinPurchaseAmount = &amount
				cur := spec.Currency
				v.Check(m.Currency == "" || m.Currency == cur, "eligibility.minPurchaseAmount", "must be in the program's currency (%s)", cur)
			}
		}
	}
	if err := v.Merge(spec.Validate()); err != nil {
		return err
	}
	return v.Err()
}

// setRequired copies a present, non-null member onto dst; null is refused
// because these members cannot be empty.
func setRequired[T any](v *domain.Validation, o optional[T], field string, dst *T) {
	if !o.Set {
		return
	}
	if o.Value == nil {
		v.Add(field, "must not be null")
		return
	}
	*dst = *o.Value
}

func (a *API) createProgram(w http.ResponseWriter, r *http.Request, c *Caller) error {
	var in programInput
	if err := decode(w, r, &in); err != nil {
		return err
	}
	var spec domain.ProgramSpec
	if err := in.apply(&spec, true); err != nil {
		return err
	}
	p, err := a.Programs.Create(r.Context(), c.OrgID, spec)
	if err != nil {
		return err
	}
	w.Header().Set("Location", "/v1/programs/"+p.ID)
	return writeJSON(w, http.StatusCreated, p)
}

func (a *API) listPrograms(w http.ResponseWriter, r *http.Request, c *Caller) error {
	page, err := pageParams(r)
	if err != nil {
		return err
	}
	ps, next, err := a.Programs.List(r.Context(), c.OrgID, page)
	if err != nil {
		return err
	}
	return writeJSON(w, http.StatusOK, newList(ps, next))
}

func (a *API) getProgram(w http.ResponseWriter, r *http.Request, c *Caller) error {
	p, err := a.Programs.Get(r.Context(), c.OrgID, r.PathValue("id"))
	if err != nil {
		return err
	}
	return writeJSON(w, http.StatusOK, p)
}

func (a *API) patchProgram(w http.ResponseWriter, r *http.Request, c *Caller) error {
	var in programInput
	if err := decode(w, r, &in); err != nil {
		return err
	}
	p, err := a.Programs.Update(r.Context(), c.OrgID, r.PathValue("id"), func(spec *domain.ProgramSpec) error {
		return in.apply(spec, false)
	})
	if err != nil {
		return err
	}
	return writeJSON(w, http.StatusOK, p)
}

func (a *API) transition(to domain.ProgramStatus) handlerFunc {
	return func(w http.ResponseWriter, r *http.Request, c *Caller) error {
		p, err := a.Programs.Transition(r.Context(), c.OrgID, r.PathValue("id"), to)
		if err != nil {
			return err
		}
		return writeJSON(w, http.StatusOK, p)
	}
}

// referrerView adds the shareable link to a referrer.
type referrerView struct {
	domain.Referrer
	Link string `json:"link"`
}

func (a *API) referrerView(rf domain.Referrer) referrerView {
	return referrerView{rf, a.Programs.Link(rf.Code)}
}

func (a *API) createReferrer(w http.ResponseWriter, r *http.Request, c *Caller) error {
	var in struct {
		Email     string `json:"email"`
		Name      string `json:"name"`
		PartnerID string `json:"partnerId"`
		Code      string `json:"code"`
	}
	if err := decode(w, r, &in); err != nil {
		return err
	}
	rf, err := a.Programs.CreateReferrer(r.Context(), c.OrgID, r.PathValue("id"), programs.ReferrerInput{
		Email: in.Email, Name: in.Name, PartnerID: in.PartnerID, Code: in.Code,
	})
	if err != nil {
		return err
	}
	w.Header().Set("Location", "/v1/referrers/"+rf.ID)
	return writeJSON(w, http.StatusCreated, a.referrerView(rf))
}

func (a *API) listReferrers(w http.ResponseWriter, r *http.Request, c *Caller) error {
	page, err := pageParams(r)
	if err != nil {
		return err
	}
	rs, next, err := a.Programs.ListReferrers(r.Context(), c.OrgID, r.PathValue("id"), page)
	if err != nil {
		return err
	}
	views := make([]referrerView, len(rs))
	for i, rf := range rs {
		views[i] = a.referrerView(rf)
	}
	return writeJSON(w, http.StatusOK, newList(views, next))
}

func (a *API) getReferrer(w http.ResponseWriter, r *http.Request, c *Caller) error {
	rf, err := a.Programs.GetReferrer(r.Context(), c.OrgID, r.PathValue("id"))
	if err != nil {
		return err
	}
	return writeJSON(w, http.StatusOK, a.referrerView(rf))
}
