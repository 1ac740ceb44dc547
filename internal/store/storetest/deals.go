package storetest

import (
	"fmt"
	"testing"
	"time"

	"github.com/partnerloop/partnerloop/internal/domain"
	"github.com/partnerloop/partnerloop/internal/store"
)

// DealStore is a store with deals.
type DealStore interface {
	store.Store
	store.Deals
}

// RunDeals runs the conformance suite of store.Deals. Each subtest gets a
// new, empty store.
func RunDeals(t *testing.T, newStore func(t *testing.T) DealStore) {
	t.Helper()
	for _, tc := range dealTests() {
		t.Run(tc.name, func(t *testing.T) {
			s := newStore(t)
			tc.run(t, &dealFixture{fixture: newFixture(t, s, nil), d: s})
		})
	}
}

// RunDealsOutbox checks, for stores that keep their own change log, that
// every deal change is in it: the commission pipeline's input.
func RunDealsOutbox(t *testing.T, newStore func(t *testing.T) interface {
	DealStore
	store.Outbox
}) {
	t.Helper()
	for _, tc := range []dealTest{
		{"ChangesInTheOutbox", func(t *testing.T, fx *dealFixture) {
			org := fx.mustOrg(t)
			after := fx.lastSeq(t)
			d := fx.mustDeal(t, org.ID, "prt_a", "example.com")
			won := d
			won.Status = domain.DealWon
			fx.update(t, won, "UpdateDeal(won)")
			var got []string
			for _, c := range fx.changesAfter(t, after) {
				if c.Entity == "deal" && c.ID == d.ID && c.OrgID == org.ID {
					got = append(got, c.Op)
				}
			}
			if fmt.Sprint(got) != "[INSERT MODIFY]" {
				t.Fatalf("deal changes in the outbox = %v, want [INSERT MODIFY]", got)
			}
		}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			s := newStore(t)
			tc.run(t, &dealFixture{fixture: newFixture(t, s, s), d: s})
		})
	}
}

type dealFixture struct {
	*fixture
	d store.Deals
}

// newDeal returns a registered partner deal (a direct one when partnerID is
// "") on host with every optional field set.
func (fx *dealFixture) newDeal(orgID, partnerID, host string) domain.Deal {
	created := fx.tick()
	closeBy := created.Add(30 * 24 * time.Hour)
	d := domain.Deal{
		ID: fx.id("dea"), OrgID: orgID, PartnerID: partnerID, Source: domain.DealSourcePartner,
		CreatedBy: "usr_" + fx.tag, CustomerName: fmt.Sprintf("Customer %d", fx.serial()), CustomerDomain: host,
		Value: domain.Money{Amount: 1250000, Currency: "EUR"}, Status: domain.DealRegistered,
		ExpectedCloseDate: &closeBy, CreatedAt: created, UpdatedAt: created,
	}
	if partnerID == "" {
		d.Source = domain.DealSourceDirect
	} else {
		until := created.Add(90 * 24 * time.Hour)
		d.ExclusiveUntil = &until
	}
	return d
}

func (fx *dealFixture) mustDeal(t *testing.T, orgID, partnerID, host string) domain.Deal {
	t.Helper()
	d := fx.newDeal(orgID, partnerID, host)
	must(t, fx.d.CreateDeal(fx.ctx, d), "CreateDeal")
	return d
}

// update stores next (read at next.Revision) and returns it as stored.
func (fx *dealFixture) update(t *testing.T, next domain.Deal, what string) domain.Deal {
	t.Helper()
	must(t, fx.d.UpdateDeal(fx.ctx, next), what)
	next.Revision++
	return next
}

