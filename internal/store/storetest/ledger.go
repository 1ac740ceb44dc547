package storetest

import (
	"cmp"
	"errors"
	"fmt"
	"math"
	"slices"
	"testing"
	"time"

	"github.com/partnerloop/partnerloop/internal/commission"
	"github.com/partnerloop/partnerloop/internal/domain"
	"github.com/partnerloop/partnerloop/internal/store"
)

// LedgerStore is a store that also keeps the commission ledger.
type LedgerStore interface {
	store.Store
	store.Ledger
}

// LedgerOutboxStore is a ledger store that keeps its own change log.
type LedgerOutboxStore interface {
	LedgerStore
	store.Outbox
}

// RunLedger runs the conformance suite of store.Ledger. Like Run, each
// subtest calls newStore once and must get an empty store of its own.
func RunLedger(t *testing.T, newStore func(t *testing.T) LedgerStore) {
	t.Helper()
	for _, g := range ledgerGroups() {
		t.Run(g.name, func(t *testing.T) {
			for _, tc := range g.tests {
				t.Run(tc.name, func(t *testing.T) {
					s := newStore(t)
					tc.run(t, &ledgerFixture{fixture: newFixture(t, s, nil), l: s})
				})
			}
		})
	}
}

// RunLedgerOutbox runs the outbox conformance of the ledger, for stores that
// keep their own change log: every commission insert and update, and every
// refund, is a change; audit entries and running totals are not.
func RunLedgerOutbox(t *testing.T, newStore func(t *testing.T) LedgerOutboxStore) {
	t.Helper()
	for _, tc := range ledgerOutboxTests() {
		t.Run(tc.name, func(t *testing.T) {
			s := newStore(t)
			tc.run(t, &ledgerFixture{fixture: newFixture(t, s, s), l: s})
		})
	}
}

type ledgerFixture struct {
	*fixture
	l LedgerStore
}

type ledgerTest struct {
	name string
	run  func(t *testing.T, fx *ledgerFixture)
}

type ledgerGroup struct {
	name  string
	tests []ledgerTest
}

func ledgerGroups() []ledgerGroup {
	return []ledgerGroup{
		{"RunningTotals", append(runningTotalTests(), runningTotalListTests()...)},
		{"LedgerChanges", ledgerChangeTests()},
		{"LedgerLists", ledgerListTests()},
	}
}

// slotRaceRounds is how many times the slot races run: fewer than the
// suite's raceRounds, since each round is 16 compare-and-set loops on one
// counter, and the ledger suite must stay fast.
const slotRaceRounds = 3

// --- builders ------------------------------------------------------------------

// counterKey returns the key of a running total unique to this subtest.
func (fx *ledgerFixture) counterKey(beneficiary string) string {
	return commission.CounterKey{BeneficiaryID: beneficiary + "_" + fx.tag, RuleSource: "tier",
		RuleOwnerID: fx.id("tie"), PeriodKey: "2026-03"}.String()
}

// newEntry returns a pending ledger entry of a conversion (or, with deal, of
// a deal) created at created, with every field a tiered commission has set.
func (fx *ledgerFixture) newEntry(orgID, programID, referrerID, partnerID, sourceID string, deal bool, created time.Time) commission.Commission {
	amount := int64(1000 + 37*fx.serial())
	c := commission.Commission{
		ID:    commission.CommissionID(sourceID, commission.Beneficiary(referrerID, partnerID), string(commission.KindCommission)),
		OrgID: orgID, Kind: commission.KindCommission, ProgramID: programID, ReferrerID: referrerID, PartnerID: partnerID,
		ConversionID: sourceID, Amount: domain.Money{Amount: amount, Currency: "EUR"}, Status: commission.StatusPending,
		AvailableAt: created.Add(14 * 24 * time.Hour), CreatedAt: created, UpdatedAt: created,
		RuleSource: "tier", RuleVersion: 3, PeriodKey: "2026-03", Ordinal: 7, OriginalAmount: amount,
	}
	if deal {
		c.ConversionID, c.DealID = "", sourceID
	}
	return c
}

// entry returns a pending commission of a new conversion of program p.
func (fx *ledgerFixture) entry(orgID, programID string) commission.Commission {
	return fx.newEntry(orgID, programID, fx.id("rfr"), "prt_"+fx.tag, fx.id("cnv"), false, fx.tick())
}

// derived returns an entry derived from c by a refund (a replacement or a
// clawback), created at created.
func derived(c commission.Commission, kind commission.Kind, amount int64, created time.Time) commission.Commission {
	d := c
	d.ID = commission.CommissionID(sourceID(c)+"/"+string(kind)+fmt.Sprint(amount), commission.Beneficiary(c.ReferrerID, c.PartnerID), string(kind))
	d.Kind, d.Amount.Amount, d.Status = kind, amount, commission.StatusPending
	d.CreatedAt, d.UpdatedAt = created, created
	d.OriginalID, d.OriginalAmount, d.Revision = c.ID, c.Amount.Amount, 0
	return d
}

func sourceID(c commission.Commission) string {
	if c.ConversionID != "" {
		return c.ConversionID
	}
	return c.DealID
}

// createdAudit is the audit entry of c's creation.
func createdAudit(c commission.Commission) commission.AuditEntry {
	return commission.AuditEntry{CommissionID: c.ID, From: "", To: c.Status, Actor: commission.ActorSystem, At: c.CreatedAt, Reason: "earned"}
}

// move returns c moved to status to at (to be passed in Updated, at the
// revision it was read with) and its audit entry.
func move(c commission.Commission, to commission.Status, at time.Time) (commission.Commission, commission.AuditEntry) {
	a := commission.AuditEntry{CommissionID: c.ID, From: c.Status, To: to, Actor: "usr_admin", At: at, Reason: "moved to " + string(to)}
	c.Status, c.UpdatedAt = to, at
	switch to {
	case commission.StatusPaid:
		c.PayoutReference = "PO-2026-03-17"
	case commission.StatusRejected:
		c.RejectReason = "duplicate order"
	}
	return c, a
}

