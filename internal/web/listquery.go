package web

// Shared list machinery of the staff lists that scale (referrals,
// conversions, referrers, and the lists that follow them): one query
// type for search, date range and sort (listQuery), one filter bar, one
// sortable column header, one "N matching" line with the CSV export
// link (partials.templ: listFiltersC, sortThC, listCountC),
// one way to read the page of rows for any order (listRows) and one CSV
// writer (sendListCSV).
//
// The order rule is the same whatever the store: the store's own order
// (newest first) always works, page after page through its cursor; any
// other order reads every matching row and sorts them in memory, which
// only happens when at most maxSortRows match — past that the page says
// to narrow the filter and stays newest first. DynamoDB cannot sort an
// unbounded set by anything but its key order, and the UI must not
// differ by store.

import (
	"encoding/csv"
	"errors"
	"io"
	"net/url"
	"slices"
	"strings"
	"time"

	"github.com/partnerloop/partnerloop/internal/domain"
	"github.com/partnerloop/partnerloop/internal/ledger"
	"github.com/partnerloop/partnerloop/internal/store"
)

const (
	// maxSortRows is the most rows sorted in memory by a column other
	// than the store's order.
	maxSortRows = 1000
	// countCap is where a total count stops ("10,000+").
	countCap = 10000
	// maxExportRows bounds one CSV export; more is refused with a message.
	maxExportRows = 50000
)

// sortCol is a sortable column of a list.
type sortCol struct {
	Key, Label string
	// Desc: the column's first click sorts descending (dates, figures).
	Desc bool
	// Num: a numeric column (right-aligned).
	Num bool
}

// listSpec describes one list page.
type listSpec struct {
	Path        string // "/referrals"
	Noun, Nouns string // "referral", "referrals"
	// SearchHint is the search box's placeholder: what a term matches.
	SearchHint string
	// DateLabel names what from/to bound ("Referred", "Occurred").
	DateLabel string
	// Cols are the sortable columns. Cols[0] is the store's order, newest
	// first (its date), the default.
	Cols []sortCol
	// Keep are the page's other query parameters (program, status…):
	// kept by the sort links, the export link and the pager.
	Keep []string
}

// listQuery is a list page's query string, parsed and checked.
type listQuery struct {
	Spec listSpec
	// Form holds the filter bar's values and problems.
	Form *Form
	// Search is the normalised term (domain.SearchTerm); "" matches all.
	Search string
	// From and To bound the list's date: [From, To), whole days of the
	// organization's time zone (the to date is inclusive on the page).
	// Zero: open.
	From, To time.Time
	Sort     string
	Desc     bool

	// Filled by the page: the count of the active filter (More: capped
	// at countCap), why the order asked for is not applied (Note), and
	// the pager.
	Total int
	More  bool
	Note  string
	Pager pager

	values url.Values
}

// parseListQuery reads q for the list spec describes, in the organization's
// time zone loc. Bad values are on lq.Form (lq.Valid() is false), for the
// page to show instead of rows.
func parseListQuery(q url.Values, loc *time.Location, spec listSpec) *listQuery {
	lq := &listQuery{Spec: spec, Form: newForm(q), values: q, Search: domain.SearchTerm(q.Get("q"))}
	f := lq.Form
	for _, b := range []struct {
		name string
		t    *time.Time
		days int
	}{{"from", &lq.From, 0}, {"to", &lq.To, 1}} {
		s := strings.TrimSpace(q.Get(b.name))
		if s == "" {
			continue
		}
		d, err := time.ParseInLocation(time.DateOnly, s, loc)
		if err != nil {
			f.add(b.name, "must be a date (YYYY-MM-DD)")
			continue
		}
		*b.t = d.AddDate(0, 0, b.days)
	}
	if !lq.From.IsZero() && !lq.To.IsZero() && !lq.To.After(lq.From) {
		f.add("to", "must be on or after the from date")
	}
	lq.Sort, lq.Desc = spec.Cols[0].Key, spec.Cols[0].Desc
	if s := q.Get("sort"); s != "" {
		i := slices.IndexFunc(spec.Cols, func(c sortCol) bool { return c.Key == s })
		if i < 0 {
			keys := make([]string, len(spec.Cols))
			for j, c := range spec.Cols {
				keys[j] = c.Key
			}
			f.add("sort", "must be one of "+strings.Join(keys, ", "))
		} else {
			lq.Sort, lq.Desc = s, spec.Cols[i].Desc
		}
	}
	switch q.Get("dir") {
	case "":
	case "asc":
		lq.Desc = false
	case "desc":
		lq.Desc = true
	default:
		f.add("dir", "must be asc or desc")
	}
	if len(f.Errors) > 0 {
		f.Message = filterProblems(f)
	}
	return lq
}

