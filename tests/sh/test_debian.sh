#!/bin/sh
# test_debian.sh - edgespam on a mail server shaped like Debian's stock
# one (issue 14): a private Postfix instance with Debian's master.cf
# (smtpd and cleanup chrooted in the queue directory, the chroot
# populated by Debian's configure-instance.sh), the milter's socket in
# that queue directory (unix:edgespam/milter.sock as the chrooted daemons
# see it), SMTP AUTH against a Cyrus sasldb, the README's retrain
# aliases in a root-owned alias map (so their pipes run as default_privs,
# nobody, and reach the milter over its retrain socket), maildrop with
# the shipped conf/maildroprc itself and a private spamd for spamc. The
# milter runs with the packaged defaults as a user of its own, started
# as root. It shows, printing the counts:
#   0. edgespam-milter.8 lists the rules of conf/maildroprc as they are;
#   1. carol, not opted in: GTUBE lands in her .Spam through SpamAssassin
#      (also when it comes with a forged X-DSPAM-Result, which the milter
#      removes, so spamc still runs), ham in her inbox with
#      X-Spam-Status: No; none has an X-DSPAM field; the smtpd and
#      cleanup that took them run in the chroot;
#   2. bob, opted in: his spam lands in .Spam through X-DSPAM-Result and
#      spamc did not run for it (no X-Spam field, no spamd request);
#   3. bob, authenticated, forwards a missed spam (X-DSPAM-Result:
#      Innocent, with its signature) to bob-spam@: the correction equals
#      one made directly on a copy of the store, token for token; the
#      message is delivered nowhere else; a stranger (outside client, no
#      AUTH) and carol (authenticated) get 5xx;
#   4. the milter stopped: the alias pipe exits 75 and the mail stays
#      queued; after a restart it is applied once;
#   5. a spamd outage: carol's mail is delivered unfiltered, not lost;
#   6. the same classification and alias paths (3 and 4) on MariaDB,
#      with the packaged password-file layout (root:GROUP 0640, GROUP the
#      milter's): the pipe as nobody needs no password.
# Test machinery only: defer_transports = local holds alias deliveries
# until the test flushes the queue, so the milter can be stopped between
# the acceptance of a correction (which needs the milter) and its
# delivery to the pipe.
#
# SpamAssassin: spamd runs with the rules the Debian package ships in
# /usr/share/spamassassin (-C; no sa-update, no network: -L), the
# package's .pre files and a private site configuration and home.
set -u
TOP=$(cd "$(dirname "$0")/../.." && pwd)
cd "$TOP" || exit 1
. tests/sh/lib.sh
. tests/sh/lib_postfix.sh
. tests/sh/lib_mariadb.sh

[ "$(id -u)" -eq 0 ] || skip "not root: a Postfix instance needs root to start"
need() {
	for _c in "$@"; do command -v "$_c" >/dev/null || return 1; done
}
# the packages the test needs, installed when missing (make check does
# it too); a SKIP only when that fails
sh tests/tools/deps.sh postfix maildrop swaks sqlite3 spamd spamc sasl2-bin \
	libsasl2-modules >&2 || true
for c in postfix postalias maildrop swaks sqlite3 spamd spamc saslpasswd2 setpriv useradd; do
	need "$c" || skip "$c not installed (apt-get install failed)"
