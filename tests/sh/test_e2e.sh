#!/bin/sh
# test_e2e.sh - edgespam-milter behind a private Postfix instance with
# maildrop delivery (tests/sh/lib_postfix.sh), checked by reading the
# delivered files: ham to an opted-in user is tagged Innocent in the
# inbox, spam lands in .Spam, forged X-DSPAM fields never survive, a
# message to a filtered and an unfiltered user, relayed by a second
# instance, reaches both once (the split, and the relay's queue retrying
# the second identity), a retrain through the alias applies the signature, the alias
# refuses strangers, 500 messages from 8 parallel senders are each
# delivered once with a verdict, and with the milter down mail is deferred, never
# lost, and delivered once with its headers when the milter is back.
set -u
TOP=$(cd "$(dirname "$0")/../.." && pwd)
cd "$TOP" || exit 1
. tests/sh/lib.sh
. tests/sh/lib_postfix.sh

[ "$(id -u)" -eq 0 ] || skip "not root: a Postfix instance needs root to start"
for c in postfix maildrop swaks sqlite3 smtp-source; do
	command -v "$c" >/dev/null || skip "$c not installed (make deps)"
done
B=$TOP/${BUILD:-build}
MILTER=$B/edgespam-milter
EDGESPAM=$B/edgespam
[ -x "$MILTER" ] && [ -x "$EDGESPAM" ] || skip "programs not built"

T=$(mktemp -d "${TMPDIR:-/tmp}/edgespam-e2e.XXXXXX")
MPID=""
stop_m() {
	[ -n "$MPID" ] || return 0
	kill -TERM "$MPID" 2>/dev/null
	wait "$MPID" 2>/dev/null
	MPID=""
}
R=$T/relay
trap 'stop_m; pf_cleanup "$R"; pf_cleanup "$T"; rm -rf "$T"' EXIT
trap 'exit 1' INT TERM
fail_log() {
	echo "--- maillog:"; pf_log "$T" 30
	echo "--- milter:"; grep -v " result=" "$T/milter.log" | tail -n 30
	fail "$*"
}
fail_relay() { echo "--- relay's maillog:"; pf_log "$R" 30; fail_log "$*"; }

PU=$(pf_pipe_user)
EDGESPAM_CONF=$T/edgespam.conf
DB=$T/store/edgespam.db
# the milter and the alias pipes share the store: both run as $PU
cat > "$EDGESPAM_CONF" <<EOC
store_path = $DB
store_busy_timeout_ms = 2000
milter_socket = unix:$T/milter.sock
milter_socket_owner = postfix
user = $PU
pid_file = $T/run/milter.pid
default_policy = opt-in
trusted_networks = 127.0.0.0/8
retrain_socket = $T/run/retrain.sock
log_level = info
EOC
chmod 644 "$EDGESPAM_CONF"
PORT=$(pf_free_port) || fail "no free port"
pf_setup "$T" "$PORT" "unix:$T/milter.sock" dave || fail "pf_setup"

start_m() {
	rm -f "$T/milter.sock"
	"$MILTER" -f -c "$EDGESPAM_CONF" >> "$T/milter.log" 2>&1 &
	MPID=$!
	n=0
	until [ -S "$T/milter.sock" ]; do
		n=$((n + 1)); [ $n -le 100 ] || fail_log "milter did not start"
		kill -0 "$MPID" 2>/dev/null || fail_log "milter exited at start"
		sleep 0.1
	done
}

# bob opted in and trained; alice not opted in
pf_es domain example.org set opt-in || fail "domain policy"
pf_es user bob@example.org opt-in || fail "bob opt-in"
train_pair pf_es bob@example.org 12
start_m
pf_start "$T" || fail "pf_start"

