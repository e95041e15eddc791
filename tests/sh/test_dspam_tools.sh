#!/bin/sh
# test_dspam_tools.sh - what a DSPAM admin brings along (issue 17):
# DSPAM's preference values (trainingMode in any case, spamAction
# quarantine, Algorithm graham burton), the uid-0 defaults as
# "@default", and the tools: train (dspam_train: Maildir, directory,
# mbox; its alternation), dump (dspam_dump), merge (dspam_merge) and
# stats with dspam_stats' flags (-H -S -t -r -s) and --json.
set -u
. tests/sh/lib.sh

ES=${BUILD:-build}/edgespam
[ -x "$ES" ] || skip "$ES not built"
command -v sqlite3 >/dev/null || skip "sqlite3 not installed"
command -v python3 >/dev/null || skip "python3 not installed (JSON check)"
T=$(mktemp -d "${TMPDIR:-/tmp}/edgespam-dspamtools.XXXXXX")
trap 'rm -rf "$T"' EXIT INT TERM
DB=$T/es.db
cat > "$T/es.conf" <<EOC
store_path = $DB
store_busy_timeout_ms = 200
retrain_socket = ""
user = ""
tokenizer = word
algorithm = graham burton
spam_threshold = 0.9
min_training = 2
EOC
es() { "$ES" -c "$T/es.conf" "$@"; }
q() { sqlite3 "$DB" "$1"; }

# 1. DSPAM's preference values
es --check-config >/dev/null || fail "algorithm = graham burton refused"
printf 'user = ""\nalgorithm = graham robinson\n' > "$T/bad.conf"
out=$("$ES" -c "$T/bad.conf" --check-config 2>&1); expect_rc 78 $? "graham robinson accepted"
out_has "bad.conf:2: .*graham robinson" "no file:line for a bad algorithm"
for v in TEFT toe Tum NOTRAIN; do
	es user bob@example.org set trainingMode "$v" || fail "trainingMode $v refused"
done
out=$(es user bob@example.org set trainingMode sometimes 2>&1); expect_rc 64 $? "bad trainingMode"
out_has "any case" "the error does not say which values"
es user bob@example.org set trainingMode TOE
out=$(es user bob@example.org show) || fail "show"
out_has '^trainingMode *= toe *user$' "trainingMode TOE not read as toe"
es user bob@example.org set spamAction quarantine || fail "spamAction quarantine refused"
out=$(es user bob@example.org show)
out_has "^spamAction *= quarantine .*DSPAM's quarantine: acts as tag" "quarantine not shown as tag"
out=$(es user bob@example.org set spamAction bounce 2>&1); expect_rc 64 $? "bad spamAction"
es user bob@example.org unset spamAction
es user bob@example.org unset trainingMode

# 2. the uid-0 defaults as @default
out=$(es user @default show) || fail "@default show: $out"
out_has "uid 0" "@default show does not say uid 0"
out_has "(none set)" "@default show on an empty store"
es user @default set trainingMode TUM || fail "@default set"
es user @default set spamAction quarantine || fail "@default set spamAction"
[ "$(q "select value from dspam_preferences where uid = 0 and preference = 'trainingMode'")" = TUM ] ||
	fail "@default set did not write uid 0"
out=$(es user @default show)
out_has '^  trainingMode *= TUM$' "@default show: $out"
es user @default show --json | python3 -c '
import json, sys
d = json.load(sys.stdin)
assert d["uid"] == 0, d
assert {"key": "trainingMode", "value": "TUM", "usable": True} in d["preferences"], d
' || fail "@default show --json"
out=$(es user bob@example.org show)
out_has '^trainingMode *= tum *default (uid 0)$' "uid 0's TUM not the user's default"
out=$(es user @default opt-in 2>&1); expect_rc 64 $? "@default opt-in"
out=$(es user @default set optIn on 2>&1); expect_rc 64 $? "@default set optIn"
out_has "per user" "@default set optIn: no reason given"
es user @default unset trainingMode || fail "@default unset"
es user @default unset spamAction
[ "$(q "select count(*) from dspam_preferences where uid = 0")" = 0 ] || fail "@default unset left rows"

