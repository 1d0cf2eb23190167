#!/usr/bin/perl
# 260-bad-input.t — bad input to the matches, leaderboards and seasons APIs
# (SPEC §6, §9): each answer is an RFC 9457 problem document with the right
# status (400 malformed body, 401, 403, 404, 405 + Allow, 409, 413, 415, 422
# with errors[] naming the field), never a 5xx, no worker dies, and nothing is
# written (row counts of matches, match_results, rating_events, seasons,
# idempotency_keys, leaderboard_entries and the ratings are unchanged).

use strict;
use warnings;
use Test::More;
use Mojo::Util qw(b64_encode);
use Stack;

plan skip_all => 'no stack: RP_STACK_ENV does not describe a running stack (run make test)'
	unless Stack::available();

sub api { Stack::T::call(@_) }
sub J   { Stack::T::body_json(@_) }

my ($admin, $A, $B, $C) = Stack::T::setup_players(prefix => 't260', n => 3, login => 3, addr => '127.0.4.26');
my $ADM = Stack::T::make_admin($admin);
my $tag = Stack::T::tag();
my $NOBODY = '00000000-0000-4000-8000-000000000000';

my $tx = api(POST => '/api/matches', token => $A->{token}, json => { player1Id => $A->{id}, player2Id => $B->{id} });
is($tx->res->code, 201, 'fixture match') or BAIL_OUT('cannot create a match');
my $M = J($tx)->{id};
$tx = api(POST => '/api/matches', token => $A->{token}, json => { player1Id => $A->{id}, player2Id => $B->{id} });
my $DONE = J($tx)->{id};
is(api(POST => "/api/matches/$DONE/result", token => $A->{token}, json => { player1Score => 1, player2Score => 0 })
	->res->code, 200, 'fixture: a completed match');

