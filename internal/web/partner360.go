package web

import (
	"cmp"
	"net/http"
	"slices"

	"github.com/partnerloop/partnerloop/internal/commission"
	"github.com/partnerloop/partnerloop/internal/deals"
	"github.com/partnerloop/partnerloop/internal/domain"
	"github.com/partnerloop/partnerloop/internal/payouts"
	"github.com/partnerloop/partnerloop/internal/portal"
	"github.com/partnerloop/partnerloop/internal/store"
)

// The partner page is the partner's whole story, one tab at a time
// (?tab=): its figures and portal access, its links, the contacts they
// referred, its deals, its commissions and payouts, and the edit form.

// partnerTab is one tab of the partner page.
type partnerTab struct{ Key, Label string }

var partnerTabs = []partnerTab{
	{"overview", "Overview"}, {"links", "Links"}, {"referrals", "Referrals"}, {"deals", "Deals"},
	{"commissions", "Commissions"}, {"payouts", "Payouts"}, {"edit", "Edit"},
}

// partnerTabsData is what the "partner-tabs" partial renders.
type partnerTabsData struct {
	PartnerID string
	Current   string
	Tabs      []partnerTab
}

// maxTabRows bounds the rows a tab shows; each links to the full list.
const maxTabRows = 50

type partner360Data struct {
	Partner     domain.Partner
	TierName    string
	Tabs        partnerTabsData
	Summary     *portal.Summary
	Access      *domain.PortalAccess
	AccessError string
	Payouts     *payouts.PartnerPayouts
	Links       []portal.Link
	Referrals   []domain.Referral
	Programs    map[string]string
	Deals       []domain.Deal
	Commissions []commission.Commission
	Look        *lookups // names the deals of deal commissions
	More        bool     // the tab shows the first maxTabRows rows only
}

func (s *Server) renderPartner360(rq *request, status int, p domain.Partner, tab, accessErr string) error {
	if tab == "edit" {
		return s.renderPartnerForm(rq, status, newForm(partnerDefaults(partnerValues(p, ruleCurrency))), &p)
	}
	ctx, org := rq.r.Context(), rq.p.OrgID
	d := partner360Data{Partner: p, Tabs: partnerTabsData{p.ID, tab, partnerTabs}, AccessError: accessErr, Look: s.lookups(rq)}
	if t, err := s.cfg.Partners.GetTier(ctx, org, p.TierID); err == nil {
		d.TierName = t.Name
	}
	names, _, err := s.programNames(rq)
	if err != nil {
		return err
	}
	d.Programs = names
	page := store.Page{Limit: maxTabRows}
	switch tab {
	case "overview":
		if s.cfg.Portal != nil {
			sum, err := s.cfg.Portal.Summary(ctx, org, p.ID)
			if err != nil {
				return err
			}
			d.Summary = &sum
		}
		pa := p.PortalAccess() // kept on the partner's record by the store
		d.Access = &pa
	case "links":
		if s.cfg.Portal != nil {
			var next string
			if d.Links, next, err = s.cfg.Portal.Links(ctx, org, p.ID, page); err != nil {
				return err
			}
			d.More = next != ""
		}
	case "referrals":
		// The partner's referrers' referrals, newest first: a page of each
		// referrer's (index-backed, one query per link), merged.
		if s.cfg.Portal != nil {
			links, _, err := s.cfg.Portal.Links(ctx, org, p.ID, store.Page{Limit: store.MaxLimit})
			if err != nil {
				return err
			}
			for _, l := range links {
				rs, next, err := s.cfg.Tracking.ListReferrals(ctx, org, store.ReferralFilter{ReferrerID: l.ReferrerID}, page)
				if err != nil {
					return err
				}
				d.Referrals = append(d.Referrals, rs...)
				d.More = d.More || next != ""
			}
			slices.SortFunc(d.Referrals, func(a, b domain.Referral) int { return cmp.Compare(b.ID, a.ID) })
			if len(d.Referrals) > maxTabRows {
				d.Referrals, d.More = d.Referrals[:maxTabRows], true
			}
		}
	case "deals":
		if s.cfg.Deals != nil {
			var next string
			if d.Deals, next, err = s.cfg.Deals.List(ctx, org, deals.Filter{PartnerID: p.ID}, page); err != nil {
				return err
			}
			d.More = next != ""
		}
	case "commissions":
		if s.cfg.Ledger != nil {
			var next string
			if d.Commissions, next, err = s.cfg.Ledger.List(ctx, org, store.CommissionFilter{PartnerID: p.ID}, page); err != nil {
				return err
			}
			d.More = next != ""
		}
	case "payouts":
		if s.cfg.Payouts != nil {
			pp, err := s.cfg.Payouts.ForPartner(ctx, org, p.ID)
			if err != nil {
				return err
			}
			d.Payouts = &pp
		}
	default:
		return errNotFound
	}
	return s.render(rq, status, "partner", p.CompanyName, "partners", d)
}

func (s *Server) partnerShow(rq *request) error {
	p, err := s.cfg.Partners.Get(rq.r.Context(), rq.p.OrgID, rq.r.PathValue("id"))
	if err != nil {
		return err
	}
	tab := cmp.Or(rq.r.URL.Query().Get("tab"), "overview")
	return s.renderPartner360(rq, http.StatusOK, p, tab, "")
}

// partnerSetActive deactivates or reactivates the partner, as POST
// /v1/partners/{id}/deactivate|reactivate do (deactivating revokes its
// portal access).
func (s *Server) partnerSetActive(active bool) func(*request) error {
	return func(rq *request) error {
		ctx, id := rq.r.Context(), rq.r.PathValue("id")
		p, err := s.cfg.Partners.SetActive(ctx, rq.p.OrgID, id, active)
		if err != nil {
			return err
		}
		notice := "“" + p.CompanyName + "” reactivated: it earns on what happens from now on."
		if !active {
			if err := s.cfg.Identity.RevokePartnerAccess(ctx, *rq.p, id); err != nil {
				return s.partnerAccessFailed(rq, id, err)
			}
			notice = "“" + p.CompanyName + "” deactivated: its portal access is revoked and it earns nothing from now on."
		}
		return s.redirect(rq, "/partners/"+id, notice)
	}
}
