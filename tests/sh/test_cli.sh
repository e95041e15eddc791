#!/bin/sh
# test_cli.sh - the edgespam program end to end on a SQLite store:
# training and classification, --stdout output, corrections through the
# signature (counts restored exactly), the trust list, exit codes,
# configuration errors, and the sender allow/block lists (commands and
# the alias pipe).
set -u
. tests/sh/lib.sh

ES=${BUILD:-build}/edgespam
[ -x "$ES" ] || skip "$ES not built"
command -v sqlite3 >/dev/null || skip "sqlite3 not installed"
T=$(mktemp -d "${TMPDIR:-/tmp}/edgespam-cli.XXXXXX")
trap 'rm -rf "$T"' EXIT INT TERM
DB=$T/es.db
# user: the milter's system user, which --check-config looks up as root
# (a test machine need not have one)
cat > "$T/es.conf" <<EOC
store_path = $DB
store_busy_timeout_ms = 200
retrain_socket = ""
user = ""
EOC
es() { "$ES" -c "$T/es.conf" "$@"; }

# 1. usage and configuration errors
es >/dev/null 2>&1; expect_rc 64 $? "no arguments"
es --user bob@example.net --bogus </dev/null >/dev/null 2>&1; expect_rc 64 $? "unknown option"
es --help | grep -q -- '--addspam' || fail "--help lacks --addspam"
printf 'spam_threshold = 2\nfoo = 1\nstore_driver = nosuch\n' > "$T/bad.conf"
out=$("$ES" -c "$T/bad.conf" --check-config 2>&1); rc=$?
expect_rc 78 $rc "--check-config on a bad file"
echo "$out" | grep -q "bad.conf:1: .*spam_threshold" || fail "no file:line for spam_threshold: $out"
echo "$out" | grep -q "bad.conf:2: .*foo" || fail "no file:line for foo: $out"
echo "$out" | grep -q "bad.conf:3: .*nosuch" || fail "no file:line for store_driver: $out"
es --check-config >/dev/null || fail "good configuration refused"

# 2. training: 12 of each class, then classify unseen ones
train_pair es bob@example.net 12
out=$(ham 100 | es --user bob@example.net --classify) || fail "classify ham"
echo "$out" | grep -q 'result="Innocent"' || fail "ham not innocent: $out"
out=$(spam 100 | es --user bob@example.net --classify) || fail "classify spam"
echo "$out" | grep -q 'result="Spam"' || fail "spam not spam: $out"
# the user name is normalised: case and +extension
out=$(spam 101 | es --user 'Bob+lists@Example.NET' --classify) || fail "classify as Bob+lists"
echo "$out" | grep -q '^X-DSPAM-Result: bob@example.net; result="Spam"' || fail "normalised user: $out"
# classify learns nothing
before=$(sqlite3 "$DB" 'select count(*), sum(spam_hits), sum(innocent_hits) from dspam_token_data')
ham 102 | es --user bob@example.net --classify >/dev/null
after=$(sqlite3 "$DB" 'select count(*), sum(spam_hits), sum(innocent_hits) from dspam_token_data')
[ "$before" = "$after" ] || fail "--classify changed the tokens: $before -> $after"

# 3. --stdout: forged X-DSPAM fields removed, ours added, body intact
{ printf 'X-DSPAM-Result: Innocent\nX-DSPAM-Signature: 0123456789abcdef\n'; spam 103; } |
	es --user bob@example.net --stdout --deliver=innocent,spam > "$T/out.eml" || fail "--stdout"
[ "$(grep -c '^X-DSPAM-Result:' "$T/out.eml")" = 1 ] || fail "X-DSPAM-Result count: $(cat "$T/out.eml")"
grep -q '^X-DSPAM-Result: Spam' "$T/out.eml" || fail "no Spam result in output"
grep -q '^X-DSPAM-Signature: [0-9a-f]\{32\}$' "$T/out.eml" || fail "no signature"
grep -q '0123456789abcdef' "$T/out.eml" && fail "forged signature kept"
grep -q '^X-DSPAM-Processed: ' "$T/out.eml" || fail "no Processed"
grep -q '^X-DSPAM-Confidence: ' "$T/out.eml" || fail "no Confidence"
grep -q '^X-DSPAM-Probability: ' "$T/out.eml" || fail "no Probability"
spam 103 | sed -n '/^$/,$p' > "$T/body.want"
sed -n '/^$/,$p' "$T/out.eml" > "$T/body.got"
cmp -s "$T/body.want" "$T/body.got" || fail "body changed by --stdout"

