-- edgespam MySQL/MariaDB schema: DSPAM 3.10's tables and columns (the
-- 4.1 variant: 64-bit token ids as BIGINT UNSIGNED) on InnoDB, plus
-- edgespam's weight column and its domain policy table.
--
-- `edgespam db init` applies it; the mysql driver also creates a missing
-- table when it opens the database (CREATE TABLE IF NOT EXISTS: safe to
-- re-run; it needs the CREATE privilege only while a table is missing).
-- An existing DSPAM database keeps its tables: `edgespam db check` lists
-- what it lacks and `edgespam db upgrade` adds only that (the weight
-- column, the purge indexes), never touching a row. The driver refuses
-- to open a dspam_token_data without weight until it was upgraded.
--
-- Differences from DSPAM's own objects, all compatible with its queries:
--  - InnoDB (row locks, transactions) instead of MyISAM;
--  - names, ids, keys and values are VARBINARY: edgespam's store compares
--    exact bytes (DSPAM's case-insensitive VARCHAR would make "Alice" and
--    "alice" one user; edgespam lowercases user names anyway);
--  - the indexes the purge rules need (last_hit, created_on), so a purge
--    batch reads an index range instead of the whole table;
--  - dspam_token_data.weight, edgespam's learned correction (DSPAM's own
--    INSERTs name their columns, so the default keeps them working).
-- DSPAM's other layouts are read as they are: the "speed" variant's
-- CHAR(20) token column (decimal ids) is detected at open; DSPAM's MyISAM
-- tables work, but without transactions (a failed message may leave part
-- of its counts) and with table locks: `ALTER TABLE ... ENGINE=InnoDB`
-- converts one (db upgrade does not: it never rebuilds a table for
-- anything but a missing column or index).
-- The driver finds each CREATE TABLE in this file by its first line and
-- runs it up to the ';' that ends a line.

CREATE TABLE IF NOT EXISTS dspam_virtual_uids (
  uid INT UNSIGNED NOT NULL AUTO_INCREMENT,
  username VARBINARY(128) NOT NULL,
  PRIMARY KEY (uid),
  UNIQUE KEY id_virtual_uids_01 (username)
) ENGINE=InnoDB;

CREATE TABLE IF NOT EXISTS dspam_token_data (
  uid INT UNSIGNED NOT NULL,
  token BIGINT UNSIGNED NOT NULL,
  spam_hits BIGINT UNSIGNED NOT NULL DEFAULT 0,
  innocent_hits BIGINT UNSIGNED NOT NULL DEFAULT 0,
  last_hit DATE NOT NULL,
  weight DOUBLE NOT NULL DEFAULT 0,
  PRIMARY KEY (uid, token),
  KEY dspam_token_data_last_hit (last_hit)
) ENGINE=InnoDB;

CREATE TABLE IF NOT EXISTS dspam_signature_data (
  uid INT UNSIGNED NOT NULL,
  signature VARBINARY(32) NOT NULL,
  data LONGBLOB NOT NULL,
  length INT UNSIGNED NOT NULL,
  created_on DATE NOT NULL,
  PRIMARY KEY (uid, signature),
  KEY id_signature_data_02 (created_on)
) ENGINE=InnoDB;

CREATE TABLE IF NOT EXISTS dspam_stats (
  uid INT UNSIGNED NOT NULL,
  spam_learned BIGINT UNSIGNED NOT NULL DEFAULT 0,
  innocent_learned BIGINT UNSIGNED NOT NULL DEFAULT 0,
  spam_misclassified BIGINT UNSIGNED NOT NULL DEFAULT 0,
  innocent_misclassified BIGINT UNSIGNED NOT NULL DEFAULT 0,
  spam_corpusfed BIGINT UNSIGNED NOT NULL DEFAULT 0,
  innocent_corpusfed BIGINT UNSIGNED NOT NULL DEFAULT 0,
  spam_classified BIGINT UNSIGNED NOT NULL DEFAULT 0,
  innocent_classified BIGINT UNSIGNED NOT NULL DEFAULT 0,
  PRIMARY KEY (uid)
) ENGINE=InnoDB;

CREATE TABLE IF NOT EXISTS dspam_preferences (
  uid INT UNSIGNED NOT NULL,
  preference VARBINARY(32) NOT NULL,
  value VARBINARY(64) NOT NULL,
  PRIMARY KEY (uid, preference)
) ENGINE=InnoDB;

-- edgespam's own: the per-domain filtering policy (off, opt-in, opt-out, on).
CREATE TABLE IF NOT EXISTS edgespam_domain_policy (
  domain VARBINARY(255) NOT NULL,
  policy VARBINARY(255) NOT NULL,
  PRIMARY KEY (domain)
) ENGINE=InnoDB;

