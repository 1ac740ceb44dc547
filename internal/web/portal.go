package web

import (
	"net/http"
	"net/url"
	"strings"
	"time"

	"github.com/partnerloop/partnerloop/internal/analytics"
	"github.com/partnerloop/partnerloop/internal/commission"
	"github.com/partnerloop/partnerloop/internal/deals"
	"github.com/partnerloop/partnerloop/internal/domain"
	"github.com/partnerloop/partnerloop/internal/portal"
	"github.com/partnerloop/partnerloop/internal/store"
)

// The partner portal. Every page reads the partner from the session
// (rq.p.PartnerID), never from the URL or the form: a partner sees only
// its own records, and another partner's record is "not found".

// portalOff is the page shown while the store lacks the portal's queries.
func (s *Server) portalOff(rq *request) error {
	return s.errorPage(rq, http.StatusServiceUnavailable, "The portal is not available",
		"The partner portal is not available on this installation yet.")
}

type portalHomeData struct {
	Summary portal.Summary
	// The last 30 days from the analytics rollups: the partner's own
	// figures against the 30 days before, and a chart of each.
	KPIs   []kpi
	Series seriesView
	Period string
	AsOf   string
	Note   string // why there are no such figures
}

// portalHome is the partner's dashboard: earnings and activity counts,
// and its own last 30 days.
func (s *Server) portalHome(rq *request) error {
	if s.cfg.Portal == nil {
		return s.portalOff(rq)
	}
	ctx, org, pid := rq.r.Context(), rq.p.OrgID, rq.p.PartnerID
	sum, err := s.cfg.Portal.Summary(ctx, org, pid)
	if err != nil {
		return err
	}
	d := portalHomeData{Summary: sum}
	var recent analytics.Summary
	var series analytics.Series
	err = errAnalyticsOff
	if s.cfg.Analytics != nil {
		// The default range: the last 30 days of the organization's zone.
		recent, err = s.cfg.Analytics.PortalSummary(ctx, org, pid, analytics.PortalQuery{}, true)
		if err == nil {
			series, err = s.cfg.Analytics.PortalTimeseries(ctx, org, pid, analytics.PortalQuery{}, analytics.IntervalDay)
		}
	}
	if err != nil {
		if d.Note, err = analyticsNote(err); err != nil {
			return err
		}
	} else {
		p := recent.Previous // set: compare was asked for
		d.KPIs = []kpi{
			countKPI("Clicks", recent.Clicks, &p.Clicks),
			countKPI("Referrals", recent.TotalReferrals, &p.TotalReferrals),
			countKPI("Conversions", recent.Conversions, &p.Conversions),
			moneyKPI(rq.money(), "Earnings", recent.Commission, p.Commission, true),
		}
		d.Series = newSeriesView(rq.money(), "portal-chart", series, earningsFigure)
		d.Period, d.AsOf = periodText(recent.From, recent.To), asOfText(recent.AsOf, recent.TimeZone)
	}
	return s.render(rq, http.StatusOK, "portal", "Overview", "portal", d)
}

// shareLink is a portal link with its share targets, built here so that
// every part is escaped for where it goes.
type shareLink struct {
	portal.Link
	Mailto, X, LinkedIn string
}

func shareLinks(l portal.Link) shareLink {
	text := "Check out " + l.ProgramName
	mailto := "mailto:?subject=" + mailtoEscape(text) + "&body=" + mailtoEscape(text+": "+l.Link)
	x := "https://twitter.com/intent/tweet?" + url.Values{"text": {text}, "url": {l.Link}}.Encode()
	li := "https://www.linkedin.com/sharing/share-offsite/?" + url.Values{"url": {l.Link}}.Encode()
	return shareLink{Link: l, Mailto: mailto, X: x, LinkedIn: li}
}

// mailtoEscape percent-encodes a mailto: header value (RFC 6068): like a
// query value, but a space is %20 — mail programs keep a "+" as a plus.
func mailtoEscape(s string) string {
	return strings.ReplaceAll(url.QueryEscape(s), "+", "%20")
}

