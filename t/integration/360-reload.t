#!/usr/bin/perl
# 360-reload.t — `nginx -s reload` keeps serving (SPEC §7): HTTP requests made
# during and after the reload all succeed, the master stays, new workers
# replace the old ones (which leave within worker_shutdown_timeout), no worker
# crashes, the publisher socket still works, a new WebSocket subscriber after
# the reload receives new events, and a pre-reload Last-Event-ID (memory
# storage is dropped by a reload) on a now empty channel is harmless (hazard 2).
use strict;
use warnings;
use Test::More;
use File::Basename qw(dirname);
use Time::HiRes qw(time);
use Mojo::IOLoop;
use Mojo::UserAgent;
use Stack;

plan skip_all => 'no stack: RP_STACK_ENV does not describe a running stack (run make test)'
	unless Stack::available();

my $PREFIX = dirname(Stack::env('NGINX_PID_FILE'));
my @NGINX = ('/usr/sbin/nginx', '-p', "$PREFIX/", '-c', "$PREFIX/nginx.conf", '-e', Stack::env('NGINX_ERROR_LOG'));
END {
	local $?;
	if (Stack::available() && !Stack::service_pid('nginx')) {
		diag 'END: nginx is down; restarting it';
		Stack::restore_stack(30);
	}
}

my (undef, $A, $B, $C) = Stack::T::setup_players(prefix => 't360', n => 3, login => 2, addr => '127.0.3.60');
Stack::RT::warm_boards($A);

my ($master, @old) = Stack::RT::nginx_pids();
ok($master && @old, "nginx master $master, workers @old");
my $off = Stack::RT::nginx_error_log_size();

# messages from before the reload (for the replay check)
my $es = Stack::RT::es("/rt/players/$A->{id}");
my $esb = Stack::RT::es("/rt/players/$B->{id}");
ok(Stack::RT::ready($es, $esb), 'EventSource subscribers before the reload');
Stack::RT::play($A->{token}, $A, $B, 1, 0);
ok(Stack::RT::wait_until(sub { @{ $es->{msgs} } >= 2 && @{ $esb->{msgs} } >= 2 }, 5), 'two messages each before the reload');
my $seq0 = $es->{msgs}[0]{seq};
my $b_id = $esb->{ids}[-1];    # B's channel gets nothing more after the reload
my $old_ws = Stack::RT::ws('/rt/leaderboard');
ok(Stack::RT::ready($old_ws), 'WebSocket subscriber before the reload');

