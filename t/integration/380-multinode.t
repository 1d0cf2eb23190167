#!/usr/bin/env perl
# Multi-node realtime: two extra nginx nodes (scripts/stack.sh start-node)
# share nchan channels through one Redis (conf/nginx/nchan-redis.conf). A
# message published through node A's publisher socket reaches a subscriber
# connected to node B — admitted by the app like every /rt/ subscription.
use strict;
use warnings;
use Test::More;
use IO::Socket::INET;
use Mojo::UserAgent;
use Mojo::IOLoop;
use Mojo::JSON qw(decode_json);
use Stack;

Stack::available() or BAIL_OUT('no stack: run through make test (RP_STACK_ENV)');

sub free_port {
	my $s = IO::Socket::INET->new(LocalAddr => '127.0.0.1', LocalPort => 0, Listen => 1) or die $!;
	my $p = $s->sockport;
	close $s;
	return $p;
}

my $run = Stack::env('RUN_DIR');
my ($redis_port, $port_a, $port_b) = (free_port(), free_port(), free_port());
my @as_user = Stack::is_root() ? ('runuser', '-u', Stack::env('STACK_USER'), '--') : ();
my $redis_pidfile = "$run/nchan-redis.pid";

END {
	local $?;
	Stack::stack_sh('stop-node', 'mna');
	Stack::stack_sh('stop-node', 'mnb');
	system(@as_user, 'redis-cli', '-p', $redis_port, 'shutdown', 'nosave') if $redis_port;
}

is(system(@as_user, 'redis-server', '--port', $redis_port, '--bind', '127.0.0.1', '--save', '',
	'--appendonly', 'no', '--daemonize', 'yes', '--pidfile', $redis_pidfile,
	'--logfile', Stack::env('STACK_DIR') . '/log/redis-nchan.log'), 0, 'redis for nchan started');
ok(Stack::wait_for(sub { system("redis-cli -p $redis_port ping >/dev/null 2>&1") == 0 }, 10),
	'redis for nchan answers');

local $ENV{NCHAN_REDIS_URL} = "redis://127.0.0.1:$redis_port";
ok(Stack::stack_sh('start-node', 'mna', '--port', $port_a), "node A on port $port_a");
ok(Stack::stack_sh('start-node', 'mnb', '--port', $port_b), "node B on port $port_b");

my $ua = Mojo::UserAgent->new(request_timeout => 5);
is($ua->get("http://127.0.0.1:$port_b/api/health")->result->code, 200, 'node B serves the API too');

# Subscribe on node B, publish through node A's publisher socket.
my $channel = 'leaderboard/IS';
my (@got, $ws_err);
$ua->websocket("ws://127.0.0.1:$port_b/rt/leaderboard/IS" => sub {
	my ($ua, $tx) = @_;
	if (!$tx->is_websocket) { $ws_err = 'no websocket: ' . ($tx->res->code // 'none'); Mojo::IOLoop->stop; return }
	$tx->on(message => sub {
		my ($tx, $msg) = @_;
		my $m = eval { decode_json($msg) } or return;
		push @got, $m;
		Mojo::IOLoop->stop;
	});
	Mojo::IOLoop->timer(0.5 => sub {
		my $body = '{"type":"leaderboard_update","channel":"leaderboard/IS","seq":1,"ts":"x","data":{"matchId":"multinode"}}';
		my @cmd = (@as_user, 'curl', '-s', '-o', '/dev/null', '-w', '%{http_code}',
			'--unix-socket', "$run/nchan-mna.sock", '-X', 'POST', '--data-binary', $body,
			"http://localhost/pub/$channel");
		my $code = `@{[ join ' ', map { "'$_'" } @cmd ]}`;
		like($code, qr/^20[12]$/, "published through node A ($code)");
	});
});
my $timeout = Mojo::IOLoop->timer(5 => sub { Mojo::IOLoop->stop });
Mojo::IOLoop->start;
Mojo::IOLoop->remove($timeout);

ok(!$ws_err, 'subscriber admitted on node B') or diag $ws_err;
is(scalar @got, 1, 'node B subscriber received the message published on node A');
is($got[0]{data}{matchId}, 'multinode', 'the same message') if @got;

done_testing();
