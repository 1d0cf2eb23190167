#!/usr/bin/perl
# 110-register.t — POST /auth/register (SPEC §6 Auth): the 201 answer (token
# pair, a JWT whose claims and HS256 signature check out, the user view), what
# lands in PostgreSQL (argon2id hash, all-time board row, hashed refresh
# token), optional fields and their normalisation, case-insensitive
# uniqueness of username and email (409 naming the field, nothing written),
# and the per-IP registration limit (10 per 60 s, 429 + Retry-After, only
# well-formed requests counted).  Source addresses 127.110.R.N (Stack::Auth).

use strict;
use warnings;
use utf8;
use Test::More;
use Digest::SHA qw(hmac_sha256 sha256_hex);
use MIME::Base64 qw(encode_base64url decode_base64url);
use Mojo::JSON qw(decode_json);
use Stack;

Stack::Auth::need_stack();

my $F   = 110;
my $tag = Stack::T::tag();
my $PW  = $Stack::Auth::PASSWORD;
sub api { Stack::T::call(@_) }
sub J   { Stack::T::body_json(@_) }
sub sql { scalar Stack::psql($_[0]) }
my $ISO = qr/^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z$/;
my $UUID = qr/^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/;

my $ua = Stack::Auth::ua_at(Stack::Auth::addr($F));

# ---------------------------------------------------------------- full body
my $uname = "T110_${tag}_Full";
my $email = "T110.${tag}.Full\@Example.COM";
my $dname = 'Zoë 🎮 Ωmega';
my $tx = api(POST => '/api/auth/register', ua => $ua, json => {
	username => $uname, email => $email, password => $PW, countryCode => 'se', displayName => $dname });
