package sqlite

import (
	"context"
	"fmt"
	"time"
)

// migrations is the schema's history, oldest first. Migration i has version
// i+1. Append new migrations; never edit or reorder applied ones.
//
// Each table keeps a record as JSON in data, plus the columns that lookups,
// uniqueness and filters need. Emails in lookup columns are normalized
// (domain.NormalizeEmail) and codes are stored under domain.CodeKey, so the
// unique indexes compare what the domain considers the same value.
var migrations = []string{
	// 1: the initial schema.
	`
CREATE TABLE organizations (
	id         TEXT PRIMARY KEY,
	created_at TEXT NOT NULL,
	data       TEXT NOT NULL
);

CREATE TABLE users (
	id            TEXT PRIMARY KEY,
	org_id        TEXT NOT NULL,
	email         TEXT NOT NULL UNIQUE,
	password_hash TEXT NOT NULL DEFAULT '',
	data          TEXT NOT NULL
);
CREATE INDEX users_org ON users (org_id, id);

CREATE TABLE sessions (
	token_hash TEXT PRIMARY KEY,
	org_id     TEXT NOT NULL,
	user_id    TEXT NOT NULL,
	expires_at TEXT NOT NULL,
	data       TEXT NOT NULL
);
CREATE INDEX sessions_user ON sessions (org_id, user_id);

CREATE TABLE api_keys (
	id     TEXT PRIMARY KEY,
	org_id TEXT NOT NULL,
	hash   TEXT NOT NULL UNIQUE,
	data   TEXT NOT NULL
);
CREATE INDEX api_keys_org ON api_keys (org_id, id);

CREATE TABLE programs (
	id       TEXT PRIMARY KEY,
	org_id   TEXT NOT NULL,
	revision INTEGER NOT NULL,
	data     TEXT NOT NULL
);
CREATE INDEX programs_org ON programs (org_id, id);

CREATE TABLE referrers (
	id         TEXT PRIMARY KEY,
	org_id     TEXT NOT NULL,
	program_id TEXT NOT NULL,
	email      TEXT NOT NULL,
	code_key   TEXT NOT NULL UNIQUE,
	clicks     INTEGER NOT NULL DEFAULT 0,
	data       TEXT NOT NULL
);
CREATE UNIQUE INDEX referrers_program_email ON referrers (org_id, program_id, email);
CREATE INDEX referrers_program ON referrers (org_id, program_id, id);

CREATE TABLE clicks (
	id           TEXT PRIMARY KEY,
	org_id       TEXT NOT NULL,
	referrer_id  TEXT NOT NULL,
	visitor_hash TEXT NOT NULL DEFAULT '',
	at           TEXT NOT NULL,
	data         TEXT NOT NULL
);
CREATE INDEX clicks_referrer ON clicks (org_id, referrer_id, id);

-- The last counted click of a visitor through a code, for deduplication.
CREATE TABLE click_dedupe (
	code_key     TEXT NOT NULL,
	visitor_hash TEXT NOT NULL,
	last_at      TEXT NOT NULL,
	PRIMARY KEY (code_key, visitor_hash)
) WITHOUT ROWID;

CREATE TABLE referrals (
	id           TEXT PRIMARY KEY,
	org_id       TEXT NOT NULL,
	program_id   TEXT NOT NULL,
	referrer_id  TEXT NOT NULL,
	email        TEXT NOT NULL,
	external_id  TEXT NOT NULL DEFAULT '',
	status       TEXT NOT NULL,
	created_at   TEXT NOT NULL,
	converted_at TEXT,
	data         TEXT NOT NULL
);
CREATE UNIQUE INDEX referrals_program_email ON referrals (org_id, program_id, email) WHERE email <> '';
CREATE UNIQUE INDEX referrals_external_id ON referrals (org_id, external_id) WHERE external_id <> '';
CREATE INDEX referrals_org ON referrals (org_id, id);
CREATE INDEX referrals_email ON referrals (org_id, email, id);
CREATE INDEX referrals_program ON referrals (org_id, program_id, id);
CREATE INDEX referrals_referrer ON referrals (org_id, referrer_id, id);

CREATE TABLE conversions (
	id          TEXT PRIMARY KEY,
	org_id      TEXT NOT NULL,
	program_id  TEXT NOT NULL,
	referral_id TEXT NOT NULL,
	external_id TEXT NOT NULL DEFAULT '',
	occurred_at TEXT NOT NULL,
	data        TEXT NOT NULL
);
CREATE UNIQUE INDEX conversions_external_id ON conversions (org_id, external_id) WHERE external_id <> '';
CREATE INDEX conversions_org ON conversions (org_id, id);
CREATE INDEX conversions_program ON conversions (org_id, program_id, id);
CREATE INDEX conversions_referral ON conversions (org_id, referral_id, id);

-- The transactional outbox (store.Outbox): one row per record change,
-- written in the transaction of the change.
CREATE TABLE outbox (
	seq       INTEGER PRIMARY KEY AUTOINCREMENT,
	entity    TEXT NOT NULL,
	op        TEXT NOT NULL CHECK (op IN ('INSERT', 'MODIFY', 'REMOVE')),
	org_id    TEXT NOT NULL,
	id        TEXT NOT NULL,
	old_image TEXT,
	new_image TEXT,
	at        TEXT NOT NULL
);
`,
	// 2: the commission ledger (store.Ledger).
	`
-- Running totals of tiered rules: one counter per (organization, key) and
-- one slot per conversion counted in it.
CREATE TABLE ledger_counters (
	org_id  TEXT NOT NULL,
	key     TEXT NOT NULL,
	count   INTEGER NOT NULL,
	revenue INTEGER NOT NULL,
	PRIMARY KEY (org_id, key)
) WITHOUT ROWID;

CREATE TABLE ledger_slots (
	org_id         TEXT NOT NULL,
	key            TEXT NOT NULL,
	conversion_id  TEXT NOT NULL,
	ordinal        INTEGER NOT NULL,
	revenue_before INTEGER NOT NULL,
	value          INTEGER NOT NULL,
	PRIMARY KEY (org_id, key, conversion_id)
) WITHOUT ROWID;
CREATE UNIQUE INDEX ledger_slots_ordinal ON ledger_slots (org_id, key, ordinal);

-- Ledger entries; source_id is the conversion or deal ('' for adjustments).
CREATE TABLE commissions (
	org_id      TEXT NOT NULL,
	id          TEXT NOT NULL,
	source_id   TEXT NOT NULL,
	program_id  TEXT NOT NULL,
	referrer_id TEXT NOT NULL,
	partner_id  TEXT NOT NULL,
	status      TEXT NOT NULL,
	created_at  TEXT NOT NULL,
	revision    INTEGER NOT NULL,
	data        TEXT NOT NULL,
	PRIMARY KEY (org_id, id)
);
CREATE INDEX commissions_created ON commissions (org_id, created_at, id);
CREATE INDEX commissions_source ON commissions (org_id, source_id, created_at, id) WHERE source_id <> '';
CREATE INDEX commissions_partner ON commissions (org_id, partner_id, created_at, id);
CREATE INDEX commissions_referrer ON commissions (org_id, referrer_id, created_at, id);
CREATE INDEX commissions_program ON commissions (org_id, program_id, created_at, id);

-- The audit trail: appended, never changed. One entry per (entry, time,
-- status reached).
CREATE TABLE commission_audit (
	seq           INTEGER PRIMARY KEY AUTOINCREMENT,
	org_id        TEXT NOT NULL,
	commission_id TEXT NOT NULL,
	at            TEXT NOT NULL,
	to_status     TEXT NOT NULL,
	data          TEXT NOT NULL
);
CREATE UNIQUE INDEX commission_audit_entry ON commission_audit (org_id, commission_id, at, to_status);
`,
	// 3: the embedded message queue and its dead letters (store.Queue).
	`
-- One row per message of a named queue. A row stays after it is done
-- (acknowledged or dead-lettered; body emptied) so that its id is remembered
-- and enqueueing it again is a no-op. In flight = available_at in the future.
CREATE TABLE queue_messages (
	queue         TEXT NOT NULL,
	id            TEXT NOT NULL,
	body          BLOB NOT NULL,
	available_at  TEXT NOT NULL,
	receive_count INTEGER NOT NULL DEFAULT 0,
	last_error    TEXT NOT NULL DEFAULT '',
	done          INTEGER NOT NULL DEFAULT 0,
	done_at       TEXT,
	PRIMARY KEY (queue, id)
);
CREATE INDEX queue_messages_due ON queue_messages (queue, available_at) WHERE done = 0;

CREATE TABLE dead_letters (
	seq           INTEGER PRIMARY KEY AUTOINCREMENT,
	queue         TEXT NOT NULL,
	id            TEXT NOT NULL,
	body          BLOB NOT NULL,
	receive_count INTEGER NOT NULL,
	last_error    TEXT NOT NULL,
	dead_at       TEXT NOT NULL,
	UNIQUE (queue, id)
);
CREATE INDEX dead_letters_queue ON dead_letters (queue, seq);
`,
	// 4: the period of each running total (store.Ledger.RunningTotals), for
	// the period-close job: the key's last '/'-separated part, filled in
	// for the counters that exist.
	`
ALTER TABLE ledger_counters ADD COLUMN period_key TEXT NOT NULL DEFAULT '';
UPDATE ledger_counters SET period_key = substr(key, length(rtrim(key, replace(key, '/', ''))) + 1);
CREATE INDEX ledger_counters_period ON ledger_counters (org_id, period_key, key);
`,
	// 5: partner tiers and partners. A partner's email is unique in its
	// organization; tier_id serves ListPartners' filter.
	`
CREATE TABLE partner_tiers (
	id       TEXT PRIMARY KEY,
	org_id   TEXT NOT NULL,
	revision INTEGER NOT NULL,
	data     TEXT NOT NULL
);
CREATE INDEX partner_tiers_org ON partner_tiers (org_id, id);

CREATE TABLE partners (
	id       TEXT PRIMARY KEY,
	org_id   TEXT NOT NULL,
	email    TEXT NOT NULL,
	tier_id  TEXT NOT NULL,
	revision INTEGER NOT NULL,
	data     TEXT NOT NULL
);
CREATE UNIQUE INDEX partners_org_email ON partners (org_id, email);
CREATE INDEX partners_org ON partners (org_id, id);
CREATE INDEX partners_tier ON partners (org_id, tier_id, id);
`,
	// 6: invitations (store.Invitations), found by the hash of their token,
	// listed per user for the latest one; and the fixed-window counters of
	// rate limits (store.Counters), pruned by expiry.
	`
CREATE TABLE invitations (
	token_hash TEXT PRIMARY KEY,
	id         TEXT NOT NULL UNIQUE,
	org_id     TEXT NOT NULL,
	user_id    TEXT NOT NULL,
	data       TEXT NOT NULL
);
CREATE INDEX invitations_user ON invitations (org_id, user_id, id);

CREATE TABLE counters (
	key        TEXT PRIMARY KEY,
	count      INTEGER NOT NULL,
	expires_at TEXT NOT NULL
);
CREATE INDEX counters_expiry ON counters (expires_at);
`,
	// 7: deals. The partial unique index is the claim of an open partner
	// deal on its customer domain (store.Deals): a partner cannot hold two
	// open deals on one domain, and closing a deal releases the claim.
	`
CREATE TABLE deals (
	id         TEXT PRIMARY KEY,
	org_id     TEXT NOT NULL,
	source     TEXT NOT NULL,
	partner_id TEXT NOT NULL,
	status     TEXT NOT NULL,
	domain     TEXT NOT NULL,
	revision   INTEGER NOT NULL,
	data       TEXT NOT NULL
);
CREATE INDEX deals_org ON deals (org_id, id);
CREATE INDEX deals_partner ON deals (org_id, partner_id, id);
CREATE INDEX deals_domain ON deals (org_id, domain, id);
CREATE UNIQUE INDEX deals_open_claim ON deals (org_id, partner_id, domain)
	WHERE source = 'partner' AND status IN ('registered', 'conflict', 'approved');
`,
	// 8: referrers by partner (store.PartnerReferrers). An index on the
	// record's own partnerId, so CreateReferrer needs no new column.
	`
CREATE INDEX referrers_partner ON referrers (org_id, json_extract(data, '$.partnerId'), id);
`,
	// 9: failure throttles of sign-in and invitation acceptance
	// (store.Throttles), pruned by expiry.
	`
CREATE TABLE throttles (
	key        TEXT PRIMARY KEY,
	failures   INTEGER NOT NULL,
	not_before TEXT NOT NULL,
	expires_at TEXT NOT NULL
);
CREATE INDEX throttles_expiry ON throttles (expires_at);
`,
	// 10: click abuse limits. click_sources counts the counted clicks of an
	// address (its salted hash) through a code in the current fixed window
	// (store.ClickLimits.PerSource); day_salts holds the random daily salts
	// of visitor hashes (store.Store.DaySalt), deleted once expired.
	`
CREATE TABLE click_sources (
	code_key     TEXT NOT NULL,
	source_hash  TEXT NOT NULL,
	window_start TEXT NOT NULL,
	n            INTEGER NOT NULL,
	PRIMARY KEY (code_key, source_hash)
) WITHOUT ROWID;

CREATE TABLE day_salts (
	day        TEXT PRIMARY KEY,
	salt       BLOB NOT NULL,
	expires_at TEXT NOT NULL
);
`,
	// 11: analytics rollups (store.Analytics). One row per cell; the CHECKs
	// make an addition that overflows (SQLite turns it into a REAL) fail
	// instead of wrapping. analytics_orgs holds each organization's zone
	// and the outbox position its last rebuild recounted through;
	// analytics_feed the rollup's cursor in the outbox. Clicks get their
	// referrer's partner, ledger entries the time they belong to.
	`
CREATE TABLE analytics_cells (
	org_id     TEXT NOT NULL,
	level      TEXT NOT NULL,
	grain      TEXT NOT NULL,
	dim_id     TEXT NOT NULL,
	start      TEXT NOT NULL,
	currency   TEXT NOT NULL,
	program_id TEXT NOT NULL DEFAULT '',
	partner_id TEXT NOT NULL DEFAULT '',
	clicks               INTEGER NOT NULL DEFAULT 0 CHECK (typeof(clicks) = 'integer'),
	referrals            INTEGER NOT NULL DEFAULT 0 CHECK (typeof(referrals) = 'integer'),
	converted_referrals  INTEGER NOT NULL DEFAULT 0 CHECK (typeof(converted_referrals) = 'integer'),
	conversions          INTEGER NOT NULL DEFAULT 0 CHECK (typeof(conversions) = 'integer'),
	partner_conversions  INTEGER NOT NULL DEFAULT 0 CHECK (typeof(partner_conversions) = 'integer'),
	deals_registered     INTEGER NOT NULL DEFAULT 0 CHECK (typeof(deals_registered) = 'integer'),
	deals_won            INTEGER NOT NULL DEFAULT 0 CHECK (typeof(deals_won) = 'integer'),
	revenue              INTEGER NOT NULL DEFAULT 0 CHECK (typeof(revenue) = 'integer'),
	partner_revenue      INTEGER NOT NULL DEFAULT 0 CHECK (typeof(partner_revenue) = 'integer'),
	commission           INTEGER NOT NULL DEFAULT 0 CHECK (typeof(commission) = 'integer'),
	accrued_pending      INTEGER NOT NULL DEFAULT 0 CHECK (typeof(accrued_pending) = 'integer'),
	accrued_approved     INTEGER NOT NULL DEFAULT 0 CHECK (typeof(accrued_approved) = 'integer'),
	accrued_paid         INTEGER NOT NULL DEFAULT 0 CHECK (typeof(accrued_paid) = 'integer'),
	accrued_reversed     INTEGER NOT NULL DEFAULT 0 CHECK (typeof(accrued_reversed) = 'integer'),
	deal_value           INTEGER NOT NULL DEFAULT 0 CHECK (typeof(deal_value) = 'integer'),
	PRIMARY KEY (org_id, level, grain, dim_id, start, currency)
) WITHOUT ROWID;
-- Every dimension value's cells of a period (top referrers), covering the
-- figures a top list sums so that it reads the index alone.
CREATE INDEX analytics_cells_top ON analytics_cells
	(org_id, level, grain, start, dim_id, currency, program_id, partner_id, clicks, referrals, conversions, revenue, commission);
-- A heal recounts the records of recent days by the time they count at.
CREATE INDEX clicks_at ON clicks (org_id, at);
CREATE INDEX referrals_created ON referrals (org_id, created_at);
CREATE INDEX conversions_occurred ON conversions (org_id, occurred_at);
CREATE TABLE analytics_orgs (
	org_id          TEXT PRIMARY KEY,
	time_zone       TEXT NOT NULL,
	rebuilt_through INTEGER NOT NULL,
	version         INTEGER NOT NULL DEFAULT 0
);
CREATE TABLE analytics_feed (
	id     INTEGER PRIMARY KEY CHECK (id = 1),
	cursor INTEGER NOT NULL,
	as_of  TEXT NOT NULL
);
ALTER TABLE organizations ADD COLUMN revision INTEGER NOT NULL DEFAULT 0;
UPDATE clicks SET data = json_set(data, '$.partnerId',
	COALESCE((SELECT json_extract(r.data, '$.partnerId') FROM referrers r WHERE r.id = clicks.referrer_id), ''))
	WHERE json_extract(data, '$.partnerId') IS NULL;
UPDATE commissions SET data = json_set(data, '$.occurredAt',
	(SELECT json_extract(c.data, '$.occurredAt') FROM conversions c
	 WHERE c.org_id = commissions.org_id AND c.id = json_extract(commissions.data, '$.conversionId')))
	WHERE json_extract(data, '$.occurredAt') IS NULL AND json_extract(data, '$.conversionId') <> ''
	  AND EXISTS (SELECT 1 FROM conversions c WHERE c.org_id = commissions.org_id AND c.id = json_extract(commissions.data, '$.conversionId'));
UPDATE commissions SET data = json_set(data, '$.occurredAt',
	(SELECT json_extract(d.data, '$.closedAt') FROM deals d
	 WHERE d.org_id = commissions.org_id AND d.id = json_extract(commissions.data, '$.dealId')))
	WHERE json_extract(data, '$.occurredAt') IS NULL AND json_extract(data, '$.dealId') <> ''
	  AND EXISTS (SELECT 1 FROM deals d WHERE d.org_id = commissions.org_id AND d.id = json_extract(commissions.data, '$.dealId')
	              AND json_extract(d.data, '$.closedAt') IS NOT NULL);
`,
	// The Stripe integration: each organization's sealed webhook secret,
	// and links from Stripe object IDs to referrals and conversions.
	`
CREATE TABLE stripe_secrets (
	org_id     TEXT PRIMARY KEY,
	sealed     BLOB NOT NULL,
	updated_at TEXT NOT NULL
);
CREATE TABLE stripe_links (
	org_id TEXT NOT NULL,
	key    TEXT NOT NULL,
	target TEXT NOT NULL,
	PRIMARY KEY (org_id, key)
);
`,
	// payout runs and partners' payout details (store.PayoutRuns). At most
	// one unsettled (open or paying) run per organization: the partial
	// unique index is what makes two runs never hold the same commission.
	`
CREATE TABLE payout_runs (
	id       TEXT PRIMARY KEY,
	org_id   TEXT NOT NULL,
	revision INTEGER NOT NULL,
	status   TEXT NOT NULL,
	data     TEXT NOT NULL
);
CREATE INDEX payout_runs_org ON payout_runs (org_id, id);
CREATE UNIQUE INDEX payout_runs_unsettled ON payout_runs (org_id) WHERE status IN ('open', 'paying');

CREATE TABLE payout_details (
	org_id     TEXT NOT NULL,
	partner_id TEXT NOT NULL,
	data       TEXT NOT NULL,
	PRIMARY KEY (org_id, partner_id)
) WITHOUT ROWID;
`,
	// webhooks: outbound webhook endpoints and their deliveries (store.Webhooks).
	// Not in the outbox: they are not records events are about.
	`
CREATE TABLE webhook_endpoints (
	id       TEXT PRIMARY KEY,
	org_id   TEXT NOT NULL,
	revision INTEGER NOT NULL,
	data     TEXT NOT NULL
);
CREATE INDEX webhook_endpoints_org ON webhook_endpoints (org_id, id);

CREATE TABLE webhook_deliveries (
	org_id          TEXT NOT NULL,
	endpoint_id     TEXT NOT NULL,
	id              TEXT NOT NULL,
	subject         TEXT NOT NULL,
	order_key       TEXT NOT NULL,
	status          TEXT NOT NULL,
	next_attempt_at TEXT,
	revision        INTEGER NOT NULL,
	data            TEXT NOT NULL,
	PRIMARY KEY (org_id, endpoint_id, id)
);
CREATE INDEX webhook_deliveries_due ON webhook_deliveries (next_attempt_at) WHERE status = 'pending';
CREATE INDEX webhook_deliveries_subject ON webhook_deliveries (org_id, endpoint_id, subject, order_key) WHERE status = 'pending';
`,
	// search of the staff lists (store.Match): the index of each referral's
	// and referrer's domain.SearchWords, written with the record; a prefix
	// of a word is a range of the primary key. Date ranges: the date
	// indexes also hold the id, so a range's page is chosen and sorted by
	// id from the index alone (listMatching); referrers' by their JSON
	// createdAt. search_backfill asks Open to index the records stored
	// before (backfillSearchWords: the words are domain.SearchWords', in Go).
	`
CREATE TABLE search_words (
	org_id TEXT NOT NULL,
	kind   TEXT NOT NULL,
	word   TEXT NOT NULL,
	id     TEXT NOT NULL,
	PRIMARY KEY (org_id, kind, word, id)
) WITHOUT ROWID;
DROP INDEX referrals_created;
CREATE INDEX referrals_created ON referrals (org_id, created_at, id);
DROP INDEX conversions_occurred;
CREATE INDEX conversions_occurred ON conversions (org_id, occurred_at, id);
CREATE INDEX referrers_created ON referrers (org_id, json_extract(data, '$.createdAt'), id);
CREATE TABLE search_backfill (kind TEXT PRIMARY KEY);
INSERT INTO search_backfill (kind) VALUES ('referral'), ('referrer');
`,
	// Organizations' logos (store.Logos): one image per organization.
	`
CREATE TABLE logos (
	org_id       TEXT PRIMARY KEY,
	data         BLOB NOT NULL,
	content_type TEXT NOT NULL,
	version      TEXT NOT NULL,
	updated_at   TEXT NOT NULL
);
`,
	// Click limits in one table (clicklimits.go): a row per counted click
	// of a visitor through a code in a fixed window, clustered by the
	// address it came from, so a counted click changes one leaf page where
	// click_dedupe and click_sources changed two at random places; rows of
	// past windows are pruned (they only matter for one window). The
	// migrated visitors have no address (source ''), which every lookup
	// reads too; an address's count in its window becomes as many
	// placeholder rows.
	`
CREATE TABLE click_limits (
	code_key     TEXT NOT NULL,
	source_hash  TEXT NOT NULL,
	window_start TEXT NOT NULL,
	visitor_hash TEXT NOT NULL,
	last_at      TEXT NOT NULL,
	PRIMARY KEY (code_key, source_hash, window_start, visitor_hash)
) WITHOUT ROWID;
INSERT INTO click_limits (code_key, source_hash, window_start, visitor_hash, last_at)
	SELECT code_key, '', substr(last_at, 1, 13) || ':00:00.000000000Z', visitor_hash, last_at FROM click_dedupe;
WITH RECURSIVE k(i) AS (SELECT 1 UNION ALL SELECT i + 1 FROM k WHERE i < (SELECT coalesce(max(n), 0) FROM click_sources))
INSERT INTO click_limits (code_key, source_hash, window_start, visitor_hash, last_at)
	SELECT s.code_key, s.source_hash, s.window_start, 'migrated-' || k.i, s.window_start FROM click_sources s JOIN k ON k.i <= s.n;
DROP TABLE click_dedupe;
DROP TABLE click_sources;
`,
	// click_limits appended to, not keyed (clicklimits.go): the rows are
	// decided from memory, so the table only has to be read back in order
	// (at open, and the rows another process appended), and a group of
	// counted clicks writes its last page instead of a random leaf per
	// click. The rows are copied in time order.
	`
CREATE TABLE click_limits_log (
	seq          INTEGER PRIMARY KEY AUTOINCREMENT,
	code_key     TEXT NOT NULL,
	source_hash  TEXT NOT NULL,
	window_start TEXT NOT NULL,
	visitor_hash TEXT NOT NULL,
	last_at      TEXT NOT NULL
);
INSERT INTO click_limits_log (code_key, source_hash, window_start, visitor_hash, last_at)
	SELECT code_key, source_hash, window_start, visitor_hash, last_at FROM click_limits ORDER BY last_at;
DROP TABLE click_limits;
ALTER TABLE click_limits_log RENAME TO click_limits;
`,
	// Clicks leave the outbox (analytics.go): the rollup counts them from
	// the clicks table by rowid, behind its own cursor, and each
	// organization's rebuild marks the last click rowid it recounted.
	// Clicks written before this migration keep their outbox rows, which
	// the outbox cursor still folds: the click cursor starts past them.
	// A rowid table hands out rowids above the largest, so they grow in
	// commit order as long as no click is deleted: none ever is, and the
	// trigger keeps it so.
	`
CREATE TABLE analytics_click_feed (
	id     INTEGER PRIMARY KEY CHECK (id = 1),
	cursor INTEGER NOT NULL
);
INSERT INTO analytics_click_feed (id, cursor) SELECT 1, COALESCE(MAX(rowid), 0) FROM clicks;
ALTER TABLE analytics_orgs ADD COLUMN clicks_rebuilt_through INTEGER NOT NULL DEFAULT 0;
CREATE TRIGGER clicks_never_deleted BEFORE DELETE ON clicks
BEGIN
	SELECT RAISE(ABORT, 'clicks are never deleted: the analytics rollup reads them by rowid');
END;
`,
	// Conversions keyed (org_id, id), as every query names them: the
	// primary key's index is the (org_id, id) index, one B-tree fewer
	// written per conversion (id alone was the key, with a second index
	// on (org_id, id)). Still a rowid table: as a WITHOUT ROWID table its
	// rows (the JSON) would be the key B-tree's entries, whose splits
	// cost more pages than the two indexes saved (BenchmarkConversionFrames;
	// docs/performance.md, "Conversions, fifth pass"). Rows are copied in
	// rowid order with their IDs and data; the other indexes are made
	// again.
	`
CREATE TABLE conversions_keyed (
	id          TEXT NOT NULL,
	org_id      TEXT NOT NULL,
	program_id  TEXT NOT NULL,
	referral_id TEXT NOT NULL,
	external_id TEXT NOT NULL DEFAULT '',
	occurred_at TEXT NOT NULL,
	data        TEXT NOT NULL,
	PRIMARY KEY (org_id, id)
);
INSERT INTO conversions_keyed (id, org_id, program_id, referral_id, external_id, occurred_at, data)
	SELECT id, org_id, program_id, referral_id, external_id, occurred_at, data FROM conversions ORDER BY rowid;
DROP TABLE conversions;
ALTER TABLE conversions_keyed RENAME TO conversions;
CREATE UNIQUE INDEX conversions_external_id ON conversions (org_id, external_id) WHERE external_id <> '';
CREATE INDEX conversions_program ON conversions (org_id, program_id, id);
CREATE INDEX conversions_referral ON conversions (org_id, referral_id, id);
CREATE INDEX conversions_occurred ON conversions (org_id, occurred_at, id);
`,
}