# 4. a correction through the signature restores the counts exactly:
# process (TEFT learns the verdict), then --falsepositive, must equal
# training the same message as innocent from the state before.
snap() { sqlite3 "${2:-$DB}" "select token, spam_hits, innocent_hits from dspam_token_data where uid = (select uid from dspam_virtual_uids where username = 'bob@example.net') order by token" > "$1"; }
cp "$DB" "$T/before.db"
snap "$T/s0"
# a ham that looks spammy: verdict Spam, then reported as false positive
msg() { spam 200; printf 'Alice says the quarterly meeting is fine.\n'; }
msg | es --user bob@example.net --stdout --deliver=innocent,spam > "$T/fp.eml" || fail "process fp"
grep -q '^X-DSPAM-Result: Spam' "$T/fp.eml" || fail "expected a Spam verdict: $(grep X-DSPAM "$T/fp.eml")"
snap "$T/s1"
cmp -s "$T/s0" "$T/s1" && fail "TEFT learned nothing"
# forwarded back as an attachment-less bounce: the header carries the id
es --user bob@example.net --falsepositive < "$T/fp.eml" 2> "$T/err" || fail "falsepositive: $(cat "$T/err")"
grep -q "without signature\|no signature" "$T/err" && fail "signature not used: $(cat "$T/err")"
snap "$T/s2"
# reference: the state before, plus the message trained as innocent
sed "s|^store_path = .*|store_path = $T/before.db|" "$T/es.conf" > "$T/ref.conf"
msg | "$ES" -c "$T/ref.conf" --user bob@example.net --class=innocent --source=corpus || fail "reference training"
snap "$T/s3" "$T/before.db"
cmp -s "$T/s2" "$T/s3" || { diff "$T/s2" "$T/s3" | head; fail "correction did not restore the counts exactly"; }
# the signature is used once: a second correction finds nothing to replay
es --user bob@example.net --falsepositive < "$T/fp.eml" 2> "$T/err2"
snap "$T/s4"
grep -qi "signature" "$T/err2" || fail "second correction silent: $(cat "$T/err2")"

# 5. a signature never retrains another user
spam 300 | es --user carol@example.net --class=spam --source=corpus || fail "carol"
snapc() { sqlite3 "$DB" "select token, spam_hits, innocent_hits from dspam_token_data where uid = (select uid from dspam_virtual_uids where username = 'carol@example.net') order by token" > "$1"; }
snapc "$T/c0"
sig=$(grep '^X-DSPAM-Signature:' "$T/out.eml" | sed 's/.*: //')
es --user carol@example.net --falsepositive --signature="$sig" < /dev/null 2>"$T/err3"
rc=$?
snapc "$T/c1"
cmp -s "$T/c0" "$T/c1" || fail "bob's signature changed carol's tokens"
[ $rc -ne 0 ] || grep -qi "signature" "$T/err3" || fail "carol's correction with bob's signature passed silently"

# 6. the trust list: nobody may not act for bob
if [ "$(id -u)" -eq 0 ] && command -v setpriv >/dev/null; then
	chmod 1777 "$T"; chmod 666 "$DB" "$DB"-* 2>/dev/null
	ham 400 | setpriv --reuid=65534 --regid=65534 --clear-groups "$ES" -c "$T/es.conf" --user bob@example.net --classify >/dev/null 2>&1
	expect_rc 77 $? "untrusted caller acting for bob"
	ham 400 | setpriv --reuid=65534 --regid=65534 --clear-groups "$ES" -c "$T/es.conf" --user bob@example.net --addspam >/dev/null 2>&1
	expect_rc 77 $? "untrusted caller correcting for bob"
	ham 400 | setpriv --reuid=65534 --regid=65534 --clear-groups "$ES" -c "$T/es.conf" --user nobody --classify >/dev/null 2>&1
	expect_rc 0 $? "nobody acting for itself"
	chmod 700 "$T" # root's edgespam refuses a store directory anyone may write
else
	echo "note: not root: trust list checks not run"
fi

# 6b. acting for yourself means for exactly your login's name: nobody
#     may do every mail, list and stats operation for nobody, and none
#     for a user whose name starts with it (nobodyx, nobody@example.org),
#     or that it starts with (nobod); those users' data stays as it was
if [ "$(id -u)" -eq 0 ] && command -v setpriv >/dev/null; then
	# a forwarded message: every mail operation can take it
	fwd() {
		printf 'From: Nobody <nobody@example.net>\nSubject: Fwd: offer\n\nsee below\n\n'
		printf -- '-------- Forwarded Message --------\n'
		spam 700
	}
	# each operation; U is the user acted for
	ops='--user U --classify
