#!/usr/bin/perl
# 230-concurrency.t — 50 players, 200 ranked matches created and reported in
# parallel by 24 concurrent clients (an admin reports), heavy overlap on a few
# hot players. Afterwards the database must be what a serial application of
# the same results in commit order gives (SPEC §5: rows locked in id order,
# no lost update):
#   * no 5xx, every report 200; every match has exactly one result;
#   * per player, rating events (ORDER BY id) form a chain from 1200 to
#     players.elo, games_played = number of events, W/L/D and streaks match;
#   * replaying all matches in event order with the Perl reference gives
#     every stored before/after/K;
#   * match_results before/after equal the events; the deltas add up;
#   * the (warm, incrementally updated) Redis country board has PostgreSQL's order;
#   * the board rank counts (migration 0005), folded by a concurrent session
#     while the results commit, equal a GROUP BY over the entries.

use strict;
use warnings;
use Test::More;
use Mojo::Promise;
use Stack;

plan skip_all => 'no stack: RP_STACK_ENV does not describe a running stack (run make test)'
	unless Stack::available();

sub J { Stack::T::body_json(@_) }

my $CC      = 'MT';
my $LANES   = 24;
my $MATCHES = 200;

my ($admin, @P) = Stack::T::setup_players(prefix => 't230', n => 50, country => $CC, addr => '127.0.4.230', retire => 1);
my $ADM = Stack::T::make_admin($admin);
my %mine = map { $_->{id} => 1 } @P;
my $idlist = join ',', map { "'$_->{id}'" } @P;

# warm the country and global boards (the psql inserts invalidated them)
for my $q ("/api/leaderboards?scope=country&country=$CC&limit=100", '/api/leaderboards?limit=1') {
	is(Stack::T::call(GET => "$q&_=" . rand())->res->code, 200, "warm $q");
}

# deterministic pairs: half of the matches involve one of five hot players
srand(230);
my @jobs;
for my $i (1 .. $MATCHES) {
	my $a = $i % 2 ? int(rand(5)) : int(rand(50));
	my $b;
	do { $b = int(rand(50)) } while $b == $a;
	my ($s1, $s2) = (int(rand(4)), int(rand(4)));
	push @jobs, { p1 => $P[$a]{id}, p2 => $P[$b]{id}, s1 => $s1, s2 => $s2 };
}

# run_pool(\@requests, $lanes): [method, path, json] each; $lanes connections
# in flight at once; returns the transactions in request order.
sub run_pool {
	my ($reqs, $lanes) = @_;
	my @out;
	my ($next, $inflight, $max) = (0, 0, 0);
	my @lanes;
	for (1 .. $lanes) {
		my $ua = Stack::ua();
		$ua->request_timeout(60)->inactivity_timeout(60);
		my $lane;
		$lane = sub {
			return Mojo::Promise->resolve(1) if $next >= @$reqs;
			my $i = $next++;
			my ($method, $path, $json) = @{ $reqs->[$i] };
			my $tx = $ua->build_tx($method => Stack::url($path) => { Authorization => "Bearer $ADM" } => json => $json);
			$inflight++;
			$max = $inflight if $inflight > $max;
			return $ua->start_p($tx)->then(sub { $inflight--; $out[$i] = $_[0]; $lane->() },
				sub { $inflight--; $out[$i] = "@_"; $lane->() });
		};
		push @lanes, $lane->();
	}
	Mojo::Promise->all(@lanes)->wait;
	return (\@out, $max);
}

