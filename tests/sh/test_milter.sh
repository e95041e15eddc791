#!/bin/sh
# test_milter.sh - edgespam-milter driven through its socket by miltc,
# the project's milter-protocol client: every per-message rule
# (recipient policy, grouping, retrain aliases, forged-header removal,
# classification, sender allow/block lists, spamAction, body tag,
# on_error), hostile
# conversations followed each time by a normal message, SIGHUP reload
# and SIGTERM.
set -u
. tests/sh/lib.sh

milter_programs
milter_workdir milter

# write_conf FILE ["key = value"...] - a private milter's configuration
write_conf() {
	f=$1
	shift
	milter_conf "$f" "$T/m.sock" "store_path = $T/db/es.db" \
	    "store_busy_timeout_ms = 500" "pid_file = $T/m.pid" \
	    "default_policy = opt-in" "message_timeout_ms = 2000" \
	    "trusted_networks = 127.0.0.0/8" "log_level = debug" "$@"
}

# start_milter CONF - start in the foreground, wait for the socket
start_milter() {
	milter_start "$1" "$T/m.sock" "$T/milter.log"
}

stop_milter() {
	kill -TERM "$MPID"
	wait "$MPID"
	rc=$?
	MPID=""
	return $rc
}

es() { "$ES" -c "$T/es.conf" "$@"; }

# mc ARGS... - one conversation; events on stdout
mc() { "$MILTC" -s "unix:$T/m.sock" -t 20 "$@"; }

# header_count FILE NAME - how many NAME: fields the delivered copy has
header_count() {
	awk -v n="$2" 'BEGIN { IGNORECASE = 1; c = 0 }
		/^\r?$/ { exit }
		tolower($0) ~ "^" tolower(n) ":" { c++ }
		END { print c }' "$1"
}

# sig_owner SIG - the user a signature was stored for
sig_owner() {
	sqlite3 "$T/db/es.db" "SELECT u.username FROM dspam_signature_data s JOIN dspam_virtual_uids u ON u.uid = s.uid WHERE s.signature = '$1'"
}

# grouped MODE R1 R2 WHO - one message to R1 and R2 (R1 first) under
# recipient_grouping MODE: with split R2 is deferred with the split
# reply, with first both are taken; WHO, the opted-in recipient whose
# verdict it must be ("" for none), gets the only one: the only
# X-DSPAM-Result, the only log line of a verdict and the signature
gq=0
grouped() {
	gq=$((gq + 1))
	_q=QG$gq$1
	out=$(mc -i "$_q" -f a@example.com -r "$2" -r "$3" -m "$T/ham.eml") || fail "$1 $2, $3: $out"
	echo "$out" | grep -qxF "rcpt $2 continue" || fail "$1 $2, $3: $2 not taken: $out"
	if [ "$1" = split ]; then
		echo "$out" | grep -qF "rcpt $3 replycode 452 4.5.3 " || fail "$1 $2, $3: $3 not deferred: $out"
	else
		echo "$out" | grep -qxF "rcpt $3 continue" || fail "$1 $2, $3: $3 not taken: $out"
	fi
	_n=$(echo "$out" | grep -c '^mod addheader X-DSPAM-Result: ')
	_v=$(grep -c "$_q: user=" "$T/milter.log")
	if [ -z "$4" ]; then
		[ "$_n" -eq 0 ] && [ "$_v" -eq 0 ] || fail "$1 $2, $3: a verdict for nobody opted in: $out"
		return 0
	fi
	[ "$_n" -eq 1 ] || fail "$1 $2, $3: $_n X-DSPAM-Result fields, want 1 for $4: $out"
	[ "$_v" -eq 1 ] && grep -q "$_q: user=$4 " "$T/milter.log" ||
		fail "$1 $2, $3: verdict not $4's alone: $(grep "$_q: user=" "$T/milter.log")"
	_s=$(echo "$out" | sed -n 's/^mod addheader X-DSPAM-Signature: //p')
	[ "$(sig_owner "$_s")" = "$4" ] || fail "$1 $2, $3: signature $_s is $(sig_owner "$_s")'s, not $4's"
}

# normal_ok - a plain message to bob still gets exactly our headers
normal_ok() {
	ham "n$1" > "$T/n.eml"
	out=$(mc -f a@example.com -r bob@example.org -m "$T/n.eml" -o "$T/n.out") ||
		fail "$1: normal message after it: miltc failed: $out"
	out_has '^eom continue' "$1: normal message not accepted"
	[ "$(header_count "$T/n.out" X-DSPAM-Result)" -eq 1 ] ||
		fail "$1: normal message lacks X-DSPAM-Result: $out"
	kill -0 "$MPID" 2>/dev/null || fail "$1: the milter died"
}

