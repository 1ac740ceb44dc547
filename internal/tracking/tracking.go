// Package tracking records what happens to referral links: clicks through
// the redirect, referred contacts (referrals) and their conversions.
package tracking

import (
	"context"
	"errors"
	"fmt"
	"net/url"
	"strings"
	"time"

	"github.com/partnerloop/partnerloop/internal/domain"
	"github.com/partnerloop/partnerloop/internal/ratelimit"
	"github.com/partnerloop/partnerloop/internal/store"
)

// ClickWindow is how long repeat clicks by one visitor count once.
const ClickWindow = time.Hour

// Service records clicks, referrals and conversions.
type Service struct {
	store store.Store
	now   domain.Clock
	ids   domain.IDs
	salts *salts
	// redirects limits counting per address in this process (no store
	// round trip on the redirect); ClicksPerAddress, kept by the store, is
	// the limit that holds across processes.
	redirects *ratelimit.Local
	lookups   lookups
}

// New returns a tracking service.
func New(s store.Store, now domain.Clock, ids domain.IDs) *Service {
	return &Service{store: s, now: now, ids: ids, salts: &salts{store: s},
		redirects: ratelimit.NewLocal(now, CountedRedirectsPerAddress, RedirectWindow, maxLimitedAddresses)}
}

// Visitor describes who followed a link. It is hashed, never stored as is.
type Visitor struct {
	Addr      string
	UserAgent string
	Referer   string
}

// Redirect is where a followed link goes.
type Redirect struct {
	Target       string
	Code         string
	CookieMaxAge time.Duration
	At           time.Time
	Counted      bool
}

// ErrLinkInactive is returned for unknown codes and for codes of programs
// that are not live; the redirect shows one "not active" page for both.
var ErrLinkInactive = domain.Errorf(domain.KindNotFound, "link_inactive", "this referral link is not active")

// Follow resolves a code to its program's landing page and records a click.
// The target always comes from the program, never from the request, so the
// redirect cannot be turned into an open redirect.
func (s *Service) Follow(ctx context.Context, code string, v Visitor, count bool) (Redirect, error) {
	if !domain.ValidVanityCode(code) {
		return Redirect{}, ErrLinkInactive
	}
	ref, err := s.referrerByCode(ctx, code)
	if errors.Is(err, store.ErrNotFound) {
		return Redirect{}, ErrLinkInactive
	}
	if err != nil {
		return Redirect{}, err
	}
	prog, err := s.program(ctx, ref.OrgID, ref.ProgramID)
	if errors.Is(err, store.ErrNotFound) {
		return Redirect{}, ErrLinkInactive
	}
	if err != nil {
		return Redirect{}, err
	}
	now := s.now()
	if !prog.Live(now) {
		return Redirect{}, ErrLinkInactive
	}
	target, err := landingWithRef(prog.LandingURL, ref.Code)
	if err != nil {
		return Redirect{}, err
	}
	red := Redirect{Target: target, Code: ref.Code, At: now, CookieMaxAge: time.Duration(prog.AttributionWindowDays) * 24 * time.Hour}
	if count && !IsBot(v.UserAgent) && s.redirects.Allow(sourceOf(v.Addr)) {
		k, err := s.keys(ctx, ref.Code, v, now)
		if err != nil {
			return Redirect{}, err
		}
		c := domain.Click{
			ID: s.ids("clk"), OrgID: ref.OrgID, ProgramID: ref.ProgramID, ReferrerID: ref.ID, Code: ref.Code,
			PartnerID: ref.PartnerID, VisitorHash: k.hash, RefererHost: refererHost(v.Referer), At: now,
		}
		red.Counted, err = s.store.RecordClick(ctx, c, k.limits)
		if err != nil {
			return Redirect{}, err
		}
	}
	return red, nil
}

// landingWithRef adds ref=<code> to the landing URL's query, replacing any
// ref already there. It edits the raw query so that every other parameter
// reaches the landing page exactly as the program wrote it (order, bare
// flags, and values Go's parser would reject).
func landingWithRef(landing, code string) (string, error) {
	u, err := url.Parse(landing)
	if err != nil {
		return "", err
	}
	var kept []string
	if u.RawQuery != "" {
		for _, pair := range strings.Split(u.RawQuery, "&") {
			if name, _, _ := strings.Cut(pair, "="); name != "ref" {
				kept = append(kept, pair)
			}
		}
	}
	u.RawQuery = strings.Join(append(kept, "ref="+url.QueryEscape(code)), "&")
	return u.String(), nil
}

