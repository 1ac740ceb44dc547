package dynamo

import (
	"cmp"
	"encoding/hex"
	"fmt"
	"maps"
	"math"
	"math/rand/v2"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/partnerloop/partnerloop/internal/commission"
	"github.com/partnerloop/partnerloop/internal/domain"
	"github.com/partnerloop/partnerloop/internal/store"
)

// maxUnitsPerKey is what DynamoDB serves per partition key and second, in
// write units (and what appends at the end of a key never exceed, however
// the table splits for heat).
const maxUnitsPerKey = 1000

// TestWriteUnitsPerPartitionKey replays, through the adapter's own write
// builders (exactly the items RecordClick, CreateReferral,
// RecordConversion and ApplyLedgerChange write), two seconds of the
// burst one organization must sustain — 10,000 clicks/s, half of them
// through one link, and 1,000 conversions/s, each with its referral
// created the same second through that link and the partner's commission
// created by the calculator — and sums the write units of every partition
// key of the table and of both indexes per second. No DynamoDB needed.
//
// Units: an item written in a transaction costs 2 units per KB on its
// partition key (a condition check counts as a write, conservatively), and
// 1 unit per KB on the key of each index it is in (every index projects
// ALL, so any change of an indexed item writes to its index).
func TestWriteUnitsPerPartitionKey(t *testing.T) {
	const (
		seconds         = 2
		clicksPerSec    = 10_000
		viralPerSec     = 5_000
		conversionsRate = 1_000
		links           = 100
	)
	s := &Store{table: "sim"}
	rng := rand.New(rand.NewPCG(1, 2))
	hexOf := func(n int) string {
		b := make([]byte, n)
		for i := range b {
			b[i] = byte(rng.UintN(256))
		}
		return hex.EncodeToString(b)
	}
	t0 := time.Date(2026, 3, 1, 12, 0, 0, 0, time.UTC)
	now := t0
	ids := domain.NewULIDs(func() time.Time { return now })
	org, prg, partner := ids("org"), ids("prg"), ids("prt")
	refs := make([]string, links) // refs[0] is the viral link
	for i := range refs {
		refs[i] = ids("rfr")
	}
	code := func(i int) string { return fmt.Sprintf("LINK%03d", i) }

	sim := newUnitCounter()
	lim := store.ClickLimits{Window: time.Hour, PerSource: 20}
	for sec := range seconds {
		for i := range clicksPerSec {
			now = t0.Add(time.Duration(sec)*time.Second + time.Duration(i)*time.Second/clicksPerSec)
			link := 0
			if i%(clicksPerSec/viralPerSec) != 0 {
				link = 1 + rng.IntN(links-1)
			}
			c := domain.Click{ID: ids("clk"), OrgID: org, ProgramID: prg, ReferrerID: refs[link], Code: code(link),
				VisitorHash: hexOf(16), RefererHost: "news.example.net", At: now}
			l := lim
			l.PrevVisitorHash, l.SourceHash = hexOf(16), hexOf(16) // the worst case: every click checks a previous salt's visit too
			items, err := s.clickWrites(c, l)
			if err != nil {
				t.Fatal(err)
			}
			sim.transaction(sec, items)
		}
		for i := range conversionsRate {
			now = t0.Add(time.Duration(sec)*time.Second + time.Duration(i)*time.Second/conversionsRate)
			r := domain.Referral{ID: ids("rfl"), OrgID: org, ProgramID: prg, ReferrerID: refs[0],
				Email: "buyer-" + hexOf(6) + "@example.com", Name: "Buyer " + hexOf(4), ExternalID: "crm-" + hexOf(8), Status: domain.ReferralPending, CreatedAt: now}
			items, err := s.referralWrites(r)
			if err != nil {
				t.Fatal(err)
			}
			sim.transaction(sec, items)
			cv := domain.Conversion{ID: ids("cnv"), OrgID: org, ReferralID: r.ID, ProgramID: prg, ReferrerID: refs[0],
				Event: domain.EventPurchase, Amount: &domain.Money{Amount: 5000, Currency: "EUR"}, ExternalID: "order-" + hexOf(8),
				OccurredAt: now, RefundedAmount: domain.Money{Currency: "EUR"}, CreatedAt: now}
			items, _, err = s.conversionWrites(cv, nil)
			if err != nil {
				t.Fatal(err)
			}
			sim.transaction(sec, append(items, s.convertReferral(cv, domain.ReferralPending)))
			com := commission.Commission{ID: ids("com"), OrgID: org, Kind: "conversion", ProgramID: prg, ReferrerID: refs[0],
				PartnerID: partner, ConversionID: cv.ID, Amount: domain.Money{Amount: 500, Currency: "EUR"},
				Status: "pending", AvailableAt: now.AddDate(0, 0, 30), OccurredAt: now, CreatedAt: now, UpdatedAt: now,
				RuleSource: "program", RuleVersion: 1}
			items, err = s.ledgerWrites(store.LedgerChange{OrgID: org, Created: []commission.Commission{com},
				Audit: []commission.AuditEntry{{CommissionID: com.ID, To: "pending", Actor: "system", At: now}}})
			if err != nil {
				t.Fatal(err)
			}
			sim.transaction(sec, items)
		}
	}

	peak, peakKey := sim.peak()
	t.Logf("%d s of %d clicks/s (%d through one link) and %d conversions/s: %.0f write units per second on %d partition keys (%.1f per click or conversion)",
		seconds, clicksPerSec, viralPerSec, conversionsRate, sim.total/seconds, len(sim.keys), sim.total/seconds/float64(clicksPerSec+conversionsRate))
	t.Logf("peak write units per partition key per second, by kind of key:\n%s", sim.report())
	if peak > maxUnitsPerKey {
		t.Errorf("partition key %s takes %.0f write units in one second, over DynamoDB's %d", peakKey, peak, maxUnitsPerKey)
	}
	if len(sim.keys) < 1000 {
		t.Errorf("the burst wrote to %d partition keys: the replay is not counting what it should", len(sim.keys))
	}
}

