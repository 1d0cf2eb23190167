#!/usr/bin/perl
# 300-seed-realtime.t — the seed's realtime check (SPEC §7): a WebSocket
# subscriber of /rt/leaderboard receives the leaderboard_update of a
# reported result within one second of the report being sent.
use strict;
use warnings;
use Test::More;
use Time::HiRes qw(time);
use Mojo::IOLoop;
use Mojo::JSON qw(encode_json);
use Stack;

plan skip_all => 'no stack: RP_STACK_ENV does not describe a running stack (run make test)'
	unless Stack::available();

my (undef, $A, $B) = Stack::T::setup_players(prefix => 't300', n => 2, login => 1, addr => '127.0.3.1');
Stack::RT::warm_boards($A);
my $m = Stack::RT::new_match($A->{token}, $A, $B);

my $sub = Stack::RT::ws('/rt/leaderboard');
ok(Stack::RT::ready($sub), 'WebSocket subscriber of /rt/leaderboard is connected')
	or diag("handshake: " . ($sub->{code} // 'none') . ' ' . ($sub->{body} // ''));
is($sub->{code}, 101, 'handshake 101');

# Report the result on the same event loop, timing from the request's start.
my ($t0, $res);
my $ua = Stack::ua();
$t0 = time;
$ua->post(Stack::url("/api/matches/$m->{id}/result")
	=> { Authorization => "Bearer $A->{token}" }
	=> json => { player1Score => 2, player2Score => 0 } => sub { $res = $_[1]->res });
my $mine = sub { grep { ($_->{data}{matchId} // '') eq $m->{id} } Stack::RT::of_type($sub, 'leaderboard_update') };
my $got = Stack::RT::wait_until(sub { $mine->() && $res }, 3);
ok($res, 'result answered');
is($res->code, 200, 'result: 200') if $res;
ok($got, 'leaderboard_update for the match received');
SKIP: {
	skip 'no leaderboard_update received', 4 unless $mine->();
	my ($i) = grep { ($sub->{msgs}[$_]{data}{matchId} // '') eq $m->{id} } 0 .. $#{ $sub->{msgs} };
	my $latency = $sub->{at}[$i] - $t0;
	diag sprintf 'leaderboard_update %.0f ms after the result was sent', 1000 * $latency;
	cmp_ok($latency, '<', 1, 'received within 1 s of the report');
	my ($u) = $mine->();
	is($u->{channel}, 'leaderboard', 'channel is "leaderboard"');
	my %e = map { $_->{playerId} => $_ } @{ $u->{data}{entries} // [] };
	is($e{ $A->{id} }{elo}, 1220, 'winner entry: elo 1220') or diag encode_json($u);
	is($e{ $B->{id} }{elo}, 1180, 'loser entry: elo 1180');
}
Stack::RT::close_sub($sub);

done_testing();
