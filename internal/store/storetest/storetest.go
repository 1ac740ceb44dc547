// Package storetest is the conformance suite of the store port, in the
// manner of dexidp/dex's storage/conformance: every adapter of store.Store
// (SQLite for the embedded mode, DynamoDB on AWS) runs the same subtests from
// its own tests, so services can rely on one behaviour whichever store runs.
//
//	func TestConformance(t *testing.T) {
//		storetest.Run(t, func(t *testing.T) store.Store {
//			s, err := sqlite.Open(filepath.Join(t.TempDir(), "test.db"))
//			if err != nil {
//				t.Fatal(err)
//			}
//			t.Cleanup(func() { s.Close() })
//			return s
//		})
//	}
//
// The suite is written against the port's doc comments only. It uses small
// page sizes so that pagination is really exercised, races goroutines where
// the port promises uniqueness, and compares every field of every record,
// including those never serialised to JSON (password, token and key hashes).
//
// Times: every time the suite stores is UTC and truncated to the MILLISECOND
// (see timeResolution), the finest resolution every adapter is expected to
// keep — DynamoDB items, JavaScript clients and many SQL encodings carry
// milliseconds. Times read back are compared with time.Equal, so an adapter
// may return them in any location.
//
// Values that are unique across the installation (user emails, referrer
// codes, key and token hashes) carry a random tag per subtest, so the suite
// also passes against an adapter whose "fresh" stores share one backing table.
package storetest

import (
	"context"
	"crypto/rand"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"reflect"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/partnerloop/partnerloop/internal/domain"
	"github.com/partnerloop/partnerloop/internal/store"
)

// timeResolution is the precision the suite asks adapters to keep.
const timeResolution = time.Millisecond

// clockStep is how far the fixture's clock advances per reading: more than a
// second and not a whole number of them, so that sub-second parts vary and an
// adapter that drops milliseconds is caught.
const clockStep = time.Second + 7*time.Millisecond

// Run runs the conformance suite against the stores newStore returns. Each
// subtest calls newStore once and must get an empty store of its own;
// newStore arranges the store's Close with t.Cleanup.
func Run(t *testing.T, newStore func(t *testing.T) store.Store) {
	t.Helper()
	for _, g := range storeGroups() {
		t.Run(g.name, func(t *testing.T) {
			for _, tc := range g.tests {
				t.Run(tc.name, func(t *testing.T) {
					tc.run(t, newFixture(t, newStore(t), nil))
				})
			}
		})
	}
}

// RunOutbox runs the conformance suite of store.Outbox, for stores that keep
// their own change log. Like Run, each subtest gets a new, empty store.
func RunOutbox(t *testing.T, newStore func(t *testing.T) interface {
	store.Store
	store.Outbox
}) {
	t.Helper()
	for _, tc := range outboxTests() {
		t.Run(tc.name, func(t *testing.T) {
			s := newStore(t)
			tc.run(t, newFixture(t, s, s))
		})
	}
}

type test struct {
	name string
	run  func(t *testing.T, fx *fixture)
}

type group struct {
	name  string
	tests []test
}

func storeGroups() []group {
	return []group{
		{"Organizations", append(organizationTests(), organizationListTests()...)},
		{"Users", userTests()},
		{"Sessions", sessionTests()},
		{"APIKeys", apiKeyTests()},
		{"Programs", programTests()},
		{"Referrers", referrerTests()},
		{"Clicks", clickTests()},
		{"Referrals", referralTests()},
		{"Conversions", conversionTests()},
		{"Pagination", paginationTests()},
		{"PartnerTiers", tierTests()},
		{"Partners", partnerTests()},
		{"Lists", listTests()},
	}
}

// fixture is one subtest's store with a fake clock and an ID source whose
// IDs sort by creation (ULIDs read from the advancing clock).
type fixture struct {
	s   store.Store
	out store.Outbox // nil outside RunOutbox
	ctx context.Context
	tag string // random, lower case; keeps installation-wide values apart

	mu  sync.Mutex
	now time.Time
	ids domain.IDs
	seq int
}

func newFixture(t *testing.T, s store.Store, out store.Outbox) *fixture {
	if s == nil {
		t.Fatal("newStore returned a nil store")
	}
	fx := &fixture{
		s: s, out: out, ctx: t.Context(),
		tag: strings.ToLower(rand.Text()[:8]),
		// Near the real time, so that an adapter which hides expired sessions
		// or expires records by TTL does not see the suite's records as old.
		now: time.Now().UTC().Add(-time.Hour).Truncate(timeResolution),
	}
	fx.ids = domain.NewULIDs(fx.tick)
	return fx
}

