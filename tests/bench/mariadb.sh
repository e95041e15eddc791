#!/bin/sh
# mariadb.sh CORPUS WORKDIR - make bench, the milter on MariaDB (a
# private server, tests/sh/lib_mariadb.sh): the same corpus and miltc
# options as milter.sh, at 8 connections, on a fresh MariaDB store and on
# a fresh SQLite store; then the purge under load: dspam_token_data is
# filled with MARIADB_ROWS rows of other users, half of them unused for
# 200 days (purge's unused rule takes them), the milter runs at full
# speed for MARIADB_WARMUP seconds (not measured: a fresh milter and
# server are faster in their first minutes than later, with or without a
# purge), then for MARIADB_BEFORE windows of MARIADB_WINDOW seconds
# (p99 before), then `edgespam purge` runs while the same load goes on
# in windows of MARIADB_WINDOW seconds until it ends (p99 during).
# Windows of one length are compared, since a p99 over a longer run
# takes in rarer stalls: the p99 before and during are the medians of
# their windows' p99s; the worst window during the purge is printed too.
# Prints "key value" lines:
#   mariadb.c8.{rate,p50_ms,p99_ms,errors,messages}        MariaDB
#   mariadb.sqlite_c8.{rate,p50_ms,p99_ms,errors,messages} SQLite
#   mariadb.fill_rows, mariadb.fill_s
#   mariadb.p99_before_ms, mariadb.rate_before   (medians of the windows)
#   mariadb.p99_during_ms, mariadb.rate_during   (medians of the windows)
#   mariadb.p99_during_max_ms, mariadb.windows_during (the worst window
#                          and how many full windows the purge lasted)
#   mariadb.p99_after_ms, mariadb.rate_after  (the same load for
#                          MARIADB_WINDOW s after the purge)
#   mariadb.p99_ratio      p99 during / p99 before (issue 17: <= 1.3)
#   mariadb.p99_ratio_max  the worst window during / p99 before
#   mariadb.purge_rows, mariadb.purge_s, mariadb.purge_rows_per_s
#   mariadb.errors   miltc errors plus messages that got on_error's
#                    action (deferred: on_error = tempfail) in the purge
#                    runs (before, during, after)
# Exits 77 (with the reason on stderr) without root or MariaDB.
#   MILTER_MESSAGES=3000, MARIADB_ROWS=10000000, MARIADB_WINDOW=20,
#   MARIADB_WARMUP=120, MARIADB_BEFORE=3,
#   MARIADB_POOL=1G (innodb_buffer_pool_size of the private server; its
#   redo log is MariaDB's default, 96M, as on a Debian server, not the
#   tests' 32M, which this load, some 4 MB of redo a second, fills in
#   about 8 s; MDB_OPTS adds mariadbd options),
#   MARIADB_PURGE_CONF="key = value; ..." (purge settings for this run,
#   e.g. "purge_pace = 0" for the old fixed pause), MARIADB_PURGE_ONLY=1
#   (skip the fresh-store comparison: only the purge under load),
#   MARIADB_PURGE_CONTROL=SECONDS (a control run: no purge, the "during"
#   load runs SECONDS without one, so the ratio shows how much the p99
#   drifts by itself over as long a run; purge_rows is then 0).
# The purge's figures also go, with the date and settings, to
# $BUILD/bench/mariadb-purge.txt (appended; one block per run).
set -eu
corpus=$1
work=$2/mariadb
BUILD=${BUILD:-build}
N=${MILTER_MESSAGES:-3000}
ROWS=${MARIADB_ROWS:-10000000}
WINDOW=${MARIADB_WINDOW:-20}
WARMUP=${MARIADB_WARMUP:-120}
NBEFORE=${MARIADB_BEFORE:-3}
. tests/sh/lib.sh
. tests/sh/lib_mariadb.sh
mdb_require >&2
mkdir -p "$work/mdb" "$work/sqlite"
mpid=""
cleanup() {
	[ -n "$mpid" ] && kill "$mpid" 2>/dev/null
	mdb_stop "$work/mdb"
}
trap cleanup EXIT
trap 'exit 1' INT TERM
MDB_BUFFER_POOL=${MARIADB_POOL:-1G}
# the server's own defaults for the redo log (MariaDB 10.11), later on
# mariadbd's command line than lib_mariadb.sh's small ones
MDB_OPTS="--innodb-log-file-size=96M --innodb-log-buffer-size=16M ${MDB_OPTS:-}"
echo "bench: mariadb: starting a private server" >&2
mdb_start "$work/mdb" >&2 || { echo "bench: mariadb: the server did not start" >&2; exit 1; }

