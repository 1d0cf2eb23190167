#!/usr/bin/perl
# 320-auth.t — admission of realtime subscribers (SPEC §7): /rt/me needs a
# valid access token (Authorization header or ?access_token=) and carries only
# that player's events; unknown channels and bad or unknown ids are refused
# with a 404 problem and never become an nchan subscription; the internal
# subscriber and publisher locations are not reachable from outside.
use strict;
use warnings;
use Test::More;
use Digest::SHA qw(hmac_sha256);
use MIME::Base64 qw(encode_base64url decode_base64url);
use Mojo::JSON qw(decode_json encode_json);
use Stack;

plan skip_all => 'no stack: RP_STACK_ENV does not describe a running stack (run make test)'
	unless Stack::available();

my (undef, $A, $B, $C, $D) = Stack::T::setup_players(prefix => 't320', n => 4, login => 4, addr => '127.0.3.20');
Stack::RT::warm_boards($A);

# A plain GET of an /rt/ URL that must be refused: status, problem+json, and
# no event stream.
sub refused {
	my ($path, $code, $name, %h) = @_;
	my $tx = Stack::T::call(GET => $path, headers => { Accept => 'text/event-stream', %h });
	is($tx->res->code, $code, "$name: $code");
	like($tx->res->headers->content_type // '', qr{^application/problem\+json}, "$name: problem+json");
	my $j = Stack::T::body_json($tx);
	is(ref $j eq 'HASH' ? $j->{status} : undef, $code, "$name: problem status") or diag $tx->res->body;
	ok(!$tx->res->headers->header('X-Accel-Redirect'), "$name: no X-Accel-Redirect leaks");
	return $tx;
}

# The same over a WebSocket handshake: refused, never upgraded.
sub ws_refused {
	my ($path, $code, $name, %h) = @_;
	my $s = Stack::RT::ws($path, headers => \%h);
	Stack::RT::ready($s);
	is($s->{code}, $code, "$name over WebSocket: $code, not 101");
	ok(!$s->{open}, "$name over WebSocket: not upgraded");
	like($s->{ctype} // '', qr{^application/problem\+json}, "$name over WebSocket: problem+json");
	Stack::RT::close_sub($s) if $s->{open};
}

# JWTs of our own: the claims of A's real token, re-signed.
my $SECRET = Stack::env('JWT_SECRET');
my ($h64, $p64) = split /\./, $A->{token};
my $claims = decode_json(decode_base64url($p64));
sub jwt {
	my ($c, $key, $header) = @_;
	my $h = encode_base64url($header // '{"alg":"HS256","typ":"JWT"}');
	my $p = encode_base64url(encode_json($c));
	return "$h.$p." . encode_base64url(hmac_sha256("$h.$p", $key));
}
my $now = time;
my %tok = (
	'expired token' => jwt({ %$claims, iat => $now - 7200, exp => $now - 3600 }, $SECRET),
	'token signed with another key' => jwt({ %$claims }, "not-the-secret-$SECRET"),
	'alg none' => do {
		my $h = encode_base64url('{"alg":"none","typ":"JWT"}');
		"$h." . encode_base64url(encode_json($claims)) . '.';
	},
	'garbage token' => 'garbage',
	'claims of another player under A signature' => do {
		my ($ch, $cp, $cs) = split /\./, $C->{token};
		"$h64.$cp." . (split /\./, $A->{token})[2];
	},
);

subtest '/rt/me refused' => sub {
	my $tx = refused('/rt/me', 401, 'no token');
	like($tx->res->headers->www_authenticate // '', qr/^Bearer/, 'no token: WWW-Authenticate: Bearer');
	refused('/rt/me', 401, 'Basic credentials', Authorization => 'Basic dXNlcjpwYXNz');
	for my $name (sort keys %tok) {
		refused('/rt/me', 401, "$name (header)", Authorization => "Bearer $tok{$name}");
		refused("/rt/me?access_token=$tok{$name}", 401, "$name (query)");
	}
	ws_refused('/rt/me', 401, 'no token');
	ws_refused("/rt/me?access_token=$tok{'expired token'}", 401, 'expired token');
	# positive control: the same claims with the real key and a valid time are accepted
	my $good = jwt({ %$claims, iat => $now - 10, exp => $now + 600 }, $SECRET);
	my $s = Stack::RT::ws('/rt/me', headers => { Authorization => "Bearer $good" });
	ok(Stack::RT::ready($s), 'control: a re-signed valid token is accepted') or diag $s->{code};
	Stack::RT::close_sub($s);
};

subtest 'logged out token' => sub {
	my $t = Stack::T::login($D->{username});
	my $tx = Stack::T::call(POST => '/api/auth/logout', token => $t, json => {});
	ok(($tx->res->code // 0) =~ /^20[04]$/, 'logout: ' . ($tx->res->code // 'none'));
	refused('/rt/me', 401, 'logged-out token (header)', Authorization => "Bearer $t");
	refused("/rt/me?access_token=$t", 401, 'logged-out token (query)');
};

subtest 'bad channels: 404, never a subscription' => sub {
	my $ruuid = sprintf '%08x-%04x-4%03x-8%03x-%012x', int(rand 2**32), int(rand 2**16),
		int(rand 4096), int(rand 4096), int(rand 2**40);
	my @bad = (
		[ '/rt/nope',                     'unknown channel' ],
		[ '/rt/',                         'bare /rt/' ],
		[ '/rt/leaderboard/XX',           'unknown country XX' ],
		[ '/rt/leaderboard/S',            'one-letter country' ],
		[ '/rt/leaderboard/SWE',          'three-letter country' ],
		[ '/rt/leaderboard/season/Bad_Id', 'malformed season id' ],
		[ '/rt/matches/not-a-uuid',       'match id not a uuid' ],
		[ "/rt/matches/$ruuid",           'unknown match' ],
		[ '/rt/players/not-a-uuid',       'player id not a uuid' ],
		[ "/rt/players/$ruuid",           'unknown player' ],
		[ "/rt/players/$A->{id}/extra",   'extra path segment' ],
		[ "/rt/matches/$A->{id}",         'a player id as match id' ],
	);
	refused($_->[0], 404, $_->[1]) for @bad;
	ws_refused($_->[0], 404, $_->[1]) for @bad[ 0, 2, 6, 7, 9 ];
	for my $chan ("players/$ruuid", "matches/$ruuid", 'leaderboard/XX') {
		my ($code) = Stack::RT::channel_info($chan);
		isnt($code, 200, "no nchan channel $chan was created ($code)");
	}
	# the nchan locations themselves are not public
	for my $p ('/_sub/leaderboard', "/_sub/me/$A->{id}", '/pub/leaderboard', '/nchan_status') {
		my $tx = Stack::T::call(GET => $p, headers => { Accept => 'text/event-stream' });
		is($tx->res->code, 404, "GET $p from outside: 404");
		unlike($tx->res->headers->content_type // '', qr{^text/event-stream}, "GET $p: no event stream");
	}
	my $tx = Stack::T::call(POST => '/pub/leaderboard', body => '{"type":"forged"}');
	isnt($tx->res->code // 0, 201, 'POST /pub/leaderboard from outside does not publish');
	isnt($tx->res->code // 0, 202, '... (not 202 either)');
};

subtest 'a season channel of a season that does not exist' => sub {
	my $tx = Stack::T::call(GET => '/rt/leaderboard/season/t320-no-such-season',
		headers => { Accept => 'text/event-stream' });
	is($tx->res->code, 404, 'unknown season: 404');
	like($tx->res->headers->content_type // '', qr{^application/problem\+json}, 'as a problem document');
};

subtest 'me channel carries only its own player' => sub {
	my %s = (
		hdrA => Stack::RT::ws('/rt/me', headers => { Authorization => "Bearer $A->{token}" }),
		qryA => Stack::RT::ws("/rt/me?access_token=$A->{token}"),
		esA  => Stack::RT::es("/rt/me?access_token=$A->{token}"),
		hdrC => Stack::RT::ws('/rt/me', headers => { Authorization => "Bearer $C->{token}" }),
	);
	ok(Stack::RT::ready(values %s), 'me subscribers connected (header, query, EventSource query)')
		or diag join ' ', map { "$_=" . ($s{$_}{code} // 'none') } sort keys %s;
	# C plays B: A's me channel must stay quiet
	my ($m1) = Stack::RT::play($C->{token}, $C, $B, 1, 0);
	ok(Stack::RT::wait_until(sub { @{ $s{hdrC}{msgs} } >= 1 }, 5), "C's me channel got C's event");
	Stack::RT::pump(0.3);
	is(scalar @{ $s{$_}{msgs} }, 0, "$_: nothing from a match A did not play") for qw(hdrA qryA esA);
	# A plays B
	my ($m2, $r2) = Stack::RT::play($A->{token}, $A, $B, 0, 1);
	ok(Stack::RT::wait_until(sub { !grep { @{ $s{$_}{msgs} } < 1 } qw(hdrA qryA esA) }, 5), "A's me channels got A's event");
	Stack::RT::pump(0.3);
	my ($chg) = grep { $_->{playerId} eq $A->{id} } @{ $r2->{ratingChanges} // [] };
	for my $k (qw(hdrA qryA esA)) {
		is(scalar @{ $s{$k}{msgs} }, 1, "$k: exactly one message");
		my $m = $s{$k}{msgs}[0] // {};
		is($m->{type}, 'rating_changed', "$k: rating_changed");
		is($m->{channel}, "me/$A->{id}", "$k: channel me/<A>");
		is($m->{data}{change}{playerId}, $A->{id}, "$k: about A");
		is($m->{data}{change}{delta}, $chg->{delta}, "$k: delta as in the result response");
	}
	is(scalar @{ $s{hdrC}{msgs} }, 1, "C's me channel: only C's one event");
	is($s{hdrC}{msgs}[0]{data}{change}{playerId}, $C->{id}, "C's me channel: about C");
	Stack::RT::close_sub($_) for values %s;
};

done_testing();
