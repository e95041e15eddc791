#!/bin/sh
# test_cli.sh - the edgespam program end to end on a SQLite store:
# training and classification, --stdout output, corrections through the
# signature (counts restored exactly), the trust list, exit codes and
# configuration errors.
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

# 9. the shared dictionary: fed as --user @global, read for a new user
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
# no dictionary configured: @global is no user name
cp "$T/es.conf" "$T/nodict.conf"
conf_set "$T/nodict.conf" 'shared_dictionary = ""'
ham 607 | "$ES" -c "$T/nodict.conf" --user @global --class=innocent --source=corpus >/dev/null 2>&1
expect_rc 64 $? "@global without shared_dictionary"
out=$(spam 608 | "$ES" -c "$T/nodict.conf" --user erin@example.net --classify) || fail "classify without dictionary"
echo "$out" | grep -q 'result="Innocent"' || fail "erin without dictionary: $out"
pass