done
ls /usr/lib/*/sasl2/libplain.so* >/dev/null 2>&1 ||
	skip "no Cyrus SASL PLAIN plugin (apt-get install libsasl2-modules failed)"
mdb_require
[ -f /usr/lib/postfix/configure-instance.sh ] && [ -f /usr/share/postfix/master.cf.dist ] ||
	skip "not Debian's Postfix (no configure-instance.sh or master.cf.dist)"
ip -4 addr show dev lo 2>/dev/null | grep -q 'inet 127.0.0.1/8' ||
	skip "loopback is not 127.0.0.1/8: no outside client address"
B=$TOP/${BUILD:-build}
MILTER=$B/edgespam-milter
EDGESPAM=$B/edgespam
[ -x "$MILTER" ] && [ -x "$EDGESPAM" ] || skip "programs not built"

T=$(mktemp -d "${TMPDIR:-/tmp}/edgespam-debian.XXXXXX")
chmod 755 "$T"
MPID="" SPID="" MADE_USER=""
stop_m() {
	[ -n "$MPID" ] || return 0
	kill -TERM "$MPID" 2>/dev/null
	wait "$MPID" 2>/dev/null
	MPID=""
}
stop_spamd() {
	[ -n "$SPID" ] || return 0
	kill -TERM "$SPID" 2>/dev/null
	wait "$SPID" 2>/dev/null
	SPID=""
}
cleanup() {
	stop_m
	stop_spamd
	pf_cleanup "$T"
	[ -d "$T/mdb" ] && mdb_stop "$T/mdb"
	[ -n "$MADE_USER" ] && userdel "$MADE_USER" 2>/dev/null
	[ -n "${KEEP:-}" ] || rm -rf "$T"
}
trap cleanup EXIT
trap 'exit 1' INT TERM
# the man page lists the rules of conf/maildroprc as they are
rules() { grep -v '^[[:space:]]*#' | grep -v '^[[:space:]]*$'; }
awk '/^\.SH MAILDROP AND SPAMASSASSIN/ { s = 1; next }
	s && /^\.nf$/ { b = 1; next }
	b && /^\.fi$/ { exit }
	b { print }' milter/edgespam-milter.8 | sed 's/\\-/-/g; s/\\e/\\/g' | rules > "$T/man.rules"
rules < conf/maildroprc | diff "$T/man.rules" - > "$T/rules.diff" ||
	fail "edgespam-milter.8 (MAILDROP AND SPAMASSASSIN) does not list conf/maildroprc's rules: $(head -n 6 "$T/rules.diff")"

# the milter's own user, as the package makes it
MU=${E2E_MILTER_USER:-edgespam}
case $MU in root | nobody | postfix) fail "E2E_MILTER_USER=$MU: the milter needs a user of its own" ;; esac
if ! id "$MU" >/dev/null 2>&1; then
	useradd --system --home-dir /nonexistent --no-create-home \
		--shell /usr/sbin/nologin "$MU" || fail "useradd $MU"
	MADE_USER=$MU
fi
MG=$(id -gn "$MU")
# spamd's children run as the package's user
SU=debian-spamd
id "$SU" >/dev/null 2>&1 || SU=nobody

fail_log() {
	echo "--- maillog:"; pf_log "$T" 30
	echo "--- milter:"; grep -v ' result=' "$T/milter.log" | tail -n 20
	echo "--- spamd:"; tail -n 5 "$T/spamd/spamd.log" 2>/dev/null
	fail "$*"
}

# ---- the milter's configuration: packaged defaults, private paths -------
EDGESPAM_CONF=$T/edgespam.conf
DB=$T/lib/edgespam.db
mkdir -p "$T/lib" "$T/run" "$T/ref" || fail "mkdir"
chown "$MU:$MG" "$T/lib" "$T/run" "$T/ref" && chmod 700 "$T/lib" "$T/ref" &&
	chmod 755 "$T/run" || fail "chown"
cat > "$EDGESPAM_CONF" <<EOC
store_path = $DB
milter_socket = unix:$T/spool/edgespam/milter.sock
user = $MU
pid_file = $T/run/edgespam-milter.pid
retrain_socket = $T/run/retrain.sock
EOC
chmod 644 "$EDGESPAM_CONF"
es() { "$EDGESPAM" -c "$EDGESPAM_CONF" "$@"; }

# ---- spamd ---------------------------------------------------------------
mkdir -p "$T/spamd/site" "$T/spamd/home" && chown "$SU" "$T/spamd/home" || fail "mkdir spamd"
cp /etc/spamassassin/*.pre "$T/spamd/site/" || fail "no .pre files in /etc/spamassassin"
printf 'use_bayes 0\nbayes_auto_learn 0\n' > "$T/spamd/site/local.cf"
SPORT=$(pf_free_port) || fail "no free port"
SLOG=$T/spamd/spamd.log
start_spamd() {
	spamd -x -L -C /usr/share/spamassassin --siteconfigpath="$T/spamd/site" \
		-H "$T/spamd/home" -u "$SU" -i "127.0.0.1:$SPORT" -A 127.0.0.1 \
		-m 2 --min-children=1 --max-spare=1 -s "$SLOG" \
		-r "$T/spamd/spamd.pid" >/dev/null 2>>"$T/spamd/stderr" &
	SPID=$!
	n=0
	until grep -q 'spamd: server started on' "$SLOG" 2>/dev/null; do
		n=$((n + 1))
		[ $n -le 300 ] && kill -0 "$SPID" 2>/dev/null ||
			{ cat "$T/spamd/stderr"; fail "spamd did not start"; }
		sleep 0.1
	done
}
# spamd_requests - how many messages spamd has checked
spamd_requests() { grep -c 'spamd: result: ' "$SLOG"; }
start_spamd

# ---- Postfix, shaped like Debian's --------------------------------------
PORT=$(pf_free_port) || fail "no free port"
PF_MAILDROP_ENV="SPAMC=$(command -v spamc) -d 127.0.0.1 -p $SPORT"
pf_setup_debian "$T" "$PORT" conf/maildroprc || fail "pf_setup_debian"
SOCK=$(pf_milter_dir "$T" "$MU") || fail "pf_milter_dir"
pf_sasl "$T" bob@example.org:bob-secret carol@example.org:carol-secret || fail "pf_sasl"
pf_postconf "$T" -e "defer_transports = local" || fail "postconf"
cmp -s conf/maildroprc "$T/pipe/maildroprc" || fail "the instance's maildrop filter is not conf/maildroprc"

start_m() {
	"$MILTER" -f -c "$EDGESPAM_CONF" >> "$T/milter.log" 2>&1 &
	MPID=$!
	n=0
	until [ -S "$SOCK" ] && [ -S "$T/run/retrain.sock" ]; do
		n=$((n + 1))
		[ $n -le 100 ] && kill -0 "$MPID" 2>/dev/null || fail_log "the milter did not start"
		sleep 0.1
	done
	[ "$(ps -o user= -p "$MPID")" = "$MU" ] || fail "the milter runs as $(ps -o user= -p "$MPID")"
}

es user bob@example.org opt-in >/dev/null || fail "opt bob in"
train_pair es bob@example.org 12
start_m
[ "$(stat -c '%G %a' "$SOCK")" = "postfix 660" ] || fail "milter socket: $(stat -c '%U:%G %a' "$SOCK")"
[ "$(stat -c '%U:%G %a' "$T/spool/edgespam")" = "$MU:postfix 2750" ] || fail "socket directory: $(stat -c '%U:%G %a' "$T/spool/edgespam")"
[ "$(stat -c '%U %a' "$T/run")" = "$MU 755" ] || fail "retrain socket directory: $(stat -c '%U %a' "$T/run")"
pf_start "$T" || fail "pf_start"

# field FILE NAME - the values of header NAME in FILE's header
field() { sed '/^\r*$/q' "$1" | sed -n "s/^$2: *//Ip" | tr -d '\r'; }
# fields FILE PREFIX - the names of FILE's header fields starting with PREFIX
fields() { sed '/^\r*$/q' "$1" | grep -io "^$2[^:]*" | tr '\n' ' '; }
# newest NEWDIR - the newest file in a Maildir's new/
newest() { ls -t "$1"/* | head -n 1; }
# mailfiles - every delivered message of every mailbox
mailfiles() { find "$T/mail" -path '*/new/*' -type f | wc -l; }
OUT="--local-interface 127.0.0.2"
AUTH_BOB="--auth PLAIN --auth-user bob@example.org --auth-password bob-secret"
AUTH_CAROL="--auth LOGIN --auth-user carol@example.org --auth-password carol-secret"

# ---- 1. carol, not opted in: SpamAssassin decides ---------------------
gtube() {
	printf 'From: offers@example.net\nTo: carol@example.org\nSubject: GTUBE %s\nMessage-ID: <gtube%s@example.net>\n\n' "$1" "$1"
	printf 'XJS*C4JDBQADN1.NSBN3*2IDNEN*GTUBE-STANDARD-ANTI-UBE-TEST-EMAIL*C.34X\n'
}
gtube 1 > "$T/gtube.eml"
# shellcheck disable=SC2086
pf_send "$PORT" offers@example.net carol@example.org $OUT --data "$T/gtube.eml" || fail_log "send GTUBE"
pf_wait_delivered "$T" carol 1 30 Spam || fail_log "GTUBE not in carol's .Spam"
f=$(newest "$(pf_maildir "$T" carol Spam)")
case $(field "$f" X-Spam-Status) in Yes,*GTUBE*) ;; *) fail "carol's GTUBE: X-Spam-Status '$(field "$f" X-Spam-Status)'" ;; esac
[ -z "$(fields "$f" X-DSPAM-)" ] || fail "carol's GTUBE has $(fields "$f" X-DSPAM-)"
ham 301 > "$T/h301.eml"
# shellcheck disable=SC2086
pf_send "$PORT" alice301@example.org carol@example.org $OUT --data "$T/h301.eml" || fail_log "send ham to carol"
pf_wait_delivered "$T" carol 1 30 || fail_log "ham not in carol's inbox"
f=$(newest "$(pf_maildir "$T" carol)")
case $(field "$f" X-Spam-Status) in No,*) ;; *) fail "carol's ham: X-Spam-Status '$(field "$f" X-Spam-Status)'" ;; esac
[ -z "$(fields "$f" X-DSPAM-)" ] || fail "carol's ham has $(fields "$f" X-DSPAM-)"
# a forged X-DSPAM-Result would keep spamc away: the milter removes it
# from the mail of users it does not filter too
{ printf 'X-DSPAM-Result: Innocent\n'; gtube 2; } > "$T/gtube2.eml"
# shellcheck disable=SC2086
pf_send "$PORT" offers@example.net carol@example.org $OUT --data "$T/gtube2.eml" || fail_log "send forged GTUBE"
pf_wait_delivered "$T" carol 2 30 Spam || fail_log "forged GTUBE not in carol's .Spam"
f=$(grep -l 'GTUBE 2' "$(pf_maildir "$T" carol Spam)"/*) || fail "not the forged GTUBE"
case $(field "$f" X-Spam-Status) in Yes,*GTUBE*) ;; *) fail "carol's forged GTUBE: X-Spam-Status '$(field "$f" X-Spam-Status)'" ;; esac
[ -z "$(fields "$f" X-DSPAM-)" ] || fail "carol's forged GTUBE kept $(fields "$f" X-DSPAM-)"
nsa=$(spamd_requests)
[ "$nsa" -eq 3 ] || fail "spamd checked $nsa messages, want 3"
for m in gtube1@example.net h301@example.org gtube2@example.net; do
	grep -q "mid=<$m>" "$SLOG" || fail "spamd's log does not name <$m>"
done
# Debian's chroot: the smtpd and cleanup that took them run in the queue directory
for d in smtpd cleanup; do
	p=$(for i in $(pf_pids "$T"); do [ "$(cat "/proc/$i/comm" 2>/dev/null)" = "$d" ] && echo "$i"; done | head -n 1)
	[ -n "$p" ] || fail "no $d process of the instance"
	[ "$(readlink "/proc/$p/root")" = "$T/spool" ] || fail "$d runs in $(readlink "/proc/$p/root"), not the chroot $T/spool"
done
echo "1. carol (not opted in): 2 GTUBE in .Spam (X-Spam-Status: Yes; one with a forged X-DSPAM-Result, removed), 1 ham in the inbox (X-Spam-Status: No), no X-DSPAM field; spamd checked $nsa messages; smtpd and cleanup chrooted in the queue directory"

# ---- 2. bob, opted in: the milter decides, spamc does not run ----------
# bob_mail KIND N FOLDER VERDICT - send KIND (ham or spam) N to bob from
# outside, wait for it in FOLDER ("" for the inbox) with X-DSPAM-Result
# VERDICT and no X-Spam field; sets F (the delivered file) and SIG
bob_mail() {
	$1 "$2" > "$T/$1$2.eml"
	_nb=$(find "$(pf_maildir "$T" bob "$3")" -type f | wc -l)
	# shellcheck disable=SC2086
	pf_send "$PORT" "$1$2@example.net" bob@example.org $OUT --data "$T/$1$2.eml" ||
		fail_log "send $1 $2 to bob"
	pf_wait_delivered "$T" bob $((_nb + 1)) 30 "$3" || fail_log "$1 $2 not in bob's ${3:-inbox}"
	F=$(grep -l "item $2\|id=$2 " "$(pf_maildir "$T" bob "$3")"/*) ||
		fail "$1 $2 is not the one delivered"
	[ "$(field "$F" X-DSPAM-Result)" = "$4" ] ||
		fail "bob's $1 $2: X-DSPAM-Result '$(field "$F" X-DSPAM-Result)', want $4"
	[ -z "$(fields "$F" X-Spam-)" ] || fail "spamc ran for bob's $1 $2: $(fields "$F" X-Spam-)"
	SIG=$(field "$F" X-DSPAM-Signature)
}
bob_mail spam 302 Spam Spam
[ "$(spamd_requests)" -eq "$nsa" ] || fail "spamd checked bob's spam"
grep -q 'mid=<s302@cheap-pills.biz>' "$SLOG" && fail "spamd's log names bob's spam"
echo "2. bob (opted in): spam in .Spam (X-DSPAM-Result: Spam), no X-Spam field; spamd still at $(spamd_requests) messages"

# ---- 3. the correction through the alias pipe ---------------------------
# the store: tokens WHICH - bob's token rows (live or ref); ref_make -
# a copy of the live store; ref_correct FILE - the correction made
# directly on the copy by root's CLI
STORE=sqlite
sq() { setpriv --reuid="$MU" --regid="$(id -g "$MU")" --clear-groups sqlite3 -cmd '.timeout 5000' "$@"; }
tokens() {
	if [ $STORE = sqlite ]; then
		_db=$DB
		[ "$1" = ref ] && _db=$T/ref/edgespam.db
		sq "$_db" "select token, spam_hits, innocent_hits from dspam_token_data where uid = (select uid from dspam_virtual_uids where username = 'bob@example.org') order by token"
	else
		_db=dspam
		[ "$1" = ref ] && _db=dspam_ref
		mdb_root "$T/mdb" -D "$_db" -e "SELECT token, spam_hits, innocent_hits FROM dspam_token_data WHERE uid = (SELECT uid FROM dspam_virtual_uids WHERE username = 'bob@example.org') ORDER BY token"
	fi
}
ref_make() {
	if [ $STORE = sqlite ]; then
		rm -f "$T/ref/edgespam.db"*
		sq "$DB" ".backup $T/ref/edgespam.db" || fail "backup of the store"
		sed "s|^store_path = .*|store_path = $T/ref/edgespam.db|" "$EDGESPAM_CONF" > "$T/ref.conf"
	else
		tabs=$(mdb_root "$T/mdb" -e "SELECT table_name FROM information_schema.tables WHERE table_schema = 'dspam'")
		sql="DROP DATABASE IF EXISTS dspam_ref; CREATE DATABASE dspam_ref;"
		for t in $tabs; do
			sql="$sql CREATE TABLE dspam_ref.$t LIKE dspam.$t; INSERT INTO dspam_ref.$t SELECT * FROM dspam.$t;"
		done
		mdb_root "$T/mdb" -e "$sql GRANT SELECT, INSERT, UPDATE, DELETE, CREATE, ALTER, INDEX ON dspam_ref.* TO 'edgespam'@'localhost';" ||
			fail "copy of the database"
		sed "s|^mysql_database = .*|mysql_database = dspam_ref|" "$EDGESPAM_CONF" > "$T/ref.conf"
	fi
}
ref_correct() {
	"$EDGESPAM" -c "$T/ref.conf" --user bob@example.org --addspam < "$1" 2>"$T/ref.err" ||
		fail "the reference correction: $(cat "$T/ref.err")"
}
# counts - bob's learned spam, innocent, FP and FN
counts() { es stats bob@example.org | awk '$1 == "bob@example.org" { print $2, $3, $6, $7 }'; }
# forward FILE AUTH... - bob's forward of FILE as an attachment to
# bob-spam@ from outside with AUTH (swaks arguments); the transcript in
# SW, the queue id in QID (empty when refused); returns swaks' status
forward() {
	_ff=$1
	shift
	# shellcheck disable=SC2086
	SW=$(pf_swaks "$PORT" bob@example.org bob-spam@example.org $OUT "$@" \
		--header "Subject: Fwd: missed spam" --body "this one is spam" \
		--attach-type message/rfc822 --attach "@$_ff")
	_rc=$?
	QID=$(echo "$SW" | sed -n 's/.*queued as \([0-9A-Za-z]*\).*/\1/p')
	return $_rc
}
# wait_log PATTERN TIMEOUT_S - until the maillog has a line matching PATTERN
wait_log() {
	_end=$(($(date +%s) + $2))
	until pf_log "$T" | grep -q "$1"; do
		[ "$(date +%s)" -lt $_end ] || return 1
		sleep 0.1
	done
}
# flush_until PATTERN TIMEOUT_S - flush the queue until the maillog has
# a line matching PATTERN. A flush misses a message that the queue
# manager holds at that moment (a retry): defer_transports defers it
# once more, and it waits for the next flush.
flush_until() {
	_end=$(($(date +%s) + $2))
	while :; do
		pf_flush "$T"
		_i=0
		while [ $_i -lt 10 ]; do
			pf_log "$T" | grep -q "$1" && return 0
			sleep 0.1
			_i=$((_i + 1))
		done
		[ "$(date +%s)" -lt $_end ] || return 1
	done
}
# deliver_held QID - the alias delivery of QID, held by defer_transports
# until now: flush, wait until the queue is empty
deliver_held() {
	wait_log " $1: to=<bob-spam@localhost>.*status=deferred (deferred transport)" 15 ||
		fail_log "$1 was not held for the local transport"
	flush_until " $1: to=<bob-spam@localhost>.*status=sent" 30 || fail_log "$1 not delivered"
	pf_wait_queue_empty "$T" 30 || fail_log "$1 not removed from the queue"
}
# correct_check FILE SIG - bob forwards FILE (signature SIG) with SMTP
# AUTH; checks the correction against a direct one on a copy of the
# store, and that it went to the pipe only; RES: bob's counts before
# and after
correct_check() {
	ref_make
	ref_correct "$1"
	_c0=$(counts) _n0=$(mailfiles)
	forward "$1" $AUTH_BOB || fail_log "bob's forward: $SW"
	[ -n "$QID" ] || fail "no queue id: $SW"
	deliver_held "$QID"
	tokens live > "$T/t.got"
	tokens ref > "$T/t.want"
	[ -s "$T/t.want" ] || fail "no token rows for bob"
	cmp -s "$T/t.got" "$T/t.want" ||
		fail "$STORE: tokens differ from the direct correction's: $(diff "$T/t.want" "$T/t.got" | head -n 5)"
	_c1=$(counts)
	[ "$_c1" = "$("$EDGESPAM" -c "$T/ref.conf" stats bob@example.org | awk '$1 == "bob@example.org" { print $2, $3, $6, $7 }')" ] ||
		fail "$STORE: totals differ from the direct correction's"
	[ "$_c1" != "$_c0" ] || fail "$STORE: the correction changed nothing"
	grep -q "retrain: uid 65534 (nobody) for bob@example.org: spam: signature $2 corrected to spam" "$T/milter.log" ||
		fail_log "the correction is not logged as nobody's"
	# one delivery of the forward: to the pipe
	_d=$(pf_log "$T" | grep " $QID: to=<" | grep -v 'deferred transport')
	[ "$(echo "$_d" | grep -c .)" = 1 ] && echo "$_d" | grep -q 'to=<bob-spam@localhost>, orig_to=<bob-spam@example.org>, relay=local.*status=sent (delivered to command: ' ||
		fail "the forward's deliveries: $_d"
	[ "$(mailfiles)" = "$_n0" ] || fail "the forward reached a mailbox"
	pf_log "$T" | grep -q "sasl_method=PLAIN, sasl_username=bob@example.org" || fail "bob's AUTH not logged"
	RES="$_c0 -> $_c1"
}
bob_mail ham 303 "" Innocent
[ -n "$SIG" ] || fail "no signature on bob's missed spam"
correct_check "$F" "$SIG"
ntok=$(wc -l < "$T/t.got")
# a stranger and carol: 5xx, nothing changes
c0=$(counts)
forward "$F" && fail "a stranger's forward to bob-spam was accepted: $SW"
echo "$SW" | grep -q '^ *<\*\* *5[0-9][0-9] ' || fail "a stranger got no 5xx: $SW"
forward "$F" $AUTH_CAROL && fail "carol's forward to bob-spam was accepted: $SW"
echo "$SW" | grep -q '^ *<\*\* *5[0-9][0-9] ' || fail "carol got no 5xx: $SW"
echo "$SW" | grep -q '235 2.7.0 Authentication successful' || fail "carol did not authenticate: $SW"
[ "$(counts)" = "$c0" ] || fail "a refused forward changed bob's counts"
echo "3. sqlite: bob's forward through SMTP AUTH corrected his counts (spam innocent FP FN) $RES as a direct correction does, $ntok token rows equal; delivered to the pipe only; a stranger and carol got 5xx"

