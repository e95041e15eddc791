#!/bin/sh
# test_maildir.sh - retraining by moving mail (issue 16 §1): a Maildir in
# Courier's layout (INBOX, .Spam, .Trash, .Work.Projects), owned by
# nobody, with messages the real CLI classified (real signatures); the
# store's directory belongs to another user (mail), so root switches
# between the two. Token by token against the alias pipes' corrections
# made on a copy of the store:
#   1. the first run changes nothing; links and other owners' files are
#      skipped;
#   2. Innocent moved into .Spam -> spam; Spam moved to INBOX ->
#      innocent; Spam into .Trash, Innocent into another folder, flags
#      changed in place -> nothing; an unsigned message moved into .Spam
#      -> trained as spam; a copy in both INBOX and .Spam (an IMAP move
#      half done) -> left alone;
#   3. a second run reads nothing and changes nothing;
#   4. the copy's original expunged -> corrected then; the store locked
#      during a run: 75, and the next run makes the correction;
#   5. moved back -> corrected back: the counts are as if the first
#      correction never happened; again for the other direction;
#      --watch notices a move by itself (inotify);
#   6. a user not filtered, a Maildir without .Spam: not touched; --user
#      by someone not allowed: 77;
#   7. (with the milter built) nobody's own run over its Maildir hands
#      the corrections to the milter's retrain socket; a move back is
#      skipped there (the milter used the signature up).
set -u
. tests/sh/lib.sh

[ "$(id -u)" -eq 0 ] || skip "SKIP: not root: the Maildir and the store belong to other users"
command -v setpriv >/dev/null || skip "SKIP: setpriv missing"
command -v sqlite3 >/dev/null || skip "SKIP: sqlite3 missing"
B=${BUILD:-build}
ES=$B/edgespam
[ -x "$ES" ] || skip "SKIP: $ES not built"
id mail >/dev/null 2>&1 && id nobody >/dev/null 2>&1 || skip "SKIP: no users mail and nobody"
T=$(mktemp -d "${TMPDIR:-/tmp}/edgespam-maildir.XXXXXX")
WPID=""
trap '[ -n "$WPID" ] && kill $WPID 2>/dev/null; rm -rf "$T"' EXIT INT TERM
chmod 755 "$T"
mkdir "$T/db" && chown mail:mail "$T/db" && chmod 700 "$T/db"
cat > "$T/es.conf" <<EOF
store_path = $T/db/es.db
default_policy = opt-in
retrain_socket = ""
log_level = warning
store_busy_timeout_ms = 300
maildir_path = $T/mail/%d/%u/Maildir
EOF
chmod 644 "$T/es.conf"
es() { "$ES" -c "$T/es.conf" "$@"; }
U=bob@example.org
M=$T/mail/example.org/bob/Maildir
# the store is mail's: read it as mail (root would leave root's -wal)
tok() {
	setpriv --reuid=mail --regid=mail --clear-groups sqlite3 -cmd '.timeout 5000' "$1" \
		"select token, spam_hits, innocent_hits from dspam_token_data where uid = (select uid from dspam_virtual_uids where username = '$U') order by token"
}
# spam, innocent, TP, TN, FP, FN
counts() { "$ES" -c "$1" stats $U | awk -v u=$U '$1 == u { print $2, $3, $4, $5, $6, $7 }'; }
# snap NAME - a copy of the store as it is now, with its configuration
snap() {
	rm -rf "$T/$1"
	cp -a "$T/db" "$T/$1"
	sed "s|^store_path = .*|store_path = $T/$1/es.db|" "$T/es.conf" > "$T/$1.conf"
}
# ref NAME ARGS... - the alias pipe's correction on copy NAME
ref() { _n=$1; shift; "$ES" -c "$T/$_n.conf" --user $U "$@" 2>/dev/null || fail "reference correction on $_n: $*"; }
# same NAME WHAT - the store's tokens and counts equal copy NAME's
same() {
	tok "$T/db/es.db" > "$T/t.got"
	tok "$T/$1/es.db" > "$T/t.want"
	[ -s "$T/t.want" ] || fail "$2: no tokens in the reference"
	cmp -s "$T/t.got" "$T/t.want" ||
		fail "$2: tokens differ from the alias pipes' corrections: $(diff "$T/t.want" "$T/t.got" | head -5)"
	[ "$(counts "$T/es.conf")" = "$(counts "$T/$1.conf")" ] ||
		fail "$2: counts $(counts "$T/es.conf"), want $(counts "$T/$1.conf")"
}
run() { out=$(es maildir-retrain --all 2>&1) || fail "maildir-retrain: $out"; }
# want TEXT - the summary line says TEXT
want() { out_has "$1" "summary"; }
give() { chown -R nobody:nogroup "$T/mail"; }

