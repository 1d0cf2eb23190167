#!/usr/bin/perl
# 310-events.t — every realtime event on every channel (SPEC §7): one ranked
# result between A (SE) and B (NO) while a season is open publishes
#   match_completed    on matches/<id>, players/<A>, players/<B>
#   rating_changed     on players/<A>, players/<B>, me/<A>, me/<B>
#   leaderboard_update on leaderboard, leaderboard/SE, leaderboard/NO,
#                      leaderboard/season/<id>
# and nothing on an uninvolved country board.  Checks the envelope
# {type,channel,seq,ts,data}, the data against the result response, seq +1 per
# message per channel over two results, and the snapshot seqs afterwards.
use strict;
use warnings;
use Test::More;
use Mojo::JSON qw(encode_json);
use Stack;

plan skip_all => 'no stack: RP_STACK_ENV does not describe a running stack (run make test)'
	unless Stack::available();

my $ISO  = qr/^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d(?:\.\d+)?Z$/;
sub api { Stack::T::call(@_) }
sub J   { Stack::T::body_json(@_) }

my ($admin, $A, $B) = Stack::T::setup_players(prefix => 't310', n => 2, login => 2, addr => '127.0.3.10');
my $ADM = Stack::T::make_admin($admin);
Stack::psql("UPDATE players SET country_code = 'SE' WHERE id = '$A->{id}'; "
	. "UPDATE leaderboard_entries SET country_code = 'SE' WHERE player_id = '$A->{id}'; "
	. "UPDATE players SET country_code = 'NO' WHERE id = '$B->{id}'; "
	. "UPDATE leaderboard_entries SET country_code = 'NO' WHERE player_id = '$B->{id}'");
Stack::T::invalidate_boards();

