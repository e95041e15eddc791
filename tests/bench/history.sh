#!/bin/sh
# history.sh CORPUS WORKDIR - make bench: what recording the history
# costs the milter. tests/bench/milter.sh runs with history = no and
# history = yes on fresh SQLite stores, in alternating order over
# several rounds (so that a slower machine at one moment does not count
# against one setting), at one concurrency level. Prints "key value"
# lines: history.off.rate / history.on.rate (messages/s),
# history.off.p99_ms / history.on.p99_ms (end-of-message latency) and
# history.off.wchar_kb / history.on.wchar_kb (KiB the milter wrote: a
# cost that CPU contention from other processes hardly changes), each
# the median over the rounds; history.on.rows (rows the last "on" run
# wrote: one per message), history.messages, history.connections,
# history.rounds.
#   HISTORY_MESSAGES=2000, HISTORY_CONNECTIONS=8, HISTORY_ROUNDS=3
set -eu
corpus=$1
work=$2/history
BUILD=${BUILD:-build}
N=${HISTORY_MESSAGES:-2000}
C=${HISTORY_CONNECTIONS:-8}
R=${HISTORY_ROUNDS:-3}
mkdir -p "$work"
: > "$work/raw"
r=1
while [ "$r" -le "$R" ]; do
	# off first in odd rounds, on first in even ones
	order="off on"
	[ $((r % 2)) -eq 0 ] && order="on off"
	for mode in $order; do
		yn=no
		[ "$mode" = on ] && yn=yes
		echo "bench: history $mode, round $r of $R" >&2
		MILTER_PREFIX=$mode$r MILTER_HISTORY=$yn MILTER_CONNECTIONS=$C \
		    MILTER_MESSAGES=$N BUILD=$BUILD \
		    sh tests/bench/milter.sh "$corpus" "$work" >> "$work/raw"
		if [ "$mode" = on ] && command -v sqlite3 >/dev/null 2>&1; then
			rows=$(sqlite3 "$work/$mode$r/db/es.db" "SELECT COUNT(*) FROM edgespam_history")
		fi
		rm -rf "${work:?}/$mode$r/db"
	done
	r=$((r + 1))
done
# median KEY_SUFFIX MODE - the median of MODEr.cC.KEY (MODEr.KEY with
# a third argument) over the rounds
median() {
	_k=".c$C.$1"
	[ $# -gt 2 ] && _k=".$1"
	awk -v m="$2" -v k="$_k" '
		index($1, m) == 1 && substr($1, length($1) - length(k) + 1) == k &&
		    substr($1, length(m) + 1, length($1) - length(m) - length(k)) ~ /^[0-9]+$/ { print $2 }' "$work/raw" |
		sort -n | awk '{ v[NR] = $1 } END { if (NR == 0) print 0; else if (NR % 2) print v[(NR + 1) / 2]; else print (v[NR / 2] + v[NR / 2 + 1]) / 2 }'
}
for mode in off on; do
	echo "history.$mode.rate $(median rate $mode)"
	echo "history.$mode.p99_ms $(median p99_ms $mode)"
	echo "history.$mode.wchar_kb $(median wchar_kb $mode x)"
	echo "history.$mode.errors $(awk -v m="$mode" -v k=".c$C.errors" 'index($1, m) == 1 && index($1, k) { s += $2 } END { print s + 0 }' "$work/raw")"
done
echo "history.on.rows ${rows:-0}"
echo "history.messages $N"
echo "history.connections $C"
echo "history.rounds $R"