--user U --stdout --deliver=innocent,spam
--user U --class=spam --source=corpus
--user U --class=innocent --source=inoculation
--user U --addspam
--user U --falsepositive
--user U --allow-sender
--user U --block-sender
user allow U x@y.example
user unallow U x@y.example
user block U x@y.example
user unblock U x@y.example
user U allow x@y.example
user list U
stats U
user U show'
	others='nobodyx nobody@example.org nobod'
	# snapo FILE - their tokens, totals, lists and signature count
	snapo() {
		_in="u.username in ('nobodyx', 'nobody@example.org', 'nobod')"
		sqlite3 "$DB" "select u.username, t.token, t.spam_hits, t.innocent_hits from dspam_token_data t join dspam_virtual_uids u on u.uid = t.uid where $_in order by 1, 2;
		select u.username, s.* from dspam_stats s join dspam_virtual_uids u on u.uid = s.uid where $_in order by 1;
		select u.username, l.pattern, l.kind from edgespam_sender_list l join dspam_virtual_uids u on u.uid = l.uid where $_in order by 1, 2;
		select count(*) from dspam_signature_data s join dspam_virtual_uids u on u.uid = s.uid where $_in" > "$1"
	}
	for u in $others; do
		train_pair es "$u" 1
		es user allow "$u" x@y.example >/dev/null || fail "allow for $u"
	done
	# nobody works on the store too (root's edgespam refuses such a
	# directory, so root's own steps come before and after)
	chmod 1777 "$T"; chmod 666 "$DB" "$DB"-* 2>/dev/null
	snapo "$T/n0"
	# run_as USER OP: OP for USER as nobody, the message on its input
	run_as() {
		set -- $(echo "$2" | sed "s/ U / $1 /; s/ U\$/ $1/")
		fwd | setpriv --reuid=65534 --regid=65534 --clear-groups "$ES" -c "$T/es.conf" "$@" >/dev/null 2>"$T/act.err"
	}
	for u in $others; do
		echo "$ops" | while read -r op; do
			run_as "$u" "$op"
			expect_rc 77 $? "nobody: $op, U = $u: $(cat "$T/act.err")"
		done || exit 1
	done
	fwd | setpriv --reuid=65534 --regid=65534 --clear-groups "$ES" -c "$T/es.conf" --user nobody --user nobodyx --classify >/dev/null 2>&1
	expect_rc 77 $? "nobody: --classify for nobody and nobodyx"
	snapo "$T/n1"
	cmp -s "$T/n0" "$T/n1" || fail "refused operations changed the data of nobodyx, nobody@example.org or nobod: $(diff "$T/n0" "$T/n1")"
	# ... and each works for nobody itself, also written NOBODY
	for u in nobody NOBODY; do
		echo "$ops" | while read -r op; do
			run_as "$u" "$op"
			expect_rc 0 $? "nobody: $op, U = $u: $(cat "$T/act.err")"
		done || exit 1
	done
	chmod 700 "$T"
else
	echo "note: not root: acting-for-yourself checks not run"
fi

# 7. unusable input and a busy store (--stdout: section 11)
printf '' | es --user bob@example.net --classify >/dev/null 2>&1; expect_rc 65 $? "empty message"
(printf 'BEGIN EXCLUSIVE;\nSELECT 1;\n'; sleep 3; printf 'COMMIT;\n') | sqlite3 "$DB" >/dev/null &
lock=$!
sleep 1
ham 500 | es --user bob@example.net --class=innocent --source=corpus >/dev/null 2>"$T/busy"
rc=$?
wait $lock
expect_rc 75 $rc "store locked: $(cat "$T/busy")"

# 8. stats and preferences
es stats bob@example.net > "$T/stats" || fail "stats"
grep -q 'bob@example.net' "$T/stats" || fail "stats lacks bob: $(cat "$T/stats")"
es user bob@example.net set trainingMode toe || fail "user set"
es user bob@example.net show | grep -q 'trainingMode.*toe' || fail "user show"
es user bob@example.net set trainingMode nonsense >/dev/null 2>&1 && fail "bad trainingMode accepted"
es domain example.net set opt-out || fail "domain set"
es domain example.net show | grep -q 'opt-out' || fail "domain show"
es domain example.net set maybe >/dev/null 2>&1 && fail "bad policy accepted"
es purge > "$T/purge" || fail "purge"

# 9. sender allow and block lists
lists() { sqlite3 "$DB" "select pattern, kind from edgespam_sender_list where uid = (select uid from dspam_virtual_uids where username = '$1') order by pattern" | tr '\n' ' '; }
es user allow bob@example.net 'Friend@Pals.Example' > "$T/l1" || fail "user allow: $(cat "$T/l1")"
grep -q 'friend@pals.example added to the allow list' "$T/l1" || fail "allow output: $(cat "$T/l1")"
es user block Bob+x@Example.NET '@spam.example' >/dev/null || fail "user block @domain"
es user block bob@example.net '*.Junk.Example' >/dev/null || fail "user block *.domain"
[ "$(lists bob@example.net)" = "*.junk.example|block @spam.example|block friend@pals.example|allow " ] ||
	fail "stored lists: $(lists bob@example.net)"
es user list bob@example.net > "$T/l2" || fail "user list"
printf 'block *.junk.example\nblock @spam.example\nallow friend@pals.example\n' | cmp -s - "$T/l2" ||
	fail "user list output: $(cat "$T/l2")"
