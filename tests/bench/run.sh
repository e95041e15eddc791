#!/bin/sh
# run.sh - make bench: accuracy and speed of edgespam beside bogofilter
# on the public SpamAssassin corpus, online, in one fixed seeded order.
# Prints a table and writes it, with the raw figures, to
# $BUILD/bench/results.txt (BUILD defaults to build).
#   edgespam train over the corpus: tests/bench/train.sh;
#   SEED=42 (shuffle), CLI_MESSAGES=500 (process-per-message sample),
#   MILTER_MESSAGES (tests/bench/milter.sh), HISTORY_MESSAGES,
#   HISTORY_CONNECTIONS, HISTORY_ROUNDS (tests/bench/history.sh), POSTFIX_MESSAGES
#   (tests/bench/postfix.sh: root only, else skipped), MARIADB_ROWS,
#   MARIADB_WINDOW (tests/bench/mariadb.sh: root only, else skipped);
#   MAILDIR_MESSAGES, MAILDIR_COLD (tests/bench/maildir.sh);
#   the shared dictionary's part alone: sh tests/bench/shared.sh;
#   BENCH_RAW=FILE prints the table of an earlier raw.txt, measuring nothing;
#   over 14 orders: sh tests/bench/orders.sh (mature user), sh
#   tests/bench/shared-orders.sh (new user)
set -eu
BUILD=${BUILD:-build}
SEED=${SEED:-42}
CLI_MESSAGES=${CLI_MESSAGES:-500}
out=$BUILD/bench
mkdir -p "$out"
corpus=$(sh tests/bench/fetch-corpus.sh)
bogo=$(command -v bogofilter || true)
[ -n "$bogo" ] || { echo "bench: bogofilter is not installed (make deps)" >&2; exit 69; }
work=$(mktemp -d "${TMPDIR:-/tmp}/edgespam-bench.XXXXXX")
trap 'rm -rf "$work"' EXIT INT TERM

raw=$out/raw.txt
if [ -n "${BENCH_RAW:-}" ]; then
	# tabulate the figures of an earlier run again, measure nothing
	cp "$BENCH_RAW" "$raw.new" && mv "$raw.new" "$raw"
else
	: > "$raw"
	for mode in teft toe; do
		echo "bench: online $mode over $corpus (seed $SEED)" >&2
		extra=""
		[ "$mode" = teft ] && extra="-e $BUILD/edgespam -n $CLI_MESSAGES -S"
		# shellcheck disable=SC2086
		"$BUILD/tools/bench_accuracy" -d "$corpus" -s "$SEED" -m "$mode" \
			-w "$work" -b "$bogo" -o "$out/scores-$mode.txt" $extra |
			sed "s/^/$mode./" >> "$raw"
	done

	# edgespam train (dspam_train) over the corpus, beside the
	# in-process rate above.
	sh tests/bench/train.sh "$corpus" "$work" >> "$raw" || \
		echo "bench: train benchmark failed" >&2

	# The shared dictionary: a new user with and without it.
	sh tests/bench/shared.sh "$corpus" "$work" >> "$raw" || \
		echo "bench: shared dictionary benchmark failed" >&2

	# Milter benchmarks append their own figures when the milter exists.
	if [ -x "$BUILD/edgespam-milter" ] && [ -f tests/bench/milter.sh ]; then
		sh tests/bench/milter.sh "$corpus" "$work" >> "$raw" || \
			echo "bench: milter benchmark failed" >&2
	fi
	# What the history costs the milter: history = no against yes.
	if [ -x "$BUILD/edgespam-milter" ] && [ -f tests/bench/history.sh ]; then
		sh tests/bench/history.sh "$corpus" "$work" >> "$raw" || \
			echo "bench: history benchmark failed" >&2
	fi
	# The whole path through Postfix, with and without the milter (root only).
	if [ -x "$BUILD/edgespam-milter" ] && [ -f tests/bench/postfix.sh ]; then
		sh tests/bench/postfix.sh "$corpus" "$work" >> "$raw" || \
			echo "bench: postfix benchmark failed" >&2
	fi

	# maildir-retrain on a generated 100,000-message Maildir
	if [ -f tests/bench/maildir.sh ]; then
		sh tests/bench/maildir.sh "$work" >> "$raw" || \
			echo "bench: maildir-retrain benchmark failed" >&2
	fi

	# The milter on MariaDB, and the purge under load (needs root: a private
	# mariadbd; MARIADB_ROWS, MARIADB_WINDOW: see tests/bench/mariadb.sh).
	if [ -x "$BUILD/edgespam-milter" ] && [ -f tests/bench/mariadb.sh ]; then
		rc=0
		sh tests/bench/mariadb.sh "$corpus" "$work" >> "$raw" || rc=$?
		case $rc in
		0) ;;
		77) echo "bench: mariadb skipped (the reason is above)" >&2 ;;
		*) echo "bench: mariadb benchmark failed" >&2 ;;
		esac
	fi
