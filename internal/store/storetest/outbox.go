package storetest

import (
	"bytes"
	"encoding/json"
	"fmt"
	"reflect"
	"strings"
	"testing"

	"github.com/partnerloop/partnerloop/internal/domain"
	"github.com/partnerloop/partnerloop/internal/store"
)

// outboxEntities are the entities whose changes the suite asserts on. Other
// entities an adapter may log (organizations, sessions, keys, clicks) are
// passed over where the suite checks which changes a write appended, but
// count where it checks that a failed write appended nothing at all.
var outboxEntities = map[string]bool{"program": true, "referrer": true, "referral": true, "conversion": true, "user": true,
	"partner": true, "partner_tier": true}

func outboxTests() []test {
	return []test{
		{"ChangesInCommitOrder", testChangesInCommitOrder},
		{"ChangesPages", testChangesPages},
		{"PruneChanges", testPruneChanges},
		{"FailedWritesAppendNothing", testFailedWritesAppendNothing},
		{"PartnerChanges", testPartnerChanges},
	}
}

// changesAfter reads every change with Seq > after, checking that they come
// oldest first with increasing Seq.
func (fx *fixture) changesAfter(t *testing.T, after int64) []store.Change {
	t.Helper()
	var all []store.Change
	for {
		page, err := fx.out.Changes(fx.ctx, after, 100)
		if err != nil {
			t.Fatalf("Changes(after %d, limit 100): %v", after, err)
		}
		if len(page) > 100 {
			t.Fatalf("Changes(after %d, limit 100) returned %d changes", after, len(page))
		}
		if len(page) == 0 {
			return all
		}
		for _, c := range page {
			if c.Seq <= after {
				t.Fatalf("Changes(after %d): change %+v does not have a Seq greater than %d (oldest first, increasing Seq)", after, describe(c), after)
			}
			after = c.Seq
		}
		all = append(all, page...)
	}
}

// lastSeq returns the Seq of the newest change, or 0.
func (fx *fixture) lastSeq(t *testing.T) int64 {
	t.Helper()
	all := fx.changesAfter(t, 0)
	if len(all) == 0 {
		return 0
	}
	return all[len(all)-1].Seq
}

// outboxReader hands out the changes each write appended.
type outboxReader struct {
	fx   *fixture
	last int64
}

// next returns the changes of the tracked entities appended since the last call.
func (r *outboxReader) next(t *testing.T) []store.Change {
	t.Helper()
	all := r.fx.changesAfter(t, r.last)
	var out []store.Change
	for _, c := range all {
		r.last = c.Seq
		if outboxEntities[c.Entity] {
			out = append(out, c)
		}
	}
	return out
}

// wantChange describes an expected change. old and new are the records the
// images must decode to (nil: the image must be absent).
type wantChange struct {
	entity, op, orgID, id string
	old, new              any
}

func describe(c store.Change) string {
	return fmt.Sprintf("{Seq %d %s %s %s/%s}", c.Seq, c.Op, c.Entity, c.OrgID, c.ID)
}

func describeAll(cs []store.Change) string {
	parts := make([]string, len(cs))
	for i, c := range cs {
		parts[i] = describe(c)
	}
	return "[" + strings.Join(parts, " ") + "]"
}

// checkBatch checks that the changes one write appended are exactly want, in
// any order (one write is one transaction; its changes share a commit).
func checkBatch(t *testing.T, what string, got []store.Change, want ...wantChange) {
	t.Helper()
	if len(got) != len(want) {
		t.Errorf("%s appended %d changes %s, want %d", what, len(got), describeAll(got), len(want))
	}
	used := make([]bool, len(got))
	for _, w := range want {
		found := false
		for i, c := range got {
			if !used[i] && c.Entity == w.entity && c.Op == w.op && c.ID == w.id {
				used[i], found = true, true
				checkChange(t, what, c, w)
				break
			}
		}
		if !found {
			t.Errorf("%s: no %s %s %s among the changes appended %s", what, w.op, w.entity, w.id, describeAll(got))
		}
	}
}

