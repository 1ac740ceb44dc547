package dynamo

import (
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"hash/fnv"
	"time"
	"unicode/utf8"
)

// The table's key and special attributes (template.yaml).
const (
	attrPK     = "PK"
	attrSK     = "SK"
	attrGSI1PK = "GSI1PK"
	attrGSI1SK = "GSI1SK"
	attrGSI2PK = "GSI2PK"
	attrGSI2SK = "GSI2SK"
	attrTTL    = "ttl"
	attrType   = "type"

	indexGSI1 = "GSI1"
	indexGSI2 = "GSI2"
)

// Item types (the "type" attribute). The records' names match
// store.Change.Entity, so the stream router can use them as they are.
const (
	typeOrganization = "organization"
	typeUser         = "user"
	typeSession      = "session"
	typeAPIKey       = "apikey"
	typeProgram      = "program"
	typeReferrer     = "referrer"
	typeClick        = "click"
	typeReferral     = "referral"
	typeConversion   = "conversion"
	typePartner      = "partner"
	typePartnerTier  = "partner_tier"
	typeDeal         = "deal"

	typeUserEmail      = "user_email_guard"     // EMAIL#<email>: the address's user
	typeAPIKeyLookup   = "apikey_lookup"        // APIKEY#<hash>: a copy of the (immutable) key
	typeSessionRef     = "session_ref"          // a user's session, in the organization's partition
	typeCode           = "code_guard"           // CODE#<key>: the code's referrer
	typeReferrerEmail  = "referrer_email_guard" // an address's referrer per program
	typeReferralEmail  = "referral_email_guard" // an address's referral per program
	typeReferralExtID  = "referral_external_id_guard"
	typeConversionExtI = "conversion_external_id_guard"
	typeVisit          = "visit"               // a visitor's last counted click through a code
	typeClickSource    = "click_source"        // an address's counted clicks through a code in a window
	typeDaySalt        = "day_salt"            // the random salt of a day's visitor hashes
	typePartnerEmail   = "partner_email_guard" // an address's partner in the organization
	typeDealDomain     = "deal_domain_ref"     // a deal on a customer domain (DealsByDomain)
	typeDealClaim      = "deal_claim_guard"    // an open partner deal's claim on its domain

	// The commission ledger (ledger.go).
	typeCommission      = "commission"
	typeCommissionID    = "commission_id_guard" // an entry's id: where its record is
	typeCommissionAudit = "commission_audit"    // one status change of an entry
	typePeriodCounter   = "period_counter"      // a running total of a tiered rule
	typePeriodSlot      = "period_slot"         // one conversion's place in a running total
	typeRunningTotal    = "running_total"       // a running total of a period, in the organization's partition

	typeClickCount = "click_count" // one shard of a referrer's click counter
	typeLayout     = "layout"      // the table's key-layout version

	// The Stripe integration (stripe.go).
	typeStripeSecret = "stripe_secret" // an organization's sealed webhook signing secret
	typeStripeLink   = "stripe_link"   // a Stripe object ID's referral or conversion

	typeLogo = "logo" // an organization's logo image (logos.go)
)

// Sort-key prefixes of the records in an organization's partition. None is
// a prefix of another, so begins_with selects one kind of record.
const (
	skOrg        = "ORG"
	skUser       = "USER#"
	skSessionRef = "USERSESSION#"
	skAPIKey     = "APIKEY#"
	skProgram    = "PROGRAM#"
	skReferrer   = "REFERRER#"
	skClick      = "CLICK#"
	skReferral   = "REFERRAL#"
	skConversion = "CONVERSION#"
	skPartner    = "PARTNER#"
	skTier       = "TIER#"
	skDeal       = "DEAL#"
	skCommission = "COMMISSION#"
	skRunning    = "RUNNING#" // RUNNING#<periodKey>#<counterKey>: the period's running totals
)

// maxKeyPart is the longest free-form value (email, externalId, code) put
// into a key as it is; longer values, and values that are not UTF-8, go in
// as their SHA-256. DynamoDB allows 2048 bytes of partition key and 1024 of
// sort key.
const maxKeyPart = 256

// keyPart makes a caller-supplied value safe to put into a key. Such a value
// always comes last in its key, so a '#' in it cannot be confused with the
// key's own separators.
func keyPart(v string) string {
	if len(v) <= maxKeyPart && utf8.ValidString(v) {
		return v
	}
	sum := sha256.Sum256([]byte(v))
	return "sha256:" + hex.EncodeToString(sum[:])
}

// orgPK is the partition of an organization's records.
func orgPK(orgID string) string { return "ORG#" + orgID }

// key returns a primary key.
func key(pk, sk string) item { return item{attrPK: str(pk), attrSK: str(sk)} }

