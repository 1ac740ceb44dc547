package web

import (
	"cmp"
	"io"
	"net/http"
	"net/url"
	"slices"
	"strings"

	"github.com/partnerloop/partnerloop/internal/commission"
	"github.com/partnerloop/partnerloop/internal/domain"
	"github.com/partnerloop/partnerloop/internal/ledger"
	"github.com/partnerloop/partnerloop/internal/store"
)

type commissionListData struct {
	Available bool
	List      *listQuery
	Bulk      *Form
	Statuses  []Option
	Programs  []Option
	Partners  []Option
	Names     map[string]string
	Partner   map[string]string
	// Look names each row's referrer and deal.
	Look        *lookups
	Commissions []commission.Commission
	// Totals sums every commission matching the filters (all pages), per
	// currency. MatchQuery is the filters, for the "approve all matching"
	// form.
	Totals     []domain.Money
	MatchQuery map[string]string
	ReturnURL  string // this list, to come back to after a bulk change
	// Deal is the deal whose entries the list shows (the dealId filter: a
	// won deal's "Commission" link), nil otherwise.
	Deal *domain.Deal
	// Confirm is what "approve all matching" will do, shown for a
	// confirmation before it does it; nil otherwise.
	Confirm *ledger.MatchingPreview
	// Choices are the partners the search matches when it matches
	// several: the page offers them instead of rows.
	Choices []partnerChoice
}

// partnerChoice is a partner the search matched, with the list narrowed
// to it.
type partnerChoice struct {
	domain.Partner
	Href string
}

// commissionSpec is the commission list: search by partner, dates of
// creation, and its sortable columns (creation, the ledger's order, first).
var commissionSpec = listSpec{
	Path: "/commissions", Noun: "commission", Nouns: "commissions",
	SearchHint: "Partner: company, contact or e-mail", DateLabel: "Created",
	Cols: []sortCol{{Key: "created", Label: "Created", Desc: true}, {Key: "amount", Label: "Amount", Desc: true, Num: true},
		{Key: "status", Label: "Status"}, {Key: "available", Label: "Available", Desc: true}, {Key: "partner", Label: "Partner"}},
	Keep: []string{"status", "partnerId", "programId", "dealId"},
}

// commissionQuery is the list's query resolved to a ledger filter.
type commissionQuery struct {
	List   *listQuery
	Filter store.CommissionFilter
	// Matches are the partners the search matches when it matches several;
	// None: the search (with the partner filter) matches no partner, so no
	// commission.
	Matches []domain.Partner
	None    bool
	// Partners are the organization's partners (at most maxPartnerList).
	Partners []domain.Partner
}

// Rows reports whether the query selects rows: valid, and a search that
// names one partner or none was typed.
func (cq commissionQuery) Rows() bool { return cq.List.Valid() && !cq.None && len(cq.Matches) == 0 }

// readCommissionQuery parses the list's query (q: the page's, the export's
// or the approve-all form's) in the organization's time zone; the search
// is a partner's company, contact or e-mail (domain.SearchMatch) and
// narrows the list to that partner.
func (s *Server) readCommissionQuery(rq *request, q url.Values) (commissionQuery, error) {
	loc, err := s.orgZone(rq)
	if err != nil {
		return commissionQuery{}, err
	}
	lq := parseListQuery(q, loc, commissionSpec)
	cq := commissionQuery{List: lq, Filter: store.CommissionFilter{PartnerID: q.Get("partnerId"), ProgramID: q.Get("programId"),
		Status: q.Get("status"), From: lq.From, To: lq.To}}
	if err := ledger.ValidateFilter(cq.Filter); err != nil && lq.Form.fail(err, nil) {
		lq.Form.Message = filterProblems(lq.Form)
	} else if err != nil {
		return cq, err
	}
	if cq.Partners, _, err = s.allPartners(rq, ""); err != nil {
		return cq, err
	}
	if lq.Search != "" {
		for _, p := range cq.Partners {
			if (cq.Filter.PartnerID == "" || p.ID == cq.Filter.PartnerID) && domain.SearchMatch(lq.Search, p.CompanyName+" "+p.ContactName, p.Email) {
				cq.Matches = append(cq.Matches, p)
			}
		}
		switch len(cq.Matches) {
		case 0:
			cq.None = true
		case 1:
			cq.Filter.PartnerID, cq.Matches = cq.Matches[0].ID, nil
		}
	}
	return cq, nil
}

