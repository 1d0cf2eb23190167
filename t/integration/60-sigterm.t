#!/usr/bin/perl
# 60-sigterm.t — SIGTERM drains in-flight requests and the master exits
# within 10 s:
#   a background psql session holds an ACCESS EXCLUSIVE lock on
#   schema_migrations, so GET /api/health/ready (its per-worker cache cold)
#   blocks in the database; SIGTERM goes to the master while that request is
#   in flight.  The response must arrive complete from the app (200 ready or
#   503 not_ready, JSON) — never a 502/504 from nginx — the master and all its
#   workers are gone within 10 s, the socket is removed and the log ends with
#   "stopped".  Then the app is started again (END block, also on failure).

use strict;
use warnings;
use Test::More;
use POSIX ();
use Time::HiRes qw(sleep time);
use Mojo::JSON qw(decode_json);
use Stack;

BAIL_OUT('no stack: RP_STACK_ENV does not describe a running stack (run make test)')
	unless Stack::available();

my ($psql_pid, $req_pid);
END {
	local $?;
	for my $p (grep { defined } $req_pid, $psql_pid) {
		kill 'KILL', $p;
		waitpid $p, 0;
	}
	Stack::restore_stack(30) or diag 'stack NOT healthy after 60-sigterm.t';
}

ok(Stack::wait_healthy(15), 'starts healthy') or BAIL_OUT('stack not healthy');
my ($master, @workers) = Stack::app_pids();
ok($master, "master $master with " . scalar(@workers) . ' workers');

# Let every worker's cached readiness expire (cached for up to 1 s).
sleep 1.2;

my $HOLD = 1.5;    # seconds the lock is held (the app's lock_timeout is 1.5 s)
$psql_pid = Stack::psql_bg("BEGIN; LOCK TABLE schema_migrations IN ACCESS EXCLUSIVE MODE; "
	. "SELECT pg_sleep($HOLD); COMMIT;");
my $locked = Stack::wait_for(sub {
	Stack::psql(q{SELECT count(*) FROM pg_locks l JOIN pg_class c ON c.oid = l.relation
		WHERE c.relname = 'schema_migrations' AND l.mode = 'AccessExclusiveLock' AND l.granted}) > 0;
}, 5, 0.02);
ok($locked, 'a background session holds the lock on schema_migrations')
	or BAIL_OUT('could not take the lock');

# The request, from a child process: status, content type, elapsed, body.
my $off = Stack::app_log_size();
pipe(my $r, my $w) or die "pipe: $!";
my $t0 = time;
$req_pid = fork // die "fork: $!";
if ($req_pid == 0) {
	close $r;
	my $ua = Stack::ua()->request_timeout(15)->inactivity_timeout(15);
	my $tx = $ua->get(Stack::url('/api/health/ready') => { 'X-Request-Id' => "sigterm-$$" });
	my $res = $tx->res;
	printf $w "%d\n%s\n%s\n%.3f\n%s", $res->code // 0, $res->headers->content_type // '',
		$tx->error ? $tx->error->{message} : '', time - $t0, $res->body // '';
	close $w;
	POSIX::_exit(0);
}
close $w;

sleep 0.4;
my $t_term = time;
is(kill('TERM', $master), 1, "SIGTERM to the master ($master) with the request in flight");

my $gone = Stack::wait_for(sub { !Stack::service_pid('app') }, 10, 0.05);
my $took = time - $t_term;
ok($gone, sprintf 'the master exited within 10 s (%.2f s)', $took);

my $out = do { local $/; <$r> };
close $r;
waitpid $req_pid, 0;
my $rid = "sigterm-$req_pid";
undef $req_pid;
my ($code, $ctype, $err, $elapsed, $body) = split /\n/, $out // '', 5;
$code //= 0;

ok($elapsed > 0.4, "the request was still in flight at SIGTERM (took $elapsed s)");
ok($code == 200 || $code == 503, "the in-flight request got the app's answer ($code)")
	or diag "error: $err; body: $body";
isnt($code, 502, 'not a 502 from nginx');
isnt($code, 504, 'not a 504 from nginx');
like($ctype // '', qr{^application/json\b}, 'its body is the app\'s JSON');
my $j = eval { decode_json($body // '') } // {};
like($j->{status} // '', qr/^(?:ready|not_ready)$/, "complete JSON body (status $j->{status})");
ok(ref $j->{checks} eq 'HASH', 'the body has the checks');

is(Stack::wait_pid($psql_pid, 10), 0, 'the lock session finished cleanly');
undef $psql_pid;

sub alive {
	open my $fh, '<', "/proc/$_[0]/stat" or return 0;
	my $st = <$fh> // '';
	return $st =~ /\)\s+([A-Za-z])\s/ && $1 ne 'Z' && $1 ne 'X';
}
my @left = grep { alive($_) } @workers;
is_deeply(\@left, [], 'no worker outlived the master');
ok(!-e Stack::env('FCGI_SOCKET'), 'the FastCGI socket was removed');

my @log = Stack::app_log_json_since($off);
my @mine = grep { ($_->{request_id} // '') eq $rid } @log;
is(scalar @mine, 1, 'the in-flight request was logged once');
is(($mine[0] // {})->{status}, $code, 'with the status it answered');
ok((grep { ($_->{msg} // '') =~ /^shutting down/ } @log), 'the master logs the shutdown');
is(($log[-1] // {})->{msg}, 'stopped', 'the last line of the log is "stopped"');

# ------------------------------------------------------------------- restart

ok(Stack::start_service('app'), 'app started again');
ok(Stack::wait_healthy(20), 'healthy again after the restart');
my ($m2, @w2) = Stack::app_pids();
isnt($m2, $master, 'a new master');
is(scalar @w2, Stack::env('WORKERS') || 4, 'a full pool');

done_testing();
