package storetest

import (
	"errors"
	"fmt"
	"testing"
	"time"

	"github.com/partnerloop/partnerloop/internal/domain"
	"github.com/partnerloop/partnerloop/internal/store"
)

func organizationTests() []test {
	return []test{
		{"RoundTrip", func(t *testing.T, fx *fixture) {
			o := domain.Organization{ID: fx.id("org"), Name: "Acme Widgets GmbH & Co. KG — Zürich", CreatedAt: fx.tick()}
			must(t, fx.s.CreateOrganization(fx.ctx, o), "CreateOrganization")
			checkGet(t, "GetOrganization", o, func() (domain.Organization, error) { return fx.s.GetOrganization(fx.ctx, o.ID) })
		}},
		{"UnknownIsNotFound", func(t *testing.T, fx *fixture) {
			fx.mustOrg(t)
			got, err := fx.s.GetOrganization(fx.ctx, fx.id("org"))
			wantNotFound(t, "GetOrganization(unknown id)", got, err)
		}},
	}
}

func userTests() []test {
	return []test{
		{"RoundTrip", func(t *testing.T, fx *fixture) {
			org := fx.mustOrg(t)
			u := fx.mustUser(t, org.ID, "ada")
			// An invited internal user: no partner, no password yet.
			invited := fx.newUser(org.ID, "grace")
			invited.Role, invited.PartnerID, invited.Status, invited.PasswordHash = domain.RoleProgramManager, "", domain.UserInvited, ""
			must(t, fx.s.CreateUser(fx.ctx, invited), "CreateUser(invited)")
			for _, want := range []domain.User{u, invited} {
				checkGet(t, "GetUser", want, func() (domain.User, error) { return fx.s.GetUser(fx.ctx, org.ID, want.ID) })
				checkGet(t, "GetUserByEmail", want, func() (domain.User, error) { return fx.s.GetUserByEmail(fx.ctx, want.Email) })
			}
			checkList(t, "ListUsers", 10, []domain.User{invited, u}, func(p store.Page) ([]domain.User, string, error) {
				return fx.s.ListUsers(fx.ctx, org.ID, p)
			})
		}},
		{"Tenancy", func(t *testing.T, fx *fixture) {
			orgA, orgB := fx.mustOrg(t), fx.mustOrg(t)
			u := fx.mustUser(t, orgA.ID, "ada")
			other := fx.mustUser(t, orgB.ID, "bob")
			got, err := fx.s.GetUser(fx.ctx, orgB.ID, u.ID)
			wantNotFound(t, "GetUser(another organization's user)", got, err)
			got, err = fx.s.GetUser(fx.ctx, orgA.ID, fx.id("usr"))
			wantNotFound(t, "GetUser(unknown id)", got, err)
			got, err = fx.s.GetUserByEmail(fx.ctx, fx.email("nobody"))
			wantNotFound(t, "GetUserByEmail(unknown address)", got, err)
			checkList(t, "ListUsers(organization B)", 2, []domain.User{other}, func(p store.Page) ([]domain.User, string, error) {
				return fx.s.ListUsers(fx.ctx, orgB.ID, p)
			})
			checkList(t, "ListUsers(organization without users)", 2, nil, func(p store.Page) ([]domain.User, string, error) {
				return fx.s.ListUsers(fx.ctx, fx.id("org"), p)
			})
		}},
		{"EmailUniqueAcrossInstallation", func(t *testing.T, fx *fixture) {
			orgA, orgB := fx.mustOrg(t), fx.mustOrg(t)
			u := fx.mustUser(t, orgA.ID, "ada")
			sameOrg := fx.newUser(orgA.ID, "ada")
			wantErr(t, fx.s.CreateUser(fx.ctx, sameOrg), store.ErrConflict, "CreateUser(same email, same organization)")
			otherOrg := fx.newUser(orgB.ID, "ada")
			wantErr(t, fx.s.CreateUser(fx.ctx, otherOrg), store.ErrConflict, "CreateUser(same email, another organization)")
			checkGet(t, "GetUserByEmail after the clashes", u, func() (domain.User, error) { return fx.s.GetUserByEmail(fx.ctx, u.Email) })
			for _, lost := range []domain.User{sameOrg, otherOrg} {
				got, err := fx.s.GetUser(fx.ctx, lost.OrgID, lost.ID)
				wantNotFound(t, "GetUser(user refused for its email)", got, err)
			}
			checkList(t, "ListUsers(organization B)", 2, nil, func(p store.Page) ([]domain.User, string, error) {
				return fx.s.ListUsers(fx.ctx, orgB.ID, p)
			})
		}},
		{"ListPages", func(t *testing.T, fx *fixture) {
			orgA, orgB := fx.mustOrg(t), fx.mustOrg(t)
			var created []domain.User
			for i := range 7 {
				created = append(created, fx.mustUser(t, orgA.ID, fmt.Sprintf("user%d", i)))
				if i%3 == 0 {
					fx.mustUser(t, orgB.ID, fmt.Sprintf("other%d", i))
				}
			}
			for _, limit := range []int{2, 3, 7} {
				checkList(t, fmt.Sprintf("ListUsers(limit %d)", limit), limit, reversed(created), func(p store.Page) ([]domain.User, string, error) {
					return fx.s.ListUsers(fx.ctx, orgA.ID, p)
				})
			}
		}},
	}
}

