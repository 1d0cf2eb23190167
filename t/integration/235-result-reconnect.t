#!/usr/bin/perl
# 235-result-reconnect.t — a result runs in two pipelined round trips
# (lib/store/db.c batches); after the database dropped every app connection
# (pg_terminate_backend, as after a failover or a restart) the next results
# are still applied exactly once: the first batch of a transaction is retried
# on a fresh connection, whose statements are prepared again inside the
# batch. An Idempotency-Key retry afterwards replays the stored answer.
use strict;
use warnings;
use Test::More;
use Stack;

plan skip_all => 'no stack: RP_STACK_ENV does not describe a running stack (run make test)'
	unless Stack::available();

my ($reg, $A, $B) = Stack::T::setup_players(prefix => 't235', n => 2, login => 1, addr => '127.0.4.235');
my $T   = $A->{token};
my $tag = Stack::T::tag();

sub report {
	my ($mid, %h) = @_;
	return Stack::T::call(POST => "/api/matches/$mid/result", token => $T,
		json => { player1Score => 2, player2Score => 1 }, headers => \%h);
}

sub drop_app_connections {
	return scalar Stack::psql("SELECT count(pg_terminate_backend(pid)) FROM pg_stat_activity "
		. "WHERE application_name = 'rankpulse' AND pid <> pg_backend_pid()");
}

my ($m0) = Stack::RT::play($T, $A, $B, 1, 0);
ok($m0->{id}, 'a first result (statements prepared on every connection it used)');

my @mids = map { Stack::RT::new_match($T, $A, $B)->{id} } 1 .. 8;
ok(drop_app_connections() >= 1, 'PostgreSQL dropped the app connections');

my $ok = 0;
for my $mid (@mids) {
	my $tx = report($mid);
	$ok++ if ($tx->res->code // 0) == 200;
	diag $tx->res->body unless ($tx->res->code // 0) == 200;
}
is($ok, scalar @mids, 'every result after the drop: 200');
my $in = join ',', map {"'$_'"} @mids;
is(scalar Stack::psql("SELECT count(*) FROM rating_events WHERE match_id IN ($in) AND season_id = 'all-time'"),
	2 * @mids, 'each applied exactly once (two all-time rating events per match)');
is(scalar Stack::psql("SELECT games_played FROM players WHERE id = '$A->{id}'"), 1 + @mids,
	'games played counts every match once');
is(scalar Stack::psql("SELECT elo FROM players WHERE id = '$A->{id}'"),
	scalar Stack::psql("SELECT elo FROM leaderboard_entries WHERE season_id = 'all-time' AND player_id = '$A->{id}'"),
	'player row and all-time entry agree');

# Idempotency-Key across a drop: the stored answer comes back byte for byte.
my $mid = Stack::RT::new_match($T, $A, $B)->{id};
my $key = "k235-$tag";
my $tx1 = report($mid, 'Idempotency-Key' => $key);
is($tx1->res->code, 200, 'keyed result: 200') or diag $tx1->res->body;
drop_app_connections();
report($mid, "Idempotency-Key" => $key) for 1 .. 4;
my $tx3 = report($mid, 'Idempotency-Key' => $key);
is($tx3->res->code, 200, 'retry after the drop: 200') or diag $tx3->res->body;
is($tx3->res->headers->header('Idempotent-Replayed'), 'true', 'retry is marked replayed');
is($tx3->res->body, $tx1->res->body, 'retry: the first answer byte for byte');
my $tx4 = report($mid);
is($tx4->res->code, 409, 'a report without the key: 409');

done_testing();
