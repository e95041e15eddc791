#!/bin/sh
# test_web.sh - edgespam-web in a real browser: Debian's headless
# Chromium, driven over the DevTools protocol (tests/tools/cdp.py,
# web_browse.py), logs in through a test proxy (tests/tools/web_proxy.py:
# Basic credentials, the user header, a source address of its own) in
# front of edgespam-web on loopback, on a SQLite store that the real
# milter filled with history rows (miltc). The browser half checks the
# history, a hostile Subject rendered as text, a one-click correction,
# the lists, opt-in, the statistics plots and the admin pages, and
# writes screenshots to $BUILD/web-*.png. This half checks, with curl:
#   - the correction changed bob's totals as `edgespam stats` shows them
#     (one missed spam more), and the history row is marked corrected;
#   - refused: a request straight to the service from an address that is
#     not web_proxy (header or not), one from the proxy's address without
#     the user header, a POST without the CSRF token or with another
#     user's, a correction of another user's row (nothing changes), a
#     non-admin on the admin pages, a form that is not urlencoded;
#   - the Unix socket: edgespam-web on unix:PATH believes its peers;
#   - root drops to the configured user before it opens the store.
set -u
[ -n "${WEB_DEBUG:-}" ] && set -x
. tests/sh/lib.sh

PY=/usr/bin/python3
CHROMIUM=${CHROMIUM:-/usr/bin/chromium}
milter_programs
WEB=$B/edgespam-web
[ -x "$WEB" ] || skip "SKIP: $WEB not built"
[ -x "$CHROMIUM" ] || skip "SKIP: $CHROMIUM is not installed (Debian's chromium)"
"$PY" -c 'import websocket' 2>/dev/null ||
	skip "SKIP: $PY cannot import websocket (Debian's python3-websocket)"
command -v curl >/dev/null 2>&1 || skip "SKIP: curl is not installed"
command -v sqlite3 >/dev/null 2>&1 || skip "SKIP: sqlite3 is not installed"
"$PY" -c 'import socket; socket.socket().bind(("127.0.0.2", 0))' 2>/dev/null ||
	skip "SKIP: cannot bind 127.0.0.2 (the proxy's own loopback address)"

milter_workdir web
WPID="" PPID_="" UPID=""
web_cleanup() {
	for p in $WPID $PPID_ $UPID; do
		kill "$p" 2>/dev/null && wait "$p" 2>/dev/null
	done
	milter_cleanup
}
trap web_cleanup EXIT INT TERM

# free_port - an unused loopback TCP port
free_port() {
	"$PY" -c 'import socket; s = socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])'
}
WPORT=$(free_port)
PPORT=$(free_port)
PROXY=127.0.0.2
mkdir -p "$T/store"
# as root, every program works as a user of its own: the milter and the
# web service drop to it, the CLI acts as the owner of the store's
# directory
RUNAS=""
if [ "$(id -u)" -eq 0 ]; then
	RUNAS=nobody
	chmod 0711 "$T"
	chown nobody "$T/store"
fi
milter_conf "$T/es.conf" "$T/m.sock" "store_path = $T/store/es.db" \
	"user = ${RUNAS:-\"\"}" "log_level = info" \
	"web_listen = 127.0.0.1:$WPORT" "web_proxy = $PROXY" \
	"web_user_header = X-Remote-User" "web_admins = admin@example.org"
es() { "$ES" -c "$T/es.conf" "$@"; }
q() { sqlite3 -cmd '.timeout 5000' "$T/store/es.db" "$1" || fail "sqlite3: $1"; }

