#!/bin/sh
# test_rcpt.sh - recipient spellings through a private Postfix with its
# defaults for the percent hack, bang paths, quoting and the recipient
# delimiter (+), sent by an unauthenticated outside client (127.0.0.2,
# outside Postfix's mynetworks and the milter's trusted_networks):
#   - no spelling of a retrain alias reaches an alias pipe: bob's counts,
#     lists and the maillog's pipe deliveries stay at zero. The spellings
#     are the ones issue 13 found open, every extension length up to
#     Postfix's line limit for bob-spam, quoted, escaped, routed, 8-bit
#     (SMTPUTF8) and encoded forms, mixed case, several in one
#     transaction, each for bob-spam, bob-fp, bob-allow and bob-block;
#   - every spelling Postfix delivers to the opted-in bob's mailbox has
#     bob's X-DSPAM-Result, exactly once;
#   - from the milter's trusted network (127.0.0.1) the alias works, so
#     the zero above is not for want of a working pipe;
#   - a local submission by a shell user (sendmail(1) as nobody, seen
#     through non_smtpd_milters) to a retrain alias is refused.
# Prints the counts. MILTER and EDGESPAM may name other builds.
set -u
TOP=$(cd "$(dirname "$0")/../.." && pwd)
cd "$TOP" || exit 1
. tests/sh/lib.sh
. tests/sh/lib_postfix.sh

[ "$(id -u)" -eq 0 ] || skip "not root: a Postfix instance needs root to start"
for c in postfix maildrop swaks perl; do
	command -v "$c" >/dev/null || skip "$c not installed (make deps)"
done
B=$TOP/${BUILD:-build}
MILTER=${MILTER:-$B/edgespam-milter}
EDGESPAM=${EDGESPAM:-$B/edgespam}
[ -x "$MILTER" ] && [ -x "$EDGESPAM" ] || skip "programs not built"
ip -4 addr show dev lo 2>/dev/null | grep -q 'inet 127.0.0.1/8' ||
	skip "loopback is not 127.0.0.1/8: no second client address"

T=$(mktemp -d "${TMPDIR:-/tmp}/edgespam-rcpt.XXXXXX")
MPID=""
trap 'kill -TERM $MPID 2>/dev/null; wait $MPID 2>/dev/null; pf_cleanup "$T"; [ -n "${KEEP:-}" ] || rm -rf "$T"' EXIT
trap 'exit 1' INT TERM
fail_log() {
	echo "--- maillog:"; pf_log "$T" 30
	echo "--- milter:"; tail -n 30 "$T/milter.log"
	fail "$*"
}

PU=$(pf_pipe_user)
EDGESPAM_CONF=$T/edgespam.conf
cat > "$EDGESPAM_CONF" <<EOC
store_path = $T/store/edgespam.db
store_busy_timeout_ms = 2000
milter_socket = unix:$T/milter.sock
milter_socket_owner = postfix
user = $PU
pid_file = $T/run/milter.pid
default_policy = opt-in
trusted_networks = 127.0.0.1/32
retrain_socket = $T/run/retrain.sock
log_level = info
EOC
chmod 644 "$EDGESPAM_CONF"
PORT=$(pf_free_port) || fail "no free port"
pf_setup "$T" "$PORT" "unix:$T/milter.sock" || fail "pf_setup"
# Postfix's defaults for what this test is about, and a client outside
# mynetworks; SMTPUTF8 as Postfix has it by default
pf_postconf "$T" -e mynetworks=127.0.0.1/32 smtputf8_enable=yes \
	allow_percent_hack=yes swap_bangpath=yes resolve_dequoted_address=yes \
	smtpd_hard_error_limit=1000 || fail "postconf"
mkdir -p "$T/run" && chown "$PU" "$T/run"
pf_es user bob@example.org opt-in >/dev/null || fail "opt bob in"
"$MILTER" -f -c "$EDGESPAM_CONF" >> "$T/milter.log" 2>&1 &
MPID=$!
wait_socket "$T/milter.sock" "$MPID" "$T/milter.log" || fail "milter did not start"
pf_start "$T" || fail "pf_start"

SMTP="perl tests/tools/smtp-rcpt.pl"
pipes() { pf_log "$T" | grep -c 'status=sent (delivered to command'; }
# bob's learned spam and missed spam (FN): only an alias pipe moves them
counts() { pf_es stats bob@example.org | awk '$1 == "bob@example.org" { print $2, $7 }'; }

