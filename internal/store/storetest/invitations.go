package storetest

import (
	"errors"
	"fmt"
	"slices"
	"sync"
	"testing"
	"time"

	"github.com/partnerloop/partnerloop/internal/domain"
	"github.com/partnerloop/partnerloop/internal/store"
)

// InvitationStore is a store with invitations, rate-limit counters and
// failure throttles.
type InvitationStore interface {
	store.Store
	store.Invitations
	store.Counters
	store.Throttles
}

// RunInvitations runs the conformance suite of store.Invitations,
// store.Counters and store.Throttles. Like Run, each subtest gets a new,
// empty store.
func RunInvitations(t *testing.T, newStore func(t *testing.T) InvitationStore) {
	t.Helper()
	for _, tc := range append(invitationTests(), throttleTests()...) {
		t.Run(tc.name, func(t *testing.T) {
			s := newStore(t)
			tc.run(t, s, newFixture(t, s, nil))
		})
	}
}

type invitationTest struct {
	name string
	run  func(t *testing.T, s InvitationStore, fx *fixture)
}

// invitedUser stores a user who has not set a password yet.
func (fx *fixture) invitedUser(t *testing.T, orgID, local string) domain.User {
	t.Helper()
	u := fx.newUser(orgID, local)
	u.Status, u.PasswordHash = domain.UserInvited, ""
	must(t, fx.s.CreateUser(fx.ctx, u), "CreateUser(invited)")
	return u
}

func (fx *fixture) newInvitation(u domain.User) domain.Invitation {
	created := fx.tick()
	return domain.Invitation{
		ID: fx.id("inv"), OrgID: u.OrgID, UserID: u.ID, Email: u.Email,
		TokenHash: fx.hash(fmt.Sprintf("invitation/%d", fx.serial())),
		CreatedAt: created, ExpiresAt: created.Add(domain.InvitationTTL),
	}
}

func (fx *fixture) issue(t *testing.T, s InvitationStore, u domain.User) domain.Invitation {
	t.Helper()
	inv := fx.newInvitation(u)
	must(t, s.IssueInvitation(fx.ctx, inv), "IssueInvitation")
	return inv
}

func checkInvitation(t *testing.T, s InvitationStore, fx *fixture, what string, want domain.Invitation) {
	t.Helper()
	checkGet(t, what+": GetInvitation", want, func() (domain.Invitation, error) { return s.GetInvitation(fx.ctx, want.TokenHash) })
}

func checkLatest(t *testing.T, s InvitationStore, fx *fixture, what string, want domain.Invitation) {
	t.Helper()
	checkGet(t, what+": LatestInvitation", want, func() (domain.Invitation, error) {
		return s.LatestInvitation(fx.ctx, want.OrgID, want.UserID)
	})
}

// checkPortal checks that GetPartner and ListPartners show the partner's
// portal access as its portal user and latest invitation make it.
func checkPortal(t *testing.T, s InvitationStore, fx *fixture, what string, p domain.Partner) {
	t.Helper()
	u, err := s.GetUser(fx.ctx, p.OrgID, domain.PortalUserID(p.ID))
	if err != nil {
		t.Fatalf("%s: GetUser(portal user): %v", what, err)
	}
	var latest *domain.Invitation
	if inv, err := s.LatestInvitation(fx.ctx, p.OrgID, u.ID); err == nil {
		latest = &inv
	} else if !errors.Is(err, store.ErrNotFound) {
		t.Fatalf("%s: LatestInvitation: %v", what, err)
	}
	want := p
	want.Portal = domain.PortalAccessOf(&u, latest)
	checkGet(t, what+": GetPartner", want, func() (domain.Partner, error) { return s.GetPartner(fx.ctx, p.OrgID, p.ID) })
	ps, _, err := s.ListPartners(fx.ctx, p.OrgID, store.PartnerFilter{}, store.Page{Limit: 10})
	if err != nil || !slices.ContainsFunc(ps, func(got domain.Partner) bool { return len(diff(want, got)) == 0 }) {
		t.Errorf("%s: ListPartners = %+v, %v; want it to hold %+v", what, ps, err, want)
	}
}

