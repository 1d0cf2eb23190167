#!/usr/bin/perl
# 10-health-states.t — health follows its dependencies, and recovers:
#   Redis down      -> /api/health 200 degraded (redis disconnected), ready 200
#   Redis back      -> healthy
#   PostgreSQL down -> /api/health 503 unhealthy (JSON, Retry-After), live 200,
#                      ready 503 not_ready, DB-backed routes 503 problem+json
#   PostgreSQL back -> healthy, ready, DB-backed routes 200 again
# (nchan down cannot be simulated separately: it lives inside nginx.)
# Whatever happens, the END block restarts what was stopped and waits until
# the stack is healthy again for the next file.

use strict;
use warnings;
use Test::More;
use Stack;

BAIL_OUT('no stack: RP_STACK_ENV does not describe a running stack (run make test)')
	unless Stack::available();

END {
	local $?;
	Stack::restore_stack(30) or diag 'stack NOT healthy after 10-health-states.t';
}

ok(Stack::wait_healthy(15), 'starts healthy') or BAIL_OUT('stack not healthy');
my $metrics0 = Stack::metrics_text();

# wait_health($status, $timeout): the last (code, json, tx) of /api/health once
# it reports $status on a few consecutive tries (several workers, each with a
# cache of up to 1 s), or the last answer seen when it never does.
sub wait_health {
	my ($want, $timeout) = @_;
	my @last;
	Stack::wait_for(sub {
		for (1 .. 4) {
			@last = Stack::get_json('/api/health');
			return 0 unless ref $last[1] eq 'HASH' && ($last[1]{status} // '') eq $want;
		}
		return 1;
	}, $timeout // 15, 0.2);
	return @last;
}

# ----------------------------------------------------------------- Redis down

ok(Stack::stop_service('redis'), 'redis stopped');
ok(!Stack::service_pid('redis'), 'redis is not running');
{
	my ($code, $j) = wait_health('degraded', 15);
	is($code, 200, 'redis down: health still 200');
	is($j->{status}, 'degraded', 'redis down: degraded');
	is($j->{services}{redis}, 'disconnected', 'redis down: redis disconnected');
	is($j->{services}{database}, 'connected', 'redis down: database still connected');
	is($j->{services}{websocket}, 'running', 'redis down: websocket still running');

	my ($rcode, $r) = Stack::get_json('/api/health/ready');
	is($rcode, 200, 'redis down: ready is 200 (it needs only the database)');
	is($r->{status}, 'ready', 'redis down: ready');

	my ($lcode) = Stack::get_json('/api/health/live');
	is($lcode, 200, 'redis down: live 200');
}

ok(Stack::start_service('redis'), 'redis started again');
{
	my ($code, $j) = wait_health('healthy', 15);
	is($code, 200, 'redis back: 200');
	is($j->{status}, 'healthy', 'redis back: healthy again');
	is($j->{services}{redis}, 'connected', 'redis back: redis connected');
}

# ------------------------------------------------------------ PostgreSQL down

ok(Stack::stop_service('postgres'), 'postgres stopped');
ok(!Stack::service_pid('postgres'), 'postgres is not running');
{
	my ($code, $j, $tx) = wait_health('unhealthy', 15);
	is($code, 503, 'postgres down: health 503');
	like($tx->res->headers->content_type // '', qr{^application/json\b},
		'postgres down: health body is JSON');
	is($j->{status}, 'unhealthy', 'postgres down: unhealthy');
	is($j->{services}{database}, 'disconnected', 'postgres down: database disconnected');
	is($j->{services}{redis}, 'connected', 'postgres down: redis still connected');
	like($tx->res->headers->header('Retry-After') // '', qr/^\d+$/,
		'postgres down: Retry-After in seconds');

	my ($lcode, $l) = Stack::get_json('/api/health/live');
	is($lcode, 200, 'postgres down: live still 200');
	is($l->{status}, 'alive', 'postgres down: alive');

	my ($rcode, $r, $rtx) = Stack::get_json('/api/health/ready');
	Stack::wait_for(sub { ($rcode, $r, $rtx) = Stack::get_json('/api/health/ready');
		$rcode == 503 }, 5);
	is($rcode, 503, 'postgres down: ready 503');
	is($r->{status}, 'not_ready', 'postgres down: not_ready');
	is($r->{checks}{database}, 'disconnected', 'postgres down: ready names the database');

	# A route that needs the database: a 503 problem, not a hang or a 502.
	my $ptx = Stack::ua()->get(Stack::url('/api/leaderboards?limit=3&x=pgdown'));
	is($ptx->res->code, 503, 'postgres down: GET /api/leaderboards 503');
	like($ptx->res->headers->content_type // '', qr{^application/problem\+json},
		'postgres down: problem+json');
	my $p = eval { $ptx->res->json } // {};
	is($p->{status}, 503, 'postgres down: problem status 503');
	like($p->{type} // '', qr{^https://rankpulse\.dev/problems/}, 'postgres down: problem type');
	unlike($ptx->res->body, qr/libpq|PQ|connection to server|socket|\/tmp\//i,
		'postgres down: no internal details leak');
}

ok(Stack::start_service('postgres'), 'postgres started again');
{
	my ($code, $j) = wait_health('healthy', 20);
	is($code, 200, 'postgres back: 200');
	is($j->{status}, 'healthy', 'postgres back: healthy again');
	is($j->{services}{database}, 'connected', 'postgres back: database connected');

	my $ready = Stack::wait_for(sub {
		for (1 .. 4) { my ($c) = Stack::get_json('/api/health/ready'); return 0 if $c != 200 }
		1;
	}, 15, 0.2);
	ok($ready, 'postgres back: ready 200 again');

	# Every worker reconnects: a burst of concurrent DB-backed requests
	# (spread over the pool) all succeed.
	my $ok = Stack::wait_for(sub {
		require Mojo::Promise;
		my $ua = Stack::ua();
		my @p = map { $ua->get_p(Stack::url("/api/leaderboards?limit=2&x=back$_")) } 1 .. 16;
		my $bad = 0;
		Mojo::Promise->all(@p)->then(sub {
			for (@_) { $bad++ unless ($_->[0]->res->code // 0) == 200 }
		}, sub { $bad++ })->wait;
		return $bad == 0;
	}, 15, 0.3);
	ok($ok, 'postgres back: concurrent DB-backed requests all 200');
}

# The outages were counted.
{
	my $m1 = Stack::metrics_text();
	for my $name (qw(rankpulse_redis_errors_total rankpulse_db_errors_total
			rankpulse_redis_reconnects_total rankpulse_db_reconnects_total)) {
		my ($a, $b) = map { Stack::metric_value($_, $name) } $metrics0, $m1;
		ok(defined $a && defined $b && $b > $a, "$name increased (" . ($a // 'undef') . ' -> ' . ($b // 'undef') . ')');
	}
	my %l = (route => '/health', method => 'GET', status => '503');
	ok((Stack::metric_value($m1, 'rankpulse_http_requests_total', \%l) // 0)
		> (Stack::metric_value($metrics0, 'rankpulse_http_requests_total', \%l) // 0),
		'the 503 health answers are counted');
}

done_testing();