# conf FILE DRIVER - the milter's configuration (milter.sh's, plus the store)
conf() {
	milter_conf "$1" "$work/m.sock" "on_error = tempfail"
	if [ "$2" = mysql ]; then
		mdb_store_conf "$1"
	else
		echo "store_path = $work/sqlite/es.db" >> "$1"
	fi
}

# start CONF - the milter in the background; sets mpid
start() {
	rm -f "$work/m.sock"
	"$BUILD/edgespam-milter" -f -c "$1" 2>> "$work/milter.log" &
	mpid=$!
	wait_socket "$work/m.sock" "$mpid" "$work/milter.log" ||
		{ echo "bench: mariadb: the milter did not start" >&2; exit 1; }
}

stop() {
	kill -TERM "$mpid"
	wait "$mpid" || true
	mpid=""
}

# load OUT [miltc options] - milter.sh's miltc options at 8 connections
load() {
	o=$1
	shift
	"$BUILD/tools/miltc" -s "unix:$work/m.sock" -B "$corpus" -j 8 "$@" \
		-f 'bench@example.com' -r 'bob@example.org' > "$o" || true
}

# keys OUT PREFIX - miltc's figures as PREFIX.rate etc.
keys() {
	awk -v p="$2" '
		$1 == "rate" { print p ".rate", $2 }
		$1 == "eom_p50_ms" { print p ".p50_ms", $2 }
		$1 == "eom_p99_ms" { print p ".p99_ms", $2 }
		$1 == "errors" { print p ".errors", $2 }
		$1 == "messages" { print p ".messages", $2 }' "$1"
}

# val OUT KEY
val() { awk -v k="$2" '$1 == k { print $2; f = 1 } END { if (!f) print 0 }' "$1"; }

conf "$work/mysql.conf" mysql
conf "$work/sqlite.conf" sqlite
# the run's purge settings ("k = v; k = v") go to the MariaDB config
echo "${MARIADB_PURGE_CONF:-}" | tr ';' '\n' | sed 's/^ *//' | grep . >> "$work/mysql.conf" || true
"$BUILD/edgespam" -c "$work/mysql.conf" db init >&2
if [ "${MARIADB_PURGE_ONLY:-0}" != 1 ]; then
	for d in mysql sqlite; do
		echo "bench: mariadb: milter on $d, 8 connections, $N messages" >&2
		start "$work/$d.conf"
		load "$work/$d-c8.txt" -n "$N"
		stop
	done
	keys "$work/mysql-c8.txt" mariadb.c8
	keys "$work/sqlite-c8.txt" mariadb.sqlite_c8
fi

# the purge under load
echo "bench: mariadb: filling dspam_token_data with $ROWS rows" >&2
t0=$(date +%s.%N)
chunk=1000000
done_rows=0
while [ $done_rows -lt "$ROWS" ]; do
	n=$((ROWS - done_rows))
	[ $n -gt $chunk ] && n=$chunk
	# users 1000.., 10000 tokens each; odd rows unused for 200 days
	mdb_sql "$work/mdb" "INSERT INTO dspam_token_data (uid, token, spam_hits, innocent_hits, last_hit)
		SELECT 1000 + s DIV 10000, s * 2654435761, 1 + s % 7, s % 3,
			IF(s % 2 = 1, CURDATE() - INTERVAL 200 DAY, CURDATE())
		FROM (SELECT seq + $done_rows AS s FROM seq_1_to_$n) x"
	done_rows=$((done_rows + n))
done
t1=$(date +%s.%N)
echo "mariadb.fill_rows $(mdb_sql "$work/mdb" "SELECT COUNT(*) FROM dspam_token_data WHERE uid >= 1000")"
echo "mariadb.fill_s $(echo "$t1 $t0" | awk '{ printf "%.1f", $1 - $2 }')"

start "$work/mysql.conf"
echo "bench: mariadb: load for $WARMUP s to warm up (not measured)" >&2
load "$work/warmup.txt" --duration "$WARMUP"
echo "bench: mariadb: load for $NBEFORE windows of $WINDOW s before the purge" >&2
rm -f "$work"/before.*.txt "$work"/during.*.txt
i=0
while [ $i -lt "$NBEFORE" ]; do
	i=$((i + 1))
	load "$work/before.$i.txt" --duration "$WINDOW"
