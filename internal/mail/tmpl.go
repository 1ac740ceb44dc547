package mail

import (
	"fmt"
	"strings"
	"time"
	"unicode/utf8"
)

// The email templates are executed by this small engine rather than by
// text/template and html/template: those look methods up by name through
// reflection (reflect.Value.MethodByName), which makes the linker keep
// every exported method of every type stored in an interface, so a Lambda
// function that renders one email grew from 10 to 17 MB (docs/performance.md,
// "Lambda footprint"). The engine reads the subset of the template language
// the templates use, with the same meaning and output byte for byte
// (TestEngineMatchesTextAndHTMLTemplate):
//
//	{{.Field}}                    a string field of InvitationData
//	{{when .Field}}               a time field, formatted for people
//	{{if .X}} … {{else}} … {{end}} X a string (non-empty) or a bool
//	{{if not .X}} … {{end}}       (.ExpiresAt.IsZero is a bool)
//	{{- and -}}                   trim the white space before/after
//
// Anything else is a parse error (TestTemplatesParse). In an HTML template
// a value is escaped as html/template escapes it in the two contexts the
// templates use: HTML text (and the title's RCDATA), and a double-quoted
// href attribute (filtered to http, https or mailto, normalised as a URL,
// then escaped); a value anywhere else inside a tag, or any script, style
// or comment, is a parse error.

// tnode is one piece of a parsed template: literal text, a value, or a
// condition with its two branches.
type tnode struct {
	text  string
	field string // the value printed, or the condition tested
	when  bool   // print field (a time) with when
	url   bool   // HTML: the value is an href attribute's
	cond  bool   // an if: field is the condition
	not   bool   // the condition is negated
	then  []tnode
	els   []tnode
}

// invitationFields are the names a template may use, with their kinds.
var invitationFields = map[string]byte{
	"OrganizationName": 's', "RecipientName": 's', "InviterName": 's', "AcceptURL": 's',
	"ExpiresAt": 't', "ExpiresAt.IsZero": 'b', "HasLogo": 'b',
}

// value is d's field name: a string, a time.Time or a bool.
func (d InvitationData) value(name string) any {
	switch name {
	case "OrganizationName":
		return d.OrganizationName
	case "RecipientName":
		return d.RecipientName
	case "InviterName":
		return d.InviterName
	case "AcceptURL":
		return d.AcceptURL
	case "ExpiresAt":
		return d.ExpiresAt
	case "ExpiresAt.IsZero":
		return d.ExpiresAt.IsZero()
	case "HasLogo":
		return d.HasLogo()
	}
	panic("mail: unknown field " + name) // parse refuses unknown fields
}

// parseTemplate parses src (html: an HTML template) or panics.
func parseTemplate(name, src string, html bool) []tnode {
	p := &tparser{name: name, src: src, html: html}
	nodes, end := p.list()
	if end != "" {
		p.fail("unexpected {{%s}}", end)
	}
	return nodes
}

type tparser struct {
	name, src string
	html      bool
	pos       int // in src
	trimNext  bool
}

func (p *tparser) fail(format string, args ...any) {
	panic(fmt.Sprintf("mail: template %s: offset %d: %s", p.name, p.pos, fmt.Sprintf(format, args...)))
}

// list parses up to the end of src or to an {{else}} or {{end}}, which it
// returns ("" at the end of src).
func (p *tparser) list() ([]tnode, string) {
	var nodes []tnode
	for {
		i := strings.Index(p.src[p.pos:], "{{")
		text := p.src[p.pos:]
		if i >= 0 {
			text = text[:i]
		}
		start := p.pos + len(text)
		if p.trimNext {
			text = strings.TrimLeft(text, spaces)
		}
		if i < 0 {
			p.pos = len(p.src)
			if text != "" {
				nodes = append(nodes, tnode{text: text})
			}
			return nodes, ""
		}
		closing := strings.Index(p.src[start:], "}}")
		if closing < 0 {
			p.pos = start
			p.fail("unclosed action")
		}
		action := p.src[start+2 : start+closing]
		p.pos = start + closing + 2
		if strings.HasPrefix(action, "- ") {
			text = strings.TrimRight(text, spaces)
			action = action[2:]
		}
		p.trimNext = strings.HasSuffix(action, " -")
		if p.trimNext {
			action = action[:len(action)-2]
		}
		if text != "" {
			nodes = append(nodes, tnode{text: text})
		}
		words := strings.Fields(action)
		switch {
		case len(words) == 1 && (words[0] == "else" || words[0] == "end"):
			return nodes, words[0]
		case len(words) >= 2 && words[0] == "if":
			n := tnode{cond: true}
			w := words[1:]
			if w[0] == "not" {
				n.not, w = true, w[1:]
			}
			if len(w) != 1 {
				p.fail("want {{if [not] .Field}}, got {{%s}}", action)
			}
			n.field = p.field(w[0], 's', 'b')
			p.checkContext(start, false)
			var end string
			n.then, end = p.list()
			if end == "else" {
				n.els, end = p.list()
			}
			if end != "end" {
				p.fail("{{if}} without {{end}}")
			}
			nodes = append(nodes, n)
		case len(words) == 2 && words[0] == "when":
			nodes = append(nodes, tnode{field: p.field(words[1], 't'), when: true, url: p.checkContext(start, true)})
		case len(words) == 1:
			nodes = append(nodes, tnode{field: p.field(words[0], 's'), url: p.checkContext(start, true)})
		default:
			p.fail("unsupported action {{%s}}", action)
		}
	}
}

