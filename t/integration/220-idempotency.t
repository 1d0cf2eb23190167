#!/usr/bin/perl
# 220-idempotency.t — a result is applied exactly once (SPEC §5):
#   a second report is 409; a retry with the same Idempotency-Key returns the
#   first response byte for byte with Idempotent-Replayed: true; the same key
#   with another body (or for another match) is 422; keys are per caller; a
#   refused request does not burn its key; concurrent retries / reports
#   apply once.

use strict;
use warnings;
use Test::More;
use Mojo::Promise;
use Stack;

plan skip_all => 'no stack: RP_STACK_ENV does not describe a running stack (run make test)'
	unless Stack::available();

sub api { Stack::T::call(@_) }
sub J   { Stack::T::body_json(@_) }

sub problem_ok {
	my ($tx, $code, $name) = @_;
	is($tx->res->code, $code, "$name: $code") or diag($tx->res->body);
	like($tx->res->headers->content_type // '', qr{^application/problem\+json}, "$name: problem+json");
	return J($tx) // {};
}

my ($reg, $A, $B, $C) = Stack::T::setup_players(prefix => 't220', n => 3, login => 3, addr => '127.0.4.220');
my ($TA, $TB) = ($A->{token}, $B->{token});
my $tag = Stack::T::tag();

sub new_match {
	my $tx = api(POST => '/api/matches', token => $TA, json => { player1Id => $A->{id}, player2Id => $B->{id} });
	is($tx->res->code, 201, 'match created') or diag($tx->res->body);
	return (J($tx) // {})->{id} // 'none';
}

sub counts {
	my ($mid) = @_;
	return [ map { scalar Stack::psql($_) }
		"SELECT count(*) FROM match_results WHERE match_id = '$mid'",
		"SELECT count(*) FROM rating_events WHERE match_id = '$mid'",
		"SELECT elo || '/' || games_played FROM players WHERE id = '$A->{id}'",
		"SELECT elo || '/' || games_played FROM players WHERE id = '$B->{id}'" ];
}

my $body = { player1Score => 3, player2Score => 2 };

subtest 'replay' => sub {
	my $mid = new_match();
	my $key = "k1-$tag";
	my $tx1 = api(POST => "/api/matches/$mid/result", token => $TA, json => $body,
		headers => { 'Idempotency-Key' => $key });
	is($tx1->res->code, 200, 'first report: 200') or diag($tx1->res->body);
	ok(!defined $tx1->res->headers->header('Idempotent-Replayed'), 'first answer is not marked replayed');
	my $after = counts($mid);
	is($after->[0], 1, 'one stored result');
	is(scalar Stack::psql("SELECT count(*) FROM rating_events WHERE match_id = '$mid' AND season_id = 'all-time'"),
		2, 'rated once');

	for my $try (1 .. 2) {
		my $tx = api(POST => "/api/matches/$mid/result", token => $TA, json => $body,
			headers => { 'Idempotency-Key' => $key });
		is($tx->res->code, 200, "retry $try with the same key: 200");
		is($tx->res->body, $tx1->res->body, "retry $try: the first body byte for byte");
		is($tx->res->headers->header('Idempotent-Replayed'), 'true', "retry $try: Idempotent-Replayed: true");
		like($tx->res->headers->content_type // '', qr{^application/json}, "retry $try: JSON");
	}
	is_deeply(counts($mid), $after, 'retries changed nothing');

	my $p = problem_ok(api(POST => "/api/matches/$mid/result", token => $TA,
		json => { player1Score => 2, player2Score => 3 }, headers => { 'Idempotency-Key' => $key }),
		422, 'same key, different body');
	ok((grep { ($_->{field} // '') eq 'Idempotency-Key' } @{ $p->{errors} // [] }), 'error names Idempotency-Key');
	problem_ok(api(POST => "/api/matches/$mid/result", token => $TA, json => $body), 409, 'report again without a key');
	problem_ok(api(POST => "/api/matches/$mid/result", token => $TA, json => $body,
		headers => { 'Idempotency-Key' => "k2-$tag" }), 409, 'report again with a new key');
	problem_ok(api(POST => "/api/matches/$mid/result", token => $TA, json => $body,
		headers => { 'Idempotency-Key' => "k2-$tag" }), 409, 'the new key was not stored by the 409');
	problem_ok(api(POST => "/api/matches/$mid/result", token => $TB, json => $body,
		headers => { 'Idempotency-Key' => $key }), 409, 'the key belongs to its caller: the opponent gets 409');
	is_deeply(counts($mid), $after, 'nothing applied twice');

	my $mid2 = new_match();
	problem_ok(api(POST => "/api/matches/$mid2/result", token => $TA, json => $body,
		headers => { 'Idempotency-Key' => $key }), 422, 'same key and body for another match');
	is(counts($mid2)->[0], 0, 'nothing stored for the other match');
	my $tx = api(POST => "/api/matches/$mid2/result", token => $TB, json => $body,
		headers => { 'Idempotency-Key' => $key });
	is($tx->res->code, 200, 'another caller may use the same key string');
	ok(!defined $tx->res->headers->header('Idempotent-Replayed'), 'not a replay');
	isnt($tx->res->body, $tx1->res->body, 'its own answer');
};

subtest 'a refused request does not burn the key' => sub {
	my $mid = new_match();
	my $key = "k3-$tag";
	problem_ok(api(POST => "/api/matches/$mid/result", token => $TA,
		json => { player1Score => 3, player2Score => 2, resultType => 'draw' },
		headers => { 'Idempotency-Key' => $key }), 422, 'invalid result with a key');
	problem_ok(api(POST => "/api/matches/$mid/result", token => $C->{token}, json => $body,
		headers => { 'Idempotency-Key' => "k4-$tag" }), 403, 'non-participant with a key');
	is(counts($mid)->[0], 0, 'nothing stored');
	my $tx = api(POST => "/api/matches/$mid/result", token => $TA, json => $body,
		headers => { 'Idempotency-Key' => $key });
	is($tx->res->code, 200, 'the key works for a valid request afterwards') or diag($tx->res->body);
	ok(!defined $tx->res->headers->header('Idempotent-Replayed'), 'not a replay of the refusal');
	is(scalar Stack::psql("SELECT count(*) FROM idempotency_keys WHERE player_id = '$C->{id}'"), 0,
		'the refused caller stored no key');
	for my $bad ('x' x 129, "bad key") {
		problem_ok(api(POST => "/api/matches/$mid/result", token => $TA, json => $body,
			headers => { 'Idempotency-Key' => $bad }), 422, 'invalid Idempotency-Key "' . substr($bad, 0, 12) . '"');
	}
};

# N requests at once on separate connections; resolves to the transactions.
sub parallel {
	my (@reqs) = @_;
	my @ua = map { Stack::ua() } @reqs;
	my @p;
	for my $i (0 .. $#reqs) {
		my ($path, $token, $json, $headers) = @{ $reqs[$i] };
		my $tx = $ua[$i]->build_tx(POST => Stack::url($path) =>
			{ Authorization => "Bearer $token", %{ $headers // {} } } => json => $json);
		push @p, $ua[$i]->start_p($tx);
	}
	my @tx;
	Mojo::Promise->all(@p)->then(sub { @tx = map { $_->[0] } @_ })->catch(sub { diag "parallel: @_" })->wait;
	return @tx;
}

subtest 'concurrent retries with one key apply once' => sub {
	my $mid = new_match();
	my $key = "k5-$tag";
	my @tx = parallel(map { [ "/api/matches/$mid/result", $TA, $body, { 'Idempotency-Key' => $key } ] } 1 .. 8);
	is(scalar @tx, 8, 'eight answers');
	is_deeply([ map { $_->res->code } @tx ], [ (200) x 8 ], 'every retry: 200');
	my %bodies = map { $_->res->body => 1 } @tx;
	is(scalar keys %bodies, 1, 'all eight bodies identical');
	is(scalar(grep { !defined $_->res->headers->header('Idempotent-Replayed') } @tx), 1,
		'exactly one original answer, the others replayed');
	my $c = counts($mid);
	is($c->[0], 1, 'one stored result');
	my $ev = Stack::psql("SELECT count(*) FROM rating_events WHERE match_id = '$mid' AND season_id = 'all-time'");
	is($ev, 2, 'rated once');
};

subtest 'concurrent reports without a key: one wins, the rest 409' => sub {
	my $mid = new_match();
	my @tx = parallel(map { [ "/api/matches/$mid/result", $_ % 2 ? $TA : $TB, $body ] } 1 .. 8);
	my @codes = sort map { $_->res->code // 0 } @tx;
	is_deeply(\@codes, [ 200, (409) x 7 ], 'one 200 and seven 409') or diag "@codes";
	is(scalar Stack::psql("SELECT count(*) FROM rating_events WHERE match_id = '$mid' AND season_id = 'all-time'"),
		2, 'rated once');
};

done_testing;