is($tx->res->code, 201, 'register with every field: 201') or diag($tx->res->body);
like($tx->res->headers->content_type // '', qr{^application/json; charset=utf-8$}i, 'JSON content type');
is($tx->res->headers->cache_control, 'no-store', 'Cache-Control: no-store');
like($tx->res->headers->header('X-Request-Id') // '', qr/^[A-Za-z0-9._-]{1,64}$/, 'X-Request-Id');
my $j = J($tx) // {};
is_deeply([ sort keys %$j ], [qw(expiresIn refreshToken token tokenType user)], 'session keys');
is($j->{tokenType}, 'Bearer', 'tokenType Bearer');
is($j->{expiresIn}, 900, 'expiresIn 900');
like($j->{refreshToken} // '', qr/^rt_[A-Za-z0-9_-]{43}$/, 'refreshToken rt_ + 32 random bytes');
my $u = $j->{user} // {};
is_deeply([ sort keys %$u ], [qw(countryCode createdAt displayName elo email id role username)], 'user keys');
like($u->{id} // '', $UUID, 'user.id is a UUID');
is($u->{username}, $uname, 'username as sent (case kept)');
is(lc($u->{email} // ''), lc($email), 'email as sent (modulo case)');
is($u->{countryCode}, 'SE', 'countryCode upper-cased');
is($u->{displayName}, $dname, 'unicode displayName round-trips');
is($u->{elo}, 1200, 'elo 1200');
is($u->{role}, 'player', 'role player');
like($u->{createdAt} // '', $ISO, 'createdAt ISO-8601 UTC');
my $ID = $u->{id} // 'none';

# the access token: HS256, our claims, signed with the stack's secret
my ($h64, $p64, $s64) = split /\./, $j->{token} // '';
my $hdr = eval { decode_json(decode_base64url($h64 // '')) } // {};
my $cl  = eval { decode_json(decode_base64url($p64 // '')) } // {};
is($hdr->{alg}, 'HS256', 'JWT alg HS256');
is($s64, encode_base64url(hmac_sha256("$h64.$p64", Stack::env('JWT_SECRET'))), 'JWT signature is HMAC-SHA256 with JWT_SECRET');
is($cl->{sub}, $ID, 'claim sub = user id');
is($cl->{username}, $uname, 'claim username');
is($cl->{role}, 'player', 'claim role');
like($cl->{jti} // '', qr/^[0-9a-f]{32}$/, 'claim jti');
ok(abs(($cl->{iat} // 0) - time) < 120, 'claim iat is now');
is(($cl->{exp} // 0) - ($cl->{iat} // 0), 900, 'exp = iat + 900');

# what was stored
my $row = sql("SELECT username || '|' || email || '|' || display_name || '|' || country_code || '|' || role"
	. " || '|' || elo || '|' || is_active || '|' || left(password_hash, 10) || '|' || (strpos(password_hash, '$PW') > 0)"
	. " FROM players WHERE id = '$ID'");
utf8::decode($row);
is($row, join('|', $uname, $email, $dname, 'SE', 'player', 1200, 'true', '$argon2id$', 'false'),
	'players row: values as sent, argon2id hash, no plaintext');
is(sql("SELECT count(*) || '|' || min(elo) || '|' || min(country_code) FROM leaderboard_entries "
	. "WHERE season_id = 'all-time' AND player_id = '$ID' AND is_active"), '1|1200|SE', 'on the all-time board at 1200');
my $rth = sha256_hex($j->{refreshToken} // '');
is(sql("SELECT count(*) FROM refresh_tokens WHERE player_id = '$ID' AND token_hash = '\\x$rth'::bytea "
	. "AND revoked_at IS NULL AND rotated_at IS NULL AND expires_at > now()"), 1, 'refresh token stored as its SHA-256');
is(sql("SELECT count(*) FROM refresh_tokens WHERE encode(token_hash, 'escape') LIKE '%" . substr($j->{refreshToken} // 'x', 3, 20) . "%'"),
	0, 'the raw refresh token is not stored');

$tx = api(GET => '/api/auth/me', token => $j->{token});
is($tx->res->code, 200, 'the new token works on /auth/me');
is(J($tx)->{email}, $u->{email}, '/auth/me shows the email');

# ------------------------------------------------- optional fields as null
my $min = "t110_${tag}_min";
$tx = api(POST => '/api/auth/register', ua => $ua, json => {
	username => $min, email => "$min\@example.com", password => $PW, countryCode => undef, displayName => undef });
is($tx->res->code, 201, 'register with countryCode/displayName null: 201') or diag($tx->res->body);
my $m = J($tx)->{user} // {};
ok(exists $m->{displayName} && !defined $m->{displayName}, 'displayName null');
ok(exists $m->{countryCode} && !defined $m->{countryCode}, 'countryCode null');
is(sql("SELECT (display_name IS NULL AND country_code IS NULL)::text FROM players WHERE id = '" . ($m->{id} // 'none') . "'"),
	'true', 'stored as NULL');

# --------------------------------------------- uniqueness, case-insensitive
my $players_before = sql("SELECT count(*) FROM players WHERE username ILIKE 't110\\_${tag}\\_%'");
$tx = api(POST => '/api/auth/register', ua => $ua, json => {
	username => uc($uname), email => "t110.${tag}.other1\@example.com", password => $PW });
Stack::Auth::problem_ok($tx, 409, 'username', 'same username in other case: 409 naming username');
like(J($tx)->{detail} // '', qr/username/i, 'detail says the username is taken');
$tx = api(POST => '/api/auth/register', ua => $ua, json => {
	username => "t110_${tag}_other2", email => lc($email), password => $PW });
Stack::Auth::problem_ok($tx, 409, 'email', 'same email in other case: 409 naming email');
like(J($tx)->{detail} // '', qr/email/i, 'detail says the email is registered');
is(sql("SELECT count(*) FROM players WHERE username ILIKE 't110\\_${tag}\\_%'"), $players_before, '409s wrote no player');
is(sql("SELECT count(*) FROM players WHERE email ILIKE 't110.${tag}.other%'"), 0, 'nor the other email');

# ------------------------------------------------ registration rate limit
# Fresh address: 12 malformed (422, not counted), 10 well-formed (201),
# the 11th well-formed one is 429 with Retry-After and writes nothing.
my $rl = Stack::Auth::ua_at(Stack::Auth::addr($F));
my $n422 = 0;
for my $i (1 .. 12) {
	$tx = api(POST => '/api/auth/register', ua => $rl, json => {
		username => "t110_${tag}_bad$i", email => "t110.${tag}.bad$i\@example.com", password => 'short' });
	$n422++ if ($tx->res->code // 0) == 422;
}
is($n422, 12, '12 invalid registrations from one address: all 422');
my @codes;
for my $i (1 .. 10) {
	$tx = api(POST => '/api/auth/register', ua => $rl, json => {
		username => "t110_${tag}_rl$i", email => "t110.${tag}.rl$i\@example.com", password => $PW });
	push @codes, $tx->res->code // 0;
}
is_deeply(\@codes, [ (201) x 10 ], 'then 10 well-formed ones: all 201 (the 422s did not count)');
$tx = api(POST => '/api/auth/register', ua => $rl, json => {
	username => "t110_${tag}_rl11", email => "t110.${tag}.rl11\@example.com", password => $PW });
Stack::Auth::problem_ok($tx, 429, undef, 'the 11th within 60 s: 429 problem with Retry-After');
my $ra = $tx->res->headers->header('Retry-After') // 0;
ok($ra >= 1 && $ra <= 60, "Retry-After within the 60 s window ($ra)");
is(sql("SELECT count(*) FROM players WHERE username = 't110_${tag}_rl11'"), 0, 'the refused registration wrote nothing');
$tx = api(POST => '/api/auth/register', ua => $rl, headers => { 'X-Forwarded-For' => '203.0.113.7', 'X-Real-IP' => '203.0.113.7',
	Forwarded => 'for=203.0.113.7' }, json => { username => "t110_${tag}_rl14", email => "t110.${tag}.rl14\@example.com", password => $PW });
Stack::Auth::problem_ok($tx, 429, undef, 'X-Forwarded-For / X-Real-IP / Forwarded do not escape the limit');
$tx = api(POST => '/api/auth/register', ua => $rl, json => {
	username => "t110_${tag}_rl12", email => 'not-an-email', password => $PW });
Stack::Auth::problem_ok($tx, 422, 'email', 'a malformed one from the limited address is still 422');
$tx = api(POST => '/api/auth/register', ua => Stack::Auth::ua_at(Stack::Auth::addr($F)), json => {
	username => "t110_${tag}_rl13", email => "t110.${tag}.rl13\@example.com", password => $PW });
is($tx->res->code, 201, 'another address is not limited') or diag($tx->res->body);

done_testing();