# 3. train: a Maildir, a plain directory and an mbox, alternating
mkdir -p "$T/md/cur" "$T/md/new" "$T/md/tmp" "$T/hamdir"
for i in 1 2 3; do spam "$i" > "$T/md/cur/$i.eml"; done
spam 4 > "$T/md/new/4.eml"
for i in 1 2 3 4 5 6; do ham "$i" > "$T/hamdir/m$i"; done
: > "$T/hamdir/.hidden"
{
	# Pine's pseudo message first: dspam_train leaves it out
	printf 'From MAILER-DAEMON Mon Jan  1 00:00:00 2024\n'
	printf "Subject: DON'T DELETE THIS MESSAGE -- FOLDER INTERNAL DATA\n\nx\n\n"
	for i in 7 8; do
		printf 'From alice@example.org Mon Jan  1 00:00:00 2024\n'
		ham "$i"
		printf '>From the mbox, quoted\n\n'
	done
} > "$T/ham.mbox"
es train carol@example.org --spam "$T/md" --innocent "$T/hamdir" \
	--innocent "$T/ham.mbox" --verbose > "$T/train.out" 2> "$T/train.err" ||
	fail "train: $(cat "$T/train.out" "$T/train.err")"
out=$(cat "$T/train.out")
out_has "^train: carol@example.org: 12 messages (4 spam, 8 innocent) in .* msg/s (.* per CPU second); corrected" "summary"
# dspam_train's order for 8 innocent and 4 spam: innocent first; a turn
# takes one message, then as many more as floor(left / other's left) - 1
# -> n s nn s nn s nn s n
order=$(sed -n 's/^\[test: \(.\).*/\1/p' "$T/train.out" | tr -d '\n')
[ "$order" = "nsnnsnnsnnsn" ] || fail "train order $order: $(cat "$T/train.out")"
grep -c '^\[test: nonspam\] .*ham.mbox#' "$T/train.out" | grep -qx 2 || fail "mbox messages: $out"
[ "$(q "select spam_learned + spam_classified, innocent_learned + innocent_classified from dspam_stats s join dspam_virtual_uids u on u.uid = s.uid where username = 'carol@example.org'")" = "4|8" ] ||
	fail "totals after train: $(q 'select * from dspam_stats')"
# the quoted line reached the tokenizer unquoted: the word "mbox," with
# innocent hits (From-quoting removed), and no token of the Pine text
es dump carol@example.org DELETE 2>/dev/null && fail "the Pine pseudo message was trained"
# an mbox message, then a file, then a shorter mbox message that still
# exceeds the file's buffer: the text buffer reused across messages must
# be as large as it claims (an ASan build of the old code overflowed it)
big() { # big N LINES: a ham with LINES lines of text
	ham "$1"
	awk -v n="$2" 'BEGIN { for (i = 0; i < n; i++) printf "line L%d of the long quarterly report, please review it\n", i }'
}
{ printf 'From a@example.org Mon Jan  1 00:00:00 2024\n'; big 60 2000
  printf '\nFrom a@example.org Mon Jan  1 00:00:00 2024\n'; big 61 1700; } > "$T/big.mbox"
mkdir -p "$T/small"
spam 60 > "$T/small/1"
spam 61 > "$T/small/2"
out=$(es train frank@example.org --spam "$T/small" --innocent "$T/big.mbox" 2>&1) || fail "train big mbox: $out"
out_has "4 messages (2 spam, 2 innocent)" "train big mbox: $out"
[ "$(es dump frank@example.org L1699 L1999 | sed -n 's/.* I: \([0-9]*\) .*/\1/p' | tr '\n' ' ')" = "00002 00001 " ] ||
	fail "the long messages were not learned whole: $(es dump frank@example.org L1699 L1999 2>&1)"
# batches (one commit for many messages) count exactly as one
# transaction per message (--batch=1, the engine's own path)
mkdir -p "$T/bs" "$T/bh"
i=1
while [ $i -le 40 ]; do
	spam "b$i" > "$T/bs/$i"
	ham "b$i" > "$T/bh/$i"
	i=$((i + 1))
done
es train batch@example.org --spam "$T/bs" --innocent "$T/bh" --batch=7 > "$T/b7.out" || fail "train --batch=7"
es train single@example.org --spam "$T/bs" --innocent "$T/bh" --batch=1 > "$T/b1.out" || fail "train --batch=1"
rows() { q "select token, spam_hits, innocent_hits, weight from dspam_token_data t join dspam_virtual_uids u on u.uid = t.uid where username = '$1' order by token"; }
rows batch@example.org > "$T/b7.rows"
rows single@example.org > "$T/b1.rows"
[ -s "$T/b7.rows" ] && cmp -s "$T/b7.rows" "$T/b1.rows" ||
	fail "batched training differs from one transaction per message: $(diff "$T/b1.rows" "$T/b7.rows" | head -5)"