// commissionSorts are the list's orders other than the ledger's own.
func commissionSorts(partner map[string]string) map[string]func(a, b commission.Commission) int {
	return map[string]func(a, b commission.Commission) int{
		"amount": func(a, b commission.Commission) int {
			return cmp.Or(strings.Compare(a.Amount.Currency, b.Amount.Currency), cmp.Compare(a.Amount.Amount, b.Amount.Amount))
		},
		"status":    func(a, b commission.Commission) int { return strings.Compare(string(a.Status), string(b.Status)) },
		"available": func(a, b commission.Commission) int { return a.AvailableAt.Compare(b.AvailableAt) },
		"partner": func(a, b commission.Commission) int {
			return strings.Compare(strings.ToLower(partner[a.PartnerID]), strings.ToLower(partner[b.PartnerID]))
		},
	}
}

// dealCommissions is the entries of one deal that match the rest of cf:
// a deal has a handful (its commission, a replacement, clawbacks), read
// by one index lookup, so the other filters apply here.
func (s *Server) dealCommissions(rq *request, dealID string, cf store.CommissionFilter) ([]commission.Commission, error) {
	all, err := s.cfg.Ledger.OfSource(rq.r.Context(), rq.p.OrgID, dealID)
	if err != nil {
		return nil, err
	}
	var out []commission.Commission
	for _, c := range all {
		if c.DealID != dealID || (cf.Status != "" && string(c.Status) != cf.Status) || (cf.PartnerID != "" && c.PartnerID != cf.PartnerID) ||
			(cf.ProgramID != "" && c.ProgramID != cf.ProgramID) || (!cf.From.IsZero() && c.CreatedAt.Before(cf.From)) ||
			(!cf.To.IsZero() && !c.CreatedAt.Before(cf.To)) {
			continue
		}
		out = append(out, c)
	}
	return out, nil
}

func (s *Server) renderCommissions(rq *request, status int, bulk *Form) error {
	return s.renderCommissionsConfirm(rq, status, bulk, nil)
}

// renderCommissionsConfirm is the list, with the confirmation of "approve
// all matching" above it when confirm is set.
func (s *Server) renderCommissionsConfirm(rq *request, status int, bulk *Form, confirm *ledger.MatchingPreview) error {
	d := commissionListData{Available: s.cfg.Ledger != nil, Bulk: bulk, Confirm: confirm, ReturnURL: "/commissions"}
	if rq.r.URL.RawQuery != "" {
		d.ReturnURL = "/commissions?" + rq.r.URL.RawQuery
	}
	if !d.Available {
		return s.render(rq, http.StatusServiceUnavailable, "commissions", "Commissions", "commissions", d)
	}
	ctx, org := rq.r.Context(), rq.p.OrgID
	q := rq.r.URL.Query()
	cq, err := s.readCommissionQuery(rq, q)
	if err != nil {
		return err
	}
	d.List, d.Look = cq.List, s.lookups(rq)
	names, opts, err := s.programNames(rq)
	if err != nil {
		return err
	}
	d.Names, d.Programs = names, opts
	d.Partners, d.Partner = choices("All partners", cq.Partners, func(p domain.Partner) (string, string) { return p.ID, p.CompanyName })
	d.Statuses = []Option{{"", "Any status"}}
	for _, st := range ledger.Statuses {
		d.Statuses = append(d.Statuses, Option{string(st), strings.ToUpper(string(st[:1])) + string(st[1:])})
	}
	for _, p := range cq.Matches {
		d.Choices = append(d.Choices, partnerChoice{Partner: p, Href: cq.List.link(commissionSpec.Path, map[string]string{"q": "", "partnerId": p.ID})})
	}
	if !cq.List.Valid() && status < 400 {
		status = http.StatusUnprocessableEntity
	}
	if !cq.Rows() {
		return s.render(rq, status, "commissions", "Commissions", "commissions", d)
	}
	cf, sorts := cq.Filter, commissionSorts(d.Partner)
	if id := q.Get("dealId"); id != "" {
		if err := s.dealCommissionList(rq, &d, id, cf, sorts); err != nil {
			return err
		}
	} else {
		if totals, n, err := s.cfg.Ledger.Totals(ctx, org, cf); err == nil {
			d.Totals = totals
			cq.List.setCount(n, false)
		} else if e, ok := domain.AsError(err); ok && e.Code == "export_too_large" {
			cq.List.setCount(countCap, true) // more than the totals read
		} else {
			return err
		}
		fetch := func(p store.Page) ([]commission.Commission, string, error) { return s.cfg.Ledger.List(ctx, org, cf, p) }
		if d.Commissions, err = listRows(rq, cq.List, fetch, sorts); err != nil {
			return err
		}
	}
	// "Approve all matching" acts on the partner the search resolved to.
	d.MatchQuery = map[string]string{}
	for k, v := range filterQuery(q, commissionFilterKeys) {
		d.MatchQuery[k] = v[0]
	}
	if cf.PartnerID != "" {
		d.MatchQuery["partnerId"] = cf.PartnerID
	}
	return s.render(rq, status, "commissions", "Commissions", "commissions", d)
}

