#!/usr/bin/perl
# 440-stunnel-redis.t — conf/stunnel/redis-client.conf, the recipe the app's
# rediss:// error message points at, actually works:
#   a throwaway redis-server that speaks only TLS (a test CA, name
#   redis.test, requirepass), stunnel4 running the shipped recipe with only
#   its addresses and CA file changed → redis-cli PING through the tunnel;
#   plain text to the TLS port does not work; rankpulse check-config accepts
#   the tunnel's redis:// URL and refuses rediss:// naming the recipe;
#   `rankpulse rebuild-cache` through the tunnel fills that Redis (read back
#   over TLS); a tunnel whose checkHost does not match the certificate
#   refuses to connect (certificate verification is on).
# Touches nothing of the stack (rebuild-cache only reads its PostgreSQL).

use strict;
use warnings;
use Test::More;
use File::Temp qw(tempdir);
use IO::Socket::INET;
use POSIX qw(WNOHANG);
use Time::HiRes qw(sleep time);
use Stack;

BAIL_OUT('no stack: RP_STACK_ENV does not describe a running stack (run make test)')
	unless Stack::available();
my %tool;
for my $t (qw(stunnel4 stunnel redis-server redis-cli openssl)) {
	my ($rc, $o) = Stack::run_cmd([ 'sh', '-c', "command -v $t" ]);
	chomp($tool{$t} = $o) if $rc == 0;
}
my $STUNNEL = $tool{stunnel4} // $tool{stunnel};
ok($STUNNEL, 'stunnel is installed (package stunnel4, scripts/deps.sh)')
	or BAIL_OUT('stunnel4 missing: add it to scripts/deps.sh');

my $REPO = Stack::repo();
my $T = tempdir('t440-XXXXXX', TMPDIR => 1, CLEANUP => 1);
sub free_port { IO::Socket::INET->new(Listen => 1, LocalAddr => '127.0.0.1', LocalPort => 0)->sockport }
sub slurp { my ($f) = @_; open my $fh, '<', $f or return undef; local $/; return <$fh> }
sub sh { my ($rc, $o, $e) = Stack::run_cmd([@_]); return ($rc, $o, $e) }

my @PIDS;
END {
	local $?;
	for my $p (@PIDS) {
		kill 'TERM', $p;
		my $t = time + 3;
		sleep 0.05 while waitpid($p, WNOHANG) == 0 && time < $t;
		kill 'KILL', $p if kill 0, $p;
	}
}
sub spawn {
	my ($log, @cmd) = @_;
	my $pid = fork // die "fork: $!";
	if ($pid == 0) {
		open STDIN, '<', '/dev/null';
		open STDOUT, '>', $log;
		open STDERR, '>&', \*STDOUT;
		exec(@cmd) or POSIX::_exit(127);
	}
	push @PIDS, $pid;
	return $pid;
}
sub listening { my ($port) = @_; return Stack::wait_for(sub { IO::Socket::INET->new(PeerAddr => "127.0.0.1:$port", Timeout => 1) }, 5, 0.05) }

# A CA and a server certificate for redis.test.
my @ec = ('-newkey', 'ec', '-pkeyopt', 'ec_paramgen_curve:prime256v1', '-nodes');
my ($rc, $o, $e) = sh('openssl', 'req', '-x509', @ec, '-keyout', "$T/ca.key", '-out', "$T/ca.pem", '-days', '2', '-subj', '/CN=t440 test CA');
is($rc, 0, 'test CA') or diag $e;
sh('openssl', 'req', @ec, '-keyout', "$T/srv.key", '-out', "$T/srv.csr", '-subj', '/CN=redis.test');
open my $ext, '>', "$T/ext" or die $!;
print $ext "subjectAltName=DNS:redis.test\n";
close $ext;
($rc, $o, $e) = sh('openssl', 'x509', '-req', '-in', "$T/srv.csr", '-CA', "$T/ca.pem", '-CAkey', "$T/ca.key",
	'-CAcreateserial', '-out', "$T/srv.pem", '-days', '2', '-extfile', "$T/ext");
is($rc, 0, 'server certificate for redis.test') or diag $e;

# Redis with TLS only.
my $TLS = free_port();
spawn("$T/redis.log", 'redis-server', '--port', '0', '--tls-port', $TLS, '--tls-cert-file', "$T/srv.pem",
	'--tls-key-file', "$T/srv.key", '--tls-ca-cert-file', "$T/ca.pem", '--tls-auth-clients', 'no',
	'--requirepass', 't440-pass', '--save', '', '--appendonly', 'no', '--dir', $T, '--daemonize', 'no');