type portalLinksData struct {
	Links []shareLink
	Pager pager
}

func (s *Server) portalLinks(rq *request) error {
	if s.cfg.Portal == nil {
		return s.portalOff(rq)
	}
	ls, next, err := s.cfg.Portal.Links(rq.r.Context(), rq.p.OrgID, rq.p.PartnerID, listPage(rq))
	if err != nil {
		return err
	}
	d := portalLinksData{Pager: newPager(rq, next)}
	for _, l := range ls {
		d.Links = append(d.Links, shareLinks(l))
	}
	return s.render(rq, http.StatusOK, "portal_links", "Your links", "portal-links", d)
}

type portalReferralsData struct {
	Filter    *Form
	Statuses  []Option
	Referrals []portal.Referral
	Pager     pager
}

func (s *Server) portalReferrals(rq *request) error {
	if s.cfg.Portal == nil {
		return s.portalOff(rq)
	}
	q := rq.r.URL.Query()
	d := portalReferralsData{Filter: newForm(q), Statuses: []Option{{"", "Any status"},
		{domain.ReferralPending, "Pending"}, {domain.ReferralConverted, "Converted"},
		{domain.ReferralExpired, "Expired"}, {domain.ReferralIneligible, "Ineligible"}}}
	rs, next, err := s.cfg.Portal.Referrals(rq.r.Context(), rq.p.OrgID, rq.p.PartnerID, q.Get("status"), listPage(rq))
	if err != nil && !d.Filter.fail(err, nil) {
		return err
	}
	d.Referrals, d.Pager = rs, newPager(rq, next)
	status := http.StatusOK
	if err != nil {
		status = http.StatusUnprocessableEntity
	}
	return s.render(rq, status, "portal_referrals", "Referred contacts", "portal-referrals", d)
}

type portalDealsData struct {
	Deals    []portal.Deal
	Pager    pager
	Form     *Form
	Currency string
	Deal     *portal.Deal
}

func (s *Server) renderPortalDeals(rq *request, status int, f *Form) error {
	if s.cfg.Portal == nil || s.cfg.Deals == nil {
		return s.portalOff(rq)
	}
	ctx, org, pid := rq.r.Context(), rq.p.OrgID, rq.p.PartnerID
	if _, err := s.cfg.Portal.Partner(ctx, org, pid); err != nil {
		return err
	}
	ds, next, err := s.cfg.Deals.List(ctx, org, deals.Filter{Source: string(domain.DealSourcePartner), PartnerID: pid}, listPage(rq))
	if err != nil {
		return err
	}
	return s.render(rq, status, "portal_deals", "Your deals", "portal-deals", portalDealsData{
		Deals: portal.DealViews(ds), Pager: newPager(rq, next), Form: f, Currency: s.cfg.Deals.Currency(),
	})
}

// portalDeals lists the partner's deals, with the registration form.
func (s *Server) portalDeals(rq *request) error {
	return s.renderPortalDeals(rq, http.StatusOK, newForm(nil))
}

// portalRegisterDeal registers a deal for the session's partner, as POST
// /v1/portal/deals does.
func (s *Server) portalRegisterDeal(rq *request) error {
	if s.cfg.Portal == nil || s.cfg.Deals == nil {
		return s.portalOff(rq)
	}
	ctx, org, pid := rq.r.Context(), rq.p.OrgID, rq.p.PartnerID
	if _, err := s.cfg.Portal.Partner(ctx, org, pid); err != nil {
		return err
	}
	f := newForm(rq.r.PostForm)
	d, err := s.registerDeal(rq, f, pid)
	if err != nil {
		return s.formFailed(rq, f, err, func(status int) error { return s.renderPortalDeals(rq, status, f) })
	}
	notice := "Deal for " + d.CustomerName + " registered."
	if d.Status == domain.DealConflict {
		notice = "Deal for " + d.CustomerName + " registered; it is under review."
	}
	return s.redirect(rq, "/portal/deals", notice)
}

