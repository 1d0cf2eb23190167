#!/usr/bin/perl
# 430-backup-restore.t — disaster recovery, end to end, on the test stack:
#   players and rated matches exist → the public leaderboard (cache-busted)
#   is recorded → scripts/backup.sh (as the stack user, from an env file)
#   writes a custom-format dump with .sha256 and .counts, applies retention
#   (--keep) and leaves nothing half-written, also when pg_dump fails → the
#   data is wiped (TRUNCATE of every table but schema_migrations) and the
#   board is empty → restores of a truncated dump and of a dump that fails
#   its checksum are refused without touching anything → restore.sh into a
#   separate database verifies and leaves the live one alone →
#   restore.sh --in-place --drop-old restores, verifies the row counts,
#   migrates, swaps the databases under the running app and runs rankpulse
#   rebuild-cache → the app is healthy again and the leaderboard, a
#   player's stats and every table's row count are exactly as before.
# State restored: the live database holds the same data as before the test
# (plus this file's players, retired at the end); leftover databases are
# dropped; if the swap failed midway the previous database is renamed back.

use strict;
use warnings;
use Test::More;
use File::Temp qw(tempdir);
use Time::HiRes qw(sleep time);
use Mojo::JSON qw(decode_json);
use Stack;

BAIL_OUT('no stack: RP_STACK_ENV does not describe a running stack (run make test)')
	unless Stack::available();
for my $tool (qw(pg_dump pg_restore psql sha256sum)) {
	my ($rc) = Stack::run_cmd([ 'sh', '-c', "command -v $tool" ]);
	BAIL_OUT("$tool is not installed (postgresql-client / coreutils)") if $rc != 0;
}

my $REPO = Stack::repo();
my $USER = Stack::env('STACK_USER');
my $AS_ROOT = $> == 0 && $USER ne 'root';
my ($UID, $GID) = (getpwnam $USER)[2, 3];
sub as_user {
	return @_ unless $AS_ROOT;
	return ('setpriv', "--reuid=$UID", "--regid=$GID", '--init-groups', '--', @_);
}
sub run_as { my (@cmd) = @_; return Stack::run_cmd([ as_user(@cmd) ]) }
sub slurp { my ($f) = @_; open my $fh, '<', $f or return undef; local $/; return <$fh> }

my $T = tempdir('t430-XXXXXX', TMPDIR => 1, CLEANUP => 1);
chmod 0755, $T;
chown $UID, $GID, $T if $AS_ROOT;
my $B = "$T/backups";

# An env file as the operator's /etc/rankpulse/rankpulse.env.
my $ENVF = "$T/rankpulse.env";
{
	open my $fh, '>', $ENVF or die $!;
	for my $k (qw(DATABASE_URL REDIS_URL APP_ENV JWT_SECRET NCHAN_PUBLISH_URL)) {
		my $v = Stack::env($k);
		print $fh "$k='$v'\n" if defined $v && length $v;
	}
	print $fh "LOG_LEVEL=warn\n";
	close $fh;
	chmod 0600, $ENVF;
	chown $UID, $GID, $ENVF if $AS_ROOT;
}
my @RUNENV = ('env', 'RANKPULSE_BIN=' . Stack::env('RANKPULSE_BIN'),
	map { defined $ENV{$_} ? ("$_=$ENV{$_}") : () } qw(ASAN_OPTIONS UBSAN_OPTIONS LSAN_OPTIONS));

