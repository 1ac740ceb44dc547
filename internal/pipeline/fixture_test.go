package pipeline

import (
	"context"
	"fmt"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/partnerloop/partnerloop/internal/commission"
	"github.com/partnerloop/partnerloop/internal/domain"
	"github.com/partnerloop/partnerloop/internal/store"
	"github.com/partnerloop/partnerloop/internal/store/sqlite"
	"github.com/partnerloop/partnerloop/internal/tracking"
)

// start is the fake clock's first reading.
var start = time.Date(2026, 3, 15, 12, 0, 0, 0, time.UTC)

type fakeClock struct {
	mu  sync.Mutex
	now time.Time
}

func (c *fakeClock) Now() time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.now
}

func (c *fakeClock) Advance(d time.Duration) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.now = c.now.Add(d)
}

// fixture is one organization with one live program and one referrer on a
// fresh SQLite store, the tracking service that records conversions, and
// the embedded pipeline with fast retries.
type fixture struct {
	t        testing.TB
	ctx      context.Context
	st       *sqlite.Store
	clock    *fakeClock
	track    *tracking.Service
	calc     *Calculator
	emb      *Embedded
	org      string
	program  domain.Program
	referrer domain.Referrer

	mu     sync.Mutex
	events []Message // notifications acknowledged by the events worker
	n      int       // conversions recorded
}

func pct(bps int64) domain.CommissionRule {
	return domain.CommissionRule{Type: domain.RulePercentage, RateBps: &bps}
}

func i64(v int64) *int64 { return &v }

func newFixture(t testing.TB, rule domain.CommissionRule) *fixture {
	t.Helper()
	st, err := sqlite.Open(filepath.Join(t.TempDir(), "pipeline.db"))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { st.Close() })
	f := &fixture{t: t, ctx: context.Background(), st: st, clock: &fakeClock{now: start}, org: "org_1"}
	var idMu sync.Mutex
	seq := 0
	ids := func(prefix string) string {
		idMu.Lock()
		defer idMu.Unlock()
		seq++
		return fmt.Sprintf("%s_%026d", prefix, seq)
	}
	f.track = tracking.New(st, f.clock.Now, ids)
	if err := st.CreateOrganization(f.ctx, domain.Organization{ID: f.org, Name: "Acme", CreatedAt: start}); err != nil {
		t.Fatal(err)
	}
	spec := domain.ProgramSpec{
		Name: "Spring", LandingURL: "https://example.com/", Currency: "USD", StartsAt: start.AddDate(0, -1, 0),
		AttributionWindowDays: 30, QualifyingEvents: []string{domain.EventSignup, domain.EventPurchase},
		Commission: rule, HoldDays: 30,
	}
	if err := spec.Validate(); err != nil {
		t.Fatalf("program spec: %v", err)
	}
	p := domain.NewProgram(f.org, "prg_1", spec, start.AddDate(0, -1, 0))
	if p, err = p.Transition(domain.ProgramActive, start); err != nil {
		t.Fatal(err)
	}
	if err := st.CreateProgram(f.ctx, p); err != nil {
		t.Fatal(err)
	}
	f.program = p
	f.referrer = domain.Referrer{ID: "rfr_1", OrgID: f.org, ProgramID: p.ID, Email: "jane@example.com", Name: "Jane",
		Code: "JANE2345", CreatedAt: start}
	if err := st.CreateReferrer(f.ctx, f.referrer); err != nil {
		t.Fatal(err)
	}
	f.setCalculator(st)
	return f
}

// setCalculator rebuilds the calculator and the embedded pipeline on st
// (which may wrap the store to inject faults).
func (f *fixture) setCalculator(st LedgerStore) {
	f.calc = NewCalculator(st, f.clock.Now, NoPartnerRules{})
	f.emb = NewEmbedded(f.st, f.st, f.calc, nil)
	fast := func(int) time.Duration { return time.Millisecond }
	f.emb.Commissions.Backoff = fast
	f.emb.Events.Backoff = fast
	f.emb.Events.Handle = func(_ context.Context, m Message) error {
		f.mu.Lock()
		defer f.mu.Unlock()
		f.events = append(f.events, m)
		return nil
	}
}

