#!/bin/sh
# test_retrain.sh - corrections and sender-list changes handed to the
# milter over its retrain socket by `edgespam` run as identities that
# cannot open the store (issue 14: Postfix's default_privs "nobody", a
# Courier/maildrop mailbox owner), authorised by the peer's uid:
#   1. the store is root's, 0600: nobody cannot open it directly;
#   2. nobody (retrain_peers "nobody") corrects a signature the milter
#      issued: the user's counts move as a direct correction's do, token
#      for token;
#   3. daemon (retrain_peers "daemon:*@example.net", standing for a
#      mailbox owner of one domain) may act for that domain only: 77 for
#      bob@example.org from the CLI, and from a raw client that skips
#      the CLI's own check; its own domain works;
#   4. --allow-sender through the socket;
#   5. a malformed request gets 64; the peer's claims are not trusted;
#   6. with the milter stopped the pipe exits 75 and nothing changes;
#      after a restart the same pipe applies it once.
set -u
. tests/sh/lib.sh

[ "$(id -u)" -eq 0 ] || skip "not root: the test runs the CLI as other users"
command -v setpriv >/dev/null || skip "setpriv missing"
command -v perl >/dev/null || skip "perl missing"
milter_programs
milter_workdir retrain
chmod 755 "$T"
ABS_ES=$(cd "$(dirname "$ES")" && pwd)/$(basename "$ES")

mkdir -p "$T/db" && chmod 700 "$T/db"
milter_conf "$T/es.conf" "$T/m.sock" "store_path = $T/db/es.db" \
    "default_policy = opt-in" "log_level = info" \
    "retrain_socket = $T/retrain.sock" \
    "retrain_peers = nobody daemon:*@example.net" \
    "trusted_users = root"
chmod 644 "$T/es.conf"
es() { "$ES" -c "$T/es.conf" "$@"; }
# as USER ARGS... - the CLI as a system user, as an alias pipe runs it
as() { _u=$1; shift; setpriv --reuid="$_u" --regid="$(id -g "$_u")" --clear-groups "$ABS_ES" -c "$T/es.conf" "$@"; }
mc() { "$MILTC" -s "unix:$T/m.sock" -t 20 "$@"; }
q() { sqlite3 -cmd '.timeout 5000' "$T/db/es.db" "$1"; }
counts() { es stats "$1" | awk -v u="$1" '$1 == u { print $2, $3, $6, $7 }'; }

es user bob@example.org opt-in >/dev/null || fail "opt bob in"
train_pair es bob@example.org 12
milter_start "$T/es.conf" "$T/m.sock" "$T/milter.log"
i=0
while [ ! -S "$T/retrain.sock" ]; do
	i=$((i + 1)); [ $i -le 50 ] || fail "no retrain socket: $(cat "$T/milter.log")"
	sleep 0.1
done
[ "$(stat -c %a "$T/retrain.sock")" = 666 ] || fail "retrain socket mode $(stat -c %a "$T/retrain.sock")"

# 1. the pipes' identities cannot open the store
[ "$(stat -c %U:%a "$T/db/es.db")" = root:600 ] || fail "store file $(stat -c %U:%a "$T/db/es.db")"
ham 900 | as nobody --user nobody --classify >/dev/null 2>&1 &&
	fail "nobody could open the store directly"

# 2. a signature the milter issued, corrected by nobody through the socket
ham 901 > "$T/h.eml"
out=$(mc -c 192.0.2.10 -f alice@example.org -r bob@example.org -m "$T/h.eml" -o "$T/h.out") || fail "classify: $out"
sig=$(sed -n 's/^X-DSPAM-Signature: //p' "$T/h.out" | tr -d '\r')
[ -n "$sig" ] || fail "no signature: $out"
# the reference: the same correction made directly on a copy of the store
cp "$T/db/es.db" "$T/ref.db"
[ -f "$T/db/es.db-wal" ] && cp "$T/db/es.db-wal" "$T/ref.db-wal"
sed "s|^store_path = .*|store_path = $T/ref.db|" "$T/es.conf" > "$T/ref.conf"
"$ES" -c "$T/ref.conf" --user bob@example.org --addspam < "$T/h.out" 2>/dev/null ||
	fail "reference correction"
c0=$(counts bob@example.org)
as nobody --user bob@example.org --addspam < "$T/h.out" 2>"$T/e2" || fail "nobody's correction: $(cat "$T/e2")"
c1=$(counts bob@example.org)
[ "$c1" != "$c0" ] || fail "the correction changed nothing: $c0"
tok() { sqlite3 -cmd '.timeout 5000' "$1" "select token, spam_hits, innocent_hits from dspam_token_data where uid = (select uid from dspam_virtual_uids where username = 'bob@example.org') order by token"; }
tok "$T/db/es.db" > "$T/t.got"
tok "$T/ref.db" > "$T/t.want"
cmp -s "$T/t.got" "$T/t.want" || fail "tokens differ from the direct correction's: $(diff "$T/t.want" "$T/t.got" | head -5)"
[ "$(counts bob@example.org)" = "$("$ES" -c "$T/ref.conf" stats bob@example.org | awk '$1 == "bob@example.org" { print $2, $3, $6, $7 }')" ] ||
	fail "totals differ from the direct correction's"