// stored is what an entry passed in Updated is stored as.
func stored(c commission.Commission) commission.Commission {
	c.Revision++
	return c
}

func (fx *ledgerFixture) apply(t *testing.T, what string, ch store.LedgerChange) {
	t.Helper()
	must(t, fx.l.ApplyLedgerChange(fx.ctx, ch), what)
}

// create stores the entries with their creation audit entries in one change.
func (fx *ledgerFixture) create(t *testing.T, orgID string, cs ...commission.Commission) {
	t.Helper()
	ch := store.LedgerChange{OrgID: orgID, Created: cs}
	for _, c := range cs {
		ch.Audit = append(ch.Audit, createdAudit(c))
	}
	fx.apply(t, "ApplyLedgerChange(create)", ch)
}

// --- assertions ----------------------------------------------------------------

func (fx *ledgerFixture) checkCommission(t *testing.T, what string, want commission.Commission) {
	t.Helper()
	checkGet(t, what+": GetCommission", want, func() (commission.Commission, error) {
		return fx.l.GetCommission(fx.ctx, want.OrgID, want.ID)
	})
}

func (fx *ledgerFixture) checkNoCommission(t *testing.T, what, orgID, id string) {
	t.Helper()
	got, err := fx.l.GetCommission(fx.ctx, orgID, id)
	wantNotFound(t, what+": GetCommission", got, err)
}

func (fx *ledgerFixture) checkAudit(t *testing.T, what, orgID, commissionID string, want ...commission.AuditEntry) {
	t.Helper()
	got, err := fx.l.ListAudit(fx.ctx, orgID, commissionID)
	if err != nil {
		t.Errorf("%s: ListAudit: %v", what, err)
		return
	}
	checkEqual(t, what+": ListAudit", got, want)
}

func (fx *ledgerFixture) checkSlots(t *testing.T, what, orgID, key string, want []store.PeriodSlot) {
	t.Helper()
	got, err := fx.l.ListSlots(fx.ctx, orgID, key)
	if err != nil {
		t.Errorf("%s: ListSlots: %v", what, err)
		return
	}
	checkEqual(t, what+": ListSlots", got, want)
}

func (fx *ledgerFixture) checkSource(t *testing.T, what, orgID, source string, want ...commission.Commission) {
	t.Helper()
	got, err := fx.l.CommissionsOfSource(fx.ctx, orgID, source)
	if err != nil {
		t.Errorf("%s: CommissionsOfSource: %v", what, err)
		return
	}
	if !slices.Equal(idsOf(got), idsOf(want)) {
		t.Errorf("%s: CommissionsOfSource: got IDs\n\t%v\nwant (oldest first)\n\t%v", what, idsOf(got), idsOf(want))
		return
	}
	checkEqual(t, what+": CommissionsOfSource", got, want)
	// The same through the batch read, asked with an unknown source and
	// the source twice.
	all, err := fx.l.CommissionsOfSources(fx.ctx, orgID, []string{"no-such-source", source, source})
	if err != nil {
		t.Errorf("%s: CommissionsOfSources: %v", what, err)
		return
	}
	if len(all) != min(len(want), 1) {
		t.Errorf("%s: CommissionsOfSources: %d sources, want %d", what, len(all), min(len(want), 1))
	}
	checkEqual(t, what+": CommissionsOfSources", all[source], want)
}

// newestEntries orders entries newest first by CreatedAt, ties by ID
// (descending).
func newestEntries(cs []commission.Commission) []commission.Commission {
	out := slices.Clone(cs)
	slices.SortFunc(out, func(a, b commission.Commission) int {
		if c := b.CreatedAt.Compare(a.CreatedAt); c != 0 {
			return c
		}
		return cmp.Compare(b.ID, a.ID)
	})
	return out
}

func (fx *ledgerFixture) checkCommissions(t *testing.T, what, orgID string, f store.CommissionFilter, limit int, want []commission.Commission) {
	t.Helper()
	checkList(t, what, limit, want, func(p store.Page) ([]commission.Commission, string, error) {
		return fx.l.ListCommissions(fx.ctx, orgID, f, p)
	})
}

// --- running totals ------------------------------------------------------------

