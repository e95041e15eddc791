# lib_history.sh - the history scenario (sourced after lib.sh), run by
# test_history.sh on SQLite and by test_history_mariadb.sh on MariaDB.
# The caller sets T, ES, MILTC, MILTER, the configuration $T/es.conf
# (store keys included) and q SQL (a query on the store, one value per
# line, no column names), then calls hist_scenario.
#
#   1. a row per message the milter filtered: time, queue id, client,
#      envelope sender, From, Subject, verdict, probability, signature,
#      action tagged; none for an unfiltered recipient or a retrain alias;
#   2. hostile text: an RFC 2047 Subject carrying <script>, quotes and
#      an escape sequence, a 300-character Subject, non-UTF-8 bytes:
#      stored printable and cut to 200 characters, escaped in JSON,
#      printable in the text output;
#   3. corrections through edgespam (--falsepositive, --addspam) mark
#      the row of their signature;
#   4. filters: --verdict, --search (any case), --since, --limit;
#   5. spamAction reject: action rejected; a sender list: Whitelisted
#      without a signature;
#   6. history = no writes none;
#   7. purge removes rows older than purge_history_days, and none when 0;
#   8. usage and unknown users;
#   daily counts (edgespam stats USER --daily): each filtered message
#   counted by verdict, corrections as missed spam and false positives
#   on the message's day, none with history = no, purged after
#   purge_daily_days.

hist_send() {
	"$MILTC" -s "unix:$T/m.sock" -t 20 "$@" || fail "miltc $*: failed"
}
hist_sig() { echo "$1" | sed -n 's/^mod addheader X-DSPAM-Signature: //p'; }
hist_es() { "$ES" -c "$T/es.conf" "$@"; }
# hist_count USER [WHERE] - the user's rows in the table
hist_count() {
	q "SELECT COUNT(*) FROM edgespam_history h JOIN dspam_virtual_uids u ON u.uid = h.uid WHERE u.username = '$1' ${2:+AND $2}"
}
# hist_json USER [options] - the listing as JSON into $T/h.json
hist_json() {
	_u=$1
	shift
	hist_es history "$_u" --json "$@" > "$T/h.json" || fail "history $_u --json $*: $(cat "$T/h.json")"
	python3 -c 'import json,sys; json.load(open(sys.argv[1]))' "$T/h.json" ||
		fail "history --json is not JSON: $(cat "$T/h.json")"
}
# hist_daily USER - the daily counts as JSON into $T/h.json
hist_daily() {
	hist_es stats "$1" --daily --json > "$T/h.json" || fail "stats $1 --daily --json: $(cat "$T/h.json")"
	python3 -c 'import json,sys; json.load(open(sys.argv[1]))' "$T/h.json" ||
		fail "stats --daily --json is not JSON: $(cat "$T/h.json")"
}
# hist_py EXPR WHAT - a Python expression over rows (the JSON list) holds
hist_py() {
	python3 -c 'import json,sys; rows = json.load(open(sys.argv[1])); sys.exit(0 if eval(sys.argv[2]) else 1)' \
		"$T/h.json" "$1" || fail "$2: $1: $(cat "$T/h.json")"
}