# the older word order works too, and a pattern moves between lists
es user bob@example.net allow '@spam.example' > "$T/l3" || fail "user USER allow"
grep -q 'moved from the block list' "$T/l3" || fail "move not reported: $(cat "$T/l3")"
es user unallow bob@example.net '@spam.example' >/dev/null || fail "unallow"
es user unblock bob@example.net '@spam.example' >/dev/null 2>"$T/l4"
expect_rc 65 $? "unblock of a pattern not on the block list"
grep -q 'not on the block list' "$T/l4" || fail "unblock message: $(cat "$T/l4")"
es user unblock bob@example.net '*.junk.example' >/dev/null || fail "unblock"
[ "$(lists bob@example.net)" = "friend@pals.example|allow " ] || fail "after removals: $(lists bob@example.net)"
# bad patterns: usage, message naming the pattern, nothing stored
for p in '*@x.example' 'bob*@x.example' 'x.example' '@bad..example' ''; do
	es user block bob@example.net "$p" >/dev/null 2>"$T/l5"
	expect_rc 64 $? "bad pattern '$p'"
	grep -qF "pattern \"$p\"" "$T/l5" || fail "bad pattern '$p': message $(cat "$T/l5")"
done
[ "$(lists bob@example.net)" = "friend@pals.example|allow " ] || fail "a bad pattern was stored: $(lists bob@example.net)"
es user list nosuch@example.net >/dev/null 2>&1; expect_rc 67 $? "list of an unknown user"
es user allow bob@example.net >/dev/null 2>&1; expect_rc 64 $? "allow without a pattern"
es user list >/dev/null 2>&1; expect_rc 64 $? "list without a user"
es user bob@example.net block >/dev/null 2>&1; expect_rc 64 $? "USER block without a pattern"
# the alias pipe: the forwarded message's original sender, exact address
fwd_attached() {
	printf 'From: Bob <bob@example.net>\nTo: bob-block@example.net\nSubject: Fwd: offer\n'
	printf 'MIME-Version: 1.0\nContent-Type: multipart/mixed; boundary="zz"\n\n'
	printf -- '--zz\nContent-Type: text/plain\n\nblock this one please\n'
	printf -- '--zz\nContent-Type: message/rfc822\n\n'
	spam 600
	printf -- '--zz--\n'
}
fwd_attached | es --user bob@example.net --block-sender > "$T/p1" 2>&1 || fail "--block-sender: $(cat "$T/p1")"
[ "$(lists bob@example.net)" = "friend@pals.example|allow promo600@cheap-pills.biz|block " ] ||
	fail "--block-sender stored: $(lists bob@example.net)"
{ printf 'Resent-From: bob@example.net\n'; ham 601; } | es --user bob@example.net --allow-sender >/dev/null ||
	fail "--allow-sender on a redirected message"
printf 'From: bob@example.net\nSubject: Fwd: hi\n\nsee below\n\n-------- Forwarded Message --------\nFrom: Carol <Carol@Friends.Example>\nSubject: hi\n\nhello\n' |
	es --user bob@example.net --allow-sender >/dev/null || fail "--allow-sender on an inline forward"
[ "$(lists bob@example.net)" = "alice601@example.org|allow carol@friends.example|allow friend@pals.example|allow promo600@cheap-pills.biz|block " ] ||
	fail "--allow-sender stored: $(lists bob@example.net)"
ham 602 | es --user bob@example.net --allow-sender >/dev/null 2>"$T/p2"
expect_rc 65 $? "--allow-sender on a message that forwards nothing"
grep -q 'no original sender' "$T/p2" || fail "--allow-sender message: $(cat "$T/p2")"
es --user bob@example.net --allow-sender < /dev/null >/dev/null 2>&1; expect_rc 65 $? "--allow-sender on empty input"
# a list change with a message option it would ignore, or both lists
l0=$(lists bob@example.net)
for o in --addspam --falsepositive --class=spam --classify --stdout --allow-sender; do
	fwd_attached | es --user bob@example.net --block-sender "$o" >/dev/null 2>&1
	expect_rc 64 $? "--block-sender $o"
done
[ "$(lists bob@example.net)" = "$l0" ] || fail "a refused --block-sender changed the lists: $(lists bob@example.net)"
(printf 'BEGIN EXCLUSIVE;\nSELECT 1;\n'; sleep 3; printf 'COMMIT;\n') | sqlite3 "$DB" >/dev/null &
lock=$!
sleep 1
fwd_attached | es --user bob@example.net --allow-sender >/dev/null 2>"$T/p3"
rc=$?
wait $lock
expect_rc 75 $rc "--allow-sender with the store locked: $(cat "$T/p3")"
if [ "$(id -u)" -eq 0 ] && command -v setpriv >/dev/null; then
	chmod 1777 "$T"
	fwd_attached | setpriv --reuid=65534 --regid=65534 --clear-groups "$ES" -c "$T/es.conf" --user bob@example.net --allow-sender >/dev/null 2>&1
	expect_rc 77 $? "untrusted caller changing bob's list by pipe"
	setpriv --reuid=65534 --regid=65534 --clear-groups "$ES" -c "$T/es.conf" user allow bob@example.net x@y.example >/dev/null 2>&1
	expect_rc 77 $? "untrusted caller changing bob's list"
	setpriv --reuid=65534 --regid=65534 --clear-groups "$ES" -c "$T/es.conf" user allow nobody x@y.example >/dev/null 2>&1
	expect_rc 0 $? "nobody changing its own list"
	chmod 700 "$T"