func runningTotalTests() []ledgerTest {
	return []ledgerTest{
		{"SlotsInOrderAndOnce", func(t *testing.T, fx *ledgerFixture) {
			org := fx.mustOrg(t)
			key := fx.counterKey("ptn")
			values := []int64{1000, 0, 2500, 99, 12345}
			var want []store.PeriodSlot
			revenue := int64(0)
			for i, v := range values {
				cnv := fx.id("cnv")
				got, err := fx.l.AssignSlot(fx.ctx, org.ID, key, cnv, v)
				must(t, err, fmt.Sprintf("AssignSlot(conversion %d)", i+1))
				w := store.PeriodSlot{Key: key, ConversionID: cnv, Ordinal: int64(i + 1), RevenueBefore: revenue, Value: v}
				checkEqual(t, fmt.Sprintf("AssignSlot(conversion %d)", i+1), got, w)
				want = append(want, w)
				revenue += v
			}
			if st := want[2].State(); st != (commission.RunningState{Count: 2, Revenue: 1000}) {
				t.Errorf("third slot's State() = %+v, want {Count:2 Revenue:1000}", st)
			}
			// Delivered again, even with another value: the first slot.
			for i, w := range want {
				got, err := fx.l.AssignSlot(fx.ctx, org.ID, key, w.ConversionID, w.Value+1)
				must(t, err, fmt.Sprintf("AssignSlot(conversion %d again)", i+1))
				checkEqual(t, fmt.Sprintf("AssignSlot(conversion %d again)", i+1), got, w)
			}
			// The repeats took no ordinal and added no revenue.
			cnv := fx.id("cnv")
			got, err := fx.l.AssignSlot(fx.ctx, org.ID, key, cnv, 1)
			must(t, err, "AssignSlot(after the repeats)")
			last := store.PeriodSlot{Key: key, ConversionID: cnv, Ordinal: 6, RevenueBefore: revenue, Value: 1}
			checkEqual(t, "AssignSlot(after the repeats)", got, last)
			fx.checkSlots(t, "after six conversions", org.ID, key, append(want, last))
		}},
		{"ConcurrentConversionsGetDistinctOrdinals", func(t *testing.T, fx *ledgerFixture) {
			org := fx.mustOrg(t)
			fx.warmUp(t, org.ID)
			for round := range slotRaceRounds {
				key := fx.counterKey(fmt.Sprintf("race%d", round))
				cnvs := make([]string, concurrency)
				for i := range cnvs {
					cnvs[i] = fx.id("cnv")
				}
				slots := make([]store.PeriodSlot, concurrency)
				errs := race(concurrency, func(i int) (err error) {
					slots[i], err = fx.l.AssignSlot(fx.ctx, org.ID, key, cnvs[i], int64(100*(i+1)))
					return err
				})
				for i, err := range errs {
					must(t, err, fmt.Sprintf("round %d: AssignSlot(racer %d)", round, i))
				}
				byOrdinal := slices.Clone(slots)
				slices.SortFunc(byOrdinal, func(a, b store.PeriodSlot) int { return cmp.Compare(a.Ordinal, b.Ordinal) })
				revenue := int64(0)
				for n, sl := range byOrdinal {
					if sl.Ordinal != int64(n+1) {
						var ords []int64
						for _, s := range byOrdinal {
							ords = append(ords, s.Ordinal)
						}
						t.Fatalf("round %d: %d concurrent conversions got ordinals %v, want exactly 1..%d", round, concurrency, ords, concurrency)
					}
					i := slices.Index(cnvs, sl.ConversionID)
					w := store.PeriodSlot{Key: key, ConversionID: cnvs[i], Ordinal: int64(n + 1), RevenueBefore: revenue, Value: int64(100 * (i + 1))}
					checkEqual(t, fmt.Sprintf("round %d: slot %d", round, n+1), sl, w)
					revenue += w.Value
				}
				fx.checkSlots(t, fmt.Sprintf("round %d", round), org.ID, key, byOrdinal)
			}
		}},
		{"ConcurrentRepeatsGetOneSlot", func(t *testing.T, fx *ledgerFixture) {
			org := fx.mustOrg(t)
			key := fx.counterKey("ptn")
			fx.warmUp(t, org.ID)
			const racers = 8
			var want []store.PeriodSlot
			revenue := int64(0)
			for round := range slotRaceRounds {
				cnv := fx.id("cnv")
				slots := make([]store.PeriodSlot, racers)
				errs := race(racers, func(i int) (err error) {
					// Each delivery carries its own value: whichever wins,
					// every caller gets the winner's slot.
					slots[i], err = fx.l.AssignSlot(fx.ctx, org.ID, key, cnv, int64(1000+i))
					return err
				})
				for i, err := range errs {
					must(t, err, fmt.Sprintf("round %d: AssignSlot(racer %d)", round, i))
				}
				w := slots[0]
				if w.Value < 1000 || w.Value >= 1000+racers {
					t.Fatalf("round %d: slot value %d is none of the racers' values", round, w.Value)
				}
				checkEqual(t, fmt.Sprintf("round %d: slot", round), w,
					store.PeriodSlot{Key: key, ConversionID: cnv, Ordinal: int64(round + 1), RevenueBefore: revenue, Value: w.Value})
				for i, sl := range slots[1:] {
					checkEqual(t, fmt.Sprintf("round %d: racer %d's slot", round, i+1), sl, w)
				}
				want = append(want, w)
				revenue += w.Value
			}
			fx.checkSlots(t, "after the races", org.ID, key, want)
		}},
		{"KeysAndOrganizationsAreIndependent", func(t *testing.T, fx *ledgerFixture) {
			orgA, orgB := fx.mustOrg(t), fx.mustOrg(t)
			k1, k2 := fx.counterKey("ptn"), fx.counterKey("rfr")
			cnv := fx.id("cnv")
			// One conversion counts in several running totals.
			var a1, a2, b1 []store.PeriodSlot
			for i, step := range []struct {
				org, key string
				value    int64
				into     *[]store.PeriodSlot
			}{
				{orgA.ID, k1, 500, &a1}, {orgA.ID, k2, 700, &a2}, {orgB.ID, k1, 900, &b1}, {orgA.ID, k1, 11, &a1},
			} {
				c := cnv
				if i == 3 {
					c = fx.id("cnv")
				}
				got, err := fx.l.AssignSlot(fx.ctx, step.org, step.key, c, step.value)
				must(t, err, fmt.Sprintf("AssignSlot(step %d)", i))
				*step.into = append(*step.into, got)
			}
			want := func(key, cnv string, ordinal, before, value int64) store.PeriodSlot {
				return store.PeriodSlot{Key: key, ConversionID: cnv, Ordinal: ordinal, RevenueBefore: before, Value: value}
			}
			fx.checkSlots(t, "org A, key 1", orgA.ID, k1, []store.PeriodSlot{want(k1, cnv, 1, 0, 500), want(k1, a1[1].ConversionID, 2, 500, 11)})
			fx.checkSlots(t, "org A, key 2", orgA.ID, k2, []store.PeriodSlot{want(k2, cnv, 1, 0, 700)})
			fx.checkSlots(t, "org B, key 1", orgB.ID, k1, []store.PeriodSlot{want(k1, cnv, 1, 0, 900)})
			fx.checkSlots(t, "org B, key 2 (unused)", orgB.ID, k2, nil)
			fx.checkSlots(t, "unknown key", orgA.ID, fx.counterKey("none"), nil)
		}},
		{"RevenueOverflowIsRefused", func(t *testing.T, fx *ledgerFixture) {
			org := fx.mustOrg(t)
			key := fx.counterKey("whale")
			first, err := fx.l.AssignSlot(fx.ctx, org.ID, key, fx.id("cnv"), math.MaxInt64-5)
			must(t, err, "AssignSlot(MaxInt64 - 5)")
			// The next value would push the total past MaxInt64: refused
			// with ErrOverflow, nothing assigned, the counter unchanged.
			over := fx.id("cnv")
			if sl, err := fx.l.AssignSlot(fx.ctx, org.ID, key, over, 10); !errors.Is(err, domain.ErrOverflow) {
				t.Fatalf("AssignSlot past the limit = %+v, %v; want ErrOverflow", sl, err)
			}
			last, err := fx.l.AssignSlot(fx.ctx, org.ID, key, fx.id("cnv"), 5)
			must(t, err, "AssignSlot(5: exactly MaxInt64)")
			want := []store.PeriodSlot{first, {Key: key, ConversionID: last.ConversionID, Ordinal: 2, RevenueBefore: math.MaxInt64 - 5, Value: 5}}
			checkEqual(t, "AssignSlot(5)", last, want[1])
			fx.checkSlots(t, "after the refused overflow", org.ID, key, want)
		}},
	}
}

