#!/usr/bin/perl
# 210-elo-series.t — a scripted series of results among four players checked
# against an independent Perl implementation of SPEC §5: every rating change
# (before, after, delta, K), K switching from 40 to 24 at 30 rated games (one
# player starts at 28), forfeit / no_show rated as a loss of the absent
# player, draws reset streaks, unranked / friendly / no_contest change
# nothing; finally elo, peak, lowest, streaks, games, W/L/D of every player
# (players row, all-time board row, /players/{id}/stats, rating history).

use strict;
use warnings;
use Test::More;
use Stack;

plan skip_all => 'no stack: RP_STACK_ENV does not describe a running stack (run make test)'
	unless Stack::available();

sub api { Stack::T::call(@_) }
sub J   { Stack::T::body_json(@_) }

my ($admin, @P) = Stack::T::setup_players(prefix => 't210', n => 4, login => 4, addr => '127.0.4.210');
my $ADM = Stack::T::make_admin($admin);

# Starting records: P0 is two games short of the K switch, P1 is established
# above 1200 with a win streak, P2 and P3 are new.
my @start = (
	{ elo => 1250, peak => 1300, lowest => 1100, games => 28, wins => 14, losses => 14, draws => 0, streak => -2, best => 3 },
	{ elo => 1350, peak => 1350, lowest => 1150, games => 5, wins => 3, losses => 2, draws => 0, streak => 1, best => 2 },
	{},
	{},
);
my %rec;
for my $i (0 .. 3) {
	my $r = $rec{ $P[$i]{id} } = Stack::T::rec_new(%{ $start[$i] });
	Stack::psql(sprintf "UPDATE players SET elo = %d, peak_elo = %d, lowest_elo = %d, games_played = %d, "
		. "wins = %d, losses = %d, draws = %d, current_streak = %d, best_win_streak = %d WHERE id = '%s'; "
		. "UPDATE leaderboard_entries SET elo = %d, games_played = %d, wins = %d, losses = %d, draws = %d "
		. "WHERE player_id = '%s' AND season_id = 'all-time'",
		@$r{qw(elo peak lowest games wins losses draws streak best)}, $P[$i]{id},
		@$r{qw(elo games wins losses draws)}, $P[$i]{id});
}
Stack::T::invalidate_boards();

# [p1, p2, score1, score2, resultType, matchType, reporter (index or 'admin')]
my @series = (
	[ 0, 1, 2, 0, undef, 'ranked', 1 ],          # P0 (28 games, K 40) beats P1
	[ 2, 0, 1, 1, undef, 'ranked', 0 ],          # draw; P0 reaches 30 games
	[ 0, 3, 3, 1, undef, 'ranked', 'admin' ],    # P0 now K 24
	[ 1, 2, 0, 3, undef, 'ranked', 2 ],
	[ 3, 1, 0, 1, 'forfeit', 'ranked', 1 ],      # P3 forfeits
	[ 0, 2, 2, 0, undef, 'unranked', 0 ],        # no rating
	[ 1, 0, 1, 0, 'no_show', 'ranked', 'admin' ],
	[ 2, 3, 0, 0, undef, 'ranked', 3 ],          # draw
	[ 0, 1, 0, 0, 'no_contest', 'ranked', 0 ],   # never rates
	[ 3, 0, 5, 4, undef, 'ranked', 3 ],
	[ 1, 3, 2, 1, 'win', 'ranked', 3 ],
	[ 2, 1, 3, 2, undef, 'ranked', 'admin' ],
	[ 0, 2, 0, 2, undef, 'ranked', 0 ],
	[ 3, 2, 4, 0, undef, 'friendly', 2 ],        # no rating
	[ 1, 0, 2, 2, 'draw', 'ranked', 1 ],
	[ 0, 3, 3, 0, undef, 'ranked', 0 ],
	[ 2, 3, 1, 0, undef, 'ranked', 'admin' ],
	[ 2, 3, 7, 1, undef, 'ranked', 2 ],
);

