#!/bin/sh
# test_mariadb.sh - the MariaDB store on a private server
# (tests/sh/lib_mariadb.sh), through the real programs:
#   a. the storage contract suite and the daily counts suite against MariaDB;
#   b. edgespam db init / check / upgrade: a dropped index and a dropped
#      column are reported and restored, no row lost;
#   c. an existing DSPAM database (tests/data/dspam-mysql-speed.sql) used
#      in place: db upgrade, then a known message is Spam by DSPAM's
#      token rows, and a TEFT learn adds one spam hit to exactly its rows;
#   d. two milters on the one database under parallel load to the same
#      users: every message learned exactly once (token sums equal a
#      single-process SQLite reference; totals and signatures equal the
#      messages sent), none reached on_error;
#   e. mariadbd killed (-9) under load and restarted: meanwhile mail is
#      tempfailed (on_error = tempfail), none lost; afterwards the milter
#      recovers by itself;
#   f. purge removes exactly the rows DSPAM's rules select; a second
#      purge while one runs is refused with 75;
#   g. the password file's one layout (root, group of the milter's
#      user, 0640): the milter starts as root, drops to its user and
#      re-reads it on SIGHUP; the CLI as root reads it; nobody else can,
#      yet nobody's alias pipe corrects through the retrain socket.
set -u
. tests/sh/lib.sh
. tests/sh/lib_mariadb.sh

B=${BUILD:-build}
MILTER=$B/edgespam-milter
ES=$B/edgespam
MILTC=${MILTC:-$B/tools/miltc}
TOKDUMP=$B/tools/tokdump
CONTRACT=$B/tests/test_store_contract
DAILY=$B/tests/test_store_daily
for p in "$MILTER" "$ES" "$MILTC" "$TOKDUMP" "$CONTRACT" "$DAILY"; do
	[ -x "$p" ] || skip "SKIP: $p not built"
done
mdb_require
command -v sqlite3 >/dev/null 2>&1 || skip "SKIP: sqlite3 is not installed (the reference run reads it)"

T=$(mktemp -d "${TMPDIR:-/tmp}/edgespam-mariadb.XXXXXX")
MPIDS=""
BGPIDS=""
cleanup() {
	for p in $BGPIDS; do kill "$p" 2>/dev/null; done
	for p in $MPIDS; do kill "$p" 2>/dev/null && wait "$p" 2>/dev/null; done
	[ -d "$T/mdb" ] && mdb_stop "$T/mdb"
	rm -rf "$T"
}
trap cleanup EXIT
trap 'exit 1' INT TERM
mkdir -p "$T/mdb" "$T/corpus"
mdb_start "$T/mdb" || fail "the private MariaDB server did not start"

q() { mdb_sql "$T/mdb" "$1"; }
# count TABLE [WHERE] - rows
count() { q "SELECT COUNT(*) FROM $1 ${2:-}"; }
# drop_all - an empty database dspam
drop_all() {
	tabs=$(q "SELECT GROUP_CONCAT(table_name) FROM information_schema.tables WHERE table_schema = 'dspam'")
	[ "$tabs" = NULL ] || q "DROP TABLE $tabs" || fail "dropping the tables of dspam"
}

# write_conf FILE NAME ["key = value"...] - a mysql configuration; NAME
# keeps each milter's socket, pid file and log apart
write_conf() {
	f=$1
	n=$2
	shift 2
	milter_conf "$f" "$T/$n.sock" "store_pool_size = 4" \
		"store_busy_timeout_ms = 5000" "pid_file = $T/$n.pid" \
		"on_error = tempfail" "message_timeout_ms = 5000" \
		"log_level = info"
	mdb_store_conf "$f"
	conf_set "$f" "$@"
}

es() { "$ES" -c "$T/es.conf" "$@"; }

# start_milter NAME - start $T/NAME.conf in the foreground, wait for its
# socket; sets MPID
start_milter() {
	rm -f "$T/$1.sock"
	"$MILTER" -f -c "$T/$1.conf" >> "$T/$1.log" 2>&1 &
	MPID=$!
	MPIDS="$MPIDS $MPID"
	wait_socket "$T/$1.sock" "$MPID" "$T/$1.log" || fail "milter $1 did not start"
}

# stop_milter PID
stop_milter() {
	kill -TERM "$1"
	wait "$1" || fail "milter $1 exited with status $? on SIGTERM"
	MPIDS=$(echo "$MPIDS" | sed "s/ $1\b//")
}