// --- ledger changes --------------------------------------------------------------

func ledgerChangeTests() []ledgerTest {
	return []ledgerTest{
		{"CreateThenGetAndAudit", func(t *testing.T, fx *ledgerFixture) {
			orgA, orgB := fx.mustOrg(t), fx.mustOrg(t)
			p := fx.mustProgram(t, orgA.ID)
			conv := fx.entry(orgA.ID, p.ID)
			// A won deal credited to a partner only, with times in another
			// location (stored and compared as instants).
			at := fx.tick().In(time.FixedZone("UTC+5:30", 5*3600+1800))
			deal := fx.newEntry(orgA.ID, p.ID, "", "prt_deal_"+fx.tag, fx.id("deal"), true, at)
			// A retroactive adjustment: no source.
			adj := fx.newEntry(orgA.ID, p.ID, fx.id("rfr"), "", "", false, fx.tick())
			adj.ID, adj.Kind, adj.ConversionID, adj.Amount.Amount, adj.OriginalAmount = fx.id("com"), commission.KindAdjustment, "", -250, -250
			fx.create(t, orgA.ID, conv, deal, adj)
			for _, c := range []commission.Commission{conv, deal, adj} {
				fx.checkCommission(t, string(c.Kind), c)
				fx.checkAudit(t, string(c.Kind), orgA.ID, c.ID, createdAudit(c))
				fx.checkNoCommission(t, "another organization", orgB.ID, c.ID)
				fx.checkAudit(t, "another organization", orgB.ID, c.ID)
			}
			fx.checkNoCommission(t, "unknown id", orgA.ID, "com_UNKNOWN")
			fx.checkAudit(t, "unknown id", orgA.ID, "com_UNKNOWN")
			fx.checkCommissions(t, "ListCommissions", orgA.ID, store.CommissionFilter{}, 2, newestEntries([]commission.Commission{conv, deal, adj}))
			fx.checkCommissions(t, "ListCommissions(another organization)", orgB.ID, store.CommissionFilter{}, 2, nil)
			// An empty change is nothing to do.
			fx.apply(t, "ApplyLedgerChange(empty)", store.LedgerChange{OrgID: orgA.ID})
		}},
		{"ReapplyIsConflictAndWritesNothing", func(t *testing.T, fx *ledgerFixture) {
			org := fx.mustOrg(t)
			c := fx.entry(org.ID, "prg_1")
			ch := store.LedgerChange{OrgID: org.ID, Created: []commission.Commission{c}, Audit: []commission.AuditEntry{createdAudit(c)}}
			fx.apply(t, "ApplyLedgerChange", ch)
			wantErr(t, fx.l.ApplyLedgerChange(fx.ctx, ch), store.ErrConflict, "ApplyLedgerChange(the same change again)")
			// A redelivery computes the same ID at another time.
			again := c
			later := fx.tick()
			again.CreatedAt, again.UpdatedAt = later, later
			redelivered := store.LedgerChange{OrgID: org.ID, Created: []commission.Commission{again}, Audit: []commission.AuditEntry{createdAudit(again)}}
			wantErr(t, fx.l.ApplyLedgerChange(fx.ctx, redelivered), store.ErrConflict, "ApplyLedgerChange(redelivered later)")
			// With a new entry beside the old one: the new one is not stored.
			fresh := fx.entry(org.ID, "prg_1")
			both := store.LedgerChange{OrgID: org.ID, Created: []commission.Commission{fresh, again},
				Audit: []commission.AuditEntry{createdAudit(fresh), createdAudit(again)}}
			wantErr(t, fx.l.ApplyLedgerChange(fx.ctx, both), store.ErrConflict, "ApplyLedgerChange(a new entry and an old one)")
			fx.checkNoCommission(t, "the new entry of the refused change", org.ID, fresh.ID)
			fx.checkAudit(t, "the new entry of the refused change", org.ID, fresh.ID)
			fx.checkCommission(t, "after the repeats", c)
			fx.checkAudit(t, "after the repeats", org.ID, c.ID, createdAudit(c))
			fx.checkCommissions(t, "ListCommissions after the repeats", org.ID, store.CommissionFilter{}, 1, []commission.Commission{c})
			fx.checkSource(t, "after the repeats", org.ID, c.ConversionID, c)
		}},
		{"UpdateIsOptimistic", func(t *testing.T, fx *ledgerFixture) {
			orgA, orgB := fx.mustOrg(t), fx.mustOrg(t)
			c := fx.entry(orgA.ID, "prg_1")
			fx.create(t, orgA.ID, c)
			// Approved at the very instant it was created: the audit trail
			// still lists the creation first.
			approved, a2 := move(c, commission.StatusApproved, c.CreatedAt)
			fx.apply(t, "ApplyLedgerChange(approve)", store.LedgerChange{OrgID: orgA.ID,
				Updated: []commission.Commission{approved}, Audit: []commission.AuditEntry{a2}})
			fx.checkCommission(t, "approved", stored(approved))
			fx.checkAudit(t, "approved", orgA.ID, c.ID, createdAudit(c), a2)

			// The same update again: the entry is no longer at revision 0.
			// Nothing of that change is written, not even its other items.
			other := fx.entry(orgA.ID, "prg_1")
			stale := store.LedgerChange{OrgID: orgA.ID, Created: []commission.Commission{other},
				Updated: []commission.Commission{approved}, Audit: []commission.AuditEntry{createdAudit(other), a2}}
			wantErr(t, fx.l.ApplyLedgerChange(fx.ctx, stale), store.ErrConflict, "ApplyLedgerChange(stale revision)")
			fx.checkCommission(t, "after the stale update", stored(approved))
			fx.checkAudit(t, "after the stale update", orgA.ID, c.ID, createdAudit(c), a2)
			fx.checkNoCommission(t, "created beside the stale update", orgA.ID, other.ID)
			fx.checkAudit(t, "created beside the stale update", orgA.ID, other.ID)

			// At the revision read: stored at the next one.
			paid, a3 := move(stored(approved), commission.StatusPaid, fx.tick())
			fx.apply(t, "ApplyLedgerChange(pay)", store.LedgerChange{OrgID: orgA.ID,
				Updated: []commission.Commission{paid}, Audit: []commission.AuditEntry{a3}})
			fx.checkCommission(t, "paid", stored(paid))
			if got := stored(paid).Revision; got != 2 {
				t.Errorf("revision after two updates = %d, want 2", got)
			}
			fx.checkAudit(t, "paid", orgA.ID, c.ID, createdAudit(c), a2, a3)

			// An entry never stored, or stored in another organization.
			ghost := fx.entry(orgA.ID, "prg_1")
			wantErr(t, fx.l.ApplyLedgerChange(fx.ctx, store.LedgerChange{OrgID: orgA.ID, Updated: []commission.Commission{ghost}}),
				store.ErrConflict, "ApplyLedgerChange(update of an unknown entry)")
			fx.checkNoCommission(t, "updated but never created", orgA.ID, ghost.ID)
			foreign := stored(paid)
			foreign.OrgID = orgB.ID
			wantErr(t, fx.l.ApplyLedgerChange(fx.ctx, store.LedgerChange{OrgID: orgB.ID, Updated: []commission.Commission{foreign}}),
				store.ErrConflict, "ApplyLedgerChange(update of another organization's entry)")
			fx.checkNoCommission(t, "another organization", orgB.ID, c.ID)
			fx.checkCommission(t, "after the foreign update", stored(paid))
		}},
		{"RefundIsCompareAndSet", func(t *testing.T, fx *ledgerFixture) {
			orgA, orgB := fx.mustOrg(t), fx.mustOrg(t)
			r := fx.mustReferrerInNewProgram(t, orgA.ID, "jane")
			cv := fx.mustConversion(t, fx.mustReferral(t, r, "amy", ""), "order-"+fx.tag)
			c := fx.newEntry(orgA.ID, cv.ProgramID, r.ID, r.PartnerID, cv.ID, false, fx.tick())
			fx.create(t, orgA.ID, c)

			// A partial refund: the commission is reversed and replaced.
			now := fx.tick()
			reversed, a1 := move(c, commission.StatusReversed, now)
			repl := derived(c, commission.KindCommission, c.Amount.Amount/2, now)
			ch := store.LedgerChange{OrgID: orgA.ID, Created: []commission.Commission{repl}, Updated: []commission.Commission{reversed},
				Audit:  []commission.AuditEntry{a1, createdAudit(repl)},
				Refund: &store.RefundChange{ConversionID: cv.ID, From: 0, To: 6000, At: now}}
			fx.apply(t, "ApplyLedgerChange(refund 6000)", ch)
			want := cv
			want.RefundedAmount.Amount = 6000
			want.RefundedAt = &now
			checkGet(t, "conversion after the refund", want, func() (domain.Conversion, error) { return fx.s.GetConversion(fx.ctx, orgA.ID, cv.ID) })
			fx.checkCommission(t, "reversed", stored(reversed))
			fx.checkCommission(t, "replacement", repl)
			fx.checkAudit(t, "reversed", orgA.ID, c.ID, createdAudit(c), a1)
			fx.checkSource(t, "after the refund", orgA.ID, cv.ID, stored(reversed), repl)

			// The same refund delivered again: its From is stale.
			wantErr(t, fx.l.ApplyLedgerChange(fx.ctx, ch), store.ErrConflict, "ApplyLedgerChange(the same refund again)")
			claw := derived(repl, commission.KindClawback, -100, fx.tick())
			staleOnly := store.LedgerChange{OrgID: orgA.ID, Created: []commission.Commission{claw},
				Audit:  []commission.AuditEntry{createdAudit(claw)},
				Refund: &store.RefundChange{ConversionID: cv.ID, From: 0, To: 9000}}
			wantErr(t, fx.l.ApplyLedgerChange(fx.ctx, staleOnly), store.ErrConflict, "ApplyLedgerChange(refund from a stale amount)")
			fx.checkNoCommission(t, "created beside a stale refund", orgA.ID, claw.ID)
			fx.checkAudit(t, "created beside a stale refund", orgA.ID, claw.ID)
			checkGet(t, "conversion after the stale refund", want, func() (domain.Conversion, error) { return fx.s.GetConversion(fx.ctx, orgA.ID, cv.ID) })

			// From the amount stored: moves.
			later := fx.tick()
			fx.apply(t, "ApplyLedgerChange(refund 6000 → 9000)", store.LedgerChange{OrgID: orgA.ID,
				Refund: &store.RefundChange{ConversionID: cv.ID, From: 6000, To: 9000, At: later}})
			want.RefundedAmount.Amount = 9000
			want.RefundedAt = &later
			checkGet(t, "conversion after the second refund", want, func() (domain.Conversion, error) { return fx.s.GetConversion(fx.ctx, orgA.ID, cv.ID) })

			// No such conversion, or another organization's.
			for _, tc := range []struct{ what, org, id string }{
				{"unknown conversion", orgA.ID, fx.id("cnv")},
				{"another organization's conversion", orgB.ID, cv.ID},
			} {
				n := fx.entry(tc.org, "prg_1")
				err := fx.l.ApplyLedgerChange(fx.ctx, store.LedgerChange{OrgID: tc.org, Created: []commission.Commission{n},
					Refund: &store.RefundChange{ConversionID: tc.id, From: 9000, To: 9500}})
				wantErr(t, err, store.ErrNotFound, "ApplyLedgerChange(refund of an "+tc.what+")")
				fx.checkNoCommission(t, "created beside the refund of an "+tc.what, tc.org, n.ID)
			}
			checkGet(t, "conversion after the refunds elsewhere", want, func() (domain.Conversion, error) { return fx.s.GetConversion(fx.ctx, orgA.ID, cv.ID) })
		}},
		{"MixedChangeIsAllOrNothing", func(t *testing.T, fx *ledgerFixture) {
			org := fx.mustOrg(t)
			r := fx.mustReferrerInNewProgram(t, org.ID, "jane")
			cv := fx.mustConversion(t, fx.mustReferral(t, r, "amy", ""), "order-"+fx.tag)
			e := fx.newEntry(org.ID, cv.ProgramID, r.ID, r.PartnerID, cv.ID, false, fx.tick())
			fx.create(t, org.ID, e)
			n1 := fx.entry(org.ID, cv.ProgramID)
			n2 := fx.entry(org.ID, cv.ProgramID)
			refundAt := fx.tick()
			moved, a := move(e, commission.StatusReversed, fx.tick())
			staleMoved := moved
			staleMoved.Revision = 7
			good := func() store.LedgerChange {
				return store.LedgerChange{OrgID: org.ID, Created: []commission.Commission{n1, n2}, Updated: []commission.Commission{moved},
					Audit:  []commission.AuditEntry{createdAudit(n1), a, createdAudit(n2)},
					Refund: &store.RefundChange{ConversionID: cv.ID, From: 0, To: 12345, At: refundAt}}
			}
			for _, tc := range []struct {
				what   string
				change func(ch *store.LedgerChange)
				want   error
			}{
				{"stale refund", func(ch *store.LedgerChange) { ch.Refund.From = 1 }, store.ErrConflict},
				{"stale revision", func(ch *store.LedgerChange) { ch.Updated[0] = staleMoved }, store.ErrConflict},
				{"an existing entry created", func(ch *store.LedgerChange) { ch.Created = append(ch.Created, e) }, store.ErrConflict},
				{"an audit entry appended before", func(ch *store.LedgerChange) { ch.Audit = append(ch.Audit, createdAudit(e)) }, store.ErrConflict},
				{"unknown conversion", func(ch *store.LedgerChange) { ch.Refund.ConversionID = fx.id("cnv") }, store.ErrNotFound},
			} {
				ch := good()
				tc.change(&ch)
				wantErr(t, fx.l.ApplyLedgerChange(fx.ctx, ch), tc.want, "ApplyLedgerChange("+tc.what+")")
				fx.checkCommission(t, "after "+tc.what, e)
				fx.checkAudit(t, "after "+tc.what, org.ID, e.ID, createdAudit(e))
				for _, n := range []commission.Commission{n1, n2} {
					fx.checkNoCommission(t, "after "+tc.what, org.ID, n.ID)
					fx.checkAudit(t, "after "+tc.what, org.ID, n.ID)
				}
				checkGet(t, "conversion after "+tc.what, cv, func() (domain.Conversion, error) { return fx.s.GetConversion(fx.ctx, org.ID, cv.ID) })
				fx.checkCommissions(t, "ListCommissions after "+tc.what, org.ID, store.CommissionFilter{}, 5, []commission.Commission{e})
			}
			// An entry of another organization in the change is refused.
			foreign := fx.entry(fx.mustOrg(t).ID, cv.ProgramID)
			ch := good()
			ch.Created = append(ch.Created, foreign)
			if err := fx.l.ApplyLedgerChange(fx.ctx, ch); err == nil {
				t.Errorf("ApplyLedgerChange(with an entry of another organization) succeeded; it must fail")
			}
			fx.checkNoCommission(t, "after the change with a foreign entry", org.ID, n1.ID)
			fx.checkNoCommission(t, "the foreign entry", foreign.OrgID, foreign.ID)

			fx.apply(t, "ApplyLedgerChange(the whole change)", good())
			fx.checkCommission(t, "after the whole change", stored(moved))
			fx.checkCommission(t, "after the whole change", n1)
			fx.checkCommission(t, "after the whole change", n2)
			fx.checkAudit(t, "after the whole change", org.ID, e.ID, createdAudit(e), a)
			fx.checkAudit(t, "after the whole change", org.ID, n2.ID, createdAudit(n2))
			want := cv
			want.RefundedAmount.Amount = 12345
			want.RefundedAt = &refundAt
			checkGet(t, "conversion after the whole change", want, func() (domain.Conversion, error) { return fx.s.GetConversion(fx.ctx, org.ID, cv.ID) })
		}},
	}
}