tot() { q "select spam_learned, innocent_learned, spam_misclassified, innocent_misclassified, spam_classified, innocent_classified from dspam_stats s join dspam_virtual_uids u on u.uid = s.uid where username = '$1'"; }
[ "$(tot batch@example.org)" = "$(tot single@example.org)" ] ||
	fail "batched totals $(tot batch@example.org), want $(tot single@example.org)"
sed 's/batch@/X@/; s/ in .*;/;/' "$T/b7.out" > "$T/b7.sum"
sed 's/single@/X@/; s/ in .*;/;/' "$T/b1.out" > "$T/b1.sum"
cmp -s "$T/b7.sum" "$T/b1.sum" || fail "summaries differ: $(cat "$T/b7.out" "$T/b1.out")"
grep -q 'corrected [1-9]' "$T/b1.out" || fail "no verdict was wrong: the one-message path went untested: $(cat "$T/b1.out")"
out=$(es train x@example.org --spam "$T/bs" --innocent "$T/bh" --batch=0 2>&1); expect_rc 64 $? "--batch=0"
# a missing path is refused before anything is trained
out=$(es train carol@example.org --spam "$T/nope" --innocent "$T/hamdir" 2>&1); expect_rc 66 $? "missing path"
out_has "nope" "the missing path is not named"
# on a terminal: the progress bar
if script -qec "true" /dev/null >/dev/null 2>&1; then
	script -qec "$ES -c $T/es.conf train dave@example.org --spam $T/md --innocent $T/hamdir" "$T/tty.log" >/dev/null 2>&1 ||
		fail "train on a terminal: $(cat "$T/tty.log")"
	grep -q 'train: \[##############################\] 100% 10/10' "$T/tty.log" ||
		fail "no progress bar: $(cat "$T/tty.log")"
fi

# 4. dump: every row as dspam_dump prints it, and single tokens
es dump carol@example.org > "$T/dump" || fail "dump"
[ "$(wc -l < "$T/dump")" = "$(q "select count(*) from dspam_token_data t join dspam_virtual_uids u on u.uid = t.uid where username = 'carol@example.org'")" ] ||
	fail "dump rows differ from the table"
grep -vqE '^[0-9]+ +S: [0-9]{5}  I: [0-9]{5}  P: [01]\.[0-9]{4} LH: [A-Z][a-z]{2} [A-Z][a-z]{2} [ 0-9][0-9] 00:00:00 [0-9]{4}$' "$T/dump" &&
	fail "a dump line not in dspam_dump's form: $(grep -vE 'LH:' "$T/dump" | head -3)"
# "viagra" is DSPAM's id 6625426497525293056 (DSPAM-COMPAT.md)
out=$(es dump carol@example.org viagra) || fail "dump viagra"
out_has '^6625426497525293056  S: 00004  I: 00000  P: 0\.[0-9]\{4\}$' "dump viagra"
out=$(es dump carol@example.org 6625426497525293056) || fail "dump by id"
out_has '^6625426497525293056 ' "dump by id"
out=$(es dump carol@example.org nosuchword 2>&1); expect_rc 1 $? "dump of a missing token"
out_has "token not found" "missing token message"

# 5. merge, as DSPAM 3.10's dspam_merge (src/tools/dspam_merge.c): each
# source's token counts are added to the target's own, which it keeps;
# the sources' learned totals are added to the target's learned totals
# only (its corpusfed, misclassified and classified totals stay its own);
# --as-corpus adds them to its corpusfed totals too
train_pair es erin@example.org 3
train_pair es team@example.org 1
# tot USER - learned, corpusfed, misclassified and classified totals
tot() { q "select spam_learned, innocent_learned, spam_corpusfed, innocent_corpusfed, spam_misclassified, innocent_misclassified, spam_classified, innocent_classified from dspam_stats s join dspam_virtual_uids u on u.uid = s.uid where username = '$1'"; }
hits() { q "select sum(spam_hits), sum(innocent_hits) from dspam_token_data t join dspam_virtual_uids u on u.uid = t.uid where username in ($1)"; }
before=$(hits "'carol@example.org', 'erin@example.org', 'team@example.org'")
tc=$(tot carol@example.org); te=$(tot erin@example.org); tt=$(tot team@example.org)
v0=$(es dump team@example.org viagra) || fail "dump viagra before the merge"
echo "$v0" | grep -q 'S: 00001  I: 00000' || fail "team's own viagra: $v0"
es merge carol@example.org erin@example.org --into team@example.org > "$T/merge.out" 2>&1 || fail "merge: $(cat "$T/merge.out")"
after=$(hits "'team@example.org'")
[ "$before" = "$after" ] || fail "merged counts $after, want the sources' and the target's own $before"
viagra=$(es dump team@example.org viagra) || fail "dump merged"
# carol 4 + erin 3 + the target's own 1
echo "$viagra" | grep -q 'S: 00008  I: 00000' || fail "viagra merged (want S: 8 = 4 + 3 + 1): $viagra"
want=$(echo "$tc $te $tt" | awk -F'[| ]' '{ printf "%d|%d|%d|%d|%d|%d|%d|%d", $1 + $9 + $17, $2 + $10 + $18, $19, $20, $21, $22, $23, $24 }')
[ "$(tot team@example.org)" = "$want" ] ||
	fail "merged totals (learned S I, corpusfed S I, misclassified S I, classified S I): got $(tot team@example.org), want $want (carol $tc, erin $te, team before $tt)"
