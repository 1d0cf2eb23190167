#!/usr/bin/perl
# 140-players.t — /players/{id} (SPEC §6 Players): the public profile and who
# sees email/lastActiveAt (owner and admins only; such answers are private,
# never publicly cacheable), PATCH by the owner or an admin (set, normalise,
# null clears, limits, unknown fields such as role refused, 403 for others),
# DELETE (self or admin; afterwards 404, tokens 401, refresh 401, login 401,
# gone from the boards and the search), admin = a promoted player after a
# fresh login.  Addresses 127.140.R.N.

use strict;
use warnings;
use utf8;
use Test::More;
use Mojo::JSON qw(false);
use Stack;

Stack::Auth::need_stack();

my $F   = 140;
my $tag = Stack::T::tag();
my $PW  = $Stack::Auth::PASSWORD;
sub api { Stack::T::call(@_) }
sub J   { Stack::T::body_json(@_) }
sub sql { my $r = scalar Stack::psql($_[0]); utf8::decode($r); $r }
my $ua = Stack::Auth::ua_at(Stack::Auth::addr($F));
my $NOBODY = '00000000-0000-4000-8000-000000000000';

my $A = Stack::Auth::new_user($ua, "t140_${tag}_alice", countryCode => 'FI', displayName => 'Alice');
my $B = Stack::Auth::new_user($ua, "t140_${tag}_bob");
my $C = Stack::Auth::new_user($ua, "t140_${tag}_carol");    # becomes admin
my $D = Stack::Auth::new_user($ua, "t140_${tag}_dave");     # deletes himself
my $E = Stack::Auth::new_user($ua, "t140_${tag}_erin");     # deleted by the admin

my @PUBLIC = sort qw(id username displayName countryCode avatarUrl bio role elo peakElo gamesPlayed wins losses draws createdAt);
my @PRIVATE = sort @PUBLIC, qw(email lastActiveAt);

