package web

import (
	"cmp"
	"encoding/csv"
	"net/http/httptest"
	"net/url"
	"strings"
	"testing"
	"time"

	"github.com/partnerloop/partnerloop/internal/store"
)

var testSpec = listSpec{
	Path: "/things", Noun: "thing", Nouns: "things", SearchHint: "Name or e-mail", DateLabel: "Created",
	Cols: []sortCol{{Key: "created", Label: "Created", Desc: true}, {Key: "name", Label: "Name"}, {Key: "n", Label: "N", Desc: true, Num: true}},
	Keep: []string{"programId"},
}

func parseTest(t *testing.T, raw string) *listQuery {
	t.Helper()
	q, err := url.ParseQuery(raw)
	if err != nil {
		t.Fatal(err)
	}
	loc, _ := time.LoadLocation("Europe/Berlin")
	return parseListQuery(q, loc, testSpec)
}

func TestListQueryParsesSearchDatesAndSort(t *testing.T) {
	lq := parseTest(t, "q=+Jane++DOE+&from=2026-03-01&to=2026-03-31&sort=name&dir=desc&programId=p1")
	if !lq.Valid() {
		t.Fatalf("problems: %v", lq.Form.Errors)
	}
	if lq.Search != "jane doe" {
		t.Errorf("search = %q", lq.Search)
	}
	// Whole days of the organization's zone, the to date inclusive.
	if want := time.Date(2026, 2, 28, 23, 0, 0, 0, time.UTC); !lq.From.Equal(want) {
		t.Errorf("from = %v, want %v", lq.From.UTC(), want)
	}
	if want := time.Date(2026, 3, 31, 22, 0, 0, 0, time.UTC); !lq.To.Equal(want) {
		t.Errorf("to = %v, want %v (the end of 31 March, summer time)", lq.To.UTC(), want)
	}
	if lq.Sort != "name" || !lq.Desc {
		t.Errorf("sort = %s desc %v", lq.Sort, lq.Desc)
	}
	// The default: the first column, its own direction.
	if d := parseTest(t, ""); d.Sort != "created" || !d.Desc || !d.storeOrder() || !d.From.IsZero() {
		t.Errorf("default = %+v", d)
	}
	if d := parseTest(t, "sort=name"); d.Desc || d.storeOrder() {
		t.Errorf("sort=name: desc %v", d.Desc)
	}
}

func TestListQueryRefusesBadValuesWithAMessage(t *testing.T) {
	for raw, field := range map[string]string{
		"from=2026-13-01":               "from",
		"to=yesterday":                  "to",
		"from=2026-03-02&to=2026-03-01": "to",
		"sort=password":                 "sort",
		"dir=sideways":                  "dir",
	} {
		lq := parseTest(t, raw)
		if lq.Valid() || lq.Form.Err(field) == "" || !strings.Contains(lq.Form.Message, "not valid") {
			t.Errorf("%s: errors %v, message %q", raw, lq.Form.Errors, lq.Form.Message)
		}
	}
	if lq := parseTest(t, "from=2026-03-01&to=2026-03-01"); !lq.Valid() {
		t.Errorf("a one-day range is valid: %v", lq.Form.Errors)
	}
}

func TestListQueryLinks(t *testing.T) {
	lq := parseTest(t, "q=jane&sort=name&programId=p1&cursor=abc&page=3&other=x")
	h := lq.Col("name")
	if h.Aria != "ascending" || h.URL != "/things?dir=desc&programId=p1&q=jane&sort=name" {
		t.Errorf("active column: %+v", h)
	}
	if h := lq.Col("n"); h.Aria != "" || !h.Num || h.URL != "/things?dir=desc&programId=p1&q=jane&sort=n" {
		t.Errorf("other column: %+v", h)
	}
	// Back to the default order: a URL without sort.
	if h := lq.Col("created"); h.URL != "/things?programId=p1&q=jane" {
		t.Errorf("default column: %+v", h)
	}
	lq.setCount(3, false)
	if got := lq.ExportURL(); got != "/things.csv?programId=p1&q=jane" {
		t.Errorf("export = %q", got)
	}
	if got := lq.Hidden("programId"); len(got) != 1 || got["sort"] != "name" {
		t.Errorf("hidden = %v", got)
	}
	if got := lq.CountText(); got != "3 matching things" {
		t.Errorf("count = %q", got)
	}
	lq.setCount(countCap, true)
	if got := lq.CountText(); got != "10,000+ matching things" {
		t.Errorf("count = %q", got)
	}
	lq.setCount(1, false)
	if got := lq.CountText(); got != "1 matching thing" {
		t.Errorf("count = %q", got)
	}
	lq.setCount(0, false)
	if lq.ExportURL() != "" {
		t.Error("nothing to export, yet a link")
	}
}

