# lib.sh - helpers for the shell tests (sourced).
fail() { echo "FAIL: $*"; exit 1; }
skip() { echo "$*"; exit 77; }
pass() { echo "ok"; exit 0; }
# expect_rc WANT GOT WHAT
expect_rc() { [ "$2" -eq "$1" ] || fail "$3: exit $2, want $1"; }