# stat_of FILE KEY - a "key value" line of miltc's benchmark output
stat_of() { awk -v k="$2" '$1 == k { print $2; f = 1 } END { if (!f) print 0 }' "$1"; }

# load_ok FILE N WHAT - miltc sent N messages, each accepted with our headers
load_ok() {
	[ "$(stat_of "$1" errors)" -eq 0 ] || fail "$3: miltc errors: $(cat "$1")"
	[ "$(stat_of "$1" messages)" -eq "$2" ] || fail "$3: $(stat_of "$1" messages) messages sent, want $2"
	[ "$(stat_of "$1" verdict.continue)" -eq "$2" ] ||
		fail "$3: $(stat_of "$1" verdict.continue) of $2 messages accepted (deferred $(stat_of "$1" deferred)): $(cat "$1")"
	[ $(($(stat_of "$1" headers.spam) + $(stat_of "$1" headers.innocent))) -eq "$2" ] ||
		fail "$3: not $2 messages with X-DSPAM-Result: $(cat "$1")"
}

make_corpus "$T/corpus" c 20

#
# a. the storage contract suite on MariaDB. Its fixtures drop and create
# tables, so it runs in a database of its own as a user that may (the
# programs below use the least-privilege user edgespam)
#
cpw=$(od -An -N12 -tx1 /dev/urandom | tr -d ' \n')
(umask 077 && printf '%s' "$cpw" > "$T/contract.password")
q "CREATE DATABASE es_contract; CREATE USER 'es_contract'@'localhost' IDENTIFIED BY '$cpw';
	GRANT ALL ON es_contract.* TO 'es_contract'@'localhost'" || fail "a. creating the contract suite's database"
ES_TEST_MYSQL_SOCKET=$MDB_SOCK ES_TEST_MYSQL_DB=es_contract ES_TEST_MYSQL_USER=es_contract \
	ES_TEST_MYSQL_PASSWORD_FILE=$T/contract.password "$CONTRACT" > "$T/contract.out" 2>&1 ||
	fail "a. store contract suite failed:
$(grep -v '^\[ *\(OK\|RUN\) *\]' "$T/contract.out" | tail -n 40)"
grep -i 'skip.*mysql' "$T/contract.out" && fail "a. the contract suite skipped mysql"
nok=$(grep -c '^\[ *OK *\] mysql: ' "$T/contract.out")
[ "$nok" -ge 10 ] || fail "a. only $nok mysql cases passed in the contract suite: $(tail -n 20 "$T/contract.out")"
ES_TEST_MYSQL_SOCKET=$MDB_SOCK ES_TEST_MYSQL_DB=es_contract ES_TEST_MYSQL_USER=es_contract \
	ES_TEST_MYSQL_PASSWORD_FILE=$T/contract.password "$DAILY" > "$T/daily.out" 2>&1 ||
	fail "a. store daily suite failed: $(tail -n 30 "$T/daily.out")"
grep -i 'skip.*mysql' "$T/daily.out" && fail "a. the daily suite skipped mysql"
q "DROP DATABASE es_contract; DROP USER 'es_contract'@'localhost'"

#
# c. an existing DSPAM database, in place
#
write_conf "$T/es.conf" es "tokenizer = osb" "algorithm = graham" "spam_threshold = 0.9"
q "$(cat tests/data/dspam-mysql-speed.sql)" || fail "c. loading DSPAM's schema"
q "INSERT INTO dspam_virtual_uids (username) VALUES ('olduser@example.org'), ('other@example.org')" ||
	fail "c. inserting DSPAM users"
ouid=$(q "SELECT uid FROM dspam_virtual_uids WHERE username = 'olduser@example.org'")
xuid=$(q "SELECT uid FROM dspam_virtual_uids WHERE username = 'other@example.org'")
spam "dspam" > "$T/old-spam.eml"
ham "dspam" > "$T/old-ham.eml"
# the message's OSB tokens (no sender token: the CLI knows no SMTP
# client, so it makes none)
for m in spam ham; do
	"$TOKDUMP" -t osb "$T/old-$m.eml" | awk '{ print $1 }' | sort -u > "$T/old-$m.ids"
