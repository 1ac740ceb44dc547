package storetest

import (
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/partnerloop/partnerloop/internal/domain"
	"github.com/partnerloop/partnerloop/internal/store"
)

// newTier returns a tier with every optional setting given: a hold period
// and two rule versions.
func (fx *fixture) newTier(orgID string) domain.PartnerTier {
	created := fx.tick()
	first := domain.CommissionRule{Type: domain.RuleFlat, Amount: ptr(int64(5000))}
	rule := domain.CommissionRule{Type: domain.RulePercentage, RateBps: ptr(int64(1500))}
	return domain.PartnerTier{
		ID: fx.id("tir"), OrgID: orgID, Name: fmt.Sprintf("Gold %d", fx.serial()), Commission: rule,
		RuleVersions: []domain.RuleVersion{
			{Version: 1, EffectiveFrom: created.Add(-time.Hour), Rule: first},
			{Version: 2, EffectiveFrom: created, Rule: rule},
		},
		HoldDays: ptr(45), CreatedAt: created.Add(-time.Hour), UpdatedAt: created,
	}
}

func (fx *fixture) mustTier(t *testing.T, orgID string) domain.PartnerTier {
	t.Helper()
	tr := fx.newTier(orgID)
	must(t, fx.s.CreateTier(fx.ctx, tr), "CreateTier")
	return tr
}

// newPartner returns a partner of the tier with every optional setting
// given: its own rule (two versions, the first without a rule) and two
// agreements, one with a URL.
func (fx *fixture) newPartner(orgID, tierID, local string) domain.Partner {
	created := fx.tick()
	rule := domain.CommissionRule{Type: domain.RuleFlat, Amount: ptr(int64(7500))}
	return domain.Partner{
		ID: fx.id("prt"), OrgID: orgID, CompanyName: "Acme " + local, ContactName: "Contact " + local,
		Email: fx.email(local), TierID: tierID, Commission: &rule,
		RuleVersions: []domain.PartnerRuleVersion{
			{Version: 1, EffectiveFrom: created.Add(-time.Hour)},
			{Version: 2, EffectiveFrom: created, Rule: &rule},
		},
		Agreements: []domain.Agreement{
			{Name: "Reseller agreement", SignedAt: created.Add(-48 * time.Hour), URL: "https://docs.example.com/a.pdf"},
			{Name: "NDA", SignedAt: created.Add(-72 * time.Hour)},
		},
		Status: domain.PartnerActive, CreatedAt: created.Add(-time.Hour), UpdatedAt: created,
	}
}

func (fx *fixture) mustPartner(t *testing.T, orgID, tierID, local string) domain.Partner {
	t.Helper()
	p := fx.newPartner(orgID, tierID, local)
	must(t, fx.s.CreatePartner(fx.ctx, p), "CreatePartner")
	return p
}