// tick advances the fake clock and returns the new time (UTC, milliseconds).
func (fx *fixture) tick() time.Time {
	fx.mu.Lock()
	defer fx.mu.Unlock()
	fx.now = fx.now.Add(clockStep)
	return fx.now
}

// id returns a new ID that sorts after every ID returned before it.
func (fx *fixture) id(prefix string) string { return fx.ids(prefix) }

// email returns an address unique to this subtest.
func (fx *fixture) email(local string) string {
	return local + "." + fx.tag + "@example.com"
}

// code returns a referral code unique to this subtest, starting with base.
func (fx *fixture) code(base string) string { return base + strings.ToUpper(fx.tag) }

// hash returns a hex SHA-256 unique to this subtest, like the hashes of
// tokens and keys the services store.
func (fx *fixture) hash(secret string) string {
	sum := sha256.Sum256([]byte(fx.tag + "/" + secret))
	return hex.EncodeToString(sum[:])
}

// serial returns 1, 2, 3, ... for making values distinct.
func (fx *fixture) serial() int {
	fx.mu.Lock()
	defer fx.mu.Unlock()
	fx.seq++
	return fx.seq
}

func ptr[T any](v T) *T { return &v }

// --- record builders: each returns a record with every field set -------------

func (fx *fixture) mustOrg(t *testing.T) domain.Organization {
	t.Helper()
	o := domain.Organization{ID: fx.id("org"), Name: fmt.Sprintf("Org %d", fx.serial()), CreatedAt: fx.tick()}
	must(t, fx.s.CreateOrganization(fx.ctx, o), "CreateOrganization")
	return o
}

func (fx *fixture) newUser(orgID, local string) domain.User {
	created := fx.tick()
	return domain.User{
		ID: fx.id("usr"), OrgID: orgID, Email: fx.email(local), Name: "User " + local,
		Role: domain.RolePartner, PartnerID: "prt_" + local, Status: domain.UserActive,
		PasswordHash: "$argon2id$v=19$m=65536,t=3,p=4$" + fx.hash("salt/" + local)[:22] + "$" + fx.hash("pw/" + local)[:43],
		CreatedAt:    created, UpdatedAt: created.Add(90 * time.Minute),
	}
}

func (fx *fixture) mustUser(t *testing.T, orgID, local string) domain.User {
	t.Helper()
	u := fx.newUser(orgID, local)
	must(t, fx.s.CreateUser(fx.ctx, u), "CreateUser")
	return u
}

func (fx *fixture) newAPIKey(orgID, name string) domain.APIKey {
	return domain.APIKey{
		ID: fx.id("key"), OrgID: orgID, Name: name, Prefix: "pl_" + fx.tag[:4],
		Hash: fx.hash("key/" + name), CreatedBy: "usr_admin", CreatedAt: fx.tick(),
	}
}

func (fx *fixture) mustAPIKey(t *testing.T, orgID, name string) domain.APIKey {
	t.Helper()
	k := fx.newAPIKey(orgID, name)
	must(t, fx.s.CreateAPIKey(fx.ctx, k), "CreateAPIKey")
	return k
}

// newProgram returns an active program with every optional setting given:
// an end date, a minimum purchase, a tiered rule with an unbounded last tier
// and two rule versions.
func (fx *fixture) newProgram(orgID string) domain.Program {
	created := fx.tick()
	starts := created.Add(-48 * time.Hour)
	ends := created.Add(90 * 24 * time.Hour)
	flat := domain.CommissionRule{Type: domain.RuleFlat, Amount: ptr(int64(2500))}
	tiered := domain.CommissionRule{
		Type: domain.RuleTiered, Basis: domain.BasisCount, Period: domain.PeriodQuarter, Mode: domain.ModeRetroactive,
		Tiers: []domain.Tier{
			{UpTo: ptr(int64(10)), RateBps: ptr(int64(1000))},
			{UpTo: ptr(int64(50)), Amount: ptr(int64(3000))},
			{UpTo: nil, RateBps: ptr(int64(2000))},
		},
	}
	return domain.Program{
		ID: fx.id("prg"), OrgID: orgID, Name: fmt.Sprintf("Spring referrals %d", fx.serial()),
		Status: domain.ProgramActive, LandingURL: "https://shop.example.com/welcome?utm_source=referral&x=%C3%A9",
		Currency: "EUR", StartsAt: starts, EndsAt: &ends, AttributionWindowDays: 30,
		QualifyingEvents: []string{domain.EventSignup, domain.EventPurchase},
		Eligibility:      domain.Eligibility{NewCustomersOnly: true, AllowSelfReferral: false, MinPurchaseAmount: ptr(int64(1999))},
		Commission:       tiered,
		RuleVersions: []domain.RuleVersion{
			{Version: 1, EffectiveFrom: created.Add(-24 * time.Hour), Rule: flat},
			{Version: 2, EffectiveFrom: created, Rule: tiered},
		},
		HoldDays: 14, CreatedAt: created, UpdatedAt: created.Add(time.Minute), Revision: 0,
	}
}

