// Package portal is the service behind the partner portal (/v1/portal/*):
// a signed-in partner's own links, referred contacts, commissions, summary
// and monthly statements. Every method takes the partner's ID from the
// caller's identity (never from the request) and reads only records of that
// partner in the caller's organization.
package portal

import (
	"context"
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"slices"
	"strings"
	"time"

	"github.com/partnerloop/partnerloop/internal/commission"
	"github.com/partnerloop/partnerloop/internal/domain"
	"github.com/partnerloop/partnerloop/internal/ledger"
	"github.com/partnerloop/partnerloop/internal/store"
)

// Store is what the portal reads (both store adapters satisfy it).
type Store interface {
	GetOrganization(ctx context.Context, id string) (domain.Organization, error)
	GetPartner(ctx context.Context, orgID, id string) (domain.Partner, error)
	GetTier(ctx context.Context, orgID, id string) (domain.PartnerTier, error)
	GetProgram(ctx context.Context, orgID, id string) (domain.Program, error)
	ListReferrals(ctx context.Context, orgID string, f store.ReferralFilter, p store.Page) ([]domain.Referral, string, error)
	store.PartnerReferrers
	ListCommissions(ctx context.Context, orgID string, f store.CommissionFilter, p store.Page) ([]commission.Commission, string, error)
	ListAudit(ctx context.Context, orgID, commissionID string) ([]commission.AuditEntry, error)
	ListDeals(ctx context.Context, orgID string, f store.DealFilter, p store.Page) ([]domain.Deal, string, error)
	GetConversion(ctx context.Context, orgID, id string) (domain.Conversion, error)
	GetReferral(ctx context.Context, orgID, id string) (domain.Referral, error)
}

// Service answers the portal's questions.
type Service struct {
	st   Store
	now  domain.Clock
	link func(code string) string
}

// New returns the portal service; link builds a referrer's shareable link
// from its code (programs.Service.Link).
func New(st Store, now domain.Clock, link func(code string) string) *Service {
	return &Service{st: st, now: now, link: link}
}

// maxScan bounds the records one summary or statement reads, so that a
// request's cost stays bounded; beyond it the answer is refused (422)
// rather than silently partial.
const maxScan = 50000

var errTooLarge = domain.Errorf(domain.KindInvalid, "too_large",
	"this partner has more records than the portal can total in one request; ask the program's admin for an export")

// Partner loads the caller's partner: a partner user whose partner no
// longer exists (or is not in the caller's organization) sees 404, and a
// user without a partner 403.
func (s *Service) Partner(ctx context.Context, orgID, partnerID string) (domain.Partner, error) {
	return s.partner(ctx, orgID, partnerID)
}

func (s *Service) partner(ctx context.Context, orgID, partnerID string) (domain.Partner, error) {
	if partnerID == "" {
		return domain.Partner{}, domain.Errorf(domain.KindForbidden, "no_partner", "your account is not linked to a partner")
	}
	p, err := s.st.GetPartner(ctx, orgID, partnerID)
	if errors.Is(err, store.ErrNotFound) || (err == nil && p.OrgID != orgID) {
		return domain.Partner{}, domain.NotFound("partner")
	}
	return p, err
}

// all pages through a list to its end.
func all[T any](ctx context.Context, list func(store.Page) ([]T, string, error)) ([]T, error) {
	var out []T
	page := store.Page{Limit: store.MaxLimit}
	for {
		items, next, err := list(page)
		if err != nil {
			return nil, err
		}
		out = append(out, items...)
		if len(out) > maxScan {
			return nil, errTooLarge
		}
		if next == "" || next == page.Cursor {
			return out, nil
		}
		page.Cursor = next
		if err := ctx.Err(); err != nil {
			return nil, err
		}
	}
}

func (s *Service) referrers(ctx context.Context, orgID, partnerID string) ([]domain.Referrer, error) {
	return all(ctx, func(p store.Page) ([]domain.Referrer, string, error) {
		return s.st.ListReferrersByPartner(ctx, orgID, partnerID, p)
	})
}

