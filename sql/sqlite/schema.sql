-- edgespam SQLite schema: DSPAM's table and column names in one database
-- for all users (DSPAM's own SQLite driver kept one file per user).
-- Token ids are stored as INTEGER: the 64 bits of the unsigned id read as
-- a signed integer. last_hit is an ISO date (YYYY-MM-DD), as DATE in MySQL.
-- Applied with CREATE ... IF NOT EXISTS at every open: safe to re-run.
-- Small pages: token ids are random, so a message's few hundred tokens
-- land on as many different leaf pages, and a commit writes each whole
-- page to the WAL. With 1 KiB pages instead of 4 KiB a message writes a
-- quarter of the bytes (measured: about 150 KiB instead of 500 KiB).
-- Takes effect when the database is created; an existing one keeps its
-- page size.
PRAGMA page_size = 1024;
PRAGMA journal_mode = WAL;

CREATE TABLE IF NOT EXISTS dspam_virtual_uids (
  uid INTEGER PRIMARY KEY AUTOINCREMENT,
  username TEXT NOT NULL UNIQUE
);

CREATE TABLE IF NOT EXISTS dspam_token_data (
  uid INTEGER NOT NULL,
  token INTEGER NOT NULL,
  spam_hits INTEGER NOT NULL DEFAULT 0,
  innocent_hits INTEGER NOT NULL DEFAULT 0,
  last_hit TEXT NOT NULL,
  -- edgespam's learned weight (hybrid method); DSPAM's own inserts name
  -- their columns, so this extra column with a default stays compatible.
  weight REAL NOT NULL DEFAULT 0,
  PRIMARY KEY (uid, token)
) WITHOUT ROWID;
-- purge selects by age; without this index every purge scans the table.
CREATE INDEX IF NOT EXISTS dspam_token_data_last_hit
  ON dspam_token_data (last_hit);

CREATE TABLE IF NOT EXISTS dspam_signature_data (
  uid INTEGER NOT NULL,
  signature TEXT NOT NULL,
  data BLOB NOT NULL,
  length INTEGER NOT NULL,
  created_on TEXT NOT NULL,
  PRIMARY KEY (uid, signature)
);
CREATE INDEX IF NOT EXISTS dspam_signature_data_created_on
  ON dspam_signature_data (created_on);

CREATE TABLE IF NOT EXISTS dspam_stats (
  uid INTEGER PRIMARY KEY,
  spam_learned INTEGER NOT NULL DEFAULT 0,
  innocent_learned INTEGER NOT NULL DEFAULT 0,
  spam_misclassified INTEGER NOT NULL DEFAULT 0,
  innocent_misclassified INTEGER NOT NULL DEFAULT 0,
  spam_corpusfed INTEGER NOT NULL DEFAULT 0,
  innocent_corpusfed INTEGER NOT NULL DEFAULT 0,
  spam_classified INTEGER NOT NULL DEFAULT 0,
  innocent_classified INTEGER NOT NULL DEFAULT 0
);

CREATE TABLE IF NOT EXISTS dspam_preferences (
  uid INTEGER NOT NULL,
  preference TEXT NOT NULL,
  value TEXT NOT NULL,
  PRIMARY KEY (uid, preference)
);

-- edgespam's own: the per-domain filtering policy (off, opt-in, opt-out, on).
CREATE TABLE IF NOT EXISTS edgespam_domain_policy (
  domain TEXT PRIMARY KEY,
  policy TEXT NOT NULL
);

-- edgespam's own: per-user sender allow and block lists. pattern is
-- user@example.com, @example.com or *.example.com (lowercase); kind is
-- 'allow' or 'block'; a pattern is on one list at a time.
CREATE TABLE IF NOT EXISTS edgespam_sender_list (
  uid INTEGER NOT NULL,
  pattern TEXT NOT NULL,
  kind TEXT NOT NULL,
  created_on TEXT NOT NULL,
  PRIMARY KEY (uid, pattern)
);

-- edgespam's own: spam source tracking. One row per SMTP client address
-- and per network (/24, /64) that sent mail to a filtered user: verdicts,
-- corrections, the run of Spam verdicts since the last innocent one (for
-- greylisting), and times in seconds since the epoch (UTC).
CREATE TABLE IF NOT EXISTS edgespam_sources (
  source TEXT PRIMARY KEY,
  spam INTEGER NOT NULL DEFAULT 0,
  innocent INTEGER NOT NULL DEFAULT 0,
  spam_corrections INTEGER NOT NULL DEFAULT 0,
  innocent_corrections INTEGER NOT NULL DEFAULT 0,
  spam_streak INTEGER NOT NULL DEFAULT 0,
  first_seen INTEGER NOT NULL,
  last_seen INTEGER NOT NULL,
  last_spam INTEGER NOT NULL DEFAULT 0
);
CREATE INDEX IF NOT EXISTS edgespam_sources_last_seen
  ON edgespam_sources (last_seen);

-- edgespam's own: the history of filtered messages, one row per message
-- and filtered user, for the user's own view (edgespam history, the web
-- view). Texts are printable UTF-8, at most 200 characters; verdict is
-- 'spam', 'innocent' or 'whitelisted'; action 'tagged', 'rejected' or
-- 'tempfailed'; correction '' (none), 'spam' or 'innocent'; created and
-- corrected are seconds since the epoch (UTC). Purged after history_days.
CREATE TABLE IF NOT EXISTS edgespam_history (
  id INTEGER PRIMARY KEY AUTOINCREMENT,
  uid INTEGER NOT NULL,
  created INTEGER NOT NULL,
  queue_id TEXT NOT NULL DEFAULT '',
  client TEXT NOT NULL DEFAULT '',
  sender TEXT NOT NULL DEFAULT '',
  from_hdr TEXT NOT NULL DEFAULT '',
  subject TEXT NOT NULL DEFAULT '',
  verdict TEXT NOT NULL,
  probability REAL NOT NULL,
  signature TEXT NOT NULL DEFAULT '',
  action TEXT NOT NULL,
  correction TEXT NOT NULL DEFAULT '',
  corrected INTEGER NOT NULL DEFAULT 0
);
-- a user's rows newest first; the purge by age; corrections by signature
CREATE INDEX IF NOT EXISTS edgespam_history_uid_created
  ON edgespam_history (uid, created);
CREATE INDEX IF NOT EXISTS edgespam_history_created
  ON edgespam_history (created);
CREATE INDEX IF NOT EXISTS edgespam_history_signature
  ON edgespam_history (uid, signature);

-- edgespam's own: per user and UTC day (days since the epoch), the
-- messages filtered by verdict and the corrections of them (missed
-- spam, false positives) counted on the day of the message corrected.
-- They outlive the history rows; purged after purge_daily_days.
CREATE TABLE IF NOT EXISTS edgespam_daily (
  uid INTEGER NOT NULL,
  day INTEGER NOT NULL,
  spam INTEGER NOT NULL DEFAULT 0,
  innocent INTEGER NOT NULL DEFAULT 0,
  whitelisted INTEGER NOT NULL DEFAULT 0,
  missed_spam INTEGER NOT NULL DEFAULT 0,
  false_positives INTEGER NOT NULL DEFAULT 0,
  PRIMARY KEY (uid, day)
);
-- the purge by age
CREATE INDEX IF NOT EXISTS edgespam_daily_day ON edgespam_daily (day);
