# lib_postfix.sh - a private Postfix instance for end-to-end tests (sourced).
#
# pf_setup builds a whole Postfix instance under one directory DIR that
# the test made with mktemp -d:
#   DIR/etc     config_directory: main.cf, master.cf, virtual, vmailbox
#   DIR/pipe    aliases and maildrop.filter, owned by the pipe user
#   DIR/spool   queue_directory (pid/master.pid is the instance's master)
#   DIR/data    data_directory
#   DIR/log     maillog: the instance logs here through postlogd, no syslog
#   DIR/mail    example.org/USER/Maildir (with .Spam) for each user
#   DIR/store   for the edgespam store (owned by the pipe user)
# smtpd listens on 127.0.0.1:PORT only; nothing leaves the machine
# (default_transport is the error transport). Mail to USER@example.org is
# delivered by maildrop, through a pipe transport, with the production
# rule: X-DSPAM-Result: Spam goes to .Spam, the rest to the inbox.
# bob-spam@example.org and bob-fp@example.org are aliases that pipe the
# message into $EDGESPAM -c $EDGESPAM_CONF --user bob@example.org
# --addspam (--falsepositive).
#
# The pipes (maildrop and the alias commands) run as one system user,
# printed by pf_pipe_user: $PF_PIPE_USER, default "mail" (in edgespam's
# default trusted_users). Postfix refuses root and its mail_owner. It owns
# the Maildirs and DIR/store; put the store there (store_path =
# DIR/store/edgespam.db) and run the CLI on it with pf_es, or call
# pf_store_own after writing to it as root.
#
# Set before pf_setup: EDGESPAM (default BUILD/edgespam of the project,
# BUILD defaulting to build), EDGESPAM_CONF (default DIR/edgespam.conf,
# written with store_path = DIR/store/edgespam.db when it does not exist),
# PF_PIPE_USER. The instance runs with root's privileges where Postfix
# needs them, so the tests run as root. Functions return non-zero on
# failure and say why on stderr; they never exit.
#
# With a MILTER, smtpd_milters and non_smtpd_milters are set to it, with
# milter_default_action = tempfail, milter_protocol = 6, Postfix's
# default macros and timeouts of 5/10/20 s (connect/command/content).
# Deferred mail is retried after 2 to 4 s (queue_run_delay,
# minimal_backoff_time, maximal_backoff_time).
#
#   pf_free_port                        an unused 127.0.0.1 TCP port
#   pf_setup DIR PORT [MILTER [USER...]]  write the instance
#   pf_setup_relay DIR PORT NEXTHOP_PORT  a relay-only instance in front
#                                       of one (see the function)
#   pf_setup_debian DIR PORT FILTER [USER...]  pf_setup's instance shaped
#                                       like Debian's stock Postfix:
#                                       chroot, aliases as nobody,
#                                       maildrop with FILTER (see there)
#   pf_sasl DIR LOGIN:PASSWORD...       SMTP AUTH against a Cyrus sasldb
#   pf_milter_dir DIR OWNER             the socket directory in the queue
#   pf_debian_master, pf_debian_aliases, pf_chroot  its parts
#   pf_start DIR / pf_stop DIR / pf_reload DIR
#   pf_cleanup DIR                      for a trap: pf_stop, quietly
#   pf_send PORT FROM TO [swaks args]   SMTP to 127.0.0.1:PORT
#   pf_swaks PORT FROM TO [swaks args]  the same, printing the transcript
#   pf_sendmail DIR FROM TO < msg       local submission
#   pf_flush DIR, pf_queue_count DIR, pf_wait_queue_empty DIR TIMEOUT_S
#   pf_wait_relay_empty DIR TIMEOUT_S   the same for a relay (see there)
#   pf_wait_delivered DIR USER COUNT TIMEOUT_S [FOLDER]
#   pf_maildir DIR USER [FOLDER]        the new/ directory of a mailbox
#   pf_log DIR [N]                      the instance's log
#   pf_pipe_user, pf_es ARGS..., pf_store_own DIR
#   pf_postconf DIR ARGS..., pf_master_pid DIR, pf_pids DIR, pf_alive PID
#
# Linux only: pf_pids reads /proc.

PF_DOMAIN=example.org
# postfix, postconf and postqueue live in /usr/sbin
case :$PATH: in *:/usr/sbin:*) ;; *) PATH=$PATH:/usr/sbin; export PATH ;; esac

# the project's top directory: the caller's script lives somewhere below it
if [ -z "${PF_TOP:-}" ]; then
	PF_TOP=$(cd "$(dirname "$0")" 2>/dev/null && pwd)
	while [ -n "$PF_TOP" ] && [ "$PF_TOP" != / ] &&
		[ ! -f "$PF_TOP/tests/sh/lib_postfix.sh" ]; do
		PF_TOP=$(dirname "$PF_TOP")
	done
	[ "$PF_TOP" = / ] && PF_TOP=$(pwd)
fi

# pf_msg - a diagnostic on stderr.
pf_msg() { echo "lib_postfix: $*" >&2; }

