#!/bin/sh
# run-all.sh - the tests after the unit suites: shell tests of the real
# programs (tests/sh/test_*.sh) and the fuzz run. Each test prints PASS,
# FAIL or SKIP with a reason; a SKIP never counts as a pass.
set -u
cd "$(dirname "$0")/.."
fail=0; pass=0; skip=0
for t in tests/sh/test_*.sh; do
	[ -f "$t" ] || continue
	name=$(basename "$t" .sh)
	out=$(mktemp)
	sh "$t" >"$out" 2>&1
	rc=$?
	case $rc in
	0) pass=$((pass + 1)); echo "PASS $name" ;;
	77) skip=$((skip + 1)); echo "SKIP $name: $(tail -n 1 "$out")" ;;
	*) fail=$((fail + 1)); echo "FAIL $name (exit $rc)"; sed 's/^/    /' "$out" | tail -n 40 ;;
	esac
	rm -f "$out"
done
if [ -x tests/fuzz/run.sh ] || [ -f tests/fuzz/run.sh ]; then
	if sh tests/fuzz/run.sh; then pass=$((pass + 1)); echo "PASS fuzz"; else fail=$((fail + 1)); echo "FAIL fuzz"; fi
fi
echo "shell tests: $pass passed, $fail failed, $skip skipped"
[ $fail -eq 0 ]
