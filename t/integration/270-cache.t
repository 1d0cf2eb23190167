#!/usr/bin/perl
# 270-cache.t — public board reads are cacheable for one second (SPEC §6):
#   Cache-Control: public, max-age=1 and an ETag; If-None-Match → 304 (from
#   nginx's cache and from the app); nginx microcache: X-Cache HIT within the
#   second (same bytes), fresh data after it (new ETag); around/{id}, the
#   /leaderboard aliases and /players/{id}/stats likewise; errors are not
#   cached; /leaderboards/me is private (no-store), never served from the
#   cache and never mixes up callers.  fastcgi_cache_min_uses 2: a key is
#   stored from its second request on (the first is a MISS that writes
#   nothing), so one-off keys (a cache-busting `?_=...`) never create a
#   cache file; the cache directory is on tmpfs; a stampede on a new key
#   reaches the app only a few times (fastcgi_cache_lock).

use strict;
use warnings;
use Test::More;
use Time::HiRes qw(time sleep);
use Digest::MD5 qw(md5_hex);
use Mojo::Promise;
use Stack;

plan skip_all => 'no stack: RP_STACK_ENV does not describe a running stack (run make test)'
	unless Stack::available();

sub api { Stack::T::call(@_) }
sub J   { Stack::T::body_json(@_) }
sub rnd { return '_=' . int(rand(1e9)) . $$ }

my $CC = 'MC';
my ($admin, @P) = Stack::T::setup_players(prefix => 't270', n => 4, country => $CC, login => 2, addr => '127.0.4.27', retire => 1);
my $ADM = Stack::T::make_admin($admin);
api(GET => "/api/leaderboards?scope=country&country=$CC&" . rnd());    # rebuild after the inserts