sub codes_ok {
	my ($txs, $want, $name) = @_;
	my %codes;
	for my $tx (@$txs) {
		my $c = ref $tx ? ($tx->res->code // 'none') : 'error';
		$codes{$c}++;
	}
	is_deeply(\%codes, { $want => scalar @$txs }, "$name: every answer $want")
		or diag explain \%codes;
	is(scalar(grep { ref $_ && ($_->res->code // 0) >= 500 } @$txs), 0, "$name: no 5xx");
}

my ($created, $max1) = run_pool([ map { [ POST => '/api/matches', { player1Id => $_->{p1}, player2Id => $_->{p2} } ] } @jobs ], $LANES);
codes_ok($created, 201, 'create');
for my $i (0 .. $#jobs) {
	$jobs[$i]{id} = ref $created->[$i] ? (J($created->[$i]) // {})->{id} : undef;
}
my @ok = grep { defined $_->{id} } @jobs;
is(scalar @ok, $MATCHES, "$MATCHES matches created");

# a session folding the board moves into the counts while results append them
my $folder = Stack::psql_bg('DO $$ BEGIN FOR i IN 1..200 LOOP PERFORM board_moves_fold(true); '
	. 'COMMIT; PERFORM pg_sleep(0.01); END LOOP; END $$');
my $t0 = time;
my ($reported, $max2) = run_pool([ map { [ POST => "/api/matches/$_->{id}/result",
	{ player1Score => $_->{s1}, player2Score => $_->{s2} } ] } @ok ], $LANES);
diag sprintf '%d results reported by %d concurrent clients (max in flight %d) in %ds', scalar @ok, $LANES, $max2, time - $t0;
cmp_ok($max2, '>=', 16, 'at least 16 requests were in flight at once');
codes_ok($reported, 200, 'report');
is(Stack::wait_pid($folder, 30), 0, 'the concurrent folder ran to the end');

# ------------------------------------------------------------- the database

my @ids = map { $_->{id} } @ok;
my $mlist = join ',', map { "'$_'" } @ids;
my %res = map { my @f = split /\|/; $f[0] => \@f } Stack::psql(
	"SELECT m.id, m.status, count(r.id), min(r.player1_score), min(r.player2_score), "
	. "min(r.player1_elo_before), min(r.player1_elo_after), min(r.player2_elo_before), min(r.player2_elo_after), "
	. "min(r.player1_k), min(r.player2_k) FROM matches m LEFT JOIN match_results r ON r.match_id = m.id "
	. "WHERE m.id IN ($mlist) GROUP BY m.id, m.status");
is(scalar keys %res, $MATCHES, 'all matches found');
my @bad = grep { !$res{ $_->{id} } || $res{ $_->{id} }[2] != 1 || $res{ $_->{id} }[1] ne 'completed'
	|| $res{ $_->{id} }[3] != $_->{s1} || $res{ $_->{id} }[4] != $_->{s2} } @ok;
is(scalar @bad, 0, 'every match: completed, exactly one result, the reported scores') or diag explain [ @bad[0 .. 2] ];

# events of our players (all-time), in commit order
my @events = map { [ split /\|/ ] } Stack::psql(
	"SELECT id, player_id, match_id, elo_before, elo_after, delta FROM rating_events "
	. "WHERE season_id = 'all-time' AND player_id IN ($idlist) ORDER BY id");
is(scalar @events, 2 * $MATCHES, 'two all-time rating events per match');
my %players = map { my @f = split /\|/; $f[0] => { elo => $f[1], peak => $f[2], lowest => $f[3], games => $f[4],
	wins => $f[5], losses => $f[6], draws => $f[7], streak => $f[8], best => $f[9] } } Stack::psql(
	"SELECT id, elo, peak_elo, lowest_elo, games_played, wins, losses, draws, current_streak, best_win_streak "
	. "FROM players WHERE id IN ($idlist)");

# per-player chains
my (%last, %count, @broken);
for my $e (@events) {
	my ($id, $pid, $mid, $before, $after, $delta) = @$e;
	push @broken, "event $id: before $before != previous after " . ($last{$pid} // 1200)
		if $before != ($last{$pid} // 1200);
	push @broken, "event $id: delta" if $delta != $after - $before;
	$last{$pid} = $after;
	$count{$pid}++;
}
is_deeply(\@broken, [], 'each event starts where the previous event of the player ended (first at 1200)')
	or diag explain [ @broken[0 .. 4] ];
my @mismatch = grep { ($last{$_} // 1200) != $players{$_}{elo} || ($count{$_} // 0) != $players{$_}{games} } keys %players;
is_deeply(\@mismatch, [], 'players.elo = last event; games_played = number of events');

# serial replay with the reference, in commit order (first event of each match)
my (%order, %ev_of);
for my $e (@events) {
	$order{ $e->[2] } //= $e->[0];
	$ev_of{ $e->[2] }{ $e->[1] } = $e;
}
my %job = map { $_->{id} => $_ } @ok;
my %rec = map { $_->{id} => Stack::T::rec_new() } @P;
my (@diff, $sum_delta);
for my $mid (sort { $order{$a} <=> $order{$b} } keys %order) {
	my $j = $job{$mid};
	my $s = $j->{s1} > $j->{s2} ? 1 : $j->{s1} < $j->{s2} ? 0 : 0.5;
	my @w = Stack::T::rate($rec{ $j->{p1} }, $rec{ $j->{p2} }, $s);
	my $r = $res{$mid};
	my @stored = @$r[5 .. 10];
	my @want = ($w[0][0], $w[0][1], $w[1][0], $w[1][1], $w[0][3], $w[1][3]);
	push @diff, "$mid: result row @stored, reference @want" if "@stored" ne "@want";
	my ($e1, $e2) = ($ev_of{$mid}{ $j->{p1} }, $ev_of{$mid}{ $j->{p2} });
	push @diff, "$mid: events" unless $e1 && $e2 && $e1->[3] == $want[0] && $e1->[4] == $want[1]
		&& $e2->[3] == $want[2] && $e2->[4] == $want[3];
	$sum_delta += $w[0][2] + $w[1][2];
}
is_deeply(\@diff, [], 'a serial replay in commit order reproduces every stored rating change and K')
	or diag explain [ @diff[0 .. 4] ];
my @rdiff = grep {
	my ($p, $r) = ($players{$_}, $rec{$_});
	join(',', @$p{qw(elo peak lowest games wins losses draws streak best)})
		ne join(',', @$r{qw(elo peak lowest games wins losses draws streak best)})
} keys %rec;
is_deeply(\@rdiff, [], 'every player record (elo, peak, lowest, games, W/L/D, streaks) equals the replay');
my $total = 0;
$total += $_->{elo} - 1200 for values %players;
is($total, $sum_delta, 'sum of rating deltas = sum of (elo - 1200) over the players');
my ($wins, $losses, $draws) = (0, 0, 0);
for (values %players) { $wins += $_->{wins}; $losses += $_->{losses}; $draws += $_->{draws} }
is($wins, $losses, 'wins = losses over all players');
is($wins + $losses + $draws, 2 * $MATCHES, 'W + L + D = 2 × matches');
my $le = Stack::psql("SELECT count(*) FROM leaderboard_entries le JOIN players p ON p.id = le.player_id "
	. "WHERE le.season_id = 'all-time' AND p.id IN ($idlist) AND (le.elo <> p.elo OR le.games_played <> p.games_played "
	. "OR le.wins <> p.wins OR le.losses <> p.losses OR le.draws <> p.draws)");
is($le, 0, 'all-time board rows agree with the players');

# the Redis country board, updated concurrently, has PostgreSQL's order
my @pg = Stack::psql("SELECT player_id || ':' || elo FROM leaderboard_entries WHERE season_id = 'all-time' "
	. "AND is_active AND country_code = '$CC' ORDER BY elo DESC, reached_at, player_id");
my $tx = Stack::T::call(GET => "/api/leaderboards?scope=country&country=$CC&limit=100&_=" . rand());
is($tx->res->code, 200, 'country board');
my $j = J($tx) // {};
is($j->{total}, scalar @pg, 'board total = PostgreSQL count');
is_deeply([ map { "$_->{playerId}:$_->{elo}" } @{ $j->{entries} // [] } ], \@pg,
	'board order (served from Redis) = PostgreSQL order');

# rank counts: exact with the moves left, and after folding them
my ($missing, $extra) = Stack::board_counts_drift();
is("$missing/$extra", '0/0', 'board rank counts + unfolded moves = the entries');
Stack::psql('SELECT board_moves_fold(true)');
my @after = Stack::board_counts_drift();
is(join('/', @after), '0/0/0', 'after a fold: no moves left, counts = the entries');

done_testing;
