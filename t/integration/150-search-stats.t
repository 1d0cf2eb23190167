#!/usr/bin/perl
# 150-search-stats.t — GET /players?search= (case-insensitive username
# prefix, keyset pagination followed to the end: every match once, in order,
# nothing else; '_' is literal; deactivated players hidden; limit/search/
# cursor validation) and GET /players/{id}/stats (exact shape, a new player's
# zeros and winRate 0, winRate as a fraction, global and country ranks equal
# to the position on the all-time board computed from PostgreSQL, caching
# headers).  20 players are inserted with psql (+ their all-time board rows,
# then the Redis boards are invalidated); one registers over HTTP from
# 127.150.R.N.

use strict;
use warnings;
use Test::More;
use Mojo::Util qw(url_escape);
use MIME::Base64 ();
use Stack;

Stack::Auth::need_stack();

my $F   = 150;
my $tag = Stack::T::tag();
sub api { Stack::T::call(@_) }
sub J   { Stack::T::body_json(@_) }
sub sql { scalar Stack::psql($_[0]) }
my $ua = Stack::Auth::ua_at(Stack::Auth::addr($F));
my $pfx = "t150_${tag}_";

# one player over HTTP (country NR), 20 with psql: odd numbers upper-case,
# no country; plus a decoy that only a LIKE-style '_' would match and a
# deactivated one that must never show.
my $R = Stack::Auth::new_user($ua, "${pfx}reg", countryCode => 'nr');
my @rows = Stack::psql(<<"SQL");
WITH src AS (
  SELECT CASE WHEN g % 2 = 1 THEN upper('$pfx') ELSE '$pfx' END || lpad(g::text, 3, '0') AS u, g, true AS active
    FROM generate_series(1, 20) g
  UNION ALL SELECT 't150x${tag}_decoy', 0, true
  UNION ALL SELECT '${pfx}zzz_gone', 99, false),
p AS (INSERT INTO players (username, email, password_hash, display_name, is_active)
      SELECT u, lower(u) || '\@example.com', (SELECT password_hash FROM players WHERE id = '$R->{id}'),
             'P ' || u, active FROM src ORDER BY g RETURNING id, username, is_active),
e AS (INSERT INTO leaderboard_entries (season_id, player_id, elo, country_code, reached_at, is_active)
      SELECT 'all-time', id, 1200, NULL, date_trunc('milliseconds', now()), is_active FROM p)
SELECT id || '|' || username FROM p WHERE is_active ORDER BY lower(username);
SQL
Stack::T::invalidate_boards();
my %ID = map { my ($i, $u) = split /\|/; ($u => $i) } @rows;
is(scalar keys %ID, 21, 'fixture: 21 active players inserted');
my @want = sort { lc $a cmp lc $b } ($R->{username}, grep { /^\Q$pfx\E/i } keys %ID);
is(scalar @want, 21, '21 usernames start with the prefix');

