#!/bin/sh
# test_postfix.sh - the Postfix harness (lib_postfix.sh) proves itself,
# without the milter: SMTP and local submission reach the Maildirs,
# maildrop's rule files X-DSPAM-Result: Spam into .Spam, the retrain
# aliases run edgespam as the pipe user (also through the mbox "From "
# line local(8) puts first), a deferred delivery is retried within
# seconds, a relay instance in front (pf_setup_relay) relays to it and
# retries a recipient refused with 4xx by itself, a MILTER that is not
# there defers mail, and pf_stop leaves no process of the instance behind.
set -u
TOP=$(cd "$(dirname "$0")/../.." && pwd)
cd "$TOP" || exit 1
. tests/sh/lib.sh
. tests/sh/lib_postfix.sh

[ "$(id -u)" -eq 0 ] || skip "not root: a Postfix instance needs root to start"
need="postfix maildrop swaks sqlite3"
for c in $need; do
	command -v "$c" >/dev/null && continue
	# deps.sh answers postfix's question with "No configuration": the
	# system's own Postfix stays unconfigured and stopped
	# shellcheck disable=SC2086
	sh tests/tools/deps.sh $need >/dev/null 2>&1 ||
		skip "$need: $c missing and apt-get could not install it"
	break
done
for c in $need; do
	command -v "$c" >/dev/null || skip "$c missing after installing $need"
