package web

// The lists that scale (issue 14.4): referrals, conversions and every
// referrer across programs, each with search, date range, sortable
// columns, the matching count and a CSV export of the active filters —
// the shared machinery of listquery.go on the store's search, date and
// count (store.Match).

import (
	"cmp"
	"errors"
	"net/http"
	"strconv"
	"strings"
	"time"

	"github.com/partnerloop/partnerloop/internal/domain"
	"github.com/partnerloop/partnerloop/internal/store"
)

// lookups names the records a list shows by ID (referrers, referrals,
// partners), reading each once per request.
type lookups struct {
	s         *Server
	rq        *request
	referrers map[string]*domain.Referrer
	referrals map[string]*domain.Referral
	partners  map[string]string
	deals     map[string]string
}

func (s *Server) lookups(rq *request) *lookups {
	return &lookups{s: s, rq: rq, referrers: map[string]*domain.Referrer{}, referrals: map[string]*domain.Referral{},
		partners: map[string]string{}, deals: map[string]string{}}
}

// referrer is the referrer with id (nil: none, or gone).
func (l *lookups) referrer(id string) *domain.Referrer {
	if id == "" {
		return nil
	}
	r, ok := l.referrers[id]
	if !ok {
		if got, err := l.s.cfg.Programs.GetReferrer(l.rq.r.Context(), l.rq.p.OrgID, id); err == nil {
			r = &got
		}
		l.referrers[id] = r
	}
	return r
}

// Referrer is the referrer's label: "CODE · e-mail" (the ID when gone).
func (l *lookups) Referrer(id string) string {
	if r := l.referrer(id); r != nil {
		return r.Code + " · " + r.Email
	}
	return id
}

// Person is who a referrer is: its name, else its e-mail ("" for none or
// gone).
func (l *lookups) Person(id string) string {
	if r := l.referrer(id); r != nil {
		return cmp.Or(r.Name, r.Email)
	}
	return ""
}

// Deal is a deal's customer name ("" for none or gone).
func (l *lookups) Deal(id string) string {
	if id == "" || l.s.cfg.Deals == nil {
		return ""
	}
	n, ok := l.deals[id]
	if !ok {
		if d, err := l.s.cfg.Deals.Get(l.rq.r.Context(), l.rq.p.OrgID, id); err == nil {
			n = d.CustomerName
		}
		l.deals[id] = n
	}
	return n
}

// referral is the referral with id (nil: none, or gone).
func (l *lookups) referral(id string) *domain.Referral {
	if id == "" {
		return nil
	}
	r, ok := l.referrals[id]
	if !ok {
		if got, err := l.s.cfg.Tracking.GetReferral(l.rq.r.Context(), l.rq.p.OrgID, id); err == nil {
			r = &got
		}
		l.referrals[id] = r
	}
	return r
}

// Contact is the referred contact of a referral: its name and e-mail.
func (l *lookups) Contact(referralID string) contact {
	if r := l.referral(referralID); r != nil {
		return contact{Name: r.Name, Email: r.Email}
	}
	return contact{}
}

type contact struct{ Name, Email string }

// Partner is a partner's company name ("" for none; the ID when gone).
func (l *lookups) Partner(id string) string {
	if id == "" {
		return ""
	}
	n, ok := l.partners[id]
	if !ok {
		n = id
		if p, err := l.s.cfg.Partners.Get(l.rq.r.Context(), l.rq.p.OrgID, id); err == nil {
			n = p.CompanyName
		}
		l.partners[id] = n
	}
	return n
}

// listStatus runs a list page's reads (count, then rows) unless the query
// is invalid: problems the form can show (a bad filter, a search that
// matches too much) are on lq.Form and make the status 422; others are
// the error page's.
func listStatus(lq *listQuery, read func() error) (int, error) {
	if !lq.Valid() {
		return http.StatusUnprocessableEntity, nil
	}
	if err := read(); err != nil {
		if !lq.Form.fail(err, func(f string) bool { return f == "q" || f == "status" }) {
			return 0, err
		}
		lq.Total, lq.More = 0, false
		return http.StatusUnprocessableEntity, nil
	}
	return http.StatusOK, nil
}

