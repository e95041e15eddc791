#!/bin/sh
# test_golden.sh - tokenizer golden vectors: token texts and their ids
# for every tokenizer over tests/data/golden/*.eml.
set -u
. tests/sh/lib.sh
T=${BUILD:-build}/tools/tokdump
[ -x "$T" ] || fail "$T not built"
ls tests/data/golden/*.eml >/dev/null 2>&1 || fail "no golden messages"
sh tests/tools/golden.sh "$T" || fail "token dumps differ from the golden files"
pass
