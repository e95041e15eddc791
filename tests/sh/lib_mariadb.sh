# lib_mariadb.sh - a private MariaDB server for the tests and benchmarks
# (sourced, after lib.sh).
#
#   mdb_start DIR   install a datadir under DIR (first time only) and
#                   start mariadbd on DIR/mdb.sock and a free loopback
#                   port; the first time also create database dspam and
#                   the least-privilege user edgespam (SELECT, INSERT,
#                   UPDATE, DELETE, CREATE, ALTER, INDEX on dspam.*;
#                   the purge lock is a row: no more) whose password is in
#                   DIR/mysql.password (mode 0600). Calling it again on
#                   the same DIR after mdb_stop or mdb_kill9 restarts the
#                   server on the same datadir, socket and port.
#                   Exports MDB_DIR, MDB_SOCK, MDB_PORT, MDB_PID,
#                   MDB_PWFILE, MDB_USER, MDB_DB. Returns non-zero (and
#                   prints the server's error log) when it cannot start.
#   mdb_stop DIR    SIGTERM to DIR's own server, wait, SIGKILL after
#                   MDB_STOP_TIMEOUT seconds (default 30). Only the pid
#                   this library started, and only while its command line
#                   names DIR: other mariadbd processes are never touched.
#   mdb_kill9 DIR   SIGKILL to DIR's server (crash tests), reaped.
#   mdb_sql DIR SQL run SQL as root through the socket, in database dspam
#                   once it exists; batch output without column names.
#   mdb_require     exit 77 (SKIP) unless root and the MariaDB programs
#                   exist (after tests/tools/deps.sh installs them).
#
# Settings: a small buffer pool (MDB_BUFFER_POOL, default 64M) and redo
# log (32M) for a fast start; durability stays MariaDB's default
# (innodb_flush_log_at_trx_commit = 1). MDB_OPTS adds mariadbd options
# (the benchmark gives a larger pool).

# mdb_require - SKIP unless we can run a private server
mdb_require() {
	[ "$(id -u)" -eq 0 ] || skip "SKIP: a private MariaDB server needs root (mariadbd --user=root; deps)"
	MDB_BIN=$(command -v mariadbd 2>/dev/null || echo /usr/sbin/mariadbd)
	if [ ! -x "$MDB_BIN" ] || ! command -v mariadb-install-db >/dev/null 2>&1 ||
		! command -v mariadb >/dev/null 2>&1; then
		sh tests/tools/deps.sh mariadb-server mariadb-client >&2 || true
		MDB_BIN=$(command -v mariadbd 2>/dev/null || echo /usr/sbin/mariadbd)
	fi
	[ -x "$MDB_BIN" ] || skip "SKIP: mariadbd is not installed (tests/tools/deps.sh mariadb-server failed)"
	command -v mariadb-install-db >/dev/null 2>&1 || skip "SKIP: mariadb-install-db is not installed"
	command -v mariadb >/dev/null 2>&1 || skip "SKIP: the mariadb client is not installed"
}

# mdb_free_port - a loopback TCP port nobody listens on (a race remains;
# mdb_start retries on another port when the bind fails)
mdb_free_port() {
	while :; do
		_p=$((20000 + $(od -An -N2 -tu2 /dev/urandom | tr -d ' ') % 40000))
		ss -Htln "sport = :$_p" 2>/dev/null | grep -q . || { echo "$_p"; return 0; }
	done
}

# mdb_root DIR ARGS... - the client as root on DIR's socket
mdb_root() {
	_d=$1
	shift
	mariadb --no-defaults -S "$_d/mdb.sock" -uroot -N -B "$@"
}

# mdb_sql DIR SQL - run SQL as root (in database dspam when it exists)
mdb_sql() {
	if [ -f "$1/dspam.created" ]; then
		mdb_root "$1" -D dspam -e "$2"
	else
		mdb_root "$1" -e "$2"
	fi
}

# mdb_alive DIR - DIR's server process still exists (and is not a zombie)
mdb_alive() {
	[ -s "$1/mdb.pid.ours" ] || return 1
	_pid=$(cat "$1/mdb.pid.ours")
	[ -r "/proc/$_pid/cmdline" ] || return 1
	tr '\0' ' ' < "/proc/$_pid/cmdline" | grep -qF -- "--datadir=$1/data" || return 1
	_st=$(sed -n 's/^State:[[:space:]]*\([A-Z]\).*/\1/p' "/proc/$_pid/status" 2>/dev/null)
	[ -n "$_st" ] && [ "$_st" != Z ]
}