// exportFailed shows why an export was refused on the list's page: an
// invalid query, or too many rows; other errors are the error page's.
func (s *Server) exportFailed(err error, lq *listQuery, render func(status int) error) error {
	switch {
	case !lq.Valid():
		return render(http.StatusUnprocessableEntity)
	case errors.Is(err, errTooMany):
		lq.Form.Message = exportTooBig(lq)
		return render(http.StatusUnprocessableEntity)
	}
	if lq.Form.fail(err, func(f string) bool { return f == "q" || f == "status" }) {
		return render(http.StatusUnprocessableEntity)
	}
	return err
}

// exportName is an export's file name: the list and the day, in the
// organization's zone.
func exportName(list string, loc *time.Location) string {
	return list + "-" + time.Now().In(loc).Format(time.DateOnly) + ".csv"
}

func lowerCmp(a, b string) int { return cmp.Compare(strings.ToLower(a), strings.ToLower(b)) }

func timeCmp(a, b *time.Time) int {
	switch {
	case a == nil && b == nil:
		return 0
	case a == nil:
		return -1
	case b == nil:
		return 1
	}
	return a.Compare(*b)
}

// --- referrals ------------------------------------------------------------

var referralSpec = listSpec{
	Path: "/referrals", Noun: "referral", Nouns: "referrals", DateLabel: "Referred",
	SearchHint: "Start of the contact's name or e-mail",
	Cols: []sortCol{{Key: "referred", Label: "Referred", Desc: true}, {Key: "contact", Label: "Contact"},
		{Key: "program", Label: "Program"}, {Key: "status", Label: "Status"}, {Key: "converted", Label: "Converted", Desc: true}},
	Keep: []string{"programId", "status", "referrerId"},
}

type referralListData struct {
	List      *listQuery
	Programs  []Option
	Statuses  []Option
	Names     map[string]string
	Look      *lookups
	Referrer  *domain.Referrer // the referrer the list is narrowed to
	Referrals []domain.Referral
}

func (s *Server) referralQuery(rq *request) (*listQuery, store.ReferralFilter, *time.Location, error) {
	loc, err := s.orgZone(rq)
	if err != nil {
		return nil, store.ReferralFilter{}, nil, err
	}
	q := rq.r.URL.Query()
	lq := parseListQuery(q, loc, referralSpec)
	return lq, store.ReferralFilter{ProgramID: q.Get("programId"), ReferrerID: q.Get("referrerId"), Status: q.Get("status"),
		Match: store.Match{Search: lq.Search, From: lq.From, To: lq.To}}, loc, nil
}

func (s *Server) referralFetch(rq *request, f store.ReferralFilter) listFetch[domain.Referral] {
	return func(p store.Page) ([]domain.Referral, string, error) {
		return s.cfg.Tracking.ListReferrals(rq.r.Context(), rq.p.OrgID, f, p)
	}
}

// referralList is Referrals: search by the contact's name or e-mail,
// program, status and referrer, referred-date range, sortable columns,
// the count, the CSV export.
func (s *Server) referralList(rq *request) error {
	lq, f, _, err := s.referralQuery(rq)
	if err != nil {
		return err
	}
	return s.renderReferrals(rq, lq, f, 0)
}

func (s *Server) renderReferrals(rq *request, lq *listQuery, f store.ReferralFilter, status int) error {
	names, opts, err := s.programNames(rq)
	if err != nil {
		return err
	}
	d := referralListData{List: lq, Programs: opts, Names: names, Look: s.lookups(rq),
		Statuses: []Option{{"", "Any status"}, {domain.ReferralPending, "Pending"}, {domain.ReferralConverted, "Converted"},
			{domain.ReferralExpired, "Expired"}, {domain.ReferralIneligible, "Ineligible"}}}
	d.Referrer = d.Look.referrer(f.ReferrerID)
	listed, err := listStatus(lq, func() error {
		n, more, err := s.cfg.Tracking.CountReferrals(rq.r.Context(), rq.p.OrgID, f)
		if err != nil {
			return err
		}
		lq.setCount(n, more)
		d.Referrals, err = listRows(rq, lq, s.referralFetch(rq, f), map[string]func(a, b domain.Referral) int{
			"contact":   func(a, b domain.Referral) int { return lowerCmp(a.Name+"\x00"+a.Email, b.Name+"\x00"+b.Email) },
			"program":   func(a, b domain.Referral) int { return lowerCmp(names[a.ProgramID], names[b.ProgramID]) },
			"status":    func(a, b domain.Referral) int { return cmp.Compare(a.Status, b.Status) },
			"converted": func(a, b domain.Referral) int { return timeCmp(a.ConvertedAt, b.ConvertedAt) },
			"referred":  func(a, b domain.Referral) int { return a.CreatedAt.Compare(b.CreatedAt) },
		})
		return err
	})
	if err != nil {
		return err
	}
	if status == 0 {
		status = listed
	}
	return s.render(rq, status, "referrals", "Referrals", "referrals", d)
}

