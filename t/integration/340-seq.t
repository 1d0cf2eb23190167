#!/usr/bin/perl
# 340-seq.t — per-channel seq under load (SPEC §7): 100 ranked results
# reported by 10 concurrent clients (40 players, 20 pairs, an admin reports
# everything).  A WebSocket and an EventSource subscriber of /rt/leaderboard
# each receive all 100 leaderboard_update messages, one per match, whose seqs
# are consecutive with no gap and no duplicate; the board snapshot's seq
# afterwards equals the last seq received.
use strict;
use warnings;
use Test::More;
use Time::HiRes qw(time);
use Mojo::IOLoop;
use Mojo::UserAgent;
use Mojo::JSON qw(encode_json);
use Stack;

plan skip_all => 'no stack: RP_STACK_ENV does not describe a running stack (run make test)'
	unless Stack::available();

my $N       = 100;
my $CLIENTS = 10;

my ($admin, @P) = Stack::T::setup_players(prefix => 't340', n => 40, addr => '127.0.3.40', retire => 1);
my $ADM = Stack::T::make_admin($admin);
Stack::RT::warm_boards($P[0]);
my @pairs = map { [ $P[ 2 * $_ ], $P[ 2 * $_ + 1 ] ] } 0 .. 19;

my $ws = Stack::RT::ws('/rt/leaderboard');
my $es = Stack::RT::es('/rt/leaderboard');
ok(Stack::RT::ready($ws, $es), 'WebSocket and EventSource subscribers of /rt/leaderboard');

# $CLIENTS user agents work through a queue of jobs, each job one request.
sub run_jobs {
	my ($jobs, $make) = @_;    # $make->($job) -> (method, path, json); returns results by index
	my @queue = 0 .. $#$jobs;
	my (@res, $active);
	my $next;
	$next = sub {
		my ($ua) = @_;
		my $i = shift @queue;
		return unless defined $i;
		$active++;
		my ($method, $path, $json) = $make->($jobs->[$i]);
		my $tx = $ua->build_tx($method => Stack::url($path) =>
			{ Authorization => "Bearer $ADM" } => json => $json);
		$ua->start($tx => sub {
			my (undef, $tx) = @_;
			$res[$i] = [ $tx->res->code // 0, eval { $tx->res->json } ];
			$active--;
			$next->($ua);
		});
	};
	my @uas = map { Mojo::UserAgent->new(request_timeout => 30, inactivity_timeout => 30) } 1 .. $CLIENTS;
	$next->($_) for @uas;
	Stack::RT::wait_until(sub { !$active && !@queue }, 60);
	undef $next;
	return @res;
}

my @jobs = map { $pairs[ $_ % 20 ] } 0 .. $N - 1;
my @created = run_jobs(\@jobs, sub { my ($p) = @_; (POST => '/api/matches', { player1Id => $p->[0]{id}, player2Id => $p->[1]{id} }) });
my @mids = map { $_->[1]{id} } grep { $_ && $_->[0] == 201 } @created;
is(scalar @mids, $N, "$N matches created") or BAIL_OUT('cannot create the matches');

my $t0 = time;
my $k = 0;
my @results = run_jobs(\@mids, sub {
	my ($id) = @_;
	my $s1 = $k++ % 3;    # 0, 1, 2 against 1: losses, draws, wins
	(POST => "/api/matches/$id/result", { player1Score => $s1, player2Score => 1 });
});
my $dt = time - $t0;
my @bad = grep { !$results[$_] || $results[$_][0] != 200 } 0 .. $N - 1;
is(scalar @bad, 0, sprintf('%d results accepted by %d concurrent clients in %.1f s', $N, $CLIENTS, $dt))
	or diag encode_json([ map { $results[$_] } @bad[ 0 .. ($#bad < 4 ? $#bad : 4) ] ]);

my %mine = map { $_ => 1 } @mids;
sub updates {
	my ($s) = @_;
	return grep { $_->{type} eq 'leaderboard_update' && $mine{ $_->{data}{matchId} // '' } } @{ $s->{msgs} };
}
ok(Stack::RT::wait_until(sub { updates($ws) >= $N && updates($es) >= $N }, 10),
	"both subscribers got $N updates")
	or diag sprintf 'WebSocket %d, EventSource %d', scalar(updates($ws)), scalar(updates($es));
Stack::RT::pump(0.3);

for my $s ($ws, $es) {
	my $name = $s->{kind} eq 'ws' ? 'WebSocket' : 'EventSource';
	my @u = updates($s);
	is(scalar @u, $N, "$name: exactly $N leaderboard_update messages");
	is(scalar @{ $s->{msgs} }, $N, "$name: nothing else on the channel");
	my %per = map { $_->{data}{matchId} => 1 } @u;
	is(scalar keys %per, $N, "$name: one per match");
	my @seq = sort { $a <=> $b } map { $_->{seq} } @u;
	my @gaps = grep { $seq[$_] != $seq[0] + $_ } 0 .. $#seq;
	is(scalar @gaps, 0, "$name: seqs $seq[0]..$seq[-1] consecutive, no gap, no duplicate")
		or diag encode_json(\@seq);
	my @arrival = map { $_->{seq} } @u;
	my @inv = grep { $arrival[$_] < $arrival[ $_ - 1 ] } 1 .. $#arrival;
	diag sprintf '%s got %d of %d messages out of seq order (%s)', $name, scalar @inv, $N,
		join(', ', map { "$arrival[$_ - 1] before $arrival[$_]" } @inv) if @inv;
	is(scalar @inv, 0, "$name: delivered in seq order (one publisher drains each outbox partition)");
	$s->{last_seq} = $seq[-1];
}
is($ws->{last_seq}, $es->{last_seq}, 'both subscribers end at the same seq');

my ($code, $snap) = Stack::get_json('/api/leaderboards?limit=43');
is($code, 200, 'snapshot 200');
is($snap->{seq}, $ws->{last_seq}, 'snapshot seq = last seq received');

Stack::RT::close_sub($_) for $ws, $es;
done_testing();
