package web

import (
	"net/http"
	"net/url"

	"github.com/partnerloop/partnerloop/internal/domain"
	"github.com/partnerloop/partnerloop/internal/store"
)

// ruleCurrency is the currency partner and tier rule amounts are typed in:
// those rules apply to programs of any currency, and their amounts are
// minor units, which this currency's two decimals display.
const ruleCurrency = "USD"

type tierListData struct {
	Tiers []domain.PartnerTier
	// Counts is how many partners each tier has ("1,000+" past countLimit).
	Counts map[string]string
	Pager  pager
	Form   *Form
	Rule   ruleEditor
}

// countLimit bounds the partners counted per tier on the tiers page.
const countLimit = 1000

func (s *Server) renderTiers(rq *request, status int, f *Form) error {
	ts, next, err := s.cfg.Partners.ListTiers(rq.r.Context(), rq.p.OrgID, listPage(rq))
	if err != nil {
		return err
	}
	counts := map[string]string{}
	for _, t := range ts {
		n, more, err := s.countPartners(rq, t.ID)
		if err != nil {
			return err
		}
		counts[t.ID] = itoa(n)
		if more {
			counts[t.ID] += "+"
		}
	}
	return s.render(rq, status, "tiers", "Partner tiers", "tiers", tierListData{
		Tiers: ts, Counts: counts, Pager: newPager(rq, next), Form: f, Rule: newRuleEditor(f, "commission", false, ruleCurrency),
	})
}

// countPartners counts a tier's partners, up to countLimit (more: there
// are others).
func (s *Server) countPartners(rq *request, tierID string) (n int, more bool, err error) {
	cursor := ""
	for {
		ps, next, err := s.cfg.Partners.List(rq.r.Context(), rq.p.OrgID, tierID, store.Page{Limit: store.MaxLimit, Cursor: cursor})
		if err != nil {
			return 0, false, err
		}
		n += len(ps)
		if next == "" {
			return n, false, nil
		}
		if n >= countLimit {
			return n, true, nil
		}
		cursor = next
	}
}

type tierEditData struct {
	Tier domain.PartnerTier
	Form *Form
	Rule ruleEditor
}

func (s *Server) renderTierEdit(rq *request, status int, t domain.PartnerTier, f *Form) error {
	return s.render(rq, status, "tier", "Edit "+t.Name, "tiers", tierEditData{
		Tier: t, Form: f, Rule: newRuleEditor(f, "commission", false, ruleCurrency)})
}

// tierEdit is a tier's form, filled in.
func (s *Server) tierEdit(rq *request) error {
	t, err := s.cfg.Partners.GetTier(rq.r.Context(), rq.p.OrgID, rq.r.PathValue("id"))
	if err != nil {
		return err
	}
	v := url.Values{}
	v.Set("name", t.Name)
	if t.HoldDays != nil {
		v.Set("holdDays", itoa(*t.HoldDays))
	}
	fillRule(v, "commission", &t.Commission, ruleCurrency)
	return s.renderTierEdit(rq, http.StatusOK, t, newForm(v))
}

// tierUpdate saves a tier's name, rule and hold period. Commissions
// already earned keep the rule they were computed with.
func (s *Server) tierUpdate(rq *request) error {
	ctx, org, id := rq.r.Context(), rq.p.OrgID, rq.r.PathValue("id")
	f := newForm(rq.r.PostForm)
	t, err := s.cfg.Partners.GetTier(ctx, org, id)
	if err != nil {
		return err
	}
	spec, err := tierSpec(f, ruleCurrency)
	if err == nil {
		t, err = s.cfg.Partners.UpdateTier(ctx, org, id, func(ts *domain.PartnerTierSpec) error { *ts = spec; return nil })
	}
	if err != nil {
		if f.fail(err, nil) {
			return s.renderTierEdit(rq, errorStatus(err), t, f)
		}
		return err
	}
	return s.redirect(rq, "/partner-tiers", "Tier “"+t.Name+"” saved.")
}

