# lib_galera.sh - a private MariaDB Galera cluster on loopback for the
# tests (sourced, after lib.sh and lib_mariadb.sh, whose helpers it uses
# on each node's directory).
#
#   gal_require        exit 77 (SKIP) unless root, MariaDB and the Galera
#                      provider (galera-4) and rsync (the state transfer)
#                      are there; tests/tools/deps.sh installs what is
#                      missing first.
#   gal_start DIR [N]  a cluster of N nodes (default 3) under DIR: node K
#                      in DIR/nK (datadir DIR/nK/data, socket
#                      DIR/nK/mdb.sock, SQL port in DIR/nK/port). Node 1
#                      starts a new cluster (--wsrep-new-cluster), the
#                      others join it by a state transfer (rsync); it
#                      returns when every node is Synced, after creating
#                      database dspam and the least-privilege user
#                      edgespam as mdb_start does (password in
#                      DIR/mysql.password). Exports GAL_DIR, GAL_N,
#                      GAL_PWFILE. Non-zero, with the error logs printed,
#                      when a node does not come up.
#   gal_node_start DIR K  (re)start node K, which joins the running
#                      cluster (IST from a donor's cache, else SST), and
#                      wait until it is Synced. After a crash the node's
#                      position is recovered first (--wsrep-recover).
#   gal_node_kill9 DIR K  SIGKILL node K (crash tests).
#   gal_wait_size DIR K N  wait until node K is in a primary component of
#                      N nodes (the others noticed a killed node).
#   gal_stop DIR       SIGTERM every node, highest first, each only by
#                      the pid this library started (mdb_stop).
#   gal_sql DIR K SQL  SQL as root on node K (database dspam), after the
#                      node has applied everything committed anywhere
#                      before it (wsrep_sync_wait = 1).
#   gal_status DIR K VAR  a wsrep status variable of node K.
#   gal_store_conf FILE DIR K  point an edgespam configuration at node K
#                      over TCP, as user edgespam.
#
# Ports: four a node (SQL, group communication, IST, SST), free loopback
# ports picked at start (mdb_free_port) and kept in DIR/ports, so that a
# restarted node finds the others again. The servers run as the mysql
# user (GAL_OS_USER): the rsync state transfer starts an rsync daemon,
# which as root would serve the files as nobody and fail on a private
# datadir. Timeouts are generous (GAL_START_TIMEOUT, default 180 s a
# node): on two busy cores a joiner's state transfer takes a while.

GAL_PROVIDER=${GAL_PROVIDER:-/usr/lib/galera/libgalera_smm.so}
GAL_OS_USER=${GAL_OS_USER:-mysql}

# gal_require - SKIP unless a cluster can be run here
gal_require() {
	mdb_require
	if [ ! -f "$GAL_PROVIDER" ] || ! command -v rsync >/dev/null 2>&1; then
		sh tests/tools/deps.sh galera-4 rsync >&2 || true
	fi
	[ -f "$GAL_PROVIDER" ] || skip "SKIP: the Galera provider $GAL_PROVIDER is not installed (deps.sh galera-4 failed)"
	command -v rsync >/dev/null 2>&1 || skip "SKIP: rsync is not installed (the state transfer needs it)"
	command -v wsrep_sst_rsync >/dev/null 2>&1 || skip "SKIP: wsrep_sst_rsync is not installed (mariadb-server)"
	id -u "$GAL_OS_USER" >/dev/null 2>&1 || skip "SKIP: no user $GAL_OS_USER to run mariadbd as"
}

# gal_ports DIR N - pick 4*N distinct free ports into DIR/ports
gal_ports() {
	: > "$1/ports"
	_k=0
	while [ $_k -lt $(($2 * 4)) ]; do
		_p=$(mdb_free_port)
		grep -qx "$_p" "$1/ports" && continue
		echo "$_p" >> "$1/ports"
		_k=$((_k + 1))
	done
}

# gal_port DIR K WHICH - port WHICH (1 SQL, 2 gcomm, 3 IST, 4 SST) of node K
gal_port() { sed -n "$((($2 - 1) * 4 + $3))p" "$1/ports"; }

# gal_status DIR K VAR - see above
gal_status() {
	mdb_root "$1/n$2" -e "SHOW GLOBAL STATUS LIKE '$3'" 2>/dev/null | cut -f2
}

# gal_wait_synced DIR K - wait until node K answers and is Synced in a
# primary component; 1 when its server died or the time ran out
gal_wait_synced() {
	_n=0
	while :; do
		if [ "$(gal_status "$1" "$2" wsrep_local_state_comment)" = Synced ] &&
			[ "$(gal_status "$1" "$2" wsrep_cluster_status)" = Primary ] &&
			[ "$(gal_status "$1" "$2" wsrep_ready)" = ON ]; then
			return 0
		fi
		mdb_alive "$1/n$2" || { echo "gal: node $2 exited" >&2; return 1; }
		_n=$((_n + 1))
		[ $_n -gt $((${GAL_START_TIMEOUT:-180} * 5)) ] &&
			{ echo "gal: node $2 not Synced after ${GAL_START_TIMEOUT:-180} s" >&2; return 1; }
		sleep 0.2
	done
}

