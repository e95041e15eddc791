#!/bin/sh
# run-milter.sh - make run: start edgespam-milter in the foreground with
# the configuration CONF (default: the sample conf/edgespam.conf, whose
# settings are the built-in defaults and the Debian package's), after
# printing the socket and the Postfix lines that reach it.
#
# The defaults follow the Debian milter layout: the socket in Postfix's
# queue directory (/var/spool/postfix/edgespam/milter.sock), the store in
# /var/lib/edgespam, the pid file in /run/edgespam, the milter running as
# the system user edgespam. So this needs root: it sets up the user and
# the socket's directory with the Debian package's own postinst
# (conf/debian/edgespam.postinst configure), the other two directories
# with the package's tmpfiles.d lines (or, without systemd-tmpfiles, the
# milter makes them itself), and starts the milter as root, which drops
# to edgespam once its socket and pid file are open.
set -eu
BUILD=${BUILD:-build}
CONF=${CONF:-conf/edgespam.conf}
if [ "$(id -u)" -ne 0 ]; then
	echo "make run: this needs root: it creates the user edgespam and the" >&2
	echo "milter's directories, and the milter drops root to edgespam." >&2
	echo "Run it with sudo, or start $BUILD/edgespam-milter -f -c FILE" >&2
	echo "with your own configuration." >&2
	exit 77
fi
# the value in effect, whether the file sets it or not
cf() { "$BUILD/edgespam" -c "$CONF" --dump-config | sed -n "s/^$1 = //p"; }
sock=$(cf milter_socket)
path=""
case $sock in
unix:*) path=${sock#unix:} ;;
local:*) path=${sock#local:} ;;
esac
queue=/var/spool/postfix
q=$(postconf -h queue_directory 2>/dev/null) && [ -n "$q" ] && queue=$q

nopostfix=""
case $path in
"$queue"/*)
	getent group postfix >/dev/null || nopostfix=1 ;;
esac
# the user, and the socket's directory as the package makes it
sh conf/debian/edgespam.postinst configure
if [ -n "$nopostfix" ]; then
	# no Postfix yet: the directory is made for it, group edgespam for
	# now; "make run" again after "apt-get install postfix" gives it to
	# group postfix (the package does so by a trigger)
	install -d -m 0755 "$queue"
	install -d -o edgespam -g edgespam -m 2750 "${path%/*}"
fi
"$BUILD/edgespam-milter" -n -c "$CONF"
# a socket's directory elsewhere (CONF) made the same way
if [ -n "$path" ] && [ ! -d "${path%/*}" ] && getent group postfix >/dev/null; then
	u=$(cf user)
	install -d -o "${u:-root}" -g postfix -m 2750 "${path%/*}"
fi
if command -v systemd-tmpfiles >/dev/null; then
	systemd-tmpfiles --create "$(pwd)/conf/debian/edgespam.tmpfiles"
fi

# what Postfix writes: a path below its queue directory relative to it
# (smtpd and cleanup run chrooted there, the others start there), an
# inet socket as inet:HOST:PORT
case $sock in
unix:"$queue"/* | local:"$queue"/*) pf="unix:${path#"$queue"/}" ;;
unix:* | local:*) pf="unix:$path" ;;
inet:*@* | inet6:*@*) p=${sock#*:}; pf="inet:${p#*@}:${p%%@*}" ;;
*) pf=$sock ;;
esac
cat <<MSG
edgespam-milter: listening on $sock (settings from $CONF).
Add to Postfix's main.cf, then run "postfix reload":

  smtpd_milters = $pf
  non_smtpd_milters = $pf
  milter_default_action = tempfail
  milter_protocol = 6

(tempfail: while the milter cannot be reached, mail waits in the
senders' queues instead of passing unfiltered with forged X-DSPAM fields.)
MSG
case $pf in
unix:/*)
	echo "Postfix's smtpd runs chrooted in $queue on Debian and cannot"
	echo "reach $path: keep the socket below $queue."
	;;
esac
if [ -n "$nopostfix" ]; then
	echo "Postfix is not installed: the milter runs, but no MTA reaches it"
	echo "yet. Install Postfix (apt-get install postfix), then run"
	echo "\"make run\" again: it gives ${path%/*} to group postfix."
fi
echo "Stop with Ctrl-C."
exec "$BUILD/edgespam-milter" -f -c "$CONF"
