#!/bin/sh
# run.sh - build the libFuzzer target over parsing and tokenizing with
# clang (ASan + UBSan) and run it for FUZZ_SECONDS (60) from the seed
# corpus in tests/fuzz/seeds. A finding fails the run; its input is left
# in build-fuzz/ (crash-*, leak-*, ...) to reproduce with
#   build-fuzz/fuzz_msg build-fuzz/crash-...
set -eu
SECS=${FUZZ_SECONDS:-60}
B=build-fuzz
SAN="-fsanitize=address,undefined -fno-sanitize-recover=all"
make -s BUILD=$B CC=clang OPT="-O1 -g -fno-omit-frame-pointer" \
	SANITIZE="-fsanitize=fuzzer-no-link $SAN" $B/libclassifier.a
clang -std=c11 -D_GNU_SOURCE -g -O1 -Iclassifier $(pkg-config --cflags libbsd-overlay) -fsanitize=fuzzer $SAN \
	-o $B/fuzz_msg tests/fuzz/fuzz_msg.c $B/libclassifier.a -lbsd -lm
rm -rf $B/corpus && mkdir -p $B/corpus
cp tests/fuzz/seeds/* $B/corpus/ 2>/dev/null || true
cd $B
./fuzz_msg -max_total_time="$SECS" -max_len=65536 -timeout=10 \
	-rss_limit_mb=2048 -print_final_stats=1 corpus > fuzz.log 2>&1 || {
	tail -40 fuzz.log
	echo "fuzz: FAILED (log: $B/fuzz.log)"
	exit 1
}
grep -E '^stat::number_of_executed_units|^stat::peak_rss_mb' fuzz.log || true
echo "fuzz: ${SECS}s without findings"