# ---- 4. the milter stopped: 75, queued; restarted: applied once ---------
# stopped_check FILE SIG - bob forwards FILE while the milter runs (it
# takes the SMTP transaction), the milter stops before the delivery;
# RES: bob's counts before and after
stopped_check() {
	_c0=$(counts)
	forward "$1" $AUTH_BOB || fail_log "bob's forward: $SW"
	wait_log " $QID: to=<bob-spam@localhost>.*status=deferred (deferred transport)" 15 ||
		fail_log "$QID was not held for the local transport"
	stop_m
	[ -e "$T/run/retrain.sock" ] && fail "the retrain socket outlived the milter"
	flush_until " $QID: to=<bob-spam@localhost>.*status=deferred (temporary failure.*try again later" 30 ||
		fail_log "the pipe did not exit 75 with the milter stopped"
	postqueue -c "$T/etc" -p | grep -q "^$QID[* !]" || fail "$QID is not in the queue: $(postqueue -c "$T/etc" -p)"
	[ "$(pf_queue_count "$T")" = 1 ] || fail "queue holds $(pf_queue_count "$T") messages, want 1"
	[ "$(counts)" = "$_c0" ] || fail "something changed while the milter was away"
	start_m
	flush_until " $QID: to=<bob-spam@localhost>.*status=sent" 30 ||
		fail_log "$QID not delivered after the restart"
	pf_wait_queue_empty "$T" 30 || fail_log "$QID not removed from the queue"
	_c1=$(counts)
	# FN (the 4th) up by one: applied once
	[ "$(echo "$_c1" | cut -d' ' -f4)" -eq $(($(echo "$_c0" | cut -d' ' -f4) + 1)) ] ||
		fail "$STORE: after the restart $_c0 -> $_c1, want FN + 1"
	[ "$(grep -c "signature $2 corrected to spam" "$T/milter.log")" = 1 ] ||
		fail "$STORE: signature $2 corrected $(grep -c "signature $2 corrected to spam" "$T/milter.log") times"
	[ "$(pf_log "$T" | grep " $QID: to=<" | grep -c 'status=sent')" = 1 ] || fail "$QID delivered more than once"
	RES="$_c0 -> $_c1"
}
bob_mail ham 304 "" Innocent
stopped_check "$F" "$SIG"
echo "4. sqlite: with the milter stopped the pipe exited 75 and the forward stayed queued; after the restart it was applied once: $RES"