// portalDeal is one of the partner's deals; anyone else's is not found.
func (s *Server) portalDeal(rq *request) error {
	if s.cfg.Portal == nil || s.cfg.Deals == nil {
		return s.portalOff(rq)
	}
	ctx, org, pid := rq.r.Context(), rq.p.OrgID, rq.p.PartnerID
	if _, err := s.cfg.Portal.Partner(ctx, org, pid); err != nil {
		return err
	}
	d, err := s.cfg.Deals.Get(ctx, org, rq.r.PathValue("id"))
	if err != nil {
		return err
	}
	if d.PartnerID == "" || d.PartnerID != pid {
		return errNotFound
	}
	v := portal.DealView(d)
	return s.render(rq, http.StatusOK, "portal_deal", d.CustomerName, "portal-deals", portalDealsData{Deal: &v})
}

type month struct{ Period, Label string }

type portalEarningsData struct {
	Summary     portal.Summary
	Commissions []commission.Commission
	Programs    map[string]string
	Look        *lookups // names the deals of deal commissions
	Pager       pager
	Months      []month
}

// statementMonths are the months offered for statements: this one and the
// eleven before it, but none before the month the partner joined.
func statementMonths(now, joined time.Time) []month {
	first := time.Date(now.Year(), now.Month(), 1, 0, 0, 0, 0, time.UTC)
	j := joined.UTC()
	joinedMonth := time.Date(j.Year(), j.Month(), 1, 0, 0, 0, 0, time.UTC)
	var out []month
	for i := range 12 {
		m := first.AddDate(0, -i, 0)
		if m.Before(joinedMonth) {
			break
		}
		out = append(out, month{m.Format("2006-01"), m.Format("January 2006")})
	}
	return out
}

// portalEarnings shows the partner's earnings, commissions and statements.
func (s *Server) portalEarnings(rq *request) error {
	if s.cfg.Portal == nil {
		return s.portalOff(rq)
	}
	ctx, org, pid := rq.r.Context(), rq.p.OrgID, rq.p.PartnerID
	sum, err := s.cfg.Portal.Summary(ctx, org, pid)
	if err != nil {
		return err
	}
	cs, next, err := s.cfg.Portal.Commissions(ctx, org, pid, store.CommissionFilter{}, listPage(rq))
	if err != nil {
		return err
	}
	partner, err := s.cfg.Partners.Get(ctx, org, pid)
	if err != nil {
		return err
	}
	d := portalEarningsData{Summary: sum, Commissions: cs, Pager: newPager(rq, next), Months: statementMonths(s.now().UTC(), partner.CreatedAt),
		Programs: map[string]string{}, Look: s.lookups(rq)}
	for _, c := range cs {
		if _, ok := d.Programs[c.ProgramID]; !ok {
			if pr, err := s.cfg.Programs.Get(ctx, org, c.ProgramID); err == nil {
				d.Programs[c.ProgramID] = pr.Name
			}
		}
	}
	return s.render(rq, http.StatusOK, "portal_earnings", "Earnings", "portal-earnings", d)
}

// portalStatement downloads a month's statement (YYYY-MM.csv or .pdf),
// the same file as GET /v1/portal/statements/{period}.
func (s *Server) portalStatement(rq *request) error {
	if s.cfg.Portal == nil {
		return s.portalOff(rq)
	}
	period, ext, ok := portal.ParseStatementFile(rq.r.PathValue("file"))
	if !ok {
		return errNotFound
	}
	st, err := s.cfg.Portal.Statement(rq.r.Context(), rq.p.OrgID, rq.p.PartnerID, period)
	if err != nil {
		if e, ok := domain.AsError(err); ok && (e.Kind == domain.KindInvalid || e.Kind == domain.KindMalformed) {
			return errNotFound
		}
		return err
	}
	return portal.SendStatement(rq.w, st, ext)
}
