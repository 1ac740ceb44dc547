package storetest

import (
	"errors"
	"fmt"
	"testing"

	"github.com/partnerloop/partnerloop/internal/domain"
	"github.com/partnerloop/partnerloop/internal/store"
)

func paginationTests() []test {
	return []test{
		{"BadCursor", func(t *testing.T, fx *fixture) {
			org := fx.mustOrg(t)
			fx.mustUser(t, org.ID, "ada")
			fx.mustAPIKey(t, org.ID, "crm")
			r := fx.mustReferrerInNewProgram(t, org.ID, "jane")
			if _, err := fx.s.RecordClick(fx.ctx, fx.newClick(r, "v", fx.tick()), hourly); err != nil {
				t.Fatalf("RecordClick: %v", err)
			}
			fx.mustConversion(t, fx.mustReferral(t, r, "amy", ""), "order-"+fx.tag)
			lists := map[string]func(store.Page) (int, string, error){
				"ListUsers":    countOf(func(p store.Page) ([]domain.User, string, error) { return fx.s.ListUsers(fx.ctx, org.ID, p) }),
				"ListAPIKeys":  countOf(func(p store.Page) ([]domain.APIKey, string, error) { return fx.s.ListAPIKeys(fx.ctx, org.ID, p) }),
				"ListPrograms": countOf(func(p store.Page) ([]domain.Program, string, error) { return fx.s.ListPrograms(fx.ctx, org.ID, p) }),
				"ListReferrers": countOf(func(p store.Page) ([]domain.Referrer, string, error) {
					return fx.s.ListReferrers(fx.ctx, org.ID, r.ProgramID, p)
				}),
				"ListClicks": countOf(func(p store.Page) ([]domain.Click, string, error) { return fx.s.ListClicks(fx.ctx, org.ID, r.ID, p) }),
				"ListReferrals": countOf(func(p store.Page) ([]domain.Referral, string, error) {
					return fx.s.ListReferrals(fx.ctx, org.ID, store.ReferralFilter{}, p)
				}),
				"ListConversions": countOf(func(p store.Page) ([]domain.Conversion, string, error) {
					return fx.s.ListConversions(fx.ctx, org.ID, store.ConversionFilter{}, p)
				}),
			}
			for name, list := range lists {
				// Garbage of several kinds, including strings that decode as
				// base64 (cursors usually are), none of them issued.
				for _, cursor := range []string{"garbage", "Z2FyYmFnZQ", "!!not a cursor!!", "\x00\xff"} {
					n, next, err := list(store.Page{Limit: 2, Cursor: cursor})
					if !errors.Is(err, store.ErrBadCursor) {
						t.Errorf("%s(cursor %q) = (%d records, next %q, %v), want store.ErrBadCursor", name, cursor, n, next, err)
					}
				}
				// The same list without a cursor works.
				if n, _, err := list(store.Page{Limit: 2}); err != nil || n != 1 {
					t.Errorf("%s(no cursor) = (%d records, %v), want 1 record", name, n, err)
				}
			}
		}},
		{"DefaultAndMaximumLimit", func(t *testing.T, fx *fixture) {
			org := fx.mustOrg(t)
			var created []domain.APIKey
			for i := range store.DefaultLimit + 1 {
				created = append(created, fx.mustAPIKey(t, org.ID, fmt.Sprintf("key %d", i)))
			}
			want := newestFirst(created...)
			list := func(p store.Page) ([]domain.APIKey, string, error) { return fx.s.ListAPIKeys(fx.ctx, org.ID, p) }
			for _, limit := range []int{0, -1} {
				first, next, err := list(store.Page{Limit: limit})
				must(t, err, fmt.Sprintf("ListAPIKeys(limit %d)", limit))
				checkIDs(t, fmt.Sprintf("ListAPIKeys(limit %d) is a page of the default size %d", limit, store.DefaultLimit), idsOf(first), want[:store.DefaultLimit])
				if next == "" {
					t.Fatalf("ListAPIKeys(limit %d) over %d keys: empty NextCursor", limit, len(created))
				}
				rest, next2, err := list(store.Page{Limit: limit, Cursor: next})
				must(t, err, fmt.Sprintf("ListAPIKeys(limit %d, page 2)", limit))
				checkIDs(t, fmt.Sprintf("ListAPIKeys(limit %d, page 2)", limit), idsOf(rest), want[store.DefaultLimit:])
				if next2 != "" {
					t.Errorf("ListAPIKeys(limit %d, last page): NextCursor %q, want empty", limit, next2)
				}
			}
			all, next, err := list(store.Page{Limit: store.MaxLimit + 100})
			must(t, err, "ListAPIKeys(limit above the maximum)")
			checkIDs(t, "ListAPIKeys(limit above the maximum)", idsOf(all), want)
			if next != "" {
				t.Errorf("ListAPIKeys(limit above the maximum, all records): NextCursor %q, want empty", next)
			}
		}},
		{"PageClamp", func(t *testing.T, _ *fixture) {
			for _, tc := range []struct{ in, want int }{
				{0, store.DefaultLimit}, {-5, store.DefaultLimit}, {1, 1}, {3, 3},
				{store.MaxLimit, store.MaxLimit}, {store.MaxLimit + 1, store.MaxLimit},
			} {
				got := store.Page{Limit: tc.in, Cursor: "c"}.Clamp()
				if got != (store.Page{Limit: tc.want, Cursor: "c"}) {
					t.Errorf("Page{Limit: %d, Cursor: \"c\"}.Clamp() = %+v, want Limit %d and the cursor kept", tc.in, got, tc.want)
				}
			}
		}},
	}
}

func countOf[T any](list func(store.Page) ([]T, string, error)) func(store.Page) (int, string, error) {
	return func(p store.Page) (int, string, error) {
		items, next, err := list(p)
		return len(items), next, err
	}
}
