#!/bin/sh
# test_sources.sh - spam source tracking and greylisting through the
# real milter (driven by miltc with chosen client addresses) and the
# edgespam program, on a SQLite store:
#   1. verdicts for opted-in users are counted per client address and
#      per /24 or /64; unfiltered mail and retrain aliases are not;
#   2. corrections through edgespam (--falsepositive, --addspam) count
#      against the address the signature recorded;
#   3. `edgespam sources` ranks them (and --top, --since);
#   4. greylisting: 451 4.7.1 at RCPT once the streak is reached, for
#      the address and its network, not for unfiltered recipients or
#      retrain aliases, not after the window, not when off;
#   5. purge ages sources that were not seen for purge_source_days;
#   6. a store error during the greylist check accepts the recipient.
set -u
[ -n "${SRC_DEBUG:-}" ] && set -x
. tests/sh/lib.sh

milter_programs
command -v sqlite3 >/dev/null 2>&1 || skip "SKIP: sqlite3 is not installed"
milter_workdir sources

write_conf() {
	f=$1
	shift
	milter_conf "$f" "$T/m.sock" "store_path = $T/es.db" \
	    "store_busy_timeout_ms = 500" "default_policy = opt-in" \
	    "message_timeout_ms = 2000" "log_level = debug" "$@"
}
start_milter() {
	milter_start "$T/es.conf" "$T/m.sock" "$T/milter.log"
}
# reload ["key = value"...] - change the configuration, SIGHUP, wait
reload() {
	conf_set "$T/es.conf" "$@"
	n0=$(grep -c 'configuration reloaded\|reload' "$T/milter.log")
	kill -HUP "$MPID"
	k=0
	while [ "$(grep -c 'configuration reloaded\|reload' "$T/milter.log")" -eq "$n0" ]; do
		k=$((k + 1))
		[ $k -gt 50 ] && fail "no reload in the log: $(tail -n 5 "$T/milter.log")"
		sleep 0.1
	done
}
es() { "$ES" -c "$T/es.conf" "$@"; }
mc() { "$MILTC" -s "unix:$T/m.sock" -t 20 "$@"; }
q() { sqlite3 -cmd '.timeout 5000' "$T/es.db" "$1" || fail "sqlite3: $1"; }
# row SOURCE - "spam|innocent|spam_corrections|innocent_corrections|spam_streak"
row() { q "SELECT spam, innocent, spam_corrections, innocent_corrections, spam_streak FROM edgespam_sources WHERE source = '$1'"; }
# want SOURCE COUNTS WHAT
want() {
	got=$(row "$1")
	[ "$got" = "$2" ] || fail "$3: $1 has \"$got\", want \"$2\" (spam|innocent|missed|fp|streak)"
}
# send CLIENT RCPT FILE [miltc options] - one message; prints miltc's events
send() {
	_c=$1 _r=$2 _m=$3
	shift 3
	mc -c "$_c" "$@" -f x@example.com -r "$_r" -m "$_m" || fail "miltc -c $_c -r $_r: failed"
}
sig_of() { echo "$1" | sed -n 's/^mod addheader X-DSPAM-Signature: //p'; }

write_conf "$T/es.conf"
es domain example.org set opt-in || fail "domain set"
es user bob@example.org opt-in || fail "bob opt-in"
es user carol@example.org opt-in || fail "carol opt-in"
train_pair es bob@example.org 12
train_pair es carol@example.org 12
start_milter

# 1. counting: three spam from 192.0.2.7, then a ham from 192.0.2.8
for i in 1 2 3; do
	spam $((200 + i)) > "$T/s$i.eml"
	out=$(send 192.0.2.7 bob@example.org "$T/s$i.eml")
	out_has '^mod addheader X-DSPAM-Result: Spam' "spam $i"
	[ $i -eq 1 ] && fp_sig=$(sig_of "$out")
