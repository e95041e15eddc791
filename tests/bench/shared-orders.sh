#!/bin/sh
# shared-orders.sh - the shared dictionary's benchmark (new user, see
# tests/bench/shared.sh) over several seeded orders of the same messages:
# per order, with / without the dictionary, false positives and spam
# missed over the first 100, the first 500 and all messages, 1-ROCA%
# over the first 500; whether each order meets issue 15's target, and
# how many held-out orders (7-14) do. The target, over the first 500
# messages: spam missed with the dictionary at most half of the user's
# alone on at least 7 of the 8 held-out orders, and on none of them more
# than one false positive above the user's alone. Settings may be chosen
# by their figures on orders 1-6 only.
#   sh tests/bench/shared-orders.sh [SEED ...]   (default: 1..14)
#   JOBS=2 (runs at once); BENCH_CONF=FILE (engine settings)
# Writes the raw figures of seed N to $BUILD/bench/orders/N.txt and the
# table to $BUILD/bench/orders.txt. About 45 s per seed and job.
set -eu
BUILD=${BUILD:-build}
JOBS=${JOBS:-2}
tool=$BUILD/tools/bench_shared
[ -x "$tool" ] || { echo "bench: $tool is not built (make)" >&2; exit 69; }
. tests/bench/lib_orders.sh
orders_seeds "$@"
set -- $ORDERS
out=$BUILD/bench/orders
mkdir -p "$out"
corpus=$(sh tests/bench/fetch-corpus.sh)
work=$(mktemp -d "${TMPDIR:-/tmp}/edgespam-orders.XXXXXX")
trap 'rm -rf "$work"' EXIT INT TERM

orders_run "$tool" "$out"

for s in "$@"; do
	sed "s/^/$s /" "$out/$s.txt"
done | awk '
{
	if (!($1 in seen)) { seen[$1] = 1; order[++no] = $1 }
	v[$1, $2] = $3
}
END {
	printf "shared dictionary, new user, over %d orders (with / without the dictionary):\n", no
	printf "%6s %-9s %9s %9s %9s %9s %9s %9s %15s  %s\n", "order", "set",
	    "FP 100", "FN 100", "FP 500", "FN 500", "FP all", "FN all", "1-ROCA% 500", "first 500"
	nh = met = 0; fpbad = ""
	for (i = 1; i <= no; i++) {
		s = order[i]; w = "shared.with."; o = "shared.without."
		set = (s >= 1 && s <= 6) ? "tuning" : (s >= 7 && s <= 14) ? "held-out" : "other"
		if (set == "held-out")
			nh++
		if (!((s SUBSEP w "500.fn") in v)) {
			printf "%6s %-9s  no figures (the run failed)\n", s, set
			if (set == "held-out") fpbad = fpbad " " s
			continue
		}
		fnw = v[s, w "500.fn"]; fno = v[s, o "500.fn"]
		fpw = v[s, w "500.fp"]; fpo = v[s, o "500.fp"]
		halved = 2 * fnw <= fno
		fpok = fpw <= fpo + 1
		ok = halved && fpok ? "met" : "not met"
		if (!halved) ok = ok " (FN " sprintf("%.2f", fno > 0 ? fnw / fno : 0) "x)"
		if (!fpok) ok = ok " (FP +" (fpw - fpo) ")"
		printf "%6s %-9s %4d/%-4d %4d/%-4d %4d/%-4d %4d/%-4d %4d/%-4d %4d/%-4d %7.3f/%-7.3f  %s\n",
		    s, set, v[s, w "100.fp"], v[s, o "100.fp"], v[s, w "100.fn"], v[s, o "100.fn"],
		    fpw, fpo, fnw, fno, v[s, w "all.fp"], v[s, o "all.fp"],
		    v[s, w "all.fn"], v[s, o "all.fn"], v[s, w "500.roca"], v[s, o "500.roca"], ok
		if (set == "held-out") {
			met += halved
			if (!fpok) fpbad = fpbad " " s
		}
	}
	if (nh == 0) {
		printf "no held-out order (7-14) was run: no verdict on the target\n"
		exit
	}
	printf "held-out orders (7-14): spam missed over the first 500 at most half of the user alone'"'"'s on %d of %d (target: at least 7 of 8)\n", met, nh
	printf "held-out orders (7-14): no more than one false positive above the user alone'"'"'s over the first 500: %s\n",
	    fpbad == "" ? "met" : "not met (orders" fpbad ")"
	printf "target: %s\n", (met >= 7 && nh == 8 && fpbad == "") ? "met" : "not met"
}' > "$out.txt"
cat "$out.txt"
echo "bench: results in $out.txt" >&2
