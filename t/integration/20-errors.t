#!/usr/bin/perl
# 20-errors.t — every error is an RFC 9457 problem document:
#   404 unknown route, 405 (+Allow) wrong or unknown method, 413 body > 64 KiB
#   (nginx), 415 non-JSON body, 400 for each kind of malformed JSON and for a
#   query string > 4 KiB; the limits themselves (64 KiB body, depth 16, 4 KiB
#   query) are accepted; HEAD has no body; routes answer with and without /api.
# App problems carry instance + requestId (= the X-Request-Id header); nginx's
# own error pages (413) carry type/title/status/detail.

use strict;
use warnings;
use Test::More;
use Mojo::JSON qw(decode_json);
use Stack;

BAIL_OUT('no stack: RP_STACK_ENV does not describe a running stack (run make test)')
	unless Stack::available();

my $ua = Stack::ua();
my $PROBLEM_BASE = 'https://rankpulse.dev/problems/';

# problem_ok($tx, $status, $name, app => 1, slug => 'not-found', path => '/api/x')
# Checks status, Content-Type, the problem fields, the request id.  Returns
# the decoded body.
sub problem_ok {
	my ($tx, $status, $name, %o) = @_;
	my $res = $tx->res;
	is($res->code, $status, "$name: status $status");
	like($res->headers->content_type // '', qr{^application/problem\+json\b},
		"$name: Content-Type application/problem+json");
	my $p = eval { decode_json($res->body) };
	is(ref $p, 'HASH', "$name: the body is a JSON object") or return {};
	like($p->{type} // '', qr{^\Q$PROBLEM_BASE\E[a-z0-9-]+$}, "$name: type");
	is($p->{type}, $PROBLEM_BASE . $o{slug}, "$name: type is $o{slug}") if $o{slug};
	ok(defined $p->{title} && length $p->{title}, "$name: title");
	is($p->{status}, $status, "$name: body status equals HTTP status");
	ok(defined $p->{detail} && length $p->{detail}, "$name: detail");
	my $hid = $res->headers->header('X-Request-Id');
	like($hid // '', qr/^[A-Za-z0-9._-]{1,64}$/, "$name: X-Request-Id header");
	if ($o{app}) {
		is(ref $p->{errors}, 'ARRAY', "$name: errors array");
		is($p->{requestId}, $hid, "$name: body requestId equals X-Request-Id");
		is($p->{instance}, $o{path}, "$name: instance is the request path") if $o{path};
	}
	unlike($res->body, qr/(?:\.c:\d|segfault|libpq|hiredis|json-c|\/tmp\/|\/run\/)/i,
		"$name: no internals in the body");
	return $p;
}

sub post_json {
	my ($path, $body, $ctype) = @_;
	return $ua->post(Stack::url($path) =>
		{ 'Content-Type' => $ctype // 'application/json' } => $body);
}

# ------------------------------------------------------------------- 404

{
	my $tx = $ua->get(Stack::url('/api/nope'));
	problem_ok($tx, 404, 'GET /api/nope', app => 1, slug => 'not-found', path => '/api/nope');
	$tx = $ua->get(Stack::url('/api/players/not-a-uuid/stats/extra/deep'));
	is($tx->res->code, 404, 'a deep unknown path is 404 too');
}

# ------------------------------------------------------------------- 405

{
	my $tx = $ua->post(Stack::url('/api/health'));
	my $p = problem_ok($tx, 405, 'POST /api/health', app => 1, slug => 'method-not-allowed',
		path => '/api/health');
	my $allow = $tx->res->headers->header('Allow') // '';
	is(join(',', sort map { s/^\s+|\s+$//gr } split /,/, $allow), 'GET,HEAD',
		"POST /api/health: Allow lists GET and HEAD ($allow)");

	$tx = $ua->build_tx(PROPFIND => Stack::url('/api/health'));
	$ua->start($tx);
	problem_ok($tx, 405, 'PROPFIND /api/health', app => 1, slug => 'method-not-allowed');
	like($tx->res->headers->header('Allow') // '', qr/\bGET\b/, 'PROPFIND: Allow header');

	$tx = $ua->get(Stack::url('/api/auth/login'));
	problem_ok($tx, 405, 'GET /api/auth/login', app => 1, slug => 'method-not-allowed');
	like($tx->res->headers->header('Allow') // '', qr/\bPOST\b/, 'GET login: Allow: POST');
}

# ------------------------------------------------------------------- 413

{
	my $big = '{"login":"' . ('a' x 70_000) . '","password":"x"}';
	my $tx = post_json('/api/auth/login', $big);
	my $p = problem_ok($tx, 413, 'POST 70 KB body', slug => 'payload-too-large');

	# The limit itself: exactly 64 KiB is let through to the app.
	my $pad = 65536 - length('{"login":"","password":"x"}');
	my $at = '{"login":"' . ('a' x $pad) . '","password":"x"}';
	is(length $at, 65536, 'a body of exactly 64 KiB');
	$tx = post_json('/api/auth/login', $at);
	my $code = $tx->res->code // 0;
	ok($code != 413 && $code < 500, "exactly 64 KiB is not 413 (got $code)");
	like($tx->res->headers->content_type // '', qr{^application/(?:problem\+)?json},
		'exactly 64 KiB: a JSON answer from the app');

	$tx = post_json('/api/auth/login', $at . ' ');
	is($tx->res->code, 413, '64 KiB + 1 byte is 413');
}

# ------------------------------------------------------------------- 415

{
	my $tx = post_json('/api/auth/login', 'login=a&password=b', 'text/plain');
	problem_ok($tx, 415, 'POST text/plain', app => 1, slug => 'unsupported-media-type',
		path => '/api/auth/login');
	$tx = post_json('/api/auth/login', '{"login":"a","password":"b"}',
		'application/x-www-form-urlencoded');
	problem_ok($tx, 415, 'POST form-urlencoded', app => 1);
	$tx = post_json('/api/auth/login', '{"login":"a","password":"b"}',
		'application/json; charset=latin1');
	problem_ok($tx, 415, 'POST JSON declared as latin1', app => 1);
}

# ------------------------------------------------------------------- 400

my @malformed = (
	[ 'truncated object',     '{"login":"a"' ],
	[ 'bare word',            '{bad' ],
	[ 'trailing garbage',     '{"a":1}x' ],
	[ 'two values',           '{"a":1} {"b":2}' ],
	[ 'duplicate keys',       '{"a":1,"a":2}' ],
	[ 'array depth 17',       ('[' x 17) . '1' . (']' x 17) ],
	[ 'object depth 17',      ('{"a":' x 17) . '1' . ('}' x 17) ],
	[ 'leading zero',         '{"a":01}' ],
	[ 'single quotes',        "{'a':1}" ],
	[ 'trailing comma',       '{"a":1,}' ],
	[ 'NUL escape',           '{"a":"\\u0000"}' ],
	[ 'lone surrogate',       '{"a":"\\ud800"}' ],
	[ 'invalid UTF-8',        qq({"a":"\xff\xfe"}) ],
	[ 'raw control char',     qq({"a":"x\x01y"}) ],
);
for my $m (@malformed) {
	my ($name, $body) = @$m;
	my $tx = post_json('/api/auth/login', $body);
	problem_ok($tx, 400, "malformed JSON ($name)", app => 1, slug => 'malformed-json',
		path => '/api/auth/login');
}

{
	# Depth 16 is the limit, not an error: the body parses and the handler
	# decides (a JSON array is not an object -> 422, never 400 or 5xx).
	my $tx = post_json('/api/auth/login', ('[' x 16) . '1' . (']' x 16));
	my $code = $tx->res->code // 0;
	ok($code != 400 && $code < 500, "array depth 16 is accepted by the parser (got $code)");
	my $p = eval { $tx->res->json } // {};
	isnt($p->{type} // '', "${PROBLEM_BASE}malformed-json", 'depth 16 is not malformed-json');
}

# ------------------------------------------------------------ query string

{
	my $long = 'x=' . ('a' x 4998);    # 5000 bytes: over 4 KiB, under nginx's 8k line
	my $tx = $ua->get(Stack::url("/api/health?$long"));
	problem_ok($tx, 400, 'query string of 5000 bytes', app => 1, path => '/api/health');
	like(eval { $tx->res->json->{detail} } // '', qr/query/i, 'the detail names the query string');

	my $at = 'x=' . ('a' x 4094);    # exactly 4096 bytes
	$tx = $ua->get(Stack::url("/api/health/live?$at"));
	is($tx->res->code, 200, 'a query string of exactly 4 KiB is accepted');
	$tx = $ua->get(Stack::url("/api/health/live?${at}b"));
	is($tx->res->code, 400, '4 KiB + 1 byte of query string is 400');
}

# ------------------------------------------------------------------- HEAD

{
	my $tx = $ua->head(Stack::url('/api/health'));
	is($tx->res->code, 200, 'HEAD /api/health: 200');
	is($tx->res->body, '', 'HEAD /api/health: no body');
	like($tx->res->headers->content_type // '', qr{^application/json\b},
		'HEAD /api/health: Content-Type of the GET');
	like($tx->res->headers->header('X-Request-Id') // '', qr/^[0-9a-f]{32}$/,
		'HEAD /api/health: X-Request-Id');
}

# ------------------------------------------------- with and without /api

{
	my ($a, $b) = map { $ua->get(Stack::url("$_?limit=1")) } '/api/leaderboards', '/leaderboards';
	is($b->res->code, $a->res->code, '/leaderboards answers like /api/leaderboards');
	is($b->res->code, 200, '/leaderboards: 200');
	my ($ja, $jb) = map { eval { $_->res->json } // {} } $a, $b;
	is_deeply([ sort keys %$jb ], [ sort keys %$ja ], '/leaderboards: same fields');

	my $tx = post_json('/auth/login', '{"a":1}x');
	problem_ok($tx, 400, 'POST /auth/login (no prefix) malformed', app => 1,
		slug => 'malformed-json', path => '/auth/login');

	$tx = $ua->post(Stack::url('/auth/login') => { 'Content-Type' => 'text/plain' } => 'x');
	problem_ok($tx, 415, 'POST /auth/login (no prefix) text/plain', app => 1);

	$tx = $ua->get(Stack::url('/players/00000000-0000-4000-8000-000000000000'));
	my $ptx = $ua->get(Stack::url('/api/players/00000000-0000-4000-8000-000000000000'));
	is($tx->res->code, $ptx->res->code, '/players/{id} answers like /api/players/{id}');
	is($tx->res->code, 404, 'an unknown player is 404');
	problem_ok($tx, 404, 'GET /players/{unknown}', app => 1);

	# Unprefixed health routes reach the app like every other route.
	for my $path ('/health', '/health/live', '/health/ready') {
		my $t = $ua->get(Stack::url($path));
		my $api = $ua->get(Stack::url("/api$path"));
		is($t->res->code, $api->res->code, "$path answers like /api$path");
		like($t->res->headers->content_type // '', qr{^application/json\b},
			"$path: JSON from the app");
	}
}

done_testing();