grep -q "retrain: uid 65534 (nobody) for bob@example.org: spam: signature $sig corrected to spam" "$T/milter.log" ||
	fail "the correction is not logged: $(tail -n 3 "$T/milter.log")"
# 3. a mailbox owner of one domain
ham 902 | as daemon --user bob@example.org --addspam >/dev/null 2>"$T/e4"
expect_rc 77 $? "daemon for bob@example.org"
grep -q 'not allowed to act for bob@example.org' "$T/e4" || fail "77 without its reason: $(cat "$T/e4")"
# the milter refuses it too, whatever the client claims
raw() {
	setpriv --reuid="$1" --regid="$(id -g "$1")" --clear-groups perl -e '
		use IO::Socket::UNIX;
		my $s = IO::Socket::UNIX->new(Type => SOCK_STREAM(), Peer => $ARGV[0]) or die "connect: $!\n";
		my $m = $ARGV[2];
		print $s $ARGV[1] . " " . length($m) . "\n" . $m;
		my $r = <$s>; print $r;' "$T/retrain.sock" "$2" "$3"
}
out=$(raw daemon "EDGESPAM/1 spam bob@example.org" "Subject: x

y")
case $out in 77\ *) ;; *) fail "the milter took daemon's request for bob: $out" ;; esac
grep -q 'retrain: uid 1 (daemon) may not act for bob@example.org' "$T/milter.log" || fail "refusal not logged"
spam 903 | as daemon --user daemon@example.net --addspam 2>"$T/e5"
expect_rc 0 $? "daemon for its domain: $(cat "$T/e5")"
grep -q 'no signature found in the message; trained the message text as spam' "$T/e5" ||
	fail "training from the text not reported: $(cat "$T/e5")"
[ "$(counts daemon@example.net | cut -d' ' -f1)" = 1 ] || fail "daemon@example.net not trained: $(counts daemon@example.net)"

# 4. a sender list through the socket
{ printf 'Resent-From: bob@example.org\n'; ham 904; } |
	as nobody --user bob@example.org --allow-sender > "$T/o6" 2>&1 || fail "--allow-sender: $(cat "$T/o6")"
grep -q 'alice904@example.org added to the allow list' "$T/o6" || fail "--allow-sender output: $(cat "$T/o6")"
[ "$(q "select pattern from edgespam_sender_list")" = alice904@example.org ] || fail "allow list: $(q 'select * from edgespam_sender_list')"

# 5. malformed requests
out=$(raw nobody "EDGESPAM/1 spam Bob@Example.ORG" "x")
case $out in 64\ *) ;; *) fail "a user not in its normal form: $out" ;; esac
out=$(raw nobody "EDGESPAM/2 spam bob@example.org" "x")
case $out in 64\ *) ;; *) fail "an unknown protocol: $out" ;; esac
out=$(raw nobody "EDGESPAM/1 spam bob@example.org 99999999999 x" "x")
case $out in 64\ *) ;; *) fail "a huge length: $out" ;; esac

# 6. the milter away: 75, nothing applied; back: applied once
spam 905 > "$T/s.eml"
out=$(mc -c 192.0.2.11 -f x@cheap-pills.biz -r bob@example.org -m "$T/s.eml" -o "$T/s.out") || fail "classify spam: $out"
kill -TERM "$MPID"; wait "$MPID"; MPID=""
[ -e "$T/retrain.sock" ] && fail "the retrain socket outlived the milter"
c2=$(counts bob@example.org)
as nobody --user bob@example.org --falsepositive < "$T/s.out" 2>"$T/e7"
expect_rc 75 $? "the pipe with the milter stopped"
grep -q 'try again later' "$T/e7" || fail "75 without its reason: $(cat "$T/e7")"
[ "$(counts bob@example.org)" = "$c2" ] || fail "something changed while the milter was away"
milter_start "$T/es.conf" "$T/m.sock" "$T/milter.log"
i=0
while [ ! -S "$T/retrain.sock" ]; do
	i=$((i + 1)); [ $i -le 50 ] || fail "no retrain socket after the restart"
	sleep 0.1
done
as nobody --user bob@example.org --falsepositive < "$T/s.out" 2>"$T/e8" || fail "after the restart: $(cat "$T/e8")"
c3=$(counts bob@example.org)
# FP (column 3) up by exactly one: the correction applied once
fp2=$(echo "$c2" | cut -d' ' -f3) fp3=$(echo "$c3" | cut -d' ' -f3)
[ "$fp3" -eq $((fp2 + 1)) ] || fail "the retried correction: $c2 -> $c3, want FP + 1"
grep -q "corrected to innocent" "$T/milter.log" || fail "the retried correction did not use the signature"
echo "bob (spam, innocent, FP, FN): before $c0, after nobody's correction $c1, after the retried one $c3"
pass
