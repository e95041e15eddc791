#!/bin/sh
# postfix.sh CORPUS WORKDIR - make bench, the whole path: messages
# through a private Postfix instance (tests/sh/lib_postfix.sh): SMTP from
# smtp-source over 8 parallel sessions, smtpd, cleanup, the queue and
# maildrop delivery into a Maildir. Timed from the first connection until
# the queue is empty and every message is in the recipient's Maildir
# (inbox or .Spam): once without a milter, then once with
# edgespam-milter (TEFT on a fresh SQLite store, the recipient opted in).
# Each run has its own instance, torn down after it. Every message comes
# from one sender, so the milter's sender whitelist is off: each message
# is classified and learned, as mail from many senders would be.
# Every message is the same one: the ham message of CORPUS's easy-ham-1
# with the median size (its mbox "From " line removed).
# Prints "key value" lines: postfix.without.rate, postfix.with.rate
# (messages/s), postfix.without.messages, postfix.with.messages (the
# number delivered, always N), postfix.message_bytes.
#   POSTFIX_MESSAGES=2000 (messages per run)
# Needs root (a Postfix instance), postfix, maildrop, swaks, setpriv and
# smtp-source; without them it says why on stderr and prints nothing.
# WORKDIR must be a directory of its own (make bench's temporary one):
# the Postfix daemons and the delivery user must traverse it, so it is
# made searchable by all (mode o+x).
set -eu
corpus=$1
TOP=$(cd "$(dirname "$0")/../.." && pwd)
cd "$TOP"
BUILD=${BUILD:-build}
case $BUILD in /*) B=$BUILD ;; *) B=$TOP/$BUILD ;; esac
N=${POSTFIX_MESSAGES:-2000}
TIMEOUT=600
skip() { echo "bench: postfix: skipped: $*" >&2; exit 0; }
[ "$(id -u)" -eq 0 ] || skip "not root (a Postfix instance needs root to start)"
PATH=$PATH:/usr/sbin
for c in postfix maildrop swaks setpriv smtp-source; do
	command -v "$c" >/dev/null || skip "$c not installed (make deps)"
done
[ -x "$B/edgespam-milter" ] && [ -x "$B/edgespam" ] || skip "programs not built"
. tests/sh/lib_postfix.sh

chmod o+x "$2"
work=$2/postfix
mkdir -p "$work"
msg=$work/message.eml
f=$(find "$corpus/easy-ham-1" -name '*.txt' -type f -printf '%s %p\n' | sort -n |
	awk '{ p[NR] = $2 } END { if (NR) print p[int((NR + 1) / 2)] }')
[ -n "$f" ] || { echo "bench: postfix: no easy-ham-1/*.txt under $corpus" >&2; exit 1; }
sed '1{/^From /d}' "$f" > "$msg"
echo "bench: postfix: $N messages of $(wc -c < "$msg") bytes ($(basename "$f"))" >&2

D=""
MPID=""
cleanup() {
	[ -n "$MPID" ] && kill -TERM "$MPID" 2>/dev/null && wait "$MPID" 2>/dev/null
	MPID=""
	[ -n "$D" ] && pf_cleanup "$D"
	D=""
}
trap 'cleanup' EXIT
trap 'exit 1' INT TERM

# delivered DIR - the number of messages in bob's inbox and .Spam
delivered() {
	find "$(pf_maildir "$1" bob)" "$(pf_maildir "$1" bob Spam)" -type f | wc -l
}

# run NAME MILTER - one timed run on a fresh instance; MILTER is a
# socket for edgespam-milter or empty for none
run() {
	D=$work/$1
	mkdir -p "$D"
	port=$(pf_free_port)
	EDGESPAM=$B/edgespam
	EDGESPAM_CONF=$D/edgespam.conf
	cat > "$EDGESPAM_CONF" <<EOC
store_path = $D/store/edgespam.db
milter_socket = ${2:-unix:$D/unused.sock}
milter_socket_owner = postfix
user = $(pf_pipe_user)
pid_file = $D/milter.pid
default_policy = opt-in
training_mode = teft
whitelist_threshold = 0
log_level = warning
EOC
	chmod 644 "$EDGESPAM_CONF"
	pf_setup "$D" "$port" "$2" >&2 || { echo "bench: postfix: pf_setup failed" >&2; return 1; }
	if [ -n "$2" ]; then
		pf_es user bob@example.org opt-in >&2
		"$B/edgespam-milter" -f -c "$EDGESPAM_CONF" 2> "$D/milter.log" &
		MPID=$!
		i=0
		until [ -S "${2#unix:}" ]; do
			i=$((i + 1))
			if [ $i -gt 100 ] || ! kill -0 "$MPID" 2>/dev/null; then
				echo "bench: postfix: the milter did not start" >&2
				cat "$D/milter.log" >&2
				return 1
			fi
			sleep 0.1
		done
	fi
	pf_start "$D" >&2 || return 1
	echo "bench: postfix: $1 the milter, $N messages, 8 sessions" >&2
	t0=$(date +%s.%N)
	if ! smtp-source -s 8 -m "$N" -F "$msg" -M client.test -f bench@example.net \
		-t bob@example.org "127.0.0.1:$port" > "$D/smtp-source.out" 2>&1; then
		echo "bench: postfix: smtp-source failed:" >&2
		tail -n 5 "$D/smtp-source.out" >&2
		return 1
	fi
	end=$(($(date +%s) + TIMEOUT))
	while [ "$(pf_queue_count "$D")" -ne 0 ] || [ "$(delivered "$D")" -lt "$N" ]; do
		if [ "$(date +%s)" -ge $end ]; then
			echo "bench: postfix: $1: after $TIMEOUT s $(delivered "$D") of $N delivered," \
				"$(pf_queue_count "$D") in the queue" >&2
			pf_log "$D" 10 >&2
			return 1
		fi
		sleep 0.1
	done
	t1=$(date +%s.%N)
	n=$(delivered "$D")
	[ "$n" -eq "$N" ] || { echo "bench: postfix: $1: $n delivered, want $N" >&2; return 1; }
	echo "postfix.$1.messages $n"
	awk -v n="$n" -v a="$t0" -v b="$t1" -v k="postfix.$1.rate" \
		'BEGIN { printf "%s %.1f\n", k, n / (b - a) }'
	cleanup
}

echo "postfix.message_bytes $(wc -c < "$msg")"
run without ""
run with "unix:$work/with/milter.sock"