# gal_wait_size DIR K N - wait until node K is in a primary component
# of N nodes (after a kill: until the others have noticed); 1 on timeout
gal_wait_size() {
	_n=0
	until [ "$(gal_status "$1" "$2" wsrep_cluster_size)" = "$3" ] &&
		[ "$(gal_status "$1" "$2" wsrep_cluster_status)" = Primary ]; do
		_n=$((_n + 1))
		[ $_n -gt 300 ] && { echo "gal: node $2 does not see $3 nodes after 60 s" >&2; return 1; }
		sleep 0.2
	done
}

# gal_launch DIR K [OPTION...] - start node K's mariadbd in the background
gal_launch() {
	_d=$1/n$2
	_k=$2
	shift 2
	_peers=""
	_i=1
	while [ $_i -le "$GAL_N" ]; do
		_peers="$_peers${_peers:+,}127.0.0.1:$(gal_port "$GAL_DIR" $_i 2)"
		_i=$((_i + 1))
	done
	_g=$(gal_port "$GAL_DIR" "$_k" 2)
	echo "--- start $(date '+%T') $*" >> "$_d/error.log"
	chown "$GAL_OS_USER" "$_d/error.log"
	"$MDB_BIN" --no-defaults --user="$GAL_OS_USER" --datadir="$_d/data" \
		--socket="$_d/mdb.sock" --port="$(gal_port "$GAL_DIR" "$_k" 1)" \
		--bind-address=127.0.0.1 --pid-file="$_d/mdb.pid" \
		--log-error="$_d/error.log" --skip-name-resolve \
		--max-connections=300 --innodb-buffer-pool-size=48M \
		--innodb-log-file-size=32M --binlog-format=ROW \
		--innodb-autoinc-lock-mode=2 --default-storage-engine=InnoDB \
		--wsrep-on=ON --wsrep-provider="$GAL_PROVIDER" \
		--wsrep-cluster-name="edgespam-test-$$" \
		--wsrep-cluster-address="gcomm://$_peers" \
		--wsrep-node-name="n$_k" --wsrep-node-address="127.0.0.1:$_g" \
		--wsrep-node-incoming-address="127.0.0.1:$(gal_port "$GAL_DIR" "$_k" 1)" \
		--wsrep-provider-options="gmcast.listen_addr=tcp://127.0.0.1:$_g;ist.recv_addr=127.0.0.1:$(gal_port "$GAL_DIR" "$_k" 3);gcache.size=64M" \
		--wsrep-sst-method=rsync \
		--wsrep-sst-receive-address="127.0.0.1:$(gal_port "$GAL_DIR" "$_k" 4)" \
		"$@" </dev/null >>"$_d/error.log" 2>&1 &
	echo $! > "$_d/mdb.pid.ours"
	# until the shell's child has become mariadbd, mdb_alive says no
	_n=0
	while ! mdb_alive "$_d" && [ $_n -lt 50 ]; do _n=$((_n + 1)); sleep 0.1; done
}

# gal_logs DIR - the end of every node's error log, to stderr
gal_logs() {
	for _l in "$1"/n*/error.log; do
		echo "=== $_l" >&2
		grep -v '^\s*$' "$_l" | tail -n 25 >&2
	done
}

# gal_recover DIR K - the position of node K's data after a crash
# (mariadbd --wsrep-recover, as a packaged galera_recovery does before a
# start), so that the node asks for the missing write sets only (IST)
# instead of a whole copy (SST); empty when not found
gal_recover() {
	_d=$1/n$2
	grep -q '^seqno: *-1' "$_d/data/grastate.dat" 2>/dev/null || return 0
	: > "$_d/recover.log"
	chown "$GAL_OS_USER" "$_d/recover.log"
	"$MDB_BIN" --no-defaults --user="$GAL_OS_USER" --datadir="$_d/data" \
		--log-error="$_d/recover.log" --innodb-buffer-pool-size=48M \
		--innodb-log-file-size=32M --binlog-format=ROW \
		--wsrep-on=ON --wsrep-provider="$GAL_PROVIDER" \
		--wsrep-cluster-address="gcomm://127.0.0.1:$(gal_port "$1" 1 2)" \
		--wsrep-recover </dev/null >>"$_d/recover.log" 2>&1
	# the line may run into the next one's date: "...:132026-12-06 ..."
	_re='Recovered position: *\([0-9a-f-]\{36\}:-\{0,1\}[0-9]*\)'
	sed -n -e "s/.*$_re[0-9]\{4\}-[0-9][0-9]-[0-9][0-9] .*/\1/p;t" \
		-e "s/.*$_re.*/\1/p" "$_d/recover.log" | tail -n 1
}