func (s *Server) tierList(rq *request) error {
	v := url.Values{}
	v.Set("commission.type", domain.RulePercentage)
	v.Set("commission.basis", domain.BasisCount)
	v.Set("commission.period", domain.PeriodMonth)
	v.Set("commission.mode", domain.ModeMarginal)
	return s.renderTiers(rq, http.StatusOK, newForm(v))
}

func (s *Server) tierCreate(rq *request) error {
	f := newForm(rq.r.PostForm)
	spec, err := tierSpec(f, ruleCurrency)
	var t domain.PartnerTier
	if err == nil {
		t, err = s.cfg.Partners.CreateTier(rq.r.Context(), rq.p.OrgID, spec)
	}
	if err != nil {
		if f.fail(err, nil) {
			return s.renderTiers(rq, http.StatusUnprocessableEntity, f)
		}
		return err
	}
	return s.redirect(rq, "/partner-tiers", "Tier “"+t.Name+"” created.")
}

func (s *Server) tierOptions(rq *request, any string) ([]Option, map[string]string, error) {
	ts, _, err := s.cfg.Partners.ListTiers(rq.r.Context(), rq.p.OrgID, store.Page{Limit: store.MaxLimit})
	if err != nil {
		return nil, nil, err
	}
	opts := []Option{{"", any}}
	names := map[string]string{}
	for _, t := range ts {
		opts = append(opts, Option{t.ID, t.Name})
		names[t.ID] = t.Name
	}
	return opts, names, nil
}

type partnerListData struct {
	Filter   *Form
	Tiers    []Option
	Names    map[string]string
	Partners []domain.Partner
	Pager    pager
}

func (s *Server) partnerList(rq *request) error {
	q := rq.r.URL.Query()
	opts, names, err := s.tierOptions(rq, "All tiers")
	if err != nil {
		return err
	}
	ps, next, err := s.cfg.Partners.List(rq.r.Context(), rq.p.OrgID, q.Get("tierId"), listPage(rq))
	if err != nil {
		return err
	}
	return s.render(rq, http.StatusOK, "partners", "All partners", "partners", partnerListData{
		Filter: newForm(q), Tiers: opts, Names: names, Partners: ps, Pager: newPager(rq, next),
	})
}

type partnerFormData struct {
	Form       *Form
	Partner    *domain.Partner
	Tiers      []Option
	Rule       ruleEditor
	Agreements []int
	// Access is the partner's portal access (nil on the create form);
	// AccessError is why the last invite or revoke failed.
	Access      *domain.PortalAccess
	AccessError string
}

func (s *Server) renderPartnerForm(rq *request, status int, f *Form, p *domain.Partner) error {
	return s.renderPartnerPage(rq, status, f, p, "")
}

func (s *Server) renderPartnerPage(rq *request, status int, f *Form, p *domain.Partner, accessErr string) error {
	opts, _, err := s.tierOptions(rq, "Choose a tier…")
	if err != nil {
		return err
	}
	title := "Add partner"
	var access *domain.PortalAccess
	if p != nil {
		title = p.CompanyName
		pa, err := s.cfg.Identity.PortalAccess(rq.r.Context(), rq.p.OrgID, p.ID)
		if err != nil {
			return err
		}
		access = &pa
	}
	return s.render(rq, status, "partner_form", title, "partners", partnerFormData{
		Form: f, Partner: p, Tiers: opts, Rule: newRuleEditor(f, "commission", true, ruleCurrency), Agreements: agreementRows(f),
		Access: access, AccessError: accessErr,
	})
}

func partnerDefaults(v url.Values) url.Values {
	for k, d := range map[string]string{"commission.basis": domain.BasisCount, "commission.period": domain.PeriodMonth, "commission.mode": domain.ModeMarginal} {
		if v.Get(k) == "" {
			v.Set(k, d)
		}
	}
	return v
}

func (s *Server) partnerNew(rq *request) error {
	return s.renderPartnerForm(rq, http.StatusOK, newForm(partnerDefaults(url.Values{})), nil)
}

