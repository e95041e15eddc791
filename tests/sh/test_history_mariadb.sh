#!/bin/sh
# test_history_mariadb.sh - the history scenario of
# tests/sh/lib_history.sh (rows per milter verdict, hostile text,
# corrections, filters, history = no, purge by purge_history_days) on a
# private MariaDB server (tests/sh/lib_mariadb.sh).
set -u
. tests/sh/lib.sh
. tests/sh/lib_mariadb.sh
. tests/sh/lib_history.sh

milter_programs
command -v python3 >/dev/null 2>&1 || skip "SKIP: python3 is not installed (it reads the JSON)"
mdb_require
T=$(mktemp -d "${TMPDIR:-/tmp}/edgespam-history-mdb.XXXXXX")
MPID=""
cleanup() {
	[ -n "$MPID" ] && kill "$MPID" 2>/dev/null && wait "$MPID" 2>/dev/null
	[ -d "$T/mdb" ] && mdb_stop "$T/mdb"
	rm -rf "$T"
}
trap cleanup EXIT
trap 'exit 1' INT TERM
mkdir -p "$T/mdb"
mdb_start "$T/mdb" || fail "the private MariaDB server did not start"

milter_conf "$T/es.conf" "$T/m.sock" "store_busy_timeout_ms = 2000" \
    "default_policy = opt-in" "message_timeout_ms = 5000"
mdb_store_conf "$T/es.conf"
q() { mdb_sql "$T/mdb" "$1" || fail "mariadb: $1"; }
hist_scenario
pass