done
want 192.0.2.7 "3|0|0|0|3" "three spam"
want 192.0.2.0/24 "3|0|0|0|3" "three spam, network"
ham 201 > "$T/h1.eml"
out=$(send 192.0.2.8 bob@example.org "$T/h1.eml")
out_has '^mod addheader X-DSPAM-Result: Innocent' "ham"
want 192.0.2.8 "0|1|0|0|0" "ham"
want 192.0.2.0/24 "3|1|0|0|0" "ham ends the network's streak"
want 192.0.2.7 "3|0|0|0|3" "another address's ham"
#    IPv6 and IPv4-mapped clients
ham 202 > "$T/h2.eml"
out=$(send 2001:db8:1:2::5 bob@example.org "$T/h2.eml")
miss_sig=$(sig_of "$out")
[ -n "$miss_sig" ] || fail "no signature for the IPv6 message: $out"
send 2001:0db8:0001:0002:0000:0000:0000:0005 bob@example.org "$T/h1.eml" >/dev/null
want 2001:db8:1:2::5 "0|2|0|0|0" "IPv6 address, both spellings"
want 2001:db8:1:2::/64 "0|2|0|0|0" "IPv6 /64"
#    not counted: a client without an address, an unfiltered
#    recipient, a retrain alias
out=$(send unknown bob@example.org "$T/s1.eml")
out_has '^mod addheader X-DSPAM-Result: ' "unknown client: not classified"
out=$(send 198.51.100.1 alice@example.org "$T/s1.eml")
out_lacks '^mod addheader' "alice is not filtered"
send 127.0.0.1 bob-spam@example.org "$T/s1.eml" >/dev/null
[ "$(q "SELECT COUNT(*) FROM edgespam_sources WHERE source LIKE '198.51.100.%' OR source LIKE '127.%'")" -eq 0 ] ||
	fail "unfiltered mail was counted: $(q 'SELECT * FROM edgespam_sources')"
[ "$(q 'SELECT COUNT(*) FROM edgespam_sources')" -eq 5 ] || fail "not 5 source rows: $(q 'SELECT * FROM edgespam_sources')"

# 2. corrections through the signature: the first spam was a false
#    positive, the IPv6 ham a missed spam
{ printf 'X-DSPAM-Signature: %s\n' "$fp_sig"; cat "$T/s1.eml"; } |
	es --user bob@example.org --falsepositive || fail "--falsepositive"
want 192.0.2.7 "3|0|0|1|0" "false positive"
want 192.0.2.0/24 "3|1|0|1|0" "false positive, network"
{ printf 'X-DSPAM-Signature: %s\n' "$miss_sig"; cat "$T/h2.eml"; } |
	es --user bob@example.org --addspam || fail "--addspam"
want 2001:db8:1:2::5 "0|2|1|0|0" "missed spam"
want 2001:db8:1:2::/64 "0|2|1|0|0" "missed spam, network"

# 3. the listing: score = spam + missed - false positives, then ratio
es sources > "$T/list" || fail "edgespam sources: $(cat "$T/list")"
head -n 1 "$T/list" | grep -q '^source .*score.*spam.*innocent.*missed.*fp.*streak' ||
	fail "sources: no header: $(cat "$T/list")"
order=$(awk 'NR > 1 { printf "%s ", $1 }' "$T/list")
[ "$order" = "192.0.2.7 192.0.2.0/24 2001:db8:1:2::/64 2001:db8:1:2::5 192.0.2.8 " ] ||
	fail "sources ranked \"$order\": $(cat "$T/list")"
awk '$1 == "192.0.2.7" { exit !($2 == 2 && $3 == 3 && $4 == 0 && $6 == 1 && $8 == "100.0") }' "$T/list" ||
	fail "192.0.2.7's line: $(cat "$T/list")"
[ "$(es sources --top 2 | wc -l)" -eq 3 ] || fail "--top 2: $(es sources --top 2)"
q "UPDATE edgespam_sources SET last_seen = last_seen - 3 * 86400 WHERE source = '192.0.2.8'"
es sources --since 2 | grep -q '^192.0.2.8 ' && fail "--since 2 lists a source seen 3 days ago"
es sources --since 4 | grep -q '^192.0.2.8 ' || fail "--since 4 lacks a source seen 3 days ago"
es sources --top 0 >/dev/null 2>&1; expect_rc 64 $? "sources --top 0"
es sources --bogus >/dev/null 2>&1; expect_rc 64 $? "sources --bogus"
es sources --help | grep -q -- '--since' || fail "sources --help"

# 4. greylisting (to carol, whom no correction above confused): off by
#    default - a source with a streak passes
for i in 4 5 6; do
	spam $((200 + i)) > "$T/s$i.eml"
	out=$(send 203.0.113.9 carol@example.org "$T/s$i.eml")
	out_has '^mod addheader X-DSPAM-Result: Spam' "spam $i from 203.0.113.9"