done
[ "$(wc -l < "$T/old-spam.ids")" -gt 20 ] || fail "c. tokdump -t osb gave too few tokens: $(cat "$T/old-spam.ids")"
# DSPAM's rows: the spam message's tokens seen in 60 spams, the ham's in
# 60 innocent messages (a token in both: both counts); other@ has the
# same tokens as innocent, so a uid mix-up shows
{
	sort "$T/old-spam.ids" "$T/old-ham.ids" | uniq | while read -r id; do
		s=0; h=0
		grep -qx "$id" "$T/old-spam.ids" && s=60
		grep -qx "$id" "$T/old-ham.ids" && h=60
		echo "INSERT INTO dspam_token_data VALUES ($ouid, '$id', $s, $h, CURDATE() - INTERVAL 3 DAY);"
		echo "INSERT INTO dspam_token_data VALUES ($xuid, '$id', 0, 90, CURDATE() - INTERVAL 3 DAY);"
	done
	echo "INSERT INTO dspam_stats VALUES ($ouid, 150, 150, 0, 0, 0, 0, 0, 0), ($xuid, 0, 150, 0, 0, 0, 0, 0, 0);"
	echo "INSERT INTO dspam_preferences VALUES (0, 'trainingMode', 'TEFT');"
} > "$T/old-rows.sql"
q "$(cat "$T/old-rows.sql")" || fail "c. inserting DSPAM's token rows"
rows0=$(count dspam_token_data)
out=$(es db upgrade 2>&1) || fail "c. db upgrade of a DSPAM database failed: $out"
[ "$(count dspam_token_data)" -eq "$rows0" ] || fail "c. db upgrade changed the token rows: $(count dspam_token_data), want $rows0"
# DSPAM's tables stay MyISAM until converted: db check says so (exit 1)
out=$(es db check 2>&1) && fail "c. db check calls DSPAM's MyISAM tables fine: $out"
echo "$out" | grep -q '^db check: engine dspam_token_data MyISAM$' || fail "c. db check: no engine line: $out"
out=$(es db upgrade --engine=innodb 2>&1) || fail "c. db upgrade --engine=innodb: $out"
[ "$(count dspam_token_data)" -eq "$rows0" ] || fail "c. --engine=innodb changed the token rows"
out=$(es db check 2>&1) || fail "c. db check after upgrading DSPAM's database: $out"
out=$(es --user olduser@example.org --classify < "$T/old-spam.eml" 2>&1) || fail "c. classify: $out"
echo "$out" | grep -q 'result="Spam"' || fail "c. DSPAM's spam rows did not make the message Spam: $out"
out=$(es --user olduser@example.org --classify < "$T/old-ham.eml" 2>&1) || fail "c. classify ham: $out"
echo "$out" | grep -q 'class="Innocent"' || fail "c. DSPAM's innocent rows did not make the ham Innocent: $out"
# every token row, before and after one TEFT learn of the spam
dump_tokens() { q "SELECT uid, token, spam_hits, innocent_hits FROM dspam_token_data ORDER BY uid, token"; }
dump_tokens > "$T/old-before"
es --user olduser@example.org --stdout --deliver=innocent,spam --mode=teft < "$T/old-spam.eml" > "$T/old-out" 2> "$T/old-err" ||
	fail "c. TEFT learn: $(cat "$T/old-err")"
sed '/^\r*$/q' "$T/old-out" | grep -q '^X-DSPAM-Result: Spam' || fail "c. TEFT: not Spam: $(head -n 20 "$T/old-out")"
dump_tokens > "$T/old-after"
awk -v u="$ouid" 'NR == FNR { ids[$1] = 1; next }
	{ if ($1 == u && ($2 in ids)) $3 += 1; print $1 "\t" $2 "\t" $3 "\t" $4 }' \
	"$T/old-spam.ids" "$T/old-before" > "$T/old-want"
diff "$T/old-want" "$T/old-after" > "$T/old-diff" ||
	fail "c. TEFT learn did not add exactly one spam hit to the message's DSPAM rows (< want, > got):
$(head -n 20 "$T/old-diff")"
[ "$(q "SELECT spam_learned + spam_classified FROM dspam_stats WHERE uid = $ouid")" -eq 151 ] ||
	fail "c. olduser's spam total is not 151: $(q "SELECT * FROM dspam_stats WHERE uid = $ouid")"
drop_all