func sessionTests() []test {
	newSession := func(fx *fixture, u domain.User) domain.Session {
		created := fx.tick()
		return domain.Session{
			TokenHash: fx.hash(fmt.Sprintf("session/%d", fx.serial())), OrgID: u.OrgID, UserID: u.ID,
			CreatedAt: created, ExpiresAt: created.Add(30 * 24 * time.Hour),
		}
	}
	return []test{
		{"CreateGetDelete", func(t *testing.T, fx *fixture) {
			org := fx.mustOrg(t)
			u := fx.mustUser(t, org.ID, "ada")
			s1, s2 := newSession(fx, u), newSession(fx, u)
			must(t, fx.s.CreateSession(fx.ctx, s1), "CreateSession")
			must(t, fx.s.CreateSession(fx.ctx, s2), "CreateSession(second)")
			checkGet(t, "GetSession", s1, func() (domain.Session, error) { return fx.s.GetSession(fx.ctx, s1.TokenHash) })
			got, err := fx.s.GetSession(fx.ctx, fx.hash("never issued"))
			wantNotFound(t, "GetSession(unknown token hash)", got, err)

			must(t, fx.s.DeleteSession(fx.ctx, s1.TokenHash), "DeleteSession")
			got, err = fx.s.GetSession(fx.ctx, s1.TokenHash)
			wantNotFound(t, "GetSession after DeleteSession", got, err)
			checkGet(t, "GetSession(the user's other session)", s2, func() (domain.Session, error) { return fx.s.GetSession(fx.ctx, s2.TokenHash) })
		}},
		{"DeleteUserSessions", func(t *testing.T, fx *fixture) {
			orgA, orgB := fx.mustOrg(t), fx.mustOrg(t)
			ada, bob := fx.mustUser(t, orgA.ID, "ada"), fx.mustUser(t, orgA.ID, "bob")
			eve := fx.mustUser(t, orgB.ID, "eve")
			var adas []domain.Session
			for range 3 {
				s := newSession(fx, ada)
				must(t, fx.s.CreateSession(fx.ctx, s), "CreateSession(ada)")
				adas = append(adas, s)
			}
			bobs, eves := newSession(fx, bob), newSession(fx, eve)
			must(t, fx.s.CreateSession(fx.ctx, bobs), "CreateSession(bob)")
			must(t, fx.s.CreateSession(fx.ctx, eves), "CreateSession(eve)")

			must(t, fx.s.DeleteUserSessions(fx.ctx, orgA.ID, ada.ID), "DeleteUserSessions(ada)")
			for i, s := range adas {
				got, err := fx.s.GetSession(fx.ctx, s.TokenHash)
				wantNotFound(t, fmt.Sprintf("GetSession(ada's session %d after DeleteUserSessions)", i), got, err)
			}
			checkGet(t, "GetSession(bob's session, same organization)", bobs, func() (domain.Session, error) { return fx.s.GetSession(fx.ctx, bobs.TokenHash) })
			checkGet(t, "GetSession(eve's session, other organization)", eves, func() (domain.Session, error) { return fx.s.GetSession(fx.ctx, eves.TokenHash) })

			// Named with another organization, a user's sessions stay.
			if err := fx.s.DeleteUserSessions(fx.ctx, orgB.ID, bob.ID); err != nil && !errors.Is(err, store.ErrNotFound) {
				t.Errorf("DeleteUserSessions(another organization's user): %v, want nil or store.ErrNotFound", err)
			}
			checkGet(t, "GetSession(bob's session after DeleteUserSessions named organization B)", bobs, func() (domain.Session, error) {
				return fx.s.GetSession(fx.ctx, bobs.TokenHash)
			})
			// A user without sessions is no error worth failing a logout for.
			if err := fx.s.DeleteUserSessions(fx.ctx, orgA.ID, ada.ID); err != nil && !errors.Is(err, store.ErrNotFound) {
				t.Errorf("DeleteUserSessions(user without sessions): %v, want nil or store.ErrNotFound", err)
			}
		}},
	}
}

