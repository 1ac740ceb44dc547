package storetest

import (
	"fmt"
	"strings"
	"testing"

	"github.com/partnerloop/partnerloop/internal/domain"
	"github.com/partnerloop/partnerloop/internal/store"
)

func programTests() []test {
	return []test{
		{"RoundTrip", func(t *testing.T, fx *fixture) {
			org := fx.mustOrg(t)
			full := fx.mustProgram(t, org.ID)
			// A draft with every optional setting left out: nil pointers must
			// come back nil, not as zero values.
			created := fx.tick()
			minimal := domain.Program{
				ID: fx.id("prg"), OrgID: org.ID, Name: "Minimal", Status: domain.ProgramDraft,
				LandingURL: "http://example.org/", Currency: "JPY", StartsAt: created,
				AttributionWindowDays: 1, QualifyingEvents: []string{domain.EventSignup},
				Commission: domain.CommissionRule{Type: domain.RulePercentage, RateBps: ptr(int64(1250))},
				RuleVersions: []domain.RuleVersion{{Version: 1, EffectiveFrom: created,
					Rule: domain.CommissionRule{Type: domain.RulePercentage, RateBps: ptr(int64(1250))}}},
				CreatedAt: created, UpdatedAt: created,
			}
			must(t, fx.s.CreateProgram(fx.ctx, minimal), "CreateProgram(minimal)")
			for _, want := range []domain.Program{full, minimal} {
				checkGet(t, "GetProgram("+want.Name+")", want, func() (domain.Program, error) { return fx.s.GetProgram(fx.ctx, org.ID, want.ID) })
			}
			checkList(t, "ListPrograms", 5, []domain.Program{minimal, full}, func(p store.Page) ([]domain.Program, string, error) {
				return fx.s.ListPrograms(fx.ctx, org.ID, p)
			})
		}},
		{"Tenancy", func(t *testing.T, fx *fixture) {
			orgA, orgB := fx.mustOrg(t), fx.mustOrg(t)
			p := fx.mustProgram(t, orgA.ID)
			q := fx.mustProgram(t, orgB.ID)
			got, err := fx.s.GetProgram(fx.ctx, orgB.ID, p.ID)
			wantNotFound(t, "GetProgram(another organization's program)", got, err)
			got, err = fx.s.GetProgram(fx.ctx, orgA.ID, fx.id("prg"))
			wantNotFound(t, "GetProgram(unknown id)", got, err)
			checkList(t, "ListPrograms(organization B)", 2, []domain.Program{q}, func(pg store.Page) ([]domain.Program, string, error) {
				return fx.s.ListPrograms(fx.ctx, orgB.ID, pg)
			})
			checkList(t, "ListPrograms(organization without programs)", 2, nil, func(pg store.Page) ([]domain.Program, string, error) {
				return fx.s.ListPrograms(fx.ctx, fx.id("org"), pg)
			})
		}},
		{"UpdateOptimisticLocking", func(t *testing.T, fx *fixture) {
			org := fx.mustOrg(t)
			p := fx.mustProgram(t, org.ID)
			read, err := fx.s.GetProgram(fx.ctx, org.ID, p.ID)
			must(t, err, "GetProgram")

			edit := read
			edit.Name = "Summer referrals"
			edit.Status = domain.ProgramPaused
			edit.EndsAt = nil
			edit.Eligibility = domain.Eligibility{AllowSelfReferral: true}
			edit.QualifyingEvents = []string{domain.EventPurchase}
			// Recurring rules keep their window, and a lifetime one (months
			// null) stays distinct from no recurring at all.
			edit.Commission = domain.CommissionRule{Type: domain.RulePercentage, RateBps: ptr(int64(500)), Recurring: &domain.Recurring{}}
			edit.RuleVersions = append(append([]domain.RuleVersion(nil), read.RuleVersions...),
				domain.RuleVersion{Version: 3, EffectiveFrom: fx.tick(), Rule: edit.Commission})
			edit.RuleVersions[0].Rule.Recurring = &domain.Recurring{Months: ptr(12)}
			edit.HoldDays = 0
			edit.UpdatedAt = fx.tick()
			must(t, fx.s.UpdateProgram(fx.ctx, edit), "UpdateProgram(with the revision read)")
			want := edit
			want.Revision = read.Revision + 1
			checkGet(t, "GetProgram after UpdateProgram (Revision must be +1)", want, func() (domain.Program, error) {
				return fx.s.GetProgram(fx.ctx, org.ID, p.ID)
			})

			stale := read
			stale.Name = "Lost update"
			stale.UpdatedAt = fx.tick()
			wantErr(t, fx.s.UpdateProgram(fx.ctx, stale), store.ErrConflict, "UpdateProgram(stale revision)")
			checkGet(t, "GetProgram after a refused stale update", want, func() (domain.Program, error) {
				return fx.s.GetProgram(fx.ctx, org.ID, p.ID)
			})

			again := want
			again.Name = "Autumn referrals"
			must(t, fx.s.UpdateProgram(fx.ctx, again), "UpdateProgram(second, with the fresh revision)")
			again.Revision = want.Revision + 1
			checkGet(t, "GetProgram after a second update", again, func() (domain.Program, error) {
				return fx.s.GetProgram(fx.ctx, org.ID, p.ID)
			})
		}},
		{"UpdateUnknownOrForeign", func(t *testing.T, fx *fixture) {
			orgA, orgB := fx.mustOrg(t), fx.mustOrg(t)
			unknown := fx.newProgram(orgA.ID)
			wantErr(t, fx.s.UpdateProgram(fx.ctx, unknown), store.ErrNotFound, "UpdateProgram(unknown id)")
			got, err := fx.s.GetProgram(fx.ctx, orgA.ID, unknown.ID)
			wantNotFound(t, "GetProgram after UpdateProgram of an unknown id (it must not be created)", got, err)

			p := fx.mustProgram(t, orgA.ID)
			foreign := p
			foreign.OrgID = orgB.ID
			foreign.Name = "Hijacked"
			wantErr(t, fx.s.UpdateProgram(fx.ctx, foreign), store.ErrNotFound, "UpdateProgram(another organization's program)")
			checkGet(t, "GetProgram after another organization tried to update it", p, func() (domain.Program, error) {
				return fx.s.GetProgram(fx.ctx, orgA.ID, p.ID)
			})
			got, err = fx.s.GetProgram(fx.ctx, orgB.ID, p.ID)
			wantNotFound(t, "GetProgram(organization B) after its refused update", got, err)
		}},
		{"ListPages", func(t *testing.T, fx *fixture) {
			orgA, orgB := fx.mustOrg(t), fx.mustOrg(t)
			var created []domain.Program
			for i := range 7 {
				created = append(created, fx.mustProgram(t, orgA.ID))
				if i%3 == 1 {
					fx.mustProgram(t, orgB.ID)
				}
			}
			for _, limit := range []int{2, 3} {
				checkList(t, fmt.Sprintf("ListPrograms(limit %d)", limit), limit, reversed(created), func(p store.Page) ([]domain.Program, string, error) {
					return fx.s.ListPrograms(fx.ctx, orgA.ID, p)
				})
			}
		}},
	}
}