my @RETIRE;
my $LIVE = Stack::psql('SELECT current_database()');
my $ADMIN_URL = Stack::env('DATABASE_URL') =~ s{^(postgres(?:ql)?://[^/?]*)/[^?]*}{$1/postgres}r;
sub admin_psql {
	my ($sql) = @_;
	my ($rc, $o, $e) = run_as(Stack::env('PSQL') || 'psql', '-XAtq', '-v', 'ON_ERROR_STOP=1', '-d', $ADMIN_URL, '-c', $sql);
	die "admin psql: $e" if $rc != 0;
	chomp $o;
	return wantarray ? split(/\n/, $o) : $o;
}

END {
	local $?;
	eval {
		my @dbs = admin_psql('SELECT datname FROM pg_database');
		if (!grep { $_ eq $LIVE } @dbs) {    # a swap failed midway: put the old one back
			my ($old) = sort { $b cmp $a } grep { /^\Q$LIVE\E_old_\d+$/ } @dbs;
			if ($old) {
				admin_psql(qq{ALTER DATABASE "$old" RENAME TO "$LIVE"});
				admin_psql(qq{ALTER DATABASE "$LIVE" WITH ALLOW_CONNECTIONS true});
				diag "END: renamed $old back to $LIVE";
			}
		}
		for my $db (grep { /^\Q$LIVE\E_(?:old|restore)_\d+$|^t430_/ } admin_psql('SELECT datname FROM pg_database')) {
			admin_psql(qq{DROP DATABASE IF EXISTS "$db"});
		}
	};
	diag "END: $@" if $@;
	if (@RETIRE) {
		eval {
			Stack::psql("WITH p AS (UPDATE players SET is_active = false WHERE id IN ("
				. join(',', map {"'$_'"} @RETIRE) . ") RETURNING id) UPDATE leaderboard_entries "
				. "SET is_active = false WHERE player_id IN (SELECT id FROM p)");
			Stack::T::invalidate_boards();
		};
	}
	Stack::restore_stack(30) or diag 'stack NOT healthy after 430-backup-restore.t';
}

ok(Stack::wait_healthy(15), 'stack healthy') or BAIL_OUT('stack not healthy');

# ---------------------------------------------------------------- data

my ($reg, @p) = Stack::T::setup_players(prefix => 't430', n => 5, login => 2, retire => 1,
	addr => '127.43.' . (1 + int rand 250) . '.1');
push @RETIRE, $reg->{id}, map { $_->{id} } @p;
Stack::RT::play($p[0]{token}, $p[0], $p[1], 3, 1);
Stack::RT::play($p[1]{token}, $p[1], $p[2], 2, 2);
Stack::RT::play($p[0]{token}, $p[0], $p[3], 0, 2);
pass('players and three rated results');

my $n = 0;
sub board {
	$n++;
	my ($code, $j) = Stack::get_json("/api/leaderboards?limit=100&t430=$$-$n-" . int(time * 1000));
	return $code == 200 && ref $j eq 'HASH' ? $j : undef;
}
sub stats {
	my ($id) = @_;
	$n++;
	my ($code, $j) = Stack::get_json("/api/players/$id/stats?t430=$$-$n");
	return $code == 200 && ref $j eq 'HASH' ? { map { $_ => $j->{$_} } grep { !/^(?:generatedAt|seq)$/ } keys %$j } : undef;
}
sub counts {
	my %c;
	for my $t (Stack::psql(q{SELECT table_name FROM information_schema.tables
			WHERE table_schema = 'public' AND table_type = 'BASE TABLE' ORDER BY 1})) {
		$c{"public.$t"} = Stack::psql("SELECT count(*) FROM public.\"$t\"");
	}
	return \%c;
}
my $before = board();
ok($before && @{ $before->{entries} } >= 5, 'leaderboard before: ' . ($before ? scalar(@{ $before->{entries} }) . " entries, total $before->{total}" : 'none'));
my $stats_before = stats($p[0]{id});
ok($stats_before && defined $stats_before->{elo}, "stats of $p[0]{username} before: elo " . ($stats_before->{elo} // '?'));
my $counts_before = counts();

# ---------------------------------------------------------------- backup

mkdir $B, 0700;
chown $UID, $GID, $B if $AS_ROOT;
for my $d (qw(20200101T000000Z 20200102T000000Z 20200103T000000Z)) {    # older backups
	for my $suffix ('', '.sha256', '.counts') {
		my $f = "$B/rankpulse-$d.dump$suffix";
		open my $fh, '>', $f or die $!;
		print $fh "old\n";
		close $fh;
		chown $UID, $GID, $f if $AS_ROOT;
	}
}
my ($rc, $out, $err) = run_as("$REPO/scripts/backup.sh", '--env-file', $ENVF, '--dir', $B, '--keep', '3');
is($rc, 0, 'backup.sh as the stack user, from the env file') or diag $err;
chomp(my $dump = $out);
like($dump, qr{^\Q$B\E/rankpulse-\d{8}T\d{6}Z\.dump$}, "prints the new dump: " . ($dump =~ s{.*/}{}r));
is(substr(slurp($dump) // '', 0, 5), 'PGDMP', '... pg_dump custom format');
is((stat $dump)[2] & 07777, 0600, '... mode 0600');
my ($crc, $co, $ce) = Stack::run_cmd([ 'sh', '-c', 'cd "$1" && sha256sum --check --status "$2"', 'sh', $B,
	($dump =~ s{.*/}{}r) . '.sha256' ]);
is($crc, 0, '... its .sha256 matches');
my %manifest = map { split /\t/ } split /\n/, slurp("$dump.counts") // '';
my @diff = grep { ($manifest{$_} // -1) != $counts_before->{$_} } sort keys %$counts_before;
ok(!@diff && keys %manifest, '... its .counts equal the live row counts (' . scalar(keys %manifest) . ' tables)')
	or diag "differ: @diff";
like($err, qr/removed 1 old backup/, '... retention: removed the oldest');
my @left = sort map { s{.*/}{}r } glob "$B/rankpulse-*";
is_deeply([ grep { /^rankpulse-2020/ } @left ],
	[ map { ("rankpulse-$_.dump", "rankpulse-$_.dump.counts", "rankpulse-$_.dump.sha256") } qw(20200102T000000Z 20200103T000000Z) ],
	'... --keep 3: the new one and the two newest older ones (with their sidecars)');
ok(!glob("$B/.*.partial*"), '... nothing half-written left');

($rc, $out, $err) = run_as('env', 'DATABASE_URL=postgresql:///no_such_db?host=' . Stack::env('RUN_DIR'),
	"$REPO/scripts/backup.sh", '--dir', $B, '--keep', '3');
isnt($rc, 0, 'backup.sh of a missing database fails');
is_deeply([ sort map { s{.*/}{}r } glob "$B/rankpulse-*" ], \@left, '... and changes no backup');
ok(!glob("$B/.*.partial*"), '... nor leaves a partial file');

# ---------------------------------------------------------------- wipe

my @tables = grep { $_ ne 'public.schema_migrations' } sort keys %$counts_before;
Stack::psql('TRUNCATE ' . join(', ', @tables) . ' CASCADE');
Stack::T::invalidate_boards();
is(Stack::psql('SELECT count(*) FROM players'), 0, 'wiped: ' . scalar(@tables) . ' tables truncated');
my $empty = Stack::wait_for(sub { my $b = board(); $b && $b->{total} == 0 && !@{ $b->{entries} } }, 10, 0.3);
ok($empty, '... the leaderboard is empty');

# ---------------------------------------------------------------- bad dumps

sub dbs { return sort grep { !/^(?:postgres|template[01])$/ } admin_psql('SELECT datname FROM pg_database') }
my @dbs_before = dbs();
{
	my $data = slurp($dump);
	open my $fh, '>', "$T/truncated.dump" or die $!;
	print $fh substr($data, 0, int(length($data) / 2));
	close $fh;
	substr($data, int(length($data) / 3), 1) ^= "\x01";
	open $fh, '>', "$T/flipped.dump" or die $!;
	print $fh $data;
	close $fh;
	system('cp', "$dump.sha256", "$T/flipped.dump.sha256");
	system('sed', '-i', 's/ rankpulse-.*/ flipped.dump/', "$T/flipped.dump.sha256");
	chown $UID, $GID, map { "$T/$_" } qw(truncated.dump flipped.dump flipped.dump.sha256) if $AS_ROOT;
}
($rc, $out, $err) = run_as(@RUNENV, "$REPO/scripts/restore.sh", '--env-file', $ENVF, '--in-place', '--yes', "$T/truncated.dump");
isnt($rc, 0, 'restore of a truncated dump is refused');
($rc, $out, $err) = run_as(@RUNENV, "$REPO/scripts/restore.sh", '--env-file', $ENVF, '--in-place', '--yes', "$T/flipped.dump");
isnt($rc, 0, 'restore of a dump that fails its checksum is refused');
like($err, qr/does not match/, '... saying so');
is(Stack::psql('SELECT count(*) FROM players'), 0, '... the live database untouched');
is_deeply([ dbs() ], \@dbs_before, '... and no database left behind');

# ---------------------------------------------------------------- restore

my $check_db = "t430_check_$$";
($rc, $out, $err) = run_as(@RUNENV, "$REPO/scripts/restore.sh", '--env-file', $ENVF, '--target', $check_db, $dump);
is($rc, 0, 'restore.sh into a separate database') or diag $err;
like($err, qr/verified: \d+ tables, \d+ rows/, '... verified against the dump');
is(Stack::psql('SELECT count(*) FROM players'), 0, '... the live database untouched');
my $check_url = Stack::env('DATABASE_URL') =~ s{^(postgres(?:ql)?://[^/?]*)/[^?]*}{$1/$check_db}r;
my ($prc, $pout) = run_as(Stack::env('PSQL') || 'psql', '-XAtq', '-d', $check_url, '-c', 'SELECT count(*) FROM players');
is($pout =~ s/\s+//gr, $counts_before->{'public.players'}, "... $check_db holds the players");
admin_psql(qq{DROP DATABASE "$check_db"});

my $t0 = time;
($rc, $out, $err) = run_as(@RUNENV, "$REPO/scripts/restore.sh", '--env-file', $ENVF, '--in-place', '--yes',
	'--drop-old', $dump);
is($rc, 0, sprintf('restore.sh --in-place --drop-old (%.1f s)', time - $t0)) or diag $err;
like($err, qr/verified: (\d+) tables, (\d+) rows, as in the dump/, '... row counts verified');
like($err, qr/swapping: \Q$LIVE\E → \Q$LIVE\E_old_\d+/, '... swapped under the running app');
like("$out$err", qr/rebuild-cache/, '... and rebuilt the Redis ranks (rankpulse rebuild-cache)');
unlike("$out$err", qr/ERROR: (?:Address|Leak)Sanitizer|runtime error:/, '... no sanitizer report from migrate / rebuild-cache');
is_deeply([ dbs() ], \@dbs_before, '... no extra database left (old one dropped)');

ok(Stack::wait_healthy(30), 'the app is healthy again (workers reconnected to the restored database)');
my $counts_after = counts();
is_deeply($counts_after, $counts_before, 'every table has its row count back');
my $after;
my $same = Stack::wait_for(sub {
	$after = board();
	$after && $after->{total} == $before->{total}
		&& Mojo::JSON::encode_json($after->{entries}) eq Mojo::JSON::encode_json($before->{entries});
}, 10, 0.3);
ok($same, "the same leaderboard: $before->{total} players, identical entries") or do {
	diag 'before: ' . Mojo::JSON::encode_json($before->{entries});
	diag 'after:  ' . Mojo::JSON::encode_json($after ? $after->{entries} : undef);
};
is($after->{scope} . $after->{period}, $before->{scope} . $before->{period}, '... same scope and period') if $after;
is_deeply(stats($p[0]{id}), $stats_before, "the same stats for $p[0]{username}");

done_testing();
