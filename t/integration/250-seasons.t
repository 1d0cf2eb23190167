#!/usr/bin/perl
# 250-seasons.t — seasons (SPEC §4, §6): list; create / close are admin only
# (401 / 403); one open season at a time (409); duplicate id 409; close twice
# 409, unknown 404, all-time never closes (409). While a season is open every
# ranked result also rates the season board, where everyone starts at 1200
# independently of the all-time rating (which continues); the season board
# and season rating history show it; after closing, results no longer touch
# it and its board stays readable.

use strict;
use warnings;
use Test::More;
use Stack;

plan skip_all => 'no stack: RP_STACK_ENV does not describe a running stack (run make test)'
	unless Stack::available();

sub api { Stack::T::call(@_) }
sub J   { Stack::T::body_json(@_) }

sub problem_ok {
	my ($tx, $code, $name) = @_;
	is($tx->res->code, $code, "$name: $code") or diag($tx->res->body);
	like($tx->res->headers->content_type // '', qr{^application/problem\+json}, "$name: problem+json");
}

my $CC  = 'AD';
my $tag = Stack::T::tag();
my ($admin, @P) = Stack::T::setup_players(prefix => 't250', n => 4, country => $CC, login => 2, addr => '127.0.4.250', retire => 1);
my $ADM = Stack::T::make_admin($admin);
my @open;    # seasons this file opened (closed in END)

END {
	api(POST => "/api/seasons/$_/close", token => $ADM) for grep { defined } @open;
}

# all-time ratings differ from the season start: P0 1400 with 40 games (K 24), P1 1300
Stack::psql("UPDATE players SET elo = 1400, peak_elo = 1400, games_played = 40, wins = 25, losses = 15 "
	. "WHERE id = '$P[0]{id}'; UPDATE leaderboard_entries SET elo = 1400, games_played = 40, wins = 25, "
	. "losses = 15 WHERE player_id = '$P[0]{id}' AND season_id = 'all-time'; "
	. "UPDATE players SET elo = 1300, peak_elo = 1300 WHERE id = '$P[1]{id}'; "
	. "UPDATE leaderboard_entries SET elo = 1300 WHERE player_id = '$P[1]{id}' AND season_id = 'all-time'");
Stack::T::invalidate_boards();
my %all = map { $_->{id} => Stack::T::rec_new() } @P;
@{ $all{ $P[0]{id} } }{qw(elo peak games wins losses)} = (1400, 1400, 40, 25, 15);
@{ $all{ $P[1]{id} } }{qw(elo peak)} = (1300, 1300);
my %season = map { $_->{id} => Stack::T::rec_new() } @P;

sub seasons { return { map { $_->{id} => $_ } @{ (J(api(GET => '/api/seasons')) // {})->{seasons} // [] } } }

my $S1 = "t250-$tag-a";
my $S2 = "t250-$tag-b";

subtest 'create and authorization' => sub {
	my $list = seasons();
	ok($list->{'all-time'}, 'GET /api/seasons lists all-time');
	# another file's open season would block ours
	for my $s (grep { $_->{isActive} && $_->{id} ne 'all-time' } values %$list) {
		diag "closing open season $s->{id}";
		api(POST => "/api/seasons/$s->{id}/close", token => $ADM);
	}
	problem_ok(api(POST => '/api/seasons', json => { id => $S1, name => 'S1' }), 401, 'create without token');
	problem_ok(api(POST => '/api/seasons', token => $P[0]{token}, json => { id => $S1, name => 'S1' }), 403,
		'create as a player');
	ok(!seasons()->{$S1}, 'nothing created');
	my $tx = api(POST => '/api/seasons', token => $ADM, json => { id => $S1, name => "Season $tag" });
	is($tx->res->code, 201, 'admin creates a season: 201') or diag($tx->res->body);
	push @open, $S1;
	my $s = J($tx) // {};
	is($s->{id}, $S1, 'id');
	is($s->{name}, "Season $tag", 'name');
	like($s->{startsAt} // '', qr/^\d{4}-\d\d-\d\dT/, 'startsAt defaults to now');
	is($s->{endsAt}, undef, 'endsAt null');
	ok($s->{isActive}, 'isActive');
	is_deeply(seasons()->{$S1}, $s, 'listed');
	problem_ok(api(POST => '/api/seasons', token => $ADM, json => { id => $S2, name => 'S2' }), 409,
		'a second open season');
	problem_ok(api(POST => '/api/seasons', token => $ADM, json => { id => $S1, name => 'again' }), 409,
		'duplicate id');
	ok(!seasons()->{$S2}, 'the refused season does not exist');
};

subtest 'the season board starts everyone at 1200; all-time continues' => sub {
	my @games = ([ 0, 1, 1, 0 ], [ 2, 0, 2, 1 ], [ 1, 3, 1, 1 ], [ 0, 3, 3, 0 ], [ 2, 1, 0, 1 ]);
	my $n = 0;
	for my $g (@games) {
		$n++;
		my ($i, $j, $s1, $s2) = @$g;
		my $tx = api(POST => '/api/matches', token => $ADM, json => { player1Id => $P[$i]{id}, player2Id => $P[$j]{id} });
		my $mid = (J($tx) // {})->{id} // 'none';
		$tx = api(POST => "/api/matches/$mid/result", token => $ADM, json => { player1Score => $s1, player2Score => $s2 });
		is($tx->res->code, 200, "#$n: result") or diag($tx->res->body);
		my $r = J($tx) // {};
		my $sc = $s1 > $s2 ? 1 : $s1 < $s2 ? 0 : 0.5;
		my @a = Stack::T::rate($all{ $P[$i]{id} }, $all{ $P[$j]{id} }, $sc);
		my @s = Stack::T::rate($season{ $P[$i]{id} }, $season{ $P[$j]{id} }, $sc);
		is_deeply([ map { [ @$_{qw(before after delta k)} ] } @{ $r->{ratingChanges} // [] } ], \@a,
			"#$n: all-time changes continue from the all-time ratings");
		is(($r->{seasonChanges} // {})->{seasonId}, $S1, "#$n: seasonChanges of $S1");
		is_deeply([ map { [ @$_{qw(playerId before after delta k)} ] } @{ ($r->{seasonChanges} // {})->{changes} // [] } ],
			[ [ $P[$i]{id}, @{ $s[0] } ], [ $P[$j]{id}, @{ $s[1] } ] ],
			"#$n: season changes from the season ratings (1200 at the start)");
		is($r->{seasonId}, $S1, "#$n: the match belongs to the season");
	}
	is($season{ $P[0]{id} }{games}, 3, 'P0 played three season games');

	my $tx = api(GET => "/api/leaderboards?period=season&season=$S1&limit=100&_=" . rand());
	is($tx->res->code, 200, 'season board');
	my $bd = J($tx) // {};
	is($bd->{season}, $S1, 'season field');
	is($bd->{period}, 'season', 'period field');
	is($bd->{total}, 4, 'four players on the season board');
	is_deeply([ sort map { "$_->{playerId}:$_->{elo}:$_->{gamesPlayed}" } @{ $bd->{entries} // [] } ],
		[ sort map { "$_->{id}:$season{ $_->{id} }{elo}:$season{ $_->{id} }{games}" } @P ],
		'season elo and games of every player');
	my @elos = map { $_->{elo} } @{ $bd->{entries} // [] };
	is_deeply(\@elos, [ sort { $b <=> $a } @elos ], 'ordered by season elo');
	my $cur = J(api(GET => "/api/leaderboards?period=season&scope=country&country=$CC&_=" . rand())) // {};
	is($cur->{season}, $S1, 'period=season without season id = the current season');
	is_deeply([ map { $_->{playerId} } @{ $cur->{entries} // [] } ], [ map { $_->{playerId} } @{ $bd->{entries} // [] } ],
		'the AD country season board has the same order');
	my $alias = J(api(GET => "/api/leaderboards?season=$S1&limit=100&_=" . rand())) // {};
	is_deeply($alias->{entries}, $bd->{entries}, '?season=ID implies period=season');

	my $at = J(api(GET => "/api/leaderboards?scope=country&country=$CC&limit=100&_=" . rand())) // {};
	is_deeply([ sort map { "$_->{playerId}:$_->{elo}" } @{ $at->{entries} // [] } ],
		[ sort map { "$_->{id}:$all{ $_->{id} }{elo}" } @P ], 'all-time board: all-time ratings');
	for my $p (@P) {
		my ($row) = Stack::psql("SELECT elo || '/' || games_played FROM players WHERE id = '$p->{id}'");
		is($row, "$all{ $p->{id} }{elo}/$all{ $p->{id} }{games}", "$p->{username}: players row is all-time");
	}
	my $h = J(api(GET => "/api/players/$P[0]{id}/rating-history?season=$S1")) // {};
	my @ev = reverse @{ $h->{events} // [] };
	is(scalar @ev, 3, 'three season rating events of P0');
	is(($ev[-1] // {})->{after}, $season{ $P[0]{id} }{elo}, 'season rating history ends at the season elo');
	is(($ev[0] // {})->{before}, 1200, 'and starts at 1200');
};

subtest 'close' => sub {
	problem_ok(api(POST => "/api/seasons/$S1/close"), 401, 'close without token');
	problem_ok(api(POST => "/api/seasons/$S1/close", token => $P[0]{token}), 403, 'close as a player');
	ok(seasons()->{$S1}{isActive}, 'still open');
	my $board = J(api(GET => "/api/leaderboards?period=season&season=$S1&limit=100&_=" . rand())) // {};
	my $tx = api(POST => "/api/seasons/$S1/close", token => $ADM);
	is($tx->res->code, 200, 'admin closes: 200') or diag($tx->res->body);
	my $s = J($tx) // {};
	ok(!$s->{isActive}, 'isActive false');
	like($s->{endsAt} // '', qr/^\d{4}-\d\d-\d\dT/, 'endsAt set');
	@open = ();
	problem_ok(api(POST => "/api/seasons/$S1/close", token => $ADM), 409, 'close twice');
	problem_ok(api(POST => "/api/seasons/t250-$tag-none/close", token => $ADM), 404, 'close an unknown season');
	problem_ok(api(POST => '/api/seasons/all-time/close', token => $ADM), 409, 'close all-time');

	$tx = api(POST => '/api/matches', token => $ADM, json => { player1Id => $P[0]{id}, player2Id => $P[1]{id} });
	my $mid = (J($tx) // {})->{id} // 'none';
	$tx = api(POST => "/api/matches/$mid/result", token => $ADM, json => { player1Score => 1, player2Score => 0 });
	is($tx->res->code, 200, 'result after closing');
	is((J($tx) // {})->{seasonChanges}, undef, 'no seasonChanges');
	is((J($tx) // {})->{seasonId}, undef, 'the match belongs to no season');
	my @a = Stack::T::rate($all{ $P[0]{id} }, $all{ $P[1]{id} }, 1);
	is_deeply([ map { [ @$_{qw(before after delta k)} ] } @{ (J($tx) // {})->{ratingChanges} // [] } ], \@a,
		'all-time still rated');
	my $after = J(api(GET => "/api/leaderboards?period=season&season=$S1&limit=100&_=" . rand())) // {};
	is_deeply($after->{entries}, $board->{entries}, 'the closed season board is unchanged and readable');
	problem_ok(api(GET => "/api/leaderboards?period=season&_=" . rand()), 404, 'period=season with no current season');

	$tx = api(POST => '/api/seasons', token => $ADM, json => { id => $S2, name => 'S2' });
	is($tx->res->code, 201, 'a new season once the old one is closed') or diag($tx->res->body);
	push @open, $S2;
	$tx = api(GET => "/api/leaderboards?period=season&_=" . rand());
	is((J($tx) // {})->{total}, 0, 'the new season board starts empty');
	$tx = api(POST => '/api/matches', token => $ADM, json => { player1Id => $P[2]{id}, player2Id => $P[3]{id} });
	$mid = (J($tx) // {})->{id} // 'none';
	$tx = api(POST => "/api/matches/$mid/result", token => $ADM, json => { player1Score => 0, player2Score => 1 });
	my $sc = (J($tx) // {})->{seasonChanges} // {};
	is($sc->{seasonId}, $S2, 'results go to the new season');
	is_deeply([ map { $_->{before} } @{ $sc->{changes} // [] } ], [ 1200, 1200 ], 'everyone starts again at 1200');
	is(api(POST => "/api/seasons/$S2/close", token => $ADM)->res->code, 200, 'closed');
	@open = ();
};

subtest 'a season that starts in the future is not current' => sub {
	my $S3 = "t250-$tag-c";
	my $tx = api(POST => '/api/seasons', token => $ADM,
		json => { id => $S3, name => 'future', startsAt => '2099-01-01T00:00:00Z', endsAt => '2099-06-01T00:00:00Z' });
	is($tx->res->code, 201, 'created') or diag($tx->res->body);
	push @open, $S3;
	is((J($tx) // {})->{startsAt}, '2099-01-01T00:00:00.000Z', 'startsAt');
	is((J($tx) // {})->{endsAt}, '2099-06-01T00:00:00.000Z', 'endsAt');
	$tx = api(POST => '/api/matches', token => $ADM, json => { player1Id => $P[2]{id}, player2Id => $P[3]{id} });
	my $mid = (J($tx) // {})->{id} // 'none';
	$tx = api(POST => "/api/matches/$mid/result", token => $ADM, json => { player1Score => 2, player2Score => 0 });
	is($tx->res->code, 200, 'result');
	is((J($tx) // {})->{seasonChanges}, undef, 'not rated in a season that has not started');
	is(api(POST => "/api/seasons/$S3/close", token => $ADM)->res->code, 200, 'closed');
	@open = ();
};

done_testing;