// programs returns the names and statuses of the given programs; a program
// that cannot be read is left out (its ID still identifies it).
func (s *Service) programs(ctx context.Context, orgID string, ids []string) (map[string]domain.Program, error) {
	out := map[string]domain.Program{}
	for _, id := range ids {
		if _, ok := out[id]; ok || id == "" {
			continue
		}
		p, err := s.st.GetProgram(ctx, orgID, id)
		if errors.Is(err, store.ErrNotFound) {
			continue
		}
		if err != nil {
			return nil, err
		}
		out[id] = p
	}
	return out, nil
}

// Link is one of the partner's referral links.
type Link struct {
	ReferrerID    string               `json:"referrerId"`
	ProgramID     string               `json:"programId"`
	ProgramName   string               `json:"programName"`
	ProgramStatus domain.ProgramStatus `json:"programStatus"`
	Code          string               `json:"code"`
	Link          string               `json:"link"`
	Clicks        int64                `json:"clicks"`
	CreatedAt     time.Time            `json:"createdAt"`
}

// Links pages through the partner's links across programs, newest first.
func (s *Service) Links(ctx context.Context, orgID, partnerID string, page store.Page) ([]Link, string, error) {
	if _, err := s.partner(ctx, orgID, partnerID); err != nil {
		return nil, "", err
	}
	rs, next, err := s.st.ListReferrersByPartner(ctx, orgID, partnerID, page.Clamp())
	if err != nil {
		return nil, "", err
	}
	ids := make([]string, len(rs))
	for i, r := range rs {
		ids[i] = r.ProgramID
	}
	progs, err := s.programs(ctx, orgID, ids)
	if err != nil {
		return nil, "", err
	}
	out := make([]Link, len(rs))
	for i, r := range rs {
		p := progs[r.ProgramID]
		out[i] = Link{ReferrerID: r.ID, ProgramID: r.ProgramID, ProgramName: p.Name, ProgramStatus: p.Status,
			Code: r.Code, Link: s.link(r.Code), Clicks: r.Clicks, CreatedAt: r.CreatedAt}
	}
	return out, next, nil
}

// Referral is a contact referred through one of the partner's links, as
// the partner sees it: the address masked (MaskEmail), no name and no
// external ID — the partner tracks progress, the organization owns the
// customer relationship.
type Referral struct {
	ID          string     `json:"id"`
	ProgramID   string     `json:"programId"`
	ReferrerID  string     `json:"referrerId"`
	Email       string     `json:"email"`
	Status      string     `json:"status"`
	Reason      string     `json:"reason"`
	CreatedAt   time.Time  `json:"createdAt"`
	ConvertedAt *time.Time `json:"convertedAt"`
}

// MaskEmail keeps an address's first character and its domain:
// "jane@example.com" → "j***@example.com". Anything without an "@" is
// masked whole.
func MaskEmail(e string) string {
	if e == "" {
		return ""
	}
	at := strings.LastIndexByte(e, '@')
	if at <= 0 {
		return "***"
	}
	r := []rune(e[:at])
	return string(r[0]) + "***" + e[at:]
}

// referralStatuses are the statuses a referral list may be filtered by.
var referralStatuses = []string{domain.ReferralPending, domain.ReferralConverted, domain.ReferralExpired, domain.ReferralIneligible}

// referralCursor is the portal's cursor over the referrals of several
// referrers: the referrer being read (the partner's referrers in their
// newest-first order) and the store's cursor inside its referrals.
type referralCursor struct {
	R string `json:"r"`
	C string `json:"c,omitempty"`
}

func encodeReferralCursor(c referralCursor) string {
	b, _ := json.Marshal(c)
	return base64.RawURLEncoding.EncodeToString(b)
}