# ---- the store: trained users, and the milter's history rows ----------
train_pair "$ES -c $T/es.conf" bob@example.org 10
train_pair "$ES -c $T/es.conf" eve@example.org 10
milter_start "$T/es.conf" "$T/m.sock" "$T/milter.log"
HOSTILE='<script>document.title="pwned-script"</script> "><img src=x onerror="document.title='"'"'pwned-img'"'"'">'
{
	printf 'From: Mallory <mallory@example.org>\nTo: bob@example.org\n'
	printf 'Subject: %s\nMessage-ID: <x1@example.org>\n\n' "$HOSTILE"
	printf 'Hello Bob,\nthe quarterly planning meeting moved to Thursday afternoon.\n'
	printf 'Please review the budget spreadsheet and the project timeline before then.\n'
} > "$T/hostile.txt"
ham 101 > "$T/ham.txt"
spam 101 > "$T/spam.txt"
ham 102 > "$T/eve.txt"
send() {
	"$MILTC" -s "unix:$T/m.sock" -t 20 -c "$1" -f "$2" -r "$3" -m "$4" \
		> "$T/miltc.out" 2>&1 || fail "miltc $3 $4: $(cat "$T/miltc.out")"
}
send 192.0.2.10 mallory@example.org bob@example.org "$T/hostile.txt"
send 192.0.2.11 alice101@example.org bob@example.org "$T/ham.txt"
send 192.0.2.12 promo101@cheap-pills.biz bob@example.org "$T/spam.txt"
send 192.0.2.13 alice102@example.org eve@example.org "$T/eve.txt"
kill "$MPID" && wait "$MPID" 2>/dev/null
MPID=""
BOB=$(q "SELECT uid FROM dspam_virtual_uids WHERE username = 'bob@example.org'")
EVE=$(q "SELECT uid FROM dspam_virtual_uids WHERE username = 'eve@example.org'")
rows=$(q "SELECT verdict FROM edgespam_history WHERE uid = $BOB ORDER BY id" | tr '\n' ' ')
[ "$rows" = "innocent innocent spam " ] ||
	fail "bob's history rows from the milter: '$rows', want innocent innocent spam"
EVE_ROW=$(q "SELECT id FROM edgespam_history WHERE uid = $EVE")
[ -n "$EVE_ROW" ] || fail "no history row for eve"
echo "store: bob and eve trained; the milter wrote bob's 3 history rows and eve's 1"

# ---- edgespam-web and the proxy -----------------------------------------
# wait_http URL - until something answers at URL (10 s)
wait_http() {
	_n=0
	until curl -s -o /dev/null "$1"; do
		_n=$((_n + 1))
		[ $_n -gt 100 ] && return 1
		sleep 0.1
	done
}
"$WEB" -f -c "$T/es.conf" > "$T/web.log" 2>&1 &
WPID=$!
wait_http "http://127.0.0.1:$WPORT/" || fail "edgespam-web did not start: $(cat "$T/web.log")"
if [ -n "$RUNAS" ]; then
	grep -q "^Uid:[[:space:]]*$(id -u $RUNAS)[[:space:]]" "/proc/$WPID/status" ||
		fail "edgespam-web did not drop root: $(grep Uid: "/proc/$WPID/status"); $(cat "$T/web.log")"
	grep -q "running as $RUNAS" "$T/web.log" || fail "no drop in the log: $(cat "$T/web.log")"
	echo "edgespam-web: started as root, runs as $RUNAS"
fi
printf 'bob:bob-pw:bob@example.org\neve:eve-pw:eve@example.org\nadmin:admin-pw:admin@example.org\n' > "$T/users"
"$PY" tests/tools/web_proxy.py "$PPORT" 127.0.0.1 "$WPORT" "$PROXY" \
	X-Remote-User "$T/users" > "$T/proxy.log" 2>&1 &
PPID_=$!
wait_http "http://127.0.0.1:$PPORT/" || fail "the proxy did not start: $(cat "$T/proxy.log")"

DIRECT=http://127.0.0.1:$WPORT
VIA=http://127.0.0.1:$PPORT
# code ARGS... - the HTTP status curl gets
code() { curl -s -o "$T/body" -w '%{http_code}' "$@"; }
# token USER - the user's CSRF token, read from a page as the proxy's peer
token() {
	curl -s --interface "$PROXY" -H "X-Remote-User: $1" "$DIRECT/lists" |
		sed -n 's/.*name="csrf" value="\([0-9a-f]*\)".*/\1/p' | head -n 1
}

