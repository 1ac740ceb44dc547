package storetest

import (
	"errors"
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/partnerloop/partnerloop/internal/domain"
	"github.com/partnerloop/partnerloop/internal/store"
)

// clickWindow is the de-duplication window the suite passes to RecordClick.
const clickWindow = time.Hour

// hourly are the limits of the tests that are about one visitor: the
// window, no address cap.
var hourly = store.ClickLimits{Window: clickWindow}

// clickAt records c and checks whether it counted.
func (fx *fixture) clickAt(t *testing.T, what string, c domain.Click, lim store.ClickLimits, want bool) {
	t.Helper()
	ok, err := fx.s.RecordClick(fx.ctx, c, lim)
	if err != nil {
		t.Fatalf("RecordClick(%s): %v", what, err)
	}
	if ok != want {
		t.Errorf("RecordClick(%s) = %v, want %v", what, ok, want)
	}
}

func (fx *fixture) newClick(r domain.Referrer, visitor string, at time.Time) domain.Click {
	return domain.Click{
		ID: fx.id("clk"), OrgID: r.OrgID, ProgramID: r.ProgramID, ReferrerID: r.ID, Code: r.Code,
		VisitorHash: fx.hash("visitor/" + visitor)[:32], RefererHost: "news.example.net", At: at,
	}
}

// checkClicks checks the referrer's click count, with every other field of
// the referrer unchanged, through GetReferrer, and that GetReferrerByCode
// still finds the referrer (whose Clicks it need not fill).
func checkClicks(t *testing.T, fx *fixture, what string, r domain.Referrer, clicks int64) {
	t.Helper()
	want := r
	want.Clicks = clicks
	checkGet(t, what+": GetReferrer", want, func() (domain.Referrer, error) { return fx.s.GetReferrer(fx.ctx, r.OrgID, r.ID) })
	checkGet(t, what+": GetReferrerByCode", want, func() (domain.Referrer, error) {
		got, err := fx.s.GetReferrerByCode(fx.ctx, r.Code)
		got.Clicks = clicks
		return got, err
	})
}

