#!/bin/sh
# maildir.sh - make bench: edgespam maildir-retrain on a generated
# Maildir of MAILDIR_MESSAGES (100000) small messages in Courier's
# layout (INBOX, .Spam, .Trash and eight more folders; cur/ and new/),
# each with an X-DSPAM-Result and a signature id, as the milter leaves
# them: the first run (every header read), an unchanged second run (the
# issue's target: under a second), and a run after 100 messages were
# moved. Prints the figures, writes them to $BUILD/bench/maildir.txt,
# and prints "maildir.KEY VALUE" lines on standard output for run.sh.
#   sh tests/bench/maildir.sh [WORKDIR]   (MAILDIR_MESSAGES, MAILDIR_COLD)
set -eu
BUILD=${BUILD:-build}
N=${MAILDIR_MESSAGES:-100000}
ES=$BUILD/edgespam
[ -x "$ES" ] || { echo "maildir bench: $ES not built" >&2; exit 69; }
command -v perl >/dev/null || { echo "maildir bench: perl missing" >&2; exit 69; }
[ -x /usr/bin/time ] || { echo "maildir bench: /usr/bin/time missing (package time)" >&2; exit 69; }
out=$BUILD/bench
mkdir -p "$out"
base=${1:-${TMPDIR:-/tmp}}
W=$(mktemp -d "$base/edgespam-maildir-bench.XXXXXX")
trap 'rm -rf "$W"' EXIT INT TERM
M=$W/mail/example.org/bob/Maildir
cat > "$W/es.conf" <<EOF
store_path = $W/es.db
default_policy = opt-in
retrain_socket = ""
log_level = err
maildir_path = $W/mail/%d/%u/Maildir
EOF
es() { "$ES" -c "$W/es.conf" "$@"; }
es user bob@example.org opt-in >/dev/null

echo "maildir bench: generating $N messages" >&2
perl -e '
	use strict;
	my ($m, $n) = @ARGV;
	my @f = ("", ".Spam", ".Trash", ".Sent", ".Drafts", ".Archive",
		".Archive.2024", ".Archive.2025", ".Lists", ".Lists.debian", ".Work");
	for my $f (@f) {
		for my $s ("cur", "new", "tmp") {
			my $d = $f eq "" ? "$m/$s" : "$m/$f/$s";
			system("mkdir", "-p", $d) == 0 or die "mkdir $d\n";
		}
	}
	srand(42);
	for my $i (1 .. $n) {
		# a tenth spam (in .Spam), the rest spread over the others
		my $spam = $i % 10 == 0;
		# the inbox holds half of the rest
		my @o = ("", "", "", "", "", "", "", "", ".Trash", ".Sent",
			".Drafts", ".Archive", ".Archive.2024", ".Archive.2025",
			".Lists", ".Lists.debian", ".Work");
		my $f = $spam ? ".Spam" : $o[$i % @o];
		my $sub = $i % 20 == 0 ? "new" : "cur";
		my $name = sprintf("%d.M%dP%d.bench.example.org", 1700000000 + $i, $i, 4242);
		$name .= ":2,S" if $sub eq "cur";
		my $d = $f eq "" ? "$m/$sub" : "$m/$f/$sub";
		my $sig = sprintf("%08x%08x%08x%08x", int(rand(2**32)), int(rand(2**32)), int(rand(2**32)), $i);
		open(my $fh, ">", "$d/$name") or die "$d/$name: $!\n";
		printf $fh "From: sender%d\@example.net\nTo: bob\@example.org\nSubject: message %d\n" .
			"X-DSPAM-Result: %s\nX-DSPAM-Processed: Mon Jan  1 00:00:00 2024\n" .
			"X-DSPAM-Confidence: 0.99\nX-DSPAM-Probability: %s\nX-DSPAM-Signature: %s\n\n" .
			"Hello, this is message %d.\n", $i, $i, $spam ? "Spam" : "Innocent",
			$spam ? "1.0000" : "0.0000", $sig, $i;
		close($fh);
	}' "$M" "$N"
# a mail user's, as on a server (root does not scan a Maildir of root's)
if [ "$(id -u)" -eq 0 ]; then
	chmod 755 "$W"
	chown -R nobody:nogroup "$W/mail"
fi
sync

# run NAME - one maildir-retrain --all, timed: wall seconds in t_NAME,
# CPU seconds (user + system) in c_NAME, its summary line in l_NAME.
# On a loaded machine the wall time is mostly waiting for a CPU.
run() {
	_line=$(/usr/bin/time -o "$W/time" -f "%e %U %S" nice -n 10 \
	    "$ES" -c "$W/es.conf" maildir-retrain --all)
	_s=$(awk '{ printf "%.3f", $1 }' "$W/time")
	_c=$(awk '{ printf "%.3f", $2 + $3 }' "$W/time")
	echo "maildir bench: $1: $_s s wall, $_c s CPU: $_line" >&2
	eval "t_$1=\$_s"
	eval "c_$1=\$_c"
	eval "l_$1=\"\$_line\""
}
# MAILDIR_COLD=1: drop the page cache first (root only; it slows the
# whole machine for a while), for a first run that reads from the disk;
# otherwise the files are warm from their generation
cold=no
if [ "${MAILDIR_COLD:-0}" = 1 ] && [ "$(id -u)" -eq 0 ] &&
    [ -w /proc/sys/vm/drop_caches ]; then
	sync && echo 3 > /proc/sys/vm/drop_caches 2>/dev/null && cold=yes
fi
load=$(cut -d' ' -f1-3 /proc/loadavg)
run first
run second
# move 100 messages from INBOX into .Archive: two folders are listed
# again and only those 100 files are read
ls "$M/cur" | head -n 100 | while read -r f; do mv "$M/cur/$f" "$M/.Archive/cur/$f"; done
run moved
state=$(stat -c %s "$M/edgespam-retrain.state")

{
	echo "edgespam maildir-retrain, generated Maildir: $N messages in 11 folders (small messages)"
	echo "  load average before: $load"
	echo "  first run:            $t_first s wall, $c_first s CPU (page cache dropped first: $cold)"
	echo "    $l_first"
	echo "  unchanged second run: $t_second s wall, $c_second s CPU (target: under 1 s)"
	echo "    $l_second"
	echo "  after moving 100:     $t_moved s wall, $c_moved s CPU"
	echo "    $l_moved"
	echo "  state file: $state bytes"
} > "$out/maildir.txt"
cat "$out/maildir.txt" >&2
echo "maildir.messages $N"
echo "maildir.first_s $t_first"
echo "maildir.first_cpu_s $c_first"
echo "maildir.second_s $t_second"
echo "maildir.second_cpu_s $c_second"
echo "maildir.moved_s $t_moved"
echo "maildir.moved_cpu_s $c_moved"
echo "maildir.state_bytes $state"
