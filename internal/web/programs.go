package web

import (
	"net/http"
	"net/url"
	"strings"

	"github.com/partnerloop/partnerloop/internal/analytics"
	"github.com/partnerloop/partnerloop/internal/domain"
	"github.com/partnerloop/partnerloop/internal/programs"
	"github.com/partnerloop/partnerloop/internal/store"
)

// pageSize is the rows of a list page; the store's cursor leads on.
const pageSize = 25

// pager reads ?cursor= and says where the first and next pages are, with
// the list's other filters kept.
type pager struct {
	Cursor    string // this page's cursor ("" on the first page)
	Next      string // URL of the next page ("" on the last)
	FirstPage string // URL of the first page, same filters
}

func listPage(rq *request) store.Page {
	return store.Page{Limit: pageSize, Cursor: rq.r.URL.Query().Get("cursor")}
}

func newPager(rq *request, next string) pager {
	pg := pager{Cursor: rq.r.URL.Query().Get("cursor"), FirstPage: firstPage(rq.r.URL.Path, rq.r.URL.Query(), "cursor")}
	if next != "" {
		q := rq.r.URL.Query()
		q.Set("cursor", next)
		pg.Next = rq.r.URL.Path + "?" + q.Encode()
	}
	return pg
}

// firstPage is path with the query q but without its page parameter.
func firstPage(path string, q url.Values, param string) string {
	q = cloneQuery(q)
	q.Del(param)
	if len(q) == 0 {
		return path
	}
	return path + "?" + q.Encode()
}

type dashboardData struct {
	KPIs     []kpi
	Note     string // why there are no analytics figures
	Period   string
	AsOf     string
	Programs []domain.Program
}

// dashboard is the staff's home: the last 30 days' figures from the
// analytics rollups (exact, however many records), and recent programs.
func (s *Server) dashboard(rq *request) error {
	if rq.p.Role == domain.RolePartner {
		http.Redirect(rq.w, rq.r, "/portal", http.StatusSeeOther)
		return nil
	}
	ctx, org := rq.r.Context(), rq.p.OrgID
	var recent []domain.Program
	active, total := 0, 0
	page := store.Page{Limit: store.MaxLimit}
	for {
		progs, next, err := s.cfg.Programs.List(ctx, org, page)
		if err != nil {
			return err
		}
		for _, p := range progs {
			if p.Status == domain.ProgramActive {
				active++
			}
		}
		total += len(progs)
		if recent == nil {
			recent = progs[:min(5, len(progs))]
		}
		if next == "" {
			break
		}
		page.Cursor = next
	}
	d := dashboardData{Programs: recent}
	programs := kpi{Label: "Active programs", Link: "/programs", Values: []kpiValue{{Value: itoa(active)}}, Hint: "of " + plural(total, "program")}
	d.KPIs = []kpi{programs}
	var sum analytics.Summary
	err := errAnalyticsOff
	if s.cfg.Analytics != nil {
		sum, err = s.cfg.Analytics.Summary(ctx, org, analytics.Query{}, true) // the default range: the last 30 days
	}
	if err != nil {
		if d.Note, err = analyticsNote(err); err != nil {
			return err
		}
	} else {
		d.Period, d.AsOf = periodText(sum.From, sum.To), asOfText(sum.AsOf, sum.TimeZone)
		prev := sum.Previous // set: compare was asked for
		link := func(k kpi, to string) kpi { k.Link = to; return k }
		pendingLink := "/analytics"
		if rq.admin() {
			pendingLink = "/commissions?status=pending"
		}
		d.KPIs = []kpi{
			link(countKPI("Clicks", sum.Clicks, &prev.Clicks), "/analytics"),
			link(countKPI("Referrals", sum.TotalReferrals, &prev.TotalReferrals), "/referrals"),
			link(countKPI("Conversions", sum.Conversions, &prev.Conversions), "/conversions"),
			link(moneyKPI(rq.money(), "Revenue", sum.Revenue, prev.Revenue, true), "/analytics"),
			link(moneyKPI(rq.money(), "Commission pending", sum.CommissionAccrued.Pending, prev.CommissionAccrued.Pending, true), pendingLink),
			programs,
		}
	}
	return s.render(rq, http.StatusOK, "dashboard", "Dashboard", "dashboard", d)
}

type programListData struct {
	Programs []domain.Program
	Pager    pager
}

func (s *Server) programList(rq *request) error {
	ps, next, err := s.cfg.Programs.List(rq.r.Context(), rq.p.OrgID, listPage(rq))
	if err != nil {
		return err
	}
	return s.render(rq, http.StatusOK, "programs", "Programs", "programs", programListData{ps, newPager(rq, next)})
}

type programFormData struct {
	Form    *Form
	Program *domain.Program // nil when creating
	Rule    ruleEditor
}