func refererHost(ref string) string {
	u, err := url.Parse(ref)
	if err != nil || len(u.Host) > 255 {
		return ""
	}
	return strings.ToLower(u.Hostname())
}

// ReferralInput is a referred contact submitted by the organization.
type ReferralInput struct {
	Code       string
	Email      string
	Name       string
	ExternalID string
}

// CreateReferral records a referred contact. created is false when the
// externalId was seen before and the original referral is returned.
// Ineligible contacts are kept with a reason: they count as submitted.
func (s *Service) CreateReferral(ctx context.Context, orgID string, in ReferralInput) (ref domain.Referral, created bool, err error) {
	in.Email = domain.NormalizeEmail(in.Email)
	in.Name = strings.TrimSpace(in.Name)
	var v domain.Validation
	v.Check(strings.TrimSpace(in.Code) != "", "code", "is required")
	v.Check(domain.ValidEmail(in.Email), "email", "must be a valid email address")
	v.Check(len(in.Name) <= 200, "name", "must be at most 200 characters")
	v.Check(len(in.ExternalID) <= 200, "externalId", "must be at most 200 characters")
	if err := v.Err(); err != nil {
		return ref, false, err
	}
	if in.ExternalID != "" {
		if r, err := s.store.GetReferralByExternalID(ctx, orgID, in.ExternalID); err == nil {
			return r, false, nil
		}
	}
	referrer, prog, err := s.referrerAndProgram(ctx, orgID, in.Code)
	if err != nil {
		return ref, false, err
	}
	now := s.now()
	if err := prog.NotLiveError(now); err != nil {
		return ref, false, err
	}
	// One read of the address's referrals answers both questions: is it
	// already referred in this program, and is it an existing customer?
	others, err := s.store.ReferralsByEmail(ctx, orgID, in.Email)
	if err != nil {
		return ref, false, err
	}
	if dup, ok := inProgram(others, prog.ID); ok {
		return ref, false, referralExists(dup)
	}
	ref = s.newReferral(prog, referrer, in, now, others)
	if err := s.store.CreateReferral(ctx, ref); err != nil {
		if !errors.Is(err, store.ErrConflict) {
			return ref, false, err
		}
		// Lost a race: either the same externalId (answer with the
		// original) or the same contact in this program.
		if in.ExternalID != "" {
			if r, err := s.store.GetReferralByExternalID(ctx, orgID, in.ExternalID); err == nil {
				return r, false, nil
			}
		}
		if again, rerr := s.store.ReferralsByEmail(ctx, orgID, in.Email); rerr == nil {
			if dup, ok := inProgram(again, prog.ID); ok {
				return ref, false, referralExists(dup)
			}
		}
		return ref, false, err
	}
	return ref, true, nil
}

// newReferral builds a referral and decides its eligibility; others are
// the address's referrals in the organization (an existing customer has a
// converted one).
func (s *Service) newReferral(prog domain.Program, referrer domain.Referrer, in ReferralInput, now time.Time, others []domain.Referral) domain.Referral {
	existing := false
	for _, o := range others {
		existing = existing || o.Status == domain.ReferralConverted
	}
	ref := domain.Referral{
		ID: s.ids("ref"), OrgID: prog.OrgID, ProgramID: prog.ID, ReferrerID: referrer.ID, PartnerID: referrer.PartnerID,
		Email: in.Email, Name: in.Name, ExternalID: in.ExternalID, Status: domain.ReferralPending, CreatedAt: now, UpdatedAt: now,
	}
	if in.Email != "" {
		if reason := prog.ReferralIneligibility(referrer, in.Email, existing); reason != "" {
			ref.Status, ref.Reason = domain.ReferralIneligible, reason
		}
	}
	return ref
}

// inProgram finds, among an address's referrals, the one in a program.
func inProgram(refs []domain.Referral, programID string) (domain.Referral, bool) {
	for _, r := range refs {
		if r.ProgramID == programID {
			return r, true
		}
	}
	return domain.Referral{}, false
}

