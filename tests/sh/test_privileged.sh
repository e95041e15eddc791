#!/bin/sh
# test_privileged.sh - what root does to files before edgespam-milter
# drops to its user, and what edgespam (the CLI) does as root, when the
# milter's user has planted links (issue 13, item 3).
#
# The milter's user (the system user nobody here) owns the store
# directory and the run directory (pid file, socket). There it plants
# symbolic links to files root owns; hard links where a system with
# fs.protected_hardlinks = 0 would let it (the test makes those as
# root). Every case checks that the files behind the links keep their
# owner, mode and content, and that nothing outside the user's
# directories became the user's:
#   1. store -journal, -wal, -shm and the pid file are links: the milter
#      starts, drops root, names each store link; once they are removed
#      it classifies; the pid file is a new one and goes at the stop
#   2. the socket is a link and the pid file a hard link: the milter
#      starts anyway, its socket has the configured owner and mode
#   3. the store directory, or the pid directory, is a link the user
#      made: refused with an error that names it
#   4. a store file root owns: the milter names it and the chown to run
#   5. a second instance with the same pid file: refused, and the first
#      one's socket still answers
#   6. edgespam as root on a store in the user's directory, with a hard
#      link as -wal: it acts as the directory's owner, the file behind
#      the link is untouched, a store it makes there is the user's; a
#      store directory anyone may write is refused
# A check that fails is reported and the test goes on, so a run on an
# older tree shows every case that fails; the exit status is 1 then.
set -u
. tests/sh/lib.sh

milter_programs
[ "$(id -u)" -eq 0 ] || skip "SKIP: needs root (the milter starts as root and drops to a user)"
command -v setpriv >/dev/null || skip "SKIP: setpriv not installed"
U=${PRIV_USER:-nobody}
id "$U" >/dev/null 2>&1 || skip "SKIP: no user $U"
UU=$(id -u "$U")
UG=$(id -g "$U")
[ "$UU" -ne 0 ] || skip "SKIP: $U is root"
milter_workdir priv
chmod 755 "$T"

bad=0
problem() { echo "FAIL: $*"; bad=$((bad + 1)); }
as_u() { setpriv --reuid="$UU" --regid="$UG" --clear-groups "$@"; }
mc() { "$MILTC" -s "unix:$1" -t 20 -f a@example.com -r bob@example.org -m "$T/ham.eml"; }
ham 1 > "$T/ham.eml"
chmod 644 "$T/ham.eml"

# root's files, each with its own content, and a root directory
for f in journal wal shm pid sock db cliwal; do
	echo "root's $f file, not for $U" > "$T/secret.$f"
	chmod 600 "$T/secret.$f"
done
mkdir -m 700 "$T/rootdir" "$T/rootdir2"
echo "root's" > "$T/rootdir/keep"
# snap - owner, mode, links and checksum of root's files
snap() {
	for f in "$T"/secret.* "$T/rootdir" "$T/rootdir2" "$T/rootdir/keep"; do
		printf '%s %s %s\n' "$f" "$(stat -c '%u:%g %a' "$f")" \
		    "$( [ -d "$f" ] && ls -A "$f" | tr '\n' ' ' || cksum < "$f")"
	done
}
snap > "$T/snap0"
# roots_ok WHAT - root's files are as they were, and nothing outside
# the user's own directories became the user's (each change is reported
# once: what an earlier case broke is not counted again)
: > "$T/gone0"
roots_ok() {
	snap > "$T/snap1"
	if ! cmp -s "$T/snap0" "$T/snap1"; then
		problem "$1: root's files changed: $(diff "$T/snap0" "$T/snap1" | grep '^>' | tr '\n' ';')"
		mv "$T/snap1" "$T/snap0"
	fi
	find "$T" -user "$U" ! -path "$T/lib" ! -path "$T/lib/*" \
	    ! -path "$T/run" ! -path "$T/run/*" ! -path "$T/u" ! -path "$T/u/*" \
	    ! -path "$T/cli" ! -path "$T/cli/*" ! -path "$T/cli2" ! -path "$T/cli2/*" |
	    sort > "$T/gone1"
	_gone=$(comm -13 "$T/gone0" "$T/gone1" | tr '\n' ' ')
	[ -z "$_gone" ] || problem "$1: now the user's: $_gone"
	mv "$T/gone1" "$T/gone0"
}