func (s *Server) partnerCreate(rq *request) error {
	f := newForm(rq.r.PostForm)
	spec, err := partnerSpec(f, ruleCurrency)
	var p domain.Partner
	if err == nil {
		p, err = s.cfg.Partners.Create(rq.r.Context(), rq.p.OrgID, spec)
	}
	if err != nil {
		if f.fail(err, nil) {
			return s.renderPartnerForm(rq, http.StatusUnprocessableEntity, f, nil)
		}
		return err
	}
	return s.redirect(rq, "/partners/"+p.ID, "Partner “"+p.CompanyName+"” added.")
}

func (s *Server) partnerShow(rq *request) error {
	p, err := s.cfg.Partners.Get(rq.r.Context(), rq.p.OrgID, rq.r.PathValue("id"))
	if err != nil {
		return err
	}
	return s.renderPartnerForm(rq, http.StatusOK, newForm(partnerDefaults(partnerValues(p, ruleCurrency))), &p)
}

func (s *Server) partnerUpdate(rq *request) error {
	ctx, org, id := rq.r.Context(), rq.p.OrgID, rq.r.PathValue("id")
	f := newForm(rq.r.PostForm)
	p, err := s.cfg.Partners.Update(ctx, org, id, func(spec *domain.PartnerSpec) error {
		next, err := partnerSpec(f, ruleCurrency)
		*spec = next
		return err
	})
	if err != nil {
		if f.fail(err, nil) {
			cur, gerr := s.cfg.Partners.Get(ctx, org, id)
			if gerr != nil {
				return gerr
			}
			return s.renderPartnerForm(rq, http.StatusUnprocessableEntity, f, &cur)
		}
		return err
	}
	return s.redirect(rq, "/partners/"+p.ID, "Partner saved.")
}

// partnerInvite sends (or re-sends) the partner's portal invitation, as
// POST /v1/partners/{id}/invitation does.
func (s *Server) partnerInvite(rq *request) error {
	ctx, id := rq.r.Context(), rq.r.PathValue("id")
	sent, err := s.cfg.Identity.InvitePartner(ctx, *rq.p, id)
	if err != nil {
		return s.partnerAccessFailed(rq, id, err)
	}
	return s.redirect(rq, "/partners/"+id, "Invitation sent to "+sent.Email+".")
}

// partnerAccessFailed shows why an invite or revoke failed on the partner's
// page (a missing partner is the 404 page).
func (s *Server) partnerAccessFailed(rq *request, id string, err error) error {
	e, ok := domain.AsError(err)
	if !ok || e.Kind == domain.KindNotFound {
		return err
	}
	p, gerr := s.cfg.Partners.Get(rq.r.Context(), rq.p.OrgID, id)
	if gerr != nil {
		return gerr
	}
	status := http.StatusUnprocessableEntity
	switch e.Kind {
	case domain.KindConflict:
		status = http.StatusConflict
	case domain.KindRateLimited:
		status = http.StatusTooManyRequests
	case domain.KindUnavailable:
		status = http.StatusServiceUnavailable
	}
	return s.renderPartnerPage(rq, status, newForm(partnerDefaults(partnerValues(p, ruleCurrency))), &p, e.Message)
}

type revokeData struct{ Partner domain.Partner }

// partnerRevokeConfirm asks before revoking: revoking signs the partner
// out at once, so it is never one click away.
func (s *Server) partnerRevokeConfirm(rq *request) error {
	p, err := s.cfg.Partners.Get(rq.r.Context(), rq.p.OrgID, rq.r.PathValue("id"))
	if err != nil {
		return err
	}
	return s.render(rq, http.StatusOK, "revoke", "Revoke portal access", "partners", revokeData{p})
}

// partnerRevoke ends the partner's portal access, as DELETE
// /v1/partners/{id}/portal-access does.
func (s *Server) partnerRevoke(rq *request) error {
	ctx, id := rq.r.Context(), rq.r.PathValue("id")
	p, err := s.cfg.Partners.Get(ctx, rq.p.OrgID, id)
	if err != nil {
		return err
	}
	if err := s.cfg.Identity.RevokePartnerAccess(ctx, *rq.p, id); err != nil {
		return s.partnerAccessFailed(rq, id, err)
	}
	return s.redirect(rq, "/partners/"+id, "Portal access of “"+p.CompanyName+"” revoked; its users are signed out.")
}