func clickTests() []test {
	return []test{
		{"RecordClickCountsOncePerVisitorAndWindow", func(t *testing.T, fx *fixture) {
			org := fx.mustOrg(t)
			p := fx.mustProgram(t, org.ID)
			r, r2 := fx.mustReferrer(t, org.ID, p.ID, "jane"), fx.mustReferrer(t, org.ID, p.ID, "joan")
			t0 := fx.tick()
			steps := []struct {
				what    string
				click   domain.Click
				counted bool
				clicks  int64 // r's count afterwards
			}{
				{"first click", fx.newClick(r, "v1", t0), true, 1},
				{"same visitor 30 minutes later", fx.newClick(r, "v1", t0.Add(30*time.Minute)), false, 1},
				{"another visitor", fx.newClick(r, "v2", t0.Add(31*time.Minute)), true, 2},
				{"same visitor, another referrer's code", fx.newClick(r2, "v1", t0.Add(32*time.Minute)), true, 2},
				// "less than window before": a click exactly one window after
				// the visitor's last counted click is a new visit.
				{"another visitor, exactly one window later", fx.newClick(r, "v2", t0.Add(31*time.Minute+clickWindow)), true, 3},
				{"same visitor, window over", fx.newClick(r, "v1", t0.Add(3*time.Hour)), true, 4},
			}
			var counted []domain.Click
			for _, st := range steps {
				ok, err := fx.s.RecordClick(fx.ctx, st.click, hourly)
				if err != nil {
					t.Fatalf("RecordClick(%s): %v", st.what, err)
				}
				if ok != st.counted {
					t.Errorf("RecordClick(%s) = %v, want %v", st.what, ok, st.counted)
				}
				if ok && st.click.ReferrerID == r.ID {
					counted = append(counted, st.click)
				}
				checkClicks(t, fx, "after "+st.what, r, st.clicks)
			}
			checkClicks(t, fx, "other referrer", r2, 1)
			// A Click is one counted visit: the list holds the counted ones.
			checkList(t, "ListClicks", 2, reversed(counted), func(pg store.Page) ([]domain.Click, string, error) {
				return fx.s.ListClicks(fx.ctx, org.ID, r.ID, pg)
			})
			checkList(t, "ListClicks(other referrer)", 2, []domain.Click{steps[3].click}, func(pg store.Page) ([]domain.Click, string, error) {
				return fx.s.ListClicks(fx.ctx, org.ID, r2.ID, pg)
			})
		}},
		{"ConcurrentSameVisitor", func(t *testing.T, fx *fixture) {
			org := fx.mustOrg(t)
			p := fx.mustProgram(t, org.ID)
			r := fx.mustReferrer(t, org.ID, p.ID, "jane")
			fx.warmUp(t, org.ID)
			// Rounds of racers, each round one visitor double-clicking.
			var winners []domain.Click
			for round := range raceRounds {
				at := fx.tick()
				clicks := make([]domain.Click, concurrency)
				for i := range clicks {
					clicks[i] = fx.newClick(r, fmt.Sprintf("double-clicker-%d", round), at)
				}
				counted := make([]bool, concurrency)
				errs := race(concurrency, func(i int) (err error) {
					counted[i], err = fx.s.RecordClick(fx.ctx, clicks[i], hourly)
					return err
				})
				winner, n := -1, 0
				for i, err := range errs {
					if err != nil {
						t.Errorf("RecordClick(round %d, racer %d): %v", round, i, err)
					}
					if counted[i] {
						winner, n = i, n+1
					}
				}
				if n != 1 {
					t.Fatalf("round %d: %d of %d concurrent clicks by one visitor were counted, want exactly 1", round, n, concurrency)
				}
				winners = append(winners, clicks[winner])
			}
			checkClicks(t, fx, "after the races", r, raceRounds)
			checkList(t, "ListClicks after the races", 20, reversed(winners), func(pg store.Page) ([]domain.Click, string, error) {
				return fx.s.ListClicks(fx.ctx, org.ID, r.ID, pg)
			})
		}},
		{"AtMostPerSourceClicksPerAddressAndWindow", func(t *testing.T, fx *fixture) {
			org := fx.mustOrg(t)
			p := fx.mustProgram(t, org.ID)
			r, r2 := fx.mustReferrer(t, org.ID, p.ID, "jane"), fx.mustReferrer(t, org.ID, p.ID, "joan")
			// A fixed window of the cap starts at a whole hour.
			w := fx.tick().Truncate(clickWindow).Add(clickWindow)
			from := func(source string) store.ClickLimits {
				return store.ClickLimits{Window: clickWindow, SourceHash: fx.hash("source/" + source)[:32], PerSource: 2}
			}
			fx.clickAt(t, "v1 from a", fx.newClick(r, "v1", w.Add(50*time.Minute)), from("a"), true)
			fx.clickAt(t, "v2 from a", fx.newClick(r, "v2", w.Add(51*time.Minute)), from("a"), true)
			fx.clickAt(t, "v3 from a: over the cap", fx.newClick(r, "v3", w.Add(52*time.Minute)), from("a"), false)
			fx.clickAt(t, "v3 from a, another code", fx.newClick(r2, "v3", w.Add(53*time.Minute)), from("a"), true)
			fx.clickAt(t, "v4 from b", fx.newClick(r, "v4", w.Add(54*time.Minute)), from("b"), true)
			checkClicks(t, fx, "after the first window", r, 3)
			// The next window starts the count again; v3's capped click wrote
			// nothing, so 9 minutes later it is no repeat.
			fx.clickAt(t, "v3 from a, next window", fx.newClick(r, "v3", w.Add(61*time.Minute)), from("a"), true)
			fx.clickAt(t, "v1 from a, next window but a repeat", fx.newClick(r, "v1", w.Add(62*time.Minute)), from("a"), false)
			fx.clickAt(t, "v5 from a, next window", fx.newClick(r, "v5", w.Add(63*time.Minute)), from("a"), true)
			fx.clickAt(t, "v6 from a, next window: over the cap", fx.newClick(r, "v6", w.Add(64*time.Minute)), from("a"), false)
			checkClicks(t, fx, "after the second window", r, 5)
			checkClicks(t, fx, "other referrer", r2, 1)
		}},
		{"PrevVisitorHashIsTheSameVisitor", func(t *testing.T, fx *fixture) {
			org := fx.mustOrg(t)
			p := fx.mustProgram(t, org.ID)
			r := fx.mustReferrer(t, org.ID, p.ID, "jane")
			t0 := fx.tick()
			// The visitor under yesterday's salt is "old", today "new".
			old := fx.newClick(r, "old", t0).VisitorHash
			rotated := store.ClickLimits{Window: clickWindow, PrevVisitorHash: old}
			fx.clickAt(t, "before the rotation", fx.newClick(r, "old", t0), hourly, true)
			fx.clickAt(t, "after the rotation, within the window", fx.newClick(r, "new", t0.Add(30*time.Minute)), rotated, false)
			fx.clickAt(t, "after the rotation, window over", fx.newClick(r, "new", t0.Add(61*time.Minute)), rotated, true)
			fx.clickAt(t, "the new hash is now the visitor's", fx.newClick(r, "new", t0.Add(90*time.Minute)), rotated, false)
			fx.clickAt(t, "an unknown previous hash", fx.newClick(r, "other", t0.Add(91*time.Minute)),
				store.ClickLimits{Window: clickWindow, PrevVisitorHash: fx.hash("nobody")[:32]}, true)
			checkClicks(t, fx, "after the rotation", r, 3)
		}},
		{"ConcurrentSameSource", func(t *testing.T, fx *fixture) {
			org := fx.mustOrg(t)
			p := fx.mustProgram(t, org.ID)
			r := fx.mustReferrer(t, org.ID, p.ID, "jane")
			fx.warmUp(t, org.ID)
			const perSource = 3
			lim := store.ClickLimits{Window: clickWindow, SourceHash: fx.hash("one address")[:32], PerSource: perSource}
			at := fx.tick()
			counted := make([]bool, concurrency)
			errs := race(concurrency, func(i int) (err error) {
				counted[i], err = fx.s.RecordClick(fx.ctx, fx.newClick(r, fmt.Sprintf("ua-%d", i), at), lim)
				return err
			})
			n := 0
			for i, err := range errs {
				if err != nil {
					t.Errorf("RecordClick(racer %d): %v", i, err)
				}
				if counted[i] {
					n++
				}
			}
			if n != perSource {
				t.Errorf("%d of %d concurrent clicks from one address with different browsers counted, want %d", n, concurrency, perSource)
			}
			checkClicks(t, fx, "after the race", r, perSource)
		}},
		{"DaySaltIsOnePerDay", func(t *testing.T, fx *fixture) {
			day := fx.tick().Truncate(24 * time.Hour)
			salt := func(d time.Time, candidate string) string {
				t.Helper()
				got, err := fx.s.DaySalt(fx.ctx, d, []byte(candidate), d.Add(48*time.Hour))
				must(t, err, "DaySalt")
				return string(got)
			}
			a := "a-" + fx.tag
			if got := salt(day, a); got != a {
				t.Fatalf("DaySalt(new day) = %q, want the candidate %q", got, a)
			}
			if got := salt(day, "b-"+fx.tag); got != a {
				t.Errorf("DaySalt(same day, another candidate) = %q, want the first salt %q", got, a)
			}
			next := day.Add(24 * time.Hour)
			if got := salt(next, "c-"+fx.tag); got != "c-"+fx.tag {
				t.Errorf("DaySalt(next day) = %q, want its own candidate", got)
			}
			if got := salt(day, "d-"+fx.tag); got != a {
				t.Errorf("DaySalt(yesterday, asked again) = %q, want %q", got, a)
			}
			// Racing processes agree on one salt.
			third := day.Add(48 * time.Hour)
			got := make([]string, concurrency)
			errs := race(concurrency, func(i int) error {
				b, err := fx.s.DaySalt(fx.ctx, third, []byte(fmt.Sprintf("racer-%d", i)), third.Add(48*time.Hour))
				got[i] = string(b)
				return err
			})
			for i, err := range errs {
				if err != nil {
					t.Errorf("DaySalt(racer %d): %v", i, err)
				}
				if got[i] != got[0] || !strings.HasPrefix(got[i], "racer-") {
					t.Errorf("DaySalt(racer %d) = %q, racer 0 got %q: want one of the candidates, the same for all", i, got[i], got[0])
				}
			}
		}},
		{"ListPagesAndTenancy", func(t *testing.T, fx *fixture) {
			orgA, orgB := fx.mustOrg(t), fx.mustOrg(t)
			p := fx.mustProgram(t, orgA.ID)
			r, r2 := fx.mustReferrer(t, orgA.ID, p.ID, "jane"), fx.mustReferrer(t, orgA.ID, p.ID, "joan")
			var onR []domain.Click
			for i := range 7 {
				c := fx.newClick(r, fmt.Sprintf("visitor%d", i), fx.tick())
				if _, err := fx.s.RecordClick(fx.ctx, c, hourly); err != nil {
					t.Fatalf("RecordClick: %v", err)
				}
				onR = append(onR, c)
				if i%3 == 0 {
					if _, err := fx.s.RecordClick(fx.ctx, fx.newClick(r2, fmt.Sprintf("visitor%d", i), fx.tick()), hourly); err != nil {
						t.Fatalf("RecordClick(other referrer): %v", err)
					}
				}
			}
			for _, limit := range []int{2, 3} {
				checkList(t, fmt.Sprintf("ListClicks(limit %d)", limit), limit, reversed(onR), func(pg store.Page) ([]domain.Click, string, error) {
					return fx.s.ListClicks(fx.ctx, orgA.ID, r.ID, pg)
				})
			}
			checkList(t, "ListClicks(another organization)", 2, nil, func(pg store.Page) ([]domain.Click, string, error) {
				return fx.s.ListClicks(fx.ctx, orgB.ID, r.ID, pg)
			})
			checkList(t, "ListClicks(unknown referrer)", 2, nil, func(pg store.Page) ([]domain.Click, string, error) {
				return fx.s.ListClicks(fx.ctx, orgA.ID, fx.id("rfr"), pg)
			})
		}},
	}
}

