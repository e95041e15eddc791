#!/bin/sh
# test_timeout.sh - milter_timeout_s: an MTA connection that stops in
# the middle of a body chunk (miltc --then stall: the start of a BODY
# command, then nothing) is dropped by the milter after about that
# many seconds, several such connections at once as well; the milter
# then still classifies a normal message, and stops without a message
# left open (the dropped messages were released). The key's range is
# checked at both ends.
set -u
. tests/sh/lib.sh

B=${BUILD:-build}
MILTER=$B/edgespam-milter
MILTC=${MILTC:-$B/tools/miltc}
for p in "$MILTER" "$MILTC"; do
	[ -x "$p" ] || skip "$p not built"
done
milter_workdir timeout

# the range: 1 to 86400
for v in 0 86401; do
	milter_conf "$T/bad.conf" "$T/m.sock" "milter_timeout_s = $v"
	out=$("$MILTER" -n -c "$T/bad.conf" 2>&1)
	expect_rc 78 $? "milter_timeout_s = $v"
	out_has "bad.conf:.*milter_timeout_s: $v is out of range 1..86400" "no range error for $v"
done
milter_conf "$T/max.conf" "$T/m.sock" "milter_timeout_s = 86400"
"$MILTER" -n -c "$T/max.conf" >/dev/null || fail "milter_timeout_s = 86400 refused"

milter_conf "$T/m.conf" "$T/m.sock" "store_path = $T/es.db" \
    "milter_timeout_s = 2" "log_level = info"
milter_start "$T/m.conf" "$T/m.sock" "$T/milter.log"
ham 1 > "$T/ham.eml"
mc() { "$MILTC" -s "unix:$T/m.sock" -t 15 -f a@example.com -r bob@example.org -m "$T/ham.eml" "$@"; }

# closed SECONDS - the stall lasted between 1.5 and 8 s
closed() {
	awk -v s="$1" 'BEGIN { exit !(s >= 1.5 && s <= 8) }'
}

# 1. one stalled connection: dropped after about 2 s
out=$(mc --stop-after body --then stall) || fail "stall: $out"
out_has '^stop body stall$' "stall not reached"
s=$(echo "$out" | sed -n 's/^stall closed //p')
[ -n "$s" ] && closed "$s" || fail "stalled connection closed after '$s' s, want about 2: $out"

# 2. five at once, in the middle of the headers and of the body: all
#    dropped, each after about 2 s
i=0
pids=""
for stage in header body header body body; do
	i=$((i + 1))
	mc --stop-after $stage --then stall > "$T/s$i.out" 2>&1 &
	pids="$pids $!"
done
for p in $pids; do
	wait "$p"
done
for i in 1 2 3 4 5; do
	s=$(sed -n 's/^stall closed //p' "$T/s$i.out")
	[ -n "$s" ] && closed "$s" || fail "stall $i closed after '$s' s: $(cat "$T/s$i.out")"
done

# 3. the milter still classifies, and stops with no message left open
out=$(mc) || fail "normal message: $out"
out_has '^mod addheader X-DSPAM-Result: ' "normal message after the stalls not classified"
kill -TERM "$MPID"
wait "$MPID" || fail "stop: exit $?"
MPID=""
grep -q "still open" "$T/milter.log" && fail "messages left open: $(cat "$T/milter.log")"
pass