func tierTests() []test {
	return []test{
		{"RoundTrip", func(t *testing.T, fx *fixture) {
			org := fx.mustOrg(t)
			full := fx.mustTier(t, org.ID)
			created := fx.tick()
			rule := domain.CommissionRule{Type: domain.RuleFlat, Amount: ptr(int64(100))}
			minimal := domain.PartnerTier{ID: fx.id("tir"), OrgID: org.ID, Name: "Minimal", Commission: rule,
				RuleVersions: []domain.RuleVersion{{Version: 1, EffectiveFrom: created, Rule: rule}},
				CreatedAt:    created, UpdatedAt: created}
			must(t, fx.s.CreateTier(fx.ctx, minimal), "CreateTier(minimal)")
			for _, want := range []domain.PartnerTier{full, minimal} {
				checkGet(t, "GetTier("+want.Name+")", want, func() (domain.PartnerTier, error) { return fx.s.GetTier(fx.ctx, org.ID, want.ID) })
			}
			taken := minimal
			taken.Name = "Another tier, same id"
			wantErr(t, fx.s.CreateTier(fx.ctx, taken), store.ErrConflict, "CreateTier(id taken)")
			checkList(t, "ListTiers", 5, []domain.PartnerTier{minimal, full}, func(p store.Page) ([]domain.PartnerTier, string, error) {
				return fx.s.ListTiers(fx.ctx, org.ID, p)
			})
		}},
		{"Tenancy", func(t *testing.T, fx *fixture) {
			orgA, orgB := fx.mustOrg(t), fx.mustOrg(t)
			a := fx.mustTier(t, orgA.ID)
			b := fx.mustTier(t, orgB.ID)
			got, err := fx.s.GetTier(fx.ctx, orgB.ID, a.ID)
			wantNotFound(t, "GetTier(another organization's tier)", got, err)
			got, err = fx.s.GetTier(fx.ctx, orgA.ID, fx.id("tir"))
			wantNotFound(t, "GetTier(unknown id)", got, err)
			checkList(t, "ListTiers(organization B)", 2, []domain.PartnerTier{b}, func(pg store.Page) ([]domain.PartnerTier, string, error) {
				return fx.s.ListTiers(fx.ctx, orgB.ID, pg)
			})
			foreign := a
			foreign.OrgID = orgB.ID
			foreign.Name = "Hijacked"
			wantErr(t, fx.s.UpdateTier(fx.ctx, foreign), store.ErrNotFound, "UpdateTier(another organization's tier)")
			checkGet(t, "GetTier after another organization tried to update it", a, func() (domain.PartnerTier, error) {
				return fx.s.GetTier(fx.ctx, orgA.ID, a.ID)
			})
			unknown := fx.newTier(orgA.ID)
			wantErr(t, fx.s.UpdateTier(fx.ctx, unknown), store.ErrNotFound, "UpdateTier(unknown id)")
			got, err = fx.s.GetTier(fx.ctx, orgA.ID, unknown.ID)
			wantNotFound(t, "GetTier after UpdateTier of an unknown id (it must not be created)", got, err)
		}},
		{"UpdateOptimisticLocking", func(t *testing.T, fx *fixture) {
			org := fx.mustOrg(t)
			tr := fx.mustTier(t, org.ID)
			read, err := fx.s.GetTier(fx.ctx, org.ID, tr.ID)
			must(t, err, "GetTier")
			edit := read
			edit.Name = "Platinum"
			edit.HoldDays = nil
			edit.Commission = domain.CommissionRule{Type: domain.RulePercentage, RateBps: ptr(int64(2000))}
			edit.RuleVersions = append(append([]domain.RuleVersion(nil), read.RuleVersions...),
				domain.RuleVersion{Version: 3, EffectiveFrom: fx.tick(), Rule: edit.Commission})
			edit.UpdatedAt = fx.tick()
			must(t, fx.s.UpdateTier(fx.ctx, edit), "UpdateTier(with the revision read)")
			want := edit
			want.Revision = read.Revision + 1
			checkGet(t, "GetTier after UpdateTier (Revision must be +1)", want, func() (domain.PartnerTier, error) {
				return fx.s.GetTier(fx.ctx, org.ID, tr.ID)
			})
			stale := read
			stale.Name = "Lost update"
			wantErr(t, fx.s.UpdateTier(fx.ctx, stale), store.ErrConflict, "UpdateTier(stale revision)")
			checkGet(t, "GetTier after a refused stale update", want, func() (domain.PartnerTier, error) {
				return fx.s.GetTier(fx.ctx, org.ID, tr.ID)
			})
		}},
		{"ListPages", func(t *testing.T, fx *fixture) {
			orgA, orgB := fx.mustOrg(t), fx.mustOrg(t)
			var created []domain.PartnerTier
			for i := range 7 {
				created = append(created, fx.mustTier(t, orgA.ID))
				if i%3 == 1 {
					fx.mustTier(t, orgB.ID)
				}
			}
			for _, limit := range []int{2, 3} {
				checkList(t, fmt.Sprintf("ListTiers(limit %d)", limit), limit, reversed(created), func(p store.Page) ([]domain.PartnerTier, string, error) {
					return fx.s.ListTiers(fx.ctx, orgA.ID, p)
				})
			}
		}},
	}
}