func checkChange(t *testing.T, what string, c store.Change, w wantChange) {
	t.Helper()
	what = fmt.Sprintf("%s: change %s", what, describe(c))
	if c.OrgID != w.orgID {
		t.Errorf("%s: OrgID %q, want %q", what, c.OrgID, w.orgID)
	}
	if c.At.IsZero() {
		t.Errorf("%s: At is zero", what)
	}
	checkImage(t, what+" OldImage", c.OldImage, w.old)
	checkImage(t, what+" NewImage", c.NewImage, w.new)
}

// checkImage decodes a JSON image into want's type and compares. Fields
// tagged json:"-" are never in an image, so want must have them zero.
func checkImage(t *testing.T, what string, img []byte, want any) {
	t.Helper()
	absent := len(bytes.TrimSpace(img)) == 0 || string(bytes.TrimSpace(img)) == "null"
	if want == nil {
		if !absent {
			t.Errorf("%s: %s, want no image", what, img)
		}
		return
	}
	if absent {
		t.Errorf("%s is missing", what)
		return
	}
	got := reflect.New(reflect.TypeOf(want))
	if err := json.Unmarshal(img, got.Interface()); err != nil {
		t.Errorf("%s: %v in %s", what, err, img)
		return
	}
	if d := diff(want, got.Elem().Interface()); len(d) > 0 {
		t.Errorf("%s differs from the record:\n\t%s\nimage: %s", what, strings.Join(d, "\n\t"), img)
	}
}

func testChangesInCommitOrder(t *testing.T, fx *fixture) {
	org := fx.mustOrg(t)
	ob := &outboxReader{fx: fx, last: fx.lastSeq(t)}

	u := fx.mustUser(t, org.ID, "ada")
	batch := ob.next(t)
	image := u
	image.PasswordHash = ""
	checkBatch(t, "CreateUser", batch, wantChange{"user", "INSERT", org.ID, u.ID, nil, image})
	for _, c := range batch {
		for _, img := range [][]byte{c.OldImage, c.NewImage} {
			if bytes.Contains(img, []byte(u.PasswordHash)) || bytes.Contains(bytes.ToLower(img), []byte("password")) {
				t.Errorf("user change %s carries the password hash: %s", describe(c), img)
			}
		}
	}

	p := fx.mustProgram(t, org.ID)
	checkBatch(t, "CreateProgram", ob.next(t), wantChange{"program", "INSERT", org.ID, p.ID, nil, p})

	edit := p
	edit.Name, edit.Status, edit.UpdatedAt = "Renamed", domain.ProgramPaused, fx.tick()
	must(t, fx.s.UpdateProgram(fx.ctx, edit), "UpdateProgram")
	stored := edit
	stored.Revision = p.Revision + 1
	checkBatch(t, "UpdateProgram", ob.next(t), wantChange{"program", "MODIFY", org.ID, p.ID, p, stored})

	r := fx.mustReferrer(t, org.ID, p.ID, "jane")
	checkBatch(t, "CreateReferrer", ob.next(t), wantChange{"referrer", "INSERT", org.ID, r.ID, nil, r})

	ref := fx.mustReferral(t, r, "amy", "crm-"+fx.tag)
	checkBatch(t, "CreateReferral", ob.next(t), wantChange{"referral", "INSERT", org.ID, ref.ID, nil, ref})

	c := fx.mustConversion(t, ref, "order-1-"+fx.tag)
	checkBatch(t, "RecordConversion(pending referral)", ob.next(t),
		wantChange{"conversion", "INSERT", org.ID, c.ID, nil, c},
		wantChange{"referral", "MODIFY", org.ID, ref.ID, ref, convertedBy(ref, c)})

	// Expiry is a change of the referral too (the analytics see it).
	old := fx.mustReferral(t, r, "olga", "")
	ob.next(t)
	expired := old
	at := fx.tick()
	expired.Status, expired.UpdatedAt = domain.ReferralExpired, at
	if _, err := fx.s.ExpireReferral(fx.ctx, org.ID, old.ID, at); err != nil {
		t.Fatalf("ExpireReferral: %v", err)
	}
	checkBatch(t, "ExpireReferral", ob.next(t), wantChange{"referral", "MODIFY", org.ID, old.ID, old, expired})

	// A conversion that creates its referral: the referral is inserted, and
	// whether it is inserted converted or inserted pending then modified,
	// the last image of it is the converted referral.
	newRef := fx.newReferral(r, "nina", "")
	c2 := fx.newConversion(newRef, "order-2-"+fx.tag)
	must(t, fx.s.RecordConversion(fx.ctx, c2, &newRef), "RecordConversion(with a new referral)")
	batch = ob.next(t)
	var refChanges, rest []store.Change
	for _, ch := range batch {
		if ch.Entity == "referral" && ch.ID == newRef.ID {
			refChanges = append(refChanges, ch)
		} else {
			rest = append(rest, ch)
		}
	}
	checkBatch(t, "RecordConversion(with a new referral), apart from the referral", rest, wantChange{"conversion", "INSERT", org.ID, c2.ID, nil, c2})
	switch {
	case len(refChanges) == 0 || refChanges[0].Op != "INSERT":
		t.Errorf("RecordConversion(with a new referral): referral changes %s, want an INSERT first", describeAll(refChanges))
	case len(refChanges) > 2 || (len(refChanges) == 2 && refChanges[1].Op != "MODIFY"):
		t.Errorf("RecordConversion(with a new referral): referral changes %s, want INSERT, optionally followed by one MODIFY", describeAll(refChanges))
	default:
		last := refChanges[len(refChanges)-1]
		if last.OrgID != org.ID {
			t.Errorf("RecordConversion(with a new referral): change %s has OrgID %q, want %q", describe(last), last.OrgID, org.ID)
		}
		if last.Op == "MODIFY" {
			checkImage(t, "RecordConversion(with a new referral): MODIFY OldImage", last.OldImage, newRef)
		}
		checkImage(t, "RecordConversion(with a new referral): last referral NewImage", last.NewImage, convertedBy(newRef, c2))
	}
}

