// Package programs holds the referral programs of an organization and the
// referrers who take part in them.
package programs

import (
	"context"
	"errors"
	"net/url"
	"strings"

	"github.com/partnerloop/partnerloop/internal/domain"
	"github.com/partnerloop/partnerloop/internal/store"
)

// Service manages programs and referrers.
type Service struct {
	store    store.Store
	now      domain.Clock
	ids      domain.IDs
	baseURL  string
	partners PartnerLookup
	onChange func()
}

// PartnerLookup tells whether a partner exists in an organization: all the
// programs service needs to know of partners (partners.Service has it).
type PartnerLookup interface {
	Exists(ctx context.Context, orgID, partnerID string) (bool, error)
}

// Option configures a Service.
type Option func(*Service)

// WithPartners lets referrers name a partner of their organization. Without
// it no partner ID is valid.
func WithPartners(p PartnerLookup) Option {
	return func(s *Service) { s.partners = p }
}

// WithOnChange calls fn after every change of a program made through the
// service (the tracking service's cached lookups are dropped with it, so
// a pause takes effect at once in this process).
func WithOnChange(fn func()) Option {
	return func(s *Service) { s.onChange = fn }
}

// New returns a programs service. baseURL is the public address referral
// links are built on (e.g. "https://refer.example.com").
func New(s store.Store, now domain.Clock, ids domain.IDs, baseURL string, opts ...Option) *Service {
	svc := &Service{store: s, now: now, ids: ids, baseURL: strings.TrimRight(baseURL, "/")}
	for _, o := range opts {
		o(svc)
	}
	return svc
}

// Create stores a new draft program.
func (s *Service) Create(ctx context.Context, orgID string, spec domain.ProgramSpec) (domain.Program, error) {
	if err := spec.Validate(); err != nil {
		return domain.Program{}, err
	}
	p := domain.NewProgram(orgID, s.ids("prg"), spec, s.now())
	if err := s.store.CreateProgram(ctx, p); err != nil {
		return domain.Program{}, err
	}
	return p, nil
}

// Get returns one program of the organization.
func (s *Service) Get(ctx context.Context, orgID, id string) (domain.Program, error) {
	p, err := s.store.GetProgram(ctx, orgID, id)
	if errors.Is(err, store.ErrNotFound) {
		return p, domain.NotFound("program")
	}
	return p, err
}

// List pages through the organization's programs, newest first.
func (s *Service) List(ctx context.Context, orgID string, page store.Page) ([]domain.Program, string, error) {
	return s.store.ListPrograms(ctx, orgID, page)
}

// Update applies edit (which may refuse) to the program's current settings and stores the
// result, retrying when a concurrent edit got there first.
func (s *Service) Update(ctx context.Context, orgID, id string, edit func(*domain.ProgramSpec) error) (domain.Program, error) {
	return s.modify(ctx, orgID, id, func(p domain.Program) (domain.Program, error) {
		spec := p.Spec()
		if err := edit(&spec); err != nil {
			return p, err
		}
		if err := spec.Validate(); err != nil {
			return p, err
		}
		return p.Update(spec, s.now())
	})
}

// Transition activates, pauses or archives a program.
func (s *Service) Transition(ctx context.Context, orgID, id string, to domain.ProgramStatus) (domain.Program, error) {
	return s.modify(ctx, orgID, id, func(p domain.Program) (domain.Program, error) {
		return p.Transition(to, s.now())
	})
}

// modify is read-modify-write with optimistic locking. A lost race re-reads
// and re-applies the change; after a few losses the caller gets 409.
func (s *Service) modify(ctx context.Context, orgID, id string, change func(domain.Program) (domain.Program, error)) (domain.Program, error) {
	read := func(ctx context.Context) (domain.Program, error) { return s.Get(ctx, orgID, id) }
	next, err := store.Modify(ctx, read, change, s.store.UpdateProgram)
	if errors.Is(err, store.ErrConflict) {
		return next, domain.Errorf(domain.KindConflict, "concurrent_update", "the program is being changed by someone else; try again")
	}
	if err == nil {
		next.Revision++
		if s.onChange != nil {
			s.onChange()
		}
	}
	return next, err
}

// ReferrerInput is a request to enrol a referrer.
type ReferrerInput struct {
	Email     string
	Name      string
	PartnerID string
	Code      string // requested vanity code; generated when empty
}

