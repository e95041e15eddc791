#!/bin/sh
# test_galera_lock.sh - the purge's single-runner lock and the CLI's
# conflict retries on a two-node MariaDB Galera cluster
# (tests/sh/lib_galera.sh: private datadirs and loopback ports, stopped
# by pid), through the real edgespam program:
#   a. two purges started at once, one through each node: exactly one
#      runs (it removes every planted row), the other exits 75 at once,
#      saying that another purge holds the lock and naming it;
#   b. a purge killed with -9 leaves its lock behind: a purge through
#      the other node is refused (naming the dead holder) until the lock
#      expires (mysql_purge_lock_s), then runs and removes the rest;
#   c. corrections of one user's messages through both nodes at once:
#      the two nodes' transactions collide on the user's rows, and every
#      correction is applied (the CLI retries a conflict as the milter
#      does), so the user's error counts equal the corrections made;
#   d. edgespam train of one user through both nodes at once, in
#      batches: a batch that a conflict rolled back is written again
#      message by message, so the user's totals count every message once.
set -u
. tests/sh/lib.sh
. tests/sh/lib_mariadb.sh
. tests/sh/lib_galera.sh

ES=${BUILD:-build}/edgespam
[ -x "$ES" ] || skip "SKIP: $ES not built"
gal_require

T=$(mktemp -d "${TMPDIR:-/tmp}/edgespam-galock.XXXXXX")
BGPIDS=""
cleanup() {
	for p in $BGPIDS; do kill -9 "$p" 2>/dev/null; done
	[ -d "$T/gal" ] && gal_stop "$T/gal"
	rm -rf "$T"
}
trap cleanup EXIT
trap 'exit 1' INT TERM
chmod 0711 "$T"
t0=$(date +%s)
gal_start "$T/gal" 2 || fail "the private Galera cluster did not start"
echo "cluster of 2 up in $(($(date +%s) - t0)) s"

# q K SQL - on node K, after it applied what was committed before
q() { gal_sql "$T/gal" "$1" "$2"; }

# a configuration per node: slow purges (50 rows a batch, 100 ms rests)
# so that the two overlap
for k in 1 2; do
	cat > "$T/es$k.conf" <<EOC
user = ""
retrain_socket = ""
log_level = info
store_busy_timeout_ms = 15000
purge_batch = 50
purge_pause_ms = 100
purge_pace = 0
purge_latency_slack = 0
EOC
	gal_store_conf "$T/es$k.conf" "$T/gal" $k
done
out=$("$ES" -c "$T/es1.conf" db init 2>&1) || fail "db init on node 1: $out"

# plant FIRST N - N tokens unseen for 100 days (ids FIRST+1..FIRST+N)
plant() {
	q 1 "INSERT IGNORE INTO dspam_virtual_uids (username) VALUES ('old@example.org');
		INSERT INTO dspam_token_data (uid, token, spam_hits, innocent_hits, last_hit)
		SELECT v.uid, $1 + seq, 1, 0, CURDATE() - INTERVAL 100 DAY
		FROM dspam_virtual_uids v, seq_1_to_$2 WHERE v.username = 'old@example.org'" ||
		fail "planting old tokens"
}
# old K - the planted tokens node K still has
old() { q "$1" "SELECT COUNT(*) FROM dspam_token_data WHERE last_hit < CURDATE() - INTERVAL 50 DAY"; }

# part X - whether part X runs (GALERA_LOCK_PARTS, default all: abcd;
# e.g. c alone, to run the corrections on an older program)
part() { case ${GALERA_LOCK_PARTS:-abcd} in *$1*) return 0 ;; esac; return 1; }

#
# a. two purges at once, one through each node
#
N=3000
if part a; then
plant 0 $N
"$ES" -c "$T/es1.conf" purge > "$T/a1.out" 2>&1 &
p1=$!
"$ES" -c "$T/es2.conf" purge > "$T/a2.out" 2>&1 &
p2=$!
BGPIDS="$p1 $p2"
wait $p1; r1=$?
wait $p2; r2=$?
BGPIDS=""
echo "a. purge through node 1: exit $r1: $(tail -n 1 "$T/a1.out")"
echo "a. purge through node 2: exit $r2: $(tail -n 1 "$T/a2.out")"
if [ $r1 -eq 0 ] && [ $r2 -eq 75 ]; then
	win=1; lose=2
elif [ $r1 -eq 75 ] && [ $r2 -eq 0 ]; then
	win=2; lose=1
else
	fail "a. two purges at once on two nodes: exits $r1 and $r2, want one 0 and one 75 (both ran: the lock held per node only)"
fi
out=$(cat "$T/a$lose.out")
out_has "another purge is running" "a. the refused purge does not say why"
out_has "pid [0-9]" "a. the refused purge does not name the holder"
out_lacks "^purge: signatures" "a. the refused purge ran too"
out=$(cat "$T/a$win.out")
out_has "unused tokens $N," "a. the purge that ran did not remove the $N planted rows"
for k in 1 2; do
	[ "$(old $k)" = 0 ] || fail "a. node $k still has $(old $k) planted rows"
done

fi

#
# b. a purge killed with -9: its lock expires
#
if part b; then
for k in 1 2; do conf_set "$T/es$k.conf" "mysql_purge_lock_s = 6"; done
plant 100000 $N
"$ES" -c "$T/es1.conf" purge > "$T/b1.out" 2>&1 &
p1=$!
BGPIDS=$p1
n=0
while [ "$(old 1)" -ge $N ]; do
	n=$((n + 1))
	[ $n -gt 100 ] && fail "b. the purge through node 1 deleted nothing in 20 s: $(cat "$T/b1.out")"
	sleep 0.2
