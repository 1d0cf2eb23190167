#!/usr/bin/perl
# 350-publish-failure.t — an unreachable publisher never fails a write
# (SPEC §7): with nginx's publisher socket moved away, a result is still
# 200 and applied, every lost message is counted in
# rankpulse_realtime_publish_failures_total and logged, and health turns
# degraded with websocket "unavailable"; with the socket back, health is
# healthy again and messages flow.
use strict;
use warnings;
use Test::More;
use Time::HiRes qw(time);
use Stack;

plan skip_all => 'no stack: RP_STACK_ENV does not describe a running stack (run make test)'
	unless Stack::available();

my $SOCK = Stack::env('NCHAN_SOCKET');
my $OFF  = "$SOCK.off";
sub mv_as_user { my ($from, $to) = @_; return system(Stack::RT::as_user('mv', '-f', $from, $to)) == 0 }
END {
	local $?;
	if (-e $OFF && !-e $SOCK) {
		mv_as_user($OFF, $SOCK) or diag "END: could not move $OFF back";
		Stack::wait_healthy(10) or diag 'END: not healthy after restoring the publisher socket';
	}
}

my (undef, $A, $B) = Stack::T::setup_players(prefix => 't350', n => 2, login => 1, addr => '127.0.3.50');
Stack::RT::warm_boards($A);
ok(Stack::wait_healthy(10), 'healthy to begin with');
sub failures { return Stack::metric_value(Stack::metrics_text(), 'rankpulse_realtime_publish_failures_total') }
my $f0 = failures();
ok(defined $f0, "metric rankpulse_realtime_publish_failures_total is exported ($f0)");

my $sub = Stack::RT::ws("/rt/players/$A->{id}");
ok(Stack::RT::ready($sub), 'subscriber of players/A');

ok(-S $SOCK, "publisher socket $SOCK exists");
ok(mv_as_user($SOCK, $OFF), 'publisher socket moved away (as the stack user)');

my $log0 = Stack::app_log_size();
my $m = Stack::RT::new_match($A->{token}, $A, $B);
my $t0 = time;
my $tx = Stack::T::call(POST => "/api/matches/$m->{id}/result", token => $A->{token},
	json => { player1Score => 1, player2Score => 0 });
my $dt = time - $t0;
is($tx->res->code, 200, 'result: 200 although nothing can be published') or diag $tx->res->body;
cmp_ok($dt, '<', 2, sprintf('and not slowed down (%.0f ms)', 1000 * $dt));
my $j = Stack::T::body_json($tx) // {};
is(scalar @{ $j->{ratingChanges} // [] }, 2, 'rating changes applied');
my ($elo) = Stack::psql("SELECT elo FROM players WHERE id = '$A->{id}'");
is($elo, 1220, 'the new rating is stored');

my $f1 = failures();
# 3 match_completed + 4 rating_changed + 1 leaderboard_update (no country, no season)
cmp_ok($f1 - $f0, '>=', 8, "failures counted (+" . ($f1 - $f0) . ')');
my @warn = grep { /realtime publish/i } Stack::app_log_since($log0);
ok(@warn, 'publish failures are logged') or diag Stack::app_log_since($log0);

# health turns degraded (per-worker checks are cached for up to 1 s)
my $t1 = time;
my $degraded = Stack::wait_for(sub {
	for (1 .. 6) {
		my ($c, $h) = Stack::get_json('/api/health');
		return 0 unless $c == 200 && $h->{status} eq 'degraded' && $h->{services}{websocket} eq 'unavailable'
			&& $h->{services}{database} eq 'connected' && $h->{services}{redis} eq 'connected';
	}
	return 1;
}, 4, 0.1);
ok($degraded, sprintf 'health: 200 degraded, websocket "unavailable" on every worker (%.1f s)', time - $t1);
cmp_ok(time - $t1, '<', 2.5, 'within ~2 s');

Stack::RT::pump(0.3);
is(scalar @{ $sub->{msgs} }, 0, 'the subscriber got nothing (nothing was published)');

ok(mv_as_user($OFF, $SOCK), 'publisher socket moved back');
$t1 = time;
ok(Stack::wait_healthy(5), sprintf 'healthy again (%.1f s)', time - $t1);

Stack::RT::play($A->{token}, $A, $B, 0, 1);
ok(Stack::RT::wait_until(sub { @{ $sub->{msgs} } >= 2 }, 5), 'messages flow again');
is(failures(), $f1, 'no new failures');
Stack::RT::close_sub($sub);

done_testing();
