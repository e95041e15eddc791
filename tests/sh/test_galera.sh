#!/bin/sh
# test_galera.sh - the MariaDB store on a three-node Galera cluster
# (tests/sh/lib_galera.sh: private datadirs and loopback ports, stopped
# by pid), through the real programs:
#   a. db init on node 1; db check on node 3 sees the replicated schema;
#   b. three milters, each on its own node, under parallel load to the
#      same two users: every message for a user writes the user's
#      totals row and the message's tokens, so the nodes' transactions
#      collide and Galera refuses some at commit (a certification
#      failure, deadlock error 1213). The test counts them on the
#      servers (wsrep_local_cert_failures, wsrep_local_bf_aborts) and in
#      the milters' logs (the retried messages), and fails when there
#      were none: then it would prove nothing;
#   c. two milters on nodes 1 and 2 under the same load while node 3 is
#      killed (-9) and restarted: it rejoins (IST) and catches up;
#   d. no message reached on_error, every one got its verdict; the
#      messages counted and the token counts are the same on all three
#      nodes and equal a single-process SQLite reference of the same
#      messages;
#   e. edgespam purge through node 3 removes the same rows everywhere.
set -u
. tests/sh/lib.sh
. tests/sh/lib_mariadb.sh
. tests/sh/lib_galera.sh

milter_programs
gal_require
command -v sqlite3 >/dev/null 2>&1 || skip "SKIP: sqlite3 is not installed (the reference run reads it)"

T=$(mktemp -d "${TMPDIR:-/tmp}/edgespam-galera.XXXXXX")
MPIDS=""
BGPIDS=""
cleanup() {
	for p in $BGPIDS; do kill "$p" 2>/dev/null; done
	for p in $MPIDS; do kill "$p" 2>/dev/null && wait "$p" 2>/dev/null; done
	[ -d "$T/gal" ] && gal_stop "$T/gal"
	# GALERA_KEEP=DIR keeps the milters' and servers' logs for a look
	[ -n "${GALERA_KEEP:-}" ] && mkdir -p "$GALERA_KEEP" &&
		cp "$T"/*.log "$GALERA_KEEP"/ 2>/dev/null &&
		for k in 1 2 3; do cp "$T/gal/n$k/error.log" "$GALERA_KEEP/n$k.err" 2>/dev/null; done
	rm -rf "$T"
}
trap cleanup EXIT
trap 'exit 1' INT TERM
# the servers run as the mysql user, which must reach $T/gal
chmod 0711 "$T"
t0=$(date +%s)
gal_start "$T/gal" 3 || fail "the private Galera cluster did not start"
echo "cluster of 3 up in $(($(date +%s) - t0)) s"

# q K SQL - on node K, after it applied what was committed before
q() { gal_sql "$T/gal" "$1" "$2"; }

# write_conf FILE NAME K - a milter configuration on node K; NAME keeps
# each milter's socket, pid file and log apart. The busy timeout (lock
# waits) outlasts the cluster's stall when a node dies (5 s until the
# others declare it gone), and the message's budget outlasts both: what
# the manual page asks of a Galera site
write_conf() {
	milter_conf "$1" "$T/$2.sock" "store_pool_size = 4" \
		"store_busy_timeout_ms = 15000" "pid_file = $T/$2.pid" \
		"on_error = tempfail" "message_timeout_ms = 30000" \
		"log_level = info"
	gal_store_conf "$1" "$T/gal" "$3"
}

# start_milter NAME - start $T/NAME.conf in the foreground, wait for its
# socket; sets MPID
start_milter() {
	rm -f "$T/$1.sock"
	"$MILTER" -f -c "$T/$1.conf" >> "$T/$1.log" 2>&1 &
	MPID=$!
	MPIDS="$MPIDS $MPID"
	wait_socket "$T/$1.sock" "$MPID" "$T/$1.log" || fail "milter $1 did not start"
}

# stop_milter PID
stop_milter() {
	kill -TERM "$1"
	wait "$1" || fail "milter $1 exited with status $? on SIGTERM"
	MPIDS=$(echo "$MPIDS" | sed "s/ $1\b//")
}

# stat_of FILE KEY - a "key value" line of miltc's benchmark output
stat_of() { awk -v k="$2" '$1 == k { print $2; f = 1 } END { if (!f) print 0 }' "$1"; }

# load_ok FILE N WHAT - miltc sent N messages, each accepted with our headers
load_ok() {
	[ "$(stat_of "$1" errors)" -eq 0 ] || fail "$3: miltc errors: $(cat "$1")"
	[ "$(stat_of "$1" messages)" -eq "$2" ] || fail "$3: $(stat_of "$1" messages) messages sent, want $2"
	[ "$(stat_of "$1" verdict.continue)" -eq "$2" ] ||
		fail "$3: $(stat_of "$1" verdict.continue) of $2 messages accepted (deferred $(stat_of "$1" deferred)): $(cat "$1")"
	[ $(($(stat_of "$1" headers.spam) + $(stat_of "$1" headers.innocent))) -eq "$2" ] ||
		fail "$3: not $2 messages with X-DSPAM-Result: $(cat "$1")"
}

# load NAME PHASE MILTC_OPTION... - messages through milter NAME to
# each of u1 and u2, two at a time, in the background (pids in BGPIDS)
load() {
	_m=$1
	_ph=$2
	shift 2
	for u in u1 u2; do
		"$MILTC" -s "unix:$T/$_m.sock" -t 60 -B "$T/corpus" -j 2 "$@" -f a@example.com \
			-r "$u@load.example" > "$T/$_ph-$_m-$u.out" 2>&1 &
		BGPIDS="$BGPIDS $!"
	done
}

# conflicts K - certification failures and brute-force aborts on node K
conflicts() {
	echo $(($(gal_status "$T/gal" "$1" wsrep_local_cert_failures) +
		$(gal_status "$T/gal" "$1" wsrep_local_bf_aborts)))
}

# retried FILE... - messages the milters wrote again after a conflict
retried() { cat "$@" | grep -c 'written after [0-9]* tries'; }
# retries FILE... - the tries those messages took beyond their first
retries() {
	cat "$@" | sed -n 's/.*written after \([0-9]*\) tries.*/\1/p' |
		awk '{ n += $1 - 1 } END { print n + 0 }'
}

