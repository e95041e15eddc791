#!/bin/sh
# test_dspam_migrate.sh - a DSPAM site moves to edgespam, end to end, on
# a private MariaDB (tests/sh/lib_mariadb.sh; root only, else SKIP):
#   1. a DSPAM-shaped database: DSPAM's MyISAM schema
#      (tests/data/dspam-mysql-speed.sql) with token rows made by the
#      DSPAM-identical tokenizer (tokdump -t osb) from two messages;
#   2. db check names the MyISAM tables, the missing column and, with
#      edgespam's default tokenizer, warns that the tokens are osb's;
#   3. db upgrade --engine=innodb converts every table with progress,
#      keeping every row;
#   4. import-dspam on a sample dspam.conf and opt-in tree
#      (tests/data/dspam): the printed configuration lines go into
#      edgespam.conf, --apply writes uid 0's defaults and the opt rows;
#   5. db check is clean, and classification with the imported settings
#      gives the verdicts DSPAM's tokens give (Spam, Innocent), the
#      opt-in tree decides who is filtered, uid 0's DSPAM values apply.
set -u
. tests/sh/lib.sh
. tests/sh/lib_mariadb.sh

B=${BUILD:-build}
ES=$B/edgespam
TOKDUMP=$B/tools/tokdump
for p in "$ES" "$TOKDUMP"; do
	[ -x "$p" ] || skip "SKIP: $p not built"
done
mdb_require

T=$(mktemp -d "${TMPDIR:-/tmp}/edgespam-migrate.XXXXXX")
cleanup() {
	[ -d "$T/mdb" ] && mdb_stop "$T/mdb"
	rm -rf "$T"
}
trap cleanup EXIT
trap 'exit 1' INT TERM
mkdir -p "$T/mdb"
mdb_start "$T/mdb" || fail "the private MariaDB server did not start"
q() { mdb_sql "$T/mdb" "$1"; }
engines() { q "SELECT GROUP_CONCAT(DISTINCT engine) FROM information_schema.tables WHERE table_schema = 'dspam' AND table_name LIKE 'dspam%'"; }

cat > "$T/es.conf" <<EOC
user = ""
retrain_socket = ""
store_busy_timeout_ms = 5000
EOC
mdb_store_conf "$T/es.conf"
es() { "$ES" -c "$T/es.conf" "$@"; }

# two messages with what mail usually carries (MIME headers, common
# words), so that db check's tokenizer probe has something to find
msg() { # msg KIND N
	printf 'From: %s\nTo: alice@example.org\nSubject: %s\nMIME-Version: 1.0\n' \
		"$([ "$1" = spam ] && echo "promo$2@cheap-pills.biz" || echo "carol$2@example.net")" \
		"$([ "$1" = spam ] && echo "CHEAP viagra pills discount" || echo "Re: your message")"
	printf 'Content-Type: text/plain; charset=us-ascii\nContent-Transfer-Encoding: 7bit\n\n'
	if [ "$1" = spam ]; then
		printf 'Click here to get the free offer, and we will send it to you at no cost.\n'
		printf 'Buy cheap viagra and cialis pills now! Huge discount casino bonus.\n'
		printf 'To unsubscribe from this list please click on the link below.\n'
	else
		printf 'Hello, thank you for your message. If you have any questions, please let me know.\n'
		printf 'I think that we should have a look at this and let you know what we can do.\n'
		printf 'The quarterly planning meeting moved to Thursday. Best regards, Carol\n'
	fi
}
msg spam 1 > "$T/spam.eml"
msg ham 1 > "$T/ham.eml"
msg spam 2 > "$T/spam2.eml"
msg ham 2 > "$T/ham2.eml"

# 1. DSPAM's database: MyISAM tables, osb token rows (DSPAM's CHAR ids)
q "$(cat tests/data/dspam-mysql-speed.sql)" || fail "1. loading DSPAM's schema"
q "INSERT INTO dspam_virtual_uids (username) VALUES ('alice@example.org')" || fail "1. user"
auid=$(q "SELECT uid FROM dspam_virtual_uids WHERE username = 'alice@example.org'")
for m in spam ham; do
	"$TOKDUMP" -t osb "$T/$m.eml" | awk '{ print $1 }' | sort -u > "$T/$m.ids"
done
{
	sort -u "$T/spam.ids" "$T/ham.ids" | while read -r id; do
		s=0; h=0
		grep -qx "$id" "$T/spam.ids" && s=40
		grep -qx "$id" "$T/ham.ids" && h=40
		echo "INSERT INTO dspam_token_data VALUES ($auid, '$id', $s, $h, CURDATE() - INTERVAL 2 DAY);"
	done
	echo "INSERT INTO dspam_stats VALUES ($auid, 100, 100, 0, 0, 0, 0, 0, 0);"
} > "$T/rows.sql"
q "$(cat "$T/rows.sql")" || fail "1. token rows"
rows0=$(q "SELECT COUNT(*), SUM(spam_hits), SUM(innocent_hits) FROM dspam_token_data")
[ "$(engines)" = MyISAM ] || fail "1. the DSPAM tables are not MyISAM: $(engines)"