// referralExport downloads every referral matching the list's filters.
func (s *Server) referralExport(rq *request) error {
	lq, f, loc, err := s.referralQuery(rq)
	if err != nil {
		return err
	}
	if lq.Valid() {
		names, _, nerr := s.programNames(rq)
		if nerr != nil {
			return nerr
		}
		look := s.lookups(rq)
		err = sendListCSV(rq, exportName("referrals", loc),
			[]string{"id", "contact_name", "contact_email", "program", "referrer_code", "referrer_email", "partner", "status", "reason", "external_id", "referred_at", "converted_at"},
			s.referralFetch(rq, f), func(r domain.Referral) []string {
				code, email := "", ""
				if rf := look.referrer(r.ReferrerID); rf != nil {
					code, email = rf.Code, rf.Email
				}
				converted := ""
				if r.ConvertedAt != nil {
					converted = csvTime(*r.ConvertedAt, loc)
				}
				return []string{r.ID, r.Name, r.Email, names[r.ProgramID], code, email, look.Partner(r.PartnerID), r.Status, r.Reason,
					r.ExternalID, csvTime(r.CreatedAt, loc), converted}
			})
		if err == nil {
			return nil
		}
	}
	return s.exportFailed(err, lq, func(status int) error { return s.renderReferrals(rq, lq, f, status) })
}

// --- conversions ----------------------------------------------------------

var conversionSpec = listSpec{
	Path: "/conversions", Noun: "conversion", Nouns: "conversions", DateLabel: "Occurred",
	SearchHint: "Start of the referred contact's name or e-mail",
	Cols: []sortCol{{Key: "occurred", Label: "Occurred", Desc: true}, {Key: "event", Label: "Event"}, {Key: "program", Label: "Program"},
		{Key: "amount", Label: "Amount", Desc: true, Num: true}, {Key: "refunded", Label: "Refunded", Desc: true, Num: true}},
	Keep: []string{"programId", "referralId"},
}

type conversionListData struct {
	List        *listQuery
	Programs    []Option
	Names       map[string]string
	Look        *lookups
	Conversions []domain.Conversion
	// CanRefund: the viewer may refund (admins, as the API's refund route).
	CanRefund bool
	// RefundID and Refund are the refund form that failed, re-shown.
	RefundID string
	Refund   *Form
	// Return is the list as shown: where a refund comes back to.
	Return string
}

// RefundForm is the refund form of conversion id: the failed one, or blank.
func (d conversionListData) RefundForm(id string) *Form {
	if id == d.RefundID && d.Refund != nil {
		return d.Refund
	}
	return newForm(nil)
}

func (s *Server) conversionQuery(rq *request) (*listQuery, store.ConversionFilter, *time.Location, error) {
	loc, err := s.orgZone(rq)
	if err != nil {
		return nil, store.ConversionFilter{}, nil, err
	}
	q := rq.r.URL.Query()
	lq := parseListQuery(q, loc, conversionSpec)
	return lq, store.ConversionFilter{ProgramID: q.Get("programId"), ReferralID: q.Get("referralId"),
		Match: store.Match{Search: lq.Search, From: lq.From, To: lq.To}}, loc, nil
}

func (s *Server) conversionFetch(rq *request, f store.ConversionFilter) listFetch[domain.Conversion] {
	return func(p store.Page) ([]domain.Conversion, string, error) {
		return s.cfg.Tracking.ListConversions(rq.r.Context(), rq.p.OrgID, f, p)
	}
}

// minorOf is an optional amount's minor units for sorting (none: -1).
func minorOf(m *domain.Money) int64 {
	if m == nil {
		return -1
	}
	return m.Amount
}

func (s *Server) conversionList(rq *request) error {
	return s.renderConversions(rq, 0, "", nil)
}

// renderConversions is Conversions: search by the referred contact,
// program, referral, occurred-date range, sortable columns, the count, the
// CSV export, and each conversion's refund form (admins); a refund that
// failed (refundID, refund) is shown again with its problem. status 0:
// the list's own (200, or 422 for a bad filter).
func (s *Server) renderConversions(rq *request, status int, refundID string, refund *Form) error {
	lq, f, _, err := s.conversionQuery(rq)
	if err != nil {
		return err
	}
	return s.renderConversionList(rq, lq, f, status, refundID, refund)
}

