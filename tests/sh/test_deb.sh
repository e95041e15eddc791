#!/bin/sh
# test_deb.sh - the Debian package (make deb, conf/debian/): it builds,
# lintian finds no error, and once installed it has its files, owners and
# modes, the conffile, the edgespam user, the directories, a unit that
# systemd-analyze verify accepts, and a milter started from the unit's
# own ExecStart line as the unit's User that Postfix's identity reaches
# on the packaged socket and that passes the milter-protocol checks.
#
# Where it installs:
#  - CI=true (a throwaway CI machine): into this machine with dpkg -i, on
#    the packaged paths. The package stays installed, as an install
#    leaves it; the test stops what it started and empties the store it
#    filled. When systemd runs the machine, the package's own start of
#    the unit is what is tested (systemctl), sandbox and all.
#  - otherwise: into a throwaway root, a copy-on-write overlay of this
#    machine's / in a private mount namespace, where the real dpkg -i runs
#    the real maintainer scripts (adduser, tmpfiles, the socket's
#    directory); the overlay, and all it wrote, goes when the test ends.
#    After the checks it purges the package there and checks what purge
#    removes, then installs it without Postfix and Postfix after it: the
#    package's dpkg trigger must make the socket's directory.
# Then, when systemd-nspawn is there (package systemd-container), the
# same install and checks once more in another throwaway root booted with
# systemd, where systemd itself starts the unit with its whole sandbox
# (the line says NOT CHECKED when nspawn cannot boot here).
# Without systemd as PID 1 (the first throwaway root, CI in a
# container) the unit is started the way systemd would, from the unit
# file: its User and Group (setpriv, supplementary groups of the user),
# NoNewPrivileges, an empty CapabilityBoundingSet, UMask,
# RuntimeDirectory/StateDirectory, and ProtectSystem=strict with its
# ReadWritePaths, PrivateTmp and ProtectHome in a mount namespace (every
# mount read-only but the writable paths). Not emulated there:
# PrivateDevices, the ProtectKernel*/ProtectClock/ProtectHostname
# switches, RestrictAddressFamilies, RestrictNamespaces,
# MemoryDenyWriteExecute and SystemCallFilter (the systemd boot, or CI
# on a systemd machine, applies them). Postfix itself does not run: its
# identity does (the postfix user, from its queue directory, on the
# relative socket name main.cf uses).
#
#   sh tests/sh/test_deb.sh                  the test
#   (internal) --throwaway DIR, --nspawn DIR, --inside DIR MODE,
#              --sandbox UNIT [ARGS]
set -u

# ---- the unit, as systemd would start it --------------------------------

# unit_get FILE KEY - the last value of KEY= in FILE ("" if none)
unit_get() {
	sed -n "s/^$2=//p" "$1" | tail -n 1
}

# unit_exec FILE - ExecStart= without systemd's prefixes (-@:+!)
unit_exec() {
	unit_get "$1" ExecStart | sed 's/^[-@:+!]*//'
}