func referrerTests() []test {
	return []test{
		{"RoundTrip", func(t *testing.T, fx *fixture) {
			org := fx.mustOrg(t)
			p := fx.mustProgram(t, org.ID)
			r := fx.newReferrer(org.ID, p.ID, "jane")
			r.Code = fx.code("JaneDoe")
			must(t, fx.s.CreateReferrer(fx.ctx, r), "CreateReferrer")
			// A customer referrer: no partner.
			c := fx.newReferrer(org.ID, p.ID, "carl")
			c.PartnerID = ""
			must(t, fx.s.CreateReferrer(fx.ctx, c), "CreateReferrer(no partner)")

			checkGet(t, "GetReferrer", r, func() (domain.Referrer, error) { return fx.s.GetReferrer(fx.ctx, org.ID, r.ID) })
			checkGet(t, "GetReferrer(no partner)", c, func() (domain.Referrer, error) { return fx.s.GetReferrer(fx.ctx, org.ID, c.ID) })
			// The redirect looks codes up as typed: case does not matter, and
			// the code comes back as it was stored.
			for _, code := range []string{r.Code, strings.ToLower(r.Code), domain.CodeKey(r.Code)} {
				checkGet(t, fmt.Sprintf("GetReferrerByCode(%q)", code), r, func() (domain.Referrer, error) { return fx.s.GetReferrerByCode(fx.ctx, code) })
			}
			checkGet(t, "GetReferrerByEmail", r, func() (domain.Referrer, error) { return fx.s.GetReferrerByEmail(fx.ctx, org.ID, p.ID, r.Email) })
			checkList(t, "ListReferrers", 5, []domain.Referrer{c, r}, func(pg store.Page) ([]domain.Referrer, string, error) {
				return fx.s.ListReferrers(fx.ctx, org.ID, p.ID, pg)
			})
		}},
		{"Tenancy", func(t *testing.T, fx *fixture) {
			orgA, orgB := fx.mustOrg(t), fx.mustOrg(t)
			p, p2 := fx.mustProgram(t, orgA.ID), fx.mustProgram(t, orgA.ID)
			r := fx.mustReferrer(t, orgA.ID, p.ID, "jane")
			got, err := fx.s.GetReferrer(fx.ctx, orgB.ID, r.ID)
			wantNotFound(t, "GetReferrer(another organization's referrer)", got, err)
			got, err = fx.s.GetReferrer(fx.ctx, orgA.ID, fx.id("rfr"))
			wantNotFound(t, "GetReferrer(unknown id)", got, err)
			got, err = fx.s.GetReferrerByEmail(fx.ctx, orgB.ID, p.ID, r.Email)
			wantNotFound(t, "GetReferrerByEmail(another organization)", got, err)
			got, err = fx.s.GetReferrerByEmail(fx.ctx, orgA.ID, p2.ID, r.Email)
			wantNotFound(t, "GetReferrerByEmail(another program)", got, err)
			got, err = fx.s.GetReferrerByCode(fx.ctx, fx.code("NoSuchCode"))
			wantNotFound(t, "GetReferrerByCode(unknown code)", got, err)
			checkList(t, "ListReferrers(another organization)", 2, nil, func(pg store.Page) ([]domain.Referrer, string, error) {
				return fx.s.ListReferrers(fx.ctx, orgB.ID, p.ID, pg)
			})
		}},
		{"CodeUniqueAcrossInstallationIgnoringCase", func(t *testing.T, fx *fixture) {
			orgA, orgB := fx.mustOrg(t), fx.mustOrg(t)
			pA, pA2, pB := fx.mustProgram(t, orgA.ID), fx.mustProgram(t, orgA.ID), fx.mustProgram(t, orgB.ID)
			r := fx.newReferrer(orgA.ID, pA.ID, "jane")
			r.Code = fx.code("JaneDoe")
			must(t, fx.s.CreateReferrer(fx.ctx, r), "CreateReferrer")

			for _, tc := range []struct {
				what string
				rec  domain.Referrer
			}{
				{"same code, another organization", fx.newReferrer(orgB.ID, pB.ID, "john")},
				{"upper-case code, another organization", fx.newReferrer(orgB.ID, pB.ID, "jim")},
				{"lower-case code, another program of the same organization", fx.newReferrer(orgA.ID, pA2.ID, "joe")},
			} {
				rec := tc.rec
				switch {
				case strings.HasPrefix(tc.what, "same"):
					rec.Code = r.Code
				case strings.HasPrefix(tc.what, "upper"):
					rec.Code = domain.CodeKey(r.Code)
				default:
					rec.Code = strings.ToLower(r.Code)
				}
				wantErr(t, fx.s.CreateReferrer(fx.ctx, rec), store.ErrConflict, "CreateReferrer("+tc.what+")")
				got, err := fx.s.GetReferrer(fx.ctx, rec.OrgID, rec.ID)
				wantNotFound(t, "GetReferrer(referrer refused for its code)", got, err)
			}
			checkGet(t, "GetReferrerByCode after the clashes", r, func() (domain.Referrer, error) {
				return fx.s.GetReferrerByCode(fx.ctx, strings.ToLower(r.Code))
			})
		}},
		{"EmailUniquePerProgram", func(t *testing.T, fx *fixture) {
			org := fx.mustOrg(t)
			p, p2 := fx.mustProgram(t, org.ID), fx.mustProgram(t, org.ID)
			r := fx.mustReferrer(t, org.ID, p.ID, "jane")
			dup := fx.newReferrer(org.ID, p.ID, "jane")
			wantErr(t, fx.s.CreateReferrer(fx.ctx, dup), store.ErrConflict, "CreateReferrer(email already a referrer of the program)")
			got, err := fx.s.GetReferrerByCode(fx.ctx, dup.Code)
			wantNotFound(t, "GetReferrerByCode(code of the refused referrer)", got, err)

			other := fx.mustReferrer(t, org.ID, p2.ID, "jane")
			checkGet(t, "GetReferrerByEmail(first program)", r, func() (domain.Referrer, error) { return fx.s.GetReferrerByEmail(fx.ctx, org.ID, p.ID, r.Email) })
			checkGet(t, "GetReferrerByEmail(second program)", other, func() (domain.Referrer, error) {
				return fx.s.GetReferrerByEmail(fx.ctx, org.ID, p2.ID, r.Email)
			})
		}},
		{"ListByProgram", func(t *testing.T, fx *fixture) {
			orgA, orgB := fx.mustOrg(t), fx.mustOrg(t)
			p, p2, q := fx.mustProgram(t, orgA.ID), fx.mustProgram(t, orgA.ID), fx.mustProgram(t, orgB.ID)
			var inP, inP2 []domain.Referrer
			for i := range 7 {
				inP = append(inP, fx.mustReferrer(t, orgA.ID, p.ID, fmt.Sprintf("r%d", i)))
				if i%3 == 0 {
					inP2 = append(inP2, fx.mustReferrer(t, orgA.ID, p2.ID, fmt.Sprintf("s%d", i)))
					fx.mustReferrer(t, orgB.ID, q.ID, fmt.Sprintf("t%d", i))
				}
			}
			for _, limit := range []int{2, 3} {
				checkList(t, fmt.Sprintf("ListReferrers(program 1, limit %d)", limit), limit, reversed(inP), func(pg store.Page) ([]domain.Referrer, string, error) {
					return fx.s.ListReferrers(fx.ctx, orgA.ID, p.ID, pg)
				})
			}
			checkList(t, "ListReferrers(program 2)", 2, reversed(inP2), func(pg store.Page) ([]domain.Referrer, string, error) {
				return fx.s.ListReferrers(fx.ctx, orgA.ID, p2.ID, pg)
			})
		}},
		{"ConcurrentSameCode", func(t *testing.T, fx *fixture) {
			org := fx.mustOrg(t)
			p := fx.mustProgram(t, org.ID)
			fx.warmUp(t, org.ID)
			var winners []domain.Referrer
			for round := range raceRounds {
				code := fx.code(fmt.Sprintf("Race%d", round))
				recs := make([]domain.Referrer, concurrency)
				for i := range recs {
					recs[i] = fx.newReferrer(org.ID, p.ID, fmt.Sprintf("racer%d-%d", round, i))
					// The same code in three spellings.
					switch i % 3 {
					case 0:
						recs[i].Code = code
					case 1:
						recs[i].Code = strings.ToLower(code)
					case 2:
						recs[i].Code = domain.CodeKey(code)
					}
				}
				errs := race(concurrency, func(i int) error { return fx.s.CreateReferrer(fx.ctx, recs[i]) })
				w := exactlyOneWinner(t, fmt.Sprintf("round %d: CreateReferrer racing for one code", round), errs)
				checkGet(t, "GetReferrerByCode(the raced code)", recs[w], func() (domain.Referrer, error) { return fx.s.GetReferrerByCode(fx.ctx, code) })
				winners = append(winners, recs[w])
			}
			checkList(t, "ListReferrers after the races", 20, reversed(winners), func(pg store.Page) ([]domain.Referrer, string, error) {
				return fx.s.ListReferrers(fx.ctx, org.ID, p.ID, pg)
			})
		}},
	}
}
