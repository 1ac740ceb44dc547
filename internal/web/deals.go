package web

import (
	"net/http"
	"net/url"
	"strings"

	"github.com/partnerloop/partnerloop/internal/commission"
	"github.com/partnerloop/partnerloop/internal/deals"
	"github.com/partnerloop/partnerloop/internal/domain"
	"github.com/partnerloop/partnerloop/internal/store"
)

// dealColumn is one side of the pipeline: partner-sourced or direct deals.
type dealColumn struct {
	Source, Title string
	Deals         []domain.Deal
	More          string // URL of this column's next page
}

type dealsData struct {
	Available bool
	Filter    *Form
	Statuses  []Option
	Columns   []dealColumn
	Partners  []Option
	Names     map[string]string
	Create    *Form
	// Action is the failed action form of deal ActionID, re-shown with its
	// errors next to its fields.
	ActionID string
	Action   *Form
	Currency string
	Deal     *domain.Deal // the deal page's deal
	Return   string       // the page the action forms come back to
	// Others are the deals the shown deals conflict with, by ID, so a
	// conflict names the other customer and party instead of an ID.
	Others map[string]domain.Deal
	// Stages is the pipeline by stage (count and value per currency) for
	// the source filter, each linking to the list of that stage.
	Stages []stageLink
	// StagesCapped is deals.MaxStageDeals when more deals than that match
	// (the figures count the newest of them), else 0.
	StagesCapped int
	// Earned are the ledger entries of the shown won deals, by deal ID, so
	// a won deal links to its commission.
	Earned map[string][]commission.Commission
}

// stageLink is one stage of the pipeline with where it leads.
type stageLink struct {
	deals.StageTotal
	Label, Href string
	Current     bool
}

// dealCardArgs is what the "deal-card" partial renders.
type dealCardArgs struct {
	View   view
	Deal   domain.Deal
	Form   *Form
	Names  map[string]string
	InList bool
	Return string
	Other  *domain.Deal // the deal this one conflicts with, when known
	// Earned are a won deal's ledger entries (commission, clawbacks).
	Earned []commission.Commission
}

func dealCard(v view, d dealsData, deal any, inList bool) dealCardArgs {
	var x domain.Deal
	switch t := deal.(type) {
	case domain.Deal:
		x = t
	case *domain.Deal:
		x = *t
	}
	a := dealCardArgs{View: v, Deal: x, Form: d.FormFor(x.ID), Names: d.Names, InList: inList, Return: d.Return}
	if o, ok := d.Others[x.ConflictsWith]; ok && x.ConflictsWith != "" {
		a.Other = &o
	}
	a.Earned = d.Earned[x.ID]
	return a
}

// loadOthers reads the deals that the given deals conflict with (one read
// each, for the deals on the page only).
func (s *Server) loadOthers(rq *request, d *dealsData, ds ...domain.Deal) {
	if d.Others == nil {
		d.Others = map[string]domain.Deal{}
	}
	for _, x := range ds {
		if x.ConflictsWith == "" {
			continue
		}
		if _, ok := d.Others[x.ConflictsWith]; ok {
			continue
		}
		if o, err := s.cfg.Deals.Get(rq.r.Context(), rq.p.OrgID, x.ConflictsWith); err == nil {
			d.Others[o.ID] = o
		}
	}
}

// loadEarned reads the ledger entries of the won partner deals among ds
// (one index lookup each, for the deals on the page only): a won deal
// links to the commission it earned.
func (s *Server) loadEarned(rq *request, d *dealsData, ds ...domain.Deal) error {
	if s.cfg.Ledger == nil {
		return nil
	}
	if d.Earned == nil {
		d.Earned = map[string][]commission.Commission{}
	}
	for _, x := range ds {
		if x.Status != domain.DealWon || x.PartnerID == "" {
			continue
		}
		es, err := s.cfg.Ledger.OfSource(rq.r.Context(), rq.p.OrgID, x.ID)
		if err != nil {
			return err
		}
		d.Earned[x.ID] = es
	}
	return nil
}

// loadStages counts and sums the deals of the source filter by stage,
// each stage linking to its list (the other filters kept).
func (s *Server) loadStages(rq *request, d *dealsData, q url.Values) error {
	st, err := s.cfg.Deals.Stages(rq.r.Context(), rq.p.OrgID, deals.Filter{Source: q.Get("source")})
	if err != nil {
		return err
	}
	if st.Capped {
		d.StagesCapped = deals.MaxStageDeals
	}
	for _, t := range st.Stages {
		nq := url.Values{}
		if src := q.Get("source"); src != "" {
			nq.Set("source", src)
		}
		nq.Set("status", string(t.Status))
		d.Stages = append(d.Stages, stageLink{StageTotal: t, Label: statusLabel(t.Status),
			Href: "/deals?" + nq.Encode(), Current: q.Get("status") == string(t.Status)})
	}
	return nil
}

