# shared.awk - the table of the shared dictionary's benchmark from the
# "key value" lines of tests/tools/bench_shared (in raw.txt or alone).
# Prints nothing when the figures are not there.
{ v[$1] = $2 }
END {
	if (!("shared.with.all.fp" in v))
		exit
	printf "\nshared dictionary: trained as corpus on %d messages (easy_ham + spam, the 2002 half), then a brand-new\n", v["shared.train.messages"]
	printf "user online (TEFT, corrections through the signature) over the 2003 half (%d messages: %d ham, %d spam), seed %s:\n",
		v["shared.with.all.messages"], v["shared.with.all.ham"], v["shared.with.all.spam"], seed
	printf "%-44s %5s %5s %5s %5s %5s %8s %7s\n", "run", "first", "ham", "spam", "FP", "FN", "1-ROCA%", "lam%"
	split("with without with_ut", runs, " ")
	name["with"] = "with the dictionary"
	name["without"] = "without it"
	name["with_ut"] = sprintf("with it, spam_threshold %.3f throughout", v["shared.user_threshold"])
	split("100 500 all", ws, " ")
	for (i = 1; i <= 3; i++) {
		for (j = 1; j <= 3; j++) {
			k = "shared." runs[i] "." ws[j] "."
			if (!((k "fp") in v)) continue
			printf "%-44s %5s %5d %5d %5d %5d %8.4f %7.3f\n", (j == 1 ? name[runs[i]] : ""), ws[j],
				v[k "ham"], v[k "spam"], v[k "fp"], v[k "fn"], v[k "roca"], v[k "lam"]
		}
	}
	w = "shared.with.500."; o = "shared.without.500."
	printf "first 500: lam%% ratio %.3f (with / without; target <= 0.5); FP with vs without: %d vs %d (first 100), %d vs %d (500), %d vs %d (all)\n",
		(v[o "lam"] > 0 ? v[w "lam"] / v[o "lam"] : 0),
		v["shared.with.100.fp"], v["shared.without.100.fp"], v[w "fp"], v[o "fp"],
		v["shared.with.all.fp"], v["shared.without.all.fp"]
	printf "online rate (classify + learn + corrections, SQLite, one process): %.1f msg/s with the dictionary, %.1f without\n",
		v["shared.with.rate"], v["shared.without.rate"]
	printf "(the dictionary's verdicts use shared_spam_threshold %.3f blended toward spam_threshold by maturity; %d of %d messages used it)\n",
		v["shared.threshold"], v["shared.with.used"], v["shared.with.all.messages"]
}