# 2. db check: engines, the missing column
out=$(es db check 2>&1); expect_rc 1 $? "2. db check of DSPAM's database"
out_has '^db check: engine dspam_token_data MyISAM$' "2. engine not reported"
out_has 'tables are not InnoDB' "2. MyISAM not called out"
out_has 'column dspam_token_data.weight' "2. the weight column"

# 3. db upgrade --engine=innodb: progress per table, rows kept
out=$(es db upgrade --engine=innodb 2>&1) || fail "3. db upgrade --engine=innodb: $out"
out_has '^db upgrade: converting dspam_token_data MyISAM, [0-9]* rows$' "3. no progress line before"
out_has '^db upgrade: converted dspam_token_data in [0-9.]* s$' "3. no progress line after"
out_has '^db upgrade: [0-9]* tables converted to InnoDB$' "3. summary"
[ "$(engines)" = InnoDB ] || fail "3. tables left: $(engines)"
[ "$(q "SELECT COUNT(*), SUM(spam_hits), SUM(innocent_hits) FROM dspam_token_data")" = "$rows0" ] ||
	fail "3. the token rows changed"
# the tokens are osb's; edgespam's default tokenizer would miss them all
out=$(es db check 2>&1); expect_rc 1 $? "2b. db check with tokenizer = edgespam on osb tokens"
out_has "warning: the stored tokens look like osb's, but tokenizer = edgespam" "2b. no tokenizer warning"
out=$(es --user alice@example.org --classify < "$T/spam2.eml") || fail "2b. classify"
out_has 'result="Innocent"' "2b. before the import the default tokenizer should miss DSPAM's tokens"

# 4. import-dspam: the printed lines into edgespam.conf, --apply the rest
sed "s|@HOME@|$PWD/tests/data/dspam/home|" tests/data/dspam/dspam.conf > "$T/dspam.conf"
es import-dspam --conf "$T/dspam.conf" --apply > "$T/import.out" 2>&1 || fail "4. import-dspam: $(cat "$T/import.out")"
grep -q '^# applied: 4 default preferences and 5 user preferences' "$T/import.out" || fail "4. apply: $(cat "$T/import.out")"
# the site's own database connection stays; the classifier settings come over
sed -n 's/^\([a-z_]* = [^#]*[^ #]\) *#.*/\1/p' "$T/import.out" |
	grep -v '^\(store_driver\|mysql_[a-z]*\|trusted_users\) ' > "$T/imported.conf"
grep -qx 'tokenizer = osb' "$T/imported.conf" || fail "4. no tokenizer line: $(cat "$T/import.out")"
cat "$T/imported.conf" >> "$T/es.conf"
es --check-config >/dev/null || fail "4. the imported lines are no valid configuration: $(cat "$T/imported.conf")"

# 5. clean check; DSPAM's verdicts; the opt-in tree; uid 0's values
out=$(es db check 2>&1) || fail "5. db check after the migration: $out"
out_has "tokenizer: the configured osb matches" "5. tokenizer check"
out_has "schema is complete" "5. schema"
out=$(es --user alice@example.org --classify < "$T/spam2.eml") || fail "5. classify spam"
out_has 'result="Spam"' "5. DSPAM's tokens: spam"
out=$(es --user alice@example.org --classify < "$T/ham2.eml") || fail "5. classify ham"
out_has 'result="Innocent"' "5. DSPAM's tokens: ham"
out=$(es user alice@example.org show)
out_has '^filtered: yes' "5. alice's opt-in file"
out_has '^trainingMode *= teft *default (uid 0)$' "5. uid 0's TEFT"
out_has "^spamAction *= quarantine .*acts as tag" "5. uid 0's quarantine"
out=$(es user dave@example.org show)
out_has '^filtered: no' "5. dave's opt-out file"
out=$(es user nobody@example.org show)
out_has '^filtered: no (default_policy opt-in' "5. Opt in: a user without an opt-in file"
# a TEFT learn adds to DSPAM's rows in place
before=$(q "SELECT SUM(spam_hits) FROM dspam_token_data WHERE uid = $auid")
es --user alice@example.org --stdout --deliver=innocent,spam < "$T/spam2.eml" > /dev/null || fail "5. learn"
after=$(q "SELECT SUM(spam_hits) FROM dspam_token_data WHERE uid = $auid")
[ "$after" -gt "$before" ] || fail "5. TEFT learned nothing: $before -> $after"
pass
