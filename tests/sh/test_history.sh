#!/bin/sh
# test_history.sh - the history of filtered messages on a SQLite store,
# through the real milter (driven by miltc) and `edgespam history`:
# the scenario of tests/sh/lib_history.sh (rows per milter verdict,
# hostile text, corrections, filters, reject and sender lists,
# history = no, purge by purge_history_days, usage).
set -u
. tests/sh/lib.sh
. tests/sh/lib_history.sh

milter_programs
command -v sqlite3 >/dev/null 2>&1 || skip "SKIP: sqlite3 is not installed"
command -v python3 >/dev/null 2>&1 || skip "SKIP: python3 is not installed (it reads the JSON)"
milter_workdir history

milter_conf "$T/es.conf" "$T/m.sock" "store_path = $T/es.db" \
    "store_busy_timeout_ms = 500" "default_policy = opt-in" \
    "message_timeout_ms = 2000"
q() { sqlite3 -cmd '.timeout 5000' "$T/es.db" "$1" || fail "sqlite3: $1"; }
hist_scenario
pass
