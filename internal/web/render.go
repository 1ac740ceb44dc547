package web

import (
	"bytes"
	"crypto/sha256"
	"embed"
	"encoding/hex"
	"fmt"
	"io/fs"
	"mime"
	"net/http"
	"net/url"
	"path"
	"regexp"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/partnerloop/partnerloop/internal/domain"
	"github.com/partnerloop/partnerloop/internal/identity"
	"github.com/partnerloop/partnerloop/internal/money"
)

//go:embed assets
var assetFS embed.FS

// assetVersion fingerprints the embedded assets so their URLs change with
// their content and browsers may cache them for good. It is a constant
// (assetsDigest, checked against the files by TestAssetsDigestIsCurrent)
// rather than hashed from assetFS, so that the page groups that serve no
// asset do not link the assets: that is 64 KB of each of web-partners,
// web-admin and web-portal (docs/performance.md, "Lambda footprint").
func assetVersion() string { return assetsDigest }

// assetsDigest is digestAssets(assetFS): update it when an asset changes
// (TestAssetsDigestIsCurrent prints the new value).
const assetsDigest = "0a7fcebe919e"

// digestAssets is the first 12 hex digits of the SHA-256 of the assets'
// paths and contents, in fs.WalkDir's order.
func digestAssets(fsys fs.FS) string {
	h := sha256.New()
	_ = fs.WalkDir(fsys, "assets", func(p string, d fs.DirEntry, err error) error {
		if err == nil && !d.IsDir() {
			b, _ := fs.ReadFile(fsys, p)
			h.Write([]byte(p))
			h.Write(b)
		}
		return nil
	})
	return hex.EncodeToString(h.Sum(nil))[:12]
}

func (s *Server) asset(rq *request) error {
	name := rq.r.PathValue("file")
	b, err := assetFS.ReadFile("assets/" + name)
	if err != nil || strings.Contains(name, "/") {
		http.NotFound(rq.w, rq.r)
		return nil
	}
	h := rq.w.Header()
	h.Set("Content-Type", mime.TypeByExtension(path.Ext(name)))
	if rq.r.URL.Query().Get("v") == assetVersion() {
		h.Set("Cache-Control", "public, max-age=31536000, immutable")
	} else {
		h.Set("Cache-Control", "public, max-age=300")
	}
	_, err = rq.w.Write(b)
	return err
}

// view is what every page gets.
type view struct {
	Title   string
	Section string // the navigation entry to highlight
	// Org is the signed-in person's organization (zero when nobody is).
	Org   domain.Organization
	User  *identity.Principal
	CSRF  string
	Flash string
	Asset string // the assets' version
	Data  any

	fm   *money.Formatter // money in the organization's locale
	zone *time.Location   // the organization's time zone
}

func (v view) IsAdmin() bool { return v.User != nil && v.User.Role == domain.RoleAdmin }

// LogoURL is the organization's logo, "" when it has none.
func (v view) LogoURL() string { return logoPath(v.Org) }
func (v view) IsPartner() bool { return v.User != nil && v.User.Role == domain.RolePartner }
func (v view) IsStaff() bool {
	return v.User != nil && (v.User.Role == domain.RoleAdmin || v.User.Role == domain.RoleProgramManager)
}
func (v view) RoleName() string {
	if v.User == nil {
		return ""
	}
	return roleName(v.User.Role)
}

// render writes page with status; the whole page is built before the
// first byte is sent, so a failure while rendering is a clean 500.
func (s *Server) render(rq *request, status int, page, title, section string, data any) error {
	v := view{Title: title, Section: section, Org: rq.org, User: rq.p, CSRF: rq.csrf, Flash: rq.flash, Asset: assetVersion(), Data: data,
		fm: money.For(rq.org.Lang()), zone: s.zoneOf(rq.org)}
	c := pageContent(page, v)
	if c == nil {
		return fmt.Errorf("no page %q for %T", page, data)
	}
	var buf bytes.Buffer
	if err := layout(v, c).Render(rq.r.Context(), &buf); err != nil {
		return err
	}
	rq.w.Header().Set("Content-Type", "text/html; charset=utf-8")
	rq.w.WriteHeader(status)
	_, err := rq.w.Write(buf.Bytes())
	return err
}

