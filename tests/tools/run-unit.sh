#!/bin/sh
# run-unit.sh BUILD BIN... - run cmocka suites; fail if any fails.
set -u
build=$1; shift
fail=0
for t in "$@"; do
	echo "== $t"
	if ! "$t"; then
		echo "FAIL: $t"
		fail=1
	fi
done
[ $fail -eq 0 ] && echo "unit ($build): all suites passed"
exit $fail