# start CONF LOG - start the milter as root in the foreground; MPID, or
# "" with a problem reported when it exits or never makes its socket
start() {
	"$MILTER" -f -c "$1" >> "$2" 2>&1 &
	MPID=$!
	_n=0
	while [ ! -S "$T/run/m.sock" ]; do
		_n=$((_n + 1))
		if [ $_n -gt 100 ] || ! kill -0 "$MPID" 2>/dev/null; then
			problem "milter did not start: $(cat "$2")"
			kill "$MPID" 2>/dev/null
			wait "$MPID" 2>/dev/null
			MPID=""
			return 1
		fi
		sleep 0.1
	done
}
stop() {
	[ -n "$MPID" ] || return 0
	kill -TERM "$MPID"
	wait "$MPID"
	MPID=""
}
# conf FILE ["key = value"...] - the milter as root, dropping to $U
conf() {
	_f=$1
	shift
	milter_conf "$_f" "$T/run/m.sock" "store_path = $T/lib/es.db" \
	    "user = $U" "pid_file = $T/run/m.pid" "log_level = info" \
	    "store_busy_timeout_ms = 500" "$@"
}

mkdir -m 700 "$T/lib"
mkdir -m 755 "$T/run"
chown "$U:$UG" "$T/lib" "$T/run"
conf "$T/m.conf"
chmod 644 "$T/m.conf"
# the store exists, made by the user (as the milter makes it)
ham 2 | as_u "$ES" -c "$T/m.conf" --user "$U" --class=innocent --source=corpus ||
	fail "the user could not make the store"

# 1. links in place of the store's -journal, -wal, -shm and the pid file
for s in journal wal shm; do
	as_u ln -s "$T/secret.$s" "$T/lib/es.db-$s" || fail "plant es.db-$s"
done
as_u ln -s "$T/secret.pid" "$T/run/m.pid" || fail "plant m.pid"
: > "$T/m1.log"
if start "$T/m.conf" "$T/m1.log"; then
	roots_ok "1 (store and pid links)"
	grep -q "pid file $T/run/m.pid was a symbolic link: removed" "$T/m1.log" ||
		problem "1: the pid link was not reported removed: $(cat "$T/m1.log")"
	[ -f "$T/run/m.pid" ] && [ ! -L "$T/run/m.pid" ] &&
		[ "$(cat "$T/run/m.pid")" = "$MPID" ] ||
		problem "1: the pid file is not a new file with $MPID: $(ls -l "$T/run")"
	grep -q "^Uid:[[:space:]]*$UU[[:space:]]*$UU[[:space:]]*$UU[[:space:]]*$UU\$" "/proc/$MPID/status" ||
		problem "1: the milter does not run as $U: $(grep '^Uid' "/proc/$MPID/status")"
	grep -q "store: $T/lib/es.db-[a-z]* is a symbolic link (to $T/secret\.[a-z]*)" "$T/m1.log" ||
		problem "1: no log line names a store link: $(cat "$T/m1.log")"
	out=$(mc "$T/run/m.sock") || problem "1: miltc: $out"
	out_has '^eom continue' "1: message with the store down"
	# the admin removes what the log named; the next message is classified
	rm -f "$T/lib/es.db-journal" "$T/lib/es.db-wal" "$T/lib/es.db-shm"
	out=$(mc "$T/run/m.sock") || problem "1: miltc: $out"
	echo "$out" | grep -q '^mod addheader X-DSPAM-Result: ' ||
		problem "1: not classified once the links were gone: $out"
	[ -z "$(find "$T/lib" ! -user "$U")" ] ||
		problem "1: store files not the user's: $(ls -l "$T/lib")"
	stop
	[ -e "$T/run/m.pid" ] && problem "1: pid file left after the stop"
	roots_ok "1 (after the stop)"
