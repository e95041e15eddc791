#!/bin/sh
# run-milter.sh - make run: start edgespam-milter in the foreground on the
# embedded store with conf/edgespam.conf, and print the Postfix lines.
set -eu
BUILD=${BUILD:-build}
if [ ! -x "$BUILD/edgespam-milter" ]; then
	echo "make run: edgespam-milter is not written yet; the classifier, the" >&2
	echo "store and the edgespam tool are (try: $BUILD/edgespam --help)." >&2
	exit 69
fi
exec "$BUILD/edgespam-milter" -f -c conf/edgespam.conf