mkdir -p "$T/db" "$T/isadir"
write_conf "$T/es.conf"
"$MILTER" -n -c "$T/es.conf" >/dev/null || fail "-n refused a good configuration"
"$MILTER" --help | grep -q '^usage: edgespam-milter' || fail "--help prints no usage"
"$MILTER" --version | grep -q '^edgespam-milter ' || fail "--version prints no version"
printf 'on_error = maybe\ntrusted_networks = 10.0.0.0/99\nsplit_reply = 550 5.7.1 no\n' > "$T/bad.conf"
out=$("$MILTER" -n -c "$T/bad.conf" 2>&1); rc=$?
expect_rc 78 $rc "-n on a bad file"
out_has "bad.conf:1: .*on_error" "no file:line for on_error"

# 0. one configuration checker: edgespam --check-config and
#    edgespam-milter -n give the same exit status and the same messages
#    for every file (each case: a name and its lines)
same_check() {
	_f=$T/check-$1.conf
	shift
	printf '%s\n' "$@" > "$_f"
	"$ES" -c "$_f" --check-config >/dev/null 2>"$_f.es"
	_re=$?
	"$MILTER" -n -c "$_f" >/dev/null 2>"$_f.mi"
	_rm=$?
	[ $_re -eq $_rm ] || fail "$_f: edgespam --check-config exit $_re, edgespam-milter -n exit $_rm: $(cat "$_f.es" "$_f.mi")"
	cmp -s "$_f.es" "$_f.mi" ||
		fail "$_f: the messages differ: edgespam: $(cat "$_f.es") edgespam-milter: $(cat "$_f.mi")"
	check_rc=$_re
	check_out=$(cat "$_f.es")
}
# bad_check NAME WANT LINE... - a file both refuse (exit 78) with a
# message matching WANT (file:line: key: ...)
bad_check() {
	_n=$1 _w=$2
	shift 2
	same_check "$_n" "$@"
	[ "$check_rc" -eq 78 ] || fail "$_n: exit $check_rc, want 78: $check_out"
	echo "$check_out" | grep -q -e "$_w" || fail "$_n: no message like '$_w': $check_out"
}
ok_lines='user = ""'
bad_check nets "check-nets.conf:2: trusted_networks: \"10.0.0.0/33\"" "$ok_lines" "trusted_networks = 10.0.0.0/33 banana"
echo "$check_out" | grep -q "check-nets.conf:2: trusted_networks: \"banana\"" || fail "nets: banana not named: $check_out"
bad_check nets6 "check-nets6.conf:1: trusted_networks: \"::1/129\"" "trusted_networks = ::1/129" "$ok_lines"
bad_check alias "check-alias.conf:2: retrain_aliases: \"spam-\\*\" has no '@'" "$ok_lines" "retrain_aliases = *-fp@* spam-*"
bad_check split "check-split.conf:1: split_reply: " "split_reply = 550 5.7.1 no" "$ok_lines"
bad_check split2 "check-split2.conf:1: split_reply: " "split_reply = \"452 4.5.3 100% full\"" "$ok_lines"
bad_check policy "check-policy.conf:1: default_policy: " "default_policy = optin" "$ok_lines"
bad_check several "check-several.conf:3: split_reply: " "on_error = maybe" "trusted_networks = 10.1.2.3/8 192.0.2.300" "split_reply = 452 5.5.3 x" "retrain_aliases = nope"
[ "$(echo "$check_out" | wc -l)" -eq 4 ] || fail "several: not 4 messages: $check_out"
if [ "$(id -u)" -eq 0 ]; then
	# as root both look up the user the milter switches to
	bad_check account "check-account.conf:2: user: no such user \"no-such-es-user\"" "log_level = info" "user = no-such-es-user"
	bad_check account2 "check-account2.conf:1: group: no such group \"no-such-es-group\"" "group = no-such-es-group" "user = root"
fi
same_check good "$ok_lines" "trusted_networks = 10.0.0.0/8 2001:db8::/32" "retrain_aliases = *-spam@* ham-*@example.org" "split_reply = \"451 4.5.3 later, please\"" "default_policy = opt-out"
[ "$check_rc" -eq 0 ] && [ -z "$check_out" ] || fail "good file: exit $check_rc: $check_out"

# users: bob opted in (domain opt-in), alice not; on.example filters all
es domain example.org set opt-in || fail "domain set"
es domain on.example set on || fail "domain set on"
es user bob@example.org opt-in || fail "bob opt-in"
es user dave@example.org opt-in || fail "dave opt-in"
train_pair es bob@example.org 12
start_milter "$T/es.conf"

