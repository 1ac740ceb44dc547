package storetest

import (
	"fmt"
	"testing"

	"github.com/partnerloop/partnerloop/internal/domain"
	"github.com/partnerloop/partnerloop/internal/store"
)

// PortalStore is a store with the partner portal's queries.
type PortalStore interface {
	store.Store
	store.PartnerReferrers
}

// RunPortal runs the conformance suite of store.PartnerReferrers. Like Run,
// each subtest calls newStore once and must get an empty store of its own.
func RunPortal(t *testing.T, newStore func(t *testing.T) PortalStore) {
	t.Helper()
	for _, tc := range portalTests() {
		t.Run(tc.name, func(t *testing.T) {
			tc.run(t, newFixture(t, newStore(t), nil))
		})
	}
}

type portalFixture struct {
	*fixture
	p PortalStore
}

func (fx *portalFixture) mustPartnerReferrer(t *testing.T, orgID, programID, local, partnerID string) domain.Referrer {
	t.Helper()
	r := fx.newReferrer(orgID, programID, local)
	r.PartnerID = partnerID
	must(t, fx.s.CreateReferrer(fx.ctx, r), "CreateReferrer")
	return r
}

func portalTests() []test {
	return []test{
		{"ReferrersByPartnerAcrossPrograms", func(t *testing.T, base *fixture) {
			fx := &portalFixture{fixture: base, p: base.s.(PortalStore)}
			orgA, orgB := fx.mustOrg(t), fx.mustOrg(t)
			p1, p2 := fx.mustProgram(t, orgA.ID), fx.mustProgram(t, orgA.ID)
			pB := fx.mustProgram(t, orgB.ID)
			const partner, other = "prt_alpha", "prt_beta"
			var mine []domain.Referrer
			for i := range 5 {
				prog := p1
				if i%2 == 1 {
					prog = p2
				}
				mine = append(mine, fx.mustPartnerReferrer(t, orgA.ID, prog.ID, fmt.Sprintf("a%d", i), partner))
				// Interleaved: another partner's, a customer's (no partner), and
				// another organization's referrer under the same partner id.
				fx.mustPartnerReferrer(t, orgA.ID, prog.ID, fmt.Sprintf("b%d", i), other)
				fx.mustPartnerReferrer(t, orgA.ID, prog.ID, fmt.Sprintf("c%d", i), "")
				fx.mustPartnerReferrer(t, orgB.ID, pB.ID, fmt.Sprintf("d%d", i), partner)
			}
			// Clicks show in the listed records like in GetReferrer.
			counted, err := fx.s.RecordClick(fx.ctx, fx.newClick(mine[1], "visitor-1", fx.tick()), hourly)
			must(t, err, "RecordClick")
			if !counted {
				t.Fatal("RecordClick: the first click was not counted")
			}
			mine[1].Clicks = 1

			for _, limit := range []int{1, 2, 5, 50} {
				checkList(t, fmt.Sprintf("ListReferrersByPartner(limit %d)", limit), limit, reversed(mine),
					func(pg store.Page) ([]domain.Referrer, string, error) {
						return fx.p.ListReferrersByPartner(fx.ctx, orgA.ID, partner, pg)
					})
			}
			checkList(t, "ListReferrersByPartner(unknown partner)", 2, nil, func(pg store.Page) ([]domain.Referrer, string, error) {
				return fx.p.ListReferrersByPartner(fx.ctx, orgA.ID, "prt_unknown", pg)
			})
			checkList(t, "ListReferrersByPartner(\"\")", 2, nil, func(pg store.Page) ([]domain.Referrer, string, error) {
				return fx.p.ListReferrersByPartner(fx.ctx, orgA.ID, "", pg)
			})
			got := listAll(t, "ListReferrersByPartner(organization B)", 2, func(pg store.Page) ([]domain.Referrer, string, error) {
				return fx.p.ListReferrersByPartner(fx.ctx, orgB.ID, partner, pg)
			})
			for _, r := range got {
				if r.OrgID != orgB.ID {
					t.Errorf("ListReferrersByPartner(organization B) returned %s of organization %s", r.ID, r.OrgID)
				}
			}
			if len(got) != 5 {
				t.Errorf("ListReferrersByPartner(organization B): %d referrers, want 5", len(got))
			}
		}},
		{"GarbageCursorIsRefused", func(t *testing.T, base *fixture) {
			fx := &portalFixture{fixture: base, p: base.s.(PortalStore)}
			org := fx.mustOrg(t)
			prog := fx.mustProgram(t, org.ID)
			fx.mustPartnerReferrer(t, org.ID, prog.ID, "a0", "prt_alpha")
			_, _, err := fx.p.ListReferrersByPartner(fx.ctx, org.ID, "prt_alpha", store.Page{Limit: 1, Cursor: "not-a-cursor"})
			wantErr(t, err, store.ErrBadCursor, "ListReferrersByPartner(garbage cursor)")
		}},
	}
}
