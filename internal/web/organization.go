package web

import (
	"net/http"
	"net/url"
	"strings"

	"github.com/partnerloop/partnerloop/internal/domain"
	"github.com/partnerloop/partnerloop/internal/money"
)

// theme is the organization's brand colour as a stylesheet: the pages'
// Content-Security-Policy allows no inline styles, so the layout links
// /theme.css?c=rrggbb when the organization chose a colour.
func (s *Server) theme(rq *request) error {
	c := "#" + strings.ToLower(rq.r.URL.Query().Get("c"))
	if !domain.ValidBrandColor(c) {
		http.NotFound(rq.w, rq.r)
		return nil
	}
	h := rq.w.Header()
	h.Set("Content-Type", "text/css; charset=utf-8")
	h.Set("Cache-Control", "public, max-age=31536000, immutable") // the URL names the colour
	_, err := rq.w.Write([]byte(":root { --brand: " + c + "; }\n" +
		".nav a[aria-current=\"page\"], .badge { background: " + c + "; }\n"))
	return err
}

// commonZones are offered while typing a time zone; any IANA name is
// accepted (the identity service checks it).
var commonZones = []string{
	"UTC", "Europe/London", "Europe/Dublin", "Europe/Lisbon", "Europe/Paris", "Europe/Berlin", "Europe/Amsterdam",
	"Europe/Madrid", "Europe/Rome", "Europe/Zurich", "Europe/Stockholm", "Europe/Warsaw", "Europe/Athens",
	"Europe/Helsinki", "Europe/Istanbul", "Europe/Moscow", "Africa/Lagos", "Africa/Johannesburg", "Africa/Nairobi",
	"Asia/Dubai", "Asia/Kolkata", "Asia/Singapore", "Asia/Hong_Kong", "Asia/Shanghai", "Asia/Tokyo", "Asia/Seoul",
	"Australia/Perth", "Australia/Sydney", "Pacific/Auckland", "America/St_Johns", "America/Halifax",
	"America/New_York", "America/Toronto", "America/Chicago", "America/Mexico_City", "America/Denver",
	"America/Phoenix", "America/Los_Angeles", "America/Anchorage", "Pacific/Honolulu", "America/Bogota",
	"America/Lima", "America/Santiago", "America/Sao_Paulo", "America/Argentina/Buenos_Aires",
}

type organizationData struct {
	Form    *Form
	Logo    *Form  // the logo upload
	LogoURL string // the logo in effect, "" when none
	// LogoAvailable: the store keeps logos (both adapters do).
	LogoAvailable bool
	UploadPath    string
	MaxLogoSide   string // for people: "2,000"
	Zones         []string
	Zone          string // the zone in effect
	Locales       []Option
	Example       string // money in the locale in effect
}

func (s *Server) renderOrganization(rq *request, status int, f *Form) error {
	return s.renderOrganizationWith(rq, status, f, nil)
}

// renderOrganizationWith renders the page with the settings form f and
// the logo form lf (nil: fresh).
func (s *Server) renderOrganizationWith(rq *request, status int, f, lf *Form) error {
	o, err := s.cfg.Identity.Organization(rq.r.Context(), *rq.p)
	if err != nil {
		return err
	}
	if f == nil {
		f = newForm(url.Values{"name": {o.Name}, "timeZone": {o.Zone()}, "locale": {o.Lang()},
			"brandColor": {o.BrandColor}, "mailSenderName": {o.MailSenderName}})
	}
	if lf == nil {
		lf = newForm(nil)
	}
	locales := make([]Option, len(domain.Locales))
	for i, l := range domain.Locales {
		locales[i] = Option{l.Tag, l.Name}
	}
	return s.render(rq, status, "organization", "Organization", "organization",
		organizationData{Form: f, Logo: lf, LogoURL: logoPath(o), LogoAvailable: s.cfg.Identity.LogosAvailable(),
			UploadPath: logoUploadPath, MaxLogoSide: itoa(maxLogoSide), Zones: commonZones, Zone: o.Zone(), Locales: locales,
			Example: money.For(o.Lang()).Format(domain.Money{Amount: 4800000, Currency: "USD"}) + ", " +
				money.For(o.Lang()).Format(domain.Money{Amount: 123400, Currency: "EUR"})})
}

// organizationPage is Settings → Organization: the name, the time zone
// whose days, weeks and months the analytics use, the locale money is
// written in, the portal's colour and the e-mails' sender name.
func (s *Server) organizationPage(rq *request) error {
	return s.renderOrganization(rq, http.StatusOK, nil)
}

// organizationUpdate saves the settings, as PATCH /v1/organization does.
func (s *Server) organizationUpdate(rq *request) error {
	f := newForm(rq.r.PostForm)
	// A field the form did not send stays as it is.
	sent := func(name string) *string {
		if _, ok := rq.r.PostForm[name]; !ok {
			return nil
		}
		v := f.Get(name)
		return &v
	}
	before, err := s.cfg.Identity.Organization(rq.r.Context(), *rq.p)
	if err != nil {
		return err
	}
	after, err := s.cfg.Identity.UpdateOrganization(rq.r.Context(), *rq.p, domain.OrganizationPatch{
		Name: sent("name"), TimeZone: sent("timeZone"), Locale: sent("locale"), BrandColor: sent("brandColor"), MailSenderName: sent("mailSenderName")})
	if err != nil {
		if !f.fail(err, nil) {
			return err
		}
		return s.renderOrganization(rq, errorStatus(err), f)
	}
	notice := "Organization saved."
	if after.Zone() != before.Zone() {
		notice += " The analytics count in " + after.Zone() + " from now on; they are rebuilt in it within seconds."
	}
	return s.redirect(rq, "/settings/organization", notice)
}
