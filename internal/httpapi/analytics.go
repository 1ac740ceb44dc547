package httpapi

import (
	"io"
	"mime"
	"net/http"
	"strconv"
	"strings"
	"time"

	"github.com/partnerloop/partnerloop/internal/analytics"
	"github.com/partnerloop/partnerloop/internal/domain"
	"github.com/partnerloop/partnerloop/internal/download"
	"github.com/partnerloop/partnerloop/internal/store"
)

// GroupAnalytics is the route group of the staff's analytics reports.
const GroupAnalytics = "analytics"

// withAnalytics answers 503 while the store keeps no analytics rollups.
func (a *API) withAnalytics(h handlerFunc) handlerFunc {
	return whenAvailable(func() bool { return a.Analytics != nil }, "analytics_unavailable",
		"analytics are not available on this installation's store", h)
}

// analyticsQuery reads the filters every analytics route takes.
func analyticsQuery(r *http.Request) analytics.Query {
	q := r.URL.Query()
	return analytics.Query{From: q.Get("from"), To: q.Get("to"), Filter: analytics.Filter{
		ProgramID: q.Get("programId"), PartnerTierID: q.Get("partnerTierId"), PartnerID: q.Get("partnerId"), ReferrerID: q.Get("referrerId"),
	}}
}

// compareParam reads compare: "previous", or absent.
func compareParam(r *http.Request) (bool, error) {
	switch v := r.URL.Query().Get("compare"); v {
	case "":
		return false, nil
	case "previous":
		return true, nil
	}
	return false, invalidQuery("compare", "must be previous")
}

// topLimit reads limit for the ranked lists: 1 to store.MaxLimit, default
// store.DefaultLimit.
func topLimit(r *http.Request) (int, error) {
	s := r.URL.Query().Get("limit")
	if s == "" {
		return store.DefaultLimit, nil
	}
	n, err := strconv.Atoi(s)
	if err != nil || n < 1 || n > store.MaxLimit {
		return 0, invalidQuery("limit", "must be an integer from 1 to "+strconv.Itoa(store.MaxLimit))
	}
	return n, nil
}

func intervalParam(r *http.Request) string {
	if v := r.URL.Query().Get("interval"); v != "" {
		return v
	}
	return analytics.IntervalDay
}

// wantsCSV: the .csv route, or an Accept header preferring text/csv.
func wantsCSV(r *http.Request) bool {
	if strings.HasSuffix(r.URL.Path, ".csv") {
		return true
	}
	for _, part := range strings.Split(r.Header.Get("Accept"), ",") {
		if mt, _, err := mime.ParseMediaType(strings.TrimSpace(part)); err == nil && mt == "text/csv" {
			return true
		}
	}
	return false
}

// report sends v as JSON, or as CSV (written by csv) when asked for.
func report(w http.ResponseWriter, r *http.Request, name string, v any, csv func(io.Writer) error) error {
	if !wantsCSV(r) {
		return writeJSON(w, http.StatusOK, v)
	}
	return download.CSV(w, name+"-"+time.Now().UTC().Format("20060102")+".csv", csv)
}

func (a *API) analyticsSummary(w http.ResponseWriter, r *http.Request, c *Caller) error {
	compare, err := compareParam(r)
	if err != nil {
		return err
	}
	s, err := a.Analytics.Summary(r.Context(), c.OrgID, analyticsQuery(r), compare)
	if err != nil {
		return err
	}
	return report(w, r, "analytics-summary", s, func(out io.Writer) error { return analytics.WriteSummaryCSV(out, s) })
}

func (a *API) analyticsTimeseries(w http.ResponseWriter, r *http.Request, c *Caller) error {
	s, err := a.Analytics.Timeseries(r.Context(), c.OrgID, analyticsQuery(r), intervalParam(r))
	if err != nil {
		return err
	}
	return report(w, r, "analytics-timeseries", s, func(out io.Writer) error { return analytics.WriteSeriesCSV(out, s) })
}

func (a *API) analyticsTopReferrers(w http.ResponseWriter, r *http.Request, c *Caller) error {
	limit, err := topLimit(r)
	if err != nil {
		return err
	}
	q := r.URL.Query()
	l, err := a.Analytics.TopReferrers(r.Context(), c.OrgID, analyticsQuery(r), q.Get("by"), q.Get("currency"), limit)
	if err != nil {
		return err
	}
	return report(w, r, "analytics-top-referrers", l, func(out io.Writer) error { return analytics.WriteReferrersCSV(out, l) })
}