my $n = 0;
my %ks;
for my $s (@series) {
	$n++;
	my ($i, $j, $s1, $s2, $rtype, $mtype, $who) = @$s;
	my ($p1, $p2) = ($P[$i], $P[$j]);
	my $tok = $who eq 'admin' ? $ADM : $P[$who]{token};
	my $tx = api(POST => '/api/matches', token => $ADM,
		json => { player1Id => $p1->{id}, player2Id => $p2->{id}, matchType => $mtype });
	is($tx->res->code, 201, "#$n: match created") or diag($tx->res->body);
	my $mid = (J($tx) // {})->{id} // 'none';
	$tx = api(POST => "/api/matches/$mid/result", token => $tok,
		json => { player1Score => $s1, player2Score => $s2, defined $rtype ? (resultType => $rtype) : () });
	is($tx->res->code, 200, "#$n: result reported") or diag($tx->res->body);
	my $r = J($tx) // {};
	my @got = map { [ @$_{qw(playerId before after delta k)} ] } @{ $r->{ratingChanges} // [] };
	my $rated = $mtype eq 'ranked' && ($rtype // '') ne 'no_contest';
	if ($rated) {
		my $score1 = $s1 > $s2 ? 1 : $s1 < $s2 ? 0 : 0.5;
		my @want = Stack::T::rate($rec{ $p1->{id} }, $rec{ $p2->{id} }, $score1);
		$ks{ $_->[3] }++ for @want;
		is_deeply(\@got, [ [ $p1->{id}, @{ $want[0] } ], [ $p2->{id}, @{ $want[1] } ] ],
			"#$n: rating changes (before, after, delta, K) equal the reference")
			or diag explain { got => \@got, want => \@want };
		my $winner = $s1 > $s2 ? $p1->{id} : $s1 < $s2 ? $p2->{id} : undef;
		is($r->{result}{winnerId}, $winner, "#$n: winner");
	} else {
		is_deeply([ map { $_->[3] } @got ], [ 0, 0 ], "#$n: $mtype/" . ($rtype // 'win') . ' moves no rating');
	}
}
ok($ks{40} && $ks{24}, 'the series used both K = 40 and K = 24');

for my $i (0 .. 3) {
	my $p = $P[$i];
	my $want = $rec{ $p->{id} };
	my ($row) = Stack::psql("SELECT elo, peak_elo, lowest_elo, games_played, wins, losses, draws, "
		. "current_streak, best_win_streak FROM players WHERE id = '$p->{id}'");
	is_deeply([ split /\|/, $row ], [ @$want{qw(elo peak lowest games wins losses draws streak best)} ],
		"P$i: elo, peak, lowest, games, wins, losses, draws, streak, best streak equal the reference");
	my ($le) = Stack::psql("SELECT elo, games_played, wins, losses, draws FROM leaderboard_entries "
		. "WHERE player_id = '$p->{id}' AND season_id = 'all-time'");
	is_deeply([ split /\|/, $le ], [ @$want{qw(elo games wins losses draws)} ], "P$i: all-time board row");

	my $tx = api(GET => "/api/players/$p->{id}/stats?_=" . rand());
	is($tx->res->code, 200, "P$i: stats");
	my $st = J($tx) // {};
	is_deeply([ @$st{qw(elo peakElo lowestElo gamesPlayed wins losses draws currentStreak bestWinStreak)} ],
		[ @$want{qw(elo peak lowest games wins losses draws streak best)} ], "P$i: /stats equals the reference");
	my $rate = $want->{games} ? int($want->{wins} / $want->{games} * 10000 + 0.5) / 10000 : 0;
	ok(abs(($st->{winRate} // -1) - $rate) < 1e-9, "P$i: winRate $rate") or diag $st->{winRate};

	$tx = api(GET => "/api/players/$p->{id}/rating-history?limit=100");
	my @ev = reverse @{ (J($tx) // {})->{events} // [] };
	my $chain = 1;
	for my $k (1 .. $#ev) {
		$chain = 0 unless $ev[$k]{before} == $ev[ $k - 1 ]{after};
	}
	ok($chain, "P$i: rating history is a chain (each before = previous after)");
	is($ev[0]{before}, $start[$i]{elo} // 1200, "P$i: history starts at the starting rating");
	is($ev[-1]{after}, $want->{elo}, "P$i: history ends at the final rating");
}

done_testing;
