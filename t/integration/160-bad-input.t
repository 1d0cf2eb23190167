#!/usr/bin/perl
# 160-bad-input.t — bad input to the auth and player endpoints (SPEC §6, §9):
# 400 malformed JSON (syntax, trailing garbage, duplicate keys, empty body,
# invalid UTF-8, \u0000 in a string), 413 over 64 KiB, 415 wrong media type,
# 405, 422 for the body shape and for every field rule of registration
# (username 3-32 [A-Za-z0-9_-] incl. unicode and 33 characters, email syntax,
# password 8-128 BYTES incl. multi-byte, countryCode, displayName, unknown
# fields, wrong JSON types), login, refresh, logout and PATCH — each an RFC
# 9457 problem naming the field — and after each one nothing was written (row
# counts of players, refresh_tokens, leaderboard_entries and the fixture
# player's row, read with psql before and after; prove runs the files one
# after another), the fixture's token still works and no worker died.  Also
# the accepted edge cases: SQL metacharacters in displayName and email stored
# verbatim, a 32-character username, multi-byte passwords of 8 and 128 bytes
# that log in.  Addresses 127.160.R.N.

use strict;
use warnings;
use utf8;
use Test::More;
use Mojo::JSON qw(true false);
use Stack;

Stack::Auth::need_stack();

my $F   = 160;
my $tag = Stack::T::tag();
my $PW  = $Stack::Auth::PASSWORD;
sub api { Stack::T::call(@_) }
sub J   { Stack::T::body_json(@_) }
my $DB = Stack::Auth::psql_session();    # one psql for the many snapshots
sub sql { my $r = $DB->query($_[0]); utf8::decode($r); $r }
my $ua = Stack::Auth::ua_at(Stack::Auth::addr($F));

my $O = Stack::Auth::new_user($ua, "t160_${tag}_owner", countryCode => 'PT', displayName => 'Owner');
my $T = $O->{token};

sub snapshot {
	return sql("SELECT (SELECT count(*) FROM players) || '|' || (SELECT count(*) FROM refresh_tokens) || '|' || "
		. "(SELECT count(*) FROM leaderboard_entries) || '|' || "
		. "(SELECT count(*) FROM refresh_tokens WHERE revoked_at IS NOT NULL OR rotated_at IS NOT NULL) || '|' || "
		. "(SELECT count(*) FROM players WHERE username ILIKE '%$tag%' OR email ILIKE '%$tag%') || '|' || "
		. "(SELECT concat_ws('|', version, display_name, country_code, bio, avatar_url, role, is_active, elo) "
		. " FROM players WHERE id = '$O->{id}')");
}
my @workers = sort(Stack::app_pids());

my %ok = (username => "t160_${tag}_new", email => "t160.${tag}.new\@example.com", password => 'Valid-pass-1');
my $big = '{"username":"' . ('x' x (70 * 1024)) . '"}';
my $reg = '/api/auth/register';

