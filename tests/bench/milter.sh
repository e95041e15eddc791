#!/bin/sh
# milter.sh CORPUS WORKDIR - make bench, the milter alone: corpus
# messages through edgespam-milter by the project's protocol client
# (build/tools/miltc) at 1, 8 and 32 concurrent connections, TEFT on a
# fresh SQLite store, one opted-in recipient. Prints "key value" lines:
# milter.cN.rate (messages/s), milter.cN.p50_ms / p99_ms (end-of-message
# latency), milter.cN.errors, milter.cN.norcpt (messages whose recipient
# the milter refused: then nothing was classified), milter.rss_kb
# (the milter's peak RSS) and milter.wchar_kb (KiB it wrote).
#   MILTER_MESSAGES=3000 (messages per concurrency level),
#   MILTER_CONNECTIONS="1 8 32" (the levels, each on the same store),
#   MILTER_PREFIX=milter (the keys' first part, and the work directory),
#   MILTER_HISTORY=yes|no (the history setting; default: the default)
set -eu
. tests/sh/lib.sh
corpus=$1
prefix=${MILTER_PREFIX:-milter}
work=$2/$prefix
BUILD=${BUILD:-build}
N=${MILTER_MESSAGES:-3000}
mkdir -p "$work/db"
milter_conf "$work/es.conf" "$work/m.sock" "store_path = $work/db/es.db" \
	${MILTER_HISTORY:+"history = $MILTER_HISTORY"}
"$BUILD/edgespam-milter" -f -c "$work/es.conf" 2> "$work/milter.log" &
pid=$!
trap 'kill $pid 2>/dev/null || true' EXIT INT TERM
wait_socket "$work/m.sock" $pid "$work/milter.log" ||
	{ echo "milter bench: the milter did not start" >&2; exit 1; }
for c in ${MILTER_CONNECTIONS:-1 8 32}; do
	echo "bench: milter alone, $c connection(s), $N messages" >&2
	"$BUILD/tools/miltc" -s "unix:$work/m.sock" -B "$corpus" -j "$c" -n "$N" \
		-f 'bench@example.com' -r 'bob@example.org' > "$work/c$c.txt" || true
	awk -v c="$c" -v p="$prefix" '
		$1 == "rate" { print p ".c" c ".rate", $2 }
		$1 == "eom_p50_ms" { print p ".c" c ".p50_ms", $2 }
		$1 == "eom_p99_ms" { print p ".c" c ".p99_ms", $2 }
		$1 == "errors" { print p ".c" c ".errors", $2 }
		$1 == "verdict.norcpt" { print p ".c" c ".norcpt", $2 }
		$1 == "messages" { print p ".c" c ".messages", $2 }' "$work/c$c.txt"
done
echo "$prefix.rss_kb $(awk '/^VmHWM:/ { print $2 }' "/proc/$pid/status")"
# what the milter handed to write(2): WAL frames, checkpoints, its log
echo "$prefix.wchar_kb $(awk '/^wchar:/ { print int($2 / 1024) }' "/proc/$pid/io")"
kill -TERM $pid
wait $pid || true
trap - EXIT INT TERM
