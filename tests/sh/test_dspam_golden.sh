#!/bin/sh
# test_dspam_golden.sh - the DSPAM tokenizers give DSPAM 3.10's own token
# tables. tests/data/dspam-golden holds 40 messages of the public
# SpamAssassin corpus (messages.tsv: class and path, in training order)
# and the tables DSPAM made from them (README.md there says how). Here
# the edgespam program trains the same messages in the same order, as a
# DSPAM admin would (--class=X --source=corpus, TEFT, no BNR, no
# whitelisting), on an empty SQLite store, with tokenizer osb, chain and
# word in turn; the user's token table (id, spam hits, innocent hits)
# must equal DSPAM's exactly. Then each message alone with osb, for the
# 40 per-message tables. On a difference tests/tools/dspam_golden shows
# the counts and the first differing ids with edgespam's token text.
# The corpus is fetched once with tests/bench/fetch-corpus.sh (npm); the
# test is skipped only when it cannot be fetched.
set -u
. tests/sh/lib.sh

B=${BUILD:-build}
ES=$B/edgespam
TOOL=$B/tools/dspam_golden
G=tests/data/dspam-golden
[ -x "$ES" ] || fail "$ES not built"
[ -x "$TOOL" ] || fail "$TOOL not built"
T=$(mktemp -d "${TMPDIR:-/tmp}/edgespam-dgold.XXXXXX")
trap 'rm -rf "$T"' EXIT INT TERM
dir=$(sh tests/bench/fetch-corpus.sh 2>"$T/err")
rc=$?
case $rc in
0) ;;
70) fail "the corpus package is incomplete: $(tail -n 3 "$T/err")" ;;
*) skip "SKIP: cannot fetch the public corpus (exit $rc): $(tail -n 3 "$T/err" | tr '\n' ' ')" ;;
esac
[ "$(wc -l < $G/messages.tsv)" -eq 40 ] || fail "$G/messages.tsv: want 40 lines"
# the message files, in training order
: > "$T/files"
while IFS="$(printf '\t')" read -r class path; do
	[ -f "$dir/$path" ] || fail "corpus message $path missing in $dir"
	echo "$dir/$path" >> "$T/files"
done < $G/messages.tsv

# conf TOKENIZER DB - a configuration as DSPAM's run had it
conf() {
	cat > "$T/$1.conf" <<EOC
store_path = $2
tokenizer = $1
training_mode = teft
bnr = no
whitelist_threshold = 0
retrain_socket = ""
user = ""
EOC
}

bad=0
# cumulative tables: one user trained on all 40 messages
for t in osb chain word; do
	conf $t "$T/$t.db"
	while IFS="$(printf '\t')" read -r class path; do
		"$ES" -c "$T/$t.conf" --user golden --class="$class" \
			--source=corpus < "$dir/$path" ||
			fail "$t: training $path as $class failed"
	done < $G/messages.tsv
	# shellcheck disable=SC2046
	"$TOOL" -d "$T/$t.db" -u golden -g $G/dspam-$t-tokens.tsv \
		-t $t $(cat "$T/files") || bad=1
done

# per-message osb tables: user pmNN trained on message NN only
conf osb "$T/pm.db"
n=0
while IFS="$(printf '\t')" read -r class path; do
	n=$((n + 1))
	nn=$(printf '%02d' $n)
	"$ES" -c "$T/osb.conf" --user pm$nn --class="$class" \
		--source=corpus < "$dir/$path" ||
		fail "osb: training $path as $class failed"
	"$TOOL" -d "$T/pm.db" -u pm$nn -g $G/osb-per-message/$nn.tsv \
		-t osb "$dir/$path" > "$T/out" || bad=1
	cat "$T/out"
done < $G/messages.tsv
[ $bad -eq 0 ] || fail "token tables differ from DSPAM 3.10's (above)"
pass