# ---- 5. spamd down: delivered unfiltered ---------------------------------
stop_spamd
ham 305 > "$T/h305.eml"
# shellcheck disable=SC2086
pf_send "$PORT" alice305@example.org carol@example.org $OUT --data "$T/h305.eml" || fail_log "send ham to carol"
pf_wait_delivered "$T" carol 2 30 || fail_log "carol's mail not delivered with spamd down"
f=$(grep -l 'item 305' "$(pf_maildir "$T" carol)"/*) || fail "not carol's ham 305"
[ -z "$(fields "$f" X-Spam-)" ] || fail "spamd was down, yet: $(fields "$f" X-Spam-)"
echo "5. spamd stopped: carol's mail delivered to her inbox unfiltered"

# ---- 6. MariaDB with the packaged password-file layout ------------------
stop_m
mkdir -p "$T/mdb"
mdb_start "$T/mdb" || fail "the private MariaDB server did not start"
cp "$MDB_PWFILE" "$T/mysql.password" && chown "root:$MG" "$T/mysql.password" &&
	chmod 0640 "$T/mysql.password" || fail "password file"
conf_set "$EDGESPAM_CONF" "store_driver = mysql" "mysql_socket = $MDB_SOCK" \
	"mysql_database = dspam" "mysql_user = edgespam" \
	"mysql_password_file = $T/mysql.password"
STORE=mysql
es user bob@example.org opt-in >/dev/null || fail "opt bob in (mysql)"
train_pair es bob@example.org 12
start_m
setpriv --reuid=65534 --regid=65534 --clear-groups cat "$T/mysql.password" >/dev/null 2>&1 &&
	fail "nobody reads the password file"
bob_mail spam 306 Spam Spam
[ "$(spamd_requests)" -eq "$nsa" ] || fail "spamd checked bob's spam"
bob_mail ham 307 "" Innocent
correct_check "$F" "$SIG"
c=$RES ntok=$(wc -l < "$T/t.got")
bob_mail ham 308 "" Innocent
stopped_check "$F" "$SIG"
c2=$RES
echo "6. mysql (password file root:$MG 0640, the milter as $MU): spam in .Spam by X-DSPAM-Result; the forward as nobody corrected $c, $ntok token rows equal to the direct correction's; milter stopped: 75 and queued, then applied once: $c2"
pass
