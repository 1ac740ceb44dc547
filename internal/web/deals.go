package web

import (
	"cmp"
	"net/http"
	"net/url"
	"slices"
	"strings"
	"time"

	"github.com/partnerloop/partnerloop/internal/commission"
	"github.com/partnerloop/partnerloop/internal/deals"
	"github.com/partnerloop/partnerloop/internal/domain"
	"github.com/partnerloop/partnerloop/internal/store"
)

// dealColumn is one side of the pipeline: partner-sourced or direct deals.
type dealColumn struct {
	Source, Title string
	Deals         []domain.Deal
}

type dealsData struct {
	Available bool
	List      *listQuery // the pipeline's filters, count and order
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
	// the filters but the stage, each linking to the list of that stage.
	Stages []stageLink
	// Capped is deals.MaxListDeals when more deals than that match the
	// source filter (the page counts the newest of them), else 0.
	Capped int
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
	d := dealsData{Available: s.cfg.Deals != nil, Statuses: statusOptions("Any stage")}
	if !d.Available {
		return d, nil
	}
	d.Currency = s.cfg.Deals.Currency()
	var err error
	d.Partners, d.Names, err = s.partnerNames(rq, "None — a direct deal")
	return d, err
}

// dealListSpec is the pipeline's list: search, registration dates, and
// its orders (registration, the store's, first).
var dealListSpec = listSpec{
	Path: "/deals", Noun: "deal", Nouns: "deals",
	SearchHint: "Customer, domain or partner", DateLabel: "Registered",
	Cols: []sortCol{{Key: "registered", Label: "Registered", Desc: true}, {Key: "customer", Label: "Customer"},
		{Key: "value", Label: "Value", Desc: true, Num: true}, {Key: "close", Label: "Expected close"}},
	Keep: []string{"source", "status"},
}

// dealSorts are the pipeline's orders other than the newest first.
var dealSorts = map[string]func(a, b domain.Deal) int{
	"customer": func(a, b domain.Deal) int {
		return strings.Compare(strings.ToLower(a.CustomerName), strings.ToLower(b.CustomerName))
	},
	"value": func(a, b domain.Deal) int {
		x, y := deals.Worth(a), deals.Worth(b)
		return cmp.Or(strings.Compare(x.Currency, y.Currency), cmp.Compare(x.Amount, y.Amount))
	},
	"close": func(a, b domain.Deal) int { // a deal without a date after those with one
		if a.ExpectedCloseDate == nil || b.ExpectedCloseDate == nil {
			return cmp.Compare(boolInt(a.ExpectedCloseDate == nil), boolInt(b.ExpectedCloseDate == nil))
		}
		return a.ExpectedCloseDate.Compare(*b.ExpectedCloseDate)
	},
}

func boolInt(b bool) int {
	if b {
		return 1
	}
	return 0
}

// matchingDeals reads the deals of the list's source filter (the newest
// deals.MaxListDeals) and keeps those of its search and dates: what the
// stages count. The search is a prefix of a word of the customer's name,
// its domain or the partner's name ("Direct" for a direct deal).
func (s *Server) matchingDeals(rq *request, lq *listQuery, q url.Values, names map[string]string) (ds []domain.Deal, capped bool, err error) {
	all, capped, err := s.cfg.Deals.Matching(rq.r.Context(), rq.p.OrgID, deals.Filter{Source: q.Get("source"), Status: q.Get("status")})
	if err != nil {
		return nil, false, err
	}
	for _, d := range all {
		party := "Direct"
		if d.PartnerID != "" {
			party = names[d.PartnerID]
		}
		if domain.SearchMatch(lq.Search, d.CustomerName+" "+d.CustomerDomain+" "+party, "") &&
			(lq.From.IsZero() || !d.CreatedAt.Before(lq.From)) && (lq.To.IsZero() || d.CreatedAt.Before(lq.To)) {
			ds = append(ds, d)
		}
	}
	return ds, capped, nil
}