func referralExists(r domain.Referral) error {
	e := domain.Errorf(domain.KindConflict, "referral_exists", "this contact has already been referred in the program")
	e.Extra = map[string]any{"existingId": r.ID}
	return e
}

// referrerAndProgram resolves a code within the organization. A code of
// another organization is as unknown as a code that does not exist.
func (s *Service) referrerAndProgram(ctx context.Context, orgID, code string) (domain.Referrer, domain.Program, error) {
	unknown := &domain.Error{Kind: domain.KindInvalid, Code: "unknown_code", Message: "no referrer has this code",
		Fields: []domain.FieldError{{Field: "code", Message: "is not a referral code of this organization"}}}
	if !domain.ValidVanityCode(code) {
		return domain.Referrer{}, domain.Program{}, unknown
	}
	r, err := s.referrerByCode(ctx, code)
	if errors.Is(err, store.ErrNotFound) || (err == nil && r.OrgID != orgID) {
		return r, domain.Program{}, unknown
	}
	if err != nil {
		return r, domain.Program{}, err
	}
	p, err := s.program(ctx, orgID, r.ProgramID)
	if err != nil {
		return r, p, err
	}
	return r, p, nil
}

// GetReferral returns one referral of the organization.
func (s *Service) GetReferral(ctx context.Context, orgID, id string) (domain.Referral, error) {
	r, err := s.store.GetReferral(ctx, orgID, id)
	if errors.Is(err, store.ErrNotFound) {
		return r, domain.NotFound("referral")
	}
	return r, err
}

// ListReferrals pages through referrals.
func (s *Service) ListReferrals(ctx context.Context, orgID string, f store.ReferralFilter, page store.Page) ([]domain.Referral, string, error) {
	switch f.Status {
	case "", domain.ReferralPending, domain.ReferralConverted, domain.ReferralExpired, domain.ReferralIneligible:
	default:
		return nil, "", &domain.Error{Kind: domain.KindInvalid, Code: "validation_failed", Message: "the request has invalid fields",
			Fields: []domain.FieldError{{Field: "status", Message: "must be pending, converted, expired or ineligible"}}}
	}
	refs, next, err := s.store.ListReferrals(ctx, orgID, f, page)
	return refs, next, listErr(err)
}

// CountReferrals counts the referrals ListReferrals lists, up to
// store.MaxCount (more: there are others).
func (s *Service) CountReferrals(ctx context.Context, orgID string, f store.ReferralFilter) (int, bool, error) {
	n, more, err := s.store.CountReferrals(ctx, orgID, f)
	return n, more, listErr(err)
}

// listErr is a list's error as the callers show it: a search that matches
// too much is the search box's problem.
func listErr(err error) error {
	if errors.Is(err, store.ErrTooBroad) {
		return domain.SearchTooBroad("1,000")
	}
	return err
}

// ExpireReferrals is the hourly sweep that moves the pending referrals
// whose attribution window has ended (domain.Program.AttributionEnds) to
// expired, in every organization, through the store, so the change feed
// and everything that counts referrals by status see it. It returns how
// many it moved. A conversion that occurred inside the window but is
// reported later is still accepted and converts the referral (the store's
// RecordConversion); one that occurred after is refused, as before.
// Running it again, or at once with itself or with conversions, moves each
// referral at most once.
func (s *Service) ExpireReferrals(ctx context.Context) (int, error) {
	now := s.now()
	total := 0
	err := store.EachOrganization(ctx, s.store, func(orgID string) error {
		var errs []error
		err := eachPage(func(p store.Page) ([]domain.Program, string, error) { return s.store.ListPrograms(ctx, orgID, p) }, func(prog domain.Program) error {
			return eachPage(func(p store.Page) ([]domain.Referral, string, error) {
				return s.store.ListReferrals(ctx, orgID, store.ReferralFilter{ProgramID: prog.ID, Status: domain.ReferralPending}, p)
			}, func(r domain.Referral) error {
				if !now.After(prog.AttributionEnds(r)) {
					return nil
				}
				_, err := s.store.ExpireReferral(ctx, orgID, r.ID, now)
				switch {
				case err == nil:
					total++
				case !errors.Is(err, store.ErrConflict): // converted meanwhile: fine
					errs = append(errs, fmt.Errorf("tracking: expire referral %s: %w", r.ID, err))
				}
				return nil
			})
		})
		return errors.Join(append(errs, err)...)
	})
	return total, err
}

