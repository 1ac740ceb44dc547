package web

import (
	"net/http"
	"net/url"

	"github.com/partnerloop/partnerloop/internal/domain"
)

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
	Form  *Form
	Zones []string
	Zone  string // the zone in effect
}

func (s *Server) renderOrganization(rq *request, status int, f *Form) error {
	o, err := s.cfg.Identity.Organization(rq.r.Context(), *rq.p)
	if err != nil {
		return err
	}
	if f == nil {
		f = newForm(url.Values{"name": {o.Name}, "timeZone": {o.Zone()}})
	}
	return s.render(rq, status, "organization", "Organization", "organization",
		organizationData{Form: f, Zones: commonZones, Zone: o.Zone()})
}

// organizationPage is Settings → Organization: the name, and the time zone
// whose days, weeks and months the analytics use.
func (s *Server) organizationPage(rq *request) error {
	return s.renderOrganization(rq, http.StatusOK, nil)
}

// organizationUpdate saves the name and time zone, as PATCH
// /v1/organization does.
func (s *Server) organizationUpdate(rq *request) error {
	f := newForm(rq.r.PostForm)
	name, zone := f.Get("name"), f.Get("timeZone")
	before, err := s.cfg.Identity.Organization(rq.r.Context(), *rq.p)
	if err != nil {
		return err
	}
	after, err := s.cfg.Identity.UpdateOrganization(rq.r.Context(), *rq.p, domain.OrganizationPatch{Name: &name, TimeZone: &zone})
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