// CreateReferrer enrols a referrer in a live program with a unique code.
func (s *Service) CreateReferrer(ctx context.Context, orgID, programID string, in ReferrerInput) (domain.Referrer, error) {
	// The program first: another organization's program is 404 whatever
	// the body says.
	p, err := s.Get(ctx, orgID, programID)
	if err != nil {
		return domain.Referrer{}, err
	}
	in.Email = domain.NormalizeEmail(in.Email)
	in.Name = strings.TrimSpace(in.Name)
	var v domain.Validation
	v.Check(domain.ValidEmail(in.Email), "email", "must be a valid email address")
	v.Check(len(in.Name) <= 200, "name", "must be at most 200 characters")
	v.Check(in.Code == "" || domain.ValidVanityCode(in.Code), "code", "must be 3 to 32 letters, digits, '-' or '_', starting with a letter or digit")
	// A partner ID must name a partner of the organization (another
	// organization's is as unknown as a made-up one); without a lookup none
	// is valid, since accepting one would attach records to nobody.
	if in.PartnerID != "" {
		known := false
		if s.partners != nil {
			var err error
			if known, err = s.partners.Exists(ctx, orgID, in.PartnerID); err != nil {
				return domain.Referrer{}, err
			}
		}
		v.Check(known, "partnerId", "unknown partner")
	}
	if err := v.Err(); err != nil {
		return domain.Referrer{}, err
	}
	if err := p.NotLiveError(s.now()); err != nil {
		return domain.Referrer{}, err
	}
	if existing, err := s.store.GetReferrerByEmail(ctx, orgID, programID, in.Email); err == nil {
		return domain.Referrer{}, referrerExists(existing)
	}
	r := domain.Referrer{
		ID: s.ids("rfr"), OrgID: orgID, ProgramID: programID, Email: in.Email, Name: in.Name,
		PartnerID: in.PartnerID, CreatedAt: s.now(),
	}
	// A generated code may collide (rarely): draw again. A requested one
	// that is taken is the caller's to change.
	for attempt := 0; ; attempt++ {
		r.Code = in.Code
		if r.Code == "" {
			r.Code = domain.GenerateCode()
		}
		err = s.store.CreateReferrer(ctx, r)
		if !errors.Is(err, store.ErrConflict) {
			break
		}
		if existing, err := s.store.GetReferrerByEmail(ctx, orgID, programID, in.Email); err == nil {
			return domain.Referrer{}, referrerExists(existing)
		}
		if in.Code != "" {
			return domain.Referrer{}, &domain.Error{Kind: domain.KindConflict, Code: "code_taken", Message: "the code is already taken",
				Fields: []domain.FieldError{{Field: "code", Message: "is already taken; choose another"}}}
		}
		if attempt == 5 {
			return domain.Referrer{}, err
		}
	}
	if err != nil {
		return domain.Referrer{}, err
	}
	return r, nil
}

func referrerExists(r domain.Referrer) error {
	e := domain.Errorf(domain.KindConflict, "referrer_exists", "this email is already a referrer in the program")
	e.Extra = map[string]any{"existingId": r.ID}
	return e
}

// GetReferrer returns one referrer of the organization.
func (s *Service) GetReferrer(ctx context.Context, orgID, id string) (domain.Referrer, error) {
	r, err := s.store.GetReferrer(ctx, orgID, id)
	if errors.Is(err, store.ErrNotFound) {
		return r, domain.NotFound("referrer")
	}
	return r, err
}

// ListReferrers pages through a program's referrers.
func (s *Service) ListReferrers(ctx context.Context, orgID, programID string, page store.Page) ([]domain.Referrer, string, error) {
	if _, err := s.Get(ctx, orgID, programID); err != nil {
		return nil, "", err
	}
	return s.store.ListReferrers(ctx, orgID, programID, page)
}

// ListReferrersMatching pages through the organization's referrers across
// programs (the staff's referrers list): search, program, date range.
func (s *Service) ListReferrersMatching(ctx context.Context, orgID string, f store.ReferrerFilter, page store.Page) ([]domain.Referrer, string, error) {
	refs, next, err := s.store.ListReferrersMatching(ctx, orgID, f, page)
	return refs, next, searchErr(err)
}

// CountReferrers counts the referrers ListReferrersMatching lists, up to
// store.MaxCount (more: there are others).
func (s *Service) CountReferrers(ctx context.Context, orgID string, f store.ReferrerFilter) (int, bool, error) {
	n, more, err := s.store.CountReferrers(ctx, orgID, f)
	return n, more, searchErr(err)
}

// searchErr: a search that matches too much is the search box's problem.
func searchErr(err error) error {
	if errors.Is(err, store.ErrTooBroad) {
		return domain.SearchTooBroad("1,000")
	}
	return err
}

// Link is the referrer's shareable link.
func (s *Service) Link(code string) string {
	return s.baseURL + "/r/" + url.PathEscape(code)
}