# pf_pipe_user - the system user the maildrop and alias pipes run as.
pf_pipe_user() { echo "${PF_PIPE_USER:-mail}"; }

# pf_postconf DIR [postconf args...] - postconf on this instance, e.g.
# pf_postconf DIR -e milter_default_action=accept (then pf_reload).
pf_postconf() {
	_d=$1; shift
	postconf -c "$_d/etc" "$@"
}

# pf_free_port - an unused 127.0.0.1 TCP port (nothing listens on it now).
pf_free_port() {
	_tries=0
	while [ $_tries -lt 100 ]; do
		_tries=$((_tries + 1))
		_p=$(od -An -N2 -tu2 /dev/urandom | tr -d ' ')
		_p=$((20000 + _p % 40000))
		_hex=$(printf ':%04X ' "$_p")
		# local_address is column 2 of /proc/net/tcp{,6}: ADDR:PORT
		if ! awk 'NR > 1 { print $2 " " }' /proc/net/tcp /proc/net/tcp6 2>/dev/null |
			grep -q "$_hex"; then
			echo "$_p"
			return 0
		fi
	done
	pf_msg "no free port found"
	return 1
}

# pf_setup DIR PORT [MILTER] [USER...] - write the instance's
# configuration and directories (see the top of this file). MILTER is
# unix:PATH or inet:PORT@HOST, or empty for none; further arguments are
# more users of example.org.
pf_setup() {
	_dir=$1 _port=$2 _milter=${3:-}
	if [ $# -ge 3 ]; then shift 3; else shift $#; fi
	if [ -z "$_dir" ] || [ ! -d "$_dir" ] || [ -z "$_port" ]; then
		pf_msg "usage: pf_setup DIR PORT [MILTER] [USER...] (DIR must exist)"
		return 1
	fi
	case $_dir in /*) ;; *) _dir=$(cd "$_dir" && pwd) ;; esac
	_pu=$(pf_pipe_user)
	case $_pu in root | postfix)
		pf_msg "PF_PIPE_USER=$_pu: Postfix runs no pipe as root or as its mail_owner"
		return 1 ;;
	esac
	id "$_pu" >/dev/null 2>&1 || { pf_msg "no system user $_pu"; return 1; }
	_pgrp=$(id -gn "$_pu")
	for _c in postfix postconf maildrop maildirmake swaks setpriv; do
		command -v "$_c" >/dev/null || { pf_msg "$_c not installed"; return 1; }
	done
	case ${BUILD:-build} in /*) _b=${BUILD} ;; *) _b=$PF_TOP/${BUILD:-build} ;; esac
	EDGESPAM=${EDGESPAM:-$_b/edgespam}
	EDGESPAM_CONF=${EDGESPAM_CONF:-$_dir/edgespam.conf}

	# Postfix's daemons (user postfix) and the pipes must traverse DIR
	chmod 755 "$_dir" || return 1
	mkdir -p "$_dir/etc" "$_dir/spool" "$_dir/data" "$_dir/log" \
		"$_dir/pipe" "$_dir/mail/$PF_DOMAIN" "$_dir/store" || return 1
	chown root:root "$_dir/etc" "$_dir/spool"
	chmod 755 "$_dir/etc" "$_dir/spool" "$_dir/log" "$_dir/pipe" \
		"$_dir/mail" "$_dir/mail/$PF_DOMAIN"
	chown postfix "$_dir/data" && chmod 700 "$_dir/data"
	chown "$_pu:$_pgrp" "$_dir/store" && chmod 700 "$_dir/store"
	if [ ! -e "$EDGESPAM_CONF" ]; then
		printf 'store_path = %s/store/edgespam.db\nretrain_socket = ""\n' "$_dir" > "$EDGESPAM_CONF" ||
			return 1
	fi
	# a retrain alias that cannot run its program would only show up as a
	# deferred delivery in the log
	if ! setpriv --reuid="$_pu" --regid="$_pgrp" --clear-groups \
		test -x "$EDGESPAM"; then
		pf_msg "$EDGESPAM: not executable by $_pu (the retrain aliases run it)"
		return 1
	fi

	pf_write_main "$_dir" "$_port" "$_milter" || return 1
	pf_write_master "$_dir" "$_port" "$_pu" || return 1
	pf_write_maps "$_dir" "$_pu" "$_pgrp" alice bob carol "$@" || return 1
	pf_write_filter "$_dir" "$_pu" "$_pgrp" || return 1
	# pf_start's "postfix start" creates the queue's subdirectories
	return 0
}

# pf_main_common DIR MYHOSTNAME - the main.cf lines every instance
# shares: its directories and log, SMTP on 127.0.0.1 for 127.0.0.0/8,
# no DNS, no delays.
pf_main_common() {
	cat <<EOF
compatibility_level = 3.6
queue_directory = $1/spool
data_directory = $1/data
mail_owner = postfix
setgid_group = postdrop
maillog_file = $1/log/maillog
maillog_file_prefixes = $1/log
myhostname = $2
mydomain = test
myorigin = \$myhostname
inet_interfaces = 127.0.0.1
inet_protocols = ipv4
mynetworks = 127.0.0.0/8
smtpd_relay_restrictions = permit_mynetworks, reject_unauth_destination
smtpd_sasl_auth_enable = no
smtpd_peername_lookup = no
smtpd_error_sleep_time = 0
smtputf8_enable = no
append_dot_mydomain = no
biff = no
maximal_queue_lifetime = 1h
bounce_queue_lifetime = 1h
delay_warning_time = 0
in_flow_delay = 0
EOF
}

# pf_write_main DIR PORT MILTER - main.cf.
pf_write_main() {
	{
		echo "# main.cf of a test instance, written by tests/sh/lib_postfix.sh"
		pf_main_common "$1" mx.test
		cat <<EOF
mydestination = \$myhostname, localhost
recipient_delimiter = +
# nothing leaves the machine
default_transport = error:mail leaves no test instance
relay_transport = error:mail leaves no test instance
alias_maps = texthash:$1/pipe/aliases
alias_database =
virtual_alias_maps = texthash:$1/etc/virtual
virtual_mailbox_domains = $PF_DOMAIN
virtual_mailbox_maps = texthash:$1/etc/vmailbox
virtual_transport = maildrop
maildrop_destination_recipient_limit = 1
# a deferred recipient is retried within seconds
queue_run_delay = 2s
minimal_backoff_time = 2s
maximal_backoff_time = 4s
EOF
	} > "$1/etc/main.cf"
	[ -n "$3" ] || return 0
	cat >> "$1/etc/main.cf" <<EOF
smtpd_milters = $3
non_smtpd_milters = $3
milter_default_action = tempfail
milter_protocol = 6
milter_connect_timeout = 5s
milter_command_timeout = 10s
milter_content_timeout = 20s
EOF
}

# pf_write_master DIR PORT PIPEUSER - master.cf: one smtpd on
# 127.0.0.1:PORT, the internal services and the maildrop pipe; nothing
# chrooted.
pf_write_master() {
	{
		echo "# master.cf of a test instance, written by tests/sh/lib_postfix.sh"
		echo "127.0.0.1:$2 inet n - n - - smtpd"
		pf_master_services
		echo "local     unix  - n n -  - local"
		echo "maildrop  unix  - n n -  - pipe"
		echo "  flags=DRXhu user=$3 argv=$(command -v maildrop) $1/pipe/maildrop.filter \${user} \${domain}"
	} > "$1/etc/master.cf"
}

# pf_master_services - the master.cf lines of the internal services
# every instance runs.
pf_master_services() {
	cat <<EOF
pickup    unix  n - n 60 1 pickup
cleanup   unix  n - n -  0 cleanup
qmgr      unix  n - n 300 1 qmgr
rewrite   unix  - - n -  - trivial-rewrite
bounce    unix  - - n -  0 bounce
defer     unix  - - n -  0 bounce
trace     unix  - - n -  0 bounce
verify    unix  - - n -  1 verify
flush     unix  n - n 1000? 0 flush
proxymap  unix  - - n -  - proxymap
proxywrite unix - - n -  1 proxymap
showq     unix  n - n -  - showq
error     unix  - - n -  - error
retry     unix  - - n -  - error
discard   unix  - - n -  - discard
anvil     unix  - - n -  1 anvil
scache    unix  - - n -  1 scache
postlog   unix-dgram n - n - 1 postlogd
EOF
}

# pf_write_maps DIR PIPEUSER PIPEGROUP USER... - the mailboxes, the
# retrain aliases and the Maildirs.
pf_write_maps() {
	_md=$1 _mu=$2 _mg=$3
	shift 3
	: > "$_md/etc/vmailbox"
	: > "$_md/etc/virtual"
	for _u in "$@"; do
		echo "$_u@$PF_DOMAIN $PF_DOMAIN/$_u/Maildir/" >> "$_md/etc/vmailbox"
		_m=$_md/mail/$PF_DOMAIN/$_u/Maildir
		if [ ! -d "$_m" ]; then
			mkdir -p "$_md/mail/$PF_DOMAIN/$_u" &&
				maildirmake "$_m" && maildirmake -f Spam "$_m" || return 1
		fi
		chown -R "$_mu:$_mg" "$_md/mail/$PF_DOMAIN/$_u"
	done
	# the retrain aliases go through local(8)
	cat >> "$_md/etc/virtual" <<EOF
bob-spam@$PF_DOMAIN bob-spam@localhost
bob-fp@$PF_DOMAIN bob-fp@localhost
EOF
	# texthash: postmap's "key value" lines, no database to build. local(8)
	# runs the commands (and writes the files) as the owner of this file.
	_q="'"
	cat > "$_md/pipe/aliases" <<EOF
# aliases of a test instance, written by tests/sh/lib_postfix.sh
postmaster $_md/mail/postmaster.mbox
MAILER-DAEMON postmaster
root postmaster
bob-spam "|$_q$EDGESPAM$_q -c $_q$EDGESPAM_CONF$_q --user bob@$PF_DOMAIN --addspam"
bob-fp "|$_q$EDGESPAM$_q -c $_q$EDGESPAM_CONF$_q --user bob@$PF_DOMAIN --falsepositive"
EOF
	chown "$_mu:$_mg" "$_md/pipe/aliases"
	: > "$_md/mail/postmaster.mbox"
	chown "$_mu:$_mg" "$_md/mail/postmaster.mbox"
	chmod 600 "$_md/mail/postmaster.mbox"
}

# pf_write_filter DIR PIPEUSER PIPEGROUP - maildrop's filter; maildrop
# wants it owned by the user it runs as and private. $1 is the user, $2
# the domain (pipe(8)'s ${user} ${domain}).
pf_write_filter() {
	cat > "$1/pipe/maildrop.filter" <<EOF
# maildrop filter of a test instance, written by tests/sh/lib_postfix.sh
# (maildrop 2.9 refuses the statement of an if on the line of its condition)
MAILDIR="$1/mail/\$2/\$1/Maildir"
if (/^X-DSPAM-Result: Spam/:h)
	to "\$MAILDIR/.Spam/"
to "\$MAILDIR/"
EOF
	chown "$2:$3" "$1/pipe/maildrop.filter" &&
		chmod 600 "$1/pipe/maildrop.filter"
}

# pf_setup_relay DIR PORT NEXTHOP_PORT - write a relay-only instance
# under DIR (made with mktemp -d, or a fresh directory): DIR/etc, spool,
# data and log as above, nothing else. Its smtpd on 127.0.0.1:PORT takes
# mail for $PF_DOMAIN from 127.0.0.0/8 and its smtp client relays it to
# 127.0.0.1:NEXTHOP_PORT (the smtpd of an instance made with pf_setup),
# as a sending MTA at the edge would: recipients the next hop refuses
# with 4xx stay in the relay's queue and are retried in a new
# transaction within a second or two (queue_run_delay,
# minimal_backoff_time and maximal_backoff_time are 1s). It delivers
# nothing itself: no local delivery, everything else is refused. Its
# myhostname is relay.test, so the next hop does not look like itself.
# Start and stop it like any instance (pf_start, pf_stop, pf_cleanup).
pf_setup_relay() {
	_dir=$1 _port=$2 _next=$3
	if [ -z "$_dir" ] || [ ! -d "$_dir" ] || [ -z "$_port" ] || [ -z "$_next" ]; then
		pf_msg "usage: pf_setup_relay DIR PORT NEXTHOP_PORT (DIR must exist)"
		return 1
	fi
	case $_dir in /*) ;; *) _dir=$(cd "$_dir" && pwd) ;; esac
	command -v postfix >/dev/null || { pf_msg "postfix not installed"; return 1; }
	chmod 755 "$_dir" || return 1
	mkdir -p "$_dir/etc" "$_dir/spool" "$_dir/data" "$_dir/log" || return 1
	chown root:root "$_dir/etc" "$_dir/spool"
	chmod 755 "$_dir/etc" "$_dir/spool" "$_dir/log"
	chown postfix "$_dir/data" && chmod 700 "$_dir/data"
	{
		echo "# main.cf of a relay test instance, written by tests/sh/lib_postfix.sh"
		pf_main_common "$_dir" relay.test
		cat <<EOF
mydestination =
local_recipient_maps =
local_transport = error:the relay delivers nothing itself
alias_maps =
alias_database =
relay_domains = $PF_DOMAIN
relay_transport = smtp:[127.0.0.1]:$_next
default_transport = error:mail leaves no test instance
smtp_connect_timeout = 5s
# a recipient the next hop deferred is retried within a second or two
queue_run_delay = 1s
minimal_backoff_time = 1s
maximal_backoff_time = 1s
EOF
	} > "$_dir/etc/main.cf" || return 1
	{
		echo "# master.cf of a relay test instance, written by tests/sh/lib_postfix.sh"
		echo "127.0.0.1:$_port inet n - n - - smtpd"
		pf_master_services
		echo "smtp      unix  - - n -  - smtp"
	} > "$_dir/etc/master.cf"
}

# ---- an instance shaped like Debian's stock Postfix ----------------------
#
# pf_setup_debian DIR PORT FILTER [USER...] - pf_setup's instance (its
# directories, mailboxes and maps; MILTER unix:edgespam/milter.sock)
# reshaped as Debian ships and starts Postfix:
#   - master.cf is Debian's own (/usr/share/postfix/master.cf.dist) with
#     its chroot column as shipped: smtpd, cleanup, pickup, the rewrite,
#     bounce and error services run chrooted in the queue directory
#     DIR/spool; only the smtpd service is renamed to 127.0.0.1:PORT and
#     the maildrop transport runs FILTER (see pf_debian_master);
#   - smtpd_milters and non_smtpd_milters are unix:edgespam/milter.sock,
#     a path relative to the queue directory, as the chrooted smtpd and
#     cleanup see it: the milter's socket is DIR/spool/edgespam/milter.sock
#     (make its directory with pf_milter_dir);
#   - the aliases are in aliases(5) form, root's, in a hash: map made by
#     postalias, so local(8) runs their pipes as default_privs (nobody)
#     (see pf_debian_aliases);
#   - mynetworks is 127.0.0.1/32: a client on 127.0.0.2 is an outsider;
#   - the chroot is populated by Debian's configure-instance.sh, which
#     Debian's postfix@.service runs before each start (see pf_chroot).
# Add SMTP AUTH with pf_sasl before pf_start.
pf_setup_debian() {
	if [ $# -lt 3 ]; then
		pf_msg "usage: pf_setup_debian DIR PORT FILTER [USER...]"
		return 1
	fi
	_dd=$1 _dp=$2 _df=$3
	shift 3
	for _c in /usr/share/postfix/master.cf.dist /usr/lib/postfix/configure-instance.sh; do
		[ -f "$_c" ] || { pf_msg "$_c missing: not Debian's Postfix"; return 1; }
	done
	case $_df in /*) ;; *) _df=$(pwd)/$_df ;; esac
	pf_setup "$_dd" "$_dp" unix:edgespam/milter.sock "$@" || return 1
	case $_dd in /*) ;; *) _dd=$(cd "$_dd" && pwd) ;; esac
	pf_postconf "$_dd" -e "mynetworks = 127.0.0.1/32" || return 1
	pf_debian_master "$_dd" "$_dp" "$_df" || return 1
	pf_debian_aliases "$_dd" || return 1
	pf_chroot "$_dd"
}

# pf_debian_master DIR PORT FILTER - master.cf from Debian's shipped
# one: every service with its columns as shipped (comments dropped),
# its "smtp inet" service listening on 127.0.0.1:PORT instead, and its
# maildrop transport (Debian: maildrop -d ${recipient} as vmail) made
# to run FILTER, copied to DIR/pipe/maildroprc (owned by the pipe user,
# mode 0600, as maildrop wants it), in manual mode:
#   env MAILDIR=DIR/mail/DOMAIN/USER/Maildir [SETTING...] maildrop FILTER
# where each SETTING is a line of $PF_MAILDROP_ENV (NAME=VALUE, spaces
# allowed; a "$" must be written "$$" for pipe(8)). maildrop imports
# its environment in manual mode, so the filter reads them as variables.
pf_debian_master() {
	_md=$1 _mp=$2 _mf=$3
	_mu=$(pf_pipe_user)
	rm -f "$_md/pipe/maildrop.filter"
	cp "$_mf" "$_md/pipe/maildroprc" &&
		chown "$_mu:$(id -gn "$_mu")" "$_md/pipe/maildroprc" &&
		chmod 600 "$_md/pipe/maildroprc" || return 1
	_menv=""
	if [ -n "${PF_MAILDROP_ENV:-}" ]; then
		_menv=$(printf '%s\n' "$PF_MAILDROP_ENV" |
			sed -n 's/^\(..*\)$/{ \1 } /p' | tr -d '\n')
	fi
	{
		echo "# master.cf of a test instance: Debian's master.cf.dist, written by tests/sh/lib_postfix.sh"
		awk -v listen="127.0.0.1:$_mp" '
			/^#/ || /^[ \t]*$/ { next }
			/^[^ \t]/ { skip = ($1 == "maildrop") }
			skip { next }
			$1 == "smtp" && $2 == "inet" { sub(/^smtp/, listen) }
			{ print }' /usr/share/postfix/master.cf.dist
		echo "maildrop  unix  -       n       n       -       -       pipe"
		echo "  flags=DRXhu user=$_mu argv=/usr/bin/env MAILDIR=$_md/mail/\${domain}/\${user}/Maildir $_menv$(command -v maildrop) $_md/pipe/maildroprc"
	} > "$_md/etc/master.cf" || return 1
	# what Debian chroots must still be chrooted here
	for _s in "127.0.0.1:$_mp/inet" cleanup/unix; do
		[ "$(postconf -c "$_md/etc" -Fh "$_s/chroot")" = y ] || {
			pf_msg "$_s is not chrooted in Debian's master.cf.dist"; return 1; }
	done
}

# pf_debian_aliases DIR - DIR/pipe/aliases in aliases(5) form, owned by
# root: bob's retrain aliases as the README writes them, with the
# absolute path of $EDGESPAM and -c $EDGESPAM_CONF; a hash: map made by
# postalias (root's too). local(8) runs the commands of a root-owned
# alias map as default_privs, set to Debian's default, nobody. The
# postmaster's mailbox belongs to nobody, so a bounce is delivered.
pf_debian_aliases() {
	_ad=$1
	case "$EDGESPAM$EDGESPAM_CONF" in *[[:space:]\"\'\\]*)
		pf_msg "an alias line cannot name $EDGESPAM or $EDGESPAM_CONF (space, quote or backslash)"
		return 1 ;;
	esac
	{
		echo "# aliases of a test instance, written by tests/sh/lib_postfix.sh"
		echo "postmaster: $_ad/mail/postmaster.mbox"
		echo "MAILER-DAEMON: postmaster"
		echo "root: postmaster"
		for _a in spam:addspam fp:falsepositive allow:allow-sender block:block-sender; do
			echo "bob-${_a%%:*}: \"|$EDGESPAM -c $EDGESPAM_CONF --user bob@$PF_DOMAIN --${_a#*:}\""
		done
	} > "$_ad/pipe/aliases" || return 1
	printf 'bob-allow@%s bob-allow@localhost\nbob-block@%s bob-block@localhost\n' \
		"$PF_DOMAIN" "$PF_DOMAIN" >> "$_ad/etc/virtual"
	chown root:root "$_ad/pipe/aliases" && chmod 644 "$_ad/pipe/aliases" &&
		chown nobody "$_ad/mail/postmaster.mbox" &&
		postalias -c "$_ad/etc" "hash:$_ad/pipe/aliases" &&
		pf_postconf "$_ad" -e "alias_maps = hash:$_ad/pipe/aliases" \
			"alias_database = hash:$_ad/pipe/aliases" "default_privs = nobody"
}

# pf_chroot DIR - populate the chroot (the queue directory) as Debian
# does before each start: its /usr/lib/postfix/configure-instance.sh,
# run on this instance (MAIL_CONFIG names the configuration; "-" its
# default instance), copies etc/localtime, services, resolv.conf,
# hosts, host.conf and nsswitch.conf, /dev/random and /dev/urandom, and
# the NSS, resolver and libgcc_s libraries into DIR/spool.
pf_chroot() {
	if ! MAIL_CONFIG=$1/etc sh /usr/lib/postfix/configure-instance.sh - \
		>"$1/log/configure-instance.out" 2>&1; then
		cat "$1/log/configure-instance.out" >&2
		pf_msg "configure-instance.sh failed"
		return 1
	fi
	[ -f "$1/spool/etc/services" ] ||
		{ pf_msg "configure-instance.sh did not populate $1/spool"; return 1; }
}

# pf_milter_dir DIR OWNER - the milter socket's directory in the queue
# directory, DIR/spool/edgespam, as the package makes it: OWNER (the
# milter's user), group postfix, mode 2750 (smtpd and cleanup reach the
# socket through the group; nobody else gets in). Prints the socket's
# path (for milter_socket = unix:PATH).
pf_milter_dir() {
	mkdir -p "$1/spool/edgespam" && chown "$2:postfix" "$1/spool/edgespam" &&
		chmod 2750 "$1/spool/edgespam" || return 1
	echo "$1/spool/edgespam/milter.sock"
}

# pf_sasl DIR LOGIN:PASSWORD... - SMTP AUTH (PLAIN and LOGIN; no TLS
# required, smtpd_tls_auth_only = no) against a Cyrus sasldb, with the
# instance's own configuration: Debian's Postfix reads it only from
# $config_directory/sasl/smtpd.conf (a Debian patch; it ignores
# cyrus_sasl_config_path), here DIR/etc/sasl/smtpd.conf. The sasldb,
# DIR/etc/sasl/sasldb2 (root:postfix 0640), is made with saslpasswd2
# -f; LOGIN is user@realm. smtpd loads the plugins before it enters
# its chroot but opens the sasldb after, so the file is copied to the
# same path below the queue directory (DIR/spool/DIR/etc/sasl/sasldb2),
# as a Debian admin copies /etc/sasldb2 to
# /var/spool/postfix/etc/sasldb2. Authenticated clients may relay.
pf_sasl() {
	_sd=$1
	shift
	command -v saslpasswd2 >/dev/null ||
		{ pf_msg "saslpasswd2 not installed (sasl2-bin)"; return 1; }
	_sdb=$_sd/etc/sasl/sasldb2
	mkdir -p "$_sd/etc/sasl" && chmod 755 "$_sd/etc/sasl" || return 1
	printf 'pwcheck_method: auxprop\nauxprop_plugin: sasldb\nmech_list: PLAIN LOGIN\nsasldb_path: %s\n' \
		"$_sdb" > "$_sd/etc/sasl/smtpd.conf" || return 1
	rm -f "$_sdb"
	for _l in "$@"; do
		_lu=${_l%%:*} _lp=${_l#*:}
		printf '%s' "$_lp" | saslpasswd2 -f "$_sdb" -p -c -u "${_lu#*@}" "${_lu%%@*}" ||
			{ pf_msg "saslpasswd2 for $_lu failed"; return 1; }
	done
	chown root:postfix "$_sdb" && chmod 640 "$_sdb" &&
		mkdir -p "$_sd/spool$_sd/etc/sasl" &&
		cp -p "$_sdb" "$_sd/spool$_sdb" || return 1
	pf_postconf "$_sd" -e "smtpd_sasl_auth_enable = yes" "smtpd_sasl_type = cyrus" \
		"smtpd_sasl_path = smtpd" "smtpd_tls_auth_only = no" \
		"smtpd_sasl_security_options = noanonymous" \
		"smtpd_relay_restrictions = permit_mynetworks, permit_sasl_authenticated, reject_unauth_destination"
}

# pf_start DIR - start the instance; returns when its master is ready.
pf_start() {
	if ! postfix -c "$1/etc" start >"$1/log/start.out" 2>&1; then
		cat "$1/log/start.out" >&2
		pf_msg "postfix start failed; log:"
		pf_log "$1" 20 >&2
		return 1
	fi
}

# pf_reload DIR - make a running instance reread its configuration.
pf_reload() { postfix -c "$1/etc" reload >/dev/null 2>&1; }

# pf_master_pid DIR - the pid of the instance's master if it is running.
pf_master_pid() {
	_mf=$1/spool/pid/master.pid
	[ -f "$_mf" ] || return 1
	_mp=$(tr -d ' \n' < "$_mf")
	[ -n "$_mp" ] && kill -0 "$_mp" 2>/dev/null || return 1
	# a stale pid file could name another program by now
	grep -qzx "MAIL_CONFIG=$1/etc" "/proc/$_mp/environ" 2>/dev/null || return 1
	echo "$_mp"
}

# pf_alive PID - whether process PID exists and is not a zombie.
pf_alive() {
	kill -0 "$1" 2>/dev/null || return 1
	_st=$(sed 's/.*) //' "/proc/$1/stat" 2>/dev/null | cut -d' ' -f1)
	[ -n "$_st" ] && [ "$_st" != Z ] && [ "$_st" != X ]
}

# pf_pids DIR - the pids of every process of this instance: those with
# its MAIL_CONFIG in their environment (the master passes it to its
# daemons, pipe(8) and local(8) to their commands) and the rest of the
# master's session.
pf_pids() {
	_pm=$(pf_master_pid "$1") || _pm=-
	{
		grep -lzx "MAIL_CONFIG=$1/etc" /proc/[0-9]*/environ 2>/dev/null |
			sed 's|^/proc/\([0-9]*\)/environ$|\1|'
		ps -eo pid=,sid=,stat= |
			awk -v s="$_pm" '$2 == s && $3 !~ /^Z/ { print $1 }'
	} | grep -vx "$$" | sort -un
}

