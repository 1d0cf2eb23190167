#!/usr/bin/perl
# 100-seed-e2e.t — the E2E API script of the seed document
# (shared/seed/backend-deployment-sprint-plan.md, "Task 7: E2E Testing"), run
# with bash as literally as possible: only API_URL (the stack's BASE_URL) and
# the username/email (unique per run) differ from the original.  It uses the
# un-prefixed routes (/auth/register, /leaderboards, /players/{id}/stats),
# `curl -f` and jq, and must end with "All tests passed!".

use strict;
use warnings;
use Test::More;
use File::Temp qw(tempdir);
use Mojo::JSON qw(decode_json);
use Stack;

Stack::Auth::need_stack();

for my $tool (qw(bash curl jq)) {
	BAIL_OUT("$tool is not installed (needed by the seed E2E script)")
		unless grep { -x "$_/$tool" } split /:/, $ENV{PATH};
}

my $base = Stack::env('BASE_URL');
my $user = 't100_' . Stack::T::tag() . sprintf('%03d', int rand 1000);

# The script of the seed document, verbatim but for the three marked values.
my $script = <<'SCRIPT';
#!/bin/bash
API_URL="@API_URL@"

# 1. Health Check
echo "Testing health endpoint..."
curl -f $API_URL/api/health || exit 1

# 2. Register User
echo "Testing registration..."
REGISTER_RESPONSE=$(curl -X POST $API_URL/auth/register \
  -H "Content-Type: application/json" \
  -d '{"username":"@USER@","email":"@USER@@test.com","password":"Test123!","countryCode":"US"}')

TOKEN=$(echo $REGISTER_RESPONSE | jq -r '.token')

# 3. Get Leaderboard
echo "Testing leaderboard..."
curl -f $API_URL/leaderboards \
  -H "Authorization: Bearer $TOKEN" || exit 1

# 4. Get Player Stats
PLAYER_ID=$(echo $REGISTER_RESPONSE | jq -r '.user.id')
echo "Testing player stats..."
curl -f $API_URL/players/$PLAYER_ID/stats \
  -H "Authorization: Bearer $TOKEN" || exit 1

echo "All tests passed!"
SCRIPT
$script =~ s/\@API_URL\@/$base/g;
$script =~ s/\@USER\@/$user/g;

my $dir = tempdir('rp-100-XXXXXX', TMPDIR => 1, CLEANUP => 1);
my $file = "$dir/e2e.sh";
open my $fh, '>', $file or die "cannot write $file: $!";
print {$fh} $script;
close $fh or die "cannot write $file: $!";

my ($rc, $out, $err) = Stack::run_cmd([ 'bash', $file ]);
is($rc, 0, 'the seed E2E script exits 0') or diag("stdout:\n$out\nstderr:\n$err");
like($out, qr/All tests passed!\n?\z/, q(it prints "All tests passed!" last)) or diag("stdout:\n$out");
like($out, qr/^Testing health endpoint\.\.\.\n.*Testing registration\.\.\.\n.*Testing leaderboard\.\.\.\n.*Testing player stats\.\.\.\n/s,
	'it ran its four steps in order');

# What the script printed is the API's answers: health, board, stats (JSON).
like($out, qr/"status"\s*:\s*"healthy"/, 'the health answer says healthy');
my ($board) = $out =~ /Testing leaderboard\.\.\.\n(\{.*?\})(?:Testing player stats|\n)/ms;
my ($stats) = $out =~ /Testing player stats\.\.\.\n(\{.*\})All tests passed!\n?\z/s;
my $bj = eval { decode_json($board // '') };
my $sj = eval { decode_json($stats // '') };
ok(ref $bj eq 'HASH' && ref $bj->{entries} eq 'ARRAY' && defined $bj->{total}, 'the leaderboard step got a board')
	or diag("board: " . ($board // 'not found'));
ok(ref $sj eq 'HASH', 'the stats step got JSON') or diag("stats: " . ($stats // 'not found'));

# The script's registration happened, with what it sent.
my $row = Stack::psql("SELECT id || '|' || email || '|' || coalesce(country_code, '') || '|' || elo "
	. "FROM players WHERE username = '$user' AND is_active");
my ($id, $email, $cc, $elo) = split /\|/, $row;
ok($id, 'the script registered its player') or diag("no row for $user");
is($email, "$user\@test.com", 'with its email');
is($cc, 'US', 'with its country code');
is($sj->{playerId}, $id, 'the stats were those of the registered player');
is($sj->{username}, $user, 'stats username');
is($sj->{elo}, 1200, 'stats elo 1200');
is($sj->{gamesPlayed}, 0, 'stats gamesPlayed 0');
like($sj->{globalRank} // '', qr/^[1-9][0-9]*$/, 'stats globalRank is a positive integer');
like($sj->{countryRank} // '', qr/^[1-9][0-9]*$/, 'stats countryRank is a positive integer');

done_testing();