fi
es --help | grep -q -- '--allow-sender' || fail "--help lacks --allow-sender"
# 10. the shared dictionary: fed as --user @global, read for a new user
train_pair es @global 12
es stats @global > "$T/gstats" || fail "stats @global"
grep -q '^@global  *12  *12 ' "$T/gstats" || fail "stats @global: $(cat "$T/gstats")"
snapg() { sqlite3 "$DB" "select token, spam_hits, innocent_hits, weight from dspam_token_data where uid = (select uid from dspam_virtual_uids where username = '@global') order by token; select * from dspam_stats where uid = (select uid from dspam_virtual_uids where username = '@global')" > "$1"; }
snapg "$T/g0"
out=$(spam 600 | es --user dave@example.net --classify) || fail "classify for dave"
echo "$out" | grep -q 'result="Spam".*; dictionary="shared"; user-weight=0.00$' || fail "dave's first spam: $out"
spam 601 | es --user dave@example.net --stdout --deliver=innocent,spam > "$T/dave.eml" || fail "--stdout for dave"
grep -q '^X-DSPAM-Dictionary: shared; user-weight=0.00$' "$T/dave.eml" || fail "no X-DSPAM-Dictionary: $(grep '^X-DSPAM' "$T/dave.eml")"
grep -q '^X-DSPAM-Result: Spam$' "$T/dave.eml" || fail "dave's spam not Spam"
snapg "$T/g1"
cmp -s "$T/g0" "$T/g1" || fail "classification changed the shared dictionary"
# the dictionary learns from training only, and is no recipient
spam 602 | es --user @global --stdout --deliver=innocent,spam >/dev/null 2>&1
expect_rc 64 $? "--stdout for @global"
out=$(ham 603 | es --user @global --classify) || fail "classify as @global"
echo "$out" | grep -q 'dictionary=' && fail "@global merged with itself: $out"
# a mature user (minimums at 12) stands alone
cp "$T/es.conf" "$T/mature.conf"
conf_set "$T/mature.conf" "shared_spam_min = 12" "shared_innocent_min = 12"
out=$(spam 604 | "$ES" -c "$T/mature.conf" --user bob@example.net --classify) || fail "classify for bob"
echo "$out" | grep -q 'dictionary=' && fail "mature bob used the dictionary: $out"
# corrections feed it only when configured
ham 605 | es --user dave@example.net --class=spam --source=error 2>/dev/null || fail "error training"
snapg "$T/g2"
cmp -s "$T/g0" "$T/g2" || fail "a correction trained the dictionary without shared_learn_corrections"
cp "$T/es.conf" "$T/learn.conf"
conf_set "$T/learn.conf" "shared_learn_corrections = yes"
ham 606 | "$ES" -c "$T/learn.conf" --user dave@example.net --class=spam --source=error 2>/dev/null || fail "error training (learn)"
[ "$(sqlite3 "$DB" "select spam_learned, spam_corpusfed from dspam_stats where uid = (select uid from dspam_virtual_uids where username = '@global')")" = "13|13" ] ||
	fail "shared_learn_corrections: the dictionary did not learn the correction"
# a refused use of the dictionary's name creates nothing
cp "$T/es.conf" "$T/other.conf"
conf_set "$T/other.conf" 'shared_dictionary = @other'
spam 609 | "$ES" -c "$T/other.conf" --user @other --stdout >/dev/null 2>&1
expect_rc 64 $? "--stdout for @other"
[ "$(sqlite3 "$DB" "select count(*) from dspam_virtual_uids where username = '@other'")" -eq 0 ] ||
	fail "a refused --stdout for the dictionary created it"
# no dictionary configured: @global is no user name
cp "$T/es.conf" "$T/nodict.conf"
conf_set "$T/nodict.conf" 'shared_dictionary = ""'
ham 607 | "$ES" -c "$T/nodict.conf" --user @global --class=innocent --source=corpus >/dev/null 2>&1
expect_rc 64 $? "@global without shared_dictionary"
out=$(spam 608 | "$ES" -c "$T/nodict.conf" --user erin@example.net --classify) || fail "classify without dictionary"
echo "$out" | grep -q 'result="Innocent"' || fail "erin without dictionary: $out"