func statusLabel(st domain.DealStatus) string {
	return strings.ToUpper(string(st[:1])) + string(st[1:])
}

// FormFor is the action form of deal id: the failed one, or a blank one.
func (d dealsData) FormFor(id string) *Form {
	if id == d.ActionID && d.Action != nil {
		return d.Action
	}
	return newForm(nil)
}

func statusOptions(any string) []Option {
	opts := []Option{{"", any}}
	for _, st := range deals.StageOrder {
		opts = append(opts, Option{string(st), statusLabel(st)})
	}
	return opts
}

// partnerNames lists the organization's partners for selects and labels.
func (s *Server) partnerNames(rq *request, first string) ([]Option, map[string]string, error) {
	ps, _, err := s.cfg.Partners.List(rq.r.Context(), rq.p.OrgID, "", store.Page{Limit: store.MaxLimit})
	if err != nil {
		return nil, nil, err
	}
	opts := []Option{{"", first}}
	names := map[string]string{}
	for _, p := range ps {
		opts = append(opts, Option{p.ID, p.CompanyName})
		names[p.ID] = p.CompanyName
	}
	return opts, names, nil
}

// dealsBase is what both deal pages show around the deals.
func (s *Server) dealsBase(rq *request) (dealsData, error) {
	d := dealsData{Available: s.cfg.Deals != nil, Statuses: statusOptions("Any status")}
	if !d.Available {
		return d, nil
	}
	d.Currency = s.cfg.Deals.Currency()
	var err error
	d.Partners, d.Names, err = s.partnerNames(rq, "None — a direct deal")
	return d, err
}

func (s *Server) renderDeals(rq *request, status int, create *Form, actionID string, action *Form) error {
	d, err := s.dealsBase(rq)
	if err != nil {
		return err
	}
	if !d.Available {
		return s.render(rq, http.StatusServiceUnavailable, "deals", "Deals", "deals", d)
	}
	q := rq.r.URL.Query()
	d.Filter, d.Create, d.ActionID, d.Action = newForm(q), create, actionID, action
	d.Return = "/deals"
	if rq.r.URL.RawQuery != "" {
		d.Return += "?" + rq.r.URL.RawQuery
	}
	if err := s.loadStages(rq, &d, q); err != nil {
		if !d.Filter.fail(err, nil) {
			return err
		}
		status = http.StatusUnprocessableEntity
	}
	for _, col := range []struct{ source, title, cursor string }{
		{string(domain.DealSourcePartner), "Partner-sourced", "partnerCursor"},
		{string(domain.DealSourceDirect), "Direct", "directCursor"},
	} {
		if src := q.Get("source"); src != "" && src != col.source {
			continue
		}
		ds, next, err := s.cfg.Deals.List(rq.r.Context(), rq.p.OrgID, deals.Filter{Source: col.source, Status: q.Get("status")},
			store.Page{Limit: pageSize, Cursor: q.Get(col.cursor)})
		if err != nil {
			if d.Filter.fail(err, nil) {
				status = http.StatusUnprocessableEntity
				break
			}
			return err
		}
		s.loadOthers(rq, &d, ds...)
		if err := s.loadEarned(rq, &d, ds...); err != nil {
			return err
		}
		c := dealColumn{Source: col.source, Title: col.title, Deals: ds}
		if next != "" {
			nq := url.Values{}
			for k, v := range q {
				nq[k] = v
			}
			nq.Set(col.cursor, next)
			c.More = "/deals?" + nq.Encode()
		}
		d.Columns = append(d.Columns, c)
	}
	return s.render(rq, status, "deals", "Deals", "deals", d)
}

// dealList is the pipeline: partner-sourced and direct deals side by side.
func (s *Server) dealList(rq *request) error {
	return s.renderDeals(rq, http.StatusOK, newForm(nil), "", nil)
}

// dealInput reads the registration form (value in major units of the
// deals' currency).
func dealInput(f *Form, currency, partnerID string) (deals.NewDeal, error) {
	p := &parser{f: f}
	in := deals.NewDeal{PartnerID: partnerID, CustomerName: p.str("customerName"), CustomerDomain: p.str("customerDomain")}
	if v := p.money("value", currency); v != nil {
		in.Value = &domain.MoneyInput{Amount: *v, Currency: currency}
	}
	in.ExpectedCloseDate = p.date("expectedCloseDate")
	return in, p.v.Err()
}