// zoneOf is the organization's time zone (UTC when this machine's zone
// database lacks it).
func (s *Server) zoneOf(o domain.Organization) *time.Location {
	s.mu.Lock()
	defer s.mu.Unlock()
	if z, ok := s.zones[o.Zone()]; ok {
		return z
	}
	zone, err := time.LoadLocation(o.Zone())
	if err != nil {
		zone = time.UTC
	}
	if s.zones == nil {
		s.zones = map[string]*time.Location{}
	}
	s.zones[o.Zone()] = zone
	return zone
}

type errorData struct{ Heading, Message string }

func (s *Server) errorPage(rq *request, status int, heading, message string) error {
	return s.render(rq, status, "error", heading, "", errorData{heading, message})
}

// Form is a submitted (or pre-filled) form: its values and, after a failed
// submission, the problem of each field and of the whole form.
type Form struct {
	Values  url.Values
	Errors  map[string]string
	Message string
}

func newForm(v url.Values) *Form {
	if v == nil {
		v = url.Values{}
	}
	return &Form{Values: v, Errors: map[string]string{}}
}

// Get returns a field's value.
func (f *Form) Get(name string) string { return f.Values.Get(name) }

// Has reports whether a checkbox or option value is chosen.
func (f *Form) Has(name, value string) bool {
	for _, v := range f.Values[name] {
		if v == value {
			return true
		}
	}
	return false
}

// Err returns a field's problem ("" when none).
func (f *Form) Err(name string) string { return f.Errors[name] }

func (f *Form) add(field, msg string) {
	if _, ok := f.Errors[field]; !ok {
		f.Errors[field] = msg
	}
}

// fail puts a service error on the form: each invalid field's message
// next to the field (a field the form does not show, on the form itself).
// It reports whether err was such an error; others go to the error page.
func (f *Form) fail(err error, shown func(string) bool) bool {
	e, ok := domain.AsError(err)
	if !ok {
		return false
	}
	switch e.Kind {
	case domain.KindInvalid, domain.KindMalformed, domain.KindConflict, domain.KindRateLimited, domain.KindUnauthenticated, domain.KindGone, domain.KindNotFound:
	default:
		return false
	}
	var other []string
	for _, fe := range e.Fields {
		if shown == nil || shown(fe.Field) {
			f.add(fe.Field, humanWords(fe.Message))
		} else {
			other = append(other, fieldWords(fe.Field)+" "+humanWords(fe.Message))
		}
	}
	switch {
	case len(e.Fields) == 0:
		f.Message = sentence(humanWords(e.Message))
	case len(other) > 0:
		f.Message = "Please correct the fields marked below. Also: " + strings.Join(other, "; ")
	default:
		f.Message = "Please correct the fields marked below."
	}
	return true
}

// apiWords are the API's field names and values that its messages use,
// as the forms label them.
var apiWords = strings.NewReplacer(
	"previous tier's upTo", "previous tier's upper bound",
	"rateBps", "rate (%)", "upTo", "upper bound", "unbounded (null)", "unbounded (no limit)",
	"minPurchaseAmount", "minimum purchase", "landingUrl", "landing page", "attributionWindowDays", "attribution window",
	"tierId", "tier", "partnerId", "partner", "programId", "program", "referrerId", "referrer",
	"startsAt", "start date", "endsAt", "end date", "externalId", "external ID", "holdDays", "hold period",
	"qualifyingEvents", "qualifying events", "conversionId", "conversion", "dealId", "deal", "referralId", "referral",
	"companyName", "company name", "contactName", "contact name", "customerName", "customer name",
	"customerDomain", "customer domain", "periodKey", "period", "expectedCloseDate", "expected close date",
)

// rawID is a record's ID as the API writes it (cnv_01J…, com_…): people
// are never shown one.
var rawID = lazyRegexp(`\b(?:(commission|conversion|deal|partner|program|referral|referrer|payout run|user) )?(com|cnv|dea|prt|prg|ref|rfr|pay|usr|tir|inv|whe|key)_[0-9A-Za-z]{8,}\b`)