sub view {
	my ($id, $token, %o) = @_;
	my $tx = api(GET => "/api/players/$id", defined $token ? (token => $token) : (), %o);
	return wantarray ? ($tx, J($tx) // {}) : $tx;
}

# ------------------------------------------------------------ reading
my ($tx, $p) = view($A->{id});
is($tx->res->code, 200, 'anonymous GET /players/{id}: 200');
like($tx->res->headers->content_type // '', qr{^application/json; charset=utf-8$}i, 'JSON');
is_deeply([ sort keys %$p ], \@PUBLIC, 'public fields only: no email, no lastActiveAt');
is_deeply([ @$p{qw(id username displayName countryCode avatarUrl bio role elo peakElo gamesPlayed wins losses draws)} ],
	[ $A->{id}, $A->{username}, 'Alice', 'FI', undef, undef, 'player', 1200, 1200, 0, 0, 0, 0 ], 'public values');
is($p->{createdAt}, $A->{createdAt}, 'createdAt as at registration');
like($tx->res->headers->cache_control // '', qr/\bpublic\b/, 'the public view is publicly cacheable');
unlike($tx->res->body, qr/\Q$A->{email}\E|argon2|password/i, 'no email or hash anywhere in the body');

($tx, $p) = view($A->{id}, $B->{token});
is($tx->res->code, 200, 'another player: 200');
is_deeply([ sort keys %$p ], \@PUBLIC, "another player does not see the email");

($tx, $p) = view($A->{id}, 'garbage.token.here');
is($tx->res->code, 200, 'a bad token on a public read: treated as anonymous');
is_deeply([ sort keys %$p ], \@PUBLIC, '... public view');

($tx, $p) = view($A->{id}, $A->{token});
is($tx->res->code, 200, 'the owner: 200');
is_deeply([ sort keys %$p ], \@PRIVATE, 'the owner sees email and lastActiveAt');
is($p->{email}, $A->{email}, 'own email');
like($tx->res->headers->cache_control // '', qr/\bprivate\b.*\bno-store\b|\bno-store\b.*\bprivate\b/, 'private, no-store');

for my $path ("/api/players/$NOBODY", '/api/players/not-a-uuid', "/api/players/$A->{id}x", "/players/$NOBODY") {
	Stack::Auth::problem_ok(api(GET => $path), 404, undef, "GET $path: 404");
}

# --------------------------------------------------------------- admin
my $old_c = $C->{token};
Stack::psql("UPDATE players SET role = 'admin' WHERE id = '$C->{id}'");
$tx = api(POST => '/api/auth/login', ua => $ua, json => { username => $C->{username}, password => $PW });
is($tx->res->code, 200, 'admin logs in again');
my $ADM = J($tx)->{token};
is(J($tx)->{user}{role}, 'admin', 'user.role admin');
is(Stack::Auth::jwt_claims($ADM)->{role}, 'admin', 'token role admin');
($tx, $p) = view($A->{id}, $ADM);
is_deeply([ sort keys %$p ], \@PRIVATE, 'the admin sees email and lastActiveAt');
like($tx->res->headers->cache_control // '', qr/no-store/, 'that answer is not cacheable');
($tx, $p) = view($A->{id}, $old_c);
is_deeply([ sort keys %$p ], \@PUBLIC, 'a token from before the promotion (role player) does not');
Stack::Auth::problem_ok(api(PATCH => "/api/players/$A->{id}", token => $old_c, json => { bio => 'x' }), 403, undef,
	'nor may it PATCH others');

# --------------------------------------------------------------- PATCH
sub patch {
	my ($id, $token, $body) = @_;
	my $tx = api(PATCH => "/api/players/$id", defined $token ? (token => $token) : (), json => $body);
	return wantarray ? ($tx, J($tx) // {}) : $tx;
}
my $bio = "Ich spiele gern. \x{1F3D3}\nZeile 2\t— ok";
($tx, $p) = patch($A->{id}, $A->{token},
	{ displayName => 'Alice Ä. Übel', countryCode => 'de', bio => $bio, avatarUrl => 'https://cdn.example.com/a/alice.png?s=64' });
is($tx->res->code, 200, 'owner PATCH of all four fields: 200') or diag($tx->res->body);
is_deeply([ sort keys %$p ], \@PRIVATE, 'answers with the private profile');
is_deeply([ @$p{qw(displayName countryCode bio avatarUrl email)} ],
	[ 'Alice Ä. Übel', 'DE', $bio, 'https://cdn.example.com/a/alice.png?s=64', $A->{email} ], 'values set, country upper-cased');
like($tx->res->headers->cache_control // '', qr/no-store/, 'not cacheable');
is(sql("SELECT display_name || '|' || country_code || '|' || bio || '|' || avatar_url FROM players WHERE id = '$A->{id}'"),
	"Alice Ä. Übel|DE|$bio|https://cdn.example.com/a/alice.png?s=64", 'stored');
is(sql("SELECT country_code FROM leaderboard_entries WHERE season_id = 'all-time' AND player_id = '$A->{id}'"), 'DE',
	'the board entry follows the country');
(undef, $p) = view($A->{id});
is_deeply([ @$p{qw(displayName countryCode bio avatarUrl)} ], [ 'Alice Ä. Übel', 'DE', $bio, 'https://cdn.example.com/a/alice.png?s=64' ],
	'the public view shows them');

($tx, $p) = patch($A->{id}, $A->{token}, { bio => undef, avatarUrl => undef });
is($tx->res->code, 200, 'PATCH with nulls: 200');
is_deeply([ @$p{qw(displayName countryCode bio avatarUrl)} ], [ 'Alice Ä. Übel', 'DE', undef, undef ], 'null clears, the rest stays');
($tx, $p) = patch($A->{id}, $A->{token}, { displayName => undef, countryCode => undef });
is_deeply([ $tx->res->code, @$p{qw(displayName countryCode)} ], [ 200, undef, undef ], 'displayName and countryCode cleared');

($tx, $p) = patch($A->{id}, $A->{token}, { bio => 'é' x 500 });
is_deeply([ $tx->res->code, length($p->{bio} // '') ], [ 200, 500 ], 'bio of 500 code points (1000 bytes): 200');
($tx, $p) = patch($A->{id}, $A->{token}, { displayName => "\x{1F600}" x 64 });
is_deeply([ $tx->res->code, length($p->{displayName} // '') ], [ 200, 64 ], 'displayName of 64 emoji (256 bytes): 200');

($tx, $p) = patch($A->{id}, $ADM, { displayName => 'Moderated' });
is_deeply([ $tx->res->code, $p->{displayName}, $p->{email} ], [ 200, 'Moderated', $A->{email} ], 'admin PATCH of another player: 200');

# refused PATCHes change nothing
my $before = sql("SELECT version || '|' || role || '|' || elo || '|' || coalesce(display_name, '') || '|' || coalesce(bio, '') FROM players WHERE id = '$A->{id}'");
my @refused = (
	[ 'another player', $B->{token}, { displayName => 'Hacked' }, 403 ],
	[ 'no token', undef, { displayName => 'Hacked' }, 401 ],
	[ 'empty object', $A->{token}, {}, 422, '' ],
	[ 'role admin (unknown field)', $A->{token}, { role => 'admin' }, 422, 'role' ],
	[ 'elo (unknown field)', $A->{token}, { elo => 3000 }, 422, 'elo' ],
	[ 'email (not updatable here)', $A->{token}, { email => 'x@example.com' }, 422, 'email' ],
	[ 'username (not updatable)', $A->{token}, { username => 'renamed' }, 422, 'username' ],
	[ 'valid field + unknown field', $A->{token}, { displayName => 'Hacked', isActive => false }, 422, 'isActive' ],
	[ 'bio of 501 code points', $A->{token}, { bio => 'é' x 501 }, 422, 'bio' ],
	[ 'avatarUrl http://', $A->{token}, { avatarUrl => 'http://example.com/a.png' }, 422, 'avatarUrl' ],
	[ 'avatarUrl javascript:', $A->{token}, { avatarUrl => 'javascript:alert(1)' }, 422, 'avatarUrl' ],
	[ 'avatarUrl with user info', $A->{token}, { avatarUrl => 'https://evil@example.com/' }, 422, 'avatarUrl' ],
	[ 'countryCode XX', $A->{token}, { countryCode => 'XX' }, 422, 'countryCode' ],
	[ 'countryCode USA', $A->{token}, { countryCode => 'USA' }, 422, 'countryCode' ],
	[ 'displayName of 65 code points', $A->{token}, { displayName => 'x' x 65 }, 422, 'displayName' ],
	[ 'displayName blank', $A->{token}, { displayName => '   ' }, 422, 'displayName' ],
	[ 'displayName empty', $A->{token}, { displayName => '' }, 422, 'displayName' ],
	[ 'bio a number', $A->{token}, { bio => 42 }, 422, 'bio' ],
);
for my $r (@refused) {
	my ($name, $tok, $body, $status, $field) = @$r;
	($tx) = patch($A->{id}, $tok, $body);
	Stack::Auth::problem_ok($tx, $status, $field, "PATCH $name: $status");
}
Stack::Auth::problem_ok(scalar patch($NOBODY, $ADM, { bio => 'x' }), 404, undef, 'admin PATCH of an unknown player: 404');
Stack::Auth::problem_ok(scalar patch('nope', $ADM, { bio => 'x' }), 404, undef, 'PATCH of a non-UUID id: 404');
is(sql("SELECT version || '|' || role || '|' || elo || '|' || coalesce(display_name, '') || '|' || coalesce(bio, '') FROM players WHERE id = '$A->{id}'"),
	$before, 'none of the refused PATCHes changed the row');
is(view(uc $A->{id})->res->code, 200, 'GET with the id in upper case (a valid UUID spelling): 200');
{
	is(patch(uc $A->{id}, $A->{token}, { bio => 'upper' })->res->code, 200, 'owner PATCH with the id in upper case: 200');
}

# -------------------------------------------------------------- DELETE
sub on_board {    # is $id on the all-time board? (pages through it all)
	my ($id) = @_;
	my ($cursor, $found, $pages) = (undef, 0, 0);
	while (1) {
		my $t = api(GET => '/api/leaderboards?limit=100' . (defined $cursor ? "&cursor=$cursor" : ''));
		die 'GET /leaderboards: ' . ($t->res->code // 0) unless ($t->res->code // 0) == 200;
		my $j = J($t);
		$found ||= grep { $_->{playerId} eq $id } @{ $j->{entries} };
		$cursor = $j->{nextCursor};
		last if !defined $cursor || ++$pages > 200;
	}
	return $found ? 1 : 0;
}
ok(on_board($D->{id}), 'before: dave is on the leaderboard');
Stack::Auth::problem_ok(api(DELETE => "/api/players/$D->{id}", token => $B->{token}), 403, undef, 'DELETE by another player: 403');
Stack::Auth::problem_ok(api(DELETE => "/api/players/$D->{id}"), 401, undef, 'DELETE without a token: 401');
is(sql("SELECT is_active::text FROM players WHERE id = '$D->{id}'"), 'true', 'dave is still active');

$tx = api(DELETE => "/api/players/$D->{id}", token => $D->{token});
is($tx->res->code, 204, 'DELETE of oneself: 204');
is($tx->res->body, '', 'no body');
Stack::Auth::problem_ok(scalar view($D->{id}), 404, undef, 'then GET: 404');
Stack::Auth::problem_ok(scalar view($D->{id}, $ADM), 404, undef, 'also for an admin');
Stack::Auth::problem_ok(api(GET => "/api/players/$D->{id}/stats"), 404, undef, 'stats: 404');
Stack::Auth::problem_ok(api(GET => '/api/auth/me', token => $D->{token}), 401, undef, 'his access token: 401');
Stack::Auth::problem_ok(api(POST => '/api/auth/refresh', json => { refreshToken => $D->{refresh} }), 401, undef, 'his refresh token: 401');
Stack::Auth::problem_ok(api(POST => '/api/auth/login', ua => $ua, json => { username => $D->{username}, password => $PW }),
	401, undef, 'login: 401');
ok(Stack::wait_for(sub { !on_board($D->{id}) }, 5, 0.3), 'he is gone from GET /leaderboards');
$tx = api(GET => "/api/players?search=t140_${tag}_");
is_deeply([ sort map { $_->{username} } @{ J($tx)->{players} // [] } ],
	[ sort map { $_->{username} } $A, $B, $C, $E ], 'and from the player search');
Stack::Auth::problem_ok(api(DELETE => "/api/players/$D->{id}", token => $ADM), 404, undef, 'DELETE again: 404');
is(sql("SELECT is_active::text || '|' || (SELECT bool_and(NOT is_active)::text FROM leaderboard_entries WHERE player_id = '$D->{id}')"
	. " || '|' || (SELECT count(*) FROM refresh_tokens WHERE player_id = '$D->{id}' AND revoked_at IS NULL) FROM players WHERE id = '$D->{id}'"),
	'false|true|0', 'in the database: deactivated, off the boards, refresh tokens revoked');
Stack::Auth::problem_ok(scalar patch($D->{id}, $D->{token}, { bio => 'back' }), 401, undef, 'PATCH with his old token: 401');

$tx = api(DELETE => "/api/players/$E->{id}", token => $ADM);
is($tx->res->code, 204, 'admin DELETE of another player: 204');
Stack::Auth::problem_ok(scalar view($E->{id}), 404, undef, 'then GET: 404');
Stack::Auth::problem_ok(api(GET => '/api/auth/me', token => $E->{token}), 401, undef, 'her token: 401');
Stack::Auth::problem_ok(api(DELETE => "/api/players/$NOBODY", token => $ADM), 404, undef, 'admin DELETE of an unknown id: 404');
Stack::Auth::problem_ok(api(DELETE => '/api/players/12345', token => $ADM), 404, undef, 'DELETE of a non-UUID id: 404');
is(api(GET => '/api/auth/me', token => $B->{token})->res->code, 200, "bob's token is not affected by the deletions");

done_testing();
