package domain

import (
	"strings"
	"time"
	"unicode/utf8"
	// The zone database is compiled in: organizations choose IANA zones,
	// and Lambda's provided.al2023 image and minimal hosts may have no
	// /usr/share/zoneinfo.
	_ "time/tzdata"
)

// Role is what a caller may do. API keys act for the organization's backend
// with their own role, so an integration never holds an admin's powers.
type Role string

const (
	RoleAdmin          Role = "admin"
	RoleProgramManager Role = "program_manager"
	RolePartner        Role = "partner"
	RoleAPIKey         Role = "api_key"
)

// ValidUserRole reports whether r can be given to a person.
func ValidUserRole(r Role) bool {
	return r == RoleAdmin || r == RoleProgramManager || r == RolePartner
}

// Organization is a tenant. Nothing crosses organizations.
type Organization struct {
	ID   string `json:"id"`
	Name string `json:"name"`
	// TimeZone is the IANA zone whose days, weeks and months every report
	// uses ("" means UTC; see Zone).
	TimeZone string `json:"timeZone"`
	// Locale formats money and numbers for people in the console, the
	// portal, e-mails and statements ("" means DefaultLocale; see Lang).
	Locale string `json:"locale,omitempty"`
	// BrandColor is the portal's accent colour, "#rrggbb" ("" for ours).
	BrandColor string `json:"brandColor,omitempty"`
	// MailSenderName is the display name of the e-mails the product sends
	// for the organization ("" means the organization's name).
	MailSenderName string `json:"mailSenderName,omitempty"`
	// LogoVersion names the organization's logo (store.Logos) in effect,
	// and so its URL; "" when it has none.
	LogoVersion string    `json:"logoVersion,omitempty"`
	CreatedAt   time.Time `json:"createdAt"`
	UpdatedAt   time.Time `json:"updatedAt"`
	// Revision counts stored updates; stores use it for optimistic locking.
	Revision int64 `json:"revision"`
}

// DefaultTimeZone is the zone of an organization that has not chosen one.
const DefaultTimeZone = "UTC"

// ValidTimeZone reports whether name is an IANA zone an organization can
// choose ("UTC" included; "" and "Local" are not zones).
func ValidTimeZone(name string) bool {
	if name == "" || name == "Local" || len(name) > 64 {
		return false
	}
	_, err := time.LoadLocation(name)
	return err == nil
}

// DefaultLocale formats money for an organization that has not chosen a locale.
const DefaultLocale = "en-US"

// Locales are the locales an organization can choose, with their names.
var Locales = []struct{ Tag, Name string }{
	{"en-US", "English (United States) — $1,234.50"},
	{"en-GB", "English (United Kingdom) — £1,234.50"},
	{"en-IE", "English (Ireland) — €1,234.50"},
	{"en-CA", "English (Canada)"},
	{"en-AU", "English (Australia)"},
	{"en-IN", "English (India) — ₹1,23,456.50"},
	{"de-DE", "Deutsch (Deutschland) — 1.234,50 €"},
	{"de-AT", "Deutsch (Österreich)"},
	{"de-CH", "Deutsch (Schweiz)"},
	{"fr-FR", "Français (France) — 1 234,50 €"},
	{"fr-CA", "Français (Canada)"},
	{"es-ES", "Español (España)"},
	{"es-MX", "Español (México)"},
	{"it-IT", "Italiano (Italia)"},
	{"nl-NL", "Nederlands (Nederland)"},
	{"pt-BR", "Português (Brasil)"},
	{"pt-PT", "Português (Portugal)"},
	{"sv-SE", "Svenska (Sverige)"},
	{"da-DK", "Dansk (Danmark)"},
	{"nb-NO", "Norsk bokmål (Norge)"},
	{"fi-FI", "Suomi (Suomi)"},
	{"pl-PL", "Polski (Polska)"},
	{"ja-JP", "日本語 (日本)"},
}

// ValidLocale reports whether tag is one of Locales.
func ValidLocale(tag string) bool {
	for _, l := range Locales {
		if l.Tag == tag {
			return true
		}
	}
	return false
}