// dealCreate registers a direct deal, or a partner's deal on its behalf,
// as POST /v1/deals does.
func (s *Server) dealCreate(rq *request) error {
	if s.cfg.Deals == nil {
		return s.renderDeals(rq, http.StatusServiceUnavailable, newForm(nil), "", nil)
	}
	f := newForm(rq.r.PostForm)
	d, err := s.registerDeal(rq, f, strings.TrimSpace(f.Get("partnerId")))
	if err != nil {
		return s.formFailed(rq, f, err, func(status int) error { return s.renderDeals(rq, status, f, "", nil) })
	}
	notice := "Deal for " + d.CustomerName + " registered."
	if d.Status == domain.DealConflict {
		notice = "Deal for " + d.CustomerName + " registered — it conflicts with another deal on " + d.CustomerDomain + "."
	}
	return s.redirect(rq, "/deals/"+d.ID, notice)
}

// registerDeal registers the deal of form f for partnerID ("" for a direct
// deal), reporting the form's own problems and the service's together.
func (s *Server) registerDeal(rq *request, f *Form, partnerID string) (domain.Deal, error) {
	in, perr := dealInput(f, s.cfg.Deals.Currency(), partnerID)
	d, err := s.cfg.Deals.Register(rq.r.Context(), rq.p.OrgID, rq.p.UserID, in)
	if perr != nil {
		if err != nil && !f.fail(err, nil) { // shown next to the form's own problems
			return d, err
		}
		return d, perr
	}
	return d, err
}

// formFailed shows err next to the fields of f and renders the form again
// with err's status (422 for the form's own problems); an error that names
// no field is returned for the error page.
func (s *Server) formFailed(rq *request, f *Form, err error, render func(status int) error) error {
	if !f.fail(err, nil) {
		return err
	}
	rq.r.URL.RawQuery = ""
	return render(errorStatus(err))
}

// dealShow is one deal with its actions.
func (s *Server) dealShow(rq *request) error {
	return s.renderDeal(rq, http.StatusOK, nil)
}

func (s *Server) renderDeal(rq *request, status int, action *Form) error {
	d, err := s.dealsBase(rq)
	if err != nil {
		return err
	}
	if !d.Available {
		return s.render(rq, http.StatusServiceUnavailable, "deals", "Deals", "deals", d)
	}
	deal, err := s.cfg.Deals.Get(rq.r.Context(), rq.p.OrgID, rq.r.PathValue("id"))
	if err != nil {
		return err
	}
	d.Deal, d.ActionID, d.Action, d.Return = &deal, deal.ID, action, "/deals/"+deal.ID
	s.loadOthers(rq, &d, deal)
	if err := s.loadEarned(rq, &d, deal); err != nil {
		return err
	}
	return s.render(rq, status, "deal", deal.CustomerName, "deals", d)
}

// dealAction approves, rejects (with a reason), marks won (with an
// optional final value) or lost; a refusal is shown next to the field on
// the page the form came from (the pipeline or the deal's page).
func (s *Server) dealAction(rq *request) error {
	if s.cfg.Deals == nil {
		return s.renderDeals(rq, http.StatusServiceUnavailable, newForm(nil), "", nil)
	}
	ctx, org, id := rq.r.Context(), rq.p.OrgID, rq.r.PathValue("id")
	f := newForm(rq.r.PostForm)
	var d domain.Deal
	var err error
	var verb string
	switch rq.r.PathValue("action") {
	case "approve":
		d, err = s.cfg.Deals.Approve(ctx, org, id)
		verb = "approved"
	case "reject":
		d, err = s.cfg.Deals.Reject(ctx, org, id, strings.TrimSpace(f.Get("reason")))
		verb = "rejected"
	case "won":
		var cur domain.Deal
		if cur, err = s.cfg.Deals.Get(ctx, org, id); err == nil {
			p := &parser{f: f}
			var value *domain.MoneyInput
			if v := p.money("value", cur.Value.Currency); v != nil {
				value = &domain.MoneyInput{Amount: *v, Currency: cur.Value.Currency}
			}
			if err = p.v.Err(); err == nil {
				d, err = s.cfg.Deals.Won(ctx, org, id, value)
			}
		}
		verb = "marked won"
	case "lost":
		d, err = s.cfg.Deals.Lost(ctx, org, id)
		verb = "marked lost"
	default:
		return errNotFound
	}
	back := "/deals/" + id
	if ret := SafeNext(f.Get("return")); ret == "/deals" || strings.HasPrefix(ret, "/deals?") {
		back = ret
	}
	if err != nil {
		if e, ok := domain.AsError(err); ok && e.Kind == domain.KindNotFound {
			return err
		}
		if !f.fail(err, func(field string) bool { return field == "reason" || field == "value" }) {
			return err
		}
		if u, perr := url.Parse(back); perr == nil {
			rq.r.URL.RawQuery = u.RawQuery
		}
		if back == "/deals/"+id {
			return s.renderDeal(rq, errorStatus(err), f)
		}
		return s.renderDeals(rq, errorStatus(err), newForm(nil), id, f)
	}
	return s.redirect(rq, back, "Deal for "+d.CustomerName+" "+verb+".")
}