func (s *Server) renderProgramForm(rq *request, status int, f *Form, p *domain.Program) error {
	title := "New program"
	if p != nil {
		title = "Edit " + p.Name
	}
	cur := f.Get("currency")
	if cur == "" {
		cur = "USD"
	}
	return s.render(rq, status, "program_form", title, "programs",
		programFormData{Form: f, Program: p, Rule: newRuleEditor(f, "commission", false, cur)})
}

func (s *Server) programNew(rq *request) error {
	v := url.Values{}
	v.Set("currency", "USD")
	v.Set("attributionWindowDays", "30")
	v.Set("holdDays", "30")
	v.Set("startsAt", s.now().UTC().Format("2006-01-02"))
	v["qualifyingEvents"] = []string{domain.EventSignup, domain.EventPurchase}
	v.Set("eligibility.newCustomersOnly", "on")
	v.Set("commission.type", domain.RulePercentage)
	v.Set("commission.basis", domain.BasisCount)
	v.Set("commission.period", domain.PeriodMonth)
	v.Set("commission.mode", domain.ModeMarginal)
	return s.renderProgramForm(rq, http.StatusOK, newForm(v), nil)
}

func (s *Server) programCreate(rq *request) error {
	f := newForm(rq.r.PostForm)
	spec, err := programSpec(f)
	var p domain.Program
	if err == nil {
		p, err = s.cfg.Programs.Create(rq.r.Context(), rq.p.OrgID, spec)
	}
	if err != nil {
		if f.fail(err, nil) {
			return s.renderProgramForm(rq, http.StatusUnprocessableEntity, f, nil)
		}
		return err
	}
	return s.redirect(rq, "/programs/"+p.ID, "Program “"+p.Name+"” created as a draft. Activate it to start enrolling referrers.")
}

type programData struct {
	Program   domain.Program
	Referrers []referrerRow
	Pager     pager
	Enrol     *Form
	Partners  []Option
	// Snippet is the landing-page script's URL on this installation.
	Snippet string
}

type referrerRow struct {
	domain.Referrer
	Link string
	// Referrals is the referrer's referral count, on the referrers list
	// ("10,000+" past the cap).
	Referrals string
}

func (s *Server) renderProgram(rq *request, status int, p domain.Program, enrol *Form) error {
	rs, next, err := s.cfg.Programs.ListReferrers(rq.r.Context(), rq.p.OrgID, p.ID, listPage(rq))
	if err != nil {
		return err
	}
	d := programData{Program: p, Pager: newPager(rq, next), Enrol: enrol,
		Snippet: strings.TrimSuffix(s.cfg.Programs.Link(""), "/r/") + "/js/ref.js"}
	for _, r := range rs {
		d.Referrers = append(d.Referrers, referrerRow{Referrer: r, Link: s.cfg.Programs.Link(r.Code)})
	}
	if rq.admin() {
		ps, _, err := s.cfg.Partners.List(rq.r.Context(), rq.p.OrgID, "", store.Page{Limit: 100})
		if err != nil {
			return err
		}
		d.Partners = []Option{{"", "— none —"}}
		for _, pt := range ps {
			d.Partners = append(d.Partners, Option{pt.ID, pt.CompanyName})
		}
	}
	return s.render(rq, status, "program", p.Name, "programs", d)
}

func (s *Server) programShow(rq *request) error {
	p, err := s.cfg.Programs.Get(rq.r.Context(), rq.p.OrgID, rq.r.PathValue("id"))
	if err != nil {
		return err
	}
	return s.renderProgram(rq, http.StatusOK, p, newForm(nil))
}

func (s *Server) programEdit(rq *request) error {
	p, err := s.cfg.Programs.Get(rq.r.Context(), rq.p.OrgID, rq.r.PathValue("id"))
	if err != nil {
		return err
	}
	f := newForm(programValues(p))
	for _, k := range []string{"commission.basis", "commission.period", "commission.mode"} {
		if f.Get(k) == "" {
			f.Values.Set(k, map[string]string{"commission.basis": domain.BasisCount, "commission.period": domain.PeriodMonth, "commission.mode": domain.ModeMarginal}[k])
		}
	}
	return s.renderProgramForm(rq, http.StatusOK, f, &p)
}

func (s *Server) programUpdate(rq *request) error {
	ctx, org, id := rq.r.Context(), rq.p.OrgID, rq.r.PathValue("id")
	f := newForm(rq.r.PostForm)
	p, err := s.cfg.Programs.Update(ctx, org, id, func(spec *domain.ProgramSpec) error {
		next, err := programSpec(f)
		*spec = next
		return err
	})
	if err != nil {
		if f.fail(err, nil) {
			cur, gerr := s.cfg.Programs.Get(ctx, org, id)
			if gerr != nil {
				return gerr
			}
			return s.renderProgramForm(rq, http.StatusUnprocessableEntity, f, &cur)
		}
		return err
	}
	return s.redirect(rq, "/programs/"+p.ID, "Program saved.")
}