// migrate applies the migrations the file lacks, each in its own write
// transaction together with its row in schema_migrations. Reading the
// applied versions inside the (BEGIN IMMEDIATE) transaction makes two
// processes opening the same file at once apply each migration only once.
func (s *Store) migrate(ctx context.Context) error {
	if _, err := s.w.DB.ExecContext(ctx, `CREATE TABLE IF NOT EXISTS schema_migrations (
	version    INTEGER PRIMARY KEY,
	applied_at TEXT NOT NULL
)`); err != nil {
		return fmt.Errorf("sqlite: create schema_migrations: %w", err)
	}
	for i, m := range migrations {
		version := i + 1
		err := s.write(ctx, func(tx *wtx) error {
			var n int
			if err := tx.QueryRowContext(ctx, `SELECT COUNT(*) FROM schema_migrations WHERE version = ?`, version).Scan(&n); err != nil {
				return err
			}
			if n > 0 {
				return nil
			}
			// A migration runs once and holds several statements: not
			// prepared and kept like the queries.
			if _, err := tx.Tx.ExecContext(ctx, m); err != nil {
				return err
			}
			_, err := tx.ExecContext(ctx, `INSERT INTO schema_migrations (version, applied_at) VALUES (?, ?)`,
				version, formatTime(time.Now()))
			return err
		})
		if err != nil {
			return fmt.Errorf("sqlite: migration %d: %w", version, err)
		}
	}
	return nil
}