es user $U opt-in >/dev/null || fail "opt in"
train_pair es $U 12
for f in "" .Spam .Trash .Work.Projects; do
	mkdir -p "$M/$f/cur" "$M/$f/new" "$M/$f/tmp"
	[ -n "$f" ] && : > "$M/$f/maildirfolder"
done
# delivered as the sample maildroprc does: Spam into .Spam
n=0
for i in 1 2 3 4; do
	ham 10$i | es --user $U --stdout > "$T/h$i" || fail "classify ham $i"
	grep -q '^X-DSPAM-Result: Innocent' "$T/h$i" || fail "ham $i not Innocent: $(grep X-DSPAM "$T/h$i")"
	cp "$T/h$i" "$M/new/100$i.M${i}P1.host"
done
for i in 1 2 3; do
	spam 10$i | es --user $U --stdout > "$T/s$i" || fail "classify spam $i"
	grep -q '^X-DSPAM-Result: Spam' "$T/s$i" || fail "spam $i not Spam: $(grep X-DSPAM "$T/s$i")"
	cp "$T/s$i" "$M/.Spam/new/200$i.M${i}P2.host"
done
ham 60 > "$T/u1" # unsigned: from before the user was filtered
cp "$T/u1" "$M/cur/3001.M1P3.host:2,S"
give
ln -s /etc/passwd "$M/cur/4001.M1P4.host:2,S"
cp /etc/hostname "$M/cur/4002.M1P4.host:2,S" # root's: never read

# 1. the first run: nothing to correct
snap ref0
run
want "scanned 10, read 8, corrected as spam 0, corrected as innocent 0, trained 0, skipped 2, vanished 0, errors 0"
same ref0 "first run"
[ "$(stat -c %U:%a "$M/edgespam-retrain.state")" = nobody:600 ] ||
	fail "state file $(stat -c %U:%a "$M/edgespam-retrain.state")"
[ -e "$M/edgespam-retrain.state.new" ] && fail "the lock file was left behind"

# 2. the user sorts
mv "$M/new/1001.M1P1.host" "$M/.Spam/cur/1001.M1P1.host:2,S"
mv "$M/.Spam/new/2001.M1P2.host" "$M/cur/2001.M1P2.host:2,S"
mv "$M/.Spam/new/2002.M2P2.host" "$M/.Trash/cur/2002.M2P2.host:2,ST"
mv "$M/new/1002.M2P1.host" "$M/.Work.Projects/cur/1002.M2P1.host:2,S"
mv "$M/.Spam/new/2003.M3P2.host" "$M/.Spam/cur/2003.M3P2.host:2,RS"
mv "$M/cur/3001.M1P3.host:2,S" "$M/.Spam/cur/3001.M1P3.host:2,S"
cp "$M/new/1003.M3P1.host" "$M/.Spam/cur/5003.M1P5.host:2,S" # IMAP COPY
give
snap ref1
ref ref1 --addspam < "$T/h1"
ref ref1 --falsepositive < "$T/s1"
ref ref1 --addspam < "$T/u1"
run
want "corrected as spam 1, corrected as innocent 1, trained 1, skipped 1, vanished 0, errors 0"
same ref1 "after the moves"

# 3. again: nothing read, nothing changed
run
want "scanned 11, read 0, corrected as spam 0, corrected as innocent 0, trained 0, skipped 0, vanished 0, errors 0"
same ref1 "second run"

# 4. the copy's original expunged: corrected now
rm "$M/new/1003.M3P1.host"
ref ref1 --addspam < "$T/h3"
run
want "corrected as spam 1, corrected as innocent 0, trained 0"
same ref1 "after the expunge"

# 4b. the store busy during the run: the correction fails and is made by
# the next run, although nothing moved in between
mv "$M/new/1004.M4P1.host" "$M/.Spam/cur/1004.M4P1.host:2,S"
ref ref1 --addspam < "$T/h4"
mkfifo "$T/lock.in"
setpriv --reuid=mail --regid=mail --clear-groups sqlite3 "$T/db/es.db" < "$T/lock.in" > "$T/lock.out" 2>&1 &
LPID=$!
exec 3> "$T/lock.in"
echo "BEGIN EXCLUSIVE; SELECT 'locked';" >&3
i=0
until grep -q locked "$T/lock.out"; do
	i=$((i + 1)); [ $i -le 50 ] || fail "could not lock the store: $(cat "$T/lock.out")"
	sleep 0.1