// Primary keys of the records (all in their organization's partition).
func orgKey(orgID string) item          { return key(orgPK(orgID), skOrg) }
func userKey(orgID, id string) item     { return key(orgPK(orgID), skUser+id) }
func apiKeyKey(orgID, id string) item   { return key(orgPK(orgID), skAPIKey+id) }
func programKey(orgID, id string) item  { return key(orgPK(orgID), skProgram+id) }
func referrerKey(orgID, id string) item { return key(orgPK(orgID), skReferrer+id) }
func partnerKey(orgID, id string) item  { return key(orgPK(orgID), skPartner+id) }
func tierKey(orgID, id string) item     { return key(orgPK(orgID), skTier+id) }
func sessionRefKey(orgID, userID, hash string) item {
	return key(orgPK(orgID), sessionRefPrefix(userID)+keyPart(hash))
}
func sessionRefPrefix(userID string) string { return skSessionRef + userID + "#" }

// orgsPK is the GSI1 partition listing every organization: the
// organization's record carries GSI1PK = ORGS, GSI1SK = ORG#<id>, so one
// Query lists them newest first (ids are ULIDs).
const orgsPK = "ORGS"

func orgListKeys(orgID string) item {
	return item{attrGSI1PK: str(orgsPK), attrGSI1SK: str(orgListSK(orgID))}
}
func orgListSK(orgID string) string { return skOrg + "#" + orgID }

// Keys of the installation-wide items: looked up without an organization.
func sessionKey(hash string) item      { return key("SESSION#"+keyPart(hash), "SESSION") }
func userEmailKey(email string) item   { return key("EMAIL#"+keyPart(email), "EMAIL") }
func apiKeyLookupKey(hash string) item { return key("APIKEY#"+keyPart(hash), "APIKEY") }
func codeKey(codeKey string) item      { return key("CODE#"+keyPart(codeKey), "CODE") }

// visitKey is a visitor's last counted click through a code. The guard's
// whole natural key (visitor, code) is its partition key, so a viral
// link's visits spread over as many partitions as it has visitors.
func visitKey(codeKey, visitor string) item {
	return key("VISIT#"+keyPart(visitor)+"#"+keyPart(codeKey), "VISIT")
}

// clickSourceKey is the counter of an address's counted clicks through a
// code in the fixed window that starts at start (a partition per address,
// window and code, like visitKey).
func clickSourceKey(codeKey, source string, start time.Time) item {
	return key("SOURCE#"+start.UTC().Format("20060102T150405")+"#"+keyPart(source)+"#"+keyPart(codeKey), "SOURCE")
}

// daySaltKey is the salt of the UTC day that starts at day.
func daySaltKey(day time.Time) item {
	d := day.UTC().Format(time.DateOnly)
	return key("SALT#"+d, "SALT")
}

// Keys of the organization's guard items.
func referrerEmailKey(orgID, programID, email string) item {
	return key("ORG#"+orgID+"#REFERRER_EMAIL#"+keyPart(email), skProgram+programID)
}

// referralEmailPK is the partition of an address's referral guards, one per
// program: ReferralsByEmail queries it.
func referralEmailPK(orgID, email string) string {
	return "ORG#" + orgID + "#REFERRAL_EMAIL#" + keyPart(email)
}
func referralEmailKey(orgID, programID, email string) item {
	return key(referralEmailPK(orgID, email), skProgram+programID)
}
func referralExtKey(orgID, externalID string) item {
	return key("ORG#"+orgID+"#REFERRAL_EXT#"+keyPart(externalID), "REFERRAL_EXT")
}
func conversionExtKey(orgID, externalID string) item {
	return key("ORG#"+orgID+"#CONVERSION_EXT#"+keyPart(externalID), "CONVERSION_EXT")
}

// partnerEmailKey is the guard making a (normalized) address unique among
// the organization's partners.
func partnerEmailKey(orgID, email string) item {
	return key("ORG#"+orgID+"#PARTNER_EMAIL#"+keyPart(email), "PARTNER_EMAIL")
}

// Partitions of the secondary indexes.
func byProgram(orgID, programID string) string   { return "ORG#" + orgID + "#PROGRAM#" + programID }
func byReferral(orgID, referralID string) string { return "ORG#" + orgID + "#REFERRAL#" + referralID }
func byTier(orgID, tierID string) string         { return "ORG#" + orgID + "#TIER#" + tierID }