// setup of a program with a referrer, used by the referral and conversion tests.
func (fx *fixture) mustReferrerInNewProgram(t *testing.T, orgID, local string) domain.Referrer {
	t.Helper()
	p := fx.mustProgram(t, orgID)
	return fx.mustReferrer(t, orgID, p.ID, local)
}

func referralTests() []test {
	return []test{
		{"ExpireReferral", func(t *testing.T, fx *fixture) {
			orgA, orgB := fx.mustOrg(t), fx.mustOrg(t)
			r := fx.mustReferrerInNewProgram(t, orgA.ID, "jane")
			pending, other := fx.mustReferral(t, r, "amy", ""), fx.mustReferral(t, r, "ben", "")
			at := fx.tick()
			got, err := fx.s.ExpireReferral(fx.ctx, orgA.ID, pending.ID, at)
			must(t, err, "ExpireReferral(pending)")
			want := pending
			want.Status, want.UpdatedAt = domain.ReferralExpired, at
			checkGet(t, "ExpireReferral's referral", want, func() (domain.Referral, error) { return got, nil })
			checkGet(t, "GetReferral(expired)", want, func() (domain.Referral, error) { return fx.s.GetReferral(fx.ctx, orgA.ID, pending.ID) })
			for status, wantList := range map[string][]domain.Referral{domain.ReferralExpired: {want}, domain.ReferralPending: {other}} {
				checkList(t, "ListReferrals(status "+status+")", 2, wantList, func(pg store.Page) ([]domain.Referral, string, error) {
					return fx.s.ListReferrals(fx.ctx, orgA.ID, store.ReferralFilter{ProgramID: r.ProgramID, Status: status}, pg)
				})
			}
			if _, err := fx.s.ExpireReferral(fx.ctx, orgA.ID, pending.ID, fx.tick()); !errors.Is(err, store.ErrConflict) {
				t.Errorf("ExpireReferral(already expired) = %v, want ErrConflict", err)
			}
			if _, err := fx.s.ExpireReferral(fx.ctx, orgB.ID, other.ID, fx.tick()); !errors.Is(err, store.ErrNotFound) {
				t.Errorf("ExpireReferral(another organization's) = %v, want ErrNotFound", err)
			}
			if _, err := fx.s.ExpireReferral(fx.ctx, orgA.ID, fx.id("rfl"), fx.tick()); !errors.Is(err, store.ErrNotFound) {
				t.Errorf("ExpireReferral(unknown) = %v, want ErrNotFound", err)
			}
			// A converted referral does not expire.
			fx.mustConversion(t, other, "order-"+fx.tag)
			if _, err := fx.s.ExpireReferral(fx.ctx, orgA.ID, other.ID, fx.tick()); !errors.Is(err, store.ErrConflict) {
				t.Errorf("ExpireReferral(converted) = %v, want ErrConflict", err)
			}
			// A conversion reported late, that occurred inside the window,
			// converts an expired referral.
			c := fx.mustConversion(t, pending, "late-"+fx.tag)
			late, err := fx.s.GetReferral(fx.ctx, orgA.ID, pending.ID)
			must(t, err, "GetReferral(after a late conversion)")
			if late.Status != domain.ReferralConverted || late.ConvertedAt == nil || !late.ConvertedAt.Equal(c.OccurredAt) {
				t.Errorf("expired referral after a conversion: status %q convertedAt %v, want converted at %v", late.Status, late.ConvertedAt, c.OccurredAt)
			}
		}},
		{"ConcurrentExpireAndConvert", func(t *testing.T, fx *fixture) {
			org := fx.mustOrg(t)
			r := fx.mustReferrerInNewProgram(t, org.ID, "jane")
			fx.warmUp(t, org.ID)
			for round := range raceRounds {
				ref := fx.mustReferral(t, r, fmt.Sprintf("racer%d", round), "")
				c := fx.newConversion(ref, fmt.Sprintf("race-%s-%d", fx.tag, round))
				errs := race(2, func(i int) error {
					if i == 0 {
						_, err := fx.s.ExpireReferral(fx.ctx, org.ID, ref.ID, fx.tick())
						if errors.Is(err, store.ErrConflict) {
							return nil // the conversion got there first
						}
						return err
					}
					return fx.s.RecordConversion(fx.ctx, c, nil)
				})
				for i, err := range errs {
					if err != nil {
						t.Fatalf("round %d, racer %d: %v", round, i, err)
					}
				}
				got, err := fx.s.GetReferral(fx.ctx, org.ID, ref.ID)
				must(t, err, "GetReferral")
				if got.Status != domain.ReferralConverted {
					t.Fatalf("round %d: a converted referral raced with its expiry ended %q, want converted", round, got.Status)
				}
			}
		}},
		{"RoundTrip", func(t *testing.T, fx *fixture) {
			org := fx.mustOrg(t)
			r := fx.mustReferrerInNewProgram(t, org.ID, "jane")
			pending := fx.mustReferral(t, r, "amy", "crm-"+fx.tag+"-1")
			ineligible := fx.newReferral(r, "jane+alt", "")
			ineligible.Status, ineligible.Reason, ineligible.PartnerID, ineligible.Name = domain.ReferralIneligible, domain.ReasonSelfReferral, "", ""
			must(t, fx.s.CreateReferral(fx.ctx, ineligible), "CreateReferral(ineligible)")
			converted := fx.newReferral(r, "cora", "crm-"+fx.tag+"-2")
			converted.Status, converted.ConvertedAt = domain.ReferralConverted, ptr(fx.tick())
			must(t, fx.s.CreateReferral(fx.ctx, converted), "CreateReferral(converted)")

			for _, want := range []domain.Referral{pending, ineligible, converted} {
				checkGet(t, "GetReferral("+want.Status+")", want, func() (domain.Referral, error) { return fx.s.GetReferral(fx.ctx, org.ID, want.ID) })
				if want.ExternalID != "" {
					checkGet(t, "GetReferralByExternalID("+want.Status+")", want, func() (domain.Referral, error) {
						return fx.s.GetReferralByExternalID(fx.ctx, org.ID, want.ExternalID)
					})
				}
			}
			checkList(t, "ListReferrals", 5, []domain.Referral{converted, ineligible, pending}, func(pg store.Page) ([]domain.Referral, string, error) {
				return fx.s.ListReferrals(fx.ctx, org.ID, store.ReferralFilter{}, pg)
			})
		}},
		{"Tenancy", func(t *testing.T, fx *fixture) {
			orgA, orgB := fx.mustOrg(t), fx.mustOrg(t)
			r := fx.mustReferrerInNewProgram(t, orgA.ID, "jane")
			ref := fx.mustReferral(t, r, "amy", "crm-"+fx.tag)
			got, err := fx.s.GetReferral(fx.ctx, orgB.ID, ref.ID)
			wantNotFound(t, "GetReferral(another organization's referral)", got, err)
			got, err = fx.s.GetReferral(fx.ctx, orgA.ID, fx.id("rfl"))
			wantNotFound(t, "GetReferral(unknown id)", got, err)
			got, err = fx.s.GetReferralByExternalID(fx.ctx, orgB.ID, ref.ExternalID)
			wantNotFound(t, "GetReferralByExternalID(another organization)", got, err)
			got, err = fx.s.GetReferralByExternalID(fx.ctx, orgA.ID, "unknown-"+fx.tag)
			wantNotFound(t, "GetReferralByExternalID(unknown)", got, err)
			for _, f := range []store.ReferralFilter{{}, {ProgramID: r.ProgramID}, {ReferrerID: r.ID}, {Status: domain.ReferralPending}} {
				checkList(t, fmt.Sprintf("ListReferrals(another organization, %+v)", f), 2, nil, func(pg store.Page) ([]domain.Referral, string, error) {
					return fx.s.ListReferrals(fx.ctx, orgB.ID, f, pg)
				})
			}
			refs, err := fx.s.ReferralsByEmail(fx.ctx, orgB.ID, ref.Email)
			must(t, err, "ReferralsByEmail(another organization)")
			checkIDs(t, "ReferralsByEmail(another organization)", idsOf(refs), nil)
		}},
		{"EmailUniquePerProgram", func(t *testing.T, fx *fixture) {
			org := fx.mustOrg(t)
			r := fx.mustReferrerInNewProgram(t, org.ID, "jane")
			r2 := fx.mustReferrer(t, org.ID, r.ProgramID, "joan") // same program
			r3 := fx.mustReferrerInNewProgram(t, org.ID, "jill")  // another program
			first := fx.mustReferral(t, r, "amy", "")
			dup := fx.newReferral(r2, "amy", "")
			wantErr(t, fx.s.CreateReferral(fx.ctx, dup), store.ErrConflict, "CreateReferral(email already referred in the program, by another referrer)")
			got, err := fx.s.GetReferral(fx.ctx, org.ID, dup.ID)
			wantNotFound(t, "GetReferral(refused referral)", got, err)
			again := fx.newReferral(r, "amy", "")
			wantErr(t, fx.s.CreateReferral(fx.ctx, again), store.ErrConflict, "CreateReferral(email already referred in the program, same referrer)")
			second := fx.mustReferral(t, r3, "amy", "")
			refs, err := fx.s.ReferralsByEmail(fx.ctx, org.ID, first.Email)
			must(t, err, "ReferralsByEmail")
			checkEqual(t, "ReferralsByEmail", refs, []domain.Referral{second, first})
		}},
		{"AnonymousReferralsDoNotClash", func(t *testing.T, fx *fixture) {
			// A code used at checkout without a known contact makes a
			// referral with no email; any number of them may exist.
			org := fx.mustOrg(t)
			r := fx.mustReferrerInNewProgram(t, org.ID, "jane")
			for i := 0; i < 3; i++ {
				anon := fx.newReferral(r, "x", "")
				anon.Email = ""
				must(t, fx.s.CreateReferral(fx.ctx, anon), "CreateReferral(anonymous)")
				got, err := fx.s.GetReferral(fx.ctx, org.ID, anon.ID)
				must(t, err, "GetReferral(anonymous)")
				checkEqual(t, "anonymous referral", got, anon)
			}
		}},
		{"ExternalIDUniquePerOrganization", func(t *testing.T, fx *fixture) {
			orgA, orgB := fx.mustOrg(t), fx.mustOrg(t)
			r := fx.mustReferrerInNewProgram(t, orgA.ID, "jane")
			r2 := fx.mustReferrerInNewProgram(t, orgA.ID, "joan")
			rB := fx.mustReferrerInNewProgram(t, orgB.ID, "bert")
			ext := "crm-" + fx.tag
			first := fx.mustReferral(t, r, "amy", ext)
			for _, tc := range []struct {
				what string
				rec  domain.Referral
			}{
				{"same program", fx.newReferral(r, "ben", ext)},
				{"another program of the organization", fx.newReferral(r2, "cat", ext)},
			} {
				wantErr(t, fx.s.CreateReferral(fx.ctx, tc.rec), store.ErrConflict, "CreateReferral(externalId taken, "+tc.what+")")
				got, err := fx.s.GetReferral(fx.ctx, orgA.ID, tc.rec.ID)
				wantNotFound(t, "GetReferral(refused referral)", got, err)
			}
			inB := fx.mustReferral(t, rB, "amy", ext) // another organization may use it
			// Referrals without an externalId never clash with one another.
			noExt1 := fx.mustReferral(t, r, "dan", "")
			noExt2 := fx.mustReferral(t, r, "eve", "")
			noExt3 := fx.mustReferral(t, r2, "fay", "")

			checkGet(t, "GetReferralByExternalID(organization A)", first, func() (domain.Referral, error) {
				return fx.s.GetReferralByExternalID(fx.ctx, orgA.ID, ext)
			})
			checkGet(t, "GetReferralByExternalID(organization B)", inB, func() (domain.Referral, error) {
				return fx.s.GetReferralByExternalID(fx.ctx, orgB.ID, ext)
			})
			got, err := fx.s.GetReferralByExternalID(fx.ctx, orgA.ID, "")
			wantNotFound(t, `GetReferralByExternalID("") (no externalId is not an externalId)`, got, err)
			checkList(t, "ListReferrals(organization A)", 3, []domain.Referral{noExt3, noExt2, noExt1, first}, func(pg store.Page) ([]domain.Referral, string, error) {
				return fx.s.ListReferrals(fx.ctx, orgA.ID, store.ReferralFilter{}, pg)
			})
		}},
		{"ReferralsByEmail", func(t *testing.T, fx *fixture) {
			orgA, orgB := fx.mustOrg(t), fx.mustOrg(t)
			r1 := fx.mustReferrerInNewProgram(t, orgA.ID, "jane")
			r2 := fx.mustReferrerInNewProgram(t, orgA.ID, "joan")
			r3 := fx.mustReferrerInNewProgram(t, orgA.ID, "jill")
			rB := fx.mustReferrerInNewProgram(t, orgB.ID, "bert")
			x1 := fx.mustReferral(t, r1, "amy", "")
			fx.mustReferral(t, r1, "ben", "")
			x2 := fx.mustReferral(t, r2, "amy", "")
			fx.mustReferral(t, rB, "amy", "")
			fx.mustReferral(t, r3, "cat", "")
			x3 := fx.mustReferral(t, r3, "amy", "")
			refs, err := fx.s.ReferralsByEmail(fx.ctx, orgA.ID, x1.Email)
			must(t, err, "ReferralsByEmail")
			checkEqual(t, "ReferralsByEmail (newest first, this organization, this address)", refs, []domain.Referral{x3, x2, x1})
			refs, err = fx.s.ReferralsByEmail(fx.ctx, orgA.ID, fx.email("nobody"))
			must(t, err, "ReferralsByEmail(unknown address)")
			checkIDs(t, "ReferralsByEmail(unknown address)", idsOf(refs), nil)
		}},
		{"ListFilters", func(t *testing.T, fx *fixture) {
			orgA, orgB := fx.mustOrg(t), fx.mustOrg(t)
			r1 := fx.mustReferrerInNewProgram(t, orgA.ID, "jane")
			r2 := fx.mustReferrer(t, orgA.ID, r1.ProgramID, "joan")
			r3 := fx.mustReferrerInNewProgram(t, orgA.ID, "jill")
			rB := fx.mustReferrerInNewProgram(t, orgB.ID, "bert")
			p1, p2 := r1.ProgramID, r3.ProgramID
			mk := func(r domain.Referrer, local, status string) domain.Referral {
				ref := fx.newReferral(r, local, "")
				ref.Status = status
				switch status {
				case domain.ReferralConverted:
					ref.ConvertedAt = ptr(fx.tick())
				case domain.ReferralIneligible:
					ref.Reason = domain.ReasonExistingCustomer
				}
				must(t, fx.s.CreateReferral(fx.ctx, ref), "CreateReferral")
				return ref
			}
			a := mk(r1, "a", domain.ReferralPending)
			b := mk(r1, "b", domain.ReferralConverted)
			c := mk(r2, "c", domain.ReferralPending)
			d := mk(r2, "d", domain.ReferralIneligible)
			e := mk(r3, "e", domain.ReferralPending)
			mk(rB, "x", domain.ReferralPending)
			f := mk(r3, "f", domain.ReferralConverted)
			g := mk(r1, "g", domain.ReferralPending)
			h := mk(r3, "h", domain.ReferralExpired)

			for _, tc := range []struct {
				f    store.ReferralFilter
				want []domain.Referral // newest first
			}{
				{store.ReferralFilter{}, []domain.Referral{h, g, f, e, d, c, b, a}},
				{store.ReferralFilter{ProgramID: p1}, []domain.Referral{g, d, c, b, a}},
				{store.ReferralFilter{ProgramID: p2}, []domain.Referral{h, f, e}},
				{store.ReferralFilter{ReferrerID: r1.ID}, []domain.Referral{g, b, a}},
				{store.ReferralFilter{Status: domain.ReferralPending}, []domain.Referral{g, e, c, a}},
				{store.ReferralFilter{Status: domain.ReferralConverted}, []domain.Referral{f, b}},
				{store.ReferralFilter{ProgramID: p1, Status: domain.ReferralPending}, []domain.Referral{g, c, a}},
				{store.ReferralFilter{ReferrerID: r2.ID, Status: domain.ReferralIneligible}, []domain.Referral{d}},
				{store.ReferralFilter{ProgramID: p1, ReferrerID: r1.ID, Status: domain.ReferralConverted}, []domain.Referral{b}},
				{store.ReferralFilter{ProgramID: p2, Status: domain.ReferralIneligible}, nil},
				{store.ReferralFilter{ProgramID: p2, ReferrerID: r1.ID}, nil},
				{store.ReferralFilter{ProgramID: rB.ProgramID}, nil},
			} {
				for _, limit := range []int{2, 3} {
					checkList(t, fmt.Sprintf("ListReferrals(%+v, limit %d)", tc.f, limit), limit, tc.want, func(pg store.Page) ([]domain.Referral, string, error) {
						return fx.s.ListReferrals(fx.ctx, orgA.ID, tc.f, pg)
					})
				}
			}
		}},
		{"CursorStableUnderInserts", func(t *testing.T, fx *fixture) {
			org := fx.mustOrg(t)
			r := fx.mustReferrerInNewProgram(t, org.ID, "jane")
			var created []domain.Referral
			for i := range 7 {
				created = append(created, fx.mustReferral(t, r, fmt.Sprintf("early%d", i), ""))
			}
			page1, next, err := fx.s.ListReferrals(fx.ctx, org.ID, store.ReferralFilter{}, store.Page{Limit: 3})
			must(t, err, "ListReferrals(page 1)")
			if next == "" {
				t.Fatal("ListReferrals(page 1 of 7, limit 3): empty NextCursor")
			}
			// New referrals arrive while the user pages: they are newer than
			// the cursor, so the rest of the walk neither repeats nor skips.
			fx.mustReferral(t, r, "late1", "")
			fx.mustReferral(t, r, "late2", "")
			rest := listAll(t, "ListReferrals(rest, after inserts)", 3, func(pg store.Page) ([]domain.Referral, string, error) {
				if pg.Cursor == "" {
					pg.Cursor = next
				}
				return fx.s.ListReferrals(fx.ctx, org.ID, store.ReferralFilter{}, pg)
			})
			checkIDs(t, "ListReferrals pages around inserts", append(idsOf(page1), idsOf(rest)...), newestFirst(created...))
		}},
	}
}

