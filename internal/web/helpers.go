package web

import (
	"fmt"
	"slices"
	"strings"
	"time"

	"github.com/a-h/templ"

	"github.com/partnerloop/partnerloop/internal/domain"
)

// The pages' formatting helpers: money in the organization's locale,
// instants as dates and times in its time zone ("7 Dec 2026", "7 Dec 2026
// 13:04 CET"), as its analytics and list date filters count days.

func (v view) money(m domain.Money) string { return v.fm.Format(m) }

func (v view) moneyp(m *domain.Money) string {
	if m == nil {
		return "—"
	}
	return v.fm.Format(*m)
}

func (v view) moneys(ms []domain.Money) string { return v.fm.Join(ms) }

// moneysOr is ms, or — when ms is empty — zero in the first currency of
// the others ("$0.00" next to "$4,800.00" pending, not a bare "0").
func (v view) moneysOr(ms []domain.Money, others ...[]domain.Money) string {
	if len(ms) == 0 {
		for _, o := range others {
			if len(o) > 0 {
				return v.fm.Format(domain.Money{Currency: o[0].Currency})
			}
		}
	}
	return v.fm.Join(ms)
}

func (v view) ruleText(r domain.CommissionRule, currency string) string {
	return ruleText(v.fm, r, currency)
}

func (v view) date(t time.Time) string {
	if t.IsZero() {
		return "—"
	}
	return t.In(v.zone).Format("2 Jan 2006")
}

func (v view) datep(t *time.Time) string {
	if t == nil {
		return "—"
	}
	return v.date(*t)
}

func (v view) datetime(t time.Time) string { return t.In(v.zone).Format("2 Jan 2006 15:04 MST") }

// dayText and daypText tell a calendar date (a program's start and end, a
// deal's expected close), stored as midnight UTC of that day, so not
// moved into the organization's time zone.
func dayText(t time.Time) string { return t.UTC().Format("2 Jan 2006") }

func daypText(t *time.Time) string {
	if t == nil {
		return "—"
	}
	return dayText(*t)
}

// titleText is a status or kind for people: "partially_paid" → "Partially paid".
func titleText(v any) string {
	s := strings.ReplaceAll(fmt.Sprint(v), "_", " ")
	if s == "" {
		return s
	}
	return strings.ToUpper(s[:1]) + s[1:]
}

// str is any value as the pages print it.
func str(v any) string { return fmt.Sprint(v) }

// The URLs in attributes, escaped as html/template escaped them: a URL
// built of a fixed start and values; hrefURL when a value starts it.

// pathURL is s in a URL's path: characters a URL may not hold are
// percent-encoded, the rest kept.
func pathURL(s string) string { return processURL(s, true) }

// queryURL is s in a URL's query or fragment: everything but unreserved
// characters percent-encoded.
func queryURL(s string) string { return processURL(s, false) }

// safe marks a URL built by the helpers above as checked.
func safe(parts ...string) templ.SafeURL { return templ.SafeURL(strings.Join(parts, "")) }

// hrefURL is a URL that comes whole from data: one with a scheme other
// than http, https or mailto is refused ("#ZgotmplZ", as html/template).
func hrefURL(s string) templ.SafeURL {
	if i := strings.IndexByte(s, ':'); i >= 0 && !strings.Contains(s[:i], "/") {
		switch strings.ToLower(s[:i]) {
		case "http", "https", "mailto":
		default:
			return "#ZgotmplZ"
		}
	}
	return templ.SafeURL(pathURL(s))
}

func processURL(s string, norm bool) string {
	var b strings.Builder
	for i := 0; i < len(s); i++ {
		c := s[i]
		switch c {
		case '!', '#', '$', '&', '*', '+', ',', '/', ':', ';', '=', '?', '@', '[', ']':
			if norm {
				b.WriteByte(c)
				continue
			}
		case '-', '.', '_', '~':
			b.WriteByte(c)
			continue
		case '%':
			if norm {
				b.WriteByte(c)
				continue
			}
		default:
			if 'a' <= c && c <= 'z' || 'A' <= c && c <= 'Z' || '0' <= c && c <= '9' {
				b.WriteByte(c)
				continue
			}
		}
		fmt.Fprintf(&b, "%%%02x", c)
	}
	return b.String()
}

// ifs is a when c, else b.
func ifs(c bool, a, b string) string {
	if c {
		return a
	}
	return b
}

// orName is names[key], or fallback when it has none.
func orName(names map[string]string, key, fallback string) string {
	if n := names[key]; n != "" {
		return n
	}
	return fallback
}

// sortedKeys are m's keys in order (as html/template ranged over a map).
func sortedKeys(m map[string]string) []string {
	keys := make([]string, 0, len(m))
	for k := range m {
		keys = append(keys, k)
	}
	slices.Sort(keys)
	return keys
}

// partnerAction is the partner form's target: the partner's page, or the
// list when adding one.
func partnerAction(p *domain.Partner) templ.SafeURL {
	if p == nil {
		return "/partners"
	}
	return safe("/partners/", pathURL(p.ID))
}

// programAction is the program form's target: the program's page, or the
// list when creating one.
func programAction(p *domain.Program) templ.SafeURL {
	if p == nil {
		return "/programs"
	}
	return safe("/programs/", pathURL(p.ID))
}

// agreementType is the input type of an agreement row's member.
func agreementType(m string) string {
	switch m {
	case "signedAt":
		return "date"
	case "url":
		return "url"
	}
	return "text"
}

// sortArrow marks the column a list is sorted by.
func sortArrow(aria string) string {
	switch aria {
	case "ascending":
		return " ▲"
	case "descending":
		return " ▼"
	}
	return ""
}

// accessText says a partner's portal access status.
func accessText(status string) string {
	switch status {
	case "none":
		return "Not invited"
	case "invited":
		return "Invited, not accepted yet"
	case "active":
		return "Active"
	}
	return "Revoked"
}

// inviteLabel is the invitation button's label for a portal access status.
func inviteLabel(status string) string {
	switch status {
	case "none":
		return "Invite to portal"
	case "active":
		return "Send a new invitation"
	}
	return "Resend invitation"
}

// wonAt is " · won at $…" for a won deal's value, "" for none.
func wonAt(v view, m *domain.Money) string {
	if m == nil {
		return ""
	}
	return " · won at " + v.money(*m)
}
