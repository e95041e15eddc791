# shared-rules.awk - what a different verdict rule for the shared
# dictionary's new user would have given, from the per-message trace of
# tests/tools/bench_shared -m (run with -m, so that the trace holds the
# own-logit column):
#   LC_ALL=C awk -v rule=RULE [-v k=K] -f tests/bench/shared-rules.awk TRACE
# Exact, not an estimate, for rules that change only the verdict: in
# TEFT with every error corrected through its signature, counts and
# weights end as if each message had been learned as its true class
# (cls_engine.c, "Corrections"), so no later score depends on a verdict.
# Prints, for the run with the dictionary under RULE and the run without
# it: FP and spam missed over the first 100, 500 and all messages, and
# whether issue 15's new-user condition holds over the first 500 (spam
# missed at most half, at most one false positive more); then the ham
# that came within 0.75 (logit) of its threshold (close calls).
# Rules (a message the dictionary took no part in keeps its verdict):
#   base        the trace's own verdicts (checks the trace against the bench)
#   bulk_own    mail with List-* or Precedence: bulk/list/junk in its
#               header is Spam only when its own-logit is at least k (0)
#   own         every message: Spam only when its own-logit is at least k
#   own_w       Spam only when own-logit >= k * w * logit(user threshold)
#   bulk_ut     List-* / Precedence mail is judged at the user's own
#               threshold instead of the blended one
#   shared_t    the blended threshold with shared_spam_threshold = k
#   fp_w        after F false positives while young, the threshold is
#               blended as for a user of weight max(w, 1 - 1/(1 + k F))
# The user's and the dictionary's thresholds: -v ut=0.977 -v st=0.85
# (the defaults). Fields of the trace: run index class verdict logit
# user-weight own-logit threshold-logit path.

function lg(p) { return log(p / (1 - p)) }

# bulk - the message at path carries List-* or Precedence bulk evidence
function bulk(path,    line, r) {
	if (path in isbulk)
		return isbulk[path]
	r = 0
	while ((getline line < path) > 0) {
		sub(/\r$/, "", line)
		if (line == "")
			break
		if (tolower(line) ~ /^(list-(unsubscribe|id|post|help|subscribe|archive):|precedence:[ \t]*(bulk|list|junk))/)
			r = 1
	}
	close(path)
	return isbulk[path] = r
}

BEGIN {
	if (rule == "") rule = "base"
	if (ut == "") ut = 0.977
	if (st == "") st = 0.85
	Lu = lg(ut); Ls = lg(st)
	W[1] = 100; W[2] = 500; W[3] = 1e18
}

$1 ~ /^new-without@/ {
	for (j = 1; j <= 3; j++)
		if ($2 < W[j]) {
			if ($3 == "ham" && $4 == "spam") ofp[j]++
			if ($3 == "spam" && $4 == "ham") ofn[j]++
		}
	next
}

$1 ~ /^new-with@/ {
	i = $2; c = $3; sc = $5; w = $6; own = $7; T = $8; path = $9
	young = w < 1
	s = $4 == "spam"
	thr = T
	if (young) {
		# the trace's threshold is the blend scaled by threshold_ramp
		b0 = w * Lu + (1 - w) * Ls
		ramp = b0 > 0 ? T / b0 : 1
		veto = 0
		if (rule == "bulk_own")
			veto = bulk(path) && own < k + 0
		else if (rule == "own")
			veto = own < k + 0
		else if (rule == "own_w")
			veto = own < k * w * Lu
		else if (rule == "bulk_ut") {
			if (bulk(path)) thr = ramp * Lu
		} else if (rule == "shared_t")
			thr = ramp * (w * Lu + (1 - w) * lg(k))
		else if (rule == "fp_w" && nfp > 0) {
			m = 1 - 1 / (1 + k * nfp)
			ww = m > w ? m : w
			thr = ramp * (ww * Lu + (1 - ww) * Ls)
		} else if (rule != "base" && rule != "fp_w") {
			print "shared-rules: unknown rule " rule > "/dev/stderr"
			exit 64
		}
		# a rule may only take a Spam verdict back (min_training and
		# whitelisting stay as they were)
		if (s && (veto || (thr != T && sc < thr)))
			s = 0
		margin = veto ? -1e9 : sc - thr
		if (c == "ham" && margin > -0.75)
			close_calls = close_calls sprintf("  %d %.2f w=%.3f own=%.2f %s\n", i, margin, w, own, path)
		if (c == "ham" && s)
			nfp++
	}
	for (j = 1; j <= 3; j++)
		if (i < W[j]) {
			if (c == "ham" && s) fp[j]++
			if (c == "spam" && !s) fn[j]++
		}
}

END {
	printf "%s%s: with FP %d/%d/%d missed %d/%d/%d, without FP %d/%d/%d missed %d/%d/%d (first 100/500/all): %s\n",
	    rule, k != "" ? " " k : "", fp[1], fp[2], fp[3], fn[1], fn[2], fn[3],
	    ofp[1], ofp[2], ofp[3], ofn[1], ofn[2], ofn[3],
	    (2 * fn[2] <= ofn[2] && fp[2] <= ofp[2] + 1) ? "met" : "not met"
	if (close_calls != "")
		printf "close calls (ham within 0.75 of its threshold):\n%s", close_calls
}
