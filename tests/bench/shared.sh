#!/bin/sh
# shared.sh - the shared dictionary's benchmark (tests/tools/bench_shared):
# the dictionary trained on the 2002 half of the SpamAssassin corpus, then
# a brand-new user online over the 2003 half, with and without it, in one
# seeded order; FP, FN, 1-ROCA% and lam% over the first 100, 500 and all.
#   sh tests/bench/shared.sh              alone: prints the table and
#                                         writes $BUILD/bench/shared.txt
#   sh tests/bench/shared.sh CORPUS WORK  (run.sh) the raw figures only
#   SEED=42 (shuffle); BENCH_CONF=FILE (engine settings from a configuration)
set -eu
BUILD=${BUILD:-build}
SEED=${SEED:-42}
tool=$BUILD/tools/bench_shared
[ -x "$tool" ] || { echo "bench: $tool is not built (make)" >&2; exit 69; }
if [ $# -ge 2 ]; then
	echo "bench: shared dictionary over $1 (seed $SEED)" >&2
	exec "$tool" -d "$1" -w "$2" -s "$SEED" ${BENCH_CONF:+-c "$BENCH_CONF"}
fi
out=$BUILD/bench
mkdir -p "$out"
corpus=$(sh tests/bench/fetch-corpus.sh)
work=$(mktemp -d "${TMPDIR:-/tmp}/edgespam-shared.XXXXXX")
trap 'rm -rf "$work"' EXIT INT TERM
"$tool" -d "$corpus" -w "$work" -s "$SEED" ${BENCH_CONF:+-c "$BENCH_CONF"} > "$out/shared-raw.txt"
awk -v seed="$SEED" -f tests/bench/shared.awk "$out/shared-raw.txt" > "$out/shared.txt"
{ echo; echo "raw figures:"; sort "$out/shared-raw.txt"; } >> "$out/shared.txt"
sed '/^raw figures:/,$d' "$out/shared.txt"
echo "bench: results in $out/shared.txt" >&2