# ---- the spellings ------------------------------------------------------
x() { printf '%*s' "$1" '' | tr ' ' x; }
L=$T/lines
n=0
add() { n=$((n + 1)); printf '%s' "$n" >> "$L"; for a in "$@"; do printf '\t%s' "$a" >> "$L"; done; echo >> "$L"; }
: > "$L"
ls_=$(printf '\305\277')      # U+017F long s, folds to s
kelvin=$(printf '\342\204\252') # U+212A Kelvin sign, folds to k
for a in spam fp allow block; do
	al=bob-$a
	up=$(echo "$al" | tr a-z A-Z)
	for f in "$al@example.org" "$al+x@example.org" "$up@EXAMPLE.ORG" \
		"$(echo "$al" | sed 's/^b/B/; s/-\(.\)\(.\)/-\1\U\2/')@ExAmPlE.oRg" \
		"$al%example.org%example.org@example.org" "$al" \
		"$al%example.org" "example.org!$al" "$al\\@example.org" \
		"\"$al\"@example.org" "\"bob-\"$a@example.org" "b\\ob-$a@example.org" \
		"\\b\\o\\b\\-\\$(echo "$a" | sed 's/./&\\/g; s/\\$//')@example.org" \
		"\"$al@example.org\"@localhost" "$al%example.org@localhost" \
		"localhost!$al" "mx.test!example.org!$al" "$al@localhost" \
		"$al@mx.test" "$al@[127.0.0.1]" "@mx.test:$al@example.org" \
		"@a.test,@b.test:$al@example.org" "$al@example.org." \
		"$al+$(x 128)@example.org" "$al+\"quoted ext\"@example.org" \
		"=?utf-8?q?$al?=@example.org" "$al=40example.org@example.org"; do
		add "$f"
	done
done
add "bob-${ls_}pam@example.org"
add "bob-bloc${kelvin}@example.org"
add "BOB-${ls_}PAM+x@example.org"
# every extension length up to Postfix's line limit (2048 with CRLF)
i=1
while [ $i -le 2015 ]; do
	add "bob-spam+$(x $i)@example.org"
	i=$((i + 1))
done
aliases=$n
# spellings of the opted-in user
for f in bob@example.org BOB@EXAMPLE.ORG Bob+News@Example.Org '"bob"@example.org' \
	'b\ob@example.org' '"b"ob@example.org' 'bob%example.org@localhost' \
	'localhost!example.org!bob' '@mx.test:bob@example.org' 'bob@example.org.' \
	"bob+$(x 120)@example.org" '"bob"+x@example.org' 'bob%example.org@example.org'; do
	add "$f"
done
for i in 1 2 3 7 63 64 65 100 119 120 121 127 128 129 200 255 256 500 1000 1500 2000 2018; do
	add "bob+$(x $i)@example.org"
done
# several recipients in one transaction
add "bob-spam+x@example.org" "bob@example.org"
add "bob@example.org" "bob-fp%example.org@localhost"
add "carol@example.org" "\"bob-spam\"@example.org"
add "bob@example.org" "BOB+x@example.org" "\"bob\"@example.org"
add "bob-allow@example.org" "bob-block@example.org" "bob@example.org"
add "bob@example.org" "carol@example.org"
total=$n

pipes0=$(pipes)
$SMTP 127.0.0.1 "$PORT" 127.0.0.2 stranger@example.net < "$L" > "$T/out" ||
	fail_log "smtp-rcpt.pl failed: $(tail -n 3 "$T/out")"
[ "$(wc -l < "$T/out")" -eq "$total" ] || fail_log "only $(wc -l < "$T/out") of $total transactions ran"
# (a message Postfix cannot deliver stays queued: judged after the aliases)
qfail=""
pf_wait_queue_empty "$T" 60 > "$T/queue" || qfail=1

# the alias spellings: no RCPT of theirs accepted by the milter and no pipe
acc=$(awk -F'\t' -v n="$aliases" '$1 <= n && $2 == 250' "$T/out" | wc -l)
byp=$(grep -c 'retrain alias .* refused for \[127.0.0.2\]' "$T/milter.log")
bym=$(grep -c 'refused: .*(bad_recipient_action)' "$T/milter.log")
dist=$(awk -F'\t' -v n="$aliases" '$1 <= n { print $2 }' "$T/out" | sort | uniq -c |
	awk '{ printf "%s%s x%s", s, $2, $1; s = ", " }')
[ "$(pipes)" -eq "$pipes0" ] || fail_log "$(( $(pipes) - pipes0 )) messages reached an alias pipe: $(pf_log "$T" | grep 'delivered to command' | head -3)"
[ "$acc" -eq 0 ] || fail_log "$acc alias spellings accepted: $(awk -F'\t' -v n="$aliases" '$1 <= n && $2 == 250' "$T/out" | head -3)"
got=$(counts)
[ "$got" = "0 0" ] || fail "bob's spam and FN after the strangers: '$got', want '0 0'"
[ -z "$(pf_es user list bob@example.org 2>/dev/null | grep -v '^#')" ] ||
	fail "bob's lists changed: $(pf_es user list bob@example.org)"
[ -z "$qfail" ] || fail_log "$(cat "$T/queue")"