func partnerTests() []test {
	return []test{
		{"RoundTrip", func(t *testing.T, fx *fixture) {
			org := fx.mustOrg(t)
			tr := fx.mustTier(t, org.ID)
			full := fx.mustPartner(t, org.ID, tr.ID, "full")
			// Every optional setting left out: nil must come back nil.
			created := fx.tick()
			minimal := domain.Partner{ID: fx.id("prt"), OrgID: org.ID, CompanyName: "Minimal", ContactName: "Min",
				Email: fx.email("minimal"), TierID: tr.ID, RuleVersions: []domain.PartnerRuleVersion{{Version: 1, EffectiveFrom: created}},
				Agreements: []domain.Agreement{}, Status: domain.PartnerActive, CreatedAt: created, UpdatedAt: created}
			must(t, fx.s.CreatePartner(fx.ctx, minimal), "CreatePartner(minimal)")
			for _, want := range []domain.Partner{full, minimal} {
				checkGet(t, "GetPartner("+want.CompanyName+")", want, func() (domain.Partner, error) { return fx.s.GetPartner(fx.ctx, org.ID, want.ID) })
			}
			checkList(t, "ListPartners", 5, []domain.Partner{minimal, full}, func(p store.Page) ([]domain.Partner, string, error) {
				return fx.s.ListPartners(fx.ctx, org.ID, store.PartnerFilter{}, p)
			})
		}},
		{"EmailUniquePerOrganization", func(t *testing.T, fx *fixture) {
			orgA, orgB := fx.mustOrg(t), fx.mustOrg(t)
			ta, tb := fx.mustTier(t, orgA.ID), fx.mustTier(t, orgB.ID)
			p := fx.mustPartner(t, orgA.ID, ta.ID, "dup")
			again := fx.newPartner(orgA.ID, ta.ID, "dup")
			wantErr(t, fx.s.CreatePartner(fx.ctx, again), store.ErrConflict, "CreatePartner(an email taken in the organization)")
			got, err := fx.s.GetPartner(fx.ctx, orgA.ID, again.ID)
			wantNotFound(t, "GetPartner after a refused CreatePartner", got, err)
			// The same address in another organization is another partner.
			other := fx.newPartner(orgB.ID, tb.ID, "dup")
			must(t, fx.s.CreatePartner(fx.ctx, other), "CreatePartner(the same email in another organization)")

			// Update: taking another partner's address is refused, and the
			// freed address of a partner who moved is free again.
			q := fx.mustPartner(t, orgA.ID, ta.ID, "second")
			read, err := fx.s.GetPartner(fx.ctx, orgA.ID, q.ID)
			must(t, err, "GetPartner")
			steal := read
			steal.Email = p.Email
			wantErr(t, fx.s.UpdatePartner(fx.ctx, steal), store.ErrConflict, "UpdatePartner(to another partner's email)")
			checkGet(t, "GetPartner after a refused email change", q, func() (domain.Partner, error) { return fx.s.GetPartner(fx.ctx, orgA.ID, q.ID) })

			moved := read
			moved.Email = fx.email("moved")
			must(t, fx.s.UpdatePartner(fx.ctx, moved), "UpdatePartner(to a free email)")
			moved.Revision++
			checkGet(t, "GetPartner after an email change", moved, func() (domain.Partner, error) { return fx.s.GetPartner(fx.ctx, orgA.ID, q.ID) })
			reuse := fx.newPartner(orgA.ID, ta.ID, "second")
			must(t, fx.s.CreatePartner(fx.ctx, reuse), "CreatePartner(the address another partner left)")
			dup := fx.newPartner(orgA.ID, ta.ID, "moved")
			wantErr(t, fx.s.CreatePartner(fx.ctx, dup), store.ErrConflict, "CreatePartner(the address a partner moved to)")
		}},
		{"EmailRace", func(t *testing.T, fx *fixture) {
			org := fx.mustOrg(t)
			tr := fx.mustTier(t, org.ID)
			const concurrency = 6
			recs := make([]domain.Partner, concurrency)
			for i := range recs {
				recs[i] = fx.newPartner(org.ID, tr.ID, "racer")
				if i%2 == 1 {
					recs[i].Email = strings.ToUpper(recs[i].Email)
				}
			}
			errs := race(concurrency, func(i int) error { return fx.s.CreatePartner(fx.ctx, recs[i]) })
			w := exactlyOneWinner(t, "CreatePartner racing for one email", errs)
			checkList(t, "ListPartners after the race", 5, []domain.Partner{recs[w]}, func(p store.Page) ([]domain.Partner, string, error) {
				return fx.s.ListPartners(fx.ctx, org.ID, store.PartnerFilter{}, p)
			})
		}},
		{"Tenancy", func(t *testing.T, fx *fixture) {
			orgA, orgB := fx.mustOrg(t), fx.mustOrg(t)
			ta, tb := fx.mustTier(t, orgA.ID), fx.mustTier(t, orgB.ID)
			a := fx.mustPartner(t, orgA.ID, ta.ID, "a")
			b := fx.mustPartner(t, orgB.ID, tb.ID, "b")
			got, err := fx.s.GetPartner(fx.ctx, orgB.ID, a.ID)
			wantNotFound(t, "GetPartner(another organization's partner)", got, err)
			got, err = fx.s.GetPartner(fx.ctx, orgA.ID, fx.id("prt"))
			wantNotFound(t, "GetPartner(unknown id)", got, err)
			checkList(t, "ListPartners(organization B)", 2, []domain.Partner{b}, func(pg store.Page) ([]domain.Partner, string, error) {
				return fx.s.ListPartners(fx.ctx, orgB.ID, store.PartnerFilter{}, pg)
			})
			checkList(t, "ListPartners(organization B, organization A's tier)", 2, nil, func(pg store.Page) ([]domain.Partner, string, error) {
				return fx.s.ListPartners(fx.ctx, orgB.ID, store.PartnerFilter{TierID: ta.ID}, pg)
			})
			foreign := a
			foreign.OrgID = orgB.ID
			foreign.CompanyName = "Hijacked"
			wantErr(t, fx.s.UpdatePartner(fx.ctx, foreign), store.ErrNotFound, "UpdatePartner(another organization's partner)")
			checkGet(t, "GetPartner after another organization tried to update it", a, func() (domain.Partner, error) {
				return fx.s.GetPartner(fx.ctx, orgA.ID, a.ID)
			})
			got, err = fx.s.GetPartner(fx.ctx, orgB.ID, a.ID)
			wantNotFound(t, "GetPartner(organization B) after its refused update", got, err)
			unknown := fx.newPartner(orgA.ID, ta.ID, "unknown")
			wantErr(t, fx.s.UpdatePartner(fx.ctx, unknown), store.ErrNotFound, "UpdatePartner(unknown id)")
		}},
		{"UpdateOptimisticLocking", func(t *testing.T, fx *fixture) {
			org := fx.mustOrg(t)
			t1, t2 := fx.mustTier(t, org.ID), fx.mustTier(t, org.ID)
			p := fx.mustPartner(t, org.ID, t1.ID, "lock")
			read, err := fx.s.GetPartner(fx.ctx, org.ID, p.ID)
			must(t, err, "GetPartner")
			edit := read
			edit.CompanyName = "Acme Renamed"
			edit.TierID = t2.ID
			edit.Commission = nil
			edit.RuleVersions = append(append([]domain.PartnerRuleVersion(nil), read.RuleVersions...),
				domain.PartnerRuleVersion{Version: 3, EffectiveFrom: fx.tick()})
			edit.Agreements = nil
			edit.UpdatedAt = fx.tick()
			must(t, fx.s.UpdatePartner(fx.ctx, edit), "UpdatePartner(with the revision read)")
			want := edit
			want.Revision = read.Revision + 1
			checkGet(t, "GetPartner after UpdatePartner (Revision must be +1)", want, func() (domain.Partner, error) {
				return fx.s.GetPartner(fx.ctx, org.ID, p.ID)
			})
			stale := read
			stale.ContactName = "Lost update"
			wantErr(t, fx.s.UpdatePartner(fx.ctx, stale), store.ErrConflict, "UpdatePartner(stale revision)")
			stale.Email = fx.email("stale")
			wantErr(t, fx.s.UpdatePartner(fx.ctx, stale), store.ErrConflict, "UpdatePartner(stale revision, new email)")
			checkGet(t, "GetPartner after refused stale updates", want, func() (domain.Partner, error) {
				return fx.s.GetPartner(fx.ctx, org.ID, p.ID)
			})
			// The moved partner is listed under its new tier only.
			checkList(t, "ListPartners(old tier)", 2, nil, func(pg store.Page) ([]domain.Partner, string, error) {
				return fx.s.ListPartners(fx.ctx, org.ID, store.PartnerFilter{TierID: t1.ID}, pg)
			})
			checkList(t, "ListPartners(new tier)", 2, []domain.Partner{want}, func(pg store.Page) ([]domain.Partner, string, error) {
				return fx.s.ListPartners(fx.ctx, org.ID, store.PartnerFilter{TierID: t2.ID}, pg)
			})
			// The refused update's address was not taken.
			must(t, fx.s.CreatePartner(fx.ctx, fx.newPartner(org.ID, t1.ID, "stale")), "CreatePartner(the address a refused update asked for)")
		}},
		{"NewEmailMovesThePortalUser", func(t *testing.T, fx *fixture) {
			org := fx.mustOrg(t)
			tr := fx.mustTier(t, org.ID)
			p := fx.mustPartner(t, org.ID, tr.ID, "moving")
			portal := fx.newUser(org.ID, "moving")
			portal.ID, portal.PartnerID = domain.PortalUserID(p.ID), p.ID
			must(t, fx.s.CreateUser(fx.ctx, portal), "CreateUser(the partner's portal user)")
			p.Portal = domain.PortalAccessOf(&portal, nil) // the store reads it with the partner
			other := fx.mustUser(t, org.ID, "someone")

			// The address another user of the installation signs in with:
			// refused, and nothing changes.
			taken := p
			taken.Email, taken.UpdatedAt = other.Email, fx.tick()
			wantErr(t, fx.s.UpdatePartner(fx.ctx, taken), store.ErrConflict, "UpdatePartner(another user's address)")
			checkGet(t, "GetPartner after the refused update", p, func() (domain.Partner, error) { return fx.s.GetPartner(fx.ctx, org.ID, p.ID) })
			checkGet(t, "GetUser(portal user) after the refused update", portal, func() (domain.User, error) { return fx.s.GetUser(fx.ctx, org.ID, portal.ID) })

			moved := p
			moved.Email, moved.UpdatedAt = fx.email("moved"), fx.tick()
			must(t, fx.s.UpdatePartner(fx.ctx, moved), "UpdatePartner(new email)")
			want := portal
			want.Email, want.UpdatedAt = moved.Email, moved.UpdatedAt
			checkGet(t, "GetUser(portal user) after the partner's new email", want, func() (domain.User, error) { return fx.s.GetUser(fx.ctx, org.ID, portal.ID) })
			checkGet(t, "GetUserByEmail(new email)", want, func() (domain.User, error) { return fx.s.GetUserByEmail(fx.ctx, moved.Email) })
			got, err := fx.s.GetUserByEmail(fx.ctx, portal.Email)
			wantNotFound(t, "GetUserByEmail(old email)", got, err)
			// The old address is free for anyone again.
			newcomer := fx.newUser(org.ID, "newcomer")
			newcomer.Email = portal.Email
			must(t, fx.s.CreateUser(fx.ctx, newcomer), "CreateUser(the portal user's old address)")
			checkGet(t, "GetUser(the other user)", other, func() (domain.User, error) { return fx.s.GetUser(fx.ctx, org.ID, other.ID) })

			// A partner without a portal user just changes its address.
			alone := fx.mustPartner(t, org.ID, tr.ID, "alone")
			alone.Email, alone.UpdatedAt = fx.email("alone2"), fx.tick()
			must(t, fx.s.UpdatePartner(fx.ctx, alone), "UpdatePartner(no portal user)")
			got, err = fx.s.GetUser(fx.ctx, org.ID, domain.PortalUserID(alone.ID))
			wantNotFound(t, "GetUser(portal user of a partner never invited)", got, err)
		}},
		{"ListPagesAndTierFilter", func(t *testing.T, fx *fixture) {
			orgA, orgB := fx.mustOrg(t), fx.mustOrg(t)
			t1, t2 := fx.mustTier(t, orgA.ID), fx.mustTier(t, orgA.ID)
			tb := fx.mustTier(t, orgB.ID)
			var all, inT1, inT2 []domain.Partner
			for i := range 8 {
				tier := t1.ID
				if i%3 == 0 {
					tier = t2.ID
				}
				p := fx.mustPartner(t, orgA.ID, tier, fmt.Sprintf("p%d", i))
				all = append(all, p)
				if tier == t1.ID {
					inT1 = append(inT1, p)
				} else {
					inT2 = append(inT2, p)
				}
				if i%4 == 1 {
					fx.mustPartner(t, orgB.ID, tb.ID, fmt.Sprintf("b%d", i))
				}
			}
			for _, limit := range []int{2, 3} {
				checkList(t, fmt.Sprintf("ListPartners(limit %d)", limit), limit, reversed(all), func(p store.Page) ([]domain.Partner, string, error) {
					return fx.s.ListPartners(fx.ctx, orgA.ID, store.PartnerFilter{}, p)
				})
				checkList(t, fmt.Sprintf("ListPartners(tier 1, limit %d)", limit), limit, reversed(inT1), func(p store.Page) ([]domain.Partner, string, error) {
					return fx.s.ListPartners(fx.ctx, orgA.ID, store.PartnerFilter{TierID: t1.ID}, p)
				})
				checkList(t, fmt.Sprintf("ListPartners(tier 2, limit %d)", limit), limit, reversed(inT2), func(p store.Page) ([]domain.Partner, string, error) {
					return fx.s.ListPartners(fx.ctx, orgA.ID, store.PartnerFilter{TierID: t2.ID}, p)
				})
			}
			checkList(t, "ListPartners(unknown tier)", 2, nil, func(p store.Page) ([]domain.Partner, string, error) {
				return fx.s.ListPartners(fx.ctx, orgA.ID, store.PartnerFilter{TierID: fx.id("tir")}, p)
			})
		}},
	}
}