func (fx *fixture) mustProgram(t *testing.T, orgID string) domain.Program {
	t.Helper()
	p := fx.newProgram(orgID)
	must(t, fx.s.CreateProgram(fx.ctx, p), "CreateProgram")
	return p
}

func (fx *fixture) newReferrer(orgID, programID, local string) domain.Referrer {
	return domain.Referrer{
		ID: fx.id("rfr"), OrgID: orgID, ProgramID: programID, Email: fx.email(local),
		Name: "Referrer " + local, PartnerID: "prt_" + local, Code: domain.GenerateCode(), CreatedAt: fx.tick(),
	}
}

func (fx *fixture) mustReferrer(t *testing.T, orgID, programID, local string) domain.Referrer {
	t.Helper()
	r := fx.newReferrer(orgID, programID, local)
	must(t, fx.s.CreateReferrer(fx.ctx, r), "CreateReferrer")
	return r
}

// newReferral returns a pending referral of r's program.
func (fx *fixture) newReferral(r domain.Referrer, local, externalID string) domain.Referral {
	return domain.Referral{
		ID: fx.id("rfl"), OrgID: r.OrgID, ProgramID: r.ProgramID, ReferrerID: r.ID, PartnerID: r.PartnerID,
		Email: fx.email(local), Name: "Referred " + local, ExternalID: externalID,
		Status: domain.ReferralPending, CreatedAt: fx.tick(),
	}
}

func (fx *fixture) mustReferral(t *testing.T, r domain.Referrer, local, externalID string) domain.Referral {
	t.Helper()
	ref := fx.newReferral(r, local, externalID)
	must(t, fx.s.CreateReferral(fx.ctx, ref), "CreateReferral")
	return ref
}

// newConversion returns a purchase conversion of ref.
func (fx *fixture) newConversion(ref domain.Referral, externalID string) domain.Conversion {
	occurred := fx.tick()
	return domain.Conversion{
		ID: fx.id("cnv"), OrgID: ref.OrgID, ReferralID: ref.ID, ProgramID: ref.ProgramID,
		ReferrerID: ref.ReferrerID, PartnerID: ref.PartnerID, Event: domain.EventPurchase,
		Amount: &domain.Money{Amount: 12345, Currency: "EUR"}, ExternalID: externalID,
		OccurredAt: occurred.Add(-10 * time.Minute), RefundedAmount: domain.Money{Amount: 0, Currency: "EUR"},
		CreatedAt: occurred,
	}
}

func (fx *fixture) mustConversion(t *testing.T, ref domain.Referral, externalID string) domain.Conversion {
	t.Helper()
	c := fx.newConversion(ref, externalID)
	must(t, fx.s.RecordConversion(fx.ctx, c, nil), "RecordConversion")
	return c
}

// --- assertions --------------------------------------------------------------

func must(t *testing.T, err error, what string) {
	t.Helper()
	if err != nil {
		t.Fatalf("%s: unexpected error: %v", what, err)
	}
}

// wantErr fails the test unless errors.Is(err, target).
func wantErr(t *testing.T, err, target error, what string) {
	t.Helper()
	if !errors.Is(err, target) {
		t.Errorf("%s: got error %v, want %v", what, err, target)
	}
}

// wantNotFound checks that get reports store.ErrNotFound.
func wantNotFound[T any](t *testing.T, what string, got T, err error) {
	t.Helper()
	if !errors.Is(err, store.ErrNotFound) {
		t.Errorf("%s: got (%+v, %v), want store.ErrNotFound", what, got, err)
	}
}

// checkEqual reports every field in which got differs from want.
func checkEqual[T any](t *testing.T, what string, got, want T) bool {
	t.Helper()
	if d := diff(want, got); len(d) > 0 {
		t.Errorf("%s differs from what was stored:\n\t%s", what, strings.Join(d, "\n\t"))
		return false
	}
	return true
}

// checkGet calls a getter and compares its record with want.
func checkGet[T any](t *testing.T, what string, want T, get func() (T, error)) {
	t.Helper()
	got, err := get()
	if err != nil {
		t.Errorf("%s: %v", what, err)
		return
	}
	checkEqual(t, what, got, want)
}