make_corpus "$T/corpus" g 20

#
# a. the schema, made on node 1, is there on node 3
#
write_conf "$T/es1.conf" es1 1
write_conf "$T/es3.conf" es3 3
out=$("$ES" -c "$T/es1.conf" db init 2>&1) || fail "a. db init on node 1: $out"
out=$("$ES" -c "$T/es3.conf" db check 2>&1) || fail "a. db check on node 3 after db init on node 1: $out"

#
# b. three milters on three nodes, the same users
#
NB=30
for k in 1 2 3; do
	write_conf "$T/m$k.conf" "m$k" $k
	start_milter "m$k"
done
PIDS3=$MPIDS
t1=$(date +%s)
for k in 1 2 3; do load "m$k" b -n $NB; done
for p in $BGPIDS; do wait "$p"; done
BGPIDS=""
for k in 1 2 3; do
	for u in u1 u2; do load_ok "$T/b-m$k-$u.out" $NB "b. m$k to $u"; done
done
cb=0
for k in 1 2 3; do cb=$((cb + $(conflicts $k))); done
rb=$(retried "$T"/m?.log)
xb=$(retries "$T"/m?.log)
echo "b. $((3 * 2 * NB)) messages through 3 nodes in $(($(date +%s) - t1)) s: $cb certification conflicts on the servers; the milters wrote $rb messages again ($xb retries)"
[ "$cb" -gt 0 ] || fail "b. no certification conflict happened (wsrep_local_cert_failures + wsrep_local_bf_aborts = 0 on every node): the test proves nothing"
[ "$rb" -gt 0 ] || fail "b. $cb conflicts on the servers, yet the milters' logs show no message written again:
$(grep -h 'store\|learn' "$T"/m?.log | head)"

#
# c. node 3 killed under load and restarted; the milters on 1 and 2 go on
#
for p in $(echo "$PIDS3" | awk '{ print $3 }'); do stop_milter "$p"; done
c3=$(conflicts 3)
t1=$(date +%s)
# until node 3 is back, but at most 2000 messages a load
load m1 c --until "$T/c.stop" -n 2000
load m2 c --until "$T/c.stop" -n 2000
sleep 2
gal_node_kill9 "$T/gal" 3 || fail "c. node 3 was not running"
t_kill=$(date +%s)
# as a service manager would, restart it once the others noticed (they
# wait evs.suspect_timeout, 5 s, meanwhile every commit waits): a node
# back under its old address before that confuses the membership, and
# the survivors drop out of the primary component for a moment
gal_wait_size "$T/gal" 1 2 || fail "c. nodes 1 and 2 did not form a primary component without node 3"
t_gone=$(date +%s)
gal_node_start "$T/gal" 3 || fail "c. node 3 did not rejoin the cluster"
t_up=$(date +%s)
busy=0
for p in $BGPIDS; do kill -0 "$p" 2>/dev/null && busy=$((busy + 1)); done
[ "$busy" -eq 4 ] || fail "c. only $busy of 4 loads were still running when node 3 was back (raise -n)"
# some more load with node 3 back, then the end
sleep 2
touch "$T/c.stop"
for p in $BGPIDS; do wait "$p"; done
BGPIDS=""
for k in 1 2; do
	for u in u1 u2; do load_ok "$T/c-m$k-$u.out" "$(stat_of "$T/c-m$k-$u.out" messages)" "c. m$k to $u"; done
done
how=$(grep -o 'IST received\|SST complete\|SST received' "$T/gal/n3/error.log" | tail -n 1)
lat=0
for f in "$T"/c-m?-u?.out; do
	l=$(stat_of "$f" eom_max_ms)
	lat=$(echo "$l $lat" | awk '{ print ($1 > $2) ? $1 : $2 }')