done
kill -9 $p1
wait $p1 2>/dev/null
BGPIDS=""
t_kill=$(date +%s)
left=$(old 2)
[ "$left" -gt 0 ] || fail "b. the purge ended before it was killed (raise N)"
out=$("$ES" -c "$T/es2.conf" purge 2>&1); r=$?
expect_rc 75 $r "b. a purge right after the holder was killed: $out"
out_has "another purge is running.*pid $p1" "b. the refusal does not name the killed purge (pid $p1)"
# then, within the lock's life (6 s after its last renewal), it runs
tries=1
while :; do
	t_run=$(date +%s)
	out=$("$ES" -c "$T/es2.conf" purge 2>&1) && break
	[ $? -eq 75 ] || fail "b. purge through node 2: $out"
	[ $(($(date +%s) - t_kill)) -gt 20 ] && fail "b. the killed purge's lock did not expire in 20 s: $out"
	tries=$((tries + 1))
	sleep 1
done
out_has "unused tokens $left," "b. the purge after the expiry did not remove the $left rows left"
echo "b. purge killed with $left of $N rows left; refused $tries times, then started $((t_run - t_kill)) s after the kill (lock life 6 s) and removed the rest"
[ $((t_run - t_kill)) -le 9 ] || fail "b. the lock outlived its 6 s: the purge started $((t_run - t_kill)) s after the kill"
fi

#
# c. corrections of one user's messages, half through each node, all at
# once: each writes the user's totals row, so the nodes' transactions
# collide and Galera refuses some at commit
#
# conflicts K - certification failures and brute-force aborts on node K
conflicts() {
	echo $(($(gal_status "$T/gal" "$1" wsrep_local_cert_failures) +
		$(gal_status "$T/gal" "$1" wsrep_local_bf_aborts)))
}
NC=24
if part c; then
i=1
while [ $i -le $NC ]; do
	ham $i | "$ES" -c "$T/es1.conf" --user carol@example.org --stdout --deliver=innocent,spam > "$T/c$i.eml" ||
		fail "c. processing message $i"
	grep -q '^X-DSPAM-Result: Innocent$' "$T/c$i.eml" ||
		fail "c. message $i was not Innocent: $(grep '^X-DSPAM' "$T/c$i.eml")"
	i=$((i + 1))
done
c0=$(($(conflicts 1) + $(conflicts 2)))
PIDS=""
i=1
while [ $i -le $NC ]; do
	"$ES" -c "$T/es$((1 + i % 2)).conf" --user carol@example.org --addspam < "$T/c$i.eml" > "$T/c$i.out" 2>&1 &
	PIDS="$PIDS $!"
	i=$((i + 1))
done
BGPIDS=$PIDS
bad=0
for p in $PIDS; do wait "$p" || bad=$((bad + 1)); done
BGPIDS=""
cc=$(($(conflicts 1) + $(conflicts 2) - c0))
echo "c. $NC corrections at once through 2 nodes: $bad failed; $cc certification conflicts on the servers"
[ $bad -eq 0 ] || fail "c. $bad of $NC corrections failed (a conflict is to be written again): $(cat "$T"/c*.out | grep -v '^$' | sort | uniq -c | head -5)"
for k in 1 2; do
	got=$(q $k "SELECT spam_misclassified FROM dspam_stats s JOIN dspam_virtual_uids v ON v.uid = s.uid WHERE v.username = 'carol@example.org'")
	[ "$got" = $NC ] || fail "c. node $k counts $got corrected messages of carol, want $NC"
done
[ $cc -gt 0 ] || fail "c. no certification conflict happened among the $NC corrections: the test proves nothing"
fi

#
# d. edgespam train of one user, the same 80 messages through each node
# at once, in batches of 8: a batch that a conflict rolls back is
# written again message by message, so every message counts once
#
if part d; then
mkdir -p "$T/sd" "$T/hd"
i=1
while [ $i -le 40 ]; do
	spam $i > "$T/sd/$i"
	ham $i > "$T/hd/$i"
	i=$((i + 1))
done
d0=$(($(conflicts 1) + $(conflicts 2)))
for k in 1 2; do
	"$ES" -c "$T/es$k.conf" train dave@example.org --spam "$T/sd" --innocent "$T/hd" --batch=8 > "$T/d$k.out" 2>&1 &
	eval "pd$k=\$!"
done
BGPIDS="$pd1 $pd2"
wait $pd1; r1=$?
wait $pd2; r2=$?
BGPIDS=""
dc=$(($(conflicts 1) + $(conflicts 2) - d0))
echo "d. two trains of 80 messages at once through 2 nodes: exits $r1 and $r2; $dc certification conflicts on the servers; $(cat "$T"/d?.out | grep -c 'written again') reported writing a batch again"
[ $r1 -eq 0 ] && [ $r2 -eq 0 ] || fail "d. train through node 1: exit $r1: $(tail -n 3 "$T/d1.out"); through node 2: exit $r2: $(tail -n 3 "$T/d2.out")"
for k in 1 2; do
	got=$(q $k "SELECT spam_learned + innocent_learned + spam_classified + innocent_classified FROM dspam_stats s JOIN dspam_virtual_uids v ON v.uid = s.uid WHERE v.username = 'dave@example.org'")
	[ "$got" = 160 ] || fail "d. node $k counts $got messages of dave, want 160"
done
[ $dc -gt 0 ] || fail "d. no certification conflict happened between the two trains: the test proves nothing"
fi

echo "$(($(date +%s) - t0)) s in all"
pass