# 11. --stdout never writes less than the message (issue 13): when the
# message cannot be classified, on_error = accept (the default) writes it
# with every X-DSPAM-* field removed and nothing else changed, exit 0;
# on_error = tempfail writes nothing, exit 75. Store open failure, a busy
# store, a store error while learning, the engine out of memory, an
# empty and an oversized message; usage and permission errors keep 64
# and 77.
fmsg() {
	printf 'X-DSPAM-Result: Innocent\r\nFrom: Carol <carol@example.org>\r\n'
	printf 'x-Dspam-Signature: 0123\r\n\tcontinued\r\nSubject: lunch\r\nX-DSPAM-Factors: 2,\r\n a, 0.1\r\n\r\n'
	printf 'See you at noon.\r\nX-DSPAM-Result: Spam is body text here\r\n'
}
fwant() {
	printf 'From: Carol <carol@example.org>\r\nSubject: lunch\r\n\r\n'
	printf 'See you at noon.\r\nX-DSPAM-Result: Spam is body text here\r\n'
}
fmsg > "$T/f.eml"
fwant > "$T/f.want"
# passes CONF WHAT [MESSAGE] - --stdout with CONF must exit 0 and write
# the message (default f.eml) with its X-DSPAM-* fields removed
passes() {
	"$ES" -c "$1" --user bob@example.net --stdout --deliver=innocent,spam < "${3:-$T/f.eml}" > "$T/p.out" 2> "$T/p.err"
	expect_rc 0 $? "$2 (on_error = accept): $(cat "$T/p.err")"
	cmp -s "${4:-$T/f.want}" "$T/p.out" || fail "$2: not the message without its X-DSPAM-* fields: $(od -c "$T/p.out" | head -n 12)"
	grep -q 'passed unfiltered.*on_error = accept' "$T/p.err" || fail "$2: no reason on stderr: $(cat "$T/p.err")"
}
# defers CONF WHAT [MESSAGE] - the same with on_error = tempfail: 75 and
# no output
defers() {
	"$ES" -c "$1" --user bob@example.net --stdout --deliver=innocent,spam < "${3:-$T/f.eml}" > "$T/d.out" 2> "$T/d.err"
	expect_rc 75 $? "$2 (on_error = tempfail): $(cat "$T/d.err")"
	[ -s "$T/d.out" ] && fail "$2 (on_error = tempfail) wrote: $(head -c 300 "$T/d.out")"
	grep -q 'on_error = tempfail' "$T/d.err" || fail "$2: no reason on stderr: $(cat "$T/d.err")"
}
# a. the store cannot be opened
printf 'store_path = %s/no/such/dir/es.db\n' "$T" > "$T/noopen.conf"
passes "$T/noopen.conf" "store open failure"
grep -q 'cannot open the store' "$T/p.err" || fail "store open failure: reason: $(cat "$T/p.err")"
cp "$T/noopen.conf" "$T/noopen-t.conf"; echo 'on_error = tempfail' >> "$T/noopen-t.conf"
defers "$T/noopen-t.conf" "store open failure"
# b. the store busy (locked by another writer) while processing
cp "$T/es.conf" "$T/tf.conf"; echo 'on_error = tempfail' >> "$T/tf.conf"
(printf 'BEGIN EXCLUSIVE;\nSELECT 1;\n'; sleep 3; printf 'COMMIT;\n') | sqlite3 "$DB" >/dev/null &
lock=$!
sleep 1
passes "$T/es.conf" "busy store"
defers "$T/tf.conf" "busy store"
wait $lock
# c. a store error while learning (a trigger refuses every token write)
cp "$DB" "$T/trig.db"
sqlite3 "$T/trig.db" "CREATE TRIGGER no_tokens BEFORE INSERT ON dspam_token_data BEGIN SELECT RAISE(ABORT, 'planted token write failure'); END;" ||
	fail "planting the trigger"
printf 'store_path = %s/trig.db\n' "$T" > "$T/trig.conf"
passes "$T/trig.conf" "store error while learning"
grep -q 'planted token write failure' "$T/p.err" || fail "store error: reason: $(cat "$T/p.err")"
echo 'on_error = tempfail' >> "$T/trig.conf"
defers "$T/trig.conf" "store error while learning"
# d. the engine out of memory: a message of 300,000 distinct words whose
# million OSB tokens need far more than the 120 MB of address space it
# gets, while an ordinary message works within it
printf 'store_path = %s/es.db\ntokenizer = osb\nmax_tokens = 1000000\nfactors = 100\nmax_scan_bytes = 268435456\n' "$T" > "$T/oom.conf"
{ fmsg; awk 'BEGIN { for (i = 0; i < 300000; i++) printf "w%06d%s", i, (i % 10 == 9) ? "\r\n" : " " }'; } > "$T/oom.eml"
{ fwant; awk 'BEGIN { for (i = 0; i < 300000; i++) printf "w%06d%s", i, (i % 10 == 9) ? "\r\n" : " " }'; } > "$T/oom.want"
( ulimit -v 120000 && ham 700 | "$ES" -c "$T/oom.conf" --user bob@example.net --stdout > "$T/small.out" 2>&1 ) ||
	fail "an ordinary message within 120 MB of address space (an ASan build cannot run this): $(cat "$T/small.out")"