# mdb_launch DIR PORT - start mariadbd in the background, wait until it
# answers; 0 ok, 1 failed (2 when the port was taken)
mdb_launch() {
	_d=$1
	: > "$_d/error.log"
	# shellcheck disable=SC2086
	"$MDB_BIN" --no-defaults --user=root --datadir="$_d/data" \
		--socket="$_d/mdb.sock" --port="$2" --bind-address=127.0.0.1 \
		--pid-file="$_d/mdb.pid" --log-error="$_d/error.log" \
		--skip-name-resolve --skip-log-bin --max-connections=500 \
		--innodb-buffer-pool-size="${MDB_BUFFER_POOL:-64M}" \
		--innodb-log-file-size=32M --innodb-log-buffer-size=8M \
		${MDB_OPTS:-} </dev/null >>"$_d/error.log" 2>&1 &
	echo $! > "$_d/mdb.pid.ours"
	_n=0
	while :; do
		if mdb_root "$_d" -e 'SELECT 1' >/dev/null 2>&1; then
			MDB_PID=$(cat "$_d/mdb.pid.ours")
			return 0
		fi
		if ! mdb_alive "$_d"; then
			grep -q 'Address already in use\|Do you already have another' "$_d/error.log" && return 2
			return 1
		fi
		_n=$((_n + 1))
		[ $_n -gt 600 ] && { mdb_stop "$_d"; return 1; }
		sleep 0.1
	done
}

# mdb_start DIR - see above
mdb_start() {
	mdb_require
	MDB_DIR=$(cd "$1" && pwd) || return 1
	_d=$MDB_DIR
	# a second mariadbd on the datadir would fail, yet the running one
	# would answer for it and be orphaned
	if mdb_alive "$_d"; then
		echo "mdb_start: the server of $_d is already running (pid $(cat "$_d/mdb.pid.ours"))" >&2
		return 1
	fi
	if [ ! -d "$_d/data/mysql" ]; then
		mariadb-install-db --no-defaults --user=root --datadir="$_d/data" \
			--auth-root-authentication-method=socket --skip-test-db \
			--skip-name-resolve > "$_d/install.log" 2>&1 ||
			{ cat "$_d/install.log"; echo "mdb_start: mariadb-install-db failed" >&2; return 1; }
	fi
	_tries=0
	while :; do
		if [ -s "$_d/port" ]; then _port=$(cat "$_d/port"); else _port=$(mdb_free_port); fi
		mdb_launch "$_d" "$_port"
		_rc=$?
		[ $_rc -eq 0 ] && break
		_tries=$((_tries + 1))
		if [ $_rc -eq 2 ] && [ ! -s "$_d/port" ] && [ $_tries -lt 5 ]; then
			continue
		fi
		cat "$_d/error.log" >&2
		echo "mdb_start: mariadbd did not start (see above)" >&2
		return 1
	done
	echo "$_port" > "$_d/port"
	MDB_SOCK=$_d/mdb.sock
	MDB_PORT=$_port
	MDB_PWFILE=$_d/mysql.password
	MDB_USER=edgespam
	MDB_DB=dspam
	export MDB_DIR MDB_SOCK MDB_PORT MDB_PID MDB_PWFILE MDB_USER MDB_DB
	[ -f "$_d/dspam.created" ] && return 0
	(umask 077 && od -An -N16 -tx1 /dev/urandom | tr -d ' \n' > "$MDB_PWFILE") || return 1
	chmod 0600 "$MDB_PWFILE"
	_pw=$(cat "$MDB_PWFILE")
	_grant="SELECT, INSERT, UPDATE, DELETE, CREATE, ALTER, INDEX"
	# localhost: the socket; 127.0.0.1: TCP (no name resolution)
	mdb_root "$_d" -e "CREATE DATABASE dspam;
		CREATE USER 'edgespam'@'localhost' IDENTIFIED BY '$_pw';
		CREATE USER 'edgespam'@'127.0.0.1' IDENTIFIED BY '$_pw';
		GRANT $_grant ON dspam.* TO 'edgespam'@'localhost';
		GRANT $_grant ON dspam.* TO 'edgespam'@'127.0.0.1';" ||
		{ echo "mdb_start: creating database dspam and user edgespam failed" >&2; return 1; }
	: > "$_d/dspam.created"
}

# mdb_stop DIR - see above
mdb_stop() {
	_d=$1
	mdb_alive "$_d" || { rm -f "$_d/mdb.pid.ours"; return 0; }
	_pid=$(cat "$_d/mdb.pid.ours")
	kill -TERM "$_pid" 2>/dev/null
	_n=0
	while mdb_alive "$_d"; do
		_n=$((_n + 1))
		if [ $_n -gt $((${MDB_STOP_TIMEOUT:-30} * 10)) ]; then
			echo "mdb_stop: mariadbd $_pid ignored SIGTERM; SIGKILL" >&2
			kill -KILL "$_pid" 2>/dev/null
			break
		fi
		sleep 0.1
	done
	wait "$_pid" 2>/dev/null
	rm -f "$_d/mdb.pid.ours"
	return 0
}

# mdb_kill9 DIR - see above
mdb_kill9() {
	_d=$1
	mdb_alive "$_d" || return 1
	_pid=$(cat "$_d/mdb.pid.ours")
	kill -KILL "$_pid"
	wait "$_pid" 2>/dev/null
	_n=0
	while mdb_alive "$_d" && [ $_n -lt 100 ]; do _n=$((_n + 1)); sleep 0.05; done
	rm -f "$_d/mdb.pid.ours"
}

# mdb_store_conf FILE - point the edgespam configuration FILE at the
# server mdb_start last started, as its least-privilege user
mdb_store_conf() {
	conf_set "$1" "store_driver = mysql" "mysql_socket = $MDB_SOCK" \
		"mysql_database = dspam" "mysql_user = edgespam" \
		"mysql_password_file = $MDB_PWFILE"
}