# ---- refusals ---------------------------------------------------------------
c=$(code -H 'X-Remote-User: bob@example.org' "$DIRECT/history")
[ "$c" = 403 ] || fail "straight from 127.0.0.1 with the header: $c, want 403"
grep -q 'web_proxy' "$T/body" || fail "the refusal does not say why: $(cat "$T/body")"
c=$(code "$DIRECT/history")
[ "$c" = 403 ] || fail "straight from 127.0.0.1 without the header: $c, want 403"
c=$(code --interface "$PROXY" "$DIRECT/history")
[ "$c" = 403 ] || fail "from the proxy's address without the user header: $c, want 403"
c=$(code --interface "$PROXY" -H 'X-Remote-User: bob@@example.org' "$DIRECT/history")
[ "$c" = 403 ] || fail "a user header that names no user: $c, want 403"
c=$(code --interface "$PROXY" -H 'X-Remote-User: bob@example.org' "$DIRECT/history")
[ "$c" = 200 ] || fail "from the proxy's address with the header: $c, want 200"
c=$(code "$VIA/history")
[ "$c" = 401 ] || fail "through the proxy without logging in: $c, want 401"
c=$(code -u bob:wrong "$VIA/history")
[ "$c" = 401 ] || fail "through the proxy with a wrong password: $c, want 401"
# a header of the client's own never reaches the service
c=$(code -u bob:bob-pw -H 'X-Remote-User: admin@example.org' "$VIA/domains")
[ "$c" = 403 ] || fail "bob claiming to be admin through the proxy: $c, want 403"
echo "refused: another address (header or not), no user header, a bad user, no login, a forged header"

BOB_TOK=$(token bob@example.org)
EVE_TOK=$(token eve@example.org)
[ ${#BOB_TOK} -eq 64 ] && [ ${#EVE_TOK} -eq 64 ] && [ "$BOB_TOK" != "$EVE_TOK" ] ||
	fail "tokens: '$BOB_TOK' '$EVE_TOK'"
HAM_ROW=$(q "SELECT id FROM edgespam_history WHERE uid = $BOB AND subject LIKE 'meeting notes%'")
before=$(es stats bob@example.org | tail -n 1)
c=$(code -u bob:bob-pw -d "id=$HAM_ROW&as=spam" "$VIA/correct")
[ "$c" = 403 ] || fail "a correction without the CSRF token: $c, want 403"
c=$(code -u bob:bob-pw -d "csrf=$EVE_TOK&id=$HAM_ROW&as=spam" "$VIA/correct")
[ "$c" = 403 ] || fail "a correction with eve's CSRF token: $c, want 403"
case $BOB_TOK in *0) BAD_TOK=${BOB_TOK%?}1 ;; *) BAD_TOK=${BOB_TOK%?}0 ;; esac
c=$(code -u bob:bob-pw -d "csrf=$BAD_TOK&id=$HAM_ROW&as=spam" "$VIA/correct")
[ "$c" = 403 ] || fail "a correction with a changed CSRF token: $c, want 403"
c=$(code -u bob:bob-pw -H 'Content-Type: text/plain' --data-binary "csrf=$BOB_TOK&id=$HAM_ROW&as=spam" "$VIA/correct")
[ "$c" = 415 ] || fail "a form that is not urlencoded: $c, want 415"
c=$(code -u bob:bob-pw "$VIA/correct?csrf=$BOB_TOK&id=$HAM_ROW&as=spam")
[ "$c" = 405 ] || fail "a correction by GET: $c, want 405"
c=$(code -u bob:bob-pw -d "csrf=$BOB_TOK&domain=example.org&policy=on" "$VIA/domains")
[ "$c" = 403 ] || fail "a domain policy set by a user: $c, want 403"
eve_before=$(es stats eve@example.org | tail -n 1)
c=$(code -u bob:bob-pw -d "csrf=$BOB_TOK&id=$EVE_ROW&as=spam" "$VIA/correct")
[ "$c" = 404 ] || fail "bob correcting eve's row $EVE_ROW: $c, want 404"
[ "$(es stats eve@example.org | tail -n 1)" = "$eve_before" ] ||
	fail "eve's totals changed: $(es stats eve@example.org)"
[ "$(q "SELECT correction FROM edgespam_history WHERE id = $EVE_ROW")" = "" ] ||
	fail "eve's row was marked corrected"
[ "$(es stats bob@example.org | tail -n 1)" = "$before" ] ||
	fail "a refused request changed bob's totals: $before -> $(es stats bob@example.org | tail -n 1)"
q "SELECT count(*) FROM edgespam_sender_list" | grep -qx 0 || fail "sender lists changed"
grep -q 'missing or wrong CSRF token' "$T/web.log" || fail "refusals not logged: $(cat "$T/web.log")"
echo "refused: no CSRF token, eve's token, a changed token, not urlencoded, GET, a user on an admin page, eve's row (her totals unchanged)"

