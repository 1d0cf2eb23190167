#!/usr/bin/perl
# 330-replay.t — replay of missed messages (SPEC §7) and the nchan 1.3.6
# stale-id hazard (2):
#   * EventSource: receive, disconnect, miss messages, reconnect with
#     Last-Event-ID -> exactly the missed ones (by seq), then live ones;
#   * WebSocket with ?last_event_id= -> the messages after that id;
#   * an id equal to the newest, or newer than it, replays nothing;
#   * hazard 2: stale ids (1:0, 0:0, from another channel, from the future,
#     a client-supplied ?lid=, and one from before an nginx restart)
#     presented on an EMPTY channel, then a publish there: the subscriber
#     gets the new message, the nginx workers survive (same pids, no
#     "exited on signal"), health stays healthy.
use strict;
use warnings;
use Test::More;
use Mojo::JSON qw(encode_json);
use Stack;

plan skip_all => 'no stack: RP_STACK_ENV does not describe a running stack (run make test)'
	unless Stack::available();

my $restarted = 0;
END {
	local $?;
	if ($restarted) {
		Stack::restore_stack(30) or diag 'END: the stack is not healthy after the nginx restart';
	}
}

my (undef, $A, $B, $C) = Stack::T::setup_players(prefix => 't330', n => 3, login => 3, addr => '127.0.3.30');
Stack::RT::warm_boards($A);

sub seqs { return [ map { $_->{seq} } @{ $_[0]{msgs} } ] }
sub range { my ($from, $n) = @_; return [ map { $from + $_ } 0 .. $n - 1 ] }

my $CH = "/rt/players/$A->{id}";    # each result: two messages on A's channel