# pf_stop DIR - stop the instance and wait until none of its processes
# is left. When postfix stop does not do it, the master is killed by the
# pid in the queue directory, then the stragglers of this instance.
pf_stop() {
	[ -d "$1/etc" ] || return 0
	_sm=$(pf_master_pid "$1") || _sm=""
	[ -z "$_sm" ] && [ -z "$(pf_pids "$1")" ] && return 0
	postfix -c "$1/etc" stop >/dev/null 2>&1
	_i=0
	while [ -n "$_sm" ] && [ $_i -lt 50 ] && pf_alive "$_sm"; do
		sleep 0.1; _i=$((_i + 1))
	done
	if [ -n "$_sm" ] && pf_alive "$_sm"; then
		pf_msg "postfix stop did not stop master $_sm; killing it"
		kill -TERM "$_sm" 2>/dev/null
		sleep 1
		pf_alive "$_sm" && kill -KILL "$_sm" 2>/dev/null
	fi
	# daemons exit by themselves once their master is gone
	_i=0
	while [ $_i -lt 50 ] && [ -n "$(pf_pids "$1")" ]; do
		sleep 0.1; _i=$((_i + 1))
	done
	_left=$(pf_pids "$1")
	if [ -n "$_left" ]; then
		pf_msg "killing what is left of the instance: $_left"
		# shellcheck disable=SC2086
		kill -KILL $_left 2>/dev/null
		sleep 0.2
	fi
	[ -z "$(pf_pids "$1")" ]
}

