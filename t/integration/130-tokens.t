#!/usr/bin/perl
# 130-tokens.t — token lifecycle (SPEC §6 Auth): refresh rotation (new pair,
# old token marked rotated), reuse detection (a rotated token presented again
# is 401 and revokes the whole family, so the newest token of that login
# fails too, while other logins keep working), logout (204; the access token's
# jti is deny-listed in Redis until expiry, the refresh token is revoked, a
# refresh token of another player is not touched), concurrent refreshes of one
# token (one wins, the family is revoked), GET /auth/me, and every
# kind of bad bearer token: missing, other scheme, garbage, expired, issued
# in the future, alg none, HS512, other key, tampered payload or signature,
# missing claims — each 401 problem with WWW-Authenticate: Bearer.

use strict;
use warnings;
use Test::More;
use Digest::SHA qw(hmac_sha256 hmac_sha512 sha256_hex);
use MIME::Base64 qw(encode_base64url);
use Mojo::JSON qw(encode_json);
use Stack;

Stack::Auth::need_stack();

my $F   = 130;
my $tag = Stack::T::tag();
my $PW  = $Stack::Auth::PASSWORD;
sub api { Stack::T::call(@_) }
sub J   { Stack::T::body_json(@_) }
sub sql { scalar Stack::psql($_[0]) }
my $ua = Stack::Auth::ua_at(Stack::Auth::addr($F));