// Valid reports whether the query has no problem.
func (lq *listQuery) Valid() bool { return len(lq.Form.Errors) == 0 }

// storeOrder reports whether the rows come in the store's order (newest
// first), page by page through its cursor.
func (lq *listQuery) storeOrder() bool { return lq.Sort == lq.Spec.Cols[0].Key && lq.Desc }

// link is the list's URL with the active filters, changed by set (a ""
// value drops a parameter); the page position always goes.
func (lq *listQuery) link(path string, set map[string]string) string {
	out := url.Values{}
	for _, k := range append([]string{"q", "from", "to", "sort", "dir"}, lq.Spec.Keep...) {
		if v := strings.TrimSpace(lq.values.Get(k)); v != "" {
			out.Set(k, v)
		}
	}
	for k, v := range set {
		if v == "" {
			out.Del(k)
		} else {
			out.Set(k, v)
		}
	}
	if len(out) == 0 {
		return path
	}
	return path + "?" + out.Encode()
}

// ExportURL is the CSV export of the active filters ("" when the query is
// invalid or nothing matches).
func (lq *listQuery) ExportURL() string {
	if !lq.Valid() || lq.Total == 0 {
		return ""
	}
	return lq.link(lq.Spec.Path+".csv", map[string]string{"sort": "", "dir": ""})
}

// Hidden are the query parameters the filter bar keeps without showing
// them: the sort, and the page's kept parameters it has no field for.
func (lq *listQuery) Hidden(shown ...string) map[string]string {
	out := map[string]string{}
	for _, k := range append([]string{"sort", "dir"}, lq.Spec.Keep...) {
		if v := lq.values.Get(k); v != "" && !slices.Contains(shown, k) {
			out[k] = v
		}
	}
	return out
}

// CountText is the "N matching" line.
func (lq *listQuery) CountText() string {
	n := itoa(lq.Total)
	if lq.More {
		n = itoa(countCap) + "+"
	}
	noun := lq.Spec.Nouns
	if lq.Total == 1 && !lq.More {
		noun = lq.Spec.Noun
	}
	return n + " matching " + noun
}

// setCount records the count of the active filter (n is capped at
// countCap by the store; more says there are others).
func (lq *listQuery) setCount(n int, more bool) { lq.Total, lq.More = n, more }

// sortHeader is what the sort-th partial renders.
type sortHeader struct {
	Label, URL string
	// Aria is the column's aria-sort ("" when the list is not sorted by it).
	Aria string
	Num  bool
}

// Col is the header of sortable column key: a link sorting by it (the
// other direction when it is the active sort), with aria-sort.
func (lq *listQuery) Col(key string) sortHeader {
	i := slices.IndexFunc(lq.Spec.Cols, func(c sortCol) bool { return c.Key == key })
	if i < 0 {
		return sortHeader{Label: key}
	}
	c := lq.Spec.Cols[i]
	h := sortHeader{Label: c.Label, Num: c.Num}
	desc := c.Desc
	if lq.Sort == key {
		h.Aria = "ascending"
		if lq.Desc {
			h.Aria = "descending"
		}
		desc = !lq.Desc
	}
	dir := "asc"
	if desc {
		dir = "desc"
	}
	set := map[string]string{"sort": key, "dir": dir}
	if i == 0 && desc { // the default order: a clean URL
		set = map[string]string{"sort": "", "dir": ""}
	}
	h.URL = lq.link(lq.Spec.Path, set)
	return h
}

// listBarArgs is what the list-filters partial renders: the query and
// the page's own filter fields, between the search box and the dates.
type listBarArgs struct {
	List   *listQuery
	Extra  []fieldArgs
	Hidden map[string]string
}

// listBar builds the filter bar's arguments (for listFiltersC).
func listBar(lq *listQuery, extra ...fieldArgs) listBarArgs {
	shown := make([]string, len(extra))
	for i, e := range extra {
		shown[i] = e.Name
	}
	return listBarArgs{List: lq, Extra: extra, Hidden: lq.Hidden(shown...)}
}

// listFetch reads one page of the rows matching the filter, in the
// store's order (newest first).
type listFetch[T any] func(store.Page) ([]T, string, error)