func (a *API) analyticsPartners(w http.ResponseWriter, r *http.Request, c *Caller) error {
	limit, err := topLimit(r)
	if err != nil {
		return err
	}
	q := r.URL.Query()
	l, err := a.Analytics.Partners(r.Context(), c.OrgID, analyticsQuery(r), q.Get("by"), q.Get("currency"), limit)
	if err != nil {
		return err
	}
	return report(w, r, "analytics-partners", l, func(out io.Writer) error { return analytics.WritePartnersCSV(out, l) })
}

// portalAnalyticsQuery reads what a partner may filter its own analytics
// by; partner, tier and referrer filters are ignored (the partner is
// always the caller's).
func portalAnalyticsQuery(r *http.Request) analytics.PortalQuery {
	q := r.URL.Query()
	return analytics.PortalQuery{From: q.Get("from"), To: q.Get("to"), ProgramID: q.Get("programId")}
}

func (a *API) portalAnalyticsSummary(w http.ResponseWriter, r *http.Request, c *Caller) error {
	compare, err := compareParam(r)
	if err != nil {
		return err
	}
	if _, err := a.Portal.Partner(r.Context(), c.OrgID, c.PartnerID); err != nil {
		return err
	}
	s, err := a.Analytics.PortalSummary(r.Context(), c.OrgID, c.PartnerID, portalAnalyticsQuery(r), compare)
	if err != nil {
		return err
	}
	return report(w, r, "my-analytics-summary", s, func(out io.Writer) error { return analytics.WriteSummaryCSV(out, s) })
}

func (a *API) portalAnalyticsTimeseries(w http.ResponseWriter, r *http.Request, c *Caller) error {
	if _, err := a.Portal.Partner(r.Context(), c.OrgID, c.PartnerID); err != nil {
		return err
	}
	s, err := a.Analytics.PortalTimeseries(r.Context(), c.OrgID, c.PartnerID, portalAnalyticsQuery(r), intervalParam(r))
	if err != nil {
		return err
	}
	return report(w, r, "my-analytics-timeseries", s, func(out io.Writer) error { return analytics.WriteSeriesCSV(out, s) })
}

// organizationView is the organization as the API shows it.
type organizationView struct {
	ID             string    `json:"id"`
	Name           string    `json:"name"`
	TimeZone       string    `json:"timeZone"`
	Locale         string    `json:"locale"`
	BrandColor     string    `json:"brandColor"`
	MailSenderName string    `json:"mailSenderName"`
	CreatedAt      time.Time `json:"createdAt"`
	UpdatedAt      time.Time `json:"updatedAt,omitzero"`
}

func orgView(o domain.Organization) organizationView {
	return organizationView{ID: o.ID, Name: o.Name, TimeZone: o.Zone(), Locale: o.Lang(), BrandColor: o.BrandColor,
		MailSenderName: o.MailSenderName, CreatedAt: o.CreatedAt, UpdatedAt: o.UpdatedAt}
}

func (a *API) getOrganization(w http.ResponseWriter, r *http.Request, c *Caller) error {
	o, err := a.Identity.Organization(r.Context(), *c)
	if err != nil {
		return err
	}
	return writeJSON(w, http.StatusOK, orgView(o))
}

func (a *API) patchOrganization(w http.ResponseWriter, r *http.Request, c *Caller) error {
	var in struct {
		Name           *string `json:"name"`
		TimeZone       *string `json:"timeZone"`
		Locale         *string `json:"locale"`
		BrandColor     *string `json:"brandColor"`
		MailSenderName *string `json:"mailSenderName"`
	}
	if err := decode(w, r, &in); err != nil {
		return err
	}
	o, err := a.Identity.UpdateOrganization(r.Context(), *c, domain.OrganizationPatch{Name: in.Name, TimeZone: in.TimeZone,
		Locale: in.Locale, BrandColor: in.BrandColor, MailSenderName: in.MailSenderName})
	if err != nil {
		return err
	}
	return writeJSON(w, http.StatusOK, orgView(o))
}