-- edgespam's own: per-user sender allow and block lists. pattern is
-- user@example.com, @example.com or *.example.com (lowercase); kind is
-- 'allow' or 'block'; a pattern is on one list at a time.
CREATE TABLE IF NOT EXISTS edgespam_sender_list (
  uid INT UNSIGNED NOT NULL,
  pattern VARBINARY(255) NOT NULL,
  kind VARBINARY(5) NOT NULL,
  created_on DATE NOT NULL,
  PRIMARY KEY (uid, pattern)
) ENGINE=InnoDB;

-- edgespam's own: spam source tracking. One row per SMTP client address
-- and per network (/24, /64) that sent mail to a filtered user: verdicts,
-- corrections, the run of Spam verdicts since the last innocent one (for
-- greylisting), and times in seconds since the epoch (UTC).
CREATE TABLE IF NOT EXISTS edgespam_sources (
  source VARBINARY(64) NOT NULL,
  spam BIGINT UNSIGNED NOT NULL DEFAULT 0,
  innocent BIGINT UNSIGNED NOT NULL DEFAULT 0,
  spam_corrections BIGINT UNSIGNED NOT NULL DEFAULT 0,
  innocent_corrections BIGINT UNSIGNED NOT NULL DEFAULT 0,
  spam_streak BIGINT UNSIGNED NOT NULL DEFAULT 0,
  first_seen BIGINT NOT NULL,
  last_seen BIGINT NOT NULL,
  last_spam BIGINT NOT NULL DEFAULT 0,
  PRIMARY KEY (source),
  KEY edgespam_sources_last_seen (last_seen)
) ENGINE=InnoDB;

-- edgespam's own: the history of filtered messages, one row per message
-- and filtered user, for the user's own view (edgespam history, the web
-- view). Texts are printable UTF-8 (at most 200 characters), kept as the
-- bytes given; verdict is 'spam', 'innocent' or 'whitelisted'; action
-- 'tagged', 'rejected' or 'tempfailed'; correction '' (none), 'spam' or
-- 'innocent'; created and corrected are seconds since the epoch (UTC).
-- Indexes: a user's rows newest first; the purge by age (history_days);
-- corrections by signature.
CREATE TABLE IF NOT EXISTS edgespam_history (
  id BIGINT UNSIGNED NOT NULL AUTO_INCREMENT,
  uid INT UNSIGNED NOT NULL,
  created BIGINT NOT NULL,
  queue_id VARBINARY(64) NOT NULL DEFAULT '',
  client VARBINARY(64) NOT NULL DEFAULT '',
  sender VARBINARY(800) NOT NULL DEFAULT '',
  from_hdr VARBINARY(800) NOT NULL DEFAULT '',
  subject VARBINARY(800) NOT NULL DEFAULT '',
  verdict VARBINARY(11) NOT NULL,
  probability DOUBLE NOT NULL,
  signature VARBINARY(32) NOT NULL DEFAULT '',
  action VARBINARY(10) NOT NULL,
  correction VARBINARY(8) NOT NULL DEFAULT '',
  corrected BIGINT NOT NULL DEFAULT 0,
  PRIMARY KEY (id),
  KEY edgespam_history_uid_created (uid, created),
  KEY edgespam_history_created (created),
  KEY edgespam_history_signature (uid, signature)
) ENGINE=InnoDB;

-- edgespam's own: per user and UTC day (days since the epoch), the
-- messages filtered by verdict and the corrections of them (missed
-- spam, false positives) counted on the day of the message corrected.
-- They outlive the history rows; purged (by the day index) after
-- purge_daily_days.
CREATE TABLE IF NOT EXISTS edgespam_daily (
  uid INT UNSIGNED NOT NULL,
  day INT NOT NULL,
  spam BIGINT NOT NULL DEFAULT 0,
  innocent BIGINT NOT NULL DEFAULT 0,
  whitelisted BIGINT NOT NULL DEFAULT 0,
  missed_spam BIGINT NOT NULL DEFAULT 0,
  false_positives BIGINT NOT NULL DEFAULT 0,
  PRIMARY KEY (uid, day),
  KEY edgespam_daily_day (day)
) ENGINE=InnoDB;

-- edgespam's own: named locks that hold across a Galera cluster (MariaDB's
-- GET_LOCK holds on one node only). A lock is free when expires (seconds
-- since the epoch, the server's clock) has passed; holder names who took
-- it ("host pid N (handle K)"), taken when. Taken by an UPDATE in a transaction, so
-- that of two nodes taking it at once one fails Galera's certification;
-- renewed while its holder works. 'purge' is edgespam purge's.
CREATE TABLE IF NOT EXISTS edgespam_lock (
  name VARBINARY(32) NOT NULL,
  holder VARBINARY(255) NOT NULL DEFAULT '',
  taken BIGINT NOT NULL DEFAULT 0,
  expires BIGINT NOT NULL DEFAULT 0,
  PRIMARY KEY (name)
) ENGINE=InnoDB;