done
out=$(es maildir-retrain --all 2>&1)
rc=$?
echo "COMMIT;" >&3
exec 3>&-
wait $LPID
expect_rc 75 $rc "a run with the store locked: $out"
want "corrected as spam 0, corrected as innocent 0, trained 0, skipped 0, vanished 0, errors 1"
run
want "read 0, corrected as spam 1, corrected as innocent 0, trained 0, skipped 0, vanished 0, errors 0"
same ref1 "after the retry"
run
want "read 0, corrected as spam 0, corrected as innocent 0, trained 0, skipped 0"

# 5. moved back: corrected back, as if the correction never happened
mv "$M/.Spam/cur/1001.M1P1.host:2,S" "$M/cur/1001.M1P1.host:2,S"
rm -rf "$T/ref2" && cp -a "$T/ref0" "$T/ref2"
sed "s|^store_path = .*|store_path = $T/ref2/es.db|" "$T/es.conf" > "$T/ref2.conf"
ref ref2 --falsepositive < "$T/s1"
ref ref2 --addspam < "$T/u1"
ref ref2 --addspam < "$T/h3"
ref ref2 --addspam < "$T/h4"
run
want "corrected as spam 0, corrected as innocent 1, trained 0"
same ref2 "after moving ham 1 back"
run
want "read 0, corrected as spam 0, corrected as innocent 0, trained 0"
same ref2 "a run after the move back"
mv "$M/cur/2001.M1P2.host:2,S" "$M/.Spam/cur/2001.M1P2.host:2,S"
rm -rf "$T/ref3" && cp -a "$T/ref0" "$T/ref3"
sed "s|^store_path = .*|store_path = $T/ref3/es.db|" "$T/es.conf" > "$T/ref3.conf"
ref ref3 --addspam < "$T/u1"
ref ref3 --addspam < "$T/h3"
ref ref3 --addspam < "$T/h4"
run
want "corrected as spam 1, corrected as innocent 0, trained 0"
same ref3 "after moving spam 1 back"
# and once more to INBOX: a correction like the first one
mv "$M/.Spam/cur/2001.M1P2.host:2,S" "$M/cur/2001.M1P2.host:2,S"
ref ref3 --falsepositive < "$T/s1"
run
want "corrected as spam 0, corrected as innocent 1, trained 0"
same ref3 "after moving spam 1 out again"

# --watch: the pass after a move comes by itself
"$ES" -c "$T/es.conf" maildir-retrain --watch --user $U "$M" > "$T/watch.out" 2>&1 &
WPID=$!
i=0
until [ "$(grep -c '^maildir-retrain:' "$T/watch.out")" -ge 1 ]; do
	i=$((i + 1)); [ $i -le 100 ] || { fail "--watch made no first pass: $(cat "$T/watch.out")"; }
	sleep 0.1
done
mv "$M/.Work.Projects/cur/1002.M2P1.host:2,S" "$M/.Spam/cur/1002.M2P1.host:2,S"
ref ref3 --addspam < "$T/h2"
i=0
until [ "$(grep -c '^maildir-retrain:' "$T/watch.out")" -ge 2 ]; do
	i=$((i + 1)); [ $i -le 300 ] || { fail "--watch did not see the move: $(cat "$T/watch.out")"; }
	sleep 0.1
done
kill $WPID
wait $WPID 2>/dev/null
WPID=""
out=$(sed -n 2p "$T/watch.out")
want "corrected as spam 1, corrected as innocent 0, trained 0"
same ref3 "after a move under --watch"

# --user on one Maildir: the same state, nothing new
out=$(es maildir-retrain --user $U "$M" 2>&1) || fail "--user: $out"
want "maildir-retrain: $U: scanned 10, read 0, corrected as spam 0, corrected as innocent 0"

