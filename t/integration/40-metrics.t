#!/usr/bin/perl
# 40-metrics.t — GET /api/metrics is Prometheus text:
#   * request counters move by exactly the requests made, labelled with
#     route, method and status;
#   * every latency histogram is cumulative, +Inf equals _count, _sum >= 0;
#   * the operational counters/gauges exist (worker restarts, db/redis errors);
#   * it is served to loopback only: from 127.0.0.2 nginx answers 403
#     problem+json, and no path variant leaks the metrics.

use strict;
use warnings;
use Test::More;
use Mojo::UserAgent;
use Stack;

BAIL_OUT('no stack: RP_STACK_ENV does not describe a running stack (run make test)')
	unless Stack::available();

my $ua = Stack::ua();

my $tx0 = $ua->get(Stack::url('/api/metrics'));
is($tx0->res->code, 200, 'GET /api/metrics from 127.0.0.1: 200');
like($tx0->res->headers->content_type // '', qr{^text/plain;\s*version=0\.0\.4},
	'Prometheus text exposition format 0.0.4');
my $before = $tx0->res->body;

# Traffic with known labels.
$ua->get(Stack::url('/api/health/live')) for 1 .. 3;
$ua->get(Stack::url('/api/nope')) for 1 .. 2;
$ua->post(Stack::url('/api/health'));
$ua->get(Stack::url('/api/health/ready'));