// eachPage calls fn for every record of a paged list.
func eachPage[T any](list func(store.Page) ([]T, string, error), fn func(T) error) error {
	page := store.Page{Limit: store.MaxLimit}
	for {
		items, next, err := list(page)
		if err != nil {
			return err
		}
		for _, it := range items {
			if err := fn(it); err != nil {
				return err
			}
		}
		if next == "" {
			return nil
		}
		page.Cursor = next
	}
}

// ConversionInput is a qualifying action reported by the organization.
type ConversionInput struct {
	ReferralID string
	Code       string
	Email      string
	Event      string
	Amount     *domain.MoneyInput
	ExternalID string
	OccurredAt *time.Time
}

// RecordConversion records a conversion once per externalId. created is
// false when the externalId was seen before; the original is returned and
// nothing new is recorded.
func (s *Service) RecordConversion(ctx context.Context, orgID string, in ConversionInput) (conv domain.Conversion, created bool, err error) {
	in.Email = domain.NormalizeEmail(in.Email)
	in.Event = strings.TrimSpace(in.Event)
	var v domain.Validation
	v.Check(in.ExternalID != "", "externalId", "is required: it makes retries safe")
	v.Check(len(in.ExternalID) <= 200, "externalId", "must be at most 200 characters")
	v.Check(in.Event != "", "event", "is required")
	v.Check(len(in.Event) <= 64, "event", "must be at most 64 characters")
	v.Check(in.ReferralID != "" || in.Code != "" || in.Email != "", "referralId", "one of referralId, code or email is required")
	v.Check(in.Email == "" || domain.ValidEmail(in.Email), "email", "must be a valid email address")
	if in.Amount != nil {
		v.CheckAmount(in.Amount.Amount, "amount", false)
	}
	if err := v.Err(); err != nil {
		return conv, false, err
	}
	// A retry answers with the conversion its externalId recorded, whatever
	// the checks below would say now. The store is asked for it first —
	// unless it finds a taken externalId in its own write
	// (ConversionConflictFirst): then only when the write or a check fails.
	// seen answers with the conversion the externalId recorded; with none,
	// with err (nil: go on and record this one).
	seen := func(err error) (domain.Conversion, bool, error) {
		if c, gerr := s.store.GetConversionByExternalID(ctx, orgID, in.ExternalID); gerr == nil {
			return c, false, nil
		} else if !errors.Is(gerr, store.ErrNotFound) {
			return conv, false, gerr
		}
		return conv, false, err
	}
	first := !insertFirst(s.store)
	if first {
		if c, created, err := seen(nil); err != nil || c.ID != "" {
			return c, created, err
		}
	}
	fail := func(err error) (domain.Conversion, bool, error) {
		if first {
			return conv, false, err
		}
		return seen(err)
	}
	now := s.now()
	occurredAt := now
	if in.OccurredAt != nil {
		occurredAt = in.OccurredAt.UTC()
	}
	ref, newRef, prog, err := s.resolveReferral(ctx, orgID, in, occurredAt)
	if err != nil {
		return fail(err)
	}
	var amount *domain.Money
	if in.Amount != nil {
		m, ok := in.Amount.In(prog.Currency)
		if !ok {
			return fail(notQualifying(domain.ReasonCurrencyMismatch, "the program's currency is "+prog.Currency))
		}
		amount = &m
	}
	if in.Event == domain.EventRenewal {
		var firstPaid *time.Time
		if newRef == nil {
			if firstPaid, err = store.FirstPaidAt(ctx, s.store, orgID, ref.ID); err != nil {
				return fail(err)
			}
		}
		if code, msg := prog.RenewalProblem(ref, firstPaid, amount, occurredAt, now); code != "" {
			return fail(notQualifying(code, msg))
		}
	} else if code, msg := prog.ConversionProblem(ref, in.Event, amount, occurredAt, now); code != "" {
		return fail(notQualifying(code, msg))
	}
	conv = domain.Conversion{
		ID: s.ids("cnv"), OrgID: orgID, ReferralID: ref.ID, ProgramID: prog.ID, ReferrerID: ref.ReferrerID,
		PartnerID: ref.PartnerID, Event: in.Event, Amount: amount, ExternalID: in.ExternalID, OccurredAt: occurredAt,
		RefundedAmount: domain.Money{Currency: prog.Currency}, CreatedAt: now,
	}
	if err := s.store.RecordConversion(ctx, conv, newRef); err != nil {
		if errors.Is(err, store.ErrConflict) {
			// The externalId was taken, before or by a racing request:
			// answer with that conversion.
			return seen(err)
		}
		return conv, false, err
	}
	return conv, true, nil
}

