package web

import (
	"io"
	"net/http"
	"net/url"

	"github.com/partnerloop/partnerloop/internal/domain"
	"github.com/partnerloop/partnerloop/internal/payouts"
)

// Payout runs (admin) and the portal's payouts page: the same service as
// /v1/payout-runs and /v1/portal/payouts.

func (s *Server) payoutsOff(rq *request) error {
	return s.errorPage(rq, http.StatusServiceUnavailable, "Payouts are not available",
		"Payout runs are not available on this installation's store yet.")
}

type payoutListData struct {
	Runs  []domain.PayoutRun
	Pager pager
	Form  *Form
	Open  *domain.PayoutRun
}

func (s *Server) renderPayoutRuns(rq *request, status int, f *Form) error {
	ctx, org := rq.r.Context(), rq.p.OrgID
	runs, next, err := s.cfg.Payouts.List(ctx, org, listPage(rq))
	if err != nil {
		return err
	}
	open, err := s.cfg.Payouts.Unsettled(ctx, org)
	if err != nil {
		return err
	}
	return s.render(rq, status, "payouts", "Payouts", "payouts", payoutListData{Runs: runs, Pager: newPager(rq, next), Form: f, Open: open})
}

// payoutList is the admin's list of payout runs with the button that
// creates the next one.
func (s *Server) payoutList(rq *request) error {
	if s.cfg.Payouts == nil {
		return s.payoutsOff(rq)
	}
	return s.renderPayoutRuns(rq, http.StatusOK, newForm(nil))
}

// payoutCreate gathers the approved commissions into a new run.
func (s *Server) payoutCreate(rq *request) error {
	if s.cfg.Payouts == nil {
		return s.payoutsOff(rq)
	}
	run, err := s.cfg.Payouts.Create(rq.r.Context(), rq.p.OrgID, rq.p.ID())
	if err != nil {
		f := newForm(nil)
		if !f.fail(err, nil) {
			return err
		}
		return s.renderPayoutRuns(rq, errorStatus(err), f)
	}
	return s.redirect(rq, "/payouts/"+run.ID, "Payout run created: "+plural(run.CommissionCount, "commission")+" for "+plural(len(run.Lines), "payee")+".")
}

// payoutLineView is one line of a run as the admin sees it: the payout
// details masked (the CSV has them whole).
type payoutLineView struct {
	domain.PayoutLine
	Payee   payouts.Payee
	Method  string
	Account string
	TaxID   string
}

type payoutRunData struct {
	Run   domain.PayoutRun
	Lines []payoutLineView
	Form  *Form
}

func (s *Server) renderPayoutRun(rq *request, status int, id string, f *Form) error {
	ctx := rq.r.Context()
	run, err := s.cfg.Payouts.Get(ctx, rq.p.OrgID, id)
	if err != nil {
		return err
	}
	payees, err := s.cfg.Payouts.Payees(ctx, run)
	if err != nil {
		return err
	}
	d := payoutRunData{Run: run, Form: f}
	for i, l := range run.Lines {
		v := payoutLineView{PayoutLine: l, Payee: payees[i]}
		if p := payees[i].Details; p != nil {
			m := p.Masked()
			v.Method, v.Account, v.TaxID = payouts.MethodLabel(m.Method), m.AccountReference, m.TaxID
		}
		d.Lines = append(d.Lines, v)
	}
	return s.render(rq, status, "payout", "Payout run", "payouts", d)
}

func (s *Server) payoutShow(rq *request) error {
	if s.cfg.Payouts == nil {
		return s.payoutsOff(rq)
	}
	return s.renderPayoutRun(rq, http.StatusOK, rq.r.PathValue("id"), newForm(nil))
}