// --- lists ---------------------------------------------------------------------

func ledgerListTests() []ledgerTest {
	return []ledgerTest{
		{"ListCommissionsFiltersAndPages", func(t *testing.T, fx *ledgerFixture) {
			orgA, orgB := fx.mustOrg(t), fx.mustOrg(t)
			p1, p2 := fx.id("prg"), fx.id("prg")
			r1, r2 := fx.id("rfr"), fx.id("rfr")
			partner := "prt_" + fx.tag
			var all []commission.Commission
			var times []time.Time
			for i := range 12 {
				prog, ref, ptn := p1, r1, partner
				if i%3 == 0 {
					prog = p2
				}
				if i%2 == 1 {
					ref, ptn = r2, ""
				}
				at := fx.tick()
				if i == 4 || i == 9 {
					at = times[i-1] // entries of the same instant: by ID
				}
				times = append(times, at)
				all = append(all, fx.newEntry(orgA.ID, prog, ref, ptn, fx.id("cnv"), false, at))
			}
			// Created out of order, in changes of several entries.
			fx.create(t, orgA.ID, all[7], all[2], all[11], all[0])
			fx.create(t, orgA.ID, all[5], all[9], all[1], all[10])
			fx.create(t, orgA.ID, all[3], all[8], all[4], all[6])
			// Some move on: lists show them as they are now.
			for i, to := range map[int]commission.Status{2: commission.StatusApproved, 5: commission.StatusRejected, 8: commission.StatusApproved} {
				u, a := move(all[i], to, fx.tick())
				fx.apply(t, "ApplyLedgerChange(move)", store.LedgerChange{OrgID: orgA.ID, Updated: []commission.Commission{u}, Audit: []commission.AuditEntry{a}})
				all[i] = stored(u)
			}
			// Another organization's entries, in the same programs.
			var inB []commission.Commission
			for range 3 {
				inB = append(inB, fx.newEntry(orgB.ID, p1, r1, partner, fx.id("cnv"), false, fx.tick()))
			}
			fx.create(t, orgB.ID, inB...)

			newest := newestEntries(all)
			for _, limit := range []int{1, 2, 5, 12, 50} {
				fx.checkCommissions(t, fmt.Sprintf("ListCommissions(limit %d)", limit), orgA.ID, store.CommissionFilter{}, limit, newest)
			}
			fx.checkCommissions(t, "ListCommissions(org B)", orgB.ID, store.CommissionFilter{}, 2, newestEntries(inB))
			fx.checkCommissions(t, "ListCommissions(org B, program 2)", orgB.ID, store.CommissionFilter{ProgramID: p2}, 2, nil)

			where := func(keep func(c commission.Commission) bool) []commission.Commission {
				var out []commission.Commission
				for _, c := range newest {
					if keep(c) {
						out = append(out, c)
					}
				}
				return out
			}
			for _, tc := range []struct {
				what string
				f    store.CommissionFilter
				keep func(c commission.Commission) bool
			}{
				{"partner", store.CommissionFilter{PartnerID: partner}, func(c commission.Commission) bool { return c.PartnerID == partner }},
				{"referrer", store.CommissionFilter{ReferrerID: r2}, func(c commission.Commission) bool { return c.ReferrerID == r2 }},
				{"program", store.CommissionFilter{ProgramID: p2}, func(c commission.Commission) bool { return c.ProgramID == p2 }},
				{"status", store.CommissionFilter{Status: string(commission.StatusApproved)}, func(c commission.Commission) bool { return c.Status == commission.StatusApproved }},
				{"status pending", store.CommissionFilter{Status: string(commission.StatusPending)}, func(c commission.Commission) bool { return c.Status == commission.StatusPending }},
				{"program and referrer", store.CommissionFilter{ProgramID: p1, ReferrerID: r1}, func(c commission.Commission) bool { return c.ProgramID == p1 && c.ReferrerID == r1 }},
				{"from (inclusive)", store.CommissionFilter{From: times[4]}, func(c commission.Commission) bool { return !c.CreatedAt.Before(times[4]) }},
				{"to (exclusive)", store.CommissionFilter{To: times[9]}, func(c commission.Commission) bool { return c.CreatedAt.Before(times[9]) }},
				{"from and to", store.CommissionFilter{From: times[2], To: times[10]}, func(c commission.Commission) bool {
					return !c.CreatedAt.Before(times[2]) && c.CreatedAt.Before(times[10])
				}},
				{"from, to and partner", store.CommissionFilter{From: times[1], To: times[11], PartnerID: partner}, func(c commission.Commission) bool {
					return !c.CreatedAt.Before(times[1]) && c.CreatedAt.Before(times[11]) && c.PartnerID == partner
				}},
				{"between instants", store.CommissionFilter{From: times[6].Add(time.Millisecond), To: times[7]}, func(commission.Commission) bool { return false }},
				{"from equal to to", store.CommissionFilter{From: times[6], To: times[6]}, func(commission.Commission) bool { return false }},
				{"from after to", store.CommissionFilter{From: times[8], To: times[2]}, func(commission.Commission) bool { return false }},
				{"unknown program", store.CommissionFilter{ProgramID: "prg_none"}, func(commission.Commission) bool { return false }},
			} {
				want := where(tc.keep)
				for _, limit := range []int{1, 3} {
					fx.checkCommissions(t, fmt.Sprintf("ListCommissions(%s, limit %d)", tc.what, limit), orgA.ID, tc.f, limit, want)
				}
			}

			for _, cursor := range []string{"garbage", "Z2FyYmFnZQ", "!!not a cursor!!", "\x00\xff"} {
				got, next, err := fx.l.ListCommissions(fx.ctx, orgA.ID, store.CommissionFilter{}, store.Page{Limit: 2, Cursor: cursor})
				if !errors.Is(err, store.ErrBadCursor) {
					t.Errorf("ListCommissions(cursor %q) = (%d entries, next %q, %v), want store.ErrBadCursor", cursor, len(got), next, err)
				}
			}
		}},
		{"CommissionsOfSourceOldestFirst", func(t *testing.T, fx *ledgerFixture) {
			orgA, orgB := fx.mustOrg(t), fx.mustOrg(t)
			cnv, dealID := fx.id("cnv"), fx.id("deal")
			c := fx.newEntry(orgA.ID, "prg_1", "rfr_1", "", cnv, false, fx.tick())
			fx.create(t, orgA.ID, c)
			other := fx.newEntry(orgA.ID, "prg_1", "rfr_1", "", fx.id("cnv"), false, fx.tick())
			fx.create(t, orgA.ID, other)
			// Refunded: reversed and replaced, then the replacement paid and
			// clawed back.
			now := fx.tick()
			rev, a1 := move(c, commission.StatusReversed, now)
			repl := derived(c, commission.KindCommission, c.Amount.Amount-100, now)
			fx.apply(t, "ApplyLedgerChange(refund)", store.LedgerChange{OrgID: orgA.ID, Created: []commission.Commission{repl},
				Updated: []commission.Commission{rev}, Audit: []commission.AuditEntry{a1, createdAudit(repl)}})
			claw := derived(repl, commission.KindClawback, -50, fx.tick())
			fx.create(t, orgA.ID, claw)
			// A deal with two beneficiaries credited at one instant: by ID.
			at := fx.tick()
			d1 := fx.newEntry(orgA.ID, "prg_1", "rfr_1", "", dealID, true, at)
			d2 := fx.newEntry(orgA.ID, "prg_1", "", "prt_2", dealID, true, at)
			fx.create(t, orgA.ID, d2, d1)
			// The same source ID in another organization.
			b := fx.newEntry(orgB.ID, "prg_1", "rfr_1", "", cnv, false, fx.tick())
			fx.create(t, orgB.ID, b)

			fx.checkSource(t, "conversion", orgA.ID, cnv, stored(rev), repl, claw)
			deal := []commission.Commission{d1, d2}
			slices.SortFunc(deal, func(x, y commission.Commission) int { return cmp.Compare(x.ID, y.ID) })
			fx.checkSource(t, "deal", orgA.ID, dealID, deal...)
			fx.checkSource(t, "other conversion", orgA.ID, other.ConversionID, other)
			fx.checkSource(t, "another organization", orgB.ID, cnv, b)
			fx.checkSource(t, "unknown source", orgA.ID, fx.id("cnv"))
		}},
	}
}