// dealQuery parses the pipeline's query in the organization's time zone.
func (s *Server) dealQuery(rq *request, q url.Values) (*listQuery, error) {
	loc, err := s.orgZone(rq)
	if err != nil {
		return nil, err
	}
	return parseListQuery(q, loc, dealListSpec), nil
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
	if d.List, err = s.dealQuery(rq, q); err != nil {
		return err
	}
	d.Create, d.ActionID, d.Action = create, actionID, action
	d.Return = "/deals"
	if rq.r.URL.RawQuery != "" {
		d.Return += "?" + rq.r.URL.RawQuery
	}
	if !d.List.Valid() {
		return s.render(rq, max(status, http.StatusUnprocessableEntity), "deals", "Deals", "deals", d)
	}
	// Every stage is counted: the stage is filtered here, not in the read.
	sq := cloneQuery(q)
	sq.Del("status")
	all, capped, err := s.matchingDeals(rq, d.List, sq, d.Names)
	if err != nil {
		if !d.List.Form.fail(err, nil) {
			return err
		}
		d.List.Form.Message = filterProblems(d.List.Form)
		return s.render(rq, max(status, http.StatusUnprocessableEntity), "deals", "Deals", "deals", d)
	}
	if capped {
		d.Capped = deals.MaxListDeals
	}
	stages, err := deals.Stages(all)
	if err != nil {
		return err
	}
	stage := q.Get("status")
	for _, t := range stages {
		to := string(t.Status)
		if stage == to {
			to = "" // the current stage's link shows every stage again
		}
		d.Stages = append(d.Stages, stageLink{StageTotal: t, Label: statusLabel(t.Status),
			Href: d.List.link(dealListSpec.Path, map[string]string{"status": to}), Current: stage == string(t.Status)})
	}
	var rows []domain.Deal
	for _, x := range all {
		if stage == "" || string(x.Status) == stage {
			rows = append(rows, x)
		}
	}
	d.List.setCount(len(rows), false)
	// The store's order is the newest first; the oldest first is it
	// reversed. Any other order sorts at most maxSortRows deals, as every
	// list does.
	switch c := dealSorts[d.List.Sort]; {
	case c == nil && !d.List.Desc:
		slices.Reverse(rows)
	case c == nil:
	case len(rows) > maxSortRows:
		d.List.Note = "Sorting by " + strings.ToLower(d.List.Col(d.List.Sort).Label) + " works on at most " + itoa(maxSortRows) +
			" matching deals: narrow the search or the dates. Showing the newest first."
	default:
		slices.SortStableFunc(rows, func(a, b domain.Deal) int {
			if d.List.Desc {
				return c(b, a)
			}
			return c(a, b)
		})
	}
	page := pageOf(rq, d.List, rows)
	s.loadOthers(rq, &d, page...)
	if err := s.loadEarned(rq, &d, page...); err != nil {
		return err
	}
	for _, col := range []struct{ source, title string }{
		{string(domain.DealSourcePartner), "Partner-sourced"}, {string(domain.DealSourceDirect), "Direct"},
	} {
		if src := q.Get("source"); src != "" && src != col.source {
			continue
		}
		c := dealColumn{Source: col.source, Title: col.title}
		for _, x := range page {
			if string(x.Source) == col.source {
				c.Deals = append(c.Deals, x)
			}
		}
		d.Columns = append(d.Columns, c)
	}
	return s.render(rq, status, "deals", "Deals", "deals", d)
}

// dealExport downloads every deal of the pipeline's filters, newest
// first, with its party, stage, values and conflict named.
func (s *Server) dealExport(rq *request) error {
	if s.cfg.Deals == nil {
		return s.renderDeals(rq, http.StatusServiceUnavailable, newForm(nil), "", nil)
	}
	q := rq.r.URL.Query()
	lq, err := s.dealQuery(rq, q)
	if err != nil {
		return err
	}
	if !lq.Valid() {
		rq.r.URL.Path = dealListSpec.Path
		return s.renderDeals(rq, http.StatusUnprocessableEntity, newForm(nil), "", nil)
	}
	_, names, err := s.partnerNames(rq, "")
	if err != nil {
		return err
	}
	rows, _, err := s.matchingDeals(rq, lq, q, names)
	if err != nil {
		return err
	}
	loc, err := s.orgZone(rq)
	if err != nil {
		return err
	}
	day := func(t *time.Time) string {
		if t == nil {
			return ""
		}
		return t.UTC().Format(time.DateOnly)
	}
	party := func(partnerID string) string {
		if partnerID == "" {
			return "Direct"
		}
		return names[partnerID]
	}
	header := []string{"id", "customerName", "customerDomain", "source", "partner", "status", "value", "currency", "wonValue",
		"expectedCloseDate", "exclusiveUntil", "conflictsWith", "conflictsWithCustomer", "conflictsWithParty", "createdAt", "closedAt"}
	all := func(store.Page) ([]domain.Deal, string, error) { return rows, "", nil }
	others := map[string]domain.Deal{}
	return sendListCSV(rq, "deals.csv", header, all, func(x domain.Deal) []string {
		var won, otherCustomer, otherParty string
		if x.WonValue != nil {
			won = csvMoney(x.WonValue)
		}
		if id := x.ConflictsWith; id != "" {
			o, ok := others[id]
			if !ok { // one read per conflicting deal; a deleted one is left unnamed
				if got, gerr := s.cfg.Deals.Get(rq.r.Context(), rq.p.OrgID, id); gerr == nil {
					o, others[id] = got, got
				}
			}
			if o.ID != "" {
				otherCustomer, otherParty = o.CustomerName, party(o.PartnerID)
			}
		}
		closed := ""
		if x.ClosedAt != nil {
			closed = csvTime(*x.ClosedAt, loc)
		}
		return []string{x.ID, x.CustomerName, x.CustomerDomain, string(x.Source), party(x.PartnerID), string(x.Status),
			csvMoney(&x.Value), x.Value.Currency, won, day(x.ExpectedCloseDate), day(x.ExclusiveUntil),
			x.ConflictsWith, otherCustomer, otherParty, csvTime(x.CreatedAt, loc), closed}
	})
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
