#!/bin/sh
# shared-orders.sh - the shared dictionary's benchmark over several orders
# of the same messages (seeds), to see whether a result holds beyond the
# one order of `make bench`: one line per seed and how many meet the
# issue's target (lam% over the first 500 at most half of the user's
# alone, no more false positives there).
#   sh tests/bench/shared-orders.sh [SEED ...]   (default: 1..12, 42, 1234)
#   JOBS=2 (runs at once); BENCH_CONF=FILE (engine settings)
# Writes the raw figures of seed N to $BUILD/bench/orders/N.txt and the
# table to $BUILD/bench/orders.txt. About 45 s per seed and job.
set -eu
BUILD=${BUILD:-build}
JOBS=${JOBS:-2}
tool=$BUILD/tools/bench_shared
[ -x "$tool" ] || { echo "bench: $tool is not built (make)" >&2; exit 69; }
[ $# -gt 0 ] || set -- 1 2 3 4 5 6 7 8 9 10 11 12 42 1234
for s in "$@"; do
	case $s in
	*[!0-9]* | '') echo "bench: not a seed: $s" >&2; exit 64 ;;
	esac
done
out=$BUILD/bench/orders
mkdir -p "$out"
corpus=$(sh tests/bench/fetch-corpus.sh)
work=$(mktemp -d "${TMPDIR:-/tmp}/edgespam-orders.XXXXXX")
trap 'rm -rf "$work"' EXIT INT TERM

# run_seed SEED - one order, in its own store directory
run_seed() {
	mkdir -p "$work/$1"
	if "$tool" -d "$corpus" -w "$work/$1" -s "$1" \
	    ${BENCH_CONF:+-c "$BENCH_CONF"} > "$out/$1.txt" 2> "$work/$1.err"; then
		echo "bench: order $1 done" >&2
	else
		echo "bench: order $1 failed:" >&2
		cat "$work/$1.err" >&2
		: > "$out/$1.txt"
	fi
	rm -rf "${work:?}/$1"
}

n=0
for s in "$@"; do
	run_seed "$s" &
	n=$((n + 1))
	if [ "$n" -ge "$JOBS" ]; then
		wait
		n=0
	fi
done
wait

{
	printf "shared dictionary over %d orders (first 500 messages unless marked; with / without the dictionary):\n" $#
	printf "%6s %9s %9s %15s %7s %15s %15s  %s\n" seed "FP" "FN" "lam%" ratio \
	    "1-ROCA%" "lam% all" target
	for s in "$@"; do
		awk -v seed="$s" '{ v[$1] = $2 }
		END {
			w = "shared.with.500."; o = "shared.without.500."
			if (!((w "lam") in v) || v[o "lam"] <= 0) {
				printf "%6s  no figures (the run failed)\n", seed
				exit
			}
			r = v[w "lam"] / v[o "lam"]
			ok = (r <= 0.5 && v[w "fp"] <= v[o "fp"]) ? "met" : "not met"
			printf "%6s %4d/%-4d %4d/%-4d %7.3f/%-7.3f %7.4f %7.3f/%-7.3f %7.3f/%-7.3f  %s\n",
			    seed, v[w "fp"], v[o "fp"], v[w "fn"], v[o "fn"],
			    v[w "lam"], v[o "lam"], r, v[w "roca"], v[o "roca"],
			    v["shared.with.all.lam"], v["shared.without.all.lam"], ok
		}' "$out/$s.txt"
	done
} > "$out.txt"
awk -v total=$# '{ print } $NF == "met" && $(NF - 1) != "not" { n++ }
    END { printf "target met on %d of %d orders\n", n, total }' "$out.txt" > "$out.txt.new"
mv "$out.txt.new" "$out.txt"
cat "$out.txt"
echo "bench: results in $out.txt" >&2
