#!/usr/bin/perl
# 245-board-ranks.t — ranks from PostgreSQL come from counts kept by
# triggers (migration 0005), not from counting the rows ahead. With Redis
# down, every test player's globalRank / countryRank (stats) and the ranks
# on its around-me page equal a row_number() over the board in PostgreSQL,
# both while moves are still unfolded and after folding them:
#   * ties on purpose: equal elo on the same UTC day (ordered by reached_at,
#     then id), equal elo on earlier days, on later days;
#   * results (elo and reached_at move), a country change (the player leaves
#     one country board, joins another, keeps its global place), a
#     deactivation (leaves every board), a reactivation by SQL;
#   * pages from offset 200 on (located by the counts) equal PostgreSQL's
#     order on a 300-player country board and the global board;
#   * the counts equal a GROUP BY over the entries throughout, and
#     board_counts_rebuild() repairs counts and sizes after writes that
#     bypassed the triggers.

use strict;
use warnings;
use Test::More;
use Stack;

plan skip_all => 'no stack: RP_STACK_ENV does not describe a running stack (run make test)'
	unless Stack::available();

sub api { Stack::T::call(@_) }
sub J   { Stack::T::body_json(@_) }

my ($CC, $CC2, $CC3) = ('LR', 'LS', 'LT');
END {
	if (Stack::available()) {
		Stack::start_service('redis') unless Stack::service_pid('redis');
		eval { Stack::psql('DROP PUBLICATION IF EXISTS t245_all') };
	}
}

my ($admin, @P) = Stack::T::setup_players(prefix => 't245', n => 24, country => $CC,
	addr => '127.0.4.245', retire => 1);
my $ADM = Stack::T::make_admin($admin);
my $idlist = join ',', map { "'$_->{id}'" } @P;

# ties: P0..P3 at 1300 on one day (P0, P1 at the same instant: by id), P4 at
# 1300 a day earlier, P5 a day later; P6..P8 at 1250 on three days
my @fixed = ([ 0, 1300, '2025-03-02 10:00:00+00' ], [ 1, 1300, '2025-03-02 10:00:00+00' ],
	[ 2, 1300, '2025-03-02 09:00:00+00' ], [ 3, 1300, '2025-03-02 23:59:59.999+00' ],
	[ 4, 1300, '2025-03-01 12:00:00+00' ], [ 5, 1300, '2025-03-03 00:00:00+00' ],
	[ 6, 1250, '2025-03-01 00:00:00+00' ], [ 7, 1250, '2025-03-02 00:00:00+00' ],
	[ 8, 1250, '2025-03-03 00:00:00+00' ]);
Stack::psql(join '', map {
	my ($i, $elo, $at) = @$_;
	"UPDATE players SET elo = $elo, peak_elo = greatest($elo, 1200), lowest_elo = least($elo, 1200) "
		. "WHERE id = '$P[$i]{id}'; UPDATE leaderboard_entries SET elo = $elo, reached_at = '$at' "
		. "WHERE player_id = '$P[$i]{id}' AND season_id = 'all-time';"
} @fixed);
Stack::T::invalidate_boards();