type row struct {
	id   string
	name string
}

// fakeFetch pages through rows (newest first) as a store would.
func fakeFetch(rows []row) listFetch[row] {
	return func(p store.Page) ([]row, string, error) {
		p = p.Clamp()
		from := atoiOr(p.Cursor, 0)
		to := min(from+p.Limit, len(rows))
		next := ""
		if to < len(rows) {
			next = itoa(to)
		}
		return rows[from:to], next, nil
	}
}

func rowsOf(n int) []row {
	rows := make([]row, n)
	for i := range rows {
		rows[i] = row{id: string(rune('a' + i%26)), name: strings.Repeat("z", n-i)}
	}
	return rows
}

var rowCmps = map[string]func(a, b row) int{"name": func(a, b row) int { return cmp.Compare(a.name, b.name) }}

func TestListRowsSortsInMemoryUpToTheLimit(t *testing.T) {
	rows := rowsOf(60)
	rq := &request{r: httptest.NewRequest("GET", "/things?sort=name&page=2", nil)}
	lq := parseListQuery(rq.r.URL.Query(), time.UTC, testSpec)
	lq.setCount(len(rows), false)
	got, err := listRows(rq, lq, fakeFetch(rows), rowCmps)
	if err != nil {
		t.Fatal(err)
	}
	if len(got) != pageSize || got[0].name != strings.Repeat("z", pageSize+1) || lq.Note != "" {
		t.Fatalf("page 2 sorted by name: %d rows, first %q, note %q", len(got), got[0].name, lq.Note)
	}
	if lq.Pager.Next != "/things?page=3&sort=name" || lq.Pager.FirstPage != "/things?sort=name" {
		t.Errorf("pager %+v", lq.Pager)
	}
	// Past the limit: the store's order and a note.
	lq = parseListQuery(rq.r.URL.Query(), time.UTC, testSpec)
	lq.setCount(maxSortRows+1, false)
	rq = &request{r: httptest.NewRequest("GET", "/things?sort=name", nil)}
	got, err = listRows(rq, lq, fakeFetch(rows), rowCmps)
	if err != nil {
		t.Fatal(err)
	}
	if got[0] != rows[0] || !strings.Contains(lq.Note, "narrow") || lq.Pager.Next == "" {
		t.Errorf("over the limit: first %v, note %q, pager %+v", got[0], lq.Note, lq.Pager)
	}
}

func TestSendListCSVNeutralisesAndBounds(t *testing.T) {
	rec := httptest.NewRecorder()
	rq := &request{w: rec, r: httptest.NewRequest("GET", "/things.csv", nil)}
	rows := []row{{"1", "=HYPERLINK(\"x\")"}, {"-2.50", "@me"}, {"3", "plain"}}
	err := sendListCSV(rq, "things.csv", []string{"id", "name"}, fakeFetch(rows), func(r row) []string { return []string{r.id, r.name} })
	if err != nil {
		t.Fatal(err)
	}
	recs, err := csv.NewReader(rec.Body).ReadAll()
	if err != nil {
		t.Fatal(err)
	}
	want := [][]string{{"id", "name"}, {"1", "'=HYPERLINK(\"x\")"}, {"-2.50", "'@me"}, {"3", "plain"}}
	if len(recs) != len(want) {
		t.Fatalf("csv = %q", recs)
	}
	for i := range want {
		if strings.Join(recs[i], "|") != strings.Join(want[i], "|") {
			t.Errorf("row %d = %q, want %q", i, recs[i], want[i])
		}
	}
	if rec.Header().Get("Content-Disposition") != `attachment; filename="things.csv"` {
		t.Errorf("headers %v", rec.Header())
	}
	rec = httptest.NewRecorder()
	rq.w = rec
	err = sendListCSV(rq, "x.csv", []string{"id"}, fakeFetch(make([]row, maxExportRows+1)), func(r row) []string { return []string{r.id} })
	if err != errTooMany || rec.Body.Len() != 0 {
		t.Errorf("over the bound: err %v, %d bytes sent", err, rec.Body.Len())
	}
}