# 1. ham to an opted-in user: our headers, once
ham 100 > "$T/ham.eml"
out=$(mc -f a@example.com -r bob@example.org -m "$T/ham.eml" -o "$T/o1") || fail "ham: $out"
out_has '^rcpt bob@example.org continue' "ham rcpt"
out_has '^mod addheader X-DSPAM-Result: Innocent' "ham verdict"
out_has '^mod addheader X-DSPAM-Signature: ' "ham signature"
out_has '^mod addheader X-DSPAM-Probability: ' "ham probability"
out_has '^mod addheader X-DSPAM-Confidence: ' "ham confidence"
out_has '^mod addheader X-DSPAM-Processed: ' "ham processed"
out_has '^eom continue' "ham eom"
[ "$(header_count "$T/o1" X-DSPAM-Result)" -eq 1 ] || fail "ham: not one X-DSPAM-Result"
grep -q "bob@example.org.*result=Innocent" "$T/milter.log" || fail "no log line for the verdict"

# 2. spam to bob: Spam; with +extension and upper case too
spam 100 > "$T/spam.eml"
out=$(mc -f p@cheap-pills.biz -r Bob+Lists@Example.ORG -m "$T/spam.eml") || fail "spam: $out"
out_has '^mod addheader X-DSPAM-Result: Spam' "spam verdict"

# 3. forged X-DSPAM fields: to a user not opted in, none survive
{ printf 'X-DSPAM-Result: Innocent\nx-dspam-result: Whitelisted\nX-DSPAM-Signature: 1234\n'; spam 101; printf 'X-DSPAM-Result: Innocent\n'; } > "$T/forged.eml"
# (the last line is body text, not a header, and stays)
out=$(mc -f p@cheap-pills.biz -r alice@example.org -m "$T/forged.eml" -o "$T/o3") || fail "forged: $out"
out_lacks '^mod addheader' "alice is not opted in, got"
[ "$(echo "$out" | grep -c '^mod chgheader')" -eq 3 ] || fail "forged: not 3 deletions: $out"
[ "$(header_count "$T/o3" X-DSPAM-Result)" -eq 0 ] || fail "forged: X-DSPAM-Result survived"
[ "$(header_count "$T/o3" X-DSPAM-Signature)" -eq 0 ] || fail "forged: X-DSPAM-Signature survived"
grep -q '^X-DSPAM-Result: Innocent' "$T/o3" || fail "forged: the body line was changed"
#    and to bob: only ours remains, and it says Spam
out=$(mc -f p@cheap-pills.biz -r bob@example.org -m "$T/forged.eml" -o "$T/o3b") || fail "forged bob: $out"
[ "$(header_count "$T/o3b" X-DSPAM-Result)" -eq 1 ] || fail "forged bob: not one X-DSPAM-Result"
sed '/^\r*$/q' "$T/o3b" | grep -qi '^X-DSPAM-Result: Spam' || fail "forged bob: verdict not ours: $(cat "$T/o3b")"
# a domain with policy "on": everybody filtered
out=$(mc -f a@example.com -r zed@on.example -m "$T/ham.eml") || fail "on domain: $out"
out_has '^mod addheader X-DSPAM-Result' "on domain not filtered"