ok(listening($TLS), "redis-server with TLS only on 127.0.0.1:$TLS") or diag slurp("$T/redis.log");
local $ENV{REDISCLI_AUTH} = 't440-pass';
($rc, $o, $e) = sh('redis-cli', '-p', $TLS, 'PING');
unlike($o, qr/PONG/, 'plain text to the TLS port gets no PONG');

# The recipe with its addresses and CA changed — nothing else.
my $recipe = slurp("$REPO/conf/stunnel/redis-client.conf");
like($recipe, qr/^\[redis-tls\]$/m, 'recipe: a [redis-tls] service');
like($recipe, qr/^client = yes$/m, '... client mode');
like($recipe, qr/^verifyChain = yes$/m, '... verifies the certificate chain');
like($recipe, qr/^checkHost = /m, '... and the host name');
like($recipe, qr/^foreground = yes$/m, '... runs in the foreground (stunnel@.service)');
sub tunnel_conf {
	my ($port, $host) = @_;
	my $c = $recipe;
	$c =~ s/^connect = .*$/connect = 127.0.0.1:$TLS/m;
	$c =~ s/^accept = .*$/accept = 127.0.0.1:$port/m;
	$c =~ s/^CAfile = .*$/CAfile = $T\/ca.pem/m;
	$c =~ s/redis\.example\.com/$host/g;
	$c =~ s/^set(?:uid|gid) = .*$//mg if $> != 0 || !getpwnam('stunnel4');
	my $f = "$T/stunnel-$port.conf";
	open my $fh, '>', $f or die $!;
	print $fh $c;
	close $fh;
	return $f;
}
my $PLAIN = free_port();
spawn("$T/stunnel.log", $STUNNEL, tunnel_conf($PLAIN, 'redis.test'));
ok(listening($PLAIN), "stunnel (the recipe) listens on 127.0.0.1:$PLAIN") or diag slurp("$T/stunnel.log");
($rc, $o, $e) = sh('redis-cli', '-p', $PLAIN, 'PING');
like($o, qr/^PONG$/m, 'redis-cli PING through the tunnel → PONG') or diag "$o$e" . slurp("$T/stunnel.log");

# rankpulse through the tunnel.
my $bin = Stack::env('RANKPULSE_BIN');
my @env = ('env', '-i', 'PATH=/usr/bin:/bin', 'APP_ENV=test', 'DATABASE_URL=' . Stack::env('DATABASE_URL'),
	map { defined $ENV{$_} ? ("$_=$ENV{$_}") : () } qw(ASAN_OPTIONS UBSAN_OPTIONS LSAN_OPTIONS));
($rc, $o, $e) = sh(@env, "REDIS_URL=redis://:t440-pass\@127.0.0.1:$PLAIN/0", $bin, 'check-config');
is($rc, 0, 'check-config accepts the tunnel\'s redis:// URL') or diag "$o$e";
($rc, $o, $e) = sh(@env, "REDIS_URL=rediss://:t440-pass\@127.0.0.1:$TLS/0", $bin, 'check-config');
isnt($rc, 0, 'check-config refuses rediss://');
like("$o$e", qr{conf/stunnel/redis-client\.conf}, '... pointing at conf/stunnel/redis-client.conf');
ok(-f "$REPO/conf/stunnel/redis-client.conf", '... which exists');

# The Stack's PostgreSQL is only read; the ranks go to the TLS Redis.
my @as = $> == 0 && Stack::env('STACK_USER') ne 'root'
	? ('setpriv', '--reuid=' . Stack::env('STACK_USER'), '--regid=' . (getpwnam Stack::env('STACK_USER'))[3], '--init-groups', '--')
	: ();
($rc, $o, $e) = sh(@as, @env, "REDIS_URL=redis://:t440-pass\@127.0.0.1:$PLAIN/0", $bin, 'rebuild-cache');
is($rc, 0, 'rankpulse rebuild-cache through the tunnel') or diag "$o$e";
($rc, $o) = sh('redis-cli', '--tls', '--cacert', "$T/ca.pem", '--sni', 'redis.test', '-p', $TLS, 'DBSIZE');
cmp_ok(($o =~ /(\d+)/)[0] // 0, '>', 0, "... the TLS Redis now holds the ranks (DBSIZE $o" =~ s/\n//r . ')');

# Verification is real: a tunnel expecting another name refuses.
my $WRONG = free_port();
spawn("$T/stunnel-wrong.log", $STUNNEL, tunnel_conf($WRONG, 'other.test'));
ok(listening($WRONG), 'a second tunnel with checkHost = other.test');
($rc, $o, $e) = sh('redis-cli', '-p', $WRONG, 'PING');
unlike($o, qr/PONG/, '... cannot reach Redis (certificate name mismatch)');
ok(Stack::wait_for(sub { (slurp("$T/stunnel-wrong.log") // '') =~ /verif|check|reject|host/i }, 3),
	'... and stunnel logs the verification failure');

done_testing();