# pf_cleanup DIR - for a trap: stop the instance (quietly), nothing else.
pf_cleanup() { [ -n "${1:-}" ] && pf_stop "$1" >/dev/null 2>&1; return 0; }

# pf_flush DIR - attempt delivery of every queued message now.
pf_flush() { postqueue -c "$1/etc" -f >/dev/null 2>&1; }

# pf_queue_count DIR - the number of messages in the instance's queue.
pf_queue_count() {
	_qd=$1/spool
	find "$_qd/maildrop" "$_qd/incoming" "$_qd/active" "$_qd/deferred" \
		"$_qd/hold" -type f 2>/dev/null | wc -l | tr -d ' '
}

# pf_wait_queue_empty DIR TIMEOUT_S - wait until the queue is empty;
# on timeout print the queue and return 1.
pf_wait_queue_empty() {
	_end=$(($(date +%s) + $2))
	while [ "$(pf_queue_count "$1")" -ne 0 ]; do
		if [ "$(date +%s)" -ge $_end ]; then
			echo "queue not empty after $2 s: $(pf_queue_count "$1") messages"
			postqueue -c "$1/etc" -p 2>&1 | head -20
			return 1
		fi
		sleep 0.1
	done
}

# pf_wait_relay_empty DIR TIMEOUT_S - pf_wait_queue_empty for an
# instance of pf_setup_relay. With its 1s backoff times the queue manager
# can pick a deferred message up again while the smtp client that just
# deferred it still holds its lock; it logs "QUEUEID: skipped, still
# being delivered" and puts the message aside for 60 s. While a message
# so logged is in the queue, the wait flushes the queue once a second, so
# the retry comes from the queue as before, only without that minute.
pf_wait_relay_empty() {
	_end=$(($(date +%s) + $2)) _said=""
	while [ "$(pf_queue_count "$1")" -ne 0 ]; do
		if [ "$(date +%s)" -ge $_end ]; then
			echo "relay queue not empty after $2 s: $(pf_queue_count "$1") messages"
			postqueue -c "$1/etc" -p 2>&1 | head -20
			return 1
		fi
		if pf_put_aside "$1"; then
			[ -n "$_said" ] || pf_msg "$1: a message was put aside for 60 s (still locked); flushing"
			_said=1
			pf_flush "$1"
			sleep 0.9
		fi
		sleep 0.1
	done
}

