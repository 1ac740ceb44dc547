package web

import (
	"bytes"
	"fmt"
	"os"
	"sort"
	"strings"
	"sync"
	"testing"

	"golang.org/x/net/html"
)

// While the pages move from html/template to templ, every page a test of
// this package renders with templ is rendered with html/template too and
// the two documents compared (parsed, whitespace normalised as a browser
// lays it out): a converted page must show users exactly what it did.
var engineDiffs = struct {
	sync.Mutex
	seen map[string]int
	errs []string
}{seen: map[string]int{}}

func TestMain(m *testing.M) {
	engineCheck = func(page string, templ, template []byte, err error) {
		engineDiffs.Lock()
		defer engineDiffs.Unlock()
		engineDiffs.seen[page]++
		if err != nil {
			engineDiffs.errs = append(engineDiffs.errs, fmt.Sprintf("%s: html/template: %v", page, err))
			return
		}
		a, b := canonicalDOM(templ), canonicalDOM(template)
		if a != b && engineDiffs.seen[page+" differs"] == 0 {
			engineDiffs.seen[page+" differs"]++
			i := 0
			for i < len(a) && i < len(b) && a[i] == b[i] {
				i++
			}
			from := max(0, i-300)
			engineDiffs.errs = append(engineDiffs.errs, fmt.Sprintf("%s differs at %d:\n templ: …%s…\n  html: …%s…", page, i, a[from:min(len(a), i+200)], b[from:min(len(b), i+200)]))
		}
	}
	code := m.Run()
	if len(engineDiffs.errs) > 0 {
		for _, e := range engineDiffs.errs[:min(len(engineDiffs.errs), 8)] {
			fmt.Fprintln(os.Stderr, e)
		}
		fmt.Fprintf(os.Stderr, "FAIL: %d renderings differ between templ and html/template\n", len(engineDiffs.errs))
		code = 1
	}
	if os.Getenv("ENGINE_PAGES") != "" {
		var pages []string
		for p, n := range engineDiffs.seen {
			pages = append(pages, fmt.Sprintf("%s:%d", p, n))
		}
		sort.Strings(pages)
		fmt.Fprintln(os.Stderr, "compared:", strings.Join(pages, " "))
	}
	os.Exit(code)
}

var inline = map[string]bool{"a": true, "span": true, "strong": true, "b": true, "i": true, "em": true, "code": true,
	"button": true, "input": true, "label": true, "img": true, "select": true, "small": true}

// canonicalDOM writes the document parsed from b: elements with their
// attributes sorted, text with runs of whitespace as one space, whitespace
// that does not render (next to a block's edge) dropped.
func canonicalDOM(b []byte) string {
	doc, err := html.Parse(bytes.NewReader(b))
	if err != nil {
		return "parse error: " + err.Error()
	}
	var out strings.Builder
	var walk func(n *html.Node)
	isInline := func(n *html.Node) bool {
		if n != nil && n.Type == html.ElementNode && n.Data == "input" {
			for _, a := range n.Attr {
				if a.Key == "type" && a.Val == "hidden" {
					return false // not laid out: the spaces around it are one
				}
			}
		}
		return n != nil && (n.Type == html.TextNode || n.Type == html.ElementNode && inline[n.Data])
	}
	walk = func(n *html.Node) {
		switch n.Type {
		case html.TextNode:
			t := strings.Join(strings.FieldsFunc(n.Data, isSpace), " ")
			if t == "" {
				if n.Data != "" && isInline(n.PrevSibling) && isInline(n.NextSibling) {
					out.WriteString("␣")
				}
				return
			}
			if n.Data[0] == ' ' || n.Data[0] == '\n' || n.Data[0] == '\t' {
				if isInline(n.PrevSibling) {
					out.WriteString("␣")
				}
			}
			out.WriteString(t)
			if last := n.Data[len(n.Data)-1]; last == ' ' || last == '\n' || last == '\t' {
				if isInline(n.NextSibling) {
					out.WriteString("␣")
				}
			}
			return
		case html.ElementNode:
			attrs := make([]string, len(n.Attr))
			for i, a := range n.Attr {
				attrs[i] = fmt.Sprintf("%s=%q", a.Key, a.Val)
			}
			sort.Strings(attrs)
			out.WriteString("<" + n.Data)
			for _, a := range attrs {
				out.WriteString(" " + a)
			}
			out.WriteString(">")
		case html.DoctypeNode:
			out.WriteString("<!doctype " + n.Data + ">")
		}
		for c := n.FirstChild; c != nil; c = c.NextSibling {
			walk(c)
		}
		if n.Type == html.ElementNode {
			out.WriteString("</" + n.Data + ">")
		}
	}
	walk(doc)
	return out.String()
}

// isSpace is HTML's ASCII whitespace (a no-break space is text).
func isSpace(r rune) bool { return r == ' ' || r == '\n' || r == '\t' || r == '\r' || r == '\f' }