# every delivered copy in bob's mailbox has bob's verdict, exactly once
nbob=0
for f in "$(pf_maildir "$T" bob)"/* "$(pf_maildir "$T" bob Spam)"/*; do
	[ -f "$f" ] || continue
	nbob=$((nbob + 1))
	c=$(sed '/^\r\{0,1\}$/q' "$f" | grep -c '^X-DSPAM-Result: ')
	[ "$c" -eq 1 ] || fail "$f has $c X-DSPAM-Result fields: $(sed -n 's/^Subject: //p' "$f")"
	sed '/^\r\{0,1\}$/q' "$f" | grep -q '^X-DSPAM-Signature: ' ||
		fail "$f has no signature"
done
# each transaction in which a spelling of bob was accepted left a copy in
# bob's mailbox; no alias spelling among them was accepted
awk -F'\t' 'NR == FNR { for (i = 2; i <= NF; i++) r[$1, i] = tolower($i); next }
	$1 > n { for (i = 2; i < NF; i++) {
		if ($i != 250) continue
		if (r[$1, i] ~ /spam|fp|allow|block/) print "alias " $1 " " r[$1, i]
		else if (r[$1, i] !~ /^carol/ && $NF == "DATA=250") { print "bob " $1; break }
	} }' n="$aliases" "$L" "$T/out" > "$T/want"
grep '^alias' "$T/want" && fail_log "alias spellings accepted beside another recipient"
for id in $(sed -n 's/^bob //p' "$T/want"); do
	grep -lq "^Subject: rcpt-test $id\$" "$(pf_maildir "$T" bob)"/* "$(pf_maildir "$T" bob Spam)"/* 2>/dev/null ||
		fail_log "transaction $id was accepted for bob but is not in bob's mailbox: $(grep "^$id	" "$L")"
done
want=$(grep -c '^bob' "$T/want")
# carol takes one message of the mixed transactions (unfiltered, no fields)
ncarol=0
for f in "$(pf_maildir "$T" carol)"/*; do
	[ -f "$f" ] || continue
	ncarol=$((ncarol + 1))
	grep -q '^X-DSPAM' "$f" && fail "carol's copy has X-DSPAM fields: $f"
done
[ "$want" -gt 0 ] || fail_log "no spelling of bob was delivered"
[ "$nbob" -ge "$want" ] ||
	fail_log "bob's mailbox holds $nbob copies; $want transactions with bob were accepted"
echo "strangers: $total transactions, $aliases of them to alias spellings;" \
	"their RCPT replies: $dist; the milter logged $byp retrain-alias refusals" \
	"and $bym unresolvable addresses, Postfix refused the rest; 0 accepted, 0 alias pipe runs;" \
	"$want transactions to bob accepted, his mailbox got $nbob copies," \
	"each with one X-DSPAM-Result; carol $ncarol, without X-DSPAM fields"

# ---- the trusted network: the alias pipe works --------------------------
printf 'c1\tbob-spam@example.org\n' |
	$SMTP 127.0.0.1 "$PORT" 127.0.0.1 bob@example.org > "$T/out2" || fail_log "trusted send"
grep -q "	250	DATA=250" "$T/out2" || fail_log "trusted network refused: $(cat "$T/out2")"
pf_wait_queue_empty "$T" 20 || fail_log "queue not empty"
[ "$(pipes)" -eq "$((pipes0 + 1))" ] || fail_log "the trusted alias message did not reach the pipe"
[ "$(counts)" = "1 1" ] || fail "after the trusted correction bob's counts: '$(counts)', want '1 1'"

# ---- a local submission by a shell user ---------------------------------
# sendmail(1) as nobody: Postfix reads the default configuration
# directory for a user other than root, so this instance's is mounted
# there in a private mount namespace
smp=$(postconf -c "$T/etc" -h sendmail_path)
who=nobody
for a in bob-spam@example.org bob-spam; do
	if [ $who = nobody ] &&
		printf 'Subject: local to %s\n\ncheap pills\n' "$a" |
		unshare -m sh -c "mount --bind '$T/etc' /etc/postfix &&
			exec setpriv --reuid=nobody --regid=nogroup --clear-groups '$smp' -- '$a'" \
			2>>"$T/sendmail.err"; then
		continue
	fi
	# no private mount namespace: root's submission looks the same to
	# the milter (Postfix passes no submitter)
	echo "note: sendmail as nobody failed ($(tail -n 1 "$T/sendmail.err")); submitting as root"
	who=root
	printf 'Subject: local to %s\n\ncheap pills\n' "$a" |
		pf_sendmail "$T" root "$a" || fail "sendmail as root"
done
i=0
while [ "$(grep -c 'refused for a local submission' "$T/milter.log")" -lt 2 ]; do
	i=$((i + 1)); [ $i -le 100 ] || fail_log "local submissions to bob-spam not refused"
	sleep 0.1
done
pf_wait_queue_empty "$T" 20 || fail_log "queue not empty"
[ "$(pipes)" -eq "$((pipes0 + 1))" ] || fail_log "a local submission reached the alias pipe"
[ "$(counts)" = "1 1" ] || fail "a local submission changed bob's counts: '$(counts)'"
echo "local submission by $who to bob-spam: refused twice, bob's counts unchanged"
pass