// commissionFilterKeys are the filters "approve all matching" keeps: the
// search travels resolved, as partnerId.
var commissionFilterKeys = []string{"status", "partnerId", "programId", "from", "to", "dealId"}

// filterQuery is the values of keys in q that are set.
func filterQuery(q url.Values, keys []string) url.Values {
	out := url.Values{}
	for _, k := range keys {
		if v := strings.TrimSpace(q.Get(k)); v != "" {
			out.Set(k, v)
		}
	}
	return out
}

// dealCommissionList fills d with the entries of deal id matching cf, in
// the list's order.
func (s *Server) dealCommissionList(rq *request, d *commissionListData, id string, cf store.CommissionFilter, sorts map[string]func(a, b commission.Commission) int) error {
	if s.cfg.Deals != nil {
		deal, err := s.cfg.Deals.Get(rq.r.Context(), rq.p.OrgID, id)
		if err != nil {
			return err
		}
		d.Deal = &deal
	}
	items, err := s.dealCommissions(rq, id, cf)
	if err != nil {
		return err
	}
	var t domain.Totals
	for _, c := range items {
		t.Add(c.Amount)
	}
	if d.Totals, err = t.Money(); err != nil {
		return err
	}
	d.List.setCount(len(items), false)
	slices.Reverse(items) // newest first, the list's own order
	if c := sorts[d.List.Sort]; c != nil {
		slices.SortStableFunc(items, func(a, b commission.Commission) int {
			if d.List.Desc {
				return c(b, a)
			}
			return c(a, b)
		})
	}
	d.Commissions = pageOf(rq, d.List, items)
	return nil
}

func (s *Server) commissionList(rq *request) error {
	return s.renderCommissions(rq, http.StatusOK, newForm(nil))
}

// commissionBulk approves, rejects or marks paid the ticked commissions,
// all or none (the ledger's batch rule); a refusal (e.g. still on hold)
// is shown above the list with the ticks kept.
func (s *Server) commissionBulk(rq *request) error {
	if s.cfg.Ledger == nil {
		return s.renderCommissions(rq, http.StatusServiceUnavailable, newForm(nil))
	}
	f := newForm(rq.r.PostForm)
	ctx, org, actor := rq.r.Context(), rq.p.OrgID, rq.p.ID()
	ids := f.Values["ids"]
	back := "/commissions"
	if ret := SafeNext(f.Get("return")); strings.HasPrefix(ret, "/commissions") {
		back = ret
	}
	// The list to re-render is the one the form was posted from.
	if u, err := url.Parse(back); err == nil {
		rq.r.URL.RawQuery = u.RawQuery
	}
	var err error
	var verb string
	switch f.Get("action") {
	case "approve":
		_, err = s.cfg.Ledger.Approve(ctx, org, actor, ids)
		verb = "approved"
	case "reject":
		_, err = s.cfg.Ledger.Reject(ctx, org, actor, ids, f.Get("reason"))
		verb = "rejected"
	case "mark-paid":
		_, err = s.cfg.Ledger.MarkPaid(ctx, org, actor, ids, f.Get("payoutReference"))
		verb = "marked paid"
	default:
		f.add("action", "choose approve, reject or mark paid")
		f.Message = "Choose what to do with the selected commissions."
		return s.renderCommissions(rq, http.StatusUnprocessableEntity, f)
	}
	if err != nil {
		if f.fail(err, func(field string) bool { return field == "reason" || field == "payoutReference" || field == "ids" }) {
			status := http.StatusUnprocessableEntity
			if e, _ := domain.AsError(err); e.Kind == domain.KindConflict {
				status = http.StatusConflict
			}
			if f.Errors["ids"] != "" {
				f.Message = "Select at least one commission: " + f.Errors["ids"]
			}
			return s.renderCommissions(rq, status, f)
		}
		return err
	}
	n := len(ledger.CollapseIDs(&domain.Validation{}, ids))
	word := "commissions"
	if n == 1 {
		word = "commission"
	}
	return s.redirect(rq, back, itoa(n)+" "+word+" "+verb+".")
}