// --- write sharding ------------------------------------------------------------------
//
// DynamoDB serves at most 1,000 write units per second per partition key,
// and appending at the end of one key's sort order is never split for heat.
// The records written at the rate of traffic (clicks, referrals,
// conversions, ledger entries), their index entries and a referrer's click
// counter are therefore spread over a fixed number of write shards: the
// shard is a hash of the record's id, so a record's key is computed from
// its id alone (Get needs no lookup), and a list queries every shard in
// parallel and merges them by sort key (page.go). The sort keys are those
// of an unsharded partition (CLICK#<id>, ...), so merged lists keep their
// order and cursors. scale_test.go replays the target burst (one
// organization at 10,000 clicks/s and 1,000 conversions/s, one link at
// 5,000 clicks/s) through these functions and checks every partition key
// stays under 1,000 write units per second.
//
// Changing a shard count moves records: it is a migration (LayoutVersion).
//
// The counts are sized for one organization at 10,000 clicks/s and 1,000
// conversions/s, and one link at 5,000 clicks/s, at about two thirds of a
// partition's writes; every list pays one Query per shard (at least half a
// read unit each), so no kind has more shards than it needs.
const (
	// An organization's clicks: 10,000/s at 2 units (a transaction).
	clickShards = 32
	// A referrer's click counter: a link's 5,000 clicks/s at 2 units.
	clickCountShards = 16
	// A link's clicks in GSI2: 5,000/s at 1 unit.
	referrerClickShards = 8
	// An organization's referrals: 1,000/s created and 1,000/s converted,
	// at 2 units each.
	referralShards = 8
	// An organization's conversions: 1,000/s at 2 units.
	conversionShards = 4
	// An organization's ledger entries: 1,000/s created at 2 units, and
	// their approvals.
	commissionShards = 8
	// Index partitions of a program's referrals and conversions, a
	// referrer's referrals and a partner's ledger entries: at most 2,000
	// index writes a second (a referral created and converted).
	indexShards = 4
)

// shardSet is a sharded partition: base#00 to base#<n-1>.
type shardSet struct {
	base string
	n    int
}

// pk is the shard of the record with id.
func (s shardSet) pk(id string) string { return shardPK(s.base, shardOf(id, s.n)) }

// pks are every shard: what a list fans out over.
func (s shardSet) pks() []string { return shardPKs(s.base, s.n) }

// LayoutVersion is the version of the key layout, kept in the table's
// layout item (layoutKey): 1 had every record of an organization in
// ORG#<org> (never deployed), 2 shards the hot partitions. A future layout
// reads it to know what to migrate.
const LayoutVersion = 2

func layoutKey() item { return key("TABLE", "LAYOUT") }

// shardOf is the write shard (0 to n-1) of a record: FNV-1a of its id.
func shardOf(id string, n int) int {
	h := fnv.New32a()
	h.Write([]byte(id))
	return int(h.Sum32() % uint32(n))
}

// shardPK is partition base's shard i.
func shardPK(base string, i int) string { return fmt.Sprintf("%s#%02d", base, i) }

// shardPKs are every shard of partition base: what a list fans out over.
func shardPKs(base string, n int) []string {
	pks := make([]string, n)
	for i := range pks {
		pks[i] = shardPK(base, i)
	}
	return pks
}

// Sharded partitions of the table: an organization's clicks, referrals,
// conversions and ledger entries. Each kind has partitions of its own, so
// a partition holds one kind and a list needs no sort-key prefix to select it.
func orgClicks(orgID string) shardSet { return shardSet{"ORG#" + orgID + "#CLICKS", clickShards} }
func orgReferrals(orgID string) shardSet {
	return shardSet{"ORG#" + orgID + "#REFERRALS", referralShards}
}
func orgConversions(orgID string) shardSet {
	return shardSet{"ORG#" + orgID + "#CONVERSIONS", conversionShards}
}
func orgCommissions(orgID string) shardSet {
	return shardSet{"ORG#" + orgID + "#COMMISSIONS", commissionShards}
}

// The primary keys of the sharded records.
func clickKey(orgID, id string) item      { return key(orgClicks(orgID).pk(id), skClick+id) }
func referralKey(orgID, id string) item   { return key(orgReferrals(orgID).pk(id), skReferral+id) }
func conversionKey(orgID, id string) item { return key(orgConversions(orgID).pk(id), skConversion+id) }

// Sharded partitions of the indexes: a referrer's clicks and referrals
// (GSI2), a program's referrals and conversions (GSI1). A program's
// referrers stay in byProgram (written once per referrer).
func referrerClicks(orgID, referrerID string) shardSet {
	return shardSet{"ORG#" + orgID + "#REFERRER#" + referrerID + "#CLICKS", referrerClickShards}
}
func referrerReferrals(orgID, referrerID string) shardSet {
	return shardSet{"ORG#" + orgID + "#REFERRER#" + referrerID + "#REFERRALS", indexShards}
}
func programReferrals(orgID, programID string) shardSet {
	return shardSet{byProgram(orgID, programID) + "#REFERRALS", indexShards}
}
func programConversions(orgID, programID string) shardSet {
	return shardSet{byProgram(orgID, programID) + "#CONVERSIONS", indexShards}
}