# field FILE NAME - the values of header NAME in FILE, one per line
field() { sed '/^\r*$/q' "$1" | sed -n "s/^$2: *//Ip" | tr -d '\r'; }
newest() { ls -t "$1"/* | head -n 1; }
BOBIN=$(pf_maildir "$T" bob)
BOBSPAM=$(pf_maildir "$T" bob Spam)
ALICEIN=$(pf_maildir "$T" alice)

# 1. ham to bob: inbox, X-DSPAM-Result: Innocent, once
ham 200 > "$T/ham.eml"
pf_send "$PORT" alice200@example.org bob@example.org --data "$T/ham.eml" || fail_log "send ham"
pf_wait_delivered "$T" bob 1 15 || fail_log "ham not in bob's inbox"
f=$(newest "$BOBIN")
[ "$(field "$f" X-DSPAM-Result)" = Innocent ] || fail "ham: X-DSPAM-Result '$(field "$f" X-DSPAM-Result)'"
sig=$(field "$f" X-DSPAM-Signature)
[ -n "$sig" ] || fail "ham: no signature"

# 2. spam to bob: .Spam
spam 200 > "$T/spam.eml"
pf_send "$PORT" promo@cheap-pills.biz bob@example.org --data "$T/spam.eml" || fail_log "send spam"
pf_wait_delivered "$T" bob 1 15 Spam || fail_log "spam not in bob's .Spam"

# 3. forged verdicts: bob gets only the milter's, alice none at all
{ printf 'X-DSPAM-Result: Innocent\nX-DSPAM-Result: Whitelisted\n'; spam 201; } > "$T/forged.eml"
pf_send "$PORT" promo@cheap-pills.biz bob@example.org --data "$T/forged.eml" || fail_log "send forged"
pf_wait_delivered "$T" bob 2 15 Spam || fail_log "forged spam not in .Spam"
[ "$(field "$(newest "$BOBSPAM")" X-DSPAM-Result)" = Spam ] || fail "forged: not exactly our verdict"
pf_send "$PORT" promo@cheap-pills.biz alice@example.org --data "$T/forged.eml" || fail_log "send forged to alice"
pf_wait_delivered "$T" alice 1 15 || fail_log "forged mail not in alice's inbox"
sed '/^\r*$/q' "$(newest "$ALICEIN")" | grep -qi '^X-DSPAM-' && fail "alice's copy kept an X-DSPAM field"

# 4. one message to bob and alice through a relay in front of the edge
#    (a second instance, as the sending MTA): the first recipient the
#    relay names fixes the message's identity (its qmgr sorts them:
#    alice, unfiltered), the milter gives the other 452 4.5.3; the relay
#    delivers the first copy, keeps the second recipient in its queue and
#    retries it in a new transaction. Each gets the message once: bob
#    with the milter's verdict, alice with no X-DSPAM field.
mkdir "$R" || fail "mkdir $R"
RPORT=$(pf_free_port) || fail "no free port"
pf_setup_relay "$R" "$RPORT" "$PORT" || fail "pf_setup_relay"
pf_start "$R" || fail "pf_start of the relay"
ham 202 > "$T/both.eml"
pf_send "$RPORT" carol@example.org bob@example.org,alice@example.org --data "$T/both.eml" ||
	fail_relay "send to bob and alice through the relay"
# the relay's queue empties once the edge took both copies
pf_wait_relay_empty "$R" 30 || fail_relay "the relay still holds the message (not retried?)"
pf_wait_queue_empty "$T" 30 || fail_log "the edge did not deliver both copies"
second=$(pf_log "$T" | sed -n 's/.*milter-reject: RCPT from [^ ]*: 452 4\.5\.3 .* to=<\([^>]*\)> .*helo=<relay\.test>.*/\1/p')
case $second in
bob@example.org) first=alice@example.org ;;
alice@example.org) first=bob@example.org ;;
*) fail_relay "the edge gave the relay's second identity no 452 4.5.3 (refused: '$second')" ;;
esac
# rlog RCPT STATUS - the relay's log lines of its deliveries to RCPT
rlog() {
	pf_log "$R" | grep "to=<$1>, relay=127\.0\.0\.1\\[127\.0\.0\.1\\]:$PORT,.*status=$2"
}
rlog "$second" 'deferred (host [^ ]* said: 452 4\.5\.3 ' >/dev/null ||
	fail_relay "the relay did not defer $second on the 452"
[ "$(rlog "$second" sent | wc -l)" = 1 ] ||
	fail_relay "the relay did not deliver $second once on a retry"