done
echo "c. node 3 killed $((t_kill - t1)) s into the load, out of the cluster $((t_gone - t_kill)) s later, Synced again after $((t_up - t_kill)) s ($how); load for $(($(date +%s) - t1)) s in all, the slowest message $lat ms"

#
# d. nothing reached on_error; all nodes agree with each other and with
# a single-process reference
#
grep -q '(on_error)\|on_error applies' "$T"/m?.log &&
	fail "d. messages reached on_error: $(grep -h 'on_error' "$T"/m?.log | head)"
cc=0
for k in 1 2 3; do cc=$((cc + $(conflicts $k))); done
cc=$((cc + c3 - cb))
rc_=$(retried "$T"/m?.log)
xc=$(retries "$T"/m?.log)
sent=$((6 * NB))
for u in u1 u2; do
	nc1=$(stat_of "$T/c-m1-$u.out" messages)
	nc2=$(stat_of "$T/c-m2-$u.out" messages)
	want=$((3 * NB + nc1 + nc2))
	sent=$((sent + nc1 + nc2))
	for k in 1 2 3; do
		got=$(q $k "SELECT SUM(spam_learned + innocent_learned + spam_classified + innocent_classified)
			FROM dspam_stats s JOIN dspam_virtual_uids v ON v.uid = s.uid WHERE v.username = '$u@load.example'")
		[ "$got" = "$want" ] || fail "d. node $k counted $got messages of $u, want $want"
		got=$(q $k "SELECT COUNT(*) FROM dspam_signature_data s JOIN dspam_virtual_uids v ON v.uid = s.uid
			WHERE v.username = '$u@load.example'")
		[ "$got" = "$want" ] || fail "d. node $k has $got signatures of $u, want $want"
	done
done
for k in 1 2 3; do
	q $k "SELECT v.username, CAST(CAST(t.token AS UNSIGNED) AS SIGNED), t.spam_hits + t.innocent_hits
		FROM dspam_token_data t JOIN dspam_virtual_uids v ON v.uid = t.uid" | tr '\t' ' ' | sort > "$T/n$k.tokens"
done
# the reference: one milter on SQLite, the same messages one at a time
mkdir -p "$T/ref"
milter_conf "$T/ref.conf" "$T/ref.sock" "store_path = $T/ref/es.db"
start_milter ref
PR=$MPID
for u in u1 u2; do
	for n in $NB $NB $NB $(stat_of "$T/c-m1-$u.out" messages) $(stat_of "$T/c-m2-$u.out" messages); do
		"$MILTC" -s "unix:$T/ref.sock" -B "$T/corpus" -n $n -f a@example.com -r "$u@load.example" > "$T/ref.out" 2>&1 ||
			fail "d. reference run: $(cat "$T/ref.out")"
		load_ok "$T/ref.out" $n "d. reference run to $u"
	done
done
stop_milter "$PR"
sqlite3 -separator ' ' "$T/ref/es.db" "SELECT v.username, t.token, t.spam_hits + t.innocent_hits
	FROM dspam_token_data t JOIN dspam_virtual_uids v ON v.uid = t.uid" | sort > "$T/ref.tokens"
[ "$(wc -l < "$T/ref.tokens")" -gt 100 ] || fail "d. the reference run learned $(wc -l < "$T/ref.tokens") tokens"
for k in 1 2 3; do
	diff "$T/ref.tokens" "$T/n$k.tokens" > "$T/tokens.diff" ||
		fail "d. token counts on node $k differ from the SQLite reference (< reference, > node $k; user token spam+innocent):
$(head -n 20 "$T/tokens.diff")"
done

#
# e. purge through node 2 (rows of every rule: the signatures made
# today are kept, so are the tokens; old rows are planted first): the
# same rows go on every node
#
q 1 "INSERT INTO dspam_token_data (uid, token, spam_hits, innocent_hits, last_hit)
	SELECT uid, 900000 + seq, 1, 0, CURDATE() - INTERVAL 100 DAY
	FROM dspam_virtual_uids, seq_1_to_500" || fail "e. planting old tokens"
out=$("$ES" -c "$T/es3.conf" purge 2>&1) || fail "e. purge through node 3: $out"
for k in 1 2 3; do
	got=$(q $k "SELECT COUNT(*) FROM dspam_token_data WHERE token > 900000 AND token <= 900500")
	[ "$got" = 0 ] || fail "e. node $k still has $got of the old tokens after the purge: $out"
	q $k "SELECT uid, token, spam_hits, innocent_hits FROM dspam_token_data ORDER BY uid, token" > "$T/e$k.tokens"
done
cmp -s "$T/e1.tokens" "$T/e2.tokens" && cmp -s "$T/e1.tokens" "$T/e3.tokens" ||
	fail "e. the nodes' token rows differ after the purge"

echo "d. $sent messages, none lost or deferred; $(wc -l < "$T/ref.tokens") token rows equal on the 3 nodes and in the SQLite reference; certification conflicts on the servers: $cb in b, $cc in c; the milters wrote $rc_ messages again with $xc retries in all; $(($(date +%s) - t0)) s"
pass
