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
cat > "$T/es.conf" <<EOC
store_path = $DB
store_busy_timeout_ms = 200
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

# 7. unusable input and a busy store
printf '' | es --user bob@example.net --classify >/dev/null 2>&1; expect_rc 65 $? "empty message"
(printf 'BEGIN EXCLUSIVE;\nSELECT 1;\n'; sleep 3; printf 'COMMIT;\n') | sqlite3 "$DB" >/dev/null &
lock=$!
sleep 1
ham 500 | es --user bob@example.net --stdout --deliver=innocent,spam >/dev/null 2>"$T/busy"
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
pass