func (s *Server) programTransition(rq *request) error {
	to := domain.ProgramStatus(rq.r.PostForm.Get("to"))
	switch to {
	case domain.ProgramActive, domain.ProgramPaused, domain.ProgramArchived:
	default:
		return domain.Errorf(domain.KindInvalid, "invalid_status", "%q is not a status a program can be moved to", to)
	}
	p, err := s.cfg.Programs.Transition(rq.r.Context(), rq.p.OrgID, rq.r.PathValue("id"), to)
	if err != nil {
		if e, ok := domain.AsError(err); ok && (e.Kind == domain.KindConflict || e.Kind == domain.KindInvalid) {
			return s.redirect(rq, "/programs/"+rq.r.PathValue("id"), "Could not change the status: "+errorText(e))
		}
		return err
	}
	return s.redirect(rq, "/programs/"+p.ID, "Program is now "+string(p.Status)+".")
}

func (s *Server) referrerCreate(rq *request) error {
	ctx, org, id := rq.r.Context(), rq.p.OrgID, rq.r.PathValue("id")
	f := newForm(rq.r.PostForm)
	in := programs.ReferrerInput{Email: f.Get("email"), Name: f.Get("name"), Code: f.Get("code")}
	if rq.admin() {
		in.PartnerID = f.Get("partnerId")
	}
	rf, err := s.cfg.Programs.CreateReferrer(ctx, org, id, in)
	if err != nil {
		if f.fail(err, func(field string) bool {
			return field == "email" || field == "name" || field == "code" || field == "partnerId"
		}) {
			p, gerr := s.cfg.Programs.Get(ctx, org, id)
			if gerr != nil {
				return gerr
			}
			return s.renderProgram(rq, http.StatusUnprocessableEntity, p, f)
		}
		return err
	}
	return s.redirect(rq, "/programs/"+id+"#referrers", "Enrolled "+rf.Email+" with code "+rf.Code+".")
}

// names maps IDs to display names for a list page's lookups.
func (s *Server) programNames(rq *request) (map[string]string, []Option, error) {
	ps, _, err := s.cfg.Programs.List(rq.r.Context(), rq.p.OrgID, store.Page{Limit: store.MaxLimit})
	if err != nil {
		return nil, nil, err
	}
	opts, names := choices("All programs", ps, func(p domain.Program) (string, string) { return p.ID, p.Name })
	return names, opts, nil
}

// choices are the options of a filter's select — all (""), then each
// record — and the records' names by ID.
func choices[T any](all string, records []T, idName func(T) (string, string)) ([]Option, map[string]string) {
	opts := []Option{{"", all}}
	names := map[string]string{}
	for _, r := range records {
		id, name := idName(r)
		names[id] = name
		opts = append(opts, Option{id, name})
	}
	return opts, names
}

// conversionRefund records a refund of the conversion, as POST
// /v1/conversions/{id}/refund does: the amount typed (major units), or
// all that is not yet refunded when it is left empty. The commission
// pipeline then reverses or claws back its commissions.
func (s *Server) conversionRefund(rq *request) error {
	if s.cfg.Ledger == nil {
		return errNotFound
	}
	ctx, org, id := rq.r.Context(), rq.p.OrgID, rq.r.PathValue("id")
	f := newForm(rq.r.PostForm)
	back := "/conversions"
	if ret := SafeNext(f.Get("return")); strings.HasPrefix(ret, "/conversions") {
		back = ret
	}
	if u, err := url.Parse(back); err == nil {
		rq.r.URL.RawQuery = u.RawQuery
	}
	conv, err := s.cfg.Tracking.GetConversion(ctx, org, id)
	if err != nil {
		return err
	}
	var amount *domain.MoneyInput
	if raw := strings.TrimSpace(f.Get("amount")); raw != "" {
		currency := conv.RefundedAmount.Currency
		if conv.Amount != nil {
			currency = conv.Amount.Currency
		}
		n, perr := ParseDecimal(raw, domain.CurrencyDecimals(currency))
		if perr != nil {
			f.add("amount", "must be an amount such as "+domain.FormatMajor(2500, currency))
			f.Message = "Please correct the refund amount."
			return s.renderConversions(rq, http.StatusUnprocessableEntity, id, f)
		}
		amount = &domain.MoneyInput{Amount: n, Currency: currency}
	}
	updated, err := s.cfg.Ledger.Refund(ctx, org, id, amount)
	if err != nil {
		if !f.fail(err, func(field string) bool { return field == "amount" }) {
			return err
		}
		return s.renderConversions(rq, errorStatus(err), id, f)
	}
	return s.redirect(rq, back, "Refund recorded: "+rq.money().Format(updated.RefundedAmount)+
		" refunded in all; its commissions are reversed or clawed back.")
}