# pf_put_aside DIR - whether a message in the queue was logged as
# "skipped, still being delivered" (the queue file names are the ids).
pf_put_aside() {
	_qids=$(find "$1/spool/incoming" "$1/spool/active" "$1/spool/deferred" \
		-type f 2>/dev/null | sed 's|.*/||')
	[ -n "$_qids" ] || return 1
	pf_log "$1" | sed -n 's/.*: \([0-9A-Za-z]*\): skipped, still being delivered$/\1/p' |
		grep -qxF "$_qids"
}

# pf_maildir DIR USER [FOLDER] - the new/ directory of USER's inbox, or
# of its FOLDER (e.g. Spam).
pf_maildir() {
	_m=$1/mail/$PF_DOMAIN/${2%@*}/Maildir
	[ -n "${3:-}" ] && _m=$_m/.$3
	echo "$_m/new"
}

# pf_wait_delivered DIR USER COUNT TIMEOUT_S [FOLDER] - wait until USER's
# Maildir/new (or Maildir/.FOLDER/new) holds COUNT messages. On timeout,
# or when it holds more, print how many are there and return 1.
pf_wait_delivered() {
	_nd=$(pf_maildir "$1" "$2" "${5:-}")
	_end=$(($(date +%s) + $4))
	while :; do
		_n=$(find "$_nd" -type f 2>/dev/null | wc -l | tr -d ' ')
		[ "$_n" -eq "$3" ] && return 0
		if [ "$_n" -gt "$3" ]; then
			echo "$_nd holds $_n messages, want $3"
			return 1
		fi
		if [ "$(date +%s)" -ge $_end ]; then
			echo "$_nd holds $_n messages after $4 s, want $3"
			return 1
		fi
		sleep 0.1
	done
}