// testPartnerChanges: tier and partner writes append their changes, and
// a refused partner write appends nothing.
func testPartnerChanges(t *testing.T, fx *fixture) {
	org := fx.mustOrg(t)
	r := &outboxReader{fx: fx, last: fx.lastSeq(t)}

	tr := fx.mustTier(t, org.ID)
	checkBatch(t, "CreateTier", r.next(t), wantChange{"partner_tier", "INSERT", org.ID, tr.ID, nil, tr})
	edit := tr
	edit.Name = "Renamed"
	must(t, fx.s.UpdateTier(fx.ctx, edit), "UpdateTier")
	edit.Revision++
	checkBatch(t, "UpdateTier", r.next(t), wantChange{"partner_tier", "MODIFY", org.ID, tr.ID, tr, edit})

	p := fx.mustPartner(t, org.ID, tr.ID, "outbox")
	checkBatch(t, "CreatePartner", r.next(t), wantChange{"partner", "INSERT", org.ID, p.ID, nil, p})
	pe := p
	pe.ContactName = "New contact"
	must(t, fx.s.UpdatePartner(fx.ctx, pe), "UpdatePartner")
	pe.Revision++
	checkBatch(t, "UpdatePartner", r.next(t), wantChange{"partner", "MODIFY", org.ID, p.ID, p, pe})

	wantErr(t, fx.s.CreatePartner(fx.ctx, fx.newPartner(org.ID, tr.ID, "outbox")), store.ErrConflict, "CreatePartner(email taken)")
	wantErr(t, fx.s.UpdatePartner(fx.ctx, p), store.ErrConflict, "UpdatePartner(stale)")
	checkBatch(t, "refused partner writes", r.next(t))
}
