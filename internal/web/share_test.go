package web

import (
	"net/url"
	"strings"
	"testing"

	"github.com/partnerloop/partnerloop/internal/portal"
)

func TestShareLinksEscapeTheLinkAndText(t *testing.T) {
	link := "https://go.example/r/AB12?x=1&y=2"
	s := shareLinks(portal.Link{ProgramName: "Q&A <Program> #1", Link: link})
	for name, u := range map[string]string{"X": s.X, "LinkedIn": s.LinkedIn} {
		p, err := url.Parse(u)
		if err != nil || p.Scheme != "https" {
			t.Fatalf("%s: %q", name, u)
		}
		if got := p.Query().Get("url"); got != link {
			t.Errorf("%s url = %q, want %q", name, got, link)
		}
	}
	if got, _ := url.Parse(s.X); got.Query().Get("text") != "Check out Q&A <Program> #1" {
		t.Errorf("X text: %q", got.Query().Get("text"))
	}
	if strings.ContainsAny(strings.TrimPrefix(s.Mailto, "mailto:"), " <>#+") {
		t.Errorf("mailto not escaped: %q", s.Mailto)
	}
	m, err := url.Parse(s.Mailto)
	if err != nil || !strings.Contains(m.Query().Get("body"), link) {
		t.Errorf("mailto body lacks the link: %q", s.Mailto)
	}
}