// payoutAction marks a run paid (with the reference typed) or cancels it.
func (s *Server) payoutAction(rq *request) error {
	if s.cfg.Payouts == nil {
		return s.payoutsOff(rq)
	}
	ctx, org, actor, id := rq.r.Context(), rq.p.OrgID, rq.p.ID(), rq.r.PathValue("id")
	f := newForm(rq.r.PostForm)
	var err error
	var notice string
	switch rq.r.PathValue("action") {
	case "mark-paid":
		_, err = s.cfg.Payouts.MarkPaid(ctx, org, actor, id, f.Get("payoutReference"))
		notice = "Payout run marked paid; its commissions are paid."
	case "cancel":
		_, err = s.cfg.Payouts.Cancel(ctx, org, actor, id)
		notice = "Payout run cancelled; its commissions stay approved for the next run."
	default:
		return errNotFound
	}
	if err != nil {
		if e, ok := domain.AsError(err); ok && e.Kind == domain.KindNotFound {
			return err
		}
		if !f.fail(err, func(field string) bool { return field == "payoutReference" }) {
			return err
		}
		return s.renderPayoutRun(rq, errorStatus(err), id, f)
	}
	return s.redirect(rq, "/payouts/"+url.PathEscape(id), notice)
}

// payoutExport downloads the run's CSV for accounts payable, the same
// file as GET /v1/payout-runs/{id}.csv.
func (s *Server) payoutExport(rq *request) error {
	if s.cfg.Payouts == nil {
		return s.payoutsOff(rq)
	}
	ctx := rq.r.Context()
	run, err := s.cfg.Payouts.Get(ctx, rq.p.OrgID, rq.r.PathValue("id"))
	if err != nil {
		return err
	}
	payees, err := s.cfg.Payouts.Payees(ctx, run)
	if err != nil {
		return err
	}
	return sendCSV(rq, payouts.Filename(run), func(out io.Writer) error { return payouts.WriteCSV(out, run, payees) })
}

type portalPayoutsData struct {
	Payouts payouts.PartnerPayouts
	Details *domain.PayoutDetails
	Method  string
	Form    *Form
	Methods []Option
}

func (s *Server) renderPortalPayouts(rq *request, status int, f *Form) error {
	ctx, org, pid := rq.r.Context(), rq.p.OrgID, rq.p.PartnerID
	p, err := s.cfg.Payouts.ForPartner(ctx, org, pid)
	if err != nil {
		return err
	}
	d, err := s.cfg.Payouts.Details(ctx, org, pid)
	if err != nil {
		return err
	}
	data := portalPayoutsData{Payouts: p, Details: d, Form: f}
	if d != nil {
		data.Method = payouts.MethodLabel(d.Method)
		if f.Get("method") == "" {
			f.Values.Set("method", d.Method)
		}
	}
	for _, m := range domain.PayoutMethods {
		data.Methods = append(data.Methods, Option{m, payouts.MethodLabel(m)})
	}
	return s.render(rq, status, "portal_payouts", "Payouts", "portal-payouts", data)
}

// portalPayouts shows the partner's next and past payouts and the form
// for its payout details (shown masked, never filled in with them).
func (s *Server) portalPayouts(rq *request) error {
	if s.cfg.Payouts == nil || s.cfg.Portal == nil {
		return s.payoutsOff(rq)
	}
	return s.renderPortalPayouts(rq, http.StatusOK, newForm(url.Values{}))
}

func (s *Server) portalPayoutDetails(rq *request) error {
	if s.cfg.Payouts == nil || s.cfg.Portal == nil {
		return s.payoutsOff(rq)
	}
	f := newForm(rq.r.PostForm)
	_, err := s.cfg.Payouts.SetDetails(rq.r.Context(), rq.p.OrgID, rq.p.PartnerID, payouts.DetailsInput{
		Method: f.Get("method"), AccountReference: f.Get("accountReference"), TaxID: f.Get("taxId"),
	})
	if err != nil {
		if !f.fail(err, nil) {
			return err
		}
		return s.renderPortalPayouts(rq, errorStatus(err), f)
	}
	return s.redirect(rq, "/portal/payouts", "Payout details saved.")
}

// plural is "1 payee", "2 payees".
func plural(n int, noun string) string {
	if n == 1 {
		return "1 " + noun
	}
	return itoa(n) + " " + noun + "s"
}