// ConversionConflictFirst is implemented by a store whose RecordConversion
// finds an externalId already taken as cheaply as GetConversionByExternalID
// would (the SQLite store: its unique index, checked by the insert inside
// the group commit). RecordConversion then skips the read before the
// write, and reads only when the write or a check fails.
type ConversionConflictFirst interface {
	// ConversionConflictFirst reports whether RecordConversion returns
	// store.ErrConflict, and writes nothing, for a taken externalId.
	ConversionConflictFirst() bool
}

func insertFirst(st store.Store) bool {
	cf, ok := st.(ConversionConflictFirst)
	return ok && cf.ConversionConflictFirst()
}

// resolveReferral finds the referral a conversion belongs to: by ID, by
// email (within the code's program when a code is given), or — for a code
// with no known contact, such as a coupon used at checkout — a new referral
// created together with the conversion.
func (s *Service) resolveReferral(ctx context.Context, orgID string, in ConversionInput, occurredAt time.Time) (ref domain.Referral, newRef *domain.Referral, prog domain.Program, err error) {
	switch {
	case in.ReferralID != "":
		ref, err = s.GetReferral(ctx, orgID, in.ReferralID)
		if err != nil {
			return ref, nil, prog, err
		}
	case in.Code != "":
		referrer, p, err := s.referrerAndProgram(ctx, orgID, in.Code)
		if err != nil {
			return ref, nil, prog, err
		}
		var others []domain.Referral
		if in.Email != "" {
			if others, err = s.store.ReferralsByEmail(ctx, orgID, in.Email); err != nil {
				return ref, nil, p, err
			}
			if known, ok := inProgram(others, p.ID); ok {
				return known, nil, p, nil
			}
		}
		if err := p.NotLiveError(occurredAt); err != nil {
			return ref, nil, p, notQualifying("program_not_active", err.Error())
		}
		created := s.newReferral(p, referrer, ReferralInput{Code: in.Code, Email: in.Email}, occurredAt, others)
		return created, &created, p, nil
	default:
		refs, err := s.store.ReferralsByEmail(ctx, orgID, in.Email)
		if err != nil {
			return ref, nil, prog, err
		}
		if len(refs) == 0 {
			return ref, nil, prog, &domain.Error{Kind: domain.KindInvalid, Code: "unknown_referral", Message: "no referral matches this conversion",
				Fields: []domain.FieldError{{Field: "email", Message: "has not been referred"}}}
		}
		// The most recent eligible referral gets the credit (last touch).
		ref = refs[0]
		for _, r := range refs {
			if r.Status != domain.ReferralIneligible {
				ref = r
				break
			}
		}
	}
	prog, err = s.program(ctx, orgID, ref.ProgramID)
	return ref, nil, prog, err
}

func notQualifying(code, msg string) error {
	return domain.Errorf(domain.KindInvalid, code, "the conversion does not qualify: %s", msg)
}

// GetConversion returns one conversion of the organization.
func (s *Service) GetConversion(ctx context.Context, orgID, id string) (domain.Conversion, error) {
	c, err := s.store.GetConversion(ctx, orgID, id)
	if errors.Is(err, store.ErrNotFound) {
		return c, domain.NotFound("conversion")
	}
	return c, err
}

// ListConversions pages through conversions.
func (s *Service) ListConversions(ctx context.Context, orgID string, f store.ConversionFilter, page store.Page) ([]domain.Conversion, string, error) {
	convs, next, err := s.store.ListConversions(ctx, orgID, f, page)
	return convs, next, listErr(err)
}

// CountConversions counts the conversions ListConversions lists, up to
// store.MaxCount (more: there are others).
func (s *Service) CountConversions(ctx context.Context, orgID string, f store.ConversionFilter) (int, bool, error) {
	n, more, err := s.store.CountConversions(ctx, orgID, f)
	return n, more, listErr(err)
}