# Traffic during the reload: 4 clients loop over HTTP requests for 2.5 s; the
# reload is signalled 0.5 s in.  One connection per request: an idle
# keep-alive connection that the old worker closes while a request is being
# sent is the usual keep-alive race (clients retry), not a failure to serve.
my (%codes, @errors, $reload_rc);
my $t_end = time + 2.5;
my @paths = ('/api/health/live', '/api/leaderboards?limit=5', "/api/players/$A->{id}", '/api/seasons');
my $active = 0;
for my $c (1 .. 4) {
	my $ua = Mojo::UserAgent->new(request_timeout => 10, max_connections => 0);
	my $i = $c;
	my $loop;
	$loop = sub {
		if (time >= $t_end) { $active--; undef $loop; return }
		my $p = $paths[ $i++ % @paths ];
		$ua->get(Stack::url($p) => sub {
			my (undef, $tx) = @_;
			if (my $err = $tx->error) { push @errors, "$p: " . ($err->{code} // '') . " $err->{message}" unless $err->{code} }
			$codes{ $tx->res->code // 'none' }++;
			$loop->() if $loop;
		});
	};
	$active++;
	$loop->();
}
Mojo::IOLoop->timer(0.5 => sub {
	my ($rc, $o, $e) = Stack::run_cmd([ Stack::RT::as_user(@NGINX, '-s', 'reload') ]);
	$reload_rc = $rc;
	diag "nginx -s reload: $e" if $rc;
});
Stack::RT::wait_until(sub { !$active }, 15);
is($reload_rc, 0, 'nginx -s reload (as the stack user)');
my $total = 0;
$total += $_ for values %codes;
is_deeply([ keys %codes ], ['200'], "all $total requests during the reload answered 200")
	or diag explain \%codes;
is(scalar @errors, 0, 'no connection errors') or diag explain \@errors;
cmp_ok($total, '>', 20, 'a fair amount of traffic');

# new workers, same master; the old ones leave (worker_shutdown_timeout 3s)
my %old = map { $_ => 1 } @old;
ok(Stack::wait_for(sub {
	my ($m, @w) = Stack::RT::nginx_pids();
	return $m && $m == $master && @w && !grep { $old{$_} } @w;
}, 8, 0.2), 'old workers gone, new workers serve');
my ($m2, @new) = Stack::RT::nginx_pids();
is($m2, $master, 'same master');
note "workers after the reload: @new";
unlike(Stack::RT::nginx_error_log_since($off), qr/exited on signal|segfault|assertion/i, 'no worker crash');
ok(Stack::wait_healthy(10), 'healthy after the reload');
Stack::RT::pump(0.2);
note 'the pre-reload WebSocket was ' . ($old_ws->{closed} ? 'closed by the old worker' : 'still open');

# a new subscriber receives new events
my $ws = Stack::RT::ws('/rt/leaderboard');
my $pws = Stack::RT::ws("/rt/players/$A->{id}");
ok(Stack::RT::ready($ws, $pws), 'new WebSocket subscribers after the reload');
my ($m) = Stack::RT::play($A->{token}, $A, $C, 0, 1);
ok(Stack::RT::wait_until(sub { @{ $ws->{msgs} } >= 1 && @{ $pws->{msgs} } >= 2 }, 5), 'they receive new events');
is($ws->{msgs}[0]{data}{matchId}, $m->{id}, 'the leaderboard_update of the new match') if @{ $ws->{msgs} };
is_deeply([ map { $_->{seq} } @{ $pws->{msgs} } ], [ $seq0 + 2, $seq0 + 3 ], 'player channel seqs continue');

# Memory storage does not survive a reload (conf/nginx/nchan-memory.conf):
# a pre-reload id is stale now.  Presented on a channel emptied by the reload
# it must be dropped (hazard 2): the subscriber just gets new messages.
my $M = Stack::RT::new_match($B->{token}, $B, $C);
my ($code) = Stack::RT::channel_info("players/$B->{id}");
isnt($code, 200, "players/B is empty after the reload ($code)");
my ($m3, @w3) = Stack::RT::nginx_pids();
my $off3 = Stack::RT::nginx_error_log_size();
my $re = Stack::RT::es("/rt/players/$B->{id}", headers => { 'Last-Event-ID' => $b_id });
my $rw = Stack::RT::ws("/rt/players/$B->{id}?last_event_id=$b_id");
ok(Stack::RT::ready($re, $rw), 'subscribers with a pre-reload id on an empty channel');
my $tx = Stack::T::call(POST => "/api/matches/$M->{id}/result", token => $B->{token},
	json => { player1Score => 1, player2Score => 1 });
is($tx->res->code, 200, 'result 200');
ok(Stack::RT::wait_until(sub { @{ $re->{msgs} } >= 2 && @{ $rw->{msgs} } >= 2 }, 5), 'they get the new messages');
Stack::RT::pump(0.2);
for my $s ($re, $rw) {
	is_deeply([ map { $_->{data}{matchId} } @{ $s->{msgs} } ], [ $M->{id}, $M->{id} ], "$s->{kind}: only the new match");
}
is_deeply([ Stack::RT::nginx_pids() ], [ $m3, @w3 ], 'workers survive');
unlike(Stack::RT::nginx_error_log_since($off3), qr/exited on signal|segfault|assertion/i, 'no worker crash');

Stack::RT::close_sub($_) for $es, $esb, $old_ws, $ws, $pws, $re, $rw;
done_testing();