// notFoundIDs is the list of IDs an API message gives after "not found:"
// (for API clients; people were looking at the records).
var notFoundIDs = lazyRegexp(`not found: [a-z]{3}_[0-9A-Za-z]{8,}(?:, [a-z]{3}_[0-9A-Za-z]{8,})*`)

// idNouns name a record by its ID's prefix.
var idNouns = map[string]string{
	"com": "commission", "cnv": "conversion", "dea": "deal", "prt": "partner", "prg": "program", "ref": "referral",
	"rfr": "referrer", "pay": "payout run", "usr": "user", "tir": "tier", "inv": "invitation", "whe": "webhook", "key": "API key",
}

// humanWords is an API message with the forms' words for fields, and
// "the commission" where it names one by its ID.
func humanWords(msg string) string {
	msg = notFoundIDs().ReplaceAllString(msg, "not found")
	msg = rawID().ReplaceAllStringFunc(msg, func(m string) string {
		sub := rawID().FindStringSubmatch(m)
		if !strings.ContainsAny(m[strings.LastIndex(m, "_"):], "0123456789") {
			return m // a word with an underscore, not an ID
		}
		if sub[1] != "" {
			return "the " + sub[1]
		}
		return "the " + idNouns[sub[2]]
	})
	return apiWords.Replace(msg)
}

// errorText is a domain error for people: its message in the forms'
// words, each field named as the forms label it, in sentence case.
func errorText(e *domain.Error) string {
	msg := sentence(humanWords(e.Message))
	if len(e.Fields) == 0 {
		if !strings.HasSuffix(msg, ".") && !strings.HasSuffix(msg, "?") && !strings.HasSuffix(msg, "!") {
			msg += "."
		}
		return msg
	}
	parts := make([]string, len(e.Fields))
	for i, f := range e.Fields {
		parts[i] = fieldWords(f.Field) + " " + humanWords(f.Message)
	}
	if msg == "The request has invalid fields" {
		return strings.Join(parts, "; ") + "."
	}
	return msg + ": " + strings.Join(parts, "; ") + "."
}

var camelBoundary = lazyRegexp(`([a-z0-9])([A-Z])`)
var indexPart = lazyRegexp(`^(\w+)\[(\d+)\]$`)

// fieldWords names an API field path for people:
// "commission.tiers[1].upTo" → "Commission tier 2 upper bound".
func fieldWords(path string) string {
	var words []string
	for _, part := range strings.Split(path, ".") {
		if m := indexPart().FindStringSubmatch(part); m != nil {
			n, _ := strconv.Atoi(m[2])
			words = append(words, strings.TrimSuffix(m[1], "s")+" "+strconv.Itoa(n+1))
			continue
		}
		if w := humanWords(part); w != part {
			words = append(words, w)
			continue
		}
		words = append(words, strings.ToLower(camelBoundary().ReplaceAllString(part, "$1 $2")))
	}
	return sentence(strings.Join(words, " "))
}

// sentence starts s with a capital letter.
func sentence(s string) string {
	if s == "" {
		return s
	}
	return strings.ToUpper(s[:1]) + s[1:]
}

// Option is one choice of a select.
type Option struct{ Value, Label string }

// fieldArgs is what the "field" partial renders.
type fieldArgs struct {
	Form                         *Form
	Name, Label, Type, ID, Hint  string
	Required                     bool
	Attrs                        map[string]string
	Options                      []Option
	Value                        string
	Placeholder, Min, Step, Size string
}

func fieldID(name string) string {
	r := strings.NewReplacer(".", "-", "[", "-", "]", "")
	return "f-" + r.Replace(name)
}

