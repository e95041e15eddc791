#!/bin/sh
# test_awl.sh - automatic whitelisting through the real milter (driven
# by miltc with chosen client addresses), on a SQLite store. Issue 13:
# twelve bland messages with a forged "From: service@bank.test" made
# the twelfth Whitelisted, and then anything with that From: skipped
# scoring. The sender token is now the From: address together with the
# SMTP client's network (/24, /64):
#   1. twelve such messages to a new opted-in user, each from another
#      network: none is Whitelisted;
#   2. a real correspondent writing from one /24 (its From: spelled two
#      ways: the address counts, lowercased) is Whitelisted from its twelfth message on (more than
#      whitelist_threshold = 10 innocent hits);
#   3. after that, the same From: from another network is not;
#   4. the CLI (no SMTP client) never whitelists.
set -u
. tests/sh/lib.sh

milter_programs
milter_workdir awl

milter_conf "$T/es.conf" "$T/m.sock" "store_path = $T/es.db" \
    "store_busy_timeout_ms = 500" "default_policy = opt-in" \
    "message_timeout_ms = 5000" "log_level = info" \
    "whitelist_threshold = 10"
es() { "$ES" -c "$T/es.conf" "$@"; }
es user dave@example.org opt-in || fail "dave opt-in"
milter_start "$T/es.conf" "$T/m.sock" "$T/milter.log"

# bland I - a notice "From: service@bank.test"; for an odd I above 100
# the From: says '"Your Bank" <Service@Bank.TEST>' (the same address)
bland() {
	from='service@bank.test'
	[ "$1" -gt 100 ] && [ $(($1 % 2)) -eq 1 ] && from='"Your Bank" <Service@Bank.TEST>'
	printf 'From: %s\nTo: dave@example.org\nSubject: account notice %s\nMessage-ID: <n%s@bank.test>\n\n' "$from" "$1" "$1"
	printf 'Your monthly statement %s is ready to view.\nKind regards, the service team\n' "$1"
}
# result CLIENT I - the X-DSPAM-Result the milter adds to bland I sent
# from CLIENT to dave
result() {
	bland "$2" > "$T/m.eml"
	out=$("$MILTC" -s "unix:$T/m.sock" -t 20 -c "$1" -f bounce@bank.test \
	    -r dave@example.org -m "$T/m.eml" 2>&1) || fail "miltc -c $1: $out"
	r=$(echo "$out" | sed -n 's/^mod addheader X-DSPAM-Result: //p')
	[ -n "$r" ] || fail "message $2 from $1 was not classified: $out"
	echo "$r"
}

# 1. the forger: twelve messages from twelve networks (IPv4 and IPv6)
i=1
while [ $i -le 12 ]; do
	if [ $i -le 6 ]; then c=198.51.$i.7; else c=2001:db8:$i::7; fi
	r=$(result "$c" "$i")
	[ "$r" = Innocent ] || fail "1. forged From: message $i from $c: X-DSPAM-Result $r, want Innocent"
	i=$((i + 1))
done

# 2. the real correspondent: one /24, several hosts
i=1
while [ $i -le 12 ]; do
	c=192.0.2.$((10 + i))
	r=$(result "$c" $((100 + i)))
	if [ $i -lt 12 ]; then want=Innocent; else want=Whitelisted; fi
	[ "$r" = "$want" ] || fail "2. message $i from the correspondent's network ($c): X-DSPAM-Result $r, want $want"
	i=$((i + 1))
done
r=$(result 192.0.2.200 113)
[ "$r" = Whitelisted ] || fail "2. another host of the correspondent's /24: $r, want Whitelisted"

# 3. the forger again, now that the real sender is whitelisted
for c in 203.0.113.5 192.0.3.11 2001:db8:ffff::1; do
	r=$(result "$c" 200)
	[ "$r" = Innocent ] || fail "3. forged From: from $c after the real sender's whitelisting: $r, want Innocent"
done

# 4. the CLI knows no client: the same From: never whitelists there
i=1
while [ $i -le 12 ]; do
	out=$(bland $((300 + i)) | es --user erin@example.org --stdout --deliver=innocent,spam 2>&1) ||
		fail "4. edgespam --stdout: $out"
	echo "$out" | grep -q '^X-DSPAM-Result: Innocent' ||
		fail "4. CLI message $i: not Innocent: $(echo "$out" | grep '^X-DSPAM-Result')"
	i=$((i + 1))
done
pass