# sandbox UNIT ARGS... - run ExecStart of UNIT (plus ARGS) as its User
# and Group under its file-system sandbox; meant to run under unshare -m
sandbox() {
	_u=$1
	shift
	_user=$(unit_get "$_u" User)
	_group=$(unit_get "$_u" Group)
	[ -n "$_group" ] || _group=$(id -gn "$_user")
	_rw=""
	for _k in RuntimeDirectory:/run StateDirectory:/var/lib; do
		_d=$(unit_get "$_u" "${_k%%:*}")
		[ -n "$_d" ] || continue
		_m=$(unit_get "$_u" "${_k%%:*}Mode")
		install -d -o "$_user" -g "$_group" -m "${_m:-0755}" "${_k#*:}/$_d"
		_rw="$_rw ${_k#*:}/$_d"
	done
	for _p in $(unit_get "$_u" ReadWritePaths); do
		case $_p in
		-*) _p=${_p#-}; [ -e "$_p" ] || continue ;;
		esac
		_rw="$_rw $_p"
	done
	if [ "$(unit_get "$_u" ProtectSystem)" = strict ]; then
		# every mount read-only, but the kernel's API file systems
		awk '{ print $5 }' /proc/self/mountinfo | sort -u |
			while read -r _mp; do
				case $_mp in
				/proc | /proc/* | /sys | /sys/* | /dev | /dev/*) continue ;;
				esac
				mount -o remount,bind,ro "$_mp" 2>/dev/null ||
					echo "sandbox: cannot make $_mp read-only" >&2
			done
		if touch /etc/.edgespam-sandbox 2>/dev/null; then
			rm -f /etc/.edgespam-sandbox
			echo "sandbox: / is still writable" >&2
			exit 71
		fi
		for _p in $_rw; do
			mount --bind "$_p" "$_p" && mount -o remount,bind,rw "$_p" || exit 71
		done
	fi
	if [ "$(unit_get "$_u" PrivateTmp)" = yes ]; then
		mount -t tmpfs -o mode=1777 tmpfs /tmp || exit 71
		mount -t tmpfs -o mode=1777 tmpfs /var/tmp || exit 71
	fi
	if [ "$(unit_get "$_u" ProtectHome)" = yes ]; then
		for _h in /home /root /run/user; do
			[ -d "$_h" ] && { mount -t tmpfs -o mode=000 tmpfs "$_h" || exit 71; }
		done
	fi
	_nnp=""
	[ "$(unit_get "$_u" NoNewPrivileges)" = yes ] && _nnp=--no-new-privs
	_caps=""
	grep -q '^CapabilityBoundingSet=$' "$_u" && _caps="--bounding-set=-all --inh-caps=-all"
	_um=$(unit_get "$_u" UMask)
	[ -n "$_um" ] && umask "$_um"
	# shellcheck disable=SC2046,SC2086
	exec setpriv --reuid="$_user" --regid="$_group" --init-groups $_nnp $_caps \
		-- $(unit_exec "$_u") "$@"
}

if [ "${1:-}" = --sandbox ]; then
	shift
	sandbox "$@"
	exit 71
fi

# ---- inside the installed system (this machine or the throwaway root) ----

# inside D MODE - install D/edgespam.deb and check it; MODE is ci or
# throwaway; D also holds miltc, lib.sh, this script and the sample
# configuration
inside() {
	D=$1
	MODE=$2
	. "$D/lib.sh"
	MILTC=$D/miltc
	SELF=$D/test_deb.sh
	MPID=""
	STARTED=""
	SYSD_STARTED=""
	W=$(mktemp -d /tmp/esdeb-w.XXXXXX)
	trap inside_cleanup EXIT INT TERM

	# 1. the install
	dpkg -i "$D/edgespam.deb" > "$W/dpkg.log" 2>&1 || fail "dpkg -i: $(cat "$W/dpkg.log")"
	ver=$(dpkg-query -W -f='${Status} ${Version}' edgespam)
	echo "installed: edgespam $ver"
	case $ver in "install ok installed "*) ;; *) fail "dpkg status: $ver" ;; esac
	ver=${ver##* }
	if [ -d /run/systemd/system ] && systemctl is-failed --quiet edgespam.service; then
		fail "edgespam.service failed after the install: $(systemctl status edgespam.service 2>&1; journalctl --no-pager -n 30 -u edgespam.service 2>&1)"
	fi

	# 2. files, owners, modes
	UNIT=$(dpkg -L edgespam | grep '/systemd/system/edgespam\.service$')
	PSVC=$(dpkg -L edgespam | grep '/systemd/system/edgespam-purge\.service$')
	PTIM=$(dpkg -L edgespam | grep '/systemd/system/edgespam-purge\.timer$')
	WSVC=$(dpkg -L edgespam | grep '/systemd/system/edgespam-web\.service$')
	[ -n "$UNIT" ] && [ -n "$PSVC" ] && [ -n "$PTIM" ] && [ -n "$WSVC" ] ||
		fail "units not installed: $(dpkg -L edgespam)"
	n=0
	for f in /usr/bin/edgespam:755 /usr/sbin/edgespam-milter:755 \
		/usr/sbin/edgespam-web:755 \
		/usr/share/man/man1/edgespam.1.gz:644 \
		/usr/share/man/man8/edgespam-milter.8.gz:644 \
		/usr/share/man/man8/edgespam-web.8.gz:644 \
		/usr/share/edgespam/sql/sqlite/schema.sql:644 \
		/usr/share/edgespam/sql/mysql/schema.sql:644 \
		/etc/edgespam/edgespam.conf:644 /usr/lib/tmpfiles.d/edgespam.conf:644 \
		"$UNIT:644" "$PSVC:644" "$PTIM:644" "$WSVC:644"; do
		got=$(stat -c '%U:%G %a' "${f%:*}" 2>&1)
		[ "$got" = "root:root ${f##*:}" ] || fail "${f%:*}: $got, want root:root ${f##*:}"
		n=$((n + 1))
	done
	echo "files: $n with owner root:root and their modes"
	for p in /usr/bin/edgespam /usr/sbin/edgespam-milter /usr/sbin/edgespam-web; do
		out=$("$p" --version)
		[ "$out" = "${p##*/} $ver" ] || fail "$p --version: '$out', package $ver"
	done
	for m in man1/edgespam.1.gz man8/edgespam-milter.8.gz man8/edgespam-web.8.gz; do
		zcat "/usr/share/man/$m" | head -n 1 | grep -qF "\"edgespam $ver\"" ||
			fail "$m: not version $ver: $(zcat "/usr/share/man/$m" | head -n 1)"
	done
	echo "version: $ver in the package, the three programs and their man pages"

	# 3. the conffile: listed, the sample as shipped, kept when changed
	dpkg-query -W -f='${Conffiles}\n' edgespam | grep -q '^ /etc/edgespam/edgespam.conf ' ||
		fail "not a conffile: $(dpkg-query -W -f='${Conffiles}' edgespam)"
	cmp -s /etc/edgespam/edgespam.conf "$D/edgespam.conf" ||
		fail "/etc/edgespam/edgespam.conf is not conf/edgespam.conf"
	cp -p /etc/edgespam/edgespam.conf "$W/conf.orig"
	echo "# a local change" >> /etc/edgespam/edgespam.conf
	dpkg -i --force-confold "$D/edgespam.deb" > "$W/dpkg2.log" 2>&1 ||
		fail "dpkg -i again: $(cat "$W/dpkg2.log")"
	tail -n 1 /etc/edgespam/edgespam.conf | grep -qx '# a local change' ||
		fail "a reinstall did not keep the changed conffile"
	cp -p "$W/conf.orig" /etc/edgespam/edgespam.conf
	echo "conffile: /etc/edgespam/edgespam.conf (the sample; a local change survives a reinstall)"

	# 4. the user, the group, the directories
	pw=$(getent passwd edgespam) || fail "no user edgespam"
	getent group edgespam >/dev/null || fail "no group edgespam"
	uid=$(echo "$pw" | cut -d: -f3)
	gid=$(echo "$pw" | cut -d: -f4)
	[ "$uid" -lt 1000 ] || fail "edgespam is not a system user: $pw"
	[ "$(getent group "$gid" | cut -d: -f1)" = edgespam ] || fail "primary group: $pw"
	[ "$(echo "$pw" | cut -d: -f6-)" = /var/lib/edgespam:/usr/sbin/nologin ] ||
		fail "home or shell: $pw"
	echo "user: $pw"
	for d in /var/lib/edgespam:edgespam:edgespam:700 /run/edgespam:edgespam:edgespam:755 \
		/var/spool/postfix/edgespam:edgespam:postfix:2750; do
		want=$(echo "$d" | cut -d: -f2-3)" ${d##*:}"
		got=$(stat -c '%U:%G %a' "${d%%:*}" 2>&1)
		[ "$got" = "$want" ] || fail "${d%%:*}: $got, want $want"
		echo "directory: ${d%%:*} $got"
	done
	# the packaged configuration names the unit's paths
	cf() { /usr/bin/edgespam --dump-config | sed -n "s/^$1 = //p"; }
	SOCK=$(cf milter_socket)
	[ "$SOCK" = unix:/var/spool/postfix/edgespam/milter.sock ] || fail "milter_socket: $SOCK"
	SOCK=${SOCK#unix:}
	[ "$(cf pid_file)" = "$(unit_get "$UNIT" PIDFile)" ] ||
		fail "pid_file $(cf pid_file), unit's PIDFile $(unit_get "$UNIT" PIDFile)"
	[ "$(dirname "$(cf store_path)")" = "/var/lib/$(unit_get "$UNIT" StateDirectory)" ] ||
		fail "store_path $(cf store_path), StateDirectory $(unit_get "$UNIT" StateDirectory)"
	case " $(unit_get "$UNIT" ReadWritePaths) " in
	*" ${SOCK%/*} "* | *" -${SOCK%/*} "*) ;;
	*) fail "the socket's directory ${SOCK%/*} is not in the unit's ReadWritePaths" ;;
	esac

	# 5. the units
	out=$(systemd-analyze verify "$UNIT" "$PSVC" "$PTIM" "$WSVC" 2>&1) ||
		fail "systemd-analyze verify: $out"
	echo "$out" | grep -q edgespam && fail "systemd-analyze verify: $out"
	echo "systemd-analyze verify: $(basename "$UNIT") $(basename "$PSVC") $(basename "$PTIM") $(basename "$WSVC") accepted"
	# the web view waits for the site's web server to be set up
	out=$(systemctl is-enabled edgespam-web.service 2>&1)
	[ "$out" = disabled ] || fail "systemctl is-enabled edgespam-web.service: $out, want disabled"
	/usr/sbin/edgespam-web -n > "$W/web-n.log" 2>&1 ||
		fail "edgespam-web -n with the packaged configuration: $(cat "$W/web-n.log")"
	echo "edgespam-web.service: installed, not enabled; the packaged configuration passes edgespam-web -n"
	out=$(systemctl is-enabled edgespam.service edgespam-purge.timer 2>&1)
	[ "$(echo $out)" = "enabled enabled" ] ||
		fail "systemctl is-enabled edgespam.service edgespam-purge.timer: $out"
	echo "enabled: edgespam.service, edgespam-purge.timer"

	# 6. the milter, started as the unit starts it
	if [ -d /run/systemd/system ]; then
		how="the package's postinst"
		if ! systemctl is-active --quiet edgespam.service; then
			# a policy-rc.d (container images have one) keeps
			# postinst from starting services
			systemctl start edgespam.service ||
				fail "systemctl start edgespam.service: $(systemctl status edgespam.service 2>&1; journalctl --no-pager -n 30 -u edgespam.service 2>&1)"
			how="systemctl start (postinst did not start it: $(ls /usr/sbin/policy-rc.d 2>/dev/null || echo 'no policy-rc.d'))"
			SYSD_STARTED=1
		fi
		MPID=$(systemctl show -p MainPID --value edgespam.service)
		echo "milter: started by systemd ($how), pid $MPID"
	else
		start_unit
		echo "milter: started from $(basename "$UNIT"): $(unit_exec "$UNIT"), as $(unit_get "$UNIT" User), pid $MPID"
	fi
	st=/proc/$MPID/status
	grep -q "^Uid:[[:space:]]*${uid}[[:space:]]*${uid}[[:space:]]*${uid}[[:space:]]*$uid$" "$st" ||
		fail "milter's uids: $(grep Uid: "$st")"
	grep -q "^Gid:[[:space:]]*${gid}[[:space:]]*${gid}[[:space:]]*${gid}[[:space:]]*$gid$" "$st" ||
		fail "milter's gids: $(grep Gid: "$st")"
	grep -q '^CapEff:[[:space:]]*0*$' "$st" || fail "milter's effective capabilities: $(grep CapEff: "$st")"
	grep -q '^CapBnd:[[:space:]]*0*$' "$st" || fail "milter's bounding set: $(grep CapBnd: "$st")"
	grep -q '^NoNewPrivs:[[:space:]]*1$' "$st" || fail "milter without NoNewPrivs"
	echo "milter process: uid and gid edgespam, no capabilities (effective, bounding), NoNewPrivs"
	got=$(stat -c '%F %U:%G %a' "$SOCK")
	[ "$got" = "socket edgespam:postfix 660" ] || fail "$SOCK: $got"
	echo "socket: $SOCK $got"

	# 7. the milter-protocol checks, as Postfix's user from its queue
	#    directory, on the name main.cf uses
	chown postfix "$W"
	chmod 0755 "$D" "$W"
	ES="setpriv --reuid=edgespam --regid=edgespam --init-groups /usr/bin/edgespam"
	$ES user bob@example.org opt-in > /dev/null || fail "edgespam user bob@example.org opt-in (as edgespam)"
	train_pair "$ES" bob@example.org 12
	ham 100 > "$W/ham.eml"
	{ printf 'X-DSPAM-Result: Innocent\nX-DSPAM-Signature: 1234\n'; spam 101; } > "$W/forged.eml"
	mc() {
		(cd /var/spool/postfix &&
			setpriv --reuid=postfix --regid=postfix --init-groups \
				"$MILTC" -s unix:edgespam/milter.sock -t 20 "$@")
	}
	out=$(mc -f a@example.com -r bob@example.org -m "$W/ham.eml" -o "$W/o1") || fail "ham: $out"
	out_has '^rcpt bob@example.org continue' "ham: rcpt"
	out_has '^mod addheader X-DSPAM-Result: Innocent' "ham: verdict"
	out_has '^mod addheader X-DSPAM-Signature: ' "ham: signature"
	out_has '^eom continue' "ham: eom"
	echo "milter: ham to opted-in bob: X-DSPAM-Result: Innocent and a signature"
	out=$(mc -f p@cheap-pills.biz -r alice@example.org -m "$W/forged.eml" -o "$W/o2") || fail "forged: $out"
	out_lacks '^mod addheader' "forged: alice is not opted in, got"
	[ "$(echo "$out" | grep -c '^mod chgheader X-DSPAM-')" -eq 2 ] || fail "forged: not 2 deletions: $out"
	grep -qi '^X-DSPAM-' "$W/o2" && fail "forged: an X-DSPAM field survived: $(cat "$W/o2")"
	echo "milter: forged X-DSPAM-Result and X-DSPAM-Signature removed"
	out=$(mc -c 203.0.113.5 -f x@example.com -r bob-spam@example.org -m "$W/forged.eml") ||
		fail "alias: $out"
	out_has '^rcpt bob-spam@example.org replycode 550 5\.7\.1' "alias from outside not refused"
	echo "milter: retrain alias bob-spam@ from outside refused (550 5.7.1)"
	out=$(setpriv --reuid=nobody --regid=nogroup --clear-groups \
		"$MILTC" -s "unix:$SOCK" -t 5 -f a@example.com -r bob@example.org -m "$W/ham.eml" 2>&1) &&
		fail "nobody reached the milter's socket: $out"
	echo "socket: nobody is refused ($(echo "$out" | tail -n 1))"
	# the alias pipes' way in: nobody (Postfix's default_privs) corrects
	# bob's ham as spam through the retrain socket, without the store
	[ "$(stat -c '%F %a' /run/edgespam/retrain.sock)" = "socket 666" ] ||
		fail "retrain socket: $(stat -c '%F %U:%G %a' /run/edgespam/retrain.sock 2>&1)"
	setpriv --reuid=nobody --regid=nogroup --clear-groups /usr/bin/edgespam \
		--user bob@example.org --addspam < "$W/o1" > "$W/r.out" 2>&1 ||
		fail "nobody's correction through /run/edgespam/retrain.sock: $(cat "$W/r.out")"
	$ES stats bob@example.org | awk '$1 == "bob@example.org" && $7 == 1 { f = 1 } END { exit !f }' ||
		fail "the correction did not count a missed spam: $($ES stats bob@example.org)"
	echo "retrain: nobody corrected bob's message through /run/edgespam/retrain.sock (FN 1)"
	kill -HUP "$MPID" || fail "SIGHUP"
	sleep 1
	kill -0 "$MPID" 2>/dev/null || fail "the milter died on SIGHUP"
	out=$(mc -f a@example.com -r bob@example.org -m "$W/ham.eml") || fail "after reload: $out"
	out_has '^mod addheader X-DSPAM-Result: Innocent' "after reload: verdict"
	echo "milter: reloaded on SIGHUP (ExecReload), same pid, still classifying"

	# 8. the purge, as its unit runs it
	if [ -d /run/systemd/system ]; then
		systemctl start edgespam-purge.service ||
			fail "edgespam-purge.service: $(systemctl status edgespam-purge.service 2>&1)"
	else
		unshare -m --propagation private sh "$SELF" --sandbox "$PSVC" > "$W/purge.out" 2>&1 ||
			fail "the purge, from $(basename "$PSVC"): $(cat "$W/purge.out")"
	fi
	echo "purge: $(basename "$PSVC") ran as $(unit_get "$PSVC" User): $(unit_exec "$PSVC")"

	# 8b. the web view, as its unit starts it (Type=simple), on the
	# packaged configuration: loopback port 8301, the proxy 127.0.0.1
	if [ -d /run/systemd/system ]; then
		systemctl start edgespam-web.service ||
			fail "edgespam-web.service: $(systemctl status edgespam-web.service 2>&1)"
		WEBPID=$(systemctl show -p MainPID --value edgespam-web.service)
	else
		unshare -m --propagation private sh "$SELF" --sandbox "$WSVC" -f > "$W/web.out" 2>&1 &
		WEBPID=$!
	fi
	n=0
	until curl -s -o /dev/null http://127.0.0.1:8301/; do
		n=$((n + 1))
		[ $n -gt 100 ] && fail "edgespam-web from its unit did not answer: $(cat "$W/web.out" 2>/dev/null)"
		sleep 0.1
	done
	out=$(curl -s -H 'X-Remote-User: bob@example.org' http://127.0.0.1:8301/stats)
	echo "$out" | grep -q 'id="fn">1<' || fail "edgespam-web's statistics for bob: $out"
	grep -q "^Uid:[[:space:]]*${uid}[[:space:]]*${uid}[[:space:]]*${uid}[[:space:]]*$uid$" "/proc/$WEBPID/status" ||
		fail "edgespam-web's uids: $(grep Uid: "/proc/$WEBPID/status")"
	grep -q '^CapEff:[[:space:]]*0*$' "/proc/$WEBPID/status" || fail "edgespam-web's capabilities"
	if [ -d /run/systemd/system ]; then
		systemctl stop edgespam-web.service
	else
		kill -TERM "$WEBPID" && wait "$WEBPID"
	fi
	echo "web: $(basename "$WSVC") served bob's statistics (FN 1) as edgespam, no capabilities"

	# 9. stop
	if [ -n "$STARTED" ]; then
		stop_unit || fail "the milter did not stop on SIGTERM"
		[ -e "$SOCK" ] && fail "the socket is still there after the stop"
		[ -e "$(unit_get "$UNIT" PIDFile)" ] && fail "the pid file is still there after the stop"
		echo "milter: stopped on SIGTERM; socket and pid file removed"
	fi

	# 10. leave
	if [ "$MODE" = throwaway ]; then
		dpkg --purge edgespam > "$W/purge.log" 2>&1 || fail "dpkg --purge: $(cat "$W/purge.log")"
		for p in /etc/edgespam/edgespam.conf /var/lib/edgespam /run/edgespam \
			/var/spool/postfix/edgespam /usr/sbin/edgespam-milter "$UNIT"; do
			[ -e "$p" ] && fail "$p left after dpkg --purge"
		done
		getent passwd edgespam >/dev/null || fail "purge removed the user edgespam"
		echo "purge: dpkg --purge removed the files, the conffile, the store and the socket's directory; the user stays"
		postfix_later
	else
		# as an install leaves the machine: the store the test filled
		# goes; a milter systemd runs gets an empty one
		if [ -d /run/systemd/system ]; then
			systemctl stop edgespam.service
			rm -f /var/lib/edgespam/edgespam.db /var/lib/edgespam/edgespam.db-*
			[ -n "$SYSD_STARTED" ] || systemctl start edgespam.service
			SYSD_STARTED=""
		else
			rm -f /var/lib/edgespam/edgespam.db /var/lib/edgespam/edgespam.db-*
		fi
		echo "left installed (CI=true); the test's store removed"
	fi
	return 0
}