#
# b. db init, check, upgrade
#
out=$(es db init 2>&1) || fail "b. db init: $out"
out=$(es db check 2>&1) || fail "b. db check right after db init: $out"
train_pair es bob@example.org 3
rows0=$(count dspam_token_data)
[ "$rows0" -gt 0 ] || fail "b. training wrote no token rows"
hits="SELECT SUM(spam_hits), SUM(innocent_hits), MIN(last_hit) FROM dspam_token_data"
hits0=$(q "$hits")
sig0=$(count dspam_signature_data)
idx=$(q "SELECT index_name FROM information_schema.statistics WHERE table_schema = 'dspam'
	AND table_name = 'dspam_token_data' AND index_name <> 'PRIMARY' LIMIT 1")
[ -n "$idx" ] || fail "b. db init made no secondary index on dspam_token_data (purge needs one on last_hit)"
idxcols=$(q "SELECT GROUP_CONCAT(column_name ORDER BY seq_in_index SEPARATOR ', ') FROM information_schema.statistics
	WHERE table_schema = 'dspam' AND table_name = 'dspam_token_data' AND index_name = '$idx'")
# weight: edgespam's column, the one a DSPAM database lacks
col=weight
q "ALTER TABLE dspam_token_data DROP INDEX \`$idx\`; ALTER TABLE dspam_token_data DROP COLUMN $col" ||
	fail "b. dropping index $idx and column $col"
out=$(es db check 2>&1) && fail "b. db check says ok without index $idx and column dspam_token_data.$col: $out"
echo "$out" | grep -q "index.*dspam_token_data.*$idxcols" ||
	fail "b. db check does not name the missing index $idx (dspam_token_data ($idxcols)): $out"
echo "$out" | grep -q "$col" || fail "b. db check does not name the missing column $col: $out"
out=$(es db upgrade 2>&1) || fail "b. db upgrade: $out"
out=$(es db check 2>&1) || fail "b. db check after db upgrade: $out"
[ "$(count information_schema.statistics "WHERE table_schema = 'dspam' AND table_name = 'dspam_token_data' AND index_name = '$idx'")" -gt 0 ] ||
	fail "b. db upgrade did not restore index $idx"
[ "$(count information_schema.columns "WHERE table_schema = 'dspam' AND table_name = 'dspam_token_data' AND column_name = '$col'")" -eq 1 ] ||
	fail "b. db upgrade did not restore column $col"
[ "$(count dspam_token_data)" -eq "$rows0" ] || fail "b. db upgrade: $(count dspam_token_data) token rows, want $rows0"
[ "$(q "$hits")" = "$hits0" ] || fail "b. db upgrade changed the counts: $(q "$hits"), want $hits0"
[ "$(count dspam_signature_data)" -eq "$sig0" ] || fail "b. db upgrade: $(count dspam_signature_data) signatures, want $sig0"
drop_all

#
# d. two milters, one database, parallel load to the same users
#
out=$(es db init 2>&1) || fail "d. db init: $out"
write_conf "$T/ma.conf" ma
write_conf "$T/mb.conf" mb "mysql_socket = \"\"" "mysql_host = 127.0.0.1" "mysql_port = $MDB_PORT"
start_milter ma; PA=$MPID
start_milter mb; PB=$MPID
N=60
for m in ma mb; do
	for u in u1 u2; do
		"$MILTC" -s "unix:$T/$m.sock" -t 30 -B "$T/corpus" -j 3 -n $N -f a@example.com \
			-r "$u@load.example" > "$T/d-$m-$u.out" 2>&1 &
		BGPIDS="$BGPIDS $!"
	done
done
for p in $BGPIDS; do wait "$p"; done
BGPIDS=""
for m in ma mb; do
	for u in u1 u2; do load_ok "$T/d-$m-$u.out" $N "d. $m to $u"; done
done
grep -q '(on_error)\|on_error applies' "$T/ma.log" "$T/mb.log" &&
	fail "d. messages reached on_error: $(grep -h 'on_error' "$T/ma.log" "$T/mb.log" | head)"
for u in u1 u2; do
	got=$(q "SELECT SUM(spam_learned + innocent_learned + spam_classified + innocent_classified)
		FROM dspam_stats s JOIN dspam_virtual_uids v ON v.uid = s.uid WHERE v.username = '$u@load.example'")
	[ "$got" = $((2 * N)) ] || fail "d. $u counted $got messages, want $((2 * N))"
	got=$(q "SELECT COUNT(*) FROM dspam_signature_data s JOIN dspam_virtual_uids v ON v.uid = s.uid
		WHERE v.username = '$u@load.example'")
	[ "$got" = $((2 * N)) ] || fail "d. $u has $got signatures, want $((2 * N))"
	[ "$(count dspam_virtual_uids "WHERE username = '$u@load.example'")" -eq 1 ] || fail "d. $u created more than once"
done
# the reference: one milter on SQLite, the same messages one at a time
mkdir -p "$T/ref"
milter_conf "$T/ref.conf" "$T/ref.sock" "store_path = $T/ref/es.db"
start_milter ref; PR=$MPID
for u in u1 u2; do
	for k in 1 2; do
		"$MILTC" -s "unix:$T/ref.sock" -B "$T/corpus" -n $N -f a@example.com -r "$u@load.example" > "$T/ref.out" 2>&1 ||
			fail "d. reference run: $(cat "$T/ref.out")"
		load_ok "$T/ref.out" $N "d. reference run to $u"
	done
done
stop_milter "$PR"
sqlite3 -separator ' ' "$T/ref/es.db" "SELECT v.username, t.token, t.spam_hits + t.innocent_hits
	FROM dspam_token_data t JOIN dspam_virtual_uids v ON v.uid = t.uid" | sort > "$T/ref.tokens"
q "SELECT v.username, CAST(CAST(t.token AS UNSIGNED) AS SIGNED), t.spam_hits + t.innocent_hits
	FROM dspam_token_data t JOIN dspam_virtual_uids v ON v.uid = t.uid" | tr '\t' ' ' | sort > "$T/mdb.tokens"
[ "$(wc -l < "$T/ref.tokens")" -gt 100 ] || fail "d. the reference run learned $(wc -l < "$T/ref.tokens") tokens"
diff "$T/ref.tokens" "$T/mdb.tokens" > "$T/tokens.diff" ||
	fail "d. token counts on MariaDB (2 milters) differ from the SQLite reference (< reference, > MariaDB; user token spam+innocent):
$(head -n 20 "$T/tokens.diff")"

#
# e. mariadbd killed under load, restarted: tempfail meanwhile, then recovery
#
stop_milter "$PB"
: > "$T/ma.log"
"$MILTC" -s "unix:$T/ma.sock" -t 30 -B "$T/corpus" -j 4 --until "$T/e.stop" -f a@example.com \
	-r u1@load.example > "$T/e.out" 2>&1 &
EPID=$!
BGPIDS="$EPID"
sleep 2
mdb_kill9 "$T/mdb" || fail "e. mariadbd was not running"
t_kill=$(date +%s)
sleep 3
mdb_start "$T/mdb" || fail "e. mariadbd did not restart on its datadir"
t_up=$(date +%s)
# the first message after the restart that gets our verdict
ham e1 > "$T/e.eml"
k=0
while :; do
	out=$("$MILTC" -s "unix:$T/ma.sock" -t 30 -f a@example.com -r u2@load.example -m "$T/e.eml" 2>&1)
	echo "$out" | grep -q '^mod addheader X-DSPAM-Result' && break
	k=$((k + 1))
	[ $k -gt 100 ] && fail "e. no X-DSPAM-Result 20 s after mariadbd came back: $out
$(tail -n 20 "$T/ma.log")"
	sleep 0.2
done
t_ok=$(date +%s)
sleep 2
touch "$T/e.stop"
wait "$EPID"
BGPIDS=""
kill -0 "$PA" 2>/dev/null || fail "e. the milter died with mariadbd"
[ "$(stat_of "$T/e.out" errors)" -eq 0 ] || fail "e. miltc errors (lost messages): $(cat "$T/e.out")"
sent=$(stat_of "$T/e.out" messages)
acc=$(stat_of "$T/e.out" verdict.continue)
tf=$(stat_of "$T/e.out" deferred)
tagged=$(($(stat_of "$T/e.out" headers.spam) + $(stat_of "$T/e.out" headers.innocent)))
[ "$tf" -gt 0 ] || fail "e. no message was tempfailed while mariadbd was down: $(cat "$T/e.out")"
[ $((acc + tf)) -eq "$sent" ] || fail "e. $sent messages, $acc accepted + $tf tempfailed: $(cat "$T/e.out")"
[ "$tagged" -eq "$acc" ] || fail "e. $acc accepted but $tagged with X-DSPAM-Result (accepted without a verdict): $(cat "$T/e.out")"
[ $((t_ok - t_up)) -le 10 ] || fail "e. the milter took $((t_ok - t_up)) s to recover"
echo "e. killed at $t_kill, up at $t_up, verdicts again at $t_ok; $sent sent, $acc accepted, $tf tempfailed"
stop_milter "$PA"

#
# f. purge: exactly DSPAM's rules; one at a time
#
drop_all
out=$(es db init 2>&1) || fail "f. db init: $out"
write_conf "$T/es.conf" es "purge_batch = 1000" "purge_pause_ms = 20"
# group day spam innocent: 50 tokens each, token = group * 1000 + 1..50
# (kept: 3 rare but 2i+s = 5; 6 two spam hits, 20 days; 7 single, 10
# days; 8 unused 88 days; 9 today)
cat > "$T/groups" <<EOG
1 100 10 10 gone
2 40 1 1 gone
3 40 3 1 kept
4 20 1 0 gone
5 20 0 1 gone
6 20 2 0 kept
7 10 1 0 kept
8 88 10 10 kept
9 0 1 0 kept
10 92 100 0 gone
EOG
while read -r g d s h _; do
	q "INSERT INTO dspam_token_data (uid, token, spam_hits, innocent_hits, last_hit)
		SELECT 1, $g * 1000 + seq, $s, $h, CURDATE() - INTERVAL $d DAY FROM seq_1_to_50" ||
		fail "f. inserting group $g"
done < "$T/groups"
q "INSERT INTO dspam_signature_data (uid, signature, data, length, created_on)
	SELECT 1, CONCAT('old', seq), 'x', 1, CURDATE() - INTERVAL 20 DAY FROM seq_1_to_30;
   INSERT INTO dspam_signature_data (uid, signature, data, length, created_on)
	SELECT 1, CONCAT('new', seq), 'x', 1, CURDATE() - INTERVAL 5 DAY FROM seq_1_to_30;
   INSERT INTO dspam_token_data (uid, token, spam_hits, innocent_hits, last_hit)
	SELECT 2, seq, 5, 5, CURDATE() - INTERVAL 100 DAY FROM seq_1_to_200000" || fail "f. inserting rows"
awk '$5 == "kept" { for (i = 1; i <= 50; i++) print $1 * 1000 + i }' "$T/groups" | sort > "$T/f.want"
es purge > "$T/f1.out" 2>&1 &
F1=$!
BGPIDS=$F1
k=0
while [ "$(count dspam_token_data "WHERE uid = 2")" -eq 200000 ]; do
	k=$((k + 1))
	kill -0 $F1 2>/dev/null || break
	[ $k -gt 100 ] && fail "f. the first purge deleted nothing in 10 s: $(cat "$T/f1.out")"
	sleep 0.1
done
kill -0 $F1 2>/dev/null || fail "f. the first purge ended before a second could be tried (make it slower): $(cat "$T/f1.out")"
out=$(es purge 2>&1); rc=$?
expect_rc 75 $rc "f. a second purge while one runs ($out)"
kill -0 $F1 2>/dev/null || fail "f. the first purge had ended when the second was refused; the test proves nothing"
wait $F1 || fail "f. the first purge failed: $(cat "$T/f1.out")"
BGPIDS=""
q "SELECT token FROM dspam_token_data ORDER BY token" | sort > "$T/f.got"
diff "$T/f.want" "$T/f.got" > "$T/f.diff" || fail "f. purge left other token rows than DSPAM's rules keep (< want, > got):
$(head -n 20 "$T/f.diff")"
got=$(q "SELECT GROUP_CONCAT(signature ORDER BY signature) FROM dspam_signature_data")
want=$(q "SELECT GROUP_CONCAT(CONCAT('new', seq) ORDER BY CONCAT('new', seq)) FROM seq_1_to_30")
[ "$got" = "$want" ] || fail "f. signatures left: $got, want $want"
grep -q "200280 rows\|[^0-9]200280[^0-9]" "$T/f1.out" || fail "f. purge did not report 200280 rows removed: $(cat "$T/f1.out")"

#
# g. the password file: root:GROUP 0640, read by root and by the milter's
# user after the drop (SIGHUP), by nobody else
#
if [ "$(id -u)" -eq 0 ] && command -v setpriv >/dev/null; then
	MU=mail
	chmod 755 "$T"
	cp "$MDB_PWFILE" "$T/g.password"
	chown "root:$(id -gn $MU)" "$T/g.password" && chmod 0640 "$T/g.password"
	write_conf "$T/g.conf" g "user = $MU" "mysql_password_file = $T/g.password" \
		"retrain_socket = $T/g.retrain.sock" "default_policy = on" \
		"on_error = accept" "pid_file = $T/grun/g.pid"
	chmod 644 "$T/g.conf"
	mkdir -p "$T/grun" && chown "$MU" "$T/grun"
	sed -i "s|^retrain_socket = .*|retrain_socket = $T/grun/g.retrain.sock|" "$T/g.conf"
	rm -f "$T/g.sock"
	"$MILTER" -f -c "$T/g.conf" >> "$T/g.log" 2>&1 &
	MPID=$!
	MPIDS="$MPIDS $MPID"
	wait_socket "$T/g.sock" "$MPID" "$T/g.log" || fail "g. the milter did not start with root's 0640 password file"
	[ "$(ps -o user= -p "$MPID")" = "$MU" ] || fail "g. the milter runs as $(ps -o user= -p "$MPID")"
	ham 950 > "$T/g.eml"
	out=$("$MILTC" -s "unix:$T/g.sock" -c 192.0.2.50 -f a@example.org -r gina@example.org -m "$T/g.eml" -o "$T/g.out") ||
		fail "g. classify: $out"
	echo "$out" | grep -q '^mod addheader X-DSPAM-Signature' || fail "g. no verdict: $out"
	n0=$(grep -c 'reloaded' "$T/g.log")
	kill -HUP "$MPID"
	k=0
	while [ "$(grep -c 'reloaded' "$T/g.log")" -eq "$n0" ]; do
		k=$((k + 1))
		[ $k -gt 50 ] && fail "g. no reload after SIGHUP: $(tail -n 5 "$T/g.log")"
		grep -q 'reload: .*mysql_password_file' "$T/g.log" &&
			fail "g. the milter's user could not re-read the password: $(tail -n 5 "$T/g.log")"
		sleep 0.1
	done
	out=$("$MILTC" -s "unix:$T/g.sock" -c 192.0.2.50 -f a@example.org -r gina@example.org -m "$T/g.eml") ||
		fail "g. classify after the reload: $out"
	echo "$out" | grep -q '^mod addheader X-DSPAM-Result' || fail "g. no verdict after the reload: $out"
	# root's CLI reads it
	"$ES" -c "$T/g.conf" stats gina@example.org > "$T/g.stats" 2>&1 || fail "g. root's CLI: $(cat "$T/g.stats")"
	# nobody cannot: not the file, not the store, not --check-config ...
	setpriv --reuid=65534 --regid=65534 --clear-groups cat "$T/g.password" >/dev/null 2>&1 &&
		fail "g. nobody reads the password file"
	setpriv --reuid=65534 --regid=65534 --clear-groups "$ES" -c "$T/g.conf" stats gina@example.org > "$T/g.n1" 2>&1
	rc=$?
	[ $rc -ne 0 ] || fail "g. nobody opened the store: $(cat "$T/g.n1")"
	grep -q 'mysql_password_file.*Permission denied' "$T/g.n1" || fail "g. nobody's refusal does not name the file: $(cat "$T/g.n1")"
	setpriv --reuid=65534 --regid=65534 --clear-groups "$ES" -c "$T/g.conf" --check-config > "$T/g.n2" 2>&1 &&
		fail "g. --check-config as nobody passed without the password: $(cat "$T/g.n2")"
	# ... but its alias pipe corrects through the milter
	setpriv --reuid=65534 --regid=65534 --clear-groups "$ES" -c "$T/g.conf" --user gina@example.org --addspam < "$T/g.out" 2> "$T/g.n3" ||
		fail "g. nobody's correction through the retrain socket: $(cat "$T/g.n3")"
	[ "$(q "SELECT spam_misclassified FROM dspam_stats s JOIN dspam_virtual_uids u ON u.uid = s.uid WHERE u.username = 'gina@example.org'")" = 1 ] ||
		fail "g. the correction did not reach the database"
	# a group-writable or world-readable file is refused at start
	chmod 0644 "$T/g.password"
	out=$("$MILTER" -n -c "$T/g.conf" 2>&1) && fail "g. a world-readable password file passed -n: $out"
	echo "$out" | grep -q "mysql_password_file: $T/g.password: mode 0644" || fail "g. -n does not name the mode: $out"
	stop_milter "$MPID"
	echo "g. root:$(id -gn $MU) 0640: the milter as $MU started, reloaded and classified; nobody corrected through the socket"
fi
pass