// unitCounter sums write units per (second, partition key).
type unitCounter struct {
	units map[int]map[string]float64
	keys  map[string]bool
	last  map[string]written // the items written, by PK|SK: what an update changes
	total float64
}

// written is what the counter remembers of an item: its size and the
// index partitions it is in.
type written struct {
	size       int
	gsi1, gsi2 string
}

func newUnitCounter() *unitCounter {
	return &unitCounter{units: map[int]map[string]float64{}, keys: map[string]bool{}, last: map[string]written{}}
}

func (u *unitCounter) add(sec int, key string, units float64) {
	if u.units[sec] == nil {
		u.units[sec] = map[string]float64{}
	}
	u.units[sec][key] += units
	u.keys[key] = true
	u.total += units
}

// kb is the number of 1 KB write units an item of n bytes takes.
func kb(n int) float64 { return math.Ceil(float64(max(n, 1)) / 1024) }

// transaction counts one TransactWriteItems.
func (u *unitCounter) transaction(sec int, items []txItem) {
	for _, ti := range items {
		w := ti.w
		var key item
		var after written // the item as the write leaves it
		switch {
		case w.Put != nil:
			key = w.Put.Item
			after = written{ItemSize(w.Put.Item), getS(w.Put.Item, attrGSI1PK), getS(w.Put.Item, attrGSI2PK)}
		case w.Update != nil:
			// The item before and what the update sets (roughly: its
			// values), counted once: the same attributes set again do not
			// grow the item.
			key = w.Update.Key
			before, ok := u.last[getS(key, attrPK)+"|"+getS(key, attrSK)]
			after = before
			if !ok {
				after.size = ItemSize(key) + ItemSize(w.Update.ExpressionAttributeValues)
			}
			size := kb(before.size + ItemSize(w.Update.ExpressionAttributeValues))
			u.add(sec, "table "+getS(key, attrPK), 2*size)
			u.last[getS(key, attrPK)+"|"+getS(key, attrSK)] = after
			u.index(sec, after, size)
			continue
		case w.ConditionCheck != nil:
			key = w.ConditionCheck.Key
			after.size = ItemSize(key)
		case w.Delete != nil:
			key = w.Delete.Key
			after = u.last[getS(key, attrPK)+"|"+getS(key, attrSK)]
		}
		size := kb(after.size)
		u.add(sec, "table "+getS(key, attrPK), 2*size)
		if w.ConditionCheck != nil {
			continue
		}
		u.last[getS(key, attrPK)+"|"+getS(key, attrSK)] = after
		u.index(sec, after, size)
	}
}

// index counts an item's index entries, size units each.
func (u *unitCounter) index(sec int, it written, size float64) {
	if it.gsi1 != "" {
		u.add(sec, indexGSI1+" "+it.gsi1, size)
	}
	if it.gsi2 != "" {
		u.add(sec, indexGSI2+" "+it.gsi2, size)
	}
}

func (u *unitCounter) peak() (float64, string) {
	var peak float64
	var at string
	for _, keys := range u.units {
		for k, n := range keys {
			if n > peak {
				peak, at = n, k
			}
		}
	}
	return peak, at
}

// keyKind names a partition key without its ids, hashes, values and
// shard: each #-separated part that is an id (prefix_ULID), a hash, a
// value the replay made up or a two-digit shard is replaced by a name.
func keyKind(k string) string {
	parts := strings.Split(k, "#")
	for i, p := range parts {
		prefix, rest, isID := strings.Cut(p, "_")
		switch {
		case isID && len(rest) == 26 && len(prefix) == 3:
			parts[i] = "<" + prefix + ">"
		case len(p) == 32 && strings.Trim(p, "0123456789abcdef") == "":
			parts[i] = "<hash>"
		case len(p) == 15 && p[8] == 'T':
			parts[i] = "<window>"
		case strings.HasPrefix(p, "LINK"):
			parts[i] = "<CODE>"
		case strings.HasPrefix(p, "buyer-"), strings.HasPrefix(p, "crm-"), strings.HasPrefix(p, "order-"):
			parts[i] = "<value>"
		case i == len(parts)-1 && len(p) == 2 && strings.Trim(p, "0123456789") == "":
			parts[i] = "<shard>"
		}
	}
	return strings.Join(parts, "#")
}

// report lists, per kind of key, the peak units of one key in one second
// and how many keys of that kind were written.
func (u *unitCounter) report() string {
	peak := map[string]float64{}
	n := map[string]map[string]bool{}
	kinds := map[string]string{}
	for _, keys := range u.units {
		for k, units := range keys {
			kind, ok := kinds[k]
			if !ok {
				kind = keyKind(k)
				kinds[k] = kind
			}
			peak[kind] = max(peak[kind], units)
			if n[kind] == nil {
				n[kind] = map[string]bool{}
			}
			n[kind][k] = true
		}
	}
	sorted := slices.SortedFunc(maps.Keys(peak), func(a, b string) int { return cmp.Compare(peak[b], peak[a]) })
	var b strings.Builder
	for _, k := range sorted {
		fmt.Fprintf(&b, "  %6.0f  %-70s %7d keys\n", peak[k], k, len(n[k]))
	}
	return b.String()
}
