#!/bin/sh
# train.sh CORPUS WORKDIR - "edgespam train" (dspam_train's equivalent)
# over the whole corpus on a fresh SQLite store, for the rate beside
# bench_accuracy's in-process figure. Its progress lines go to stderr;
# prints "train.KEY value" lines: messages, spam, innocent, fn, fp,
# rate (msg/s), cpu_rate (msg per CPU second).
set -eu
BUILD=${BUILD:-build}
corpus=$1
w=$2/train
rm -rf "$w"
mkdir -p "$w/spam" "$w/ham"
# the corpus keeps NAME.txt messages beside other files: link the
# messages only, spam from the directories whose name starts with spam
for d in "$corpus"/*/; do
	n=$(basename "$d")
	case $n in spam*) dst=$w/spam ;; *) dst=$w/ham ;; esac
	for f in "$d"*.txt; do
		[ -f "$f" ] && ln -s "$f" "$dst/$n-$(basename "$f")"
	done
done
printf 'store_path = %s/es.db\nuser = ""\nretrain_socket = ""\n' "$w" > "$w/es.conf"
"$BUILD/edgespam" -c "$w/es.conf" train bench@example.org \
	--spam "$w/spam" --innocent "$w/ham" > "$w/out"
cat "$w/out" >&2
sed -n 's/^train: [^:]*: \([0-9]*\) messages (\([0-9]*\) spam, \([0-9]*\) innocent) in [0-9.]* s, \([0-9.]*\) msg\/s (\([0-9.]*\) per CPU second); corrected \([0-9]*\) spam missed (FN) and \([0-9]*\) .*/train.messages \1\ntrain.spam \2\ntrain.innocent \3\ntrain.rate \4\ntrain.cpu_rate \5\ntrain.fn \6\ntrain.fp \7/p' "$w/out"