my $after;
# Counters are shared by all workers; give the last worker a moment.
Stack::wait_for(sub {
	$after = Stack::metrics_text();
	my $d = (Stack::metric_value($after, 'rankpulse_http_requests_total',
		{ route => '/health/ready', method => 'GET', status => '200' }) // 0)
		- (Stack::metric_value($before, 'rankpulse_http_requests_total',
		{ route => '/health/ready', method => 'GET', status => '200' }) // 0);
	return $d >= 1;
}, 3);

sub delta {
	my ($name, $labels) = @_;
	my $b = Stack::metric_value($before, $name, $labels) // 0;
	my $a = Stack::metric_value($after, $name, $labels);
	return undef unless defined $a;
	return $a - $b;
}

is(delta('rankpulse_http_requests_total', { route => '/health/live', method => 'GET', status => '200' }),
	3, 'requests_total{/health/live,GET,200} +3');
is(delta('rankpulse_http_requests_total', { route => '/health/ready', method => 'GET', status => '200' }),
	1, 'requests_total{/health/ready,GET,200} +1');
is(delta('rankpulse_http_requests_total', { status => '404' }), 2, 'requests_total{status=404} +2');
is(delta('rankpulse_http_requests_total', { status => '405' }), 1, 'requests_total{status=405} +1');
is(delta('rankpulse_http_requests_total', { route => '/health/live', status => '404' }) // 0, 0,
	'no 404 is counted under /health/live');
is(delta('rankpulse_http_request_duration_seconds_count', { route => '/health/live', method => 'GET' }),
	3, 'duration_seconds_count{/health/live,GET} +3');

like($after, qr/^# TYPE rankpulse_http_requests_total counter$/m, 'TYPE of requests_total');
like($after, qr/^# TYPE rankpulse_http_request_duration_seconds histogram$/m, 'TYPE of the histogram');
for my $m (qw(rankpulse_worker_restarts_total rankpulse_db_errors_total rankpulse_redis_errors_total)) {
	like($after, qr/^# TYPE \Q$m\E counter$/m, "TYPE of $m");
	like(Stack::metric_value($after, $m) // '', qr/^\d+$/, "$m is a count");
}
is(Stack::metric_value($after, 'rankpulse_workers'), Stack::env('WORKERS') || 4, 'rankpulse_workers gauge');

# Every sample line parses (name{labels} value).
my $LABEL = qr/[a-zA-Z_][a-zA-Z0-9_]*="(?:[^"\\\n]|\\.)*"/;
my @bad = grep { !/^#/ && length
		&& !/^[a-zA-Z_:][a-zA-Z0-9_:]*(?:\{$LABEL(?:,$LABEL)*\})? (?:-?[0-9.]+(?:e[+-]?\d+)?|\+Inf)$/ }
	split /\n/, $after;
is_deeply(\@bad, [], 'every sample line is well-formed');

# ------------------------------------------------------------- histograms

my %series;    # "route|method" -> { buckets => [[le, v]...], count, sum }
for my $s (Stack::metric_samples($after)) {
	my ($name, $l, $v) = @$s;
	next unless $name =~ /^rankpulse_http_request_duration_seconds_(bucket|count|sum)$/;
	my $kind = $1;
	my $key = join '|', $l->{route} // '', $l->{method} // '';
	if ($kind eq 'bucket') {
		push @{ $series{$key}{buckets} }, [ $l->{le}, $v ];
	} else {
		$series{$key}{$kind} = $v;
	}
}
ok(exists $series{'/health/live|GET'}, 'a histogram for /health/live GET');
ok(scalar(keys %series) >= 3, 'histograms for several routes');
for my $key (sort keys %series) {
	my $h = $series{$key};
	my @b = @{ $h->{buckets} // [] };
	ok(@b >= 2, "$key: has buckets") or next;
	is($b[-1][0], '+Inf', "$key: last bucket is +Inf");
	my @les = map { $_->[0] eq '+Inf' ? 9**9**9 : $_->[0] } @b;
	ok(!grep({ $les[$_] <= $les[ $_ - 1 ] } 1 .. $#les), "$key: le strictly increasing");
	ok(!grep({ $b[$_][1] < $b[ $_ - 1 ][1] } 1 .. $#b), "$key: buckets are cumulative");
	is($b[-1][1], $h->{count}, "$key: +Inf bucket equals _count");
	ok(defined $h->{sum} && $h->{sum} >= 0, "$key: _sum present and >= 0");
}

# ----------------------------------------------------------- loopback only

# Another loopback source address (nginx allows only 127.0.0.1 and ::1).
my $far = Mojo::UserAgent->new(socket_options => { LocalAddr => '127.0.0.2' },
	connect_timeout => 5, request_timeout => 5, max_redirects => 0);
is($far->get(Stack::url('/api/health/live'))->local_address, '127.0.0.2',
	'requests really come from 127.0.0.2');
{
	my $tx = $far->get(Stack::url('/api/metrics'));
	is($tx->res->code, 403, 'GET /api/metrics from 127.0.0.2: 403');
	like($tx->res->headers->content_type // '', qr{^application/problem\+json},
		'403: problem+json');
	my $p = eval { $tx->res->json } // {};
	is($p->{status}, 403, '403: body status');
	is($p->{type}, 'https://rankpulse.dev/problems/forbidden', '403: type');
	ok($tx->res->body !~ /rankpulse_/, '403: no metrics in the body');
	like($tx->res->headers->header('X-Request-Id') // '', qr/^[0-9a-f]{32}$/, '403: X-Request-Id');

	# Other routes are open to that address (the deny is specific to metrics).
	is($far->get(Stack::url('/api/health/live'))->res->code, 200, '127.0.0.2 may use /api/health/live');

	for my $p ('/metrics', '/api//metrics', '/api/./metrics', '/api/%6detrics', '/api/metrics?x=1') {
		my $t = $far->get(Stack::url($p));
		ok(($t->res->body // '') !~ /rankpulse_http/, "GET $p from 127.0.0.2: no metrics");
		isnt($t->res->code, 200, "GET $p from 127.0.0.2: not 200");
	}
	# Spellings that reach the app's route (trailing slash, encoded slash):
	# nginx's regex location denies them all, and the app checks REMOTE_ADDR.
	for my $p ('/api/metrics/', '/api/metrics%2f', '/api/metrics%2F') {
		my $t = $far->get(Stack::url($p));
		ok(($t->res->body // '') !~ /rankpulse_http/, "GET $p from 127.0.0.2: no metrics");
		isnt($t->res->code, 200, "GET $p from 127.0.0.2: not 200");
	}
}

done_testing();