func testChangesPages(t *testing.T, fx *fixture) {
	org := fx.mustOrg(t)
	base := fx.lastSeq(t)
	for range 7 {
		fx.mustProgram(t, org.ID)
	}
	all := fx.changesAfter(t, base)
	if len(all) < 7 {
		t.Fatalf("7 CreatePrograms appended %d changes %s, want at least 7", len(all), describeAll(all))
	}
	for _, limit := range []int{1, 2, 3} {
		var paged []store.Change
		after := base
		for range len(all) + 1 {
			page, err := fx.out.Changes(fx.ctx, after, limit)
			must(t, err, fmt.Sprintf("Changes(after %d, limit %d)", after, limit))
			if len(page) > limit {
				t.Fatalf("Changes(after %d, limit %d) returned %d changes", after, limit, len(page))
			}
			if len(page) == 0 {
				break
			}
			paged = append(paged, page...)
			after = page[len(page)-1].Seq
		}
		if d := diff(all, paged); len(d) > 0 {
			t.Errorf("Changes in pages of %d differ from Changes read at once:\n\t%s", limit, strings.Join(d, "\n\t"))
		}
	}
	mid := all[3].Seq
	fromMid := fx.changesAfter(t, mid)
	if d := diff(all[4:], fromMid); len(d) > 0 {
		t.Errorf("Changes(after the 4th change's Seq) differ from the changes after it:\n\t%s", strings.Join(d, "\n\t"))
	}
}