// listRows returns the page of rows the query asks for: in the store's
// order, one page through its cursor; in another order (cmps: each
// column's ascending comparison), every matching row read and sorted,
// when at most maxSortRows match (the count must be set), paged by
// ?page=; else the store's order and a note saying to narrow the filter.
func listRows[T any](rq *request, lq *listQuery, fetch listFetch[T], cmps map[string]func(a, b T) int) ([]T, error) {
	cmp := cmps[lq.Sort]
	if !lq.storeOrder() && cmp != nil {
		if lq.More || lq.Total > maxSortRows {
			lq.Note = "Sorting by " + strings.ToLower(lq.Col(lq.Sort).Label) + " works on at most " + itoa(maxSortRows) + " matching " +
				lq.Spec.Nouns + ": narrow the search or the dates. Showing the newest first."
		} else {
			all, err := readAll(fetch, maxSortRows)
			if err != nil {
				return nil, err
			}
			slices.SortStableFunc(all, func(a, b T) int {
				if lq.Desc {
					return cmp(b, a)
				}
				return cmp(a, b)
			})
			return pageOf(rq, lq, all), nil
		}
	}
	rows, next, err := fetch(listPage(rq))
	if err != nil {
		return nil, err
	}
	lq.Pager = newPager(rq, next)
	return rows, nil
}

// pageOf is page ?page=N of rows sorted in memory, with its pager.
func pageOf[T any](rq *request, lq *listQuery, rows []T) []T {
	q := rq.r.URL.Query()
	n := max(1, atoiOr(q.Get("page"), 1))
	from := min((n-1)*pageSize, len(rows))
	to := min(from+pageSize, len(rows))
	if to < len(rows) {
		lq.Pager.Next = lq.link(lq.Spec.Path, map[string]string{"page": itoa(n + 1)})
	}
	if n > 1 {
		lq.Pager.Cursor = itoa(n)
		lq.Pager.FirstPage = lq.link(lq.Spec.Path, nil)
	}
	return rows[from:to]
}

// errTooMany: more rows match than a bounded read takes.
var errTooMany = errors.New("web: too many rows")

// readAll reads every row fetch lists, page after page, or errTooMany past
// limit rows.
func readAll[T any](fetch listFetch[T], limit int) ([]T, error) {
	var all []T
	page := store.Page{Limit: store.MaxLimit}
	for {
		rows, next, err := fetch(page)
		if err != nil {
			return nil, err
		}
		all = append(all, rows...)
		if len(all) > limit {
			return nil, errTooMany
		}
		if next == "" {
			return all, nil
		}
		page.Cursor = next
	}
}

// csvCell is a CSV cell as exported: numbers as they are, any other text
// neutralised against spreadsheet formula injection (ledger.Neutralize).
func csvCell(s string) string { return ledger.Cell(s) }

// csvMoney is an amount in major units for a CSV cell ("" when none).
func csvMoney(m *domain.Money) string {
	if m == nil {
		return ""
	}
	return ledger.Amount(*m)
}

// csvTime is a time in the organization's zone, RFC 3339, for a CSV cell.
func csvTime(t time.Time, loc *time.Location) string {
	if t.IsZero() {
		return ""
	}
	return t.In(loc).Format(time.RFC3339)
}

// sendListCSV answers with the CSV file of every row matching the list's
// filters, read page after page in the store's order: header, then row's
// cells for each, every cell through csvCell. More than maxExportRows is
// errTooMany, before any byte is sent.
func sendListCSV[T any](rq *request, filename string, header []string, fetch listFetch[T], row func(T) []string) error {
	return sendCSV(rq, filename, func(out io.Writer) error {
		w := csv.NewWriter(out)
		if err := w.Write(header); err != nil {
			return err
		}
		n := 0
		page := store.Page{Limit: store.MaxLimit}
		for {
			rows, next, err := fetch(page)
			if err != nil {
				return err
			}
			for _, r := range rows {
				if n++; n > maxExportRows {
					return errTooMany
				}
				cells := row(r)
				for i := range cells {
					cells[i] = csvCell(cells[i])
				}
				if err := w.Write(cells); err != nil {
					return err
				}
			}
			if next == "" {
				break
			}
			page.Cursor = next
		}
		w.Flush()
		return w.Error()
	})
}

// exportTooBig is the message of an export refused by errTooMany.
func exportTooBig(lq *listQuery) string {
	return "More than " + itoa(maxExportRows) + " " + lq.Spec.Nouns + " match: narrow the search or the dates to export them."
}