func invitationTests() []invitationTest {
	return []invitationTest{
		{"PartnerShowsItsPortalAccess", func(t *testing.T, s InvitationStore, fx *fixture) {
			org := fx.mustOrg(t)
			p := fx.mustPartner(t, org.ID, fx.mustTier(t, org.ID).ID, "portal")
			checkGet(t, "GetPartner(never invited)", p, func() (domain.Partner, error) { return s.GetPartner(fx.ctx, org.ID, p.ID) })
			if got := p.PortalAccess(); got.Status != domain.PortalNone {
				t.Errorf("PortalAccess of a partner never invited = %+v, want none", got)
			}
			u := fx.newUser(org.ID, "portal")
			u.ID, u.PartnerID, u.Email = domain.PortalUserID(p.ID), p.ID, p.Email
			u.Status, u.PasswordHash = domain.UserInvited, ""
			must(t, s.CreateUser(fx.ctx, u), "CreateUser(portal user)")
			checkPortal(t, s, fx, "created", p)
			first := fx.issue(t, s, u)
			checkPortal(t, s, fx, "invited", p)
			second := fx.issue(t, s, u)
			checkPortal(t, s, fx, "invited again", p)
			_, err := s.AcceptInvitation(fx.ctx, first.TokenHash, "$argon2id$x", fx.tick())
			wantErr(t, err, store.ErrConflict, "AcceptInvitation(the revoked first invitation)")
			_, err = s.AcceptInvitation(fx.ctx, second.TokenHash, "$argon2id$x", fx.tick())
			must(t, err, "AcceptInvitation")
			checkPortal(t, s, fx, "accepted", p)
			// An admin's change of the partner keeps its portal access.
			renamed := p
			renamed.CompanyName, renamed.UpdatedAt = "Renamed", fx.tick()
			must(t, s.UpdatePartner(fx.ctx, renamed), "UpdatePartner")
			renamed.Revision++
			checkPortal(t, s, fx, "renamed", renamed)
			_, err = s.DisableUser(fx.ctx, org.ID, u.ID, fx.tick())
			must(t, err, "DisableUser")
			checkPortal(t, s, fx, "revoked", renamed)
			fx.issue(t, s, u)
			checkPortal(t, s, fx, "invited after the revocation", renamed)
			_, err = s.DisableUser(fx.ctx, org.ID, u.ID, fx.tick())
			must(t, err, "DisableUser(open invitation)")
			checkPortal(t, s, fx, "revoked with an open invitation", renamed)
		}},
		{"RoundTrip", func(t *testing.T, s InvitationStore, fx *fixture) {
			org := fx.mustOrg(t)
			u := fx.invitedUser(t, org.ID, "ada")
			got, err := s.LatestInvitation(fx.ctx, org.ID, u.ID)
			wantNotFound(t, "LatestInvitation(before any)", got, err)
			inv := fx.issue(t, s, u)
			checkInvitation(t, s, fx, "issued", inv)
			checkLatest(t, s, fx, "issued", inv)
			// Expiry is the service's decision: an invitation stored as
			// expired reads back as it was stored.
			old := fx.newInvitation(u)
			old.ExpiresAt = old.CreatedAt.Add(-time.Hour)
			must(t, s.IssueInvitation(fx.ctx, old), "IssueInvitation(expired)")
			checkInvitation(t, s, fx, "expired", old)
			checkGet(t, "user unchanged", u, func() (domain.User, error) { return s.GetUser(fx.ctx, org.ID, u.ID) })
		}},
		{"Unknown", func(t *testing.T, s InvitationStore, fx *fixture) {
			orgA, orgB := fx.mustOrg(t), fx.mustOrg(t)
			u := fx.invitedUser(t, orgA.ID, "ada")
			got, err := s.GetInvitation(fx.ctx, fx.hash("nothing"))
			wantNotFound(t, "GetInvitation(unknown)", got, err)
			user, err := s.AcceptInvitation(fx.ctx, fx.hash("nothing"), "hash", fx.tick())
			wantNotFound(t, "AcceptInvitation(unknown)", user, err)
			inv := fx.newInvitation(u)
			inv.OrgID = orgB.ID // another organization's user
			wantErr(t, s.IssueInvitation(fx.ctx, inv), store.ErrNotFound, "IssueInvitation(user of another organization)")
			got, err = s.GetInvitation(fx.ctx, inv.TokenHash)
			wantNotFound(t, "GetInvitation(refused invitation)", got, err)
			user, err = s.DisableUser(fx.ctx, orgB.ID, u.ID, fx.tick())
			wantNotFound(t, "DisableUser(user of another organization)", user, err)
			fx.issue(t, s, u)
			got, err = s.LatestInvitation(fx.ctx, orgB.ID, u.ID)
			wantNotFound(t, "LatestInvitation(another organization)", got, err)
		}},
		{"AcceptActivatesUser", func(t *testing.T, s InvitationStore, fx *fixture) {
			org := fx.mustOrg(t)
			u := fx.invitedUser(t, org.ID, "ada")
			inv := fx.issue(t, s, u)
			at := fx.tick()
			got, err := s.AcceptInvitation(fx.ctx, inv.TokenHash, "new-hash", at)
			must(t, err, "AcceptInvitation")
			want := u
			want.PasswordHash, want.Status, want.UpdatedAt = "new-hash", domain.UserActive, at
			if d := diff(want, got); len(d) > 0 {
				t.Errorf("AcceptInvitation returned %v", d)
			}
			checkGet(t, "GetUser after accept", want, func() (domain.User, error) { return s.GetUser(fx.ctx, org.ID, u.ID) })
			inv.UsedAt = &at
			checkInvitation(t, s, fx, "accepted", inv)
			checkLatest(t, s, fx, "accepted", inv)
			_, err = s.AcceptInvitation(fx.ctx, inv.TokenHash, "other-hash", fx.tick())
			wantErr(t, err, store.ErrConflict, "AcceptInvitation(second time)")
			checkGet(t, "GetUser after the second accept", want, func() (domain.User, error) { return s.GetUser(fx.ctx, org.ID, u.ID) })
		}},
		{"SingleUseUnderConcurrency", func(t *testing.T, s InvitationStore, fx *fixture) {
			org := fx.mustOrg(t)
			u := fx.invitedUser(t, org.ID, "ada")
			inv := fx.issue(t, s, u)
			const n = 8
			errs := make([]error, n)
			var wg sync.WaitGroup
			at := fx.tick()
			for i := range n {
				wg.Add(1)
				go func() {
					defer wg.Done()
					_, errs[i] = s.AcceptInvitation(fx.ctx, inv.TokenHash, fmt.Sprintf("hash-%d", i), at)
				}()
			}
			wg.Wait()
			winner := -1
			for i, err := range errs {
				switch {
				case err == nil && winner >= 0:
					t.Fatalf("accepts %d and %d both won", winner, i)
				case err == nil:
					winner = i
				case !errors.Is(err, store.ErrConflict):
					t.Errorf("accept %d: %v, want store.ErrConflict", i, err)
				}
			}
			if winner < 0 {
				t.Fatal("no accept won")
			}
			got, err := s.GetUser(fx.ctx, org.ID, u.ID)
			must(t, err, "GetUser")
			if got.PasswordHash != fmt.Sprintf("hash-%d", winner) || got.Status != domain.UserActive {
				t.Errorf("user has hash %q status %s; the winner was %d", got.PasswordHash, got.Status, winner)
			}
		}},
		{"ReissueRevokesEarlier", func(t *testing.T, s InvitationStore, fx *fixture) {
			org := fx.mustOrg(t)
			u := fx.invitedUser(t, org.ID, "ada")
			first := fx.issue(t, s, u)
			second := fx.issue(t, s, u)
			third := fx.issue(t, s, u)
			first.RevokedAt, second.RevokedAt = &second.CreatedAt, &third.CreatedAt
			checkInvitation(t, s, fx, "first", first)
			checkInvitation(t, s, fx, "second", second)
			checkInvitation(t, s, fx, "third", third)
			checkLatest(t, s, fx, "after three", third)
			for _, old := range []domain.Invitation{first, second} {
				_, err := s.AcceptInvitation(fx.ctx, old.TokenHash, "hash", fx.tick())
				wantErr(t, err, store.ErrConflict, "AcceptInvitation(revoked)")
			}
			_, err := s.AcceptInvitation(fx.ctx, third.TokenHash, "hash", fx.tick())
			must(t, err, "AcceptInvitation(latest)")
			// A used invitation stays used when a new one is issued.
			used, _ := s.GetInvitation(fx.ctx, third.TokenHash)
			fourth := fx.issue(t, s, u)
			checkInvitation(t, s, fx, "used before the fourth", used)
			checkLatest(t, s, fx, "fourth", fourth)
			got, err := s.GetUser(fx.ctx, org.ID, u.ID)
			must(t, err, "GetUser")
			if got.Status != domain.UserActive {
				t.Errorf("re-inviting an active user changed its status to %s", got.Status)
			}
		}},
		{"SetUserRole", func(t *testing.T, s InvitationStore, fx *fixture) {
			org, orgB := fx.mustOrg(t), fx.mustOrg(t)
			u := fx.invitedUser(t, org.ID, "ada")
			inv := fx.issue(t, s, u)
			at := fx.tick()
			got, err := s.SetUserRole(fx.ctx, org.ID, u.ID, domain.RoleAdmin, at)
			must(t, err, "SetUserRole")
			want := u
			want.Role, want.UpdatedAt = domain.RoleAdmin, at
			if d := diff(want, got); len(d) > 0 {
				t.Errorf("SetUserRole returned %v", d)
			}
			checkGet(t, "GetUser after SetUserRole", want, func() (domain.User, error) { return s.GetUser(fx.ctx, org.ID, u.ID) })
			checkInvitation(t, s, fx, "the open invitation", inv)
			_, err = s.SetUserRole(fx.ctx, orgB.ID, u.ID, domain.RoleProgramManager, fx.tick())
			wantErr(t, err, store.ErrNotFound, "SetUserRole(user of another organization)")
			_, err = s.SetUserRole(fx.ctx, org.ID, "usr_missing", domain.RoleProgramManager, fx.tick())
			wantErr(t, err, store.ErrNotFound, "SetUserRole(unknown user)")
		}},
		{"TheLastActiveAdminIsKept", func(t *testing.T, s InvitationStore, fx *fixture) {
			org := fx.mustOrg(t)
			admin := func(local string) domain.User {
				u := fx.newUser(org.ID, local)
				u.Role, u.PartnerID = domain.RoleAdmin, ""
				must(t, s.CreateUser(fx.ctx, u), "CreateUser(admin)")
				return u
			}
			ada, bob := admin("ada"), admin("bob")
			// Two admins: one may step down; then the other is the last.
			_, err := s.SetUserRole(fx.ctx, org.ID, ada.ID, domain.RoleProgramManager, fx.tick())
			must(t, err, "SetUserRole(one of two admins)")
			_, err = s.SetUserRole(fx.ctx, org.ID, bob.ID, domain.RoleProgramManager, fx.tick())
			wantErr(t, err, store.ErrLastAdmin, "SetUserRole(the last admin)")
			_, err = s.DisableUser(fx.ctx, org.ID, bob.ID, fx.tick())
			wantErr(t, err, store.ErrLastAdmin, "DisableUser(the last admin)")
			got, err := s.GetUser(fx.ctx, org.ID, bob.ID)
			must(t, err, "GetUser")
			if got.Role != domain.RoleAdmin || got.Status != domain.UserActive {
				t.Fatalf("a refused change changed the last admin: %s, %s", got.Role, got.Status)
			}
			// Keeping the admin role, and changes of a non-admin, are fine.
			_, err = s.SetUserRole(fx.ctx, org.ID, bob.ID, domain.RoleAdmin, fx.tick())
			must(t, err, "SetUserRole(the last admin stays admin)")
			_, err = s.DisableUser(fx.ctx, org.ID, ada.ID, fx.tick())
			must(t, err, "DisableUser(a program manager)")
			// A disabled admin is no admin: it does not count for another.
			_, err = s.SetUserRole(fx.ctx, org.ID, ada.ID, domain.RoleAdmin, fx.tick())
			must(t, err, "SetUserRole(a disabled user to admin)")
			_, err = s.SetUserRole(fx.ctx, org.ID, bob.ID, domain.RoleProgramManager, fx.tick())
			wantErr(t, err, store.ErrLastAdmin, "SetUserRole(the last active admin, beside a disabled one)")

			// Two admins — the organization's only ones — demote or disable
			// each other at the same moment, round after round (an
			// organization each): exactly one of each pair succeeds.
			for round := range 8 {
				org = fx.mustOrg(t)
				pair := []domain.User{admin(fmt.Sprintf("a%d", round)), admin(fmt.Sprintf("b%d", round))}
				var wg sync.WaitGroup
				errs := make([]error, 2)
				for i, u := range pair {
					wg.Go(func() {
						if (round+i)%2 == 0 {
							_, errs[i] = s.SetUserRole(fx.ctx, org.ID, u.ID, domain.RoleProgramManager, fx.tick())
						} else {
							_, errs[i] = s.DisableUser(fx.ctx, org.ID, u.ID, fx.tick())
						}
					})
				}
				wg.Wait()
				refused := 0
				for i, err := range errs {
					switch {
					case errors.Is(err, store.ErrLastAdmin):
						refused++
					case err != nil:
						t.Fatalf("round %d: change of %s: %v", round, pair[i].ID, err)
					}
				}
				active := 0
				for _, u := range pair {
					got, err := s.GetUser(fx.ctx, org.ID, u.ID)
					must(t, err, "GetUser")
					if got.Role == domain.RoleAdmin && got.Status == domain.UserActive {
						active++
					}
				}
				if refused != 1 || active != 1 {
					t.Fatalf("round %d: %d of the two changes refused and %d active admins left; want 1 and 1 (%v)", round, refused, active, errs)
				}
			}
		}},
		{"DisableRevokesAndReissueReenables", func(t *testing.T, s InvitationStore, fx *fixture) {
			org := fx.mustOrg(t)
			u := fx.invitedUser(t, org.ID, "ada")
			other := fx.invitedUser(t, org.ID, "bob")
			inv := fx.issue(t, s, u)
			otherInv := fx.issue(t, s, other)
			at := fx.tick()
			got, err := s.DisableUser(fx.ctx, org.ID, u.ID, at)
			must(t, err, "DisableUser")
			want := u
			want.Status, want.UpdatedAt = domain.UserDisabled, at
			if d := diff(want, got); len(d) > 0 {
				t.Errorf("DisableUser returned %v", d)
			}
			checkGet(t, "GetUser after disable", want, func() (domain.User, error) { return s.GetUser(fx.ctx, org.ID, u.ID) })
			inv.RevokedAt = &at
			checkInvitation(t, s, fx, "revoked", inv)
			checkLatest(t, s, fx, "revoked", inv)
			checkInvitation(t, s, fx, "another user's", otherInv)
			_, err = s.AcceptInvitation(fx.ctx, inv.TokenHash, "hash", fx.tick())
			wantErr(t, err, store.ErrConflict, "AcceptInvitation(revoked by DisableUser)")
			// Disabling twice, or a user without invitations, is fine.
			_, err = s.DisableUser(fx.ctx, org.ID, u.ID, fx.tick())
			must(t, err, "DisableUser(again)")
			// Issuing again brings the user back as invited.
			again := fx.issue(t, s, u)
			want.Status, want.UpdatedAt = domain.UserInvited, again.CreatedAt
			checkGet(t, "GetUser after re-invite", want, func() (domain.User, error) { return s.GetUser(fx.ctx, org.ID, u.ID) })
			checkInvitation(t, s, fx, "revoked before the re-invite", inv)
			_, err = s.AcceptInvitation(fx.ctx, again.TokenHash, "hash", fx.tick())
			must(t, err, "AcceptInvitation(re-invite)")
		}},
		{"Counters", func(t *testing.T, s InvitationStore, fx *fixture) {
			exp := fx.tick().Add(15 * time.Minute)
			a, b := "login:"+fx.tag+":a", "login:"+fx.tag+":b"
			for want := int64(1); want <= 3; want++ {
				n, err := s.IncrementCounter(fx.ctx, a, exp)
				must(t, err, "IncrementCounter")
				if n != want {
					t.Errorf("IncrementCounter(a) = %d, want %d", n, want)
				}
			}
			if n, err := s.IncrementCounter(fx.ctx, b, exp); err != nil || n != 1 {
				t.Errorf("IncrementCounter(b) = %d, %v; want 1", n, err)
			}
			const workers = 16
			got := make([]int64, workers)
			var wg sync.WaitGroup
			for i := range workers {
				wg.Add(1)
				go func() {
					defer wg.Done()
					n, err := s.IncrementCounter(fx.ctx, b, exp)
					if err != nil {
						t.Error(err)
					}
					got[i] = n
				}()
			}
			wg.Wait()
			slices.Sort(got)
			for i, n := range got {
				if n != int64(i+2) {
					t.Fatalf("concurrent increments returned %v, want 2..%d each once", got, workers+1)
				}
			}
		}},
	}
}