# postfix_later - (throwaway root only) Postfix installed after edgespam:
# the package's dpkg trigger makes the socket's directory then
postfix_later() {
	pv=$(dpkg-query -W -f='${Version}' postfix)
	pdeb=$(ls /var/cache/apt/archives/postfix_"$(echo "$pv" | sed 's/:/%3a/')"_*.deb 2>/dev/null | head -n 1)
	if [ -z "$pdeb" ]; then
		if ! (cd "$W" && apt-get download -q "postfix=$pv" > "$W/dl.log" 2>&1); then
			echo "trigger: NOT CHECKED: postfix $pv is not in the apt cache and apt-get download failed: $(tail -n 1 "$W/dl.log")"
			return 0
		fi
		pdeb=$(ls "$W"/postfix_*.deb | head -n 1)
	fi
	export DEBIAN_FRONTEND=noninteractive
	dpkg --purge --force-depends postfix > "$W/pf.log" 2>&1 || fail "dpkg --purge postfix: $(cat "$W/pf.log")"
	dpkg -i "$D/edgespam.deb" > "$W/dpkg3.log" 2>&1 || fail "dpkg -i without postfix: $(cat "$W/dpkg3.log")"
	[ -e /var/spool/postfix/edgespam ] && fail "a socket directory without Postfix"
	echo "postfix postfix/main_mailer_type select No configuration" | debconf-set-selections
	dpkg -i "$pdeb" > "$W/pf.log" 2>&1 || fail "dpkg -i postfix: $(cat "$W/pf.log")"
	grep -q 'Processing triggers for edgespam' "$W/pf.log" || fail "no edgespam trigger: $(cat "$W/pf.log")"
	got=$(stat -c '%U:%G %a' /var/spool/postfix/edgespam 2>&1)
	[ "$got" = "edgespam:postfix 2750" ] || fail "after Postfix came: /var/spool/postfix/edgespam: $got"
	echo "trigger: Postfix installed after edgespam; the trigger made /var/spool/postfix/edgespam $got"
}