func testPruneChanges(t *testing.T, fx *fixture) {
	org := fx.mustOrg(t)
	for range 6 {
		fx.mustProgram(t, org.ID)
	}
	all := fx.changesAfter(t, 0)
	if len(all) < 6 {
		t.Fatalf("6 CreatePrograms left %d changes, want at least 6", len(all))
	}
	through := all[2].Seq
	must(t, fx.out.PruneChanges(fx.ctx, through), "PruneChanges")
	if d := diff(all[3:], fx.changesAfter(t, 0)); len(d) > 0 {
		t.Errorf("Changes after PruneChanges(%d) differ from the changes with a greater Seq:\n\t%s", through, strings.Join(d, "\n\t"))
	}
	must(t, fx.out.PruneChanges(fx.ctx, through), "PruneChanges(again, same Seq)")

	last := all[len(all)-1].Seq
	must(t, fx.out.PruneChanges(fx.ctx, last), "PruneChanges(everything)")
	if left := fx.changesAfter(t, 0); len(left) != 0 {
		t.Errorf("Changes after pruning everything: %s, want none", describeAll(left))
	}
	// A consumer remembers the last Seq it saw: a change appended after a
	// prune must come after it, even when the log was emptied.
	p := fx.mustProgram(t, org.ID)
	after := fx.changesAfter(t, last)
	found := false
	for _, c := range after {
		found = found || (c.Entity == "program" && c.ID == p.ID)
	}
	if !found {
		t.Errorf("a program created after pruning everything through Seq %d is not among the changes after it %s (Seq reused?) ; all changes: %s",
			last, describeAll(after), describeAll(fx.changesAfter(t, 0)))
	}
}

func testFailedWritesAppendNothing(t *testing.T, fx *fixture) {
	org := fx.mustOrg(t)
	fx.mustUser(t, org.ID, "ada")
	fx.mustAPIKey(t, org.ID, "crm")
	p := fx.mustProgram(t, org.ID)
	r := fx.mustReferrer(t, org.ID, p.ID, "jane")
	ref, pending := fx.mustReferral(t, r, "amy", ""), fx.mustReferral(t, r, "ben", "")
	c := fx.mustConversion(t, ref, "order-"+fx.tag)
	fresh, err := fx.s.GetProgram(fx.ctx, org.ID, p.ID)
	must(t, err, "GetProgram")
	must(t, fx.s.UpdateProgram(fx.ctx, fresh), "UpdateProgram")
	mark := fx.lastSeq(t)

	dupUser := fx.newUser(org.ID, "ada")
	wantErr(t, fx.s.CreateUser(fx.ctx, dupUser), store.ErrConflict, "CreateUser(email taken)")
	dupKey := fx.newAPIKey(org.ID, "crm")
	wantErr(t, fx.s.CreateAPIKey(fx.ctx, dupKey), store.ErrConflict, "CreateAPIKey(hash taken)")
	wantErr(t, fx.s.UpdateProgram(fx.ctx, fresh), store.ErrConflict, "UpdateProgram(stale revision)")
	wantErr(t, fx.s.UpdateProgram(fx.ctx, fx.newProgram(org.ID)), store.ErrNotFound, "UpdateProgram(unknown id)")
	dupCode := fx.newReferrer(org.ID, p.ID, "joan")
	dupCode.Code = strings.ToLower(r.Code)
	wantErr(t, fx.s.CreateReferrer(fx.ctx, dupCode), store.ErrConflict, "CreateReferrer(code taken)")
	wantErr(t, fx.s.CreateReferral(fx.ctx, fx.newReferral(r, "amy", "")), store.ErrConflict, "CreateReferral(email referred)")
	wantErr(t, fx.s.RecordConversion(fx.ctx, fx.newConversion(pending, c.ExternalID), nil), store.ErrConflict,
		"RecordConversion(externalId used, pending referral)")
	newRef := fx.newReferral(r, "cat", "")
	wantErr(t, fx.s.RecordConversion(fx.ctx, fx.newConversion(newRef, c.ExternalID), &newRef), store.ErrConflict,
		"RecordConversion(externalId used, with a new referral)")
	clash := fx.newReferral(r, "amy", "")
	wantErr(t, fx.s.RecordConversion(fx.ctx, fx.newConversion(clash, "order-2-"+fx.tag), &clash), store.ErrConflict,
		"RecordConversion(new referral's email referred)")

	if appended := fx.changesAfter(t, mark); len(appended) != 0 {
		t.Errorf("failed writes appended changes %s, want none", describeAll(appended))
	}
}