grep -q '^X-DSPAM-Result: ' "$T/small.out" || fail "the ordinary message within 120 MB was not classified: $(head -n 20 "$T/small.out")"
( ulimit -v 120000 && passes "$T/oom.conf" "engine out of memory" "$T/oom.eml" "$T/oom.want" ) || exit 1
grep -q 'out of memory' "$T/p.err" || fail "engine out of memory: reason: $(cat "$T/p.err")"
echo 'on_error = tempfail' >> "$T/oom.conf"
( ulimit -v 120000 && defers "$T/oom.conf" "engine out of memory" "$T/oom.eml" ) || exit 1
# e. an empty message (passes as the empty message) and one past the
# 256 MiB the CLI holds (the rest streams through unchanged)
: > "$T/empty.eml"
passes "$T/es.conf" "empty message" "$T/empty.eml" "$T/empty.eml"
defers "$T/tf.conf" "empty message" "$T/empty.eml"
big() { "$1"; head -c 270000000 /dev/zero | tr '\0' 'x'; }
want_sum=$(big fwant | cksum)
got_sum=$( { big fmsg | es --user bob@example.net --stdout --deliver=innocent,spam 2> "$T/big.err"; echo $? > "$T/big.rc"; } | cksum)
expect_rc 0 "$(cat "$T/big.rc")" "a message past 256 MiB: $(cat "$T/big.err")"
[ "$got_sum" = "$want_sum" ] || fail "a message past 256 MiB: output $got_sum, want $want_sum (cksum)"
grep -q 'larger than' "$T/big.err" || fail "a message past 256 MiB: reason: $(cat "$T/big.err")"
# f. with a training option --stdout writes the trained message
es --user bob@example.net --class=innocent --source=corpus --stdout < "$T/f.eml" > "$T/t.out" 2>&1 || fail "--stdout with training: $(cat "$T/t.out")"
cmp -s "$T/f.want" "$T/t.out" || fail "--stdout with training: not the message: $(head -n 10 "$T/t.out")"
# g. usage and permission errors keep their codes and write nothing
es --user bob@example.net --stdout --deliver=spam < "$T/f.eml" > "$T/u.out" 2>/dev/null
expect_rc 64 $? "--stdout --deliver=spam"
[ -s "$T/u.out" ] && fail "a usage error wrote output"
if [ "$(id -u)" -eq 0 ] && command -v setpriv >/dev/null; then
	chmod 755 "$T" # nobody reads the configuration
	setpriv --reuid=65534 --regid=65534 --clear-groups "$ES" -c "$T/noopen.conf" --user bob@example.net --stdout < "$T/f.eml" > "$T/u.out" 2>/dev/null
	expect_rc 77 $? "--stdout for bob by an untrusted caller"
	chmod 700 "$T"
	[ -s "$T/u.out" ] && fail "a permission error wrote output"
fi
# 12. user show: every setting with where it comes from, the policy, and
#     "filtered: yes" or "filtered: no (why)" as the milter decides it
#     (checked against the milter itself on the same store), also for a
#     user the store does not know yet; learned totals as stats shows
#     them; the shared dictionary's part
MILTER=${BUILD:-build}/edgespam-milter
MILTC=${BUILD:-build}/tools/miltc
[ -x "$MILTER" ] && [ -x "$MILTC" ] || fail "user show: $MILTER and $MILTC are needed (make all)"
S=$T/show
mkdir -p "$S"
MPID=""
trap '[ -n "$MPID" ] && kill "$MPID" 2>/dev/null; rm -rf "$T"' EXIT INT TERM
milter_conf "$S/es.conf" "$S/m.sock" "store_path = $S/es.db" \
    "store_busy_timeout_ms = 500" "default_policy = opt-in" \
    "log_level = info" "spam_threshold = 0.99" "signature_location = both"
ss() { "$ES" -c "$S/es.conf" "$@"; }
# show_has USER PATTERN... - "user USER show" succeeds and has a line
# matching each PATTERN
show_has() {
	_u=$1
	shift
	out=$(ss user "$_u" show 2>&1) || fail "user $_u show: $out"
	for _p in "$@"; do
		out_has "$_p" "user $_u show: no line like '$_p'"
	done
}
users() { sqlite3 "$S/es.db" "select count(*) from dspam_virtual_uids where username = '$1'"; }
# a. a user the store does not know: said so, and still decided
show_has fresh@in.example '^user: fresh@in.example (not in the store yet' \
    '^policy *= opt-in *default_policy: configuration (default_policy = opt-in); domain in.example has no policy of its own$' \
    '^filtered: no (default_policy opt-in, user preference optIn not set)$' \
    '^optIn *= (not set) *not set$' '^spamAction *= tag *built-in$' \
    '^signatureLocation *= both *configuration (signature_location = both)$' \
    '^trainingMode *= teft *built-in$' \
    '^spamThreshold *= 0.99 *configuration (spam_threshold = 0.99)$' \
    '^whitelistThreshold *= 10 *built-in$' '^minTraining *= 10 *built-in$' \
    '^fresh@in.example  *0  *0  *0  *0  *0  *0  *-$' \
    '^spam threshold now: 0.5 (spamThreshold 0.99, ramped over the 0 messages learned: threshold_ramp = 25; nothing is called Spam before 10 of each class are learned (minTraining))$' \
    '^shared dictionary: no (the user is young, weight 0.00, but @global is not in the store)$'
[ "$(users fresh@in.example)" = 0 ] || fail "user show created the user"
# b. opted in under an opt-in domain; opted out under opt-out; off
ss domain in.example set opt-in && ss domain out.example set opt-out &&
	ss domain off.example set off || fail "show: domain set"
ss user bob@in.example opt-in && ss user carol@out.example opt-out &&
	ss user dave@off.example opt-in || fail "show: user opt-in/out"