# 6. not filtered, no .Spam, not allowed
N=$T/mail/example.org/carol/Maildir
mkdir -p "$N/cur" "$N/new" "$N/.Spam/cur" "$N/.Spam/new"
cp "$T/h4" "$N/.Spam/cur/1.M1P1.host:2,S"
O=$T/mail/example.org/dave/Maildir
mkdir -p "$O/cur" "$O/new"
cp "$T/s2" "$O/cur/1.M1P1.host:2,S"
give
es user carol@example.org set spamThreshold 0.9 >/dev/null || fail "carol"
es user dave@example.org opt-in >/dev/null || fail "dave"
run
[ -e "$N/edgespam-retrain.state" ] && fail "carol is not filtered, but her Maildir was scanned"
[ -e "$O/edgespam-retrain.state" ] && fail "dave has no .Spam, but his Maildir was scanned"
out=$(setpriv --reuid=nobody --regid=nogroup --clear-groups "$ES" -c "$T/es.conf" maildir-retrain --user $U "$M" 2>&1)
expect_rc 77 $? "nobody for $U: $out"
same ref3 "after the refusals"

# 7. a user's own run, through the milter's retrain socket: the same
# correction; a move back finds the signature used up (skipped)
MILTER=$B/edgespam-milter
if [ ! -x "$MILTER" ]; then
	echo "section 7 not run: $MILTER not built"
	pass
fi
S=$T/s7
mkdir -p "$S/db"
chmod 755 "$S"
cat > "$S/es.conf" <<EOC
milter_socket = unix:$S/m.sock
milter_socket_owner = ""
user = ""
pid_file = ""
store_path = $S/db/es.db
default_policy = opt-in
log_level = info
retrain_socket = $S/retrain.sock
retrain_peers = nobody:*@example.org
trusted_users = root
EOC
chmod 644 "$S/es.conf"
e7() { "$ES" -c "$S/es.conf" "$@"; }
as_nobody() { setpriv --reuid=nobody --regid=nogroup --clear-groups "$ES" -c "$S/es.conf" "$@"; }
e7 user $U opt-in >/dev/null || fail "opt in (7)"
train_pair e7 $U 12
P=$S/Maildir
mkdir -p "$P/cur" "$P/new" "$P/.Spam/cur" "$P/.Spam/new"
ham 301 | e7 --user $U --stdout > "$P/new/1.M1P1.host" || fail "classify (7)"
grep -q '^X-DSPAM-Result: Innocent' "$P/new/1.M1P1.host" || fail "ham 301 not Innocent"
ham 302 > "$P/new/2.M1P1.host"
chown -R nobody:nogroup "$P"
"$MILTER" -f -c "$S/es.conf" >> "$S/milter.log" 2>&1 &
MPID=$!
trap 'kill $MPID 2>/dev/null; rm -rf "$T"' EXIT INT TERM
i=0
while [ ! -S "$S/retrain.sock" ]; do
	i=$((i + 1)); [ $i -le 100 ] || fail "no retrain socket: $(cat "$S/milter.log")"
	sleep 0.1
done
out=$(as_nobody maildir-retrain --user $U "$P" 2>&1) || fail "nobody's first run: $out"
want "corrected as spam 0, corrected as innocent 0, trained 0"
c0=$(counts "$S/es.conf")
mv "$P/new/1.M1P1.host" "$P/.Spam/cur/1.M1P1.host:2,S"
mv "$P/new/2.M1P1.host" "$P/.Spam/cur/2.M1P1.host:2,S"
out=$(as_nobody maildir-retrain --user $U "$P" 2>&1) || fail "nobody's run: $out"
want "corrected as spam 1, corrected as innocent 0, trained 1"
grep -q "signature [0-9a-f]* corrected to spam" "$S/milter.log" ||
	fail "the milter made no correction: $(tail -n 5 "$S/milter.log")"
c1=$(counts "$S/es.conf")
# spam learned +2 (the correction, the training), innocent -1, FN +2
set -- $c0
want1="$(($1 + 2)) $(($2 - 1)) $3 $(($4 - 1)) $5 $(($6 + 2))"
[ "$c1" = "$want1" ] || fail "counts through the socket: $c0 -> $c1, want $want1"
mv "$P/.Spam/cur/1.M1P1.host:2,S" "$P/cur/1.M1P1.host:2,S"
out=$(as_nobody maildir-retrain --user $U "$P" 2>&1) || fail "nobody's run back: $out"
want "corrected as spam 0, corrected as innocent 0, trained 0, skipped 1"
[ "$(counts "$S/es.conf")" = "$c1" ] || fail "the move back changed counts through the socket"
out=$(as_nobody maildir-retrain --user carol@example.net "$P" 2>&1)
expect_rc 77 $? "nobody for carol@example.net: $out"
kill $MPID
wait $MPID 2>/dev/null
pass