func (s *Server) renderConversionList(rq *request, lq *listQuery, f store.ConversionFilter, status int, refundID string, refund *Form) error {
	names, opts, err := s.programNames(rq)
	if err != nil {
		return err
	}
	d := conversionListData{List: lq, Programs: opts, Names: names, Look: s.lookups(rq),
		CanRefund: rq.p.Role == domain.RoleAdmin && s.cfg.Ledger != nil, RefundID: refundID, Refund: refund, Return: "/conversions"}
	if rq.r.URL.RawQuery != "" {
		d.Return += "?" + rq.r.URL.RawQuery
	}
	listed, err := listStatus(lq, func() error {
		n, more, err := s.cfg.Tracking.CountConversions(rq.r.Context(), rq.p.OrgID, f)
		if err != nil {
			return err
		}
		lq.setCount(n, more)
		d.Conversions, err = listRows(rq, lq, s.conversionFetch(rq, f), map[string]func(a, b domain.Conversion) int{
			"event":    func(a, b domain.Conversion) int { return cmp.Compare(a.Event, b.Event) },
			"program":  func(a, b domain.Conversion) int { return lowerCmp(names[a.ProgramID], names[b.ProgramID]) },
			"amount":   func(a, b domain.Conversion) int { return cmp.Compare(minorOf(a.Amount), minorOf(b.Amount)) },
			"refunded": func(a, b domain.Conversion) int { return cmp.Compare(a.RefundedAmount.Amount, b.RefundedAmount.Amount) },
			"occurred": func(a, b domain.Conversion) int { return a.OccurredAt.Compare(b.OccurredAt) },
		})
		return err
	})
	if err != nil {
		return err
	}
	if status == 0 {
		status = listed
	}
	return s.render(rq, status, "conversions", "Conversions", "conversions", d)
}

// conversionExport downloads every conversion matching the list's filters.
func (s *Server) conversionExport(rq *request) error {
	lq, f, loc, err := s.conversionQuery(rq)
	if err != nil {
		return err
	}
	if lq.Valid() {
		names, _, nerr := s.programNames(rq)
		if nerr != nil {
			return nerr
		}
		look := s.lookups(rq)
		err = sendListCSV(rq, exportName("conversions", loc),
			[]string{"id", "event", "program", "contact_name", "contact_email", "referrer_code", "referrer_email", "partner",
				"amount", "refunded", "currency", "external_id", "occurred_at", "referral_id"},
			s.conversionFetch(rq, f), func(c domain.Conversion) []string {
				who := look.Contact(c.ReferralID)
				code, email := "", ""
				if rf := look.referrer(c.ReferrerID); rf != nil {
					code, email = rf.Code, rf.Email
				}
				currency := c.RefundedAmount.Currency
				if c.Amount != nil {
					currency = c.Amount.Currency
				}
				refunded := ""
				if c.RefundedAt != nil || c.RefundedAmount.Amount != 0 {
					refunded = csvMoney(&c.RefundedAmount)
				}
				return []string{c.ID, c.Event, names[c.ProgramID], who.Name, who.Email, code, email, look.Partner(c.PartnerID),
					csvMoney(c.Amount), refunded, currency, c.ExternalID, csvTime(c.OccurredAt, loc), c.ReferralID}
			})
		if err == nil {
			return nil
		}
	}
	return s.exportFailed(err, lq, func(status int) error { return s.renderConversionList(rq, lq, f, status, "", nil) })
}

// --- referrers --------------------------------------------------------------

var referrerSpec = listSpec{
	Path: "/referrers", Noun: "referrer", Nouns: "referrers", DateLabel: "Enrolled",
	SearchHint: "Start of the referrer's name or e-mail",
	Cols: []sortCol{{Key: "enrolled", Label: "Enrolled", Desc: true}, {Key: "name", Label: "Referrer"}, {Key: "code", Label: "Code"},
		{Key: "program", Label: "Program"}, {Key: "clicks", Label: "Clicks", Desc: true, Num: true}},
	Keep: []string{"programId"},
}

type referrerListData struct {
	List      *listQuery
	Programs  []Option
	Names     map[string]string
	Look      *lookups
	Referrers []referrerRow
}

