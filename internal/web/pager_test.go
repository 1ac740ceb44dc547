package web

import (
	"net/http/httptest"
	"testing"
)

// A list's "First page" link keeps the filters and drops only the page.
func TestPagerFirstPageKeepsTheFilters(t *testing.T) {
	rq := &request{r: httptest.NewRequest("GET", "/referrals?status=pending&q=jane&cursor=abc", nil)}
	pg := newPager(rq, "def")
	if want := "/referrals?q=jane&status=pending"; pg.FirstPage != want {
		t.Errorf("first page = %q, want %q", pg.FirstPage, want)
	}
	if want := "/referrals?cursor=def&q=jane&status=pending"; pg.Next != want {
		t.Errorf("next page = %q, want %q", pg.Next, want)
	}
	if got := newPager(&request{r: httptest.NewRequest("GET", "/tiers?cursor=abc", nil)}, "").FirstPage; got != "/tiers" {
		t.Errorf("first page without filters = %q, want /tiers", got)
	}
}