done
EDGESPAM=${EDGESPAM:-$TOP/${BUILD:-build}/edgespam}
case $EDGESPAM in /*) ;; *) EDGESPAM=$TOP/$EDGESPAM ;; esac
if [ ! -x "$EDGESPAM" ]; then
	make -s -C "$TOP" BUILD="${BUILD:-build}" >/dev/null || fail "make did not build $EDGESPAM"
fi
[ -x "$EDGESPAM" ] || fail "$EDGESPAM not built"

T=$(mktemp -d "${TMPDIR:-/tmp}/edgespam-pf.XXXXXX")
T2=""
trap 'pf_cleanup "$T/relay"; pf_cleanup "$T"; [ -n "$T2" ] && pf_cleanup "$T2"; rm -rf "$T" $T2' EXIT
trap 'exit 1' INT TERM
EDGESPAM_CONF=$T/edgespam.conf
DB=$T/store/edgespam.db
printf 'store_path = %s\nstore_busy_timeout_ms = 2000\nretrain_socket = ""\n' "$DB" > "$EDGESPAM_CONF"
t0=$(date +%s)

# fail_log WHAT - fail, with the end of the instance's log.
fail_log() { echo "--- maillog:"; pf_log "$T" 25; fail "$*"; }

PORT=$(pf_free_port) || fail "no free port"
pf_setup "$T" "$PORT" || fail "pf_setup"
grep -q "^127.0.0.1:$PORT inet" "$T/etc/master.cf" || fail "smtpd not on 127.0.0.1:$PORT"
grep -q '^smtpd_milters' "$T/etc/main.cf" && fail "milter set without MILTER"
pf_start "$T" || fail "pf_start"
master=$(pf_master_pid "$T") || fail_log "no master after pf_start"

# 1. SMTP to alice: the inbox
pf_send "$PORT" sender@example.net alice@example.org \
	--header "Subject: plain" --body "hello alice" || fail_log "send to alice"
pf_wait_delivered "$T" alice 1 10 || fail_log "plain message not in alice's inbox"
grep -q '^Subject: plain' "$(pf_maildir "$T" alice)"/* || fail "wrong message in the inbox"

# 2. the maildrop rule: X-DSPAM-Result: Spam goes to .Spam
pf_send "$PORT" sender@example.net alice@example.org --header "Subject: tagged" \
	--add-header 'X-DSPAM-Result: Spam' --body "buy now" || fail_log "send tagged"
pf_wait_delivered "$T" alice 1 10 Spam || fail_log "tagged message not in .Spam"
pf_wait_delivered "$T" alice 1 1 || fail "tagged message also in the inbox"
# an Innocent verdict stays in the inbox
pf_send "$PORT" sender@example.net alice@example.org \
	--add-header 'X-DSPAM-Result: Innocent' --body "fine" || fail_log "send innocent"
pf_wait_delivered "$T" alice 2 10 || fail_log "Innocent message not in the inbox"

# 3. local submission through the instance's sendmail
printf 'From: sender@example.net\nTo: carol@example.org\nSubject: local\n\nby sendmail\n' |
	pf_sendmail "$T" sender@example.net carol@example.org || fail "pf_sendmail"
pf_wait_delivered "$T" carol 1 10 || fail_log "submitted message not in carol's inbox"

# 4. the retrain alias without a signature: edgespam trains the text
pu=$(pf_pipe_user)
pf_send "$PORT" sender@example.net bob-spam@example.org --header "Subject: pills" \
	--body "cheap pills casino bonus offer click here" || fail_log "send to bob-spam"
pf_wait_queue_empty "$T" 10 || fail_log "bob-spam not delivered"
pf_log "$T" | grep 'to=<bob-spam@localhost>.*status=sent (delivered to command:.*--addspam' \
	>/dev/null || fail_log "bob-spam: no delivery to the command"
[ "$(stat -c %U "$DB")" = "$pu" ] || fail "store not written by $pu: $(ls -l "$DB")"
st=$(pf_es stats bob@example.org) || fail "stats: $st"
got=$(echo "$st" | awk '$1 == "bob@example.org" { print $2, $3 }')
[ "$got" = "1 0" ] || fail "after bob-spam, bob's spam/innocent counts are '$got', want '1 0': $st"

# 5. a correction by signature through local(8), which puts an mbox
# "From " line before the message: the signature must still be found
printf 'From: friend@example.net\nTo: bob@example.org\nSubject: lunch\n\nlunch on friday at noon?\n' |
	pf_es --user bob@example.org --stdout --deliver=innocent,spam > "$T/signed.eml" ||
	fail "processing a message for bob"
sig=$(sed -n 's/^X-DSPAM-Signature: //p' "$T/signed.eml")
[ -n "$sig" ] || fail "no signature: $(cat "$T/signed.eml")"
nsig() { sqlite3 "$DB" "select count(*) from dspam_signature_data where signature = '$sig'"; }
[ "$(nsig)" = 1 ] || fail "signature $sig not stored"
pf_send "$PORT" bob@example.org bob-spam@example.org --data "$T/signed.eml" ||
	fail_log "send the signed message to bob-spam"
pf_wait_queue_empty "$T" 10 || fail_log "signed message not delivered"
[ "$(nsig)" = 0 ] || fail "signature $sig not used (the From line hid it?)"
got=$(pf_es stats bob@example.org | awk '$1 == "bob@example.org" { print $2, $3 }')
[ "$got" = "2 0" ] || fail "after the correction bob's counts are '$got', want '2 0'"
pf_send "$PORT" bob@example.org bob-fp@example.org --data "$T/signed.eml" ||
	fail_log "send to bob-fp"
pf_wait_queue_empty "$T" 10 || fail_log "bob-fp not delivered"
pf_log "$T" | grep 'to=<bob-fp@localhost>.*status=sent (delivered to command:.*--falsepositive' \
	>/dev/null || fail_log "bob-fp: no delivery to the command"

# 6. a deferred delivery is retried within seconds, without a flush
chmod 500 "$T/mail/example.org/bob/Maildir/tmp"
pf_send "$PORT" sender@example.net bob@example.org --body "later" || fail_log "send to bob"
i=0
until pf_log "$T" | grep -q 'to=<bob@example.org>.*status=deferred'; do
	i=$((i + 1)); [ $i -le 50 ] || fail_log "delivery to bob not deferred"; sleep 0.1
done
chmod 700 "$T/mail/example.org/bob/Maildir/tmp"
pf_wait_delivered "$T" bob 1 10 || fail_log "deferred message not retried"
[ "$(pf_queue_count "$T")" = 0 ] || fail "queue not empty: $(pf_queue_count "$T")"
pf_flush "$T" || fail "pf_flush"

# 7. a relay in front of it (pf_setup_relay) relays to its smtpd and
#    retries a recipient refused with 4xx in a new transaction, by
#    itself, within seconds
R=$T/relay
mkdir "$R" || fail "mkdir $R"
RPORT=$(pf_free_port) || fail "no free port"
pf_setup_relay "$R" "$RPORT" "$PORT" || fail "pf_setup_relay"
[ "$(pf_postconf "$R" -h relay_transport)" = "smtp:[127.0.0.1]:$PORT" ] ||
	fail "relay_transport of the relay: $(pf_postconf "$R" -h relay_transport)"
grep -q "^127.0.0.1:$RPORT inet" "$R/etc/master.cf" || fail "relay's smtpd not on 127.0.0.1:$RPORT"
echo "carol@example.org 452 4.2.1 come back later" > "$T/etc/rcpt_access"
pf_postconf "$T" -e "smtpd_recipient_restrictions = check_recipient_access texthash:$T/etc/rcpt_access"
pf_reload "$T" || fail "pf_reload"
pf_start "$R" || fail "pf_start of the relay"
# fail_relay WHAT - fail, with the end of the relay's log
fail_relay() { echo "--- relay's maillog:"; pf_log "$R" 25; fail_log "$*"; }
n_alice=$(find "$(pf_maildir "$T" alice)" -type f | wc -l)
n_carol=$(find "$(pf_maildir "$T" carol)" -type f | wc -l)
pf_send "$RPORT" sender@example.net alice@example.org,carol@example.org \
	--header "Subject: relayed" --body "through the relay" || fail_relay "send to the relay"
pf_wait_delivered "$T" alice $((n_alice + 1)) 15 || fail_relay "relayed message not in alice's inbox"
grep -l '^Subject: relayed' "$(pf_maildir "$T" alice)"/* | xargs grep -q '^Received: from relay.test ' ||
	fail "alice's copy did not come through the relay"
i=0
until pf_log "$R" | grep -q 'to=<carol@example.org>, relay=127.0.0.1.*status=deferred .* 452 4.2.1 '; do
	i=$((i + 1)); [ $i -le 100 ] || fail_relay "the relay did not defer carol"; sleep 0.1
done
: > "$T/etc/rcpt_access"
pf_reload "$T" || fail "pf_reload"
pf_wait_relay_empty "$R" 20 || fail_relay "the relay did not retry carol"
pf_wait_delivered "$T" carol $((n_carol + 1)) 10 || fail_relay "relayed message not in carol's inbox"
[ "$(pf_log "$R" | grep -c 'to=<carol@example.org>, relay=127.0.0.1.*status=sent')" = 1 ] ||
	fail_relay "carol not sent exactly once by the relay"
pf_stop "$R" || fail "pf_stop of the relay: left $(pf_pids "$R")"
[ -z "$(pf_pids "$R")" ] || fail "relay processes left: $(pf_pids "$R")"

# 8. pf_stop leaves nothing of the instance
pf_stop "$T" || fail "pf_stop: left $(pf_pids "$T")"
pf_alive "$master" && fail "master $master still running"
for p in $(ps -eo pid=,comm= | awk '$2 == "master" { print $1 }'); do
	grep -qzx "MAIL_CONFIG=$T/etc" "/proc/$p/environ" 2>/dev/null &&
		fail "a master of this instance is still running: $p"
done
[ -z "$(pf_pids "$T")" ] || fail "processes left: $(pf_pids "$T")"
pf_stop "$T" || fail "a second pf_stop failed"

# 9. a MILTER that does not answer: milter_default_action = tempfail
T2=$(mktemp -d "${TMPDIR:-/tmp}/edgespam-pf2.XXXXXX")
PORT2=$(pf_free_port) || fail "no free port"
pf_setup "$T2" "$PORT2" "unix:$T2/none.sock" dave || fail "pf_setup with a milter"
[ "$(pf_postconf "$T2" -h smtpd_milters)" = "unix:$T2/none.sock" ] || fail "smtpd_milters"
[ "$(pf_postconf "$T2" -h non_smtpd_milters)" = "unix:$T2/none.sock" ] || fail "non_smtpd_milters"
[ -d "$T2/mail/example.org/dave/Maildir/.Spam" ] || fail "no Maildir for the extra user dave"
pf_start "$T2" || fail "pf_start with a milter"
out=$(pf_send "$PORT2" sender@example.net dave@example.org --body "x" 2>&1) &&
	fail "accepted without its milter: $out"
echo "$out" | grep -q '<\*\* 4[0-9][0-9] ' || fail "no 4xx without the milter: $out"
pf_stop "$T2" || fail "pf_stop of the second instance"

echo "took $(($(date +%s) - t0)) s"
pass