fi
rm -f "$T/run/m.pid" "$T/run/m.sock" "$T/lib/es.db-journal" "$T/lib/es.db-wal" "$T/lib/es.db-shm"

# 2. the socket is a link, the pid file a hard link to a file of root's;
#    the socket gets owner and mode through its descriptor
as_u ln -s "$T/secret.sock" "$T/run/m.sock" || fail "plant m.sock"
ln "$T/secret.pid" "$T/run/m.pid" || fail "hard link m.pid"
conf "$T/m2.conf" "milter_socket_owner = $U" "milter_socket_mode = 0600"
: > "$T/m2.log"
if start "$T/m2.conf" "$T/m2.log"; then
	[ "$(stat -c '%u:%g %a' "$T/run/m.sock")" = "$UU:$UG 600" ] ||
		problem "2: socket is $(stat -c '%u:%g %a' "$T/run/m.sock"), want $UU:$UG 600"
	grep -q "milter_socket: $T/run/m.sock was a symbolic link: removed" "$T/m2.log" ||
		problem "2: the socket link was not reported removed: $(cat "$T/m2.log")"
	grep -q "pid file $T/run/m.pid was a hard link to another file: removed" "$T/m2.log" ||
		problem "2: the pid hard link was not reported removed: $(cat "$T/m2.log")"
	out=$(mc "$T/run/m.sock") || problem "2: miltc: $out"
	echo "$out" | grep -q '^mod addheader X-DSPAM-Result: ' ||
		problem "2: not classified: $out"
	roots_ok "2 (socket link, pid hard link)"
	stop
fi
roots_ok "2"
rm -f "$T/run/m.pid" "$T/run/m.sock"

# 3. the store directory, or the pid directory, is a link the user made
mkdir -m 755 "$T/u"
chown "$U:$UG" "$T/u"
as_u ln -s "$T/rootdir" "$T/u/lib" || fail "plant u/lib"
as_u ln -s "$T/rootdir2" "$T/u/run" || fail "plant u/run"
conf "$T/m3.conf" "store_path = $T/u/lib/es.db"
: > "$T/m3.log"
"$MILTER" -f -c "$T/m3.conf" >> "$T/m3.log" 2>&1 &
MPID=$!
sleep 1.5
if kill -0 "$MPID" 2>/dev/null; then
	problem "3: the milter runs with its store directory a link of the user's"
	stop
else
	wait "$MPID"
	rc=$?
	MPID=""
	[ $rc -ne 0 ] || problem "3: exit 0 with the store directory a link"
	grep -q "store_path: $T/u/lib: \"lib\" is a symbolic link in a directory that its owner $U (uid $UU) can change: refused" "$T/m3.log" ||
		problem "3: the refusal does not name the link: $(cat "$T/m3.log")"
fi
roots_ok "3 (store directory a link)"
conf "$T/m3b.conf" "pid_file = $T/u/run/m.pid"
: > "$T/m3b.log"
"$MILTER" -f -c "$T/m3b.conf" >> "$T/m3b.log" 2>&1 &
MPID=$!
sleep 1.5
if kill -0 "$MPID" 2>/dev/null; then
	problem "3: the milter runs with its pid directory a link of the user's"
	stop
else
	wait "$MPID"
	rc=$?
	MPID=""
	[ $rc -eq 69 ] || problem "3: pid directory a link: exit $rc, want 69: $(cat "$T/m3b.log")"
	grep -q "pid_file: $T/u/run: \"run\" is a symbolic link in a directory that its owner $U" "$T/m3b.log" ||
		problem "3: the pid directory refusal does not name the link: $(cat "$T/m3b.log")"
fi
roots_ok "3 (pid directory a link)"
rm -f "$T/run/m.pid" "$T/run/m.sock"

