#!/usr/bin/perl
# 120-login.t — POST /auth/login (SPEC §6 Auth): login by `username`,
# `email` or `login` (either), case-insensitive identifiers, the same session
# shape as registration, last_active_at touched; wrong password and unknown
# account are the same 401 "invalid credentials"; exactly one identifier
# (422); the failed-login limit per account+IP (5 per 900 s: the 6th attempt
# is 429 with Retry-After even with the right password, another address is
# not affected, a success resets the count).  Addresses 127.120.R.N.

use strict;
use warnings;
use Test::More;
use Stack;

Stack::Auth::need_stack();

my $F   = 120;
my $tag = Stack::T::tag();
my $PW  = $Stack::Auth::PASSWORD;
sub api { Stack::T::call(@_) }
sub J   { Stack::T::body_json(@_) }
sub sql { scalar Stack::psql($_[0]) }
sub ua  { Stack::Auth::ua_at(Stack::Auth::addr($F)) }

my $ua = ua();
my $U = Stack::Auth::new_user($ua, "t120_${tag}_Ann", email => "Ann.${tag}\@Example.org");
my $V = Stack::Auth::new_user($ua, "t120_${tag}_bob");

sub login {
	my ($ua, %body) = @_;
	return api(POST => '/api/auth/login', ua => $ua, json => \%body);
}

# ------------------------------------------------------------- successes
is(sql("SELECT count(*) FROM players WHERE id = '$U->{id}' AND last_active_at IS NULL"), 1,
	'before any login last_active_at is unset');