show_has bob@in.example '^user: bob@in.example (uid [0-9]*)$' \
    '^policy *= opt-in *domain in.example (edgespam domain)$' \
    '^filtered: yes$' '^optIn *= on *user$' '^optOut *= (not set) *not set$'
show_has carol@out.example '^policy *= opt-out *domain out.example' \
    '^filtered: no (domain out.example is opt-out, user preference optOut on)$' \
    '^optOut *= on *user$'
show_has frank@out.example '^filtered: yes$' '(not in the store yet'
show_has dave@off.example '^filtered: no (domain off.example is off)$'
show_has Bob-Spam+x@In.Example '^filtered: no (retrain alias of bob@in.example)$'
show_has postmaster '^filtered: no (postmaster)$'
# c. the user's preference over uid 0's default over the configuration;
#    an unusable value is named and does not count; uid 0's optIn is
#    not used
sqlite3 "$S/es.db" "insert into dspam_preferences values (0, 'spamThreshold', '0.98'), (0, 'signatureLocation', 'message'), (0, 'trainingMode', 'bogus'), (0, 'optIn', 'on')" || fail "uid 0 defaults"
show_has bob@in.example '^spamThreshold *= 0.98 *default (uid 0)$' \
    '^signatureLocation *= message *default (uid 0)$' \
    "^trainingMode *= teft *built-in; uid 0's value 'bogus' is not usable and is ignored\$"
show_has fresh@in.example '^spamThreshold *= 0.98 *default (uid 0)$' \
    "^optIn *= (not set) *not set; uid 0's optIn = on is not used" \
    '^filtered: no (domain in.example is opt-in, user preference optIn not set)$'
ss user bob@in.example set spamThreshold 0.97 && ss user bob@in.example set signatureLocation headers &&
	ss user bob@in.example set trainingMode toe || fail "show: user set"
ss user bob@in.example set color blue 2>/dev/null || fail "show: user set color"
show_has bob@in.example '^spamThreshold *= 0.97 *user$' \
    '^signatureLocation *= headers *user$' '^trainingMode *= toe *user$' \
    '^minTraining *= 10 *built-in$' '^  color = blue$'
# d. learned totals as "stats" shows them; the shared dictionary takes
#    part for a young user once it has learned both classes
train_pair ss bob@in.example 2
# the threshold the scorer uses now: logistic(logit(0.97) * 4 / (4 + 25))
show_has bob@in.example '^spam threshold now: 0.6176 (spamThreshold 0.97, ramped over the 4 messages learned: threshold_ramp = 25; nothing is called Spam before 10 of each class'
ss stats bob@in.example > "$S/stats" || fail "show: stats"
ss user bob@in.example show > "$S/show.out" || fail "show after training"
grep -qxF "$(sed -n 2p "$S/stats")" "$S/show.out" || fail "show: totals not as stats shows them: $(cat "$S/stats" "$S/show.out")"
ham 1 | ss --user @global --class=innocent --source=corpus && spam 1 | ss --user @global --class=spam --source=corpus || fail "show: train @global"
show_has bob@in.example '^shared dictionary: yes (@global takes part, user weight 0.00: 2 of 250 spam, 2 of 1000 innocent learned; Spam threshold 0.850'
if command -v python3 >/dev/null; then
	ss user carol@out.example show --json | python3 -c '
import json, sys
d = json.load(sys.stdin)
assert d["filtered"] is False, d
assert d["why"] == "domain out.example is opt-out, user preference optOut on", d
assert d["settings"]["optOut"] == {"value": "on", "source": "user"}, d
assert d["settings"]["optIn"]["value"] is None, d
assert d["shared_dictionary"]["takes_part"] is True, d' || fail "user show --json"
fi
# e. the same decision and words as the milter, for the same store: one
#    message to each recipient (the alias from its owner), the milter's
#    verdict (X-DSPAM-Result added) or its "not filtered (why)" line
milter_start "$S/es.conf" "$S/m.sock" "$S/milter.log"
ham 900 > "$S/ham.eml"
n=0
for r in fresh@in.example bob@in.example carol@out.example frank@out.example \
    dave@off.example erin@nowhere.example bob-spam@in.example; do
	n=$((n + 1))
	cli=$(ss user "$r" show | sed -n 's/^filtered: //p')
	out=$("$MILTC" -s "unix:$S/m.sock" -t 20 -i "QSHOW$n" -a bob -f a@example.com -r "$r" -m "$S/ham.eml") || fail "show: miltc $r: $out"
	out_has "^rcpt $r continue" "show: the milter did not take $r"
	if echo "$out" | grep -q '^mod addheader X-DSPAM-Result: '; then
		mil=yes
	else
		mil=$(sed -n "s/.*QSHOW$n: recipient [^ ]*: not filtered /no /p" "$S/milter.log")
	fi
	[ -n "$cli" ] && [ "$cli" = "$mil" ] || fail "show: $r: edgespam user show says '$cli', the milter did '$mil'"
done
kill "$MPID" && wait "$MPID"
MPID=""
pass
