package storetest

import (
	"errors"
	"fmt"
	"slices"
	"testing"

	"github.com/partnerloop/partnerloop/internal/commission"
	"github.com/partnerloop/partnerloop/internal/domain"
	"github.com/partnerloop/partnerloop/internal/store"
)

// What the period-close job walks: every organization
// (store.Store.ListOrganizations) and, per organization and period, the
// running totals that hold slots (store.Ledger.RunningTotals).

// organizationListTests are the Organizations tests of ListOrganizations.
// The list spans the installation, so the tests look only at the
// organizations they created: an adapter whose "fresh" stores share one
// backing table passes too.
func organizationListTests() []test {
	return []test{
		{"ListNewestFirstOnceEach", func(t *testing.T, fx *fixture) {
			var created []domain.Organization
			for range 5 {
				created = append(created, fx.mustOrg(t))
			}
			mine := func(orgs []domain.Organization) []domain.Organization {
				var out []domain.Organization
				for _, o := range orgs {
					if slices.ContainsFunc(created, func(c domain.Organization) bool { return c.ID == o.ID }) {
						out = append(out, o)
					}
				}
				return out
			}
			want := reversed(created)
			for _, limit := range []int{1, 2, 5, 50} {
				what := fmt.Sprintf("ListOrganizations(limit %d)", limit)
				got := mine(listAll(t, what, limit, func(p store.Page) ([]domain.Organization, string, error) {
					return fx.s.ListOrganizations(fx.ctx, p)
				}))
				if !slices.Equal(idsOf(got), idsOf(want)) {
					checkIDs(t, what, idsOf(got), idsOf(want))
					continue
				}
				checkEqual(t, what, got, want)
			}
		}},
		{"ListBadCursor", func(t *testing.T, fx *fixture) {
			fx.mustOrg(t)
			for _, cursor := range []string{"garbage", "Z2FyYmFnZQ", "!!not a cursor!!", "\x00\xff"} {
				got, next, err := fx.s.ListOrganizations(fx.ctx, store.Page{Limit: 2, Cursor: cursor})
				if !errors.Is(err, store.ErrBadCursor) {
					t.Errorf("ListOrganizations(cursor %q) = (%d organizations, next %q, %v), want store.ErrBadCursor", cursor, len(got), next, err)
				}
			}
		}},
	}
}

// runningTotalListTests are the RunningTotals tests of RunningTotals.
func runningTotalListTests() []ledgerTest {
	return []ledgerTest{
		{"ListedByPeriod", func(t *testing.T, fx *ledgerFixture) {
			orgA, orgB := fx.mustOrg(t), fx.mustOrg(t)
			prg := fx.id("prg")
			key := func(beneficiary, period string) string {
				return commission.CounterKey{BeneficiaryID: beneficiary + "_" + fx.tag, RuleSource: commission.SourceProgram,
					RuleOwnerID: prg, PeriodKey: period}.String()
			}
			march1, march2 := key("rfr_b", "2026-03"), key("rfr_a", "2026-03")
			q1, year, april := key("rfr_a", "2026-Q1"), key("rfr_a", "2026"), key("rfr_a", "2026-04")
			otherOrg := key("rfr_c", "2026-03")
			check := func(what, orgID, period string, want ...string) {
				t.Helper()
				got, err := fx.l.RunningTotals(fx.ctx, orgID, period)
				if err != nil {
					t.Errorf("%s: RunningTotals(%s): %v", what, period, err)
					return
				}
				if !slices.Equal(got, want) {
					t.Errorf("%s: RunningTotals(%s) = %q, want %q (ascending, each once)", what, period, got, want)
				}
			}
			check("before any slot", orgA.ID, "2026-03")
			assign := func(orgID, key string, value int64) string {
				t.Helper()
				cnv := fx.id("cnv")
				_, err := fx.l.AssignSlot(fx.ctx, orgID, key, cnv, value)
				must(t, err, "AssignSlot("+key+")")
				return cnv
			}
			first := assign(orgA.ID, march1, 1000)
			check("after the first slot", orgA.ID, "2026-03", march1)
			assign(orgA.ID, march1, 2000)
			_, err := fx.l.AssignSlot(fx.ctx, orgA.ID, march1, first, 1000) // delivered again
			must(t, err, "AssignSlot(again)")
			assign(orgA.ID, march2, 0)
			assign(orgA.ID, q1, 500)
			assign(orgA.ID, year, 500)
			assign(orgA.ID, april, 500)
			assign(orgB.ID, otherOrg, 700)

			want := []string{march1, march2}
			slices.Sort(want)
			check("month", orgA.ID, "2026-03", want...)
			check("quarter", orgA.ID, "2026-Q1", q1)
			check("year (not its months)", orgA.ID, "2026", year)
			check("next month", orgA.ID, "2026-04", april)
			check("another organization", orgB.ID, "2026-03", otherOrg)
			check("a period without slots", orgA.ID, "2025-03")
			check("an organization without slots", fx.id("org"), "2026-03")
		}},
		{"ConcurrentFirstSlotsListTheKeyOnce", func(t *testing.T, fx *ledgerFixture) {
			org := fx.mustOrg(t)
			fx.warmUp(t, org.ID)
			key := commission.CounterKey{BeneficiaryID: "rfr_" + fx.tag, RuleSource: commission.SourceProgram,
				RuleOwnerID: fx.id("prg"), PeriodKey: "2026-Q2"}.String()
			for i, err := range race(concurrency, func(int) error {
				_, err := fx.l.AssignSlot(fx.ctx, org.ID, key, fx.id("cnv"), 100)
				return err
			}) {
				must(t, err, fmt.Sprintf("AssignSlot(racer %d)", i))
			}
			got, err := fx.l.RunningTotals(fx.ctx, org.ID, "2026-Q2")
			must(t, err, "RunningTotals")
			if !slices.Equal(got, []string{key}) {
				t.Errorf("RunningTotals after %d racing first slots = %q, want [%q]", concurrency, got, key)
			}
		}},
	}
}
