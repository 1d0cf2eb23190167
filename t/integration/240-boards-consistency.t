#!/usr/bin/perl
# 240-boards-consistency.t — Redis is only a cache (SPEC §6 Leaderboards):
#   every board answer (global and a controlled country board "LI"; periods
#   all / season / day / week / month; offset pages, cursor pages,
#   around/{id}, /me, the /leaderboard/... aliases, /players/{id}/stats ranks)
#   is identical with Redis warm (incrementally updated), flushed (rebuilt on
#   read) and down (PostgreSQL), and equals an independent reference built from
#   PostgreSQL rows: elo desc, reached_at asc, player id asc (ties made on
#   purpose); windows by rating gained in the UTC day / ISO week / month, ties
#   by id. Health is degraded while Redis is down. A player registered while
#   the boards are warm is on them at once.

use strict;
use warnings;
use Test::More;
use Mojo::JSON qw(decode_json);
use POSIX qw(strftime);
use Stack;

plan skip_all => 'no stack: RP_STACK_ENV does not describe a running stack (run make test)'
	unless Stack::available();

sub api { Stack::T::call(@_) }
sub J   { Stack::T::body_json(@_) }

my $CC  = 'LI';
my $tag = Stack::T::tag();
my ($SEASON, $ADM);

END {
	if (Stack::available()) {
		Stack::start_service('redis') unless Stack::service_pid('redis');
		api(POST => "/api/seasons/$SEASON/close", token => $ADM) if $SEASON && $ADM;
	}
}

# retire: players of earlier runs of this file on the same stack leave the board
my ($admin, @P) = Stack::T::setup_players(prefix => 't240', n => 30, country => $CC, login => 12,
	addr => '127.0.4.240', retire => 1);
$ADM = Stack::T::make_admin($admin);

# ties on purpose: equal elo and equal reached_at (order by id), equal elo and
# an earlier reached_at (ranks ahead)
my ($T0, $T1) = ('2025-01-01 00:00:00+00', '2025-06-01 12:00:00.123+00');
my @fixed = ([ 0, 1500, $T1 ], [ 1, 1500, $T1 ], [ 2, 1500, $T1 ], [ 3, 1500, $T0 ], [ 4, 1500, $T0 ],
	[ 5, 1400, $T0 ], [ 6, 1400, $T1 ], [ 7, 1400, $T1 ], [ 8, 1100, $T1 ], [ 9, 1100, $T1 ]);
for my $f (@fixed) {
	my ($i, $elo, $at) = @$f;
	my ($peak, $low) = ($elo > 1200 ? $elo : 1200, $elo < 1200 ? $elo : 1200);
	Stack::psql("UPDATE players SET elo = $elo, peak_elo = $peak, lowest_elo = $low WHERE id = '$P[$i]{id}'; "
		. "UPDATE leaderboard_entries SET elo = $elo, reached_at = '$at' WHERE player_id = '$P[$i]{id}' "
		. "AND season_id = 'all-time'");
}
Stack::T::invalidate_boards();

