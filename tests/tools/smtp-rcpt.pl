#!/usr/bin/perl
# smtp-rcpt.pl - SMTP transactions with recipient addresses sent byte for
# byte as given (quotes, backslashes, 8-bit, any length), for tests that
# check how a spelling is treated. Reads lines from standard input:
#
#   ID <TAB> RCPT [<TAB> RCPT ...]
#
# and for each line opens a connection to HOST:PORT from the local
# address BIND, says EHLO, MAIL FROM:<FROM> (with SMTPUTF8 when a
# recipient has an 8-bit byte), one RCPT TO:<...> per recipient, and
# when any was accepted, DATA with "Subject: rcpt-test ID" and the
# recipients listed in the body. Prints one line per input line:
#
#   ID <TAB> CODE [<TAB> CODE ...] <TAB> DATA=CODE
#
# (the reply code to each RCPT, then DATA's, "-" when no DATA was sent).
# Exit 0, or 1 when a connection or a reply fails.
#
#   smtp-rcpt.pl HOST PORT BIND FROM < lines
use strict;
use warnings;
use IO::Socket::INET;

my ($host, $port, $bind, $from) = @ARGV;
die "usage: smtp-rcpt.pl HOST PORT BIND FROM < lines\n"
    unless defined $from;

sub reply {
	my ($s) = @_;
	my ($line, $code);
	while (defined($line = <$s>)) {
		$code = substr($line, 0, 3);
		last if substr($line, 3, 1) ne '-';
	}
	die "connection closed\n" unless defined $line;
	return $code;
}

sub cmd {
	my ($s, $text) = @_;
	print $s "$text\r\n";
	return reply($s);
}

while (my $l = <STDIN>) {
	chomp $l;
	next if $l eq '';
	my ($id, @rcpt) = split /\t/, $l;
	my $s = IO::Socket::INET->new(PeerAddr => $host, PeerPort => $port,
	    LocalAddr => $bind, Proto => 'tcp', Timeout => 30)
	    or die "connect $host:$port from $bind: $!\n";
	binmode $s;
	reply($s) eq '220' or die "no greeting\n";
	cmd($s, "EHLO client.test") eq '250' or die "EHLO refused\n";
	my $utf8 = grep { /[\x80-\xff]/ } @rcpt;
	cmd($s, "MAIL FROM:<$from>" . ($utf8 ? " SMTPUTF8" : "")) eq '250'
	    or die "MAIL refused for $id\n";
	my @codes = map { cmd($s, "RCPT TO:<$_>") } @rcpt;
	my $data = '-';
	if (grep { $_ eq '250' } @codes) {
		if (cmd($s, "DATA") eq '354') {
			print $s "From: <$from>\r\nSubject: rcpt-test $id\r\n"
			    . "\r\nrecipients of test $id:\r\n";
			print $s "  $_\r\n" for @rcpt;
			$data = cmd($s, ".");
		} else {
			$data = 'refused';
		}
	}
	print $s "QUIT\r\n";
	close $s;
	print join("\t", $id, @codes, "DATA=$data"), "\n";
}
exit 0;