# start_unit - ExecStart of the unit in its sandbox; MPID from PIDFile
start_unit() {
	pidf=$(unit_get "$UNIT" PIDFile)
	rm -f "$SOCK"
	unshare -m --propagation private sh "$SELF" --sandbox "$UNIT" > "$W/start.out" 2>&1 ||
		start_failed "exit $?"
	# Type=forking: the socket is there once the first process exits
	[ -S "$SOCK" ] || start_failed "no socket $SOCK"
	n=0
	while [ ! -s "$pidf" ] && [ $n -lt 50 ]; do
		sleep 0.1
		n=$((n + 1))
	done
	MPID=$(cat "$pidf" 2>/dev/null)
	[ -n "$MPID" ] && kill -0 "$MPID" 2>/dev/null || start_failed "no process in $pidf"
	STARTED=1
}

# start_failed WHY - report a failed start with the milter's own words:
# the same start in the foreground (-f logs to stderr), for 3 seconds
start_failed() {
	unshare -m --propagation private sh "$SELF" --sandbox "$UNIT" -f > "$W/fg.out" 2>&1 &
	sleep 3
	kill $! 2>/dev/null
	fail "the unit's start failed ($1): $(cat "$W/start.out" "$W/fg.out")"
}

# stop_unit - SIGTERM, as systemd stops it; wait up to 15 s
stop_unit() {
	kill -TERM "$MPID" 2>/dev/null || return 1
	n=0
	while kill -0 "$MPID" 2>/dev/null; do
		n=$((n + 1))
		[ $n -gt 150 ] && return 1
		sleep 0.1
	done
	MPID=""
	STARTED=""
}

