# lib.sh - helpers for the shell tests (sourced).
fail() { echo "FAIL: $*"; exit 1; }
skip() { echo "$*"; exit 77; }
pass() { echo "ok"; exit 0; }
# out_has PATTERN MSG, out_lacks PATTERN MSG - $out has (lacks) a line
# matching PATTERN (grep's basic regular expression), or fail with MSG
out_has() { echo "$out" | grep -q -e "$1" || fail "$2: $out"; }
out_lacks() { echo "$out" | grep -q -e "$1" && fail "$2: $out"; return 0; }
# expect_rc WANT GOT WHAT
expect_rc() { [ "$2" -eq "$1" ] || fail "$3: exit $2, want $1"; }

# ham N / spam N: test messages with distinct vocabularies.
ham() {
	printf 'From: alice%s@example.org\nTo: bob@example.net\nSubject: meeting notes %s\nMessage-ID: <h%s@example.org>\n\n' "$1" "$1" "$1"
	printf 'Hello Bob,\nthe quarterly planning meeting moved to Thursday afternoon.\n'
	printf 'Please review the budget spreadsheet and the project timeline before then.\n'
	printf 'Regards, Alice (item %s)\n' "$1"
}
spam() {
	printf 'From: promo%s@cheap-pills.biz\nTo: bob@example.net\nSubject: CHEAP viagra pills discount %s\nMessage-ID: <s%s@cheap-pills.biz>\n\n' "$1" "$1" "$1"
	printf 'Buy cheap viagra and cialis pills now! Huge discount offer, limited time.\n'
	printf 'Click here http://cheap-pills.biz/order?id=%s to claim your free bonus casino credits.\n' "$1"
}

# train_pair CMD USER N - teach USER ham 1..N and spam 1..N through CMD
# (a command taking edgespam's arguments)
train_pair() {
	_i=1
	while [ $_i -le "$3" ]; do
		ham $_i | $1 --user "$2" --class=innocent --source=corpus || fail "train ham $_i"
		spam $_i | $1 --user "$2" --class=spam --source=corpus || fail "train spam $_i"
		_i=$((_i + 1))
	done
}

# conf_set FILE ["key = value"...] - set each key in a configuration
# file, replacing an earlier line of that key
conf_set() {
	_f=$1
	shift
	for _line in "$@"; do
		sed -i "/^${_line%% *} = /d" "$_f"
		echo "$_line" >> "$_f"
	done
}

# wait_socket SOCK PID LOG - wait up to 10 s for the milter PID to make
# its socket SOCK; on failure print LOG to stderr and return 1
wait_socket() {
	_n=0
	while [ ! -S "$1" ]; do
		_n=$((_n + 1))
		if [ $_n -gt 100 ] || ! kill -0 "$2" 2>/dev/null; then
			cat "$3" >&2
			return 1
		fi
		sleep 0.1
	done
}

# milter_programs - MILTER, ES and MILTC of the build under test
# ($BUILD, default build; MILTC may name another client) and B, the build
# directory; the test is skipped when one of them is not built
milter_programs() {
	B=${BUILD:-build}
	MILTER=$B/edgespam-milter
	ES=$B/edgespam
	MILTC=${MILTC:-$B/tools/miltc}
	for _p in "$MILTER" "$ES" "$MILTC"; do
		[ -x "$_p" ] || skip "SKIP: $_p not built"
	done
}

# milter_conf FILE SOCK ["key = value"...] - the configuration of a
# private milter run by the tests: unix socket SOCK, no owner change, no
# user switch, no pid file, every recipient filtered, warnings only;
# then the keys given, which replace these
milter_conf() {
	_f=$1
	_s=$2
	shift 2
	cat > "$_f" <<EOC
milter_socket = unix:$_s
milter_socket_owner = ""
user = ""
pid_file = ""
retrain_socket = ""
default_policy = on
log_level = warning
EOC
	conf_set "$_f" "$@"
}

# milter_start CONF SOCK LOG - start $MILTER in the foreground with CONF,
# its output appended to LOG; sets MPID and waits for SOCK (the test
# fails when the socket never comes)
milter_start() {
	rm -f "$2"
	"$MILTER" -f -c "$1" >> "$3" 2>&1 &
	MPID=$!
	wait_socket "$2" "$MPID" "$3" || fail "milter did not start"
}

# make_corpus DIR TAG N - N ham and N spam messages (ham/spam TAGi) as
# DIR/hI.txt and DIR/sI.txt, for miltc -B
make_corpus() {
	mkdir -p "$1"
	_i=0
	while [ $_i -lt "$3" ]; do
		ham "$2$_i" > "$1/h$_i.txt"
		spam "$2$_i" > "$1/s$_i.txt"
		_i=$((_i + 1))
	done
}

# milter_workdir NAME - a private directory $T for a test that may start
# a milter (its pid in $MPID): both go when the test ends
milter_workdir() {
	T=$(mktemp -d "${TMPDIR:-/tmp}/edgespam-$1.XXXXXX")
	MPID=""
	trap milter_cleanup EXIT INT TERM
}
milter_cleanup() {
	[ -n "$MPID" ] && kill "$MPID" 2>/dev/null && wait "$MPID" 2>/dev/null
	rm -rf "$T"
}