my $R = Stack::Auth::new_user($ua, "t130_${tag}_r", countryCode => 'NO', displayName => 'Rita');
my $S = Stack::Auth::new_user($ua, "t130_${tag}_s");
sub me { api(GET => '/api/auth/me', token => $_[0]) }
sub refresh { api(POST => '/api/auth/refresh', ua => $ua, json => { refreshToken => $_[0] }) }
sub login {
	my ($u) = @_;
	my $tx = api(POST => '/api/auth/login', ua => $ua, json => { username => $u->{username}, password => $PW });
	die 'login failed: ' . $tx->res->body unless ($tx->res->code // 0) == 200;
	return J($tx);
}
sub rt_row {    # rotated/revoked state of a refresh token, by its hash
	my $h = sha256_hex($_[0]);
	return sql("SELECT (rotated_at IS NOT NULL)::text || '|' || (revoked_at IS NOT NULL)::text "
		. "FROM refresh_tokens WHERE token_hash = '\\x$h'::bytea");
}

# ------------------------------------------------------------- /auth/me
my $tx = me($R->{token});
is($tx->res->code, 200, '/auth/me with the registration token: 200');
is($tx->res->headers->cache_control, 'no-store', 'Cache-Control: no-store');
my $me = J($tx) // {};
is_deeply([ @$me{qw(id username email countryCode displayName role elo)} ],
	[ $R->{id}, $R->{username}, $R->{email}, 'NO', 'Rita', 'player', 1200 ], 'the profile, email included');
ok(exists $me->{lastActiveAt}, 'the owner view has lastActiveAt');

# ------------------------------------------------------ rotation + reuse
$tx = refresh($R->{refresh});
is($tx->res->code, 200, 'refresh: 200') or diag($tx->res->body);
is($tx->res->headers->cache_control, 'no-store', 'Cache-Control: no-store');
my $p1 = J($tx) // {};
is_deeply([ sort keys %$p1 ], [qw(expiresIn refreshToken token tokenType user)], 'a new session');
like($p1->{refreshToken} // '', qr/^rt_[A-Za-z0-9_-]{43}$/, 'a new refresh token');
isnt($p1->{refreshToken}, $R->{refresh}, 'different from the old one');
isnt($p1->{token}, $R->{token}, 'a new access token');
is($p1->{user}{id}, $R->{id}, 'for the same player');
is(Stack::Auth::jwt_claims($p1->{token})->{sub}, $R->{id}, 'its sub');
is(me($p1->{token})->res->code, 200, 'the new access token works');
is(rt_row($R->{refresh}), 'true|false', 'the old refresh token is marked rotated');
is(sql("SELECT count(DISTINCT family_id) FROM refresh_tokens WHERE token_hash IN ('\\x"
	. sha256_hex($R->{refresh}) . "'::bytea, '\\x" . sha256_hex($p1->{refreshToken}) . "'::bytea)"), 1,
	'both in one family');

$tx = refresh($p1->{refreshToken});
is($tx->res->code, 200, 'refresh the new one: 200');
my $p2 = J($tx) // {};

# an independent login of the same player (another family)
my $other = login($R);

$tx = refresh($R->{refresh});
Stack::Auth::problem_ok($tx, 401, undef, 'the first (rotated) token again: 401');
like(J($tx)->{detail} // '', qr/reuse/i, 'detail names the reuse');
Stack::Auth::problem_ok(refresh($p2->{refreshToken}), 401, undef, 'reuse revoked the family: the newest token fails too');
Stack::Auth::problem_ok(refresh($p1->{refreshToken}), 401, undef, 'and the middle one');
is(rt_row($p2->{refreshToken}), 'false|true', 'the newest token is revoked in the database');
$tx = refresh($other->{refreshToken});
is($tx->res->code, 200, 'the other login (other family) still refreshes') or diag($tx->res->body);
my $o2 = J($tx) // {};

# the same refresh token presented 4 times at once: one rotation wins, the
# others are reuse, so the family (with the winner's new token) is revoked
{
	require Mojo::Promise;
	my $F4 = login($R);
	my @p = map { $ua->post_p(Stack::url('/api/auth/refresh') => { 'Content-Type' => 'application/json' }
		=> encode_json({ refreshToken => $F4->{refreshToken} })) } 1 .. 4;
	my @res;
	Mojo::Promise->all_settled(@p)->then(sub { @res = map { $_->{value} ? $_->{value}[0] : undef } @_ })->wait;
	my @codes = sort map { $_ ? $_->res->code // 0 : 0 } @res;
	is_deeply(\@codes, [ 200, 401, 401, 401 ], 'concurrent refreshes of one token: one 200, three 401');
	my ($win) = grep { $_ && ($_->res->code // 0) == 200 } @res;
	my $wj = $win ? J($win) : {};
	Stack::Auth::problem_ok(refresh($wj->{refreshToken} // 'x'), 401, undef, "the winner's new refresh token is revoked with the family");
}

# ---------------------------------------------------------------- logout
my $L = login($R);
my $jti = Stack::Auth::jwt_claims($L->{token})->{jti};
$tx = api(POST => '/api/auth/logout', token => $L->{token}, json => { refreshToken => $L->{refreshToken} });
is($tx->res->code, 204, 'logout with the refresh token: 204');
is($tx->res->body, '', 'no body');
$tx = me($L->{token});
Stack::Auth::problem_ok($tx, 401, undef, 'the logged-out access token: 401');
like(J($tx)->{detail} // '', qr/revoked/, 'detail: revoked');
is(Stack::redis_cli('EXISTS', "revoked:jti:$jti"), 1, 'its jti is deny-listed in Redis');
my $ttl = Stack::redis_cli('TTL', "revoked:jti:$jti");
ok($ttl > 0 && $ttl <= 900 + 60, "the deny-list entry expires with the token ($ttl s)");
Stack::Auth::problem_ok(refresh($L->{refreshToken}), 401, undef, 'the logged-out refresh token: 401');
is(rt_row($L->{refreshToken}), 'false|true', 'revoked in the database');
Stack::Auth::problem_ok(api(POST => '/api/auth/logout', token => $L->{token}), 401, undef,
	'logout again with the revoked token: 401');
is(me($o2->{token})->res->code, 200, 'the other session of the player is untouched');

# logout without a body: the access token only
my $M = login($R);
is(api(POST => '/api/auth/logout', token => $M->{token})->res->code, 204, 'logout without a body: 204');
is(me($M->{token})->res->code, 401, 'its access token: 401');
is(refresh($M->{refreshToken})->res->code, 200, 'its refresh token was not named, so it still works');

# a refresh token of another player is not revoked by my logout
my $N = login($R);
is(api(POST => '/api/auth/logout', token => $N->{token}, json => { refreshToken => $S->{refresh} })->res->code,
	204, "logout naming another player's refresh token: 204");
is(rt_row($S->{refresh}), 'false|false', "the other player's token is not revoked");
is(refresh($S->{refresh})->res->code, 200, 'and still refreshes');

Stack::Auth::problem_ok(api(POST => '/api/auth/logout', json => {}), 401, undef, 'logout without a token: 401');
Stack::Auth::problem_ok(api(POST => '/api/auth/logout', token => $o2->{token}, json => { refreshToken => 'abc' }),
	422, 'refreshToken', 'logout with a malformed refresh token: 422');

# ------------------------------------------------------- refresh input
Stack::Auth::problem_ok(refresh('rt_' . encode_base64url('x' x 32)), 401, undef, 'unknown refresh token: 401');
Stack::Auth::problem_ok(refresh('garbage'), 401, undef, 'malformed refresh token: 401');
Stack::Auth::problem_ok(refresh($o2->{token}), 422, 'refreshToken', 'an access token as refresh token: 422 (too long)');
Stack::Auth::problem_ok(refresh('rt_' . substr($o2->{token}, 0, 43)), 401, undef, 'a refresh-token-shaped forgery: 401');
Stack::Auth::problem_ok(api(POST => '/api/auth/refresh', json => {}), 422, 'refreshToken', 'no refreshToken: 422');
Stack::Auth::problem_ok(api(POST => '/api/auth/refresh', json => { refreshToken => 42 }), 422, 'refreshToken',
	'numeric refreshToken: 422');

# ------------------------------------------------------------ bad tokens
my $now = time;
my %claims = (sub => $R->{id}, username => $R->{username}, role => 'player',
	jti => substr(sha256_hex("$tag-$now"), 0, 32), iat => $now, exp => $now + 900);
my %hs = (alg => 'HS256', typ => 'JWT');
my $secret = Stack::env('JWT_SECRET');
my $good = Stack::Auth::jwt_make(\%hs, \%claims);
is(me($good)->res->code, 200, 'a token forged with the right key and claims works (the forging is right)');

my ($gh, $gp, $gs) = split /\./, $good;
(my $flipped = $gs) =~ s/^(.)/$1 eq 'A' ? 'B' : 'A'/e;
my $admin_payload = encode_base64url(encode_json({ %claims, role => 'admin' }));
my $hs512_si = encode_base64url(encode_json({ alg => 'HS512', typ => 'JWT' })) . '.' . encode_base64url(encode_json(\%claims));
my @bad = (
	[ 'no Authorization header', undef ],
	[ 'empty bearer', { Authorization => 'Bearer ' } ],
	[ 'Basic scheme', { Authorization => 'Basic ' . encode_base64url("$R->{username}:$PW") } ],
	[ 'token without scheme', { Authorization => $good } ],
	[ 'garbage', 'not-a-token' ],
	[ 'two parts', "$gh.$gp" ],
	[ 'four parts', "$good.$gs" ],
	[ 'expired an hour ago', Stack::Auth::jwt_make(\%hs, { %claims, iat => $now - 4500, exp => $now - 3600 }), qr/expired/ ],
	[ 'expired 2 minutes ago', Stack::Auth::jwt_make(\%hs, { %claims, iat => $now - 1020, exp => $now - 120 }), qr/expired/ ],
	[ 'issued an hour in the future', Stack::Auth::jwt_make(\%hs, { %claims, iat => $now + 3600, exp => $now + 4500 }) ],
	[ 'exp before iat', Stack::Auth::jwt_make(\%hs, { %claims, exp => $now - 1 }) ],
	[ 'alg none, no signature', Stack::Auth::jwt_make({ alg => 'none', typ => 'JWT' }, \%claims, undef, sig => '') ],
	[ 'alg none with an HS256 signature', Stack::Auth::jwt_make({ alg => 'none', typ => 'JWT' }, \%claims) ],
	[ 'alg "None"', Stack::Auth::jwt_make({ alg => 'None' }, \%claims) ],
	[ 'alg HS512', "$hs512_si." . encode_base64url(hmac_sha512($hs512_si, $secret)) ],
	[ 'extra kid header', Stack::Auth::jwt_make({ %hs, kid => '../../dev/null' }, \%claims) ],
	[ 'signed with another key', Stack::Auth::jwt_make(\%hs, \%claims, 'x' x 64) ],
	[ 'signed with an empty key', Stack::Auth::jwt_make(\%hs, \%claims, '') ],
	[ 'payload changed to role admin', "$gh.$admin_payload.$gs" ],
	[ 'signature tampered', "$gh.$gp.$flipped" ],
	[ 'signature stripped', "$gh.$gp." ],
	[ 'no jti', Stack::Auth::jwt_make(\%hs, { %claims, jti => undef }) ],
	[ 'no sub', Stack::Auth::jwt_make(\%hs, { map { $_ => $claims{$_} } grep { $_ ne 'sub' } keys %claims }) ],
	[ 'sub not a uuid', Stack::Auth::jwt_make(\%hs, { %claims, sub => "' OR 1=1 --" }) ],
	[ 'exp as a string', Stack::Auth::jwt_make(\%hs, { %claims, exp => "" . ($now + 900) }) ],
	[ 'role superuser', Stack::Auth::jwt_make(\%hs, { %claims, role => 'superuser' }) ],
	[ 'header not JSON', encode_base64url('{alg:HS256}') . ".$gp.$gs" ],
	[ 'token over 2048 bytes', $good . ('A' x 4000), qr/too long/ ],
);
for my $b (@bad) {
	my ($name, $tok, $detail) = @$b;
	my %o = !defined $tok ? () : ref $tok ? (headers => $tok) : (token => $tok);
	my $t = api(GET => '/api/auth/me', %o);
	Stack::Auth::problem_ok($t, 401, undef, "bad token ($name): 401 + WWW-Authenticate");
	like(J($t)->{detail} // '', $detail, "  detail for $name") if $detail;
}
# bad tokens on a write: nothing happens
my $v0 = sql("SELECT version FROM players WHERE id = '$R->{id}'");
Stack::Auth::problem_ok(api(PATCH => "/api/players/$R->{id}", token => "$gh.$admin_payload.$gs", json => { bio => 'pwned' }),
	401, undef, 'PATCH with a tampered token: 401');
Stack::Auth::problem_ok(api(DELETE => "/api/players/$R->{id}",
	token => Stack::Auth::jwt_make({ alg => 'none' }, \%claims, undef, sig => '')), 401, undef, 'DELETE with alg none: 401');
is(sql("SELECT version || '|' || is_active::text || '|' || coalesce(bio, '') FROM players WHERE id = '$R->{id}'"),
	"$v0|true|", 'the player is unchanged');

done_testing();
