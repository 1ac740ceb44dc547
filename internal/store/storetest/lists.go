package storetest

import (
	"fmt"
	"sync"
	"testing"
	"time"

	"github.com/partnerloop/partnerloop/internal/domain"
	"github.com/partnerloop/partnerloop/internal/store"
)

// listTests: search, date ranges and counts of the staff lists
// (store.Match), the same on every adapter.
func listTests() []test {
	return []test{
		{"ReferralsBySearchDateAndCount", func(t *testing.T, fx *fixture) {
			org, other := fx.mustOrg(t), fx.mustOrg(t)
			r1 := fx.mustReferrerInNewProgram(t, org.ID, "ref1")
			r2 := fx.mustReferrerInNewProgram(t, org.ID, "ref2")
			named := func(r domain.Referrer, local, name string) domain.Referral {
				ref := fx.newReferral(r, local, "")
				ref.Name = name
				must(t, fx.s.CreateReferral(fx.ctx, ref), "CreateReferral("+name+")")
				return ref
			}
			jane := named(r1, "jane", "Jane Doe")
			smith := named(r1, "js", "John SMITH")
			ana := named(r2, "ana", "Ana  Jan")
			janet := named(r2, "janet", "Bob")
			emile := named(r1, "emile", "Émile Zola")
			anon := fx.newReferral(r1, "anon", "")
			anon.Email, anon.Name = "", ""
			must(t, fx.s.CreateReferral(fx.ctx, anon), "CreateReferral(anonymous)")
			named(fx.mustReferrerInNewProgram(t, other.ID, "x"), "jane", "Jane Other")

			for _, tc := range []struct {
				what string
				f    store.ReferralFilter
				want []domain.Referral
			}{
				{"everything", store.ReferralFilter{}, []domain.Referral{anon, emile, janet, ana, smith, jane}},
				{"a name's first word, any case", store.ReferralFilter{Match: store.Match{Search: domain.SearchTerm("JAN")}}, []domain.Referral{janet, ana, jane}},
				{"a later word", store.ReferralFilter{Match: store.Match{Search: "smi"}}, []domain.Referral{smith}},
				{"words of the name", store.ReferralFilter{Match: store.Match{Search: domain.SearchTerm("jane  d")}}, []domain.Referral{jane}},
				{"an address", store.ReferralFilter{Match: store.Match{Search: "janet." + fx.tag + "@exa"}}, []domain.Referral{janet}},
				{"a letter that is not ASCII", store.ReferralFilter{Match: store.Match{Search: domain.SearchTerm("ÉMI")}}, []domain.Referral{emile}},
				{"not inside a word", store.ReferralFilter{Match: store.Match{Search: "example"}}, nil},
				{"search and program", store.ReferralFilter{ProgramID: r2.ProgramID, Match: store.Match{Search: "jan"}}, []domain.Referral{janet, ana}},
				{"search and referrer", store.ReferralFilter{ReferrerID: r1.ID, Match: store.Match{Search: "jan"}}, []domain.Referral{jane}},
				{"search and status", store.ReferralFilter{Status: domain.ReferralExpired, Match: store.Match{Search: "jan"}}, nil},
				{"from", store.ReferralFilter{Match: store.Match{From: sec(janet.CreatedAt)}}, []domain.Referral{anon, emile, janet}},
				{"until", store.ReferralFilter{Match: store.Match{To: sec(janet.CreatedAt)}}, []domain.Referral{ana, smith, jane}},
				{"a range", store.ReferralFilter{Match: store.Match{From: sec(smith.CreatedAt), To: sec(emile.CreatedAt)}}, []domain.Referral{janet, ana, smith}},
				{"a range and a search", store.ReferralFilter{Match: store.Match{Search: "jan", From: sec(smith.CreatedAt), To: sec(emile.CreatedAt)}}, []domain.Referral{janet, ana}},
				{"a range and a program", store.ReferralFilter{ProgramID: r1.ProgramID, Match: store.Match{From: sec(smith.CreatedAt)}}, []domain.Referral{anon, emile, smith}},
			} {
				checkList(t, "ListReferrals("+tc.what+")", 2, tc.want, func(pg store.Page) ([]domain.Referral, string, error) {
					return fx.s.ListReferrals(fx.ctx, org.ID, tc.f, pg)
				})
				n, more, err := fx.s.CountReferrals(fx.ctx, org.ID, tc.f)
				if err != nil || n != len(tc.want) || more {
					t.Errorf("CountReferrals(%s) = %d, %v, %v; want %d", tc.what, n, more, err, len(tc.want))
				}
			}
		}},
		{"ConversionsByTheirReferral", func(t *testing.T, fx *fixture) {
			org := fx.mustOrg(t)
			r1 := fx.mustReferrerInNewProgram(t, org.ID, "ref1")
			r2 := fx.mustReferrerInNewProgram(t, org.ID, "ref2")
			jane := fx.newReferral(r1, "jane", "")
			jane.Name = "Jane Doe"
			must(t, fx.s.CreateReferral(fx.ctx, jane), "CreateReferral")
			bob := fx.mustReferral(t, r2, "bob", "")
			c1 := fx.mustConversion(t, jane, "o1-"+fx.tag)
			c2 := fx.mustConversion(t, bob, "o2-"+fx.tag)
			c3 := fx.mustConversion(t, jane, "o3-"+fx.tag)
			// A conversion of a referral created with it.
			newRef := fx.newReferral(r2, "janine", "")
			c4 := fx.newConversion(newRef, "o4-"+fx.tag)
			newRef.Status, newRef.ConvertedAt, newRef.UpdatedAt = domain.ReferralConverted, ptr(c4.OccurredAt), c4.CreatedAt
			must(t, fx.s.RecordConversion(fx.ctx, c4, &newRef), "RecordConversion(with a new referral)")
			for _, tc := range []struct {
				what string
				f    store.ConversionFilter
				want []domain.Conversion
			}{
				{"everything", store.ConversionFilter{}, []domain.Conversion{c4, c3, c2, c1}},
				{"the contact's name", store.ConversionFilter{Match: store.Match{Search: "doe"}}, []domain.Conversion{c3, c1}},
				{"the contact's address", store.ConversionFilter{Match: store.Match{Search: "jan"}}, []domain.Conversion{c4, c3, c1}},
				{"search and program", store.ConversionFilter{ProgramID: r2.ProgramID, Match: store.Match{Search: "jan"}}, []domain.Conversion{c4}},
				{"search and referral", store.ConversionFilter{ReferralID: jane.ID, Match: store.Match{Search: "jan"}}, []domain.Conversion{c3, c1}},
				{"no such contact", store.ConversionFilter{Match: store.Match{Search: "zed"}}, nil},
				{"occurred from", store.ConversionFilter{Match: store.Match{From: sec(c2.OccurredAt)}}, []domain.Conversion{c4, c3, c2}},
				{"occurred in a range", store.ConversionFilter{Match: store.Match{From: sec(c2.OccurredAt), To: sec(c4.OccurredAt)}}, []domain.Conversion{c3, c2}},
				{"a range and a search", store.ConversionFilter{Match: store.Match{Search: "jan", From: sec(c2.OccurredAt), To: sec(c4.OccurredAt)}}, []domain.Conversion{c3}},
			} {
				checkList(t, "ListConversions("+tc.what+")", 1, tc.want, func(pg store.Page) ([]domain.Conversion, string, error) {
					return fx.s.ListConversions(fx.ctx, org.ID, tc.f, pg)
				})
				n, more, err := fx.s.CountConversions(fx.ctx, org.ID, tc.f)
				if err != nil || n != len(tc.want) || more {
					t.Errorf("CountConversions(%s) = %d, %v, %v; want %d", tc.what, n, more, err, len(tc.want))
				}
			}
		}},
		{"ReferrersAcrossPrograms", func(t *testing.T, fx *fixture) {
			org, other := fx.mustOrg(t), fx.mustOrg(t)
			p1, p2 := fx.mustProgram(t, org.ID), fx.mustProgram(t, org.ID)
			named := func(programID, local, name string) domain.Referrer {
				r := fx.newReferrer(org.ID, programID, local)
				r.Name = name
				must(t, fx.s.CreateReferrer(fx.ctx, r), "CreateReferrer("+name+")")
				return r
			}
			kim := named(p1.ID, "kim", "Kim Lee")
			lee := named(p2.ID, "lee", "Lee Park")
			max := named(p1.ID, "max", "Max Mustermann")
			kim2 := named(p2.ID, "kim", "Kim Lee")
			fx.mustReferrer(t, other.ID, fx.mustProgram(t, other.ID).ID, "kim")
			for _, tc := range []struct {
				what string
				f    store.ReferrerFilter
				want []domain.Referrer
			}{
				{"everything", store.ReferrerFilter{}, []domain.Referrer{kim2, max, lee, kim}},
				{"a program", store.ReferrerFilter{ProgramID: p1.ID}, []domain.Referrer{max, kim}},
				{"a word", store.ReferrerFilter{Match: store.Match{Search: "lee"}}, []domain.Referrer{kim2, lee, kim}},
				{"an address", store.ReferrerFilter{Match: store.Match{Search: "kim." + fx.tag}}, []domain.Referrer{kim2, kim}},
				{"a word and a program", store.ReferrerFilter{ProgramID: p2.ID, Match: store.Match{Search: "lee"}}, []domain.Referrer{kim2, lee}},
				{"a range", store.ReferrerFilter{Match: store.Match{From: sec(lee.CreatedAt), To: sec(kim2.CreatedAt)}}, []domain.Referrer{max, lee}},
				{"a range and a word", store.ReferrerFilter{Match: store.Match{Search: "lee", From: sec(lee.CreatedAt)}}, []domain.Referrer{kim2, lee}},
			} {
				checkList(t, "ListReferrersMatching("+tc.what+")", 1, tc.want, func(pg store.Page) ([]domain.Referrer, string, error) {
					return fx.s.ListReferrersMatching(fx.ctx, org.ID, tc.f, pg)
				})
				n, more, err := fx.s.CountReferrers(fx.ctx, org.ID, tc.f)
				if err != nil || n != len(tc.want) || more {
					t.Errorf("CountReferrers(%s) = %d, %v, %v; want %d", tc.what, n, more, err, len(tc.want))
				}
			}
		}},
		{"TooBroadASearch", func(t *testing.T, fx *fixture) {
			org := fx.mustOrg(t)
			r := fx.mustReferrerInNewProgram(t, org.ID, "ref")
			const workers = 8
			var wg sync.WaitGroup
			errs := make([]error, workers)
			for w := range workers {
				wg.Add(1)
				go func() {
					defer wg.Done()
					for i := w; i <= store.MaxSearchMatches; i += workers {
						ref := fx.newReferral(r, fmt.Sprintf("same%d", i), "")
						ref.Name = "Same Name"
						if err := fx.s.CreateReferral(fx.ctx, ref); err != nil {
							errs[w] = err
							return
						}
					}
				}()
			}
			wg.Wait()
			for _, err := range errs {
				must(t, err, "CreateReferral")
			}
			f := store.ReferralFilter{Match: store.Match{Search: "same"}}
			_, _, err := fx.s.ListReferrals(fx.ctx, org.ID, f, store.Page{Limit: 10})
			wantErr(t, err, store.ErrTooBroad, "ListReferrals(a term matching 1,001)")
			_, _, err = fx.s.CountReferrals(fx.ctx, org.ID, f)
			wantErr(t, err, store.ErrTooBroad, "CountReferrals(a term matching 1,001)")
			_, _, err = fx.s.ListConversions(fx.ctx, org.ID, store.ConversionFilter{Match: f.Match}, store.Page{Limit: 10})
			wantErr(t, err, store.ErrTooBroad, "ListConversions(a term matching 1,001 referrals)")
			// Without the search, the count is exact.
			n, more, err := fx.s.CountReferrals(fx.ctx, org.ID, store.ReferralFilter{})
			if err != nil || n != store.MaxSearchMatches+1 || more {
				t.Errorf("CountReferrals() = %d, %v, %v; want %d", n, more, err, store.MaxSearchMatches+1)
			}
		}},
	}
}

// sec is t's whole second: the lists' bounds are whole seconds (days).
func sec(t time.Time) time.Time { return t.Truncate(time.Second) }