func (s *Server) referrerQuery(rq *request) (*listQuery, store.ReferrerFilter, *time.Location, error) {
	loc, err := s.orgZone(rq)
	if err != nil {
		return nil, store.ReferrerFilter{}, nil, err
	}
	q := rq.r.URL.Query()
	lq := parseListQuery(q, loc, referrerSpec)
	return lq, store.ReferrerFilter{ProgramID: q.Get("programId"), Match: store.Match{Search: lq.Search, From: lq.From, To: lq.To}}, loc, nil
}

func (s *Server) referrerFetch(rq *request, f store.ReferrerFilter) listFetch[domain.Referrer] {
	return func(p store.Page) ([]domain.Referrer, string, error) {
		return s.cfg.Programs.ListReferrersMatching(rq.r.Context(), rq.p.OrgID, f, p)
	}
}

// referralCount is a referrer's referral count as the list shows it.
func (s *Server) referralCount(rq *request, referrerID string) (string, error) {
	n, more, err := s.cfg.Tracking.CountReferrals(rq.r.Context(), rq.p.OrgID, store.ReferralFilter{ReferrerID: referrerID})
	if err != nil {
		return "", err
	}
	if more {
		return itoa(n) + "+", nil
	}
	return itoa(n), nil
}

// referrerList is Referrers: every referrer across programs with its
// program, partner, clicks and referrals (a link to them), searchable by
// name or e-mail, by program and enrolment date, sortable, counted,
// exported.
func (s *Server) referrerList(rq *request) error {
	lq, f, _, err := s.referrerQuery(rq)
	if err != nil {
		return err
	}
	return s.renderReferrers(rq, lq, f, 0)
}

func (s *Server) renderReferrers(rq *request, lq *listQuery, f store.ReferrerFilter, status int) error {
	names, opts, err := s.programNames(rq)
	if err != nil {
		return err
	}
	d := referrerListData{List: lq, Programs: opts, Names: names, Look: s.lookups(rq)}
	listed, err := listStatus(lq, func() error {
		n, more, err := s.cfg.Programs.CountReferrers(rq.r.Context(), rq.p.OrgID, f)
		if err != nil {
			return err
		}
		lq.setCount(n, more)
		refs, err := listRows(rq, lq, s.referrerFetch(rq, f), map[string]func(a, b domain.Referrer) int{
			"name":     func(a, b domain.Referrer) int { return lowerCmp(a.Name+"\x00"+a.Email, b.Name+"\x00"+b.Email) },
			"code":     func(a, b domain.Referrer) int { return lowerCmp(a.Code, b.Code) },
			"program":  func(a, b domain.Referrer) int { return lowerCmp(names[a.ProgramID], names[b.ProgramID]) },
			"clicks":   func(a, b domain.Referrer) int { return cmp.Compare(a.Clicks, b.Clicks) },
			"enrolled": func(a, b domain.Referrer) int { return a.CreatedAt.Compare(b.CreatedAt) },
		})
		if err != nil {
			return err
		}
		// One count per row shown (a page of 25): an indexed count on
		// either store.
		for _, r := range refs {
			n, err := s.referralCount(rq, r.ID)
			if err != nil {
				return err
			}
			d.Referrers = append(d.Referrers, referrerRow{Referrer: r, Link: s.cfg.Programs.Link(r.Code), Referrals: n})
		}
		return nil
	})
	if err != nil {
		return err
	}
	if status == 0 {
		status = listed
	}
	return s.render(rq, status, "referrers", "Referrers", "referrers", d)
}

// referrerExport downloads every referrer matching the list's filters.
func (s *Server) referrerExport(rq *request) error {
	lq, f, loc, err := s.referrerQuery(rq)
	if err != nil {
		return err
	}
	if lq.Valid() {
		names, _, nerr := s.programNames(rq)
		if nerr != nil {
			return nerr
		}
		look := s.lookups(rq)
		err = sendListCSV(rq, exportName("referrers", loc),
			[]string{"id", "name", "email", "code", "link", "program", "partner", "clicks", "enrolled_at"},
			s.referrerFetch(rq, f), func(r domain.Referrer) []string {
				return []string{r.ID, r.Name, r.Email, r.Code, s.cfg.Programs.Link(r.Code), names[r.ProgramID], look.Partner(r.PartnerID),
					strconv.FormatInt(r.Clicks, 10), csvTime(r.CreatedAt, loc)}
			})
		if err == nil {
			return nil
		}
	}
	return s.exportFailed(err, lq, func(status int) error { return s.renderReferrers(rq, lq, f, status) })
}