// Referrals pages through the contacts referred through the partner's
// links: referrer by referrer (newest referrer first), each referrer's
// referrals newest first. The cursor names the referrer and the position
// inside its referrals, so no referral is skipped or repeated across pages.
func (s *Service) Referrals(ctx context.Context, orgID, partnerID, status string, page store.Page) ([]Referral, string, error) {
	if status != "" && !slices.Contains(referralStatuses, status) {
		return nil, "", &domain.Error{Kind: domain.KindInvalid, Code: "validation_failed", Message: "the query is not valid",
			Fields: []domain.FieldError{{Field: "status", Message: "must be pending, converted, expired or ineligible"}}}
	}
	if _, err := s.partner(ctx, orgID, partnerID); err != nil {
		return nil, "", err
	}
	page = page.Clamp()
	rs, err := s.referrers(ctx, orgID, partnerID)
	if err != nil {
		return nil, "", err
	}
	i, inner := 0, ""
	if page.Cursor != "" {
		var c referralCursor
		b, err := base64.RawURLEncoding.DecodeString(page.Cursor)
		if err != nil || json.Unmarshal(b, &c) != nil {
			return nil, "", store.ErrBadCursor
		}
		i = slices.IndexFunc(rs, func(r domain.Referrer) bool { return r.ID == c.R })
		if i < 0 {
			return nil, "", store.ErrBadCursor
		}
		inner = c.C
	}
	out := []Referral{}
	for ; i < len(rs); i, inner = i+1, "" {
		items, next, err := s.st.ListReferrals(ctx, orgID, store.ReferralFilter{ReferrerID: rs[i].ID, Status: status},
			store.Page{Limit: page.Limit - len(out), Cursor: inner})
		if err != nil {
			return nil, "", err
		}
		for _, r := range items {
			out = append(out, Referral{ID: r.ID, ProgramID: r.ProgramID, ReferrerID: r.ReferrerID, Email: MaskEmail(r.Email),
				Status: r.Status, Reason: r.Reason, CreatedAt: r.CreatedAt, ConvertedAt: r.ConvertedAt})
		}
		if next != "" {
			return out, encodeReferralCursor(referralCursor{R: rs[i].ID, C: next}), nil
		}
		if len(out) >= page.Limit {
			if i+1 < len(rs) {
				return out, encodeReferralCursor(referralCursor{R: rs[i+1].ID}), nil
			}
			return out, "", nil
		}
	}
	return out, "", nil
}

// Commissions pages through the partner's ledger entries, newest first.
// f's partner is always the caller's; its referrer, program, status and
// date bounds narrow the list.
func (s *Service) Commissions(ctx context.Context, orgID, partnerID string, f store.CommissionFilter, page store.Page) ([]commission.Commission, string, error) {
	if _, err := s.partner(ctx, orgID, partnerID); err != nil {
		return nil, "", err
	}
	f.PartnerID = partnerID
	if err := ledger.ValidateFilter(f); err != nil {
		return nil, "", err
	}
	return s.st.ListCommissions(ctx, orgID, f, page.Clamp())
}

// Summary is the portal's landing page.
type Summary struct {
	Partner struct {
		ID          string `json:"id"`
		CompanyName string `json:"companyName"`
		TierID      string `json:"tierId"`
		TierName    string `json:"tierName"`
	} `json:"partner"`
	Links     int            `json:"links"`
	Clicks    int64          `json:"clicks"`
	Referrals map[string]int `json:"referrals"` // total and per status
	// Deals counts the partner's deals, in total and per status; WonValue
	// sums the value of its won deals, one Money per currency.
	Deals    map[string]int `json:"deals"`
	WonValue []domain.Money `json:"wonValue"`
	// Conversions counts the conversions that earned the partner a
	// commission (each once, whatever its refunds).
	Conversions int `json:"conversions"`
	// Earnings sums the partner's ledger per status, one Money per
	// currency each; clawbacks net against the status they are in.
	// Rejected and reversed entries earn nothing and are left out.
	Earnings struct {
		Pending  []domain.Money `json:"pending"`
		Approved []domain.Money `json:"approved"`
		Paid     []domain.Money `json:"paid"`
	} `json:"earnings"`
	AsOf time.Time `json:"asOf"`
}