# a fresh season (close a foreign open one first)
subtest 'season' => sub {
	my $tx = api(POST => '/api/seasons', token => $ADM, json => { id => "t240-$tag", name => "t240 $tag" });
	if (($tx->res->code // 0) == 409) {
		for my $s (@{ (J(api(GET => '/api/seasons')) // {})->{seasons} // [] }) {
			next if $s->{id} eq 'all-time' || !$s->{isActive};
			diag "closing open season $s->{id}";
			api(POST => "/api/seasons/$s->{id}/close", token => $ADM);
		}
		$tx = api(POST => '/api/seasons', token => $ADM, json => { id => "t240-$tag", name => "t240 $tag" });
	}
	is($tx->res->code, 201, 'season created') or diag($tx->res->body);
	$SEASON = "t240-$tag" if ($tx->res->code // 0) == 201;
};
BAIL_OUT('no season for 240-boards-consistency.t') unless $SEASON;

sub rnd { return '_=' . int(rand(1e9)) }

# warm every board group (the psql writes invalidated them)
for my $q ("/api/leaderboards?scope=country&country=$CC", '/api/leaderboards',
	"/api/leaderboards?period=season&season=$SEASON&scope=country&country=$CC") {
	is(api(GET => "$q&" . rnd())->res->code, 200, "warm $q") if $q =~ /\?/;
	is(api(GET => "$q?" . rnd())->res->code, 200, "warm $q") if $q !~ /\?/;
}

# results among P10..P29 (the tie players keep their ratings): three equal gains
# (+20 from 1200 v 1200) tie on the window boards
my @games = ([ 10, 11, 1, 0 ], [ 12, 13, 2, 0 ], [ 14, 15, 3, 1 ], [ 16, 17, 1, 1 ], [ 18, 10, 0, 2 ],
	[ 19, 20, 2, 1 ], [ 21, 22, 0, 1 ], [ 23, 24, 1, 1 ], [ 25, 19, 4, 3 ], [ 26, 27, 0, 3 ],
	[ 28, 29, 2, 0 ], [ 29, 21, 1, 0 ], [ 11, 13, 2, 2 ]);
for my $g (@games) {
	my ($i, $j, $s1, $s2) = @$g;
	my $tx = api(POST => '/api/matches', token => $ADM, json => { player1Id => $P[$i]{id}, player2Id => $P[$j]{id} });
	my $mid = (J($tx) // {})->{id} // 'none';
	$tx = api(POST => "/api/matches/$mid/result", token => $ADM, json => { player1Score => $s1, player2Score => $s2 });
	is($tx->res->code, 200, "result P$i v P$j $s1-$s2") or diag($tx->res->body);
}

# ------------------------------------------------------------ the reference

sub window_start {
	my ($period) = @_;
	my $now = time;
	my @t = gmtime $now;
	my $day0 = $now - ($t[2] * 3600 + $t[1] * 60 + $t[0]);
	return strftime('%Y-%m-%dT00:00:00Z', gmtime $day0) if $period eq 'day';
	return strftime('%Y-%m-%dT00:00:00Z', gmtime($day0 - (($t[6] + 6) % 7) * 86400)) if $period eq 'week';
	return strftime('%Y-%m-01T00:00:00Z', @t);
}

sub winrate { my ($w, $g) = @_; return sprintf '%.4f', $g ? int($w / $g * 10000 + 0.5) / 10000 : 0 }

# reference($period, $cc) -> list of entries in board order, ranks set
sub reference {
	my ($period, $cc) = @_;
	my @rows;
	if ($period eq 'all' || $period eq 'season') {
		my $season = $period eq 'all' ? 'all-time' : $SEASON;
		@rows = @{ decode_json(scalar Stack::psql(
			"SELECT coalesce(json_agg(json_build_object('playerId', le.player_id, 'username', p.username, "
			. "'displayName', p.display_name, 'countryCode', le.country_code, 'elo', le.elo, "
			. "'gamesPlayed', le.games_played, 'wins', le.wins, 'losses', le.losses, 'draws', le.draws, "
			. "'change', le.last_delta, 'ms', (extract(epoch FROM le.reached_at) * 1000)::bigint)), '[]') "
			. "FROM leaderboard_entries le JOIN players p ON p.id = le.player_id "
			. "WHERE le.season_id = '$season' AND le.is_active" . ($cc ? " AND le.country_code = '$cc'" : ''))) };
		@rows = sort { $b->{elo} <=> $a->{elo} || $a->{ms} <=> $b->{ms} || $a->{playerId} cmp $b->{playerId} } @rows;
	} else {
		my $start = window_start($period);
		@rows = @{ decode_json(scalar Stack::psql(
			"SELECT coalesce(json_agg(json_build_object('playerId', p.id, 'username', p.username, "
			. "'displayName', p.display_name, 'countryCode', p.country_code, 'elo', p.elo, "
			. "'gamesPlayed', p.games_played, 'wins', p.wins, 'losses', p.losses, 'draws', p.draws, "
			. "'change', g.gained)), '[]') FROM (SELECT player_id, sum(delta)::int AS gained FROM rating_events "
			. "WHERE season_id = 'all-time' AND created_at >= '$start' GROUP BY player_id) g "
			. "JOIN players p ON p.id = g.player_id WHERE p.is_active" . ($cc ? " AND p.country_code = '$cc'" : ''))) };
		@rows = sort { $b->{change} <=> $a->{change} || $a->{playerId} cmp $b->{playerId} } @rows;
	}
	my $rank = 0;
	for my $r (@rows) {
		delete $r->{ms};
		$r->{rank} = ++$rank;
		$r->{winRate} = winrate($r->{wins}, $r->{gamesPlayed});
	}
	return @rows;
}

sub norm_entries {
	my ($list) = @_;
	return [ map { my %e = %$_; $e{winRate} = sprintf '%.4f', $e{winRate} // -1; \%e } @{ $list // [] } ];
}

sub board_query {
	my ($period, $cc) = @_;
	my $q = "period=$period";
	$q .= "&season=$SEASON" if $period eq 'season';
	$q .= "&scope=country&country=$cc" if $cc;
	return $q;
}

# fetch($path) -> normalised answer: status, total, entries, nextCursor, player
sub fetch {
	my ($path, %o) = @_;
	my $tx = api(GET => $path . ($path =~ /\?/ ? '&' : '?') . rnd(), %o);
	my $j = J($tx);
	my $code = 0 + ($tx->res->code // 0);
	return { status => $code } unless ref $j eq 'HASH' && $code == 200;
	return { status => 200, total => $j->{total}, entries => norm_entries($j->{entries}),
		nextCursor => $j->{nextCursor}, player => $j->{player} ? norm_entries([ $j->{player} ])->[0] : undef,
		map { $_ => $j->{$_} } grep { exists $j->{$_} } qw(scope country period season windowStart
			globalRank countryRank elo) };
}

# follow nextCursor from $path (limit in it); concatenated entries. A cursor
# that never ends stops one page after the board's total (first page) is
# covered, so the walk fails the comparison instead of looping.
sub cursor_walk {
	my ($path) = @_;
	my ($limit) = $path =~ /[?&]limit=(\d+)/;
	my (@all, $cursor, $pages, $n);
	while (1) {
		my $a = fetch($path . ($cursor ? "&cursor=$cursor" : ''));
		last unless $a->{status} == 200;
		$pages //= int(($a->{total} // 0) / ($limit || 10)) + 2;
		push @all, @{ $a->{entries} };
		$cursor = $a->{nextCursor};
		last if !$cursor || ++$n >= $pages;
	}
	return \@all;
}

# ---------------------------------------------------- against the reference

my %REF;
for my $period (qw(all season day week month)) {
	for my $cc ($CC, undef) {
		$REF{$period}{ $cc // '' } = [ reference($period, $cc) ];
	}
}

subtest 'boards equal the reference (Redis warm)' => sub {
	my $ref = $REF{all}{$CC};
	is(scalar @$ref, 30, 'LI board: 30 players');
	my @ids = map { $_->{playerId} } @$ref;
	my @tie = sort map { $P[$_]{id} } 0 .. 2;
	is_deeply([ @ids[2 .. 4] ], \@tie, '1500 at the same instant: ordered by id, after the earlier ones');
	is_deeply([ sort @ids[0, 1] ], [ sort map { $P[$_]{id} } 3, 4 ], 'earlier reached_at ranks first');
	for my $period (qw(all season day week month)) {
		for my $cc ($CC, undef) {
			my $name = "$period " . ($cc // 'global');
			my $want = $REF{$period}{ $cc // '' };
			my $a = fetch('/api/leaderboards?' . board_query($period, $cc) . '&limit=100');
			is($a->{status}, 200, "$name: 200");
			is($a->{total}, scalar @$want, "$name: total");
			is_deeply($a->{entries}, [ @$want[0 .. ($#$want < 99 ? $#$want : 99)] ], "$name: first 100 entries")
				or diag explain { got => [ map { "$_->{rank} $_->{playerId} $_->{elo} $_->{change}" } @{ $a->{entries} }[0 .. 9] ],
					want => [ map { "$_->{rank} $_->{playerId} $_->{elo} $_->{change}" } @$want[0 .. 9] ] };
			is_deeply(cursor_walk('/api/leaderboards?' . board_query($period, $cc) . '&limit=7'), $want,
				"$name: cursor pages of 7 = the whole board");
		}
	}
	ok(scalar @{ $REF{season}{$CC} } >= 20, 'the season board has the players of this season');
	ok((grep { $_->{change} == 20 } @{ $REF{day}{$CC} }) >= 3, 'three equal gains on the day board');
	my @off;
	for (my $o = 0; $o < 30; $o += 7) {
		push @off, @{ fetch("/api/leaderboards?scope=country&country=$CC&limit=7&offset=$o")->{entries} };
	}
	is_deeply(\@off, $ref, 'LI: offset pages of 7 = the whole board');
	for my $k (0, 3, 12, 29) {
		my $id = $ref->[$k]{playerId};
		my $a = fetch("/api/leaderboards/around/$id?scope=country&country=$CC&radius=3");
		# the page: 2·radius + 1 positions from rank − radius (clamped at the top)
		my $lo = $k - 3 < 0 ? 0 : $k - 3;
		my $hi = $lo + 6 > 29 ? 29 : $lo + 6;
		is_deeply($a->{entries}, [ @$ref[$lo .. $hi] ], "around rank " . ($k + 1) . ": radius 3");
		is_deeply($a->{player}, $ref->[$k], "around rank " . ($k + 1) . ": the player");
	}
	my $me = fetch("/api/leaderboards/me?scope=country&country=$CC&radius=2", token => $P[10]{token});
	my ($k) = grep { $ref->[$_]{playerId} eq $P[10]{id} } 0 .. 29;
	is_deeply($me->{player}, $ref->[$k], '/me: the caller on the LI board');
	my $lo = $k < 2 ? 0 : $k - 2;
	is_deeply($me->{entries}, [ @$ref[ $lo .. ($lo + 4 > 29 ? 29 : $lo + 4) ] ], '/me: radius 2');
};

# ----------------------------------------------------- the same in 3 states

my @queries;
for my $period (qw(all season day week month)) {
	push @queries, '/api/leaderboards?' . board_query($period, $CC) . '&limit=100';
	push @queries, '/api/leaderboards?' . board_query($period, undef) . "&limit=$_" for 100;
	push @queries, '/api/leaderboards?' . board_query($period, $CC) . "&limit=5&offset=$_" for 0, 5, 25;
	push @queries, '/api/leaderboards?' . board_query($period, undef) . '&limit=10&offset=10';
	push @queries, "/api/leaderboards/around/$P[$_]{id}?" . board_query($period, $CC) . '&radius=4'
		for ($period eq 'all' ? (2, 8) : ()), 10, 14, 29;
	push @queries, "/api/leaderboards/around/$P[12]{id}?" . board_query($period, undef) . '&radius=2';
}
push @queries, "/leaderboard/country/$CC?limit=100", '/leaderboard/global?limit=20', '/leaderboard/top?limit=3',
	'/leaderboard/global?limit=20&offset=5';
push @queries, "/api/players/$P[$_]{id}/stats" for 0, 1, 10, 29;
my @walks = map { '/api/leaderboards?' . board_query($_, $CC) . '&limit=6' } qw(all season day);
push @walks, '/api/leaderboards?period=all&limit=40';

sub snapshot {
	my %s;
	$s{$_} = fetch($_) for @queries;
	$s{"walk $_"} = cursor_walk($_) for @walks;
	$s{me} = fetch("/api/leaderboards/me?radius=3", token => $P[11]{token});
	$s{me_season} = fetch("/api/leaderboards/me?period=season&scope=country&country=$CC&radius=3", token => $P[11]{token});
	return \%s;
}

sub compare {
	my ($a, $b, $name) = @_;
	my @diff = grep { !eq_deeply_quiet($a->{$_}, $b->{$_}) } sort keys %$a;
	is_deeply(\@diff, [], "$name: every answer identical (" . scalar(keys %$a) . ' queries)')
		or do { diag explain { query => $_, a => $a->{$_}, b => $b->{$_} } for @diff[0 .. 1] };
}

sub eq_deeply_quiet {
	my ($x, $y) = @_;
	return Mojo::JSON::encode_json(canon($x)) eq Mojo::JSON::encode_json(canon($y));
}

sub canon {
	my ($v) = @_;
	return $v unless ref $v;
	return [ map { canon($_) } @$v ] if ref $v eq 'ARRAY';
	return { map { $_ => canon($v->{$_}) } sort keys %$v } if ref $v eq 'HASH';
	return $v;
}

my $warm = snapshot();
is(scalar(grep { ref $warm->{$_} eq 'HASH' && $warm->{$_}{status} != 200 } keys %$warm), 0, 'warm: every query 200')
	or diag explain [ grep { ref $warm->{$_} eq 'HASH' && $warm->{$_}{status} != 200 } keys %$warm ];
is_deeply($warm->{"walk $walks[0]"}, $REF{all}{$CC}, 'warm snapshot still equals the reference');

Stack::redis_cli('FLUSHALL');
my $flushed = snapshot();
compare($warm, $flushed, 'warm vs flushed');
my $rebuilt = snapshot();
compare($warm, $rebuilt, 'warm vs rebuilt');

ok(Stack::stop_service('redis'), 'redis stopped');
ok(Stack::wait_for(sub { (J(api(GET => '/api/health')) // {})->{status} eq 'degraded' }, 10, 0.2),
	'health: degraded without redis');
my $down = snapshot();
compare($warm, $down, 'warm vs redis down');
ok(Stack::start_service('redis'), 'redis started');
ok(Stack::wait_for(sub {
	for (1 .. 4) { return 0 unless ((J(api(GET => '/api/health')) // {})->{status} // '') eq 'healthy' }
	1 }, 15, 0.2), 'health: healthy again');
compare($warm, snapshot(), 'warm vs redis back (empty)');

# ------------------------------------------- registration while boards are warm

# register_li($suffix, $address) -> the register answer (a LI player; from its
# own address so the per-address registration limit stays out of the way)
sub register_li {
	my ($suffix, $addr) = @_;
	require Mojo::UserAgent;
	my $rua = Mojo::UserAgent->new(socket_options => { LocalAddr => $addr });
	my $name = "t240_${tag}_$suffix";
	my $tx = api(POST => '/api/auth/register', ua => $rua, json => { username => $name,
		email => "$name\@example.com", password => $Stack::T::PASSWORD, countryCode => $CC });
	is($tx->res->code, 201, 'registered a LI player') or diag($tx->res->body);
	return J($tx) // {};
}

subtest 'a new player is on the warm boards at once' => sub {
	fetch("/api/leaderboards?scope=country&country=$CC&limit=100") for 1 .. 2;   # warm
	my $id = (register_li('new', '127.0.4.241')->{user} // {})->{id} // 'none';
	my @want = reference('all', $CC);
	is(scalar @want, 31, 'PostgreSQL: 31 players on the LI board');
	my $a = fetch("/api/leaderboards?scope=country&country=$CC&limit=100");
	is($a->{total}, 31, 'LI board total counts the new player');
	is_deeply($a->{entries}, \@want, 'LI board entries include the new player');
	my $g = fetch("/api/leaderboards/around/$id?radius=0");
	is_deeply([ map { $_->{playerId} } @{ $g->{entries} // [] } ], [ $id ], 'around/{new player}: the player is on the page');
	Stack::T::invalidate_boards();   # leave a consistent cache behind whatever happened
};

subtest 'a profile change reaches the warm boards at once' => sub {
	fetch("/api/leaderboards?scope=country&country=$CC&limit=100") for 1 .. 2;   # warm
	fetch("/api/leaderboards?scope=country&country=MC&limit=100") for 1 .. 2;
	my $reg = register_li('mov', '127.0.4.242');
	my $id = ($reg->{user} // {})->{id} // 'none';
	my $ga = fetch("/api/leaderboards/around/$id?radius=0");
	is(($ga->{player} // {})->{countryCode}, $CC, 'warm: on the global board with country LI');
	my $tx = api(PATCH => "/api/players/$id", headers => { Authorization => "Bearer $reg->{token}" },
		json => { displayName => 'Moved Away', countryCode => 'mc' });
	is($tx->res->code, 200, 'PATCH displayName and countryCode') or diag($tx->res->body);

	my $epoch = Stack::redis_cli('GET', 'lb:epoch') || 0;
	like(scalar Stack::redis_cli('HGET', "lb:$epoch:e:all-time", $id), qr/^MC\x1f.*\x1fMoved Away$/,
		'the cached entry was rewritten (not just invalidated)');
	my @li = reference('all', $CC);
	my $a = fetch("/api/leaderboards?scope=country&country=$CC&limit=100");
	is($a->{total}, scalar @li, 'LI board total no longer counts the player');
	is_deeply($a->{entries}, \@li, 'LI board entries = PostgreSQL, without the player');
	ok(!grep({ $_->{playerId} eq $id } @{ $a->{entries} // [] }), 'not on the LI board');
	my @mc = reference('all', 'MC');
	my $m = fetch("/api/leaderboards?scope=country&country=MC&limit=100");
	is($m->{total}, scalar @mc, 'MC board total counts the player');
	is_deeply($m->{entries}, \@mc, 'MC board entries = PostgreSQL, with the player');
	my $g = fetch("/api/leaderboards/around/$id?radius=0");
	is_deeply([ @{ $g->{player} // {} }{qw(displayName countryCode)} ], [ 'Moved Away', 'MC' ],
		'global board: the new name and country');
	my $sc = api(GET => "/api/players/$id/stats?" . rnd());
	is(J($sc)->{countryRank}, (grep { $mc[$_]{playerId} eq $id } 0 .. $#mc)[0] + 1,
		'stats: countryRank is the position on the MC board');
	Stack::T::invalidate_boards();
};

done_testing;