# 4. a store file of root's: named, with the chown that fixes it
mkdir -m 700 "$T/lib4"
chown "$U:$UG" "$T/lib4"
cp "$T/lib/es.db" "$T/lib4/es.db"
chmod 600 "$T/lib4/es.db"
conf "$T/m4.conf" "store_path = $T/lib4/es.db"
: > "$T/m4.log"
if start "$T/m4.conf" "$T/m4.log"; then
	grep -q "store: $T/lib4/es.db is owned by root (uid 0) with mode 0600 and the milter runs as $U (uid $UU): chown $U $T/lib4/es.db" "$T/m4.log" ||
		problem "4: a store file of root's is not named with its fix: $(cat "$T/m4.log")"
	[ "$(stat -c %u "$T/lib4/es.db")" -eq 0 ] ||
		problem "4: root's store file was given away"
	stop
fi
rm -rf "$T/lib4" "$T/run/m.pid" "$T/run/m.sock"

# 5. a second instance with the same pid file and socket: refused, and
#    the first one's socket still answers
: > "$T/m5.log"
if start "$T/m.conf" "$T/m5.log"; then
	first=$MPID
	"$MILTER" -f -c "$T/m.conf" > "$T/m5b.log" 2>&1
	rc=$?
	[ $rc -eq 69 ] || problem "5: second instance: exit $rc, want 69"
	grep -q "already running as pid $first" "$T/m5b.log" ||
		problem "5: second instance: $(cat "$T/m5b.log")"
	out=$(mc "$T/run/m.sock") ||
		problem "5: the first instance's socket no longer answers: $out"
	MPID=$first
	stop
fi
rm -f "$T/run/m.pid" "$T/run/m.sock"

# 6. edgespam as root on the user's store: a hard link as -wal
mkdir -m 700 "$T/cli"
chown "$U:$UG" "$T/cli"
printf 'store_path = %s/cli/es.db\nstore_busy_timeout_ms = 200\n' "$T" > "$T/cli.conf"
chmod 644 "$T/cli.conf"
ham 3 | as_u "$ES" -c "$T/cli.conf" --user "$U" --class=innocent --source=corpus ||
	fail "6: the user could not make its store"
ln "$T/secret.cliwal" "$T/cli/es.db-wal" || fail "hard link es.db-wal"
ham 4 | "$ES" -c "$T/cli.conf" --user bob@example.org --class=innocent --source=corpus > "$T/cli.out" 2>&1
roots_ok "6 (edgespam as root, -wal a hard link)"
rm -f "$T/cli/es.db-wal"
ham 5 | "$ES" -c "$T/cli.conf" --user bob@example.org --class=innocent --source=corpus > "$T/cli.out" 2>&1 ||
	problem "6: edgespam as root on the user's store: $(cat "$T/cli.out")"
[ -z "$(find "$T/cli" ! -user "$U")" ] ||
	problem "6: files root made in the user's store directory: $(ls -l "$T/cli")"
#    db init as root where the user owns the directory: the user's store
mkdir -m 700 "$T/cli2"
chown "$U:$UG" "$T/cli2"
printf 'store_path = %s/cli2/es.db\n' "$T" > "$T/cli2.conf"
"$ES" -c "$T/cli2.conf" db init > "$T/cli.out" 2>&1 || problem "6: db init: $(cat "$T/cli.out")"
[ "$(stat -c %u "$T/cli2/es.db" 2>/dev/null)" = "$UU" ] ||
	problem "6: db init as root made $(ls -l "$T/cli2"), not a store of $U's"
#    a store directory anyone may write: refused
mkdir -m 1777 "$T/open"
printf 'store_path = %s/open/es.db\n' "$T" > "$T/open.conf"
out=$("$ES" -c "$T/open.conf" db init 2>&1)
rc=$?
[ $rc -eq 77 ] || problem "6: a store in a directory anyone may write: exit $rc, want 77: $out"
[ -e "$T/open/es.db" ] && problem "6: root made a store where anyone may write"
roots_ok "6"

[ $bad -eq 0 ] || { echo "$bad check(s) failed"; exit 1; }
pass