# gal_node_start DIR K - see above
gal_node_start() {
	mdb_alive "$1/n$2" && { echo "gal: node $2 is already running" >&2; return 1; }
	_pos=$(gal_recover "$1" "$2")
	if [ -n "$_pos" ]; then
		gal_launch "$1" "$2" --wsrep-start-position="$_pos"
	else
		gal_launch "$1" "$2"
	fi
	gal_wait_synced "$1" "$2" || { gal_logs "$1"; return 1; }
}

# gal_node_kill9 DIR K - see above
gal_node_kill9() { mdb_kill9 "$1/n$2"; }

# gal_start DIR [N] - see above
gal_start() {
	gal_require
	mkdir -p "$1" && GAL_DIR=$(cd "$1" && pwd) || return 1
	GAL_N=${2:-3}
	GAL_PWFILE=$GAL_DIR/mysql.password
	export GAL_DIR GAL_N GAL_PWFILE
	# the servers run as $GAL_OS_USER: they must reach their directories
	chmod 0711 "$GAL_DIR"
	runuser -u "$GAL_OS_USER" -- test -x "$GAL_DIR" ||
		{ echo "gal: $GAL_OS_USER cannot reach $GAL_DIR (a parent directory is private)" >&2; return 1; }
	gal_ports "$GAL_DIR" "$GAL_N"
	_k=1
	while [ $_k -le "$GAL_N" ]; do
		_d=$GAL_DIR/n$_k
		mkdir -p "$_d/data" && chown "$GAL_OS_USER" "$_d" "$_d/data" &&
			: > "$_d/error.log" || return 1
		_k=$((_k + 1))
	done
	# only the first node is installed: a joiner's empty datadir is
	# filled by the state transfer (rsync runs before InnoDB starts)
	_d=$GAL_DIR/n1
	mariadb-install-db --no-defaults --user="$GAL_OS_USER" --datadir="$_d/data" \
		--auth-root-authentication-method=socket --skip-test-db \
		--skip-name-resolve > "$_d/install.log" 2>&1 ||
		{ cat "$_d/install.log" >&2; echo "gal: mariadb-install-db failed" >&2; return 1; }
	gal_launch "$GAL_DIR" 1 --wsrep-new-cluster
	gal_wait_synced "$GAL_DIR" 1 || { gal_logs "$GAL_DIR"; return 1; }
	# one joiner at a time: two state transfers from one donor at once
	# are slower on two cores than in turn
	_k=2
	while [ $_k -le "$GAL_N" ]; do
		gal_node_start "$GAL_DIR" $_k || return 1
		_k=$((_k + 1))
	done
	[ "$(gal_status "$GAL_DIR" 1 wsrep_cluster_size)" = "$GAL_N" ] ||
		{ echo "gal: cluster size $(gal_status "$GAL_DIR" 1 wsrep_cluster_size), want $GAL_N" >&2; return 1; }
	(umask 077 && od -An -N16 -tx1 /dev/urandom | tr -d ' \n' > "$GAL_PWFILE") || return 1
	_pw=$(cat "$GAL_PWFILE")
	_grant="SELECT, INSERT, UPDATE, DELETE, CREATE, ALTER, INDEX"
	# CREATE USER and GRANT are replicated to every node
	mdb_root "$GAL_DIR/n1" -e "CREATE DATABASE dspam;
		CREATE USER 'edgespam'@'localhost' IDENTIFIED BY '$_pw';
		CREATE USER 'edgespam'@'127.0.0.1' IDENTIFIED BY '$_pw';
		GRANT $_grant ON dspam.* TO 'edgespam'@'localhost';
		GRANT $_grant ON dspam.* TO 'edgespam'@'127.0.0.1';" ||
		{ echo "gal: creating database dspam and user edgespam failed" >&2; return 1; }
}

# gal_stop DIR - see above
gal_stop() {
	[ -s "$1/ports" ] || return 0
	_k=$(($(wc -l < "$1/ports") / 4))
	while [ $_k -ge 1 ]; do
		mdb_stop "$1/n$_k"
		_k=$((_k - 1))
	done
}

# gal_sql DIR K SQL - see above
gal_sql() {
	mdb_root "$1/n$2" -D dspam -e "SET SESSION wsrep_sync_wait = 1; $3"
}

# gal_store_conf FILE DIR K - see above
gal_store_conf() {
	conf_set "$1" "store_driver = mysql" "mysql_socket = \"\"" \
		"mysql_host = 127.0.0.1" "mysql_port = $(gal_port "$2" "$3" 1)" \
		"mysql_database = dspam" "mysql_user = edgespam" \
		"mysql_password_file = $2/mysql.password"
}