// --- outbox ----------------------------------------------------------------------

func ledgerOutboxTests() []ledgerTest {
	return []ledgerTest{
		{"LedgerChangesInOutbox", func(t *testing.T, fx *ledgerFixture) {
			org := fx.mustOrg(t)
			r := fx.mustReferrerInNewProgram(t, org.ID, "jane")
			cv := fx.mustConversion(t, fx.mustReferral(t, r, "amy", ""), "order-"+fx.tag)
			mark := fx.lastSeq(t)
			ob := &ledgerOutboxReader{outboxReader{fx: fx.fixture, last: mark}}

			_, err := fx.l.AssignSlot(fx.ctx, org.ID, fx.counterKey("ptn"), cv.ID, 12345)
			must(t, err, "AssignSlot")
			if got := fx.changesAfter(t, mark); len(got) != 0 {
				t.Errorf("AssignSlot appended changes %s, want none", describeAll(got))
			}

			c := fx.newEntry(org.ID, cv.ProgramID, r.ID, r.PartnerID, cv.ID, false, fx.tick())
			fx.create(t, org.ID, c)
			checkBatch(t, "ApplyLedgerChange(create)", ob.next(t), wantChange{"commission", "INSERT", org.ID, c.ID, nil, c})

			approved, a := move(c, commission.StatusApproved, fx.tick())
			fx.apply(t, "ApplyLedgerChange(approve)", store.LedgerChange{OrgID: org.ID, Updated: []commission.Commission{approved}, Audit: []commission.AuditEntry{a}})
			checkBatch(t, "ApplyLedgerChange(approve)", ob.next(t), wantChange{"commission", "MODIFY", org.ID, c.ID, c, stored(approved)})

			now := fx.tick()
			rev, a1 := move(stored(approved), commission.StatusReversed, now)
			repl := derived(c, commission.KindCommission, 100, now)
			fx.apply(t, "ApplyLedgerChange(refund)", store.LedgerChange{OrgID: org.ID, Created: []commission.Commission{repl},
				Updated: []commission.Commission{rev}, Audit: []commission.AuditEntry{a1, createdAudit(repl)},
				Refund: &store.RefundChange{ConversionID: cv.ID, From: 0, To: 10000, At: now}})
			refunded := cv
			refunded.RefundedAmount.Amount = 10000
			refunded.RefundedAt = &now
			checkBatch(t, "ApplyLedgerChange(refund)", ob.next(t),
				wantChange{"commission", "MODIFY", org.ID, c.ID, stored(approved), stored(rev)},
				wantChange{"commission", "INSERT", org.ID, repl.ID, nil, repl},
				wantChange{"conversion", "MODIFY", org.ID, cv.ID, cv, refunded})

			// Audit entries alone, and failed changes, append nothing.
			mark = fx.lastSeq(t)
			late := a1
			late.At, late.Reason = fx.tick(), "noted again"
			fx.apply(t, "ApplyLedgerChange(audit only)", store.LedgerChange{OrgID: org.ID, Audit: []commission.AuditEntry{late}})
			n := fx.entry(org.ID, cv.ProgramID)
			wantErr(t, fx.l.ApplyLedgerChange(fx.ctx, store.LedgerChange{OrgID: org.ID, Created: []commission.Commission{n},
				Updated: []commission.Commission{rev}}), store.ErrConflict, "ApplyLedgerChange(stale revision)")
			wantErr(t, fx.l.ApplyLedgerChange(fx.ctx, store.LedgerChange{OrgID: org.ID, Created: []commission.Commission{n},
				Refund: &store.RefundChange{ConversionID: cv.ID, From: 0, To: 1}}), store.ErrConflict, "ApplyLedgerChange(stale refund)")
			if got := fx.changesAfter(t, mark); len(got) != 0 {
				t.Errorf("an audit-only change and failed changes appended %s, want none", describeAll(got))
			}
		}},
	}
}

// ledgerOutboxReader hands out the commission and conversion changes each
// write appended.
type ledgerOutboxReader struct{ outboxReader }

func (r *ledgerOutboxReader) next(t *testing.T) []store.Change {
	t.Helper()
	var out []store.Change
	for _, c := range r.fx.changesAfter(t, r.last) {
		r.last = c.Seq
		if c.Entity == "commission" || c.Entity == "conversion" {
			out = append(out, c)
		}
	}
	return out
}