# 4. grouping (split): a second identity is deferred with 452 4.5.3
out=$(mc -f a@example.com -r bob@example.org -r alice@example.org -m "$T/ham.eml") || fail "split: $out"
out_has '^rcpt alice@example.org replycode 452 4.5.3' "split: alice not deferred"
out_has '^mod addheader X-DSPAM-Result' "split: bob not classified"
out=$(mc -f a@example.com -r alice@example.org -r carol@example.org -r bob@example.org -m "$T/ham.eml") || fail "split 2: $out"
out_has '^rcpt carol@example.org continue' "split: same identity deferred"
out_has '^rcpt bob@example.org replycode 452' "split: bob joined alice"
out_lacks '^mod addheader' "split: unfiltered identity got headers"
out=$(mc -f a@example.com -r bob@example.org -r bob+x@example.org -m "$T/ham.eml") || fail "split 3: $out"
out_has '^rcpt bob+x@example.org continue' "split: same user deferred"
#    two opted-in users, or an opted-in user and an unfiltered one, in
#    either order: the second is deferred and the verdict (its log line,
#    its signature) is the first one's; nothing reaches the other's mailbox
for pair in bob:dave:bob dave:bob:dave bob:alice:bob alice:bob:; do
	r1=${pair%%:*} w=${pair##*:}
	r2=${pair#*:} r2=${r2%:*}
	grouped split "$r1@example.org" "$r2@example.org" "${w:+$w@example.org}"
done

# 5. retrain aliases: owner or trusted network only
out=$(mc -c 203.0.113.5 -f x@example.com -r bob-spam@example.org -m "$T/spam.eml") || fail "alias: $out"
out_has '^rcpt bob-spam@example.org replycode 550 5.7.1' "alias from outside not refused"
out=$(mc -c 203.0.113.5 -a alice -f x@example.com -r bob-spam@example.org -m "$T/spam.eml") || fail "alias: $out"
out_has '^rcpt bob-spam@example.org replycode 550 5.7.1' "alias for another login not refused"
out=$(mc -c 203.0.113.5 -a bob -f x@example.com -r bob-spam@example.org -m "$T/spam.eml") || fail "alias auth: $out"
out_has '^rcpt bob-spam@example.org continue' "alias from its owner refused"
out_lacks '^mod addheader' "alias mail was classified"
out=$(mc -c 127.0.0.1 -f x@example.com -r bob-fp@example.org -m "$T/forged.eml" -o "$T/o5") || fail "alias local: $out"
out_has '^rcpt bob-fp@example.org continue' "alias from a trusted network refused"
[ "$(header_count "$T/o5" X-DSPAM-Result)" -eq 0 ] || fail "alias: forged header kept"

# 6. spamAction reject: 550 at end of data for spam, ham still tagged
es user bob@example.org set spamAction reject || fail "set spamAction"
out=$(mc -f p@cheap-pills.biz -r bob@example.org -m "$T/spam.eml") || fail "reject: $out"
out_has '^eom replycode 550 5.7.1' "spam not rejected"
out=$(mc -f a@example.com -r bob@example.org -m "$T/ham.eml") || fail "reject ham: $out"
out_has '^mod addheader X-DSPAM-Result: Innocent' "ham under reject"
es user bob@example.org unset spamAction || fail "unset spamAction"

# 6b. sender lists: decided before scoring, nothing learned, forged
#     fields still removed; block wins over allow; spamAction applies
es user allow bob@example.org '@Friends.Example' >/dev/null || fail "user allow"
es user block bob@example.org '*.cheap-pills.biz' >/dev/null || fail "user block"
learned() {
	sqlite3 "$T/db/es.db" "SELECT spam_learned, innocent_learned, spam_classified, innocent_classified FROM dspam_stats s JOIN dspam_virtual_uids u ON u.uid = s.uid WHERE u.username = 'bob@example.org'; SELECT COUNT(*), SUM(spam_hits), SUM(innocent_hits) FROM dspam_token_data t JOIN dspam_virtual_uids u ON u.uid = t.uid WHERE u.username = 'bob@example.org'; SELECT COUNT(*) FROM dspam_signature_data s JOIN dspam_virtual_uids u ON u.uid = s.uid WHERE u.username = 'bob@example.org'"
}
l0=$(learned)
#     an allowed From: on spammy text, with a forged result: Whitelisted
{ printf 'X-DSPAM-Result: Spam\n'; sed 's/^From: .*/From: Pal <pal@Friends.Example>/' "$T/spam.eml"; } > "$T/allowed.eml"
out=$(mc -f bounce@lists.example -r bob@example.org -m "$T/allowed.eml" -o "$T/o6b") || fail "allowed: $out"
out_has '^mod addheader X-DSPAM-Result: Whitelisted' "allowed sender not Whitelisted"
for h in Processed Confidence Probability; do
	out_has "^mod addheader X-DSPAM-$h: " "allowed: no X-DSPAM-$h"
done
out_lacks '^mod addheader X-DSPAM-Signature' "allowed: a signature was added"
[ "$(echo "$out" | grep -c '^mod chgheader')" -eq 1 ] || fail "allowed: forged field not deleted: $out"
[ "$(header_count "$T/o6b" X-DSPAM-Result)" -eq 1 ] || fail "allowed: not one X-DSPAM-Result"
sed '/^\r*$/q' "$T/o6b" | grep -q '^X-DSPAM-Result: Whitelisted' || fail "allowed: delivered copy: $(cat "$T/o6b")"
grep -q 'user=bob@example.org .*result=Whitelisted list=allow pattern=@friends.example matched=From:' "$T/milter.log" ||
	fail "allowed: no log line naming the list and pattern"
#     a blocked envelope sender (a subdomain) on plain ham: Spam
out=$(mc -f x@mail.Cheap-Pills.biz -r bob@example.org -m "$T/ham.eml") || fail "blocked: $out"
out_has '^mod addheader X-DSPAM-Result: Spam' "blocked sender not Spam"
out_has '^mod addheader X-DSPAM-Probability: 1.0000' "blocked: probability"
out_lacks '^mod addheader X-DSPAM-Signature' "blocked: a signature was added"
grep -q 'result=Spam list=block pattern=\*.cheap-pills.biz matched=envelope sender' "$T/milter.log" ||
	fail "blocked: no log line naming the list and pattern"
#     allowed envelope, blocked From: block wins
out=$(mc -f pal@friends.example -r bob@example.org -m "$T/spam.eml") || fail "both: $out"
out_has '^mod addheader X-DSPAM-Result: Spam' "allow of the envelope beat a block of From"
#     the null sender: From: decides
out=$(mc -f '' -r bob@example.org -m "$T/allowed.eml") || fail "null sender: $out"
out_has '^mod addheader X-DSPAM-Result: Whitelisted' "null sender, allowed From"
#     spamAction reject: a blocked sender is refused at end of data
es user bob@example.org set spamAction reject || fail "set spamAction"
out=$(mc -f x@cheap-pills.biz -r bob@example.org -m "$T/ham.eml") || fail "blocked, reject: $out"
out_has '^eom replycode 550 5.7.1' "blocked sender not rejected"
es user bob@example.org unset spamAction || fail "unset spamAction"
[ "$(learned)" = "$l0" ] || fail "listed senders were learned: $l0 -> $(learned)"
#     the list aliases are retrain aliases: owner or trusted network only
out=$(mc -c 203.0.113.5 -f x@example.com -r bob-allow@example.org -m "$T/spam.eml") || fail "allow alias: $out"
out_has '^rcpt bob-allow@example.org replycode 550 5.7.1' "allow alias from outside not refused"
out=$(mc -c 203.0.113.5 -a bob -f x@example.com -r bob-block@example.org -m "$T/spam.eml") || fail "block alias: $out"
out_has '^rcpt bob-block@example.org continue' "block alias from its owner refused"
out_lacks '^mod addheader' "block alias mail was classified"
#     ... also with an address extension, quoted, or through the
#     percent hack, which the MTA delivers to the alias all the same
for r in bob-allow+x@example.org bob-spam+x@example.org '"bob-allow"@example.org' \
	'bob-bl\ock@example.org' 'bob-block%example.org@mx.example.org'; do
	out=$(mc -c 203.0.113.5 -f x@example.com -r "$r" -m "$T/spam.eml") || fail "$r: $out"
	echo "$out" | grep -qF "rcpt $r replycode 550 5.7.1" || fail "$r from outside not refused: $out"
done
#     an address with no delivery form is refused (bad_recipient_action),
#     never taken for an unfiltered recipient; <postmaster> needs no domain
for r in '"bob' 'bob' 'bob\' '"bob spam"@example.org' '@example.org' \
	'a!b!c!d!e!f!g!h!i!j@example.org' '@global' 'bob(x)@example.org'; do
	out=$(mc -c 203.0.113.5 -f x@example.com -r "$r" -m "$T/spam.eml") || fail "$r: $out"
	echo "$out" | grep -q "^rcpt .* replycode 553 5.1.3" || fail "$r not refused: $out"
done
grep -q 'refused: an unclosed quote (bad_recipient_action)' "$T/milter.log" ||
	fail "the refusal's reason is not logged"
out=$(mc -c 203.0.113.5 -f x@example.com -r 'Postmaster' -m "$T/spam.eml") || fail "postmaster: $out"
out_has '^rcpt Postmaster continue' "postmaster refused"
out_lacks '^mod addheader X-DSPAM-Result' "postmaster's mail classified"
#     the extension is cut before the user name's length is checked
long=$(printf '%*s' 300 '' | tr ' ' x)
out=$(mc -c 203.0.113.5 -f x@example.com -r "bob+$long@example.org" -m "$T/ham.eml") || fail "long: $out"
out_has '^mod addheader X-DSPAM-Result: ' "bob with a long extension not classified"
out=$(mc -c 203.0.113.5 -f x@example.com -r "bob-spam+$long@example.org" -m "$T/spam.eml") || fail "long alias: $out"
out_has '^rcpt .* replycode 550 5.7.1' "bob-spam with a long extension not refused"
out=$(mc -c 203.0.113.5 -a bob -f x@example.com -r bob-block+x@example.org -m "$T/spam.eml") || fail "block+x: $out"
out_has '^rcpt bob-block+x@example.org continue' "block alias with an extension from its owner refused"
out_lacks '^mod addheader' "block alias mail with an extension was classified"
#     off the lists, the same message is scored and learned again
es user unallow bob@example.org '@friends.example' >/dev/null || fail "unallow"
es user unblock bob@example.org '*.cheap-pills.biz' >/dev/null || fail "unblock"
out=$(mc -f bounce@lists.example -r bob@example.org -m "$T/allowed.eml") || fail "unlisted: $out"
out_has '^mod addheader X-DSPAM-Result: Spam' "unlisted spam not scored Spam"
out_has '^mod addheader X-DSPAM-Signature: ' "unlisted: no signature"
[ "$(learned)" != "$l0" ] || fail "unlisted message not learned"

# 7. signatureLocation message: the tag ends the body
es user bob@example.org set signatureLocation message || fail "set signatureLocation"
out=$(mc -f a@example.com -r bob@example.org -m "$T/ham.eml" -o "$T/o7") || fail "tag: $out"
sig=$(echo "$out" | sed -n 's/^mod addheader X-DSPAM-Signature: //p')
[ -n "$sig" ] || fail "tag: no signature: $out"
tail -n 1 "$T/o7" | tr -d '\r' | grep -qx "!DSPAM:$sig!" || fail "tag: body does not end with !DSPAM:$sig!: $(tail -n 3 "$T/o7")"
grep -q 'Regards, Alice' "$T/o7" || fail "tag: body text lost"
es user bob@example.org unset signatureLocation || fail "unset signatureLocation"

# 8. the same connection, two messages: state is reset between them
out=$(mc -R -f a@example.com -r bob@example.org -m "$T/forged.eml") || fail "repeat: $out"
[ "$(echo "$out" | grep -c '^mod addheader X-DSPAM-Result')" -eq 2 ] || fail "repeat: not 2 verdicts: $out"
[ "$(echo "$out" | grep -c '^mod chgheader')" -eq 6 ] || fail "repeat: not 3+3 deletions: $out"

# 9. hostile conversations, each followed by a normal message
out=$(mc --big-header 900000 -f a@example.com -r bob@example.org -m "$T/ham.eml") || fail "900 kB header: $out"
out_has '^mod addheader X-DSPAM-Result' "900 kB header"
normal_ok big-header
# beyond libmilter's largest packet (1 MB) the milter drops the
# connection (the MTA then applies milter_default_action) and lives on
mc --big-header 1048576 -f a@example.com -r bob@example.org -m "$T/ham.eml" >/dev/null 2>&1
normal_ok huge-header
out=$(mc --many-headers 10000 -f a@example.com -r bob@example.org -m "$T/forged.eml" -o "$T/o9") || fail "10000 headers: $out"
out_has '^eom continue' "10000 headers"
[ "$(header_count "$T/o9" X-DSPAM-Result)" -eq 1 ] || fail "10000 headers: not one X-DSPAM-Result"
normal_ok many-headers
out=$(mc --nul -f a@example.com -r bob@example.org -m "$T/ham.eml") || fail "NUL: $out"
out_has '^eom continue' "NUL bytes"
normal_ok nul
for stage in connect mail rcpt header eoh body; do
	mc --stop-after $stage --then close -f a@example.com -r bob@example.org -m "$T/ham.eml" >/dev/null ||
		fail "close after $stage: miltc failed"
	normal_ok "close-after-$stage"
	out=$(mc --stop-after $stage --then abort -f a@example.com -r bob@example.org -m "$T/ham.eml") ||
		fail "abort after $stage: $out"
	echo "$out" | tail -n 1 | grep -q '^eom continue' || fail "abort after $stage, then a message: $out"
done

# 9b. many messages at once (the writes share group commits): every one
# gets its verdict and is learned exactly once - the user's counted
# messages and signatures grow by exactly the number sent, for a new
# user (created under load) and for bob
make_corpus "$T/load" load 20
q() { sqlite3 "$T/db/es.db" "$1"; }
counted="SELECT COALESCE(SUM(spam_learned + innocent_learned + spam_classified + innocent_classified), 0) FROM dspam_stats s JOIN dspam_virtual_uids u ON u.uid = s.uid WHERE u.username ="
sigs="SELECT COUNT(*) FROM dspam_signature_data s JOIN dspam_virtual_uids u ON u.uid = s.uid WHERE u.username ="
es domain load.example set on || fail "domain set load.example"
c0=$(q "$counted 'bob@example.org'"); s0=$(q "$sigs 'bob@example.org'")
out=$("$MILTC" -s "unix:$T/m.sock" -t 20 -B "$T/load" -j 8 -n 200 -f a@example.com -r bob@example.org) ||
	fail "200 messages over 8 connections: $out"
echo "$out" | grep -qx 'verdict.continue 200' || fail "not 200 verdicts: $out"
[ $(($(echo "$out" | awk '$1 == "headers.spam" || $1 == "headers.innocent" { n += $2 } END { print n }'))) -eq 200 ] ||
	fail "not 200 tagged: $out"
[ $(($(q "$counted 'bob@example.org'") - c0)) -eq 200 ] || fail "bob's counted messages grew by $(($(q "$counted 'bob@example.org'") - c0)), not 200"
[ $(($(q "$sigs 'bob@example.org'") - s0)) -eq 200 ] || fail "bob's signatures grew by $(($(q "$sigs 'bob@example.org'") - s0)), not 200"
out=$("$MILTC" -s "unix:$T/m.sock" -t 20 -B "$T/load" -j 8 -n 80 -f a@example.com -r carol@load.example) ||
	fail "80 messages to a new user over 8 connections: $out"
[ "$(q "$counted 'carol@load.example'")" -eq 80 ] || fail "carol counted $(q "$counted 'carol@load.example'"), not 80"
[ "$(q "SELECT COUNT(*) FROM dspam_virtual_uids WHERE username = 'carol@load.example'")" -eq 1 ] ||
	fail "carol created more than once"
normal_ok "load"

# 9c. the shared dictionary: a new user's first spam is Spam through it,
# the field and the log line say so, and classification leaves the
# dictionary as it was; its reserved name is no recipient
train_pair es @global 12
gsnap="SELECT token, spam_hits, innocent_hits, weight FROM dspam_token_data WHERE uid = (SELECT uid FROM dspam_virtual_uids WHERE username = '@global') ORDER BY token"
q "$gsnap" > "$T/g0"
spam 900 > "$T/s900.eml"
out=$(mc -f p@cheap-pills.biz -r dora@on.example -m "$T/s900.eml") || fail "dictionary: $out"
out_has '^mod addheader X-DSPAM-Result: Spam$' "dora's first spam"
out_has '^mod addheader X-DSPAM-Dictionary: shared; user-weight=0.00$' "no X-DSPAM-Dictionary"
grep -q "user=dora@on.example .*result=Spam .*dictionary=shared user-weight=0.00" "$T/milter.log" ||
	fail "log line lacks the dictionary: $(grep dora "$T/milter.log")"
q "$gsnap" > "$T/g1"
cmp -s "$T/g0" "$T/g1" || fail "the milter changed the shared dictionary"
#   (its "domain" filters everybody, so only the name's form keeps it out)
es domain global set on >/dev/null || fail "domain global set on"
out=$(mc -f p@cheap-pills.biz -r '<@global>' -m "$T/s900.eml") || fail "rcpt @global: $out"
out_lacks '^mod addheader' "classified for @global"

# 10. SIGHUP: a bad file keeps the running settings; a good one applies
cp "$T/es.conf" "$T/es.conf.good"
echo "recipient_grouping = sideways" >> "$T/es.conf"
kill -HUP "$MPID"
sleep 0.5
grep -q "reload: .*recipient_grouping" "$T/milter.log" || fail "bad reload not reported"
out=$(mc -f a@example.com -r bob@example.org -r alice@example.org -m "$T/ham.eml") || fail "after bad reload: $out"
out_has '^rcpt alice@example.org replycode 452' "bad reload changed the settings"
cp "$T/es.conf.good" "$T/es.conf"
echo "recipient_grouping = first" >> "$T/es.conf"
kill -HUP "$MPID"
sleep 0.5
out=$(mc -f a@example.com -r alice@example.org -r bob@example.org -m "$T/ham.eml") || fail "first: $out"
out_has '^rcpt bob@example.org continue' "first: bob deferred"
out_has '^mod addheader X-DSPAM-Result' "first: not classified for bob"
#    the first opted-in recipient decides, whatever follows it
for pair in bob:dave:bob dave:bob:dave bob:alice:bob alice:bob:bob alice:carol:; do
	r1=${pair%%:*} w=${pair##*:}
	r2=${pair#*:} r2=${r2%:*}
	grouped first "$r1@example.org" "$r2@example.org" "${w:+$w@example.org}"
done
kill -0 "$MPID" || fail "SIGHUP stopped the milter"

# 11. SIGTERM: clean stop, pid file removed
[ -s "$T/m.pid" ] || fail "no pid file"
[ "$(cat "$T/m.pid")" = "$MPID" ] || fail "pid file holds $(cat "$T/m.pid"), not $MPID"
stop_milter || fail "SIGTERM: exit status $?"
[ -e "$T/m.pid" ] && fail "pid file left after stop"

# 12. store unusable: on_error accept passes mail unfiltered (forged
#     fields still removed), tempfail defers; logged once, not per message
write_conf "$T/down.conf" "store_path = $T/isadir" "on_error = accept" "default_policy = on"
: > "$T/milter.log"
start_milter "$T/down.conf"
for k in 1 2 3; do
	out=$(mc -f a@example.com -r bob@example.org -m "$T/forged.eml" -o "$T/o12") || fail "store down: $out"
	out_has '^eom continue' "store down, accept"
	[ "$(header_count "$T/o12" X-DSPAM-Result)" -eq 0 ] || fail "store down: forged header kept or ours added"
done
[ "$(grep -c 'store unavailable' "$T/milter.log")" -eq 1 ] || fail "store down not logged exactly once: $(cat "$T/milter.log")"
stop_milter || fail "stop"
write_conf "$T/down.conf" "store_path = $T/isadir" "on_error = tempfail" "default_policy = on"
start_milter "$T/down.conf"
out=$(mc -f a@example.com -r bob@example.org -m "$T/ham.eml") || fail "store down tempfail: $out"
out_has '^rcpt bob@example.org tempfail\|^rcpt bob@example.org replycode 451' "store down, tempfail"
stop_milter || fail "stop"

# 12b. the store fails at end of message, after the recipient was taken
#     (another process holds the write lock longer than
#     store_busy_timeout_ms, so learning fails): on_error accept passes
#     the message with every forged field removed and none added, and
#     the log says why
write_conf "$T/eom.conf" "on_error = accept"
: > "$T/milter.log"
start_milter "$T/eom.conf"
normal_ok eom-before
mkfifo "$T/lock.in"
sqlite3 "$T/db/es.db" < "$T/lock.in" > "$T/lock.out" 2>&1 &
lpid=$!
exec 3> "$T/lock.in"
echo "BEGIN IMMEDIATE; SELECT 'locked';" >&3
n=0
until grep -q '^locked$' "$T/lock.out"; do
	n=$((n + 1))
	[ $n -le 100 ] || fail "sqlite3 took no write lock: $(cat "$T/lock.out")"
	sleep 0.1
done
out=$(mc -i QEOM -f p@cheap-pills.biz -r bob@example.org -m "$T/forged.eml" -o "$T/o12b")
rc=$?
echo "ROLLBACK;" >&3
exec 3>&-
wait $lpid
[ $rc -eq 0 ] || fail "store failing at eom: $out"
out_has '^rcpt bob@example.org continue' "store failing at eom: recipient not taken"
out_has '^eom continue' "store failing at eom, accept: not passed"
out_lacks '^mod addheader' "store failing at eom: a field was added"
[ "$(echo "$out" | grep -ci '^mod chgheader X-DSPAM-[a-z]* [0-9]*:$')" -eq 3 ] || fail "store failing at eom: not 3 deletions: $out"
[ "$(sed '/^\r*$/q' "$T/o12b" | grep -ci '^X-DSPAM-')" -eq 0 ] ||
	fail "store failing at eom: X-DSPAM fields delivered: $(sed '/^\r*$/q' "$T/o12b")"
grep -q '^X-DSPAM-Result: Innocent' "$T/o12b" || fail "store failing at eom: the body line was changed"
grep -q 'QEOM: classification: .*passed unfiltered (on_error)' "$T/milter.log" ||
	fail "store failing at eom: no log line saying why: $(grep QEOM "$T/milter.log")"
normal_ok eom-after

# 12c. a failure that is not an outage but repeats (a full disk, a broken
#     table: here a trigger refuses every signature) is logged once per
#     store_down_log_interval_s with the count, not once per message
sqlite3 "$T/db/es.db" "CREATE TRIGGER full BEFORE INSERT ON dspam_signature_data BEGIN SELECT RAISE(FAIL, 'database or disk is full'); END;" ||
	fail "12c: trigger"
: > "$T/milter.log"
for k in 1 2 3 4; do
	ham "full$k" > "$T/f.eml"
	out=$(mc -f a@example.com -r bob@example.org -m "$T/f.eml") || fail "12c: $out"
	out_has '^eom continue' "12c: message $k not passed (on_error accept)"
	out_lacks '^mod addheader X-DSPAM-Result' "12c: message $k got a verdict"
done
[ "$(grep -c 'classification: .*disk is full' "$T/milter.log")" -eq 1 ] ||
	fail "12c: the repeated failure was not logged exactly once: $(cat "$T/milter.log")"
sqlite3 "$T/db/es.db" "DROP TRIGGER full" || fail "12c: drop trigger"
normal_ok full-after
grep -q 'store: working again (3 more failures since the last report)' "$T/milter.log" ||
	fail "12c: the end of the failures is not logged with their count: $(tail -n 3 "$T/milter.log")"
stop_milter || fail "stop"
pass