# pf_send PORT FROM TO [swaks args...] - one SMTP transaction against
# 127.0.0.1:PORT; quiet unless swaks fails; returns swaks' exit status.
pf_send() {
	_out=$(pf_swaks "$@")
	_rc=$?
	[ $_rc -eq 0 ] || printf '%s\nswaks exit %s\n' "$_out" "$_rc" >&2
	return $_rc
}

# pf_swaks PORT FROM TO [swaks args...] - pf_send's transaction, its
# whole transcript on stdout (the queue id is on the line
# "<-  250 2.0.0 Ok: queued as QUEUEID", a refusal on a "<**" line);
# returns swaks' exit status.
pf_swaks() {
	_sp=$1 _sf=$2 _st=$3
	shift 3
	swaks --server 127.0.0.1 --port "$_sp" --helo client.test \
		--from "$_sf" --to "$_st" --timeout 60 "$@" 2>&1
}

# pf_sendmail DIR FROM TO < message - local submission through this
# instance's sendmail (postdrop, pickup, cleanup: non_smtpd_milters).
pf_sendmail() {
	_smp=$(postconf -c "$1/etc" -h sendmail_path) || return 1
	MAIL_CONFIG=$1/etc "$_smp" -C "$1/etc" -f "$2" -- "$3"
}

# pf_log DIR [N] - the instance's log (its last N lines).
pf_log() {
	if [ -n "${2:-}" ]; then
		tail -n "$2" "$1/log/maillog" 2>/dev/null
	else
		cat "$1/log/maillog" 2>/dev/null
	fi
}

# pf_es ARGS... - the edgespam CLI on $EDGESPAM_CONF as the pipe user,
# so the store stays writable by the pipes.
pf_es() {
	setpriv --reuid="$(pf_pipe_user)" --regid="$(id -g "$(pf_pipe_user)")" \
		--init-groups "$EDGESPAM" -c "$EDGESPAM_CONF" "$@"
}

# pf_store_own DIR - give DIR/store and its files back to the pipe user
# (after the store was written as root).
pf_store_own() {
	chown -R "$(pf_pipe_user):$(id -gn "$(pf_pipe_user)")" "$1/store"
}