func conversionTests() []test {
	return []test{
		{"RoundTrip", func(t *testing.T, fx *fixture) {
			org := fx.mustOrg(t)
			r := fx.mustReferrerInNewProgram(t, org.ID, "jane")
			ref1, ref2 := fx.mustReferral(t, r, "amy", ""), fx.mustReferral(t, r, "ben", "")
			purchase := fx.newConversion(ref1, "order-"+fx.tag+"-1")
			purchase.RefundedAmount = domain.Money{Amount: 250, Currency: "EUR"}
			must(t, fx.s.RecordConversion(fx.ctx, purchase, nil), "RecordConversion(purchase)")
			signup := fx.newConversion(ref2, "signup-"+fx.tag+"-1")
			signup.Event, signup.Amount, signup.RefundedAmount, signup.PartnerID = domain.EventSignup, nil, domain.Money{}, ""
			must(t, fx.s.RecordConversion(fx.ctx, signup, nil), "RecordConversion(signup without amount)")
			for _, want := range []domain.Conversion{purchase, signup} {
				checkGet(t, "GetConversion("+want.Event+")", want, func() (domain.Conversion, error) { return fx.s.GetConversion(fx.ctx, org.ID, want.ID) })
				checkGet(t, "GetConversionByExternalID("+want.Event+")", want, func() (domain.Conversion, error) {
					return fx.s.GetConversionByExternalID(fx.ctx, org.ID, want.ExternalID)
				})
			}
			checkList(t, "ListConversions", 5, []domain.Conversion{signup, purchase}, func(pg store.Page) ([]domain.Conversion, string, error) {
				return fx.s.ListConversions(fx.ctx, org.ID, store.ConversionFilter{}, pg)
			})
			// The batch read: unknown IDs, another organization's and
			// repeats are left out or answered once.
			other := fx.mustOrg(t)
			got, err := fx.s.GetConversions(fx.ctx, org.ID, []string{signup.ID, "cnv_unknown", purchase.ID, signup.ID})
			if err != nil {
				t.Fatalf("GetConversions: %v", err)
			}
			checkEqual(t, "GetConversions", got, map[string]domain.Conversion{purchase.ID: purchase, signup.ID: signup})
			if got, err := fx.s.GetConversions(fx.ctx, other.ID, []string{purchase.ID}); err != nil || len(got) != 0 {
				t.Errorf("GetConversions(another organization) = %v, %v; want none", got, err)
			}
			if got, err := fx.s.GetConversions(fx.ctx, org.ID, nil); err != nil || len(got) != 0 {
				t.Errorf("GetConversions(no IDs) = %v, %v; want none", got, err)
			}
		}},
		{"MarksReferralConvertedOnce", func(t *testing.T, fx *fixture) {
			org := fx.mustOrg(t)
			r := fx.mustReferrerInNewProgram(t, org.ID, "jane")
			ref := fx.mustReferral(t, r, "amy", "crm-"+fx.tag)
			other := fx.mustReferral(t, r, "ben", "")
			c1 := fx.mustConversion(t, ref, "order-1-"+fx.tag)
			want := ref
			want.Status, want.ConvertedAt, want.UpdatedAt = domain.ReferralConverted, ptr(c1.OccurredAt), c1.CreatedAt
			checkGet(t, "GetReferral after its first conversion (converted at occurredAt)", want, func() (domain.Referral, error) {
				return fx.s.GetReferral(fx.ctx, org.ID, ref.ID)
			})
			checkGet(t, "GetReferral(another referral)", other, func() (domain.Referral, error) { return fx.s.GetReferral(fx.ctx, org.ID, other.ID) })

			c2 := fx.newConversion(ref, "order-2-"+fx.tag)
			c2.OccurredAt = c1.OccurredAt.Add(48 * time.Hour)
			must(t, fx.s.RecordConversion(fx.ctx, c2, nil), "RecordConversion(second conversion of the referral)")
			checkGet(t, "GetReferral after a second conversion (keeps the first convertedAt)", want, func() (domain.Referral, error) {
				return fx.s.GetReferral(fx.ctx, org.ID, ref.ID)
			})
			checkList(t, "ListConversions(referral)", 2, []domain.Conversion{c2, c1}, func(pg store.Page) ([]domain.Conversion, string, error) {
				return fx.s.ListConversions(fx.ctx, org.ID, store.ConversionFilter{ReferralID: ref.ID}, pg)
			})
		}},
		{"OnlyPendingOrExpiredReferralsBecomeConverted", func(t *testing.T, fx *fixture) {
			org := fx.mustOrg(t)
			r := fx.mustReferrerInNewProgram(t, org.ID, "jane")
			// An expired referral is converted by a conversion reported late
			// (ExpireReferral's test); an ineligible one never is.
			ineligible := fx.newReferral(r, "jane+alt", "")
			ineligible.Status, ineligible.Reason = domain.ReferralIneligible, domain.ReasonSelfReferral
			must(t, fx.s.CreateReferral(fx.ctx, ineligible), "CreateReferral(ineligible)")
			c := fx.mustConversion(t, ineligible, "order-"+fx.tag)
			checkGet(t, "GetReferral(ineligible referral after a conversion)", ineligible, func() (domain.Referral, error) {
				return fx.s.GetReferral(fx.ctx, org.ID, ineligible.ID)
			})
			checkGet(t, "GetConversion", c, func() (domain.Conversion, error) { return fx.s.GetConversion(fx.ctx, org.ID, c.ID) })
		}},
		{"CreatesNewReferral", func(t *testing.T, fx *fixture) {
			org := fx.mustOrg(t)
			r := fx.mustReferrerInNewProgram(t, org.ID, "jane")
			newRef := fx.newReferral(r, "nina", "")
			c := fx.newConversion(newRef, "order-"+fx.tag)
			must(t, fx.s.RecordConversion(fx.ctx, c, &newRef), "RecordConversion(with a new referral)")
			want := newRef
			want.Status, want.ConvertedAt, want.UpdatedAt = domain.ReferralConverted, ptr(c.OccurredAt), c.CreatedAt
			checkGet(t, "GetReferral(referral created by the conversion)", want, func() (domain.Referral, error) {
				return fx.s.GetReferral(fx.ctx, org.ID, newRef.ID)
			})
			checkGet(t, "GetConversion", c, func() (domain.Conversion, error) { return fx.s.GetConversion(fx.ctx, org.ID, c.ID) })
			refs, err := fx.s.ReferralsByEmail(fx.ctx, org.ID, newRef.Email)
			must(t, err, "ReferralsByEmail")
			checkEqual(t, "ReferralsByEmail(referral created by the conversion)", refs, []domain.Referral{want})
		}},
		{"DuplicateExternalIDWritesNothing", func(t *testing.T, fx *fixture) {
			org := fx.mustOrg(t)
			r := fx.mustReferrerInNewProgram(t, org.ID, "jane")
			ref1, ref2 := fx.mustReferral(t, r, "amy", ""), fx.mustReferral(t, r, "ben", "")
			ext := "order-" + fx.tag
			c1 := fx.mustConversion(t, ref1, ext)

			// The same externalId on another, pending referral.
			c2 := fx.newConversion(ref2, ext)
			wantErr(t, fx.s.RecordConversion(fx.ctx, c2, nil), store.ErrConflict, "RecordConversion(externalId used)")
			// And with a referral to create.
			ref3 := fx.newReferral(r, "cat", "")
			c3 := fx.newConversion(ref3, ext)
			wantErr(t, fx.s.RecordConversion(fx.ctx, c3, &ref3), store.ErrConflict, "RecordConversion(externalId used, with a new referral)")

			checkGet(t, "GetReferral(pending referral of the refused conversion is unchanged)", ref2, func() (domain.Referral, error) {
				return fx.s.GetReferral(fx.ctx, org.ID, ref2.ID)
			})
			got, err := fx.s.GetReferral(fx.ctx, org.ID, ref3.ID)
			wantNotFound(t, "GetReferral(new referral of the refused conversion must not be created)", got, err)
			for _, c := range []domain.Conversion{c2, c3} {
				got, err := fx.s.GetConversion(fx.ctx, org.ID, c.ID)
				wantNotFound(t, "GetConversion(refused conversion)", got, err)
			}
			checkGet(t, "GetConversionByExternalID (still the first conversion)", c1, func() (domain.Conversion, error) {
				return fx.s.GetConversionByExternalID(fx.ctx, org.ID, ext)
			})
			checkList(t, "ListConversions", 2, []domain.Conversion{c1}, func(pg store.Page) ([]domain.Conversion, string, error) {
				return fx.s.ListConversions(fx.ctx, org.ID, store.ConversionFilter{}, pg)
			})
			checkList(t, "ListReferrals", 2, []domain.Referral{ref2, convertedBy(ref1, c1)}, func(pg store.Page) ([]domain.Referral, string, error) {
				return fx.s.ListReferrals(fx.ctx, org.ID, store.ReferralFilter{}, pg)
			})
		}},
		{"NewReferralConflictWritesNothing", func(t *testing.T, fx *fixture) {
			org := fx.mustOrg(t)
			r := fx.mustReferrerInNewProgram(t, org.ID, "jane")
			existing := fx.mustReferral(t, r, "amy", "")
			// A second referral of the same address in the program clashes:
			// the conversion that came with it must not be stored either.
			dup := fx.newReferral(r, "amy", "")
			c := fx.newConversion(dup, "order-"+fx.tag)
			wantErr(t, fx.s.RecordConversion(fx.ctx, c, &dup), store.ErrConflict, "RecordConversion(new referral clashes on email)")
			got, err := fx.s.GetConversion(fx.ctx, org.ID, c.ID)
			wantNotFound(t, "GetConversion(conversion of the refused referral)", got, err)
			got, err = fx.s.GetConversionByExternalID(fx.ctx, org.ID, c.ExternalID)
			wantNotFound(t, "GetConversionByExternalID(conversion of the refused referral)", got, err)
			checkGet(t, "GetReferral(existing referral is unchanged)", existing, func() (domain.Referral, error) {
				return fx.s.GetReferral(fx.ctx, org.ID, existing.ID)
			})
			// The externalId is still free.
			c2 := fx.newConversion(existing, c.ExternalID)
			must(t, fx.s.RecordConversion(fx.ctx, c2, nil), "RecordConversion(the externalId of the refused conversion)")
		}},
		{"ExternalIDPerOrganizationAndTenancy", func(t *testing.T, fx *fixture) {
			orgA, orgB := fx.mustOrg(t), fx.mustOrg(t)
			rA := fx.mustReferrerInNewProgram(t, orgA.ID, "jane")
			rB := fx.mustReferrerInNewProgram(t, orgB.ID, "bert")
			ext := "order-" + fx.tag
			cA := fx.mustConversion(t, fx.mustReferral(t, rA, "amy", ""), ext)
			cB := fx.mustConversion(t, fx.mustReferral(t, rB, "amy", ""), ext) // same externalId, other organization
			checkGet(t, "GetConversionByExternalID(organization A)", cA, func() (domain.Conversion, error) { return fx.s.GetConversionByExternalID(fx.ctx, orgA.ID, ext) })
			checkGet(t, "GetConversionByExternalID(organization B)", cB, func() (domain.Conversion, error) { return fx.s.GetConversionByExternalID(fx.ctx, orgB.ID, ext) })

			got, err := fx.s.GetConversion(fx.ctx, orgB.ID, cA.ID)
			wantNotFound(t, "GetConversion(another organization's conversion)", got, err)
			got, err = fx.s.GetConversion(fx.ctx, orgA.ID, fx.id("cnv"))
			wantNotFound(t, "GetConversion(unknown id)", got, err)
			got, err = fx.s.GetConversionByExternalID(fx.ctx, orgA.ID, "unknown-"+fx.tag)
			wantNotFound(t, "GetConversionByExternalID(unknown)", got, err)
			for _, f := range []store.ConversionFilter{{ProgramID: rA.ProgramID}, {ReferralID: cA.ReferralID}} {
				checkList(t, fmt.Sprintf("ListConversions(organization B, A's %+v)", f), 2, nil, func(pg store.Page) ([]domain.Conversion, string, error) {
					return fx.s.ListConversions(fx.ctx, orgB.ID, f, pg)
				})
			}
			checkList(t, "ListConversions(organization B)", 2, []domain.Conversion{cB}, func(pg store.Page) ([]domain.Conversion, string, error) {
				return fx.s.ListConversions(fx.ctx, orgB.ID, store.ConversionFilter{}, pg)
			})
			// Refused in its own organization.
			dup := fx.newConversion(fx.mustReferral(t, rA, "ben", ""), ext)
			wantErr(t, fx.s.RecordConversion(fx.ctx, dup, nil), store.ErrConflict, "RecordConversion(externalId used in the organization)")
		}},
		{"ListFilters", func(t *testing.T, fx *fixture) {
			orgA, orgB := fx.mustOrg(t), fx.mustOrg(t)
			r1 := fx.mustReferrerInNewProgram(t, orgA.ID, "jane")
			r2 := fx.mustReferrerInNewProgram(t, orgA.ID, "joan")
			rB := fx.mustReferrerInNewProgram(t, orgB.ID, "bert")
			a, b := fx.mustReferral(t, r1, "a", ""), fx.mustReferral(t, r1, "b", "")
			c := fx.mustReferral(t, r2, "c", "")
			x := fx.mustReferral(t, rB, "x", "")
			n := 0
			conv := func(ref domain.Referral) domain.Conversion {
				n++
				return fx.mustConversion(t, ref, fmt.Sprintf("order-%s-%d", fx.tag, n))
			}
			a1, c1, a2, b1 := conv(a), conv(c), conv(a), conv(b)
			conv(x)
			c2, a3, b2 := conv(c), conv(a), conv(b)
			for _, tc := range []struct {
				f    store.ConversionFilter
				want []domain.Conversion // newest first
			}{
				{store.ConversionFilter{}, []domain.Conversion{b2, a3, c2, b1, a2, c1, a1}},
				{store.ConversionFilter{ProgramID: r1.ProgramID}, []domain.Conversion{b2, a3, b1, a2, a1}},
				{store.ConversionFilter{ProgramID: r2.ProgramID}, []domain.Conversion{c2, c1}},
				{store.ConversionFilter{ReferralID: a.ID}, []domain.Conversion{a3, a2, a1}},
				{store.ConversionFilter{ProgramID: r1.ProgramID, ReferralID: b.ID}, []domain.Conversion{b2, b1}},
				{store.ConversionFilter{ProgramID: r2.ProgramID, ReferralID: a.ID}, nil},
				{store.ConversionFilter{ProgramID: rB.ProgramID}, nil},
			} {
				for _, limit := range []int{2, 3} {
					checkList(t, fmt.Sprintf("ListConversions(%+v, limit %d)", tc.f, limit), limit, tc.want, func(pg store.Page) ([]domain.Conversion, string, error) {
						return fx.s.ListConversions(fx.ctx, orgA.ID, tc.f, pg)
					})
				}
			}
		}},
		{"ConcurrentSameExternalID", func(t *testing.T, fx *fixture) {
			org := fx.mustOrg(t)
			r := fx.mustReferrerInNewProgram(t, org.ID, "jane")
			fx.warmUp(t, org.ID)
			var winners []domain.Conversion
			for round := range raceRounds {
				// Retries of one webhook delivery, arriving at once.
				ref := fx.mustReferral(t, r, fmt.Sprintf("amy%d", round), "")
				ext := fmt.Sprintf("webhook-%s-%d", fx.tag, round)
				convs := make([]domain.Conversion, concurrency)
				for i := range convs {
					convs[i] = fx.newConversion(ref, ext) // distinct IDs and occurredAt
				}
				errs := race(concurrency, func(i int) error { return fx.s.RecordConversion(fx.ctx, convs[i], nil) })
				w := exactlyOneWinner(t, fmt.Sprintf("round %d: RecordConversion racing with one externalId", round), errs)
				checkGet(t, "GetConversionByExternalID after the race", convs[w], func() (domain.Conversion, error) {
					return fx.s.GetConversionByExternalID(fx.ctx, org.ID, ext)
				})
				checkGet(t, "GetReferral after the race (converted at the winner's occurredAt)", convertedBy(ref, convs[w]), func() (domain.Referral, error) {
					return fx.s.GetReferral(fx.ctx, org.ID, ref.ID)
				})
				winners = append(winners, convs[w])
			}
			checkList(t, "ListConversions after the races", 20, reversed(winners), func(pg store.Page) ([]domain.Conversion, string, error) {
				return fx.s.ListConversions(fx.ctx, org.ID, store.ConversionFilter{}, pg)
			})
		}},
	}
}

// convertedBy returns ref as conversion c leaves it: converted at c's
// occurredAt, changed when c was recorded.
func convertedBy(ref domain.Referral, c domain.Conversion) domain.Referral {
	t := c.OccurredAt
	ref.Status, ref.ConvertedAt, ref.UpdatedAt = domain.ReferralConverted, &t, c.CreatedAt
	return ref
}
