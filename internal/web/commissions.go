package web

import (
	"io"
	"net/http"
	"net/url"
	"strings"

	"github.com/partnerloop/partnerloop/internal/commission"
	"github.com/partnerloop/partnerloop/internal/domain"
	"github.com/partnerloop/partnerloop/internal/ledger"
	"github.com/partnerloop/partnerloop/internal/store"
)

type commissionListData struct {
	Available   bool
	Filter      *Form
	Bulk        *Form
	Statuses    []Option
	Programs    []Option
	Partners    []Option
	Names       map[string]string
	Partner     map[string]string
	Commissions []commission.Commission
	Pager       pager
	ExportURL   string
	// Totals sums every commission matching the filters (all pages), per
	// currency; Count is how many match. MatchQuery is the filters, for the
	// "approve all matching" form.
	Totals     []domain.Money
	Count      int
	MatchQuery map[string]string
	ReturnURL  string // this list, to come back to after a bulk change
	// Deal is the deal whose entries the list shows (the dealId filter: a
	// won deal's "Commission" link), nil otherwise.
	Deal *domain.Deal
	// Confirm is what "approve all matching" will do, shown for a
	// confirmation before it does it; nil otherwise.
	Confirm *ledger.MatchingPreview
}

// commissionFilterKeys are the list's filters, kept by its links, the CSV
// export and "approve all matching".
var commissionFilterKeys = []string{"status", "partnerId", "programId", "from", "to", "dealId"}

// filterQuery is the values of keys in q that are set.
func filterQuery(q url.Values, keys []string) url.Values {
	out := url.Values{}
	for _, k := range keys {
		if v := q.Get(k); v != "" {
			out.Set(k, v)
		}
	}
	return out
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

// commissionFilter reads the list's filters (the API's, from the query);
// a problem is put on the filter form next to its field.
func commissionFilter(q url.Values, f *Form) store.CommissionFilter {
	cf := store.CommissionFilter{PartnerID: q.Get("partnerId"), ProgramID: q.Get("programId"), Status: q.Get("status")}
	for _, b := range []struct {
		name  string
		upper bool
	}{{"from", false}, {"to", true}} {
		s := q.Get(b.name)
		if s == "" {
			continue
		}
		t, err := ledger.ParseBound(s, b.upper)
		if err != nil {
			f.add(b.name, "must be a date (YYYY-MM-DD)")
			continue
		}
		if b.upper {
			cf.To = t
		} else {
			cf.From = t
		}
	}
	if err := ledger.ValidateFilter(cf); err != nil {
		f.fail(err, nil)
	}
	return cf
}

func (s *Server) renderCommissions(rq *request, status int, bulk *Form) error {
	return s.renderCommissionsConfirm(rq, status, bulk, nil)
}

// renderCommissionsConfirm is the list, with the confirmation of "approve
// all matching" above it when confirm is set.
func (s *Server) renderCommissionsConfirm(rq *request, status int, bulk *Form, confirm *ledger.MatchingPreview) error {
	d := commissionListData{Available: s.cfg.Ledger != nil, Bulk: bulk, ReturnURL: rq.r.URL.Path, Confirm: confirm}
	if rq.r.URL.RawQuery != "" {
		d.ReturnURL = "/commissions?" + rq.r.URL.RawQuery
	} else {
		d.ReturnURL = "/commissions"
	}
	if !d.Available {
		return s.render(rq, http.StatusServiceUnavailable, "commissions", "Commissions", "commissions", d)
	}
	ctx, org := rq.r.Context(), rq.p.OrgID
	q := rq.r.URL.Query()
	d.Filter = newForm(q)
	cf := commissionFilter(q, d.Filter)
	names, opts, err := s.programNames(rq)
	if err != nil {
		return err
	}
	d.Names, d.Programs = names, opts
	ps, _, err := s.cfg.Partners.List(ctx, org, "", store.Page{Limit: store.MaxLimit})
	if err != nil {
		return err
	}
	d.Partners, d.Partner = choices("All partners", ps, func(p domain.Partner) (string, string) { return p.ID, p.CompanyName })
	d.Statuses = []Option{{"", "Any status"}}
	for _, st := range ledger.Statuses {
		d.Statuses = append(d.Statuses, Option{string(st), strings.ToUpper(string(st[:1])) + string(st[1:])})
	}
	if len(d.Filter.Errors) == 0 {
		if id := q.Get("dealId"); id != "" {
			if err := s.dealCommissionList(rq, &d, id, cf); err != nil {
				return err
			}
		} else {
			items, next, err := s.cfg.Ledger.List(ctx, org, cf, listPage(rq))
			if err != nil {
				if !d.Filter.fail(err, nil) {
					return err
				}
			}
			d.Commissions, d.Pager = items, newPager(rq, next)
			if totals, n, err := s.cfg.Ledger.Totals(ctx, org, cf); err == nil {
				d.Totals, d.Count = totals, n
			}
		}
		d.MatchQuery = map[string]string{}
		eq := filterQuery(q, commissionFilterKeys)
		for k := range eq {
			d.MatchQuery[k] = eq.Get(k)
		}
		d.ExportURL = "/commissions/export"
		if len(eq) > 0 {
			d.ExportURL += "?" + eq.Encode()
		}
	}
	return s.render(rq, status, "commissions", "Commissions", "commissions", d)
}

// dealCommissionList fills d with the entries of deal id matching cf.
func (s *Server) dealCommissionList(rq *request, d *commissionListData, id string, cf store.CommissionFilter) error {
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
	totals, err := t.Money()
	if err != nil {
		return err
	}
	d.Commissions, d.Totals, d.Count = items, totals, len(items)
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

// commissionExport downloads the payroll CSV of the filtered commissions,
// the same file as GET /v1/commissions/export.
func (s *Server) commissionExport(rq *request) error {
	if s.cfg.Ledger == nil {
		return s.renderCommissions(rq, http.StatusServiceUnavailable, newForm(nil))
	}
	f := newForm(nil)
	cf := commissionFilter(rq.r.URL.Query(), f)
	if len(f.Errors) > 0 {
		return s.renderCommissions(rq, http.StatusUnprocessableEntity, newForm(nil))
	}
	var items []commission.Commission
	var err error
	if id := rq.r.URL.Query().Get("dealId"); id != "" {
		items, err = s.dealCommissions(rq, id, cf)
	} else {
		items, err = s.cfg.Ledger.Export(rq.r.Context(), rq.p.OrgID, cf)
	}
	if err != nil {
		return err
	}
	return sendCSV(rq, ledger.ExportFilename(cf, s.cfg.Ledger.Now()), func(out io.Writer) error { return ledger.WriteCSV(out, items) })
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
	f := newForm(nil)
	cf := commissionFilter(q, f)
	if q.Get("dealId") != "" {
		// A deal's few entries are ticked and approved one by one; the
		// ledger's "all matching" filter has no deal.
		f.add("dealId", "approve a deal's commissions by selecting them")
	}
	if len(f.Errors) > 0 {
		return s.renderCommissions(rq, http.StatusUnprocessableEntity, newForm(nil))
	}
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