# ------------------------------------------------------------- search
sub search {
	my ($q) = @_;
	my $tx = api(GET => "/api/players?$q");
	return ($tx, J($tx) // {});
}
my (@got, @sizes, @cursors);
my $cursor;
for my $page (1 .. 10) {
	my ($tx, $j) = search("search=$pfx&limit=7" . (defined $cursor ? '&cursor=' . url_escape($cursor) : ''));
	is($tx->res->code, 200, "search page $page: 200") or last;
	push @sizes, scalar @{ $j->{players} };
	push @got, map { $_->{username} } @{ $j->{players} };
	$cursor = $j->{nextCursor};
	push @cursors, $cursor;
	last unless defined $cursor;
}
is_deeply(\@sizes, [ 7, 7, 7, 0 ], 'pages of 7, 7, 7 and a last empty page');
ok((grep { defined } @cursors[0 .. 2]) == 3 && !defined $cursors[3], 'nextCursor on every full page, null at the end');
is_deeply(\@got, \@want, 'every match exactly once, ordered case-insensitively by username');
my %seen;
is(scalar(grep { $seen{ lc $_ }++ } @got), 0, 'no duplicates');

my ($tx, $j) = search('search=' . uc($pfx) . '&limit=100');
is_deeply([ map { $_->{username} } @{ $j->{players} } ], \@want, 'upper-case prefix: the same players (limit 100, one page)');
ok(exists $j->{nextCursor} && !defined $j->{nextCursor}, 'a partial page has nextCursor null');
like($tx->res->headers->cache_control // '', qr/public/, 'search answers are public');
is_deeply([ sort keys %{ $j->{players}[0] // {} } ],
	[ sort qw(id username displayName countryCode avatarUrl bio role elo peakElo gamesPlayed wins losses draws createdAt) ],
	'entries are public profiles (no email)');
unlike($tx->res->body, qr/\@example\.com/, 'no email anywhere in the answer');
is($j->{players}[0]{id}, $ID{ $want[0] } // $R->{id}, 'ids match the database');
is_deeply([ map { $_->{username} } @{ (search("search=${pfx}00"))[1]{players} } ], [ @want[0 .. 8] ],
	'a longer prefix narrows to _001.._009');
is_deeply([ map { $_->{username} } @{ (search("search=" . uc("${pfx}reg")))[1]{players} } ], [ $R->{username} ],
	'a whole username finds just that player');
($tx, $j) = search("search=t150_${tag}");
is(scalar(grep { $_->{username} =~ /decoy|gone/ } @{ $j->{players} }), 0, "'_' is literal and deactivated players are hidden");
($tx, $j) = search("search=$pfx");
is_deeply([ scalar @{ $j->{players} }, defined $j->{nextCursor} ? 1 : 0 ], [ 20, 1 ], 'default limit 20, with a cursor');
($tx, $j) = search("search=${pfx}nomatch");
is_deeply([ $tx->res->code, $j->{players}, $j->{nextCursor} ], [ 200, [], undef ], 'no match: 200, empty list, null cursor');

for my $bad ([ 'limit=0', 'limit' ], [ 'limit=101', 'limit' ], [ 'limit=x', 'limit' ], [ 'limit=-1', 'limit' ],
	[ 'limit=1.5', 'limit' ], [ 'limit=', 'limit' ], [ 'search=a%20b', 'search' ], [ 'search=%25', 'search' ],
	[ "search=t150'", 'search' ], [ 'search=' . ('a' x 33), 'search' ], [ 'search=%C3%A9', 'search' ],
	[ 'cursor=!!!', 'cursor' ], [ 'cursor=' . url_escape(MIME::Base64::encode_base64url('a b')), 'cursor' ])
{
	Stack::Auth::problem_ok(scalar api(GET => "/api/players?$bad->[0]"), 422, $bad->[1], "GET /players?$bad->[0]: 422 naming $bad->[1]");
}

# -------------------------------------------------------------- stats
my @KEYS = sort qw(playerId username elo peakElo lowestElo gamesPlayed wins losses draws winRate currentStreak
	bestWinStreak globalRank countryRank);
sub stats {
	my ($id, %h) = @_;
	my $tx = api(GET => "/api/players/$id/stats", headers => \%h);
	return ($tx, J($tx) // {});
}
# the position of $id on the all-time board (elo desc, reached_at, id), from PostgreSQL
sub board_pos {
	my ($id, $cc) = @_;
	my $where = defined $cc ? "AND country_code = '$cc'" : '';
	return sql("SELECT r FROM (SELECT player_id, row_number() OVER (ORDER BY elo DESC, reached_at, player_id) AS r "
		. "FROM leaderboard_entries WHERE season_id = 'all-time' AND is_active $where) x WHERE player_id = '$id'");
}

($tx, $j) = stats($R->{id});
is($tx->res->code, 200, 'stats of a new player: 200');
like($tx->res->headers->content_type // '', qr{^application/json; charset=utf-8$}i, 'JSON');
is_deeply([ sort keys %$j ], \@KEYS, 'exactly the documented fields');
is_deeply([ @$j{qw(playerId username elo peakElo lowestElo gamesPlayed wins losses draws currentStreak bestWinStreak)} ],
	[ $R->{id}, $R->{username}, 1200, 1200, 1200, 0, 0, 0, 0, 0, 0 ], 'a new player: 1200 and zeros');
ok(defined $j->{winRate} && $j->{winRate} == 0, 'winRate 0 with no games');
like($tx->res->body, qr/"winRate":0(?:\.0+)?[,}]/, 'winRate is the number 0 (not null, not a string)');
like($tx->res->body, qr/"globalRank":[1-9][0-9]*[,}]/, 'globalRank is a positive integer');
like($tx->res->body, qr/"countryRank":[1-9][0-9]*[,}]/, 'countryRank is a positive integer');
is($j->{globalRank}, board_pos($R->{id}), 'globalRank = position on the all-time board');
is($j->{countryRank}, board_pos($R->{id}, 'NR'), 'countryRank = position among NR players');
like($tx->res->headers->cache_control // '', qr/public/, 'stats are publicly cacheable');
my $etag = $tx->res->headers->etag;
ok($etag, 'with an ETag');
is((stats($R->{id}, 'If-None-Match' => $etag // 'x'))[0]->res->code, 304, 'If-None-Match with it: 304');

my $P1 = $ID{ $want[0] };
($tx, $j) = stats($P1);
is_deeply([ $tx->res->code, $j->{countryRank}, $j->{globalRank} ], [ 200, undef, board_pos($P1) ],
	'a player without a country: countryRank null, globalRank its position');

# winRate as a fraction of games (players rows set with psql)
my $P2 = $ID{ $want[1] };
my $P3 = $ID{ $want[2] };
Stack::psql("UPDATE players SET games_played = 3, wins = 2, losses = 1, current_streak = 1, best_win_streak = 1, "
	. "version = version + 1 WHERE id = '$P2'; UPDATE players SET games_played = 4, wins = 1, losses = 1, draws = 2, "
	. "version = version + 1 WHERE id = '$P3'; "
	# the all-time board entry carries the same record (results write both)
	. "UPDATE leaderboard_entries SET games_played = 3, wins = 2, losses = 1 WHERE season_id = 'all-time' AND player_id = '$P2'; "
	. "UPDATE leaderboard_entries SET games_played = 4, wins = 1, losses = 1, draws = 2 WHERE season_id = 'all-time' AND player_id = '$P3'");
# Stats are served from the Redis board cache, which does not see SQL run
# behind the app's back: start a new cache epoch, as `rankpulse
# rebuild-cache` does (the boards are then answered from PostgreSQL until
# rebuilt, and rebuilt from it).
Stack::redis_cli('INCR', 'lb:epoch');
($tx, $j) = stats($P2);
is_deeply([ @$j{qw(gamesPlayed wins losses draws currentStreak bestWinStreak)} ], [ 3, 2, 1, 0, 1, 1 ], '3 games, 2 wins');
ok(abs(($j->{winRate} // -1) - 2 / 3) < 0.001, "winRate 2/3 ($j->{winRate})");
($tx, $j) = stats($P3);
is($j->{winRate}, 0.25, 'winRate 0.25 for 1 win in 4 games (draws count as games)');

Stack::Auth::problem_ok(scalar api(GET => '/api/players/00000000-0000-4000-8000-000000000000/stats'), 404, undef, 'stats of an unknown id: 404');
Stack::Auth::problem_ok(scalar api(GET => '/api/players/xyz/stats'), 404, undef, 'stats of a non-UUID id: 404');
Stack::Auth::problem_ok(scalar api(GET => "/api/players/$ID{ (grep { /decoy/ } keys %ID)[0] // '' }x/stats"), 404, undef,
	'stats of a malformed id: 404');

done_testing();