# [name, method, path, {call options}, status, field(s)]
my @cases = (
	# ---- body syntax / media type (register)
	[ 'register: malformed JSON', POST => $reg, { body => '{"username":' }, 400 ],
	[ 'register: trailing garbage', POST => $reg, { body => '{"username":"a"} x' }, 400 ],
	[ 'register: duplicate keys', POST => $reg,
		{ body => qq({"username":"t160_${tag}_d1","username":"t160_${tag}_d2","email":"t160.${tag}.d\@example.com","password":"Valid-pass-1"}) }, 400 ],
	[ 'register: empty body', POST => $reg, { body => '' }, 400 ],
	[ 'register: single quotes', POST => $reg, { body => "{'username':'x'}" }, 400 ],
	[ 'register: nesting deeper than 16', POST => $reg, { body => '{"username":' . ('[' x 20) . (']' x 20) . '}' }, 400 ],
	[ 'register: UTF-8 BOM', POST => $reg, { body => "\xef\xbb\xbf{}" }, 400 ],
	[ 'register: invalid UTF-8', POST => $reg,
		{ body => qq({"username":"t160_${tag}_u","email":"t160.${tag}.u\@example.com","password":"Valid-\xff\xfe-pass","displayName":"\xc3\x28"}) }, 400 ],
	[ 'register: text/plain', POST => $reg, { json => {%ok}, headers => { 'Content-Type' => 'text/plain' } }, 415 ],
	[ 'register: form encoded', POST => $reg,
		{ body => "username=t160_${tag}_f&email=x%40example.com&password=Valid-pass-1", content_type => 'application/x-www-form-urlencoded' }, 415 ],
	[ 'register: charset latin1', POST => $reg, { json => {%ok}, headers => { 'Content-Type' => 'application/json; charset=iso-8859-1' } }, 415 ],
	[ 'register: JSON array', POST => $reg, { body => '[]' }, 422, '' ],
	[ 'register: JSON string', POST => $reg, { body => '"hello"' }, 422, '' ],
	[ 'register: JSON null', POST => $reg, { body => 'null' }, 422, '' ],
	# ---- username
	[ 'username missing', POST => $reg, { json => { %ok, username => undef } }, 422, 'username' ],
	[ 'username absent', POST => $reg, { json => { email => $ok{email}, password => $ok{password} } }, 422, 'username' ],
	[ 'username a number', POST => $reg, { json => { %ok, username => 1234567 } }, 422, 'username' ],
	[ 'username true', POST => $reg, { json => { %ok, username => true } }, 422, 'username' ],
	[ 'username an array', POST => $reg, { json => { %ok, username => ['t160'] } }, 422, 'username' ],
	[ 'username an object', POST => $reg, { json => { %ok, username => { a => 1 } } }, 422, 'username' ],
	[ 'username empty', POST => $reg, { json => { %ok, username => '' } }, 422, 'username' ],
	[ 'username 2 chars', POST => $reg, { json => { %ok, username => 'ab' } }, 422, 'username' ],
	[ 'username 33 chars', POST => $reg, { json => { %ok, username => substr("t160_${tag}_" . ('x' x 40), 0, 33) } }, 422, 'username' ],
	[ 'username unicode (ö)', POST => $reg, { json => { %ok, username => "t160_${tag}_jö" } }, 422, 'username' ],
	[ 'username Cyrillic homoglyph', POST => $reg, { json => { %ok, username => "t160_${tag}_\x{0430}" } }, 422, 'username' ],
	[ 'username emoji', POST => $reg, { json => { %ok, username => "t160_${tag}_\x{1F600}" } }, 422, 'username' ],
	[ 'username with space', POST => $reg, { json => { %ok, username => "t160 ${tag}" } }, 422, 'username' ],
	[ 'username SQL quote', POST => $reg, { json => { %ok, username => "t160_${tag}'--" } }, 422, 'username' ],
	[ 'username HTML', POST => $reg, { json => { %ok, username => "<b>t160_${tag}</b>" } }, 422, 'username' ],
	[ 'username with @', POST => $reg, { json => { %ok, username => "t160\@${tag}" } }, 422, 'username' ],
	[ 'username with dot', POST => $reg, { json => { %ok, username => "t160.${tag}" } }, 422, 'username' ],
	[ 'username with \u0000 (refused by the JSON parser)', POST => $reg, { json => { %ok, username => "t160_${tag}\0x" } }, 400 ],
	# ---- email
	[ 'email absent', POST => $reg, { json => { username => $ok{username}, password => $ok{password} } }, 422, 'email' ],
	[ 'email a number', POST => $reg, { json => { %ok, email => 42 } }, 422, 'email' ],
	[ 'email without @', POST => $reg, { json => { %ok, email => "t160.${tag}.example.com" } }, 422, 'email' ],
	[ 'email with two @', POST => $reg, { json => { %ok, email => "t160\@${tag}\@example.com" } }, 422, 'email' ],
	[ 'email one-label domain', POST => $reg, { json => { %ok, email => "t160.${tag}\@localhost" } }, 422, 'email' ],
	[ 'email numeric TLD', POST => $reg, { json => { %ok, email => "t160.${tag}\@example.c1" } }, 422, 'email' ],
	[ 'email leading dot', POST => $reg, { json => { %ok, email => ".t160.${tag}\@example.com" } }, 422, 'email' ],
	[ 'email double dot', POST => $reg, { json => { %ok, email => "t160..${tag}\@example.com" } }, 422, 'email' ],
	[ 'email with space', POST => $reg, { json => { %ok, email => "t160 ${tag}\@example.com" } }, 422, 'email' ],
	[ 'email non-ASCII', POST => $reg, { json => { %ok, email => "tö160.${tag}\@example.com" } }, 422, 'email' ],
	[ 'email label starting with -', POST => $reg, { json => { %ok, email => "t160.${tag}\@-example.com" } }, 422, 'email' ],
	[ 'email empty local part', POST => $reg, { json => { %ok, email => "\@${tag}.example.com" } }, 422, 'email' ],
	[ 'email of 255 chars', POST => $reg, { json => { %ok, email => "t160.${tag}\@" . ('a' x 60 . '.') x 4 . 'com' } }, 422, 'email' ],
	[ 'email local part of 65', POST => $reg, { json => { %ok, email => ('x' x 55) . ".${tag}\@example.com" } }, 422, 'email' ],
	# ---- password (bytes, not characters)
	[ 'password absent', POST => $reg, { json => { username => $ok{username}, email => $ok{email} } }, 422, 'password' ],
	[ 'password null', POST => $reg, { json => { %ok, password => undef } }, 422, 'password' ],
	[ 'password a number', POST => $reg, { json => { %ok, password => 123456789 } }, 422, 'password' ],
	[ 'password of 7 bytes', POST => $reg, { json => { %ok, password => 'Short-7' } }, 422, 'password' ],
	[ 'password of 129 bytes', POST => $reg, { json => { %ok, password => 'p' x 129 } }, 422, 'password' ],
	[ 'password 4 chars / 7 bytes (ééé + a)', POST => $reg, { json => { %ok, password => 'éééa' } }, 422, 'password' ],
	[ 'password 65 chars / 130 bytes (é x 65)', POST => $reg, { json => { %ok, password => 'é' x 65 } }, 422, 'password' ],
	[ 'password 33 emoji / 132 bytes', POST => $reg, { json => { %ok, password => "\x{1F511}" x 33 } }, 422, 'password' ],
	[ 'password with \u0000 (refused by the JSON parser)', POST => $reg, { json => { %ok, password => "Valid\0pass-1" } }, 400 ],
	# ---- countryCode
	[ 'countryCode XX', POST => $reg, { json => { %ok, countryCode => 'XX' } }, 422, 'countryCode' ],
	[ 'countryCode ZZ', POST => $reg, { json => { %ok, countryCode => 'zz' } }, 422, 'countryCode' ],
	[ 'countryCode USA', POST => $reg, { json => { %ok, countryCode => 'USA' } }, 422, 'countryCode' ],
	[ 'countryCode U', POST => $reg, { json => { %ok, countryCode => 'U' } }, 422, 'countryCode' ],
	[ 'countryCode empty', POST => $reg, { json => { %ok, countryCode => '' } }, 422, 'countryCode' ],
	[ 'countryCode a number', POST => $reg, { json => { %ok, countryCode => 49 } }, 422, 'countryCode' ],
	[ 'countryCode U+2003 S', POST => $reg, { json => { %ok, countryCode => "U\x{2003}S" } }, 422, 'countryCode' ],
	# ---- displayName
	[ 'displayName empty', POST => $reg, { json => { %ok, displayName => '' } }, 422, 'displayName' ],
	[ 'displayName 65 code points', POST => $reg, { json => { %ok, displayName => 'é' x 65 } }, 422, 'displayName' ],
	[ 'displayName blank', POST => $reg, { json => { %ok, displayName => '   ' } }, 422, 'displayName' ],
	[ 'displayName zero-width only', POST => $reg, { json => { %ok, displayName => "\x{200B}\x{200B}" } }, 422, 'displayName' ],
	[ 'displayName leading space', POST => $reg, { json => { %ok, displayName => ' Bob' } }, 422, 'displayName' ],
	[ 'displayName control char', POST => $reg, { json => { %ok, displayName => "Bob\x{7}" } }, 422, 'displayName' ],
	[ 'displayName newline', POST => $reg, { json => { %ok, displayName => "Bob\nSmith" } }, 422, 'displayName' ],
	[ 'displayName a number', POST => $reg, { json => { %ok, displayName => 7 } }, 422, 'displayName' ],
	# ---- unknown fields / several at once
	[ 'unknown field role', POST => $reg, { json => { %ok, role => 'admin' } }, 422, 'role' ],
	[ 'unknown field elo', POST => $reg, { json => { %ok, elo => 3000 } }, 422, 'elo' ],
	[ 'unknown field id', POST => $reg, { json => { %ok, id => '00000000-0000-4000-8000-000000000000' } }, 422, 'id' ],
	[ 'unknown field in other case', POST => $reg, { json => { %{ { %ok, Username => $ok{username} } } } }, 422, 'Username' ],
	[ 'three bad fields', POST => $reg, { json => { username => 'a', email => 'b', password => 'c' } }, 422,
		[qw(username email password)] ],
	# ---- login
	[ 'login: malformed JSON', POST => '/api/auth/login', { body => '{"login":"x",' }, 400 ],
	[ 'login: text/plain', POST => '/api/auth/login', { body => '{}', content_type => 'text/plain' }, 415 ],
	[ 'login: empty body', POST => '/api/auth/login', { body => '' }, 400 ],
	[ 'login: array', POST => '/api/auth/login', { body => '[1]' }, 422, '' ],
	[ 'login: username + email', POST => '/api/auth/login', { json => { username => $O->{username}, email => $O->{email}, password => $PW } }, 422, 'login' ],
	[ 'login: all three', POST => '/api/auth/login',
		{ json => { login => $O->{username}, username => $O->{username}, email => $O->{email}, password => $PW } }, 422, 'login' ],
	[ 'login: none', POST => '/api/auth/login', { json => { password => $PW } }, 422, 'login' ],
	[ 'login: username a number', POST => '/api/auth/login', { json => { username => 5, password => $PW } }, 422, 'username' ],
	[ 'login: password missing', POST => '/api/auth/login', { json => { username => $O->{username} } }, 422, 'password' ],
	[ 'login: password false', POST => '/api/auth/login', { json => { username => $O->{username}, password => false } }, 422, 'password' ],
	[ 'login: unknown field', POST => '/api/auth/login', { json => { username => $O->{username}, password => $PW, remember => true } }, 422, 'remember' ],
	# ---- refresh / logout
	[ 'refresh: malformed JSON', POST => '/api/auth/refresh', { body => '{"refreshToken":}' }, 400 ],
	[ 'refresh: text/plain', POST => '/api/auth/refresh', { body => $O->{refresh}, content_type => 'text/plain' }, 415 ],
	[ 'refresh: missing', POST => '/api/auth/refresh', { json => {} }, 422, 'refreshToken' ],
	[ 'refresh: null', POST => '/api/auth/refresh', { json => { refreshToken => undef } }, 422, 'refreshToken' ],
	[ 'refresh: number', POST => '/api/auth/refresh', { json => { refreshToken => 1 } }, 422, 'refreshToken' ],
	[ 'refresh: unknown field', POST => '/api/auth/refresh', { json => { refreshToken => $O->{refresh}, family => 'x' } }, 422, 'family' ],
	[ 'refresh: over-long token', POST => '/api/auth/refresh', { json => { refreshToken => 'rt_' . ('A' x 200) } }, 422, 'refreshToken' ],
	[ 'refresh: unknown token', POST => '/api/auth/refresh', { json => { refreshToken => 'rt_' . ('A' x 43) } }, 401 ],
	[ 'logout: malformed JSON', POST => '/api/auth/logout', { token => $T, body => '{' }, 400 ],
	[ 'logout: text/plain', POST => '/api/auth/logout', { token => $T, body => '{}', content_type => 'text/plain' }, 415 ],
	[ 'logout: refreshToken a number', POST => '/api/auth/logout', { token => $T, json => { refreshToken => 7 } }, 422, 'refreshToken' ],
	[ 'logout: refreshToken malformed', POST => '/api/auth/logout', { token => $T, json => { refreshToken => 'nope' } }, 422, 'refreshToken' ],
	[ 'logout: unknown field', POST => '/api/auth/logout', { token => $T, json => { everywhere => true } }, 422, 'everywhere' ],
	[ 'me: garbage token', GET => '/api/auth/me', { token => 'x.y.z' }, 401 ],
	# ---- PATCH /players/{id}
	[ 'patch: malformed JSON', PATCH => "/api/players/$O->{id}", { token => $T, body => '{"bio":"x"' }, 400 ],
	[ 'patch: duplicate keys', PATCH => "/api/players/$O->{id}", { token => $T, body => '{"bio":"a","bio":"b"}' }, 400 ],
	[ 'patch: text/plain', PATCH => "/api/players/$O->{id}", { token => $T, body => '{"bio":"x"}', content_type => 'text/plain' }, 415 ],
	[ 'patch: empty body', PATCH => "/api/players/$O->{id}", { token => $T, body => '' }, 400 ],
	[ 'patch: empty object', PATCH => "/api/players/$O->{id}", { token => $T, json => {} }, 422, '' ],
	[ 'patch: array', PATCH => "/api/players/$O->{id}", { token => $T, body => '[{"bio":"x"}]' }, 422, '' ],
	[ 'patch: unknown field', PATCH => "/api/players/$O->{id}", { token => $T, json => { nickname => 'x' } }, 422, 'nickname' ],
	[ 'patch: role', PATCH => "/api/players/$O->{id}", { token => $T, json => { role => 'admin', bio => 'x' } }, 422, 'role' ],
	[ 'patch: bio 501', PATCH => "/api/players/$O->{id}", { token => $T, json => { bio => 'b' x 501 } }, 422, 'bio' ],
	[ 'patch: bio control char', PATCH => "/api/players/$O->{id}", { token => $T, json => { bio => "bell\x{7}" } }, 422, 'bio' ],
	[ 'patch: avatarUrl http', PATCH => "/api/players/$O->{id}", { token => $T, json => { avatarUrl => 'http://x.example/a.png' } }, 422, 'avatarUrl' ],
	[ 'patch: avatarUrl data:', PATCH => "/api/players/$O->{id}", { token => $T, json => { avatarUrl => 'data:image/png;base64,AAAA' } }, 422, 'avatarUrl' ],
	[ 'patch: avatarUrl with quote', PATCH => "/api/players/$O->{id}", { token => $T, json => { avatarUrl => q(https://x.example/"onerror=) } }, 422, 'avatarUrl' ],
	[ 'patch: countryCode number', PATCH => "/api/players/$O->{id}", { token => $T, json => { countryCode => 1 } }, 422, 'countryCode' ],
	[ 'patch: displayName array', PATCH => "/api/players/$O->{id}", { token => $T, json => { displayName => ['x'] } }, 422, 'displayName' ],
	[ 'patch: displayName 65', PATCH => "/api/players/$O->{id}", { token => $T, json => { displayName => 'é' x 65 } }, 422, 'displayName' ],
	[ 'patch: good + bad field', PATCH => "/api/players/$O->{id}", { token => $T, json => { displayName => 'Changed', countryCode => 'XX' } }, 422, 'countryCode' ],
	[ 'patch: no token', PATCH => "/api/players/$O->{id}", { json => { bio => 'x' } }, 401 ],
	# ---- wrong method
	[ 'GET /auth/register', GET => $reg, {}, 405 ],
	[ 'PUT /players/{id}', PUT => "/api/players/$O->{id}", { token => $T, json => { bio => 'x' } }, 405 ],
);

my $before = snapshot();
for my $c (@cases) {
	my ($name, $method, $path, $o, $status, $field) = @$c;
	my $tx = api($method => $path, ua => $ua, %$o);
	my @fields = ref $field ? @$field : ($field);
	my $ok = 1;
	$ok &&= Stack::Auth::problem_ok($tx, $status, $_, "$name: $status" . (defined $_ && length $_ ? " naming $_" : ''))
		for @fields;
	like($tx->res->headers->header('Allow') // '', qr/\b(?:POST|GET|PATCH)\b/, "  $name: Allow header") if $status == 405;
	my $after = snapshot();
	is($after, $before, "  $name: nothing written") or $before = $after;
}

# 413: nginx refuses the body before the app (its own problem document)
my $tx = api(POST => $reg, ua => $ua, body => $big);
is($tx->res->code, 413, 'register: body over 64 KiB: 413');
like($tx->res->headers->content_type // '', qr{^application/problem\+json}, '  as application/problem+json');
is((J($tx) // {})->{status}, 413, '  status 413 in the body');
is(snapshot(), $before, '  nothing written');

# ---------------------------------------------- accepted edge cases (201)
# SQL metacharacters are data: stored and returned verbatim
my $sqlname = q(O'Brien; DROP TABLE players;--);
my $qemail  = "o'brien.${tag}+x\@example.com";
$tx = api(POST => $reg, ua => $ua, json => { username => "t160_${tag}_obrien", email => $qemail, password => $PW,
	displayName => $sqlname });
is($tx->res->code, 201, 'displayName with SQL metacharacters: 201') or diag($tx->res->body);
my $sid = (J($tx) // {})->{user}{id} // 'none';
is(J($tx)->{user}{displayName}, $sqlname, '  returned verbatim');
is(J($tx)->{user}{email}, $qemail, "  email with ' and + returned verbatim");
is((J(api(GET => "/api/players/$sid")) // {})->{displayName}, $sqlname, '  GET /players/{id} returns it verbatim');
is(sql("SELECT display_name || '|' || email FROM players WHERE id = '$sid'"), "$sqlname|$qemail", '  stored verbatim');
is(sql("SELECT to_regclass('public.players') IS NOT NULL"), 't', '  the players table is still there');
is(api(POST => '/api/auth/login', ua => $ua, json => { email => $qemail, password => $PW })->res->code, 200,
	"  login by the email with a quote: 200");
my ($t2) = api(PATCH => "/api/players/$sid", token => J($tx)->{token}, json => { bio => q{Robert'); DROP TABLE players;-- <script>} });
is((J($t2) // {})->{bio}, q{Robert'); DROP TABLE players;-- <script>}, '  a bio with SQL and HTML round-trips');

my $u32 = substr("t160_${tag}_" . ('z' x 32), 0, 32);
$tx = api(POST => $reg, ua => $ua, json => { username => $u32, email => "t160.${tag}.u32\@example.com", password => $PW });
is_deeply([ $tx->res->code, length((J($tx) // {})->{user}{username} // '') ], [ 201, 32 ], 'username of 32 characters: 201');

for my $pw ([ 'é' x 4, '8 bytes / 4 characters' ], [ 'é' x 64, '128 bytes / 64 characters' ]) {
	my $n = length $pw->[0];
	my $name = "t160_${tag}_pw$n";
	$tx = api(POST => $reg, ua => $ua, json => { username => $name, email => "t160.${tag}.pw$n\@example.com", password => $pw->[0] });
	is($tx->res->code, 201, "password of $pw->[1]: 201") or diag($tx->res->body);
	is(api(POST => '/api/auth/login', ua => $ua, json => { username => $name, password => $pw->[0] })->res->code, 200,
		'  and it logs in');
	is(api(POST => '/api/auth/login', ua => $ua, json => { username => $name, password => 'e' x $n })->res->code, 401,
		'  the ASCII look-alike does not');
}

is(api(GET => '/api/auth/me', token => $T)->res->code, 200, "the refused logouts did not revoke the fixture's token");
is_deeply([ sort(Stack::app_pids()) ], \@workers, 'no worker died or was replaced');

done_testing();