// idOf returns the ID field of a record.
func idOf(rec any) string {
	v := reflect.ValueOf(rec)
	for v.Kind() == reflect.Pointer {
		v = v.Elem()
	}
	return v.FieldByName("ID").String()
}

func idsOf[T any](recs []T) []string {
	out := make([]string, len(recs))
	for i, r := range recs {
		out[i] = idOf(r)
	}
	return out
}

// newestFirst returns the IDs of records given in creation order, newest first.
func newestFirst[T any](created ...T) []string {
	ids := idsOf(created)
	slices.Reverse(ids)
	return ids
}

func checkIDs(t *testing.T, what string, got, want []string) {
	t.Helper()
	if !slices.Equal(got, want) {
		t.Errorf("%s: got IDs\n\t%v\nwant (newest first)\n\t%v", what, got, want)
	}
}

// listAll pages through a list limit records at a time, checking the page
// contract on the way: no page is larger than the limit, every page but the
// last is full, and the last one says so with an empty NextCursor.
func listAll[T any](t *testing.T, what string, limit int, list func(store.Page) ([]T, string, error)) []T {
	t.Helper()
	var all []T
	cursor := ""
	for pageNo := 1; ; pageNo++ {
		items, next, err := list(store.Page{Limit: limit, Cursor: cursor})
		if err != nil {
			t.Fatalf("%s: page %d (limit %d, cursor %q): %v", what, pageNo, limit, cursor, err)
		}
		if limit > 0 && len(items) > limit {
			t.Fatalf("%s: page %d has %d records, more than the limit %d", what, pageNo, len(items), limit)
		}
		all = append(all, items...)
		if next == "" {
			return all
		}
		if len(items) < limit || limit <= 0 {
			t.Fatalf("%s: page %d has %d records (limit %d) and yet a next cursor %q: only the last page may be short",
				what, pageNo, len(items), limit, next)
		}
		if next == cursor {
			t.Fatalf("%s: page %d returned its own cursor %q again", what, pageNo, next)
		}
		if pageNo > 200 {
			t.Fatalf("%s: more than 200 pages; the cursor does not advance", what)
		}
		cursor = next
	}
}

// checkList pages through a list with the given limit and checks that it
// holds exactly want's records, in that order (newest first), field by field.
func checkList[T any](t *testing.T, what string, limit int, want []T, list func(store.Page) ([]T, string, error)) {
	t.Helper()
	got := listAll(t, what, limit, list)
	if !slices.Equal(idsOf(got), idsOf(want)) {
		checkIDs(t, what, idsOf(got), idsOf(want))
		return
	}
	checkEqual(t, what, got, want)
}

// reversed returns a reversed copy of recs (creation order to newest first).
func reversed[T any](recs []T) []T {
	out := slices.Clone(recs)
	slices.Reverse(out)
	return out
}

// race runs f(i) for i in 0..n-1 in n goroutines released at once and
// returns their errors.
func race(n int, f func(i int) error) []error {
	errs := make([]error, n)
	var wg sync.WaitGroup
	start := make(chan struct{})
	for i := range n {
		wg.Add(1)
		go func() {
			defer wg.Done()
			<-start
			errs[i] = f(i)
		}()
	}
	close(start)
	wg.Wait()
	return errs
}

// warmUp reads concurrently from the store before a race, so that an
// adapter with a connection pool has its connections open: opening one is
// slow enough to serialise the racers and hide a check-then-act bug.
func (fx *fixture) warmUp(t *testing.T, orgID string) {
	t.Helper()
	for range 2 {
		for i, err := range race(concurrency, func(int) error { _, err := fx.s.GetOrganization(fx.ctx, orgID); return err }) {
			if err != nil {
				t.Fatalf("GetOrganization(warm-up %d): %v", i, err)
			}
		}
	}
}

// exactlyOneWinner checks that one call succeeded and every other one failed
// with store.ErrConflict, and returns the winner's index.
func exactlyOneWinner(t *testing.T, what string, errs []error) int {
	t.Helper()
	winner := -1
	for i, err := range errs {
		switch {
		case err == nil && winner >= 0:
			t.Errorf("%s: calls %d and %d both succeeded; exactly one may", what, winner, i)
		case err == nil:
			winner = i
		case !errors.Is(err, store.ErrConflict):
			t.Errorf("%s: call %d failed with %v, want store.ErrConflict", what, i, err)
		}
	}
	if winner < 0 {
		t.Fatalf("%s: no call succeeded; exactly one should", what)
	}
	return winner
}

// concurrency is how many goroutines race for one unique value, and
// raceRounds how many times a race is run: a lost update shows only when
// racers really overlap, which one round on a small machine may not achieve.
const (
	concurrency = 16
	raceRounds  = 10
)