sub cursor { my $s = b64_encode($_[0], ''); $s =~ tr{+/}{-_}; $s =~ s/=+$//; return $s }

my $ok = { player1Id => $A->{id}, player2Id => $B->{id} };
my $TA = $A->{token};
my $res = "/api/matches/$M/result";
my $big = '{"notes":"' . ('x' x (70 * 1024)) . '"}';

# [name, method, path, %options, status, field (422)]
my @cases = (
	# ---- POST /matches: body syntax and media type
	[ 'create: malformed JSON', POST => '/api/matches', { token => $TA, body => '{"player1Id":' }, 400 ],
	[ 'create: trailing garbage', POST => '/api/matches', { token => $TA, body => '{"player1Id":"x"} x' }, 400 ],
	[ 'create: duplicate keys', POST => '/api/matches',
		{ token => $TA, body => qq({"player1Id":"$A->{id}","player1Id":"$A->{id}","player2Id":"$B->{id}"}) }, 400 ],
	[ 'create: empty body', POST => '/api/matches', { token => $TA, body => '' }, 400 ],
	[ 'create: text/plain', POST => '/api/matches', { token => $TA, body => '{}', content_type => 'text/plain' }, 415 ],
	[ 'create: JSON array', POST => '/api/matches', { token => $TA, body => '[]' }, 422 ],
	[ 'create: body > 64 KiB', POST => '/api/matches', { token => $TA, body => $big }, 413 ],
	# ---- POST /matches: fields
	[ 'create: no token', POST => '/api/matches', { json => $ok }, 401 ],
	[ 'create: bad token', POST => '/api/matches', { json => $ok, token => 'x.y.z' }, 401 ],
	[ 'create: missing player2Id', POST => '/api/matches', { token => $TA, json => { player1Id => $A->{id} } }, 422, 'player2Id' ],
	[ 'create: player1Id not a UUID', POST => '/api/matches', { token => $TA, json => { %$ok, player1Id => 'abc' } }, 422, 'player1Id' ],
	[ 'create: player1Id a number', POST => '/api/matches', { token => $TA, json => { %$ok, player1Id => 12 } }, 422, 'player1Id' ],
	[ 'create: player2Id null', POST => '/api/matches', { token => $TA, json => { %$ok, player2Id => undef } }, 422, 'player2Id' ],
	[ 'create: same player twice', POST => '/api/matches', { token => $TA, json => { %$ok, player2Id => $A->{id} } }, 422, 'player2Id' ],
	[ 'create: unknown player', POST => '/api/matches', { token => $TA, json => { %$ok, player2Id => $NOBODY } }, 422 ],
	[ 'create: matchType blitz', POST => '/api/matches', { token => $TA, json => { %$ok, matchType => 'blitz' } }, 422, 'matchType' ],
	[ 'create: bestOf even', POST => '/api/matches', { token => $TA, json => { %$ok, bestOf => 2 } }, 422, 'bestOf' ],
	[ 'create: bestOf 0', POST => '/api/matches', { token => $TA, json => { %$ok, bestOf => 0 } }, 422, 'bestOf' ],
	[ 'create: bestOf 101', POST => '/api/matches', { token => $TA, json => { %$ok, bestOf => 101 } }, 422, 'bestOf' ],
	[ 'create: bestOf "3"', POST => '/api/matches', { token => $TA, json => { %$ok, bestOf => '3' } }, 422, 'bestOf' ],
	[ 'create: bestOf 3.5', POST => '/api/matches', { token => $TA, body => qq({"player1Id":"$A->{id}","player2Id":"$B->{id}","bestOf":3.5}) }, 422, 'bestOf' ],
	[ 'create: scheduledAt words', POST => '/api/matches', { token => $TA, json => { %$ok, scheduledAt => 'tomorrow' } }, 422, 'scheduledAt' ],
	[ 'create: scheduledAt without zone', POST => '/api/matches', { token => $TA, json => { %$ok, scheduledAt => '2030-01-01T10:00:00' } }, 422, 'scheduledAt' ],
	[ 'create: scheduledAt month 13', POST => '/api/matches', { token => $TA, json => { %$ok, scheduledAt => '2030-13-01T10:00:00Z' } }, 422, 'scheduledAt' ],
	[ 'create: scheduledAt 30 February', POST => '/api/matches', { token => $TA, json => { %$ok, scheduledAt => '2030-02-30T10:00:00Z' } }, 422, 'scheduledAt' ],
	[ 'create: scheduledAt hour 25', POST => '/api/matches', { token => $TA, json => { %$ok, scheduledAt => '2030-01-01T25:00:00Z' } }, 422, 'scheduledAt' ],
	[ 'create: notes > 1000', POST => '/api/matches', { token => $TA, json => { %$ok, notes => 'n' x 1001 } }, 422, 'notes' ],
	[ 'create: unknown field', POST => '/api/matches', { token => $TA, json => { %$ok, winner => 'me' } }, 422, 'winner' ],
	[ 'create: not a participant', POST => '/api/matches', { token => $C->{token}, json => $ok }, 403 ],
	# ---- reading matches
	[ 'get: unknown match', GET => "/api/matches/$NOBODY", {}, 404 ],
	[ 'get: malformed id', GET => '/api/matches/12345', {}, 404 ],
	[ 'list: status bogus', GET => '/api/matches?status=done', {}, 422, 'status' ],
	[ 'list: type bogus', GET => '/api/matches?type=blitz', {}, 422, 'type' ],
	[ 'list: limit 0', GET => '/api/matches?limit=0', {}, 422, 'limit' ],
	[ 'list: limit 101', GET => '/api/matches?limit=101', {}, 422, 'limit' ],
	[ 'list: limit abc', GET => '/api/matches?limit=abc', {}, 422, 'limit' ],
	[ 'list: player not a UUID', GET => '/api/matches?player=bob', {}, 422, 'player' ],
	[ 'list: cursor garbage', GET => '/api/matches?cursor=%21%21%21', {}, 422, 'cursor' ],
	[ 'list: cursor far in the future', GET => '/api/matches?cursor=' . cursor("9223372036854775807.$NOBODY"), {}, 422, 'cursor' ],
	[ 'player matches: malformed id', GET => '/api/players/xyz/matches', {}, 404 ],
	[ 'rating history: limit 0', GET => "/api/players/$A->{id}/rating-history?limit=0", {}, 422, 'limit' ],
	[ 'rating history: cursor abc', GET => "/api/players/$A->{id}/rating-history?cursor=abc", {}, 422, 'cursor' ],
	[ 'rating history: cursor beyond bigint', GET => "/api/players/$A->{id}/rating-history?cursor=99999999999999999999", {}, 422, 'cursor' ],
	# ---- state changes
	[ 'start: unknown match', POST => "/api/matches/$NOBODY/start", { token => $TA }, 404 ],
	[ 'start: no token', POST => "/api/matches/$M/start", {}, 401 ],
	[ 'start: completed match', POST => "/api/matches/$DONE/start", { token => $TA }, 409 ],
	[ 'cancel: completed match', POST => "/api/matches/$DONE/cancel", { token => $TA }, 409 ],
	[ 'cancel: unknown match', POST => "/api/matches/$NOBODY/cancel", { token => $TA }, 404 ],
	[ 'verify: nothing pending', POST => "/api/matches/$M/verify", { token => $B->{token} }, 409 ],
	[ 'dispute: nothing pending', POST => "/api/matches/$DONE/dispute", { token => $B->{token} }, 409 ],
	# ---- POST /matches/{id}/result
	[ 'result: unknown match', POST => "/api/matches/$NOBODY/result", { token => $TA, json => { player1Score => 1, player2Score => 0 } }, 404 ],
	[ 'result: malformed id', POST => '/api/matches/nope/result', { token => $TA, json => { player1Score => 1, player2Score => 0 } }, 404 ],
	[ 'result: no body', POST => $res, { token => $TA, body => '' }, 400 ],
	[ 'result: malformed JSON', POST => $res, { token => $TA, body => '{"player1Score":1,' }, 400 ],
	[ 'result: form encoded', POST => $res, { token => $TA, body => 'player1Score=1', content_type => 'application/x-www-form-urlencoded' }, 415 ],
	[ 'result: missing player2Score', POST => $res, { token => $TA, json => { player1Score => 1 } }, 422, 'player2Score' ],
	[ 'result: score -1', POST => $res, { token => $TA, json => { player1Score => -1, player2Score => 0 } }, 422, 'player1Score' ],
	[ 'result: score 1001', POST => $res, { token => $TA, json => { player1Score => 1, player2Score => 1001 } }, 422, 'player2Score' ],
	[ 'result: score 1.5', POST => $res, { token => $TA, body => '{"player1Score":1.5,"player2Score":0}' }, 422, 'player1Score' ],
	[ 'result: score "2"', POST => $res, { token => $TA, json => { player1Score => '2', player2Score => 0 } }, 422, 'player1Score' ],
	[ 'result: score true', POST => $res, { token => $TA, body => '{"player1Score":true,"player2Score":0}' }, 422, 'player1Score' ],
	[ 'result: score 2^63', POST => $res, { token => $TA, body => '{"player1Score":9223372036854775808,"player2Score":0}' }, 422, 'player1Score' ],
	[ 'result: resultType bogus', POST => $res, { token => $TA, json => { player1Score => 1, player2Score => 0, resultType => 'ko' } }, 422, 'resultType' ],
	[ 'result: draw with unequal scores', POST => $res, { token => $TA, json => { player1Score => 1, player2Score => 0, resultType => 'draw' } }, 422, 'resultType' ],
	[ 'result: win with equal scores', POST => $res, { token => $TA, json => { player1Score => 1, player2Score => 1, resultType => 'win' } }, 422, 'resultType' ],
	[ 'result: unknown field', POST => $res, { token => $TA, json => { player1Score => 1, player2Score => 0, winnerId => $A->{id} } }, 422, 'winnerId' ],
	[ 'result: Idempotency-Key too long', POST => $res, { token => $TA, json => { player1Score => 1, player2Score => 0 }, headers => { 'Idempotency-Key' => 'k' x 129 } }, 422, 'Idempotency-Key' ],
	[ 'result: not a participant', POST => $res, { token => $C->{token}, json => { player1Score => 1, player2Score => 0 } }, 403 ],
	[ 'result: no token', POST => $res, { json => { player1Score => 1, player2Score => 0 } }, 401 ],
	[ 'result: already reported', POST => "/api/matches/$DONE/result", { token => $TA, json => { player1Score => 1, player2Score => 0 } }, 409 ],
	# ---- methods
	[ 'PUT /matches', PUT => '/api/matches', { token => $TA, json => $ok }, 405 ],
	[ 'DELETE /matches/{id}', DELETE => "/api/matches/$M", { token => $TA }, 405 ],
	[ 'GET /matches/{id}/result', GET => $res, {}, 405 ],
	[ 'POST /leaderboards', POST => '/api/leaderboards', { json => {} }, 405 ],
	[ 'DELETE /seasons', DELETE => '/api/seasons', { token => $ADM }, 405 ],
	[ 'GET /seasons/{id}/close', GET => '/api/seasons/all-time/close', {}, 405 ],
	# ---- leaderboards
	[ 'board: scope planet', GET => '/api/leaderboards?scope=planet', {}, 422, 'scope' ],
	[ 'board: country without scope value', GET => '/api/leaderboards?scope=country', {}, 422, 'country' ],
	[ 'board: country XX', GET => '/api/leaderboards?scope=country&country=XX', {}, 422, 'country' ],
	[ 'board: country USA', GET => '/api/leaderboards?scope=country&country=USA', {}, 422, 'country' ],
	[ 'board: country with scope global', GET => '/api/leaderboards?scope=global&country=US', {}, 422, 'country' ],
	[ 'board: period year', GET => '/api/leaderboards?period=year', {}, 422, 'period' ],
	[ 'board: season with period day', GET => '/api/leaderboards?period=day&season=all-time', {}, 422, 'season' ],
	[ 'board: unknown season', GET => "/api/leaderboards?period=season&season=t260-$tag-none", {}, 404 ],
	[ 'board: limit 0', GET => '/api/leaderboards?limit=0', {}, 422, 'limit' ],
	[ 'board: limit 101', GET => '/api/leaderboards?limit=101', {}, 422, 'limit' ],
	[ 'board: limit -1', GET => '/api/leaderboards?limit=-1', {}, 422, 'limit' ],
	[ 'board: limit 1e2', GET => '/api/leaderboards?limit=1e2', {}, 422, 'limit' ],
	[ 'board: offset -1', GET => '/api/leaderboards?offset=-1', {}, 422, 'offset' ],
	[ 'board: offset abc', GET => '/api/leaderboards?offset=abc', {}, 422, 'offset' ],
	[ 'board: offset and cursor', GET => '/api/leaderboards?offset=1&cursor=' . cursor("1200.0.$NOBODY.1"), {}, 422, 'cursor' ],
	[ 'board: cursor garbage', GET => '/api/leaderboards?cursor=zzzz', {}, 422, 'cursor' ],
	[ 'board: cursor with a bad id', GET => '/api/leaderboards?cursor=' . cursor('1200.0.not-an-id.1'), {}, 422, 'cursor' ],
	[ 'board: malformed query string', GET => '/api/leaderboards?scope=%zz', {}, 400 ],
	[ 'around: radius 51', GET => "/api/leaderboards/around/$A->{id}?radius=51", {}, 422, 'radius' ],
	[ 'around: malformed id', GET => '/api/leaderboards/around/xyz', {}, 404 ],
	[ 'around: unknown player', GET => "/api/leaderboards/around/$NOBODY", {}, 404 ],
	[ 'around: not on the country board', GET => "/api/leaderboards/around/$A->{id}?scope=country&country=US", {}, 404 ],
	[ 'me: no token', GET => '/api/leaderboards/me', {}, 401 ],
	[ 'me: bad period', GET => '/api/leaderboards/me?period=year', { token => $TA }, 422, 'period' ],
	[ 'alias: country XX', GET => '/leaderboard/country/XX', {}, 404 ],
	[ 'alias: country 123', GET => '/leaderboard/country/123', {}, 404 ],
	[ 'alias: limit 0', GET => '/leaderboard/global?limit=0', {}, 422, 'limit' ],
	# ---- seasons
	[ 'season: no token', POST => '/api/seasons', { json => { id => "t260-$tag", name => 'x' } }, 401 ],
	[ 'season: player', POST => '/api/seasons', { token => $TA, json => { id => "t260-$tag", name => 'x' } }, 403 ],
	[ 'season: malformed JSON', POST => '/api/seasons', { token => $ADM, body => '{"id":' }, 400 ],
	[ 'season: text/plain', POST => '/api/seasons', { token => $ADM, body => '{}', content_type => 'text/plain' }, 415 ],
	[ 'season: id with capitals', POST => '/api/seasons', { token => $ADM, json => { id => "T260-$tag", name => 'x' } }, 422, 'id' ],
	[ 'season: id with a space', POST => '/api/seasons', { token => $ADM, json => { id => "t260 $tag", name => 'x' } }, 422, 'id' ],
	[ 'season: id starting with -', POST => '/api/seasons', { token => $ADM, json => { id => "-t260-$tag", name => 'x' } }, 422, 'id' ],
	[ 'season: id 65 chars', POST => '/api/seasons', { token => $ADM, json => { id => 'a' x 65, name => 'x' } }, 422, 'id' ],
	[ 'season: id all-time', POST => '/api/seasons', { token => $ADM, json => { id => 'all-time', name => 'x' } }, 422, 'id' ],
	[ 'season: no name', POST => '/api/seasons', { token => $ADM, json => { id => "t260-$tag" } }, 422, 'name' ],
	[ 'season: empty name', POST => '/api/seasons', { token => $ADM, json => { id => "t260-$tag", name => '' } }, 422, 'name' ],
	[ 'season: startsAt words', POST => '/api/seasons', { token => $ADM, json => { id => "t260-$tag", name => 'x', startsAt => 'now' } }, 422, 'startsAt' ],
	[ 'season: startsAt month 13', POST => '/api/seasons', { token => $ADM, json => { id => "t260-$tag", name => 'x', startsAt => '2030-13-01T00:00:00Z' } }, 422, 'startsAt' ],
	[ 'season: endsAt before startsAt', POST => '/api/seasons', { token => $ADM, json => { id => "t260-$tag", name => 'x', startsAt => '2030-01-02T00:00:00Z', endsAt => '2030-01-01T00:00:00Z' } }, 422, 'endsAt' ],
	[ 'season: unknown field', POST => '/api/seasons', { token => $ADM, json => { id => "t260-$tag", name => 'x', active => JSON::PP::true() } }, 422, 'active' ],
	[ 'close: unknown season', POST => "/api/seasons/t260-$tag-none/close", { token => $ADM }, 404 ],
	[ 'close: malformed id', POST => '/api/seasons/BAD%20ID/close', { token => $ADM }, 404 ],
	[ 'close: all-time', POST => '/api/seasons/all-time/close', { token => $ADM }, 409 ],
	[ 'close: player', POST => '/api/seasons/all-time/close', { token => $TA }, 403 ],
);

sub state {
	return scalar Stack::psql('SELECT (SELECT count(*) FROM matches) || \'/\' || (SELECT count(*) FROM match_results) '
		. '|| \'/\' || (SELECT count(*) FROM rating_events) || \'/\' || (SELECT count(*) FROM seasons) '
		. '|| \'/\' || (SELECT count(*) FROM idempotency_keys) || \'/\' || (SELECT count(*) FROM leaderboard_entries) '
		. "|| '/' || (SELECT sum(elo) || ',' || sum(games_played) FROM players) "
		. "|| '/' || (SELECT status FROM matches WHERE id = '$M')");
}

require JSON::PP;
my $before = state();
my @pids = sort { $a <=> $b } Stack::app_pids();
for my $c (@cases) {
	my ($name, $method, $path, $o, $status, $field) = @$c;
	my $tx = api($method => $path, %$o);
	my $code = $tx->res->code // 0;
	is($code, $status, "$name: $status") or diag(substr($tx->res->body, 0, 300));
	like($tx->res->headers->content_type // '', qr{^application/problem\+json}, "$name: problem+json");
	my $p = J($tx);
	is(ref $p eq 'HASH' ? $p->{status} : undef, $status, "$name: body status");
	if ($status == 405) {
		like($tx->res->headers->header('Allow') // '', qr/\b(?:GET|POST)\b/, "$name: Allow header");
	}
	if ($status == 422 && defined $field) {
		ok((grep { ($_->{field} // '') eq $field } @{ (ref $p eq 'HASH' ? $p->{errors} : undef) // [] }),
			"$name: errors[] names $field") or diag(substr($tx->res->body, 0, 300));
	}
}

# a crafted cursor (rank at the top of the integer range) on an elo and a window board
for my $q ('period=all', 'period=day') {
	my $tx = api(GET => "/api/leaderboards?$q&limit=5&cursor=" . cursor("0.0.$NOBODY.9223372036854775807") . '&_=' . rand());
	my $code = $tx->res->code // 0;
	ok($code == 200 || $code == 422, "crafted cursor ($q): 200 or 422, not $code") or diag(substr($tx->res->body, 0, 200));
}

is(state(), $before, 'nothing was written');
Stack::wait_for(sub { 0 }, 0.3);
is_deeply([ sort { $a <=> $b } Stack::app_pids() ], \@pids, 'no worker died');
# whatever happened, leave a full worker pool to the next file
Stack::wait_for(sub { my @p = Stack::app_pids(); @p == (Stack::env('WORKERS') || 4) + 1 }, 15, 0.2);

done_testing;