// ValidBrandColor reports whether c is a colour "#rrggbb".
func ValidBrandColor(c string) bool {
	if len(c) != 7 || c[0] != '#' {
		return false
	}
	for _, r := range c[1:] {
		if !strings.ContainsRune("0123456789abcdefABCDEF", r) {
			return false
		}
	}
	return true
}

// OrganizationPatch changes an organization's settings; nil fields stay.
type OrganizationPatch struct {
	Name           *string
	TimeZone       *string
	Locale         *string
	BrandColor     *string // "" resets to the product's colour
	MailSenderName *string // "" uses the organization's name
}

// Apply validates p and returns o changed by it, stamped at now.
func (p OrganizationPatch) Apply(o Organization, now time.Time) (Organization, error) {
	var v Validation
	if p.Name != nil {
		name := strings.TrimSpace(*p.Name)
		v.Check(name != "" && utf8.RuneCountInString(name) <= 200, "name", "must be 1 to 200 characters")
		o.Name = name
	}
	if p.TimeZone != nil {
		v.Check(ValidTimeZone(*p.TimeZone), "timeZone", "must be an IANA time zone such as Europe/Berlin or America/New_York")
		o.TimeZone = *p.TimeZone
	}
	if p.Locale != nil {
		v.Check(ValidLocale(*p.Locale), "locale", "must be a supported locale such as en-US or de-DE")
		o.Locale = *p.Locale
	}
	if p.BrandColor != nil {
		c := strings.ToLower(strings.TrimSpace(*p.BrandColor))
		v.Check(c == "" || ValidBrandColor(c), "brandColor", "must be a colour such as #4338ca")
		o.BrandColor = c
	}
	if p.MailSenderName != nil {
		name := strings.TrimSpace(*p.MailSenderName)
		// No line breaks or angle brackets: it becomes the From header's display name.
		v.Check(utf8.RuneCountInString(name) <= 100 && !strings.ContainsAny(name, "\r\n<>\"@"), "mailSenderName",
			"must be at most 100 characters, without line breaks, quotes, @ or angle brackets")
		o.MailSenderName = name
	}
	if err := v.Err(); err != nil {
		return o, err
	}
	o.UpdatedAt = now.UTC()
	return o, nil
}

// Zone returns the organization's time zone name, DefaultTimeZone when unset.
func (o Organization) Zone() string {
	if o.TimeZone == "" {
		return DefaultTimeZone
	}
	return o.TimeZone
}

// Lang returns the organization's locale, DefaultLocale when unset.
func (o Organization) Lang() string {
	if o.Locale == "" {
		return DefaultLocale
	}
	return o.Locale
}

// SenderName is the display name of the organization's e-mails.
func (o Organization) SenderName() string {
	if o.MailSenderName != "" {
		return o.MailSenderName
	}
	return o.Name
}

// User statuses.
const (
	UserInvited  = "invited"
	UserActive   = "active"
	UserDisabled = "disabled"
)

// User is a person who signs in. Emails are unique across the installation
// because login names no organization.
type User struct {
	ID           string    `json:"id"`
	OrgID        string    `json:"organizationId"`
	Email        string    `json:"email"`
	Name         string    `json:"name"`
	Role         Role      `json:"role"`
	PartnerID    string    `json:"partnerId,omitempty"`
	Status       string    `json:"status"`
	PasswordHash string    `json:"-"`
	CreatedAt    time.Time `json:"createdAt"`
	UpdatedAt    time.Time `json:"updatedAt"`
}

// Session is a signed-in user's token, stored only as its SHA-256 hash.
type Session struct {
	TokenHash string    `json:"-"`
	OrgID     string    `json:"organizationId"`
	UserID    string    `json:"userId"`
	CreatedAt time.Time `json:"createdAt"`
	ExpiresAt time.Time `json:"expiresAt"`
}

// APIKey lets an organization's backend call the API. Only the SHA-256 hash
// of the secret is stored; Prefix identifies the key in lists.
type APIKey struct {
	ID        string    `json:"id"`
	OrgID     string    `json:"organizationId"`
	Name      string    `json:"name"`
	Prefix    string    `json:"prefix"`
	Hash      string    `json:"-"`
	CreatedBy string    `json:"createdBy"`
	CreatedAt time.Time `json:"createdAt"`
}