echo "merge: team's totals $tt + carol $tc + erin $te -> $(tot team@example.org); viagra 1 + 4 + 3 = 8"
es merge erin@example.org --into team2@example.org --as-corpus > "$T/merge2.out" 2>&1 || fail "merge --as-corpus: $(cat "$T/merge2.out")"
want=$(echo "$te" | awk -F'|' '{ printf "%d|%d|%d|%d|0|0|0|0", $1, $2, $1, $2 }')
[ "$(tot team2@example.org)" = "$want" ] || fail "merge --as-corpus: totals $(tot team2@example.org), want $want"
out=$(es merge carol@example.org --into carol@example.org 2>&1); expect_rc 64 $? "merge into a source"
out=$(es merge carol@example.org 2>&1); expect_rc 64 $? "merge without --into"

# 6. stats: dspam_stats' lines and flags, and --json
out=$(es stats -S carol@example.org) || fail "stats -S"
out_has '^carol@example.org  TP: *[0-9]* TN: *[0-9]* FP: *[0-9]* FN: *[0-9]* SC: *0 NC: *0$' "dspam_stats line"
out_has '^ *SHR: *[0-9.]*%  *HSR: *[0-9.]*%  *OCA: *[0-9.]*%$' "-S line"
es stats -t > "$T/t.out" || fail "stats -t"
python3 - "$T/t.out" <<'EOP' || fail "-t TOTAL is not the sum: $(cat "$T/t.out")"
import re, sys
rows = {}
for line in open(sys.argv[1]):
    m = re.match(r'(\S+)\s+TP:\s*(\d+) TN:\s*(\d+) FP:\s*(\d+) FN:\s*(\d+) SC:\s*(\d+) NC:\s*(\d+)', line)
    if m:
        rows[m.group(1)] = list(map(int, m.groups()[1:]))
total = rows.pop("TOTAL")
assert len(rows) >= 4, rows
assert total == [sum(r[i] for r in rows.values()) for i in range(6)], (total, rows)
EOP
out=$(es stats -H carol@example.org)
out_has '^	TL Training Left: *[0-9]*$' "-H lacks TL"
out_has '^	OCA Overall Accuracy: *[0-9.]*%$' "-H lacks OCA"
# -r takes the snapshot, -s shows what came since
es stats -r carol@example.org >/dev/null || fail "stats -r"
out=$(es stats -s carol@example.org)
out_has '^carol@example.org  TP: *0 TN: *0 FP: *0 FN: *0 SC: *0 NC: *0$' "-s right after -r"
ham 50 | es --user carol@example.org --class=innocent --source=corpus
spam 50 | es --user carol@example.org --stdout --deliver=innocent,spam >/dev/null
out=$(es stats -s carol@example.org)
# one classified message (TP or TN, whichever the verdict) and one corpus
echo "$out" | awk '$3 + $5 == 1 && $7 == 0 && $9 == 0 && $11 == 0 && $13 == 1 { ok = 1 } END { exit !ok }' FS='[: ]+' ||
	fail "-s after two messages: $out"
es stats --json -t | python3 -c '
import json, sys
d = json.load(sys.stdin)
names = [u["user"] for u in d["users"]]
assert "carol@example.org" in names and "team@example.org" in names, names
for k in ("TP", "TN", "FP", "FN", "SC", "NC", "TL", "SHR", "HSR", "OCA"):
    assert d["total"][k] == d["total"][k] and k in d["users"][0], k