rlog "$first" deferred >/dev/null && fail_relay "the relay deferred $first too"
[ "$(rlog "$first" sent | wc -l)" = 1 ] || fail_relay "the relay did not deliver $first once"
# once_in NEWDIR - set F to the one file in NEWDIR holding the message
once_in() {
	F=$(grep -l 'item 202' "$1"/* 2>/dev/null)
	[ "$(echo "$F" | grep -c .)" = 1 ] ||
		fail_relay "$1 holds the message $(echo "$F" | grep -c .) times, want once"
	grep -q '^Received: from relay.test ' "$F" || fail "$F did not come through the relay"
}
once_in "$BOBIN"
[ "$(field "$F" X-DSPAM-Result)" = Innocent ] ||
	fail "split: bob's copy has X-DSPAM-Result '$(field "$F" X-DSPAM-Result)', want Innocent"
once_in "$ALICEIN"
sed '/^\r*$/q' "$F" | grep -qi '^X-DSPAM-' &&
	fail "split: alice's copy has X-DSPAM fields: $(sed '/^\r*$/q' "$F" | grep -i '^X-DSPAM-')"
pf_stop "$R" || fail "pf_stop of the relay"

# 5. retrain: bob forwards the ham (as an attachment) to bob-spam from
#    a trusted network; the signature's correction moves one message
before=$(pf_es stats bob@example.org | awk '$1 == "bob@example.org" { print $2, $3 }')
nsig() { sqlite3 "$DB" "select count(*) from dspam_signature_data where signature = '$sig'"; }
[ "$(nsig)" = 1 ] || fail "signature $sig not stored by the milter"
pf_send "$PORT" bob@example.org bob-spam@example.org --header "Subject: Fwd: spam" \
	--body "this one is spam" --attach-type message/rfc822 --attach "@$f" || fail_log "send to bob-spam"
pf_wait_queue_empty "$T" 15 || fail_log "retrain not delivered"
[ "$(nsig)" = 0 ] || fail_log "signature not used by the retrain"
after=$(pf_es stats bob@example.org | awk '$1 == "bob@example.org" { print $2, $3 }')
# spam +1, innocent -1 (TEFT learned it as innocent)
exp=$(echo "$before" | awk '{ print $1 + 1, $2 - 1 }')
[ "$after" = "$exp" ] || fail "retrain: counts '$before' -> '$after', want '$exp'"
#    strangers: with no trusted network left, an unauthenticated
#    session is refused at RCPT
sed -i '/^trusted_networks/d' "$EDGESPAM_CONF"
echo 'trusted_networks = 192.0.2.0/24' >> "$EDGESPAM_CONF"
kill -HUP "$MPID"
sleep 0.5
out=$(pf_send "$PORT" eve@example.net bob-spam@example.org --body "poison" 2>&1) &&
	fail "retrain alias accepted mail from a stranger"
echo "$out" | grep -q '550 5.7.1' || fail "stranger not refused with 550 5.7.1: $out"

# 6. load: 500 messages from 8 parallel SMTP sessions (smtp-source,
#    each message with its own Message-Id) to dave, opted in. Once the
#    queue is empty, dave's inbox and .Spam hold exactly 500 files: each
#    Message-Id once, none lost, none twice, each with one X-DSPAM-Result
#    (Whitelisted too: the one sender soon qualifies). smtp-source's
#    Message-Ids (pid.socket.messages left) never repeat within a run.
pf_es user dave@example.org opt-in || fail "dave opt-in"
LOAD=500
t_load=$(date +%s)
smtp-source -s 8 -m "$LOAD" -l 2000 -M client.test -f load@example.net \
	-t dave@example.org "127.0.0.1:$PORT" > "$T/load.out" 2>&1 ||
	fail_log "smtp-source: $(tail -n 5 "$T/load.out")"
pf_wait_queue_empty "$T" 90 || fail_log "load: the queue did not empty"
# one line per delivered file: its Message-Ids, then its X-DSPAM-Results
# (one awk for all: a process per file would take a minute here)
find "$(pf_maildir "$T" dave)" "$(pf_maildir "$T" dave Spam)" -type f -exec awk '
function out() { print id res }
FNR == 1 { if (NR > 1) out(); inh = 1; id = ""; res = "" }
inh && /^\r?$/ { inh = 0 }
inh {
	v = $0; sub(/\r$/, "", v); l = tolower(v); sub(/^[^:]*:[ \t]*/, "", v)
	if (l ~ /^message-id:/) id = id v " "
	if (l ~ /^x-dspam-result:/) res = res v " "
}
END { if (NR > 0) out() }' {} + > "$T/load.txt"
dup=$(awk '{ print $1 }' "$T/load.txt" | sort | uniq -d | head -n 3)
[ -z "$dup" ] || fail "load: delivered more than once: $dup"
n=$(wc -l < "$T/load.txt")
[ "$n" -eq "$LOAD" ] || fail_log "load: $n messages delivered, want $LOAD"
bad=$(awk 'NF != 2 || $1 !~ /@client\.test>$/ || $2 !~ /^(Innocent|Spam|Whitelisted)$/' "$T/load.txt" | head -n 3)
[ -z "$bad" ] || fail_log "load: delivered without one Message-Id and one verdict: $bad"
echo "load: $LOAD messages over 8 sessions delivered in $(($(date +%s) - t_load)) s"

# 7. the milter down: SMTP gets 4xx and keeps its message; a locally
#    submitted one waits in the queue and is delivered once, tagged
stop_m
out=$(pf_send "$PORT" carol@example.org bob@example.org --data "$T/ham.eml" 2>&1) &&
	fail "accepted while the milter was down"
echo "$out" | grep -q '<\** 4[0-9][0-9]' || fail "milter down: no 4xx reply: $out"
n_in=$(ls "$BOBIN" | wc -l)
ham 203 | pf_sendmail "$T" carol@example.org bob@example.org || fail "sendmail"
sleep 2
[ "$(ls "$BOBIN" | wc -l)" = "$n_in" ] || fail "delivered while the milter was down"
[ "$(pf_queue_count "$T")" -ge 1 ] || fail_log "local submission not kept in the queue"
start_m
pf_flush "$T"
pf_wait_delivered "$T" bob $((n_in + 1)) 30 || fail_log "queued message not delivered after the milter came back"
f=$(newest "$BOBIN")
grep -q 'item 203' "$f" || fail "the newest message is not the queued one"
[ "$(field "$f" X-DSPAM-Result)" = Innocent ] || fail "queued message delivered without our headers"
sleep 2
[ "$(grep -l 'item 203' "$BOBIN"/* | wc -l)" = 1 ] || fail "queued message delivered twice"
pass