# An open season of our own (another file's open season would block it).
my $SEASON = 't310-' . Stack::T::tag();
my $season_open;
END {
	local $?;
	api(POST => "/api/seasons/$SEASON/close", token => $ADM) if $season_open;
}
for my $s (grep { $_->{isActive} && $_->{id} ne 'all-time' } @{ (J(api(GET => '/api/seasons')) // {})->{seasons} // [] }) {
	diag "closing open season $s->{id}";
	api(POST => "/api/seasons/$s->{id}/close", token => $ADM);
}
my $tx = api(POST => '/api/seasons', token => $ADM, json => { id => $SEASON, name => "Season $SEASON" });
is($tx->res->code, 201, "season $SEASON opened") or diag $tx->res->body;
$season_open = ($tx->res->code // 0) == 201;
# Boards are built on a read; a cold board yields rank null in updates.
Stack::RT::warm_boards($A);
Stack::T::call(GET => "/api/leaderboards?period=season&season=$SEASON&limit=29");

my $M1 = Stack::RT::new_match($A->{token}, $A, $B);
my %sub = (
	match  => Stack::RT::ws("/rt/matches/$M1->{id}"),
	pA     => Stack::RT::ws("/rt/players/$A->{id}"),
	pB     => Stack::RT::ws("/rt/players/$B->{id}"),
	meA    => Stack::RT::ws('/rt/me', headers => { Authorization => "Bearer $A->{token}" }),
	meB    => Stack::RT::ws("/rt/me?access_token=$B->{token}"),
	lb     => Stack::RT::ws('/rt/leaderboard'),
	SE     => Stack::RT::ws('/rt/leaderboard/SE'),
	NO     => Stack::RT::ws('/rt/leaderboard/no'),    # lower case is normalized
	DK     => Stack::RT::ws('/rt/leaderboard/DK'),
	season => Stack::RT::ws("/rt/leaderboard/season/$SEASON"),
);
ok(Stack::RT::ready(values %sub), 'all ten subscribers connected')
	or diag join ', ', map { "$_: " . ($sub{$_}{code} // 'none') } grep { !$sub{$_}{open} } sort keys %sub;

my %want = (match => 1, pA => 2, pB => 2, meA => 1, meB => 1, lb => 1, SE => 1, NO => 1, season => 1);
my %chan = (match => "matches/$M1->{id}", pA => "players/$A->{id}", pB => "players/$B->{id}",
	meA => "me/$A->{id}", meB => "me/$B->{id}", lb => 'leaderboard', SE => 'leaderboard/SE',
	NO => 'leaderboard/NO', DK => 'leaderboard/DK', season => "leaderboard/season/$SEASON");

sub all_arrived {
	my ($mult) = @_;
	return !grep { @{ $sub{$_}{msgs} } < $want{$_} * $mult } keys %want;
}

$tx = api(POST => "/api/matches/$M1->{id}/result", token => $A->{token},
	json => { player1Score => 3, player2Score => 1 });
is($tx->res->code, 200, 'result 1: 200') or diag $tx->res->body;
my $R1 = J($tx) // {};
ok(Stack::RT::wait_until(sub { all_arrived(1) }, 5), 'every channel got its messages');
Stack::RT::pump(0.3);    # anything extra would arrive now

my %rc = map { $_->{playerId} => $_ } @{ $R1->{ratingChanges} // [] };
my %sc = map { $_->{playerId} => $_ } @{ ($R1->{seasonChanges} // {})->{changes} // [] };
is(($R1->{seasonChanges} // {})->{seasonId}, $SEASON, "result response: seasonChanges of $SEASON");
ok($rc{ $A->{id} } && $rc{ $B->{id} }, 'result response has both rating changes');
ok($sc{ $A->{id} } && $sc{ $B->{id} }, 'result response has both season changes') or diag encode_json($R1);

subtest 'envelopes' => sub {
	for my $k (sort keys %sub) {
		my @m = @{ $sub{$k}{msgs} };
		is(scalar @m, $want{$k} // 0, "$k: message count") or diag encode_json(\@m);
		is(scalar @{ $sub{$k}{raw} }, scalar @m, "$k: every frame is a JSON object");
		for my $m (@m) {
			is_deeply([ sort keys %$m ], [qw(channel data seq ts type)], "$k: envelope keys");
			is($m->{channel}, $chan{$k}, "$k: channel $chan{$k}");
			like($m->{seq} // '', qr/^[1-9][0-9]*$/, "$k: seq is a positive integer");
			like($m->{ts} // '', $ISO, "$k: ts is ISO-8601 UTC");
			is(ref $m->{data}, 'HASH', "$k: data is an object");
			is($m->{data}{matchId}, $M1->{id}, "$k: data.matchId");
		}
		if (@m == 2) {
			is($m[1]{seq}, $m[0]{seq} + 1, "$k: two messages, consecutive seqs");
		}
	}
};

sub check_change {
	my ($got, $p, $ref, $name) = @_;
	is($got->{playerId}, $p->{id}, "$name: playerId");
	is($got->{username}, $p->{username}, "$name: username");
	is($got->{$_}, $ref->{$_}, "$name: $_ = $ref->{$_}") for qw(before after delta);
}

subtest 'match_completed' => sub {
	for my $k (qw(match pA pB)) {
		my ($m) = Stack::RT::of_type($sub{$k}, 'match_completed');
		ok($m, "$k: match_completed") or next;
		is($m->{data}{player1Score}, 3, "$k: player1Score");
		is($m->{data}{player2Score}, 1, "$k: player2Score");
		is($m->{data}{winnerId}, $A->{id}, "$k: winnerId");
		my %c = map { $_->{playerId} => $_ } @{ $m->{data}{ratingChanges} // [] };
		check_change($c{ $A->{id} } // {}, $A, $rc{ $A->{id} }, "$k: change of A");
		check_change($c{ $B->{id} } // {}, $B, $rc{ $B->{id} }, "$k: change of B");
	}
	is($sub{pA}{msgs}[0]{type}, 'match_completed', 'players/A: match_completed comes first');
};

subtest 'rating_changed' => sub {
	for ([ pA => $A ], [ pB => $B ], [ meA => $A ], [ meB => $B ]) {
		my ($k, $p) = @$_;
		my @m = Stack::RT::of_type($sub{$k}, 'rating_changed');
		is(scalar @m, 1, "$k: one rating_changed") or next;
		check_change($m[0]{data}{change} // {}, $p, $rc{ $p->{id} }, "$k");
		like($m[0]{data}{globalRank} // '', qr/^[1-9][0-9]*$/, "$k: globalRank");
	}
	is(scalar(Stack::RT::of_type($sub{$_}, 'match_completed')), 0, "$_: no match_completed on me/") for qw(meA meB);
};

subtest 'leaderboard_update' => sub {
	my %exp = (lb => [ $A, $B ], SE => [$A], NO => [$B], season => [ $A, $B ]);
	for my $k (sort keys %exp) {
		my ($m) = Stack::RT::of_type($sub{$k}, 'leaderboard_update');
		ok($m, "$k: leaderboard_update") or next;
		my @e = @{ $m->{data}{entries} // [] };
		is_deeply([ sort map { $_->{playerId} } @e ], [ sort map { $_->{id} } @{ $exp{$k} } ],
			"$k: entries are the involved players on that board");
		for my $e (@e) {
			my ($p) = grep { $_->{id} eq $e->{playerId} } $A, $B;
			my $ref = $k eq 'season' ? $sc{ $p->{id} } : $rc{ $p->{id} };
			is($e->{username}, $p->{username}, "$k: username");
			is($e->{elo}, $ref->{after}, "$k: elo = $ref->{after}");
			is($e->{delta}, $ref->{delta}, "$k: delta = $ref->{delta}");
			like($e->{rank} // '', qr/^[1-9][0-9]*$/, "$k: rank") or diag encode_json($e);
			ok(exists $e->{previousRank}, "$k: previousRank present");
		}
		if ($k eq 'lb' || $k eq 'season') {
			my %e = map { $_->{playerId} => $_ } @e;
			cmp_ok($e{ $A->{id} }{rank} // 1e9, '<', $e{ $B->{id} }{rank} // 0, "$k: winner ranks above loser");
		}
	}
	is(scalar @{ $sub{DK}{msgs} }, 0, 'uninvolved country board: nothing');
};

# A second result (B wins): every seq moves on by exactly one per message.
my %last = map { $_ => $sub{$_}{msgs}[-1]{seq} } grep { @{ $sub{$_}{msgs} } } keys %want;
$sub{match2} = Stack::RT::ws('/rt/matches/' . (my $M2 = Stack::RT::new_match($B->{token}, $B, $A))->{id});
ok(Stack::RT::ready($sub{match2}), 'subscriber of the second match');
$want{match} = 0.5;    # the first match channel stays quiet
$tx = api(POST => "/api/matches/$M2->{id}/result", token => $B->{token},
	json => { player1Score => 2, player2Score => 0 });
is($tx->res->code, 200, 'result 2: 200') or diag $tx->res->body;
my $R2 = J($tx) // {};
ok(Stack::RT::wait_until(sub { all_arrived(2) && @{ $sub{match2}{msgs} } }, 5), 'second round arrived');
Stack::RT::pump(0.3);

subtest 'seq +1 per message' => sub {
	is(scalar @{ $sub{match}{msgs} }, 1, 'first match channel: no new message');
	is(scalar @{ $sub{match2}{msgs} }, 1, 'second match channel: one message');
	is($sub{match2}{msgs}[0]{seq}, 1, 'a new match channel starts at seq 1');
	for my $k (sort grep { $_ ne 'match' } keys %last) {
		my @new = @{ $sub{$k}{msgs} }[ $want{$k} .. $#{ $sub{$k}{msgs} } ];
		is_deeply([ map { $_->{seq} } @new ], [ map { $last{$k} + $_ } 1 .. $want{$k} ],
			"$k: seqs continue from $last{$k}");
		is($_->{data}{matchId}, $M2->{id}, "$k: second match") for @new;
	}
	my ($m) = Stack::RT::of_type($sub{match2}, 'match_completed');
	is($m->{data}{winnerId}, $B->{id}, 'winner of the second match') if $m;
	my %c = map { $_->{playerId} => $_->{delta} } @{ $R2->{ratingChanges} // [] };
	is_deeply({ map { $_->{playerId} => $_->{delta} } @{ $m->{data}{ratingChanges} // [] } }, \%c,
		'deltas of the second match match the response') if $m;
};

subtest 'snapshot seqs' => sub {
	my %snap = (
		lb     => '/api/leaderboards?limit=31',
		SE     => '/api/leaderboards?scope=country&country=SE&limit=31',
		NO     => '/api/leaderboards?scope=country&country=NO&limit=31',
		season => "/api/leaderboards?period=season&season=$SEASON&limit=31",
	);
	for my $k (sort keys %snap) {
		my ($code, $j) = Stack::get_json($snap{$k});
		is($code, 200, "$k snapshot: 200");
		is($j->{seq}, $sub{$k}{msgs}[-1]{seq}, "$k snapshot seq = last message seq")
			if @{ $sub{$k}{msgs} };
	}
	my ($code, $st) = Stack::get_json("/api/players/$A->{id}/stats");
	my ($u) = grep { $_->{playerId} eq $A->{id} } @{ (Stack::RT::of_type($sub{lb}, 'leaderboard_update'))[-1]{data}{entries} // [] };
	is($u->{rank}, $st->{globalRank}, 'last update rank of A = its stats globalRank') if $u;
};

Stack::RT::close_sub($_) for values %sub;
done_testing();