// The index keys of the sharded records.
func clickIndexKeys(c orgRecord) item {
	return item{attrGSI2PK: str(referrerClicks(c.org, c.referrer).pk(c.id)), attrGSI2SK: str(skClick + c.id)}
}
func referralIndexKeys(r orgRecord) item {
	return item{
		attrGSI1PK: str(programReferrals(r.org, r.program).pk(r.id)), attrGSI1SK: str(skReferral + r.id),
		attrGSI2PK: str(referrerReferrals(r.org, r.referrer).pk(r.id)), attrGSI2SK: str(skReferral + r.id),
	}
}
func conversionIndexKeys(c orgRecord, referralID string) item {
	return item{
		attrGSI1PK: str(programConversions(c.org, c.program).pk(c.id)), attrGSI1SK: str(skConversion + c.id),
		attrGSI2PK: str(byReferral(c.org, referralID)), attrGSI2SK: str(skConversion + c.id),
	}
}

// orgRecord names a record and the records it belongs to: what its keys
// are computed from.
type orgRecord struct{ org, program, referrer, id string }

// clickCountKey is shard i of a referrer's click counter. RecordClick adds
// to the shard of the click's id; the count is the sum of the shards and
// of the record's own clicks attribute. CreateReferrer creates every shard,
// so that a click's condition on its shard is a check that the referrer
// exists (without writing to the referrer's item).
func clickCountKey(orgID, referrerID string, i int) item {
	return key(shardPK("ORG#"+orgID+"#REFERRER#"+referrerID+"#CLICK_COUNT", i), "COUNT")
}

// The commission ledger. An entry's record is in the organization's
// partition under COMMISSION#<createdAt>#<id>, so that the partition read
// backwards lists entries newest first; its id guard and its audit trail
// share a partition of their own per entry, and each running total of a
// tiered rule has a partition holding its counter and its slots.

// skTimeLayout is RFC 3339 with nanoseconds at a fixed width, in UTC, so
// that times in sort keys sort as the instants they are.
const skTimeLayout = "2006-01-02T15:04:05.000000000Z"

func skTime(t time.Time) string { return t.UTC().Format(skTimeLayout) }

// Sort keys of the ledger's items in their partitions.
const (
	skCommissionID = "ID"
	skAudit        = "AUDIT#"
	skCounter      = "COUNTER"
	skSlot         = "SLOT#"
)

func commissionSK(createdAt time.Time, id string) string {
	return skCommission + skTime(createdAt) + "#" + keyPart(id)
}
func commissionKey(orgID string, createdAt time.Time, id string) item {
	return key(orgCommissions(orgID).pk(id), commissionSK(createdAt, id))
}

// commissionPK is the partition of one entry's id guard and audit trail.
func commissionPK(orgID, id string) string  { return "ORG#" + orgID + "#COMMISSION#" + keyPart(id) }
func commissionIDKey(orgID, id string) item { return key(commissionPK(orgID, id), skCommissionID) }

// auditKey orders an entry's audit trail by time and, for changes of the
// same instant, by the lifecycle order of the status reached (pending,
// approved, then the final statuses), which no entry ever reaches twice.
func auditKey(orgID, commissionID string, at time.Time, to string) item {
	return key(commissionPK(orgID, commissionID), skAudit+skTime(at)+"#"+auditRank(to)+"#"+keyPart(to))
}

func auditRank(status string) string {
	switch status {
	case "pending":
		return "1"
	case "approved":
		return "2"
	case "paid", "rejected", "reversed":
		return "3"
	}
	return "9"
}

// runningPK is the partition of one running total (CounterKey.String()).
func runningPK(orgID, counterKey string) string {
	return "ORG#" + orgID + "#RUNNING#" + keyPart(counterKey)
}
func counterKey(orgID, k string) item { return key(runningPK(orgID, k), skCounter) }
func slotKey(orgID, k, conversionID string) item {
	return key(runningPK(orgID, k), skSlot+keyPart(conversionID))
}

// runningTotalKey is the item in the organization's partition that lists
// a running total under its period, written with the counter's first slot
// (RunningTotals queries RUNNING#<periodKey>#).
func runningTotalKey(orgID, periodKey, counterKey string) item {
	return key(orgPK(orgID), runningPrefix(periodKey)+keyPart(counterKey))
}
func runningPrefix(periodKey string) string { return skRunning + periodKey + "#" }

// bySource is the GSI2 partition of the entries of one conversion or deal.
func bySource(orgID, sourceID string) string { return "ORG#" + orgID + "#SOURCE#" + sourceID }