hist_scenario() {
	hist_es user bob@example.org opt-in >/dev/null || fail "bob opt-in"
	hist_es user carol@example.org opt-in >/dev/null || fail "carol opt-in"
	train_pair hist_es bob@example.org 12
	train_pair hist_es carol@example.org 12
	milter_start "$T/es.conf" "$T/m.sock" "$T/milter.log"

	# 1. a spam and a ham for bob, each with its queue id and client
	spam 301 > "$T/s1.eml"
	ham 301 > "$T/h1.eml"
	out=$(hist_send -c 192.0.2.7 -i QSPAM1 -f promo@cheap-pills.biz -r bob@example.org -m "$T/s1.eml")
	out_has '^mod addheader X-DSPAM-Result: Spam' "spam"
	spam_sig=$(hist_sig "$out")
	out=$(hist_send -c 2001:db8::5 -i QHAM1 -f alice@example.org -r bob@example.org -m "$T/h1.eml")
	out_has '^mod addheader X-DSPAM-Result: Innocent' "ham"
	ham_sig=$(hist_sig "$out")
	[ -n "$spam_sig" ] && [ -n "$ham_sig" ] || fail "no signatures"
	[ "$(hist_count bob@example.org)" -eq 2 ] || fail "not 2 rows for bob: $(q 'SELECT * FROM edgespam_history')"
	#    none for an unfiltered recipient, nor for a retrain alias
	hist_send -c 192.0.2.7 -f x@example.com -r alice@example.org -m "$T/s1.eml" >/dev/null
	hist_send -c 127.0.0.1 -f x@example.com -r bob-spam@example.org -m "$T/s1.eml" >/dev/null
	[ "$(q 'SELECT COUNT(*) FROM edgespam_history')" -eq 2 ] ||
		fail "rows for unfiltered mail: $(q 'SELECT * FROM edgespam_history')"
	out=$(hist_es history bob@example.org) || fail "history: $out"
	[ "$(echo "$out" | wc -l)" -eq 3 ] || fail "history: not a heading and 2 lines: $out"
	echo "$out" | head -n 1 | grep -q "^time (UTC)	verdict	correction	probability	action	queue id	client	sender	from	subject	signature$" ||
		fail "history heading: $out"
	line=$(echo "$out" | sed -n 2p)   # newest first: the ham
	echo "$line" | awk -F '\t' -v s="$ham_sig" '$2 == "Innocent" && $3 == "-" && $5 == "tagged" && $6 == "QHAM1" &&
		$7 == "2001:db8::5" && $8 == "alice@example.org" && $9 == "alice301@example.org" &&
		$10 == "meeting notes 301" && $11 == s { ok = 1 } END { exit !ok }' || fail "ham line: $line"
	line=$(echo "$out" | sed -n 3p)
	echo "$line" | awk -F '\t' -v s="$spam_sig" '$2 == "Spam" && $4 > 0.9 && $5 == "tagged" && $6 == "QSPAM1" &&
		$7 == "192.0.2.7" && $8 == "promo@cheap-pills.biz" && $10 == "CHEAP viagra pills discount 301" &&
		$11 == s { ok = 1 } END { exit !ok }' || fail "spam line: $line"
	hist_json bob@example.org
	hist_py 'len(rows) == 2 and rows[0]["verdict"] == "innocent" and rows[1]["verdict"] == "spam" and rows[0]["id"] > rows[1]["id"] and rows[1]["correction"] is None and rows[1]["signature"] == "'"$spam_sig"'" and rows[1]["action"] == "tagged"' "json rows"
	now=$(date +%s)
	hist_py 'all(abs(r["time"] - '"$now"') < 120 for r in rows)' "json times"

	# 2. hostile text
	b64=$(printf '<script>alert("x")</script> \033[31mred\\ & "quoted"' | base64 -w0)
	long=$(printf '%0300d' 0 | tr 0 A)
	{
		printf 'From: =?UTF-8?B?%s?= <evil@example.net>\n' "$b64"
		printf 'To: bob@example.org\nSubject: =?UTF-8?B?%s?=\n\n' "$b64"
		printf 'Buy cheap viagra pills now, huge discount casino bonus.\n'
	} > "$T/x1.eml"
	{
		printf 'From: latin \351t\351 <l@example.net>\nTo: bob@example.org\n'
		printf 'Subject: %s\n\nplain text\n' "$long"
	} > "$T/x2.eml"
	hist_send -c 192.0.2.9 -i QX1 -f "$(printf '"a\tb"@example.net')" -r bob@example.org -m "$T/x1.eml" >/dev/null
	hist_send -c 192.0.2.9 -i QX2 -f x@example.net -r bob@example.org -m "$T/x2.eml" >/dev/null
	hist_json bob@example.org --limit 2
	hist_py 'rows[1]["subject"] == "<script>alert(\"x\")</script> ?[31mred\\ & \"quoted\""' "hostile subject stored printable"
	grep -q '\\u003cscript\\u003e' "$T/h.json" || fail "JSON does not escape <: $(cat "$T/h.json")"
	grep -q '<script' "$T/h.json" && fail "JSON carries a raw <script: $(cat "$T/h.json")"
	hist_py 'rows[0]["subject"] == "A" * 200' "a 300-character Subject cut to 200"
	hist_py 'rows[0]["from"] == "latin \ufffdt\ufffd <l@example.net>"' "Latin-1 bytes as U+FFFD"
	hist_py 'rows[1]["sender"] == "\"a b\"@example.net"' "a tab in the envelope sender"
	out=$(hist_es history bob@example.org --limit 2) || fail "history --limit 2"
	[ "$(echo "$out" | wc -l)" -eq 3 ] || fail "--limit 2 gave: $out"
	if printf '%s' "$out" | LC_ALL=C grep -q "$(printf '[\001-\010\013-\037\177]')"; then
		fail "control bytes in the text output: $out"
	fi
	[ "$(q "SELECT MAX(LENGTH(subject)) FROM edgespam_history")" -le 800 ] || fail "a subject longer than 800 bytes"

	# 3. corrections mark the row of their signature
	{ printf 'X-DSPAM-Signature: %s\n' "$spam_sig"; cat "$T/s1.eml"; } |
		hist_es --user bob@example.org --falsepositive || fail "--falsepositive"
	{ printf 'X-DSPAM-Signature: %s\n' "$ham_sig"; cat "$T/h1.eml"; } |
		hist_es --user bob@example.org --addspam || fail "--addspam"
	hist_json bob@example.org --search 301
	hist_py 'len(rows) == 2 and rows[0]["correction"] == "spam" and rows[1]["correction"] == "innocent" and all(r["corrected"] >= r["time"] for r in rows)' "corrections"
	out=$(hist_es history bob@example.org --search 'CHEAP VIAGRA pills discount 301')
	echo "$out" | awk -F '\t' 'NR == 2 && $2 == "Spam" && $3 == "innocent" { ok = 1 } END { exit !ok }' ||
		fail "corrected line: $out"
	#    the daily counts: bob's 4 messages today, one missed spam and
	#    one false positive; the plain stats line is still there
	today=$(date -u +%F)
	hist_daily bob@example.org
	hist_py 'len(rows) == 1 and rows[0]["day"] == "'"$today"'" and rows[0]["spam"] + rows[0]["innocent"] + rows[0]["whitelisted"] == 4 and rows[0]["spam"] >= 1 and rows[0]["innocent"] >= 1 and rows[0]["missed_spam"] == 1 and rows[0]["false_positives"] == 1 and rows[0]["accuracy"] == 0.5' "daily counts after corrections"
	out=$(hist_es stats bob@example.org --daily) || fail "stats --daily: $out"
	echo "$out" | head -n 1 | grep -q "^day (UTC)	spam	innocent	whitelisted	missed spam	false positives	accuracy$" ||
		fail "stats --daily heading: $out"
	echo "$out" | awk -F '\t' -v d="$today" 'NR == 2 && $1 == d && $5 == 1 && $6 == 1 && $7 == "50.00" { ok = 1 } END { exit !ok }' ||
		fail "stats --daily line: $out"
	out=$(hist_es stats bob@example.org) || fail "stats: $out"
	echo "$out" | grep -q '^user  *spam  *innocent' || fail "stats heading changed: $out"

	# 4. filters
	hist_json bob@example.org --verdict spam
	hist_py 'all(r["verdict"] == "spam" for r in rows) and any(r["queue_id"] == "QSPAM1" for r in rows)' "--verdict spam"
	hist_json bob@example.org --verdict innocent
	hist_py 'all(r["verdict"] == "innocent" for r in rows) and any(r["queue_id"] == "QHAM1" for r in rows)' "--verdict innocent"
	hist_json bob@example.org --search EVIL@example
	hist_py 'len(rows) == 1 and rows[0]["queue_id"] == "QX1"' "--search in From, any case"
	hist_json bob@example.org --search 'pills.biz'
	hist_py 'len(rows) == 1 and rows[0]["queue_id"] == "QSPAM1"' "--search in the sender"
	q "UPDATE edgespam_history SET created = created - 3 * 86400 WHERE queue_id = 'QHAM1'"
	hist_json bob@example.org --since 2
	hist_py 'len(rows) == 3 and all(r["queue_id"] != "QHAM1" for r in rows)' "--since 2"
	hist_json bob@example.org --since 4
	hist_py 'len(rows) == 4' "--since 4"

	# 5. spamAction reject, and a sender list's verdict
	hist_es user carol@example.org set spamAction reject >/dev/null || fail "set spamAction"
	out=$(hist_send -c 192.0.2.7 -i QREJ -f x@example.com -r carol@example.org -m "$T/s1.eml")
	out_has 'replycode 550' "spamAction reject"
	hist_es user allow carol@example.org friend@example.net >/dev/null || fail "user allow"
	out=$(hist_send -c 192.0.2.7 -i QALLOW -f friend@example.net -r carol@example.org -m "$T/s1.eml")
	out_has '^mod addheader X-DSPAM-Result: Whitelisted' "allowed sender"
	hist_json carol@example.org
	hist_py 'len(rows) == 2 and rows[1]["queue_id"] == "QREJ" and rows[1]["action"] == "rejected" and rows[1]["verdict"] == "spam" and rows[1]["signature"] != ""' "rejected row"
	hist_py 'rows[0]["queue_id"] == "QALLOW" and rows[0]["verdict"] == "whitelisted" and rows[0]["signature"] == "" and rows[0]["action"] == "tagged" and rows[0]["probability"] == 0' "whitelisted row"
	hist_daily carol@example.org
	hist_py 'len(rows) == 1 and rows[0]["spam"] == 1 and rows[0]["whitelisted"] == 1 and rows[0]["innocent"] == 0' "carol's daily counts"

	# 6. history = no
	kill "$MPID" && wait "$MPID" 2>/dev/null
	MPID=""
	conf_set "$T/es.conf" "history = no"
	milter_start "$T/es.conf" "$T/m.sock" "$T/milter.log"
	n0=$(q 'SELECT COUNT(*) FROM edgespam_history')
	out=$(hist_send -c 192.0.2.7 -i QOFF -f x@example.com -r bob@example.org -m "$T/h1.eml")
	out_has '^mod addheader X-DSPAM-Result: ' "history off: not classified"
	[ "$(q 'SELECT COUNT(*) FROM edgespam_history')" -eq "$n0" ] || fail "history = no wrote a row"
	hist_daily bob@example.org
	hist_py 'len(rows) == 1 and rows[0]["spam"] + rows[0]["innocent"] + rows[0]["whitelisted"] == 4' "history = no counted a message"

	# 7. purge: rows older than purge_history_days (14) go
	q "UPDATE edgespam_history SET created = created - 15 * 86400 WHERE queue_id IN ('QX1', 'QREJ')"
	#    and daily counts older than purge_daily_days (400)
	bob_uid=$(q "SELECT uid FROM dspam_virtual_uids WHERE username = 'bob@example.org'")
	old_day=$(( $(date +%s) / 86400 - 401 ))
	q "INSERT INTO edgespam_daily (uid, day, spam) VALUES ($bob_uid, $old_day, 5), ($bob_uid, $((old_day + 2)), 7)"
	out=$(hist_es purge 2>&1) || fail "purge: $out"
	out_has 'history 2, daily 1,' "purge did not report 2 history rows and 1 daily row"
	[ "$(q "SELECT COUNT(*) FROM edgespam_daily WHERE uid = $bob_uid")" -eq 2 ] || fail "purge_daily_days: $(q 'SELECT * FROM edgespam_daily')"
	hist_es stats bob@example.org --daily --days 500 --json > "$T/h.json" || fail "--days 500"
	hist_py 'len(rows) == 2 and rows[0]["spam"] == 7 and rows[0]["accuracy"] == 1' "--days 500"
	[ "$(q "SELECT COUNT(*) FROM edgespam_history WHERE queue_id IN ('QX1', 'QREJ')")" -eq 0 ] || fail "purge kept old rows"
	[ "$(q 'SELECT COUNT(*) FROM edgespam_history')" -eq $((n0 - 2)) ] || fail "purge removed recent rows"
	conf_set "$T/es.conf" "purge_history_days = 0"
	q "UPDATE edgespam_history SET created = 86400"
	out=$(hist_es purge 2>&1) || fail "purge: $out"
	out_has 'history 0,' "purge_history_days = 0 purged"

	# 8. usage and unknown users
	hist_es history nobody@example.org >/dev/null 2>&1
	expect_rc 67 $? "history of an unknown user"
	hist_es history bob@example.org --verdict maybe >/dev/null 2>&1
	expect_rc 64 $? "--verdict maybe"
	hist_es history bob@example.org --since 0 >/dev/null 2>&1
	expect_rc 64 $? "--since 0"
	hist_es history >/dev/null 2>&1
	expect_rc 64 $? "history without a user"
	hist_es history --help | grep -q -- '--search' || fail "history --help"
	hist_es stats nobody@example.org --daily >/dev/null 2>&1
	expect_rc 67 $? "stats --daily of an unknown user"
	hist_es stats bob@example.org --daily --days 0 >/dev/null 2>&1
	expect_rc 64 $? "stats --daily --days 0"
	kill -0 "$MPID" || fail "the milter died"
}
