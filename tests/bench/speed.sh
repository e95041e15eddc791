#!/bin/sh
# speed.sh REV - this tree's speed beside git revision REV's, measured in
# one run on one machine, the two alternating so that both see the same
# load: edgespam's online rate in one process (tests/tools/bench_accuracy,
# TEFT, classify + learn + corrections, SQLite, edgespam alone, one seeded
# order of the corpus) and the milter's rate and p99 end-of-message
# latency at 8 connections (tests/bench/milter.sh, fresh SQLite store).
# REV's tree is exported with git archive into a temporary directory and
# built there (nothing else of the repository is touched); both use this
# tree's protocol client and scripts. Each measurement is printed with
# the load average before it, so a noisy run can be seen as one.
#   sh tests/bench/speed.sh 762b1ec
#   ROUNDS=3 (alternations), SEED=42, MILTER_MESSAGES=3000
# Writes the table to $BUILD/bench/speed.txt.
set -eu
BUILD=${BUILD:-build}
ROUNDS=${ROUNDS:-3}
SEED=${SEED:-42}
[ $# -eq 1 ] || { echo "usage: sh tests/bench/speed.sh REV" >&2; exit 64; }
rev=$(git rev-parse --short "$1^{commit}") ||
	{ echo "bench: no such revision: $1" >&2; exit 64; }
[ -x "$BUILD/tools/bench_accuracy" ] && [ -x "$BUILD/edgespam-milter" ] ||
	{ echo "bench: build this tree first (make)" >&2; exit 69; }
corpus=$(sh tests/bench/fetch-corpus.sh)
out=$BUILD/bench
mkdir -p "$out"
work=$(mktemp -d "${TMPDIR:-/tmp}/edgespam-speed.XXXXXX")
trap 'rm -rf "$work"' EXIT INT TERM
mkdir -p "$work/base"
echo "bench: building $rev in $work/base" >&2
git archive --format=tar "$rev" | tar -x -C "$work/base"
make -C "$work/base" -j2 all > "$work/base-build.log" 2>&1 ||
	{ tail -20 "$work/base-build.log" >&2; echo "bench: $rev does not build" >&2; exit 1; }
here=$(pwd)
base_build=$work/base/build

# one_rate WHO BUILD - bench_accuracy's wall and CPU rates of one order
one_rate() {
	mkdir -p "$work/acc"
	echo "$1 load $(cut -d' ' -f1 /proc/loadavg)" >> "$work/raw"
	"$2/tools/bench_accuracy" -d "$corpus" -s "$SEED" -m teft -w "$work/acc" \
	    2> /dev/null | awk -v w="$1" '
		$1 == "edgespam.rate" { print w, "rate", $2 }
		$1 == "edgespam.cpu_rate" { print w, "cpu_rate", $2 }' >> "$work/raw"
	rm -rf "$work/acc"
}

# one_milter WHO BUILD - the milter of BUILD at 8 connections
one_milter() {
	echo "$1 load $(cut -d' ' -f1 /proc/loadavg)" >> "$work/raw"
	rm -rf "$work/m"
	mkdir -p "$work/m"
	(cd "$here" && BUILD=$2 MILTER_CONNECTIONS=8 sh tests/bench/milter.sh "$corpus" "$work/m") \
	    2> /dev/null | awk -v w="$1" '
		$1 == "milter.c8.rate" { print w, "milter_rate", $2 }
		$1 == "milter.c8.p99_ms" { print w, "milter_p99_ms", $2 }
		$1 == "milter.c8.errors" { e += $2 }
		$1 == "milter.c8.norcpt" { e += $2 }
		END { print w, "milter_errors", e + 0 }' >> "$work/raw"
}

: > "$work/raw"
# the base tree's milter runs with this tree's miltc (same client for both)
mkdir -p "$base_build/tools"
cp "$BUILD/tools/miltc" "$base_build/tools/miltc"
i=1
while [ "$i" -le "$ROUNDS" ]; do
	echo "bench: round $i of $ROUNDS" >&2
	if [ $((i % 2)) -eq 1 ]; then
		one_rate base "$base_build"; one_rate this "$BUILD"
		one_milter base "$base_build"; one_milter this "$BUILD"
	else
		one_rate this "$BUILD"; one_rate base "$base_build"
		one_milter this "$BUILD"; one_milter base "$base_build"
	fi
	i=$((i + 1))
done

awk -v rev="$rev" -v rounds="$ROUNDS" -v seed="$SEED" '
function median(a, n,    i, j, t) {
	for (i = 2; i <= n; i++)
		for (j = i; j > 1 && a[j - 1] > a[j]; j--) {
			t = a[j]; a[j] = a[j - 1]; a[j - 1] = t
		}
	return n % 2 ? a[(n + 1) / 2] : (a[n / 2] + a[n / 2 + 1]) / 2
}
$2 == "load" { load[$1] = load[$1] " " $3; next }
{ k = $1 SUBSEP $2; n[k]++; val[k, n[k]] = $3; list[k] = list[k] " " $3 }
END {
	printf "speed, this tree beside %s, %d alternating rounds, same machine, same run (seed %s):\n", rev, rounds, seed
	split("rate cpu_rate milter_rate milter_p99_ms milter_errors", ks, " ")
	split("classify+learn msg/s (wall)|classify+learn msg/s (CPU)|milter 8 conn msg/s|milter 8 conn p99 ms|milter errors, refused rcpt", names, "|")
	for (i = 1; i <= 5; i++) {
		for (w = 1; w <= 2; w++) {
			who = w == 1 ? "base" : "this"
			k = who SUBSEP ks[i]
			m[w] = 0
			for (j = 1; j <= n[k]; j++) a[j] = val[k, j]
			if (n[k] > 0) m[w] = median(a, n[k])
		}
		printf "%-30s base %9.1f  this %9.1f  ratio %.3f   (base:%s; this:%s)\n", names[i], m[1], m[2],
		    (m[1] > 0 ? m[2] / m[1] : 0), list["base" SUBSEP ks[i]], list["this" SUBSEP ks[i]]
	}
	printf "load average before each measurement: base%s; this%s\n", load["base"], load["this"]
}' "$work/raw" > "$out/speed.txt"
cat "$out/speed.txt"
echo "bench: results in $out/speed.txt" >&2