sub xcache { return $_[0]->res->headers->header('X-Cache') // '' }

# The stack's microcache: its directory and the file nginx keeps for a key
# ("$request_method|$request_uri", levels=1:2).
my $NGINX_CONF = Stack::env('STACK_DIR') . '/nginx/nginx.conf';
my ($CACHE_DIR) = do { local (@ARGV, $/) = ($NGINX_CONF); <> // '' } =~ /^\s*fastcgi_cache_path\s+(\S+)/m;
sub cache_file {
	my $h = md5_hex("GET|$_[0]");
	return "$CACHE_DIR/" . substr($h, -1) . '/' . substr($h, -3, 2) . "/$h";
}
# at_second_start: sleep to just after the next wall-clock second (cache
# entries end with the second they were made in).
sub at_second_start { my $t = int(time) + 1.02; sleep $t - time; return time }

subtest 'headers, HIT within the second, 304' => sub {
	my $u = "/api/leaderboards?scope=country&country=$CC&" . rnd();
	# cache entries expire at the end of the wall-clock second: start at its beginning
	my $start = int(time) + 1.02;
	sleep $start - time;
	my $filled = time;
	my $t1 = api(GET => $u);
	is($t1->res->code, 200, 'board: 200');
	is($t1->res->headers->cache_control, 'public, max-age=1', 'Cache-Control: public, max-age=1');
	my $etag = $t1->res->headers->etag // '';
	like($etag, qr/^(?:W\/)?"[^"]+"$/, "ETag $etag");
	is(xcache($t1), 'MISS', 'first read: X-Cache MISS');
	my $t1b = api(GET => $u);
	is(xcache($t1b), 'MISS', 'second read: MISS, stored (fastcgi_cache_min_uses 2)');
	$t1 = $t1b;
	$etag = $t1->res->headers->etag // '';
	my $t2 = api(GET => $u);
	is(xcache($t2), 'HIT', 'third read within the second: X-Cache HIT');
	is($t2->res->body, $t1->res->body, 'HIT: the same bytes (same generatedAt)');
	is($t2->res->headers->etag, $etag, 'HIT: same ETag');
	my $t3 = api(GET => $u, headers => { 'If-None-Match' => $etag });
	is($t3->res->code, 304, 'If-None-Match from the cache: 304');
	is($t3->res->body, '', '304 has no body');
	my $t4 = api(GET => $u, headers => { 'If-None-Match' => '"something-else"' });
	is($t4->res->code, 200, 'another ETag: 200');
	# the app's X-Accel-Expires ends the entry with the current second
	my $expired = int($filled) + 1.05;
	sleep $expired - time if $expired > time;
	my $t5 = api(GET => $u, headers => { 'If-None-Match' => $etag });
	is($t5->res->code, 304, 'after expiry the app answers If-None-Match with 304 (nothing changed)');
	isnt(xcache($t5), 'HIT', 'not a cache hit: ' . xcache($t5));
	my $t6 = api(GET => "/api/leaderboards?scope=country&country=$CC&" . rnd(), headers => { 'If-None-Match' => $etag });
	is($t6->res->code, 200, 'the ETag belongs to its query: another query answers 200');
};

subtest 'fresh data after one second' => sub {
	my $u = "/api/leaderboards?scope=country&country=$CC&limit=100&" . rnd();
	sleep int(time) + 1.02 - time;
	my $t0 = time;
	my $first = api(GET => $u);
	$first = api(GET => $u);    # min_uses 2: the second read is stored
	my $old = J($first) // {};
	my $tx = api(POST => '/api/matches', token => $ADM, json => { player1Id => $P[0]{id}, player2Id => $P[1]{id} });
	my $mid = (J($tx) // {})->{id} // 'none';
	$tx = api(POST => "/api/matches/$mid/result", token => $ADM, json => { player1Score => 1, player2Score => 0 });
	is($tx->res->code, 200, 'a result changes the MC board');
	my $stale = api(GET => $u);
	# entries expire at the end of the wall-clock second they were made in
	if (int(time) == int($t0)) {
		is(xcache($stale), 'HIT', 'within the second: still the cached answer');
		is($stale->res->body, $first->res->body, 'within the second: the old bytes');
	} else {
		diag 'crossed a second boundary before the re-read: nothing cached to observe';
	}
	# poll until nginx stops answering from its cache
	my $fresh;
	while (1) {
		$fresh = api(GET => $u);
		last if xcache($fresh) ne 'HIT' || time - $t0 > 4;
		sleep 0.05;
	}
	my $age = time - $t0;
	isnt(xcache($fresh), 'HIT', sprintf('the cache expires (%s after %.2f s)', xcache($fresh), $age));
	# the app sets X-Accel-Expires to the end of the current second
	cmp_ok($age, '<=', 1.15, 'staleness at most 1 s (plus the polling step)');
	my $new = J($fresh) // {};
	my %elo = map { $_->{playerId} => $_->{elo} } @{ $new->{entries} // [] };
	is($elo{ $P[0]{id} }, 1220, 'after a second: the winner at 1220');
	is($elo{ $P[1]{id} }, 1180, 'after a second: the loser at 1180');
	isnt($fresh->res->headers->etag, $first->res->headers->etag, 'a new ETag');
	my $t = api(GET => $u, headers => { 'If-None-Match' => $first->res->headers->etag });
	is($t->res->code, 200, 'the old ETag no longer matches');
};

subtest 'other cached reads' => sub {
	for my $path ("/api/leaderboards/around/$P[0]{id}?radius=1&", "/leaderboard/country/$CC?", '/leaderboard/global?',
		'/leaderboard/top?', "/leaderboards?period=day&", "/api/players/$P[0]{id}/stats?") {
		my $u = $path . rnd();
		my $t1 = api(GET => $u);
		is($t1->res->code, 200, "$path: 200");
		is($t1->res->headers->cache_control, 'public, max-age=1', "$path: public, max-age=1");
		ok($t1->res->headers->etag, "$path: ETag");
		$t1 = api(GET => $u);    # stored by the second read (min_uses 2)
		my $t2 = api(GET => $u);
		is(xcache($t2), 'HIT', "$path: third read is a HIT");
		is($t2->res->body, $t1->res->body, "$path: same bytes");
	}
};

subtest 'min_uses 2: one-off keys write nothing, a repeated key is stored' => sub {
	ok($CACHE_DIR && -d $CACHE_DIR, "cache directory $CACHE_DIR exists") or return;
	my $shm = `stat -f -c %T /dev/shm 2>/dev/null` // '';
	if ($shm =~ /^tmpfs/) {
		my $fs = `stat -f -c %T '$CACHE_DIR' 2>/dev/null` // '';
		chomp $fs;
		like($fs, qr/^(?:tmpfs|ramfs)$/, "the cache directory is on tmpfs ($fs)");
	}
	my @oneoff = map { "/api/leaderboards?scope=country&country=$CC&" . rnd() . "o$_" } 1 .. 20;
	for my $u (@oneoff) {
		my $tx = api(GET => $u);
		is($tx->res->code, 200, "one-off $u: 200") or last;
		is(xcache($tx), 'MISS', '... MISS');
	}
	is(scalar(grep { -e cache_file($_) } @oneoff), 0, '20 one-off keys: no cache file written');
	my $u = "/api/leaderboards?scope=country&country=$CC&" . rnd();
	at_second_start();
	my $t1 = api(GET => $u);
	is(xcache($t1), 'MISS', 'a new key: MISS');
	ok(!-e cache_file($u), '... and no cache file');
	my $t2 = api(GET => $u);
	is(xcache($t2), 'MISS', 'its second request: MISS');
	ok(-e cache_file($u), '... which stores it (' . cache_file($u) . ')');
	my $t3 = api(GET => $u);
	is(xcache($t3), 'HIT', 'its third request: HIT');
	is($t3->res->body, $t2->res->body, '... with the stored bytes');
};

subtest 'a stampede on a new key reaches the app only a few times' => sub {
	my $u = Stack::url("/api/leaderboards?scope=country&country=$CC&" . rnd());
	my $ua = Stack::ua();
	my @st;
	Mojo::Promise->all(map { $ua->get_p($u)->then(sub { push @st, ($_[0]->res->headers->header('X-Cache') // 'none') . ' ' . $_[0]->res->code }) } 1 .. 30)->wait;
	is(scalar @st, 30, '30 concurrent requests answered');
	is(scalar(grep { / 200$/ } @st), 30, '... all 200');
	my $to_app = grep { /^(?:MISS|EXPIRED|BYPASS)\b/ } @st;
	my %n;
	$n{ (split / /)[0] }++ for @st;
	cmp_ok($to_app, '<=', 10, "at most 10 of 30 went to the app (fastcgi_cache_lock): "
		. join(', ', map {"$_ $n{$_}"} sort keys %n));
};

subtest 'errors are not cached' => sub {
	for my $u ('/api/leaderboards?scope=planet&' . rnd(), '/api/leaderboards/around/00000000-0000-4000-8000-000000000000?' . rnd()) {
		my $t1 = api(GET => $u);
		my $t2 = api(GET => $u);
		ok($t1->res->code >= 400, "$u: error " . $t1->res->code);
		isnt(xcache($t2), 'HIT', "$u: the error is not served from the cache");
	}
};

subtest '/leaderboards/me is private' => sub {
	for my $path ('/api/leaderboards/me', '/leaderboards/me') {
		my $u = "$path?scope=country&country=$CC&radius=1&" . rnd();
		my @seen;
		for my $p (@P[0, 1, 0, 1]) {
			my $tx = api(GET => $u, token => $p->{token});
			is($tx->res->code, 200, "$path as $p->{username}: 200");
			like($tx->res->headers->cache_control // '', qr/\bprivate\b/, "$path: private");
			like($tx->res->headers->cache_control // '', qr/\bno-store\b/, "$path: no-store");
			isnt(xcache($tx), 'HIT', "$path: never a cache hit");
			is(((J($tx) // {})->{player} // {})->{playerId}, $p->{id}, "$path: the caller's own standing");
		}
		my $anon = api(GET => $u);
		is($anon->res->code, 401, "$path without a token after cached-looking reads: 401");
	}
};

done_testing;