inside_cleanup() {
	[ -n "$STARTED" ] && [ -n "$MPID" ] && kill -TERM "$MPID" 2>/dev/null
	[ -n "$SYSD_STARTED" ] && systemctl stop edgespam.service
	[ -f "$W/conf.orig" ] && [ -f /etc/edgespam/edgespam.conf ] &&
		cp -p "$W/conf.orig" /etc/edgespam/edgespam.conf
	rm -rf "$W"
}

if [ "${1:-}" = --inside ]; then
	inside "$2" "$3"
	exit 0
fi

# ---- the throwaway root -------------------------------------------------

# overlay_root D - (in a private mount namespace) an overlay of / with its
# changes on a tmpfs, mounted at R=D/ov/root
overlay_root() {
	mount -t tmpfs -o mode=0755 tmpfs "$1/ov" || exit 1
	mkdir -p "$1/ov/upper" "$1/ov/work" "$1/ov/root"
	R=$1/ov/root
	mount -t overlay overlay \
		-o "lowerdir=/,upperdir=$1/ov/upper,workdir=$1/ov/work" "$R" || exit 1
}

# --throwaway D: the kernel's file systems, a fresh /run and /tmp in the
# overlay, then --inside there, chrooted
if [ "${1:-}" = --throwaway ]; then
	set -e
	overlay_root "$2"
	mount -t proc proc "$R/proc"
	mount --rbind /dev "$R/dev"
	mount --rbind /sys "$R/sys"
	mount -t tmpfs -o mode=0755 tmpfs "$R/run"
	mount -t tmpfs -o mode=1777 tmpfs "$R/tmp"
	mkdir -m 0755 "$R/tmp/esdeb"
	cp "$2"/files/* "$R/tmp/esdeb/"
	set +e
	exec chroot "$R" sh /tmp/esdeb/test_deb.sh --inside /tmp/esdeb throwaway
fi

# --nspawn D: boot systemd in the overlay (systemd-nspawn, its own machine
# id, no policy-rc.d, so postinst starts the unit as on a real machine)
# and run --inside there from a unit; its output goes to D/nspawn.result,
# "rc=N" last, and nothing is written when the boot itself fails
if [ "${1:-}" = --nspawn ]; then
	set -e
	mount -t tmpfs -o mode=0755 tmpfs /run
	overlay_root "$2"
	mkdir -m 0755 "$R/root/esdeb"
	cp "$2"/files/* "$R/root/esdeb/"
	chmod 0755 "$R/root"
	systemd-id128 new > "$R/etc/machine-id"
	rm -f "$R/usr/sbin/policy-rc.d"
	cat > "$R/etc/systemd/system/esdeb.service" <<-EOU
	[Unit]
	Description=test_deb.sh under systemd
	After=basic.target
	[Service]
	Type=oneshot
	ExecStart=/bin/sh -c 'sh /root/esdeb/test_deb.sh --inside /root/esdeb ci > /root/esdeb/result 2>&1; echo "rc=\$?" >> /root/esdeb/result; systemctl poweroff --no-block'
	EOU
	cat > "$R/etc/systemd/system/esdeb.target" <<-EOU
	[Unit]
	Description=test_deb.sh under systemd
	Requires=basic.target esdeb.service
	After=basic.target
	EOU
	set +e
	timeout 300 systemd-nspawn -q -D "$R" --register=no --keep-unit --link-journal=no \
		-b -- systemd.unit=esdeb.target > "$2/nspawn.log" 2>&1
	[ -f "$R/root/esdeb/result" ] && cp "$R/root/esdeb/result" "$2/nspawn.result"
	exit 0
fi

# ---- the test -----------------------------------------------------------

TOP=$(cd "$(dirname "$0")/../.." && pwd)
cd "$TOP" || exit 1
. tests/sh/lib.sh
B=${BUILD:-build}
MILTC=$TOP/$B/tools/miltc
[ -x "$MILTC" ] || skip "SKIP: $MILTC not built (make tools)"

need="dpkg-buildpackage dh lintian fakeroot systemd-analyze systemd-tmpfiles"
for c in $need; do
	command -v "$c" >/dev/null && continue
	# the packaging tools: debhelper dpkg-dev fakeroot lintian systemd
	make -s deps-deb >/dev/null 2>&1 || skip "SKIP: $c missing and make deps-deb could not install it"
	break
done
for c in $need; do
	command -v "$c" >/dev/null || skip "SKIP: $c missing after make deps-deb"
done

# build (make reuses a package newer than every source file)
out=$(make -s BUILD="$B" deb 2>&1) || fail "make deb: $(echo "$out" | tail -n 30)"
DEB=$B/deb/edgespam_$(cat conf/VERSION)_$(dpkg --print-architecture).deb
[ -f "$DEB" ] || fail "make deb made no $DEB: $(echo "$out" | tail -n 30)"
echo "built: $DEB ($(stat -c %s "$DEB") bytes)"
dpkg-deb -c "$DEB" | awk '{ print "  " $1, $2, $6 }'

# lintian: no error
lt=$(lintian --display-info "$DEB" 2>&1)
rc=$?
lt=$(echo "$lt" | grep -v '^running with root privileges')
errs=$(echo "$lt" | grep -c '^E: ')
# it exits non-zero for error tags; without one, it did not run
[ $rc -eq 0 ] || [ "$errs" -gt 0 ] || fail "lintian did not run (exit $rc): $lt"
echo "lintian: $errs errors, $(echo "$lt" | grep -c '^W: ') warnings, $(echo "$lt" | grep -c '^I: ') info"
[ -n "$lt" ] && echo "$lt" | sed 's/^/  /'
[ "$errs" -eq 0 ] || fail "lintian reports errors"
for u in conf/debian/edgespam.service conf/debian/edgespam.edgespam-purge.service \
	conf/debian/edgespam.edgespam-web.service \
	conf/debian/edgespam.edgespam-maildir-retrain.service; do
	echo "systemd-analyze security $u: $(systemd-analyze security --offline=true "$u" 2>/dev/null |
		sed -n 's/^→ Overall exposure level for [^:]*: //p')"
done

[ "$(id -u)" -eq 0 ] ||
	skip "SKIP: built and lintian-clean, but installing needs root (dpkg -i, user, mounts)"
if ! getent group postfix >/dev/null || [ ! -d /var/spool/postfix ]; then
	sh tests/tools/deps.sh postfix >/dev/null 2>&1 ||
		skip "SKIP: the packaged socket is in Postfix's queue directory, and postfix cannot be installed"
fi

T=$(mktemp -d "${TMPDIR:-/tmp}/edgespam-deb.XXXXXX")
trap 'rm -rf "$T"' EXIT
trap 'exit 1' INT TERM
mkdir -p "$T/files" "$T/ov"
cp "$DEB" "$T/files/edgespam.deb"
cp "$MILTC" tests/sh/lib.sh "$0" conf/edgespam.conf "$T/files/"
[ -f "$T/files/test_deb.sh" ] || cp tests/sh/test_deb.sh "$T/files/"
chmod 0755 "$T" "$T/files"

if [ "${CI:-}" = true ]; then
	echo "mode: CI=true, installing into this machine"
	sh "$T/files/test_deb.sh" --inside "$T/files" ci || exit 1
else
	echo "mode: a throwaway root (an overlay of / in a private mount namespace)"
	if ! unshare -m --propagation private true 2>/dev/null ||
		! unshare -m --propagation private sh -c \
			"mount -t tmpfs tmpfs '$T/ov' && mkdir '$T/ov/u' '$T/ov/w' '$T/ov/m' &&
			 mount -t overlay overlay -o lowerdir=/,upperdir='$T/ov/u',workdir='$T/ov/w' '$T/ov/m'" 2>/dev/null; then
		skip "SKIP: built and lintian-clean, but no throwaway root here (no mount namespace or overlayfs); CI=true installs into the machine"
	fi
	unshare -m --propagation private sh "$T/files/test_deb.sh" --throwaway "$T" || exit 1
	# the same install and checks once more on a throwaway root booted
	# with systemd, where the unit's whole sandbox applies
	if command -v systemd-nspawn >/dev/null; then
		unshare -m --propagation private sh "$T/files/test_deb.sh" --nspawn "$T"
		if [ ! -f "$T/nspawn.result" ]; then
			echo "systemd boot: NOT CHECKED: systemd-nspawn could not boot the throwaway root: $(tail -n 3 "$T/nspawn.log")"
		else
			echo "systemd boot (systemd-nspawn on a throwaway root, the unit started by systemd):"
			sed 's/^/  /' "$T/nspawn.result"
			tail -n 1 "$T/nspawn.result" | grep -qx 'rc=0' || fail "under systemd"
		fi
	else
		echo "systemd boot: NOT CHECKED: no systemd-nspawn (package systemd-container)"
	fi
fi
echo ok