fi

awk -v seed="$SEED" '
{ v[$1] = $2 }
END {
	printf "edgespam benchmark, SpamAssassin corpus (%d messages, %d ham, %d spam), online, seed %s\n\n",
		v["teft.edgespam.messages"], v["teft.edgespam.ham"], v["teft.edgespam.spam"], seed
	printf "%-5s %-10s %5s %5s %7s %7s %8s %7s %9s %9s %11s  %s\n",
		"mode", "filter", "FP", "FN", "FPR%", "FNR%", "1-ROCA%", "lam%", "msg/s", "peakRSS", "store",
		"least FN% at 0/1/2/4 FP (ranking)"
	n = split("teft toe", modes, " ")
	for (i = 1; i <= n; i++) {
		m = modes[i]
		split("edgespam bogofilter", fs, " ")
		for (j = 1; j <= 2; j++) {
			f = fs[j]; k = m "." f
			if (!((k ".fp") in v)) continue
			printf "%-5s %-10s %5d %5d %7.3f %7.3f %8.4f %7.3f %9.1f %7.1fMB %9.1fMB  %.1f / %.1f / %.1f / %.1f\n",
				m, f, v[k ".fp"], v[k ".fn"], v[k ".fpr"], v[k ".fnr"], v[k ".roca"], v[k ".lam"],
				v[k ".rate"], v[k ".rss_kb"] / 1024, v[k ".store_bytes"] / 1048576,
				v[k ".fn_at_0fp"], v[k ".fn_at_1fp"], v[k ".fn_at_2fp"], v[k ".fn_at_4fp"]
		}
	}
	if ("teft.edgespam_cli.rate" in v)
		printf "\nedgespam, TEFT, SQLite, one process (classify + learn + corrections):\n" \
			"  %.1f msg/s alone (%.1f per CPU second; %d verdicts differ from the run above),\n" \
			"  %.1f msg/s in the run above, between the bogofilter processes (%.1f per CPU second);\n" \
			"  %.1f msg/s as one edgespam process per message (%d messages, peak RSS %.1f MB)\n",
			v["teft.edgespam_solo.rate"], v["teft.edgespam_solo.cpu_rate"],
			v["teft.edgespam_solo.verdicts_changed"],
			v["teft.edgespam.rate"], v["teft.edgespam.cpu_rate"], v["teft.edgespam_cli.rate"],
			v["teft.edgespam_cli.messages"],
			v["teft.edgespam_cli.rss_kb"] / 1024
	if ("train.rate" in v)
		printf "edgespam train (the order of dspam_train, mistakes corrected, fresh SQLite store): %.1f msg/s\n" \
			"  (%.1f per CPU second) over %d messages, beside %.1f msg/s (%.1f per CPU second) in-process above\n",
			v["train.rate"], v["train.cpu_rate"], v["train.messages"],
			v["teft.edgespam_solo.rate"], v["teft.edgespam_solo.cpu_rate"]
	e = "teft.edgespam."; b = "teft.bogofilter."
	if ((b "roca") in v) {
		printf "\nTEFT: 1-ROCA%% ratio %.3f, lam%% ratio %.3f (edgespam / bogofilter; target <= 0.5), FP %d vs %d\n",
			(v[b "roca"] > 0 ? v[e "roca"] / v[b "roca"] : 0), (v[b "lam"] > 0 ? v[e "lam"] / v[b "lam"] : 0),
			v[e "fp"], v[b "fp"]
	}
	if ("milter.c1.rate" in v) {
		printf "\nedgespam-milter alone (protocol client, TEFT, SQLite, one opted-in user):\n"
		printf "%-12s %9s %9s %9s %8s %7s\n", "connections", "messages", "msg/s", "p50 ms", "p99 ms", "errors"
		split("1 8 32", cs, " ")
		for (i = 1; i <= 3; i++) {
			k = "milter.c" cs[i] "."
			if ((k "rate") in v)
				printf "%-12s %9d %9.1f %9.2f %8.2f %7d\n", cs[i], v[k "messages"], v[k "rate"],
					v[k "p50_ms"], v[k "p99_ms"], v[k "errors"]
		}
		printf "milter peak RSS: %.1f MB\n", v["milter.rss_kb"] / 1024
	}
	if ("history.on.rate" in v) {
		printf "\nedgespam-milter with history = no and = yes (SQLite, %d connections, %d messages, median of %d alternating rounds):\n",
			v["history.connections"], v["history.messages"], v["history.rounds"]
		printf "%-12s %9s %8s %7s\n", "history", "msg/s", "p99 ms", "errors"
		printf "%-12s %9.1f %8.2f %7d\n", "no", v["history.off.rate"], v["history.off.p99_ms"], v["history.off.errors"]
		printf "%-12s %9.1f %8.2f %7d\n", "yes", v["history.on.rate"], v["history.on.p99_ms"], v["history.on.errors"]
		if (v["history.off.rate"] > 0)
			printf "rate with history: %+.1f%%; rows written in the last run: %d of %d messages\n",
				100 * (v["history.on.rate"] / v["history.off.rate"] - 1), v["history.on.rows"], v["history.messages"]
		if (v["history.off.wchar_kb"] > 0)
			printf "written per message: %.1f KiB without, %.1f KiB with history (%+.1f%%)\n",
				v["history.off.wchar_kb"] / v["history.messages"], v["history.on.wchar_kb"] / v["history.messages"],
				100 * (v["history.on.wchar_kb"] / v["history.off.wchar_kb"] - 1)
	}
	if ("mariadb.c8.rate" in v) {
		printf "\nedgespam-milter on MariaDB beside SQLite (fresh stores, 8 connections, same corpus):\n"
		printf "%-12s %9s %9s %9s %8s %7s\n", "store", "messages", "msg/s", "p50 ms", "p99 ms", "errors"
		split("c8 sqlite_c8", ks, " "); split("MariaDB SQLite", ns, " ")
		for (i = 1; i <= 2; i++) {
			k = "mariadb." ks[i] "."
			if ((k "rate") in v)
				printf "%-12s %9d %9.1f %9.2f %8.2f %7d\n", ns[i], v[k "messages"], v[k "rate"],
					v[k "p50_ms"], v[k "p99_ms"], v[k "errors"]
		}
	}
	if ("mariadb.purge_rows" in v) {
		printf "\npurge on MariaDB under load (%d token rows, half unused; 8 connections):\n", v["mariadb.fill_rows"]
		printf "  p99 %.2f ms (%.1f msg/s) before, %.2f ms (%.1f msg/s) during the purge (%.2fx), %.2f ms (%.1f msg/s) after;\n",
			v["mariadb.p99_before_ms"], v["mariadb.rate_before"], v["mariadb.p99_during_ms"], v["mariadb.rate_during"],
			v["mariadb.p99_ratio"], v["mariadb.p99_after_ms"], v["mariadb.rate_after"]
		printf "  purge removed %d rows in %.1f s (%.0f rows/s); errors %d\n",
			v["mariadb.purge_rows"], v["mariadb.purge_s"], v["mariadb.purge_rows_per_s"], v["mariadb.errors"]
	}
	if ("maildir.second_s" in v)
		printf "\nmaildir-retrain, generated Maildir of %d messages: first run %.2f s (%.2f s CPU), unchanged second run %.2f s (%.2f s CPU), after moving 100 %.2f s; state file %.1f MB\n",
			v["maildir.messages"], v["maildir.first_s"], v["maildir.first_cpu_s"], v["maildir.second_s"],
			v["maildir.second_cpu_s"], v["maildir.moved_s"], v["maildir.state_bytes"] / 1048576
	if ("postfix.without.rate" in v)
		printf "\nthrough Postfix (smtp-source, 8 sessions, maildrop): %.1f msg/s without the milter (%d messages), %.1f msg/s with it (%d messages)\n",
			v["postfix.without.rate"], v["postfix.without.messages"], v["postfix.with.rate"], v["postfix.with.messages"]
}' "$raw" > "$out/results.txt"
awk -v seed="$SEED" -f tests/bench/shared.awk "$raw" >> "$out/results.txt"
{ echo; echo "raw figures:"; sort "$raw"; } >> "$out/results.txt"
sed '/^raw figures:/,$d' "$out/results.txt"
echo "bench: results in $out/results.txt" >&2