// Summary totals the partner's activity.
func (s *Service) Summary(ctx context.Context, orgID, partnerID string) (Summary, error) {
	var out Summary
	p, err := s.partner(ctx, orgID, partnerID)
	if err != nil {
		return out, err
	}
	out.AsOf = s.now().UTC()
	out.Partner.ID, out.Partner.CompanyName, out.Partner.TierID = p.ID, p.CompanyName, p.TierID
	if t, err := s.st.GetTier(ctx, orgID, p.TierID); err == nil {
		out.Partner.TierName = t.Name
	} else if !errors.Is(err, store.ErrNotFound) {
		return out, err
	}

	rs, err := s.referrers(ctx, orgID, partnerID)
	if err != nil {
		return out, err
	}
	out.Links = len(rs)
	out.Referrals = map[string]int{"total": 0}
	for _, st := range referralStatuses {
		out.Referrals[st] = 0
	}
	scanned := 0
	for _, r := range rs {
		out.Clicks += r.Clicks
		refs, err := all(ctx, func(pg store.Page) ([]domain.Referral, string, error) {
			return s.st.ListReferrals(ctx, orgID, store.ReferralFilter{ReferrerID: r.ID}, pg)
		})
		if err != nil {
			return out, err
		}
		if scanned += len(refs); scanned > maxScan {
			return out, errTooLarge
		}
		for _, ref := range refs {
			out.Referrals["total"]++
			out.Referrals[ref.Status]++
		}
	}

	ds, err := all(ctx, func(pg store.Page) ([]domain.Deal, string, error) {
		return s.st.ListDeals(ctx, orgID, store.DealFilter{PartnerID: partnerID, Source: string(domain.DealSourcePartner)}, pg)
	})
	if err != nil {
		return out, err
	}
	if scanned += len(ds); scanned > maxScan {
		return out, errTooLarge
	}
	out.Deals = map[string]int{"total": len(ds)}
	for _, st := range []domain.DealStatus{domain.DealRegistered, domain.DealConflict, domain.DealApproved,
		domain.DealRejected, domain.DealWon, domain.DealLost, domain.DealExpired} {
		out.Deals[string(st)] = 0
	}
	var won domain.Totals
	for _, d := range ds {
		out.Deals[string(d.Status)]++
		if d.Status == domain.DealWon && d.WonValue != nil {
			won.Add(*d.WonValue)
		}
	}
	if out.WonValue, err = won.Money(); err != nil {
		return out, fmt.Errorf("portal: partner %s: won deals: %w", partnerID, err)
	}

	entries, err := all(ctx, func(pg store.Page) ([]commission.Commission, string, error) {
		return s.st.ListCommissions(ctx, orgID, store.CommissionFilter{PartnerID: partnerID}, pg)
	})
	if err != nil {
		return out, err
	}
	conversions := map[string]bool{}
	sums := map[commission.Status]*domain.Totals{}
	for _, st := range []commission.Status{commission.StatusPending, commission.StatusApproved, commission.StatusPaid} {
		sums[st] = &domain.Totals{}
	}
	for _, c := range entries {
		if c.Kind == commission.KindCommission && c.ConversionID != "" {
			conversions[c.ConversionID] = true
		}
		if t := sums[c.Status]; t != nil {
			t.Add(c.Amount)
		}
	}
	out.Conversions = len(conversions)
	for _, e := range []struct {
		status commission.Status
		dst    *[]domain.Money
	}{
		{commission.StatusPending, &out.Earnings.Pending},
		{commission.StatusApproved, &out.Earnings.Approved},
		{commission.StatusPaid, &out.Earnings.Paid},
	} {
		if *e.dst, err = sums[e.status].Money(); err != nil {
			return out, fmt.Errorf("portal: partner %s: %s earnings: %w", partnerID, e.status, err)
		}
	}
	return out, nil
}

