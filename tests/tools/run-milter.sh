#!/bin/sh
# run-milter.sh - make run: start edgespam-milter in the foreground on the
# embedded store with the sample configuration conf/edgespam.conf, after
# printing the socket and the Postfix settings that use it.
# The sample runs the milter as the system user "edgespam" with its
# store under /var/lib/edgespam and its socket under /run/edgespam, so
# this needs root; it creates the user when it is missing.
set -eu
BUILD=${BUILD:-build}
CONF=${CONF:-conf/edgespam.conf}
if [ "$(id -u)" -ne 0 ]; then
	echo "make run: the sample configuration needs root (it creates" >&2
	echo "/var/lib/edgespam and /run/edgespam, then drops to user edgespam)." >&2
	echo "Run it with sudo, or start $BUILD/edgespam-milter -f -c FILE" >&2
	echo "with your own configuration." >&2
	exit 77
fi
if ! getent passwd edgespam >/dev/null; then
	echo "make run: creating the system user edgespam"
	useradd --system --home-dir /var/lib/edgespam --no-create-home \
		--shell /usr/sbin/nologin edgespam
fi
"$BUILD/edgespam-milter" -n -c "$CONF"
sock=$(sed -n 's/^[[:space:]]*milter_socket[[:space:]]*=[[:space:]]*//p' "$CONF" | tail -n 1)
[ -n "$sock" ] || sock=unix:/run/edgespam/milter.sock
# libmilter writes inet:PORT@HOST, Postfix inet:HOST:PORT
pf=$sock
case $sock in
inet:*@*) p=${sock#inet:}; pf="inet:${p#*@}:${p%%@*}" ;;
esac
cat <<MSG
edgespam-milter: listening on $sock (store and settings from $CONF).
Add to Postfix's main.cf, then run "postfix reload":

  smtpd_milters = $pf
  non_smtpd_milters = $pf

(Postfix in its chroot sees paths relative to /var/spool/postfix; put the
socket there or turn the chroot off for smtpd.) Stop with Ctrl-C.
MSG
exec "$BUILD/edgespam-milter" -f -c "$CONF"
