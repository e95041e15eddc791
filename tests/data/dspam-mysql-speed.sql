-- dspam-mysql-speed.sql - an existing DSPAM 3.10 MySQL database, as its
-- mysql_drv creates it with the "speed" objects file plus the virtual
-- users file (tests/sh/test_mariadb.sh loads it, then runs
-- `edgespam db upgrade` on it in place). Written from the facts in
-- DSPAM-COMPAT.md: DSPAM's table, column and index names and types;
-- token is the decimal text of the unsigned 64-bit id in char(20); MyISAM,
-- as DSPAM ships (its files say type=MyISAM, which MariaDB no longer
-- parses; ENGINE= is the same thing).

CREATE TABLE dspam_token_data (
  uid int unsigned NOT NULL,
  token char(20) NOT NULL,
  spam_hits bigint unsigned NOT NULL,
  innocent_hits bigint unsigned NOT NULL,
  last_hit date NOT NULL
) ENGINE=MyISAM;
CREATE UNIQUE INDEX id_token_data_01 ON dspam_token_data (uid, token);
CREATE INDEX spam_hits ON dspam_token_data (spam_hits);
CREATE INDEX innocent_hits ON dspam_token_data (innocent_hits);
CREATE INDEX last_hit ON dspam_token_data (last_hit);

CREATE TABLE dspam_signature_data (
  uid int unsigned NOT NULL,
  signature char(32) NOT NULL,
  data longblob NOT NULL,
  length int unsigned NOT NULL,
  created_on date NOT NULL
) ENGINE=MyISAM;
CREATE UNIQUE INDEX id_signature_data_01 ON dspam_signature_data (uid, signature);
CREATE INDEX id_signature_data_02 ON dspam_signature_data (created_on);

CREATE TABLE dspam_stats (
  uid int unsigned PRIMARY KEY,
  spam_learned bigint unsigned NOT NULL,
  innocent_learned bigint unsigned NOT NULL,
  spam_misclassified bigint unsigned NOT NULL,
  innocent_misclassified bigint unsigned NOT NULL,
  spam_corpusfed bigint unsigned NOT NULL,
  innocent_corpusfed bigint unsigned NOT NULL,
  spam_classified bigint unsigned NOT NULL,
  innocent_classified bigint unsigned NOT NULL
) ENGINE=MyISAM;

CREATE TABLE dspam_preferences (
  uid int unsigned NOT NULL,
  preference varchar(32) NOT NULL,
  value varchar(64) NOT NULL
) ENGINE=MyISAM;
CREATE UNIQUE INDEX id_preferences_01 ON dspam_preferences (uid, preference);

-- virtual_users.sql: names to uids for users without a system account
CREATE TABLE dspam_virtual_uids (
  uid int unsigned NOT NULL AUTO_INCREMENT PRIMARY KEY,
  username varchar(128)
) ENGINE=MyISAM;
CREATE UNIQUE INDEX id_virtual_uids_01 ON dspam_virtual_uids (username);