done
want 203.0.113.9 "3|0|0|0|3" "streak of three"
out=$(send 203.0.113.9 carol@example.org "$T/s1.eml")
out_has '^rcpt carol@example.org continue' "greylisted while off"
reload "greylist_spam_streak = 5" "greylist_window_s = 600"
out=$(send 203.0.113.9 carol@example.org "$T/s1.eml")
out_has '^rcpt carol@example.org continue' "greylisted at streak 4 of 5"
out=$(send 203.0.113.9 carol@example.org "$T/s2.eml")
out_has '^rcpt carol@example.org replycode 451 4.7.1' "not greylisted at streak 5"
out_lacks '^mod addheader' "greylisted message classified"
want 203.0.113.9 "5|0|0|0|5" "a greylisted message is not counted"
grep -q 'greylist: 203.0.113.9 has 5 Spam verdicts in a row' "$T/milter.log" || fail "greylisting not logged"
#    the network too; never an unfiltered recipient or a retrain alias
out=$(send 203.0.113.77 carol@example.org "$T/s3.eml")
out_has '^rcpt carol@example.org replycode 451 4.7.1' "neighbour in the /24 not greylisted"
out=$(send 203.0.113.9 alice@example.org "$T/s3.eml")
out_has '^rcpt alice@example.org continue' "unfiltered recipient greylisted"
#    never the site's own clients: SMTP AUTH, trusted_networks
out=$(send 203.0.113.9 carol@example.org "$T/s3.eml" -a carol)
out_has '^rcpt carol@example.org continue' "an authenticated session greylisted"
reload "trusted_networks = 127.0.0.0/8 ::1 203.0.113.0/24"
out=$(send 203.0.113.9 carol@example.org "$T/s3.eml")
out_has '^rcpt carol@example.org continue' "a trusted network greylisted"
reload "trusted_networks = 127.0.0.0/8 ::1"
#    nor an envelope sender on the recipient's allow list
es user allow carol@example.org x@example.com >/dev/null || fail "user allow"
r0=$(row 203.0.113.9)
out=$(send 203.0.113.9 carol@example.org "$T/s3.eml")
[ "$(row 203.0.113.9)" = "$r0" ] || fail "a message the allow list decided was counted: $r0 -> $(row 203.0.113.9)"
out_has '^rcpt carol@example.org continue' "an allowed sender greylisted"
out_has '^mod addheader X-DSPAM-Result: Whitelisted' "allowed sender"
grep -q 'greylist: x@example.com is on the allow list of carol@example.org' "$T/milter.log" ||
	fail "the allowed sender's exemption was not logged"
es user unallow carol@example.org x@example.com >/dev/null || fail "user unallow"
out=$(send 203.0.113.9 carol@example.org "$T/s3.eml")
out_has '^rcpt carol@example.org replycode 451 4.7.1' "not greylisted again after unallow"
out=$(send 203.0.113.9 carol-spam@example.org "$T/s3.eml" -a carol)
out_has '^rcpt carol-spam@example.org continue' "retrain alias greylisted"
#    another network passes; an old streak passes
out=$(send 198.51.100.7 carol@example.org "$T/h1.eml")
out_has '^rcpt carol@example.org continue' "other network greylisted"
q "UPDATE edgespam_sources SET last_spam = last_spam - 600 WHERE source LIKE '203.0.113.%'"
out=$(send 203.0.113.9 carol@example.org "$T/s2.eml")
out_has '^rcpt carol@example.org continue' "greylisted after the window"
out_has '^mod addheader X-DSPAM-Result: Spam' "after the window: not classified"
out=$(send 203.0.113.9 carol@example.org "$T/s3.eml")
out_has '^rcpt carol@example.org replycode 451 4.7.1' "a new spam verdict did not greylist again"
reload "greylist_spam_streak = 0"
out=$(send 203.0.113.9 carol@example.org "$T/s3.eml")
out_has '^rcpt carol@example.org continue' "greylisted after switching off"

# 5. purge: sources unseen for purge_source_days go, the others stay
q "UPDATE edgespam_sources SET last_seen = last_seen - 100 * 86400 WHERE source IN ('192.0.2.8', '2001:db8:1:2::5')"
out=$(es purge 2>&1) || fail "purge: $out"
out_has 'sources 2;' "purge did not report 2 sources"
[ -z "$(row 192.0.2.8)" ] || fail "purge kept 192.0.2.8"
[ -z "$(row 2001:db8:1:2::5)" ] || fail "purge kept 2001:db8:1:2::5"
want 192.0.2.7 "3|0|0|1|0" "purge kept a recent source"
conf_set "$T/es.conf" "purge_source_days = 0"
q "UPDATE edgespam_sources SET last_seen = 86400 WHERE source = '192.0.2.7'"
out=$(es purge 2>&1) || fail "purge: $out"
out_has 'sources 0;' "purge_source_days = 0 purged"

# 6. a store error at RCPT never greylists: the table is gone under the
#    milter (its handles fail, are reopened and recreate it)
reload "greylist_spam_streak = 1"
q "DROP TABLE edgespam_sources"
out=$(send 203.0.113.9 carol@example.org "$T/s3.eml")
out_has '^rcpt carol@example.org continue' "a store error greylisted"
grep -q 'greylist check for carol@example.org: .*a store error never greylists' "$T/milter.log" ||
	fail "the failed greylist check was not logged: $(tail -n 5 "$T/milter.log")"
kill -0 "$MPID" || fail "the milter died"
pass