subtest 'EventSource: Last-Event-ID replays exactly the missed messages' => sub {
	my $es = Stack::RT::es($CH);
	ok(Stack::RT::ready($es), 'EventSource subscriber connected') or return;
	Stack::RT::play($A->{token}, $A, $B, 1, 0);
	ok(Stack::RT::wait_until(sub { @{ $es->{msgs} } >= 2 }, 5), 'two live messages');
	my $s0 = $es->{msgs}[0]{seq};
	is_deeply(seqs($es), range($s0, 2), "live seqs $s0, " . ($s0 + 1));
	like($es->{ids}[$_] // '', qr/^\d+:\d+$/, "message $_ has an event id <time>:<tag>") for 0, 1;
	my $last_id = $es->{ids}[-1];
	Stack::RT::close_sub($es);

	Stack::RT::play($A->{token}, $A, $C, 0, 1);
	Stack::RT::play($B->{token}, $B, $A, 1, 1);    # a draw: still two messages
	my $es2 = Stack::RT::es($CH, headers => { 'Last-Event-ID' => $last_id });
	ok(Stack::RT::ready($es2), 'reconnected with Last-Event-ID');
	ok(Stack::RT::wait_until(sub { @{ $es2->{msgs} } >= 4 }, 5), 'four messages replayed');
	Stack::RT::pump(0.3);
	is_deeply(seqs($es2), range($s0 + 2, 4), 'exactly the four missed messages, in seq order')
		or diag encode_json(seqs($es2));
	is_deeply([ map { $_->{type} } @{ $es2->{msgs} } ],
		[qw(match_completed rating_changed match_completed rating_changed)], 'their types');
	Stack::RT::play($A->{token}, $A, $B, 1, 0);
	ok(Stack::RT::wait_until(sub { @{ $es2->{msgs} } >= 6 }, 5), 'then live messages again');
	is_deeply(seqs($es2), range($s0 + 2, 6), 'seqs continue without a gap');
	my %ids = map { $_ => 1 } grep { defined } @{ $es2->{ids} };
	is(scalar keys %ids, 6, 'distinct event ids');
	Stack::RT::close_sub($es2);

	# WebSocket with ?last_event_id=: the messages after the fourth
	my $ws = Stack::RT::ws("$CH?last_event_id=$es2->{ids}[3]");
	ok(Stack::RT::ready($ws), 'WebSocket with ?last_event_id=');
	ok(Stack::RT::wait_until(sub { @{ $ws->{msgs} } >= 2 }, 5), 'replayed over WebSocket');
	Stack::RT::pump(0.3);
	is_deeply(seqs($ws), range($s0 + 6, 2), 'exactly the two after that id');
	Stack::RT::close_sub($ws);

	# the newest id, or one from the future: nothing replayed, live only
	my $newest = $es2->{ids}[-1];
	my @subs = (Stack::RT::es($CH, headers => { 'Last-Event-ID' => $newest }),
		Stack::RT::ws("$CH?last_event_id=9999999999:0"),
		Stack::RT::es($CH, headers => { 'Last-Event-ID' => 'not-an-id' }));
	ok(Stack::RT::ready(@subs), 'subscribers with the newest / a future / a malformed id');
	Stack::RT::pump(0.3);
	is(scalar @{ $_->{msgs} }, 0, "$_->{kind}: nothing replayed") for @subs;
	Stack::RT::play($A->{token}, $A, $C, 1, 0);
	ok(Stack::RT::wait_until(sub { !grep { @{ $_->{msgs} } < 2 } @subs }, 5), 'all get the new messages');
	is_deeply(seqs($_), range($s0 + 8, 2), "$_->{kind}: only the new ones") for @subs;
	Stack::RT::close_sub($_) for @subs;
};

# Hazard 2 ---------------------------------------------------------------

sub hazard {
	my ($label, $stale, $p1, $p2) = @_;
	my @before = Stack::RT::nginx_pids();
	my $off = Stack::RT::nginx_error_log_size();
	my $m = Stack::RT::new_match($p1->{token}, $p1, $p2);    # a brand-new, empty channel
	my ($code) = Stack::RT::channel_info("matches/$m->{id}");
	isnt($code, 200, "$label: the match channel is empty ($code)");
	my $base = "/rt/matches/$m->{id}";
	my @subs = (
		Stack::RT::es($base, headers => { 'Last-Event-ID' => $stale }),
		Stack::RT::ws("$base?last_event_id=$stale"),
		Stack::RT::ws("$base?lid=$stale"),    # trying nchan's parameter directly
		Stack::RT::es("$base?lid=$stale&last_event_id=$stale", headers => { 'Last-Event-ID' => $stale }),
		Stack::RT::lp("$base?last_event_id=$stale"),
	);
	ok(Stack::RT::ready(@subs), "$label: five subscribers admitted (EventSource, WebSocket, long-poll)")
		or diag join ' ', map { $_->{code} // 'none' } @subs;
	my $tx = Stack::T::call(POST => "/api/matches/$m->{id}/result", token => $p1->{token},
		json => { player1Score => 2, player2Score => 1 });
	is($tx->res->code, 200, "$label: result 200");
	ok(Stack::RT::wait_until(sub { !grep { !@{ $_->{msgs} } } @subs }, 5),
		"$label: every subscriber got the new message");
	Stack::RT::pump(0.2);
	for my $s (@subs) {
		is_deeply([ map { "$_->{type}:$_->{seq}" } @{ $s->{msgs} } ], ['match_completed:1'],
			"$label ($s->{kind}): exactly match_completed seq 1");
	}
	ok(!grep({ $_->{closed} } grep { $_->{kind} ne 'lp' } @subs), "$label: streaming subscribers still connected");
	my @after = Stack::RT::nginx_pids();
	is_deeply(\@after, \@before, "$label: same nginx master and workers (@after)");
	my $log = Stack::RT::nginx_error_log_since($off);
	unlike($log, qr/exited on signal|segfault|assertion/i, "$label: no worker crash in the nginx error log");
	ok(Stack::wait_healthy(5), "$label: health is healthy");
	Stack::RT::close_sub($_) for @subs;
}

subtest 'hazard 2: stale ids on an empty channel' => sub {
	# an id that is real, but from another channel
	my $es = Stack::RT::es($CH);
	Stack::RT::ready($es);
	Stack::RT::play($A->{token}, $A, $B, 0, 1);
	Stack::RT::wait_until(sub { @{ $es->{ids} } >= 1 }, 5);
	my $foreign = $es->{ids}[-1];
	ok(defined $foreign, "an id from players/A: " . ($foreign // 'none'));
	Stack::RT::close_sub($es);
	hazard('1:0', '1:0', $B, $C);
	hazard('0:0', '0:0', $C, $B);
	hazard('id of another channel', $foreign // '1:0', $B, $C);
	hazard('future id', '9999999999:5', $C, $B);
	hazard('id with a large tag', ($foreign // '1:0') =~ s/:\d+$/:4294967295/r, $B, $C);
};

subtest 'hazard 2: an id from before an nginx restart' => sub {
	my $es = Stack::RT::es($CH);
	ok(Stack::RT::ready($es), 'subscriber');
	Stack::RT::play($A->{token}, $A, $B, 1, 0);
	Stack::RT::wait_until(sub { @{ $es->{msgs} } >= 2 }, 5);
	my ($old_id, $old_seq) = ($es->{ids}[-1], $es->{msgs}[-1]{seq});
	ok(defined $old_id, 'an id before the restart: ' . ($old_id // 'none'));
	Stack::RT::close_sub($es);

	$restarted = 1;
	ok(Stack::stop_service('nginx'), 'nginx stopped');
	ok(Stack::start_service('nginx'), 'nginx started');
	ok(Stack::wait_healthy(15), 'healthy after the restart');
	my ($code) = Stack::RT::channel_info("players/$A->{id}");
	isnt($code, 200, "players/A is empty after the restart ($code)");

	my @before = Stack::RT::nginx_pids();
	my $off = Stack::RT::nginx_error_log_size();
	my @subs = (Stack::RT::es($CH, headers => { 'Last-Event-ID' => $old_id }),
		Stack::RT::es($CH, headers => { 'Last-Event-ID' => $old_id }),
		Stack::RT::ws("$CH?last_event_id=$old_id"));
	ok(Stack::RT::ready(@subs), 'subscribers with the pre-restart id admitted');
	my $lp = Stack::RT::lp("$CH?last_event_id=$old_id");
	Stack::RT::pump(0.2);
	Stack::RT::play($A->{token}, $A, $C, 1, 0);
	ok(Stack::RT::wait_until(sub { !grep { @{ $_->{msgs} } < 2 } @subs }, 5), 'all get the new messages');
	ok(Stack::RT::wait_until(sub { @{ $lp->{msgs} } }, 5), 'the long-poll subscriber gets the first new message');
	is($lp->{msgs}[0]{seq}, $old_seq + 1, 'long-poll: seq continuing from Redis') if @{ $lp->{msgs} };
	Stack::RT::pump(0.2);
	is_deeply(seqs($_), range($old_seq + 1, 2), "$_->{kind}: the new messages, seq continuing from Redis")
		for @subs;
	is_deeply([ Stack::RT::nginx_pids() ], \@before, 'same nginx master and workers');
	unlike(Stack::RT::nginx_error_log_since($off), qr/exited on signal|segfault|assertion/i,
		'no worker crash in the nginx error log');
	ok(Stack::wait_healthy(5), 'health is healthy');
	Stack::RT::close_sub($_) for @subs;
};

done_testing();