const spaces = " \t\r\n" // what text/template's trim markers trim

// field checks a reference like ".AcceptURL" against invitationFields.
func (p *tparser) field(ref string, kinds ...byte) string {
	name, ok := strings.CutPrefix(ref, ".")
	kind := invitationFields[name]
	if !ok || kind == 0 || !strings.ContainsRune(string(kinds), rune(kind)) {
		p.fail("%s is not a field of the right kind", ref)
	}
	return name
}

// checkContext returns whether an action at src[at:] that prints a value
// is an href attribute's value; it fails on any context the engine does
// not escape for (HTML templates only).
func (p *tparser) checkContext(at int, prints bool) bool {
	if !p.html {
		return false
	}
	before := p.src[:at]
	for _, bad := range []string{"<script", "<style", "<!--", "<textarea"} {
		if strings.Contains(strings.ToLower(before), bad) {
			p.fail("%s before an action: unsupported", bad)
		}
	}
	if strings.LastIndexByte(before, '<') <= strings.LastIndexByte(before, '>') {
		return false // HTML text
	}
	if prints && strings.HasSuffix(before, ` href="`) && strings.HasPrefix(p.src[p.pos:], `"`) {
		return true
	}
	p.fail("an action inside a tag, other than a whole href=\"…\" value, is unsupported")
	return false
}

// execute writes nodes for d to b, escaping values for HTML when html.
func execute(b *strings.Builder, nodes []tnode, d InvitationData, html bool) {
	for _, n := range nodes {
		switch {
		case n.cond:
			var truth bool
			switch v := d.value(n.field).(type) {
			case string:
				truth = v != ""
			case bool:
				truth = v
			}
			if truth != n.not {
				execute(b, n.then, d, html)
			} else {
				execute(b, n.els, d, html)
			}
		case n.field != "":
			var s string
			if n.when {
				s = when(d.value(n.field).(time.Time))
			} else {
				s = d.value(n.field).(string)
			}
			switch {
			case !html:
				b.WriteString(s)
			case n.url:
				b.WriteString(escapeHTML(normalizeURL(filterURL(s))))
			default:
				b.WriteString(escapeHTML(s))
			}
		default:
			b.WriteString(n.text)
		}
	}
}

// when formats an expiry for people, in UTC.
func when(t time.Time) string { return t.UTC().Format("2 January 2006, 15:04 UTC") }

// escapeHTML is html/template's escaper for HTML text, RCDATA and quoted
// attribute values.
func escapeHTML(s string) string {
	var b strings.Builder
	for i := 0; i < len(s); {
		r, w := utf8.DecodeRuneInString(s[i:])
		switch r {
		case 0:
			b.WriteString("\uFFFD")
		case '"':
			b.WriteString("&#34;")
		case '&':
			b.WriteString("&amp;")
		case '\'':
			b.WriteString("&#39;")
		case '+':
			b.WriteString("&#43;")
		case '<':
			b.WriteString("&lt;")
		case '>':
			b.WriteString("&gt;")
		default:
			b.WriteString(s[i : i+w])
		}
		i += w
	}
	return b.String()
}

// filterURL is html/template's filter for URL attributes: a URL with a
// scheme other than http, https or mailto becomes "#ZgotmplZ".
func filterURL(s string) string {
	if scheme, _, ok := strings.Cut(s, ":"); ok && !strings.Contains(scheme, "/") {
		if !strings.EqualFold(scheme, "http") && !strings.EqualFold(scheme, "https") && !strings.EqualFold(scheme, "mailto") {
			return "#ZgotmplZ"
		}
	}
	return s
}

// normalizeURL is html/template's URL normaliser: every byte but the
// unreserved and reserved characters of RFC 3986 (and valid %-escapes) is
// %-encoded, quotes and parentheses included.
func normalizeURL(s string) string {
	var b strings.Builder
	for i := 0; i < len(s); i++ {
		c := s[i]
		switch {
		case 'a' <= c && c <= 'z', 'A' <= c && c <= 'Z', '0' <= c && c <= '9',
			strings.IndexByte("!#$&*+,/:;=?@[]-._~", c) >= 0,
			c == '%' && i+2 < len(s) && isHex(s[i+1]) && isHex(s[i+2]):
			b.WriteByte(c)
		default:
			fmt.Fprintf(&b, "%%%02x", c)
		}
	}
	return b.String()
}

func isHex(c byte) bool {
	return '0' <= c && c <= '9' || 'a' <= c && c <= 'f' || 'A' <= c && c <= 'F'
}
