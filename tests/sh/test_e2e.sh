#!/bin/sh
# test_e2e.sh - edgespam-milter behind a private Postfix instance with
# maildrop delivery (tests/sh/lib_postfix.sh), checked by reading the
# delivered files: ham to an opted-in user is tagged Innocent in the
# inbox, spam lands in .Spam, forged X-DSPAM fields never survive, a
# message to a filtered and an unfiltered user reaches both (split, and
# the resend a sending MTA would make), a retrain through the alias applies the signature, the alias
# refuses strangers, and with the milter down mail is deferred, never
# lost, and delivered once with its headers when the milter is back.
set -u
TOP=$(cd "$(dirname "$0")/../.." && pwd)
cd "$TOP" || exit 1
. tests/sh/lib.sh
. tests/sh/lib_postfix.sh

[ "$(id -u)" -eq 0 ] || skip "not root: a Postfix instance needs root to start"
for c in postfix maildrop swaks sqlite3; do
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
trap 'stop_m; pf_cleanup "$T"; rm -rf "$T"' EXIT
trap 'exit 1' INT TERM
fail_log() {
	echo "--- maillog:"; pf_log "$T" 30
	echo "--- milter:"; tail -n 30 "$T/milter.log"
	fail "$*"
}

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
log_level = info
EOC
chmod 644 "$EDGESPAM_CONF"
PORT=$(pf_free_port) || fail "no free port"
pf_setup "$T" "$PORT" "unix:$T/milter.sock" || fail "pf_setup"

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

# 4. one message to bob and alice: bob's identity is fixed first, alice
#    gets 452 4.5.3 and the client sends her copy in a new transaction
#    (swaks is no MTA: the test resends, as a sending MTA's queue would)
ham 202 > "$T/both.eml"
pf_send "$PORT" carol@example.org bob@example.org,alice@example.org --data "$T/both.eml" ||
	fail_log "send to bob and alice"
pf_log "$T" | grep -q 'milter-reject: RCPT .*452 4.5.3 .*to=<alice@example.org>' ||
	fail_log "no 452 4.5.3 for the second identity"
pf_send "$PORT" carol@example.org alice@example.org --data "$T/both.eml" ||
	fail_log "resend to alice"
pf_wait_delivered "$T" bob 2 30 || fail_log "bob's copy missing"
pf_wait_delivered "$T" alice 2 30 || fail_log "alice's copy missing (not retried after the split?)"
[ "$(field "$(newest "$BOBIN")" X-DSPAM-Result)" = Innocent ] || fail "split: bob's copy untagged"
sed '/^\r*$/q' "$(newest "$ALICEIN")" | grep -qi '^X-DSPAM-' && fail "split: alice's copy tagged"

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

# 6. the milter down: SMTP gets 4xx and keeps its message; a locally
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