my @ok = (
	[ 'username',                    username => $U->{username} ],
	[ 'username in upper case',      username => uc $U->{username} ],
	[ 'email',                       email    => "Ann.${tag}\@Example.org" ],
	[ 'email in lower case',         email    => lc "Ann.${tag}\@Example.org" ],
	[ 'login = username',            login    => lc $U->{username} ],
	[ 'login = email',               login    => uc "Ann.${tag}\@Example.org" ],
);
my %jti;
for my $c (@ok) {
	my ($name, @id) = @$c;
	my $tx = login($ua, @id, password => $PW);
	my $j = J($tx) // {};
	subtest "login by $name" => sub {
		is($tx->res->code, 200, 'status 200') or diag($tx->res->body);
		like($tx->res->headers->content_type // '', qr{^application/json; charset=utf-8$}i, 'JSON');
		is($tx->res->headers->cache_control, 'no-store', 'Cache-Control: no-store');
		is_deeply([ sort keys %$j ], [qw(expiresIn refreshToken token tokenType user)], 'session keys');
		is($j->{tokenType}, 'Bearer', 'Bearer');
		is($j->{expiresIn}, 900, 'expiresIn 900');
		like($j->{refreshToken} // '', qr/^rt_[A-Za-z0-9_-]{43}$/, 'refresh token');
		is_deeply([ sort keys %{ $j->{user} // {} } ],
			[qw(countryCode createdAt displayName elo email id role username)], 'user keys');
		is($j->{user}{id}, $U->{id}, 'the right account');
		is($j->{user}{username}, $U->{username}, 'username as registered');
		my $c = Stack::Auth::jwt_claims($j->{token}) // {};
		is($c->{sub}, $U->{id}, 'token sub');
		ok($c->{jti} && !$jti{ $c->{jti} }++, 'a fresh jti');
		is(J(api(GET => '/api/auth/me', token => $j->{token}))->{id}, $U->{id}, 'token works');
	};
}
is(sql("SELECT count(*) FROM players WHERE id = '$U->{id}' AND last_active_at > now() - interval '5 minutes'"), 1,
	'a login touches last_active_at');
is(sql("SELECT count(*) FROM refresh_tokens WHERE player_id = '$U->{id}' AND revoked_at IS NULL"), 1 + @ok,
	'each login started its own refresh token');

# ---------------------------------------------- failures look all the same
my $wrong = login($ua, username => $U->{username}, password => "$PW-wrong");
Stack::Auth::problem_ok($wrong, 401, undef, 'wrong password: 401');
my $unknown = login($ua, username => "t120_${tag}_nobody", password => $PW);
Stack::Auth::problem_ok($unknown, 401, undef, 'unknown username: 401');
my $unknown_mail = login($ua, email => "t120.${tag}.nobody\@example.org", password => $PW);
Stack::Auth::problem_ok($unknown_mail, 401, undef, 'unknown email: 401');
my @shape = map { my $j = J($_) // {}; join '|', map { $_ // '' } @$j{qw(type title status detail)} } $wrong, $unknown, $unknown_mail;
is($shape[0], "https://rankpulse.dev/problems/unauthorized|Authentication required|401|invalid credentials",
	'detail "invalid credentials"');
is_deeply([ @shape[1, 2] ], [ @shape[0, 0] ], 'unknown accounts get exactly the same problem');
is(scalar @{ J($wrong)->{errors} // [1] }, 0, 'no field is named');
# a 401 here must not be a login either
Stack::Auth::problem_ok(login($ua, username => $U->{username}, password => lc $PW), 401, undef,
	'password is case-sensitive');

# ---------------------------------------------------------- identifiers
Stack::Auth::problem_ok(login($ua, username => $U->{username}, email => "Ann.${tag}\@Example.org", password => $PW),
	422, 'login', 'username + email: 422 naming login');
Stack::Auth::problem_ok(login($ua, login => $U->{username}, username => $U->{username}, password => $PW),
	422, 'login', 'login + username: 422');
Stack::Auth::problem_ok(login($ua, password => $PW), 422, 'login', 'no identifier: 422');
Stack::Auth::problem_ok(login($ua, login => '', password => $PW), 422, 'login', 'empty login: 422');
Stack::Auth::problem_ok(login($ua, username => $U->{username}), 422, 'password', 'no password: 422');
Stack::Auth::problem_ok(login($ua, username => $U->{username}, password => 12345678), 422, 'password', 'numeric password: 422');

# ------------------------------------------------ failed-login limit (5/900)
# Fresh account V and address A: five wrong passwords are 401, the sixth
# attempt is 429 even with the right password.
my $A = ua();
my @codes = map { login($A, username => $V->{username}, password => "wrong-$_-pass")->res->code // 0 } 1 .. 5;
is_deeply(\@codes, [ (401) x 5 ], 'five wrong passwords: 401 each');
my $tx = login($A, username => $V->{username}, password => $PW);
Stack::Auth::problem_ok($tx, 429, undef, 'sixth attempt with the RIGHT password: 429');
my $ra = $tx->res->headers->header('Retry-After') // 0;
ok($ra >= 1 && $ra <= 900, "Retry-After within the 900 s window ($ra)");
like(J($tx)->{detail} // '', qr/retry later/i, 'detail says retry later');
ok(!defined J($tx)->{token}, 'no token in the 429');
Stack::Auth::problem_ok(login($A, login => uc $V->{username}, password => $PW), 429, undef,
	'the same account in other case and via "login": still 429');
{
	Stack::Auth::problem_ok(login($A, email => $V->{email}, password => $PW), 429, undef,
		'the same account via its email from the limited address: 429 (limit is per account+IP)');
}
$tx = login(ua(), username => $V->{username}, password => $PW);
is($tx->res->code, 200, 'the same account from another address: 200') or diag($tx->res->body);
$tx = login($A, username => $U->{username}, password => $PW);
is($tx->res->code, 200, 'another account from the limited address: 200') or diag($tx->res->body);

# unknown accounts are limited the same way (no account enumeration by 429s)
my $B = ua();
@codes = map { login($B, username => "t120_${tag}_ghost", password => "wrong-$_-pass")->res->code // 0 } 1 .. 6;
is_deeply(\@codes, [ (401) x 5, 429 ], 'unknown account: 401 x5, then 429');

# a success resets the count: 4 failures, success, 4 failures, success
my $C = ua();
@codes = ();
for my $round (1 .. 2) {
	push @codes, login($C, username => $U->{username}, password => "nope-$_-pass")->res->code // 0 for 1 .. 4;
	push @codes, login($C, username => $U->{username}, password => $PW)->res->code // 0;
}
is_deeply(\@codes, [ (401) x 4, 200, (401) x 4, 200 ], 'a successful login resets the failure count');

# the failure counter lives in Redis with the window as TTL
my @keys = grep { length } Stack::redis_cli('--scan', '--pattern', 'rl:login:*');
my @ttl = grep { $_ > 0 && $_ <= 900 } map { scalar Stack::redis_cli('TTL', $_) } @keys;
ok(@keys >= 2 && @ttl == @keys, 'failure counters are Redis keys expiring within 900 s') or diag("keys @keys ttl @ttl");

done_testing();
