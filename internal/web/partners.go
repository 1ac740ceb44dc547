package web

import (
	"cmp"
	"net/http"
	"net/url"
	"slices"
	"strconv"
	"strings"

	"github.com/partnerloop/partnerloop/internal/analytics"

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

// maxPartnerList bounds the partners the list reads (page after page of
// the index-backed ListPartners) to search and sort them in memory: an
// organization with more is told to narrow by tier.
const maxPartnerList = 1000

// allPartners reads the organization's partners (of tierID, "" for every
// tier), at most maxPartnerList of them (truncated: there are more), page
// after page of the index-backed ListPartners.
func (s *Server) allPartners(rq *request, tierID string) (all []domain.Partner, truncated bool, err error) {
	page := store.Page{Limit: store.MaxLimit}
	for {
		ps, next, err := s.cfg.Partners.List(rq.r.Context(), rq.p.OrgID, tierID, page)
		if err != nil {
			return nil, false, err
		}
		all = append(all, ps...)
		if next == "" || len(all) >= maxPartnerList {
			return all, next != "", nil
		}
		page.Cursor = next
	}
}

type partnerRow struct {
	domain.Partner
	Stats  *analytics.PartnerRow // the last 30 days; nil when analytics are unavailable
	Access string                // portal access: none, invited, active or revoked
}

type partnerListData struct {
	List      *listQuery
	Tiers     []Option
	Statuses  []Option
	Names     map[string]string
	Rows      []partnerRow
	Truncated bool
	Stats     bool
}

// partnerListSpec is All Partners. Every partner (at most maxPartnerList) is
// read and sorted in memory, so its default order is by name rather than
// the store's; the performance columns rank by the last 30 days.
var partnerListSpec = listSpec{
	Path: "/partners", Noun: "partner", Nouns: "partners",
	SearchHint: "Company, contact or e-mail", DateLabel: "Joined",
	Cols: []sortCol{{Key: "name", Label: "Company"}, {Key: "since", Label: "Since", Desc: true},
		{Key: analytics.ByClicks, Label: "Clicks", Desc: true, Num: true}, {Key: analytics.ByReferrals, Label: "Referrals", Desc: true, Num: true},
		{Key: analytics.ByConversions, Label: "Conversions", Desc: true, Num: true}, {Key: analytics.ByRevenue, Label: "Revenue", Desc: true, Num: true},
		{Key: analytics.ByCommission, Label: "Commission", Desc: true, Num: true}},
	Keep: []string{"tierId", "status"},
}

// matchingPartners are the partners of the list's filters (search, tier,
// status, dates), in its order, with the last 30 days' figures when the
// analytics are available (stats).
func (s *Server) matchingPartners(rq *request, lq *listQuery, q url.Values) (rows []partnerRow, truncated, stats bool, err error) {
	ctx, org := rq.r.Context(), rq.p.OrgID
	all, truncated, err := s.allPartners(rq, q.Get("tierId"))
	if err != nil {
		return nil, false, false, err
	}
	figures := map[string]*analytics.PartnerRow{}
	var rank map[string]int
	if s.cfg.Analytics != nil {
		by := lq.Sort
		if by == "name" || by == "since" {
			by = analytics.ByConversions
		}
		if top, err := s.cfg.Analytics.Partners(ctx, org, analytics.Query{}, by, "", 0); err == nil {
			stats = true
			for i, r := range top.Items {
				figures[r.PartnerID] = &top.Items[i]
			}
			if by == lq.Sort { // the analytics' ranking (highest first) is the order
				rank = map[string]int{}
				for i, r := range top.Items {
					rank[r.PartnerID] = len(top.Items) - i
				}
			}
		}
	}
	order := map[string]func(a, b domain.Partner) int{
		"name": func(a, b domain.Partner) int {
			return cmp.Compare(strings.ToLower(a.CompanyName), strings.ToLower(b.CompanyName))
		},
		"since": func(a, b domain.Partner) int { return a.CreatedAt.Compare(b.CreatedAt) },
	}[lq.Sort]
	if order == nil && rank != nil {
		order = func(a, b domain.Partner) int { return cmp.Compare(rank[a.ID], rank[b.ID]) }
	}
	if order != nil {
		slices.SortStableFunc(all, func(a, b domain.Partner) int {
			if lq.Desc {
				return order(b, a)
			}
			return order(a, b)
		})
	}
	status := q.Get("status")
	for _, p := range all {
		if (status != "" && string(p.Status) != status) || !domain.SearchMatch(lq.Search, p.CompanyName+" "+p.ContactName, p.Email) ||
			(!lq.From.IsZero() && p.CreatedAt.Before(lq.From)) || (!lq.To.IsZero() && !p.CreatedAt.Before(lq.To)) {
			continue
		}
		rows = append(rows, partnerRow{Partner: p, Stats: figures[p.ID], Access: p.PortalAccess().Status})
	}
	return rows, truncated, stats, nil
}

// partnerList is All Partners: search (a prefix of the company's or the
// contact's words, or of the e-mail), tier, status and date filters,
// sortable performance columns, the portal access of each partner, the
// total count and the CSV of the active filters.
func (s *Server) partnerList(rq *request) error {
	q := rq.r.URL.Query()
	opts, names, err := s.tierOptions(rq, "All tiers")
	if err != nil {
		return err
	}
	loc, err := s.orgZone(rq)
	if err != nil {
		return err
	}
	d := partnerListData{List: parseListQuery(q, loc, partnerListSpec), Tiers: opts, Names: names,
		Statuses: []Option{{"", "Any status"}, {string(domain.PartnerActive), "Active"}, {string(domain.PartnerInactive), "Inactive"}}}
	if !d.List.Valid() {
		return s.render(rq, http.StatusUnprocessableEntity, "partners", "All partners", "partners", d)
	}
	rows, truncated, stats, err := s.matchingPartners(rq, d.List, q)
	if err != nil {
		return err
	}
	d.Truncated, d.Stats = truncated, stats
	d.List.setCount(len(rows), false)
	d.Rows = pageOf(rq, d.List, rows)
	return s.render(rq, http.StatusOK, "partners", "All partners", "partners", d)
}

// partnerExport downloads every partner of the list's filters, in its
// order, with the last 30 days' figures.
func (s *Server) partnerExport(rq *request) error {
	q := rq.r.URL.Query()
	loc, err := s.orgZone(rq)
	if err != nil {
		return err
	}
	lq := parseListQuery(q, loc, partnerListSpec)
	if !lq.Valid() {
		rq.r.URL.Path = partnerListSpec.Path
		return s.partnerList(rq)
	}
	rows, _, _, err := s.matchingPartners(rq, lq, q)
	if err != nil {
		return err
	}
	_, tiers, err := s.tierOptions(rq, "")
	if err != nil {
		return err
	}
	header := []string{"id", "companyName", "contactName", "email", "tier", "status", "portalAccess", "createdAt",
		"clicks30d", "referrals30d", "conversions30d", "revenue30d", "commission30d"}
	all := func(store.Page) ([]partnerRow, string, error) { return rows, "", nil }
	return sendListCSV(rq, "partners.csv", header, all, func(r partnerRow) []string {
		out := []string{r.ID, r.CompanyName, r.ContactName, r.Email, tiers[r.TierID], string(r.Status), r.Access, csvTime(r.CreatedAt, loc)}
		if st := r.Stats; st != nil {
			return append(out, itoa(int(st.Clicks)), itoa(int(st.Referrals)), itoa(int(st.Conversions)), csvMoneys(st.Revenue), csvMoneys(st.Commission))
		}
		return append(out, "0", "0", "0", "", "")
	})
}

// csvMoneys is amounts of several currencies in one CSV cell: "12.50 USD;
// 3.00 EUR" ("" for none).
func csvMoneys(ms []domain.Money) string {
	parts := make([]string, len(ms))
	for i, m := range ms {
		parts[i] = csvMoney(&m) + " " + m.Currency
	}
	return strings.Join(parts, "; ")
}

func cloneQuery(q url.Values) url.Values {
	out := url.Values{}
	for k, v := range q {
		out[k] = append([]string(nil), v...)
	}
	return out
}

func atoiOr(s string, def int) int {
	n, err := strconv.Atoi(s)
	if err != nil {
		return def
	}
	return n
}

type partnerFormData struct {
	Form       *Form
	Partner    *domain.Partner
	Tiers      []Option
	Rule       ruleEditor
	Agreements []int
	// Tabs are the partner page's tabs (nil on the create form): the edit
	// form is one of them.
	Tabs *partnerTabsData
}

func (s *Server) renderPartnerForm(rq *request, status int, f *Form, p *domain.Partner) error {
	opts, _, err := s.tierOptions(rq, "Choose a tier…")
	if err != nil {
		return err
	}
	title := "Add partner"
	var tabs *partnerTabsData
	if p != nil {
		title = p.CompanyName
		tabs = &partnerTabsData{p.ID, "edit", partnerTabs}
	}
	return s.render(rq, status, "partner_form", title, "partners", partnerFormData{
		Form: f, Partner: p, Tiers: opts, Rule: newRuleEditor(f, "commission", true, ruleCurrency), Agreements: agreementRows(f),
		Tabs: tabs,
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
	return s.renderPartner360(rq, status, p, "overview", errorText(e))
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