# results among P10..P23
for my $g ([ 10, 11, 1, 0 ], [ 12, 13, 0, 2 ], [ 14, 15, 1, 1 ], [ 16, 10, 0, 1 ], [ 17, 18, 3, 2 ],
	[ 19, 20, 1, 0 ], [ 21, 22, 2, 2 ], [ 23, 12, 1, 0 ]) {
	my ($i, $j, $s1, $s2) = @$g;
	my $tx = api(POST => '/api/matches', token => $ADM, json => { player1Id => $P[$i]{id}, player2Id => $P[$j]{id} });
	my $mid = (J($tx) // {})->{id} // 'none';
	$tx = api(POST => "/api/matches/$mid/result", token => $ADM, json => { player1Score => $s1, player2Score => $s2 });
	is($tx->res->code, 200, "result P$i v P$j") or diag($tx->res->body);
}
# P9 moves to another country; P20 leaves; P21 is back by SQL after leaving
is(api(PATCH => "/api/players/$P[9]{id}", token => $ADM, json => { countryCode => $CC2 })->res->code, 200,
	'country change');
is(api(DELETE => "/api/players/$P[20]{id}", token => $ADM)->res->code, 204, 'deactivation');
Stack::psql("UPDATE leaderboard_entries SET is_active = false WHERE player_id = '$P[21]{id}'; "
	. "UPDATE leaderboard_entries SET is_active = true WHERE player_id = '$P[21]{id}'");

# the reference: row_number() over each board, in the total order
sub reference {
	my %r;
	for my $row (Stack::psql(<<"SQL")) {
SELECT player_id || '|' || g || '|' || coalesce(c::text, '') FROM (
  SELECT player_id, row_number() OVER (ORDER BY elo DESC, reached_at, player_id) AS g,
         CASE WHEN country_code IS NOT NULL THEN row_number() OVER (PARTITION BY country_code
              ORDER BY elo DESC, reached_at, player_id) END AS c
  FROM leaderboard_entries WHERE season_id = 'all-time' AND is_active) b
WHERE player_id IN ($idlist)
SQL
		my ($id, $g, $c) = split /\|/, $row, -1;
		$r{$id} = [ $g, $c eq '' ? undef : $c ];
	}
	return \%r;
}

# with Redis down: ranks of every test player from stats and around-me
sub check_ranks {
	my ($label) = @_;
	my $ref = reference();
	is(scalar keys %$ref, @P - 1, "$label: every test player but the deactivated one is on the board");
	my @bad;
	for my $i (0 .. $#P) {
		my $id = $P[$i]{id};
		my $tx = api(GET => "/api/players/$id/stats?_=" . rand());
		if (!$ref->{$id}) {
			push @bad, "P$i: stats of a deactivated player answer " . ($tx->res->code // 0)
				unless ($tx->res->code // 0) == 404;
			next;
		}
		my $s = J($tx) // {};
		my ($g, $c) = @{ $ref->{$id} };
		push @bad, "P$i stats: global " . ($s->{globalRank} // 'null') . " want $g"
			unless ($s->{globalRank} // -1) == $g;
		push @bad, "P$i stats: country " . ($s->{countryRank} // 'null') . " want $c"
			unless ($s->{countryRank} // -1) == $c;
		my $cc = $i == 9 ? $CC2 : $CC;
		my $a = J(api(GET => "/api/leaderboards/around/$id?scope=country&country=$cc&radius=2&_=" . rand())) // {};
		push @bad, "P$i around: rank " . ($a->{player}{rank} // 'null') . " want $c"
			unless ($a->{player}{rank} // -1) == $c;
		my $ga = J(api(GET => "/api/leaderboards/around/$id?radius=1&_=" . rand())) // {};
		push @bad, "P$i around global: rank " . ($ga->{player}{rank} // 'null') . " want $g"
			unless ($ga->{player}{rank} // -1) == $g;
	}
	is(scalar @bad, 0, "$label: stats and around-me ranks equal the reference") or diag explain \@bad;
}

my ($missing, $extra, $moves) = Stack::board_counts_drift();
is("$missing/$extra", '0/0', 'counts + moves = the entries');
cmp_ok($moves, '>', 0, 'moves are waiting to be folded');

ok(Stack::stop_service('redis'), 'redis stopped');
check_ranks('unfolded moves');
Stack::psql('SELECT board_moves_fold(true)');
is(join('/', Stack::board_counts_drift()), '0/0/0', 'folded: counts = the entries, no moves left');
check_ranks('folded');
# one more result and a tie made by SQL after the fold: counts + new moves
my $tx = api(POST => '/api/matches', token => $ADM, json => { player1Id => $P[4]{id}, player2Id => $P[6]{id} });
my $mid = (J($tx) // {})->{id} // 'none';
is(api(POST => "/api/matches/$mid/result", token => $ADM, json => { player1Score => 0, player2Score => 1 })->res->code,
	200, 'a result with Redis down');
Stack::psql("UPDATE leaderboard_entries SET elo = 1300, reached_at = '2025-03-02 10:00:00+00' "
	. "WHERE player_id = '$P[8]{id}' AND season_id = 'all-time'");
check_ranks('folded counts and new moves');
ok(Stack::start_service('redis'), 'redis started');
Stack::T::invalidate_boards();
is(join('/', (Stack::board_counts_drift())[0, 1]), '0/0', 'counts + moves = the entries at the end');

# deep pages with Redis down start from the entry the counts locate (from
# offset 200 on): a country board of 300 players made and re-rated in bulk
# (one statement each: more than 256 moves, folded at once), ties included
my (undef, @Q) = Stack::T::setup_players(prefix => 't245q', n => 300, country => $CC3,
	addr => '127.0.4.245', retire => 1);
my $qlist = join ',', map { "'$_->{id}'" } @Q;
Stack::psql("UPDATE leaderboard_entries le SET elo = 1150 + (q.k % 40) * 5, "
	. "reached_at = timestamptz '2025-04-01 00:00:00+00' + (q.k % 7) * interval '9 hours' "
	. "FROM (SELECT id, row_number() OVER (ORDER BY id) AS k FROM players WHERE id IN ($qlist)) q "
	. "WHERE le.player_id = q.id AND le.season_id = 'all-time'");
is((Stack::board_counts_drift())[2], 0, 'a bulk update folds its moves at once');
ok(Stack::stop_service('redis'), 'redis stopped');
my @want = Stack::psql("SELECT player_id || ':' || elo FROM leaderboard_entries WHERE season_id = 'all-time' "
	. "AND is_active AND country_code = '$CC3' ORDER BY elo DESC, reached_at, player_id");
my @gwant = Stack::psql("SELECT player_id FROM leaderboard_entries WHERE season_id = 'all-time' "
	. "AND is_active ORDER BY elo DESC, reached_at, player_id");
my @pbad;
for my $off (0, 199, 200, 201, 250, 293, 299, 300) {
	my $j = J(api(GET => "/api/leaderboards?scope=country&country=$CC3&offset=$off&limit=7&_=" . rand())) // {};
	my @got = map { "$_->{rank}=$_->{playerId}:$_->{elo}" } @{ $j->{entries} // [] };
	my $hi = $off + 6 > $#want ? $#want : $off + 6;
	my @exp = map { ($_ + 1) . "=$want[$_]" } $off .. $hi;
	push @pbad, "country offset $off" unless "@got" eq "@exp" && ($j->{total} // -1) == @want;
}
for my $off (200, int(@gwant / 2), @gwant - 3) {
	my $j = J(api(GET => "/api/leaderboards?offset=$off&limit=5&_=" . rand())) // {};
	my @got = map { "$_->{rank}=$_->{playerId}" } @{ $j->{entries} // [] };
	my $hi = $off + 4 > $#gwant ? $#gwant : $off + 4;
	my @exp = map { ($_ + 1) . "=$gwant[$_]" } $off .. $hi;
	push @pbad, "global offset $off" unless "@got" eq "@exp";
}
is(scalar @pbad, 0, 'deep pages with Redis down equal PostgreSQL order') or diag explain \@pbad;
ok(Stack::start_service('redis'), 'redis started');
Stack::T::invalidate_boards();

# a logical replication publication of every table (wal_level does not
# matter for this check): the fold's DELETE on board_moves, which has no
# key, must still be allowed, or results would fail with it
Stack::psql('CREATE PUBLICATION t245_all FOR ALL TABLES');
my $tx2 = api(POST => '/api/matches', token => $ADM, json => { player1Id => $P[5]{id}, player2Id => $P[7]{id} });
my $mid2 = (J($tx2) // {})->{id} // 'none';
is(api(POST => "/api/matches/$mid2/result", token => $ADM, json => { player1Score => 1, player2Score => 0 })->res->code,
	200, 'a result while every table is published');
my $fold = eval { Stack::psql('SELECT board_moves_fold(true)'); 1 };
Stack::psql('DROP PUBLICATION t245_all');
ok($fold, 'the fold deletes moves while board_moves is published') or diag $@;

# counts spoiled behind the triggers' back are rebuilt by board_counts_rebuild()
sub sizes_drift {
	return scalar Stack::psql(<<'SQL');
WITH truth AS (
  SELECT season_id, '' AS cc, count(*) AS n FROM leaderboard_entries WHERE is_active GROUP BY 1
  UNION ALL SELECT season_id, country_code, count(*) FROM leaderboard_entries
    WHERE is_active AND country_code IS NOT NULL GROUP BY 1, 2)
SELECT count(*) FROM ((SELECT * FROM truth EXCEPT SELECT * FROM board_sizes)
  UNION ALL (SELECT * FROM board_sizes WHERE n <> 0 EXCEPT SELECT * FROM truth)) x
SQL
}
is(sizes_drift(), 0, 'board sizes = the entries');
Stack::psql("SET session_replication_role = replica; "
	. "UPDATE leaderboard_entries SET elo = elo + 7 WHERE player_id = '$P[3]{id}'; "
	. "DELETE FROM board_elo_counts WHERE country_code = '$CC'; "
	. "UPDATE board_sizes SET n = n + 5 WHERE country_code = '$CC'");
my ($m2, $e2) = Stack::board_counts_drift();
ok($m2 + $e2 > 0, "writes that bypassed the triggers: the counts are off ($m2 missing, $e2 extra)");
isnt(sizes_drift(), 0, 'and so are the sizes');
Stack::psql('SELECT board_counts_rebuild()');
is(join('/', Stack::board_counts_drift()), '0/0/0', 'board_counts_rebuild(): counts = the entries');
is(sizes_drift(), 0, 'board_counts_rebuild(): sizes = the entries');

done_testing;