// record records a purchase of amount (a signup when nil) for a new
// contact through the tracking service.
func (f *fixture) record(amount *int64) domain.Conversion {
	f.t.Helper()
	f.mu.Lock()
	f.n++
	n := f.n
	f.mu.Unlock()
	in := tracking.ConversionInput{Code: f.referrer.Code, Email: fmt.Sprintf("buyer%d@example.org", n),
		Event: domain.EventSignup, ExternalID: fmt.Sprintf("order-%d", n)}
	if amount != nil {
		in.Event = domain.EventPurchase
		in.Amount = &domain.MoneyInput{Amount: *amount}
	}
	c, created, err := f.track.RecordConversion(f.ctx, f.org, in)
	if err != nil || !created {
		f.t.Fatalf("record conversion: %v (created %v)", err, created)
	}
	return c
}

// refund moves the conversion's refunded total to total, as the refund
// endpoint does: only the conversion changes.
func (f *fixture) refund(conversionID string, total int64) {
	f.t.Helper()
	c, err := f.st.GetConversion(f.ctx, f.org, conversionID)
	if err != nil {
		f.t.Fatal(err)
	}
	if err := f.st.ApplyLedgerChange(f.ctx, store.LedgerChange{OrgID: f.org,
		Refund: &store.RefundChange{ConversionID: conversionID, From: c.RefundedAmount.Amount, To: total, At: f.clock.Now()}}); err != nil {
		f.t.Fatal(err)
	}
}

func (f *fixture) drain() {
	f.t.Helper()
	ctx, cancel := context.WithTimeout(f.ctx, 20*time.Second)
	defer cancel()
	if err := f.emb.Drain(ctx); err != nil {
		f.t.Fatalf("Drain: %v", err)
	}
}

func (f *fixture) entries(conversionID string) []commission.Commission {
	f.t.Helper()
	es, err := f.st.CommissionsOfSource(f.ctx, f.org, conversionID)
	if err != nil {
		f.t.Fatal(err)
	}
	return es
}

func (f *fixture) audit(id string) []commission.AuditEntry {
	f.t.Helper()
	a, err := f.st.ListAudit(f.ctx, f.org, id)
	if err != nil {
		f.t.Fatal(err)
	}
	return a
}

// eventTypes lists the commission.* notifications handled, in order.
func (f *fixture) eventTypes() []string {
	return f.notifications(func(typ string) bool { return !strings.HasPrefix(typ, EventPrefix) })
}

// publicEventTypes lists the other public events handled, in order.
func (f *fixture) publicEventTypes() []string {
	return f.notifications(func(typ string) bool { return strings.HasPrefix(typ, EventPrefix) })
}

func (f *fixture) notifications(keep func(string) bool) []string {
	f.mu.Lock()
	defer f.mu.Unlock()
	var out []string
	for _, m := range f.events {
		if keep(m.Type) {
			out = append(out, m.Type)
		}
	}
	return out
}

// pendingMessages reads the outbox without consuming it and returns the
// messages its changes route to.
func (f *fixture) pendingMessages() []Message {
	f.t.Helper()
	changes, err := f.st.Changes(f.ctx, 0, 1000)
	if err != nil {
		f.t.Fatal(err)
	}
	var out []Message
	for _, c := range changes {
		msgs, err := Route(c)
		if err != nil {
			f.t.Fatal(err)
		}
		out = append(out, msgs...)
	}
	return out
}

func (f *fixture) deadLetters(queue string) []store.Delivery {
	f.t.Helper()
	dl, _, err := f.st.DeadLetters(f.ctx, queue, store.Page{})
	if err != nil {
		f.t.Fatal(err)
	}
	return dl
}

// net sums the entries' amounts that count: everything not reversed or
// rejected.
func net(es []commission.Commission) int64 {
	var sum int64
	for _, e := range es {
		if e.Status != commission.StatusReversed && e.Status != commission.StatusRejected {
			sum += e.Amount.Amount
		}
	}
	return sum
}

func byStatus(es []commission.Commission) map[commission.Status][]commission.Commission {
	out := map[commission.Status][]commission.Commission{}
	for _, e := range es {
		out[e.Status] = append(out[e.Status], e)
	}
	return out
}
