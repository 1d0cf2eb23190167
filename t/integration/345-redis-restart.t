#!/usr/bin/perl
# 345-redis-restart.t — a Redis restart while the workers are idle. Each
# worker's connection is then closed by the server; the first command on it
# fails, but the next one must reconnect at once: the rest of the request
# (rank updates, the realtime outbox) still reaches Redis, so every result
# reported right after the restart is published with its seq (an unnumbered
# message would mean the outbox was skipped).
use strict;
use warnings;
use Test::More;
use Stack;

plan skip_all => 'no stack: RP_STACK_ENV does not describe a running stack (run make test)'
	unless Stack::available();

my $N = 8;
my ($admin, @P) = Stack::T::setup_players(prefix => 't345', n => 2 * $N, addr => '127.0.3.45', retire => 1);
my $ADM = Stack::T::make_admin($admin);
Stack::RT::warm_boards($P[0]);
my @mids;
for my $i (0 .. $N - 1) {
	my $tx = Stack::T::call(POST => '/api/matches', headers => { Authorization => "Bearer $ADM" },
		json => { player1Id => $P[2 * $i]{id}, player2Id => $P[2 * $i + 1]{id} });
	push @mids, (Stack::T::body_json($tx) // {})->{id} if ($tx->res->code // 0) == 201;
}
is(scalar @mids, $N, "$N matches created") or BAIL_OUT('cannot create the matches');

# subscribe first: nchan keeps its subscribers across the Redis restart
my $ws = Stack::RT::ws('/rt/leaderboard');
ok(Stack::RT::ready($ws), 'a WebSocket subscriber of /rt/leaderboard');

ok(Stack::stop_service('redis'), 'redis stopped');
ok(Stack::start_service('redis'), 'redis started again (the workers were not used meanwhile)');

my $ok = 0;
for my $id (@mids) {
	my $tx = Stack::T::call(POST => "/api/matches/$id/result", headers => { Authorization => "Bearer $ADM" },
		json => { player1Score => 1, player2Score => 0 });
	$ok++ if ($tx->res->code // 0) == 200;
}
is($ok, $N, "$N results accepted right after the restart");

my %mine = map { $_ => 1 } @mids;
my @u;
Stack::RT::wait_until(sub {
	@u = grep { $_->{type} eq 'leaderboard_update' && $mine{ $_->{data}{matchId} // '' } } @{ $ws->{msgs} };
	@u >= $N;
}, 10);
is(scalar @u, $N, "$N leaderboard_update messages received");
my @unnumbered = grep { !defined $_->{seq} } @u;
is(scalar @unnumbered, 0, 'every message carries its seq: the outbox was reached after the first failed command')
	or diag explain [ map { $_->{data}{matchId} } @unnumbered ];

Stack::wait_healthy();
Stack::T::invalidate_boards();
done_testing;