// field builds a form field for the "field" partial: field form name label
// type [options...], where options are "required", "hint=…",
// "placeholder=…", "min=…", "step=…", "id=…".
func field(f *Form, name, label, typ string, opts ...string) fieldArgs {
	a := fieldArgs{Form: f, Name: name, Label: label, Type: typ, ID: fieldID(name), Value: f.Get(name)}
	for _, o := range opts {
		k, v, _ := strings.Cut(o, "=")
		switch k {
		case "required":
			a.Required = true
		case "hint":
			a.Hint = v
		case "placeholder":
			a.Placeholder = v
		case "min":
			a.Min = v
		case "step":
			a.Step = v
		case "id": // one field name on several forms of a page
			a.ID = v
		}
	}
	return a
}

// selectField is field for a select.
func selectField(f *Form, name, label string, options []Option, opts ...string) fieldArgs {
	a := field(f, name, label, "select", opts...)
	a.Options = options
	return a
}

// Error is the field's problem ("" when none).
func (a fieldArgs) Error() string { return a.Form.Err(a.Name) }

// DescribedBy lists the IDs of the hint and error that describe the field.
func (a fieldArgs) DescribedBy() string {
	var ids []string
	if a.Hint != "" {
		ids = append(ids, a.ID+"-hint")
	}
	if a.Error() != "" {
		ids = append(ids, a.ID+"-error")
	}
	return strings.Join(ids, " ")
}

// Checked reports whether a checkbox field is ticked.
func (a fieldArgs) Checked() bool { return a.Form.Get(a.Name) != "" }

// Tier returns the field name of tier row i's member.
func (e ruleEditor) Tier(i int, member string) string {
	return fmt.Sprintf("%s.tiers[%d].%s", e.Prefix, i, member)
}

// Name returns the field name of a rule member.
func (e ruleEditor) Name(member string) string { return e.Prefix + "." + member }

// Type is the chosen rule type.
func (e ruleEditor) Type() string { return e.Form.Get(e.Prefix + ".type") }

// ruleText describes a commission rule in a line, its amounts in the
// organization's locale: in currency, or, when currency is "" (a tier's
// rule, which applies in each program's currency), as plain amounts
// followed by "in the program's currency".
func ruleText(f *money.Formatter, r domain.CommissionRule, currency string) string {
	pct := func(b *int64) string { return formatPercent(b) + "%" }
	amounts := false // whether a plain amount was written
	amount := func(minor *int64) string {
		if minor == nil {
			return ""
		}
		if currency == "" {
			amounts = true
			return f.Plain(*minor)
		}
		return f.Format(domain.Money{Amount: *minor, Currency: currency})
	}
	in := func(s string) string {
		if amounts {
			return s + " (amounts in the program's currency)"
		}
		return s
	}
	switch r.Type {
	case domain.RuleFlat:
		return in(amount(r.Amount) + " flat" + recurringText(r.Recurring))
	case domain.RulePercentage:
		return pct(r.RateBps) + " of the value" + recurringText(r.Recurring)
	case domain.RuleTiered:
		parts := make([]string, len(r.Tiers))
		for i, t := range r.Tiers {
			pay := pct(t.RateBps)
			if t.Amount != nil {
				pay = amount(t.Amount)
			}
			switch {
			case t.UpTo == nil:
				parts[i] = "then " + pay
			case r.Basis == domain.BasisRevenue:
				parts[i] = "up to " + amount(t.UpTo) + ": " + pay
			default:
				parts[i] = "up to " + f.Count(*t.UpTo) + ": " + pay
			}
		}
		return in("Tiered by " + r.Basis + " per " + r.Period + " (" + r.Mode + ") — " + strings.Join(parts, ", ") + recurringText(r.Recurring))
	}
	return r.Type
}

// recurringText is how long a rule pays on renewals, as a suffix.
func recurringText(r *domain.Recurring) string {
	switch {
	case r == nil:
		return ""
	case r.Months == nil:
		return "; renewals for the customer's lifetime"
	case *r.Months == 1:
		return "; renewals for 1 month"
	}
	return "; renewals for " + strconv.Itoa(*r.Months) + " months"
}

// lazyRegexp is a regular expression compiled on its first use (the
// package's init stays off every cold start of the web function).
func lazyRegexp(expr string) func() *regexp.Regexp {
	return sync.OnceValue(func() *regexp.Regexp { return regexp.MustCompile(expr) })
}