assert d["total"]["TP"] == sum(u["TP"] for u in d["users"]), d
' || fail "stats --json"
out=$(es stats -x 2>&1); expect_rc 64 $? "unknown stats flag"
# edgespam's own table stays the default
out=$(es stats carol@example.org)
out_has '^user  *spam  *innocent  *TP' "the default table changed"

# 7. import-dspam: a sample dspam.conf and opt-in tree (tests/data/dspam)
D=$PWD/tests/data/dspam
sed "s|@HOME@|$D/home|" "$D/dspam.conf" > "$T/dspam.conf"
q "DELETE FROM dspam_preferences"
out=$(es import-dspam --conf "$T/dspam.conf") || fail "import-dspam dry run: $out"
for want in '^tokenizer = osb  *# .*dspam.conf:18: Tokenizer osb$' \
    '^algorithm = graham-burton  *# .*dspam.conf:17: Algorithm graham burton$' \
    '^spam_threshold = 0.9 ' '^training_mode = teft ' '^bnr = yes ' \
    '^default_policy = opt-in  *# .*dspam.conf:32: Opt in$' \
    '^trusted_users = root dspam mail ' '^store_driver = mysql ' \
    '^mysql_host = 127.0.0.1 ' '^mysql_database = dspam ' \
    '^user @default set spamAction quarantine  *# .*dspam.conf:24: ' \
    '^user @default set trainingMode TEFT ' \
    '^user alice@example.org set optIn on  *# .*/opt-in/example.org/alice.dspam$' \
    '^user bob@example.org set optIn on ' '^user carol@example.net set optIn on ' \
    '^user postmaster set optIn on  *# .*/opt-in/local/postmaster.dspam$' \
    '^user dave@example.org set optOut on ' \
    '^# note: .*dspam.conf:25: Preference spamSubject: not a preference'; do
	out_has "$want" "import-dspam: no line $want"
done
out_lacks 'not-this-one' "import-dspam printed MySQLPass"
out_lacks 'whitelist_threshold' "Feature whitelist was given: no whitelist_threshold = 0"
[ "$(q "select count(*) from dspam_preferences")" = 0 ] || fail "the dry run wrote the store"
out=$(es import-dspam --conf "$T/dspam.conf" --apply) || fail "import-dspam --apply: $out"
out_has '^# applied: 4 default preferences and 5 user preferences' "apply summary"
[ "$(q "select value from dspam_preferences where uid = 0 and preference = 'spamAction'")" = quarantine ] ||
	fail "uid 0's spamAction not written"
out=$(es user bob@example.org show)
out_has '^filtered: yes' "bob opted in by his opt-in file is not filtered"
out=$(es user dave@example.org show)
out_has '^optOut *= on *user$' "dave's opt-out file"
# --userdir overrides Home; without either no opt files are read
sed '/^Home /d' "$T/dspam.conf" > "$T/nohome.conf"
out=$(es import-dspam --conf "$T/nohome.conf")
out_has "has no Home and --userdir was not given" "no Home: not said"
out_lacks '^user alice' "opt files read without a Home"
out=$(es import-dspam --conf "$T/nohome.conf" --userdir "$D/home")
out_has '^user alice@example.org set optIn on' "--userdir not read"
# errors name file:line and the value, and nothing is written
printf 'Tokenizer sbph\nAlgorithm graham naive\nPreference "spamAction=bounce"\nTrainingMode sometimes\nOpt maybe\n' > "$T/bad.conf"
q "DELETE FROM dspam_preferences"
out=$(es import-dspam --conf "$T/bad.conf" --apply 2>&1); expect_rc 65 $? "a bad dspam.conf"
for want in "bad.conf:1: Tokenizer: 'sbph'" "bad.conf:2: Algorithm: 'graham naive'" \
    "bad.conf:3: Preference: bad value 'spamAction=bounce'" "bad.conf:4: TrainingMode: 'sometimes'" \
    "bad.conf:5: Opt: 'maybe'" "4* errors; nothing written"; do
	out_has "$want" "import-dspam error $want"
done
[ "$(q "select count(*) from dspam_preferences")" = 0 ] || fail "a failed import wrote the store"
out=$(es import-dspam --conf "$T/nosuch.conf" 2>&1); expect_rc 66 $? "a missing dspam.conf"
out_has "nosuch.conf" "the missing file is not named"
pass