// commissionExport downloads the payroll CSV of the commissions matching
// the list's filters (search, dates, status, partner, program, deal): the
// file of GET /v1/commissions/export, every matching row, oldest first.
func (s *Server) commissionExport(rq *request) error {
	if s.cfg.Ledger == nil {
		return s.renderCommissions(rq, http.StatusServiceUnavailable, newForm(nil))
	}
	cq, err := s.readCommissionQuery(rq, rq.r.URL.Query())
	if err != nil {
		return err
	}
	if !cq.List.Valid() || len(cq.Matches) > 0 {
		// Shown on the list: the problem, or the partners to choose from.
		rq.r.URL.Path = commissionSpec.Path
		return s.renderCommissions(rq, http.StatusUnprocessableEntity, newForm(nil))
	}
	var items []commission.Commission
	switch id := rq.r.URL.Query().Get("dealId"); {
	case cq.None: // the search matches no partner: a header only
	case id != "":
		items, err = s.dealCommissions(rq, id, cq.Filter)
	default:
		items, err = s.cfg.Ledger.Export(rq.r.Context(), rq.p.OrgID, cq.Filter)
	}
	if err != nil {
		return err
	}
	return sendCSV(rq, ledger.ExportFilename(cq.Filter, s.cfg.Ledger.Now()), func(out io.Writer) error { return ledger.WriteCSV(out, items) })
}

// commissionApproveMatching approves every pending commission matching the
// list's filters whose hold period is over — all of them, not one page
// ("select all matching"), in all-or-nothing batches of ledger.MaxBatch.
func (s *Server) commissionApproveMatching(rq *request) error {
	if s.cfg.Ledger == nil {
		return s.renderCommissions(rq, http.StatusServiceUnavailable, newForm(nil))
	}
	q := filterQuery(rq.r.PostForm, commissionFilterKeys)
	back := "/commissions"
	if len(q) > 0 {
		back += "?" + q.Encode()
	}
	rq.r.URL.RawQuery = q.Encode()
	cq, err := s.readCommissionQuery(rq, q)
	if err != nil {
		return err
	}
	if q.Get("dealId") != "" {
		// A deal's few entries are ticked and approved one by one; the
		// ledger's "all matching" filter has no deal.
		b := newForm(nil)
		b.Message = "Approve a deal's commissions by selecting them."
		return s.renderCommissions(rq, http.StatusUnprocessableEntity, b)
	}
	if !cq.Rows() {
		return s.renderCommissions(rq, http.StatusUnprocessableEntity, newForm(nil))
	}
	cf := cq.Filter
	if rq.r.PostForm.Get("confirm") != "yes" {
		// First say how many and how much, on every page, then do it.
		p, err := s.cfg.Ledger.PreviewApproveMatching(rq.r.Context(), rq.p.OrgID, cf)
		if err != nil {
			b := newForm(nil)
			if !b.fail(err, nil) {
				return err
			}
			return s.renderCommissions(rq, errorStatus(err), b)
		}
		return s.renderCommissionsConfirm(rq, http.StatusOK, newForm(nil), &p)
	}
	approved, onHold, err := s.cfg.Ledger.ApproveMatching(rq.r.Context(), rq.p.OrgID, rq.p.ID(), cf)
	if err != nil {
		b := newForm(nil)
		if !b.fail(err, nil) {
			return err
		}
		b.Message = itoa(approved) + " approved before this failed: " + b.Message
		return s.renderCommissions(rq, errorStatus(err), b)
	}
	notice := plural(approved, "commission") + " approved."
	if onHold > 0 {
		notice += " " + plural(onHold, "commission") + " still in the hold period stay pending."
	}
	return s.redirect(rq, back, notice)
}
