#!/bin/sh
# golden.sh TOKDUMP [regen] - compare (or with regen, rewrite) the token
# dumps of tests/data/golden/*.eml for every tokenizer against the
# .TOKENIZER.tok files beside them. Regenerated files must be reviewed:
# a changed id of a DSPAM tokenizer breaks existing databases.
set -eu
tokdump=$1
mode=${2:-check}
fail=0
for eml in tests/data/golden/*.eml; do
	for t in word chain osb edgespam; do
		want=${eml%.eml}.$t.tok
		if [ "$mode" = regen ]; then
			"$tokdump" -t $t "$eml" > "$want"
			continue
		fi
		if ! "$tokdump" -t $t "$eml" | cmp -s - "$want"; then
			echo "golden: $eml ($t) differs:"
			"$tokdump" -t $t "$eml" | diff "$want" - | head -20
			fail=1
		fi
	done
done
exit $fail