// Statement computes the partner's statement of the month period
// ("YYYY-MM"). An ill-formed month is 404 (no such statement); a month that
// has not begun is 422.
func (s *Service) Statement(ctx context.Context, orgID, partnerID, period string) (Statement, error) {
	per, err := ParsePeriod(period)
	if err != nil {
		return Statement{}, domain.Errorf(domain.KindNotFound, "not_found", "no statement %q: %s", period, err.Error())
	}
	now := s.now().UTC()
	if !per.Start().Before(now) {
		return Statement{}, &domain.Error{Kind: domain.KindInvalid, Code: "period_in_future", Message: "the month " + per.String() + " has not begun",
			Fields: []domain.FieldError{{Field: "period", Message: "must be the current month or an earlier one"}}}
	}
	p, err := s.partner(ctx, orgID, partnerID)
	if err != nil {
		return Statement{}, err
	}
	org, err := s.st.GetOrganization(ctx, orgID)
	if err != nil {
		return Statement{}, err
	}
	cs, err := all(ctx, func(pg store.Page) ([]commission.Commission, string, error) {
		return s.st.ListCommissions(ctx, orgID, store.CommissionFilter{PartnerID: partnerID, To: per.End()}, pg)
	})
	if err != nil {
		return Statement{}, err
	}
	entries := make([]Entry, 0, len(cs))
	var programIDs []string
	for _, c := range cs {
		e := Entry{Commission: c}
		// An entry unchanged since before the period needs no audit trail:
		// its creation and last change say all (see history).
		if !c.UpdatedAt.Before(per.Start()) {
			if e.Audit, err = s.st.ListAudit(ctx, orgID, c.ID); err != nil {
				return Statement{}, err
			}
		}
		entries = append(entries, e)
		programIDs = append(programIDs, c.ProgramID)
	}
	progs, err := s.programs(ctx, orgID, programIDs)
	if err != nil {
		return Statement{}, err
	}
	names := map[string]string{}
	for id, pr := range progs {
		names[id] = pr.Name
	}
	sections, err := Compute(per, entries, names)
	if err != nil {
		return Statement{}, fmt.Errorf("portal: partner %s, statement %s: %w", p.ID, per, err)
	}
	if err := s.nameCustomers(ctx, orgID, partnerID, sections); err != nil {
		return Statement{}, err
	}
	return Statement{
		Organization: org.Name, Locale: org.Lang(), TimeZone: org.Zone(), PartnerID: p.ID, Partner: p.CompanyName, Period: per, AsOf: now,
		Sections: sections, Logo: s.logo(ctx, org),
	}, nil
}

// logo is the organization's logo in effect, or nil when it has none or
// it cannot be read (a statement is issued without it rather than not at
// all).
func (s *Service) logo(ctx context.Context, org domain.Organization) *Logo {
	ls, ok := s.st.(store.Logos)
	if !ok || org.LogoVersion == "" {
		return nil
	}
	l, err := ls.GetLogo(ctx, org.ID)
	if err != nil || l.Version != org.LogoVersion {
		return nil
	}
	return &Logo{ContentType: l.ContentType, Data: l.Data}
}

// nameCustomers sets each line's Customer: the deal's customer, or the
// referred contact of the conversion (its name, else its masked address —
// the portal never shows a contact's whole address).
func (s *Service) nameCustomers(ctx context.Context, orgID, partnerID string, sections []Section) error {
	deals := map[string]string{}
	for i := range sections {
		for j := range sections[i].Lines {
			l := &sections[i].Lines[j]
			switch {
			case l.DealID != "":
				if len(deals) == 0 {
					ds, err := all(ctx, func(pg store.Page) ([]domain.Deal, string, error) {
						return s.st.ListDeals(ctx, orgID, store.DealFilter{PartnerID: partnerID}, pg)
					})
					if err != nil {
						return err
					}
					for _, d := range ds {
						deals[d.ID] = d.CustomerName
					}
				}
				l.Customer = deals[l.DealID]
			case l.ConversionID != "":
				c, err := s.st.GetConversion(ctx, orgID, l.ConversionID)
				if errors.Is(err, store.ErrNotFound) {
					continue
				}
				if err != nil {
					return err
				}
				r, err := s.st.GetReferral(ctx, orgID, c.ReferralID)
				if errors.Is(err, store.ErrNotFound) {
					continue
				}
				if err != nil {
					return err
				}
				l.Customer = r.Name
				if l.Customer == "" {
					l.Customer = MaskEmail(r.Email)
				}
			}
		}
	}
	return nil
}