func dealTests() []dealTest {
	return []dealTest{
		{"RoundTrip", func(t *testing.T, fx *dealFixture) {
			org := fx.mustOrg(t)
			full := fx.newDeal(org.ID, "prt_a", "example.com")
			full.Status, full.ConflictsWith = domain.DealConflict, "dea_other"
			must(t, fx.d.CreateDeal(fx.ctx, full), "CreateDeal(full)")
			created := fx.tick()
			minimal := domain.Deal{ID: fx.id("dea"), OrgID: org.ID, Source: domain.DealSourceDirect, CreatedBy: "usr_1",
				CustomerName: "Min", CustomerDomain: "min.example", Value: domain.Money{Currency: "EUR"},
				Status: domain.DealRegistered, CreatedAt: created, UpdatedAt: created}
			must(t, fx.d.CreateDeal(fx.ctx, minimal), "CreateDeal(minimal)")
			for _, want := range []domain.Deal{full, minimal} {
				checkGet(t, "GetDeal("+want.CustomerName+")", want, func() (domain.Deal, error) { return fx.d.GetDeal(fx.ctx, org.ID, want.ID) })
			}
			taken := minimal
			taken.CustomerName = "Same id"
			wantErr(t, fx.d.CreateDeal(fx.ctx, taken), store.ErrConflict, "CreateDeal(id taken)")
			checkList(t, "ListDeals", 1, []domain.Deal{minimal, full}, func(p store.Page) ([]domain.Deal, string, error) {
				return fx.d.ListDeals(fx.ctx, org.ID, store.DealFilter{}, p)
			})

			// Every field a closing transition sets survives the round trip.
			won := full
			won.Status = domain.DealWon
			closed := fx.tick()
			won.ClosedAt, won.UpdatedAt = &closed, closed
			won.WonValue = &domain.Money{Amount: 990000, Currency: "EUR"}
			won.Reason = "kept for the record"
			won = fx.update(t, won, "UpdateDeal(won)")
			checkGet(t, "GetDeal(won)", won, func() (domain.Deal, error) { return fx.d.GetDeal(fx.ctx, org.ID, full.ID) })
		}},
		{"Tenancy", func(t *testing.T, fx *dealFixture) {
			orgA, orgB := fx.mustOrg(t), fx.mustOrg(t)
			a := fx.mustDeal(t, orgA.ID, "prt_a", "example.com")
			b := fx.mustDeal(t, orgB.ID, "prt_a", "example.com") // same partner id and domain: another organization
			got, err := fx.d.GetDeal(fx.ctx, orgB.ID, a.ID)
			wantNotFound(t, "GetDeal(another organization's deal)", got, err)
			got, err = fx.d.GetDeal(fx.ctx, orgA.ID, fx.id("dea"))
			wantNotFound(t, "GetDeal(unknown id)", got, err)
			checkList(t, "ListDeals(organization B)", 2, []domain.Deal{b}, func(p store.Page) ([]domain.Deal, string, error) {
				return fx.d.ListDeals(fx.ctx, orgB.ID, store.DealFilter{PartnerID: "prt_a"}, p)
			})
			byDomain, err := fx.d.DealsByDomain(fx.ctx, orgA.ID, "example.com")
			must(t, err, "DealsByDomain")
			checkIDs(t, "DealsByDomain(organization A)", idsOf(byDomain), idsOf([]domain.Deal{a}))
			foreign := a
			foreign.OrgID = orgB.ID
			foreign.Status = domain.DealLost
			wantErr(t, fx.d.UpdateDeal(fx.ctx, foreign), store.ErrNotFound, "UpdateDeal(another organization's deal)")
			checkGet(t, "GetDeal after another organization tried to update it", a, func() (domain.Deal, error) { return fx.d.GetDeal(fx.ctx, orgA.ID, a.ID) })
			unknown := fx.newDeal(orgA.ID, "", "other.example")
			wantErr(t, fx.d.UpdateDeal(fx.ctx, unknown), store.ErrNotFound, "UpdateDeal(unknown id)")
		}},
		{"UpdateOptimisticLocking", func(t *testing.T, fx *dealFixture) {
			org := fx.mustOrg(t)
			d := fx.mustDeal(t, org.ID, "prt_a", "example.com")
			approved := d
			approved.Status, approved.UpdatedAt = domain.DealApproved, fx.tick()
			approved = fx.update(t, approved, "UpdateDeal(approve, revision read)")
			if approved.Revision != 1 {
				t.Fatalf("revision after one update = %d, want 1", approved.Revision)
			}
			checkGet(t, "GetDeal after the update", approved, func() (domain.Deal, error) { return fx.d.GetDeal(fx.ctx, org.ID, d.ID) })
			stale := d // revision 0
			stale.Status = domain.DealRejected
			wantErr(t, fx.d.UpdateDeal(fx.ctx, stale), store.ErrConflict, "UpdateDeal(stale revision)")
			checkGet(t, "GetDeal after a stale update", approved, func() (domain.Deal, error) { return fx.d.GetDeal(fx.ctx, org.ID, d.ID) })
		}},
		{"ClaimOfOpenPartnerDeals", func(t *testing.T, fx *dealFixture) {
			org := fx.mustOrg(t)
			first := fx.mustDeal(t, org.ID, "prt_a", "example.com")
			again := fx.newDeal(org.ID, "prt_a", "example.com")
			wantErr(t, fx.d.CreateDeal(fx.ctx, again), store.ErrConflict, "CreateDeal(same partner, same domain, first open)")
			conflicting := fx.newDeal(org.ID, "prt_a", "example.com")
			conflicting.Status = domain.DealConflict
			wantErr(t, fx.d.CreateDeal(fx.ctx, conflicting), store.ErrConflict, "CreateDeal(same partner, same domain, in conflict)")
			// Other parties and other domains are not held back by the claim.
			other := fx.mustDeal(t, org.ID, "prt_b", "example.com")
			fx.mustDeal(t, org.ID, "prt_a", "example.org")
			fx.mustDeal(t, org.ID, "", "example.com")
			fx.mustDeal(t, org.ID, "", "example.com") // direct deals never clash

			// The failed registrations left nothing behind.
			byDomain, err := fx.d.DealsByDomain(fx.ctx, org.ID, "example.com")
			must(t, err, "DealsByDomain")
			if len(byDomain) != 4 || byDomain[0].ID != first.ID || byDomain[1].ID != other.ID {
				t.Fatalf("DealsByDomain = %v, want 4 deals oldest first starting with %s, %s", idsOf(byDomain), first.ID, other.ID)
			}

			// Approving keeps the claim; closing releases it.
			approved := first
			approved.Status = domain.DealApproved
			approved = fx.update(t, approved, "UpdateDeal(approve)")
			wantErr(t, fx.d.CreateDeal(fx.ctx, again), store.ErrConflict, "CreateDeal(same partner, first approved)")
			lost := approved
			lost.Status = domain.DealLost
			closed := fx.tick()
			lost.ClosedAt = &closed
			fx.update(t, lost, "UpdateDeal(lost)")
			must(t, fx.d.CreateDeal(fx.ctx, again), "CreateDeal(same partner, same domain, first closed)")
			third := fx.newDeal(org.ID, "prt_a", "example.com")
			wantErr(t, fx.d.CreateDeal(fx.ctx, third), store.ErrConflict, "CreateDeal(the new registration holds the claim)")
		}},
		{"ConcurrentRegistrationsOfOneDomain", func(t *testing.T, fx *dealFixture) {
			org := fx.mustOrg(t)
			fx.warmUp(t, org.ID)
			for round := range raceRounds {
				host := fmt.Sprintf("race%d.example.com", round)
				recs := make([]domain.Deal, concurrency)
				for i := range recs {
					recs[i] = fx.newDeal(org.ID, "prt_racer", host)
				}
				errs := race(concurrency, func(i int) error { return fx.d.CreateDeal(fx.ctx, recs[i]) })
				w := exactlyOneWinner(t, "CreateDeal("+host+")", errs)
				got, err := fx.d.DealsByDomain(fx.ctx, org.ID, host)
				must(t, err, "DealsByDomain")
				checkIDs(t, "DealsByDomain after the race", idsOf(got), idsOf([]domain.Deal{recs[w]}))
			}
		}},
		{"FiltersAndPages", func(t *testing.T, fx *dealFixture) {
			org := fx.mustOrg(t)
			var all []domain.Deal
			for i := range 7 {
				partner := []string{"prt_a", "prt_b", ""}[i%3]
				d := fx.mustDeal(t, org.ID, partner, fmt.Sprintf("c%d.example.com", i))
				if i%2 == 1 {
					d.Status = domain.DealApproved
					d = fx.update(t, d, "UpdateDeal(approve)")
				}
				all = append(all, d)
			}
			match := func(f store.DealFilter) []domain.Deal {
				var out []domain.Deal
				for _, d := range all {
					if (f.Source == "" || string(d.Source) == f.Source) && (f.PartnerID == "" || d.PartnerID == f.PartnerID) &&
						(f.Status == "" || string(d.Status) == f.Status) {
						out = append(out, d)
					}
				}
				return reversed(out)
			}
			for _, f := range []store.DealFilter{
				{}, {Source: "partner"}, {Source: "direct"}, {PartnerID: "prt_a"}, {Status: "approved"},
				{Source: "partner", Status: "registered"}, {PartnerID: "prt_b", Status: "approved"},
				{PartnerID: "prt_a", Source: "direct"}, {Status: "won"},
			} {
				checkList(t, fmt.Sprintf("ListDeals(%+v)", f), 2, match(f), func(p store.Page) ([]domain.Deal, string, error) {
					return fx.d.ListDeals(fx.ctx, org.ID, f, p)
				})
			}
			_, _, err := fx.d.ListDeals(fx.ctx, org.ID, store.DealFilter{}, store.Page{Limit: 2, Cursor: "made-up"})
			wantErr(t, err, store.ErrBadCursor, "ListDeals(made-up cursor)")
		}},
	}
}

type dealTest struct {
	name string
	run  func(t *testing.T, fx *dealFixture)
}