done
echo "bench: mariadb: load during edgespam purge, in windows of $WINDOW s" >&2
rm -f "$work/purge.done"
if [ -n "${MARIADB_PURGE_CONTROL:-}" ]; then
	(sleep "$MARIADB_PURGE_CONTROL"; echo "purge: control run, no purge; 0 rows in $MARIADB_PURGE_CONTROL s (0 rows/s)" > "$work/purge.txt"; echo 0 > "$work/purge.rc"; touch "$work/purge.done") &
else
	("$BUILD/edgespam" -c "$work/mysql.conf" purge > "$work/purge.txt" 2>&1; echo $? > "$work/purge.rc"; touch "$work/purge.done") &
fi
ppid=$!
# windows until the purge ends; the window it ended in is left out when
# it is not the only one (a part window's p99 rests on fewer messages)
i=0
while [ ! -e "$work/purge.done" ]; do
	i=$((i + 1))
	t=$(date +%s)
	load "$work/during.$i.txt" --duration "$WINDOW" --until "$work/purge.done"
	if [ -e "$work/purge.done" ] && [ $(($(date +%s) - t)) -lt "$WINDOW" ] && [ $i -gt 1 ]; then
		mv "$work/during.$i.txt" "$work/during.part.txt"
	fi
done
wait $ppid || true
# the same load again after the purge: when it is as slow as during the
# purge, the machine got busier, not the purge heavier
echo "bench: mariadb: load for $WINDOW s after the purge" >&2
load "$work/after.txt" --duration "$WINDOW"
stop
[ "$(cat "$work/purge.rc")" = 0 ] || { echo "bench: mariadb: purge failed: $(cat "$work/purge.txt")" >&2; exit 1; }
# med KEY FILE... - the median of KEY over the files (miltc's outputs)
med() {
	k=$1
	shift
	for f in "$@"; do val "$f" "$k"; done | sort -g |
		awk '{ v[NR] = $1 } END { if (NR == 0) print 0; else if (NR % 2) print v[(NR + 1) / 2]; else printf "%.3f\n", (v[NR / 2] + v[NR / 2 + 1]) / 2 }'
}
b99=$(med eom_p99_ms "$work"/before.[0-9]*.txt)
d99=$(med eom_p99_ms "$work"/during.[0-9]*.txt)
dmax=$(for f in "$work"/during.[0-9]*.txt; do val "$f" eom_p99_ms; done | sort -g | tail -1)
a99=$(val "$work/after.txt" eom_p99_ms)
{
	echo "mariadb.p99_before_ms $b99"
	echo "mariadb.rate_before $(med rate "$work"/before.[0-9]*.txt)"
	echo "mariadb.p99_during_ms $d99"
	echo "mariadb.rate_during $(med rate "$work"/during.[0-9]*.txt)"
	echo "mariadb.p99_during_max_ms $dmax"
	echo "mariadb.windows_during $(ls "$work"/during.[0-9]*.txt | wc -l)"
	echo "mariadb.p99_after_ms $a99"
	echo "mariadb.rate_after $(val "$work/after.txt" rate)"
	echo "$d99 $b99" | awk '$2 > 0 { printf "mariadb.p99_ratio %.2f\n", $1 / $2 }'
	echo "$dmax $b99" | awk '$2 > 0 { printf "mariadb.p99_ratio_max %.2f\n", $1 / $2 }'
	# "purge: ... ; N rows in S s (R rows/s)"
	sed -n 's/.*; \([0-9]*\) rows in \([0-9.]*\) s (\([0-9.]*\) rows\/s).*/mariadb.purge_rows \1\nmariadb.purge_s \2\nmariadb.purge_rows_per_s \3/p' "$work/purge.txt"
	e=0
	for f in "$work"/warmup.txt "$work"/before.*.txt "$work"/during.*.txt "$work"/after.txt; do
		e=$((e + $(val "$f" errors) + $(val "$f" deferred)))
	done
	echo "mariadb.errors $e"
} > "$work/purge.keys"
cat "$work/purge.keys"
mkdir -p "$BUILD/bench"
{
	echo "# $(date -u '+%Y-%m-%d %H:%M:%S UTC') rows $ROWS window $WINDOW s (warm-up $WARMUP s, $NBEFORE before), load average $(cut -d' ' -f1-3 /proc/loadavg), purge settings: ${MARIADB_PURGE_CONTROL:+control run without a purge, }${MARIADB_PURGE_CONF:-defaults}, server options: $MDB_OPTS"
	cat "$work/purge.keys"
} >> "$BUILD/bench/mariadb-purge.txt"
