#!/usr/bin/perl
# 30-request-id.t — request ids and the access log:
#   * without X-Request-Id every response gets a fresh 32-hex id;
#   * a sane client id (^[A-Za-z0-9._-]{1,64}$) is echoed in the response
#     header, the problem body's requestId and the app's access-log line;
#   * an insane one (too long, spaces, quotes, slashes) is replaced by a
#     generated id and never reaches the log;
#   * the app writes exactly one JSON access-log line per request with
#     ts, level, pid, msg=request, request_id, method, route, status, latency_us.

use strict;
use warnings;
use Test::More;
use Stack;

BAIL_OUT('no stack: RP_STACK_ENV does not describe a running stack (run make test)')
	unless Stack::available();

my $ua = Stack::ua();
my $HEX32 = qr/^[0-9a-f]{32}$/;
my $tag = sprintf 'rid%d%04d', $$, int rand 10000;

# ------------------------------------------------------------ generated ids

{
	my %seen;
	for my $path ('/api/health/live', '/api/health/live', '/api/nope', '/api/health') {
		my $tx = $ua->get(Stack::url($path));
		my $id = $tx->res->headers->header('X-Request-Id') // '';
		like($id, $HEX32, "generated id for $path is 32 hex chars");
		ok(!$seen{$id}++, "generated id for $path is fresh");
		my @all = $tx->res->headers->every_header('X-Request-Id');
		is(scalar @all, 1, "exactly one X-Request-Id header on $path");
	}
	my $tx = $ua->get(Stack::url('/api/nope'));
	is(eval { $tx->res->json->{requestId} }, $tx->res->headers->header('X-Request-Id'),
		'generated id: problem requestId equals the header');
}

# ------------------------------------------------- client ids, access log

my $off = Stack::app_log_size();
my @sent;    # [id, method, path, expected route, expected status]
{
	my @cases = (
		[ "$tag-a",            'GET',  '/api/health/live', '/health/live', 200 ],
		[ "$tag.b_B",          'GET',  '/api/nope',        'unmatched',    404 ],
		[ "$tag-c",            'POST', '/api/health',      undef,          405 ],
		[ "$tag-d",            'HEAD', '/api/health',      '/health',      200 ],
		[ "$tag-e",            'GET',  '/api/health/ready', '/health/ready', 200 ],
		[ "$tag-f" . ('x' x (64 - length("$tag-f"))), 'GET', '/api/health/live', '/health/live', 200 ],
	);
	for my $c (@cases) {
		my ($id, $method, $path, $route, $status) = @$c;
		my $tx = $ua->build_tx($method => Stack::url($path) => { 'X-Request-Id' => $id });
		$ua->start($tx);
		is($tx->res->code, $status, "$method $path with client id: $status");
		is($tx->res->headers->header('X-Request-Id'), $id,
			"$method $path: client id (" . length($id) . " chars) echoed in the header");
		if ($status >= 400) {
			is(eval { $tx->res->json->{requestId} }, $id, "$method $path: client id in the problem body");
		}
		push @sent, [ @$c ];
	}
}

# -------------------------------------------------------- invalid client ids

my @bad = (
	[ '65 chars',        'a' x 65 ],
	[ '100 chars',       'b' x 100 ],
	[ 'space',           "$tag bad" ],
	[ 'quote injection', qq{$tag","level":"error} ],
	[ 'slash',           "$tag/../x" ],
	[ 'colon',           "$tag:1" ],
);
for my $b (@bad) {
	my ($name, $id) = @$b;
	my $tx = $ua->get(Stack::url('/api/nope') => { 'X-Request-Id' => $id });
	my $got = $tx->res->headers->header('X-Request-Id') // '';
	like($got, $HEX32, "invalid client id ($name) replaced by a generated id");
	isnt($got, $id, "invalid client id ($name) not echoed");
	is(eval { $tx->res->json->{requestId} }, $got, "invalid client id ($name): body has the replacement");
	push @sent, [ $got, 'GET', '/api/nope', 'unmatched', 404 ];
}

# ------------------------------------------------------------- access log

my %want = map { $_->[0] => $_ } @sent;
my @lines;
Stack::wait_for(sub {
	@lines = grep { ($_->{msg} // '') eq 'request' } Stack::app_log_json_since($off);
	my %have = map { ($_->{request_id} // '') => 1 } @lines;
	return !grep { !$have{$_} } keys %want;
}, 5);

my ($master, @workers) = Stack::app_pids();
my %is_worker = map { $_ => 1 } @workers;
for my $id (sort keys %want) {
	my ($sid, $method, $path, $route, $status) = @{ $want{$id} };
	my @mine = grep { ($_->{request_id} // '') eq $id } @lines;
	is(scalar @mine, 1, "exactly one access-log line for $method $path ($id)") or next;
	my $l = $mine[0];
	like($l->{ts} // '', qr/^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d(?:\.\d+)?Z$/, "$id: ts");
	is($l->{level}, 'info', "$id: level info");
	ok($is_worker{ $l->{pid} // 0 }, "$id: pid is a worker");
	is($l->{method}, $method, "$id: method");
	is($l->{route}, $route, "$id: route $route") if defined $route;
	is($l->{status}, $status, "$id: status $status");
	like($l->{latency_us} // '', qr/^\d+$/, "$id: latency_us is an integer");
	ok(!ref $l->{status} && $l->{status} =~ /^\d+$/, "$id: status is a number");
}

# Invalid ids never reach the log (no log injection).
my $text = Stack::app_log_since($off);
for my $b (@bad) {
	my ($name, $id) = @$b;
	ok(index($text, $id) < 0, "invalid client id ($name) is not in the app log");
}
my @levels = map { $_->{level} // '' } grep { index($_->{request_id} // '', $tag) == 0 } @lines;
ok(!grep({ $_ ne 'info' } @levels), 'no forged log levels');

# The same id is in nginx's access log too (one request, one id end to end).
{
	my $nlog = Stack::env('NGINX_ACCESS_LOG');
	my $ok = Stack::wait_for(sub {
		open my $fh, '<', $nlog or return 0;
		my $t = do { local $/; <$fh> };
		return index($t, qq{"request_id":"$tag-a"}) >= 0;
	}, 3);
	ok($ok, 'nginx access log has the client id too');
}

done_testing();