# ---- the browser ---------------------------------------------------------------
fn_before=$(echo "$before" | awk '{print $7}')
"$PY" tests/tools/web_browse.py "$VIA/" "$B" "$T" > "$T/browser.log" 2>&1 ||
	fail "browser: $(cat "$T/browser.log"); web: $(tail -n 20 "$T/web.log"); proxy: $(tail -n 5 "$T/proxy.log"); chromium: $(tail -n 5 "$T/chromium.log" 2>/dev/null)"
sed 's/^/    /' "$T/browser.log"
after=$(es stats bob@example.org | tail -n 1)
fn_after=$(echo "$after" | awk '{print $7}')
[ "$fn_after" -eq $((fn_before + 1)) ] ||
	fail "edgespam stats: FN $fn_before -> $fn_after after the click, want one more ($before -> $after)"
[ "$(q "SELECT correction FROM edgespam_history WHERE id = $HAM_ROW")" = spam ] ||
	fail "the row is not marked corrected in the store"
out=$(es user list bob@example.org)
out_has '^allow friend@example.com$' "the list the browser added"
out_has '^block @spam.example$' "the list the browser added"
out_lacks 'gone@example.net' "the entry the browser removed"
out=$(es user bob@example.org show)
out_has '^optIn  *= on ' "the opt-in the browser stored"
for s in history lists stats; do
	[ -s "$B/web-$s.png" ] || fail "no screenshot $B/web-$s.png"
done
echo "edgespam stats bob@example.org: $before -> $after"
echo "screenshots: $B/web-history.png $B/web-lists.png $B/web-stats.png $B/web-domains.png"

# ---- a second correction of the same message, and the Unix socket -------------
c=$(code -u bob:bob-pw -d "csrf=$BOB_TOK&id=$HAM_ROW&as=innocent" "$VIA/correct")
[ "$c" = 303 ] && grep -q . "$T/body" || fail "a second correction: $c"
[ "$(es stats bob@example.org | tail -n 1)" = "$after" ] ||
	fail "a used signature corrected again: $(es stats bob@example.org | tail -n 1)"

kill "$WPID" && wait "$WPID" 2>/dev/null
WPID=""
conf_set "$T/es.conf" "web_listen = unix:$T/web.sock" "web_socket_mode = 0600"
"$WEB" -f -c "$T/es.conf" > "$T/web2.log" 2>&1 &
UPID=$!
n=0
while [ ! -S "$T/web.sock" ]; do
	n=$((n + 1))
	[ $n -gt 100 ] && fail "no Unix socket: $(cat "$T/web2.log")"
	sleep 0.1
done
[ "$(stat -c %a "$T/web.sock")" = 600 ] || fail "socket mode $(stat -c %a "$T/web.sock")"
c=$(code --unix-socket "$T/web.sock" -H 'X-Remote-User: bob@example.org' http://localhost/history)
[ "$c" = 200 ] || fail "over the Unix socket: $c, want 200"
grep -q 'corrected: spam' "$T/body" || fail "over the Unix socket: not bob's history"
c=$(code --unix-socket "$T/web.sock" http://localhost/history)
[ "$c" = 403 ] || fail "over the Unix socket without the header: $c, want 403"
echo "Unix socket: the peer is the proxy; still no user without the header"

# ---- the plots come from the daily counts, which outlive the history rows ------
q "DELETE FROM edgespam_history WHERE uid = $BOB"
d20=$(( $(date +%s) / 86400 - 20 ))
q "INSERT INTO edgespam_daily (uid, day, spam, false_positives) VALUES ($BOB, $d20, 4, 1)"
c=$(code --unix-socket "$T/web.sock" -H 'X-Remote-User: bob@example.org' http://localhost/stats)
[ "$c" = 200 ] || fail "the statistics page: $c"
bar() { grep -q "fill=\"$1\"><title>$2: $3</title>" "$T/body" || fail "no bar $1 $2: $3 in the plot: $(grep -o '<title>[^<]*</title>' "$T/body" | tr '\n' ' ')"; }
bar '#e67e22' "$(date -u +%m-%d)" 1   # today's missed spam, its history row gone
bar '#c0392b' "$(date -u +%m-%d)" 1   # today's spam verdict
bar '#c0392b' "$(date -u -d "@$((d20 * 86400))" +%m-%d)" 4
bar '#8e44ad' "$(date -u -d "@$((d20 * 86400))" +%m-%d)" 1
echo "statistics: plotted from the daily counts (no history rows left; a day 20 days back)"
pass