func apiKeyTests() []test {
	return []test{
		{"RoundTrip", func(t *testing.T, fx *fixture) {
			org := fx.mustOrg(t)
			k := fx.mustAPIKey(t, org.ID, "billing backend")
			checkGet(t, "GetAPIKeyByHash", k, func() (domain.APIKey, error) { return fx.s.GetAPIKeyByHash(fx.ctx, k.Hash) })
			checkList(t, "ListAPIKeys", 2, []domain.APIKey{k}, func(p store.Page) ([]domain.APIKey, string, error) {
				return fx.s.ListAPIKeys(fx.ctx, org.ID, p)
			})
			got, err := fx.s.GetAPIKeyByHash(fx.ctx, fx.hash("never issued"))
			wantNotFound(t, "GetAPIKeyByHash(unknown hash)", got, err)
		}},
		{"HashUnique", func(t *testing.T, fx *fixture) {
			orgA, orgB := fx.mustOrg(t), fx.mustOrg(t)
			k := fx.mustAPIKey(t, orgA.ID, "crm")
			dup := fx.newAPIKey(orgB.ID, "crm")
			wantErr(t, fx.s.CreateAPIKey(fx.ctx, dup), store.ErrConflict, "CreateAPIKey(hash taken by another organization's key)")
			checkGet(t, "GetAPIKeyByHash after the clash", k, func() (domain.APIKey, error) { return fx.s.GetAPIKeyByHash(fx.ctx, k.Hash) })
			checkList(t, "ListAPIKeys(organization B)", 2, nil, func(p store.Page) ([]domain.APIKey, string, error) {
				return fx.s.ListAPIKeys(fx.ctx, orgB.ID, p)
			})
		}},
		{"DeleteAndTenancy", func(t *testing.T, fx *fixture) {
			orgA, orgB := fx.mustOrg(t), fx.mustOrg(t)
			k1, k2 := fx.mustAPIKey(t, orgA.ID, "one"), fx.mustAPIKey(t, orgA.ID, "two")
			k3 := fx.mustAPIKey(t, orgB.ID, "three")

			wantErr(t, fx.s.DeleteAPIKey(fx.ctx, orgB.ID, k1.ID), store.ErrNotFound, "DeleteAPIKey(another organization's key)")
			checkGet(t, "GetAPIKeyByHash after another organization tried to delete it", k1, func() (domain.APIKey, error) {
				return fx.s.GetAPIKeyByHash(fx.ctx, k1.Hash)
			})
			checkList(t, "ListAPIKeys(organization B)", 2, []domain.APIKey{k3}, func(p store.Page) ([]domain.APIKey, string, error) {
				return fx.s.ListAPIKeys(fx.ctx, orgB.ID, p)
			})

			must(t, fx.s.DeleteAPIKey(fx.ctx, orgA.ID, k1.ID), "DeleteAPIKey")
			got, err := fx.s.GetAPIKeyByHash(fx.ctx, k1.Hash)
			wantNotFound(t, "GetAPIKeyByHash(deleted key)", got, err)
			checkList(t, "ListAPIKeys after delete", 2, []domain.APIKey{k2}, func(p store.Page) ([]domain.APIKey, string, error) {
				return fx.s.ListAPIKeys(fx.ctx, orgA.ID, p)
			})
			wantErr(t, fx.s.DeleteAPIKey(fx.ctx, orgA.ID, k1.ID), store.ErrNotFound, "DeleteAPIKey(already deleted)")
			wantErr(t, fx.s.DeleteAPIKey(fx.ctx, orgA.ID, fx.id("key")), store.ErrNotFound, "DeleteAPIKey(unknown id)")
			checkGet(t, "GetAPIKeyByHash(other key)", k2, func() (domain.APIKey, error) { return fx.s.GetAPIKeyByHash(fx.ctx, k2.Hash) })
			checkGet(t, "GetAPIKeyByHash(organization B's key)", k3, func() (domain.APIKey, error) { return fx.s.GetAPIKeyByHash(fx.ctx, k3.Hash) })
		}},
		{"ListPages", func(t *testing.T, fx *fixture) {
			orgA, orgB := fx.mustOrg(t), fx.mustOrg(t)
			var created []domain.APIKey
			for i := range 7 {
				created = append(created, fx.mustAPIKey(t, orgA.ID, fmt.Sprintf("key %d", i)))
				if i%2 == 0 {
					fx.mustAPIKey(t, orgB.ID, fmt.Sprintf("other %d", i))
				}
			}
			for _, limit := range []int{2, 3} {
				checkList(t, fmt.Sprintf("ListAPIKeys(limit %d)", limit), limit, reversed(created), func(p store.Page) ([]domain.APIKey, string, error) {
					return fx.s.ListAPIKeys(fx.ctx, orgA.ID, p)
				})
			}
		}},
	}
}
