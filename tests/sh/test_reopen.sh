#!/bin/sh
# test_reopen.sh - the real milter under load while its SQLite database is
# deleted (the db, -wal and -shm files, as `rm` does it) and later
# replaced (a backup renamed over it, as `mv` restores one). Each time
# the milter must move to the file now at the path and log that once;
# afterwards no descriptor of the milter may name a deleted file, every
# verdict and signature must be in the file at the path, the CLI must
# correct a signature the milter issued after the deletion (never "not
# known"), and what was learned must survive a restart of the milter.
# Load: miltc (benchmark mode, several connections in parallel).
set -u
. tests/sh/lib.sh

milter_programs
command -v sqlite3 >/dev/null 2>&1 || skip "SKIP: sqlite3 (the shell) is not installed"
[ -d /proc/self/fd ] || skip "SKIP: no /proc/PID/fd to look at descriptors"
milter_workdir reopen
LPID=""
DB=$T/db/es.db

milter_conf "$T/es.conf" "$T/m.sock" "store_path = $DB" \
    "store_pool_size = 4" "store_busy_timeout_ms = 2000" \
    "message_timeout_ms = 10000" "on_error = accept" "log_level = info"
es() { "$ES" -c "$T/es.conf" "$@"; }
mc() { "$MILTC" -s "unix:$T/m.sock" -t 30 "$@"; }
start_milter() { milter_start "$T/es.conf" "$T/m.sock" "$T/milter.log"; }
stop_milter() {
	kill -TERM "$MPID"
	wait "$MPID" || fail "the milter exited with status $? on SIGTERM"
	MPID=""
}
# q SQL - one value from the database at the path (which must exist: the
# shell would create an empty one)
q() {
	[ -f "$DB" ] || fail "no database at $DB"
	sqlite3 -cmd ".timeout 5000" "$DB" "$1" || fail "sqlite3: $1"
}
# sigs USER - how many signatures USER has in the file at the path
sigs() {
	q "SELECT count(*) FROM dspam_signature_data s JOIN dspam_virtual_uids u
	   ON s.uid = u.uid WHERE u.username = '$1'"
}
# learned USER - USER's messages counted in dspam_stats
learned() {
	q "SELECT coalesce(sum(spam_learned + innocent_learned + spam_classified +
	   innocent_classified), 0) FROM dspam_stats s JOIN dspam_virtual_uids u
	   ON s.uid = u.uid WHERE u.username = '$1'"
}
# stat_of FILE KEY - a "key value" line of miltc's benchmark output
stat_of() { awk -v k="$2" '$1 == k { print $2; f = 1 } END { if (!f) print 0 }' "$1"; }
# moves - how many moves to another database file the milter logged
moves() { grep -c 'store: sqlite: .* was \(deleted\|replaced\)' "$T/milter.log"; }
# deleted_fds - descriptors of the milter on deleted files of the store
deleted_fds() {
	for f in /proc/"$MPID"/fd/*; do
		readlink "$f"
	done 2>/dev/null | grep "^$T/db/" | grep -c '(deleted)'
}
# load_start USER OUT STOPFILE - miltc sending the corpus to USER over
# six connections until STOPFILE exists
load_start() {
	"$MILTC" -s "unix:$T/m.sock" -t 30 -B "$T/corpus" -j 6 --until "$3" \
	    -f a@example.com -r "$1" > "$2" 2>&1 &
	LPID=$!
}
# load_end OUT STOPFILE WHAT - stop the load: every message was answered
# (no protocol error, no timeout) and accepted
load_end() {
	touch "$2"
	wait "$LPID" || fail "$3: miltc failed: $(cat "$1")"
	LPID=""
	[ "$(stat_of "$1" errors)" -eq 0 ] || fail "$3: miltc errors: $(cat "$1")"
	[ "$(stat_of "$1" messages)" -gt 0 ] || fail "$3: no message sent: $(cat "$1")"
	[ "$(stat_of "$1" verdict.continue)" -eq "$(stat_of "$1" messages)" ] ||
		fail "$3: not every message accepted: $(cat "$1")"
}
# until_moves N - wait up to 5 s for the N-th logged move
until_moves() {
	_n=0
	while [ "$(moves)" -lt "$1" ] && [ $_n -lt 50 ]; do
		sleep 0.1
		_n=$((_n + 1))
	done
}
# one USER FILE OUT - one message to USER through the milter: its
# signature on stdout
one() {
	out=$(mc -f a@example.com -r "$1" -m "$2" -o "$3") || fail "$1: miltc: $out"
	out_has '^mod addheader X-DSPAM-Signature: ' "$1: no signature"
	echo "$out" | sed -n 's/^mod addheader X-DSPAM-Signature: //p'
}
cleanup_all() {
	[ -n "$LPID" ] && kill "$LPID" 2>/dev/null
	milter_cleanup
}
trap cleanup_all EXIT INT TERM

mkdir -p "$T/db"
make_corpus "$T/corpus" c 20
train_pair es bob@example.org 5
start_milter

#
# 1. rm db db-wal db-shm under load
#
load_start bob@example.org "$T/l1.out" "$T/stop1"
sleep 2
[ "$(grep -c 'result=' "$T/milter.log")" -gt 0 ] || fail "1. no verdict before the deletion: $(cat "$T/milter.log")"
rm -f "$DB" "$DB-wal" "$DB-shm"
sleep 3
load_end "$T/l1.out" "$T/stop1" "1. load across the deletion"
[ -f "$DB" ] || fail "1. no database at $DB after the deletion: the milter kept the deleted one"
[ "$(sigs bob@example.org)" -gt 0 ] ||
	fail "1. no signature of the load after the deletion in the new file"
until_moves 1
[ "$(moves)" -eq 1 ] || fail "1. $(moves) moves logged, want 1: $(grep 'store:' "$T/milter.log")"
grep -q 'store: sqlite: .*es.db was deleted; created a new database' "$T/milter.log" ||
	fail "1. the log does not say the file was deleted: $(grep 'store:' "$T/milter.log")"
sleep 2 # the housekeeping thread moves idle handles within a second
[ "$(deleted_fds)" -eq 0 ] ||
	fail "1. descriptors on deleted files: $(ls -l /proc/"$MPID"/fd | grep deleted)"

# after the deletion, every message's verdict and signature are there
load_start carol@example.org "$T/l2.out" "$T/stop2"
sleep 2
load_end "$T/l2.out" "$T/stop2" "1. load after the deletion"
n=$(stat_of "$T/l2.out" messages)
[ "$(($(stat_of "$T/l2.out" headers.spam) + $(stat_of "$T/l2.out" headers.innocent)))" -eq "$n" ] ||
	fail "1. not $n verdicts: $(cat "$T/l2.out")"
[ "$(sigs carol@example.org)" -eq "$n" ] ||
	fail "1. $(sigs carol@example.org) signatures of carol in the file at the path, want $n"
[ "$(learned carol@example.org)" -eq "$n" ] ||
	fail "1. $(learned carol@example.org) of carol's $n messages counted in the file at the path"

# the CLI corrects a signature the milter issued after the deletion
spam x1 > "$T/x1.eml"
sig=$(one bob@example.org "$T/x1.eml" "$T/x1.out")
[ "$(q "SELECT count(*) FROM dspam_signature_data WHERE signature = '$sig'")" -eq 1 ] ||
	fail "1. signature $sig is not in the file at the path"
if grep -q '^X-DSPAM-Result: Spam' "$T/x1.out"; then cls=--falsepositive; else cls=--addspam; fi
out=$(es --user bob@example.org $cls < "$T/x1.out" 2>&1) || fail "1. correction $cls: $out"
out_lacks 'not known' "1. the CLI does not know the milter's signature"
# errors USER - USER's corrections counted in dspam_stats
errors() {
	q "SELECT spam_misclassified + innocent_misclassified FROM dspam_stats s
	   JOIN dspam_virtual_uids u ON s.uid = u.uid WHERE u.username = '$1'"
}
[ "$(errors bob@example.org)" -eq 1 ] || fail "1. the correction is not counted: $(errors bob@example.org) errors"

# what was learned survives a restart
before=$(learned carol@example.org)
stop_milter
start_milter
ham x2 > "$T/x2.eml"
one carol@example.org "$T/x2.eml" "$T/x2.out" >/dev/null
[ "$(learned carol@example.org)" -eq $((before + 1)) ] ||
	fail "1. after a restart carol has $(learned carol@example.org) messages, want $((before + 1))"
[ "$(errors bob@example.org)" -eq 1 ] || fail "1. the correction is gone after a restart"

#
# 2. a backup renamed over the database under load: used as it is
#
sqlite3 "$DB" ".backup '$T/db/backup.db'" || fail "2. backup"
carol=$(learned carol@example.org)
one carol@example.org "$T/x2.eml" "$T/x3.out" >/dev/null # not in the backup
[ "$(learned carol@example.org)" -eq $((carol + 1)) ] || fail "2. carol's message not counted"
load_start dave@example.org "$T/l3.out" "$T/stop3"
sleep 2
mv "$T/db/backup.db" "$DB" || fail "2. mv"
sleep 3
load_end "$T/l3.out" "$T/stop3" "2. load across the replacement"
until_moves 2
[ "$(moves)" -eq 2 ] || fail "2. $(moves) moves logged, want 2: $(grep 'store:' "$T/milter.log")"
grep -q 'store: sqlite: .*es.db was replaced' "$T/milter.log" ||
	fail "2. the log does not say the file was replaced: $(grep 'store:' "$T/milter.log")"
[ "$(q 'PRAGMA integrity_check')" = ok ] || fail "2. the restored database is damaged"
[ "$(learned carol@example.org)" -eq "$carol" ] ||
	fail "2. carol has $(learned carol@example.org) messages in the restored file, want the backup's $carol"
dave=$(learned dave@example.org)
[ "$dave" -gt 0 ] && [ "$dave" -lt "$(stat_of "$T/l3.out" messages)" ] ||
	fail "2. dave has $dave of his $(stat_of "$T/l3.out" messages) messages in the restored file: want those after the replacement only"
sleep 2
[ "$(deleted_fds)" -eq 0 ] ||
	fail "2. descriptors on deleted files: $(ls -l /proc/"$MPID"/fd | grep deleted)"
sig=$(one carol@example.org "$T/x2.eml" "$T/x4.out")
[ "$(learned carol@example.org)" -eq $((carol + 1)) ] ||
	fail "2. a message after the replacement is not counted in the restored file"
[ "$(q "SELECT count(*) FROM dspam_signature_data WHERE signature = '$sig'")" -eq 1 ] ||
	fail "2. signature $sig is not in the restored file"
stop_milter
pass
